/* ops.c: names, arities, attribute schemas and shape functions of the ops in
 * ops.def. Every rule a graph must satisfy per node lives here, so the
 * builder (at construction) and the verifier (after every pass) agree. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops_impl.h"

typedef struct {
  const char *name;
  int arity;
} op_info_t;

static const op_info_t op_info[LLMC_OP_COUNT] = {
#define LLMC_OP(id, name, n_in) {name, n_in},
#include "ops.def"
#undef LLMC_OP
};

const char *llmc_op_name(llmc_op_t op) {
  return (unsigned)op < LLMC_OP_COUNT ? op_info[op].name : "?";
}

int llmc_op_arity(llmc_op_t op) { return (unsigned)op < LLMC_OP_COUNT ? op_info[op].arity : 0; }

bool llmc_op_parse(const char *name, llmc_op_t *out) {
  for (int i = 0; i < LLMC_OP_COUNT; i++) {
    if (strcmp(op_info[i].name, name) == 0) {
      *out = (llmc_op_t)i;
      return true;
    }
  }
  return false;
}

void llmc_shape_format(const llmc_shape_t *s, char *buf, size_t cap) {
  size_t used = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < s->rank && used < cap; i++) {
    if (s->dims[i] == LLMC_DIM_T)
      used += (size_t)snprintf(buf + used, cap - used, "%sT", i ? "," : "");
    else
      used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? "," : "",
                               (long long)s->dims[i]);
  }
  if (used < cap) snprintf(buf + used, cap - used, "]");
}

/* Attribute schema: which attributes an op takes, their kinds, and whether
 * they are required. Unknown attributes are errors so typos surface. */
typedef struct {
  llmc_op_t op;
  const char *name;
  llmc_attr_kind_t kind;
  bool required;
  double min, max; /* float attributes: the allowed range, inclusive */
} attr_rule_t;

/* Float attributes are used as f32 by the kernels: each has a range in which
 * the op's arithmetic stays finite (eps is added to a mean square; RoPE takes
 * theta^(-2i/d), so theta < 1 grows without bound; scale multiplies scores).
 * Zero in max means no rule beyond f32's range. */
#define F32_RANGE 0.0, 0.0
static const attr_rule_t attr_rules[] = {
    {LLMC_OP_MATMUL, "transpose_b", LLMC_ATTR_BOOL, false, F32_RANGE},
    {LLMC_OP_MATMUL_ADD, "transpose_b", LLMC_ATTR_BOOL, false, F32_RANGE},
    {LLMC_OP_SLICE, "begin", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_SLICE, "size", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_RMS_NORM, "eps", LLMC_ATTR_FLOAT, true, FLT_MIN, 1.0},
    {LLMC_OP_EMBEDDING, "scale", LLMC_ATTR_FLOAT, false, 1e-6, 1e6},
    {LLMC_OP_SOFTCAP, "cap", LLMC_ATTR_FLOAT, true, 0, 1e6},
    {LLMC_OP_ATTENTION, "softcap", LLMC_ATTR_FLOAT, false, 0, 1e6},
    {LLMC_OP_RMS_NORM, "group", LLMC_ATTR_INT, false, F32_RANGE},
    {LLMC_OP_RMS_NORM, "offset", LLMC_ATTR_FLOAT, false, -1e3, 1e3},
    {LLMC_OP_RMS_NORM_ADD, "eps", LLMC_ATTR_FLOAT, true, FLT_MIN, 1.0},
    {LLMC_OP_RMS_NORM_ADD, "offset", LLMC_ATTR_FLOAT, false, -1e3, 1e3},
    {LLMC_OP_LAYER_NORM, "eps", LLMC_ATTR_FLOAT, true, FLT_MIN, 1.0},
    {LLMC_OP_ROPE, "head_dim", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_ROPE, "theta", LLMC_ATTR_FLOAT, true, 1.0, FLT_MAX},
    {LLMC_OP_ROPE, "style", LLMC_ATTR_STRING, false, F32_RANGE},
    {LLMC_OP_ROPE, "scaling", LLMC_ATTR_STRING, false, F32_RANGE},
    {LLMC_OP_ROPE, "factor", LLMC_ATTR_FLOAT, false, 1e-3, 1e6},
    {LLMC_OP_ROPE, "low_freq_factor", LLMC_ATTR_FLOAT, false, 1e-6, 1e6},
    {LLMC_OP_ROPE, "high_freq_factor", LLMC_ATTR_FLOAT, false, 1e-6, 1e6},
    {LLMC_OP_ROPE, "original_context", LLMC_ATTR_INT, false, F32_RANGE},
    {LLMC_OP_ROPE, "beta_fast", LLMC_ATTR_FLOAT, false, 1e-6, 1e6},
    {LLMC_OP_ROPE, "beta_slow", LLMC_ATTR_FLOAT, false, 1e-6, 1e6},
    {LLMC_OP_ROPE, "attention_factor", LLMC_ATTR_FLOAT, false, 1e-3, 1e3},
    {LLMC_OP_ROPE, "truncate", LLMC_ATTR_BOOL, false, F32_RANGE},
    {LLMC_OP_ROPE, "ext_factors", LLMC_ATTR_FLOATS, false, F32_RANGE},
    {LLMC_OP_ROPE, "rotary_dim", LLMC_ATTR_INT, false, F32_RANGE},
    {LLMC_OP_KV_WRITE, "layer", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_KV_WRITE, "n_kv_heads", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_KV_WRITE, "head_dim", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_ATTENTION, "n_heads", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_ATTENTION, "n_kv_heads", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_ATTENTION, "head_dim", LLMC_ATTR_INT, true, F32_RANGE},
    {LLMC_OP_ATTENTION, "scale", LLMC_ATTR_FLOAT, false, 1e-6, 1e4},
    {LLMC_OP_ATTENTION, "window", LLMC_ATTR_INT, false, F32_RANGE},
};

