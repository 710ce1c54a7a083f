/* Unit tests for frontend/chat_template.c: each family's rendering of a
 * small conversation, against strings Hugging Face's Jinja implementation
 * (@huggingface/jinja 0.5.11) rendered from the real templates (the
 * conformance test, e2e.chat-conformance, compares whole corpora when npm is
 * reachable); recognition by markers; refusals. The templates written here
 * are stand-ins carrying each family's markers, not copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmc_chat.h"

static char dir[64];

/* Writes dir/tokenizer_config.json with the template and BOS, and loads it. */
static llmc_status_t *load(const char *tpl, const char *bos, llmc_chat_template_t **out) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/llmc-chat-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
  }
  json_t *cfg = json_pack("{s:s,s:s}", "chat_template", tpl, "bos_token", bos);
  char path[128];
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  assert_int_equal(json_dump_file(cfg, path, 0), 0);
  json_decref(cfg);
  return llmc_chat_template_load_dir(dir, out);
}

static void expect_render(const char *tpl, const char *bos, const char *family, const llmc_chat_message_t *m,
                          size_t n, const char *want) {
  llmc_chat_template_t *t;
  assert_null(load(tpl, bos, &t));
  assert_string_equal(llmc_chat_template_family(t), family);
  llmc_buf_t b = {0};
  assert_null(llmc_chat_render(t, m, n, true, &b));
  assert_non_null(b.data);
  assert_string_equal(b.data, want);
  llmc_buf_free(&b);
  llmc_chat_template_destroy(t);
}

static const llmc_chat_message_t conv[] = {
    {"system", "Be terse."}, {"user", "  padded with spaces  "}, {"assistant", "\nok\n"}, {"user", "tabs\tand\nnewlines\n\n"}};

static void test_llama3(void **state) {
  (void)state;
  expect_render("{{ '<|start_header_id|>' }}{{ '<|eot_id|>' }}", "<|begin_of_text|>", "llama3", conv, 4,
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe terse.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\npadded with spaces<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\nok<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\ntabs\tand\nnewlines<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
  /* Python's strip: no-break and ideographic spaces are whitespace too. */
  const llmc_chat_message_t nb[] = {{"user", "\xc2\xa0non-breaking spaces\xc2\xa0\xe3\x80\x80"}};
  expect_render("<|start_header_id|><|eot_id|>", "<|begin_of_text|>", "llama3", nb, 1,
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nnon-breaking spaces<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void test_chatml(void **state) {
  (void)state;
  expect_render("<|im_start|><|im_end|>", "", "chatml", conv, 4,
                "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\n  padded with spaces  <|im_end|>\n"
                "<|im_start|>assistant\n\nok\n<|im_end|>\n<|im_start|>user\ntabs\tand\nnewlines\n\n<|im_end|>\n"
                "<|im_start|>assistant\n");
  /* A default system turn, when the first message is not one (Qwen2.5). */
  const char *qwen25 = "{%- else %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}{%- endif %}";
  expect_render(qwen25, "", "chatml", conv + 1, 1,
                "<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\n  padded with spaces  <|im_end|>\n"
                "<|im_start|>assistant\n");
  expect_render(qwen25, "", "chatml", conv, 2,
                "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\n  padded with spaces  <|im_end|>\n"
                "<|im_start|>assistant\n");
}

static void test_qwen3(void **state) {
  (void)state;
  /* Reasoning is kept only after the last user turn; before it, only the
   * answer after </think>. */
  const llmc_chat_message_t m[] = {{"user", "Q1"}, {"assistant", "<think>r1</think>a1"}, {"user", "Q2"},
                                   {"assistant", "<think>\nr2\n</think>\n\na2"}};
  expect_render("<|im_start|><|im_end|></think>", "", "qwen3", m, 4,
                "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
                "<|im_start|>assistant\n<think>\nr2\n</think>\n\na2<|im_end|>\n<|im_start|>assistant\n");
}

static void test_gemma(void **state) {
  (void)state;
  expect_render("<start_of_turn><end_of_turn>", "<bos>", "gemma", conv, 4,
                "<bos><start_of_turn>user\nBe terse.\n\npadded with spaces<end_of_turn>\n<start_of_turn>model\nok"
                "<end_of_turn>\n<start_of_turn>user\ntabs\tand\nnewlines<end_of_turn>\n<start_of_turn>model\n");
  llmc_chat_template_t *t;
  assert_null(load("<start_of_turn><end_of_turn>", "<bos>", &t));
  const llmc_chat_message_t twice[] = {{"user", "first"}, {"user", "second"}};
  llmc_buf_t b = {0};
  llmc_status_t *s = llmc_chat_render(t, twice, 2, true, &b);
  assert_non_null(s);
  assert_non_null(strstr(llmc_status_message(s), "roles must alternate"));
  assert_int_equal(b.len, 0); /* nothing appended on failure */
  llmc_status_free(s);
  llmc_chat_template_destroy(t);
}

static void test_deepseek(void **state) {
  (void)state;
  expect_render("<\xef\xbd\x9cUser\xef\xbd\x9c><\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", "<B>", "deepseek", conv, 4,
                "<B>Be terse.<\xef\xbd\x9cUser\xef\xbd\x9c>  padded with spaces  <\xef\xbd\x9c" "Assistant\xef\xbd\x9c>\nok\n"
                "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c><\xef\xbd\x9cUser\xef\xbd\x9c>tabs\tand\nnewlines\n\n"
                "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
}

static void test_refusals(void **state) {
  (void)state;
  llmc_chat_template_t *t = NULL;
  llmc_status_t *s = load("{{ messages }}", "", &t);
  assert_int_equal(llmc_status_code(s), LLMC_UNIMPLEMENTED);
  assert_non_null(strstr(llmc_status_message(s), "no family llmc renders"));
  llmc_status_free(s);
  s = load("<|start_header_id|><|eot_id|> Cutting Knowledge Date", "", &t);
  assert_int_equal(llmc_status_code(s), LLMC_UNIMPLEMENTED);
  llmc_status_free(s);
  assert_null(load("<|im_start|><|im_end|>", "", &t));
  llmc_buf_t b = {0};
  const llmc_chat_message_t tool[] = {{"tool", "{}"}};
  s = llmc_chat_render(t, tool, 1, true, &b);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  s = llmc_chat_render(t, tool, 0, true, &b);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  llmc_chat_template_destroy(t);
  /* Messages from JSON: content must be a string without NUL. */
  json_t *arr = json_loads("[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"x\"}]}]", 0, NULL);
  llmc_chat_message_t *m;
  size_t n;
  s = llmc_chat_messages_from_json(arr, &m, &n);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  json_decref(arr);
  arr = json_loads("[{\"role\": \"user\", \"content\": \"a\\u0000b\"}]", JSON_ALLOW_NUL, NULL);
  s = llmc_chat_messages_from_json(arr, &m, &n);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  json_decref(arr);
  /* No template at all. */
  json_t *cfg = json_pack("{s:s}", "bos_token", "<s>");
  char path[128];
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  assert_int_equal(json_dump_file(cfg, path, 0), 0);
  json_decref(cfg);
  s = llmc_chat_template_load_dir(dir, &t);
  assert_int_equal(llmc_status_code(s), LLMC_NOT_FOUND);
  llmc_status_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_llama3), cmocka_unit_test(test_chatml),  cmocka_unit_test(test_qwen3),
      cmocka_unit_test(test_gemma),  cmocka_unit_test(test_deepseek), cmocka_unit_test(test_refusals),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (dir[0]) {
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    unlink(path);
    rmdir(dir);
  }
  return rc;
}
