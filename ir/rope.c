/* rope.c: rotary position embeddings (Su et al. 2021, RoFormer): the
 * parameters of a rotation and its inverse frequencies, computed once here
 * for the interpreter and for every kernel (which read them as a table of
 * constants), so the scalings long-context models use are written once.
 *
 * The formulas are Hugging Face transformers' (modeling_rope_utils.py:
 * _compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
 * _compute_llama3_parameters, _compute_yarn_parameters,
 * _compute_dynamic_ntk_parameters). transformers computes them in float32
 * torch ops; the base frequencies here are the same float32 expression, the
 * scalings are computed in double and rounded once, which differs from it by
 * at most an ulp of the result. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmc_ir.h"

const char *const llmc_rope_attr_names[] = {"theta",          "style",           "rotary_dim",       "scaling",          "factor",
                                            "low_freq_factor", "high_freq_factor", "original_context", "beta_fast",
                                            "beta_slow",      "attention_factor", "truncate",        "ext_factors",
                                            NULL};

/* The attribute `name` of v's rotation: unprefixed on a rope node,
 * "rope_"-prefixed on a consumer that applies RoPE itself. */
static const llmc_attr_t *rope_attr(const llmc_value_t *v, const char *name) {
  if (v->op == LLMC_OP_ROPE) return llmc_ir_attr_get(v, name);
  char full[64];
  snprintf(full, sizeof full, "rope_%s", name);
  return llmc_ir_attr_get(v, full);
}

static double num(const llmc_attr_t *a, double dflt) {
  if (!a) return dflt;
  return a->kind == LLMC_ATTR_FLOAT ? a->f : a->kind == LLMC_ATTR_INT ? (double)a->i : dflt;
}

typedef struct {
  const char *name;
  llmc_rope_scaling_t scaling;
  const char *required[4];
  const char *optional[4];
} scaling_rule_t;

static const scaling_rule_t scaling_rules[] = {
    {"linear", LLMC_ROPE_LINEAR, {"factor", NULL}, {NULL}},
    {"dynamic", LLMC_ROPE_DYNAMIC, {"factor", "original_context", NULL}, {NULL}},
    {"llama3", LLMC_ROPE_LLAMA3, {"factor", "low_freq_factor", "high_freq_factor", "original_context"}, {NULL}},
    {"yarn", LLMC_ROPE_YARN, {"factor", "original_context", NULL}, {"beta_fast", "beta_slow", "attention_factor", "truncate"}},
    {"longrope", LLMC_ROPE_LONGROPE, {"ext_factors", "original_context", NULL}, {"attention_factor", NULL}},
};

static bool listed(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n && names[i]; i++)
    if (strcmp(names[i], name) == 0) return true;
  return false;
}

/* yarn's default attention factor (get_mscale in transformers). */
static double yarn_mscale(double factor) { return factor <= 1 ? 1.0 : 0.1 * log(factor) + 1.0; }

