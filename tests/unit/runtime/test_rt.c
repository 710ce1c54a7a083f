/* End-to-end tests of libllmc_rt on fake artifacts (fake_model.c): forward
 * against a plain reference, continuous batching, chunked prefill,
 * preemption and prefix sharing each giving exactly the tokens of a
 * sequence run alone, and one clear error per kind of broken artifact. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_model_math.h"
#include "fake_artifact.h"
#include "llmc_rt.h"

#define N_THREADS 3 /* more than the slices of a decode step: uneven splits */

/* ---- fixtures ---- */

static float g_weights[FAKE_WEIGHT_FLOATS];

static void init_weights(void) {
  uint64_t rng = 1234;
  for (int i = 0; i < FAKE_WEIGHT_FLOATS; i++) g_weights[i] = llmc_rng_uniform(&rng) * 2.0f - 1.0f;
}

static artifact_t g_good;

static int setup(void **state) {
  (void)state;
  init_weights();
  make_artifact(&g_good, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS, 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  remove_artifact(&g_good);
  return 0;
}

/* The backend every test runs on: "host", or from LLMC_TEST_BACKEND (CMake
 * runs this suite a second time on "cuda" over the fake driver). */
static const char *test_backend(void) {
  const char *b = getenv("LLMC_TEST_BACKEND");
  return b && *b ? b : "host";
}

static llmc_rt_t *open_rt_at(const char *dir, int64_t kv_blocks) {
  llmc_rt_options_t o = {.backend = test_backend(), .n_threads = N_THREADS,
                         .kv_blocks = kv_blocks};
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = llmc_rt_open(dir, &o, &rt);
  if (s) fail_msg("open: %s", llmc_status_message(s));
  if (strcmp(llmc_rt_backend_name(rt), test_backend()) != 0)
    fail_msg("opened on %s, not %s", llmc_rt_backend_name(rt), test_backend());
  return rt;
}

static llmc_rt_t *open_rt(int64_t kv_blocks) { return open_rt_at(g_good.dir, kv_blocks); }

static void check_invariants(const llmc_rt_t *rt) {
  llmc_status_t *s = llmc_rt_check_invariants(rt);
  if (s) fail_msg("invariants: %s", llmc_status_message(s));
}

/* ---- the plain reference ---- */

/* Logits of the last of toks[0, n), each token at its index as position,
 * attending to the last `window` positions (0: all). */
static void ref_logits(const int32_t *toks, int n, int window, float *out) {
  float x[FAKE_CTX][FAKE_D], k[FAKE_CTX][FAKE_D], v[FAKE_CTX][FAKE_D], h[FAKE_D];
  const float *kp[FAKE_CTX], *vp[FAKE_CTX];
  for (int i = 0; i < n; i++) {
    fake_embed(g_weights, toks[i], x[i]);
    fake_rotate(x[i], i, k[i]);
    fake_value(x[i], v[i]);
    kp[i] = k[i];
    vp[i] = v[i];
  }
  int lo = window > 0 && n > window ? n - window : 0;
  fake_attend(x[n - 1], lo, n - 1, kp, vp, h);
  for (int j = 0; j < FAKE_V; j++) out[j] = fake_logit(g_weights, h, j);
}

static int ref_argmax(const float *l) {
  int b = 0;
  for (int i = 1; i < FAKE_V; i++)
    if (l[i] > l[b]) b = i;
  return b;
}

static int ref_greedy_window(const int32_t *prompt, int n, int max_new, int window, int32_t *out) {
  int32_t toks[FAKE_CTX];
  memcpy(toks, prompt, (size_t)n * sizeof *prompt);
  float l[FAKE_V];
  for (int i = 0; i < max_new; i++) {
    ref_logits(toks, n + i, window, l);
    toks[n + i] = out[i] = ref_argmax(l);
  }
  return max_new;
}

static int ref_greedy(const int32_t *prompt, int n, int max_new, int32_t *out) {
  return ref_greedy_window(prompt, n, max_new, 0, out);
}

/* ---- running sequences ---- */

typedef struct {
  int32_t prompt[FAKE_CTX];
  int n_prompt;
  llmc_sampling_t sampling;
  int32_t out[FAKE_CTX]; /* generated tokens */
  int n_out;
  bool finished;
  int id;
} job_t;

static void prompt_of(job_t *j, int n, uint64_t seed) {
  j->n_prompt = n;
  for (int i = 0; i < n; i++) j->prompt[i] = (int32_t)(llmc_rng_next(&seed) % FAKE_V);
}

static void add_jobs(llmc_rt_t *rt, job_t *jobs, int n) {
  for (int i = 0; i < n; i++) {
    jobs[i].n_out = 0;
    jobs[i].finished = false;
    llmc_status_t *s = llmc_rt_seq_add(rt, jobs[i].prompt, jobs[i].n_prompt, &jobs[i].sampling,
                                       &jobs[i].id);
    if (s) fail_msg("seq_add: %s", llmc_status_message(s));
  }
}

/* One step; records its events into the jobs they belong to. Returns the
 * number of events. */
static int step_jobs(llmc_rt_t *rt, job_t *jobs, int n) {
  llmc_rt_events_t ev;
  llmc_status_t *s = llmc_rt_step(rt, &ev);
  if (s) fail_msg("step: %s", llmc_status_message(s));
  check_invariants(rt);
  assert_true(ev.n <= FAKE_SEQS);
  for (int e = 0; e < ev.n; e++) {
    job_t *j = NULL;
    for (int i = 0; i < n; i++)
      if (jobs[i].id == ev.events[e].seq) j = &jobs[i];
    assert_non_null(j);
    assert_false(j->finished);
    j->out[j->n_out++] = ev.events[e].token;
    j->finished = ev.events[e].finished;
  }
  return ev.n;
}

/* Steps until nothing is left; checks every job finished with the tokens
 * the runtime reports for it. */
static void drain_jobs(llmc_rt_t *rt, job_t *jobs, int n) {
  for (int guard = 0; step_jobs(rt, jobs, n) > 0; guard++) assert_true(guard < 10000);
  for (int i = 0; i < n; i++) {
    assert_true(jobs[i].finished);
    const int32_t *toks;
    int64_t nt, np;
    assert_null(llmc_rt_seq_get_tokens(rt, jobs[i].id, &toks, &nt, &np));
    assert_int_equal(np, jobs[i].n_prompt);
    assert_int_equal(nt, jobs[i].n_prompt + jobs[i].n_out);
    assert_memory_equal(toks + np, jobs[i].out, (size_t)jobs[i].n_out * sizeof *toks);
  }
}

static void run_jobs(llmc_rt_t *rt, job_t *jobs, int n) {
  add_jobs(rt, jobs, n);
  drain_jobs(rt, jobs, n);
}

static void free_jobs(llmc_rt_t *rt, job_t *jobs, int n) {
  for (int i = 0; i < n; i++) llmc_rt_seq_free(rt, jobs[i].id);
  check_invariants(rt);
}

/* Each job alone in a fresh runtime of the artifact in dir with the default cache. */
static void run_alone_at(const char *dir, job_t *jobs, int n, job_t *alone) {
  for (int i = 0; i < n; i++) {
    alone[i] = jobs[i];
    llmc_rt_t *rt = open_rt_at(dir, 0);
    run_jobs(rt, &alone[i], 1);
    llmc_rt_close(rt);
  }
}

static void run_alone(job_t *jobs, int n, job_t *alone) { run_alone_at(g_good.dir, jobs, n, alone); }

static void assert_same_tokens(const job_t *a, const job_t *b, int n) {
  for (int i = 0; i < n; i++) {
    assert_int_equal(a[i].n_out, b[i].n_out);
    assert_memory_equal(a[i].out, b[i].out, (size_t)a[i].n_out * sizeof a[i].out[0]);
  }
}

static llmc_sampling_t greedy(int max_new) {
  return (llmc_sampling_t){
      .temperature = 0, .top_p = 1, .max_new_tokens = max_new, .eos_token = -1};
}

static llmc_sampling_t sampled(int max_new, uint64_t seed) {
  return (llmc_sampling_t){.temperature = 0.9f, .top_k = 6, .top_p = 0.9f, .seed = seed,
                           .max_new_tokens = max_new, .eos_token = -1};
}

/* ---- tests ---- */

static void test_open_plan_values(void **state) {
  (void)state;
  llmc_rt_t *rt = open_rt(0);
  assert_int_equal(llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB), FAKE_V);
  assert_int_equal(llmc_rt_plan_value(rt, LLMC_PLAN_MAX_STEP_TOKENS), FAKE_TMAX);
  assert_int_equal(llmc_rt_plan_value(rt, LLMC_PLAN_N_LAUNCHES), 4);
  assert_int_equal(llmc_rt_plan_value(rt, -1), -1);
  assert_int_equal(llmc_rt_plan_value(rt, LLMC_PLAN_HEADER_LEN), -1);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.kv_blocks_total, FAKE_SEQS * FAKE_MAXB);
  assert_int_equal(st.kv_blocks_available, FAKE_SEQS * FAKE_MAXB);
  llmc_rt_events_t ev;
  assert_null(llmc_rt_step(rt, &ev)); /* nothing to do */
  assert_int_equal(ev.n, 0);
  llmc_rt_close(rt);
  llmc_rt_options_t o = {0}; /* defaults: auto (host here), all cores */
  assert_null(llmc_rt_open(g_good.dir, &o, &rt));
  llmc_rt_close(rt);
  assert_null(llmc_rt_open(g_good.dir, NULL, &rt));
  llmc_rt_close(rt);
}

