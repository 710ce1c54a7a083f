/* fuzz_tokenizer.c: libFuzzer target for frontend/tokenizer.c. Encodes
 * arbitrary bytes with two fixture tokenizers (GPT-2's ByteLevel split and
 * Llama-3's Split regex, both with merges and added tokens) and a
 * sentencepiece-style one (Prepend/Replace normalizer, byte_fallback), and
 * checks that decoding the ids gives the input back, which byte-level BPE
 * guarantees without a prefix space and sentencepiece-style BPE for text
 * without U+2581. Not built by default; from the repository root:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isupport -Ifrontend \
 *     -Itests/unit/tokenizer tests/fuzz/fuzz_tokenizer.c frontend/tokenizer.c \
 *     support/status.c support/arena.c support/file.c support/half.c support/escape.c -ljansson -lonig -lutf8proc -lm \
 *     -o fuzz_tokenizer
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmc_tokenizer.h"
#include "tokenizer_fixture.h"

static const char *k_merges[][2] = {
    {" ", "t"},   {"h", "e"},       {" t", "he"},         {"l", "l"},       {"e", "ll"},
    {"h", "ell"}, {"hell", "o"},    {"a", "a"},           {"aa", "aa"},     {" ", " "},
    {"\n", "\n"}, {"\xc3", "\xa9"}, {"\xf0\x9f", "\x98"}, {"\xf0", "\x9f"}, {"1", "2"},
    {"12", "3"},  {"'", "s"},       {"<", "|"},
};
static const char *const k_added[] = {"<|endoftext|>", "<|im_start|>", "<|im_start|>user", "<s>"};
static const char k_llama3_pre[] =
    "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
    "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
    "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, "
    "\"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
    "\"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]}";

/* "<s> $A": encode with add_special puts <s> (the fourth added token) first. */
static const char k_template[] =
    "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}, "
    "{\"Sequence\": {\"id\": \"A\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [%d]}}}";

static llmc_tokenizer_t *load(const char *pre) {
  fx_opts_t o = {.merges = k_merges,
                 .n_merges = sizeof k_merges / sizeof k_merges[0],
                 .added = k_added,
                 .n_added = 4,
                 .pre_tokenizer = pre};
  /* Added tokens follow the 256 bytes and the 18 merge results. */
  char post[512];
  snprintf(post, sizeof post, k_template, 256 + 18 + 3);
  o.post_processor = post;
  char *json = fx_json(&o);
  char *path = json ? fx_write(json) : NULL;
  llmc_tokenizer_t *t = NULL;
  llmc_status_t *st = path ? llmc_tokenizer_load(path, &t) : NULL;
  if (path) unlink(path);
  free(path);
  free(json);
  if (st || !t) __builtin_trap();
  return t;
}

static void check(const llmc_tokenizer_t *t, const uint8_t *data, size_t size) {
  int32_t *ids = NULL;
  int64_t n = 0;
  llmc_status_t *st = llmc_tokenizer_encode(t, (const char *)data, size, true, &ids, &n);
  if (st) __builtin_trap(); /* every byte has a token in the fixture */
  llmc_buf_t b = {0};
  for (int64_t i = 1; i < n; i++)
    if (llmc_tokenizer_decode_token(t, ids[i], &b)) __builtin_trap();
  if (n < 1 || ids[0] != llmc_tokenizer_bos(t) || b.len != size ||
      (size && memcmp(b.data, data, size)))
    __builtin_trap();
  llmc_buf_free(&b);
  free(ids);
}

/* A sentencepiece-style tokenizer (Llama 2's normalizer and decoder):
 * <0xXX> byte tokens 0..255, then ▁ a b ▁a ab; characters outside the
 * vocabulary fall back to their bytes. */
static llmc_tokenizer_t *load_sentencepiece(void) {
  llmc_buf_t b = {0};
  llmc_buf_printf(&b, "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", "
                      "\"prepend\": \"\\u2581\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
                      "\"content\": \"\\u2581\"}]}, \"pre_tokenizer\": null, \"decoder\": {\"type\": \"Sequence\", "
                      "\"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\\u2581\"}, "
                      "\"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": "
                      "\"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}, \"model\": {\"type\": \"BPE\", "
                      "\"byte_fallback\": true, \"vocab\": {");
  for (int i = 0; i < 256; i++) llmc_buf_printf(&b, "\"<0x%02X>\": %d, ", i, i);
  llmc_buf_printf(&b, "\"\\u2581\": 256, \"a\": 257, \"b\": 258, \"\\u2581a\": 259, \"ab\": 260}, "
                      "\"merges\": [\"\\u2581 a\", \"a b\"]}}");
  char *path = b.failed ? NULL : fx_write(b.data);
  llmc_tokenizer_t *t = NULL;
  llmc_status_t *st = path ? llmc_tokenizer_load(path, &t) : NULL;
  if (path) unlink(path);
  free(path);
  llmc_buf_free(&b);
  if (st || !t) __builtin_trap();
  return t;
}

/* Every byte string round-trips through it unless it holds U+2581 itself
 * (which decodes as a space). */
static void check_sentencepiece(const llmc_tokenizer_t *t, const uint8_t *data, size_t size) {
  if (memmem(data, size, "\xe2\x96\x81", 3)) return;
  int32_t *ids = NULL;
  int64_t n = 0;
  if (llmc_tokenizer_encode(t, (const char *)data, size, false, &ids, &n)) __builtin_trap();
  llmc_buf_t b = {0};
  if (llmc_tokenizer_decode(t, ids, (size_t)n, &b)) __builtin_trap();
  if (b.len != size || (size && memcmp(b.data, data, size))) __builtin_trap();
  llmc_buf_free(&b);
  free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static llmc_tokenizer_t *gpt2, *llama3, *sp;
  if (!gpt2) gpt2 = load(NULL);
  if (!llama3) llama3 = load(k_llama3_pre);
  if (!sp) sp = load_sentencepiece();
  check(gpt2, data, size);
  check(llama3, data, size);
  check_sentencepiece(sp, data, size);
  return 0;
}
