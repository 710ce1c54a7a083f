/* verify.c: the graph verifier, run after construction, parsing and every
 * pass. It re-derives each node's type from the op table, checks that uses
 * follow definitions (so the graph is acyclic), that ids match positions,
 * and the row-wise rule: activations are [T, n], weights have no T. */
#include <stdio.h>
#include <string.h>

#include "llmc_ir.h"
#include "ops_impl.h"

static llmc_status_t *verr(const llmc_ir_graph_t *g, const llmc_value_t *v, const char *msg) {
  char where[128];
  snprintf(where, sizeof where, "%s: %%%d", g->name, v ? v->id : -1);
  return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s", msg);
}

llmc_status_t *llmc_ir_verify(const llmc_ir_graph_t *g) {
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->id != i) return verr(g, v, "value id does not match its position");
    if (v->dead) return verr(g, v, "dead value left in the graph");
    switch (v->kind) {
      case LLMC_VALUE_INPUT:
        if (!v->name) return verr(g, v, "input without a name");
        if (v->shape.rank < 1 || v->shape.dims[0] != LLMC_DIM_T)
          return verr(g, v, "inputs must have the token dim T first");
        break;
      case LLMC_VALUE_WEIGHT:
        if (!v->name) return verr(g, v, "weight without a name");
        for (int d = 0; d < v->shape.rank; d++)
          if (v->shape.dims[d] <= 0) return verr(g, v, "weights must have positive constant dims");
        for (int j = 0; j < i; j++)
          if (g->values[j]->kind == LLMC_VALUE_WEIGHT && strcmp(g->values[j]->name, v->name) == 0)
            return verr(g, v, "weight defined twice");
        break;
      case LLMC_VALUE_NODE: {
        for (int j = 0; j < v->n_inputs; j++) {
          const llmc_value_t *in = v->inputs[j];
          if (!in || in->id >= i || g->values[in->id] != in)
            return verr(g, v, "operand is not defined before its use");
        }
        char where[128];
        snprintf(where, sizeof where, "%s: %%%d", g->name, v->id);
        llmc_dtype_t dt;
        llmc_shape_t shape;
        LLMC_RETURN_IF_ERROR(llmc_ir_node_infer(v, where, &dt, &shape));
        if (dt != v->dtype || shape.rank != v->shape.rank ||
            memcmp(shape.dims, v->shape.dims, sizeof(int64_t) * (size_t)shape.rank) != 0)
          return verr(g, v, "stored type differs from the op's inferred type");
        if (dt != LLMC_DT_KV && v->op != LLMC_OP_CONCAT && (shape.rank < 1 || shape.dims[0] != LLMC_DIM_T))
          return verr(g, v, "node results must be row-wise in T");
        break;
      }
    }
  }
  if (g->n_outputs == 0) return verr(g, NULL, "graph has no outputs");
  for (int i = 0; i < g->n_outputs; i++) {
    const llmc_value_t *v = g->outputs[i].value;
    if (!v || v->id >= g->n_values || g->values[v->id] != v)
      return verr(g, v, "output refers to a value outside the graph");
    for (int j = 0; j < i; j++)
      if (strcmp(g->outputs[j].name, g->outputs[i].name) == 0)
        return verr(g, v, "output name used twice");
  }
  return NULL;
}