/* Two sequences fed through forward in interleaved chunks of 1..4 tokens:
 * every logits row equals the reference on that sequence's history. */
static void test_forward_matches_reference(void **state) {
  (void)state;
  llmc_rt_t *rt = open_rt(0);
  int seq[3];
  assert_null(llmc_rt_seq_create_empty(rt, &seq[0]));
  assert_null(llmc_rt_seq_create_empty(rt, &seq[1]));
  const int32_t dummy[] = {1};
  /* Added but never stepped: forward may drive it. */
  assert_null(llmc_rt_seq_add(rt, dummy, 1, NULL, &seq[2]));
  int32_t toks[3][40];
  uint64_t rng = 99;
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < 40; i++) toks[s][i] = (int32_t)(llmc_rng_next(&rng) % FAKE_V);
  int done[3] = {0};
  for (int round = 0; done[0] < 40 || done[1] < 40 || done[2] < 40; round++) {
    int s = round % 3;
    int n = 1 + (round * 7) % FAKE_TMAX;
    if (done[s] + n > 40) n = 40 - done[s];
    if (n == 0) continue;
    int32_t pos[FAKE_TMAX];
    for (int i = 0; i < n; i++) pos[i] = done[s] + i;
    const float *logits;
    llmc_status_t *st = llmc_rt_forward(rt, seq[s], toks[s] + done[s], pos, n, &logits);
    if (st) fail_msg("forward: %s", llmc_status_message(st));
    for (int i = 0; i < n; i++) {
      float ref[FAKE_V];
      ref_logits(toks[s], done[s] + i + 1, 0, ref);
      for (int v = 0; v < FAKE_V; v++) assert_float_equal(logits[i * FAKE_V + v], ref[v], 1e-4);
    }
    done[s] += n;
    check_invariants(rt);
  }
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.tokens_computed, 120);
  for (int s = 0; s < 3; s++) llmc_rt_seq_free(rt, seq[s]);
  check_invariants(rt);
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.kv_blocks_available, st.kv_blocks_total);
  llmc_rt_close(rt);
}

