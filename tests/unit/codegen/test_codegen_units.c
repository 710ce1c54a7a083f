/* test_codegen_units.c: the target table and template substitution, without
 * compiling anything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "llmc_codegen.h"
#include "../expect_status.h"


static void test_host_targets(void **state) {
  (void)state;
  llmc_target_t t;
  assert_null(llmc_target_lookup("host", &t));
  assert_string_equal(t.name, "host");
  assert_true(t.triple && *t.triple && t.cpu && *t.cpu);
  assert_false(t.is_gpu);
  assert_true(t.vector_bits >= 128);
  assert_null(llmc_target_lookup("x86-64-v3", &t));
  assert_string_equal(t.cpu, "x86-64-v3");
  assert_int_equal(t.vector_bits, 256);
  assert_null(llmc_target_lookup("x86-64", &t));
  assert_string_equal(t.triple, "x86_64-unknown-linux-gnu");
  assert_null(llmc_target_lookup("aarch64", &t));
  assert_string_equal(t.triple, "aarch64-unknown-linux-gnu");
  assert_string_equal(t.cpu, "generic");
}

static void test_unknown_target(void **state) {
  (void)state;
  llmc_target_t t;
  expect_error(llmc_target_lookup("x86-64-v4", &t), LLMC_INVALID_ARGUMENT,
               "unknown target 'x86-64-v4'; did you mean 'x86-64-v3'?");
  expect_error(llmc_target_lookup("hots", &t), LLMC_INVALID_ARGUMENT,
               "unknown target 'hots'; did you mean 'host'?");
  expect_error(llmc_target_lookup("gfx941", &t), LLMC_INVALID_ARGUMENT, "did you mean 'gfx942'?");
  expect_error(llmc_target_lookup("sm_100", &t), LLMC_INVALID_ARGUMENT, "did you mean 'sm_");
  expect_error(llmc_target_lookup("", &t), LLMC_INVALID_ARGUMENT, "unknown target ''");
  expect_error(llmc_target_lookup("quantum-computer-9000", &t), LLMC_INVALID_ARGUMENT,
               "known targets:");
}

static void test_gpu_targets_known(void **state) {
  (void)state;
  llmc_target_t t;
  assert_null(llmc_target_lookup("sm90", &t)); /* alias */
  assert_string_equal(t.name, "sm_90");
  static const char *gpus[] = {"sm_80", "sm_86",  "sm_89",   "sm_90a",
                               "gfx90a", "gfx942", "gfx1100", "spirv"};
  for (size_t i = 0; i < sizeof gpus / sizeof gpus[0]; i++) {
    assert_null(llmc_target_lookup(gpus[i], &t));
    assert_true(t.is_gpu);
  }
  /* The table keeps their real triples and chips. */
  int n = 0;
  const llmc_target_t *table = llmc_target_table(&n);
  int found = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(table[i].name, "sm_90a") == 0) {
      assert_string_equal(table[i].triple, "nvptx64-nvidia-cuda");
      assert_int_equal(table[i].warp_size, 32);
      found++;
    }
    if (strcmp(table[i].name, "gfx942") == 0) {
      assert_string_equal(table[i].triple, "amdgcn-amd-amdhsa");
      assert_int_equal(table[i].warp_size, 64);
      found++;
    }
  }
  assert_int_equal(found, 2);
}

static void test_every_family_embedded(void **state) {
  (void)state;
  static const char *families[] = {"embedding", "matmul", "add",      "mul",     "silu",
                                   "gelu",      "silu_mul", "rms_norm", "layer_norm", "softmax",
                                   "rope",      "kv_write", "attention", "softcap"};
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
    const char *text = llmc_template_get(families[i], "host");
    if (!text) print_error("missing %s.host.mlir\n", families[i]);
    assert_non_null(text);
    assert_non_null(strstr(text, "func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, "
                                 "%kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, "
                                 "%begin: index, %end: index) attributes {llvm.emit_c_interface}"));
    assert_null(strstr(text, "module {"));
  }
  assert_null(llmc_template_get("add", "tpu"));
  assert_null(llmc_template_get("ad", "host"));
}

static void test_instantiate(void **state) {
  (void)state;
  llmc_buf_t out = {0};
  llmc_template_param_t p[] = {{"NAME", "my_add"}, {"N", "128"}};
  assert_null(llmc_template_instantiate("add", "host", p, 2, &out));
  assert_non_null(strstr(out.data, "func.func @my_add("));
  assert_non_null(strstr(out.data, "arith.constant 128 : index"));
  assert_null(strstr(out.data, "{{"));
  /* Appends. */
  size_t len = out.len;
  assert_null(llmc_template_instantiate("add", "host", p, 2, &out));
  assert_int_equal(out.len, 2 * len);
  llmc_buf_free(&out);
}

static void test_instantiate_errors(void **state) {
  (void)state;
  llmc_buf_t out = {0};
  llmc_buf_append(&out, "keep", 4);
  llmc_template_param_t missing[] = {{"NAME", "x"}};
  expect_error(llmc_template_instantiate("add", "host", missing, 1, &out), LLMC_INTERNAL,
               "missing template parameter N");
  llmc_template_param_t unused[] = {{"NAME", "x"}, {"N", "4"}, {"K", "4"}};
  expect_error(llmc_template_instantiate("add", "host", unused, 3, &out), LLMC_INTERNAL,
               "parameter K is not used");
  llmc_template_param_t twice[] = {{"NAME", "x"}, {"N", "4"}, {"N", "5"}};
  expect_error(llmc_template_instantiate("add", "host", twice, 3, &out), LLMC_INTERNAL,
               "given twice");
  expect_error(llmc_template_instantiate("conv3d", "host", missing, 1, &out), LLMC_NOT_FOUND,
               "conv3d.host.mlir");
  expect_error(llmc_template_instantiate("add", "tpu", missing, 1, &out), LLMC_NOT_FOUND,
               "add.tpu.mlir");
  /* A failed call leaves what was there. */
  assert_int_equal(out.len, 4);
  assert_string_equal(out.data, "keep");
  llmc_buf_free(&out);
}

static void test_f32_literal(void **state) {
  (void)state;
  char buf[11];
  assert_string_equal(llmc_template_f32_literal(1e-5f, buf), "0x3727C5AC");
  assert_string_equal(llmc_template_f32_literal(1.0f, buf), "0x3F800000");
  assert_string_equal(llmc_template_f32_literal(10000.0f, buf), "0x461C4000");
  assert_string_equal(llmc_template_f32_literal(-0.0f, buf), "0x80000000");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_host_targets),          cmocka_unit_test(test_unknown_target),
      cmocka_unit_test(test_gpu_targets_known),     cmocka_unit_test(test_every_family_embedded),
      cmocka_unit_test(test_instantiate),           cmocka_unit_test(test_instantiate_errors),
      cmocka_unit_test(test_f32_literal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
