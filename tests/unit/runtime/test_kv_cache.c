/* Unit tests for the paged KV cache bookkeeping: growth, refcounts, prefix
 * hits, copy-on-write, LRU eviction of cached blocks, exhaustion, and the
 * invariants after a long random run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rt_kv_cache.h"

#define BS 4

/* Block contents stand-in: one float per block, copied by the COW callback. */
typedef struct {
  float data[64];
  int copies;
  int32_t last_dst, last_src;
} fake_kv_t;

static void copy_block(void *ctx, int32_t dst, int32_t src) {
  fake_kv_t *k = ctx;
  k->data[dst] = k->data[src];
  k->copies++;
  k->last_dst = dst;
  k->last_src = src;
}

static void check(const llmc_kv_pool_t *p, const llmc_kv_table_t *const *t, int n) {
  llmc_status_t *s = llmc_kv_check_invariants(p, t, n);
  if (s) fail_msg("%s", llmc_status_message(s));
}

static void test_alloc_grow_free(void **state) {
  (void)state;
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(8, BS, 4, NULL, NULL, &p));
  llmc_kv_table_t a;
  assert_null(llmc_kv_table_init(p, &a));
  const llmc_kv_table_t *ts[] = {&a};
  assert_null(llmc_kv_table_reserve(p, &a, 1));
  assert_int_equal(a.n_blocks, 1);
  assert_null(llmc_kv_table_reserve(p, &a, 4));
  assert_int_equal(a.n_blocks, 1);
  assert_null(llmc_kv_table_reserve(p, &a, 5));
  assert_int_equal(a.n_blocks, 2);
  assert_int_equal(llmc_kv_table_blocks_needed(p, &a, 16), 2);
  assert_null(llmc_kv_table_reserve(p, &a, 16));
  assert_int_equal(a.n_blocks, 4);
  assert_int_equal(llmc_kv_pool_n_available(p), 4);
  for (int i = 0; i < 4; i++) assert_int_equal(llmc_kv_pool_refcount(p, a.blocks[i]), 1);
  check(p, ts, 1);
  llmc_status_t *s = llmc_kv_table_reserve(p, &a, 17); /* past max_blocks */
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  llmc_status_free(s);
  assert_int_equal(a.n_blocks, 4);
  llmc_kv_table_release(p, &a);
  assert_int_equal(a.n_blocks, 0);
  assert_int_equal(llmc_kv_pool_n_available(p), 8);
  check(p, ts, 1);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_pool_destroy(p);
}

static void test_exhaustion(void **state) {
  (void)state;
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(3, BS, 8, NULL, NULL, &p));
  llmc_kv_table_t a, b;
  assert_null(llmc_kv_table_init(p, &a));
  assert_null(llmc_kv_table_init(p, &b));
  const llmc_kv_table_t *ts[] = {&a, &b};
  assert_null(llmc_kv_table_reserve(p, &a, 8));
  llmc_status_t *s = llmc_kv_table_reserve(p, &b, 8); /* needs 2, 1 left: all or nothing */
  assert_int_equal(llmc_status_code(s), LLMC_RESOURCE_EXHAUSTED);
  llmc_status_free(s);
  assert_int_equal(b.n_blocks, 0);
  assert_int_equal(llmc_kv_pool_n_available(p), 1);
  check(p, ts, 2);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &b);
  assert_int_equal(llmc_kv_pool_n_available(p), 3);
  llmc_kv_pool_destroy(p);
  s = llmc_kv_pool_create(0, BS, 8, NULL, NULL, &p);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
}

