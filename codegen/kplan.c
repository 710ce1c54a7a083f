/* kplan.c: lowering a planned graph to kernel calls and configuring each
 * call for each target (see llmc_kplan.h).
 *
 * Lowering: one kcall per node, in graph order, with the shape facts its
 * variants and the tuning database key on, and the dtype its weight is
 * stored in (the layout decision: 16-bit matmul weights when asked for and
 * the weight is read only as a matmul's b operand with an even K). GPU
 * targets add the argmax kcall.
 *
 * Configuration, per kcall and target: the first registered variant that
 * supports it; then the heuristic's configuration, replaced by the tuning
 * database's fastest entry when there is one, then by any override; every
 * configuration that reaches the plan has passed the variant's legality
 * check, and a forced illegal one is an error naming why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"
#include "llmc_kquant.h"

const char *llmc_ksource_name(llmc_ksource_t s) {
  switch (s) {
    case LLMC_KSOURCE_HEURISTIC: return "heuristic";
    case LLMC_KSOURCE_TUNING_DB: return "tuning-db";
    case LLMC_KSOURCE_OVERRIDE: return "override";
  }
  return "?";
}

static llmc_status_t *oom(void) { return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory"); }

/* True when `op` is one of the space-separated words of `ops`. */
static bool op_in(const char *ops, const char *op) {
  size_t n = strlen(op);
  for (const char *p = ops; *p;) {
    size_t len = strcspn(p, " ");
    if (len == n && strncmp(p, op, n) == 0) return true;
    p += len + (p[len] == ' ');
  }
  return false;
}

void llmc_kconfig_print(const llmc_kvariant_t *v, const llmc_kconfig_t *c, llmc_buf_t *out) {
  llmc_buf_printf(out, "{");
  for (int i = 0; i < v->n_params && i < c->n; i++)
    llmc_buf_printf(out, "%s%s=%lld", i ? "," : "", v->params[i].name, (long long)c->values[i]);
  llmc_buf_printf(out, "}");
}

const char *llmc_epilogue_name(llmc_epilogue_t e) {
  switch (e) {
    case LLMC_EPILOGUE_STORE: return "store";
    case LLMC_EPILOGUE_ADD: return "add";
    case LLMC_EPILOGUE_SPLIT: return "split";
  }
  return "?";
}

/* ---- lowering ---- */

static bool is_matmul(const llmc_value_t *v) {
  return v->kind == LLMC_VALUE_NODE && (v->op == LLMC_OP_MATMUL || v->op == LLMC_OP_MATMUL_ADD);
}

/* The dtype constant w (a weight or a concat) is stored in: the requested
 * 16-bit format when every kernel that reads it reads it as a matmul's b
 * operand with an even inner dimension (the 16-bit kernels' layout); f32
 * otherwise, so norm weights and embedding tables (and tied embeddings)
 * stay exact. Uses by concats do not count: the concat is stored, with its
 * own uses deciding. *out_stored is false when no kernel reads w. */
/* The quantization asked for constant w: a weight's by its name (first
 * matching --quant-config rule, else --quant); a joined constant's only
 * when every weight it joins asks for the same, except that K-quants join
 * as the widest of them (a Q4_K_M GGUF's q and k in Q4_K, v in Q6_K: the
 * Q6_K rows stay exact, the Q4_K ones are requantized to 6 bits, which
 * moves them by at most half a 6-bit step; the alternative, 16 bits, reads
 * over twice the bytes). */
static int kquant_bits(llmc_quant_t q) {
  return q == LLMC_QUANT_INT4_K ? 4 : q == LLMC_QUANT_INT5_K ? 5 : q == LLMC_QUANT_INT6_K ? 6 : 0;
}

static llmc_quant_t quant_of(const llmc_kplan_options_t *o, const llmc_value_t *w) {
  if (w->kind == LLMC_VALUE_WEIGHT) return llmc_quant_config_for(o->quant_config, w->name, o->quant);
  llmc_quant_t q = LLMC_QUANT_NONE;
  for (int i = 0; i < w->n_inputs; i++) {
    llmc_quant_t qi = quant_of(o, w->inputs[i]);
    bool kquants = kquant_bits(q) && kquant_bits(qi);
    if (i > 0 && qi != q && !kquants) return LLMC_QUANT_NONE;
    q = i > 0 && kquants && kquant_bits(q) > kquant_bits(qi) ? q : qi;
  }
  return q;
}

static llmc_dtype_t stored_dtype(const llmc_ir_uses_t *u, const llmc_value_t *w, llmc_dtype_t want,
                                 llmc_quant_t quant, int64_t int8_k_multiple, bool *out_stored) {
  /* Quantized layouts are decided like 16-bit ones (only matmul b operands
   * qualify), and need K to be a multiple of the int8 kernels' loads: a
   * 4-byte word on CPUs, a 16-byte vector on GPUs (int8_k_multiple). */
  if (quant == LLMC_QUANT_INT8 && w->shape.rank == 2 && w->shape.dims[1] % int8_k_multiple == 0) want = LLMC_DT_I8;
  /* int4: the kernel takes two groups of 32 (one word of f16 scales) a step. */
  if (quant == LLMC_QUANT_INT4 && w->shape.rank == 2 && w->shape.dims[1] % 64 == 0) want = LLMC_DT_I4;
  if (quant == LLMC_QUANT_INT8_G32 && w->shape.rank == 2 && w->shape.dims[1] % 64 == 0) want = LLMC_DT_I8G;
  /* The K-quants: whole super-blocks of 256 a row. */
  /* int4-zp: a word of zero points per 128 values. */
  if (quant == LLMC_QUANT_INT4_ZP && w->shape.rank == 2 && w->shape.dims[1] % 128 == 0) want = LLMC_DT_I4Z;
  if (kquant_bits(quant) && w->shape.rank == 2 && w->shape.dims[1] % LLMC_KQUANT_BLOCK == 0)
    want = quant == LLMC_QUANT_INT4_K ? LLMC_DT_I4K : quant == LLMC_QUANT_INT5_K ? LLMC_DT_I5K : LLMC_DT_I6K;
  bool used = false,
       narrow = want == LLMC_DT_F16 || want == LLMC_DT_BF16 || want == LLMC_DT_I8 || want == LLMC_DT_I4 ||
                want == LLMC_DT_I8G || want == LLMC_DT_I4Z || llmc_dtype_kquant_bits(want);
  for (int k = u->start[w->id]; k < u->start[w->id + 1]; k++) {
    const llmc_value_t *v = u->users[k];
    if (v->op == LLMC_OP_CONCAT && v->kind == LLMC_VALUE_NODE) continue;
    for (int j = 0; j < v->n_inputs; j++) {
      if (v->inputs[j] != w) continue;
      used = true;
      if (!is_matmul(v) || j != 1 || w->shape.rank != 2 || w->shape.dims[1] % 2) narrow = false;
    }
  }
  *out_stored = used;
  return used && narrow ? want : LLMC_DT_F32;
}

