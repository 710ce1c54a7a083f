/* Unit tests for support/: status chains, checked math, arena, halves, atomic writes,
 * quoting, path confinement, the string map and the K-quant layouts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmc_kquant.h"
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

/* The int8 KV row: d = max|x| / 127, q rounded to nearest even (ties to
 * even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2), the extremes at +-127; a zero row
 * has d = 0 and q = 0; a NaN makes d NaN (the row reads back as NaNs); the
 * in-place rounding is q * d. */
static void test_i8_row(void **state) {
  (void)state;
  const float x[8] = {127.0f, -127.0f, 0.5f, 1.5f, 2.5f, -2.5f, 3.49f, -0.0f};
  int8_t q[8];
  float d;
  llmc_i8_row_quantize(x, 8, q, &d);
  assert_true(d == 1.0f);
  const int8_t want[8] = {127, -127, 0, 2, 2, -2, 3, 0};
  assert_memory_equal(q, want, 8);
  float r[8];
  memcpy(r, x, sizeof r);
  llmc_i8_row_round(r, 8);
  for (int i = 0; i < 8; i++) assert_true(r[i] == (float)want[i]);
  const float y[4] = {0.02f, -0.01f, 0.0f, 0.005f}; /* d = 0.02 / 127: x * (1 / d), not x / d */
  llmc_i8_row_quantize(y, 4, q, &d);
  assert_true(d == 0.02f / 127.0f);
  assert_int_equal(q[0], 127);
  assert_int_equal(q[1], (int)nearbyintf(-0.01f * (1.0f / d)));
  const float z[4] = {0};
  llmc_i8_row_quantize(z, 4, q, &d);
  assert_true(d == 0.0f && q[0] == 0 && q[3] == 0);
  const float n[4] = {1.0f, NAN, -3.0f, 2.0f};
  llmc_i8_row_quantize(n, 4, q, &d);
  assert_true(isnan(d));
  float nr[4] = {1.0f, NAN, -3.0f, 2.0f};
  llmc_i8_row_round(nr, 4);
  for (int i = 0; i < 4; i++) assert_true(isnan(nr[i]));
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

/* ggml's Q4_K block built by packing (the inverse of the unpacking under
 * test) from chosen d, dmin, 6-bit scales and mins and nibbles; converted,
 * every value is (d * sc) * q - dmin * m. Q5_K with a fifth bit, Q6_K from
 * 6-bit q and int8 scales likewise. (tests/e2e gguf-llama-cpp checks both against ggml itself.) */
static void test_kquant_from_ggml(void **state) {
  (void)state;
  uint8_t blk[210] = {0}, values[192], header[LLMC_KQUANT_HEADER_BYTES];
  float y[256];
  int sc[8], m[8], q[256];
  uint16_t d = llmc_f32_to_f16(0.03125f), dmin = llmc_f32_to_f16(0.0078125f);
  memcpy(blk, &d, 2), memcpy(blk + 2, &dmin, 2);
  for (int j = 0; j < 8; j++) sc[j] = (j * 23 + 5) % 64, m[j] = (j * 37 + 11) % 64;
  for (int j = 0; j < 4; j++) {
    blk[4 + j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
    blk[8 + j] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
    blk[12 + j] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  for (int i = 0; i < 256; i++) {
    q[i] = (i * 7 + 3) % 16;
    int chunk = i / 64, l = i % 64; /* 64 values a 32 bytes: the first 32 low nibbles */
    blk[16 + 32 * chunk + l % 32] |= (uint8_t)(q[i] << (l < 32 ? 0 : 4));
  }
  llmc_kquant_from_ggml(4, blk, 256, values, header);
  llmc_kquant_dequant_row(4, values, header, 256, y);
  for (int i = 0; i < 256; i++)
    assert_true(y[i] == 0.03125f * (float)sc[i / 32] * (float)q[i] - 0.0078125f * (float)m[i / 32]);
  /* Q5_K: the same header, then qh[32] (group g's fifth bits in bit g), then qs. */
  uint8_t b5[176] = {0};
  memcpy(b5, blk, 16);
  for (int i = 0; i < 256; i++) {
    int g = i / 32, l = i % 32, u = (i * 11 + 5) % 32;
    b5[48 + 32 * (g / 2) + l] |= (uint8_t)((u & 15) << (g % 2 ? 4 : 0));
    b5[16 + l] |= (uint8_t)((u >> 4) << g);
    q[i] = u;
  }
  llmc_kquant_from_ggml(5, b5, 256, values, header);
  llmc_kquant_dequant_row(5, values, header, 256, y);
  for (int i = 0; i < 256; i++)
    assert_true(y[i] == 0.03125f * (float)sc[i / 32] * (float)q[i] - 0.0078125f * (float)m[i / 32]);
  memset(blk, 0, sizeof blk);
  int8_t scales[16];
  for (int g = 0; g < 16; g++) scales[g] = (int8_t)(g * 29 % 255 - 127);
  memcpy(blk + 192, scales, 16), memcpy(blk + 208, &d, 2);
  for (int i = 0; i < 256; i++) {
    q[i] = (i * 13 + 1) % 64;
    int half = i / 128, e = i % 128, l = e % 32, which = e / 32; /* value l + 32 * which */
    uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
    ql[l + (which % 2) * 32] |= (uint8_t)((q[i] & 15) << (which < 2 ? 0 : 4));
    qh[l] |= (uint8_t)((q[i] >> 4) << (2 * which));
  }
  llmc_kquant_from_ggml(6, blk, 256, values, header);
  llmc_kquant_dequant_row(6, values, header, 256, y);
  for (int i = 0; i < 256; i++) assert_true(y[i] == 0.03125f * (float)scales[i / 16] * (float)(q[i] - 32));
}

/* llmc's own rule: a row of K-quant values read back within the rule's
 * error (relative RMS: int4 ~ 1/15 of a group's range / sqrt(12), int6 ~ 1/62
 * of its largest magnitude), all-zero super-blocks exactly zero. */
static void test_kquant_quantize(void **state) {
  (void)state;
  enum { K = 1024 };
  float x[K], y[K];
  uint8_t values[K], header[K / 256 * LLMC_KQUANT_HEADER_BYTES];
  uint32_t r = 12345;
  for (int i = 0; i < K; i++) {
    r = r * 1664525u + 1013904223u;
    x[i] = i < 256 ? 0.0f : ((float)(r >> 8) / 16777216.0f - 0.5f) * (i % 3 ? 1.0f : 0.1f);
  }
  static const struct {
    int bits;
    double bound;
  } cases[] = {{4, 0.1}, {5, 0.05}, {6, 0.03}};
  for (int c = 0; c < 3; c++) {
    llmc_kquant_quantize_row(cases[c].bits, x, K, values, header);
    llmc_kquant_dequant_row(cases[c].bits, values, header, K, y);
    double err = 0, ref = 0;
    for (int i = 0; i < K; i++) err += (double)(y[i] - x[i]) * (y[i] - x[i]), ref += (double)x[i] * x[i];
    for (int i = 0; i < 256; i++) assert_true(y[i] == 0.0f);
    print_message("int%d-k: relative RMS error %.4f\n", cases[c].bits, sqrt(err / ref));
    assert_true(sqrt(err / ref) < cases[c].bound);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_chain), cmocka_unit_test(test_checked),
      cmocka_unit_test(test_arena),        cmocka_unit_test(test_half), cmocka_unit_test(test_i8_row),
      cmocka_unit_test(test_atomic_write), cmocka_unit_test(test_quoting),
      cmocka_unit_test(test_path_confine), cmocka_unit_test(test_strmap),
      cmocka_unit_test(test_kquant_from_ggml), cmocka_unit_test(test_kquant_quantize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