/* The rule for attribute `name` of n: its op's own, or, on kv_write and
 * attention (which may apply RoPE themselves, fuse-rope), rope_X follows
 * rope's rule for X (never required there). */
static const attr_rule_t *find_rule(const llmc_value_t *n, const char *name, attr_rule_t *scratch) {
  for (size_t r = 0; r < sizeof attr_rules / sizeof attr_rules[0]; r++)
    if (attr_rules[r].op == n->op && strcmp(attr_rules[r].name, name) == 0) return &attr_rules[r];
  if ((n->op == LLMC_OP_KV_WRITE || n->op == LLMC_OP_ATTENTION) && strncmp(name, "rope_", 5) == 0 &&
      strcmp(name + 5, "head_dim") != 0)
    for (size_t r = 0; r < sizeof attr_rules / sizeof attr_rules[0]; r++)
      if (attr_rules[r].op == LLMC_OP_ROPE && strcmp(attr_rules[r].name, name + 5) == 0) {
        *scratch = attr_rules[r];
        scratch->required = false;
        return scratch;
      }
  return NULL;
}

static const char *attr_kind_name(llmc_attr_kind_t k) {
  switch (k) {
    case LLMC_ATTR_INT: return "integer";
    case LLMC_ATTR_FLOAT: return "number";
    case LLMC_ATTR_BOOL: return "boolean";
    case LLMC_ATTR_STRING: return "string";
    case LLMC_ATTR_FLOATS: return "list of numbers";
  }
  return "?";
}

static llmc_status_t *check_attrs(const llmc_value_t *n, const char *where) {
  const char *op = llmc_op_name(n->op);
  for (int i = 0; i < n->n_attrs; i++) {
    const llmc_attr_t *a = &n->attrs[i];
    attr_rule_t scratch;
    const attr_rule_t *rule = find_rule(n, a->name, &scratch);
    if (!rule) return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: unknown attribute '%s'", op, a->name);
    for (int j = 0; j < i; j++)
      if (strcmp(n->attrs[j].name, a->name) == 0)
        return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: attribute '%s' given twice", op, a->name);
    bool ok = a->kind == rule->kind || (rule->kind == LLMC_ATTR_FLOAT && a->kind == LLMC_ATTR_INT);
    if (!ok)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: attribute '%s' must be a %s", op, a->name,
                        attr_kind_name(rule->kind));
    if (a->kind == LLMC_ATTR_FLOAT && !isfinite(a->f))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: attribute '%s' is not finite", op, a->name);
    for (int64_t k = 0; a->kind == LLMC_ATTR_FLOATS && k < a->i; k++)
      if (!(a->fs[k] > 0 && a->fs[k] < 1e6)) /* the only lists are factors */
        return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: attribute '%s' holds %g, outside (0, 1e6)", op, a->name,
                          a->fs[k]);
    if (rule->kind == LLMC_ATTR_FLOAT) {
      double f = a->kind == LLMC_ATTR_FLOAT ? a->f : (double)a->i;
      double lo = rule->max > 0 ? rule->min : -FLT_MAX, hi = rule->max > 0 ? rule->max : FLT_MAX;
      if (!(f >= lo && f <= hi))
        return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: attribute '%s' is %g, outside [%g, %g]", op, a->name, f,
                          lo, hi);
    }
  }
  for (size_t r = 0; r < sizeof attr_rules / sizeof attr_rules[0]; r++)
    if (attr_rules[r].op == n->op && attr_rules[r].required && !llmc_ir_attr_get(n, attr_rules[r].name))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: missing attribute '%s'", op, attr_rules[r].name);
  return NULL;
}