/* The KV layout every layer shares, from the kv_write nodes. */
static llmc_status_t *kv_facts(llmc_kplan_t *p, const llmc_kplan_options_t *o) {
  const llmc_ir_graph_t *g = p->graph;
  bool seen[4096] = {0};
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_KV_WRITE) continue;
    int64_t layer = llmc_ir_attr_int(v, "layer", 0), kvh = llmc_ir_attr_int(v, "n_kv_heads", 0);
    int64_t hd = llmc_ir_attr_int(v, "head_dim", 0);
    if (p->n_layers == 0) {
      p->n_kv_heads = kvh;
      p->head_dim = hd;
      p->kv_dim = kvh * hd;
    } else if (kvh != p->n_kv_heads || hd != p->head_dim) {
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, g->name, "layers with different KV shapes are not supported");
    }
    if (layer < 0 || layer >= 4096 || seen[layer])
      return LLMC_ERROR(LLMC_DATA_LOSS, g->name, "kv_write layer %lld is out of range or written twice",
                        (long long)layer);
    seen[layer] = true;
    p->n_layers++;
  }
  /* The runtime refuses a plan without a KV cache: refused here, at compile time. */
  if (p->n_layers == 0)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, g->name,
                      "the graph has no kv_write (no attention layer; a repeat count of 0?): llmc compiles "
                      "decoders with at least one");
  for (int64_t l = 0; l < p->n_layers; l++)
    if (!seen[l])
      return LLMC_ERROR(LLMC_DATA_LOSS, g->name, "kv_write layers must be numbered 0..%lld; %lld is missing",
                        (long long)(p->n_layers - 1), (long long)l);
  /* The runtime may free KV blocks that fell out of every layer's window:
   * only when every attention slides, and then behind the widest window. */
  bool all_windowed = true;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    if (v->kind != LLMC_VALUE_NODE || v->op != LLMC_OP_ATTENTION) continue;
    int64_t w = llmc_ir_attr_int(v, "window", 0);
    if (w <= 0) all_windowed = false;
    else if (w > p->kv_window) p->kv_window = w;
  }
  if (!all_windowed) p->kv_window = 0;
  if (o->block_size <= 0 || o->block_size > 4096 || o->max_context <= 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "bad block size or context");
  p->block_size = o->block_size;
  p->max_blocks = (o->max_context + o->block_size - 1) / o->block_size;
  /* The pool's element type (--kv-cache-dtype): 16-bit values go two to
   * an f32 word, so a block is half the words; rows start at even
   * elements when head_dim is even. int8 rows are head_dim bytes and an f32
   * scale: head_dim / 4 + 1 words a row (kv_i8.host.mlir). */
  p->kv_dtype = o->kv_dtype;
  p->block_elems = p->n_layers * 2 * o->block_size * p->kv_dim;
  if (p->kv_dtype != LLMC_DT_F32 && p->kv_dtype != LLMC_DT_F16 && p->kv_dtype != LLMC_DT_BF16 &&
      p->kv_dtype != LLMC_DT_I8)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kv-cache-dtype", "the KV cache holds f32, f16, bf16 or int8");
  if (p->kv_dtype == LLMC_DT_I8 && p->head_dim % 4)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, "--kv-cache-dtype", "an int8 KV cache needs a head_dim that is a multiple of 4, not %lld",
                      (long long)p->head_dim);
  if (p->kv_dtype == LLMC_DT_I8 && LLMC_KV_STAGE_FLOATS(o->block_size, p->head_dim) * 4 > LLMC_KV_STAGE_MAX_BYTES)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, "--kv-cache-dtype",
                      "an int8 KV cache's attention stages a block of %lld x 2 rows of %lld on its stack: at most %d KiB "
                      "(a --block-size of at most %lld)",
                      (long long)o->block_size, (long long)p->head_dim, LLMC_KV_STAGE_MAX_BYTES / 1024,
                      (long long)(LLMC_KV_STAGE_MAX_BYTES / 4 / 2 / p->head_dim));
  if (p->kv_dtype != LLMC_DT_F32 && p->head_dim % 2)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, "--kv-cache-dtype", "a 16-bit KV cache needs an even head_dim, not %lld",
                      (long long)p->head_dim);
  p->block_floats = p->kv_dtype == LLMC_DT_F32  ? p->block_elems
                    : p->kv_dtype == LLMC_DT_I8 ? p->block_elems / p->head_dim * (p->head_dim / 4 + 1)
                                                : p->block_elems / 2;
  const llmc_value_t *logits = llmc_ir_graph_find_output(g, "logits");
  p->vocab = logits && logits->shape.rank == 2 ? logits->shape.dims[1] : 0;
  return NULL;
}

