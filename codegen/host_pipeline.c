/* host_pipeline.c: MLIR text -> LLVM dialect -> LLVM IR -> optimised object.
 *
 * llmc_host_lower parses a module of host kernels in a fresh single-threaded
 * MLIR context (deterministic, and the machine is shared), runs
 * LLMC_HOST_PIPELINE, and translates the result straight into the caller's
 * LLVMContext. llmc_llvm_emit_object then sets the target's triple and data
 * layout, runs LLVM's default<O{n}> pipeline with the loop and SLP
 * vectorisers, and emits a PIC ELF object to memory.
 *
 * Math on the host: math.exp/cos/sin/powf/rsqrt become LLVM intrinsics
 * (convert-math-to-llvm) that the backend turns into libm calls (expf, cosf,
 * sinf, powf) or instructions (sqrt); math.tanh, which has no LLVM lowering
 * here, becomes a tanhf call (convert-math-to-libm). libm symbols stay
 * undefined in model.so and resolve in the process that loads it. Calls into
 * libm keep results within an ulp of the C reference; MLIR's polynomial
 * approximations were not used because their error bound is not 1e-6.
 *
 * Only the X86 and AArch64 backends are initialised; GPU backends join when
 * their pipelines do. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <mlir-c/Diagnostics.h>
#include <mlir-c/IR.h>
#include <mlir-c/Pass.h>
#include <mlir-c/RegisterEverything.h>
#include <mlir-c/Target/LLVMIR.h>

#include "codegen_impl.h"

const char *const LLMC_HOST_PIPELINE =
    "builtin.module(convert-vector-to-scf,convert-scf-to-cf,convert-vector-to-llvm,"
    "convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-arith-to-llvm,"
    "convert-cf-to-llvm,convert-func-to-llvm,convert-index-to-llvm,reconcile-unrealized-casts)";

/* Diagnostics longer than this are cut: the first errors are the useful ones. */
#define MAX_DIAG_BYTES 8192

static pthread_once_t mlir_once = PTHREAD_ONCE_INIT;
static void mlir_init(void) { mlirRegisterAllPasses(); }

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static void llvm_init(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64Target();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeAArch64AsmPrinter();
}

static void append_cb(MlirStringRef s, void *user) { llmc_buf_append(user, s.data, s.length); }

static void print_diag(MlirDiagnostic d, llmc_buf_t *b, int depth) {
  if (b->len > MAX_DIAG_BYTES) return;
  const char *sev = "note";
  switch (mlirDiagnosticGetSeverity(d)) {
  case MlirDiagnosticError: sev = "error"; break;
  case MlirDiagnosticWarning: sev = "warning"; break;
  case MlirDiagnosticNote: sev = "note"; break;
  case MlirDiagnosticRemark: sev = "remark"; break;
  }
  if (b->len) llmc_buf_append(b, "\n", 1);
  for (int i = 0; i < depth; i++) llmc_buf_append(b, "  ", 2);
  MlirLocation loc = mlirDiagnosticGetLocation(d);
  if (mlirLocationIsAFileLineColRange(loc))
    llmc_buf_printf(b, "<kernels>:%d:%d", mlirLocationFileLineColRangeGetStartLine(loc),
                    mlirLocationFileLineColRangeGetStartColumn(loc));
  else
    mlirLocationPrint(loc, append_cb, b);
  llmc_buf_printf(b, ": %s: ", sev);
  mlirDiagnosticPrint(d, append_cb, b);
  for (intptr_t i = 0; i < mlirDiagnosticGetNumNotes(d); i++)
    print_diag(mlirDiagnosticGetNote(d, i), b, depth + 1);
}

MlirLogicalResult llmc_codegen_collect_diag(MlirDiagnostic d, void *user) {
  if (mlirDiagnosticGetSeverity(d) != MlirDiagnosticRemark) print_diag(d, user, 0);
  return mlirLogicalResultSuccess();
}

llmc_status_t *llmc_codegen_mlir_failure(const char *what, llmc_buf_t *diags) {
  return LLMC_ERROR(LLMC_INTERNAL, NULL, "%s%s%s", what, diags->len ? ":\n" : "",
                    diags->len ? diags->data : "");
}

