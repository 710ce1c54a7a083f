/* graph.c: building and editing the SSA graph. Values live in one array in
 * definition order; node inputs always point at earlier values, so the array
 * order is a valid execution order and no cycle can be built. */
#include <stdlib.h>
#include <string.h>

#include "llmc_ir.h"
#include "llmc_kquant.h"
#include "ops_impl.h"

static const char *const dtype_names[LLMC_DT_COUNT] = {"f32", "f16", "bf16", "i32", "kv", "i8", "i4", "i8g", "i4k", "i5k", "i6k", "i4z"};
static const size_t dtype_sizes[LLMC_DT_COUNT] = {4, 2, 2, 4, 0, 1, 0, 1, 0, 0, 0, 0};

const char *llmc_dtype_name(llmc_dtype_t dt) {
  return (unsigned)dt < LLMC_DT_COUNT ? dtype_names[dt] : "?";
}

bool llmc_dtype_parse(const char *name, llmc_dtype_t *out) {
  for (int i = 0; i < LLMC_DT_COUNT; i++) {
    if (strcmp(name, dtype_names[i]) == 0) {
      *out = (llmc_dtype_t)i;
      return true;
    }
  }
  return false;
}

size_t llmc_dtype_size(llmc_dtype_t dt) { return (unsigned)dt < LLMC_DT_COUNT ? dtype_sizes[dt] : 0; }

int llmc_dtype_kquant_bits(llmc_dtype_t dt) {
  return dt == LLMC_DT_I4K ? 4 : dt == LLMC_DT_I5K ? 5 : dt == LLMC_DT_I6K ? 6 : 0;
}

bool llmc_layout_row_bytes(llmc_dtype_t dt, int64_t k, uint64_t *out_values, uint64_t *out_header) {
  int bits = llmc_dtype_kquant_bits(dt);
  int64_t multiple = dt == LLMC_DT_I8 ? 1 : dt == LLMC_DT_I4Z ? 128 : bits ? LLMC_KQUANT_BLOCK : 64;
  if (!(dt == LLMC_DT_I8 || dt == LLMC_DT_I4 || dt == LLMC_DT_I8G || dt == LLMC_DT_I4Z || bits) || k <= 0 ||
      k % multiple)
    return false;
  uint64_t uk = (uint64_t)k;
  *out_values = bits ? llmc_kquant_value_bytes(bits, uk) : dt == LLMC_DT_I4 || dt == LLMC_DT_I4Z ? uk / 2 : uk;
  *out_header = dt == LLMC_DT_I8    ? 4                               /* an f32 scale */
                : bits              ? llmc_kquant_header_bytes(uk)    /* 20 bytes per 256 */
                : dt == LLMC_DT_I4Z ? 3 * uk / 32                     /* per 32 an f16 scale, then per 32 a u8 zero */
                                    : uk / 16;                        /* per 32 an f16 scale */
  return true;
}

const char *llmc_layout_name(llmc_dtype_t dt) {
  switch (dt) {
    case LLMC_DT_I8: return "int8-rows";
    case LLMC_DT_I4: return "int4-g32";
    case LLMC_DT_I8G: return "int8-g32";
    case LLMC_DT_I4Z: return "int4-g32-zp";
    case LLMC_DT_I4K: return "int4-k";
    case LLMC_DT_I5K: return "int5-k";
    case LLMC_DT_I6K: return "int6-k";
    default: return llmc_dtype_name(dt);
  }
}

bool llmc_shape_numel(const llmc_shape_t *s, int64_t t, uint64_t *out) {
  uint64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    int64_t d = s->dims[i] == LLMC_DIM_T ? t : s->dims[i];
    if (d < 0 || !llmc_checked_mul(n, (uint64_t)d, &n)) return false;
  }
  *out = n;
  return true;
}

int64_t llmc_shape_row_size(const llmc_shape_t *s) {
  int64_t n = 1;
  for (int i = 1; i < s->rank; i++) n *= s->dims[i];
  return n;
}

