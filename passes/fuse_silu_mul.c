/* fuse_silu_mul.c: mul(silu(g), u) → silu_mul(g, u), the gate of SwiGLU MLPs
 * (Shazeer 2020, "GLU Variants Improve Transformer"), and mul(gelu(g), u) →
 * gelu_mul(g, u), GeGLU's (Gemma). One kernel instead of two, and the
 * activation is never written to memory. Only fuses when the activation's
 * value has no other use, so nothing is computed twice; mul is commutative,
 * so the activation may be either operand. */
#include <stdlib.h>

#include "llmc_passes.h"

llmc_status_t *llmc_pass_fuse_silu_mul(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  (void)remarks;
  int *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
  if (!uses) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int i = 0; i < g->n_values; i++)
    for (int j = 0; j < g->values[i]->n_inputs; j++) uses[g->values[i]->inputs[j]->id]++;
  for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].value->id]++;
  int changed = 0;
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_MUL) continue;
    for (int side = 0; side < 2; side++) {
      llmc_value_t *s = v->inputs[side], *other = v->inputs[1 - side];
      if (s->kind != LLMC_VALUE_NODE || (s->op != LLMC_OP_SILU && s->op != LLMC_OP_GELU) || uses[s->id] != 1)
        continue;
      /* The activation and mul keep their types: rewrite the mul in place. */
      v->op = s->op == LLMC_OP_SILU ? LLMC_OP_SILU_MUL : LLMC_OP_GELU_MUL;
      v->inputs[0] = s->inputs[0];
      v->inputs[1] = other;
      s->dead = true;
      changed++;
      break;
    }
  }
  free(uses);
  *out_changed = changed;
  return NULL;
}
