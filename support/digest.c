/* digest.c: the 64-bit digests an artifact carries (llmc_abi.h): of its
 * plan, and of the weights file's header. XXH3 is fast enough to hash a
 * plan of thousands of values at every load; it is a check against
 * corruption and mismatched files, not against an adversary (model.so is
 * native code: whoever can write it can run anything). */
#include <xxhash.h>

#include "llmc_support.h"

uint64_t llmc_digest64(const void *data, size_t n, uint64_t seed) {
  return (uint64_t)XXH3_64bits_withSeed(data, n, (XXH64_hash_t)seed);
}

bool llmc_weights_head_digest(const uint8_t *d, uint64_t size, uint64_t *out_digest) {
  *out_digest = 0;
  if (size < 8) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | d[i];
  if (n > size - 8) return false;
  *out_digest = llmc_digest64(d, (size_t)(8 + n), size);
  return true;
}

uint64_t llmc_plan_digest(const int64_t *plan, int64_t plan_len, const int64_t *kinds, int64_t kinds_len) {
  uint64_t h = llmc_digest64(plan, (size_t)plan_len * sizeof *plan, 0);
  h = llmc_digest64(kinds, (size_t)kinds_len * sizeof *kinds, h);
  return h ? h : 1;
}
