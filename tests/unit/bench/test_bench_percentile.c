/* Unit tests for llmc_cli_percentile (tools/bench_requests.c): nearest-rank
 * percentiles, the value at 1-based rank ceil(p/100 * n) of the sorted
 * values, as `llmc bench --requests` reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "llmc_cli.h"

static void test_small_sets(void **state) {
  (void)state;
  const double one[] = {7};
  assert_true(llmc_cli_percentile(one, 1, 50) == 7);
  assert_true(llmc_cli_percentile(one, 1, 99) == 7);
  /* ceil(0.5 * 4) = 2: the second value, not an interpolated 2.5. */
  const double four[] = {1, 2, 3, 4};
  assert_true(llmc_cli_percentile(four, 4, 50) == 2);
  assert_true(llmc_cli_percentile(four, 4, 90) == 4);
  assert_true(llmc_cli_percentile(four, 4, 99) == 4);
  assert_true(llmc_cli_percentile(four, 4, 100) == 4);
  assert_true(llmc_cli_percentile(four, 4, 25) == 1);
  assert_true(llmc_cli_percentile(four, 4, 26) == 2);
}

static void test_hundred(void **state) {
  (void)state;
  double v[100];
  for (int i = 0; i < 100; i++) v[i] = i + 1;
  assert_true(llmc_cli_percentile(v, 100, 50) == 50);
  assert_true(llmc_cli_percentile(v, 100, 90) == 90);
  assert_true(llmc_cli_percentile(v, 100, 99) == 99);
  /* Ordered for every n: p50 <= p90 <= p99, each one of the values. */
  for (int64_t n = 1; n <= 100; n++) {
    double a = llmc_cli_percentile(v, n, 50), b = llmc_cli_percentile(v, n, 90), c = llmc_cli_percentile(v, n, 99);
    assert_true(a <= b && b <= c && c <= (double)n && a >= 1);
  }
}

static void test_empty(void **state) {
  (void)state;
  assert_true(llmc_cli_percentile(NULL, 0, 50) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_sets),
      cmocka_unit_test(test_hundred),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
