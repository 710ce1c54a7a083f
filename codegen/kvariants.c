/* kvariants.c: the kernel variant registry.
 *
 * Each row is one way to run some ops on one class of targets: the
 * kernels_templates/<family>.<host|gpu>.mlir it instantiates, the
 * parameters it can be tuned over (with their candidate values), which
 * configurations are legal on a target, which one it picks untuned, and
 * how it is launched. The first rows are the templates llmc had before the
 * plan existed, with the choices artifact.c used to hard-code as their
 * heuristics: a 256-thread, 4-column GEMV workgroup, 128 threads for
 * row-wise kernels, one thread per head dimension for attention, and on the
 * CPU the widest vector (up to 16 lanes) that divides K.
 *
 * Template parameters come from two places: op_params() writes what the op
 * itself fixes (dims, eps, head counts, KV layout), the same for every
 * variant of it; each variant's emit adds its own (tile sizes, threads) and
 * chooses the family. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kplan_impl.h"
#include "llmc_kquant.h"

/* ---- helpers ---- */

static void put(const llmc_kctx_t *x, llmc_kinstance_t *out, const char *key, const char *value) {
  (void)x;
  if (out->n < LLMC_KPARAMS_MAX) out->params[out->n++] = (llmc_template_param_t){key, value};
}

static void put_int(const llmc_kctx_t *x, llmc_kinstance_t *out, const char *key, int64_t v) {
  put(x, out, key, llmc_arena_printf(x->plan->arena, "%lld", (long long)v));
}

static void put_f32(const llmc_kctx_t *x, llmc_kinstance_t *out, const char *key, double v) {
  char buf[11];
  llmc_template_f32_literal((float)v, buf);
  put(x, out, key, llmc_arena_strdup(x->plan->arena, buf));
}

int64_t llmc_kconfig_get(const llmc_kvariant_t *v, const llmc_kconfig_t *c, const char *name) {
  for (int i = 0; i < v->n_params && i < c->n; i++)
    if (strcmp(v->params[i].name, name) == 0) return c->values[i];
  return 0;
}

static int64_t cols_of(const llmc_kctx_t *x) {
  const llmc_value_t *v = x->call->node;
  if (v && (v->op == LLMC_OP_RMS_NORM || v->op == LLMC_OP_LAYER_NORM)) return llmc_ir_norm_group(v); /* its rows */
  return v && v->dtype != LLMC_DT_KV ? v->shape.dims[1] : 0;
}

/* The matmul's inner dimension K. */
static int64_t k_of(const llmc_kctx_t *x) { return x->call->node->inputs[0]->shape.dims[1]; }

/* Stores y at column `col` of the [T, width] rows whose offset is args[arg]. */
static void epilogue_store(llmc_buf_t *b, const char *indent, const char *id, int arg, int64_t width,
                           const char *col) {
  llmc_buf_printf(b,
                  "%s%%%s_a = arith.constant %d : index\n"
                  "%s%%%s_w = arith.constant %lld : index\n"
                  "%s%%%s_oi = memref.load %%args[%%%s_a] : memref<?xi64>\n"
                  "%s%%%s_o = arith.index_cast %%%s_oi : i64 to index\n"
                  "%s%%%s_tw = arith.muli %%t, %%%s_w : index\n"
                  "%s%%%s_row = arith.addi %%%s_o, %%%s_tw : index\n"
                  "%s%%%s_i = arith.addi %%%s_row, %s : index\n",
                  indent, id, arg, indent, id, (long long)width, indent, id, id, indent, id, id, indent, id, id,
                  indent, id, id, id, indent, id, id, col);
}

/* See llmc_kplan.h. */
void llmc_matmul_epilogue(llmc_epilogue_t e, int64_t n_dim, const int64_t *sizes, int n_parts, llmc_buf_t *out) {
  llmc_buf_t b = *out;
  switch (e) {
    case LLMC_EPILOGUE_STORE:
      epilogue_store(&b, "  ", "e", 2, n_dim, "%n");
      llmc_buf_printf(&b, "  memref.store %%y, %%act[%%e_i] : memref<?xf32>\n");
      break;
    case LLMC_EPILOGUE_ADD:
      epilogue_store(&b, "  ", "e", 2, n_dim, "%n");
      epilogue_store(&b, "  ", "r", 4, n_dim, "%n");
      llmc_buf_printf(&b,
                      "  %%r_v = memref.load %%act[%%r_i] : memref<?xf32>\n"
                      "  %%e_s = arith.addf %%y, %%r_v : f32\n"
                      "  memref.store %%e_s, %%act[%%e_i] : memref<?xf32>\n");
      break;
    case LLMC_EPILOGUE_SPLIT: {
      /* if n < B_1 { part 0 } else { if n < B_2 { part 1 } else { ... } } */
      int64_t begin = 0;
      for (int p = 0; p < n_parts; p++) {
        int64_t size = sizes[p];
        char indent[32], id[16], col[24];
        snprintf(indent, sizeof indent, "%*s", 2 + 2 * p, "");
        snprintf(id, sizeof id, "p%d", p);
        snprintf(col, sizeof col, "%%p%d_c", p);
        bool last = p == n_parts - 1;
        if (!last)
          llmc_buf_printf(&b,
                          "%s%%p%d_end = arith.constant %lld : index\n"
                          "%s%%p%d_in = arith.cmpi ult, %%n, %%p%d_end : index\n"
                          "%sscf.if %%p%d_in {\n",
                          indent, p, (long long)(begin + size), indent, p, p, indent, p);
        char in[40];
        snprintf(in, sizeof in, "%s%s", indent, last ? "" : "  ");
        llmc_buf_printf(&b,
                        "%s%%p%d_b = arith.constant %lld : index\n"
                        "%s%%p%d_c = arith.subi %%n, %%p%d_b : index\n",
                        in, p, (long long)begin, in, p, p);
        epilogue_store(&b, in, id, p == 0 ? 2 : 3 + p, size, col);
        llmc_buf_printf(&b, "%smemref.store %%y, %%act[%%p%d_i] : memref<?xf32>\n", in, p);
        if (!last) llmc_buf_printf(&b, "%s} else {\n", indent);
        begin += size;
      }
      for (int p = n_parts - 2; p >= 0; p--) llmc_buf_printf(&b, "%*s}\n", 2 + 2 * p, "");
      break;
    }
  }
  *out = b;
}

static const char *matmul_epilogue(const llmc_kctx_t *x) {
  const llmc_kcall_t *c = x->call;
  int64_t sizes[LLMC_MAX_SPLIT];
  for (int p = 0; p < c->n_parts; p++) sizes[p] = c->parts[p]->shape.dims[1];
  llmc_buf_t b = {0};
  llmc_matmul_epilogue(c->epilogue, cols_of(x), sizes, c->n_parts, &b);
  const char *text = b.failed ? NULL : llmc_arena_strdup(x->plan->arena, b.data ? b.data : "");
  llmc_buf_free(&b);
  return text;
}

/* A parameter of helper h (0 or 1). */
static void helper_put(const llmc_kctx_t *x, llmc_kinstance_t *out, int h, const char *key, const char *value) {
  (void)x;
  if (out->n_helper[h] < 6) out->helper_params[h][out->n_helper[h]++] = (llmc_template_param_t){key, value};
}

static void helper_put_int(const llmc_kctx_t *x, llmc_kinstance_t *out, int h, const char *key, int64_t v) {
  helper_put(x, out, h, key, llmc_arena_printf(x->plan->arena, "%lld", (long long)v));
}

/* The RoPE rotation a kernel calls (kernels_templates/rope_rot.*.mlir), on
 * every target from the same numbers: the inverse frequencies as a table of
 * f32 literals, computed by llmc_ir_rope_inv_freq exactly as the
 * interpreter computes them, the factor cos and sin are scaled by, and the
 * pairing (style, and the pairs a partial rotary turns). */
static void rope_helper(const llmc_kctx_t *x, llmc_kinstance_t *out, const llmc_value_t *v, int64_t hd) {
  out->helper[0] = "rope_rot";
  llmc_rope_t r;
  if (!llmc_ir_rope_of(v, &r)) r = (llmc_rope_t){.theta = 10000, .cos_sin_scale = 1}; /* the unused copy */
  float inv[LLMC_MAX_HEAD_DIM / 2];
  if (hd > LLMC_MAX_HEAD_DIM) hd = LLMC_MAX_HEAD_DIM; /* a rotating node never has more (verified) */
  llmc_ir_rope_inv_freq(&r, hd, inv);
  llmc_buf_t b = {0};
  char lit[16];
  for (int64_t i = 0; i < hd / 2; i++) llmc_buf_printf(&b, "%s%s", i ? ", " : "", llmc_template_f32_literal(inv[i], lit));
  helper_put(x, out, 0, "HALF_DIM", llmc_arena_printf(x->plan->arena, "%lld", (long long)(hd / 2)));
  helper_put(x, out, 0, "INV_FREQ", b.failed ? NULL : llmc_arena_strdup(x->plan->arena, b.data ? b.data : ""));
  helper_put(x, out, 0, "COS_SIN_SCALE",
             llmc_arena_strdup(x->plan->arena, llmc_template_f32_literal((float)r.cos_sin_scale, lit)));
  helper_put(x, out, 0, "STYLE", r.interleaved ? "1" : "0");
  helper_put(x, out, 0, "ROT_HALF",
             llmc_arena_printf(x->plan->arena, "%lld", (long long)(r.rotary_dim > 0 ? r.rotary_dim / 2 : hd / 2)));
  llmc_buf_free(&b);
}

