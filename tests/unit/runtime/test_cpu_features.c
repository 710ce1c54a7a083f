/* Unit tests for the runtime's CPU feature check (runtime/cpu_features.c):
 * an artifact's host code must be refused with the missing features named,
 * not crash with SIGILL, on a CPU without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rt_backend.h"

static void test_empty_and_unknown(void **state) {
  (void)state;
  char missing[64];
  assert_true(llmc_rt_cpu_supports("", missing, sizeof missing));
  assert_true(llmc_rt_cpu_supports(NULL, missing, sizeof missing));
  /* Names the check does not know are not held against the CPU. */
  assert_true(llmc_rt_cpu_supports("64bit,cx16,not-a-feature", missing, sizeof missing));
  assert_string_equal(missing, "");
}

#if defined(__x86_64__)
static void test_matches_cpuid(void **state) {
  (void)state;
  __builtin_cpu_init();
  char missing[256];
  /* Every x86-64 CPU llmc runs on has SSE3; the answer for the others is
   * this machine's, and a missing one must be named. */
  assert_true(llmc_rt_cpu_supports("sse3", missing, sizeof missing));
  bool fp16 = __builtin_cpu_supports("avx512fp16"), bf16 = __builtin_cpu_supports("avx512bf16");
  assert_int_equal(llmc_rt_cpu_supports("sse3,avx512fp16,avx512bf16", missing, sizeof missing), fp16 && bf16);
  if (!fp16) assert_non_null(strstr(missing, "avx512fp16"));
  if (!bf16) assert_non_null(strstr(missing, "avx512bf16"));
  if (!fp16 && !bf16) assert_string_equal(missing, "avx512fp16, avx512bf16");
  /* A tiny buffer truncates the list but not the answer. */
  char tiny[4];
  assert_int_equal(llmc_rt_cpu_supports("avx512fp16,avx512bf16", tiny, sizeof tiny), fp16 && bf16);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_and_unknown),
#if defined(__x86_64__)
      cmocka_unit_test(test_matches_cpuid),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
