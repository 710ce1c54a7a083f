/* Unit tests for passes/: properties of plan-memory and of the rewriting
 * passes on random graphs, checked against definitions written here
 * independently of the passes (no two buffers whose lifetimes meet share
 * memory; the planner's first-fit choice equals a quadratic reference's;
 * a rewrite leaves a valid graph in definition order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llmc_passes.h"

static const int64_t widths[] = {16, 48, 96, 160};

/* A random graph: an embedding, then n nodes each an add of two earlier
 * values of one width (chosen anywhere before it, so lifetimes are long
 * and tangled) or a matmul changing the width; outputs: the last value and
 * a few random ones (outputs live to the end). */
static llmc_ir_graph_t *random_graph(uint64_t *rng, int n) {
  llmc_ir_graph_t *g;
  assert_null(llmc_ir_graph_create("random", &g));
  llmc_value_t *tok, *pos, *w, *x;
  llmc_shape_t t = {.rank = 1, .dims = {LLMC_DIM_T}};
  assert_null(llmc_ir_graph_add_input(g, "tokens", LLMC_DT_I32, t, &tok));
  assert_null(llmc_ir_graph_add_input(g, "positions", LLMC_DT_I32, t, &pos));
  assert_null(llmc_ir_graph_add_weight(g, "emb", LLMC_DT_F32, (llmc_shape_t){2, {32, widths[0]}}, &w));
  llmc_value_t *ins[2] = {tok, w};
  assert_null(llmc_ir_graph_add_node(g, LLMC_OP_EMBEDDING, ins, 2, NULL, 0, NULL, &x));
  llmc_value_t **vals = malloc(sizeof *vals * (size_t)(n + 1));
  int nv = 0;
  vals[nv++] = x;
  for (int i = 0; i < n; i++) {
    llmc_value_t *a = vals[llmc_rng_next(rng) % (uint64_t)nv], *y;
    llmc_value_t *b = NULL;
    for (int tries = 0; tries < 8 && !b; tries++) {
      llmc_value_t *c = vals[llmc_rng_next(rng) % (uint64_t)nv];
      if (c->shape.dims[1] == a->shape.dims[1]) b = c;
    }
    if (b && llmc_rng_next(rng) % 3) {
      llmc_value_t *two[2] = {a, b};
      assert_null(llmc_ir_graph_add_node(g, LLMC_OP_ADD, two, 2, NULL, 0, NULL, &y));
    } else {
      int64_t out = widths[llmc_rng_next(rng) % 4];
      char name[32];
      snprintf(name, sizeof name, "w%d", i);
      llmc_value_t *m;
      assert_null(llmc_ir_graph_add_weight(g, name, LLMC_DT_F32, (llmc_shape_t){2, {out, a->shape.dims[1]}}, &m));
      llmc_value_t *two[2] = {a, m};
      llmc_attr_t tb = {.name = "transpose_b", .kind = LLMC_ATTR_BOOL, .i = 1};
      assert_null(llmc_ir_graph_add_node(g, LLMC_OP_MATMUL, two, 2, &tb, 1, NULL, &y));
    }
    vals[nv++] = y;
  }
  assert_null(llmc_ir_graph_add_output(g, "logits", vals[nv - 1]));
  for (int k = 0; k < 3; k++) {
    char name[16];
    snprintf(name, sizeof name, "extra%d", k);
    llmc_status_free(llmc_ir_graph_add_output(g, name, vals[llmc_rng_next(rng) % (uint64_t)nv]));
  }
  free(vals);
  assert_null(llmc_ir_verify(g));
  return g;
}

/* Lifetimes by definition: [definition, last read], outputs to the end. */
static void lifetimes(const llmc_ir_graph_t *g, int64_t *first, int64_t *last) {
  for (int i = 0; i < g->n_values; i++) first[i] = last[i] = i;
  for (int i = 0; i < g->n_values; i++)
    for (int j = 0; j < g->values[i]->n_inputs; j++) last[g->values[i]->inputs[j]->id] = i;
  for (int i = 0; i < g->n_outputs; i++) last[g->outputs[i].value->id] = g->n_values;
}

static int64_t buffer_floats(const llmc_value_t *v, int64_t max_tokens) {
  return (max_tokens * v->shape.dims[1] + 15) / 16 * 16;
}

