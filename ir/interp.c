/* interp.c: the reference interpreter. Slow, obvious f32 loops over the graph,
 * one buffer per value, so every other implementation (compiled host code,
 * GPU kernels, fused passes) can be checked against it. It runs one sequence
 * and keeps a contiguous KV cache per layer indexed by position. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_ir.h"
#include "llmc_kquant.h"

typedef struct {
  float *k, *v; /* [max_context, kv_dim] */
  int64_t kv_dim;
} layer_cache_t;

struct llmc_interp {
  const llmc_ir_graph_t *g;
  int64_t max_context;
  float **weights;    /* per value id: converted f32 weight data, or NULL */
  float **buffers;    /* per value id: this step's data */
  layer_cache_t *caches; /* per kv_write value id */
  float *logits;
  llmc_dtype_t kv_dtype; /* what kv_write rounds k and v to (llmc_interp_set_kv_dtype) */
};

void llmc_interp_set_kv_dtype(llmc_interp_t *it, llmc_dtype_t dt) { it->kv_dtype = dt; }

/* x, rows of hd, rounded as a KV pool of dtype dt stores it: 16-bit values
 * to nearest even, int8 rows with their scale (llmc_i8_row_quantize). */
static void round_kv(float *x, int64_t n, int64_t hd, llmc_dtype_t dt) {
  if (dt == LLMC_DT_I8) {
    for (int64_t r = 0; hd > 0 && r + hd <= n; r += hd) llmc_i8_row_round(x + r, hd);
    return;
  }
  for (int64_t i = 0; i < n && dt != LLMC_DT_F32; i++)
    x[i] = dt == LLMC_DT_F16 ? llmc_f16_to_f32(llmc_f32_to_f16(x[i])) : llmc_bf16_to_f32(llmc_f32_to_bf16(x[i]));
}

static float *weight_to_f32(const llmc_weight_view_t *w, uint64_t n) {
  float *out = malloc(sizeof(float) * (n ? n : 1));
  if (!out) return NULL;
  if (w->decode) {
    w->decode(w->decode_ctx, 0, n, out);
    return out;
  }
  int bits = llmc_dtype_kquant_bits(w->dtype);
  if (bits) { /* the K-quant layouts, row by row */
    uint64_t k = w->shape.rank == 2 ? (uint64_t)w->shape.dims[1] : 0;
    for (uint64_t r = 0; k && r < n / k; r++)
      llmc_kquant_dequant_row(bits, (const uint8_t *)w->data + r * llmc_kquant_value_bytes(bits, k),
                              (const uint8_t *)w->scales + r * llmc_kquant_header_bytes(k), k, out + r * k);
    return out;
  }
  const uint16_t *h = w->data;
  for (uint64_t i = 0; i < n; i++) {
    switch (w->dtype) {
      case LLMC_DT_F32: memcpy(&out[i], (const char *)w->data + 4 * i, 4); break;
      case LLMC_DT_F16: out[i] = llmc_f16_to_f32(h[i]); break;
      case LLMC_DT_BF16: out[i] = llmc_bf16_to_f32(h[i]); break;
      case LLMC_DT_I8: { /* the int8 row layout: q * its row's scale */
        float scale;
        int64_t k = w->shape.rank == 2 && w->shape.dims[1] > 0 ? w->shape.dims[1] : 1;
        memcpy(&scale, (const char *)w->scales + 4 * (i / (uint64_t)k), 4);
        out[i] = (float)((const int8_t *)w->data)[i] * scale;
        break;
      }
      case LLMC_DT_I8G: { /* the int8 group layout: q * its group's f16 scale */
        uint16_t half;
        memcpy(&half, (const char *)w->scales + 2 * (i / 32), 2);
        out[i] = (float)((const int8_t *)w->data)[i] * llmc_f16_to_f32(half);
        break;
      }
      case LLMC_DT_I4Z: { /* the int4 zero-point layout: (nibble - zero) * scale, per group of 32 */
        int64_t k = w->shape.rank == 2 && w->shape.dims[1] > 0 ? w->shape.dims[1] : 32;
        uint64_t row = i / (uint64_t)k, group = i / 32, j = i % 32;
        uint8_t byte = ((const uint8_t *)w->data)[group * 16 + j % 16];
        const uint8_t *hdr = (const uint8_t *)w->scales + row * (uint64_t)(3 * k / 32);
        uint64_t g = group - row * (uint64_t)(k / 32);
        uint16_t half;
        memcpy(&half, hdr + 2 * g, 2);
        int u = j < 16 ? byte & 15 : byte >> 4;
        out[i] = (float)(u - hdr[k / 16 + (int64_t)g]) * llmc_f16_to_f32(half);
        break;
      }
      case LLMC_DT_I4: { /* the int4 group layout: (nibble - 8) * its group's f16 scale */
        uint64_t group = i / 32, j = i % 32;
        uint8_t byte = ((const uint8_t *)w->data)[group * 16 + j % 16];
        int q = (j < 16 ? byte & 15 : byte >> 4) - 8;
        uint16_t half;
        memcpy(&half, (const char *)w->scales + 2 * group, 2);
        out[i] = (float)q * llmc_f16_to_f32(half);
        break;
      }
      default: out[i] = 0; break;
    }
  }
  return out;
}