/* What the op fixes, for every variant of it: its dims and attributes and
 * the KV layout. */
static void op_params(const llmc_kctx_t *x, llmc_kinstance_t *out) {
  const llmc_kplan_t *p = x->plan;
  const llmc_value_t *v = x->call->node;
  if (!v) { /* argmax over the logits rows */
    put_int(x, out, "V", p->vocab);
    return;
  }
  int64_t cols = cols_of(x);
  switch (v->op) {
    case LLMC_OP_EMBEDDING:
      put_int(x, out, "D", cols);
      put_f32(x, out, "SCALE", llmc_ir_attr_float(v, "scale", 1));
      return;
    case LLMC_OP_MATMUL:
    case LLMC_OP_MATMUL_ADD:
      put_int(x, out, "K", k_of(x));
      put_int(x, out, "N", cols);
      put(x, out, "EPILOGUE", matmul_epilogue(x));
      return;
    case LLMC_OP_SLICE:
      put_int(x, out, "N", cols);
      put_int(x, out, "WIDTH", v->inputs[0]->shape.dims[1]);
      put_int(x, out, "BEGIN", llmc_ir_attr_int(v, "begin", 0));
      return;
    case LLMC_OP_CONCAT: return; /* a constant: never a kernel */
    case LLMC_OP_ADD:
    case LLMC_OP_MUL:
    case LLMC_OP_GELU_MUL:
    case LLMC_OP_SILU_MUL:
    case LLMC_OP_BIAS_ADD:
    case LLMC_OP_SILU:
    case LLMC_OP_GELU:
    case LLMC_OP_SOFTMAX: put_int(x, out, "N", cols); return;
    case LLMC_OP_SOFTCAP:
      put_int(x, out, "N", cols);
      put_f32(x, out, "CAP", llmc_ir_attr_float(v, "cap", 1));
      return;
    case LLMC_OP_RMS_NORM_ADD:
    case LLMC_OP_RMS_NORM:
    case LLMC_OP_LAYER_NORM:
      put_int(x, out, "D", cols);
      put_f32(x, out, "EPS", llmc_ir_attr_float(v, "eps", 1e-5));
      if (v->op != LLMC_OP_LAYER_NORM) put_f32(x, out, "OFFSET", llmc_ir_attr_float(v, "offset", 0));
      return;
    case LLMC_OP_ROPE: {
      int64_t hd = llmc_ir_attr_int(v, "head_dim", 0);
      put_int(x, out, "N_HEADS", cols / hd);
      put_int(x, out, "HEAD_DIM", hd);
      if (x->target->is_gpu) put_int(x, out, "HALF_DIM", hd / 2);
      rope_helper(x, out, v, hd);
      return;
    }
    case LLMC_OP_KV_WRITE:
    case LLMC_OP_ATTENTION: {
      if (v->op == LLMC_OP_KV_WRITE) {
        put_int(x, out, "KVD", p->kv_dim);
      } else {
        put_int(x, out, "N_HEADS", llmc_ir_attr_int(v, "n_heads", 0));
        put_int(x, out, "N_KV_HEADS", p->n_kv_heads);
        put_f32(x, out, "SCALE", llmc_ir_attr_float(v, "scale", 1.0 / sqrt((double)p->head_dim)));
        put_int(x, out, "WINDOW", llmc_ir_attr_int(v, "window", 0));
        put_f32(x, out, "SOFTCAP", llmc_ir_attr_float(v, "softcap", 0));
      }
      put_int(x, out, "HEAD_DIM", p->head_dim);
      put_int(x, out, "BLOCK_SIZE", p->block_size);
      /* Kernels address the pool in its elements, through their kv helper. */
      put_int(x, out, "BLOCK_FLOATS", p->block_elems);
      put_int(x, out, "MAX_BLOCKS", p->max_blocks);
      /* fuse-rope: the rotation of k (kv_write) or q (attention). Without
       * it the kernel copies; its rotation function is still there (an
       * unused private function) so one template serves both. */
      put_int(x, out, "ROPE", llmc_ir_rope_of(v, &(llmc_rope_t){0}));
      if (x->target->is_gpu) put_int(x, out, "HALF_DIM", p->head_dim / 2);
      rope_helper(x, out, v, p->head_dim);
      if (x->target->is_gpu) { /* how the pool's elements are stored and read */
        /* @NAME_kv_getv reads attention_warp's DPL dimensions a lane; a
         * 16-bit pool needs it even (attention_warp_supports), and other
         * kernels never call it (2 then, any even width). */
        int64_t ws = x->target->warp_size, dpl = 2;
        bool half = p->kv_dtype == LLMC_DT_F16 || p->kv_dtype == LLMC_DT_BF16;
        if (v->op == LLMC_OP_ATTENTION && ws > 0 && p->head_dim % ws == 0) dpl = p->head_dim / ws;
        if (half && dpl % 2) dpl = 2;
        out->helper[1] = p->kv_dtype == LLMC_DT_F16 ? "kv_f16" : p->kv_dtype == LLMC_DT_BF16 ? "kv_bf16" : "kv_f32";
        helper_put_int(x, out, 1, "DPL", dpl);
        if (half) helper_put_int(x, out, 1, "HALF_DPL", dpl / 2);
      } else { /* how the pool's rows are stored and read */
        bool half = p->kv_dtype == LLMC_DT_F16 || p->kv_dtype == LLMC_DT_BF16;
        out->helper[1] = p->kv_dtype == LLMC_DT_I8 ? "kv_i8" : !half ? "kv_f32" : p->kv_dtype == LLMC_DT_F16 ? "kv_f16" : "kv_bf16";
        helper_put(x, out, 1, "HEAD_DIM", llmc_arena_printf(p->arena, "%lld", (long long)p->head_dim));
        if (half) helper_put(x, out, 1, "HALF_HD", llmc_arena_printf(p->arena, "%lld", (long long)(p->head_dim / 2)));
        if (p->kv_dtype == LLMC_DT_I8) { /* a row: head_dim int8s in words, then its scale */
          helper_put_int(x, out, 1, "Q_WORDS", p->head_dim / 4);
          helper_put_int(x, out, 1, "ROW_WORDS", p->head_dim / 4 + 1);
        }
        if (v->op == LLMC_OP_ATTENTION) { /* int8 blocks are read from a stage of f32 rows (kv_i8) */
          bool staged = p->kv_dtype == LLMC_DT_I8;
          put_int(x, out, "READ_KVD", staged ? p->head_dim : p->kv_dim);
          put_int(x, out, "STAGE_FLOATS", staged ? LLMC_KV_STAGE_FLOATS(p->block_size, p->head_dim) : 1);
        }
      }
      return;
    }
    case LLMC_OP_COUNT: return;
  }
}

/* Divisibility of K by the vector width, for the CPU matmuls. */
static bool legal_vec(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t vec = c->values[0], k = k_of(x);
  if (k % vec == 0) return true;
  llmc_buf_printf(why, "VEC=%lld does not divide K=%lld", (long long)vec, (long long)k);
  return false;
}

/* Threads per block and statically declared shared memory against the
 * target's limits. */
static bool legal_block(const llmc_kctx_t *x, int64_t threads, int64_t shared_bytes, llmc_buf_t *why) {
  const llmc_target_t *t = x->target;
  if (threads > t->max_threads_per_block) {
    llmc_buf_printf(why, "%lld threads per block exceed the target's %d", (long long)threads,
                    t->max_threads_per_block);
    return false;
  }
  if (shared_bytes > t->static_shared_per_block) {
    llmc_buf_printf(why, "%lld bytes of shared memory per block exceed the target's %d",
                    (long long)shared_bytes, t->static_shared_per_block);
    return false;
  }
  return true;
}

/* ---- CPU: matmul with f32 weights ---- */

static bool cpu_matmul_f32_supports(const llmc_kctx_t *x) { return x->call->weight_dtype == LLMC_DT_F32; }

/* The widest candidate dividing K, at most one register of the target
 * (vector_bits / 32 lanes; 16 when unknown): the kernels keep 8
 * accumulators (4 columns x 2 tokens) plus 4 weight and 2 activation
 * vectors live, which fits AVX2's 16 registers at 8 lanes but spills at 16
 * (measured: prefill 15-20% faster at 8 lanes on x86-64-v3, decode equal). */
