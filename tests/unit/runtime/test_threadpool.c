/* Unit tests for the host thread pool: every index of a launch runs exactly
 * once, slices are contiguous and balanced, many tiny launches stay correct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rt_threadpool.h"

typedef struct {
  _Atomic int64_t sum;
  _Atomic int calls;
  int *hits; /* [extent] */
} sum_ctx_t;

static void sum_slice(void *ctx, int64_t b, int64_t e) {
  sum_ctx_t *c = ctx;
  int64_t s = 0;
  for (int64_t i = b; i < e; i++) {
    s += i;
    c->hits[i]++; /* each index belongs to one slice, so no race */
  }
  atomic_fetch_add(&c->sum, s);
  atomic_fetch_add(&c->calls, 1);
}

static void test_sum_over_slices(void **state) {
  (void)state;
  const int threads[] = {1, 2, 3, 5, 8};
  const int64_t extents[] = {1, 2, 3, 7, 100, 1001, 65536};
  for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
    llmc_threadpool_t *p;
    assert_null(llmc_threadpool_create(threads[ti], &p));
    assert_int_equal(llmc_threadpool_size(p), threads[ti]);
    for (size_t ei = 0; ei < sizeof extents / sizeof extents[0]; ei++) {
      int64_t n = extents[ei];
      sum_ctx_t c = {.hits = calloc((size_t)n, sizeof(int))};
      atomic_init(&c.sum, 0);
      atomic_init(&c.calls, 0);
      llmc_threadpool_parallel_for(p, n, sum_slice, &c);
      assert_int_equal(atomic_load(&c.sum), n * (n - 1) / 2);
      for (int64_t i = 0; i < n; i++) assert_int_equal(c.hits[i], 1);
      int expect_calls = n < threads[ti] ? (int)n : threads[ti];
      assert_int_equal(atomic_load(&c.calls), expect_calls);
      free(c.hits);
    }
    llmc_threadpool_destroy(p);
  }
}

static void test_slices_balanced(void **state) {
  (void)state;
  for (int n = 1; n <= 9; n++) {
    for (int64_t extent = 0; extent < 50; extent++) {
      int64_t prev_end = 0;
      for (int i = 0; i < n; i++) {
        int64_t b, e;
        llmc_threadpool_slice(extent, i, n, &b, &e);
        assert_int_equal(b, prev_end);
        assert_true(e - b == extent / n || e - b == extent / n + 1);
        prev_end = e;
      }
      assert_int_equal(prev_end, extent);
    }
  }
}

static void count_slice(void *ctx, int64_t b, int64_t e) {
  atomic_fetch_add((_Atomic int64_t *)ctx, e - b);
}

static void test_many_small_launches(void **state) {
  (void)state;
  for (int threads = 2; threads <= 4; threads += 2) {
    llmc_threadpool_t *p;
    assert_null(llmc_threadpool_create(threads, &p));
    _Atomic int64_t total;
    atomic_init(&total, 0);
    int64_t expect = 0;
    for (int i = 0; i < 5000; i++) {
      int64_t n = i % 7; /* includes empty and single-element launches */
      llmc_threadpool_parallel_for(p, n, count_slice, &total);
      expect += n;
      assert_int_equal(atomic_load(&total), expect); /* launch returned only when done */
    }
    llmc_threadpool_destroy(p);
  }
}

static void test_default_and_errors(void **state) {
  (void)state;
  llmc_threadpool_t *p;
  assert_null(llmc_threadpool_create(0, &p));
  assert_true(llmc_threadpool_size(p) >= 1);
  llmc_threadpool_destroy(p);
  llmc_status_t *s = llmc_threadpool_create(-1, &p);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  assert_null(p);
  llmc_status_free(s);
  llmc_threadpool_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sum_over_slices),
      cmocka_unit_test(test_slices_balanced),
      cmocka_unit_test(test_many_small_launches),
      cmocka_unit_test(test_default_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
