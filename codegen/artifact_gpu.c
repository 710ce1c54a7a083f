/* artifact_gpu.c: the GPU images of an artifact. Every kernel of the plan is
 * instantiated from its kernels_templates/<family>.gpu.mlir (variant,
 * parameters and launch geometry as the kernel plan chose them for each
 * target), the instances
 * of one target are compiled together by llmc_gpu_compile into one image
 * (cubin or PTX, HSA code object, SPIR-V), and the images go into model.so
 * as an llmc_image_v1_t table (llmc_abi.h) the runtime picks from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_impl.h"

/* The kernels of GPU target t, as the plan configured them for t. */
static llmc_status_t *gpu_kernel_text(builder_t *b, int t, llmc_buf_t *out) {
  for (int k = 0; k < b->n_kernels; k++) {
    const kernel_t *kn = &b->kernels[k];
    llmc_kinstance_t inst;
    LLMC_RETURN_IF_ERROR(llmc_kplan_instance(b->kplan, kn->call, t, &inst));
    llmc_status_t *s = llmc_kinstance_render(&inst, "gpu", kn->name, out);
    if (s) return llmc_status_wrap(s, NULL, "instantiating GPU kernel %s", kn->name);
  }
  return out->failed ? llmc_artifact_oom() : NULL;
}

llmc_status_t *llmc_artifact_gpu_compile(builder_t *b) {
  bool any = false;
  for (int t = 0; t < b->n_targets; t++) any |= b->targets[t].is_gpu;
  if (!any) return NULL;
  llmc_status_t *s = NULL;
  for (int t = 0; t < b->n_targets && !s; t++) {
    if (!b->targets[t].is_gpu) continue;
    llmc_buf_t text = {0};
    s = gpu_kernel_text(b, t, &text);
    if (s) {
      llmc_buf_free(&text);
      break;
    }
    /* Assembly is only ever written out for NVIDIA (--emit=ptx). */
    bool nvidia = llmc_gpu_vendor(&b->targets[t]) == LLMC_GPU_VENDOR_NVIDIA;
    if (b->opts->gpu_finisher)
      s = llmc_gpu_compile_finished(text.data, &b->targets[t], b->opts->opt_level, b->opts->gpu_finisher,
                                    &b->images[t], &b->image_info[t]);
    else
      s = llmc_gpu_compile(text.data, &b->targets[t], b->opts->opt_level, &b->images[t],
                           nvidia ? &b->image_asm[t] : NULL, &b->image_info[t]);
    if (s) s = llmc_status_wrap(s, NULL, "compiling the kernels for %s", b->targets[t].name);
    llmc_buf_free(&text);
  }
  return s;
}

static uint32_t abi_format(llmc_gpu_image_kind_t kind, llmc_gpu_vendor_t vendor) {
  switch (kind) {
    case LLMC_GPU_IMAGE_PTX: return LLMC_IMAGE_PTX;
    case LLMC_GPU_IMAGE_CUBIN: return LLMC_IMAGE_CUBIN;
    /* Stands where the target's cubin or code object would, so the runtime
     * chooses it as it would the real one; only an emulating driver loads
     * it. */
    case LLMC_GPU_IMAGE_HOST_EMULATION:
      return vendor == LLMC_GPU_VENDOR_AMD     ? LLMC_IMAGE_HSACO
             : vendor == LLMC_GPU_VENDOR_INTEL ? LLMC_IMAGE_SPIRV
                                               : LLMC_IMAGE_CUBIN;
    case LLMC_GPU_IMAGE_HSACO: return LLMC_IMAGE_HSACO;
    case LLMC_GPU_IMAGE_SPIRV: return LLMC_IMAGE_SPIRV;
  }
  return 0;
}

/* One llmc_image_v1_t: the bytes as an internal, 64-byte aligned global
 * called `symbol`. */
static LLVMValueRef image_entry(LLVMContextRef ctx, LLVMModuleRef m, const char *symbol,
                                LLVMValueRef target_name, uint32_t format, int n_kernels,
                                const llmc_buf_t *bytes, LLVMValueRef kernels) {
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
  LLVMValueRef data = LLVMAddGlobal(m, LLVMArrayType2(LLVMInt8TypeInContext(ctx), bytes->len), symbol);
  LLVMSetInitializer(data, LLVMConstStringInContext2(ctx, bytes->data, bytes->len, 1));
  LLVMSetGlobalConstant(data, 1);
  LLVMSetLinkage(data, LLVMInternalLinkage);
  LLVMSetAlignment(data, 64);
  LLVMValueRef f[] = {target_name, LLVMConstInt(i32, format, 0), LLVMConstInt(i32, (unsigned)n_kernels, 0),
                      data, LLVMConstInt(i64, bytes->len, 0), kernels};
  return LLVMConstStructInContext(ctx, f, 6, 0);
}

/* The NVIDIA target with the highest compute capability that is not
 * arch-specific (sm_90a code runs only on sm_90), or -1. */