static void widest_vec(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  int64_t k = k_of(x), best = 0, cap = x->target->vector_bits >= 32 ? x->target->vector_bits / 32 : 16;
  if (cap > 16) cap = 16;
  for (int64_t v = cap; v >= 1 && !best; v /= 2)
    if (k % v == 0) best = v;
  out->n = 1;
  out->values[0] = best;
}

/* The widest vector, and a software prefetch ahead of each weight stream:
 * 16 KiB for f32 weights, 8 KiB for 16-bit ones (measured on the 2-vCPU
 * Xeon, 2026-11-30, decode of a 134M model: f32 42 -> 54 (8 KiB) -> 58
 * tokens/s (16 KiB); bf16 73 -> 112 at either). */
static void widest_vec_prefetch(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  widest_vec(x, out);
  out->n = 2;
  out->values[1] = x->call->weight_dtype == LLMC_DT_F32 ? 4096 : 2048;
}

/* The row map a CPU matmul template calls (matmul_rows, helper slot h):
 * the logits' matmul computes only the rows the step samples. */
static void rows_helper(const llmc_kctx_t *x, llmc_kinstance_t *out, int h) {
  out->helper[h] = "matmul_rows";
  helper_put(x, out, h, "ON", x->call->sampled_rows ? "true" : "false");
  helper_put_int(x, out, h, "ARG", LLMC_MATMUL_ROWS_ARG);
}

/* PF (f32 words ahead; 0: none) for the templates' @NAME_pf. */
static void put_prefetch(const llmc_kctx_t *x, llmc_kinstance_t *out, int64_t pf) {
  put_int(x, out, "PF", pf);
  put(x, out, "PF_ON", pf > 0 ? "true" : "false");
}

static llmc_status_t *cpu_matmul_f32_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "matmul";
  rows_helper(x, out, 0);
  op_params(x, out);
  put_int(x, out, "VEC", c->values[0]);
  put_prefetch(x, out, c->values[1]);
  return NULL;
}

/* ---- CPU: matmul with f16/bf16 weights, widened in registers ---- */

static bool cpu_matmul_half_supports(const llmc_kctx_t *x) {
  return x->call->weight_dtype == LLMC_DT_F16 || x->call->weight_dtype == LLMC_DT_BF16;
}

static llmc_status_t *cpu_matmul_half_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "matmul_half";
  rows_helper(x, out, 0);
  op_params(x, out);
  put_int(x, out, "VEC", c->values[0]);
  put_int(x, out, "HALF", c->values[0] / 2);
  put(x, out, "WTYPE", llmc_dtype_name(x->call->weight_dtype));
  put_prefetch(x, out, c->values[1]);
  return NULL;
}

/* ---- CPU: matmul of several tokens, register-tiled (gemm_host.c) ---- */

/* Panels only on x86: a panel tile's bits are the GEMV's where
 * vector.reduction <add> is the halving tree, which x86 lowers it to. */
static bool panel_target(const llmc_kctx_t *x) {
  return x->target->triple && strncmp(x->target->triple, "x86_64", 6) == 0;
}

/* A panel's stack: the packed weights and the lane classes' sums. Workers
 * have 8 MiB of stack, a caller's thread at least 2 MiB. */
#define GEMM_PANEL_STACK_MAX (384 * 1024)
static int64_t panel_stack_bytes(const llmc_kctx_t *x, int64_t vec, int64_t mr, int64_t nv) {
  return 4 * (nv * vec * k_of(x) + vec * mr * nv * vec);
}

/* f32 and 16-bit weights, in the kcall for steps of 2 tokens or more (a
 * prefill chunk, a batch): decode keeps the GEMV. */
static bool gemm_host_supports(const llmc_kctx_t *x) {
  llmc_dtype_t w = x->call->weight_dtype;
  /* The logits' matmul computes a step's sampled rows only, one a
   * sequence: a GEMV's work, which the GEMV (with its prefetch) does. */
  return x->call->t_min >= 2 && !x->call->sampled_rows && (w == LLMC_DT_F32 || w == LLMC_DT_F16 || w == LLMC_DT_BF16);
}

/* The GEMV's vector width (so a token's bits do not depend on which kernel
 * computed it), and a tile of accumulators that leaves registers for the
 * loads: 4 tokens x 4 columns where there are 32 vector registers (16
 * accumulators, 4 activation and 4 weight vectors), 3 x 3 with 16 (AVX2).
 * Measured on the 2-vCPU Xeon (2026-11-30, 256-token prefill of a 134M
 * model, tokens/s): AVX-512 4x4 840-909, 6x4 815-909, 2x4 851, 4x2 643;
 * AVX2 3x3 670, 4x3 587-625, 6x2 598, 2x4 490, 3x4 362 (12 accumulators
 * and 4 loads spill on 16 registers). Token blocks whose activation rows
 * fill at most half of a core's L2. */
static void gemm_host_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  widest_vec(x, out);
  int64_t regs32 = x->target->vector_regs >= 32, tt = regs32 ? 4 : 3, nc = regs32 ? 4 : 3;
  int64_t row_bytes = k_of(x) * 4, l2 = x->target->l2_bytes_per_core > 0 ? x->target->l2_bytes_per_core : 1 << 20;
  int64_t tb = l2 / 2 / row_bytes;
  /* TB: the largest candidate not above tb, else the smallest (every
   * candidate is a multiple of every TT but 5). */
  static const int64_t tbs[] = {24, 48, 96, 192, 384};
  int64_t pick = tbs[0];
  for (size_t i = 0; i < sizeof tbs / sizeof tbs[0]; i++)
    if (tbs[i] <= tb) pick = tbs[i];
  /* K chunks whose NC weight rows fill at most three quarters of L1 (the
   * activations stream through the rest). Measured on the 2-vCPU Xeon
   * (48 KiB L1, 256-token prefill, f32, fresh copies): K=2048 in one chunk
   * 1029 tokens/s, in 768s 1000, in 256s 918: chunks only pay where a
   * chunk's rows would not fit at all. */
  int64_t l1 = x->target->l1d_bytes > 0 ? x->target->l1d_bytes : 32 * 1024;
  int64_t wbytes = x->call->weight_dtype == LLMC_DT_F32 ? 4 : 2, kc_max = l1 * 3 / 4 / (nc * wbytes);
  static const int64_t kcs[] = {256, 512, 768, 1024, 1536, 2048, 4096};
  int64_t kc = kcs[0];
  for (size_t i = 0; i < sizeof kcs / sizeof kcs[0]; i++)
    if (kcs[i] <= kc_max) kc = kcs[i];
  /* Panels (gemm_host.c, MR > 0) are in the tuning space but not the
   * default. On the 2-vCPU EPYC (Zen 5, 2026-12-01) a C model of the panel
   * kernel ran at 1.4-1.5x the tiles' GFLOP/s (one thread, weights in
   * anonymous memory, pack included: K=768 6x4 147-162 against 104-111),
   * but in the model's prompts the generated one is slower: warm (after
   * `llmc bench`'s warm-up round, so no first touches of the mapping), the
   * GEMMs of a 256-token prompt took 158-183 ms with MR=6,NV=2 against the
   * tiles' 133-142 (docs/performance.md, session 12). `llmc tune` times
   * them at prompt steps; `--kernel-config gemm_host:MR=6,NV=2` forces
   * them. */
  int64_t mr = 0, nv = 1;
  *out = (llmc_kconfig_t){.n = 7, .values = {out->values[0], tt, nc, pick, kc, mr, nv}};
}

static bool gemm_host_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  if (!legal_vec(x, c, why)) return false;
  if (x->call->weight_dtype != LLMC_DT_F32 && c->values[0] % 2) {
    llmc_buf_printf(why, "VEC=%lld is odd: 16-bit weights load VEC/2 words", (long long)c->values[0]);
    return false;
  }
  if (c->values[4] % c->values[0]) {
    llmc_buf_printf(why, "KC=%lld is not a multiple of VEC=%lld", (long long)c->values[4], (long long)c->values[0]);
    return false;
  }
  if (c->values[3] % c->values[1]) {
    llmc_buf_printf(why, "TB=%lld is not a multiple of TT=%lld", (long long)c->values[3], (long long)c->values[1]);
    return false;
  }
  int64_t vec = c->values[0], mr = c->values[5], nv = c->values[6];
  if (mr > 0 && !panel_target(x)) {
    llmc_buf_printf(why, "MR=%lld: panels only on x86 targets", (long long)mr);
    return false;
  }
  if (mr > 0 && vec != 4 && vec != 8 && vec != 16) {
    llmc_buf_printf(why, "MR=%lld: panels need VEC 4, 8 or 16, not %lld", (long long)mr, (long long)vec);
    return false;
  }
  if (mr > 0 && panel_stack_bytes(x, vec, mr, nv) > GEMM_PANEL_STACK_MAX) {
    llmc_buf_printf(why, "a panel of NV=%lld x VEC=%lld columns of K=%lld and MR=%lld tokens' sums take %lld bytes of stack, more than %d",
                    (long long)nv, (long long)vec, (long long)k_of(x), (long long)mr,
                    (long long)panel_stack_bytes(x, vec, mr, nv), GEMM_PANEL_STACK_MAX);
    return false;
  }
  return true;
}

