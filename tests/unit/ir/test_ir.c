/* Unit tests for ir/: builder, parser rejections (each malformed graph gets a
 * clear, located error), verifier, and the reference interpreter's kernels
 * on cases small enough to check by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llmc_ir.h"

#define HEAD                                  \
  "graph \"g\" {\n"                           \
  "  %0 = input \"tokens\" : i32[T]\n"        \
  "  %1 = input \"positions\" : i32[T]\n"     \
  "  %2 = weight \"emb\" : f32[16,8]\n"       \
  "  %3 = embedding %0, %2 : f32[T,8]\n"

typedef struct {
  const char *text;
  const char *message; /* substring of the formatted error */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {HEAD "  %4 = frobnicate %3 : f32[T,8]\n  output \"logits\" = %4\n}\n", "unknown op 'frobnicate'"},
    {HEAD "  %4 = silu %9 : f32[T,8]\n  output \"logits\" = %4\n}\n", "use of undefined value %9"},
    {HEAD "  %4 = silu %4 : f32[T,8]\n  output \"logits\" = %4\n}\n", "use of undefined value %4"},
    {HEAD "  %3 = silu %3 : f32[T,8]\n  output \"logits\" = %3\n}\n", "defined twice"},
    {HEAD "  %4 = silu %3 : f32[T,9]\n  output \"logits\" = %4\n}\n", "written type differs"},
    {HEAD "  %4 = rms_norm %3, %2 {eps = 1e-5} : f32[T,8]\n  output \"logits\" = %4\n}\n", "operand 1"},
    {HEAD "  %4 = weight \"n\" : f32[8]\n  %5 = rms_norm %3, %4 : f32[T,8]\n  output \"logits\" = %5\n}\n",
     "missing attribute 'eps'"},
    {HEAD "  %4 = weight \"n\" : f32[8]\n  %5 = rms_norm %3, %4 {eps = 1e-5, bogus = 1} : f32[T,8]\n"
          "  output \"logits\" = %5\n}\n",
     "unknown attribute 'bogus'"},
    {HEAD "  %4 = weight \"w\" : f32[4,9]\n  %5 = matmul %3, %4 {transpose_b = true} : f32[T,4]\n"
          "  output \"logits\" = %5\n}\n",
     "inner dimensions differ"},
    {HEAD "  %4 = attention %3, %3, %1 {n_heads = 2, n_kv_heads = 1, head_dim = 4} : f32[T,8]\n"
          "  output \"logits\" = %4\n}\n",
     "the result of a kv_write"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 3, theta = 1.0} : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "head_dim 3 must be even"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"ntk\", factor = 2.0} : f32[T,8]\n"
          "  output \"logits\" = %4\n}\n",
     "scaling must be \"linear\", \"dynamic\", \"llama3\", \"yarn\" or \"longrope\""},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, factor = 2.0} : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "rope: factor does not apply to RoPE without scaling"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"llama3\", factor = 8.0} : f32[T,8]\n"
          "  output \"logits\" = %4\n}\n",
     "rope: scaling \"llama3\" needs low_freq_factor"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"linear\", factor = 2.0, beta_fast = 3.0} : "
          "f32[T,8]\n  output \"logits\" = %4\n}\n",
     "rope: beta_fast does not apply to linear"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"llama3\", factor = 8.0, low_freq_factor = 4.0, "
          "high_freq_factor = 1.0, original_context = 64} : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "high_freq_factor must exceed low_freq_factor"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"linear\", factor = 0.0} : f32[T,8]\n"
          "  output \"logits\" = %4\n}\n",
     "attribute 'factor' is 0, outside"},
    {HEAD "  %4 = weight \"n\" : f32[3]\n  %5 = rms_norm %3, %4 {eps = 1e-5, group = 3} : f32[T,8]\n"
          "  output \"logits\" = %5\n}\n",
     "rms_norm: group 3 must be positive and divide the row size 8"},
    {HEAD "  %4 = weight \"n\" : f32[8]\n  %5 = rms_norm %3, %4 {eps = 1e-5, group = 4} : f32[T,8]\n"
          "  output \"logits\" = %5\n}\n",
     "operand 1 has type f32[8], expected a float weight [4]"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"longrope\", ext_factors = [1.0, 2.0, 3.0], "
          "original_context = 64} : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "ext_factors has 3 factors, not rotary_dim / 2 = 2"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"longrope\", ext_factors = [1.0, -2.0], "
          "original_context = 64} : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "attribute 'ext_factors' holds -2, outside (0, 1e6)"},
    {HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"longrope\", ext_factors = [1.0, 2.0}"
          " : f32[T,8]\n  output \"logits\" = %4\n}\n",
     "expected ']'"},
    {HEAD "  %4 = silu %3 : f32[T,8]\n}\n", "graph has no outputs"},
    {HEAD "  %4 = silu %3 : f32[T,8]\n  output \"logits\" = %4\n", "unexpected end of input"},
    {HEAD "  %4 = silu %3 : q7[T,8]\n  output \"logits\" = %4\n}\n", "unknown dtype 'q7'"},
    {HEAD "  %4 = add %3, %0 : f32[T,8]\n  output \"logits\" = %4\n}\n", "operand 1 has type i32[T]"},
    {"graph \"g\" {\n  %0 = input \"tokens\" : i32[4]\n  output \"logits\" = %0\n}\n", "token dim T first"},
    {HEAD "  %4 = silu %3 : f32[T,8]\n  output \"logits\" = %4\n  output \"logits\" = %3\n}\n", "defined twice"},
    {"graph \"g\" {\n  %0 = input \"tokens\" : i32[T]\n  %1 = weight \"w\" : f32[T,4]\n"
     "  output \"logits\" = %0\n}\n",
     "positive constant dims"},
};