llmc_status_t *llmc_ir_graph_create(const char *name, llmc_ir_graph_t **out_graph) {
  *out_graph = NULL;
  llmc_arena_t *a = llmc_arena_create();
  llmc_ir_graph_t *g = a ? llmc_arena_alloc(a, sizeof *g) : NULL;
  if (!g || !(g->name = llmc_arena_strdup(a, name))) {
    llmc_arena_destroy(a);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  g->arena = a;
  *out_graph = g;
  return NULL;
}

void llmc_ir_graph_destroy(llmc_ir_graph_t *g) {
  if (g) llmc_arena_destroy(g->arena);
}

/* Arrays grow by copying into the arena; the old copy is garbage until the
 * arena dies, which keeps ownership trivial for graphs of a few thousand nodes. */
static bool grow(llmc_arena_t *a, void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return true;
  int ncap = *cap ? *cap * 2 : 64;
  while (ncap < need) ncap *= 2;
  void *n = llmc_arena_alloc(a, (size_t)ncap * elem);
  if (!n) return false;
  if (*arr) memcpy(n, *arr, (size_t)*cap * elem);
  *arr = n;
  *cap = ncap;
  return true;
}

static llmc_status_t *new_value(llmc_ir_graph_t *g, llmc_value_kind_t kind, llmc_value_t **out) {
  llmc_value_t *v = llmc_arena_alloc(g->arena, sizeof *v);
  if (!v || !grow(g->arena, (void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(void *)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  v->id = g->n_values;
  v->kind = kind;
  g->values[g->n_values++] = v;
  *out = v;
  return NULL;
}

llmc_value_t *llmc_ir_graph_find_input(const llmc_ir_graph_t *g, const char *name) {
  return g->input_names ? llmc_strmap_get(g->input_names, name) : NULL;
}

/* Records v under its name in *map (created on first use). */
static llmc_status_t *remember_name(llmc_ir_graph_t *g, llmc_strmap_t **map, llmc_value_t *v) {
  if (!*map && !(*map = llmc_strmap_create(g->arena))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!llmc_strmap_put(*map, v->name, v)) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

llmc_value_t *llmc_ir_graph_find_output(const llmc_ir_graph_t *g, const char *name) {
  for (int i = 0; i < g->n_outputs; i++)
    if (strcmp(g->outputs[i].name, name) == 0) return g->outputs[i].value;
  return NULL;
}

llmc_status_t *llmc_ir_graph_add_input(llmc_ir_graph_t *g, const char *name, llmc_dtype_t dt,
                                       llmc_shape_t shape, llmc_value_t **out_value) {
  if (llmc_ir_graph_find_input(g, name))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "input '%s' defined twice", name);
  llmc_value_t *v;
  LLMC_RETURN_IF_ERROR(new_value(g, LLMC_VALUE_INPUT, &v));
  v->dtype = dt;
  v->shape = shape;
  if (!(v->name = llmc_arena_strdup(g->arena, name)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  LLMC_RETURN_IF_ERROR(remember_name(g, &g->input_names, v));
  *out_value = v;
  return NULL;
}

llmc_status_t *llmc_ir_graph_add_weight(llmc_ir_graph_t *g, const char *name, llmc_dtype_t dt,
                                        llmc_shape_t shape, llmc_value_t **out_value) {
  llmc_value_t *v = g->weight_names ? llmc_strmap_get(g->weight_names, name) : NULL;
  if (v) {
    *out_value = v;
    return NULL;
  }
  LLMC_RETURN_IF_ERROR(new_value(g, LLMC_VALUE_WEIGHT, &v));
  v->dtype = dt;
  v->shape = shape;
  if (!(v->name = llmc_arena_strdup(g->arena, name)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  LLMC_RETURN_IF_ERROR(remember_name(g, &g->weight_names, v));
  *out_value = v;
  return NULL;
}

llmc_status_t *llmc_ir_graph_add_node(llmc_ir_graph_t *g, llmc_op_t op,
                                      llmc_value_t *const *inputs, int n_inputs,
                                      const llmc_attr_t *attrs, int n_attrs, const char *where,
                                      llmc_value_t **out_value) {
  *out_value = NULL;
  if ((unsigned)op >= LLMC_OP_COUNT)
    return LLMC_ERROR(LLMC_INTERNAL, where, "bad op enum %d", (int)op);
  llmc_value_t tmp = {.kind = LLMC_VALUE_NODE, .op = op, .n_inputs = n_inputs,
                      .inputs = (llmc_value_t **)inputs, .n_attrs = n_attrs,
                      .attrs = (llmc_attr_t *)attrs};
  LLMC_RETURN_IF_ERROR(llmc_ir_node_infer(&tmp, where, &tmp.dtype, &tmp.shape));
  llmc_value_t *v;
  LLMC_RETURN_IF_ERROR(new_value(g, LLMC_VALUE_NODE, &v));
  v->op = op;
  v->dtype = tmp.dtype;
  v->shape = tmp.shape;
  v->n_inputs = n_inputs;
  v->inputs = llmc_arena_alloc(g->arena, sizeof(void *) * (size_t)(n_inputs ? n_inputs : 1));
  v->n_attrs = n_attrs;
  v->attrs = llmc_arena_alloc(g->arena, sizeof(llmc_attr_t) * (size_t)(n_attrs ? n_attrs : 1));
  if (!v->inputs || !v->attrs) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  memcpy(v->inputs, inputs, sizeof(void *) * (size_t)n_inputs);
  for (int i = 0; i < n_attrs; i++) {
    v->attrs[i] = attrs[i];
    v->attrs[i].name = llmc_arena_strdup(g->arena, attrs[i].name);
    if (attrs[i].kind == LLMC_ATTR_STRING) v->attrs[i].s = llmc_arena_strdup(g->arena, attrs[i].s);
    if (attrs[i].kind == LLMC_ATTR_FLOATS) {
      if (attrs[i].i < 0 || attrs[i].i > LLMC_MAX_ATTR_FLOATS)
        return LLMC_ERROR(LLMC_DATA_LOSS, where, "attribute '%s' has more than %d numbers", attrs[i].name,
                          LLMC_MAX_ATTR_FLOATS);
      double *fs = llmc_arena_alloc(g->arena, sizeof(double) * (size_t)(attrs[i].i ? attrs[i].i : 1));
      if (fs) memcpy(fs, attrs[i].fs, sizeof(double) * (size_t)attrs[i].i);
      v->attrs[i].fs = fs;
    }
    if (!v->attrs[i].name || (attrs[i].kind == LLMC_ATTR_STRING && !v->attrs[i].s) ||
        (attrs[i].kind == LLMC_ATTR_FLOATS && !v->attrs[i].fs))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  *out_value = v;
  return NULL;
}

llmc_status_t *llmc_ir_graph_insert_node(llmc_ir_graph_t *g, int index, llmc_op_t op,
                                         llmc_value_t *const *inputs, int n_inputs,
                                         const llmc_attr_t *attrs, int n_attrs, const char *where,
                                         llmc_value_t **out_value) {
  if (index < 0 || index > g->n_values)
    return LLMC_ERROR(LLMC_INTERNAL, where, "insert position %d is outside the graph", index);
  for (int i = 0; i < n_inputs; i++)
    if (inputs[i] && inputs[i]->id >= index)
      return LLMC_ERROR(LLMC_INTERNAL, where, "operand %%%d is not defined before position %d",
                        inputs[i]->id, index);
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_node(g, op, inputs, n_inputs, attrs, n_attrs, where, out_value));
  llmc_value_t *v = g->values[g->n_values - 1];
  memmove(&g->values[index + 1], &g->values[index], sizeof(void *) * (size_t)(g->n_values - 1 - index));
  g->values[index] = v;
  for (int i = index; i < g->n_values; i++) g->values[i]->id = i;
  return NULL;
}

bool llmc_ir_value_is_const(const llmc_value_t *v) {
  return v->kind == LLMC_VALUE_WEIGHT || (v->kind == LLMC_VALUE_NODE && v->op == LLMC_OP_CONCAT);
}

llmc_status_t *llmc_ir_uses_build(const llmc_ir_graph_t *g, llmc_ir_uses_t *out) {
  int n = g->n_values, n_edges = 0;
  *out = (llmc_ir_uses_t){.g = g};
  out->start = calloc((size_t)n + 2, sizeof *out->start);
  out->is_output = calloc((size_t)n + 1, sizeof *out->is_output);
  out->reads = calloc((size_t)n + 1, sizeof *out->reads);
  for (int i = 0; out->start && i < n; i++) n_edges += g->values[i]->dead ? 0 : g->values[i]->n_inputs;
  out->users = malloc(sizeof *out->users * (size_t)(n_edges + 1));
  if (!out->start || !out->is_output || !out->reads || !out->users) {
    llmc_ir_uses_free(out);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  /* Counting sort of (operand, user) edges by operand; users come out in
   * definition order. A user reading a value twice is listed once. */
  for (int i = 0; i < n; i++) {
    const llmc_value_t *v = g->values[i];
    for (int j = 0; j < v->n_inputs && !v->dead; j++) {
      bool repeat = false;
      for (int k = 0; k < j; k++) repeat |= v->inputs[k] == v->inputs[j];
      if (!repeat) out->start[v->inputs[j]->id + 2]++;
      out->reads[v->inputs[j]->id]++;
    }
  }
  for (int i = 0; i < n; i++) out->start[i + 2] += out->start[i + 1];
  for (int i = 0; i < n; i++) {
    const llmc_value_t *v = g->values[i];
    for (int j = 0; j < v->n_inputs && !v->dead; j++) {
      bool repeat = false;
      for (int k = 0; k < j; k++) repeat |= v->inputs[k] == v->inputs[j];
      if (!repeat) out->users[out->start[v->inputs[j]->id + 1]++] = v;
    }
  }
  for (int i = 0; i < g->n_outputs; i++) out->is_output[g->outputs[i].value->id] = true;
  return NULL;
}

void llmc_ir_uses_free(llmc_ir_uses_t *u) {
  free(u->start);
  free(u->users);
  free(u->is_output);
  free(u->reads);
  *u = (llmc_ir_uses_t){0};
}

bool llmc_ir_split_parts(const llmc_ir_uses_t *u, const llmc_value_t *v,
                         const llmc_value_t *parts[LLMC_MAX_SPLIT], int *out_n) {
  *out_n = 0;
  if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_MATMUL || u->is_output[v->id]) return false;
  int n = 0;
  for (int k = u->start[v->id]; k < u->start[v->id + 1]; k++) {
    if (u->users[k]->op != LLMC_OP_SLICE || n == LLMC_MAX_SPLIT) return false;
    parts[n++] = u->users[k];
  }
  if (n < 2) return false;
  /* Column order (insertion sort; n <= 4), then an exact cover. */
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && llmc_ir_attr_int(parts[j], "begin", 0) < llmc_ir_attr_int(parts[j - 1], "begin", 0); j--) {
      const llmc_value_t *t = parts[j];
      parts[j] = parts[j - 1];
      parts[j - 1] = t;
    }
  int64_t next = 0;
  for (int i = 0; i < n; i++) {
    if (llmc_ir_attr_int(parts[i], "begin", -1) != next) return false;
    next += llmc_ir_attr_int(parts[i], "size", 0);
  }
  if (next != v->shape.dims[1]) return false;
  *out_n = n;
  return true;
}

const llmc_value_t *llmc_ir_split_producer(const llmc_ir_uses_t *u, const llmc_value_t *v) {
  if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_SLICE) return NULL;
  const llmc_value_t *parts[LLMC_MAX_SPLIT];
  int n;
  return llmc_ir_split_parts(u, v->inputs[0], parts, &n) ? v->inputs[0] : NULL;
}

/* Uses of v (by a later value, or as a graph output), and its last user. */
static int uses_of(const llmc_ir_uses_t *u, const llmc_value_t *v, const llmc_value_t **out_user) {
  int n = u->start[v->id + 1] - u->start[v->id];
  *out_user = n ? u->users[u->start[v->id + 1] - 1] : NULL;
  return u->reads[v->id] + u->is_output[v->id];
}

int64_t llmc_ir_norm_group(const llmc_value_t *norm) {
  return llmc_ir_attr_int(norm, "group", norm->inputs[0]->shape.dims[1]);
}

const llmc_value_t *llmc_ir_norm_prologue(const llmc_ir_uses_t *u, const llmc_value_t *m) {
  if (m->kind != LLMC_VALUE_NODE || (m->op != LLMC_OP_MATMUL && m->op != LLMC_OP_MATMUL_ADD)) return NULL;
  const llmc_value_t *r = m->inputs[0], *user;
  if (r->kind != LLMC_VALUE_NODE || r->op != LLMC_OP_RMS_NORM) return NULL;
  /* The GEMV prologue normalises whole rows (by w + offset). */
  if (llmc_ir_norm_group(r) != r->shape.dims[1]) return NULL;
  return uses_of(u, r, &user) == 1 && user == m ? r : NULL;
}

const llmc_value_t *llmc_ir_glu_epilogue(const llmc_ir_uses_t *u, const llmc_value_t *m) {
  const llmc_value_t *parts[LLMC_MAX_SPLIT], *u0, *u1;
  int n;
  if (!llmc_ir_split_parts(u, m, parts, &n) || n != 2 || parts[0]->shape.dims[1] != parts[1]->shape.dims[1])
    return NULL;
  if (uses_of(u, parts[0], &u0) != 1 || uses_of(u, parts[1], &u1) != 1 || u0 != u1) return NULL;
  if ((u0->op != LLMC_OP_SILU_MUL && u0->op != LLMC_OP_GELU_MUL) || u0->inputs[0] != parts[0] ||
      u0->inputs[1] != parts[1])
    return NULL;
  return u0;
}

const llmc_value_t *llmc_ir_kv_write_prologue(const llmc_ir_uses_t *u, const llmc_value_t *a) {
  if (a->kind != LLMC_VALUE_NODE || a->op != LLMC_OP_ATTENTION) return NULL;
  const llmc_value_t *w = a->inputs[1], *user;
  if (w->kind != LLMC_VALUE_NODE || w->op != LLMC_OP_KV_WRITE || uses_of(u, w, &user) != 1 || user != a) return NULL;
  if (w->inputs[2] != a->inputs[2]) return NULL;
  /* One kernel rotates k and q with one table: the same rotation, or none. */
  llmc_rope_t rw, ra;
  bool has_w = llmc_ir_rope_of(w, &rw), has_a = llmc_ir_rope_of(a, &ra);
  return has_w == has_a && (!has_w || llmc_ir_rope_equal(&rw, &ra)) ? w : NULL;
}

llmc_status_t *llmc_ir_graph_add_output(llmc_ir_graph_t *g, const char *name, llmc_value_t *v) {
  if (llmc_ir_graph_find_output(g, name))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "output '%s' defined twice", name);
  if (!grow(g->arena, (void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1,
            sizeof(llmc_output_t)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  g->outputs[g->n_outputs].name = llmc_arena_strdup(g->arena, name);
  g->outputs[g->n_outputs].value = v;
  g->n_outputs++;
  return NULL;
}

llmc_status_t *llmc_ir_graph_reorder(llmc_ir_graph_t *g, llmc_value_t *const *order, int n) {
  if (n != g->n_values) return LLMC_ERROR(LLMC_INTERNAL, g->name, "reorder: %d values for a graph of %d", n, g->n_values);
  /* pos[id] = new position + 1, 0 while not yet seen: a permutation whose
   * every operand comes first. */
  int *pos = calloc((size_t)n + 1, sizeof *pos);
  if (!pos) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_status_t *s = NULL;
  for (int i = 0; i < n && !s; i++) {
    const llmc_value_t *v = order[i];
    if (v->id < 0 || v->id >= n || g->values[v->id] != v || pos[v->id])
      s = LLMC_ERROR(LLMC_INTERNAL, g->name, "reorder: value %%%d is missing or repeated", v->id);
    for (int j = 0; !s && j < v->n_inputs; j++)
      if (!pos[v->inputs[j]->id] && !v->dead)
        s = LLMC_ERROR(LLMC_INTERNAL, g->name, "reorder: %%%d would precede its operand %%%d", v->id,
                       v->inputs[j]->id);
    if (!s) pos[v->id] = i + 1;
  }
  free(pos);
  if (s) return s;
  memcpy(g->values, order, sizeof(void *) * (size_t)n);
  for (int i = 0; i < n; i++) g->values[i]->id = i;
  return NULL;
}

void llmc_ir_graph_compact(llmc_ir_graph_t *g) {
  int n = 0;
  for (int i = 0; i < g->n_values; i++) {
    if (g->values[i]->dead) continue;
    g->values[i]->id = n;
    g->values[n++] = g->values[i];
  }
  g->n_values = n;
}

void llmc_ir_graph_replace_uses(llmc_ir_graph_t *g, llmc_value_t *from, llmc_value_t *to) {
  for (int i = 0; i < g->n_values; i++) {
    llmc_value_t *v = g->values[i];
    for (int j = 0; j < v->n_inputs; j++)
      if (v->inputs[j] == from) v->inputs[j] = to;
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i].value == from) g->outputs[i].value = to;
}

const llmc_attr_t *llmc_ir_attr_get(const llmc_value_t *node, const char *name) {
  for (int i = 0; i < node->n_attrs; i++)
    if (strcmp(node->attrs[i].name, name) == 0) return &node->attrs[i];
  return NULL;
}

int64_t llmc_ir_attr_int(const llmc_value_t *node, const char *name, int64_t dflt) {
  const llmc_attr_t *a = llmc_ir_attr_get(node, name);
  if (!a) return dflt;
  return a->kind == LLMC_ATTR_FLOAT ? (int64_t)a->f : a->i;
}

double llmc_ir_attr_float(const llmc_value_t *node, const char *name, double dflt) {
  const llmc_attr_t *a = llmc_ir_attr_get(node, name);
  if (!a) return dflt;
  return a->kind == LLMC_ATTR_FLOAT ? a->f : (double)a->i;
}
