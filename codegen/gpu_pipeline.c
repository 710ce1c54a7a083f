/* gpu_pipeline.c: GPU kernel instances -> gpu.module -> one device image.
 *
 * llmc_gpu_compile wraps the concatenated *.gpu.mlir instances in
 *   module attributes {gpu.container_module} { gpu.module @llmc_kernels { ... } }
 * parses it in a fresh single-threaded MLIR context, lowers the gpu.module
 * with the vendor's pipeline (llmc_gpu_pipeline), translates the gpu.module op
 * itself into an LLVM module and finishes per vendor:
 *   NVIDIA  nvptx64-nvidia-cuda, CPU sm_XX, +ptxNN: libdevice linked when the
 *           module calls __nv_* (math ops), default<O3>, PTX text; then the CUDA
 *           toolkit's ptxas makes a cubin when it is installed (LLMC_PTXAS, else
 *           `ptxas` on PATH, else /usr/local/cuda/bin/ptxas), else the image
 *           is the PTX (the driver JIT-compiles it).
 *   AMD     amdgcn-amd-amdhsa, CPU gfxNNNN: default<O3>, an ELF object, then
 *           ld.lld -shared --no-undefined into an HSA code object. No ROCm
 *           device library is linked: math.tanh and math.rsqrt are expanded
 *           by MLIR (math-expand-ops) into exp/sqrt/div, and exp, sqrt and
 *           fma become LLVM intrinsics the AMDGPU backend lowers itself, so
 *           the code object has no undefined __ocml_ or __ockl_ symbols (any
 *           other math op fails the link instead of making an image that
 *           would not load). Kernels declare known_block_size, so no
 *           __ockl_get_local_size either.
 *   Intel   spirv64-unknown-unknown: convert-gpu-to-llvm-spv (before scf is
 *           flattened: it retypes block arguments but not the branches that
 *           feed them), default<O3> (which also folds the memref-descriptor
 *           struct traffic spirv-val rejects), and LLVM's SPIR-V backend
 *           emits the binary for zeModuleCreate. Math becomes OpenCL.std
 *           instructions. MLIR's XeVM route (gpu-lower-to-xevm-pipeline)
 *           shares this device lowering and adds Intel-only ops and an
 *           IGC/ocloc step for native binaries; portable SPIR-V needs neither.
 *
 * Workgroup memory in the templates is a module-level memref.global in
 * integer address space 3, which every backend here maps to its on-chip
 * memory (NVVM shared, AMDGPU LDS, SPIR-V Workgroup); `#gpu.address_space`
 * is avoided because convert-gpu-to-llvm-spv has no mapping for it in 22.1.
 *
 * Kernel parameters after lowering, identical on all three vendors: each
 * memref<?xT> buffer (act, w, kv, meta, args) expands to five values
 * (allocated ptr, aligned ptr, offset, size, stride: MLIR's descriptor), then
 * the i64 extent. Launch geometry is documented per template.
 *
 * Leaves out: embedding the images in the artifact, the runtime's
 * CUDA/HIP/Level Zero backends, tensor-core paths, a ROCm device library. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <mlir-c/Diagnostics.h>
#include <mlir-c/IR.h>
#include <mlir-c/Pass.h>
#include <mlir-c/RegisterEverything.h>
#include <mlir-c/Target/LLVMIR.h>

#include "codegen_impl.h"

#ifndef LLMC_LLD_PATH
#define LLMC_LLD_PATH "ld.lld"
#endif
#define DEFAULT_PTXAS "/usr/local/cuda/bin/ptxas"
#define DEFAULT_LIBDEVICE "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"
#define DEBIAN_LIBDEVICE "/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc"


static const char MODULE_PREFIX[] =
    "module attributes {gpu.container_module} { gpu.module @llmc_kernels { ";
static const char MODULE_SUFFIX[] = "\n} }\n";

llmc_gpu_vendor_t llmc_gpu_vendor(const llmc_target_t *t) {
  if (!t || !t->is_gpu || !t->triple) return LLMC_GPU_VENDOR_NONE;
  if (strncmp(t->triple, "nvptx", 5) == 0) return LLMC_GPU_VENDOR_NVIDIA;
  if (strncmp(t->triple, "amdgcn", 6) == 0) return LLMC_GPU_VENDOR_AMD;
  if (strncmp(t->triple, "spirv", 5) == 0) return LLMC_GPU_VENDOR_INTEL;
  return LLMC_GPU_VENDOR_NONE;
}

llmc_status_t *llmc_gpu_pipeline(const llmc_target_t *t, llmc_buf_t *out) {
  switch (llmc_gpu_vendor(t)) {
  case LLMC_GPU_VENDOR_NVIDIA:
    llmc_buf_printf(out, "builtin.module(gpu.module(canonicalize,convert-scf-to-cf,"
                         "convert-gpu-to-nvvm{index-bitwidth=64},convert-to-llvm,"
                         "reconcile-unrealized-casts))");
    break;
  case LLMC_GPU_VENDOR_AMD:
    llmc_buf_printf(out, "builtin.module(gpu.module(canonicalize,math-expand-ops{ops=tanh,rsqrt},"
                         "convert-scf-to-cf,convert-gpu-to-rocdl{chipset=%s index-bitwidth=64 "
                         "runtime=HIP},convert-to-llvm,reconcile-unrealized-casts))",
                    t->cpu);
    break;
  case LLMC_GPU_VENDOR_INTEL:
    /* convert-gpu-to-llvm-spv runs before scf is flattened: it rewrites
     * block signatures from index to i64 but not the branches feeding them. */
    llmc_buf_printf(out, "builtin.module(gpu.module(canonicalize,"
                         "convert-gpu-to-llvm-spv{use-64bit-index=true},convert-scf-to-cf,"
                         "convert-to-llvm,reconcile-unrealized-casts))");
    break;
  default:
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "target '%s' is not a GPU target",
                      t && t->name ? t->name : "?");
  }
  if (out->failed) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