static void test_prefix_sharing(void **state) {
  (void)state;
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(16, BS, 8, NULL, NULL, &p));
  const int32_t toks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  llmc_kv_table_t a, b, c;
  assert_null(llmc_kv_table_init(p, &a));
  assert_null(llmc_kv_table_init(p, &b));
  assert_null(llmc_kv_table_init(p, &c));
  const llmc_kv_table_t *ts[] = {&a, &b, &c};
  assert_int_equal(llmc_kv_table_match_prefix(p, &a, toks, 9), 0); /* empty cache */
  assert_null(llmc_kv_table_reserve(p, &a, 10));
  llmc_kv_table_commit(p, &a, toks, 10); /* blocks 0 and 1 are full */
  assert_int_equal(a.n_hashed, 2);
  check(p, ts, 3);

  /* Same first 9 tokens: both full blocks hit. */
  assert_int_equal(llmc_kv_table_match_prefix(p, &b, toks, 9), 8);
  assert_int_equal(b.blocks[0], a.blocks[0]);
  assert_int_equal(b.blocks[1], a.blocks[1]);
  assert_int_equal(llmc_kv_pool_refcount(p, a.blocks[0]), 2);
  assert_int_equal(llmc_kv_pool_refcount(p, a.blocks[1]), 2);
  assert_int_equal(llmc_kv_pool_refcount(p, a.blocks[2]), 1);
  check(p, ts, 3);

  /* Differs in the second block: only the first hits. A different first
   * block with an equal second block must not hit (hashes are chained). */
  const int32_t other[] = {1, 2, 3, 4, 5, 0, 7, 8, 9};
  assert_int_equal(llmc_kv_table_match_prefix(p, &c, other, 9), 4);
  llmc_kv_table_release(p, &c);
  const int32_t shifted[] = {0, 2, 3, 4, 5, 6, 7, 8, 9};
  assert_int_equal(llmc_kv_table_match_prefix(p, &c, shifted, 9), 0);
  /* Exactly 8 tokens of prompt minus one: n = 7 covers only one full block. */
  assert_int_equal(llmc_kv_table_match_prefix(p, &c, toks, 7), 4);
  check(p, ts, 3);

  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &b);
  llmc_kv_table_destroy(p, &c);
  check(p, NULL, 0);
  assert_int_equal(llmc_kv_pool_n_available(p), 16);
  assert_int_equal(llmc_kv_pool_n_cached(p), 2); /* the two full blocks stay cached */
  llmc_kv_pool_destroy(p);
}

static void test_copy_on_write(void **state) {
  (void)state;
  fake_kv_t kv = {0};
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(8, BS, 8, copy_block, &kv, &p));
  const int32_t toks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  llmc_kv_table_t a, b;
  assert_null(llmc_kv_table_init(p, &a));
  assert_null(llmc_kv_table_init(p, &b));
  const llmc_kv_table_t *ts[] = {&a, &b};
  assert_null(llmc_kv_table_reserve(p, &a, 9));
  llmc_kv_table_commit(p, &a, toks, 9);
  kv.data[a.blocks[0]] = 10.0f;
  kv.data[a.blocks[1]] = 11.0f;
  assert_int_equal(llmc_kv_table_match_prefix(p, &b, toks, 8), 8);
  const int32_t shared1 = a.blocks[1];

  /* b writes position 5 (block 1): it gets its own copy, a keeps the original. */
  assert_null(llmc_kv_table_prepare_write(p, &b, 5, 6));
  assert_int_equal(kv.copies, 1);
  assert_int_equal(kv.last_src, shared1);
  assert_int_not_equal(b.blocks[1], shared1);
  assert_int_equal(a.blocks[1], shared1);
  assert_true(kv.data[b.blocks[1]] == 11.0f);
  assert_int_equal(llmc_kv_pool_refcount(p, shared1), 1);
  assert_int_equal(llmc_kv_pool_refcount(p, b.blocks[1]), 1);
  assert_int_equal(llmc_kv_pool_refcount(p, a.blocks[0]), 2);
  assert_int_equal(b.n_hashed, 1);
  check(p, ts, 2);

  /* A private block in the prefix map leaves it when rewritten. */
  assert_null(llmc_kv_table_prepare_write(p, &a, 4, 5));
  assert_int_equal(kv.copies, 1);
  llmc_kv_table_t c;
  assert_null(llmc_kv_table_init(p, &c));
  assert_int_equal(llmc_kv_table_match_prefix(p, &c, toks, 8), 4);
  llmc_kv_table_destroy(p, &c);
  check(p, ts, 2);

  /* Writing past the reserved blocks is an internal error. */
  llmc_status_t *s = llmc_kv_table_prepare_write(p, &b, 8, 9);
  assert_int_equal(llmc_status_code(s), LLMC_INTERNAL);
  llmc_status_free(s);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &b);
  check(p, NULL, 0);
  llmc_kv_pool_destroy(p);
}

