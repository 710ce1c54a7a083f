/* Unit tests for the special tokens of frontend/tokenizer.c: what encode
 * adds, BOS and the stop ids, from tokenizer.json's post_processor,
 * tokenizer_config.json and generation_config.json — never from a token's
 * name. Each test writes a small model directory and loads it with
 * llmc_tokenizer_load_dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmc_tokenizer.h"
#include "tokenizer_fixture.h"

/* Added tokens get ids 256.. in this order (no merges, no extra vocab). */
static const char *const k_added[] = {"<s>", "</s>", "<|im_end|>", "<|endoftext|>"};
enum { S = 256, EOS_S = 257, IM_END = 258, EOT = 259 };

/* TemplateProcessing: "<s> $A" (a Llama-2-style template). */
static const char k_bos_template[] =
    "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", "
    "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], "
    "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [256], \"tokens\": [\"<s>\"]}}}";

typedef struct {
  const char *post_processor; /* tokenizer.json's; NULL: null */
  const char *config;         /* tokenizer_config.json text; NULL: no file */
  const char *generation;     /* generation_config.json text; NULL: no file */
} dir_opts_t;

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
}

static void remove_dir(const char *dir) {
  static const char *const names[] = {"tokenizer.json", "tokenizer_config.json",
                                      "generation_config.json"};
  char path[512];
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static llmc_status_t *load_dir(const dir_opts_t *o, llmc_tokenizer_t **out) {
  char dir[] = "/tmp/llmc_tokdir_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *json = fx_json(&(fx_opts_t){.added = k_added, .n_added = 4,
                                    .post_processor = o->post_processor});
  assert_non_null(json);
  write_file(dir, "tokenizer.json", json);
  free(json);
  if (o->config) write_file(dir, "tokenizer_config.json", o->config);
  if (o->generation) write_file(dir, "generation_config.json", o->generation);
  llmc_status_t *st = llmc_tokenizer_load_dir(dir, out);
  remove_dir(dir);
  return st;
}

static llmc_tokenizer_t *load_ok(const dir_opts_t *o) {
  llmc_tokenizer_t *t = NULL;
  llmc_status_t *st = load_dir(o, &t);
  if (st) {
    char buf[1024];
    llmc_status_format(st, buf, sizeof buf);
    print_error("%s\n", buf);
    llmc_status_free(st);
  }
  assert_non_null(t);
  return t;
}

/* Loading fails with LLMC_DATA_LOSS, one message naming `file` and `needle`. */
static void expect_error(const dir_opts_t *o, const char *file, const char *needle) {
  llmc_tokenizer_t *t = NULL;
  llmc_status_t *st = load_dir(o, &t);
  assert_non_null(st);
  assert_null(t);
  char buf[1024];
  llmc_status_format(st, buf, sizeof buf);
  if (llmc_status_code(st) != LLMC_DATA_LOSS || !strstr(buf, file) || !strstr(buf, needle))
    print_error("got: %s\n", buf);
  assert_int_equal(llmc_status_code(st), LLMC_DATA_LOSS);
  assert_non_null(strstr(buf, file));
  assert_non_null(strstr(buf, needle));
  assert_null(strchr(buf, '\n')); /* one line */
  llmc_status_free(st);
}

/* encode("x", add_special) must give want[0..n). */
static void expect_encode(const llmc_tokenizer_t *t, const int32_t *want, int64_t n) {
  int32_t *ids = NULL;
  int64_t got = 0;
  assert_null(llmc_tokenizer_encode(t, "x", 1, true, &ids, &got));
  assert_int_equal(got, n);
  assert_memory_equal(ids, want, (size_t)n * sizeof *want);
  free(ids);
  assert_null(llmc_tokenizer_encode(t, "x", 1, false, &ids, &got));
  assert_int_equal(got, 1);
  assert_int_equal(ids[0], 'x');
  free(ids);
}

/* Qwen3: "<s>" is an ordinary token, there is no template and no BOS. */
static void test_no_bos_from_names(void **state) {
  (void)state;
  llmc_tokenizer_t *t = load_ok(&(dir_opts_t){0});
  assert_int_equal(llmc_tokenizer_find(t, "<s>", 3), S);
  assert_int_equal(llmc_tokenizer_bos(t), -1);
  assert_int_equal(llmc_tokenizer_eos(t), -1);
  expect_encode(t, (int32_t[]){'x'}, 1);
  llmc_tokenizer_destroy(t);
  /* Qwen3's own tokenizer_config.json and generation_config.json. */
  t = load_ok(&(dir_opts_t){
      .config = "{\"add_bos_token\": false, \"add_prefix_space\": false, \"bos_token\": null, "
                "\"eos_token\": \"<|im_end|>\", \"pad_token\": \"<|endoftext|>\"}",
      .generation = "{\"bos_token_id\": 259, \"eos_token_id\": [258, 259], \"pad_token_id\": 259}"});
  assert_int_equal(llmc_tokenizer_bos(t), -1); /* tokenizer_config's null wins */
  const int32_t *stop;
  assert_int_equal(llmc_tokenizer_stop_ids(t, &stop), 2);
  assert_int_equal(stop[0], IM_END);
  assert_int_equal(stop[1], EOT);
  expect_encode(t, (int32_t[]){'x'}, 1);
  llmc_tokenizer_destroy(t);
}

