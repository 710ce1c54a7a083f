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

llmc_status_t *llmc_plan_memory(const llmc_ir_graph_t *g, int64_t max_tokens,
                                llmc_memory_plan_t *out) {
  *out = (llmc_memory_plan_t){.max_tokens = max_tokens, .n_values = g->n_values};
  if (max_tokens <= 0 || max_tokens > (1 << 20))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--max-step-tokens", "must be in 1..1048576");
  out->offsets = malloc(sizeof(int64_t) * (size_t)(g->n_values + 1));
  buffer_t *bufs = calloc((size_t)g->n_values + 1, sizeof *bufs);
  int64_t *last = calloc((size_t)g->n_values + 1, sizeof *last);
  int *first = NULL;
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
   * the latter from it, on every target. */
  first = calloc((size_t)g->n_values + 1, sizeof *first);
  if (!first) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto done;
  }
  for (int i = 0; i < g->n_values; i++) first[i] = i;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *m = g->values[i], *r = llmc_ir_norm_prologue(g, m), *glu = llmc_ir_glu_epilogue(g, m);
    if (r && last[r->inputs[0]->id] < i) last[r->inputs[0]->id] = i;
    if (glu) first[glu->id] = i;
  }
  int n = 0;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->dtype == LLMC_DT_KV || llmc_ir_value_is_const(v)) continue;
    const llmc_value_t *parts[LLMC_MAX_SPLIT];
    int n_parts;
    if (llmc_ir_split_parts(g, v, parts, &n_parts)) continue;
    const llmc_value_t *producer = llmc_ir_split_producer(g, v);
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
  for (int i = 0; i < n; i++) {
    /* Lowest offset that fits: retry past every conflicting placed buffer
     * until a full scan finds no conflict. */
    int64_t off = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int j = 0; j < i; j++) {
        const buffer_t *p = &bufs[j];
        bool time = p->first <= bufs[i].last && bufs[i].first <= p->last;
        bool space = p->offset < off + bufs[i].size && off < p->offset + p->size;
        if (time && space) {
          off = p->offset + p->size;
          moved = true;
        }
      }
    }
    bufs[i].offset = off;
    out->offsets[bufs[i].id] = off;
    if (off + bufs[i].size > out->arena_floats) out->arena_floats = off + bufs[i].size;
  }
done:
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