llmc_status_t *llmc_ir_rope_read(const llmc_value_t *v, const char *where, llmc_rope_t *out, bool *out_present) {
  memset(out, 0, sizeof *out);
  *out_present = false;
  const char *op = llmc_op_name(v->op), *pre = v->op == LLMC_OP_ROPE ? "" : "rope_";
  const llmc_attr_t *theta = rope_attr(v, "theta");
  if (!theta) {
    for (int i = 0; llmc_rope_attr_names[i]; i++)
      if (rope_attr(v, llmc_rope_attr_names[i]))
        return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %s%s without %stheta", op, pre, llmc_rope_attr_names[i], pre);
    return NULL;
  }
  *out_present = true;
  if (llmc_ir_attr_int(v, "head_dim", 0) > LLMC_MAX_HEAD_DIM)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: RoPE over a head_dim above %d", op, LLMC_MAX_HEAD_DIM);
  out->theta = num(theta, 0);
  if (!(out->theta > 0)) return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %stheta must be positive", op, pre);
  const llmc_attr_t *style = rope_attr(v, "style");
  if (style && strcmp(style->s, "half") && strcmp(style->s, "interleaved")) /* not echoed: file text */
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %sstyle must be \"half\" or \"interleaved\"", op, pre);
  out->interleaved = style && strcmp(style->s, "interleaved") == 0;
  /* rotary_dim: only the first rotary_dim values of each head rotate (the
   * partial rotary of Phi-4-mini and GPT-NeoX); the rest pass through. */
  int64_t hd = llmc_ir_attr_int(v, "head_dim", 0);
  const llmc_attr_t *rd = rope_attr(v, "rotary_dim");
  out->rotary_dim = rd ? rd->i : hd;
  if (rd && (out->rotary_dim < 2 || out->rotary_dim % 2 || out->rotary_dim > hd))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %srotary_dim must be even and in 2..head_dim (%lld)", op, pre,
                      (long long)hd);
  out->cos_sin_scale = 1.0;
  out->truncate = true;
  const llmc_attr_t *scaling = rope_attr(v, "scaling");
  const scaling_rule_t *rule = NULL;
  if (scaling)
    for (size_t i = 0; i < sizeof scaling_rules / sizeof scaling_rules[0]; i++)
      if (strcmp(scaling->s, scaling_rules[i].name) == 0) rule = &scaling_rules[i];
  if (scaling && !rule)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "%s: %sscaling must be \"linear\", \"dynamic\", \"llama3\", \"yarn\" or \"longrope\"", op, pre);
  /* Every parameter must belong to the scaling, and each it needs be given. */
  for (int i = 4; llmc_rope_attr_names[i]; i++) { /* after theta, style, rotary_dim and scaling */
    const char *name = llmc_rope_attr_names[i];
    bool present = rope_attr(v, name) != NULL, needed = false, allowed = false;
    if (rule) {
      needed = listed(rule->required, 4, name);
      allowed = needed || listed(rule->optional, 4, name);
    }
    if (present && !allowed)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %s%s does not apply to %s", op, pre, name,
                        rule ? rule->name : "RoPE without scaling");
    if (!present && needed)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %sscaling \"%s\" needs %s%s", op, pre, rule->name, pre, name);
  }
  if (!rule) return NULL;
  out->scaling = rule->scaling;
  out->factor = num(rope_attr(v, "factor"), 1);
  out->low_freq_factor = num(rope_attr(v, "low_freq_factor"), 0);
  out->high_freq_factor = num(rope_attr(v, "high_freq_factor"), 0);
  out->beta_fast = num(rope_attr(v, "beta_fast"), 32);
  out->beta_slow = num(rope_attr(v, "beta_slow"), 1);
  const llmc_attr_t *oc = rope_attr(v, "original_context"), *tr = rope_attr(v, "truncate");
  out->original_context = oc ? oc->i : 0;
  if (tr) out->truncate = tr->i != 0;
  if (oc && out->original_context <= 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %soriginal_context must be positive", op, pre);
  if (out->scaling == LLMC_ROPE_LLAMA3 && !(out->high_freq_factor > out->low_freq_factor))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %shigh_freq_factor must exceed %slow_freq_factor", op, pre, pre);
  if (out->scaling == LLMC_ROPE_YARN)
    out->cos_sin_scale = num(rope_attr(v, "attention_factor"), yarn_mscale(out->factor));
  if (out->scaling == LLMC_ROPE_LONGROPE) {
    const llmc_attr_t *ext = rope_attr(v, "ext_factors");
    if (ext->i != out->rotary_dim / 2)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: %sext_factors has %lld factors, not rotary_dim / 2 = %lld", op,
                        pre, (long long)ext->i, (long long)(out->rotary_dim / 2));
    out->ext_factors = ext->fs;
    out->cos_sin_scale = num(rope_attr(v, "attention_factor"), 1.0);
  }
  return NULL;
}

