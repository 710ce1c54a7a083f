/* Unit tests for tools/serve_text.c: how `llmc serve` turns sampled tokens
 * into completion text. The tokenizer is a fixture whose token b is byte b,
 * so tests feed bytes as ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "serve.h"
#include "tokenizer_fixture.h"


static llmc_tokenizer_t *byte_tokenizer(void) {
  fx_opts_t o = {0};
  char *json = fx_json(&o);
  char *path = fx_write(json);
  free(json);
  assert_non_null(path);
  llmc_tokenizer_t *t = NULL;
  llmc_status_t *s = llmc_tokenizer_load(path, &t);
  unlink(path);
  free(path);
  assert_null(s);
  return t;
}

static void feed_bytes(llmc_serve_text_t *t, const char *bytes) {
  int32_t ids[64];
  size_t n = strlen(bytes);
  assert_true(n <= 64);
  for (size_t i = 0; i < n; i++) ids[i] = (unsigned char)bytes[i];
  assert_null(llmc_serve_text_feed(t, ids, (int64_t)n));
}

static void test_stop_string_across_tokens(void **state) {
  (void)state;
  llmc_tokenizer_t *tok = byte_tokenizer();
  const char *stops[] = {"zz", "o w"};
  llmc_serve_text_t t = {.tok = tok, .stops = stops, .n_stops = 2};
  feed_bytes(&t, "hello");
  assert_null(t.finish_reason);
  /* "o" may start "o w": held back from a stream. */
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  t.emitted = 4;
  feed_bytes(&t, " ");
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  feed_bytes(&t, "world");
  assert_string_equal(t.finish_reason, "stop");
  assert_int_equal(t.text.len, 4); /* "hell": the stop string and all after it dropped */
  assert_memory_equal(t.text.data, "hell", 4);
  assert_int_equal(t.n_accepted, 7); /* tokens after the stop are not counted */
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  llmc_buf_free(&t.text);
  llmc_tokenizer_destroy(tok);
}

static void test_held_prefix_released(void **state) {
  (void)state;
  llmc_tokenizer_t *tok = byte_tokenizer();
  const char *stops[] = {"lo"};
  llmc_serve_text_t t = {.tok = tok, .stops = stops, .n_stops = 1};
  feed_bytes(&t, "hel");
  assert_int_equal(llmc_serve_text_safe_len(&t), 2);
  feed_bytes(&t, "p");
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  llmc_serve_text_finish(&t);
  assert_string_equal(t.finish_reason, "length");
  llmc_buf_free(&t.text);
  llmc_tokenizer_destroy(tok);
}

static void test_utf8_split_across_tokens(void **state) {
  (void)state;
  llmc_tokenizer_t *tok = byte_tokenizer();
  llmc_serve_text_t t = {.tok = tok};
  feed_bytes(&t, "a\xE2\x82"); /* the first two bytes of U+20AC */
  assert_int_equal(llmc_serve_text_safe_len(&t), 1);
  feed_bytes(&t, "\xAC");
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  /* A sequence that can never complete is not held forever once finished. */
  feed_bytes(&t, "\xF0\x9F");
  assert_int_equal(llmc_serve_text_safe_len(&t), 4);
  llmc_serve_text_finish(&t);
  assert_int_equal(llmc_serve_text_safe_len(&t), 6);
  llmc_buf_free(&t.text);
  llmc_tokenizer_destroy(tok);
}

static void test_stop_ids_and_eos(void **state) {
  (void)state;
  llmc_tokenizer_t *tok = byte_tokenizer();
  int32_t stop_ids[] = {'!'}, eos_ids[] = {'q', 'x'};
  llmc_serve_text_t t = {.tok = tok, .eos_ids = eos_ids, .n_eos_ids = 2, .stop_ids = stop_ids, .n_stop_ids = 1};
  feed_bytes(&t, "hi!there");
  assert_string_equal(t.finish_reason, "stop");
  assert_int_equal(t.n_accepted, 3); /* the stop token counts as generated */
  assert_int_equal(t.text.len, 2);   /* but has no text */
  llmc_buf_free(&t.text);
  llmc_serve_text_t e = {.tok = tok, .eos_ids = eos_ids, .n_eos_ids = 2}; /* any of the model's stop ids */
  feed_bytes(&e, "abxcd");
  assert_string_equal(e.finish_reason, "stop");
  assert_int_equal(e.n_accepted, 3);
  assert_int_equal(e.text.len, 2);
  llmc_buf_free(&e.text);
  /* Without a tokenizer there is no text, only ids. */
  llmc_serve_text_t n = {.tok = NULL};
  feed_bytes(&n, "abc");
  assert_int_equal(n.n_accepted, 3);
  assert_int_equal(n.text.len, 0);
  assert_null(n.finish_reason);
  llmc_tokenizer_destroy(tok);
}

static void check_sanitized(const char *in, size_t n, const char *want, size_t want_len) {
  llmc_buf_t b = {0};
  llmc_serve_utf8_sanitize(&b, in, n);
  assert_int_equal(b.len, want_len);
  if (want_len) assert_memory_equal(b.data, want, want_len);
  llmc_buf_free(&b);
}

#define FFFD "\xEF\xBF\xBD"
static void test_sanitize(void **state) {
  (void)state;
  check_sanitized("caf\xC3\xA9", 5, "caf\xC3\xA9", 5);
  check_sanitized("\xF0\x9F\x98\x80", 4, "\xF0\x9F\x98\x80", 4);
  check_sanitized("a\xFF" "b", 3, "a" FFFD "b", 5);
  check_sanitized("\x80", 1, FFFD, 3);                   /* a lone continuation byte */
  check_sanitized("\xC0\x80", 2, FFFD FFFD, 6);          /* overlong NUL */
  check_sanitized("\xED\xA0\x80", 3, FFFD FFFD FFFD, 9); /* a surrogate */
  check_sanitized("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, 12); /* above U+10FFFF */
  check_sanitized("\xE2\x82", 2, FFFD FFFD, 6);          /* truncated */
  check_sanitized("", 0, "", 0);
}

/* Whatever bytes tokens produce, the sanitized text is a JSON string
 * jansson accepts (it refuses invalid UTF-8 by returning NULL). */
static void test_sanitize_random_bytes_make_valid_json(void **state) {
  (void)state;
  uint64_t rng = 13;
  char bytes[64];
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = llmc_rng_next(&rng) % sizeof bytes;
    for (size_t i = 0; i < n; i++) {
      uint64_t r = llmc_rng_next(&rng);
      /* Bias towards the interesting range: lead and continuation bytes. */
      bytes[i] = (char)(r % 3 ? 0x80 + (r >> 8) % 0x80 : (r >> 8) % 0x100);
    }
    llmc_buf_t b = {0};
    llmc_serve_utf8_sanitize(&b, bytes, n);
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    assert_non_null(s);
    json_decref(s);
    llmc_buf_free(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stop_string_across_tokens),
      cmocka_unit_test(test_held_prefix_released),
      cmocka_unit_test(test_utf8_split_across_tokens),
      cmocka_unit_test(test_stop_ids_and_eos),
      cmocka_unit_test(test_sanitize),
      cmocka_unit_test(test_sanitize_random_bytes_make_valid_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