static void expect_code(llmc_status_t *s, llmc_code_t code) {
  if (llmc_status_code(s) != code)
    fail_msg("expected code %d, got %d: %s", code, llmc_status_code(s), llmc_status_message(s));
  llmc_status_free(s);
}

static void test_forward_errors(void **state) {
  (void)state;
  llmc_rt_t *rt = open_rt(0);
  int seq;
  assert_null(llmc_rt_seq_create_empty(rt, &seq));
  const int32_t t[5] = {1, 2, 3, 4, 5}, p[5] = {0, 1, 2, 3, 4};
  const float *l;
  expect_code(llmc_rt_forward(rt, seq, t, p, 5, &l), LLMC_OUT_OF_RANGE); /* > T_max */
  expect_code(llmc_rt_forward(rt, seq, t, p, 0, &l), LLMC_OUT_OF_RANGE);
  const int32_t bad_tok[] = {FAKE_V}, bad_pos[] = {FAKE_CTX};
  expect_code(llmc_rt_forward(rt, seq, bad_tok, p, 1, &l), LLMC_OUT_OF_RANGE);
  expect_code(llmc_rt_forward(rt, seq, t, bad_pos, 1, &l), LLMC_OUT_OF_RANGE);
  expect_code(llmc_rt_forward(rt, 77, t, p, 1, &l), LLMC_INVALID_ARGUMENT);
  /* A sequence the scheduler already runs cannot be driven by hand. */
  int run;
  const int32_t prompt[] = {1, 2, 3, 4, 5, 6};
  llmc_sampling_t g = greedy(3);
  assert_null(llmc_rt_seq_add(rt, prompt, 6, &g, &run));
  llmc_rt_events_t ev;
  assert_null(llmc_rt_step(rt, &ev));
  expect_code(llmc_rt_forward(rt, run, t, p, 1, &l), LLMC_INVALID_ARGUMENT);
  check_invariants(rt);
  llmc_rt_close(rt); /* closes with live sequences */
}

