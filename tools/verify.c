/* verify.c: the compiled artifact against the reference interpreter on the
 * same tokens. The interpreter runs the graph as imported (before any
 * pass), so this checks the passes, the kernels, the plan and the runtime
 * together. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_safetensors.h"
#include "llmc_verify.h"

static int argmax(const float *x, int64_t n) {
  int best = 0;
  for (int64_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = (int)i;
  return best;
}

static double max_diff(const float *a, const float *b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= m)) m = d; /* NaN propagates as a failure */
  }
  return m;
}

/* Compares positions [0, n) of ref and got (vocab logits each) into out. */
static void compare(const float *ref, const float *got, int64_t n, int64_t vocab, llmc_verify_result_t *out) {
  for (int64_t p = 0; p < n; p++) {
    const float *r = ref + p * vocab, *g = got + p * vocab;
    double d = max_diff(r, g, vocab);
    if (!(d <= out->max_abs_err)) out->max_abs_err = d;
    double e2 = 0, r2 = 0;
    for (int64_t i = 0; i < vocab; i++) {
      double e = (double)g[i] - (double)r[i];
      e2 += e * e;
      r2 += (double)r[i] * (double)r[i];
    }
    double rel = r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
    if (!(rel <= out->max_rel_err)) out->max_rel_err = rel;
  }
}

llmc_verify_contract_t llmc_verify_contract(llmc_rt_t *rt, int int8_activation_calls) {
  if (int8_activation_calls) return LLMC_VERIFY_INT8_ACTS;
  int64_t kv = llmc_rt_plan_value(rt, LLMC_PLAN_KV_DTYPE);
  return kv == LLMC_PLAN_KV_I8 ? LLMC_VERIFY_KV8 : kv != LLMC_PLAN_KV_F32 ? LLMC_VERIFY_KV16 : LLMC_VERIFY_EXACT;
}

bool llmc_verify_judge(const llmc_verify_result_t *r, llmc_verify_contract_t c, double *out_bound) {
  if (c != LLMC_VERIFY_EXACT) {
    *out_bound = c == LLMC_VERIFY_KV16 ? 3e-3 : c == LLMC_VERIFY_KV8 ? 1e-2 : 0.05;
    return r->max_rel_err <= *out_bound && r->first_unexplained < 0;
  }
  *out_bound = 1e-4;
  return r->max_abs_err <= *out_bound && r->first_mismatch < 0;
}

llmc_status_t *llmc_verify_greedy(const llmc_model_t *model, llmc_rt_t *rt, const int32_t *prompt,
                                  int len, int steps, int32_t *out_tokens,
                                  llmc_verify_result_t *out) {
  return llmc_verify_greedy_with(model, llmc_weight_set_lookup, model->weights, rt, prompt, len, steps,
                                 out_tokens, out);
}

