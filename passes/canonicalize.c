/* canonicalize.c: puts nodes in one normal form so later passes compare
 * structure, not spelling: commutative operands ordered by value id (so
 * add(a,b) and add(b,a) become one CSE candidate), attributes equal to
 * their documented defaults dropped (transpose_b=false, style="half"), and
 * identities removed (softcap with cap 0: a Gemma 3 without final
 * soft-capping). */
#include <string.h>

#include "llmc_passes.h"

static bool is_default_attr(const llmc_value_t *v, const llmc_attr_t *a) {
  if (v->op == LLMC_OP_MATMUL && strcmp(a->name, "transpose_b") == 0) return a->i == 0;
  if (v->op == LLMC_OP_ROPE && strcmp(a->name, "style") == 0) return strcmp(a->s, "half") == 0;
  return false;
}

llmc_status_t *llmc_pass_canonicalize(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  (void)remarks;
  int changed = 0;
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->dead) continue;
    if (v->op == LLMC_OP_SOFTCAP && llmc_ir_attr_float(v, "cap", 0) == 0) {
      llmc_ir_graph_replace_uses(g, v, v->inputs[0]);
      v->dead = true;
      changed++;
      continue;
    }
    if ((v->op == LLMC_OP_ADD || v->op == LLMC_OP_MUL) && v->inputs[0]->id > v->inputs[1]->id) {
      llmc_value_t *t = v->inputs[0];
      v->inputs[0] = v->inputs[1];
      v->inputs[1] = t;
      changed++;
    }
    int n = 0;
    for (int j = 0; j < v->n_attrs; j++) {
      if (is_default_attr(v, &v->attrs[j])) {
        changed++;
        continue;
      }
      v->attrs[n++] = v->attrs[j];
    }
    v->n_attrs = n;
  }
  *out_changed = changed;
  return NULL;
}