static void append_cb(MlirStringRef s, void *user) { llmc_buf_append(user, s.data, s.length); }

/* A failure in the MLIR part of a GPU compile names the target. */
static llmc_status_t *mlir_failure(const char *what, const char *target, llmc_buf_t *diags) {
  return llmc_status_wrap(llmc_codegen_mlir_failure(what, diags), NULL, "target '%s'", target);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_all(void) {
  mlirRegisterAllPasses();
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
  LLVMInitializeAMDGPUTargetInfo();
  LLVMInitializeAMDGPUTarget();
  LLVMInitializeAMDGPUTargetMC();
  LLVMInitializeAMDGPUAsmPrinter();
  LLVMInitializeSPIRVTargetInfo();
  LLVMInitializeSPIRVTarget();
  LLVMInitializeSPIRVTargetMC();
  LLVMInitializeSPIRVAsmPrinter();
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Parses, lowers and translates; *out_module lives in ctx. */
static llmc_status_t *lower_to_llvm(const char *kernels_text, const llmc_target_t *t,
                                    LLVMContextRef ctx, LLVMModuleRef *out_module) {
  *out_module = NULL;
  llmc_status_t *st = NULL;
  llmc_buf_t text = {0}, diags = {0}, pipeline = {0}, perr = {0};
  llmc_buf_append(&text, MODULE_PREFIX, sizeof MODULE_PREFIX - 1);
  llmc_buf_append(&text, kernels_text, strlen(kernels_text));
  llmc_buf_append(&text, MODULE_SUFFIX, sizeof MODULE_SUFFIX - 1);
  if ((st = llmc_gpu_pipeline(t, &pipeline))) goto out_bufs;
  if (text.failed) {
    st = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto out_bufs;
  }

  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirRegisterAllDialects(registry);
  MlirContext mctx = mlirContextCreateWithRegistry(registry, /*threadingEnabled=*/false);
  mlirDialectRegistryDestroy(registry);
  mlirRegisterAllLLVMTranslations(mctx);
  mlirContextAttachDiagnosticHandler(mctx, llmc_codegen_collect_diag, &diags, NULL);
  MlirPassManager pm = {NULL};
  MlirModule module = mlirModuleCreateParse(mctx, mlirStringRefCreateFromCString(text.data));
  if (mlirModuleIsNull(module)) {
    st = mlir_failure("GPU kernel module does not parse", t->name, &diags);
    goto out_mlir;
  }
  MlirOperation op = mlirModuleGetOperation(module);
  if (!mlirOperationVerify(op)) {
    st = mlir_failure("GPU kernel module does not verify", t->name, &diags);
    goto out_mlir;
  }
  pm = mlirPassManagerCreate(mctx);
  if (mlirLogicalResultIsFailure(mlirParsePassPipeline(
          mlirPassManagerGetAsOpPassManager(pm), mlirStringRefCreate(pipeline.data, pipeline.len),
          append_cb, &perr))) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "bad GPU pipeline '%s': %s", pipeline.data,
                    perr.data ? perr.data : "");
    goto out_mlir;
  }
  if (mlirLogicalResultIsFailure(mlirPassManagerRunOnOp(pm, op))) {
    st = mlir_failure("lowering GPU kernels failed", t->name, &diags);
    goto out_mlir;
  }
  /* The gpu.module is the only op in the outer module's body. */
  MlirOperation gpu_mod = mlirBlockGetFirstOperation(mlirModuleGetBody(module));
  if (mlirOperationIsNull(gpu_mod)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s': no gpu.module after lowering", t->name);
    goto out_mlir;
  }
  LLVMModuleRef m = mlirTranslateModuleToLLVMIR(gpu_mod, ctx);
  if (!m) {
    st = mlir_failure("translating GPU kernels to LLVM IR failed", t->name, &diags);
    goto out_mlir;
  }
  *out_module = m;

out_mlir:
  if (pm.ptr) mlirPassManagerDestroy(pm);
  if (!mlirModuleIsNull(module)) mlirModuleDestroy(module);
  mlirContextDestroy(mctx);
out_bufs:
  llmc_buf_free(&text);
  llmc_buf_free(&diags);
  llmc_buf_free(&pipeline);
  llmc_buf_free(&perr);
  return st;
}