llmc_status_t *llmc_interp_create(const llmc_ir_graph_t *g, llmc_weight_lookup_fn lookup,
                                  void *lookup_ctx, int64_t max_context, llmc_interp_t **out) {
  *out = NULL;
  if (!llmc_ir_graph_find_output(g, "logits"))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, g->name, "graph has no output named 'logits'");
  llmc_interp_t *it = calloc(1, sizeof *it);
  if (!it) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  it->g = g;
  it->max_context = max_context;
  it->weights = calloc((size_t)g->n_values, sizeof(float *));
  it->buffers = calloc((size_t)g->n_values, sizeof(float *));
  it->caches = calloc((size_t)g->n_values, sizeof(layer_cache_t));
  llmc_status_t *s = NULL;
  if (!it->weights || !it->buffers || !it->caches) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto fail;
  }
  for (int i = 0; i < g->n_values && !s; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind == LLMC_VALUE_WEIGHT) {
      llmc_weight_view_t w;
      uint64_t n = 0;
      llmc_shape_numel(&v->shape, 0, &n);
      uint64_t have = 0;
      if (!lookup(lookup_ctx, v->name, &w)) {
        s = LLMC_ERROR(LLMC_NOT_FOUND, g->name, "weight '%s' not found", v->name);
      } else if (!llmc_shape_numel(&w.shape, 0, &have) || have != n) {
        s = LLMC_ERROR(LLMC_DATA_LOSS, g->name, "weight '%s' has %llu elements, the graph expects %llu", v->name,
                       (unsigned long long)have, (unsigned long long)n);
      } else if (!(it->weights[i] = weight_to_f32(&w, n))) {
        s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
      }
    } else if (v->kind == LLMC_VALUE_NODE && v->op == LLMC_OP_CONCAT) {
      /* A compile-time constant: joined once, read like a weight. */
      uint64_t n = 0;
      llmc_shape_numel(&v->shape, 0, &n);
      int64_t k = v->shape.dims[1];
      if (!(it->weights[i] = malloc(sizeof(float) * (n ? n : 1)))) {
        s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
        break;
      }
      int64_t row = 0;
      for (int j = 0; j < v->n_inputs; j++) {
        int64_t rows = v->inputs[j]->shape.dims[0];
        memcpy(it->weights[i] + row * k, it->weights[v->inputs[j]->id], sizeof(float) * (size_t)(rows * k));
        row += rows;
      }
    } else if (v->kind == LLMC_VALUE_NODE && v->op == LLMC_OP_KV_WRITE) {
      int64_t kvd = v->inputs[0]->shape.dims[1];
      layer_cache_t *c = &it->caches[i];
      c->kv_dim = kvd;
      c->k = calloc((size_t)(max_context * kvd), sizeof(float));
      c->v = calloc((size_t)(max_context * kvd), sizeof(float));
      if (!c->k || !c->v) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    }
  }
  if (!s) {
    *out = it;
    return NULL;
  }
fail:
  llmc_interp_destroy(it);
  return s;
}

void llmc_interp_destroy(llmc_interp_t *it) {
  if (!it) return;
  for (int i = 0; i < it->g->n_values; i++) {
    if (it->weights) free(it->weights[i]);
    if (it->buffers) free(it->buffers[i]);
    if (it->caches) {
      free(it->caches[i].k);
      free(it->caches[i].v);
    }
  }
  free(it->weights);
  free(it->buffers);
  free(it->caches);
  free(it);
}

static float silu(float x) { return x / (1.0f + expf(-x)); }
static float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

