/* fuzz_artifact.c: libFuzzer target for the artifact checks the runtime runs
 * before anything executes (runtime/artifact_check.c): the plan of model.so
 * with its argument kinds, and the weights.safetensors header.
 *
 * The first input byte picks what the rest is:
 *   0: XORed into a valid built-in plan and kind table (the values of a
 *      small real plan), so most inputs are the corruptions the issue is
 *      about (a few flipped bits) and reach the per-argument checks;
 *   1: a raw plan: a byte of kernel count, a u16 plan length, then int64s
 *      (plan, then kinds);
 *   2: a weights file, checked against the built-in plan, with a digest
 *      recorded for its own header half of the time (so the JSON is
 *      parsed) and none the other half.
 * A plan accepted must satisfy what the runtime then relies on, checked
 * here independently: every launch inside the plan, every offset's range
 * inside its buffer for every T its launch runs for. Built by run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_check.h"

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { V = 13, D = 4, TMAX = 4, SEQS = 3, MAXB = 16, ACT = 2 * TMAX * D + TMAX * V, WF = 2 * V * D };

/* A plan in the shape of the runtime tests' fake model (four launches). */
static const int64_t base_plan[] = {
    V, TMAX, 64, SEQS, ACT, 2 * TMAX * D, 1, 1, D, 4, 2 * 4 * D, MAXB, 0, TMAX, 2 * TMAX, 3 * TMAX,
    3 * TMAX + SEQS * MAXB + 1 + TMAX, WF, 4, 0, 3 * TMAX + SEQS * MAXB, 0,
    0, 0, 1, 1, TMAX, 4, 0, 0, 0, 0, 0, 0, V, 0,
    1, 0, 1, 1, TMAX, 5, 0, 0, TMAX * D, 0, TMAX, 0, 2 * TMAX, 0, 0, 0,
    2, 0, 1, 1, 1, 3, 0, 0, 3 * TMAX, 0, 0, 0,
    3, V, 0, 2, TMAX, 3, TMAX * D, 0, 2 * TMAX * D, 0, 0, 1,
};
static const int64_t base_kinds[] = {
    LLMC_ARG_ACT, 0, D, LLMC_ARG_WEIGHTS, V * D, 0, LLMC_ARG_META, 0, 1, LLMC_ARG_ROWS, 0, 0,
    LLMC_ARG_ACT, 0, D, LLMC_ARG_ACT, 0, D, LLMC_ARG_META, 0, 1, LLMC_ARG_META, 0, 1, LLMC_ARG_LAYER, 0, 0,
    LLMC_ARG_ACT, 0, D, LLMC_ARG_META, SEQS * MAXB, 0, LLMC_ARG_SCALAR, 0, 0,
    LLMC_ARG_ACT, 0, D, LLMC_ARG_ACT, 0, V, LLMC_ARG_TOKENS, 0, 0,
};
enum { N_PLAN = sizeof base_plan / sizeof base_plan[0], N_KINDS = sizeof base_kinds / sizeof base_kinds[0] };

static int64_t buffer_size(const int64_t *h, int64_t kind) {
  switch (kind) {
    case LLMC_ARG_ACT: return h[LLMC_PLAN_ACT_FLOATS];
    case LLMC_ARG_WEIGHTS: return h[LLMC_PLAN_WEIGHT_FLOATS];
    case LLMC_ARG_META: return h[LLMC_PLAN_META_INTS];
    default: return -1;
  }
}

/* What an accepted plan promises, recomputed in __int128 (no overflow). */
static void check_accepted(const llmc_model_v1_t *m, const llmc_rt_plan_index_t *ix) {
  const int64_t *h = m->plan;
  FUZZ_CHECK(ix->n_launches == h[LLMC_PLAN_N_LAUNCHES]);
  /* The runtime writes the step's logit rows there. */
  FUZZ_CHECK(h[LLMC_PLAN_META_LOGIT_ROWS] >= 0 &&
             (__int128)h[LLMC_PLAN_META_LOGIT_ROWS] + 1 + h[LLMC_PLAN_MAX_STEP_TOKENS] <= h[LLMC_PLAN_META_INTS]);
  int64_t args = 0;
  for (int64_t l = 0; l < ix->n_launches; l++) {
    const int64_t *L = m->plan + ix->launch_pos[l];
    FUZZ_CHECK(ix->launch_pos[l] + LLMC_PLAN_LAUNCH_FIXED + 2 * L[5] <= m->plan_len);
    FUZZ_CHECK(L[0] >= 0 && L[0] < m->n_kernels);
    FUZZ_CHECK(ix->arg_base[l] == args);
    int64_t hi = L[4] < h[LLMC_PLAN_MAX_STEP_TOKENS] ? L[4] : h[LLMC_PLAN_MAX_STEP_TOKENS];
    for (int64_t T = L[3]; T <= hi; T += (hi - L[3] > 64 ? (hi - L[3]) / 8 : 1)) {
      for (int64_t j = 0; j < L[5]; j++) {
        const int64_t *K = m->arg_kinds + (args + j) * LLMC_ARG_RECORD;
        __int128 v = (__int128)L[6 + 2 * j] + (__int128)L[7 + 2 * j] * T;
        FUZZ_CHECK(v >= 0);
        int64_t size = buffer_size(h, K[0]);
        if (size < 0) continue;
        __int128 e = (__int128)K[1] + (__int128)K[2] * T;
        FUZZ_CHECK(e >= 0 && v + e <= size);
      }
    }
    args += L[5];
  }
  FUZZ_CHECK(args == ix->total_args);
}

