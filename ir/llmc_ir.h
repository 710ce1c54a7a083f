/* llmc_ir.h: the typed SSA tensor graph.
 *
 * A graph is a list of values in definition order. A value is a graph input
 * (tokens, positions), a weight (a named tensor in the model's weight files),
 * or the result of a node. Nodes only use values defined before them, so the
 * list order is a topological order and cycles cannot be expressed.
 *
 * Semantics are per step of one sequence: `tokens[T]` are new tokens at
 * `positions[T]`. Every op except kv_write and attention is row-wise in the
 * token dimension T, so a ragged batch of sequences is just concatenated rows;
 * kv_write and attention are the only ops that look at per-sequence metadata
 * (block tables), and they do so through the KV cache of their layer.
 *
 * Shapes hold constant dims or the symbolic dim T (the step's token count).
 * Everything is allocated from the graph's arena. */
#ifndef LLMC_IR_H
#define LLMC_IR_H

#include "llmc_support.h"

typedef enum {
  LLMC_DT_F32,
  LLMC_DT_F16,
  LLMC_DT_BF16,
  LLMC_DT_I32,
  LLMC_DT_KV, /* the state of one layer's KV cache after a kv_write */
  LLMC_DT_I8, /* a stored weight layout only: int8 rows with one f32 scale per row (llmc_stored_bytes) */
  LLMC_DT_I4, /* a stored weight layout only: int4 in groups of 32, one f16 scale per group (ggml's Q4_0 values) */
  LLMC_DT_I8G, /* a stored weight layout only: int8 in groups of 32, one f16 scale per group (ggml's Q8_0 values) */
  LLMC_DT_I4K, /* stored weight layouts only: K-quant super-blocks of 256 (support/llmc_kquant.h) */
  LLMC_DT_I5K, /*   with ggml's Q4_K, Q5_K and Q6_K values */
  LLMC_DT_I6K,
  LLMC_DT_I4Z, /* a stored weight layout only: int4 in groups of 32, an f16 scale and a zero point each (GPTQ's, AWQ's values) */
  LLMC_DT_COUNT
} llmc_dtype_t;

const char *llmc_dtype_name(llmc_dtype_t dt);
/* Returns false for unknown names. */
bool llmc_dtype_parse(const char *name, llmc_dtype_t *out);
size_t llmc_dtype_size(llmc_dtype_t dt);
/* 4, 5, 6 for the K-quant layouts (LLMC_DT_I4K, _I5K, _I6K); 0 otherwise. */
int llmc_dtype_kquant_bits(llmc_dtype_t dt);
/* The stored weight layouts (LLMC_DT_I8 and after) keep an [N, K] matrix in
 * two parts: every row's values, then every row's header (its scale; its
 * groups' scales and zero points; its super-block headers). Sets the bytes
 * a row takes in each; false for the plain dtypes and for a K the layout
 * cannot hold (int4/int8 groups: a multiple of 64; int4-zp: 128; K-quants:
 * 256). */
bool llmc_layout_row_bytes(llmc_dtype_t dt, int64_t k, uint64_t *out_values, uint64_t *out_header);
/* The layout's name in report.json and the weight file's metadata
 * ("int8-rows", "int4-g32", "int8-g32", "int4-g32-zp", "int4-k", ...);
 * llmc_dtype_name for the plain dtypes. */
const char *llmc_layout_name(llmc_dtype_t dt);

#define LLMC_MAX_RANK 4
#define LLMC_DIM_T (-1) /* the symbolic token dim */

typedef struct {
  int rank;
  int64_t dims[LLMC_MAX_RANK]; /* >= 0 constant, LLMC_DIM_T symbolic */
} llmc_shape_t;

/* Op table: see ir/ops.def. */
typedef enum {
#define LLMC_OP(id, name, n_in) LLMC_OP_##id,
#include "ops.def"
#undef LLMC_OP
  LLMC_OP_COUNT
} llmc_op_t;

const char *llmc_op_name(llmc_op_t op);
bool llmc_op_parse(const char *name, llmc_op_t *out);
int llmc_op_arity(llmc_op_t op);

typedef enum { LLMC_ATTR_INT, LLMC_ATTR_FLOAT, LLMC_ATTR_BOOL, LLMC_ATTR_STRING, LLMC_ATTR_FLOATS } llmc_attr_kind_t;

/* The longest FLOATS attribute (RoPE's per-pair factors: head_dim / 2). */
#define LLMC_MAX_ATTR_FLOATS 1024

typedef struct {
  const char *name;
  llmc_attr_kind_t kind;
  int64_t i; /* INT and BOOL; FLOATS: how many */
  double f;  /* FLOAT */
  const char *s;
  const double *fs; /* FLOATS: i numbers (Phi-3's longrope factors) */
} llmc_attr_t;

