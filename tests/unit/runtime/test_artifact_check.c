/* Unit tests for the runtime's artifact checks (runtime/artifact_check.c):
 * each argument kind of a small valid plan broken one way, the plan digest,
 * and weights.safetensors headers that do not belong to the plan or lie
 * about their data. Every one must be LLMC_DATA_LOSS naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rt_check.h"
#include "expect_status.h"

enum { V = 13, D = 4, TMAX = 4, SEQS = 3, MAXB = 16, ACT = 2 * TMAX * D + TMAX * V, WF = 2 * V * D };
/* meta: tokens, positions, seqs, block tables, then logit_rows[1 + TMAX] */
enum { ROWS = 3 * TMAX + SEQS * MAXB, META = ROWS + 1 + TMAX };

/* Two launches: an embedding (x, table, tokens, rows) and a matmul-like
 * one for T in 2..T_MAX (x, logits, T, layer). */
static const int64_t base_plan[] = {
    V, TMAX, 64, SEQS, ACT, 2 * TMAX * D, 1, 1, D, 4, 2 * 4 * D, MAXB, 0, TMAX, 2 * TMAX, 3 * TMAX,
    META, WF, 2, 0, ROWS, 0,
    0, 0, 1, 1, TMAX, 4, 0, 0, 0, 0, 0, 0, V, 0,
    1, V, 0, 2, TMAX, 4, 0, 0, 2 * TMAX * D, 0, 0, 1, 0, 0,
};
static const int64_t base_kinds[] = {
    LLMC_ARG_ACT, 0, D, LLMC_ARG_WEIGHTS, V * D, 0, LLMC_ARG_META, 0, 1, LLMC_ARG_ROWS, 0, 0,
    LLMC_ARG_ACT, 0, D, LLMC_ARG_ACT, 0, V, LLMC_ARG_TOKENS, 0, 0, LLMC_ARG_LAYER, 0, 0,
};
enum { N_PLAN = sizeof base_plan / sizeof base_plan[0], N_KINDS = sizeof base_kinds / sizeof base_kinds[0] };
enum { L0 = LLMC_PLAN_HEADER_LEN, L1 = L0 + 6 + 8 }; /* where the launches start */

static int64_t plan[N_PLAN], kinds[N_KINDS];

static llmc_model_v1_t model(void) {
  return (llmc_model_v1_t){.magic = LLMC_ABI_MAGIC, .abi_version = LLMC_ABI_VERSION, .name = "test",
                           .plan = plan, .plan_len = N_PLAN, .n_kernels = 2,
                           .arg_kinds = kinds, .arg_kinds_len = N_KINDS};
}

static llmc_status_t *validate(void) {
  llmc_model_v1_t m = model();
  llmc_rt_plan_index_t ix;
  llmc_status_t *s = llmc_rt_plan_validate("model.so", &m, &ix);
  if (!s) llmc_rt_plan_index_free(&ix);
  return s;
}

static int reset(void **state) {
  (void)state;
  memcpy(plan, base_plan, sizeof plan);
  memcpy(kinds, base_kinds, sizeof kinds);
  return 0;
}

static void test_valid(void **state) {
  (void)state;
  llmc_model_v1_t m = model();
  llmc_rt_plan_index_t ix;
  assert_null(llmc_rt_plan_validate("model.so", &m, &ix));
  assert_int_equal(ix.n_launches, 2);
  assert_int_equal(ix.launch_pos[1], L1);
  assert_int_equal(ix.arg_base[1], 4);
  assert_int_equal(ix.total_args, 8);
  llmc_rt_plan_index_free(&ix);
}

