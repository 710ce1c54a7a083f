/* gpu_emulation.c (test infrastructure, not part of llmc): the GPU kernels
 * compiled for the host CPU, so the GPU
 * templates, their three MLIR lowerings and the runtime's CUDA, HIP and
 * Level Zero paths can be tested where no GPU is.
 *
 * The input is the LLVM module llmc_gpu_compile gets for a GPU target after
 * MLIR's NVVM, ROCDL or LLVM-SPV lowering, the very IR NVPTX, AMDGPU or the
 * SPIR-V backend would compile. A few edits make it host code, and nothing
 * else changes:
 *   - every call of a target intrinsic (llvm.nvvm.X.Y, llvm.amdgcn.X.Y)
 *     becomes a call of an external function llmc_emu_nvvm_X_Y or
 *     llmc_emu_amdgcn_X_Y with the same type, and the OpenCL builtins of
 *     the SPIR-V path (_Z12get_local_idj, _Z7barrierj) stay calls with the
 *     C calling convention: thread and block ids, barriers and whatever
 *     else the kernels use are supplied by the emulating driver
 *     (tests/unit/runtime/fake_gpu_emu.c runs each block's threads as
 *     fibers);
 *   - calls of libdevice's __nv_* math stay external too (the driver maps
 *     them to libm), so emulation needs no CUDA toolkit; AMD kernels use
 *     LLVM's math intrinsics (so do Intel ones), which the host backend
 *     lowers itself;
 *   - each kernel K (calling convention ptx_kernel, amdgpu_kernel or
 *     spir_kernel) is renamed K.body and gets a host wrapper
 *     `void K(void **params)` that loads every argument from an array of
 *     pointers to the values (cuLaunchKernel's kernelParams, which the fake
 *     drivers build for every vendor) and calls it.
 * Shared memory (address space 3 globals) becomes ordinary globals of the
 * shared object, which is right as long as the driver runs one block at a
 * time. Every load and store through an address space 3 pointer is preceded
 * by a call llmc_emu_shared_access(address, bytes, is_write), and the image
 * exports a table of its shared globals (llmc_emu_shared_table, _count), so
 * the emulator can check each access as compute-sanitizer's racecheck does:
 * no thread may read or write a word another thread wrote since the last
 * barrier, nor write one another thread read, nor read one this block never
 * wrote; AMD's workgroup-scope fences around barriers become ordinary
 * fences. The result is linked with ld.lld into an ELF shared object. A
 * real driver rejects it (it is not a cubin, code object or SPIR-V); it
 * exists for tests only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>

#include "codegen_impl.h"
#include "llmc_gpu_emulation.h"

/* LLVM's CallingConv::PTX_Kernel, AMDGPU_KERNEL, SPIR_KERNEL and SPIR_FUNC. */
#define PTX_KERNEL_CC 71
#define AMDGPU_KERNEL_CC 91
#define SPIR_KERNEL_CC 76
#define SPIR_FUNC_CC 75

/* "llvm.nvvm.read.ptx.sreg.tid.x" -> "llmc_emu_nvvm_read_ptx_sreg_tid_x". */
static void emulated_name(const char *intrinsic, size_t n, char *out, size_t cap) {
  size_t prefix = strlen("llvm.");
  int w = snprintf(out, cap, "llmc_emu_%.*s", (int)(n - prefix), intrinsic + prefix);
  for (char *p = out; w > 0 && *p; p++)
    if (*p == '.') *p = '_';
}

/* OpenCL builtins (get_local_id as _Z12get_local_idj, barrier as
 * _Z7barrierj, ...) keep their names, but not SPIR's calling convention,
 * which the host backend does not know. */
static void spir_funcs_to_c(LLVMModuleRef m) {
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    if (LLVMGetFunctionCallConv(f) == SPIR_FUNC_CC) LLVMSetFunctionCallConv(f, LLVMCCallConv);
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
      for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i))
        if (LLVMIsACallInst(i) && LLVMGetInstructionCallConv(i) == SPIR_FUNC_CC)
          LLVMSetInstructionCallConv(i, LLVMCCallConv);
  }
}

