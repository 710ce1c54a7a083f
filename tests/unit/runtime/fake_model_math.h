/* fake_model_math.h: the arithmetic of the fake "model" the runtime tests
 * run (fake_model.c) and of the tests' plain reference for it, so the two
 * cannot drift apart. One attention layer with a single head, no MLP:
 *   x_t     = emb[token_t]
 *   k_t     = rotate(x_t, pos_t)       (a RoPE-like rotation, so scores depend
 *   q_t     = rotate(x_t, pos_t)        on relative position)
 *   v_t     = x_t shifted by one lane
 *   h_t     = x_t + sum_{lo <= i <= pos_t} softmax_i(q_t . k_i / 2) v_i
 *             (lo = 0, or pos_t - FAKE_WINDOW + 1 in the sliding-window
 *             variant)
 *   logit_t = 3 * out[v] . h_t
 * Logits depend on every earlier token of the sequence and on where each one
 * lives, so a wrong block table or a stale KV slot changes them. */
#ifndef FAKE_MODEL_MATH_H
#define FAKE_MODEL_MATH_H

#include <math.h>

enum {
  FAKE_V = 13,      /* vocabulary */
  FAKE_D = 4,       /* model width = head dim */
  FAKE_TMAX = 4,    /* tokens per step: small, so prompts are chunked */
  FAKE_CTX = 64,    /* context */
  FAKE_SEQS = 3,    /* sequences per step */
  FAKE_BS = 4,      /* block size */
  FAKE_WINDOW = 6,  /* the sliding window of fake_model_v10 (1.5 blocks) */
  FAKE_MAXB = FAKE_CTX / FAKE_BS,
  FAKE_BLOCK_FLOATS = 1 * 2 * FAKE_BS * 1 * FAKE_D,
  /* meta */
  FAKE_M_TOK = 0,
  FAKE_M_POS = FAKE_TMAX,
  FAKE_M_SEQ = 2 * FAKE_TMAX,
  FAKE_M_BT = 3 * FAKE_TMAX,
  FAKE_M_ROWS = 3 * FAKE_TMAX + FAKE_SEQS * FAKE_MAXB, /* logit_rows[1 + T] */
  FAKE_META_INTS = FAKE_M_ROWS + 1 + FAKE_TMAX,
  /* activations */
  FAKE_X = 0,
  FAKE_H = FAKE_TMAX * FAKE_D,
  FAKE_LOGITS = 2 * FAKE_TMAX * FAKE_D,
  FAKE_ACT_FLOATS = FAKE_LOGITS + FAKE_TMAX * FAKE_V,
  /* weights */
  FAKE_EMB = 0,
  FAKE_OUT = FAKE_V * FAKE_D,
  FAKE_WEIGHT_FLOATS = 2 * FAKE_V * FAKE_D,
};

static inline void fake_embed(const float *w, int tok, float *x) {
  for (int j = 0; j < FAKE_D; j++) x[j] = w[FAKE_EMB + tok * FAKE_D + j];
}

static inline void fake_rotate(const float *x, int pos, float *out) {
  float a = 0.5f * (float)pos, b = 0.13f * (float)pos;
  out[0] = x[0] * cosf(a) - x[1] * sinf(a);
  out[1] = x[0] * sinf(a) + x[1] * cosf(a);
  out[2] = x[2] * cosf(b) - x[3] * sinf(b);
  out[3] = x[2] * sinf(b) + x[3] * cosf(b);
}

static inline void fake_value(const float *x, float *v) {
  for (int j = 0; j < FAKE_D; j++) v[j] = x[(j + 1) % FAKE_D];
}

/* h from x at pos and the keys/values of positions lo..pos (k[i], v[i]
 * point at D floats each; entries below lo are not read). */
static inline void fake_attend(const float *x, int lo, int pos, const float *const *k,
                               const float *const *v, float *h) {
  float q[FAKE_D], s[FAKE_CTX], mx = -INFINITY, sum = 0.0f;
  fake_rotate(x, pos, q);
  for (int i = lo; i <= pos; i++) {
    float d = 0.0f;
    for (int j = 0; j < FAKE_D; j++) d += q[j] * k[i][j];
    s[i] = d * 0.5f;
    if (s[i] > mx) mx = s[i];
  }
  for (int i = lo; i <= pos; i++) {
    s[i] = expf(s[i] - mx);
    sum += s[i];
  }
  for (int j = 0; j < FAKE_D; j++) {
    float acc = 0.0f;
    for (int i = lo; i <= pos; i++) acc += s[i] * v[i][j];
    h[j] = x[j] + acc / sum;
  }
}

static inline float fake_logit(const float *w, const float *h, int v) {
  float d = 0.0f;
  for (int j = 0; j < FAKE_D; j++) d += w[FAKE_OUT + v * FAKE_D + j] * h[j];
  return 3.0f * d;
}

#endif
