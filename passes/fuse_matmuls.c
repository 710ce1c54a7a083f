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

/* A sweep that rewrites in one pass: values are re-emitted in order into
 * `order`, new nodes (appended by add_node) are emitted where they belong,
 * and each value's operands are redirected through `repl` (by id) as it is
 * emitted. Applying the order once keeps a pass linear in the graph however
 * many places it rewrites. */
typedef struct {
  llmc_ir_graph_t *g;
  llmc_value_t **old;  /* the values before the pass, in order */
  int n_old;
  llmc_value_t **order;
  int n_order, cap_order;
  llmc_value_t **repl; /* by id; sized for the values the pass may add */
  int cap_repl;
} sweep_t;

static llmc_status_t *sweep_begin(sweep_t *w, llmc_ir_graph_t *g, int max_new) {
  *w = (sweep_t){.g = g, .n_old = g->n_values, .cap_order = g->n_values + max_new,
                 .cap_repl = g->n_values + max_new};
  w->old = malloc(sizeof(void *) * (size_t)(w->n_old + 1));
  w->order = malloc(sizeof(void *) * (size_t)(w->cap_order + 1));
  w->repl = calloc((size_t)w->cap_repl + 1, sizeof(void *));
  if (!w->old || !w->order || !w->repl) return oom();
  memcpy(w->old, g->values, sizeof(void *) * (size_t)w->n_old);
  return NULL;
}

static void sweep_emit(sweep_t *w, llmc_value_t *v) {
  for (int j = 0; j < v->n_inputs; j++)
    if (v->inputs[j]->id < w->cap_repl && w->repl[v->inputs[j]->id]) v->inputs[j] = w->repl[v->inputs[j]->id];
  w->order[w->n_order++] = v;
}

static llmc_status_t *sweep_end(sweep_t *w, llmc_status_t *s) {
  if (!s) {
    for (int i = 0; i < w->g->n_outputs; i++) {
      llmc_value_t *o = w->g->outputs[i].value;
      if (o->id < w->cap_repl && w->repl[o->id]) w->g->outputs[i].value = w->repl[o->id];
    }
    s = llmc_ir_graph_reorder(w->g, w->order, w->n_order);
  }
  free(w->old);
  free(w->order);
  free(w->repl);
  return s;
}

/* Builds one group's concat, joined matmul and slices (appended to the
 * graph) and emits them, after the group's weights not yet emitted, where
 * the first member was: every operand is then defined before them and every
 * use of a member comes after. */
static llmc_status_t *fuse_group(sweep_t *sw, llmc_value_t **group, int n, bool *emitted,
                                 llmc_pass_remarks_t *remarks) {
  llmc_ir_graph_t *g = sw->g;
  llmc_value_t *ws[MAX_GROUP], *joined, *y;
  for (int i = 0; i < n; i++) {
    ws[i] = group[i]->inputs[1];
    if (!emitted[ws[i]->id]) { /* weights have no operands: any earlier place is legal */
      emitted[ws[i]->id] = true;
      sweep_emit(sw, ws[i]);
    }
  }
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_node(g, LLMC_OP_CONCAT, ws, n, NULL, 0, g->name, &joined));
  sweep_emit(sw, joined);
  llmc_attr_t tb = {.name = "transpose_b", .kind = LLMC_ATTR_BOOL, .i = 1};
  llmc_value_t *ins[2] = {group[0]->inputs[0], joined};
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_node(g, LLMC_OP_MATMUL, ins, 2, &tb, 1, g->name, &y));
  sweep_emit(sw, y);
  int64_t begin = 0;
  char labels[MAX_GROUP][24];
  const char *names[MAX_GROUP];
  for (int i = 0; i < n; i++) {
    int64_t size = group[i]->shape.dims[1];
    llmc_attr_t attrs[2] = {{.name = "begin", .kind = LLMC_ATTR_INT, .i = begin},
                            {.name = "size", .kind = LLMC_ATTR_INT, .i = size}};
    llmc_value_t *part;
    LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_node(g, LLMC_OP_SLICE, &y, 1, attrs, 2, g->name, &part));
    sweep_emit(sw, part);
    sw->repl[group[i]->id] = part;
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
  /* Decide first, from the uses of each activation in value order: group
   * members (the matmuls reading it) by id, and each group by its first
   * member's id. */
  llmc_ir_uses_t uses;
  LLMC_RETURN_IF_ERROR(llmc_ir_uses_build(g, &uses));
  int n = g->n_values, n_groups = 0;
  int *group_at = malloc(sizeof(int) * (size_t)(n + 1)); /* first member id -> group index, or -1 */
  llmc_value_t *(*groups)[MAX_GROUP] = malloc(sizeof *groups * (size_t)(n / 2 + 1));
  int *group_n = malloc(sizeof(int) * (size_t)(n / 2 + 1));
  bool *emitted = calloc((size_t)n + 1, sizeof *emitted);
  llmc_status_t *s = group_at && groups && group_n && emitted ? NULL : oom();
  for (int i = 0; !s && i < n; i++) group_at[i] = -1;
  for (int i = 0; !s && i < n; i++) {
    llmc_value_t *a = g->values[i];
    if (a->kind != LLMC_VALUE_NODE || llmc_ir_value_is_const(a)) continue;
    llmc_value_t *cands[64];
    int n_cands = 0;
    for (int k = uses.start[i]; k < uses.start[i + 1] && n_cands < 64; k++) {
      llmc_value_t *m = g->values[uses.users[k]->id];
      if (m->op == LLMC_OP_MATMUL && m->inputs[0] == a) cands[n_cands++] = m;
    }
    if (n_cands < 2) continue;
    llmc_value_t **group = groups[n_groups];
    int members = 0;
    for (int c = 0; c < n_cands; c++) {
      const char *why = sibling_refusal(g, cands[c]);
      char label[24];
      if (!why && members == MAX_GROUP) why = "a split epilogue writes at most " LLMC_STR(MAX_GROUP) " results";
      if (why)
        llmc_pass_remark(remarks, "fuse-sibling-matmuls", false, "%s: %s", weight_label(cands[c], label), why);
      else
        group[members++] = cands[c];
    }
    if (members < 2) continue;
    group_n[n_groups] = members;
    group_at[group[0]->id] = n_groups++;
    *out_changed += members;
  }
  llmc_ir_uses_free(&uses);
  /* Then rewrite in one sweep: each group is emitted where its first member was. */
  sweep_t sw = {0};
  if (!s && n_groups) s = sweep_begin(&sw, g, n_groups * (MAX_GROUP + 2));
  for (int i = 0; !s && n_groups && i < sw.n_old; i++) {
    llmc_value_t *v = sw.old[i];
    if (group_at[i] >= 0) s = fuse_group(&sw, groups[group_at[i]], group_n[group_at[i]], emitted, remarks);
    if (!s && !emitted[i]) {
      emitted[i] = true;
      sweep_emit(&sw, v);
    }
  }
  if (n_groups) s = sweep_end(&sw, s);
  free(group_at);
  free(groups);
  free(group_n);
  free(emitted);
  return s;
}