static void test_parser_rejects(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    llmc_ir_graph_t *g = NULL;
    llmc_status_t *s = llmc_ir_parse(bad_cases[i].text, "bad.ir", &g);
    if (!s) fail_msg("case %zu parsed but should not", i);
    char msg[2048];
    llmc_status_format(s, msg, sizeof msg);
    if (!strstr(msg, bad_cases[i].message)) fail_msg("case %zu: '%s' lacks '%s'", i, msg, bad_cases[i].message);
    assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
    assert_null(g);
    llmc_status_free(s);
  }
}

static void test_error_has_line(void **state) {
  (void)state;
  llmc_ir_graph_t *g;
  llmc_status_t *s = llmc_ir_parse(HEAD "  %4 = frob %3 : f32[T,8]\n}\n", "m.ir", &g);
  char msg[512];
  llmc_status_format(s, msg, sizeof msg);
  assert_non_null(strstr(msg, "m.ir:6: error:"));
  llmc_status_free(s);
}

static void test_builder_and_verifier(void **state) {
  (void)state;
  llmc_ir_graph_t *g;
  assert_null(llmc_ir_graph_create("b", &g));
  llmc_value_t *tok, *pos, *emb, *x, *y;
  llmc_shape_t t = {.rank = 1, .dims = {LLMC_DIM_T}};
  assert_null(llmc_ir_graph_add_input(g, "tokens", LLMC_DT_I32, t, &tok));
  assert_null(llmc_ir_graph_add_input(g, "positions", LLMC_DT_I32, t, &pos));
  assert_null(llmc_ir_graph_add_weight(g, "emb", LLMC_DT_F16, (llmc_shape_t){2, {10, 4}}, &emb));
  llmc_value_t *ins[] = {tok, emb};
  assert_null(llmc_ir_graph_add_node(g, LLMC_OP_EMBEDDING, ins, 2, NULL, 0, "here", &x));
  assert_int_equal(x->shape.dims[1], 4);
  assert_int_equal(x->shape.dims[0], LLMC_DIM_T);
  /* Wrong arity is refused at construction with the caller's location. */
  llmc_status_t *s = llmc_ir_graph_add_node(g, LLMC_OP_SILU, ins, 2, NULL, 0, "model.json: graph[1]", &y);
  char msg[512];
  llmc_status_format(s, msg, sizeof msg);
  assert_string_equal(msg, "model.json: graph[1]: error: silu takes 1 operands, got 2");
  llmc_status_free(s);
  assert_null(llmc_ir_graph_add_node(g, LLMC_OP_SILU, &x, 1, NULL, 0, NULL, &y));
  assert_null(llmc_ir_graph_add_output(g, "logits", y));
  assert_null(llmc_ir_verify(g));
  /* Corrupting a stored type is caught by the verifier. */
  y->shape.dims[1] = 5;
  s = llmc_ir_verify(g);
  assert_non_null(s);
  llmc_status_free(s);
  llmc_ir_graph_destroy(g);
}

/* RoPE's inverse frequencies with each scaling, against the formulas of
 * Hugging Face transformers (modeling_rope_utils.py) evaluated by hand. */
