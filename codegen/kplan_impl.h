/* kplan_impl.h: private to codegen/: what a kernel variant is (the registry
 * in kvariants.c, read by kplan.c). */
#ifndef LLMC_KPLAN_IMPL_H
#define LLMC_KPLAN_IMPL_H

#include "llmc_kplan.h"

/* One tunable parameter: its name and candidate values, ascending. */
typedef struct {
  const char *name;
  int n;
  int64_t values[LLMC_KPARAM_MAX_VALUES];
} llmc_kparam_t;

/* What a variant's functions see. */
typedef struct {
  const llmc_kplan_t *plan;
  const llmc_kcall_t *call;
  const llmc_target_t *target;
  const llmc_kchoice_t *choice; /* the call's choice on target; NULL while it is being made */
} llmc_kctx_t;

struct llmc_kvariant {
  const char *name;
  bool gpu;        /* runs on GPU targets; else on CPU targets */
  const char *ops; /* the ops it runs, space-separated ("add mul") */
  int n_params;
  llmc_kparam_t params[LLMC_KCONFIG_MAX];
  /* Beyond op and target class (dtypes, shapes); NULL: always. */
  bool (*supports)(const llmc_kctx_t *x);
  /* The configuration to use without tuning; NULL: each parameter's
   * first candidate. Must be legal whenever supports() holds. */
  void (*heuristic)(const llmc_kctx_t *x, llmc_kconfig_t *out);
  /* Legality against the target's limits and the shapes; false with the
   * reason appended to why. NULL: every configuration in the space. */
  bool (*legal)(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why);
  /* Template family and parameters. */
  llmc_status_t *(*emit)(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out);
  /* Per-target fusions its kernels can do, space-separated: "norm" (an
   * rms_norm prologue), "glu" (a silu_mul of the two halves as the
   * epilogue); see llmc_kchoice_t. NULL: none. */
  const char *fuses;
  /* Its kernels round their activations to int8 (blocks of 32) before
   * integer dot products: the artifact no longer matches the interpreter to
   * summation order (llmc_artifact_summary_t.int8_activation_calls). */
  bool int8_activations;
  /* Its kernels read the step's logit_rows and compute only those rows
   * when the kcall has sampled_rows (the logits' matmul). */
  bool sampled_rows;
  /* > 1: it runs only steps of at least this many tokens (supports()
   * says so for a kcall whose t_min is smaller); the plan then gives a node
   * a token range starting here (kplan.c, range_split). */
  int64_t min_tokens;
  /* GPU variants: the launch shape. */
  void (*launch)(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out);
};

/* The variant of a kcall whose work another kcall does on a target (its
 * kernel is skipped there: block_threads 0). */
extern const llmc_kvariant_t llmc_kvariant_fused;

/* The registry, in order of preference: the first variant that supports a
 * kcall on a target is chosen for it. */
const llmc_kvariant_t *llmc_kvariants(int *out_count);

/* A generator's parameter: as an integer (-1 when absent), or its text
 * (NULL when absent). */
int64_t llmc_kinstance_int(const llmc_kinstance_t *inst, const char *key);
const char *llmc_kinstance_str(const llmc_kinstance_t *inst, const char *key);

/* For the tile generators (gemm_host.c, gemm_q8_host.c): `type` n times,
 * comma-separated; and "scf.yield %<p>0_0, %<p>0_1, ... : <type>, ..." for a
 * tile of tt x nc values named %<p><j>_<c>, on a line of its own. */
void llmc_emit_type_list(llmc_buf_t *o, const char *type, int n);
void llmc_emit_tile_yield(llmc_buf_t *o, const char *indent, const char *p, int tt, int nc, const char *type);

/* gemm_host.c: the register-tiled CPU matmul for steps of several tokens.
 * Panel tiles (params MR > 0, NV) take at most PANEL_MR_MAX tokens, and only
 * token blocks of PANEL_PMIN tokens or more (below, packing the weights
 * costs more than the broadcast form saves). */
#define LLMC_GEMM_PANEL_MR_MAX 12
#define LLMC_GEMM_PANEL_PMIN 16
LLMC_MUST_USE llmc_status_t *llmc_gemm_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out);
/* gemm_q8_host.c: the register-tiled integer-dot CPU matmul for steps of several tokens. */
LLMC_MUST_USE llmc_status_t *llmc_gemm_q8_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out);

/* attention_host.c: the CPU attention (attention.host.mlir and the helpers
 * of its lane count); and those helpers alone (@NAME_qk, _qk_full, _in,
 * _hmax; kvd: a position's K row, N_KV_HEADS * HEAD_DIM), for
 * tests that instantiate the template themselves. */
LLMC_MUST_USE llmc_status_t *llmc_attention_host_generate(const llmc_kinstance_t *inst, const char *name,
                                                          llmc_buf_t *out);
LLMC_MUST_USE llmc_status_t *llmc_attention_qk_generate(const char *name, int64_t lanes, int64_t head_dim,
                                                        int64_t kvd, llmc_buf_t *out);

/* The smallest step a tensor-core GEMM (gemm_mma) runs: below, a decode
 * batch, the GEMVs' blocks cover the GPU and read the weights about as few
 * times. */
#define LLMC_MMA_MIN_TOKENS 16

/* gemm_mma.c: the mma.sync tensor-core GEMM generator (NVIDIA). */
LLMC_MUST_USE llmc_status_t *llmc_gemm_mma_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out);

/* gemv_warp.c: the warp-per-rows GEMV generator (a llmc_kinstance_t.generate). */
/* And the GLU epilogue's activation both GPU matmul generators fuse, as
 * silu_mul (glu 1) and gelu_mul (glu 2, tanh form) compute it: f32 SSA
 * %gact<tag> = act(gate), its temporaries suffixed with tag. */
void llmc_emit_glu_act(llmc_buf_t *o, const char *ind, const char *tag, const char *gate, int glu);
LLMC_MUST_USE llmc_status_t *llmc_gemv_warp_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out);

/* The value of parameter `name` in c, for variant v (0 when absent). */
int64_t llmc_kconfig_get(const llmc_kvariant_t *v, const llmc_kconfig_t *c, const char *name);

#endif