static void test_template_bos(void **state) {
  (void)state;
  llmc_tokenizer_t *t = load_ok(&(dir_opts_t){.post_processor = k_bos_template});
  assert_int_equal(llmc_tokenizer_bos(t), S);
  expect_encode(t, (int32_t[]){S, 'x'}, 2);
  llmc_tokenizer_destroy(t);
  /* Roberta-style: cls before, sep after. */
  t = load_ok(&(dir_opts_t){.post_processor =
                                "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 257], "
                                "\"cls\": [\"<s>\", 256], \"trim_offsets\": true}"});
  expect_encode(t, (int32_t[]){S, 'x', EOS_S}, 3);
  llmc_tokenizer_destroy(t);
  /* A template inside a Sequence with ByteLevel (Llama 3). */
  char seq[2048];
  snprintf(seq, sizeof seq,
           "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\"}, %s]}",
           k_bos_template);
  t = load_ok(&(dir_opts_t){.post_processor = seq});
  expect_encode(t, (int32_t[]){S, 'x'}, 2);
  llmc_tokenizer_destroy(t);
}

static void test_add_bos_token(void **state) {
  (void)state;
  /* false removes the template's BOS (encode adds nothing), though BOS is
   * still declared. */
  llmc_tokenizer_t *t = load_ok(&(dir_opts_t){
      .post_processor = k_bos_template,
      .config = "{\"add_bos_token\": false, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}"});
  assert_int_equal(llmc_tokenizer_bos(t), S);
  assert_int_equal(llmc_tokenizer_eos(t), EOS_S);
  expect_encode(t, (int32_t[]){'x'}, 1);
  llmc_tokenizer_destroy(t);
  /* true adds it without a template; add_eos_token appends EOS. */
  t = load_ok(&(dir_opts_t){.config = "{\"add_bos_token\": true, \"add_eos_token\": true, "
                                      "\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}"});
  expect_encode(t, (int32_t[]){S, 'x', EOS_S}, 3);
  llmc_tokenizer_destroy(t);
  /* Absent: the template decides. (Llama 3's model_max_length does not fit
   * 64 bits, which must not make the file unreadable.) */
  t = load_ok(&(dir_opts_t){.post_processor = k_bos_template,
                            .config = "{\"bos_token\": \"<s>\", \"model_max_length\": "
                                      "1000000000000000019884624838656}"});
  expect_encode(t, (int32_t[]){S, 'x'}, 2);
  llmc_tokenizer_destroy(t);
}

static void test_token_object(void **state) {
  (void)state;
  llmc_tokenizer_t *t = load_ok(&(dir_opts_t){
      .config = "{\"add_bos_token\": true, \"bos_token\": {\"__type\": \"AddedToken\", "
                "\"content\": \"<|endoftext|>\", \"lstrip\": false, \"normalized\": false, "
                "\"rstrip\": false, \"single_word\": false}, \"eos_token\": {\"content\": "
                "\"<|im_end|>\"}}"});
  assert_int_equal(llmc_tokenizer_bos(t), EOT);
  assert_int_equal(llmc_tokenizer_eos(t), IM_END);
  expect_encode(t, (int32_t[]){EOT, 'x'}, 2);
  llmc_tokenizer_destroy(t);
}

static void test_eos_list(void **state) {
  (void)state;
  /* generation_config.json's list wins over tokenizer_config's eos_token, as
   * in generate(); a single id is a list of one. */
  llmc_tokenizer_t *t = load_ok(&(dir_opts_t){.config = "{\"eos_token\": \"</s>\"}",
                                              .generation = "{\"eos_token_id\": [259, 258, 257]}"});
  const int32_t *stop;
  assert_int_equal(llmc_tokenizer_stop_ids(t, &stop), 3);
  assert_int_equal(stop[0], EOT);
  assert_int_equal(stop[1], IM_END);
  assert_int_equal(stop[2], EOS_S);
  llmc_tokenizer_destroy(t);
  t = load_ok(&(dir_opts_t){.generation = "{\"eos_token_id\": 258, \"bos_token_id\": 256}"});
  assert_int_equal(llmc_tokenizer_stop_ids(t, &stop), 1);
  assert_int_equal(stop[0], IM_END);
  assert_int_equal(llmc_tokenizer_bos(t), S);
  expect_encode(t, (int32_t[]){'x'}, 1); /* a declared BOS is not an added one */
  llmc_tokenizer_destroy(t);
  /* null in generation_config: tokenizer_config's eos_token. */
  t = load_ok(&(dir_opts_t){.config = "{\"eos_token\": \"</s>\"}",
                            .generation = "{\"eos_token_id\": null}"});
  assert_int_equal(llmc_tokenizer_stop_ids(t, &stop), 1);
  assert_int_equal(stop[0], EOS_S);
  llmc_tokenizer_destroy(t);
}

