/* artifact_gpu.c: the GPU images of an artifact. Every kernel of the plan is
 * instantiated from its kernels_templates/<family>.gpu.mlir (parameters and
 * launch geometry chosen in artifact.c next to the host ones), the instances
 * of one target are compiled together by llmc_gpu_compile into one image
 * (cubin or PTX, HSA code object, SPIR-V), and the images go into model.so
 * as an llmc_image_v1_t table (llmc_abi.h) the runtime picks from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_impl.h"

static llmc_status_t *gpu_kernel_text(builder_t *b, llmc_buf_t *out) {
  for (int k = 0; k < b->n_kernels; k++) {
    const kernel_t *kn = &b->kernels[k];
    const launch_t *l = &b->launches[kn->first_launch];
    llmc_template_param_t params[MAX_PARAMS + 1];
    params[0] = (llmc_template_param_t){"NAME", kn->name};
    memcpy(params + 1, l->gparams, sizeof(llmc_template_param_t) * (size_t)l->n_gparams);
    llmc_status_t *s = llmc_template_instantiate(l->gfamily, "gpu", params, l->n_gparams + 1, out);
    if (s) return llmc_status_wrap(s, NULL, "instantiating GPU kernel %s", kn->name);
  }
  return out->failed ? llmc_artifact_oom() : NULL;
}

llmc_status_t *llmc_artifact_gpu_compile(builder_t *b) {
  bool any = false;
  for (int t = 0; t < b->n_targets; t++) any |= b->targets[t].is_gpu;
  if (!any) return NULL;
  llmc_buf_t text = {0};
  llmc_status_t *s = gpu_kernel_text(b, &text);
  for (int t = 0; t < b->n_targets && !s; t++) {
    if (!b->targets[t].is_gpu) continue;
    /* Assembly is only ever written out for NVIDIA (--emit=ptx). */
    bool nvidia = llmc_gpu_vendor(&b->targets[t]) == LLMC_GPU_VENDOR_NVIDIA;
    s = llmc_gpu_compile(text.data, &b->targets[t], b->opts->opt_level, &b->images[t],
                         nvidia ? &b->image_asm[t] : NULL, &b->image_info[t]);
    if (s) s = llmc_status_wrap(s, NULL, "compiling the kernels for %s", b->targets[t].name);
  }
  llmc_buf_free(&text);
  return s;
}

static uint32_t abi_format(llmc_gpu_image_kind_t kind) {
  switch (kind) {
    case LLMC_GPU_IMAGE_PTX: return LLMC_IMAGE_PTX;
    case LLMC_GPU_IMAGE_CUBIN: return LLMC_IMAGE_CUBIN;
    case LLMC_GPU_IMAGE_HSACO: return LLMC_IMAGE_HSACO;
    case LLMC_GPU_IMAGE_SPIRV: return LLMC_IMAGE_SPIRV;
  }
  return 0;
}

llmc_status_t *llmc_artifact_gpu_globals(builder_t *b, LLVMContextRef ctx, LLVMModuleRef m,
                                         LLVMValueRef *out_table, int64_t *out_count) {
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef i8 = LLVMInt8TypeInContext(ctx), ptr = LLVMPointerTypeInContext(ctx, 0);
  *out_table = LLVMConstNull(ptr);
  *out_count = 0;
  LLVMValueRef images[LLMC_MAX_TARGETS];
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
      const llmc_gpu_kernel_v1_t *g = &b->launches[b->kernels[k].first_launch].gpu;
      LLVMValueRef f[] = {symbols[k], LLVMConstInt(i32, (unsigned)g->block_threads, 0),
                          LLVMConstInt(i32, (unsigned)g->items_per_block, 0),
                          LLVMConstInt(i32, (unsigned)g->shared_bytes, 0),
                          LLVMConstInt(i32, (unsigned)g->grid_y_tokens, 0)};
      rows[k] = LLVMConstStructInContext(ctx, f, 5, 0);
    }
    LLVMTypeRef row_type = LLVMStructTypeInContext(ctx, (LLVMTypeRef[]){ptr, i32, i32, i32, i32}, 5, 0);
    snprintf(name, sizeof name, "llmc_gpu_kernels_%s", b->targets[t].name);
    LLVMValueRef kernels = llmc_artifact_global_const(m, LLVMConstArray2(row_type, rows, (uint64_t)b->n_kernels), name);
    /* The image bytes, named per target so `llvm-nm model.so` shows them. */
    snprintf(name, sizeof name, "llmc_image_%s", b->targets[t].name);
    LLVMValueRef data = LLVMAddGlobal(m, LLVMArrayType2(i8, b->images[t].len), name);
    LLVMSetInitializer(data, LLVMConstStringInContext2(ctx, b->images[t].data, b->images[t].len, 1));
    LLVMSetGlobalConstant(data, 1);
    LLVMSetLinkage(data, LLVMInternalLinkage);
    LLVMSetAlignment(data, 64);
    snprintf(name, sizeof name, "llmc_target_%s", b->targets[t].name);
    LLVMValueRef f[] = {llmc_artifact_string_const(ctx, m, b->targets[t].name, name),
                        LLVMConstInt(i32, abi_format(b->image_info[t].kind), 0),
                        LLVMConstInt(i32, (unsigned)b->n_kernels, 0), data,
                        LLVMConstInt(i64, b->images[t].len, 0), kernels};
    images[n++] = LLVMConstStructInContext(ctx, f, 6, 0);
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
