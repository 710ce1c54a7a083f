/* plan_memory.c: static activation layout. Every node result gets a fixed
 * offset in one arena sized for steps of max_tokens tokens, so the runtime
 * allocates once and the hot loop never does.
 *
 * Lifetimes are [definition, last use] in execution order (outputs live to
 * the end). Placement is greedy by size, largest first, at the lowest offset
 * that does not overlap any placed buffer whose lifetime intersects — the
 * "greedy by size" heuristic of Pisarchyk & Lee, "Efficient Memory
 * Management for Deep Neural Net Inference" (2020), used by TFLite. A node's
 * result never shares memory with its own operands (their lifetimes meet at
 * the node), so kernels need not be written for aliasing.
 *
 * Constants (concat nodes) live in the weight file, not here. A matmul with
 * a split epilogue (llmc_ir_split_parts) has no buffer of its own: it writes
 * its slices' buffers, whose lifetimes therefore start at the matmul. */
#include <stdlib.h>
#include <string.h>

#include "llmc_passes.h"

#define ALIGN_FLOATS 16 /* 64 bytes: a cache line and an AVX-512 vector */

typedef struct {
  int id;
  int64_t size, first, last, offset;
} buffer_t;

static int by_size_desc(const void *pa, const void *pb) {
  const buffer_t *a = pa, *b = pb;
  if (a->size != b->size) return a->size > b->size ? -1 : 1;
  return a->id - b->id; /* deterministic ties */
}

/* ---- placement ----
 * Each buffer, largest first, goes to the lowest offset where it overlaps no
 * placed buffer whose lifetime meets its own. Only those buffers matter, so
 * they are found with a centred interval tree over the lifetimes (built
 * once, over all buffers, O(n log n)): a query costs O(log n + k) for k
 * overlapping lifetimes, and the k placed ones, sorted by offset, are swept
 * once for the first gap. The total is O(n log n + P log P) for P pairs of
 * meeting lifetimes: linear-ish for layer graphs, where few values are live
 * at once. A hostile graph that keeps very many values alive together is
 * refused past a fixed budget of pairs rather than planned for minutes. */

#define MAX_OVERLAP_PAIRS 200000000ll

/* A sort key and a buffer index: qsort without a context pointer. */
typedef struct {
  int64_t key;
  int i;
} keyed_t;

static int by_key(const void *a, const void *b) {
  const keyed_t *x = a, *y = b;
  return x->key != y->key ? (x->key < y->key ? -1 : 1) : x->i - y->i;
}

/* Sorts the n buffer indices in idx by key(buffer), using scratch. */
static void sort_indices(int *idx, int n, const buffer_t *bufs, int what, keyed_t *scratch) {
  for (int j = 0; j < n; j++) {
    const buffer_t *b = &bufs[idx[j]];
    scratch[j] = (keyed_t){.key = what == 0 ? b->first : what == 1 ? -b->last : b->offset, .i = idx[j]};
  }
  qsort(scratch, (size_t)n, sizeof *scratch, by_key);
  for (int j = 0; j < n; j++) idx[j] = scratch[j].i;
}
enum { BY_FIRST, BY_LAST_DESC, BY_OFFSET };

typedef struct itree_node {
  int64_t center;
  int n;                   /* buffers whose lifetime contains center */
  int *by_first, *by_last; /* the same buffers: first ascending, last descending */
  struct itree_node *left, *right;
} itree_node_t;

typedef struct {
  const buffer_t *bufs;
  itree_node_t *nodes;
  int n_nodes;
  int *pool; /* 2 * n ints for the by_first/by_last lists */
  int pool_used;
  keyed_t *scratch;
} itree_t;