/* RoPE over heads of hd: out may equal x. The reference for rope and for
 * the rotation kv_write and attention do with rope_ attributes: the
 * inverse frequencies of llmc_ir_rope_inv_freq, libm's cosf and sinf of the
 * f32 angle, both scaled by the rotation's cos_sin_scale (yarn). */
static void rope_rows(float *out, const float *x, int64_t n, int64_t cols, int64_t hd, const llmc_rope_t *r,
                      const int32_t *positions) {
  if (out != x) memcpy(out, x, sizeof(float) * (size_t)(n * cols));
  float inv[LLMC_MAX_HEAD_DIM / 2];
  llmc_ir_rope_inv_freq(r, hd, inv);
  float scale = (float)r->cos_sin_scale;
  /* Partial rotary: the first rot values of a head rotate, the rest pass. */
  int64_t rot = r->rotary_dim > 0 ? r->rotary_dim : hd;
  for (int64_t t = 0; t < n; t++)
    for (int64_t h = 0; h < cols / hd; h++)
      for (int64_t i = 0; i < rot / 2; i++) {
        float ang = (float)positions[t] * inv[i], c = cosf(ang) * scale, s = sinf(ang) * scale;
        int64_t i0 = t * cols + h * hd + (r->interleaved ? 2 * i : i);
        int64_t i1 = i0 + (r->interleaved ? 1 : rot / 2);
        float x0 = x[i0], x1 = x[i1];
        out[i0] = x0 * c - x1 * s;
        out[i1] = x0 * s + x1 * c;
      }
}

/* x, or x rotated into scratch when node v (kv_write, attention) applies
 * RoPE. scratch holds n * cols floats. */
static const float *fused_rope(const llmc_value_t *v, const float *x, int64_t n, int64_t cols,
                               const int32_t *positions, float *scratch) {
  llmc_rope_t r;
  if (!llmc_ir_rope_of(v, &r)) return x;
  rope_rows(scratch, x, n, cols, llmc_ir_attr_int(v, "head_dim", 0), &r, positions);
  return scratch;
}

