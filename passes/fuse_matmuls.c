/* fuse_matmuls.c: the two matmul fusions of a transformer layer.
 *
 * fuse-sibling-matmuls: matmuls that read the same activation with
 * transposed constant weights (q, k and v of attention; gate and up of a
 * SwiGLU MLP) become one matmul over the weights joined at compile time,
 *
 *   %q = matmul(%x, %wq)          %w = concat(%wq, %wk, %wv)      (a constant)
 *   %k = matmul(%x, %wk)    ->    %y = matmul(%x, %w)
 *   %v = matmul(%x, %wv)          %q = slice(%y) {begin=0, size=Nq}, %k = ..., %v = ...
 *
 * so the activation row is read once and one launch covers what three did.
 * The slices tile %y's columns, so codegen gives the matmul a split epilogue
 * that writes each slice's rows where the old matmuls wrote theirs
 * (llmc_ir_split_parts): nothing is copied at run time, and the joined
 * weight is written once into the artifact's weight file. Each output
 * column is the same dot product as before, so results are bit-identical.
 *
 * fuse-matmul-add: add(matmul(a, b), r) -> matmul_add(a, b, r) when the
 * matmul's result has no other use: the residual add of o_proj and
 * down_proj happens in the matmul's epilogue instead of a kernel of its own.
 * The sum is formed from the f32-rounded dot product, as before.
 *
 * Both record every fusion made and every candidate refused, with the
 * reason, as remarks for report.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_passes.h"

static llmc_status_t *oom(void) { return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory"); }

/* Use counts, outputs included. */
static int *count_uses(const llmc_ir_graph_t *g) {
  int *uses = calloc((size_t)g->n_values + 1, sizeof *uses);
  if (!uses) return NULL;
  for (int i = 0; i < g->n_values; i++)
    for (int j = 0; j < g->values[i]->n_inputs && !g->values[i]->dead; j++) uses[g->values[i]->inputs[j]->id]++;
  for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i].value->id]++;
  return uses;
}

static bool is_output(const llmc_ir_graph_t *g, const llmc_value_t *v) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i].value == v) return true;
  return false;
}

/* How a remark names a matmul: its weight's name, else its id. */
static const char *weight_label(const llmc_value_t *m, char buf[static 24]) {
  const llmc_value_t *w = m->inputs[1];
  if (w->kind == LLMC_VALUE_WEIGHT) return w->name;
  snprintf(buf, 24, "%%%d", w->id);
  return buf;
}

/* ---- fuse-sibling-matmuls ---- */

#define MAX_GROUP LLMC_MAX_SPLIT
#define LLMC_STR_(x) #x
#define LLMC_STR(x) LLMC_STR_(x)

/* Why matmul m cannot join a sibling group; NULL when it can. */
static const char *sibling_refusal(const llmc_ir_graph_t *g, const llmc_value_t *m) {
  (void)g;
  if (llmc_ir_attr_int(m, "transpose_b", 0) == 0) return "its weight is stored [K,N], whose rows are not its columns";
  if (m->inputs[1]->kind != LLMC_VALUE_WEIGHT) return "its weight is itself derived at compile time";
  return NULL;
}

/* Moves weight w (no operands, so any earlier position is legal) to
 * position `index`, renumbering the values in between. */
static void hoist_weight(llmc_ir_graph_t *g, llmc_value_t *w, int index) {
  int from = w->id;
  if (from <= index) return;
  memmove(&g->values[index + 1], &g->values[index], sizeof(void *) * (size_t)(from - index));
  g->values[index] = w;
  for (int i = index; i <= from; i++) g->values[i]->id = i;
}