llmc_status_t *llmc_host_lower(const char *module_text, LLVMContextRef ctx,
                               LLVMModuleRef *out_module, llmc_buf_t *out_lowered) {
  *out_module = NULL;
  if (!module_text || !ctx) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no module text");
  pthread_once(&mlir_once, mlir_init);

  llmc_status_t *st = NULL;
  llmc_buf_t diags = {0};
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirRegisterAllDialects(registry);
  MlirContext mctx = mlirContextCreateWithRegistry(registry, /*threadingEnabled=*/false);
  mlirDialectRegistryDestroy(registry);
  mlirRegisterAllLLVMTranslations(mctx);
  mlirContextAttachDiagnosticHandler(mctx, llmc_codegen_collect_diag, &diags, NULL);
  MlirPassManager pm = {NULL};

  MlirModule module = mlirModuleCreateParse(mctx, mlirStringRefCreateFromCString(module_text));
  if (mlirModuleIsNull(module)) {
    st = llmc_codegen_mlir_failure("kernel module does not parse", &diags);
    goto cleanup;
  }
  MlirOperation op = mlirModuleGetOperation(module);
  if (!mlirOperationVerify(op)) {
    st = llmc_codegen_mlir_failure("kernel module does not verify", &diags);
    goto cleanup;
  }
  pm = mlirPassManagerCreate(mctx);
  llmc_buf_t perr = {0};
  if (mlirLogicalResultIsFailure(mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(pm),
                                                       mlirStringRefCreateFromCString(LLMC_HOST_PIPELINE),
                                                       append_cb, &perr))) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "bad host pipeline: %s", perr.data ? perr.data : "");
    llmc_buf_free(&perr);
    goto cleanup;
  }
  llmc_buf_free(&perr);
  if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(pm, op))) {
    st = llmc_codegen_mlir_failure("lowering host kernels to the LLVM dialect failed", &diags);
    goto cleanup;
  }
  if (out_lowered) {
    mlirOperationPrint(op, append_cb, out_lowered);
    llmc_buf_append(out_lowered, "\n", 1);
  }
  LLVMModuleRef m = mlirTranslateModuleToLLVMIR(op, ctx);
  if (!m) {
    st = llmc_codegen_mlir_failure("translating host kernels to LLVM IR failed", &diags);
    goto cleanup;
  }
  *out_module = m;

cleanup:
  if (pm.ptr) mlirPassManagerDestroy(pm);
  if (!mlirModuleIsNull(module)) mlirModuleDestroy(module);
  mlirContextDestroy(mctx);
  llmc_buf_free(&diags);
  return st;
}

llmc_status_t *llmc_llvm_emit_object(LLVMModuleRef m, const llmc_target_t *t, int opt_level,
                                     llmc_buf_t *out_obj, llmc_buf_t *out_llvm_ir) {
  if (!m || !t || !t->triple) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no module or target");
  if (t->is_gpu)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, NULL, "target '%s': GPU objects are not emitted here",
                      t->name);
  if (opt_level < 0 || opt_level > 3)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "optimisation level %d not in 0..3", opt_level);
  pthread_once(&llvm_once, llvm_init);

  llmc_status_t *st = NULL;
  char *err = NULL;
  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s' (%s): %s", t->name, t->triple,
                    err ? err : "no backend");
    LLVMDisposeMessage(err);
    return st;
  }
  static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                               LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
  LLVMTargetMachineRef tm =
      LLVMCreateTargetMachine(target, t->triple, t->cpu ? t->cpu : "", t->features ? t->features : "",
                              levels[opt_level], LLVMRelocPIC, LLVMCodeModelDefault);
  if (!tm) return LLMC_ERROR(LLMC_INTERNAL, NULL, "cannot create a target machine for '%s'", t->name);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMMemoryBufferRef mem = NULL;

  LLVMSetTarget(m, t->triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(m, dl);
  LLVMDisposeTargetData(dl);

  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &err)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "LLVM module does not verify: %s", err ? err : "");
    goto cleanup;
  }
  LLVMDisposeMessage(err);
  err = NULL;

  bool vectorize = opt_level >= 2;
  LLVMPassBuilderOptionsSetLoopVectorization(opts, vectorize);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, vectorize);
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, vectorize);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, opt_level >= 2);
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", opt_level);
  LLVMErrorRef perr = LLVMRunPasses(m, passes, tm, opts);
  if (perr) {
    char *msg = LLVMGetErrorMessage(perr);
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "LLVM %s failed: %s", passes, msg);
    LLVMDisposeErrorMessage(msg);
    goto cleanup;
  }
  if (out_llvm_ir) {
    char *ir = LLVMPrintModuleToString(m);
    llmc_buf_append(out_llvm_ir, ir, strlen(ir));
    LLVMDisposeMessage(ir);
  }
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &err, &mem)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "emitting an object for '%s' failed: %s", t->name,
                    err ? err : "");
    goto cleanup;
  }
  llmc_buf_append(out_obj, LLVMGetBufferStart(mem), LLVMGetBufferSize(mem));
  if (out_obj->failed || (out_llvm_ir && out_llvm_ir->failed))
    st = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory holding the object");

cleanup:
  if (mem) LLVMDisposeMemoryBuffer(mem);
  LLVMDisposeMessage(err);
  LLVMDisposePassBuilderOptions(opts);
  LLVMDisposeTargetMachine(tm);
  return st;
}