/* One sequence through the scheduler: chunked prefill (11 > T_max = 4)
 * then decode, equal to the reference's greedy tokens. */
static void test_greedy_matches_reference(void **state) {
  (void)state;
  job_t j = {.sampling = greedy(20)};
  prompt_of(&j, 11, 5);
  llmc_rt_t *rt = open_rt(0);
  run_jobs(rt, &j, 1);
  int32_t ref[20];
  ref_greedy(j.prompt, j.n_prompt, 20, ref);
  assert_int_equal(j.n_out, 20);
  assert_memory_equal(j.out, ref, sizeof ref);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  /* 11 prompt tokens in 3 chunks (4+4+3) then 19 decodes. */
  assert_int_equal(st.iterations, 3 + 19);
  assert_int_equal(st.tokens_computed, 11 + 19);
  assert_int_equal(st.tokens_sampled, 20);
  assert_int_equal(st.preemptions, 0);
  free_jobs(rt, &j, 1);
  llmc_rt_close(rt);
}

static void make_mixed_jobs(job_t *jobs, int n) {
  for (int i = 0; i < n; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    prompt_of(&jobs[i], 1 + (i * 5) % 13, 1000 + (uint64_t)i);
    jobs[i].sampling = i % 2 ? sampled(8 + i, 77 + (uint64_t)i) : greedy(6 + 2 * i);
  }
}

/* Continuous batching: five sequences of prompt lengths 1..11, greedy and
 * sampled, at most three per step: each gets the tokens it gets alone. */
static void test_batching_same_as_alone(void **state) {
  (void)state;
  enum { N = 5 };
  job_t jobs[N], alone[N];
  make_mixed_jobs(jobs, N);
  run_alone(jobs, N, alone);
  llmc_rt_t *rt = open_rt(0);
  run_jobs(rt, jobs, N);
  assert_same_tokens(jobs, alone, N);
  for (int i = 0; i < N; i += 2) { /* greedy ones also match the reference */
    int32_t ref[FAKE_CTX];
    ref_greedy(jobs[i].prompt, jobs[i].n_prompt, jobs[i].n_out, ref);
    assert_memory_equal(jobs[i].out, ref, (size_t)jobs[i].n_out * sizeof ref[0]);
  }
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  int64_t total = 0;
  for (int i = 0; i < N; i++) total += alone[i].n_out;
  assert_int_equal(st.tokens_sampled, total);
  free_jobs(rt, jobs, N);
  llmc_rt_close(rt);
}

/* A pool of 6 blocks (24 tokens) for three sequences that each reach 5
 * blocks: the scheduler preempts and recomputes, and tokens do not change. */
static void test_preemption_same_tokens(void **state) {
  (void)state;
  enum { N = 3 };
  job_t jobs[N], alone[N];
  for (int i = 0; i < N; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    prompt_of(&jobs[i], 7, 500 + (uint64_t)i);
    jobs[i].sampling = i == 1 ? sampled(12, 3) : greedy(12);
  }
  run_alone(jobs, N, alone);
  llmc_rt_t *rt = open_rt(6);
  run_jobs(rt, jobs, N);
  assert_same_tokens(jobs, alone, N);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_true(st.preemptions > 0);
  free_jobs(rt, jobs, N);
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.kv_blocks_available, 6);
  llmc_rt_close(rt);
}

/* Prefix sharing: a second sequence whose prompt starts with the first's
 * full blocks reuses them (here while the first one still runs, so the
 * blocks are shared), and still gets its own tokens. */