llmc_status_t *llmc_verify_greedy_with(const llmc_model_t *model, llmc_weight_lookup_fn lookup,
                                       void *lookup_ctx, llmc_rt_t *rt, const int32_t *prompt,
                                       int len, int steps, int32_t *out_tokens,
                                       llmc_verify_result_t *out) {
  *out = (llmc_verify_result_t){.first_mismatch = -1, .first_unexplained = -1};
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  int64_t ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
  int64_t t_max = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_STEP_TOKENS);
  if (len <= 0 || steps < 0 || len + steps > ctx)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "verify: %d + %d tokens do not fit the context of %lld",
                      len, steps, (long long)ctx);
  int32_t *tokens = malloc(sizeof(int32_t) * (size_t)(len + steps));
  int32_t *positions = malloc(sizeof(int32_t) * (size_t)(len + steps));
  llmc_interp_t *it = NULL;
  int seq = -1;
  llmc_status_t *s = tokens && positions ? NULL : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) {
    memcpy(tokens, prompt, sizeof(int32_t) * (size_t)len);
    for (int i = 0; i < len + steps; i++) positions[i] = i;
    s = llmc_interp_create(model->graph, lookup, lookup_ctx, ctx, &it);
  }
  /* A 16-bit or int8 KV pool rounds what kv_write stores: the interpreter too. */
  if (!s) {
    int64_t kv = llmc_rt_plan_value(rt, LLMC_PLAN_KV_DTYPE);
    llmc_interp_set_kv_dtype(it, kv == LLMC_PLAN_KV_F16    ? LLMC_DT_F16
                                 : kv == LLMC_PLAN_KV_BF16 ? LLMC_DT_BF16
                                 : kv == LLMC_PLAN_KV_I8   ? LLMC_DT_I8
                                                           : LLMC_DT_F32);
  }
  if (!s) s = llmc_rt_seq_create_empty(rt, &seq);
  const float *ref = NULL, *got = NULL;
  int64_t v;
  if (!s) s = llmc_interp_step(it, tokens, positions, len, &ref, &v);
  /* The prompt in chunks of the plan's step size (chunked prefill). */
  for (int64_t at = 0; !s && at < len; at += t_max) {
    int64_t n = len - at < t_max ? len - at : t_max;
    if (!(s = llmc_rt_forward(rt, seq, tokens + at, positions + at, n, &got))) compare(ref + at * vocab, got, n, vocab, out);
  }
  if (!s) {
    out->positions = len;
    const float *ref_row = ref + (int64_t)(len - 1) * vocab, *got_row = got + (int64_t)((len - 1) % t_max) * vocab;
    int ref_tok = argmax(ref_row, vocab);
    int got_tok = argmax(got_row, vocab);
    double row_err = max_diff(ref_row, got_row, vocab);
    for (int step = 0; step < steps && !s; step++) {
      if (ref_tok != got_tok && out->first_mismatch < 0) out->first_mismatch = step;
      /* Explained: the interpreter ranks the compiled choice within the two
       * positions' errors of its own (each logit may be off by row_err). */
      if (ref_tok != got_tok && out->first_unexplained < 0 &&
          !((double)ref_row[got_tok] >= (double)ref_row[ref_tok] - 2 * row_err))
        out->first_unexplained = step;
      tokens[len + step] = ref_tok;
      s = llmc_interp_step(it, &tokens[len + step], &positions[len + step], 1, &ref, &v);
      if (!s) s = llmc_rt_forward(rt, seq, &tokens[len + step], &positions[len + step], 1, &got);
      if (!s) {
        compare(ref, got, 1, vocab, out);
        out->positions++;
        ref_row = ref, got_row = got;
        row_err = max_diff(ref, got, vocab);
        ref_tok = argmax(ref, vocab);
        got_tok = argmax(got, vocab);
      }
    }
  }
  if (!s && out_tokens) memcpy(out_tokens, tokens, sizeof(int32_t) * (size_t)(len + steps));
  if (seq >= 0) llmc_rt_seq_free(rt, seq);
  llmc_interp_destroy(it);
  free(tokens);
  free(positions);
  return s;
}

/* Weights for the verifying interpreter: the artifact's stored ones (16-bit
 * weights as rounded), else the model's own (weights DCE dropped). A weight
 * stored inside a joined constant (a concat made by fuse-sibling-matmuls) is
 * found through the "llmc.part.NAME" = "JOINED@ROW@ROWS" metadata: its rows
 * are contiguous in the joined tensor. */
typedef struct {
  llmc_safetensors_t *artifact;
  llmc_weight_set_t *model;
} verify_weights_t;

/* Tensor `name` of the artifact as a view: a plain tensor, or one in one of
 * llmc's layouts ("llmc.layout.NAME" = "LAYOUT@N@K", e.g. "int8-rows@N@K":
 * N*K int8 bytes, then N f32 scales), checked against the tensor's size. */
