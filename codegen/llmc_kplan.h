/* llmc_kplan.h: the kernel plan, the layer of the compiler that decides how
 * each node of a planned graph runs on each target.
 *
 *   graph (after the passes) --llmc_kplan_build--> kplan: one kcall per node
 *     kcall = {node, shape facts, stored weight dtype,
 *              per target: variant, configuration, why}
 *
 * A *variant* is a registered way to run an op on a class of targets (one
 * kernel template or generator): it declares which ops, dtypes and targets
 * it supports, a parameter space (named integer parameters, each with its
 * candidate values), a legality check against the target's facts (threads,
 * shared memory, divisibility), a heuristic choice, how its template
 * parameters are emitted and how it is launched. Variants live in
 * codegen/kvariants.c; the registry is data, so adding a variant is adding a
 * row, not editing the artifact writer.
 *
 * A configuration comes, in order of precedence, from a user override
 * (--kernel-config), the tuning database (--tuning-db, written by `llmc
 * tune`), or the variant's heuristic; every one is checked for legality, and
 * the kcall records which it was. The artifact writer (artifact.c) only
 * encodes what the plan says. The plan prints as text (--emit=plan) so the
 * decisions are FileCheck-tested per target separately from emission.
 *
 * Everything here is deterministic and touches no file but the tuning
 * database. */
#ifndef LLMC_KPLAN_H
#define LLMC_KPLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc_abi.h"
#include "llmc_codegen.h"
#include "llmc_ir.h"

#define LLMC_MAX_TARGETS 16
#define LLMC_KCONFIG_MAX 8
#define LLMC_KPARAM_MAX_VALUES 8

/* A configuration: values of the variant's parameters, in its order. */
typedef struct {
  int n;
  int64_t values[LLMC_KCONFIG_MAX];
} llmc_kconfig_t;

typedef enum {
  LLMC_KSOURCE_HEURISTIC, /* the variant's choice from the target's facts and the shapes */
  LLMC_KSOURCE_TUNING_DB, /* the fastest legal entry of the tuning database */
  LLMC_KSOURCE_OVERRIDE,  /* --kernel-config */
} llmc_ksource_t;

const char *llmc_ksource_name(llmc_ksource_t s);

typedef struct llmc_kvariant llmc_kvariant_t;

/* Introspection of a variant (the registry itself is private). */
const char *llmc_kvariant_name(const llmc_kvariant_t *v);
/* Its kernels round activations to int8 before integer dot products. */
bool llmc_kvariant_int8_activations(const llmc_kvariant_t *v);
int llmc_kvariant_n_params(const llmc_kvariant_t *v);
const char *llmc_kvariant_param_name(const llmc_kvariant_t *v, int i);
/* Parameter i's candidate values into values[LLMC_KPARAM_MAX_VALUES]; returns how many (0 for no such i). */
int llmc_kvariant_param_values(const llmc_kvariant_t *v, int i, int64_t *values);
/* Looks a variant up by name; NULL when unknown. */
const llmc_kvariant_t *llmc_kvariant_find(const char *name);
/* "matmul_f32, matmul_half, ...": every registered variant, for messages. */
void llmc_kvariant_list(llmc_buf_t *out);

typedef struct llmc_kcall llmc_kcall_t;

typedef struct {
  const llmc_kvariant_t *variant;
  llmc_kconfig_t config;
  llmc_ksource_t source;
  int db_line; /* the tuning database line chosen (source TUNING_DB), else 0 */
  /* Per-target fusion (a matmul kcall whose variant can): its kernel also
   * does the rms_norm before it (fused_norm) and the silu_mul after it
   * (fused_glu), whose kcalls then have variant "fused" on this target and
   * fused_into pointing here. GPU targets only. */
  bool fused_norm, fused_glu;
  /* An attention kcall for decode steps (T = 1) whose variant can also
   * writes this token's k and v into the cache (its kv_write's kcall is
   * "fused" there). Not for wider steps: a prefill chunk's tokens read each
   * other's cache rows, which other workgroups would be writing. */
  bool fused_kvw;
  const llmc_kcall_t *fused_into;
} llmc_kchoice_t;