static llmc_status_t *gemm_host_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "gemm_host";
  out->generate = llmc_gemm_host_generate;
  rows_helper(x, out, 0);
  op_params(x, out);
  put_int(x, out, "VEC", c->values[0]);
  put_int(x, out, "TT", c->values[1]);
  put_int(x, out, "NC", c->values[2]);
  put_int(x, out, "TB", c->values[3]);
  put_int(x, out, "KC", c->values[4]);
  put_int(x, out, "MR", c->values[5]);
  put_int(x, out, "NV", c->values[6]);
  /* The GEMV's prefetch distance (widest_vec_prefetch), for a block's
   * first tile: a batch of a few decode tokens is as memory-bound as one. */
  put_int(x, out, "PF", x->call->weight_dtype == LLMC_DT_F32 ? 4096 : 2048);
  put(x, out, "WTYPE", llmc_dtype_name(x->call->weight_dtype));
  return NULL;
}

/* ---- CPU: matmul with int8 row-layout weights, dequantized in registers ---- */

static bool cpu_matmul_int8_supports(const llmc_kctx_t *x) { return x->call->weight_dtype == LLMC_DT_I8; }

/* VEC int8 weights are VEC/4 f32 words: VEC a multiple of 4 dividing K. */
static bool legal_vec_int8(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  if (c->values[0] % 4 != 0) {
    llmc_buf_printf(why, "VEC=%lld is not a whole number of 4-byte words of int8", (long long)c->values[0]);
    return false;
  }
  return legal_vec(x, c, why);
}

static llmc_status_t *cpu_matmul_int8_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "matmul_int8";
  op_params(x, out);
  put_int(x, out, "VEC", c->values[0]);
  put_int(x, out, "WORDS", c->values[0] / 4);
  put_int(x, out, "SCALES", x->call->node->inputs[1]->shape.dims[0] * k_of(x) / 4); /* after the N*K bytes */
  return NULL;
}

/* ---- CPU: matmul with group-layout weights (int4, int8-g32), widened in registers ---- */

static bool cpu_matmul_int4_supports(const llmc_kctx_t *x) {
  return x->call->weight_dtype == LLMC_DT_I4 && k_of(x) % 64 == 0;
}

static bool cpu_matmul_int8g_supports(const llmc_kctx_t *x) {
  return x->call->weight_dtype == LLMC_DT_I8G && k_of(x) % 64 == 0;
}

/* The layouts of nibbles (int4, int4-zp and the K-quants: their dots take
 * unsigned values). */
static bool nibbles(llmc_dtype_t dt) { return dt == LLMC_DT_I4 || dt == LLMC_DT_I4Z || llmc_dtype_kquant_bits(dt); }

/* A column's f32 words of values, and of its header, in an integer layout
 * (llmc_layout_row_bytes; every layout's are whole words). */
static int64_t value_words(const llmc_kctx_t *x) {
  uint64_t v = 0, h = 0;
  llmc_layout_row_bytes(x->call->weight_dtype, k_of(x), &v, &h);
  return (int64_t)v / 4;
}
static int64_t header_words(const llmc_kctx_t *x) {
  uint64_t v = 0, h = 0;
  llmc_layout_row_bytes(x->call->weight_dtype, k_of(x), &v, &h);
  return (int64_t)h / 4;
}

/* A column is its value words, then the N columns' f16 scales, K/64 words
 * each. */
static llmc_status_t *cpu_matmul_groups_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  (void)c;
  bool int4 = x->call->weight_dtype == LLMC_DT_I4;
  int64_t qwords = value_words(x);
  out->family = int4 ? "matmul_int4" : "matmul_int8g";
  op_params(x, out);
  put_int(x, out, "QWORDS", qwords);
  put_int(x, out, "SWORDS", header_words(x));
  put_int(x, out, "SCALES", x->call->node->inputs[1]->shape.dims[0] * qwords);
  return NULL;
}

/* ---- CPU: matmul on integer weights with int8 activations (integer dot products) ---- */

/* The kernel keeps TQ tokens' quantized rows on its stack (q8_stack_bytes).
 * The heuristic stays within 128 KiB, the legality check
 * within 256 KiB (a thread's stack is at least 2 MiB: glibc's smallest
 * default; the runtime's pool threads get 8 MiB). */
#define Q8_TQ_CANDIDATES 1, 2, 4, 8, 16, 32, 64, 128
static const int64_t q8_tq_candidates[] = {Q8_TQ_CANDIDATES};
#define Q8_STACK_HINT (128 * 1024)
#define Q8_STACK_MAX (256 * 1024)
#define GEMM_Q8_TB_CANDIDATES 4, 8, 16, 32, 64, 128

/* A token's quantized row: K bytes, and a block's f32 scale, f32 sum (the
 * mins' and zero points' factor) and 8 i32 lane corrections (the unsigned
 * dots' starting values). */
static int64_t q8_stack_bytes(const llmc_kctx_t *x, int64_t tq) {
  int64_t blocks = k_of(x) / 32;
  return tq * (k_of(x) + blocks * 8 + blocks * 32);
}

/* Not in an artifact that also has GPU targets: they have no integer-dot
 * kernels yet and read f32 activations, and every device of one artifact
 * computes the same numbers (gpu_check holds them to it). */
static bool cpu_matmul_q8_supports(const llmc_kctx_t *x) {
  llmc_dtype_t w = x->call->weight_dtype;
  for (int t = 0; t < x->plan->n_targets; t++)
    if (x->plan->targets[t].is_gpu) return false;
  if (llmc_dtype_kquant_bits(w)) return x->plan->act_quant && k_of(x) % LLMC_KQUANT_BLOCK == 0;
  if (w == LLMC_DT_I4Z) return x->plan->act_quant && k_of(x) % 128 == 0;
  return x->plan->act_quant && (w == LLMC_DT_I4 || w == LLMC_DT_I8G || w == LLMC_DT_I8) && k_of(x) % 64 == 0;
}

static void cpu_matmul_q8_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* As many tokens as the call's steps have (each chunk re-reads the
   * thread's weights: decode's kcall needs 1), within the stack hint; at
   * least 1. */
  int64_t best = q8_tq_candidates[0], tokens = x->call->t_max > 0 ? x->call->t_max : x->plan->max_step_tokens;
  for (size_t i = 0; i < sizeof q8_tq_candidates / sizeof q8_tq_candidates[0]; i++) {
    int64_t v = q8_tq_candidates[i];
    if (q8_stack_bytes(x, v) > Q8_STACK_HINT) break;
    best = v;
    if (v >= tokens) break;
  }
  /* Columns four at a time share activation loads; measured on x86
   * (docs/performance.md, 2026-11-30), that wins for int4 (by up to 1.4x
   * without prefetch, about even with it) and loses for int8 (0.7x: its
   * four 64-byte streams a step), which reads one column after another. */
  int64_t cols = nibbles(x->call->weight_dtype) ? 4 : 1;
  /* Prefetch 8 KiB ahead of each weight stream: on this 2-vCPU Xeon
   * (2026-11-30) decode went from 2 KiB to 8 KiB ahead +25-40%, none to 8
   * KiB 1.5-2.5x; 16 KiB is no better. */
  *out = (llmc_kconfig_t){.n = 3, .values = {best, cols, 2048}};
}

static bool cpu_matmul_q8_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  if (q8_stack_bytes(x, c->values[0]) > Q8_STACK_MAX) {
    llmc_buf_printf(why, "TQ=%lld quantized rows of K=%lld take %lld bytes of stack, more than %d",
                    (long long)c->values[0], (long long)k_of(x), (long long)q8_stack_bytes(x, c->values[0]),
                    Q8_STACK_MAX);
    return false;
  }
  return true;
}

/* What matmul_q8 and gemm_q8_host share: the layout's weight decoding
 * (helper 0), the target's integer dot (1), the row map (2), q8_rows
 * quantizing `rows` token rows on the stack (3), and the weights' shape. */