/* Builds the subtree of buffers idx[0..n) (sorted by first), using tmp. */
static itree_node_t *itree_build(itree_t *t, int *idx, int n, int *tmp) {
  if (n == 0) return NULL;
  itree_node_t *node = &t->nodes[t->n_nodes++];
  /* The median buffer's start as centre: at least that buffer stays here,
   * and at most half of the rest goes to either side. */
  node->center = t->bufs[idx[n / 2]].first;
  int n_left = 0, n_here = 0, n_right = 0;
  for (int i = 0; i < n; i++) {
    const buffer_t *b = &t->bufs[idx[i]];
    if (b->last < node->center) idx[n_left++] = idx[i];
    else if (b->first > node->center) tmp[n_right++] = idx[i];
    else tmp[n - 1 - n_here++] = idx[i];
  }
  node->n = n_here;
  node->by_first = &t->pool[t->pool_used];
  node->by_last = &t->pool[t->pool_used + n_here];
  t->pool_used += 2 * n_here;
  for (int i = 0; i < n_here; i++) node->by_first[i] = node->by_last[i] = tmp[n - 1 - i];
  sort_indices(node->by_first, n_here, t->bufs, BY_FIRST, t->scratch);
  sort_indices(node->by_last, n_here, t->bufs, BY_LAST_DESC, t->scratch);
  /* idx keeps first-order: left part is a subsequence of it already; the
   * right part came out of it in order too. */
  int *right = idx + n_left;
  memcpy(right, tmp, sizeof(int) * (size_t)n_right);
  node->left = itree_build(t, idx, n_left, tmp);
  node->right = itree_build(t, right, n_right, tmp);
  return node;
}

/* Appends to out every buffer whose lifetime meets [first, last]. */
static void itree_query(const itree_node_t *node, const buffer_t *bufs, int64_t first, int64_t last, int *out,
                        int *n_out) {
  while (node) {
    if (last < node->center) {
      for (int i = 0; i < node->n && bufs[node->by_first[i]].first <= last; i++) out[(*n_out)++] = node->by_first[i];
      node = node->left;
    } else if (first > node->center) {
      for (int i = 0; i < node->n && bufs[node->by_last[i]].last >= first; i++) out[(*n_out)++] = node->by_last[i];
      node = node->right;
    } else {
      for (int i = 0; i < node->n; i++) out[(*n_out)++] = node->by_first[i];
      itree_query(node->left, bufs, first, last, out, n_out);
      node = node->right;
    }
  }
}

static llmc_status_t *place(buffer_t *bufs, int n, llmc_memory_plan_t *out) {
  itree_t t = {.bufs = bufs};
  t.nodes = calloc((size_t)n + 1, sizeof *t.nodes);
  t.pool = malloc(sizeof(int) * (size_t)(2 * n + 1));
  int *idx = malloc(sizeof(int) * (size_t)(n + 1)), *tmp = malloc(sizeof(int) * (size_t)(n + 1));
  int *near = malloc(sizeof(int) * (size_t)(n + 1));
  bool *placed = calloc((size_t)n + 1, sizeof *placed);
  t.scratch = malloc(sizeof *t.scratch * (size_t)(n + 1));
  llmc_status_t *s = NULL;
  if (!t.nodes || !t.pool || !idx || !tmp || !near || !placed || !t.scratch) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) idx[i] = i;
  sort_indices(idx, n, bufs, BY_FIRST, t.scratch);
  itree_node_t *root = itree_build(&t, idx, n, tmp);
  int64_t pairs = 0;
  for (int i = 0; i < n; i++) {
    int k = 0, m = 0;
    itree_query(root, bufs, bufs[i].first, bufs[i].last, near, &k);
    if ((pairs += k) > MAX_OVERLAP_PAIRS) {
      s = LLMC_ERROR(LLMC_OUT_OF_RANGE, "plan-memory",
                     "the graph keeps too many values alive at once to plan (over %lld overlapping pairs)",
                     MAX_OVERLAP_PAIRS);
      goto done;
    }
    for (int j = 0; j < k; j++)
      if (placed[near[j]]) near[m++] = near[j];
    sort_indices(near, m, bufs, BY_OFFSET, t.scratch);
    int64_t off = 0;
    for (int j = 0; j < m; j++) {
      const buffer_t *p = &bufs[near[j]];
      if (p->offset >= off + bufs[i].size) break; /* a gap that fits */
      if (p->offset + p->size > off) off = p->offset + p->size;
    }
    bufs[i].offset = off;
    placed[i] = true;
    out->offsets[bufs[i].id] = off;
    if (off + bufs[i].size > out->arena_floats) out->arena_floats = off + bufs[i].size;
  }