/* ---- fuse-matmul-add ---- */

llmc_status_t *llmc_pass_fuse_matmul_add(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  *out_changed = 0;
  /* The uses stay right through the sweep: the matmul_add reads what the
   * dead matmul and add read, and takes the add's uses. */
  llmc_ir_uses_t uses;
  LLMC_RETURN_IF_ERROR(llmc_ir_uses_build(g, &uses));
  sweep_t sw = {0};
  llmc_status_t *s = sweep_begin(&sw, g, g->n_values);
  for (int i = 0; !s && i < sw.n_old; i++) {
    llmc_value_t *v = sw.old[i];
    if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_ADD) {
      sweep_emit(&sw, v);
      continue;
    }
    /* Operands first: an earlier fusion may have replaced one. */
    for (int j = 0; j < v->n_inputs; j++)
      if (sw.repl[v->inputs[j]->id]) v->inputs[j] = sw.repl[v->inputs[j]->id];
    /* Prefer the later-defined matmul: the other operand is the residual
     * stream, defined earlier. */
    llmc_value_t *m = NULL, *r = NULL;
    for (int side = 0; side < 2; side++) {
      llmc_value_t *c = v->inputs[side];
      if (c->kind != LLMC_VALUE_NODE || c->op != LLMC_OP_MATMUL) continue;
      char label[24];
      if (c->id >= sw.n_old || uses.reads[c->id] != 1 || uses.is_output[c->id]) {
        llmc_pass_remark(remarks, "fuse-matmul-add", false, "%s: its result is used besides the add",
                         weight_label(c, label));
        continue;
      }
      if (!m || c->id > m->id) {
        m = c;
        r = v->inputs[1 - side];
      }
    }
    if (m) {
      char label[24];
      llmc_pass_remark(remarks, "fuse-matmul-add", true, "%s + residual (%s) -> matmul_add", weight_label(m, label),
                       r->kind == LLMC_VALUE_NODE ? llmc_op_name(r->op) : r->name);
      /* matmul_add goes where the add is (after the matmul's operands and
       * the residual) and takes its uses. */
      llmc_value_t *three[3] = {m->inputs[0], m->inputs[1], r}, *fused;
      if ((s = llmc_ir_graph_add_node(g, LLMC_OP_MATMUL_ADD, three, 3, m->attrs, m->n_attrs, g->name, &fused)))
        break;
      sweep_emit(&sw, fused);
      sw.repl[v->id] = fused;
      v->dead = true;
      m->dead = true;
      (*out_changed)++;
    }
    sweep_emit(&sw, v);
  }
  s = sweep_end(&sw, s);
  llmc_ir_uses_free(&uses);
  return s;
}