uint64_t llmc_kplan_stored_bytes(const llmc_kplan_t *p, const llmc_value_t *w) {
  uint64_t n = 0;
  llmc_shape_numel(&w->shape, 0, &n);
  llmc_dtype_t dt = p->weight_dtypes[w->id];
  uint64_t row_v, row_h; /* a stored layout: every row's values, then every row's header */
  if (w->shape.rank == 2 && llmc_layout_row_bytes(dt, w->shape.dims[1], &row_v, &row_h))
    return (uint64_t)w->shape.dims[0] * (row_v + row_h);
  return n * llmc_dtype_size(dt);
}

/* A matmul whose output rows are read only as the step's logits: it is the
 * graph's "logits", or feeds only the softcap that is (Gemma). Rows of the
 * logits nobody samples are undefined after a step (llmc_abi.h), so its
 * kernel may compute just the rows the step lists (a prompt's last token
 * instead of all of them). */
static bool logits_rows_only(const llmc_ir_graph_t *g, const llmc_ir_uses_t *u, const llmc_value_t *v) {
  const llmc_value_t *logits = llmc_ir_graph_find_output(g, "logits");
  if (!logits || !is_matmul(v)) return false;
  int users = u->start[v->id + 1] - u->start[v->id];
  if (v == logits) return users == 0;
  return logits->op == LLMC_OP_SOFTCAP && logits->inputs[0] == v && users == 1 && !u->is_output[v->id];
}

static void kcall_shape(const llmc_kplan_t *p, llmc_kcall_t *c) {
  const llmc_value_t *v = c->node;
  char *s = c->shape;
  size_t n = sizeof c->shape;
  if (!v) {
    snprintf(s, n, "V=%lld", (long long)p->vocab);
    return;
  }
  long long cols = v->dtype == LLMC_DT_KV ? 0 : (long long)v->shape.dims[1];
  switch (v->op) {
    case LLMC_OP_MATMUL:
    case LLMC_OP_MATMUL_ADD:
      snprintf(s, n, "K=%lld,N=%lld,W=%s", (long long)v->inputs[0]->shape.dims[1], cols,
               llmc_dtype_name(c->weight_dtype));
      return;
    case LLMC_OP_EMBEDDING:
      snprintf(s, n, "V=%lld,D=%lld", (long long)v->inputs[1]->shape.dims[0], cols);
      return;
    case LLMC_OP_RMS_NORM_ADD: snprintf(s, n, "D=%lld,ADD=1", cols); return;
    case LLMC_OP_RMS_NORM:
    case LLMC_OP_LAYER_NORM: {
      long long g = llmc_ir_norm_group(v);
      if (g == cols) snprintf(s, n, "D=%lld", cols);
      else snprintf(s, n, "D=%lld,G=%lld", g, cols / g); /* G runs of D a token */
      return;
    }
    case LLMC_OP_ROPE: {
      long long hd = llmc_ir_attr_int(v, "head_dim", 1);
      snprintf(s, n, "H=%lld,HD=%lld", cols / (hd ? hd : 1), hd);
      return;
    }
    case LLMC_OP_KV_WRITE:
      snprintf(s, n, "KVH=%lld,HD=%lld%s", (long long)p->n_kv_heads, (long long)p->head_dim,
               llmc_ir_rope_of(v, &(llmc_rope_t){0}) ? ",ROPE=1" : "");
      return;
    case LLMC_OP_ATTENTION:
      snprintf(s, n, "H=%lld,KVH=%lld,HD=%lld%s", (long long)llmc_ir_attr_int(v, "n_heads", 0),
               (long long)p->n_kv_heads, (long long)p->head_dim,
               llmc_ir_rope_of(v, &(llmc_rope_t){0}) ? ",ROPE=1" : "");
      return;
    default: snprintf(s, n, "N=%lld", cols); return;
  }
}

/* ---- configuration ---- */

static bool config_legal(const llmc_kctx_t *x, const llmc_kvariant_t *v, const llmc_kconfig_t *c, llmc_buf_t *why) {
  for (int i = 0; i < v->n_params; i++) {
    bool in = false;
    for (int j = 0; j < v->params[i].n; j++) in |= v->params[i].values[j] == c->values[i];
    if (!in) {
      llmc_buf_printf(why, "%s=%lld is not a candidate of %s", v->params[i].name, (long long)c->values[i], v->name);
      return false;
    }
  }
  return !v->legal || v->legal(x, c, why);
}

/* "%12 (matmul) on sm_90a" */
static const char *call_name(const llmc_kplan_t *p, const llmc_kcall_t *c, int ti) {
  if (!c->node) return llmc_arena_printf(p->arena, "argmax on %s", p->targets[ti].name);
  return llmc_arena_printf(p->arena, "%%%d (%s) on %s", c->node->id, c->op, p->targets[ti].name);
}

static bool override_matches(const llmc_koverride_t *o, const llmc_kcall_t *c, const llmc_target_t *t,
                             const llmc_kvariant_t *v) {
  if (o->variant != v) return false;
  if (o->target && strcmp(o->target, t->name) != 0) return false;
  if (o->node_id >= 0 && (!c->node || c->node->id != o->node_id)) return false;
  if (o->shape && strcmp(o->shape, c->shape) != 0) return false;
  if (o->tokens && (o->tokens < c->t_min || o->tokens > c->t_max)) return false;
  return true;
}

/* Where a node's wide range (call c: 2..T_max) splits: the smallest step a
 * registered variant that would run the rest on some target wants a range
 * of its own for (min_tokens, e.g. a tensor-core GEMM), or 0 for no split. */