typedef enum { LLMC_VALUE_INPUT, LLMC_VALUE_WEIGHT, LLMC_VALUE_NODE } llmc_value_kind_t;

typedef struct llmc_value llmc_value_t;
struct llmc_value {
  int id; /* index in graph->values; printed as %id */
  llmc_value_kind_t kind;
  llmc_dtype_t dtype;
  llmc_shape_t shape;
  const char *name; /* INPUT: input name; WEIGHT: tensor name; NODE: NULL */
  /* NODE only */
  llmc_op_t op;
  int n_inputs;
  llmc_value_t **inputs;
  int n_attrs;
  llmc_attr_t *attrs;
  bool dead; /* set by passes; compacted by llmc_ir_graph_compact */
};

typedef struct {
  const char *name;
  llmc_value_t *value;
} llmc_output_t;

typedef struct {
  llmc_arena_t *arena;
  const char *name;
  int n_values, cap_values;
  llmc_value_t **values;
  int n_outputs, cap_outputs;
  llmc_output_t *outputs;
  /* Inputs and weights by name, kept by add_input/add_weight so that a
   * frontend's lookups stay O(1) in graphs of a million values. */
  llmc_strmap_t *input_names, *weight_names;
} llmc_ir_graph_t;

LLMC_MUST_USE llmc_status_t *llmc_ir_graph_create(const char *name, llmc_ir_graph_t **out_graph);
void llmc_ir_graph_destroy(llmc_ir_graph_t *g);

LLMC_MUST_USE llmc_status_t *llmc_ir_graph_add_input(llmc_ir_graph_t *g, const char *name,
                                                     llmc_dtype_t dt, llmc_shape_t shape,
                                                     llmc_value_t **out_value);
/* Returns the existing value when the weight was already added. */
LLMC_MUST_USE llmc_status_t *llmc_ir_graph_add_weight(llmc_ir_graph_t *g, const char *name,
                                                      llmc_dtype_t dt, llmc_shape_t shape,
                                                      llmc_value_t **out_value);
/* Adds a node; infers the result type with the op's shape function. `where`
 * locates errors (e.g. "model.json: graph[3]"). Attrs are copied. */
LLMC_MUST_USE llmc_status_t *llmc_ir_graph_add_node(llmc_ir_graph_t *g, llmc_op_t op,
                                                    llmc_value_t *const *inputs, int n_inputs,
                                                    const llmc_attr_t *attrs, int n_attrs,
                                                    const char *where, llmc_value_t **out_value);
LLMC_MUST_USE llmc_status_t *llmc_ir_graph_add_output(llmc_ir_graph_t *g, const char *name,
                                                      llmc_value_t *v);
/* Removes values marked dead and renumbers ids. */
void llmc_ir_graph_compact(llmc_ir_graph_t *g);
/* Replaces every use of `from` (in nodes and outputs) with `to`. */
void llmc_ir_graph_replace_uses(llmc_ir_graph_t *g, llmc_value_t *from, llmc_value_t *to);

const llmc_attr_t *llmc_ir_attr_get(const llmc_value_t *node, const char *name);
int64_t llmc_ir_attr_int(const llmc_value_t *node, const char *name, int64_t dflt);
double llmc_ir_attr_float(const llmc_value_t *node, const char *name, double dflt);
/* The length of the runs a norm node normalises: its rms_norm `group`
 * attribute, else the whole row. */
int64_t llmc_ir_norm_group(const llmc_value_t *norm);

/* Rotary position embeddings: one rotation's parameters, read from a rope
 * node's attributes or from a kv_write/attention that applies RoPE itself
 * (the same attributes under a "rope_" prefix, made by fuse-rope), and its
 * inverse frequencies. The math is written once, here: the interpreter and
 * every kernel (as a table of constants) use llmc_ir_rope_inv_freq.
 *
 * Scalings, as Hugging Face transformers computes them
 * (modeling_rope_utils.py): linear divides every frequency by factor;
 * llama3 divides low frequencies by factor and blends the middle band
 * (low_freq_factor, high_freq_factor, original_context); yarn blends
 * interpolated and extrapolated frequencies over a ramp (beta_fast,
 * beta_slow, original_context, truncate) and scales cos and sin by
 * attention_factor; dynamic (NTK) is the default rotation for every position
 * below original_context, the only ones it is compiled for; longrope (Phi-3)
 * divides pair i's frequency by ext_factors[i] (the short factors, which
 * apply below original_context, the only positions compiled) and scales cos
 * and sin by attention_factor. */
/* The widest head RoPE rotates (real models: 64-256). */
#define LLMC_MAX_HEAD_DIM 1024

typedef enum {
  LLMC_ROPE_DEFAULT,
  LLMC_ROPE_LINEAR,
  LLMC_ROPE_DYNAMIC,
  LLMC_ROPE_LLAMA3,
  LLMC_ROPE_YARN,
  LLMC_ROPE_LONGROPE,
} llmc_rope_scaling_t;

