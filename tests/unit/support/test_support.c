/* Unit tests for support/: status chains, checked math, arena, halves, atomic writes,
 * quoting, path confinement and the string map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmc_support.h"

static void test_status_chain(void **state) {
  (void)state;
  llmc_status_t *s = LLMC_ERROR(LLMC_DATA_LOSS, "a.json:3", "bad %s", "thing");
  s = llmc_status_wrap(s, "model.json", "while reading weights");
  char buf[256];
  llmc_status_format(s, buf, sizeof buf);
  assert_string_equal(buf, "model.json: error: while reading weights: a.json:3: bad thing");
  assert_int_equal(llmc_status_exit_code(s), EX_DATAERR);
  assert_string_equal(llmc_status_message(s), "bad thing");
  llmc_status_free(s);
  assert_int_equal(llmc_status_exit_code(NULL), 0);
}

static void test_checked(void **state) {
  (void)state;
  uint64_t r;
  assert_true(llmc_checked_mul(1u << 20, 1u << 20, &r));
  assert_int_equal(r, 1ull << 40);
  assert_false(llmc_checked_mul(UINT64_MAX / 2, 3, &r));
  assert_false(llmc_checked_add(UINT64_MAX, 1, &r));
}

static void test_arena(void **state) {
  (void)state;
  llmc_arena_t *a = llmc_arena_create();
  for (int i = 0; i < 10000; i++) {
    char *p = llmc_arena_alloc(a, (size_t)(i % 97) + 1);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal(p[0], 0);
    p[0] = 1;
  }
  char *big = llmc_arena_alloc(a, 1 << 22);
  assert_non_null(big);
  assert_string_equal(llmc_arena_printf(a, "%d-%s", 7, "x"), "7-x");
  assert_string_equal(llmc_path_join(a, "dir/", "f"), "dir/f");
  assert_string_equal(llmc_path_join(a, "dir", "f"), "dir/f");
  llmc_arena_destroy(a);
}

static void test_half(void **state) {
  (void)state;
  const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    assert_true(llmc_f16_to_f32(llmc_f32_to_f16(vals[i])) == vals[i]);
  }
  assert_int_equal(llmc_f32_to_f16(1.0f), 0x3c00);
  assert_int_equal(llmc_f32_to_bf16(1.0f), 0x3f80);
  assert_true(llmc_bf16_to_f32(0x4049) == 3.140625f);
  assert_int_equal(llmc_f32_to_f16(1e6f), 0x7c00);
}

static void test_atomic_write(void **state) {
  (void)state;
  char path[] = "/tmp/llmc_test_atomicXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_null(llmc_file_write_atomic(path, "hello", 5));
  char *text = NULL;
  size_t len = 0;
  assert_null(llmc_file_read_text(path, 100, &text, &len));
  assert_int_equal(len, 5);
  assert_string_equal(text, "hello");
  free(text);
  llmc_status_t *s = llmc_file_read_text(path, 2, &text, &len);
  assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
  llmc_status_free(s);
  unlink(path);
  s = llmc_file_write_atomic("/nonexistent-dir/x", "a", 1);
  assert_int_equal(llmc_status_code(s), LLMC_CANT_CREATE);
  llmc_status_free(s);
  llmc_file_map_t m;
  s = llmc_file_map_open("/nonexistent-file", &m);
  assert_int_equal(llmc_status_code(s), LLMC_NOT_FOUND);
  llmc_status_free(s);
}

static void expect_quoted(const char *in, const char *want) {
  llmc_buf_t b = {0};
  llmc_buf_put_quoted(&b, in);
  llmc_buf_append(&b, "", 1);
  assert_string_equal(b.data, want);
  llmc_buf_free(&b);
}

static void test_quoting(void **state) {
  (void)state;
  expect_quoted("plain name-1.0", "\"plain name-1.0\"");
  expect_quoted("a\nb\"c\\d", "\"a\\x0ab\\\"c\\\\d\"");
  expect_quoted("x */ y /* z", "\"x *\\x2f y /\\x2a z\"");
  expect_quoted("\x1b[2J\r\x7f", "\"\\x1b[2J\\x0d\\x7f\"");
  expect_quoted("caf\xc3\xa9 \xe6\x97\xa5", "\"caf\xc3\xa9 \xe6\x97\xa5\""); /* printable UTF-8 stays */
  expect_quoted("\xc2\x85 \xff \xc0\xaf", "\"\\xc2\\x85 \\xff \\xc0\\xaf\""); /* C1, invalid, overlong */
  char *p = llmc_printable_dup("one\ntwo\x1b \"q\"");
  assert_string_equal(p, "one\\x0atwo\\x1b \"q\"");
  free(p);
  /* A status is one printable line whatever its text holds. */
  llmc_status_t *s = LLMC_ERROR(LLMC_DATA_LOSS, "file\n", "bad '%s'", "x\ny");
  char buf[128];
  llmc_status_format(s, buf, sizeof buf);
  assert_string_equal(buf, "file\\x0a: error: bad 'x\\x0ay'");
  llmc_status_free(s);
}