static int64_t range_split(const llmc_kplan_t *p, const llmc_kcall_t *c) {
  int n_variants;
  const llmc_kvariant_t *reg = llmc_kvariants(&n_variants);
  int64_t at = 0;
  for (int t = 0; t < p->n_targets; t++)
    for (int i = 0; i < n_variants; i++) {
      const llmc_kvariant_t *v = &reg[i];
      if (v->min_tokens <= c->t_min || v->min_tokens > c->t_max || v->gpu != p->targets[t].is_gpu ||
          !op_in(v->ops, c->op))
        continue;
      llmc_kcall_t probe = *c;
      probe.t_min = v->min_tokens;
      llmc_kctx_t x = {.plan = p, .call = &probe, .target = &p->targets[t]};
      if ((!v->supports || v->supports(&x)) && (at == 0 || v->min_tokens < at)) at = v->min_tokens;
    }
  return at;
}

static llmc_status_t *configure(llmc_kplan_t *p, llmc_kcall_t *c, int ti, const llmc_kplan_options_t *o,
                                int *override_hits) {
  const llmc_target_t *t = &p->targets[ti];
  int n_variants;
  const llmc_kvariant_t *reg = llmc_kvariants(&n_variants);
  llmc_kchoice_t *ch = &c->choice[ti];
  llmc_kctx_t x = {.plan = p, .call = c, .target = t};
  /* A --kernel-config naming a variant that runs this call picks it;
   * otherwise the first registered variant that runs it. */
  for (int i = 0; i < o->n_overrides && !ch->variant; i++) {
    const llmc_kvariant_t *v = o->overrides[i].variant;
    if (v->gpu != t->is_gpu || !op_in(v->ops, c->op) || !override_matches(&o->overrides[i], c, t, v)) continue;
    ch->variant = v;
    if (v->supports && !v->supports(&x)) ch->variant = NULL;
  }
  for (int i = 0; i < n_variants && !ch->variant; i++) {
    const llmc_kvariant_t *v = &reg[i];
    if (v->gpu != t->is_gpu || !op_in(v->ops, c->op)) continue;
    ch->variant = v; /* visible to supports() and the heuristic */
    if (v->supports && !v->supports(&x)) ch->variant = NULL;
  }
  if (!ch->variant)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, p->graph->name, "%s: no registered kernel variant runs it",
                      call_name(p, c, ti));
  const llmc_kvariant_t *v = ch->variant;
  llmc_kconfig_t cfg = {.n = v->n_params};
  for (int i = 0; i < v->n_params; i++) cfg.values[i] = v->params[i].values[0];
  if (v->heuristic) v->heuristic(&x, &cfg);
  ch->source = LLMC_KSOURCE_HEURISTIC;
  llmc_buf_t why = {0};
  llmc_status_t *s = NULL;
  if (!config_legal(&x, v, &cfg, &why))
    s = LLMC_ERROR(LLMC_UNIMPLEMENTED, p->graph->name, "%s: %s cannot run it: %s", call_name(p, c, ti), v->name,
                   why.data ? why.data : "illegal");
  if (!s && o->tuning_db && v->n_params > 0) {
    bool found = false;
    llmc_kconfig_t tuned = cfg; /* what the entry does not name stays the heuristic's */
    int line = 0;
    s = llmc_tuning_db_best(o->tuning_db, t->name, v, c->shape, c->t_min, c->t_max, &found, &tuned, &line);
    if (!s && found) {
      if (!config_legal(&x, v, &tuned, &why))
        s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: the tuned configuration is not legal for %s: %s",
                       llmc_tuning_db_path(o->tuning_db), line, call_name(p, c, ti), why.data ? why.data : "");
      cfg = tuned;
      ch->source = LLMC_KSOURCE_TUNING_DB;
      ch->db_line = line;
    }
  }
  for (int i = 0; !s && i < o->n_overrides; i++) {
    const llmc_koverride_t *ov = &o->overrides[i];
    if (!override_matches(ov, c, t, v)) continue;
    override_hits[i]++;
    for (int k = 0; k < ov->n; k++)
      for (int j = 0; j < v->n_params; j++)
        if (strcmp(v->params[j].name, ov->keys[k]) == 0) cfg.values[j] = ov->values[k];
    if (!config_legal(&x, v, &cfg, &why)) {
      llmc_buf_t shown = {0};
      llmc_kconfig_print(v, &cfg, &shown);
      s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "'%s': %s %s is not legal for %s: %s", ov->spec,
                     v->name, shown.data ? shown.data : "", call_name(p, c, ti), why.data ? why.data : "");
      llmc_buf_free(&shown);
    }
    ch->source = LLMC_KSOURCE_OVERRIDE;
    ch->db_line = 0;
  }
  llmc_buf_free(&why);
  ch->config = cfg;
  return s;
}

/* Per-target fusion: on each GPU target where a matmul kcall's variant
 * fuses its candidate rms_norm prologue or silu_mul epilogue, the matmul's
 * kernel takes that work and the other kcall becomes "fused" there. */