typedef struct {
  double theta;
  bool interleaved; /* style "interleaved" (GPT-J pairs) instead of "half" */
  llmc_rope_scaling_t scaling;
  double factor, low_freq_factor, high_freq_factor, beta_fast, beta_slow;
  int64_t original_context;
  bool truncate;
  double cos_sin_scale; /* yarn's and longrope's attention factor; 1 otherwise */
  const double *ext_factors; /* longrope: rotary_dim / 2 factors, owned by the node */
  int64_t rotary_dim;        /* the values of a head that rotate (head_dim unless partial) */
} llmc_rope_t;

/* Reads (and checks) the rotation node v applies: *out_present is false
 * when it applies none (a kv_write or attention without rope_theta). */
LLMC_MUST_USE llmc_status_t *llmc_ir_rope_read(const llmc_value_t *v, const char *where, llmc_rope_t *out,
                                               bool *out_present);
/* The same for a node that has been verified: false when v applies none. */
bool llmc_ir_rope_of(const llmc_value_t *v, llmc_rope_t *out);
bool llmc_ir_rope_equal(const llmc_rope_t *a, const llmc_rope_t *b);
/* inv[i], i < head_dim / 2: the angle of pair i at position p is
 * (float)p * inv[i] (0 for the pairs past rotary_dim). */
void llmc_ir_rope_inv_freq(const llmc_rope_t *r, int64_t head_dim, float *inv);
/* The attribute names (without prefix) a rotation may carry, NULL-ended;
 * fuse-rope copies these. */
extern const char *const llmc_rope_attr_names[];

llmc_value_t *llmc_ir_graph_find_input(const llmc_ir_graph_t *g, const char *name);
llmc_value_t *llmc_ir_graph_find_output(const llmc_ir_graph_t *g, const char *name);

/* True for values known at compile time: weights, and concat nodes (which
 * only take constants). Constant nodes run in no kernel: the artifact's
 * weight file holds their data. */
bool llmc_ir_value_is_const(const llmc_value_t *v);

/* The uses of every value of a graph (compact: ids are positions): for
 * value id i, its live users in definition order, users[start[i] ..
 * start[i+1]), and whether an output names it. Built in O(values + edges) and
 * valid until the graph changes; the rules below read it so that asking
 * them of every node stays linear in the graph. */
typedef struct {
  const llmc_ir_graph_t *g;
  int *start;                  /* n_values + 1 offsets into users */
  const llmc_value_t **users;  /* a user appears once per value it reads, however many times */
  int *reads;                  /* operand occurrences: matmul_add(r, w, r) reads r twice */
  bool *is_output;
} llmc_ir_uses_t;
LLMC_MUST_USE llmc_status_t *llmc_ir_uses_build(const llmc_ir_graph_t *g, llmc_ir_uses_t *out);
void llmc_ir_uses_free(llmc_ir_uses_t *u);

/* The split-epilogue rule. When every use of the matmul `v` is a slice, the
 * slices are distinct, at most LLMC_MAX_SPLIT, and together cover its
 * columns exactly once, the matmul writes each slice's rows directly and
 * neither it nor its slices need a kernel or buffer of their own: returns
 * true with the slices in column order. */
#define LLMC_MAX_SPLIT 4
bool llmc_ir_split_parts(const llmc_ir_uses_t *u, const llmc_value_t *v,
                         const llmc_value_t *parts[LLMC_MAX_SPLIT], int *out_n);
/* The matmul whose split epilogue writes slice `v`, or NULL. */
const llmc_value_t *llmc_ir_split_producer(const llmc_ir_uses_t *u, const llmc_value_t *v);

/* Per-target fusion candidates: patterns the kernel plan fuses into a
 * matmul on targets whose matmul kernel can (a prologue or epilogue; see
 * codegen/llmc_kplan.h), and plan-memory keeps safe on every target.
 * The rms_norm whose only use is matmul (or matmul_add) m, as m's
 * prologue; else NULL. */
const llmc_value_t *llmc_ir_norm_prologue(const llmc_ir_uses_t *u, const llmc_value_t *m);
/* The silu_mul whose operands are the two equal halves (gate, up) of split
 * matmul m and their only use, as m's epilogue; else NULL. */
const llmc_value_t *llmc_ir_glu_epilogue(const llmc_ir_uses_t *u, const llmc_value_t *m);
/* The kv_write an attention node reads the cache from, when that attention
 * is its only user and both rotate (or neither rotates) with the same RoPE
 * attributes: a candidate for doing the cache write inside the attention
 * kernel (per-target fusion, codegen/kplan.c). NULL otherwise. */
const llmc_value_t *llmc_ir_kv_write_prologue(const llmc_ir_uses_t *u, const llmc_value_t *a);

