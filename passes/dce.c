/* dce.c: dead-code elimination. Marks everything reachable backwards from the
 * outputs and drops the rest, including weights nothing reads (so they are
 * not written into the artifact). Graph inputs are part of the ABI and stay. */
#include <stdlib.h>

#include "llmc_passes.h"

llmc_status_t *llmc_pass_dce(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  (void)remarks;
  bool *live = calloc((size_t)g->n_values + 1, sizeof *live);
  if (!live) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i].value->id] = true;
  /* Operands precede their users, so one backward sweep reaches everything. */
  for (int i = g->n_values - 1; i >= 0; i--) {
    llmc_value_t *v = g->values[i];
    if (v->kind == LLMC_VALUE_INPUT) live[i] = true;
    if (!live[i]) continue;
    for (int j = 0; j < v->n_inputs; j++) live[v->inputs[j]->id] = true;
  }
  int changed = 0;
  for (int i = 0; i < g->n_values; i++)
    if (!live[i]) {
      g->values[i]->dead = true;
      changed++;
    }
  free(live);
  *out_changed = changed;
  return NULL;
}