static void test_lru_eviction(void **state) {
  (void)state;
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(4, BS, 8, NULL, NULL, &p));
  const int32_t toks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  llmc_kv_table_t a, c;
  assert_null(llmc_kv_table_init(p, &a));
  assert_null(llmc_kv_table_init(p, &c));
  const llmc_kv_table_t *ts[] = {&a, &c};
  assert_null(llmc_kv_table_reserve(p, &a, 9));
  llmc_kv_table_commit(p, &a, toks, 9);
  llmc_kv_table_release(p, &a);
  assert_int_equal(llmc_kv_pool_n_cached(p), 2);
  assert_int_equal(llmc_kv_pool_n_available(p), 4);
  check(p, ts, 2);

  /* Two blocks: both from the free list; the cache survives. */
  assert_null(llmc_kv_table_reserve(p, &c, 8));
  assert_int_equal(llmc_kv_pool_n_cached(p), 2);
  /* A third: the free list is empty, so the least recently used cached
   * block goes: the prefix's tail (released first), keeping its head. */
  assert_null(llmc_kv_table_reserve(p, &c, 12));
  assert_int_equal(llmc_kv_pool_n_cached(p), 1);
  check(p, ts, 2);
  assert_int_equal(llmc_kv_table_match_prefix(p, &a, toks, 8), 4); /* head still hits */
  assert_int_equal(llmc_kv_pool_n_cached(p), 0);                   /* and is revived */
  check(p, ts, 2);
  llmc_kv_table_release(p, &a);
  assert_null(llmc_kv_table_reserve(p, &c, 16)); /* evicts the last cached block */
  assert_int_equal(llmc_kv_table_match_prefix(p, &a, toks, 8), 0);
  check(p, ts, 2);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &c);
  llmc_kv_pool_destroy(p);
}

/* Random grow / share / write / free with a fixed seed; invariants after
 * every operation. Prompts come from three stems so prefixes really share. */