/* Links libdevice when the module calls __nv_* and makes its definitions
 * internal, so default<O3> keeps only what is used. */
static llmc_status_t *link_libdevice(LLVMModuleRef m, LLVMContextRef ctx) {
  bool needed = false;
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f && !needed; f = LLVMGetNextFunction(f)) {
    size_t n;
    const char *name = LLVMGetValueName2(f, &n);
    needed = LLVMIsDeclaration(f) && n > 5 && strncmp(name, "__nv_", 5) == 0;
  }
  if (!needed) return NULL;
  /* LLMC_LIBDEVICE, else NVIDIA's toolkit, else Debian's nvidia-cuda-toolkit. */
  const char *path = getenv("LLMC_LIBDEVICE");
  if (!path || !*path) {
    path = DEFAULT_LIBDEVICE;
    if (access(path, R_OK) != 0 && access(DEBIAN_LIBDEVICE, R_OK) == 0) path = DEBIAN_LIBDEVICE;
  }
  LLVMMemoryBufferRef mem = NULL;
  char *err = NULL;
  if (LLVMCreateMemoryBufferWithContentsOfFile(path, &mem, &err)) {
    llmc_status_t *st = LLMC_ERROR(LLMC_UNAVAILABLE, path,
                                   "the kernels need CUDA's libdevice for math functions and it "
                                   "cannot be read: %s (install the CUDA toolkit or set "
                                   "LLMC_LIBDEVICE)",
                                   err ? err : "?");
    LLVMDisposeMessage(err);
    return st;
  }
  LLVMModuleRef lib = NULL;
  bool bad = LLVMParseBitcodeInContext2(ctx, mem, &lib);
  LLVMDisposeMemoryBuffer(mem);
  if (bad) return LLMC_ERROR(LLMC_DATA_LOSS, path, "libdevice is not valid LLVM bitcode");
  LLVMSetTarget(lib, LLVMGetTarget(m));
  LLVMSetDataLayout(lib, LLVMGetDataLayoutStr(m));
  if (LLVMLinkModules2(m, lib)) return LLMC_ERROR(LLMC_INTERNAL, path, "linking libdevice failed");
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    size_t n;
    const char *name = LLVMGetValueName2(f, &n);
    if (!LLVMIsDeclaration(f) && n > 5 && strncmp(name, "__nv_", 5) == 0)
      LLVMSetLinkage(f, LLVMInternalLinkage);
  }
  return NULL;
}

/* --- external tools --- */

bool llmc_gpu_find_ptxas(char *path, size_t cap) {
  const char *env = getenv("LLMC_PTXAS");
  if (env) { /* set: authoritative; "" or "none" means PTX only */
    if (!*env || strcmp(env, "none") == 0 || access(env, X_OK) != 0) return false;
    snprintf(path, cap, "%s", env);
    return true;
  }
  const char *p = getenv("PATH");
  while (p && *p) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    if (n > 0 && n + 7 < cap) {
      snprintf(path, cap, "%.*s/ptxas", (int)n, p);
      if (access(path, X_OK) == 0) return true;
    }
    p = colon ? colon + 1 : NULL;
  }
  if (access(DEFAULT_PTXAS, X_OK) != 0) return false;
  snprintf(path, cap, "%s", DEFAULT_PTXAS);
  return true;
}