/* The placement rule, quadratically: largest first (ties by id), each at the
 * lowest offset clear of every placed buffer whose lifetime meets its own. */
static int64_t reference_arena(const llmc_ir_graph_t *g, const int64_t *first, const int64_t *last, int64_t T) {
  int n = 0;
  int *order = malloc(sizeof(int) * (size_t)g->n_values);
  int64_t *off = malloc(sizeof(int64_t) * (size_t)g->n_values), arena = 0;
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i]->kind == LLMC_VALUE_NODE) order[n++] = i;
  for (int i = 1; i < n; i++) /* insertion sort: size descending, id ascending */
    for (int j = i; j > 0; j--) {
      int64_t a = buffer_floats(g->values[order[j]], T), b = buffer_floats(g->values[order[j - 1]], T);
      if (a < b || (a == b && order[j] > order[j - 1])) break;
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  for (int i = 0; i < n; i++) {
    int v = order[i];
    int64_t size = buffer_floats(g->values[v], T), o = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int j = 0; j < i; j++) {
        int p = order[j];
        int64_t ps = buffer_floats(g->values[p], T);
        if (first[p] <= last[v] && first[v] <= last[p] && off[p] < o + size && o < off[p] + ps) {
          o = off[p] + ps;
          moved = true;
        }
      }
    }
    off[v] = o;
    if (o + size > arena) arena = o + size;
  }
  free(order);
  free(off);
  return arena;
}

static void test_plan_memory_random(void **state) {
  (void)state;
  uint64_t rng = 42;
  for (int round = 0; round < 40; round++) {
    int n = 5 + (int)(llmc_rng_next(&rng) % 300);
    llmc_ir_graph_t *g = random_graph(&rng, n);
    const int64_t T = 1 + (int64_t)(llmc_rng_next(&rng) % 8);
    llmc_memory_plan_t plan;
    assert_null(llmc_plan_memory(g, T, &plan));
    int64_t *first = malloc(sizeof(int64_t) * (size_t)g->n_values), *last = malloc(sizeof(int64_t) * (size_t)g->n_values);
    lifetimes(g, first, last);
    for (int i = 0; i < g->n_values; i++) {
      const llmc_value_t *a = g->values[i];
      if (a->kind != LLMC_VALUE_NODE) continue;
      assert_true(plan.offsets[i] >= 0 && plan.offsets[i] % 16 == 0);
      int64_t sa = buffer_floats(a, T);
      assert_true(plan.offsets[i] + sa <= plan.arena_floats);
      for (int j = 0; j < i; j++) {
        const llmc_value_t *b = g->values[j];
        if (b->kind != LLMC_VALUE_NODE || first[j] > last[i] || first[i] > last[j]) continue;
        int64_t sb = buffer_floats(b, T);
        bool apart = plan.offsets[i] + sa <= plan.offsets[j] || plan.offsets[j] + sb <= plan.offsets[i];
        if (!apart) fail_msg("round %d: %%%d and %%%d are live together and share memory", round, i, j);
      }
    }
    assert_int_equal(plan.arena_floats, reference_arena(g, first, last, T));
    assert_true(plan.arena_floats <= plan.naive_floats);
    free(first);
    free(last);
    llmc_memory_plan_free(&plan);
    llmc_ir_graph_destroy(g);
  }
}

/* The -O2 pipeline on random graphs full of sibling matmuls and residual
 * adds: every graph it leaves verifies, and still plans. */
static void test_pipeline_random(void **state) {
  (void)state;
  uint64_t rng = 7;
  for (int round = 0; round < 40; round++) {
    llmc_ir_graph_t *g = random_graph(&rng, 5 + (int)(llmc_rng_next(&rng) % 200));
    llmc_pass_options_t o = {.opt_level = 2, .max_tokens = 4};
    llmc_pass_result_t r;
    assert_null(llmc_passes_run(g, &o, &r));
    assert_true(r.planned);
    assert_null(llmc_ir_verify(g));
    for (int i = 0; i < g->n_values; i++) assert_int_equal(g->values[i]->id, i);
    llmc_pass_result_free(&r);
    llmc_ir_graph_destroy(g);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_memory_random),
      cmocka_unit_test(test_pipeline_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