static void test_offsets(void **state) {
  (void)state;
  /* The x rows of T tokens end past the arena at T = T_MAX only. */
  plan[L0 + 6] = ACT - TMAX * D + 1;
  expect_error(validate(), LLMC_DATA_LOSS, "act range [69 + 0*T, +0 + 4*T) at T = 4 lies outside the 84-element");
  reset(NULL);
  plan[L0 + 8] = WF - V * D + 1; /* the table one float past the weights */
  expect_error(validate(), LLMC_DATA_LOSS, "argument 1: weights range");
  reset(NULL);
  plan[L0 + 10] = META - 1; /* tokens: T ints from the end of meta */
  expect_error(validate(), LLMC_DATA_LOSS, "argument 2: meta range");
  reset(NULL);
  /* Launch 1 runs only for T >= 2, and its logits fit at T = 4: moving
   * them by one float is caught at T = T_MAX. */
  plan[L1 + 8] = 2 * TMAX * D + 1;
  expect_error(validate(), LLMC_DATA_LOSS, "at T = 4");
  reset(NULL);
  kinds[1] = -5; /* a negative extent */
  expect_error(validate(), LLMC_DATA_LOSS, "act range");
  reset(NULL);
  plan[L0 + 7] = INT64_MAX / 2; /* per-token offset that overflows */
  expect_error(validate(), LLMC_DATA_LOSS, "overflows");
}

static void test_kinds(void **state) {
  (void)state;
  plan[L1 + 11] = 0; /* T as 1 + 0*T */
  plan[L1 + 10] = 1;
  expect_error(validate(), LLMC_DATA_LOSS, "is the token count, but reads 1 + 0*T");
  reset(NULL);
  plan[L1 + 12] = 1; /* layer 1 of 1 */
  expect_error(validate(), LLMC_DATA_LOSS, "names layer 1 + 0*T of 1");
  reset(NULL);
  plan[L0 + 12] = V - 1; /* an embedding table smaller than the vocabulary */
  expect_error(validate(), LLMC_DATA_LOSS, "a table of 12 + 0*T rows is indexed by token ids up to the vocabulary of 13");
  reset(NULL);
  kinds[3 * 2] = LLMC_ARG_KIND_COUNT;
  expect_error(validate(), LLMC_DATA_LOSS, "unknown kind");
  reset(NULL);
  llmc_model_v1_t m = model();
  m.arg_kinds_len = N_KINDS - 3;
  llmc_rt_plan_index_t ix;
  expect_error(llmc_rt_plan_validate("model.so", &m, &ix), LLMC_DATA_LOSS, "kind table");
  m = model();
  m.arg_kinds_len = N_KINDS + 3;
  expect_error(llmc_rt_plan_validate("model.so", &m, &ix), LLMC_DATA_LOSS, "kind table has 27 values for 8 arguments");
  m = model();
  m.arg_kinds = NULL;
  expect_error(llmc_rt_plan_validate("model.so", &m, &ix), LLMC_DATA_LOSS, "kind table");
}

/* The KV pool's element type: 16-bit pools take half the words a block and
 * need an even head_dim; int8 pools HEAD_DIM / 4 + 1 words a row of
 * HEAD_DIM, a multiple of 4; nothing else is a type. */
static void test_kv_dtype(void **state) {
  (void)state;
  plan[LLMC_PLAN_KV_DTYPE] = 4;
  expect_error(validate(), LLMC_DATA_LOSS, "plan header KV_DTYPE = 4 is outside [0, 3]");
  reset(NULL);
  plan[LLMC_PLAN_KV_DTYPE] = 2; /* bf16: BLOCK_FLOATS may be half */
  plan[LLMC_PLAN_BLOCK_FLOATS] /= 2;
  assert_null(validate());
  plan[LLMC_PLAN_BLOCK_FLOATS] -= 1;
  expect_error(validate(), LLMC_DATA_LOSS, "is less than layers x 2 x block x heads x head_dim / 2");
  reset(NULL);
  plan[LLMC_PLAN_KV_DTYPE] = 1;
  plan[LLMC_PLAN_HEAD_DIM] = D - 1;
  expect_error(validate(), LLMC_DATA_LOSS, "KV_DTYPE = 1 (16-bit) with HEAD_DIM = 3, not a multiple of 2");
  reset(NULL);
  plan[LLMC_PLAN_KV_DTYPE] = 3; /* int8: 2 x 4 rows of D = 4, two words each */
  plan[LLMC_PLAN_BLOCK_FLOATS] = 2 * 4 * (D / 4 + 1);
  assert_null(validate());
  plan[LLMC_PLAN_BLOCK_FLOATS] -= 1;
  expect_error(validate(), LLMC_DATA_LOSS, "head_dim / head_dim x (head_dim / 4 + 1)");
  reset(NULL);
  plan[LLMC_PLAN_KV_DTYPE] = 3;
  plan[LLMC_PLAN_HEAD_DIM] = D - 2;
  expect_error(validate(), LLMC_DATA_LOSS, "KV_DTYPE = 3 (int8) with HEAD_DIM = 2, not a multiple of 4");
}