/* What a matmul kernel does with each output value (its epilogue). */
typedef enum {
  LLMC_EPILOGUE_STORE, /* out[t, n] = y */
  LLMC_EPILOGUE_ADD,   /* out[t, n] = y + r[t, n] (matmul_add: the residual) */
  LLMC_EPILOGUE_SPLIT, /* y goes to the slice covering column n (llmc_ir_split_parts) */
} llmc_epilogue_t;

const char *llmc_epilogue_name(llmc_epilogue_t e);

/* Appends the body of a matmul template's
 *   func.func private @NAME_out(%act, %args, %t: index, %n: index, %y: f32)
 * to out: one text for every target class and matmul variant (an
 * epilogue's math is written once). Its launch arguments follow the
 * matmul's four (a, b, out, T):
 *   store: out[t, n] = y, the [T, n_dim] rows at args[2]
 *   add:   out[t, n] = y + act[args[4] + t*n_dim + n]   (matmul_add's residual)
 *   split: part p covers columns [B_p, B_p + sizes[p]): y goes to column
 *          n - B_p of its [T, sizes[p]] rows at args[2] (p = 0) or args[3 + p]. */
void llmc_matmul_epilogue(llmc_epilogue_t e, int64_t n_dim, const int64_t *sizes, int n_parts, llmc_buf_t *out);

/* A matmul's argument holding the meta offset of the step's logit_rows,
 * when its kcall has sampled_rows (after the epilogue's and the fused
 * norm's and silu_mul's, args[4..9]). */
#define LLMC_MATMUL_ROWS_ARG 10

/* One kernel call. The argmax kernel GPU artifacts carry for greedy
 * sampling on the device is a kcall too, with node NULL and op "argmax";
 * it is the last one, and no plan launch runs it. */
struct llmc_kcall {
  const llmc_value_t *node;  /* the graph node it computes; NULL for argmax */
  const char *op;            /* op name, "argmax" for the extra kernel */
  llmc_dtype_t weight_dtype; /* matmul: how its weight is stored; F32 otherwise */
  char shape[96];            /* the shape facts it is keyed on: "K=256,N=768,W=f32" */
  llmc_epilogue_t epilogue;  /* matmuls; STORE for everything else */
  int n_parts;               /* SPLIT: the slices written, in column order */
  const llmc_value_t *parts[LLMC_MAX_SPLIT];
  /* Per-target fusion candidates (llmc_ir_norm_prologue, _glu_epilogue). */
  const llmc_value_t *norm, *glu;
  const llmc_value_t *kvw; /* attention: its kv_write (llmc_ir_kv_write_prologue) */
  /* A matmul computing the logits: only the step's sampled rows are read
   * (meta logit_rows, llmc_abi.h), passed as its argument
   * LLMC_MATMUL_ROWS_ARG; variants that can compute just those do. */
  bool sampled_rows;
  /* The step token counts it runs for (llmc_abi.h): a matmul on GPUs has a
   * kcall for T = 1 and one for 2..max_step_tokens, adjacent in the plan,
   * and so have kv_write and attention (decode fuses them); everything
   * else runs for every T. */
  int64_t t_min, t_max;
  llmc_kchoice_t choice[LLMC_MAX_TARGETS]; /* per target of the plan */
};

/* What the user forces: every kcall whose variant is `variant` (and, when
 * set, whose node is %node_id, whose shape is `shape`, on target `target`)
 * takes the given values; parameters not given keep the heuristic's. */
typedef struct {
  const llmc_kvariant_t *variant;
  const char *target; /* NULL: every target */
  int node_id;        /* -1: every node */
  const char *shape;  /* NULL: every shape */
  int64_t tokens;     /* 0: calls for any step; else only the call whose token range holds it (llmc tune) */
  int n;
  const char *keys[LLMC_KCONFIG_MAX];
  int64_t values[LLMC_KCONFIG_MAX];
  const char *spec;   /* as written, for messages */
} llmc_koverride_t;

