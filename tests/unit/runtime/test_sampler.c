/* Unit tests for the sampler: greedy ties, top-k = 1 is greedy, seeds
 * reproduce, a tiny top-p is argmax, sampled frequencies follow the softmax
 * (with top-k / top-p cutting the tail), and log-probabilities. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "rt_sampler.h"

static llmc_sampling_t params(float temperature, int top_k, float top_p, uint64_t seed) {
  return (llmc_sampling_t){.temperature = temperature, .top_k = top_k, .top_p = top_p,
                           .seed = seed, .eos_token = -1};
}

static void test_greedy_ties(void **state) {
  (void)state;
  const float l[] = {0.5f, 2.0f, -1.0f, 2.0f, 2.0f};
  assert_int_equal(llmc_sampler_argmax(l, 5), 1);
  llmc_sampler_t *s;
  assert_null(llmc_sampler_create(5, &s));
  llmc_sampling_t p = params(0.0f, 0, 1.0f, 1);
  uint64_t rng = 7;
  assert_int_equal(llmc_sampler_sample(s, l, &p, &rng), 1);
  assert_int_equal(rng, 7); /* greedy draws nothing */
  const float first[] = {3.0f, 3.0f};
  assert_int_equal(llmc_sampler_argmax(first, 2), 0);
  const float neg[] = {-5.0f, -4.0f, -4.0f};
  assert_int_equal(llmc_sampler_argmax(neg, 3), 1);
  llmc_sampler_destroy(s);
}

static void random_logits(float *l, int n, uint64_t *rng) {
  for (int i = 0; i < n; i++) l[i] = llmc_rng_uniform(rng) * 8.0f - 4.0f;
}

static void test_top_k_one_is_greedy(void **state) {
  (void)state;
  enum { V = 1000 };
  llmc_sampler_t *s;
  assert_null(llmc_sampler_create(V, &s));
  float l[V];
  uint64_t g = 3;
  for (int trial = 0; trial < 50; trial++) {
    random_logits(l, V, &g);
    if (trial % 5 == 0) l[trial] = l[trial + 1] = 10.0f; /* a tie at the top */
    llmc_sampling_t p = params(1.5f, 1, 1.0f, 9);
    uint64_t rng = 9;
    assert_int_equal(llmc_sampler_sample(s, l, &p, &rng), llmc_sampler_argmax(l, V));
    p = params(1.0f, 0, 1e-6f, 9); /* nucleus of one token */
    assert_int_equal(llmc_sampler_sample(s, l, &p, &rng), llmc_sampler_argmax(l, V));
    p = params(1.0f, 40, 1e-6f, 9); /* with top-k too */
    assert_int_equal(llmc_sampler_sample(s, l, &p, &rng), llmc_sampler_argmax(l, V));
  }
  llmc_sampler_destroy(s);
}

static void test_seed_reproducible(void **state) {
  (void)state;
  enum { V = 300, N = 200 };
  llmc_sampler_t *s;
  assert_null(llmc_sampler_create(V, &s));
  float l[V];
  uint64_t g = 11;
  random_logits(l, V, &g);
  const llmc_sampling_t ps[] = {params(0.8f, 0, 1.0f, 5), params(1.0f, 20, 1.0f, 5),
                                params(1.2f, 0, 0.9f, 5), params(0.7f, 50, 0.8f, 5)};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    int32_t a[N], b[N];
    uint64_t r1 = ps[k].seed, r2 = ps[k].seed, r3 = ps[k].seed + 1;
    int differ = 0;
    for (int i = 0; i < N; i++) {
      a[i] = llmc_sampler_sample(s, l, &ps[k], &r1);
      b[i] = llmc_sampler_sample(s, l, &ps[k], &r2);
      differ += llmc_sampler_sample(s, l, &ps[k], &r3) != a[i];
      assert_true(a[i] >= 0 && a[i] < V);
    }
    for (int i = 0; i < N; i++) assert_int_equal(a[i], b[i]);
    assert_true(differ > 0); /* another seed gives another stream */
  }
  llmc_sampler_destroy(s);
}