static llmc_status_t *absorb(llmc_kplan_t *p) {
  /* Each node's first kcall; a matmul's range kcalls follow it. */
  llmc_kcall_t **by_node = calloc((size_t)p->graph->n_values + 1, sizeof *by_node);
  if (!by_node) return oom();
  for (int i = p->n_calls - 1; i >= 0; i--)
    if (p->calls[i].node) by_node[p->calls[i].node->id] = &p->calls[i];
  for (int i = 0; i < p->n_calls; i++) {
    llmc_kcall_t *c = &p->calls[i];
    /* The decode attention kcall does its kv_write's decode kcall (the
     * first of that node's, T = 1) where its variant can. */
    if (c->kvw && c->t_max == 1) {
      llmc_kcall_t *w = by_node[c->kvw->id];
      for (int t = 0; w && w->t_max == 1 && t < p->n_targets; t++) {
        const char *fuses = c->choice[t].variant->fuses ? c->choice[t].variant->fuses : "";
        if (!p->targets[t].is_gpu || !op_in(fuses, "kv_write")) continue;
        c->choice[t].fused_kvw = true;
        w->choice[t] = (llmc_kchoice_t){.variant = &llmc_kvariant_fused, .source = c->choice[t].source, .fused_into = c};
      }
    }
    if ((!c->norm && !c->glu) || (i > 0 && p->calls[i - 1].node == c->node)) continue; /* once per node */
    int n = 1;
    while (i + n < p->n_calls && p->calls[i + n].node == c->node) n++;
    for (int t = 0; t < p->n_targets; t++) {
      if (!p->targets[t].is_gpu) continue;
      /* Fused only when every range's variant can: the other kcall is gone. */
      bool norm = c->norm != NULL, glu = c->glu != NULL;
      for (int k = 0; k < n; k++) {
        const char *fuses = c[k].choice[t].variant->fuses ? c[k].choice[t].variant->fuses : "";
        norm &= op_in(fuses, "norm");
        glu &= op_in(fuses, "glu");
      }
      for (int k = 0; k < n; k++) {
        c[k].choice[t].fused_norm = norm;
        c[k].choice[t].fused_glu = glu;
      }
      if (norm)
        by_node[c->norm->id]->choice[t] =
            (llmc_kchoice_t){.variant = &llmc_kvariant_fused, .source = c->choice[t].source, .fused_into = c};
      if (glu)
        by_node[c->glu->id]->choice[t] =
            (llmc_kchoice_t){.variant = &llmc_kvariant_fused, .source = c->choice[t].source, .fused_into = c};
    }
  }
  free(by_node);
  return NULL;
}