static void test_random_invariants(void **state) {
  (void)state;
  enum { N_TABLES = 6, MAXB = 8, CAP = MAXB * BS, POOL = 20 };
  fake_kv_t kv = {0};
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(POOL, BS, MAXB, copy_block, &kv, &p));
  llmc_kv_table_t t[N_TABLES];
  const llmc_kv_table_t *ts[N_TABLES];
  int32_t toks[N_TABLES][CAP];
  int64_t len[N_TABLES] = {0};
  for (int i = 0; i < N_TABLES; i++) {
    assert_null(llmc_kv_table_init(p, &t[i]));
    ts[i] = &t[i];
  }
  uint64_t rng = 42;
  int hits = 0, cows = 0, exhausted = 0, drops = 0;
  for (int step = 0; step < 5000; step++) {
    int i = (int)(llmc_rng_next(&rng) % N_TABLES);
    int op = (int)(llmc_rng_next(&rng) % 10);
    if (len[i] == 0 || op == 0) { /* (re)start from a stem, with a prefix lookup */
      llmc_kv_table_release(p, &t[i]);
      int stem = (int)(llmc_rng_next(&rng) % 3);
      int64_t n = 1 + (int64_t)(llmc_rng_next(&rng) % 14);
      for (int64_t j = 0; j < n; j++)
        toks[i][j] = j < 9 ? stem * 100 + (int32_t)j : (int32_t)(llmc_rng_next(&rng) % 5);
      int64_t hit = llmc_kv_table_match_prefix(p, &t[i], toks[i], n - 1);
      hits += hit > 0;
      llmc_status_t *s = llmc_kv_table_reserve(p, &t[i], n);
      if (s) {
        exhausted++;
        llmc_status_free(s);
        llmc_kv_table_release(p, &t[i]);
        len[i] = 0;
      } else {
        s = llmc_kv_table_prepare_write(p, &t[i], hit, n);
        assert_null(s);
        llmc_kv_table_commit(p, &t[i], toks[i], n);
        len[i] = n;
      }
    } else if (op < 6 && len[i] < CAP) { /* grow by a few tokens */
      int64_t add = 1 + (int64_t)(llmc_rng_next(&rng) % 5);
      if (len[i] + add > CAP) add = CAP - len[i];
      for (int64_t j = 0; j < add; j++) toks[i][len[i] + j] = (int32_t)(llmc_rng_next(&rng) % 5);
      llmc_status_t *s = llmc_kv_table_reserve(p, &t[i], len[i] + add);
      if (s) {
        exhausted++;
        llmc_status_free(s);
      } else if (!(s = llmc_kv_table_prepare_write(p, &t[i], len[i], len[i] + add))) {
        len[i] += add;
        llmc_kv_table_commit(p, &t[i], toks[i], len[i]);
        if (i % 2) drops += llmc_kv_table_drop_before(p, &t[i], len[i] - 5); /* a window of 6 */
      } else {
        exhausted++;
        llmc_status_free(s);
      }
    } else if (op < 8) { /* rewrite an earlier position (not a dropped one): COW when shared */
      int64_t first = (int64_t)t[i].n_dropped * BS;
      if (first >= len[i]) continue;
      int64_t pos = first + (int64_t)(llmc_rng_next(&rng) % (uint64_t)(len[i] - first));
      int before = kv.copies;
      llmc_status_t *s = llmc_kv_table_prepare_write(p, &t[i], pos, pos + 1);
      if (s) {
        exhausted++;
        llmc_status_free(s);
      }
      cows += kv.copies > before;
      len[i] = pos + 1; /* the sequence continues from the rewritten token */
      llmc_kv_table_commit(p, &t[i], toks[i], len[i]);
    } else { /* finish */
      llmc_kv_table_release(p, &t[i]);
      len[i] = 0;
    }
    llmc_status_t *s = llmc_kv_check_invariants(p, ts, N_TABLES);
    if (s) fail_msg("step %d: %s", step, llmc_status_message(s));
  }
  assert_true(hits > 50);
  assert_true(cows > 10);
  assert_true(exhausted > 0);
  assert_true(drops > 10);
  for (int i = 0; i < N_TABLES; i++) llmc_kv_table_destroy(p, &t[i]);
  check(p, NULL, 0);
  assert_int_equal(llmc_kv_pool_n_available(p), POOL);
  llmc_kv_pool_destroy(p);
}

/* A sliding window of W tokens: a sequence decoding one token a step keeps
 * only the blocks W positions span (3 of 4 tokens for W = 6), however long
 * it grows; what it drops stays hashed (another prompt still hits it). */