static void test_bad_config(void **state) {
  (void)state;
  const char *cfg = "tokenizer_config.json";
  expect_error(&(dir_opts_t){.config = "{\"bos_token\": \"<s>\","}, cfg, "line");
  expect_error(&(dir_opts_t){.config = "[]"}, cfg, "not a JSON object");
  expect_error(&(dir_opts_t){.config = "{\"eos_token\": 2}"}, cfg, "eos_token");
  expect_error(&(dir_opts_t){.config = "{\"bos_token\": {\"content\": 1}}"}, cfg, "bos_token");
  expect_error(&(dir_opts_t){.config = "{\"add_bos_token\": \"yes\", \"bos_token\": \"<s>\"}"}, cfg,
               "add_bos_token");
  expect_error(&(dir_opts_t){.config = "{\"add_bos_token\": true}"}, cfg, "no bos_token");
  expect_error(&(dir_opts_t){.config = "{\"add_eos_token\": true, \"eos_token\": null}"}, cfg,
               "no eos_token");
  expect_error(&(dir_opts_t){.config = "{\"bos_token\": \"a\", \"bos_token\": \"b\"}"}, cfg,
               "duplicate");
  const char *gen = "generation_config.json";
  expect_error(&(dir_opts_t){.generation = "{\"eos_token_id\": \"2\"}"}, gen, "eos_token_id");
  expect_error(&(dir_opts_t){.generation = "{\"eos_token_id\": [1, 2.5]}"}, gen, "eos_token_id");
  expect_error(&(dir_opts_t){.generation = "7"}, gen, "line"); /* not an object (jansson: decoding) */
}

static void test_ids_out_of_range(void **state) {
  (void)state;
  expect_error(&(dir_opts_t){.generation = "{\"eos_token_id\": 260}"}, "generation_config.json",
               "not a token");
  expect_error(&(dir_opts_t){.generation = "{\"eos_token_id\": [258, -1]}"},
               "generation_config.json", "not a token");
  expect_error(&(dir_opts_t){.generation = "{\"eos_token_id\": 1099511627776}"},
               "generation_config.json", "not a token");
  expect_error(&(dir_opts_t){.generation = "{\"bos_token_id\": 4096}"}, "generation_config.json",
               "not a token");
  expect_error(&(dir_opts_t){.config = "{\"bos_token\": \"<bos>\"}"}, "tokenizer_config.json",
               "not a token");
  char many[512] = "{\"eos_token_id\": [1";
  for (int i = 0; i < LLMC_TOKENIZER_MAX_STOP; i++) strcat(many, ", 2");
  strcat(many, "]}");
  expect_error(&(dir_opts_t){.generation = many}, "generation_config.json", "at most");
  /* The template's ids are checked too. */
  static const char bad_id[] =
      "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}, "
      "{\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [9999]}}}";
  expect_error(&(dir_opts_t){.post_processor = bad_id}, "tokenizer.json", "not in the vocabulary");
  static const char unknown[] =
      "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<x>\"}}, "
      "{\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {}}";
  expect_error(&(dir_opts_t){.post_processor = unknown}, "tokenizer.json", "not in special_tokens");
}

static void test_load_dir_files(void **state) {
  (void)state;
  llmc_tokenizer_t *t = NULL;
  char dir[] = "/tmp/llmc_tokdir_XXXXXX";
  assert_non_null(mkdtemp(dir));
  /* tokenizer.json is required. */
  llmc_status_t *st = llmc_tokenizer_load_dir(dir, &t);
  assert_int_equal(llmc_status_code(st), LLMC_NOT_FOUND);
  llmc_status_free(st);
  /* A config that leaves the directory through a symlink is refused. */
  char *json = fx_json(&(fx_opts_t){.added = k_added, .n_added = 4});
  write_file(dir, "tokenizer.json", json);
  free(json);
  char link[512];
  snprintf(link, sizeof link, "%s/tokenizer_config.json", dir);
  assert_int_equal(symlink("/etc/hostname", link), 0);
  st = llmc_tokenizer_load_dir(dir, &t);
  assert_int_equal(llmc_status_code(st), LLMC_DATA_LOSS);
  assert_null(t);
  llmc_status_free(st);
  unlink(link);
  /* A directory where a file should be is not read. */
  assert_int_equal(mkdir(link, 0700), 0);
  st = llmc_tokenizer_load_dir(dir, &t);
  assert_non_null(st);
  assert_null(t);
  llmc_status_free(st);
  rmdir(link);
  remove_dir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_bos_from_names), cmocka_unit_test(test_template_bos),
      cmocka_unit_test(test_add_bos_token),     cmocka_unit_test(test_token_object),
      cmocka_unit_test(test_eos_list),          cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_ids_out_of_range),  cmocka_unit_test(test_load_dir_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