static void test_path_confine(void **state) {
  (void)state;
  char dir[] = "/tmp/llmc_test_confineXXXXXX";
  assert_non_null(mkdtemp(dir));
  llmc_arena_t *a = llmc_arena_create();
  char path[256];
  snprintf(path, sizeof path, "%s/ok", dir);
  assert_null(llmc_file_write_atomic(path, "x", 1));
  snprintf(path, sizeof path, "%s/out", dir);
  assert_int_equal(symlink("/etc/hostname", path), 0);
  snprintf(path, sizeof path, "%s/in", dir);
  assert_int_equal(symlink("ok", path), 0);
  const char *got;
  assert_null(llmc_path_confine(a, dir, "ok", &got));
  assert_null(llmc_path_confine(a, dir, "in", &got)); /* a symlink that stays inside */
  static const char *const bad[] = {"out", "../ok", "/etc/hostname", "a/../../ok", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    llmc_status_t *s = llmc_path_confine(a, dir, bad[i], &got);
    assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
    assert_non_null(strstr(llmc_status_message(s), "leaves the model directory"));
    llmc_status_free(s);
  }
  llmc_status_t *s = llmc_path_confine(a, dir, "missing", &got);
  assert_int_equal(llmc_status_code(s), LLMC_NOT_FOUND);
  llmc_status_free(s);
  llmc_arena_destroy(a);
  for (const char *f = "ok\0out\0in\0"; *f; f += strlen(f) + 1) {
    snprintf(path, sizeof path, "%s/%s", dir, f);
    unlink(path);
  }
  rmdir(dir);
}

static void test_strmap(void **state) {
  (void)state;
  llmc_arena_t *a = llmc_arena_create();
  llmc_strmap_t *m = llmc_strmap_create(a);
  char *keys[1000];
  for (int i = 0; i < 1000; i++) {
    keys[i] = llmc_arena_printf(a, "k%d", i);
    assert_true(llmc_strmap_put(m, keys[i], &keys[i]));
  }
  for (int i = 0; i < 1000; i++) assert_ptr_equal(llmc_strmap_get(m, keys[i]), &keys[i]);
  assert_null(llmc_strmap_get(m, "k1000"));
  assert_true(llmc_strmap_put(m, "k5", &keys[7])); /* replaces */
  assert_ptr_equal(llmc_strmap_get(m, "k5"), &keys[7]);
  llmc_arena_destroy(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_chain), cmocka_unit_test(test_checked),
      cmocka_unit_test(test_arena),        cmocka_unit_test(test_half),
      cmocka_unit_test(test_atomic_write), cmocka_unit_test(test_quoting),
      cmocka_unit_test(test_path_confine), cmocka_unit_test(test_strmap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
