/* fuse_rope.c: fuse-rope. RoPE of k moves into the kv_write that stores it,
 * RoPE of q into the attention that reads it:
 *
 *   %k2 = rope(%k, %pos) {head_dim, theta, style}     kv_write(%k, %v, %pos)
 *   kv_write(%k2, %v, %pos) {...}                 ->    {..., rope_theta=theta, rope_style=style, ...}
 *
 * so the rotated rows are never written to memory and two launches go per
 * layer. The rotation is the same function in every kernel
 * (kernels_templates/rope_rot.*.mlir). Only when the rope's result has no
 * other use, its head_dim is the consumer's, and it rotates by the same
 * positions; each candidate refused is a remark with the reason. */
#include <stdlib.h>
#include <string.h>

#include "llmc_passes.h"

static llmc_status_t *oom(void) { return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory"); }

/* Why rope r cannot move into consumer c (whose operand 0 it is); NULL
 * when it can. */
static const char *refusal(const llmc_ir_graph_t *g, const int *uses, const llmc_value_t *r, const llmc_value_t *c) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i].value == r) return "its result is a graph output";
  if (uses[r->id] != 1) return "its result has other uses";
  if (llmc_ir_attr_int(r, "head_dim", 0) != llmc_ir_attr_int(c, "head_dim", -1)) return "its head_dim differs";
  if (r->inputs[1] != c->inputs[2]) return "it rotates by other positions";
  if (llmc_ir_attr_get(c, "rope_theta")) return "the consumer already applies RoPE";
  return NULL;
}

llmc_status_t *llmc_pass_fuse_rope(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  *out_changed = 0;
  int *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
  if (!uses) return oom();
  for (int i = 0; i < g->n_values; i++)
    for (int j = 0; j < g->values[i]->n_inputs; j++) uses[g->values[i]->inputs[j]->id]++;
  for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].value->id]++;
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *c = g->values[i];
    if (c->kind != LLMC_VALUE_NODE || (c->op != LLMC_OP_KV_WRITE && c->op != LLMC_OP_ATTENTION)) continue;
    llmc_value_t *r = c->inputs[0];
    if (r->kind != LLMC_VALUE_NODE || r->op != LLMC_OP_ROPE) continue;
    const char *what = c->op == LLMC_OP_KV_WRITE ? "k" : "q";
    long long layer = c->op == LLMC_OP_KV_WRITE ? (long long)llmc_ir_attr_int(c, "layer", 0)
                                                : (long long)llmc_ir_attr_int(c->inputs[1], "layer", 0);
    const char *why = refusal(g, uses, r, c);
    if (why) {
      llmc_pass_remark(remarks, "fuse-rope", false, "layer %lld: rope of %s: %s", layer, what, why);
      continue;
    }
    /* Every attribute of the rotation but head_dim (the consumer's), under
     * the rope_ prefix (llmc_rope_attr_names). */
    int n_rope = 0;
    for (int k = 0; llmc_rope_attr_names[k]; k++) n_rope += llmc_ir_attr_get(r, llmc_rope_attr_names[k]) != NULL;
    llmc_attr_t *attrs = llmc_arena_alloc(g->arena, sizeof *attrs * (size_t)(c->n_attrs + n_rope));
    if (!attrs) {
      free(uses);
      return oom();
    }
    memcpy(attrs, c->attrs, sizeof *attrs * (size_t)c->n_attrs);
    int n = c->n_attrs;
    for (int k = 0; llmc_rope_attr_names[k]; k++) {
      const llmc_attr_t *a = llmc_ir_attr_get(r, llmc_rope_attr_names[k]);
      if (!a) continue;
      attrs[n] = *a;
      if (!(attrs[n++].name = llmc_arena_printf(g->arena, "rope_%s", a->name))) {
        free(uses);
        return oom();
      }
    }
    c->attrs = attrs;
    c->n_attrs = n;
    c->inputs[0] = r->inputs[0];
    r->dead = true;
    (*out_changed)++;
    llmc_pass_remark(remarks, "fuse-rope", true, "layer %lld: rope of %s -> %s", layer, what, llmc_op_name(c->op));
  }
  free(uses);
  return NULL;
}