static void test_prefix_sharing(void **state) {
  (void)state;
  job_t a = {.sampling = greedy(10)}, b = {.sampling = greedy(10)};
  prompt_of(&a, 10, 42);
  memcpy(b.prompt, a.prompt, sizeof a.prompt);
  b.n_prompt = 13;
  b.prompt[10] = 1, b.prompt[11] = 2, b.prompt[12] = 3;
  job_t alone_b;
  run_alone(&b, 1, &alone_b);

  job_t alone_a;
  run_alone(&a, 1, &alone_a);
  llmc_rt_t *rt = open_rt(0);
  job_t ab[2] = {a, b};
  add_jobs(rt, &ab[0], 1);
  for (int i = 0; i < 4; i++) step_jobs(rt, ab, 1); /* prompt (3 iterations), 3 decodes */
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.prefix_hit_tokens, 0);
  add_jobs(rt, &ab[1], 1);
  assert_int_equal(step_jobs(rt, ab, 2), 1); /* b's first chunk: a decodes */
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.prefix_hit_tokens, 8); /* two full blocks of a's prompt, shared */
  /* a: 14 tokens in 4 blocks; b: 11 in 3 blocks, 2 of them a's. */
  assert_int_equal(st.kv_blocks_available, st.kv_blocks_total - 5);
  drain_jobs(rt, ab, 2);
  assert_same_tokens(&ab[0], &alone_a, 1);
  assert_same_tokens(&ab[1], &alone_b, 1);

  /* The same prompt again after both ended: hits the cached blocks, but
   * computes at least its last token (a 12-token prompt hits 8, not 12). */
  job_t c = {.sampling = greedy(5)};
  memcpy(c.prompt, b.prompt, sizeof b.prompt);
  c.n_prompt = 12;
  job_t alone_c;
  run_alone(&c, 1, &alone_c);
  run_jobs(rt, &c, 1);
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.prefix_hit_tokens, 8 + 8);
  assert_same_tokens(&c, &alone_c, 1);
  free_jobs(rt, ab, 2);
  free_jobs(rt, &c, 1);
  llmc_rt_close(rt);
}

/* Everything at once: twelve sequences on three shared stems, greedy and
 * sampled, in an 8-block pool, so prefix hits, LRU eviction and preemption
 * interleave; each still gets exactly its tokens from running alone. */
static void test_stress_same_as_alone(void **state) {
  (void)state;
  enum { N = 12 };
  job_t jobs[N], alone[N];
  uint64_t rng = 2024;
  for (int i = 0; i < N; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    prompt_of(&jobs[i], 6 + (int)(llmc_rng_next(&rng) % 9), 300 + (uint64_t)(i % 3));
    for (int t = 9; t < jobs[i].n_prompt; t++)
      jobs[i].prompt[t] = (int32_t)(llmc_rng_next(&rng) % FAKE_V);
    int max_new = 4 + (int)(llmc_rng_next(&rng) % 14);
    jobs[i].sampling = i % 3 == 1 ? sampled(max_new, (uint64_t)i) : greedy(max_new);
  }
  run_alone(jobs, N, alone);
  llmc_rt_t *rt = open_rt(8);
  run_jobs(rt, jobs, N);
  assert_same_tokens(jobs, alone, N);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_true(st.preemptions > 0);
  assert_true(st.prefix_hit_tokens > 0);
  free_jobs(rt, jobs, N);
  llmc_rt_close(rt);
}

/* A sliding window on every layer (fake_model_v10, FAKE_WINDOW = 6 of
 * blocks of 4): each sequence keeps only the 3 blocks a window spans, so a
 * 51-token sequence runs in a 3-block cache and gets the windowed
 * reference's tokens; 2 blocks are refused. Its attention reads no table
 * entry behind the window, so a block given back too early (its entry then
 * names block 0) would change the logits. Then a mix of sequences on shared
 * stems in a small cache: drops, prefix hits (on dropped blocks too),
 * preemption, each with its tokens from running alone. */