/* Parses --kernel-config=VARIANT[%ID][@TARGET]:KEY=V[,KEY=V...] into *out
 * (strings borrowed from spec). LLMC_INVALID_ARGUMENT naming what is wrong:
 * unknown variant or parameter, a value outside the parameter's space. */
LLMC_MUST_USE llmc_status_t *llmc_koverride_parse(const char *spec, llmc_koverride_t *out);

/* The tuning database: JSON lines written by `llmc tune`, one measured
 * candidate each:
 *   {"target": "x86-64-v3", "device": "host CPU", "variant": "matmul_f32",
 *    "shape": "K=256,N=768,W=f32", "tokens": 1, "config": {"VEC": 8},
 *    "us": 3.2}
 * Files merge by concatenation; of lines with the same target, device,
 * variant, shape, tokens and config the later wins. */
typedef struct llmc_tuning_db llmc_tuning_db_t;
/* Reads and checks every line; a malformed one is LLMC_DATA_LOSS
 * "path:LINE: ..." (blank lines are allowed). */
LLMC_MUST_USE llmc_status_t *llmc_tuning_db_load(const char *path, llmc_tuning_db_t **out_db);
void llmc_tuning_db_destroy(llmc_tuning_db_t *db);
/* The fastest entry for (target, variant, shape) measured at a step of
 * t_min..t_max tokens (the kcall's range; of entries at several token
 * counts in it, those at the largest): true with its configuration (in the
 * variant's parameter order) and line; false when the database has none. *out_config holds the
 * configuration to start from (the heuristic's): the entry's parameters
 * replace its values, and parameters it does not name — a database written
 * before the variant had them — keep theirs. An entry naming parameters the
 * variant does not have is LLMC_DATA_LOSS. */
LLMC_MUST_USE llmc_status_t *llmc_tuning_db_best(const llmc_tuning_db_t *db, const char *target,
                                                 const llmc_kvariant_t *v, const char *shape,
                                                 int64_t t_min, int64_t t_max, bool *out_found,
                                                 llmc_kconfig_t *out_config, int *out_line);
const char *llmc_tuning_db_path(const llmc_tuning_db_t *db);

/* How matmul weights may be quantized (--quant). */
typedef enum {
  LLMC_QUANT_NONE, /* the stored dtype is weight_dtype */
  LLMC_QUANT_INT8, /* int8 per output row, symmetric, one f32 scale per row */
  LLMC_QUANT_INT4, /* int4 in groups of 32, symmetric, one f16 scale per group (ggml's Q4_0) */
  LLMC_QUANT_INT8_G32, /* int8 in groups of 32, symmetric, one f16 scale per group (ggml's Q8_0) */
  LLMC_QUANT_INT4_K, /* int4 K-quant super-blocks: 8 groups of 32 with 6-bit scales and mins (ggml's Q4_K) */
  LLMC_QUANT_INT5_K, /* int5 likewise (ggml's Q5_K) */
  LLMC_QUANT_INT6_K, /* int6 K-quant super-blocks: 16 groups of 16 with 8-bit scales (ggml's Q6_K) */
  LLMC_QUANT_INT4_ZP, /* int4 in groups of 32 with an f16 scale and a zero point each (GPTQ's, AWQ's) */
} llmc_quant_t;

/* What matmuls on integer weights do with their activations (--act-quant). */
typedef enum {
  LLMC_ACT_QUANT_AUTO, /* int8 in blocks of 32 and integer dot products, where a variant has them */
  LLMC_ACT_QUANT_NONE, /* f32: the kernels widen the weights instead */
} llmc_act_quant_t;

/* "none", "int8", "int8-g32", "int4", "int4-zp", "int4-k", "int5-k" or "int6-k" (--quant, --quant-config's "quant");
 * false otherwise. */
bool llmc_quant_parse(const char *s, llmc_quant_t *out);