static llmc_status_t *fuse_group(llmc_ir_graph_t *g, llmc_value_t **group, int n, llmc_pass_remarks_t *remarks) {
  /* Hoist the weights to just before the first member, then insert the
   * concat, the joined matmul and its slices there: every operand is then
   * defined before them and every use of a member comes after. */
  int at = group[0]->id;
  for (int i = 0; i < n; i++) {
    llmc_value_t *w = group[i]->inputs[1];
    if (w->id > at) {
      hoist_weight(g, w, at);
      at++;
    }
  }
  llmc_value_t *ws[MAX_GROUP], *joined, *y;
  for (int i = 0; i < n; i++) ws[i] = group[i]->inputs[1];
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_insert_node(g, at, LLMC_OP_CONCAT, ws, n, NULL, 0, g->name, &joined));
  llmc_attr_t tb = {.name = "transpose_b", .kind = LLMC_ATTR_BOOL, .i = 1};
  llmc_value_t *ins[2] = {group[0]->inputs[0], joined};
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_insert_node(g, at + 1, LLMC_OP_MATMUL, ins, 2, &tb, 1, g->name, &y));
  int64_t begin = 0;
  char labels[MAX_GROUP][24];
  const char *names[MAX_GROUP];
  for (int i = 0; i < n; i++) {
    int64_t size = group[i]->shape.dims[1];
    llmc_attr_t attrs[2] = {{.name = "begin", .kind = LLMC_ATTR_INT, .i = begin},
                            {.name = "size", .kind = LLMC_ATTR_INT, .i = size}};
    llmc_value_t *part;
    LLMC_RETURN_IF_ERROR(llmc_ir_graph_insert_node(g, at + 2 + i, LLMC_OP_SLICE, &y, 1, attrs, 2, g->name, &part));
    llmc_ir_graph_replace_uses(g, group[i], part);
    group[i]->dead = true;
    names[i] = weight_label(group[i], labels[i]);
    begin += size;
  }
  if (n == 2)
    llmc_pass_remark(remarks, "fuse-sibling-matmuls", true, "%s + %s -> one matmul [T,%lld]", names[0], names[1],
                     (long long)begin);
  else if (n == 3)
    llmc_pass_remark(remarks, "fuse-sibling-matmuls", true, "%s + %s + %s -> one matmul [T,%lld]", names[0],
                     names[1], names[2], (long long)begin);
  else
    llmc_pass_remark(remarks, "fuse-sibling-matmuls", true, "%s + %d siblings -> one matmul [T,%lld]", names[0],
                     n - 1, (long long)begin);
  return NULL;
}

llmc_status_t *llmc_pass_fuse_sibling_matmuls(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  *out_changed = 0;
  /* Groups are found by their shared activation, in value order. Fusing
   * inserts values after the activation and kills the members, so the scan
   * goes on from the activation's (unchanged) position. */
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *a = g->values[i];
    if (a->kind != LLMC_VALUE_NODE || a->dead || llmc_ir_value_is_const(a)) continue;
    llmc_value_t *cands[64];
    int n_cands = 0;
    for (int j = i + 1; j < g->n_values && n_cands < 64; j++) {
      llmc_value_t *m = g->values[j];
      if (!m->dead && m->kind == LLMC_VALUE_NODE && m->op == LLMC_OP_MATMUL && m->inputs[0] == a) cands[n_cands++] = m;
    }
    if (n_cands < 2) continue;
    llmc_value_t *group[MAX_GROUP];
    int n = 0;
    for (int c = 0; c < n_cands; c++) {
      const char *why = sibling_refusal(g, cands[c]);
      char label[24];
      if (!why && n == MAX_GROUP) why = "a split epilogue writes at most " LLMC_STR(MAX_GROUP) " results";
      if (why)
        llmc_pass_remark(remarks, "fuse-sibling-matmuls", false, "%s: %s", weight_label(cands[c], label), why);
      else
        group[n++] = cands[c];
    }
    if (n < 2) continue;
    LLMC_RETURN_IF_ERROR(fuse_group(g, group, n, remarks));
    *out_changed += n;
  }
  return NULL;
}

/* ---- fuse-matmul-add ---- */

llmc_status_t *llmc_pass_fuse_matmul_add(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  *out_changed = 0;
  int *uses = count_uses(g);
  if (!uses) return oom();
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_ADD) continue;
    /* Prefer the later-defined matmul: the other operand is the residual
     * stream, defined earlier. */
    llmc_value_t *m = NULL, *r = NULL;
    for (int side = 0; side < 2; side++) {
      llmc_value_t *c = v->inputs[side];
      if (c->kind != LLMC_VALUE_NODE || c->op != LLMC_OP_MATMUL) continue;
      char label[24];
      if (uses[c->id] != 1 || is_output(g, c)) {
        llmc_pass_remark(remarks, "fuse-matmul-add", false, "%s: its result is used besides the add",
                         weight_label(c, label));
        continue;
      }
      if (!m || c->id > m->id) {
        m = c;
        r = v->inputs[1 - side];
      }
    }
    if (!m) continue;
    char label[24];
    llmc_pass_remark(remarks, "fuse-matmul-add", true, "%s + residual (%s) -> matmul_add", weight_label(m, label),
                     r->kind == LLMC_VALUE_NODE ? llmc_op_name(r->op) : r->name);
    /* matmul_add goes where the add is (after the matmul's operands and
     * the residual) and takes its uses. */
    llmc_value_t *three[3] = {m->inputs[0], m->inputs[1], r}, *fused;
    llmc_status_t *s = llmc_ir_graph_insert_node(g, v->id, LLMC_OP_MATMUL_ADD, three, 3, m->attrs, m->n_attrs,
                                                 g->name, &fused);
    if (s) {
      free(uses);
      return s;
    }
    /* insert_node shifted v one place later: i now indexes the new node. */
    llmc_ir_graph_replace_uses(g, v, fused);
    v->dead = true;
    m->dead = true;
    (*out_changed)++;
    i++; /* skip the dead add */
    /* Ids moved: recount. */
    free(uses);
    if (!(uses = count_uses(g))) return oom();
  }
  free(uses);
  return NULL;
}
