/* fuse_norm_add.c: fuse-norm-add. A residual plus a normalised sublayer
 * output, the post-norms of Gemma 2/3,
 *
 *   %n = rms_norm(%o, %w) {eps, offset}
 *   %x2 = add(%x, %n)                     ->   %x2 = rms_norm_add(%o, %w, %x) {eps, offset}
 *
 * in one row kernel instead of two; the normalised row is never written.
 * Only when the norm's result has no other use and normalises whole rows
 * (no group); add is commutative, so the norm may be either operand. Each
 * candidate refused is a remark with the reason. */
#include <stdlib.h>

#include "llmc_passes.h"

llmc_status_t *llmc_pass_fuse_norm_add(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  *out_changed = 0;
  int *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
  if (!uses) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int i = 0; i < g->n_values; i++)
    for (int j = 0; j < g->values[i]->n_inputs; j++) uses[g->values[i]->inputs[j]->id]++;
  for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].value->id]++;
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->dead || v->op != LLMC_OP_ADD) continue;
    for (int side = 0; side < 2; side++) {
      llmc_value_t *n = v->inputs[side], *r = v->inputs[1 - side];
      if (n->kind != LLMC_VALUE_NODE || n->op != LLMC_OP_RMS_NORM) continue;
      const char *why = uses[n->id] != 1                               ? "the norm's result has other uses"
                        : llmc_ir_norm_group(n) != n->shape.dims[1] ? "the norm is per group"
                                                                      : NULL;
      if (why) {
        llmc_pass_remark(remarks, "fuse-norm-add", false, "%%%d: %s", v->id, why);
        continue;
      }
      /* The add keeps its type: rewritten in place, with the norm's attributes. */
      llmc_value_t **ins = llmc_arena_alloc(g->arena, sizeof *ins * 3);
      if (!ins) {
        free(uses);
        return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
      }
      ins[0] = n->inputs[0];
      ins[1] = n->inputs[1];
      ins[2] = r;
      v->op = LLMC_OP_RMS_NORM_ADD;
      v->inputs = ins;
      v->n_inputs = 3;
      v->attrs = n->attrs;
      v->n_attrs = n->n_attrs;
      n->dead = true;
      (*out_changed)++;
      llmc_pass_remark(remarks, "fuse-norm-add", true, "%%%d: add + rms_norm -> rms_norm_add", v->id);
      break;
    }
  }
  free(uses);
  return NULL;
}
