/* fuzz_gguf.c: libFuzzer target for the GGUF reader.
 *
 * Parses the input as a whole file; on success reads every metadata value
 * through every accessor and dequantizes every tensor block by block (so an
 * out-of-bounds range would trip ASan), and checks the invariants the reader
 * promises: names findable, ranges inside the input, sizes consistent. The
 * embedded tokenizer, if any, goes through its conversion to tokenizer.json
 * and the tokenizer loader. Built and run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_impl.h"
#include "llmc_tokenizer.h"

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llmc_gguf_t *g = NULL;
  llmc_status_t *s = llmc_gguf_open_memory(data, size, "fuzz", &g);
  if (s) {
    FUZZ_CHECK(g == NULL);
    FUZZ_CHECK(llmc_status_code(s) != LLMC_OK);
    llmc_status_free(s);
    return 0;
  }
  for (int i = 0; i < llmc_gguf_kv_count(g); i++) {
    const llmc_gguf_kv_t *kv = llmc_gguf_kv_at(g, i);
    FUZZ_CHECK(llmc_gguf_find(g, llmc_gguf_kv_key(kv)) == kv);
    int64_t iv;
    double fv;
    const char *sv;
    size_t len;
    (void)llmc_gguf_kv_int(kv, &iv);
    (void)llmc_gguf_kv_float(kv, &fv);
    if (llmc_gguf_kv_string(kv, &sv, &len)) FUZZ_CHECK((const uint8_t *)sv >= data && (const uint8_t *)sv + len <= data + size);
    uint64_t n = llmc_gguf_kv_array_len(kv);
    for (uint64_t j = 0; j < n && j < 4096; j++) {
      if (llmc_gguf_kv_array_string(kv, j, &sv, &len))
        FUZZ_CHECK((const uint8_t *)sv >= data && (const uint8_t *)sv + len <= data + size);
      (void)llmc_gguf_kv_array_int(kv, j, &iv);
      (void)llmc_gguf_kv_array_float(kv, j, &fv);
    }
    FUZZ_CHECK(!llmc_gguf_kv_array_string(kv, n, &sv, &len));
  }
  float buf[256];
  for (int i = 0; i < llmc_gguf_tensor_count(g); i++) {
    const llmc_gguf_tensor_t *t = llmc_gguf_tensor_at(g, i);
    FUZZ_CHECK(llmc_gguf_tensor_find(g, t->name) == t);
    FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= LLMC_GGUF_MAX_DIMS);
    FUZZ_CHECK(t->data >= data && t->data + t->nbytes <= data + size);
    if (!llmc_ggml_type_readable(t->type)) continue;
    uint64_t block = (uint64_t)llmc_ggml_type_block(t->type);
    /* Bounded work: the first and last 4096 elements. */
    for (uint64_t first = 0; first < t->numel; first += 256) {
      if (first >= 4096 && first + 4096 < t->numel) first = (t->numel - 4096) / 256 * 256;
      uint64_t m = t->numel - first < 256 ? t->numel - first : 256;
      m = m / block * block;
      if (m) llmc_gguf_tensor_to_f32(t, first, m, buf);
    }
  }
  char *json = NULL, *config = NULL;
  s = llmc_gguf_tokenizer_json(g, "fuzz", &json, &config);
  if (!s && json) {
    llmc_tokenizer_t *t = NULL;
    s = llmc_tokenizer_load_text(json, strlen(json), config, config ? strlen(config) : 0, "fuzz", &t);
    if (!s) {
      int32_t *ids = NULL;
      int64_t n = 0;
      s = llmc_tokenizer_encode(t, "Hello, world! 123", 17, true, &ids, &n);
      free(ids);
    }
    llmc_tokenizer_destroy(t);
  }
  llmc_status_free(s);
  free(json);
  free(config);
  llmc_gguf_close(g);
  return 0;
}