static void q8_common(const llmc_kctx_t *x, llmc_kinstance_t *out, int64_t rows) {
  llmc_dtype_t wdt = x->call->weight_dtype;
  int64_t k = k_of(x), n = x->call->node->inputs[1]->shape.dims[0];
  int64_t qwords = value_words(x);
  int bits = llmc_dtype_kquant_bits(wdt);
  out->helper[0] = wdt == LLMC_DT_I4    ? "q8_dot_int4"
                   : wdt == LLMC_DT_I8G ? "q8_dot_int8g"
                   : wdt == LLMC_DT_I4Z ? "q8_dot_int4zp"
                   : bits               ? "q8_dot_kquant"
                                        : "q8_dot_int8";
  if (wdt == LLMC_DT_I4Z) helper_put_int(x, out, 0, "ZOFF", k / 64);
  if (bits) { /* the high bits, and the mins of int4-k and int5-k */
    helper_put(x, out, 0, "HIGH1", bits == 5 ? "true" : "false");
    helper_put(x, out, 0, "HIGH2", bits == 6 ? "true" : "false");
    helper_put(x, out, 0, "MIN", bits < 6 ? "true" : "false");
  }
  out->helper[1] = llmc_target_has_vnni512(x->target) ? "q8_dot64_vnni512"
                   : llmc_target_has_vnni(x->target)  ? "q8_dot64_vnni"
                   : llmc_target_has_avx2(x->target)  ? "q8_dot64_avx2"
                                                      : "q8_dot64";
  rows_helper(x, out, 2);
  out->helper[3] = "q8_rows";
  helper_put_int(x, out, 3, "K", k);
  helper_put_int(x, out, 3, "KB", k / 32);
  helper_put_int(x, out, 3, "QA", rows * k);
  helper_put_int(x, out, 3, "DA", rows * (k / 32) * 2);
  helper_put_int(x, out, 3, "CA", rows * (k / 32) * 8);
  op_params(x, out);
  put_int(x, out, "STEPS", k / 64);
  /* A column's f32 words of values, and per 64 of them; of its header
   * (int8 rows' scale; the groups' f16 scales, and int4-zp's zero points
   * after them; the K-quants' super-block headers); where the headers
   * start (after every column's values). */
  put_int(x, out, "QWORDS", qwords);
  put_int(x, out, "STEP_WORDS", qwords / (k / 64));
  put_int(x, out, "SWORDS", header_words(x));
  put_int(x, out, "SCALES", n * qwords);
}

static llmc_status_t *cpu_matmul_q8_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  int64_t k = k_of(x), tq = c->values[0];
  out->family = "matmul_q8";
  q8_common(x, out, tq);
  put_int(x, out, "TQ", tq);
  put_int(x, out, "QA", tq * k);
  put_int(x, out, "DA", tq * (k / 32) * 2);
  put_int(x, out, "CA", tq * (k / 32) * 8);
  put_int(x, out, "FOUR_COLS", c->values[1] == 4);
  put_prefetch(x, out, c->values[2]);
  return NULL;
}

/* ---- CPU: integer-dot matmul of several tokens, register-tiled (gemm_q8_host.c) ---- */

/* matmul_q8's weights and activations in the kcall for steps of 2 tokens or
 * more: each step of a column's weights is decoded once for a tile of
 * tokens. Decode, and the logits' sampled rows, keep matmul_q8. */
static bool gemm_q8_host_supports(const llmc_kctx_t *x) {
  return x->call->t_min >= 2 && !x->call->sampled_rows && cpu_matmul_q8_supports(x);
}

/* Token blocks of TB whose quantized rows fit the stack hint (at least TT
 * of them), and a tile of TT x NC accumulators (16 lanes each: one
 * register on AVX-512, two on AVX2) that leaves registers for a step's NC
 * decoded columns (64 bytes and 16 scales each) and a token's activations.
 * Measured on the 2-vCPU Xeon (2026-11-30, 256-token prefill of the 124.7M
 * model, Q4_0, tokens/s, fresh copies): AVX-512 4x4 1124, 4x3 1155, 3x4
 * 1065, 6x2 991, 2x4 949 (matmul_q8 a token at a time: 680); AVX2
 * (x86-64-v3) 2x1 592, 1x2 585, 2x2 572 (it spills), 1x4 557, 1x1 509,
 * the previous session's 8-lane matmul_q8 588: there the dot's 16-bit
 * products and pairwise sums, not the weights' decoding, bound it. */
static void gemm_q8_host_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  bool regs32 = x->target->vector_regs >= 32;
  int64_t tt = regs32 ? 4 : 2, nc = regs32 ? 4 : 1;
  static const int64_t tbs[] = {GEMM_Q8_TB_CANDIDATES};
  int64_t tb = tbs[0];
  for (size_t i = 0; i < sizeof tbs / sizeof tbs[0]; i++)
    if (tbs[i] >= tt && q8_stack_bytes(x, tbs[i]) <= Q8_STACK_HINT) tb = tbs[i];
  *out = (llmc_kconfig_t){.n = 4, .values = {tt, nc, tb, 2048}};
}

static bool gemm_q8_host_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  if (c->values[2] < c->values[0]) {
    llmc_buf_printf(why, "TB=%lld is smaller than a tile of TT=%lld tokens", (long long)c->values[2],
                    (long long)c->values[0]);
    return false;
  }
  if (q8_stack_bytes(x, c->values[2]) > Q8_STACK_MAX) {
    llmc_buf_printf(why, "TB=%lld quantized rows of K=%lld take %lld bytes of stack, more than %d",
                    (long long)c->values[2], (long long)k_of(x), (long long)q8_stack_bytes(x, c->values[2]),
                    Q8_STACK_MAX);
    return false;
  }
  return true;
}

static llmc_status_t *gemm_q8_host_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "gemm_q8_host";
  out->generate = llmc_gemm_q8_host_generate;
  q8_common(x, out, c->values[2]);
  put_int(x, out, "TT", c->values[0]);
  put_int(x, out, "NC", c->values[1]);
  put_int(x, out, "TB", c->values[2]);
  put_int(x, out, "PF", c->values[3]);
  return NULL;
}

/* ---- CPU: every other op, one template each, split by rows ---- */

/* The vector exp (exp_vec) a CPU kernel calls, in helper slot h: W lanes,
 * inputs clamped to [-87, hi]. */
static void exp_helper(const llmc_kctx_t *x, llmc_kinstance_t *out, int h, int64_t w, const char *hi) {
  out->helper[h] = "exp_vec";
  helper_put_int(x, out, h, "W", w);
  helper_put(x, out, h, "HI", hi);
}

static llmc_status_t *cpu_rowwise_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  (void)c;
  out->family = x->call->op;
  op_params(x, out);
  /* silu's 16 lanes. */
  if (strcmp(x->call->op, "silu") == 0 || strcmp(x->call->op, "silu_mul") == 0) exp_helper(x, out, 0, 16, "88.0");
  return NULL;
}

/* ---- CPU: attention, L scores at a time (attention_host.c) ---- */

/* The query rows a segment holds: TQ/2 tokens x the GQA group's heads. */
static int64_t attention_host_rows(const llmc_kctx_t *x, int64_t tq) {
  int64_t heads = llmc_ir_attr_int(x->call->node, "n_heads", 0);
  return tq / 2 * (heads / x->plan->n_kv_heads);
}

/* Its stack: each row's q and accumulator, f32. */
static int64_t attention_host_stack(const llmc_kctx_t *x, int64_t tq) {
  return attention_host_rows(x, tq) * x->plan->head_dim * 2 * 4;
}
#define ATTENTION_STACK_MAX (256 * 1024)

/* The scores' lanes: one vector register's f32 lanes (16 with AVX-512, 8
 * with AVX2, 4 with SSE or NEON). Segments of 4 tokens (TQ = 8) x the
 * group's heads share each K/V block from L1. */
static void attention_host_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  int64_t lanes = x->target->vector_bits / 32, tq = 8;
  while (tq > 2 && attention_host_stack(x, tq) > ATTENTION_STACK_MAX) tq /= 2;
  *out = (llmc_kconfig_t){.n = 2, .values = {lanes >= 16 ? 16 : lanes >= 8 ? 8 : 4, tq}};
}

static bool attention_host_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t tq = c->values[1];
  if (attention_host_stack(x, tq) > ATTENTION_STACK_MAX) {
    llmc_buf_printf(why, "TQ=%lld: %lld rows of head dim %lld take %lld bytes of stack, more than %d", (long long)tq,
                    (long long)attention_host_rows(x, tq), (long long)x->plan->head_dim,
                    (long long)attention_host_stack(x, tq), ATTENTION_STACK_MAX);
    return false;
  }
  return true;
}

static llmc_status_t *attention_host_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  int64_t lanes = c->values[0], tq = c->values[1], bs = x->plan->block_size;
  out->family = "attention";
  out->generate = llmc_attention_host_generate;
  op_params(x, out);
  put_int(x, out, "L", lanes);
  put_int(x, out, "BLOCK_PAD", (bs + lanes - 1) / lanes * lanes);
  put_int(x, out, "TQ", tq);
  put_int(x, out, "ROWS", attention_host_rows(x, tq));
  put_int(x, out, "T_ARG", x->call->kvw ? 8 : 6); /* artifact.c: after the fused kv_write's k and v */
  exp_helper(x, out, 2, lanes, "0.0"); /* the shifted scores, all <= 0 */
  return NULL;
}

/* ---- GPU: GEMV, a workgroup per COLS output columns of one token ---- */