/* --quant-config=FILE: per-weight overrides of --quant (quant_config.c). */
typedef struct llmc_quant_config llmc_quant_config_t;
LLMC_MUST_USE llmc_status_t *llmc_quant_config_load(const char *path, llmc_quant_config_t **out);
void llmc_quant_config_destroy(llmc_quant_config_t *c);
/* Weight `name` (exactly) takes quant unless a rule matches it first;
 * creates *c when NULL. For layouts the checkpoint already has (a GGUF's
 * Q4_0 tensors are int4 without requantizing). */
LLMC_MUST_USE llmc_status_t *llmc_quant_config_add_exact(llmc_quant_config_t **c, const char *name, llmc_quant_t quant);
/* The layout the first rule matching `name` asks for; dflt when none does (or c is NULL). */
llmc_quant_t llmc_quant_config_for(const llmc_quant_config_t *c, const char *name, llmc_quant_t dflt);

typedef struct {
  llmc_dtype_t weight_dtype; /* F32, or F16/BF16 for matmul weights */
  llmc_quant_t quant;        /* matmul weights a quantized kernel can read take this layout instead */
  const llmc_quant_config_t *quant_config; /* nullable: per-weight overrides of quant */
  llmc_act_quant_t act_quant;
  llmc_dtype_t kv_dtype;     /* the KV pool's element type: F32 (default: 0), F16, BF16 or I8 (CPU targets) */
  int64_t block_size;        /* KV block size in tokens */
  int64_t max_context;       /* longest sequence */
  int64_t max_step_tokens;   /* tokens a step may hold (--max-step-tokens) */
  const llmc_koverride_t *overrides;
  int n_overrides;
  const llmc_tuning_db_t *tuning_db; /* nullable */
} llmc_kplan_options_t;

/* The f32 stage host attention converts an int8 pool's block into (a
 * block's K and V rows of one KV head, kv_i8.host.mlir), and the most
 * bytes of stack kplan lets it take. */
#define LLMC_KV_STAGE_FLOATS(block_size, head_dim) (2 * (block_size) * (head_dim))
#define LLMC_KV_STAGE_MAX_BYTES (256 * 1024)

typedef struct {
  llmc_arena_t *arena;
  const llmc_ir_graph_t *graph;
  int n_targets;
  const llmc_target_t *targets; /* [n_targets], borrowed */
  /* Facts of the model the kernels are specialised on. */
  int64_t n_layers, n_kv_heads, head_dim, kv_dim, vocab;
  int64_t block_size, block_floats, max_blocks;
  int64_t kv_window; /* the widest sliding window when every attention has one, else 0 (LLMC_PLAN_KV_WINDOW) */
  llmc_dtype_t kv_dtype; /* the pool's elements: f32, f16/bf16 two to a word, or i8 rows with a scale */
  int64_t block_elems;   /* KV elements per block; block_floats is its f32 words */
  int64_t max_step_tokens;
  bool act_quant; /* matmuls on integer weights may quantize their activations (LLMC_ACT_QUANT_AUTO) */
  int n_calls;
  llmc_kcall_t *calls; /* graph order, then argmax when a target is a GPU */
  llmc_dtype_t *weight_dtypes; /* per value id: how each constant (weight, concat) is stored */
  bool *stored;                /* per value id: the constant is in the weight file (a kernel reads it;
                                  weights read only by concats are not) */
} llmc_kplan_t;

/* Lowers every node of g that runs (not constants, not slices written by
 * their matmul's split epilogue) to a kcall and configures it for each target.
 * Errors: an op no registered variant supports on a target
 * (LLMC_UNIMPLEMENTED), an override or database entry that is illegal for
 * a kcall it applies to, or an override that matches no kcall
 * (LLMC_INVALID_ARGUMENT / LLMC_DATA_LOSS with the reason). */
LLMC_MUST_USE llmc_status_t *llmc_kplan_build(const llmc_ir_graph_t *g, const llmc_target_t *targets,
                                              int n_targets, const llmc_kplan_options_t *opts,
                                              llmc_kplan_t **out_plan);