/* Runs one node over n rows. Inputs and outputs are f32 row-major. */
static void run_node(llmc_interp_t *it, const llmc_value_t *v, int64_t n, const int32_t *tokens,
                     const int32_t *positions, float *out) {
  const llmc_value_t *const *in = (const llmc_value_t *const *)v->inputs;
  float *a = in[0]->kind == LLMC_VALUE_NODE ? it->buffers[in[0]->id] : NULL;
  int64_t cols = v->dtype == LLMC_DT_KV ? 0 : v->shape.dims[1];
  switch (v->op) {
    case LLMC_OP_EMBEDDING: {
      const float *table = it->weights[in[1]->id];
      float scale = (float)llmc_ir_attr_float(v, "scale", 1); /* Gemma: sqrt(hidden_size) */
      for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < cols; j++) out[t * cols + j] = table[(int64_t)tokens[t] * cols + j] * scale;
      break;
    }
    case LLMC_OP_MATMUL:
    case LLMC_OP_MATMUL_ADD: {
      const float *b = it->weights[in[1]->id];
      const float *r = v->op == LLMC_OP_MATMUL_ADD ? it->buffers[in[2]->id] : NULL;
      int64_t k = in[0]->shape.dims[1];
      bool tb = llmc_ir_attr_int(v, "transpose_b", 0) != 0;
      for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < cols; j++) {
          double acc = 0;
          for (int64_t i = 0; i < k; i++)
            acc += (double)a[t * k + i] * (tb ? b[j * k + i] : b[i * cols + j]);
          /* Rounded to f32 before the add, as matmul then add would be. */
          out[t * cols + j] = r ? (float)acc + r[t * cols + j] : (float)acc;
        }
      break;
    }
    case LLMC_OP_CONCAT: break; /* a constant: joined in llmc_interp_create */
    case LLMC_OP_SLICE: {
      int64_t begin = llmc_ir_attr_int(v, "begin", 0), width = in[0]->shape.dims[1];
      for (int64_t t = 0; t < n; t++)
        memcpy(out + t * cols, a + t * width + begin, sizeof(float) * (size_t)cols);
      break;
    }
    case LLMC_OP_ADD:
    case LLMC_OP_MUL: {
      const float *b = it->buffers[in[1]->id];
      for (int64_t i = 0; i < n * cols; i++) out[i] = v->op == LLMC_OP_ADD ? a[i] + b[i] : a[i] * b[i];
      break;
    }
    case LLMC_OP_SILU:
      for (int64_t i = 0; i < n * cols; i++) out[i] = silu(a[i]);
      break;
    case LLMC_OP_BIAS_ADD: {
      const float *bias = it->weights[in[1]->id];
      for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < cols; j++) out[t * cols + j] = a[t * cols + j] + bias[j];
      break;
    }
    case LLMC_OP_SILU_MUL: {
      const float *b = it->buffers[in[1]->id];
      for (int64_t i = 0; i < n * cols; i++) out[i] = silu(a[i]) * b[i];
      break;
    }
    case LLMC_OP_GELU_MUL: {
      const float *b = it->buffers[in[1]->id];
      for (int64_t i = 0; i < n * cols; i++) out[i] = gelu_tanh(a[i]) * b[i];
      break;
    }
    case LLMC_OP_GELU:
      for (int64_t i = 0; i < n * cols; i++) out[i] = gelu_tanh(a[i]);
      break;
    case LLMC_OP_SOFTCAP: {
      float cap = (float)llmc_ir_attr_float(v, "cap", 1);
      for (int64_t i = 0; i < n * cols; i++) out[i] = cap > 0 ? tanhf(a[i] / cap) * cap : a[i];
      break;
    }
    case LLMC_OP_SOFTMAX:
      for (int64_t t = 0; t < n; t++) {
        const float *x = a + t * cols;
        float m = -INFINITY;
        double sum = 0;
        for (int64_t j = 0; j < cols; j++) m = fmaxf(m, x[j]);
        for (int64_t j = 0; j < cols; j++) sum += exp((double)x[j] - m);
        for (int64_t j = 0; j < cols; j++) out[t * cols + j] = (float)(exp((double)x[j] - m) / sum);
      }
      break;
    case LLMC_OP_RMS_NORM_ADD: { /* r + rms_norm(x), as rms_norm then add compute it */
      const float *w = it->weights[in[1]->id], *r = it->buffers[in[2]->id];
      double eps = llmc_ir_attr_float(v, "eps", 1e-5);
      float offset = (float)llmc_ir_attr_float(v, "offset", 0);
      for (int64_t t = 0; t < n; t++) {
        const float *x = a + t * cols;
        double ss = 0;
        for (int64_t j = 0; j < cols; j++) ss += (double)x[j] * x[j];
        double rs = 1.0 / sqrt(ss / (double)cols + eps);
        for (int64_t j = 0; j < cols; j++) out[t * cols + j] = r[t * cols + j] + (float)((double)x[j] * rs) * (w[j] + offset);
      }
      break;
    }
    case LLMC_OP_RMS_NORM:
    case LLMC_OP_LAYER_NORM: {
      const float *w = it->weights[in[1]->id];
      const float *bias = v->op == LLMC_OP_LAYER_NORM ? it->weights[in[2]->id] : NULL;
      double eps = llmc_ir_attr_float(v, "eps", 1e-5);
      float offset = (float)llmc_ir_attr_float(v, "offset", 0); /* Gemma's norms scale by (1 + w) */
      int64_t g = llmc_ir_norm_group(v), rows = n * (cols / g); /* each group a row of its own */
      cols = g;
      for (int64_t t = 0; t < rows; t++) {
        const float *x = a + t * cols;
        double mean = 0, ss = 0;
        if (bias) {
          for (int64_t j = 0; j < cols; j++) mean += x[j];
          mean /= (double)cols;
        }
        for (int64_t j = 0; j < cols; j++) ss += ((double)x[j] - mean) * ((double)x[j] - mean);
        double r = 1.0 / sqrt(ss / (double)cols + eps);
        for (int64_t j = 0; j < cols; j++)
          out[t * cols + j] = (float)(((double)x[j] - mean) * r) * (w[j] + offset) + (bias ? bias[j] : 0.0f);
      }
      break;
    }
    case LLMC_OP_ROPE: {
      llmc_rope_t r;
      if (llmc_ir_rope_of(v, &r)) rope_rows(out, a, n, cols, llmc_ir_attr_int(v, "head_dim", 0), &r, positions);
      break;
    }
    case LLMC_OP_KV_WRITE: {
      layer_cache_t *c = &it->caches[v->id];
      const float *k = fused_rope(v, it->buffers[in[0]->id], n, c->kv_dim, positions, out), *val = it->buffers[in[1]->id];
      for (int64_t t = 0; t < n; t++) {
        memcpy(c->k + positions[t] * c->kv_dim, k + t * c->kv_dim, sizeof(float) * (size_t)c->kv_dim);
        memcpy(c->v + positions[t] * c->kv_dim, val + t * c->kv_dim, sizeof(float) * (size_t)c->kv_dim);
        int64_t hd = llmc_ir_attr_int(v, "head_dim", 0);
        round_kv(c->k + positions[t] * c->kv_dim, c->kv_dim, hd, it->kv_dtype);
        round_kv(c->v + positions[t] * c->kv_dim, c->kv_dim, hd, it->kv_dtype);
      }
      break;
    }
    case LLMC_OP_ATTENTION: {
      const layer_cache_t *c = &it->caches[in[1]->id];
      int64_t h_n = llmc_ir_attr_int(v, "n_heads", 0), kvh = llmc_ir_attr_int(v, "n_kv_heads", 0);
      int64_t hd = llmc_ir_attr_int(v, "head_dim", 0);
      float scale = (float)llmc_ir_attr_float(v, "scale", 1.0 / sqrt((double)hd));
      int64_t window = llmc_ir_attr_int(v, "window", 0);
      float softcap = (float)llmc_ir_attr_float(v, "softcap", 0);
      llmc_rope_t rope;
      float *rotated = llmc_ir_rope_of(v, &rope) ? malloc(sizeof(float) * (size_t)(n * cols)) : NULL;
      if (rotated) a = (float *)fused_rope(v, a, n, cols, positions, rotated);
      double *scores = malloc(sizeof(double) * (size_t)(positions[n - 1] + 1 > 0 ? it->max_context : 1));
      if (!scores) { /* llmc_interp_step checked sizes; OOM leaves zeros */
        free(rotated);
        break;
      }
      for (int64_t t = 0; t < n; t++)
        for (int64_t h = 0; h < h_n; h++) {
          int64_t g = h / (h_n / kvh), p = positions[t];
          int64_t lo = window > 0 && p >= window ? p - window + 1 : 0; /* sliding window */
          const float *q = a + t * cols + h * hd;
          double m = -INFINITY, sum = 0;
          for (int64_t j = lo; j <= p; j++) {
            const float *kr = c->k + j * c->kv_dim + g * hd;
            double d = 0;
            for (int64_t i = 0; i < hd; i++) d += (double)q[i] * kr[i];
            scores[j] = d * scale;
            if (softcap > 0) scores[j] = tanhf((float)scores[j] / softcap) * softcap; /* Gemma 2 */
            if (scores[j] > m) m = scores[j];
          }
          for (int64_t j = lo; j <= p; j++) sum += (scores[j] = exp(scores[j] - m));
          for (int64_t i = 0; i < hd; i++) {
            double acc = 0;
            for (int64_t j = lo; j <= p; j++) acc += scores[j] * c->v[j * c->kv_dim + g * hd + i];
            out[t * cols + h * hd + i] = (float)(acc / sum);
          }
        }
      free(scores);
      free(rotated);
      break;
    }
    case LLMC_OP_COUNT: break;
  }
}