static llmc_status_t *run_ptxas(const char *ptxas, const llmc_target_t *t, const llmc_buf_t *ptx,
                                llmc_buf_t *out_cubin) {
  llmc_codegen_scratch_t s;
  LLMC_RETURN_IF_ERROR(llmc_codegen_scratch_open(&s, "kernels.ptx", "kernels.cubin"));
  char arch[32];
  snprintf(arch, sizeof arch, "-arch=%s", t->cpu);
  char *argv[] = {(char *)ptxas, arch, "-O3", "-o", s.out, s.in, NULL};
  llmc_status_t *st = llmc_codegen_write_file(s.in, ptx->data, ptx->len);
  if (!st) st = llmc_codegen_run_tool("assembling PTX", argv);
  if (!st) st = llmc_codegen_read_file(s.out, out_cubin);
  llmc_codegen_scratch_close(&s);
  return st;
}

static llmc_status_t *run_lld(LLVMMemoryBufferRef obj, llmc_buf_t *out_hsaco) {
  const char *lld = getenv("LLMC_LLD");
  if (!lld || !*lld) lld = LLMC_LLD_PATH;
  llmc_codegen_scratch_t s;
  LLMC_RETURN_IF_ERROR(llmc_codegen_scratch_open(&s, "kernels.o", "kernels.hsaco"));
  /* --no-undefined: a code object with an unresolved __ocml_* call links
   * fine by default but never loads. */
  char *argv[] = {(char *)lld, "-shared", "--no-undefined", "--build-id=none", "-o", s.out, s.in,
                  NULL};
  llmc_status_t *st = llmc_codegen_write_file(s.in, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj));
  if (!st) st = llmc_codegen_run_tool("linking the HSA code object", argv);
  if (!st) st = llmc_codegen_read_file(s.out, out_hsaco);
  llmc_codegen_scratch_close(&s);
  return st;
}

/* --- the whole path --- */

static llmc_status_t *emit(LLVMTargetMachineRef tm, LLVMModuleRef m, LLVMCodeGenFileType type,
                           const char *target, LLVMMemoryBufferRef *out) {
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, type, &err, out)) {
    llmc_status_t *st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s': code generation failed: %s",
                                   target, err ? err : "");
    LLVMDisposeMessage(err);
    return st;
  }
  return NULL;
}