void llmc_kplan_destroy(llmc_kplan_t *p);

/* Bytes constant w takes in the weight file as the plan stores it. LLMC_DT_I8
 * is the int8 row layout: N*K int8 values, row-major, then N f32 scales
 * (row n of w is q[n][k] * scale[n]); K is a multiple of 4, so the scales
 * start 4-byte aligned, at word (N*K)/4 of the tensor. */
uint64_t llmc_kplan_stored_bytes(const llmc_kplan_t *p, const llmc_value_t *w);

/* The text form (--emit=plan): one line per kcall and one per target
 * decision:
 *   %12 = kcall matmul(%11, %4:bf16) {K=256,N=768,W=bf16} : f32[T,768]
 *     x86-64-v3: matmul_half {VEC=16} heuristic
 *     sm_90a: gemv_block {WG=256,COLS=4} heuristic */
void llmc_kplan_print(const llmc_kplan_t *p, llmc_buf_t *out);
/* "{WG=256,COLS=4}" */
void llmc_kconfig_print(const llmc_kvariant_t *v, const llmc_kconfig_t *c, llmc_buf_t *out);

/* Emission, for the artifact writer. The template family and parameters
 * (without NAME) of call c on target t; the strings live in p's arena. */
#define LLMC_KPARAMS_MAX 24
#define LLMC_KINSTANCE_HELPERS 4
typedef struct llmc_kinstance llmc_kinstance_t;
struct llmc_kinstance {
  const char *family;
  int n;
  llmc_template_param_t params[LLMC_KPARAMS_MAX];
  /* NULL: the kernel is kernels_templates/<family>.<class>.mlir with params.
   * Else a C generator writes it from params (which still key dedupe and
   * the report). */
  llmc_status_t *(*generate)(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out);
  /* Template families (NULL: none) rendered before the kernel with the
   * same NAME and their own helper_params: functions the kernel calls
   * (rope_rot: the RoPE rotation rope, kv_write and attention share;
   * kv_f32 / kv_f16 / kv_bf16: how those two read and write the KV pool;
   * matmul_q8 and gemm_q8_host: its layout's weight decoding, the target's
   * integer dot and q8_rows, the int8 activations;
   * matmul_rows: which token rows a CPU matmul computes). */
  const char *helper[LLMC_KINSTANCE_HELPERS];
  int n_helper[LLMC_KINSTANCE_HELPERS];
  llmc_template_param_t helper_params[LLMC_KINSTANCE_HELPERS][6];
};
/* Appends the MLIR text of instance inst, named `name`, for target class
 * "host" or "gpu": the template instantiated or the generator run. */
LLMC_MUST_USE llmc_status_t *llmc_kinstance_render(const llmc_kinstance_t *inst, const char *target_class,
                                                   const char *name, llmc_buf_t *out);
LLMC_MUST_USE llmc_status_t *llmc_kplan_instance(const llmc_kplan_t *p, const llmc_kcall_t *c, int target,
                                                 llmc_kinstance_t *out);
/* The legal configurations of call c's variant on target t (every
 * combination of the candidates that passes the legality check), in the
 * order of the parameter space, at most cap of them into out; returns how
 * many there are in all. For `llmc tune`. */
int llmc_kplan_candidates(const llmc_kplan_t *p, const llmc_kcall_t *c, int target, llmc_kconfig_t *out, int cap);
/* Whether cfg (values in the variant's parameter order) is a legal
 * configuration of call c's variant on target t. */
bool llmc_kplan_config_legal(const llmc_kplan_t *p, const llmc_kcall_t *c, int target, const llmc_kconfig_t *cfg);

/* The launch shape of call c on GPU target t (llmc_abi.h). */
void llmc_kplan_gpu_launch(const llmc_kplan_t *p, const llmc_kcall_t *c, int target,
                           llmc_gpu_kernel_v1_t *out);

#endif