static void test_window_drop(void **state) {
  (void)state;
  enum { W = 6, POOL = 3, MAXB = 16, N = MAXB * BS };
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(POOL, BS, MAXB, NULL, NULL, &p));
  llmc_kv_table_t a;
  assert_null(llmc_kv_table_init(p, &a));
  const llmc_kv_table_t *ts[] = {&a};
  int32_t toks[N];
  int dropped = 0;
  for (int64_t c = 0; c < N; c++) { /* compute position c */
    toks[c] = (int32_t)(c * 7 % 11);
    assert_null(llmc_kv_table_reserve(p, &a, c + 1));
    assert_null(llmc_kv_table_prepare_write(p, &a, c, c + 1));
    llmc_kv_table_commit(p, &a, toks, c + 1);
    dropped += llmc_kv_table_drop_before(p, &a, c + 1 - W + 1);
    check(p, ts, 1);
    /* Held: the blocks of [c + 2 - W, c + 1), the next step's window less its new token. */
    int64_t lo = c + 2 - W > 0 ? c + 2 - W : 0;
    assert_int_equal(a.n_dropped, lo / BS);
    assert_int_equal(a.n_blocks - a.n_dropped, c / BS - lo / BS + 1);
    for (int32_t i = 0; i < a.n_dropped; i++) assert_int_equal(a.blocks[i], -1);
  }
  assert_int_equal(a.n_blocks, MAXB);
  assert_int_equal(dropped, a.n_dropped);
  /* A dropped position cannot be written again. */
  llmc_status_t *s = llmc_kv_table_prepare_write(p, &a, 0, 1);
  assert_int_equal(llmc_status_code(s), LLMC_INTERNAL);
  llmc_status_free(s);
  /* Nothing before the dropped blocks' chain is dropped twice; a position
   * before them drops nothing. */
  assert_int_equal(llmc_kv_table_drop_before(p, &a, 3), 0);
  llmc_kv_table_release(p, &a);
  assert_int_equal(a.n_dropped, 0);
  check(p, ts, 1);
  assert_int_equal(llmc_kv_pool_n_available(p), POOL);
  /* Block 0's contents were evicted long ago (the pool holds 3 blocks) and
   * a prefix hit starts at block 0: the same tokens miss. */
  assert_int_equal(llmc_kv_table_match_prefix(p, &a, toks, N - 1), 0);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_pool_destroy(p);

  /* With room to keep them, dropped blocks are hit by the next prompt. */
  assert_null(llmc_kv_pool_create(MAXB, BS, MAXB, NULL, NULL, &p));
  assert_null(llmc_kv_table_init(p, &a));
  llmc_kv_table_t b;
  assert_null(llmc_kv_table_init(p, &b));
  const llmc_kv_table_t *tab[] = {&a, &b};
  assert_null(llmc_kv_table_reserve(p, &a, 5 * BS));
  assert_null(llmc_kv_table_prepare_write(p, &a, 0, 5 * BS));
  llmc_kv_table_commit(p, &a, toks, 5 * BS);
  assert_int_equal(llmc_kv_table_drop_before(p, &a, 5 * BS - W + 1), 3);
  assert_int_equal(llmc_kv_pool_n_cached(p), 3);
  check(p, tab, 2);
  assert_int_equal(llmc_kv_table_match_prefix(p, &b, toks, 5 * BS), 5 * BS); /* revives 0..2, shares 3..4 */
  assert_int_equal(llmc_kv_pool_n_cached(p), 0);
  assert_int_equal(llmc_kv_pool_refcount(p, b.blocks[4]), 2);
  check(p, tab, 2);
  /* An unhashed block is never dropped: commit names blocks first. */
  llmc_kv_table_release(p, &a);
  assert_null(llmc_kv_table_reserve(p, &a, 3 * BS));
  assert_int_equal(llmc_kv_table_drop_before(p, &a, 3 * BS), 0);
  check(p, tab, 2);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &b);
  assert_int_equal(llmc_kv_pool_n_available(p), MAXB);
  llmc_kv_pool_destroy(p);
}

/* The checker itself must catch a corrupted table. */
static void test_invariant_checker_catches(void **state) {
  (void)state;
  llmc_kv_pool_t *p;
  assert_null(llmc_kv_pool_create(4, BS, 4, NULL, NULL, &p));
  llmc_kv_table_t a, b;
  assert_null(llmc_kv_table_init(p, &a));
  assert_null(llmc_kv_table_init(p, &b));
  assert_null(llmc_kv_table_reserve(p, &a, 4));
  b.blocks[0] = a.blocks[0]; /* b claims a's block without a reference */
  b.n_blocks = 1;
  const llmc_kv_table_t *ts[] = {&a, &b};
  llmc_status_t *s = llmc_kv_check_invariants(p, ts, 2);
  assert_int_equal(llmc_status_code(s), LLMC_INTERNAL);
  llmc_status_free(s);
  b.n_blocks = 0;
  s = llmc_kv_check_invariants(p, ts, 1 - 1); /* a's block unaccounted: refcount 1, 0 refs */
  assert_int_equal(llmc_status_code(s), LLMC_INTERNAL);
  llmc_status_free(s);
  llmc_kv_table_destroy(p, &a);
  llmc_kv_table_destroy(p, &b);
  llmc_kv_pool_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_grow_free),   cmocka_unit_test(test_exhaustion),
      cmocka_unit_test(test_prefix_sharing),    cmocka_unit_test(test_copy_on_write),
      cmocka_unit_test(test_lru_eviction),      cmocka_unit_test(test_random_invariants),
      cmocka_unit_test(test_invariant_checker_catches), cmocka_unit_test(test_window_drop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