/* Frequencies over many draws match softmax(l / T) restricted as asked. */
static void test_distribution(void **state) {
  (void)state;
  enum { V = 6, DRAWS = 60000 };
  const float l[V] = {1.0f, 2.0f, 0.0f, 3.0f, -1.0f, 2.5f};
  llmc_sampler_t *s;
  assert_null(llmc_sampler_create(V, &s));
  const struct {
    float t;
    int k;
    float p;
  } cases[] = {{1.0f, 0, 1.0f}, {0.5f, 0, 1.0f}, {1.0f, 3, 1.0f}, {1.0f, 0, 0.7f}, {2.0f, 4, 0.9f}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    /* Expected: sort by logit, keep top k, then the smallest nucleus >= p. */
    int order[V] = {3, 5, 1, 0, 2, 4};
    double w[V] = {0}, total = 0;
    int keep = cases[c].k ? cases[c].k : V;
    for (int i = 0; i < keep; i++) total += exp(l[order[i]] / cases[c].t);
    if (cases[c].p < 1.0f) {
      double cum = 0;
      for (int i = 0; i < keep; i++) {
        cum += exp(l[order[i]] / cases[c].t);
        if (cum >= cases[c].p * total) {
          keep = i + 1;
          break;
        }
      }
      total = cum;
    }
    for (int i = 0; i < keep; i++) w[order[i]] = exp(l[order[i]] / cases[c].t) / total;
    int count[V] = {0};
    llmc_sampling_t p = params(cases[c].t, cases[c].k, cases[c].p, 100 + c);
    uint64_t rng = p.seed;
    for (int i = 0; i < DRAWS; i++) count[llmc_sampler_sample(s, l, &p, &rng)]++;
    for (int i = 0; i < V; i++) {
      double f = (double)count[i] / DRAWS;
      if (w[i] == 0) assert_int_equal(count[i], 0);
      else if (fabs(f - w[i]) > 0.01) fail_msg("case %zu token %d: %.4f vs %.4f", c, i, f, w[i]);
    }
  }
  llmc_sampler_destroy(s);
}

static void test_create_errors(void **state) {
  (void)state;
  llmc_sampler_t *s;
  llmc_status_t *st = llmc_sampler_create(0, &s);
  assert_int_equal(llmc_status_code(st), LLMC_INVALID_ARGUMENT);
  assert_null(s);
  llmc_status_free(st);
  /* Vocabulary of one: every mode returns token 0. */
  assert_null(llmc_sampler_create(1, &s));
  const float l[] = {0.25f};
  llmc_sampling_t p = params(1.0f, 0, 0.5f, 1);
  uint64_t rng = 1;
  assert_int_equal(llmc_sampler_sample(s, l, &p, &rng), 0);
  llmc_sampler_destroy(s);
}

/* Log-probabilities against a direct log-softmax; the top list is the n
 * largest, best first, ties to the lower id; n is capped by the vocabulary
 * and LLMC_RT_MAX_LOGPROBS; a huge logit does not overflow. */
static void test_logprobs(void **state) {
  (void)state;
  enum { V = 1000 };
  float l[V];
  uint64_t rng = 3;
  random_logits(l, V, &rng);
  l[17] = l[900] = 6.0f; /* a tie at the top */
  llmc_sampler_t *s;
  assert_null(llmc_sampler_create(V, &s));
  double sum = 0;
  for (int i = 0; i < V; i++) sum += exp((double)l[i]);
  llmc_rt_logprobs_t lp;
  llmc_sampler_logprobs(s, l, 42, 5, &lp);
  assert_true(fabs(lp.logprob - (l[42] - log(sum))) < 1e-5);
  assert_int_equal(lp.n_top, 5);
  assert_int_equal(lp.top_ids[0], 17);
  assert_int_equal(lp.top_ids[1], 900);
  for (int i = 0; i < 5; i++) {
    assert_true(fabs(lp.top_logprobs[i] - (l[lp.top_ids[i]] - log(sum))) < 1e-5);
    if (i > 0) assert_true(lp.top_logprobs[i] <= lp.top_logprobs[i - 1]);
  }
  int above = 0; /* nothing outside the list beats its last */
  for (int i = 0; i < V; i++) above += l[i] > l[lp.top_ids[4]];
  assert_int_equal(above, 4);
  llmc_sampler_logprobs(s, l, 0, 0, &lp);
  assert_int_equal(lp.n_top, 0);
  llmc_sampler_logprobs(s, l, 0, 99, &lp);
  assert_int_equal(lp.n_top, LLMC_RT_MAX_LOGPROBS);
  llmc_sampler_destroy(s);
  assert_null(llmc_sampler_create(3, &s));
  const float big[] = {1000.0f, 0.0f, 1000.0f}; /* exp(1000) overflows even a double */
  llmc_sampler_logprobs(s, big, 1, 20, &lp);
  assert_int_equal(lp.n_top, 3);
  assert_int_equal(lp.top_ids[0], 0);
  assert_int_equal(lp.top_ids[1], 2);
  assert_true(fabs(lp.top_logprobs[0] - (float)-log(2.0)) < 1e-6);
  assert_true(fabs(lp.logprob - (-1000.0 - log(2.0))) < 1e-3);
  llmc_sampler_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_greedy_ties),       cmocka_unit_test(test_top_k_one_is_greedy),
      cmocka_unit_test(test_seed_reproducible), cmocka_unit_test(test_distribution),
      cmocka_unit_test(test_create_errors),     cmocka_unit_test(test_logprobs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
