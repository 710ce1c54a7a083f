/* cse.c: common-subexpression elimination. Two nodes with the same op,
 * operands and attributes compute the same value (every op is a pure
 * function of its operands; the KV cache is threaded through kv_write's
 * result), so later duplicates are replaced by the first. kv_write is kept
 * even when duplicated: its result names a distinct cache state. */
#include <stdlib.h>
#include <string.h>

#include "llmc_passes.h"

static bool attrs_equal(const llmc_attr_t *a, const llmc_attr_t *b) {
  if (strcmp(a->name, b->name) || a->kind != b->kind) return false;
  switch (a->kind) {
    case LLMC_ATTR_INT:
    case LLMC_ATTR_BOOL: return a->i == b->i;
    case LLMC_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case LLMC_ATTR_STRING: return strcmp(a->s, b->s) == 0;
    case LLMC_ATTR_FLOATS: return a->i == b->i && memcmp(a->fs, b->fs, sizeof(double) * (size_t)a->i) == 0;
  }
  return false;
}

static bool same_node(const llmc_value_t *a, const llmc_value_t *b) {
  if (a->op != b->op || a->n_inputs != b->n_inputs || a->n_attrs != b->n_attrs) return false;
  for (int i = 0; i < a->n_inputs; i++)
    if (a->inputs[i] != b->inputs[i]) return false;
  for (int i = 0; i < a->n_attrs; i++)
    if (!attrs_equal(&a->attrs[i], &b->attrs[i])) return false;
  return true;
}

static uint64_t mix(uint64_t h, uint64_t x) { return (h ^ x) * 1099511628211ull; }

static uint64_t string_hash(uint64_t h, const char *s) {
  for (; *s; s++) h = mix(h, (unsigned char)*s);
  return h;
}

/* Attributes are hashed too: nodes differing only in them (a thousand slices
 * of one value) must not share one probe chain. */
static uint64_t node_hash(const llmc_value_t *v) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)v->op;
  for (int i = 0; i < v->n_inputs; i++) h = mix(h, (uint64_t)v->inputs[i]->id);
  for (int i = 0; i < v->n_attrs; i++) {
    const llmc_attr_t *a = &v->attrs[i];
    h = string_hash(h, a->name);
    uint64_t bits = (uint64_t)a->i;
    if (a->kind == LLMC_ATTR_FLOAT) memcpy(&bits, &a->f, sizeof bits);
    for (int64_t k = 0; a->kind == LLMC_ATTR_FLOATS && k < a->i; k++) {
      uint64_t b;
      memcpy(&b, &a->fs[k], sizeof b);
      h = mix(h, b);
    }
    h = a->kind == LLMC_ATTR_STRING ? string_hash(h, a->s) : mix(h, bits);
  }
  return h;
}

llmc_status_t *llmc_pass_cse(llmc_ir_graph_t *g, llmc_pass_remarks_t *remarks, int *out_changed) {
  (void)remarks;
  /* Open-addressing table of earlier nodes keyed by (op, operands, attrs);
   * equality is checked on collision. A duplicate's uses are redirected as
   * the sweep reaches them (replacement[] by id), so the pass stays linear. */
  size_t cap = 16;
  while (cap < (size_t)g->n_values * 2) cap *= 2;
  llmc_value_t **table = calloc(cap, sizeof *table);
  llmc_value_t **replacement = calloc((size_t)g->n_values + 1, sizeof *replacement);
  if (!table || !replacement) {
    free(table);
    free(replacement);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  int changed = 0;
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    for (int j = 0; j < v->n_inputs; j++)
      if (replacement[v->inputs[j]->id]) v->inputs[j] = replacement[v->inputs[j]->id];
    if (v->kind != LLMC_VALUE_NODE || v->op == LLMC_OP_KV_WRITE || v->dead) continue;
    size_t slot = node_hash(v) & (cap - 1);
    while (table[slot] && !same_node(table[slot], v)) slot = (slot + 1) & (cap - 1);
    if (table[slot]) {
      replacement[v->id] = table[slot];
      v->dead = true;
      changed++;
    } else {
      table[slot] = v;
    }
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (replacement[g->outputs[i].value->id]) g->outputs[i].value = replacement[g->outputs[i].value->id];
  free(table);
  free(replacement);
  *out_changed = changed;
  return NULL;
}