llmc_status_t *llmc_kplan_build(const llmc_ir_graph_t *g, const llmc_target_t *targets, int n_targets,
                                const llmc_kplan_options_t *o, llmc_kplan_t **out_plan) {
  *out_plan = NULL;
  if (n_targets < 1 || n_targets > LLMC_MAX_TARGETS)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "between 1 and %d targets", LLMC_MAX_TARGETS);
  llmc_kplan_t *p = calloc(1, sizeof *p);
  if (!p || !(p->arena = llmc_arena_create())) {
    free(p);
    return oom();
  }
  p->graph = g;
  p->max_step_tokens = o->max_step_tokens > 0 ? o->max_step_tokens : 1;
  p->act_quant = o->act_quant == LLMC_ACT_QUANT_AUTO;
  p->targets = targets;
  p->n_targets = n_targets;
  p->weight_dtypes = llmc_arena_alloc(p->arena, sizeof(llmc_dtype_t) * (size_t)(g->n_values + 1));
  p->stored = llmc_arena_alloc(p->arena, sizeof(bool) * (size_t)(g->n_values + 1));
  /* A node may take three kcalls (decode, a batch, long steps). */
  p->calls = llmc_arena_alloc(p->arena, sizeof(llmc_kcall_t) * (size_t)(3 * g->n_values + 1));
  int *hits = calloc((size_t)o->n_overrides + 1, sizeof(int));
  llmc_status_t *s = p->weight_dtypes && p->stored && p->calls && hits ? kv_facts(p, o) : oom();
  llmc_ir_uses_t uses = {0};
  if (!s) s = llmc_ir_uses_build(g, &uses);
  bool gpu = false, int8 = false, int4 = false, int8_dots_only = false; /* int4-zp or K-quant weights: only matmul_q8 reads them */
  for (int t = 0; t < n_targets; t++) gpu |= targets[t].is_gpu;
  for (int i = 0; !s && i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    p->stored[i] = false;
    p->weight_dtypes[i] = llmc_ir_value_is_const(v)
                              ? stored_dtype(&uses, v, o->weight_dtype, quant_of(o, v), gpu ? 16 : 4, &p->stored[i])
                              : v->dtype;
  }
  /* int8 weights run on CPUs (matmul_int8) and on GPUs with warp shuffles
   * (gemv_warp, NVIDIA and AMD); SPIR-V has no int8 kernel yet. */
  for (int i = 0; !s && i < g->n_values; i++) {
    int8 |= p->stored[i] && p->weight_dtypes[i] == LLMC_DT_I8;
    int4 |= p->stored[i] && (p->weight_dtypes[i] == LLMC_DT_I4 || p->weight_dtypes[i] == LLMC_DT_I8G);
    int8_dots_only |= p->stored[i] && (llmc_dtype_kquant_bits(p->weight_dtypes[i]) || p->weight_dtypes[i] == LLMC_DT_I4Z);
  }
  /* A 16-bit KV cache: host and GPU kernels (kv_f16, kv_bf16); int8: host
   * only so far (kv_i8). f16 needs F16C on x86 (the conversions are
   * otherwise compiler-rt calls). */
  for (int t = 0; !s && p->kv_dtype != LLMC_DT_F32 && t < n_targets; t++) {
    if (targets[t].is_gpu && p->kv_dtype == LLMC_DT_I8)
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--kv-cache-dtype", "--kv-cache-dtype=%s has no kernels for target '%s' yet",
                     p->kv_dtype == LLMC_DT_I8 ? "int8" : llmc_dtype_name(p->kv_dtype), targets[t].name);
    else if (p->kv_dtype == LLMC_DT_F16 && !llmc_target_reads_f16(&targets[t]))
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--kv-cache-dtype",
                     "an f16 KV cache needs a target with F16C (e.g. x86-64-v3 or host); use bf16 for '%s'",
                     targets[t].name);
  }
  /* The group layouts run on CPUs only (matmul_int4, matmul_int8g) so far. */
  for (int t = 0; !s && int4 && t < n_targets; t++)
    if (targets[t].is_gpu)
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--quant", "int4 and int8-g32 weights have no kernel for target '%s' yet",
                     targets[t].name);
  /* int4-zp and the K-quants: matmul_q8 only (CPUs, int8 activations) so far. */
  for (int t = 0; !s && int8_dots_only && t < n_targets; t++)
    if (targets[t].is_gpu)
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--quant", "int4-zp and K-quant (int4-k, int5-k, int6-k) weights have no kernel for target '%s' yet",
                     targets[t].name);
  if (!s && int8_dots_only && !p->act_quant)
    s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--act-quant",
                   "int4-zp and K-quant (int4-k, int5-k, int6-k) weights are read only by integer-dot kernels: they need --act-quant=int8");
  for (int t = 0; !s && int8 && t < n_targets; t++) {
    llmc_gpu_vendor_t vendor = targets[t].is_gpu ? llmc_gpu_vendor(&targets[t]) : LLMC_GPU_VENDOR_NVIDIA;
    if (vendor != LLMC_GPU_VENDOR_NVIDIA && vendor != LLMC_GPU_VENDOR_AMD)
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--quant", "int8 weights have no kernel for target '%s' yet",
                     targets[t].name);
  }
  int64_t t_max = o->max_step_tokens > 0 ? o->max_step_tokens : 1;
  for (int i = 0; !s && i <= g->n_values; i++) {
    const llmc_value_t *v = i < g->n_values ? g->values[i] : NULL;
    if (v ? v->kind != LLMC_VALUE_NODE : !gpu) continue;
    /* Constants are in the weight file; split slices are written by their matmul. */
    if (v && (llmc_ir_value_is_const(v) || llmc_ir_split_producer(&uses, v))) continue;
    /* A variant per token-count range: a matmul has one kcall for decode
     * steps (T = 1) and one for wider steps (T >= 2: a batch, a prefill
     * chunk), which may share weight loads among tokens (CPUs: a GEMV, then
     * a register-tiled GEMM); on GPUs so have kv_write and attention, which
     * decode fuses (absorb); the runtime runs the one whose range holds the
     * step's T. */
    if (v && is_matmul(v) && !llmc_ir_attr_int(v, "transpose_b", 0)) {
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, g->name,
                     "%%%d: matmul with transpose_b=false (a [K,N] weight) is not supported by the code "
                     "generators yet; store the weight as [N,K]", v->id);
      break;
    }
    /* What the node's kcalls share; each range then gets its own choices. */
    llmc_kcall_t node_call = {.node = v, .op = v ? llmc_op_name(v->op) : "argmax", .t_min = 1, .t_max = t_max};
    node_call.weight_dtype = v && is_matmul(v) ? p->weight_dtypes[v->inputs[1]->id] : LLMC_DT_F32;
    if (v && v->op == LLMC_OP_MATMUL_ADD) node_call.epilogue = LLMC_EPILOGUE_ADD;
    if (v && llmc_ir_split_parts(&uses, v, node_call.parts, &node_call.n_parts)) node_call.epilogue = LLMC_EPILOGUE_SPLIT;
    if (v) {
      node_call.norm = llmc_ir_norm_prologue(&uses, v);
      node_call.glu = llmc_ir_glu_epilogue(&uses, v);
      node_call.kvw = llmc_ir_kv_write_prologue(&uses, v);
      node_call.sampled_rows = logits_rows_only(g, &uses, v);
    }
    kcall_shape(p, &node_call);
    bool ranged = v && (is_matmul(v) || v->op == LLMC_OP_KV_WRITE || v->op == LLMC_OP_ATTENTION);
    /* CPUs: matmuls too (a GEMV for decode, a register-tiled GEMM for more tokens). */
    int ranges = ranged && (gpu || is_matmul(v)) && t_max >= 2 ? 2 : 1;
    /* A variant for long steps only (a tensor-core GEMM) splits the wide
     * range: 1, 2..split-1, split..T_max. */
    int64_t split = 0;
    if (ranges == 2) {
      llmc_kcall_t wide = node_call;
      wide.t_min = 2;
      split = range_split(p, &wide);
      if (split > 2) ranges = 3;
    }
    for (int range = 0; !s && range < ranges; range++) {
      llmc_kcall_t *c = &p->calls[p->n_calls++];
      *c = node_call;
      if (ranges >= 2) c->t_min = c->t_max = 1;
      if (range == 1) c->t_min = 2, c->t_max = ranges == 3 ? split - 1 : t_max;
      if (range == 2) c->t_min = split, c->t_max = t_max;
      for (int t = 0; !s && t < n_targets; t++) s = configure(p, c, t, o, hits);
    }
  }
  if (!s) s = absorb(p);
  for (int i = 0; !s && i < o->n_overrides; i++)
    if (hits[i] == 0)
      s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "'%s' matches no kernel call of this plan",
                     o->overrides[i].spec);
  free(hits);
  llmc_ir_uses_free(&uses);
  if (s) {
    llmc_kplan_destroy(p);
    return s;
  }
  *out_plan = p;
  return NULL;
}

void llmc_kplan_destroy(llmc_kplan_t *p) {
  if (!p) return;
  llmc_arena_destroy(p->arena);
  free(p);
}

/* ---- text form ---- */

static void print_type(const llmc_value_t *v, llmc_buf_t *out) {
  if (v->dtype == LLMC_DT_KV) {
    llmc_buf_printf(out, "kv");
    return;
  }
  llmc_buf_printf(out, "%s[", llmc_dtype_name(v->dtype));
  for (int d = 0; d < v->shape.rank; d++) {
    if (v->shape.dims[d] == LLMC_DIM_T) llmc_buf_printf(out, "%sT", d ? "," : "");
    else llmc_buf_printf(out, "%s%lld", d ? "," : "", (long long)v->shape.dims[d]);
  }
  llmc_buf_printf(out, "]");
}