bool llmc_ir_rope_of(const llmc_value_t *v, llmc_rope_t *out) {
  bool present = false;
  llmc_status_t *s = llmc_ir_rope_read(v, NULL, out, &present);
  if (s) { /* verified graphs never get here */
    llmc_status_free(s);
    return false;
  }
  return present;
}

bool llmc_ir_rope_equal(const llmc_rope_t *a, const llmc_rope_t *b) {
  return a->theta == b->theta && a->interleaved == b->interleaved && a->scaling == b->scaling &&
         a->factor == b->factor && a->low_freq_factor == b->low_freq_factor &&
         a->high_freq_factor == b->high_freq_factor && a->beta_fast == b->beta_fast && a->beta_slow == b->beta_slow &&
         a->original_context == b->original_context && a->truncate == b->truncate &&
         a->cos_sin_scale == b->cos_sin_scale && a->rotary_dim == b->rotary_dim &&
         (a->ext_factors == b->ext_factors ||
          (a->ext_factors && b->ext_factors && /* each node holds its own copy: rotary_dim / 2 factors */
           memcmp(a->ext_factors, b->ext_factors, sizeof(double) * (size_t)(a->rotary_dim / 2)) == 0));
}

void llmc_ir_rope_inv_freq(const llmc_rope_t *r, int64_t head_dim, float *inv) {
  const double two_pi = 6.283185307179586;
  /* The frequencies are those of a head of rotary_dim values; the pairs
   * past it (partial rotary) get 0: no rotation. */
  int64_t half = head_dim / 2, rot = r->rotary_dim > 0 && r->rotary_dim <= head_dim ? r->rotary_dim : head_dim;
  for (int64_t i = rot / 2; i < half; i++) inv[i] = 0;
  head_dim = rot;
  half = rot / 2;
  /* yarn's ramp over the pairs: where the frequency makes fewer than
   * beta_slow turns over the original context it is interpolated (divided by
   * factor), above beta_fast turns extrapolated (kept), linear between. */
  double lo = 0, hi = 0;
  if (r->scaling == LLMC_ROPE_YARN) {
    double d = (double)head_dim, base = r->theta, ctx = (double)r->original_context;
    lo = d * log(ctx / (r->beta_fast * two_pi)) / (2 * log(base));
    hi = d * log(ctx / (r->beta_slow * two_pi)) / (2 * log(base));
    if (r->truncate) {
      lo = floor(lo);
      hi = ceil(hi);
    }
    lo = lo > 0 ? lo : 0;
    hi = hi < d - 1 ? hi : d - 1;
    if (lo == hi) hi += 0.001;
  }
  for (int64_t i = 0; i < half; i++) {
    /* transformers: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), float32. */
    float base_f = 1.0f / powf((float)r->theta, (float)(2 * i) / (float)head_dim);
    double f = base_f, factor = r->factor;
    switch (r->scaling) {
      case LLMC_ROPE_DEFAULT:
      case LLMC_ROPE_DYNAMIC: break;
      case LLMC_ROPE_LINEAR: f = base_f / factor; break;
      case LLMC_ROPE_LONGROPE: /* 1 / (ext_factor * base ** (2i / d)), float32 */
        f = 1.0f / ((float)r->ext_factors[i] * powf((float)r->theta, (float)(2 * i) / (float)head_dim));
        break;
      case LLMC_ROPE_LLAMA3: {
        double ctx = (double)r->original_context, wavelen = two_pi / f;
        double low_wavelen = ctx / r->low_freq_factor, high_wavelen = ctx / r->high_freq_factor;
        if (wavelen > low_wavelen) {
          f /= factor;
        } else if (wavelen >= high_wavelen) {
          double smooth = (ctx / wavelen - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
          f = (1 - smooth) * f / factor + smooth * f;
        }
        break;
      }
      case LLMC_ROPE_YARN: {
        double ramp = ((double)i - lo) / (hi - lo);
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        double extrapolation = 1 - ramp; /* the share of the unscaled frequency */
        f = (f / factor) * (1 - extrapolation) + f * extrapolation;
        break;
      }
    }
    inv[i] = (float)f;
  }
}