static bool is_float(llmc_dtype_t dt) {
  return dt == LLMC_DT_F32 || dt == LLMC_DT_F16 || dt == LLMC_DT_BF16;
}

/* Activations: f32 [T, n]. */
static bool is_rows(const llmc_value_t *v) {
  return v->dtype == LLMC_DT_F32 && v->shape.rank == 2 && v->shape.dims[0] == LLMC_DIM_T &&
         v->shape.dims[1] > 0;
}
static bool is_positions(const llmc_value_t *v) {
  return v->dtype == LLMC_DT_I32 && v->shape.rank == 1 && v->shape.dims[0] == LLMC_DIM_T;
}
static bool is_weight_vec(const llmc_value_t *v, int64_t n) {
  return v->kind == LLMC_VALUE_WEIGHT && is_float(v->dtype) && v->shape.rank == 1 &&
         v->shape.dims[0] == n;
}

#define TYPE_ERROR(...) LLMC_ERROR(LLMC_DATA_LOSS, where, __VA_ARGS__)

static llmc_status_t *describe_mismatch(const char *where, const char *op, int idx,
                                        const llmc_value_t *v, const char *expected) {
  char shape[96];
  llmc_shape_format(&v->shape, shape, sizeof shape);
  return TYPE_ERROR("%s: operand %d has type %s%s, expected %s", op, idx,
                    llmc_dtype_name(v->dtype), shape, expected);
}

/* kv_write and attention may rotate k / q themselves (fuse-rope): the rope
 * attributes under the rope_ prefix (llmc_ir_rope_read checks them) over
 * heads of head_dim, which must be even. */
static llmc_status_t *check_fused_rope(const llmc_value_t *n, const char *where) {
  llmc_rope_t r;
  bool present;
  LLMC_RETURN_IF_ERROR(llmc_ir_rope_read(n, where, &r, &present));
  if (present && llmc_ir_attr_int(n, "head_dim", 1) % 2)
    return TYPE_ERROR("%s: RoPE needs an even head_dim", llmc_op_name(n->op));
  return NULL;
}