llmc_status_t *llmc_interp_step(llmc_interp_t *it, const int32_t *tokens, const int32_t *positions,
                                int64_t n, const float **out_logits, int64_t *out_vocab) {
  const llmc_ir_graph_t *g = it->g;
  *out_logits = NULL;
  if (n <= 0) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "a step needs at least one token");
  for (int64_t t = 0; t < n; t++)
    if (positions[t] < 0 || positions[t] >= it->max_context)
      return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "position %d is outside the context of %lld",
                        positions[t], (long long)it->max_context);
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind == LLMC_VALUE_NODE && v->op == LLMC_OP_EMBEDDING) {
      int64_t vocab = v->inputs[1]->shape.dims[0];
      for (int64_t t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= vocab)
          return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "token id %d is outside the vocabulary of %lld",
                            tokens[t], (long long)vocab);
    }
  }
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || llmc_ir_value_is_const(v)) continue;
    free(it->buffers[i]);
    it->buffers[i] = NULL;
    /* A kv_write's buffer holds its k rows rotated, when it applies RoPE. */
    int64_t cols = v->dtype == LLMC_DT_KV ? v->inputs[0]->shape.dims[1] : llmc_shape_row_size(&v->shape);
    if (!(it->buffers[i] = calloc((size_t)(n * cols), sizeof(float))))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    run_node(it, v, n, tokens, positions, it->buffers[i]);
  }
  const llmc_value_t *logits = llmc_ir_graph_find_output(g, "logits");
  *out_logits = it->buffers[logits->id];
  *out_vocab = logits->shape.dims[1];
  return NULL;
}
