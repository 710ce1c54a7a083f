/* artifact_impl.h: private to codegen/: the artifact writer's state, shared
 * by artifact.c (plan, host kernels, files) and artifact_gpu.c (GPU images). */
#ifndef LLMC_ARTIFACT_IMPL_H
#define LLMC_ARTIFACT_IMPL_H

#include <llvm-c/Core.h>

#include "llmc_abi.h"
#include "llmc_artifact.h"

#define MAX_ARGS 12

/* One plan launch: a kcall with its runtime arguments. */
typedef struct {
  const llmc_kcall_t *call;
  int kernel; /* index into the deduplicated kernel list */
  int64_t extent_a, extent_b;
  int n_args;
  int64_t args[MAX_ARGS][2];
  int64_t kinds[MAX_ARGS][LLMC_ARG_RECORD]; /* what each argument is (llmc_abi.h) */
} launch_t;

/* One kernel of the table: the kcalls whose instances agree on every target
 * share it. */
typedef struct {
  const llmc_kcall_t *call; /* the first one */
  const char *family;       /* of the first target, for the name */
  char *key;  /* every target's family + params, for deduplication */
  char *name; /* MLIR function name */
  int first_launch;
  int n_launches;
} kernel_t;

typedef struct {
  llmc_arena_t *a;
  const llmc_ir_graph_t *g;
  const llmc_memory_plan_t *plan;
  const llmc_artifact_options_t *opts;
  llmc_kplan_t *kplan;
  llmc_weight_lookup_fn lookup; /* the weights as imported (the report names converted ones) */
  void *lookup_ctx;
  int64_t *weight_offsets; /* per value id: f32 offset in the weights data section */
  int64_t header[LLMC_PLAN_HEADER_LEN];
  int n_launches;
  launch_t *launches;
  int n_kernels;
  kernel_t *kernels;
  uint64_t weights_size, weights_digest; /* of the weights file written (llmc_abi.h); 0 when none */
  uint64_t decode_bytes; /* weight bytes read per decoded token (matmuls, norms, one embedding row) */
  /* Targets of this artifact: at most one host target, any GPU targets. */
  int n_targets;
  llmc_target_t targets[LLMC_MAX_TARGETS];
  int host_target; /* index in targets, -1 when GPU-only */
  llmc_buf_t images[LLMC_MAX_TARGETS]; /* per target; empty for the host one */
  llmc_buf_t image_asm[LLMC_MAX_TARGETS];
  llmc_gpu_image_info_t image_info[LLMC_MAX_TARGETS];
} builder_t;

llmc_status_t *llmc_artifact_oom(void);
LLVMValueRef llmc_artifact_global_const(LLVMModuleRef m, LLVMValueRef init, const char *name);
LLVMValueRef llmc_artifact_string_const(LLVMContextRef ctx, LLVMModuleRef m, const char *s,
                                        const char *name);

/* Compiles every kernel for each GPU target into b->images. */
LLMC_MUST_USE llmc_status_t *llmc_artifact_gpu_compile(builder_t *b);
/* Adds the image table (llmc_image_v1_t[]) to m; *out_table is a null
 * pointer constant when there are no GPU targets. */
LLMC_MUST_USE llmc_status_t *llmc_artifact_gpu_globals(builder_t *b, LLVMContextRef ctx, LLVMModuleRef m,
                                                       LLVMValueRef *out_table, int64_t *out_count);

/* artifact_files.c: weights.safetensors (streamed in plan order, each
 * weight in the dtype the kernel plan stores it in), model.h and
 * report.json. */
LLMC_MUST_USE llmc_status_t *llmc_artifact_write_weights(builder_t *b, llmc_weight_lookup_fn lookup, void *ctx,
                                                         const char *path, uint64_t *out_bytes);
void llmc_artifact_model_h(builder_t *b, const llmc_target_t *t, llmc_buf_t *out);
/* report.json text (malloc'd), NULL when out of memory. */
char *llmc_artifact_report(builder_t *b, const llmc_target_t *t, uint64_t weight_bytes);

#endif