void llmc_kplan_print(const llmc_kplan_t *p, llmc_buf_t *out) {
  llmc_buf_printf(out, "kplan \"%s\" targets(", p->graph->name);
  for (int t = 0; t < p->n_targets; t++) llmc_buf_printf(out, "%s%s", t ? ", " : "", p->targets[t].name);
  llmc_buf_printf(out, ")\n");
  for (int i = 0; i < p->n_calls; i++) {
    const llmc_kcall_t *c = &p->calls[i];
    if (c->node) {
      llmc_buf_printf(out, "%%%d = kcall %s(", c->node->id, c->op);
      for (int j = 0; j < c->node->n_inputs; j++) {
        const llmc_value_t *in = c->node->inputs[j];
        llmc_buf_printf(out, "%s%%%d", j ? ", " : "", in->id);
        if (llmc_ir_value_is_const(in)) llmc_buf_printf(out, ":%s", llmc_dtype_name(p->weight_dtypes[in->id]));
      }
      llmc_buf_printf(out, ") {%s} : ", c->shape);
      print_type(c->node, out);
      if (c->sampled_rows) llmc_buf_printf(out, " sampled-rows");
      if (c->epilogue == LLMC_EPILOGUE_SPLIT) {
        llmc_buf_printf(out, " -> split(");
        for (int j = 0; j < c->n_parts; j++) llmc_buf_printf(out, "%s%%%d", j ? ", " : "", c->parts[j]->id);
        llmc_buf_printf(out, ")");
      }
      if (c->t_min > 1 || c->t_max < p->max_step_tokens)
        llmc_buf_printf(out, " for T in %lld..%lld", (long long)c->t_min, (long long)c->t_max);
      llmc_buf_printf(out, "\n");
    } else {
      llmc_buf_printf(out, "kcall %s {%s}\n", c->op, c->shape);
    }
    for (int t = 0; t < p->n_targets; t++) {
      const llmc_kchoice_t *ch = &c->choice[t];
      if (ch->fused_into) {
        llmc_buf_printf(out, "  %s: fused into %%%d\n", p->targets[t].name, ch->fused_into->node->id);
        continue;
      }
      llmc_buf_printf(out, "  %s: %s ", p->targets[t].name, ch->variant->name);
      llmc_kconfig_print(ch->variant, &ch->config, out);
      if (ch->fused_norm) llmc_buf_printf(out, " +rms_norm");
      if (ch->fused_glu) llmc_buf_printf(out, " +%s", c->glu ? llmc_op_name(c->glu->op) : "silu_mul");
      if (ch->fused_kvw) llmc_buf_printf(out, " +kv_write");
      if (c->sampled_rows && ch->variant->sampled_rows) llmc_buf_printf(out, " +sampled-rows");
      if (ch->variant->int8_activations) llmc_buf_printf(out, " int8-activations");
      if (ch->source == LLMC_KSOURCE_TUNING_DB) llmc_buf_printf(out, " tuning-db:%d\n", ch->db_line);
      else llmc_buf_printf(out, " %s\n", llmc_ksource_name(ch->source));
    }
  }
}

/* ---- emission ---- */

llmc_status_t *llmc_kplan_instance(const llmc_kplan_t *p, const llmc_kcall_t *c, int target,
                                   llmc_kinstance_t *out) {
  memset(out, 0, sizeof *out);
  const llmc_kchoice_t *ch = &c->choice[target];
  llmc_kctx_t x = {.plan = p, .call = c, .target = &p->targets[target], .choice = ch};
  LLMC_RETURN_IF_ERROR(ch->variant->emit(&x, &ch->config, out));
  if (out->n >= LLMC_KPARAMS_MAX)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "%s: too many template parameters", ch->variant->name);
  return NULL;
}

const char *llmc_kinstance_str(const llmc_kinstance_t *inst, const char *key) {
  for (int i = 0; i < inst->n; i++)
    if (strcmp(inst->params[i].key, key) == 0) return inst->params[i].value;
  return NULL;
}

void llmc_emit_type_list(llmc_buf_t *o, const char *type, int n) {
  for (int i = 0; i < n; i++) llmc_buf_printf(o, "%s%s", i ? ", " : "", type);
}

void llmc_emit_tile_yield(llmc_buf_t *o, const char *indent, const char *p, int tt, int nc, const char *type) {
  llmc_buf_printf(o, "%sscf.yield ", indent);
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++) llmc_buf_printf(o, "%s%%%s%d_%d", j || c ? ", " : "", p, j, c);
  llmc_buf_printf(o, " : ");
  llmc_emit_type_list(o, type, tt * nc);
  llmc_buf_printf(o, "\n");
}

int64_t llmc_kinstance_int(const llmc_kinstance_t *inst, const char *key) {
  const char *v = llmc_kinstance_str(inst, key);
  return v ? strtoll(v, NULL, 10) : -1;
}

llmc_status_t *llmc_kinstance_render(const llmc_kinstance_t *inst, const char *target_class, const char *name,
                                     llmc_buf_t *out) {
  if (strcmp(inst->family, "fused") == 0) return NULL; /* done by another kcall's kernel here */
  llmc_template_param_t params[LLMC_KPARAMS_MAX + 1];
  for (int h = 0; h < LLMC_KINSTANCE_HELPERS; h++) {
    if (!inst->helper[h]) continue;
    params[0] = (llmc_template_param_t){"NAME", name};
    memcpy(params + 1, inst->helper_params[h], sizeof(llmc_template_param_t) * (size_t)inst->n_helper[h]);
    LLMC_RETURN_IF_ERROR(llmc_template_instantiate(inst->helper[h], target_class, params, inst->n_helper[h] + 1, out));
  }
  if (inst->generate) return inst->generate(inst, name, out);
  params[0] = (llmc_template_param_t){"NAME", name};
  memcpy(params + 1, inst->params, sizeof(llmc_template_param_t) * (size_t)inst->n);
  return llmc_template_instantiate(inst->family, target_class, params, inst->n + 1, out);
}