static void test_sliding_window_frees_blocks(void **state) {
  (void)state;
  artifact_t w;
  make_artifact(&w, FAKE_DIR, 10, g_weights, FAKE_WEIGHT_FLOATS, 0);
  job_t j = {.sampling = greedy(40)};
  prompt_of(&j, 11, 5);
  int32_t ref[40], full[40];
  ref_greedy_window(j.prompt, j.n_prompt, 40, FAKE_WINDOW, ref);
  ref_greedy(j.prompt, j.n_prompt, 40, full);
  assert_true(memcmp(ref, full, sizeof ref) != 0); /* the window changes the tokens */

  llmc_rt_t *rt = open_rt_at(w.dir, 0);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  /* Default: per sequence slot, the blocks a window and a step of 4 span: 9 tokens, 3 blocks. */
  assert_int_equal(st.kv_blocks_total, FAKE_SEQS * 3);
  assert_int_equal(llmc_rt_plan_value(rt, LLMC_PLAN_KV_WINDOW), FAKE_WINDOW);
  assert_int_equal(llmc_rt_kv_blocks_for(rt, 50), 3);
  assert_int_equal(llmc_rt_kv_blocks_for(rt, 5), 2); /* shorter than the window: all of it */
  llmc_rt_close(rt);

  rt = open_rt_at(w.dir, 2);
  int id;
  llmc_status_t *s = llmc_rt_seq_add(rt, j.prompt, j.n_prompt, &j.sampling, &id);
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  assert_non_null(strstr(llmc_status_message(s), "needs 3 KV blocks of 4 tokens at once"));
  llmc_status_free(s);
  llmc_rt_close(rt);

  rt = open_rt_at(w.dir, 3);
  run_jobs(rt, &j, 1);
  assert_int_equal(j.n_out, 40);
  assert_memory_equal(j.out, ref, sizeof ref);
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.preemptions, 0);
  assert_true(st.kv_blocks_dropped >= 50 / 4 - 3);
  free_jobs(rt, &j, 1);
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.kv_blocks_available, 3);
  llmc_rt_close(rt);

  enum { N = 9 };
  job_t jobs[N], alone[N];
  uint64_t rng = 77;
  for (int i = 0; i < N; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    prompt_of(&jobs[i], 9 + (int)(llmc_rng_next(&rng) % 14), 900 + (uint64_t)(i % 3));
    for (int t = 12; t < jobs[i].n_prompt; t++) jobs[i].prompt[t] = (int32_t)(llmc_rng_next(&rng) % FAKE_V);
    int max_new = 6 + (int)(llmc_rng_next(&rng) % 24);
    jobs[i].sampling = i % 3 == 2 ? sampled(max_new, (uint64_t)i) : greedy(max_new);
  }
  run_alone_at(w.dir, jobs, N, alone);
  for (int i = 0; i < N; i++) {
    if (i % 3 == 2) continue;
    int32_t r[FAKE_CTX];
    ref_greedy_window(jobs[i].prompt, jobs[i].n_prompt, alone[i].n_out, FAKE_WINDOW, r);
    assert_memory_equal(alone[i].out, r, (size_t)alone[i].n_out * sizeof r[0]);
  }
  rt = open_rt_at(w.dir, 7);
  run_jobs(rt, jobs, N);
  assert_same_tokens(jobs, alone, N);
  llmc_rt_stats_get(rt, &st);
  assert_true(st.preemptions > 0);
  assert_true(st.prefix_hit_tokens > 0);
  assert_true(st.kv_blocks_dropped > 0);
  free_jobs(rt, jobs, N);
  llmc_rt_close(rt);
  remove_artifact(&w);
}

static void test_seq_add_errors(void **state) {
  (void)state;
  llmc_rt_t *rt = open_rt(5);
  int32_t p[FAKE_CTX] = {0};
  int id;
  llmc_sampling_t g = greedy(FAKE_CTX);
  llmc_status_t *s = llmc_rt_seq_add(rt, p, 1, &g, &id); /* 1 + 64 > 64 */
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  assert_non_null(strstr(llmc_status_message(s), "64"));
  llmc_status_free(s);
  assert_int_equal(id, -1);
  g = greedy(10);
  s = llmc_rt_seq_add(rt, p, 20, &g, &id); /* 29 tokens of KV: 8 blocks > 5 */
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  assert_non_null(strstr(llmc_status_message(s), "5 blocks"));
  llmc_status_free(s);
  g = greedy(0); /* 0: up to the context, which the 5-block cache cannot hold */
  expect_code(llmc_rt_seq_add(rt, p, 3, &g, &id), LLMC_OUT_OF_RANGE);
  g = greedy(-1);
  expect_code(llmc_rt_seq_add(rt, p, 3, &g, &id), LLMC_INVALID_ARGUMENT);
  g = greedy(3);
  expect_code(llmc_rt_seq_add(rt, p, 0, &g, &id), LLMC_INVALID_ARGUMENT);
  p[1] = FAKE_V;
  expect_code(llmc_rt_seq_add(rt, p, 3, &g, &id), LLMC_OUT_OF_RANGE);
  p[1] = 0;
  assert_null(llmc_rt_seq_add(rt, p, 17, &g, &id)); /* 19 tokens: exactly 5 blocks */
  llmc_rt_seq_free(rt, id);
  llmc_rt_close(rt);

  /* Blocks held by forward-driven sequences can starve the scheduler: an
   * error, not a hang. */
  rt = open_rt(5);
  int m;
  assert_null(llmc_rt_seq_create_empty(rt, &m));
  const int32_t t[] = {1}, pos[] = {19};
  const float *l;
  assert_null(llmc_rt_forward(rt, m, t, pos, 1, &l)); /* holds all 5 blocks */
  assert_null(llmc_rt_seq_add(rt, p, 4, &g, &id));
  llmc_rt_events_t ev;
  expect_code(llmc_rt_step(rt, &ev), LLMC_RESOURCE_EXHAUSTED);
  llmc_rt_seq_free(rt, m);
  assert_null(llmc_rt_step(rt, &ev)); /* now it runs */
  assert_int_equal(ev.n, 1);
  llmc_rt_close(rt);
}

