/* fuzz_safetensors.c: libFuzzer target for the safetensors reader.
 *
 * Parses the input as a whole file; on success touches every tensor's bytes
 * through llmc_st_tensor_to_f32 (so an out-of-bounds range would trip ASan)
 * and checks the invariants the reader promises: names sorted and findable,
 * ranges inside the input, sizes consistent. Not built by default:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Isupport -Ifrontend tests/fuzz/fuzz_safetensors.c frontend/safetensors.c \
 *     support/status.c support/arena.c support/file.c support/half.c \
 *     $(pkg-config --cflags --libs jansson) -o fuzz_safetensors */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_safetensors.h"

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llmc_safetensors_t *st = NULL;
  llmc_status_t *s = llmc_safetensors_open_memory(data, size, "fuzz", &st);
  if (s) {
    FUZZ_CHECK(st == NULL);
    FUZZ_CHECK(llmc_status_code(s) != LLMC_OK);
    llmc_status_free(s);
    return 0;
  }
  float buf[64];
  for (int i = 0; i < llmc_safetensors_count(st); i++) {
    const llmc_st_tensor_t *t = llmc_safetensors_at(st, i);
    FUZZ_CHECK(llmc_safetensors_find(st, t->name) == t);
    if (i > 0) FUZZ_CHECK(strcmp(llmc_safetensors_at(st, i - 1)->name, t->name) < 0);
    FUZZ_CHECK(t->rank >= 0 && t->rank <= LLMC_ST_MAX_RANK);
    FUZZ_CHECK(t->nbytes == t->numel * (uint64_t)llmc_st_dtype_size(t->dtype));
    FUZZ_CHECK(t->data >= data && t->data + t->nbytes <= data + size);
    for (uint64_t first = 0; first < t->numel; first += 64) {
      uint64_t n = t->numel - first < 64 ? t->numel - first : 64;
      llmc_st_tensor_to_f32(t, first, n, buf);
    }
  }
  for (int i = 0; i < llmc_safetensors_metadata_count(st); i++) {
    const char *k, *v;
    llmc_safetensors_metadata_at(st, i, &k, &v);
    FUZZ_CHECK(llmc_safetensors_metadata(st, k) == v);
  }
  llmc_safetensors_close(st);
  return 0;
}