/* Makes `order` (n values: every value of g exactly once, each after its
 * operands) the graph's value order and renumbers ids. A pass that rewrites
 * many places builds the new order in one sweep (new nodes come from
 * llmc_ir_graph_add_node, which appends) and applies it once, instead of
 * shifting the array per insertion. */
LLMC_MUST_USE llmc_status_t *llmc_ir_graph_reorder(llmc_ir_graph_t *g, llmc_value_t *const *order, int n);

/* Inserts a node (as llmc_ir_graph_add_node) at position `index` of the
 * value list, shifting later values and renumbering their ids, so a pass can
 * place a new node right after its operands. */
LLMC_MUST_USE llmc_status_t *llmc_ir_graph_insert_node(llmc_ir_graph_t *g, int index, llmc_op_t op,
                                                       llmc_value_t *const *inputs, int n_inputs,
                                                       const llmc_attr_t *attrs, int n_attrs,
                                                       const char *where, llmc_value_t **out_value);

/* Product of the constant dims, with T taken as `t`. Returns false on overflow. */
bool llmc_shape_numel(const llmc_shape_t *s, int64_t t, uint64_t *out);
/* Elements per row: product of all dims after the first. */
int64_t llmc_shape_row_size(const llmc_shape_t *s);

/* Text form. Printing then parsing gives an identical graph. */
void llmc_ir_print(const llmc_ir_graph_t *g, llmc_buf_t *out);
LLMC_MUST_USE llmc_status_t *llmc_ir_parse(const char *text, const char *filename,
                                           llmc_ir_graph_t **out_graph);

/* Checks types, shapes, arities, attrs and the row-wise/T rules. */
LLMC_MUST_USE llmc_status_t *llmc_ir_verify(const llmc_ir_graph_t *g);

/* The reference interpreter: f32, obvious loops, the oracle for every test.
 * It keeps a contiguous per-layer KV cache for one sequence. */
typedef struct llmc_interp llmc_interp_t;
typedef struct {
  const char *name;
  llmc_dtype_t dtype;
  llmc_shape_t shape;
  const void *data; /* in the file's dtype; F32/F16/BF16 converted on use */
  const void *scales; /* LLMC_DT_I8: one f32 per row (data holds the int8 rows); LLMC_DT_I4: one f16 per
                       * group of 32 (data holds the nibbles: a group's 16 bytes, element j low, j + 16 high);
                       * LLMC_DT_I8G: one f16 per group of 32 (data holds the int8 values);
                       * the K-quant layouts: the rows' headers (support/llmc_kquant.h; data holds the
                       * rows' values); LLMC_DT_I4Z: per row K/32 f16 scales then K/32 u8 zero points
                       * (data holds the nibbles as LLMC_DT_I4's: value = (u - zero) * scale) */
  const void *source_data; /* the bytes it was converted from (a GGUF tensor's blocks); NULL when none */
  uint64_t source_bytes;
  /* Set for a weight read through a decoder (a GGUF's block-quantized tensor,
   * a GPTQ/AWQ linear): data is NULL and the F32 values [first, first + n)
   * (row-major) come from decode(decode_ctx, ...), on demand, so no f32 copy
   * of the model is held. */
  void (*decode)(const void *decode_ctx, uint64_t first, uint64_t n, float *out);
  const void *decode_ctx;
  const char *source; /* the format it was converted from on import (a GGUF's "Q4_K"); NULL when none */
} llmc_weight_view_t;
/* Looks up a weight by name; returns false when absent. */
typedef bool (*llmc_weight_lookup_fn)(void *ctx, const char *name, llmc_weight_view_t *out);

LLMC_MUST_USE llmc_status_t *llmc_interp_create(const llmc_ir_graph_t *g,
                                                llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                                int64_t max_context, llmc_interp_t **out);
void llmc_interp_destroy(llmc_interp_t *it);
/* The KV cache's element type the interpreter models: kv_write rounds k
 * and v to it, as a compiled artifact's KV pool does (--kv-cache-dtype):
 * LLMC_DT_F16 / LLMC_DT_BF16 to nearest even, LLMC_DT_I8 a head's row at a
 * time (llmc_i8_row_round). LLMC_DT_F32 (the default) keeps them exact. */
void llmc_interp_set_kv_dtype(llmc_interp_t *it, llmc_dtype_t dt);
/* Runs one step for one sequence: n tokens at positions pos..pos+n-1.
 * Writes the output named "logits" ([n, vocab]) to a buffer owned by the
 * interpreter, valid until the next call. */
LLMC_MUST_USE llmc_status_t *llmc_interp_step(llmc_interp_t *it, const int32_t *tokens,
                                              const int32_t *positions, int64_t n,
                                              const float **out_logits, int64_t *out_vocab);

#endif