/* eos ends a sequence early; freeing a running sequence returns its blocks. */
static void test_eos_and_free(void **state) {
  (void)state;
  job_t j = {.sampling = greedy(12)};
  prompt_of(&j, 6, 8);
  int32_t ref[12];
  ref_greedy(j.prompt, j.n_prompt, 12, ref);
  j.sampling.eos_token = ref[3];
  int stop = 0;
  while (ref[stop] != ref[3]) stop++; /* the first occurrence ends it */
  llmc_rt_t *rt = open_rt(0);
  run_jobs(rt, &j, 1);
  assert_int_equal(j.n_out, stop + 1);
  assert_memory_equal(j.out, ref, (size_t)(stop + 1) * sizeof ref[0]);

  job_t k = {.sampling = greedy(30)};
  prompt_of(&k, 9, 9);
  assert_null(llmc_rt_seq_add(rt, k.prompt, k.n_prompt, &k.sampling, &k.id));
  llmc_rt_events_t ev;
  for (int i = 0; i < 5; i++) assert_null(llmc_rt_step(rt, &ev));
  llmc_rt_seq_free(rt, k.id);
  llmc_rt_seq_free(rt, j.id);
  check_invariants(rt);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  assert_int_equal(st.kv_blocks_available, st.kv_blocks_total);
  assert_null(llmc_rt_step(rt, &ev));
  assert_int_equal(ev.n, 0);
  llmc_rt_seq_free(rt, k.id); /* twice: ignored */
  llmc_rt_close(rt);
}

/* Any of several stop ids ends a sequence (a model with a list of eos ids). */
static void test_stop_tokens(void **state) {
  (void)state;
  job_t j = {.sampling = greedy(12)};
  prompt_of(&j, 6, 8);
  int32_t ref[12];
  ref_greedy(j.prompt, j.n_prompt, 12, ref);
  j.sampling.stop_tokens[0] = ref[7];
  j.sampling.stop_tokens[1] = ref[4];
  j.sampling.n_stop_tokens = 2;
  int stop = 0;
  while (ref[stop] != ref[7] && ref[stop] != ref[4]) stop++;
  llmc_rt_t *rt = open_rt(0);
  run_jobs(rt, &j, 1);
  assert_int_equal(j.n_out, stop + 1);
  assert_memory_equal(j.out, ref, (size_t)(stop + 1) * sizeof ref[0]);
  job_t k = {.sampling = greedy(4)};
  prompt_of(&k, 3, 9);
  k.sampling.n_stop_tokens = LLMC_RT_MAX_STOP_TOKENS + 1;
  llmc_status_t *s = llmc_rt_seq_add(rt, k.prompt, k.n_prompt, &k.sampling, &k.id);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  llmc_rt_close(rt);
}

static void expect_open_error(const char *dir, const llmc_rt_options_t *o, llmc_code_t code,
                              const char *needle) {
  llmc_rt_t *rt = (llmc_rt_t *)1;
  llmc_status_t *s = llmc_rt_open(dir, o, &rt);
  assert_null(rt);
  if (llmc_status_code(s) != code)
    fail_msg("%s: expected code %d, got %d: %s", dir, code, llmc_status_code(s),
             s ? llmc_status_message(s) : "ok");
  char buf[1024];
  llmc_status_format(s, buf, sizeof buf);
  if (needle && !strstr(buf, needle)) fail_msg("'%s' not in '%s'", needle, buf);
  llmc_status_free(s);
}