done:
  free(t.nodes);
  free(t.pool);
  free(idx);
  free(tmp);
  free(near);
  free(placed);
  free(t.scratch);
  return s;
}

llmc_status_t *llmc_plan_memory(const llmc_ir_graph_t *g, int64_t max_tokens,
                                llmc_memory_plan_t *out) {
  *out = (llmc_memory_plan_t){.max_tokens = max_tokens, .n_values = g->n_values};
  if (max_tokens <= 0 || max_tokens > (1 << 20))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--max-step-tokens", "must be in 1..1048576");
  out->offsets = malloc(sizeof(int64_t) * (size_t)(g->n_values + 1));
  buffer_t *bufs = calloc((size_t)g->n_values + 1, sizeof *bufs);
  int64_t *last = calloc((size_t)g->n_values + 1, sizeof *last);
  int *first = NULL;
  llmc_ir_uses_t uses = {0};
  llmc_status_t *s = NULL;
  if (!out->offsets || !bufs || !last) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto done;
  }
  for (int i = 0; i < g->n_values; i++) {
    out->offsets[i] = -1;
    last[i] = i;
    for (int j = 0; j < g->values[i]->n_inputs; j++)
      last[g->values[i]->inputs[j]->id] = i;
  }
  for (int i = 0; i < g->n_outputs; i++) last[g->outputs[i].value->id] = g->n_values;
  /* Per-target fusion candidates (llmc_ir_norm_prologue, _glu_epilogue):
   * where a target fuses them, the matmul reads the norm's input and writes
   * the silu_mul's output itself, so the former lives until the matmul and
   * the latter from it, on every target. Likewise an attention that does
   * its kv_write (llmc_ir_kv_write_prologue) reads k and v itself. */
  first = calloc((size_t)g->n_values + 1, sizeof *first);
  if (!first) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto done;
  }
  if ((s = llmc_ir_uses_build(g, &uses))) goto done;
  for (int i = 0; i < g->n_values; i++) first[i] = i;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *m = g->values[i], *r = llmc_ir_norm_prologue(&uses, m), *glu = llmc_ir_glu_epilogue(&uses, m);
    if (r && last[r->inputs[0]->id] < i) last[r->inputs[0]->id] = i;
    if (glu) first[glu->id] = i;
    const llmc_value_t *kvw = llmc_ir_kv_write_prologue(&uses, m);
    for (int j = 0; kvw && j < 2; j++)
      if (last[kvw->inputs[j]->id] < i) last[kvw->inputs[j]->id] = i;
  }
  int n = 0;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->dtype == LLMC_DT_KV || llmc_ir_value_is_const(v)) continue;
    const llmc_value_t *parts[LLMC_MAX_SPLIT];
    int n_parts;
    if (llmc_ir_split_parts(&uses, v, parts, &n_parts)) continue;
    const llmc_value_t *producer = llmc_ir_split_producer(&uses, v);
    uint64_t numel;
    if (!llmc_shape_numel(&v->shape, max_tokens, &numel) || numel > (1ull << 40)) {
      s = LLMC_ERROR(LLMC_OUT_OF_RANGE, g->name, "activation %%%d is too large", i);
      goto done;
    }
    int64_t size = ((int64_t)numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    bufs[n++] = (buffer_t){.id = i, .size = size, .first = producer ? producer->id : first[i], .last = last[i]};
    out->naive_floats += size;
  }
  qsort(bufs, (size_t)n, sizeof *bufs, by_size_desc);
  s = place(bufs, n, out);
done:
  llmc_ir_uses_free(&uses);
  free(bufs);
  free(last);
  free(first);
  if (s) llmc_memory_plan_free(out);
  return s;
}

void llmc_memory_plan_free(llmc_memory_plan_t *p) {
  free(p->offsets);
  p->offsets = NULL;
}