static int newest_portable_nvidia(const builder_t *b) {
  int best = -1, best_cc = -1;
  for (int t = 0; t < b->n_targets; t++) {
    const char *cpu = b->targets[t].cpu;
    if (llmc_gpu_vendor(&b->targets[t]) != LLMC_GPU_VENDOR_NVIDIA || strncmp(cpu, "sm_", 3) != 0) continue;
    size_t len = strlen(cpu);
    if (len && cpu[len - 1] == 'a') continue;
    int cc = atoi(cpu + 3);
    if (cc > best_cc) best_cc = cc, best = t;
  }
  return best;
}

llmc_status_t *llmc_artifact_gpu_globals(builder_t *b, LLVMContextRef ctx, LLVMModuleRef m,
                                         LLVMValueRef *out_table, int64_t *out_count) {
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  *out_table = LLVMConstNull(ptr);
  *out_count = 0;
  LLVMValueRef images[2 * LLMC_MAX_TARGETS];
  int n = 0;
  /* One symbol name per kernel, shared by every image (all images are
   * compiled from the same instances, so the names agree). */
  LLVMValueRef *symbols = malloc(sizeof(LLVMValueRef) * (size_t)(b->n_kernels + 1));
  LLVMValueRef *rows = malloc(sizeof(LLVMValueRef) * (size_t)(b->n_kernels + 1));
  if (!symbols || !rows) {
    free(symbols);
    free(rows);
    return llmc_artifact_oom();
  }
  char name[128];
  for (int k = 0; k < b->n_kernels; k++) {
    snprintf(name, sizeof name, "llmc_gpu_symbol_%d", k);
    symbols[k] = llmc_artifact_string_const(ctx, m, b->kernels[k].name, name);
  }
  for (int t = 0; t < b->n_targets; t++) {
    if (!b->targets[t].is_gpu) continue;
    for (int k = 0; k < b->n_kernels; k++) {
      llmc_gpu_kernel_v1_t g;
      llmc_kplan_gpu_launch(b->kplan, b->kernels[k].call, t, &g);
      LLVMValueRef f[] = {symbols[k], LLVMConstInt(i32, (unsigned)g.block_threads, 0),
                          LLVMConstInt(i32, (unsigned)g.items_per_block, 0),
                          LLVMConstInt(i32, (unsigned)g.shared_bytes, 0),
                          LLVMConstInt(i32, (unsigned)g.grid_y_tokens, 0)};
      rows[k] = LLVMConstStructInContext(ctx, f, 5, 0);
    }
    LLVMTypeRef row_type = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){ptr, i32, i32, i32, i32}, 5, 0);
    snprintf(name, sizeof name, "llmc_gpu_kernels_%s", b->targets[t].name);
    LLVMValueRef kernels = llmc_artifact_global_const(m, LLVMConstArray2(row_type, rows, (uint64_t)b->n_kernels), name);
    /* The image bytes, named per target so `llvm-nm model.so` shows them. */
    snprintf(name, sizeof name, "llmc_target_%s", b->targets[t].name);
    LLVMValueRef target_name = llmc_artifact_string_const(ctx, m, b->targets[t].name, name);
    snprintf(name, sizeof name, "llmc_image_%s", b->targets[t].name);
    images[n++] = image_entry(ctx, m, name, target_name, abi_format(b->image_info[t].kind, llmc_gpu_vendor(&b->targets[t])),
                              b->n_kernels, &b->images[t], kernels);
    /* Next to the cubin of the newest portable NVIDIA target, its PTX too:
     * a newer GPU than any compiled for can JIT it (as nvcc's
     * -gencode=...,code=compute_XX does). sm_XXa PTX only runs on XX. */
    if (t == newest_portable_nvidia(b) && b->image_info[t].kind == LLMC_GPU_IMAGE_CUBIN && n < 2 * LLMC_MAX_TARGETS) {
      llmc_buf_t ptx = {0};
      llmc_buf_append(&ptx, b->image_asm[t].data, b->image_asm[t].len);
      llmc_buf_append(&ptx, "", 1); /* cuModuleLoadData takes NUL-terminated PTX */
      snprintf(name, sizeof name, "llmc_image_%s_ptx", b->targets[t].name);
      images[n++] = ptx.failed ? NULL
                               : image_entry(ctx, m, name, target_name, LLMC_IMAGE_PTX, b->n_kernels, &ptx, kernels);
      llmc_buf_free(&ptx);
      if (!images[n - 1]) {
        free(symbols);
        free(rows);
        return llmc_artifact_oom();
      }
    }
  }
  free(symbols);
  free(rows);
  if (n > 0) {
    LLVMTypeRef image_type = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){ptr, i32, i32, ptr, i64, ptr}, 6, 0);
    *out_table = llmc_artifact_global_const(m, LLVMConstArray2(image_type, images, (uint64_t)n), "llmc_images");
    *out_count = n;
  }
  return NULL;
}