static void test_corrupt_artifacts(void **state) {
  (void)state;
  const struct {
    int variant;
    llmc_code_t code;
    const char *needle;
  } cases[] = {
      {1, LLMC_DATA_LOSS, "not an llmc artifact"},
      {2, LLMC_DATA_LOSS, "kernel 7 of 5"},
      {3, LLMC_DATA_LOSS, "extent -2 + 1*T"},
      {4, LLMC_DATA_LOSS, "past its end"},
      {5, LLMC_UNIMPLEMENTED, "this runtime reads version"},
      {6, LLMC_DATA_LOSS, "no symbol llmc_model_v1"},
      {7, LLMC_DATA_LOSS, "logits"},
      {9, LLMC_DATA_LOSS, "argument 1: weights range [56 + 0*T, +52 + 0*T) at T = 1 lies outside the 104-element buffer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    artifact_t a;
    make_artifact(&a, FAKE_DIR, cases[i].variant, g_weights, FAKE_WEIGHT_FLOATS, 0);
    expect_open_error(a.dir, NULL, cases[i].code, cases[i].needle);
    remove_artifact(&a);
  }
  artifact_t a;
  make_artifact(&a, FAKE_DIR, -1, g_weights, FAKE_WEIGHT_FLOATS, 0); /* no model.so */
  expect_open_error(a.dir, NULL, LLMC_NOT_FOUND, "model.so");
  remove_artifact(&a);
  make_artifact(&a, FAKE_DIR, 0, g_weights, -1, 0); /* no weights */
  expect_open_error(a.dir, NULL, LLMC_NOT_FOUND, "weights.safetensors");
  remove_artifact(&a);
  make_artifact(&a, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS - 1, 0); /* truncated */
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "truncated");
  remove_artifact(&a);
  make_artifact(&a, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS, 4); /* data not 64-byte aligned */
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "aligned");
  remove_artifact(&a);
  make_artifact(&a, FAKE_DIR, 0, g_weights, -1, 0);
  char p[512];
  snprintf(p, sizeof p, "%s/weights.safetensors", a.dir);
  write_file(p, "\x05\0\0", 3); /* shorter than the length field */
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "truncated");
  write_file(p, "\xff\0\0\0\0\0\0\0{}", 10); /* header longer than the file */
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "safetensors");
  remove_artifact(&a);
  make_artifact(&a, FAKE_DIR, -1, g_weights, -1, 0); /* model.so that is not a shared object */
  snprintf(p, sizeof p, "%s/model.so", a.dir);
  write_file(p, "not elf", 7);
  write_weights(a.dir, g_weights, FAKE_WEIGHT_FLOATS, 0);
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "less than an ELF header");
  write_file(p, "not an elf file, but longer than an ELF header of 64 bytes is...", 64);
  expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "not an ELF file");
  remove_artifact(&a);
  /* A model.so cut short (an interrupted copy): refused before dlopen,
   * which would map the missing pages and die of SIGBUS. */
  for (int cut = 1; cut <= 3; cut++) {
    make_artifact(&a, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS, 0);
    snprintf(p, sizeof p, "%s/model.so", a.dir);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size * cut / 4), 0);
    expect_open_error(a.dir, NULL, LLMC_DATA_LOSS, "truncated");
    remove_artifact(&a);
  }
  expect_open_error("/nonexistent/llmc", NULL, LLMC_NOT_FOUND, "/nonexistent/llmc/model.so");
  /* Two artifacts open at once: the second must get its own model.so (the
   * runtime loads it through its descriptor's /proc path, and the dynamic
   * loader reuses a loaded library of the same name). */
  artifact_t good, bad;
  make_artifact(&good, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS, 0);
  make_artifact(&bad, FAKE_DIR, 9, g_weights, FAKE_WEIGHT_FLOATS, 0);
  llmc_rt_t *first = NULL;
  assert_null(llmc_rt_open(good.dir, NULL, &first));
  expect_open_error(bad.dir, NULL, LLMC_DATA_LOSS, "lies outside");
  llmc_rt_close(first);
  remove_artifact(&good);
  remove_artifact(&bad);

  /* GPU backends: test_gpu.c. */
  llmc_rt_options_t o = {.backend = "tpu"};
  expect_open_error(g_good.dir, &o, LLMC_INVALID_ARGUMENT, "unknown backend 'tpu'");
  o = (llmc_rt_options_t){.kv_blocks = -3};
  expect_open_error(g_good.dir, &o, LLMC_INVALID_ARGUMENT, "-3 blocks");
  o = (llmc_rt_options_t){.n_threads = -1};
  expect_open_error(g_good.dir, &o, LLMC_INVALID_ARGUMENT, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_plan_values),
      cmocka_unit_test(test_forward_matches_reference),
      cmocka_unit_test(test_forward_errors),
      cmocka_unit_test(test_greedy_matches_reference),
      cmocka_unit_test(test_batching_same_as_alone),
      cmocka_unit_test(test_preemption_same_tokens),
      cmocka_unit_test(test_prefix_sharing),
      cmocka_unit_test(test_stress_same_as_alone), cmocka_unit_test(test_sliding_window_frees_blocks),
      cmocka_unit_test(test_seq_add_errors),
      cmocka_unit_test(test_eos_and_free), cmocka_unit_test(test_stop_tokens),
      cmocka_unit_test(test_corrupt_artifacts),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