/* True when the plan was accepted. */
static bool check_plan(const int64_t *plan, int64_t plan_len, const int64_t *kinds, int64_t kinds_len,
                       int64_t n_kernels, bool digest) {
  llmc_model_v1_t m = {.magic = LLMC_ABI_MAGIC, .abi_version = LLMC_ABI_VERSION, .name = "fuzz",
                       .plan = plan, .plan_len = plan_len, .n_kernels = n_kernels,
                       .arg_kinds = kinds, .arg_kinds_len = kinds_len};
  if (digest) m.plan_digest = llmc_plan_digest(plan, plan_len, kinds, kinds_len);
  llmc_rt_plan_index_t ix;
  llmc_status_t *s = llmc_rt_plan_validate("fuzz", &m, &ix);
  if (s) {
    FUZZ_CHECK(llmc_status_code(s) == LLMC_DATA_LOSS || llmc_status_code(s) == LLMC_RESOURCE_EXHAUSTED);
    FUZZ_CHECK(ix.launch_pos == NULL && ix.arg_base == NULL);
    llmc_status_free(s);
    return false;
  }
  check_accepted(&m, &ix);
  llmc_rt_plan_index_free(&ix);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  data++;
  size--;
  if (mode == 0) {
    int64_t plan[N_PLAN], kinds[N_KINDS];
    memcpy(plan, base_plan, sizeof plan);
    memcpy(kinds, base_kinds, sizeof kinds);
    uint8_t *p = (uint8_t *)plan, *k = (uint8_t *)kinds;
    for (size_t i = 0; i < size; i++) {
      size_t at = i % (sizeof plan + sizeof kinds);
      if (at < sizeof plan)
        p[at] ^= data[i];
      else
        k[at - sizeof plan] ^= data[i];
    }
    bool ok = check_plan(plan, N_PLAN, kinds, N_KINDS, 4, false);
    FUZZ_CHECK(ok || size > 0); /* the built-in plan itself is valid */
    return 0;
  }
  if (mode == 1) {
    if (size < 3) return 0;
    const int64_t n_kernels = data[0];
    size_t plan_len = (size_t)(data[1] | data[2] << 8), n = (size - 3) / 8;
    int64_t *vals = malloc(n * 8 + 8);
    if (!vals) return 0;
    if (n) memcpy(vals, data + 3, n * 8);
    if (plan_len > n) plan_len = n;
    check_plan(vals, (int64_t)plan_len, vals + plan_len, (int64_t)(n - plan_len), n_kernels,
               plan_len > 0 && (vals[0] & 1));
    free(vals);
    return 0;
  }
  llmc_model_v1_t m = {.magic = LLMC_ABI_MAGIC, .abi_version = LLMC_ABI_VERSION, .name = "fuzz",
                       .plan = base_plan, .plan_len = N_PLAN, .n_kernels = 4,
                       .arg_kinds = base_kinds, .arg_kinds_len = N_KINDS};
  /* A copy the size of the input, so ASan sees a read past it. */
  uint8_t *file = malloc(size ? size : 1);
  if (!file) return 0;
  if (size) memcpy(file, data, size);
  uint64_t digest = 0;
  if (size > 0 && (file[size - 1] & 1) && llmc_weights_head_digest(file, size, &digest)) {
    m.weights_size = size;
    m.weights_digest = digest;
  }
  uint64_t off = 0;
  llmc_status_t *s = llmc_rt_weights_check("fuzz", &m, file, size, &off);
  if (s) {
    FUZZ_CHECK(llmc_status_code(s) == LLMC_DATA_LOSS);
    llmc_status_free(s);
  } else {
    FUZZ_CHECK(off % 64 == 0 && off <= size && (size - off) / 4 >= (uint64_t)WF);
  }
  free(file);
  return 0;
}