static void test_digest(void **state) {
  (void)state;
  llmc_model_v1_t m = model();
  m.plan_digest = llmc_plan_digest(plan, N_PLAN, kinds, N_KINDS);
  llmc_rt_plan_index_t ix;
  assert_null(llmc_rt_plan_validate("model.so", &m, &ix));
  llmc_rt_plan_index_free(&ix);
  /* One kernel index for the other: every check passes but the digest. */
  plan[L0] = 1;
  expect_error(llmc_rt_plan_validate("model.so", &m, &ix), LLMC_DATA_LOSS, "does not match its digest");
  plan[L0] = 0;
  kinds[2] ^= 1; /* an extent of the kind table */
  expect_error(llmc_rt_plan_validate("model.so", &m, &ix), LLMC_DATA_LOSS, "does not match its digest");
}

/* A weights file: header JSON padded so the data starts 64-byte aligned,
 * then data_bytes zero bytes. Returns its size. */
static size_t weights(uint8_t *buf, size_t cap, const char *json, size_t data_bytes) {
  size_t n = strlen(json);
  size_t padded = n;
  while ((8 + padded) % 64) padded++;
  assert_true(8 + padded + data_bytes <= cap);
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  memcpy(buf + 8, json, n);
  memset(buf + 8 + n, ' ', padded - n);
  memset(buf + 8 + padded, 0, data_bytes);
  return 8 + padded + data_bytes;
}

static void test_weights(void **state) {
  (void)state;
  static uint8_t buf[4096];
  llmc_model_v1_t m = model();
  uint64_t off = 0;
  const char *ok = "{\"__metadata__\":{\"model\":\"test\"},\"w\":{\"dtype\":\"F32\",\"shape\":[104],\"data_offsets\":[0,416]}}";
  size_t size = weights(buf, sizeof buf, ok, WF * 4);
  assert_null(llmc_rt_weights_check("w", &m, buf, size, &off));
  assert_int_equal(off % 64, 0);
  /* Recorded: the same file passes, another one or the same cut short not. */
  assert_true(llmc_weights_head_digest(buf, size, &m.weights_digest));
  m.weights_size = size;
  assert_null(llmc_rt_weights_check("w", &m, buf, size, &off));
  expect_error(llmc_rt_weights_check("w", &m, buf, size - 4, &off), LLMC_DATA_LOSS, "truncated");
  size_t other = weights(buf, sizeof buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[104],\"data_offsets\":[0,416]}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, other, &off), LLMC_DATA_LOSS, "does not belong to this model.so");
  m = model();
  size = weights(buf, sizeof buf, "{\"__metadata__\":{\"model\":\"other\"}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "it holds model 'other', model.so is 'test'");
  size = weights(buf, sizeof buf, "{\"w\":{\"data_offsets\":[0,417]}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "tensor 'w' has data_offsets outside");
  size = weights(buf, sizeof buf, "{\"w\":{\"data_offsets\":[8,4]}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "data_offsets");
  size = weights(buf, sizeof buf, "{\"w\":{\"data_offsets\":\"x\"}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "data_offsets");
  size = weights(buf, sizeof buf, "{\"w\": [1, 2", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "not a JSON object");
  size = weights(buf, sizeof buf, "{\"a\":{},\"a\":{}}", WF * 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "not a JSON object");
  size = weights(buf, sizeof buf, "{}", WF * 4 - 4);
  expect_error(llmc_rt_weights_check("w", &m, buf, size, &off), LLMC_DATA_LOSS, "the plan needs 104");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_valid, reset),
      cmocka_unit_test_setup(test_offsets, reset),
      cmocka_unit_test_setup(test_kinds, reset),
      cmocka_unit_test_setup(test_digest, reset),
      cmocka_unit_test_setup(test_kv_dtype, reset),
      cmocka_unit_test_setup(test_weights, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