/* An intrinsic returning a struct (mma.sync's four accumulators) becomes
 * `void llmc_emu_X(ptr out, args...)`, its result loaded from *out: the C
 * ABI returns such a struct in other registers than LLVM's IR-level struct
 * return uses, so a C function cannot stand in for it as it is. */
static llmc_status_t *replace_struct_return(LLVMModuleRef m, LLVMValueRef f, const char *repl) {
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  LLVMTypeRef fty = LLVMGlobalGetValueType(f), ret = LLVMGetReturnType(fty);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  unsigned n = LLVMCountParamTypes(fty);
  LLVMTypeRef *params = malloc(sizeof *params * (n + 1));
  LLVMValueRef *args = malloc(sizeof *args * (n + 1));
  int n_calls = 0;
  for (LLVMUseRef u = LLVMGetFirstUse(f); u; u = LLVMGetNextUse(u)) n_calls++;
  LLVMValueRef *calls = malloc(sizeof *calls * (size_t)(n_calls ? n_calls : 1));
  if (!params || !args || !calls) {
    free(params);
    free(args);
    free(calls);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  params[0] = ptr;
  LLVMGetParamTypes(fty, params + 1);
  LLVMTypeRef nty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, n + 1, 0);
  LLVMValueRef g = LLVMGetNamedFunction(m, repl);
  if (!g) g = LLVMAddFunction(m, repl, nty);
  n_calls = 0;
  for (LLVMUseRef u = LLVMGetFirstUse(f); u; u = LLVMGetNextUse(u)) calls[n_calls++] = LLVMGetUser(u);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  llmc_status_t *s = NULL;
  for (int i = 0; i < n_calls && !s; i++) {
    LLVMValueRef call = calls[i];
    if (!LLVMIsACallInst(call)) {
      s = LLMC_ERROR(LLMC_INTERNAL, NULL, "%s is used other than by a call", repl);
      break;
    }
    /* The result's slot in the entry block: once per call site, not per loop trip. */
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(LLVMGetBasicBlockParent(LLVMGetInstructionParent(call)));
    LLVMPositionBuilderBefore(b, LLVMGetFirstInstruction(entry));
    LLVMValueRef slot = LLVMBuildAlloca(b, ret, "");
    LLVMPositionBuilderBefore(b, call);
    args[0] = slot;
    for (unsigned k = 0; k < n; k++) args[k + 1] = LLVMGetOperand(call, k);
    LLVMBuildCall2(b, nty, g, args, n + 1, "");
    LLVMValueRef v = LLVMBuildLoad2(b, ret, slot, "");
    LLVMReplaceAllUsesWith(call, v);
    LLVMInstructionEraseFromParent(call);
  }
  LLVMDisposeBuilder(b);
  free(params);
  free(args);
  free(calls);
  if (!s) LLVMDeleteFunction(f);
  return s;
}

static llmc_status_t *replace_intrinsics(LLVMModuleRef m) {
  LLVMValueRef next;
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = next) {
    next = LLVMGetNextFunction(f);
    size_t n;
    const char *name = LLVMGetValueName2(f, &n);
    if (!LLVMIsDeclaration(f) || n <= 10 ||
        (strncmp(name, "llvm.nvvm.", 10) != 0 && strncmp(name, "llvm.amdgcn.", 12) != 0))
      continue;
    char repl[256];
    emulated_name(name, n, repl, sizeof repl);
    if (LLVMGetTypeKind(LLVMGetReturnType(LLVMGlobalGetValueType(f))) == LLVMStructTypeKind) {
      LLMC_RETURN_IF_ERROR(replace_struct_return(m, f, repl));
      continue;
    }
    LLVMValueRef g = LLVMGetNamedFunction(m, repl);
    if (!g) g = LLVMAddFunction(m, repl, LLVMGlobalGetValueType(f));
    LLVMReplaceAllUsesWith(f, g);
    LLVMDeleteFunction(f);
  }
  return NULL;
}

enum { SHARED_ADDRESS_SPACE = 3 };

static bool is_shared_pointer(LLVMValueRef p) {
  return LLVMGetPointerAddressSpace(LLVMTypeOf(p)) == SHARED_ADDRESS_SPACE;
}

