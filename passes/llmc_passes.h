/* llmc_passes.h: the pass manager and graph passes.
 *
 * A pipeline is a comma-separated list of pass names run in order; -O levels
 * pick a default list. After each pass the verifier runs (always: it is
 * cheap next to code generation), --print-after dumps the IR, and
 * --time-passes records wall time. Rewrites keep the reference interpreter's
 * answer unchanged; tests check that on every example. */
#ifndef LLMC_PASSES_H
#define LLMC_PASSES_H

#include "llmc_ir.h"

/* Static activation layout chosen by plan-memory for steps of up to
 * max_tokens tokens. Offsets are in f32 elements, 64-byte aligned. */
typedef struct {
  int64_t max_tokens;
  int64_t n_values;
  int64_t *offsets;     /* per value id; -1 for values without a buffer */
  int64_t arena_floats; /* peak: the arena size */
  int64_t naive_floats; /* one buffer per value, no reuse: for the report */
} llmc_memory_plan_t;

typedef struct {
  const char *name;
  double seconds;
  int nodes_before, nodes_after;
} llmc_pass_stat_t;

#define LLMC_MAX_PASSES 32

/* What a fusion pass did or declined to do, for report.json: every fusion
 * made and every candidate refused, with the reason. */
typedef struct {
  const char *pass; /* the pass's name */
  bool fused;       /* true: made; false: a candidate refused */
  char what[256];   /* the values, by weight name where there is one, and why */
} llmc_pass_remark_t;

typedef struct {
  int n, cap;
  llmc_pass_remark_t *items; /* malloc'd; freed with the pass result */
  bool failed;               /* out of memory while recording: the list is incomplete */
} llmc_pass_remarks_t;

/* Appends one remark (printf-style); failure to allocate marks the list. */
void llmc_pass_remark(llmc_pass_remarks_t *r, const char *pass, bool fused, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef struct {
  int opt_level;           /* 0..3: default pipeline when pipeline is NULL */
  const char *pipeline;    /* explicit list, overrides opt_level */
  const char *print_after; /* a pass name, "all", or NULL */
  int64_t max_tokens;      /* tokens per step to plan memory for */
  llmc_buf_t *log;         /* receives --print-after dumps; may be NULL */
} llmc_pass_options_t;

typedef struct {
  int n_passes;
  llmc_pass_stat_t stats[LLMC_MAX_PASSES];
  llmc_memory_plan_t plan; /* filled by plan-memory; free with llmc_memory_plan_free */
  bool planned;
  llmc_pass_remarks_t remarks; /* from the fusion passes */
} llmc_pass_result_t;

/* The default pipeline for an -O level (always ends with plan-memory). */
const char *llmc_passes_default_pipeline(int opt_level);
/* True when name is a known pass (for --print-after validation). */
bool llmc_pass_exists(const char *name);

LLMC_MUST_USE llmc_status_t *llmc_passes_run(llmc_ir_graph_t *g, const llmc_pass_options_t *opts,
                                             llmc_pass_result_t *out_result);
void llmc_pass_result_free(llmc_pass_result_t *r);

/* Individual passes; each returns how many nodes it changed or removed and
 * may record remarks (fusions made or refused). */
typedef llmc_status_t *(*llmc_pass_fn)(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed);
LLMC_MUST_USE llmc_status_t *llmc_pass_canonicalize(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
LLMC_MUST_USE llmc_status_t *llmc_pass_cse(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
LLMC_MUST_USE llmc_status_t *llmc_pass_dce(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
LLMC_MUST_USE llmc_status_t *llmc_pass_fuse_silu_mul(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
/* add(r, rms_norm(x, w)) -> rms_norm_add(x, w, r) (post-norms: Gemma 2/3). */
LLMC_MUST_USE llmc_status_t *llmc_pass_fuse_norm_add(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
/* fuse-sibling-matmuls: matmuls reading the same activation (q/k/v, gate/up)
 * become one matmul over their weights joined at compile time (concat),
 * whose slices replace them (written directly by a split epilogue). */
LLMC_MUST_USE llmc_status_t *llmc_pass_fuse_sibling_matmuls(llmc_ir_graph_t *g, llmc_pass_remarks_t *r,
                                                            int *out_changed);
/* fuse-rope: rope of k into its kv_write, rope of q into its attention
 * (their rope_theta/rope_style attributes). */
LLMC_MUST_USE llmc_status_t *llmc_pass_fuse_rope(llmc_ir_graph_t *g, llmc_pass_remarks_t *r, int *out_changed);
/* fuse-matmul-add: add(matmul(a, b), r) -> matmul_add(a, b, r), the residual
 * added in the matmul's epilogue (o_proj and down_proj in a Llama layer). */
LLMC_MUST_USE llmc_status_t *llmc_pass_fuse_matmul_add(llmc_ir_graph_t *g, llmc_pass_remarks_t *r,
                                                       int *out_changed);
LLMC_MUST_USE llmc_status_t *llmc_plan_memory(const llmc_ir_graph_t *g, int64_t max_tokens,
                                              llmc_memory_plan_t *out_plan);
void llmc_memory_plan_free(llmc_memory_plan_t *p);

#endif