static const char *gemv_family(llmc_dtype_t wdt) {
  /* bf16 is widened with integer ops, which every GPU has. */
  return wdt == LLMC_DT_BF16 ? "matmul_bf16" : wdt == LLMC_DT_F16 ? "matmul_half" : "matmul";
}

/* The smallest power of two >= n (n >= 1). */
static int64_t pow2_ceil(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

/* Threads for `work` independent items of at least `per_thread` each: a
 * power of two, at least a warp (and 32: the smallest candidate), at most
 * `cap`. Threads past the work would only idle. */
static int64_t threads_for(const llmc_target_t *t, int64_t work, int64_t per_thread, int64_t cap) {
  int64_t lo = t->warp_size > 32 ? t->warp_size : 32;
  int64_t wg = pow2_ceil((work + per_thread - 1) / per_thread);
  return wg < lo ? lo : wg > cap ? cap : wg;
}

static void gemv_block_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* Each thread streams 16-byte loads (4 values) of all four of the
   * workgroup's weight rows; 4 columns per workgroup keep four independent
   * loads in flight per thread (the templates' vector path needs exactly
   * 4). Up to 256 threads share a row of K; a short K gets fewer (a thread
   * per 4 values, at least a warp). */
  *out = (llmc_kconfig_t){.n = 2, .values = {threads_for(x->target, k_of(x), 4, 256), 4}};
}

static bool gemv_block_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t wg = c->values[0], cols = c->values[1];
  return legal_block(x, wg, cols * wg * 4, why);
}

static llmc_status_t *gemv_block_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  llmc_dtype_t wdt = x->call->weight_dtype;
  out->family = gemv_family(wdt);
  op_params(x, out);
  if (wdt == LLMC_DT_F16) put(x, out, "WTYPE", "f16");
  put_int(x, out, "COLS", c->values[1]);
  if (wdt != LLMC_DT_F32) put_int(x, out, "K_WORDS", k_of(x) / 2);
  put_int(x, out, "WG", c->values[0]);
  return NULL;
}

static void gemv_block_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)x;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)c->values[0],
                                .items_per_block = (int32_t)c->values[1],
                                .grid_y_tokens = 1};
}

/* ---- GPU: GEMV, a warp per R rows, shuffle reductions (gemv_warp.c) ---- */

/* Shuffles: NVIDIA (shfl.sync) and AMD (ds_bpermute). MLIR 22's LLVM-SPV
 * lowering takes gpu.shuffle only at a declared subgroup size, so SPIR-V
 * keeps gemv_block. Rows and activations must be 16-byte aligned. */
static bool has_shuffles(const llmc_target_t *t) {
  llmc_gpu_vendor_t v = llmc_gpu_vendor(t);
  return (v == LLMC_GPU_VENDOR_NVIDIA || v == LLMC_GPU_VENDOR_AMD) && (t->warp_size == 32 || t->warp_size == 64);
}

/* The GPU GEMVs read f32, f16 and bf16 weights; gemv_warp also the int8 row layout. */
static bool float_weights(const llmc_kctx_t *x) {
  llmc_dtype_t d = x->call->weight_dtype;
  return d == LLMC_DT_F32 || d == LLMC_DT_F16 || d == LLMC_DT_BF16;
}

static bool gemv_warp_supports(const llmc_kctx_t *x) {
  bool i8 = x->call->weight_dtype == LLMC_DT_I8;
  return (float_weights(x) || i8) && has_shuffles(x->target) && k_of(x) % (i8 ? 16 : 8) == 0;
}

/* 32-bit words a warp reads per step of K (16 bytes a lane), and the steps. */
static int64_t gemv_warp_steps(const llmc_kctx_t *x) {
  llmc_dtype_t d = x->call->weight_dtype;
  int64_t words = d == LLMC_DT_F32 ? k_of(x) : d == LLMC_DT_I8 ? k_of(x) / 4 : k_of(x) / 2;
  return words / (4 * x->target->warp_size);
}

static void gemv_warp_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* 4 warps a block; 2 rows per warp where that still leaves two blocks
   * per multiprocessor, else 1; 4 steps of K loaded before the first
   * multiply (fewer when K is short). Measured on an H200 (2026-11-30,
   * bench/gpu, TinyLlama's shapes in bf16): 2 rows beat 4 on gate/up
   * (N = 11264, 17.7 vs 18.3 us) and the vocabulary (36.8 vs 41.5 us), and
   * 8 steps in flight gained nothing at T = 1. */
  int64_t n = cols_of(x), warps = 4, r = 1;
  if ((n + warps * 2 - 1) / (warps * 2) >= 2 * x->target->sm_count) r = 2;
  int64_t steps = gemv_warp_steps(x), u = steps >= 4 ? 4 : steps >= 2 ? 2 : 1;
  /* Decode (the T = 1 kcall): a token a block, every weight read once and
   * no wasted work. Wider steps (T >= 2: a batch, a prefill chunk): 4
   * tokens a block share each weight load, 2 rows a warp share each
   * activation load, and 8 steps of K in flight: at batch 8 this took the
   * step from 2.87 to 2.32 ms (R=1, UNROLL=4 before; same run). */
  int64_t tok = 1;
  if (x->call->t_min >= 2) {
    tok = 4;
    r = 2;
    u = steps >= 8 ? 8 : u;
  }
  *out = (llmc_kconfig_t){.n = 4, .values = {r, warps, u, tok}};
}

static bool gemv_warp_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t r = c->values[0], u = c->values[2], tok = c->values[3], steps = gemv_warp_steps(x);
  if (u > 1 && u > steps) {
    llmc_buf_printf(why, "UNROLL=%lld exceeds the %lld steps of K", (long long)u, (long long)steps);
    return false;
  }
  /* Accumulators a thread keeps: rows (2R with the fused silu_mul) x tokens. */
  if (r * tok > 16) {
    llmc_buf_printf(why, "R=%lld x TOK=%lld accumulators exceed 16 a thread", (long long)r, (long long)tok);
    return false;
  }
  return legal_block(x, c->values[1] * x->target->warp_size, 0, why);
}

/* Per-target fusion (kplan.c, absorb) of the GPU matmul generators: the
 * rms_norm before (NORM, EPS, NOFFSET: Gemma's (1 + w)), the silu_mul (GLU
 * 1, SwiGLU) or gelu_mul (GLU 2, GeGLU) after. */
static void put_fusions(const llmc_kctx_t *x, llmc_kinstance_t *out) {
  bool norm = x->choice && x->choice->fused_norm, glu = x->choice && x->choice->fused_glu;
  put_int(x, out, "NORM", norm);
  put_f32(x, out, "EPS", norm ? llmc_ir_attr_float(x->call->norm, "eps", 1e-5) : 0.0);
  put_f32(x, out, "NOFFSET", norm ? llmc_ir_attr_float(x->call->norm, "offset", 0) : 0.0);
  put_int(x, out, "GLU", glu ? (x->call->glu->op == LLMC_OP_GELU_MUL ? 2 : 1) : 0);
}

static llmc_status_t *gemv_warp_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "gemv_warp";
  out->generate = llmc_gemv_warp_generate;
  op_params(x, out);
  put_fusions(x, out);
  put(x, out, "WTYPE", llmc_dtype_name(x->call->weight_dtype));
  put_int(x, out, "WS", x->target->warp_size);
  put_int(x, out, "R", c->values[0]);
  put_int(x, out, "WARPS", c->values[1]);
  put_int(x, out, "UNROLL", c->values[2]);
  put_int(x, out, "TOK", c->values[3]);
  put_int(x, out, "ROWS", x->call->sampled_rows); /* the logits' matmul: only the sampled rows */
  return NULL;
}

static void gemv_warp_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  /* The extent is the matmul's N columns; with the silu_mul fused a warp's
   * R outputs take 2R of them (gate and up rows). */
  int64_t per_output = x->choice && x->choice->fused_glu ? 2 : 1;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)(c->values[1] * x->target->warp_size),
                                .items_per_block = (int32_t)(c->values[0] * c->values[1] * per_output),
                                .grid_y_tokens = (int32_t)c->values[3]};
}

/* ---- GPU: tensor-core GEMM, mma.sync bf16 (gemm_mma.c) ---- */

/* NVIDIA chips with mma.sync (sm_80 on; sm_90a's wgmma chips have it too),
 * bf16 weights, steps of LLMC_MMA_MIN_TOKENS tokens or more (a decode batch
 * keeps gemv_warp, whose blocks cover the GPU at any T), every row of the
 * output (not the logits' sampled rows), K in steps of 32 and N in tiles of
 * 32. */
static bool gemm_mma_supports(const llmc_kctx_t *x) {
  const llmc_target_t *t = x->target;
  const char *tc = t->tensor_core ? t->tensor_core : "";
  return llmc_gpu_vendor(t) == LLMC_GPU_VENDOR_NVIDIA && (strncmp(tc, "mma.sync", 8) == 0 || strncmp(tc, "wgmma", 5) == 0) &&
         x->call->weight_dtype == LLMC_DT_BF16 && !x->call->sampled_rows && x->call->t_min >= LLMC_MMA_MIN_TOKENS &&
         k_of(x) % 32 == 0 && cols_of(x) % 32 == 0;
}