llmc_status_t *llmc_ir_node_infer(const llmc_value_t *n, const char *where, llmc_dtype_t *out_dtype,
                                  llmc_shape_t *out_shape) {
  const char *op = llmc_op_name(n->op);
  int arity = llmc_op_arity(n->op);
  if (arity < 0 ? n->n_inputs < 1 : n->n_inputs != arity) {
    if (arity < 0) return TYPE_ERROR("%s takes at least one operand", op);
    return TYPE_ERROR("%s takes %d operands, got %d", op, arity, n->n_inputs);
  }
  for (int i = 0; i < n->n_inputs; i++)
    if (!n->inputs[i]) return TYPE_ERROR("%s: operand %d is undefined", op, i);
  LLMC_RETURN_IF_ERROR(check_attrs(n, where));
  llmc_value_t *const *in = n->inputs;
  *out_dtype = LLMC_DT_F32;
  *out_shape = (llmc_shape_t){.rank = 2, .dims = {LLMC_DIM_T, 0}};

  switch (n->op) {
    case LLMC_OP_EMBEDDING:
      if (!is_positions(in[0])) return describe_mismatch(where, op, 0, in[0], "i32[T]");
      if (in[1]->kind != LLMC_VALUE_WEIGHT || !is_float(in[1]->dtype) || in[1]->shape.rank != 2)
        return describe_mismatch(where, op, 1, in[1], "a 2-d float weight [vocab, dim]");
      out_shape->dims[1] = in[1]->shape.dims[1];
      return NULL;
    case LLMC_OP_MATMUL:
    case LLMC_OP_MATMUL_ADD: {
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,K]");
      if (!llmc_ir_value_is_const(in[1]) || !is_float(in[1]->dtype) || in[1]->shape.rank != 2)
        return describe_mismatch(where, op, 1, in[1], "a 2-d float weight");
      bool tb = llmc_ir_attr_int(n, "transpose_b", 0) != 0;
      int64_t k = in[1]->shape.dims[tb ? 1 : 0], cols = in[1]->shape.dims[tb ? 0 : 1];
      if (k != in[0]->shape.dims[1])
        return TYPE_ERROR("%s: inner dimensions differ (%lld vs %lld%s)", op,
                          (long long)in[0]->shape.dims[1], (long long)k,
                          tb ? ", b is transposed" : "");
      out_shape->dims[1] = cols;
      if (n->op == LLMC_OP_MATMUL_ADD && (!is_rows(in[2]) || in[2]->shape.dims[1] != cols)) {
        char want[64];
        snprintf(want, sizeof want, "f32[T,%lld]", (long long)cols);
        return describe_mismatch(where, op, 2, in[2], want);
      }
      return NULL;
    }
    case LLMC_OP_CONCAT: {
      int64_t rows = 0;
      llmc_dtype_t dt = in[0]->dtype;
      for (int i = 0; i < n->n_inputs; i++) {
        if (!llmc_ir_value_is_const(in[i]) || !is_float(in[i]->dtype) || in[i]->shape.rank != 2 ||
            in[i]->shape.dims[1] != in[0]->shape.dims[1]) {
          char want[96];
          snprintf(want, sizeof want, "a 2-d float weight [n,%lld]", (long long)in[0]->shape.dims[1]);
          return describe_mismatch(where, op, i, in[i], want);
        }
        if (in[i]->dtype != dt) dt = LLMC_DT_F32; /* mixed: the exact common type */
        if (in[i]->shape.dims[0] > (INT64_C(1) << 40) - rows) return TYPE_ERROR("concat: too many rows");
        rows += in[i]->shape.dims[0];
      }
      *out_dtype = dt;
      *out_shape = (llmc_shape_t){.rank = 2, .dims = {rows, in[0]->shape.dims[1]}};
      return NULL;
    }
    case LLMC_OP_SLICE: {
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      int64_t begin = llmc_ir_attr_int(n, "begin", -1), size = llmc_ir_attr_int(n, "size", 0);
      if (begin < 0 || size <= 0 || begin > in[0]->shape.dims[1] - size)
        return TYPE_ERROR("slice: columns %lld..+%lld are outside the row of %lld", (long long)begin,
                          (long long)size, (long long)in[0]->shape.dims[1]);
      out_shape->dims[1] = size;
      return NULL;
    }
    case LLMC_OP_ADD:
    case LLMC_OP_MUL:
    case LLMC_OP_GELU_MUL:
    case LLMC_OP_SILU_MUL:
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      if (!is_rows(in[1]) || in[1]->shape.dims[1] != in[0]->shape.dims[1]) {
        char want[64];
        snprintf(want, sizeof want, "f32[T,%lld]", (long long)in[0]->shape.dims[1]);
        return describe_mismatch(where, op, 1, in[1], want);
      }
      *out_shape = in[0]->shape;
      return NULL;
    case LLMC_OP_BIAS_ADD:
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      if (!is_weight_vec(in[1], in[0]->shape.dims[1])) {
        char want[64];
        snprintf(want, sizeof want, "a float weight [%lld]", (long long)in[0]->shape.dims[1]);
        return describe_mismatch(where, op, 1, in[1], want);
      }
      *out_shape = in[0]->shape;
      return NULL;
    case LLMC_OP_SILU:
    case LLMC_OP_GELU:
    case LLMC_OP_SOFTCAP:
    case LLMC_OP_SOFTMAX:
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      *out_shape = in[0]->shape;
      return NULL;
    case LLMC_OP_RMS_NORM_ADD:
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      if (!is_weight_vec(in[1], in[0]->shape.dims[1])) {
        char want[64];
        snprintf(want, sizeof want, "a float weight [%lld]", (long long)in[0]->shape.dims[1]);
        return describe_mismatch(where, op, 1, in[1], want);
      }
      if (!is_rows(in[2]) || in[2]->shape.dims[1] != in[0]->shape.dims[1])
        return describe_mismatch(where, op, 2, in[2], "rows like operand 0");
      *out_shape = in[0]->shape;
      return NULL;
    case LLMC_OP_RMS_NORM:
    case LLMC_OP_LAYER_NORM: {
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      /* rms_norm {group = G}: each run of G values is a row of its own (Qwen3's
       * per-head q/k norm), with a weight [G]. */
      int64_t g = llmc_ir_norm_group(n);
      if (g <= 0 || in[0]->shape.dims[1] % g)
        return TYPE_ERROR("%s: group %lld must be positive and divide the row size %lld", op, (long long)g,
                          (long long)in[0]->shape.dims[1]);
      for (int i = 1; i < arity; i++)
        if (!is_weight_vec(in[i], g)) {
          char want[64];
          snprintf(want, sizeof want, "a float weight [%lld]", (long long)g);
          return describe_mismatch(where, op, i, in[i], want);
        }
      if (llmc_ir_attr_float(n, "eps", 0) <= 0) return TYPE_ERROR("%s: eps must be positive", op);
      *out_shape = in[0]->shape;
      return NULL;
    }
    case LLMC_OP_ROPE: {
      if (!is_rows(in[0])) return describe_mismatch(where, op, 0, in[0], "f32[T,n]");
      if (!is_positions(in[1])) return describe_mismatch(where, op, 1, in[1], "i32[T]");
      int64_t hd = llmc_ir_attr_int(n, "head_dim", 0);
      if (hd <= 0 || hd % 2 || in[0]->shape.dims[1] % hd)
        return TYPE_ERROR("rope: head_dim %lld must be even and divide the row size %lld",
                          (long long)hd, (long long)in[0]->shape.dims[1]);
      llmc_rope_t r;
      bool present;
      LLMC_RETURN_IF_ERROR(llmc_ir_rope_read(n, where, &r, &present));
      *out_shape = in[0]->shape;
      return NULL;
    }
    case LLMC_OP_KV_WRITE: {
      int64_t kvh = llmc_ir_attr_int(n, "n_kv_heads", 0), hd = llmc_ir_attr_int(n, "head_dim", 0);
      if (kvh <= 0 || hd <= 0 || llmc_ir_attr_int(n, "layer", -1) < 0)
        return TYPE_ERROR("kv_write: layer, n_kv_heads and head_dim must be positive");
      for (int i = 0; i < 2; i++)
        if (!is_rows(in[i]) || in[i]->shape.dims[1] != kvh * hd) {
          char want[64];
          snprintf(want, sizeof want, "f32[T,%lld] (n_kv_heads*head_dim)", (long long)(kvh * hd));
          return describe_mismatch(where, op, i, in[i], want);
        }
      if (!is_positions(in[2])) return describe_mismatch(where, op, 2, in[2], "i32[T]");
      LLMC_RETURN_IF_ERROR(check_fused_rope(n, where));
      *out_dtype = LLMC_DT_KV;
      *out_shape = (llmc_shape_t){0};
      return NULL;
    }
    case LLMC_OP_ATTENTION: {
      int64_t h = llmc_ir_attr_int(n, "n_heads", 0), kvh = llmc_ir_attr_int(n, "n_kv_heads", 0);
      int64_t hd = llmc_ir_attr_int(n, "head_dim", 0);
      if (h <= 0 || kvh <= 0 || hd <= 0 || h % kvh)
        return TYPE_ERROR("attention: n_heads (%lld) must be a positive multiple of n_kv_heads (%lld)",
                          (long long)h, (long long)kvh);
      if (!is_rows(in[0]) || in[0]->shape.dims[1] != h * hd) {
        char want[64];
        snprintf(want, sizeof want, "f32[T,%lld] (n_heads*head_dim)", (long long)(h * hd));
        return describe_mismatch(where, op, 0, in[0], want);
      }
      const llmc_value_t *kv = in[1];
      if (kv->dtype != LLMC_DT_KV || kv->kind != LLMC_VALUE_NODE || kv->op != LLMC_OP_KV_WRITE)
        return describe_mismatch(where, op, 1, kv, "the result of a kv_write");
      if (llmc_ir_attr_int(kv, "n_kv_heads", 0) != kvh || llmc_ir_attr_int(kv, "head_dim", 0) != hd)
        return TYPE_ERROR("attention: n_kv_heads/head_dim differ from its kv_write's");
      if (llmc_ir_attr_int(n, "window", 0) < 0 || llmc_ir_attr_int(n, "window", 0) > (INT64_C(1) << 24))
        return TYPE_ERROR("attention: window must be in 0..16777216 (0: none)");
      if (!is_positions(in[2])) return describe_mismatch(where, op, 2, in[2], "i32[T]");
      LLMC_RETURN_IF_ERROR(check_fused_rope(n, where));
      out_shape->dims[1] = h * hd;
      return NULL;
    }
    case LLMC_OP_COUNT: break;
  }
  return TYPE_ERROR("unknown op");
}