void llmc_kplan_gpu_launch(const llmc_kplan_t *p, const llmc_kcall_t *c, int target, llmc_gpu_kernel_v1_t *out) {
  memset(out, 0, sizeof *out);
  const llmc_kchoice_t *ch = &c->choice[target];
  llmc_kctx_t x = {.plan = p, .call = c, .target = &p->targets[target], .choice = ch};
  if (ch->variant->launch) ch->variant->launch(&x, &ch->config, out);
}

bool llmc_kplan_config_legal(const llmc_kplan_t *p, const llmc_kcall_t *c, int target, const llmc_kconfig_t *cfg) {
  llmc_kctx_t x = {.plan = p, .call = c, .target = &p->targets[target]};
  llmc_buf_t why = {0};
  bool ok = config_legal(&x, c->choice[target].variant, cfg, &why);
  llmc_buf_free(&why);
  return ok;
}

int llmc_kplan_candidates(const llmc_kplan_t *p, const llmc_kcall_t *c, int target, llmc_kconfig_t *out, int cap) {
  const llmc_kvariant_t *v = c->choice[target].variant;
  llmc_kctx_t x = {.plan = p, .call = c, .target = &p->targets[target]};
  int idx[LLMC_KCONFIG_MAX] = {0}, n = 0;
  llmc_buf_t why = {0};
  for (;;) {
    llmc_kconfig_t cfg = {.n = v->n_params};
    for (int i = 0; i < v->n_params; i++) cfg.values[i] = v->params[i].values[idx[i]];
    why.len = 0;
    if (!v->legal || v->legal(&x, &cfg, &why)) {
      if (n < cap) out[n] = cfg;
      n++;
    }
    int i = v->n_params - 1; /* odometer over the candidates, last parameter fastest */
    while (i >= 0 && ++idx[i] == v->params[i].n) idx[i--] = 0;
    if (i < 0) break;
  }
  llmc_buf_free(&why);
  return n;
}

/* ---- --kernel-config ---- */

llmc_status_t *llmc_koverride_parse(const char *spec, llmc_koverride_t *out) {
  memset(out, 0, sizeof *out);
  out->spec = spec;
  out->node_id = -1;
  const char *colon = strchr(spec, ':');
  char sel[128];
  if (!colon || (size_t)(colon - spec) >= sizeof sel)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config",
                      "'%s' is not VARIANT[%%ID][@TARGET]:KEY=VALUE[,KEY=VALUE...]", spec);
  memcpy(sel, spec, (size_t)(colon - spec));
  sel[colon - spec] = '\0';
  char *at = strchr(sel, '@');
  if (at) {
    *at = '\0';
    llmc_target_t t;
    llmc_status_t *s = llmc_target_lookup(at + 1, &t);
    if (s) return llmc_status_wrap(s, "--kernel-config", "in '%s'", spec);
    out->target = t.name;
  }
  char *pct = strchr(sel, '%');
  if (pct) {
    *pct = '\0';
    char *end;
    long id = strtol(pct + 1, &end, 10);
    if (end == pct + 1 || *end || id < 0 || id > 1 << 30)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "bad value id in '%s'", spec);
    out->node_id = (int)id;
  }
  out->variant = llmc_kvariant_find(sel);
  if (!out->variant) {
    llmc_buf_t known = {0};
    llmc_kvariant_list(&known);
    llmc_status_t *s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "unknown kernel variant '%s' (known: %s)",
                                  sel, known.data ? known.data : "");
    llmc_buf_free(&known);
    return s;
  }
  const llmc_kvariant_t *v = out->variant;
  for (const char *p = colon + 1; *p;) {
    size_t len = strcspn(p, ",");
    const char *eq = memchr(p, '=', len);
    if (!eq || eq == p)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "'%.*s' in '%s' is not KEY=VALUE", (int)len, p, spec);
    int j = 0;
    while (j < v->n_params && (strlen(v->params[j].name) != (size_t)(eq - p) ||
                               strncmp(v->params[j].name, p, (size_t)(eq - p)) != 0))
      j++;
    if (j == v->n_params)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "variant %s has no parameter '%.*s'%s", v->name,
                        (int)(eq - p), p, v->n_params ? "" : " (it has none)");
    char num[32];
    size_t nlen = len - (size_t)(eq + 1 - p);
    char *end;
    snprintf(num, sizeof num, "%.*s", (int)(nlen < sizeof num ? nlen : sizeof num - 1), eq + 1);
    long long val = strtoll(num, &end, 10);
    bool in = false;
    for (int k = 0; k < v->params[j].n; k++) in |= v->params[j].values[k] == val;
    if (end == num || *end || nlen >= sizeof num || !in) {
      llmc_buf_t cands = {0};
      for (int k = 0; k < v->params[j].n; k++)
        llmc_buf_printf(&cands, "%s%lld", k ? ", " : "", (long long)v->params[j].values[k]);
      llmc_status_t *s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "%s=%s: %s takes %s", v->params[j].name,
                                    num, v->name, cands.data ? cands.data : "");
      llmc_buf_free(&cands);
      return s;
    }
    if (out->n == LLMC_KCONFIG_MAX)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "too many values in '%s'", spec);
    out->keys[out->n] = v->params[j].name;
    out->values[out->n++] = val;
    p += len + (p[len] == ',');
  }
  if (out->n == 0) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--kernel-config", "'%s' sets no parameter", spec);
  return NULL;
}