static llmc_status_t *gpu_compile(const char *kernels_text, const llmc_target_t *t, int opt_level,
                                  llmc_gpu_finisher_t finish, llmc_buf_t *out_image, llmc_buf_t *out_asm,
                                  llmc_gpu_image_info_t *out_info) {
  llmc_gpu_image_info_t info = {0};
  if (out_info) *out_info = info;
  if (!kernels_text || !t || !out_image)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no kernels, target or output");
  llmc_gpu_vendor_t vendor = llmc_gpu_vendor(t);
  if (vendor == LLMC_GPU_VENDOR_NONE)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "target '%s' is not a GPU target",
                      t->name ? t->name : "?");
  if (opt_level < 0 || opt_level > 3)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "optimisation level %d not in 0..3", opt_level);
  pthread_once(&init_once, init_all);

  double t0 = now();
  llmc_status_t *st = NULL;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = NULL;
  LLVMTargetMachineRef tm = NULL;
  LLVMPassBuilderOptionsRef opts = NULL;
  LLVMMemoryBufferRef img = NULL, text = NULL;
  char *err = NULL;
  if ((st = lower_to_llvm(kernels_text, t, ctx, &m))) goto cleanup;
  double t1 = now();
  info.seconds_mlir = t1 - t0;
  if (finish) {
    info.kind = LLMC_GPU_IMAGE_HOST_EMULATION;
    st = finish(m, ctx, opt_level, out_image);
    info.seconds_llvm = now() - t1;
    if (!st && out_image->failed)
      st = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory holding the GPU image");
    if (!st && out_info) *out_info = info;
    goto cleanup;
  }

  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s' (%s): %s", t->name, t->triple,
                    err ? err : "no backend");
    goto cleanup;
  }
  static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                               LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
  tm = LLVMCreateTargetMachine(target, t->triple, t->cpu ? t->cpu : "",
                               t->features ? t->features : "", levels[opt_level], LLVMRelocPIC,
                               LLVMCodeModelDefault);
  if (!tm) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "cannot create a target machine for '%s'", t->name);
    goto cleanup;
  }
  LLVMSetTarget(m, t->triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(m, dl);
  LLVMDisposeTargetData(dl);
  if (vendor == LLMC_GPU_VENDOR_NVIDIA && (st = link_libdevice(m, ctx))) goto cleanup;
  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &err)) {
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s': LLVM module does not verify: %s", t->name,
                    err ? err : "");
    goto cleanup;
  }
  LLVMDisposeMessage(err);
  err = NULL;
  opts = LLVMCreatePassBuilderOptions();
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", opt_level);
  LLVMErrorRef perr = LLVMRunPasses(m, passes, tm, opts);
  if (perr) {
    char *msg = LLVMGetErrorMessage(perr);
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "target '%s': LLVM %s failed: %s", t->name, passes, msg);
    LLVMDisposeErrorMessage(msg);
    goto cleanup;
  }

  if (vendor == LLMC_GPU_VENDOR_NVIDIA) {
    if ((st = emit(tm, m, LLVMAssemblyFile, t->name, &text))) goto cleanup;
    llmc_buf_t ptx = {0};
    llmc_buf_append(&ptx, LLVMGetBufferStart(text), LLVMGetBufferSize(text));
    if (out_asm) llmc_buf_append(out_asm, ptx.data, ptx.len);
    info.seconds_llvm = now() - t1;
    double t2 = now();
    char ptxas[4096];
    if (ptx.failed) {
      st = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory holding the PTX");
    } else if (llmc_gpu_find_ptxas(ptxas, sizeof ptxas)) {
      info.kind = LLMC_GPU_IMAGE_CUBIN;
      st = run_ptxas(ptxas, t, &ptx, out_image);
    } else {
      info.kind = LLMC_GPU_IMAGE_PTX;
      llmc_buf_append(out_image, ptx.data, ptx.len);
      llmc_buf_append(out_image, "", 1); /* cuModuleLoadData wants the NUL */
    }
    info.seconds_tools = now() - t2;
    llmc_buf_free(&ptx);
  } else {
    /* Code generation may change the module, so assembly comes from a clone
     * taken first, emitted after the image with a machine of its own. The
     * image is always emitted first: in 22.1 a second SPIR-V emission in the
     * process perturbs the first machine's output (observed: nondeterministic
     * and sometimes invalid SPIR-V), so for SPIR-V no LLVM assembly is made
     * at all — disassemble the image with spirv-dis instead. */
    LLVMModuleRef asm_copy = out_asm && vendor != LLMC_GPU_VENDOR_INTEL ? LLVMCloneModule(m) : NULL;
    st = emit(tm, m, LLVMObjectFile, t->name, &img);
    if (!st && asm_copy) {
      LLVMTargetMachineRef tm2 = LLVMCreateTargetMachine(
          target, t->triple, t->cpu ? t->cpu : "", t->features ? t->features : "",
          levels[opt_level], LLVMRelocPIC, LLVMCodeModelDefault);
      st = tm2 ? emit(tm2, asm_copy, LLVMAssemblyFile, t->name, &text)
               : LLMC_ERROR(LLMC_INTERNAL, NULL, "cannot create a target machine for '%s'",
                            t->name);
      if (tm2) LLVMDisposeTargetMachine(tm2);
      if (!st) llmc_buf_append(out_asm, LLVMGetBufferStart(text), LLVMGetBufferSize(text));
    }
    if (asm_copy) LLVMDisposeModule(asm_copy);
    if (st) goto cleanup;
    info.seconds_llvm = now() - t1;
    double t2 = now();
    if (vendor == LLMC_GPU_VENDOR_AMD) {
      info.kind = LLMC_GPU_IMAGE_HSACO;
      st = run_lld(img, out_image);
    } else {
      info.kind = LLMC_GPU_IMAGE_SPIRV;
      llmc_buf_append(out_image, LLVMGetBufferStart(img), LLVMGetBufferSize(img));
    }
    info.seconds_tools = now() - t2;
  }
  if (!st && (out_image->failed || (out_asm && out_asm->failed)))
    st = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory holding the GPU image");
  if (!st && out_info) *out_info = info;

cleanup:
  LLVMDisposeMessage(err);
  if (img) LLVMDisposeMemoryBuffer(img);
  if (text) LLVMDisposeMemoryBuffer(text);
  if (opts) LLVMDisposePassBuilderOptions(opts);
  if (tm) LLVMDisposeTargetMachine(tm);
  if (m) LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  return st;
}

llmc_status_t *llmc_gpu_compile(const char *kernels_text, const llmc_target_t *t, int opt_level,
                                llmc_buf_t *out_image, llmc_buf_t *out_asm,
                                llmc_gpu_image_info_t *out_info) {
  return gpu_compile(kernels_text, t, opt_level, NULL, out_image, out_asm, out_info);
}

llmc_status_t *llmc_gpu_compile_finished(const char *kernels_text, const llmc_target_t *t, int opt_level,
                                         llmc_gpu_finisher_t finish, llmc_buf_t *out_image,
                                         llmc_gpu_image_info_t *out_info) {
  if (!finish) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no GPU image finisher");
  return gpu_compile(kernels_text, t, opt_level, finish, out_image, NULL, out_info);
}