static void test_rope_inv_freq(void **state) {
  (void)state;
  float inv[4];
  /* Default, head_dim 8, theta 1e4: 1e4^(-i/4) = 1, 0.1, 0.01, 0.001. */
  llmc_rope_t r = {.theta = 10000, .cos_sin_scale = 1};
  llmc_ir_rope_inv_freq(&r, 8, inv);
  assert_true(inv[0] == 1.0f);
  for (int i = 1; i < 4; i++) assert_true(fabsf(inv[i] - powf(10.0f, (float)-i)) < 1e-9f);
  /* Linear: every frequency over factor. */
  r.scaling = LLMC_ROPE_LINEAR;
  r.factor = 4;
  llmc_ir_rope_inv_freq(&r, 8, inv);
  assert_true(inv[0] == 0.25f && fabsf(inv[3] - 0.00025f) < 1e-10f);
  /* llama3, original context 100, low/high freq factors 1/4: wavelengths
   * 2*pi/f = 6.28, 62.8, 628, 6283. Above 100 (low) are divided by factor 8;
   * below 25 (high) kept; 62.8 is in the band: smooth = (100/62.83 - 1) / 3
   * = 0.19718, f = (1 - smooth) * 0.1/8 + smooth * 0.1. */
  r = (llmc_rope_t){.theta = 10000, .cos_sin_scale = 1, .scaling = LLMC_ROPE_LLAMA3, .factor = 8,
                    .low_freq_factor = 1, .high_freq_factor = 4, .original_context = 100};
  llmc_ir_rope_inv_freq(&r, 8, inv);
  double smooth = (100.0 / (2 * M_PI / 0.1) - 1) / 3;
  assert_true(inv[0] == 1.0f);
  assert_true(fabs(inv[1] - ((1 - smooth) * 0.1 / 8 + smooth * 0.1)) < 1e-8);
  assert_true(fabs(inv[2] - 0.01 / 8) < 1e-9 && fabs(inv[3] - 0.001 / 8) < 1e-10);
  /* yarn, head_dim 8, original context 1000, beta_fast 32, beta_slow 1:
   * low = floor(8 ln(1000 / (32*2pi)) / (2 ln 1e4)) = floor(0.17) = 0,
   * high = ceil(8 ln(1000 / 2pi) / (2 ln 1e4)) = ceil(2.2) = 3; ramp
   * (i - 0) / 3: pair 0 extrapolated (kept), pair 3 interpolated (/factor),
   * pair 1 one third of the way. */
  r = (llmc_rope_t){.theta = 10000, .scaling = LLMC_ROPE_YARN, .factor = 4, .original_context = 1000,
                    .beta_fast = 32, .beta_slow = 1, .truncate = true};
  llmc_ir_rope_inv_freq(&r, 8, inv);
  assert_true(inv[0] == 1.0f);
  assert_true(fabs(inv[1] - (0.1 / 4 * (1.0 / 3) + 0.1 * (2.0 / 3))) < 1e-8);
  assert_true(fabs(inv[3] - 0.001 / 4) < 1e-10);
}

/* yarn's attention factor defaults to 0.1 ln(factor) + 1 and scales cos and sin. */
static void test_rope_read(void **state) {
  (void)state;
  llmc_ir_graph_t *g = NULL;
  assert_null(llmc_ir_parse(HEAD "  %4 = rope %3, %1 {head_dim = 4, theta = 1e4, scaling = \"yarn\", factor = 4.0, "
                                 "original_context = 64} : f32[T,8]\n  output \"logits\" = %4\n}\n",
                            "yarn.ir", &g));
  llmc_rope_t r;
  assert_true(llmc_ir_rope_of(g->values[4], &r));
  assert_int_equal(r.scaling, LLMC_ROPE_YARN);
  assert_true(fabs(r.cos_sin_scale - (0.1 * log(4.0) + 1)) < 1e-12);
  assert_true(r.beta_fast == 32 && r.beta_slow == 1 && r.truncate);
  llmc_ir_graph_destroy(g);
}

/* ---- interpreter ---- */

typedef struct {
  const char *name;
  float *data;
  llmc_shape_t shape;
} fixture_weight_t;

static fixture_weight_t weights[8];

static bool lookup(void *ctx, const char *name, llmc_weight_view_t *out) {
  (void)ctx;
  for (int i = 0; i < 8 && weights[i].name; i++)
    if (strcmp(weights[i].name, name) == 0) {
      *out = (llmc_weight_view_t){.name = name, .dtype = LLMC_DT_F32, .shape = weights[i].shape, .data = weights[i].data};
      return true;
    }
  return false;
}