static bool stored_view(const llmc_safetensors_t *st, const char *name, llmc_weight_view_t *out) {
  const llmc_st_tensor_t *t = llmc_safetensors_find(st, name);
  if (!t) return false;
  char key[1100];
  if ((size_t)snprintf(key, sizeof key, "llmc.layout.%s", name) >= sizeof key) return false;
  const char *layout = llmc_safetensors_metadata(st, key);
  if (!layout) return llmc_weight_view_of(t, out);
  /* "LAYOUT@N@K": one of llmc's layouts (llmc_layout_row_bytes: every
   * row's values, then every row's header), checked against the size. */
  const char *at = strchr(layout, '@');
  long long n, k;
  char tail;
  if (!at || sscanf(at, "@%lld@%lld%c", &n, &k, &tail) != 2 || n <= 0 || t->rank != 1 || t->dtype != LLMC_ST_U8)
    return false;
  for (int d = LLMC_DT_I8; d < LLMC_DT_COUNT; d++) {
    uint64_t row_v, row_h;
    const char *lname = llmc_layout_name((llmc_dtype_t)d);
    if (strlen(lname) != (size_t)(at - layout) || strncmp(layout, lname, (size_t)(at - layout)) ||
        !llmc_layout_row_bytes((llmc_dtype_t)d, k, &row_v, &row_h))
      continue;
    uint64_t bytes;
    if (!llmc_checked_mul((uint64_t)n, row_v + row_h, &bytes) || (uint64_t)t->shape[0] != bytes) return false;
    *out = (llmc_weight_view_t){.name = name, .dtype = (llmc_dtype_t)d, .shape = {.rank = 2, .dims = {n, k}},
                                .data = t->data, .scales = (const char *)t->data + (uint64_t)n * row_v};
    return true;
  }
  return false;
}

static bool part_view(const llmc_safetensors_t *st, const char *name, llmc_weight_view_t *out) {
  char key[1024];
  if ((size_t)snprintf(key, sizeof key, "llmc.part.%s", name) >= sizeof key) return false;
  const char *spec = llmc_safetensors_metadata(st, key);
  if (!spec) return false;
  /* JOINED@ROW@ROWS, split at the last two '@' (names may contain '@'). */
  const char *at2 = strrchr(spec, '@');
  if (!at2 || at2 == spec) return false;
  const char *at1 = at2 - 1;
  while (at1 > spec && *at1 != '@') at1--;
  if (*at1 != '@' || at1 == spec || (size_t)(at1 - spec) >= sizeof key) return false;
  char joined[1024];
  memcpy(joined, spec, (size_t)(at1 - spec));
  joined[at1 - spec] = '\0';
  char *end;
  long long row = strtoll(at1 + 1, &end, 10);
  if (end != at2 || row < 0) return false;
  long long rows = strtoll(at2 + 1, &end, 10);
  if (*end || rows <= 0) return false;
  if (!stored_view(st, joined, out) || out->shape.rank != 2 || row > (long long)out->shape.dims[0] - rows) return false;
  out->name = name;
  size_t k = (size_t)out->shape.dims[1];
  uint64_t row_v, row_h;
  if (llmc_layout_row_bytes(out->dtype, (int64_t)k, &row_v, &row_h)) { /* a row's values and header */
    out->data = (const char *)out->data + (size_t)row * row_v;
    out->scales = (const char *)out->scales + (size_t)row * row_h;
  } else {
    out->data = (const char *)out->data + (size_t)row * k * llmc_dtype_size(out->dtype);
  }
  out->shape.dims[0] = rows;
  return true;
}

static bool verify_lookup(void *ctx, const char *name, llmc_weight_view_t *out) {
  verify_weights_t *w = ctx;
  if (llmc_safetensors_find(w->artifact, name)) return stored_view(w->artifact, name, out);
  return part_view(w->artifact, name, out) || llmc_weight_set_lookup(w->model, name, out);
}

llmc_status_t *llmc_verify_artifact(const char *model_path, const char *out_dir, llmc_rt_t *rt,
                                    llmc_verify_result_t *out) {
  memset(out, 0, sizeof *out);
  llmc_model_t *model = NULL;
  LLMC_RETURN_IF_ERROR(llmc_model_load(model_path, &model));
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB), ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
  int len = ctx >= 32 ? 16 : (int)(ctx / 2), steps = len;
  int32_t prompt[16];
  uint64_t rng = 7;
  for (int i = 0; i < len; i++) prompt[i] = (int32_t)(llmc_rng_next(&rng) % (uint64_t)vocab);
  verify_weights_t vw = {.model = model->weights};
  char path[4096];
  llmc_status_t *s = NULL;
  if ((size_t)snprintf(path, sizeof path, "%s/weights.safetensors", out_dir) >= sizeof path)
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, out_dir, "path too long");
  if (!s) s = llmc_safetensors_open(path, &vw.artifact);
  if (!s) s = llmc_verify_greedy_with(model, verify_lookup, &vw, rt, prompt, len, steps, NULL, out);
  llmc_safetensors_close(vw.artifact);
  llmc_model_destroy(model);
  return s;
}