static void gemm_mma_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* 4 warps (2 x 2) of 32 x BN/2 each, 64 tokens a block. BN 64 where the
   * step's largest T still makes a block per multiprocessor, else 32 (more
   * blocks for the narrow projections: N = 2048 at T = 128 is 64 blocks of
   * 64 columns, 128 of 32). Not measured on a device yet. */
  int64_t n = cols_of(x), t_blocks = (x->call->t_max + 63) / 64, bn = 32;
  if (n % 64 == 0 && (n / 64) * t_blocks >= x->target->sm_count) bn = 64;
  *out = (llmc_kconfig_t){.n = 4, .values = {64, bn, 2, 2}};
}

static bool gemm_mma_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t bm = c->values[0], bn = c->values[1], wm = c->values[2], wn = c->values[3];
  int64_t threads = 32 * wm * wn, n = cols_of(x);
  if (bm % (16 * wm) || bn % (8 * wn)) {
    llmc_buf_printf(why, "a %lldx%lld tile does not divide into %lldx%lld warps of 16x8 mma tiles", (long long)bm,
                    (long long)bn, (long long)wm, (long long)wn);
    return false;
  }
  int64_t mt = bm / wm / 16, nt = bn / wn / 8;
  if ((bm * 8) % threads || (bn * 4) % threads) {
    llmc_buf_printf(why, "%lld threads do not split the staging of a %lldx%lld tile evenly", (long long)threads,
                    (long long)bm, (long long)bn);
    return false;
  }
  if (mt * nt > 16) {
    llmc_buf_printf(why, "%lld mma tiles a warp (%lld accumulators a thread) exceed 16", (long long)(mt * nt),
                    (long long)(mt * nt * 4));
    return false;
  }
  if (n % bn) {
    llmc_buf_printf(why, "BN=%lld does not divide N=%lld", (long long)bn, (long long)n);
    return false;
  }
  /* A silu_mul or gelu_mul the kernel may take: gate and up halves a warp. */
  if (x->call->glu && nt % 2) {
    llmc_buf_printf(why, "a warp's %lld mma columns cannot hold gate and up halves", (long long)nt);
    return false;
  }
  /* Staged hi, lo and weight rows (20 words each), and a scale a row with a norm. */
  return legal_block(x, threads, (2 * bm + bn) * 20 * 4 + bm * 4, why);
}

static llmc_status_t *gemm_mma_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = "gemm_mma";
  out->generate = llmc_gemm_mma_generate;
  op_params(x, out);
  put_fusions(x, out);
  put_int(x, out, "BM", c->values[0]);
  put_int(x, out, "BN", c->values[1]);
  put_int(x, out, "WM", c->values[2]);
  put_int(x, out, "WN", c->values[3]);
  return NULL;
}

static void gemm_mma_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)x;
  /* Extent: the N weight rows (with GLU a block's BN rows are BN/2 outputs' gate and up). */
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)(32 * c->values[2] * c->values[3]),
                                .items_per_block = (int32_t)c->values[1],
                                .grid_y_tokens = (int32_t)c->values[0]};
}

/* ---- GPU: attention, warps over the key positions (attention_warp) ---- */

/* Shuffles (NVIDIA, AMD), and a whole number of head dimensions a lane. */
static bool attention_warp_supports(const llmc_kctx_t *x) {
  int64_t ws = x->target->warp_size, hd = x->plan->head_dim;
  /* A 16-bit pool is read in words: an even number of dimensions a lane. */
  bool half = x->plan->kv_dtype == LLMC_DT_F16 || x->plan->kv_dtype == LLMC_DT_BF16;
  return has_shuffles(x->target) && hd % ws == 0 && hd / ws <= 8 && (!half || (hd / ws) % 2 == 0);
}

static void attention_warp_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* 16 warps split a context sixteen ways: at decode a warp's positions
   * are a chain of dependent loads (block table, key row), so its latency
   * is the positions it walks (H200, 2026-11-30: 14.9 us a layer with 4
   * warps, 10.8 with 8, at 32-96 positions); enough threads to stage and
   * combine every head dimension. */
  int64_t warps = 16, ws = x->target->warp_size;
  while (warps * ws < x->plan->head_dim && warps < 16) warps *= 2;
  *out = (llmc_kconfig_t){.n = 1, .values = {warps}};
}

static bool attention_warp_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  int64_t warps = c->values[0], threads = warps * x->target->warp_size, hd = x->plan->head_dim;
  if (threads < hd) {
    llmc_buf_printf(why, "%lld threads cannot combine %lld head dimensions", (long long)threads, (long long)hd);
    return false;
  }
  /* q, k and v rows, and each warp's m, l and accumulator. */
  return legal_block(x, threads, (3 * hd + 2 * warps + warps * hd) * 4, why);
}

static llmc_status_t *attention_warp_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  int64_t ws = x->target->warp_size, log2 = 0;
  while ((INT64_C(1) << log2) < ws) log2++;
  out->family = "attention_warp";
  op_params(x, out);
  put_int(x, out, "WARPS", c->values[0]);
  put_int(x, out, "WS", ws);
  put_int(x, out, "DPL", x->plan->head_dim / ws);
  put_int(x, out, "THREADS", c->values[0] * ws);
  put_int(x, out, "LOG2_WS", log2);
  /* Per-target fusion (kplan.c, absorb): at decode, this token's kv_write. */
  put_int(x, out, "KVW", x->choice && x->choice->fused_kvw);
  return NULL;
}

static void attention_warp_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)(c->values[0] * x->target->warp_size),
                                .items_per_block = 1};
}

/* ---- a kcall another kcall's kernel does on this target ---- */

static llmc_status_t *fused_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  (void)x;
  (void)c;
  out->family = "fused"; /* renders no kernel */
  return NULL;
}

static void fused_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)x;
  (void)c;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = 0, .items_per_block = 1}; /* skipped (llmc_abi.h) */
}

const llmc_kvariant_t llmc_kvariant_fused = {
    .name = "fused", .gpu = true, .ops = "", .emit = fused_emit, .launch = fused_launch};

/* ---- GPU: row-wise ops, a workgroup per row ---- */

static void gpu_rowwise_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* One workgroup per row: at decode a row is all the work there is, so
   * its latency is the serial work per thread, and each of a thread's
   * values costs a memory round trip (a loop trip waits for its load). A
   * thread per value of the row (the vocabulary for argmax), at least a
   * warp, at most 512. Measured on an H200 (2026-11-30): kv_write of 256
   * values with 32 threads (8 trips) took 7.3 us of a ~60 us decode layer. */
  const llmc_value_t *v = x->call->node;
  int64_t row = !v ? x->plan->vocab : v->op == LLMC_OP_KV_WRITE ? x->plan->kv_dim : cols_of(x);
  *out = (llmc_kconfig_t){.n = 1, .values = {threads_for(x->target, row, 1, 512)}};
}

static bool gpu_rowwise_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  /* Reductions keep one f32 (argmax: and one i32) per thread in shared
   * memory; kv_write stages a token's K row (KVD floats). */
  int64_t wg = c->values[0];
  if (x->call->node && x->call->node->op == LLMC_OP_KV_WRITE) return legal_block(x, wg, x->plan->kv_dim * 4, why);
  return legal_block(x, wg, wg * (x->call->node ? 4 : 8), why);
}

static llmc_status_t *gpu_rowwise_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  out->family = x->call->op;
  op_params(x, out);
  put_int(x, out, "WG", c->values[0]);
  return NULL;
}

static void gpu_rowwise_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)x;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)c->values[0], .items_per_block = 1};
}

/* ---- GPU: elementwise ops, a thread per element over T * N ---- */

static void gpu_elementwise_heuristic(const llmc_kctx_t *x, llmc_kconfig_t *out) {
  /* 256 threads (at least a warp): a decode row of N elements becomes
   * ceil(N / 256) workgroups, spread over the multiprocessors. */
  *out = (llmc_kconfig_t){.n = 1, .values = {threads_for(x->target, 256, 1, 256)}};
}

static bool gpu_elementwise_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  return legal_block(x, c->values[0], 0, why);
}

static void gpu_elementwise_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)x;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)c->values[0], .items_per_block = (int32_t)c->values[0]};
}

/* ---- GPU: attention, a workgroup per (token, head) ---- */

static bool gpu_attention_legal(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_buf_t *why) {
  (void)c;
  const llmc_kplan_t *p = x->plan;
  return legal_block(x, p->head_dim, (p->head_dim + p->block_size) * 4, why);
}

static llmc_status_t *gpu_attention_emit(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_kinstance_t *out) {
  (void)c;
  out->family = "attention";
  op_params(x, out);
  return NULL;
}