/* See the file comment: a check before every shared-memory access, and the
 * table of shared globals. Accesses through generic pointers that happen to
 * point into shared memory are not seen (the templates never make them). */
static void instrument_shared(LLVMModuleRef m, LLVMContextRef ctx) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef check_ty =
      LLVMFunctionType(LLVMVoidTypeInContext(ctx), (LLVMTypeRef[]){ptr, i64, i32}, 3, 0);
  LLVMValueRef check = LLVMAddFunction(m, "llmc_emu_shared_access", check_ty);
  LLVMTargetDataRef td = LLVMGetModuleDataLayout(m);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
      for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) {
        bool load = LLVMIsALoadInst(i) != NULL, store = LLVMIsAStoreInst(i) != NULL;
        if (!load && !store) continue;
        LLVMValueRef p = LLVMGetOperand(i, load ? 0 : 1);
        if (!is_shared_pointer(p)) continue;
        LLVMTypeRef value_ty = load ? LLVMTypeOf(i) : LLVMTypeOf(LLVMGetOperand(i, 0));
        LLVMPositionBuilderBefore(b, i);
        LLVMValueRef args[] = {LLVMBuildAddrSpaceCast(b, p, ptr, ""),
                               LLVMConstInt(i64, LLVMStoreSizeOfType(td, value_ty), 0),
                               LLVMConstInt(i32, store, 0)};
        LLVMBuildCall2(b, check_ty, check, args, 3, "");
      }
  LLVMDisposeBuilder(b);

  /* { ptr address, i64 bytes, ptr name } per shared global. */
  LLVMTypeRef row_ty = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){ptr, i64, ptr}, 3, 0);
  int n = 0;
  for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g)) n += is_shared_pointer(g);
  LLVMValueRef *rows = malloc(sizeof *rows * (size_t)(n ? n : 1));
  n = 0;
  for (LLVMValueRef g = LLVMGetFirstGlobal(m); g && rows; g = LLVMGetNextGlobal(g)) {
    if (!is_shared_pointer(g)) continue;
    size_t len;
    const char *name = LLVMGetValueName2(g, &len);
    LLVMValueRef str = LLVMAddGlobal(m, LLVMArrayType2(LLVMInt8TypeInContext(ctx), len + 1), "");
    LLVMSetInitializer(str, LLVMConstStringInContext2(ctx, name, len, 0));
    LLVMSetGlobalConstant(str, 1);
    LLVMSetLinkage(str, LLVMPrivateLinkage);
    LLVMValueRef fields[] = {LLVMConstAddrSpaceCast(g, ptr),
                             LLVMConstInt(i64, LLVMStoreSizeOfType(td, LLVMGlobalGetValueType(g)), 0),
                             str};
    rows[n++] = LLVMConstStructInContext(ctx, fields, 3, 0);
  }
  LLVMValueRef table = LLVMAddGlobal(m, LLVMArrayType2(row_ty, (uint64_t)n), "llmc_emu_shared_table");
  LLVMSetInitializer(table, LLVMConstArray2(row_ty, rows, (uint64_t)n));
  LLVMSetGlobalConstant(table, 1);
  LLVMValueRef count = LLVMAddGlobal(m, i64, "llmc_emu_shared_count");
  LLVMSetInitializer(count, LLVMConstInt(i64, (unsigned long long)n, 0));
  LLVMSetGlobalConstant(count, 1);
  free(rows);
}

/* Adds `void name(ptr params)` calling body with *params[i] as argument i. */
static void add_wrapper(LLVMModuleRef m, LLVMContextRef ctx, LLVMValueRef body, const char *name) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), &ptr, 1, 0);
  LLVMValueRef w = LLVMAddFunction(m, name, fty);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, w, "entry"));
  LLVMTypeRef body_ty = LLVMGlobalGetValueType(body);
  unsigned n = LLVMCountParamTypes(body_ty);
  LLVMTypeRef *types = malloc(sizeof *types * (n ? n : 1));
  LLVMValueRef *args = malloc(sizeof *args * (n ? n : 1));
  LLVMGetParamTypes(body_ty, types);
  LLVMValueRef params = LLVMGetParam(w, 0);
  for (unsigned i = 0; i < n; i++) {
    LLVMValueRef idx = LLVMConstInt(i64, i, 0);
    LLVMValueRef slot = LLVMBuildGEP2(b, ptr, params, &idx, 1, "");
    LLVMValueRef p = LLVMBuildLoad2(b, ptr, slot, "");
    args[i] = LLVMBuildLoad2(b, types[i], p, "");
  }
  LLVMBuildCall2(b, body_ty, body, args, n, "");
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  free(types);
  free(args);
}