static void test_interp_attention(void **state) {
  (void)state;
  /* One head, head_dim 2, identity projections: with a single token,
   * attention returns v; with two, the second token mixes both values by
   * softmax(q.k * scale). */
  static float emb[3 * 2] = {1, 0, 0, 1, 2, 2};
  static float eye[2 * 2] = {1, 0, 0, 1};
  weights[0] = (fixture_weight_t){"emb", emb, {2, {3, 2}}};
  weights[1] = (fixture_weight_t){"eye", eye, {2, {2, 2}}};
  const char *text =
      "graph \"a\" {\n"
      "  %0 = input \"tokens\" : i32[T]\n  %1 = input \"positions\" : i32[T]\n"
      "  %2 = weight \"emb\" : f32[3,2]\n  %3 = weight \"eye\" : f32[2,2]\n"
      "  %4 = embedding %0, %2 : f32[T,2]\n"
      "  %5 = matmul %4, %3 {transpose_b = true} : f32[T,2]\n"
      "  %6 = kv_write %5, %4, %1 {layer = 0, n_kv_heads = 1, head_dim = 2} : kv\n"
      "  %7 = attention %5, %6, %1 {n_heads = 1, n_kv_heads = 1, head_dim = 2, scale = 1.0} : f32[T,2]\n"
      "  output \"logits\" = %7\n}\n";
  llmc_ir_graph_t *g;
  assert_null(llmc_ir_parse(text, "a.ir", &g));
  llmc_interp_t *it;
  assert_null(llmc_interp_create(g, lookup, NULL, 8, &it));
  int32_t tok[2] = {0, 1}, pos[2] = {0, 1};
  const float *out;
  int64_t vocab;
  assert_null(llmc_interp_step(it, tok, pos, 1, &out, &vocab));
  assert_int_equal(vocab, 2);
  assert_float_equal(out[0], 1.0f, 1e-6);
  assert_float_equal(out[1], 0.0f, 1e-6);
  /* Token 1 at position 1: q = (0,1); scores k0=(1,0) → 0, k1=(0,1) → 1. */
  assert_null(llmc_interp_step(it, &tok[1], &pos[1], 1, &out, &vocab));
  float w1 = expf(1) / (1 + expf(1)), w0 = 1 - w1;
  assert_float_equal(out[0], w0, 1e-6);
  assert_float_equal(out[1], w1, 1e-6);
  /* Out-of-range inputs are errors, not crashes. */
  int32_t bad_tok = 7, bad_pos = 8;
  llmc_status_t *s = llmc_interp_step(it, &bad_tok, &pos[0], 1, &out, &vocab);
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  llmc_status_free(s);
  s = llmc_interp_step(it, &tok[0], &bad_pos, 1, &out, &vocab);
  assert_int_equal(llmc_status_code(s), LLMC_OUT_OF_RANGE);
  llmc_status_free(s);
  llmc_interp_destroy(it);
  llmc_ir_graph_destroy(g);
}

static void test_interp_rowwise(void **state) {
  (void)state;
  static float emb[2 * 4] = {1, 2, 3, 4, -1, 0, 1, 2};
  static float ones[4] = {1, 1, 1, 1};
  weights[0] = (fixture_weight_t){"emb", emb, {2, {2, 4}}};
  weights[1] = (fixture_weight_t){"g", ones, {1, {4}}};
  weights[2] = (fixture_weight_t){NULL, NULL, {0}};
  const char *text =
      "graph \"r\" {\n"
      "  %0 = input \"tokens\" : i32[T]\n  %1 = input \"positions\" : i32[T]\n"
      "  %2 = weight \"emb\" : f32[2,4]\n  %3 = weight \"g\" : f32[4]\n"
      "  %4 = embedding %0, %2 : f32[T,4]\n"
      "  %5 = rms_norm %4, %3 {eps = 1e-30} : f32[T,4]\n"
      "  %6 = softmax %5 : f32[T,4]\n"
      "  %7 = rope %4, %1 {head_dim = 4, theta = 10000.0} : f32[T,4]\n"
      "  output \"logits\" = %6\n  output \"rope\" = %7\n  output \"norm\" = %5\n}\n";
  llmc_ir_graph_t *g;
  assert_null(llmc_ir_parse(text, "r.ir", &g));
  llmc_interp_t *it;
  assert_null(llmc_interp_create(g, lookup, NULL, 8, &it));
  int32_t tok[2] = {0, 1}, pos[2] = {0, 0};
  const float *out;
  int64_t vocab;
  assert_null(llmc_interp_step(it, tok, pos, 2, &out, &vocab));
  float sum = 0;
  for (int i = 0; i < 4; i++) sum += out[i];
  assert_float_equal(sum, 1.0f, 1e-6);
  assert_true(out[3] > out[2] && out[2] > out[1]);
  llmc_interp_destroy(it);
  llmc_ir_graph_destroy(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parser_rejects),   cmocka_unit_test(test_error_has_line),
      cmocka_unit_test(test_builder_and_verifier), cmocka_unit_test(test_interp_attention),
      cmocka_unit_test(test_interp_rowwise),   cmocka_unit_test(test_rope_inv_freq),
      cmocka_unit_test(test_rope_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
