/* sampler.c: greedy, temperature, top-k and top-p sampling (see rt_sampler.h).
 *
 * Cost per token: O(V) for greedy; O(V log k) for top-k (a bounded min-heap);
 * for top-p without top-k, O(V) plus a sort of only the candidates that can
 * be in the nucleus: a token with p < (1 - top_p) / (V - 1) never is, since
 * all such tokens together hold less than 1 - top_p (the cut llama2.c uses). */
#include "rt_sampler.h"

#include <math.h>
#include <stdlib.h>

struct llmc_sampler {
  int64_t vocab;
  int32_t *idx; /* [vocab] candidate ids */
  float *prob;  /* [vocab] unnormalised probability by id */
};

llmc_status_t *llmc_sampler_create(int64_t vocab, llmc_sampler_t **out) {
  *out = NULL;
  if (vocab < 1 || vocab > INT32_MAX)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "vocabulary of %lld tokens", (long long)vocab);
  llmc_sampler_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  s->vocab = vocab;
  s->idx = malloc((size_t)vocab * sizeof *s->idx);
  s->prob = malloc((size_t)vocab * sizeof *s->prob);
  if (!s->idx || !s->prob) {
    llmc_sampler_destroy(s);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  *out = s;
  return NULL;
}

void llmc_sampler_destroy(llmc_sampler_t *s) {
  if (!s) return;
  free(s->idx);
  free(s->prob);
  free(s);
}

bool llmc_sampler_is_greedy(const llmc_sampling_t *p) {
  return !(p->temperature > 0.0f) || p->top_k == 1;
}

int32_t llmc_sampler_argmax(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; i++)
    if (logits[i] > logits[best]) best = i; /* strict: ties keep the lowest id */
  return (int32_t)best;
}

/* "a ranks before b": larger key first, then lower id. */
static inline int before(const float *key, int32_t a, int32_t b) {
  return key[a] > key[b] || (key[a] == key[b] && a < b);
}

/* Sift-down for a heap whose root is the element ranked LAST (a min-heap in
 * rank order): used both to keep the top k and to sort them. */
static void sift_down(int32_t *h, int64_t n, int64_t i, const float *key) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && before(key, h[m], h[l])) m = l;
    if (r < n && before(key, h[m], h[r])) m = r;
    if (m == i) return;
    int32_t t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

/* Heapsort with the worst element at the root: each pass moves the current
 * worst to the end of the unsorted part, so h[0, n) ends up best first. */
static void sort_best_first(int32_t *h, int64_t n, const float *key) {
  for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(h, n, i, key);
  for (int64_t end = n - 1; end > 0; end--) {
    int32_t t = h[0];
    h[0] = h[end];
    h[end] = t;
    sift_down(h, end, 0, key);
  }
}

int32_t llmc_sampler_sample(llmc_sampler_t *s, const float *logits, const llmc_sampling_t *p,
                            uint64_t *rng) {
  const int64_t V = s->vocab;
  if (llmc_sampler_is_greedy(p)) return llmc_sampler_argmax(logits, V);

  /* Candidates: the top_k ids by logit, best first, or all ids unsorted. */
  int64_t n;
  int sorted = 0;
  if (p->top_k > 0 && p->top_k < V) {
    n = p->top_k;
    for (int64_t i = 0; i < n; i++) s->idx[i] = (int32_t)i;
    for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(s->idx, n, i, logits);
    for (int64_t i = n; i < V; i++) {
      if (before(logits, (int32_t)i, s->idx[0])) {
        s->idx[0] = (int32_t)i;
        sift_down(s->idx, n, 0, logits);
      }
    }
    sort_best_first(s->idx, n, logits);
    sorted = 1;
  } else {
    n = V;
    for (int64_t i = 0; i < V; i++) s->idx[i] = (int32_t)i;
  }

  /* Softmax numerators over the candidates, max-subtracted for stability. */
  float mx = logits[s->idx[0]];
  for (int64_t i = 1; i < n; i++)
    if (logits[s->idx[i]] > mx) mx = logits[s->idx[i]];
  /* Divided in double, not multiplied by 1/T: 1/T overflows f32 for T below
   * ~3e-39, and 0 * inf would make the best candidate NaN. (x - mx) <= 0, so
   * a tiny T sends every other candidate to exp(-huge) = 0: greedy, the limit. */
  const double t = p->temperature;
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) {
    int32_t id = s->idx[i];
    s->prob[id] = (float)exp((double)(logits[id] - mx) / t);
    sum += s->prob[id];
  }

  if (p->top_p > 0.0f && p->top_p < 1.0f) {
    if (!sorted) {
      /* Keep only ids that can be in the nucleus, then sort those. */
      const double cut = (1.0 - p->top_p) / (double)(n > 1 ? n - 1 : 1) * sum;
      int64_t m = 0;
      for (int64_t i = 0; i < n; i++)
        if (s->prob[s->idx[i]] >= cut) s->idx[m++] = s->idx[i];
      n = m;
      sort_best_first(s->idx, n, s->prob);
    }
    const double target = p->top_p * sum;
    double cum = 0.0;
    int64_t keep = n;
    for (int64_t i = 0; i < n; i++) {
      cum += s->prob[s->idx[i]];
      if (cum >= target) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
    sum = cum;
  }

  const double r = (double)llmc_rng_uniform(rng) * sum;
  double cum = 0.0;
  for (int64_t i = 0; i < n; i++) {
    cum += s->prob[s->idx[i]];
    if (r < cum) return s->idx[i];
  }
  return s->idx[n - 1]; /* rounding: r landed at the very top */
}

void llmc_sampler_logprobs(const llmc_sampler_t *s, const float *logits, int32_t token, int n_top,
                           llmc_rt_logprobs_t *out) {
  const int64_t V = s->vocab;
  float max = logits[0];
  for (int64_t i = 1; i < V; i++) max = logits[i] > max ? logits[i] : max;
  double sum = 0;
  for (int64_t i = 0; i < V; i++) sum += exp((double)logits[i] - max);
  double lse = (double)max + log(sum);
  out->logprob = (float)((double)logits[token] - lse);
  /* The n best by insertion into a sorted prefix: after the first few
   * hundred ids almost none gets in, so this is ~V comparisons. */
  int n = n_top < 0 ? 0 : n_top > LLMC_RT_MAX_LOGPROBS ? LLMC_RT_MAX_LOGPROBS : n_top;
  if (n > V) n = (int)V;
  int k = 0;
  for (int64_t i = 0; i < V && n > 0; i++) {
    if (k == n && !(logits[i] > logits[out->top_ids[k - 1]])) continue; /* ties keep the lower id */
    int at = k < n ? k++ : n - 1;
    while (at > 0 && logits[i] > logits[out->top_ids[at - 1]]) {
      out->top_ids[at] = out->top_ids[at - 1];
      at--;
    }
    out->top_ids[at] = (int32_t)i;
  }
  out->n_top = k;
  for (int i = 0; i < k; i++) out->top_logprobs[i] = (float)((double)logits[out->top_ids[i]] - lse);
}