static llmc_status_t *wrap_kernels(LLVMModuleRef m, LLVMContextRef ctx) {
  /* Collected first: wrappers are added to the function list being walked. */
  int n = 0, cap = 0;
  LLVMValueRef *kernels = NULL;
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    unsigned cc = LLVMGetFunctionCallConv(f);
    if (LLVMIsDeclaration(f) || (cc != PTX_KERNEL_CC && cc != AMDGPU_KERNEL_CC && cc != SPIR_KERNEL_CC))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      LLVMValueRef *k = realloc(kernels, sizeof *k * (size_t)cap);
      if (!k) {
        free(kernels);
        return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
      }
      kernels = k;
    }
    kernels[n++] = f;
  }
  if (n == 0) {
    free(kernels);
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "GPU emulation: the module has no kernels");
  }
  for (int i = 0; i < n; i++) {
    size_t len;
    const char *name = LLVMGetValueName2(kernels[i], &len);
    char *kernel = strndup(name, len), body[512];
    if (!kernel) {
      free(kernels);
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    }
    snprintf(body, sizeof body, "%s.body", kernel);
    LLVMSetValueName2(kernels[i], body, strlen(body));
    LLVMSetFunctionCallConv(kernels[i], LLVMCCallConv);
    LLVMSetLinkage(kernels[i], LLVMInternalLinkage);
    add_wrapper(m, ctx, kernels[i], kernel);
    free(kernel);
  }
  free(kernels);
  return NULL;
}

/* The finisher (llmc_gpu_compile_finished): rewrites m into host code and
 * appends the linked ELF shared object to *out_so. */
static llmc_status_t *emulation_image(LLVMModuleRef m, LLVMContextRef ctx, int opt_level, llmc_buf_t *out_so) {
  llmc_target_t host;
  LLMC_RETURN_IF_ERROR(llmc_target_lookup("host", &host));
  instrument_shared(m, ctx);
  LLMC_RETURN_IF_ERROR(replace_intrinsics(m));
  spir_funcs_to_c(m);
  LLMC_RETURN_IF_ERROR(wrap_kernels(m, ctx));
  /* The GPU's triple and data layout go; llmc_llvm_emit_object sets the host's. */
  LLVMSetTarget(m, "");
  LLVMSetDataLayout(m, "");
  char *err = NULL;
  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &err)) {
    llmc_status_t *st = LLMC_ERROR(LLMC_INTERNAL, NULL,
                                   "GPU emulation: the host module does not verify: %s",
                                   err ? err : "");
    LLVMDisposeMessage(err);
    return st;
  }
  LLVMDisposeMessage(err);
  llmc_buf_t obj = {0};
  llmc_codegen_scratch_t s;
  llmc_status_t *st = llmc_llvm_emit_object(m, &host, opt_level, &obj, NULL);
  if (!st) st = llmc_codegen_scratch_open(&s, "kernels.o", "kernels.so");
  if (!st) {
    st = llmc_codegen_write_file(s.in, obj.data, obj.len);
    if (!st) st = llmc_link_shared(s.in, s.out);
    if (!st) st = llmc_codegen_read_file(s.out, out_so);
    llmc_codegen_scratch_close(&s);
  }
  llmc_buf_free(&obj);
  return st ? llmc_status_wrap(st, NULL, "building the GPU emulation image") : NULL;
}

llmc_gpu_finisher_t llmc_gpu_emulation_finisher(void) { return emulation_image; }

llmc_status_t *llmc_gpu_compile_emulation(const char *kernels_text, const llmc_target_t *t, int opt_level,
                                          llmc_buf_t *out_image, llmc_gpu_image_info_t *out_info) {
  return llmc_gpu_compile_finished(kernels_text, t, opt_level, emulation_image, out_image, out_info);
}