static void gpu_attention_launch(const llmc_kctx_t *x, const llmc_kconfig_t *c, llmc_gpu_kernel_v1_t *out) {
  (void)c;
  *out = (llmc_gpu_kernel_v1_t){.block_threads = (int32_t)x->plan->head_dim, .items_per_block = 1};
}

/* ---- the registry ---- */

#define ROWWISE_OPS "embedding softmax rms_norm rms_norm_add layer_norm rope kv_write slice"
#define ELEMENTWISE_OPS "add mul silu_mul gelu_mul bias_add silu gelu softcap"

static const llmc_kvariant_t registry[] = {
    {.name = "gemm_host",
     .ops = "matmul matmul_add",
     .n_params = 7,
     .params = {{"VEC", 5, {1, 2, 4, 8, 16}}, {"TT", 7, {1, 2, 3, 4, 5, 6, 8}}, {"NC", 6, {1, 2, 3, 4, 6, 8}},
                {"TB", 5, {24, 48, 96, 192, 384}}, {"KC", 7, {256, 512, 768, 1024, 1536, 2048, 4096}},
                {"MR", 5, {0, 4, 6, 8, 12}}, {"NV", 3, {1, 2, 4}}},
     .supports = gemm_host_supports,
     .heuristic = gemm_host_heuristic,
     .legal = gemm_host_legal,
     .emit = gemm_host_emit,
     .sampled_rows = true},
    {.name = "matmul_f32",
     .ops = "matmul matmul_add",
     .n_params = 2,
     .params = {{"VEC", 5, {1, 2, 4, 8, 16}}, {"PF", 3, {0, 2048, 4096}}},
     .supports = cpu_matmul_f32_supports,
     .heuristic = widest_vec_prefetch,
     .legal = legal_vec,
     .emit = cpu_matmul_f32_emit,
     .sampled_rows = true},
    {.name = "matmul_half",
     .ops = "matmul matmul_add",
     .n_params = 2,
     .params = {{"VEC", 4, {2, 4, 8, 16}}, {"PF", 3, {0, 2048, 4096}}},
     .supports = cpu_matmul_half_supports,
     .heuristic = widest_vec_prefetch,
     .legal = legal_vec,
     .emit = cpu_matmul_half_emit,
     .sampled_rows = true},
    {.name = "gemm_q8_host",
     .ops = "matmul matmul_add",
     .n_params = 4,
     .params = {{"TT", 6, {1, 2, 3, 4, 6, 8}}, {"NC", 6, {1, 2, 3, 4, 6, 8}}, {"TB", 6, {GEMM_Q8_TB_CANDIDATES}},
                {"PF", 3, {0, 2048, 4096}}},
     .supports = gemm_q8_host_supports,
     .heuristic = gemm_q8_host_heuristic,
     .legal = gemm_q8_host_legal,
     .emit = gemm_q8_host_emit,
     .int8_activations = true,
     .sampled_rows = true},
    {.name = "matmul_q8",
     .ops = "matmul matmul_add",
     .n_params = 3,
     .params = {{"TQ", 8, {Q8_TQ_CANDIDATES}}, {"COLS", 2, {1, 4}}, {"PF", 3, {0, 2048, 4096}}},
     .supports = cpu_matmul_q8_supports,
     .heuristic = cpu_matmul_q8_heuristic,
     .legal = cpu_matmul_q8_legal,
     .emit = cpu_matmul_q8_emit,
     .int8_activations = true,
     .sampled_rows = true},
    {.name = "matmul_int8",
     .ops = "matmul matmul_add",
     .n_params = 1,
     .params = {{"VEC", 3, {4, 8, 16}}},
     .supports = cpu_matmul_int8_supports,
     .heuristic = widest_vec,
     .legal = legal_vec_int8,
     .emit = cpu_matmul_int8_emit},
    {.name = "matmul_int4", .ops = "matmul matmul_add", .supports = cpu_matmul_int4_supports, .emit = cpu_matmul_groups_emit},
    {.name = "matmul_int8g", .ops = "matmul matmul_add", .supports = cpu_matmul_int8g_supports, .emit = cpu_matmul_groups_emit},
    {.name = "attention_host",
     .ops = "attention",
     .n_params = 2,
     .params = {{"L", 3, {4, 8, 16}}, {"TQ", 4, {2, 4, 8, 16}}},
     .heuristic = attention_host_heuristic,
     .legal = attention_host_legal,
     .emit = attention_host_emit},
    {.name = "cpu_rowwise", .ops = ROWWISE_OPS " " ELEMENTWISE_OPS " argmax", .emit = cpu_rowwise_emit},
    {.name = "gemm_mma",
     .gpu = true,
     .ops = "matmul matmul_add",
     .n_params = 4,
     .params = {{"BM", 4, {16, 32, 64, 128}}, {"BN", 3, {32, 64, 128}}, {"WM", 3, {1, 2, 4}}, {"WN", 3, {1, 2, 4}}},
     .supports = gemm_mma_supports,
     .fuses = "norm glu",
     .min_tokens = LLMC_MMA_MIN_TOKENS,
     .heuristic = gemm_mma_heuristic,
     .legal = gemm_mma_legal,
     .emit = gemm_mma_emit,
     .launch = gemm_mma_launch},
    {.name = "gemv_warp",
     .gpu = true,
     .ops = "matmul matmul_add",
     .n_params = 4,
     .params = {{"R", 3, {1, 2, 4}}, {"WARPS", 4, {2, 4, 8, 16}}, {"UNROLL", 5, {1, 2, 4, 8, 16}}, {"TOK", 4, {1, 2, 4, 8}}},
     .supports = gemv_warp_supports,
     .fuses = "norm glu",
     .sampled_rows = true,
     .heuristic = gemv_warp_heuristic,
     .legal = gemv_warp_legal,
     .emit = gemv_warp_emit,
     .launch = gemv_warp_launch},
    {.name = "gemv_block",
     .gpu = true,
     .ops = "matmul matmul_add",
     .n_params = 2,
     .params = {{"WG", 6, {32, 64, 128, 256, 512, 1024}}, {"COLS", 5, {1, 2, 4, 8, 16}}},
     .supports = float_weights,
     .heuristic = gemv_block_heuristic,
     .legal = gemv_block_legal,
     .emit = gemv_block_emit,
     .launch = gemv_block_launch},
    {.name = "attention_warp",
     .gpu = true,
     .ops = "attention",
     .n_params = 1,
     .params = {{"WARPS", 4, {2, 4, 8, 16}}},
     .supports = attention_warp_supports,
     .fuses = "kv_write",
     .heuristic = attention_warp_heuristic,
     .legal = attention_warp_legal,
     .emit = attention_warp_emit,
     .launch = attention_warp_launch},
    {.name = "gpu_attention",
     .gpu = true,
     .ops = "attention",
     .legal = gpu_attention_legal,
     .emit = gpu_attention_emit,
     .launch = gpu_attention_launch},
    {.name = "gpu_elementwise",
     .gpu = true,
     .ops = ELEMENTWISE_OPS,
     .n_params = 1,
     .params = {{"WG", 6, {32, 64, 128, 256, 512, 1024}}},
     .heuristic = gpu_elementwise_heuristic,
     .legal = gpu_elementwise_legal,
     .emit = gpu_rowwise_emit,
     .launch = gpu_elementwise_launch},
    {.name = "gpu_rowwise",
     .gpu = true,
     .ops = ROWWISE_OPS " argmax",
     .n_params = 1,
     .params = {{"WG", 6, {32, 64, 128, 256, 512, 1024}}},
     .heuristic = gpu_rowwise_heuristic,
     .legal = gpu_rowwise_legal,
     .emit = gpu_rowwise_emit,
     .launch = gpu_rowwise_launch},
};

const llmc_kvariant_t *llmc_kvariants(int *out_count) {
  *out_count = (int)(sizeof registry / sizeof registry[0]);
  return registry;
}

const llmc_kvariant_t *llmc_kvariant_find(const char *name) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcmp(registry[i].name, name) == 0) return &registry[i];
  return NULL;
}

void llmc_kvariant_list(llmc_buf_t *out) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    llmc_buf_printf(out, "%s%s", i ? ", " : "", registry[i].name);
}

const char *llmc_kvariant_name(const llmc_kvariant_t *v) { return v->name; }
bool llmc_kvariant_int8_activations(const llmc_kvariant_t *v) { return v->int8_activations; }
int llmc_kvariant_n_params(const llmc_kvariant_t *v) { return v->n_params; }
int llmc_kvariant_param_values(const llmc_kvariant_t *v, int i, int64_t *values) {
  if (i < 0 || i >= v->n_params) return 0;
  for (int j = 0; j < v->params[i].n; j++) values[j] = v->params[i].values[j];
  return v->params[i].n;
}

const char *llmc_kvariant_param_name(const llmc_kvariant_t *v, int i) {
  return i >= 0 && i < v->n_params ? v->params[i].name : NULL;
}
