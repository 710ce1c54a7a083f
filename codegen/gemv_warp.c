/* gemv_warp.c: the warp-per-rows GEMV, a kernel written by a C generator
 * rather than a template because its loads are unrolled by the generator
 * (the number depends on K, the warp size and the configuration).
 *
 *   out[t, n] = epilogue(sum_k a[t, k] * w[n, k])    for the [T, K] rows of a
 *
 * Decode is a stream of the weights: the kernel must keep enough 16-byte
 * loads in flight to cover memory latency and have no other bottleneck. A
 * block is WARPS warps; warp w owns R consecutive rows (output columns) and
 * its lanes split each row's K: lane l reads the 16-byte words 4l..4l+3 of
 * every WS*4-word stretch (consecutive lanes, consecutive addresses, so a
 * warp's loads coalesce). UNROLL stretches are loaded for all R rows before
 * the first multiply, so R*UNROLL independent 16-byte weight loads (and
 * UNROLL of the activation row) are in flight per thread. Each lane then
 * sums its vector lanes and a gpu.shuffle xor tree over the warp gives lane 0
 * the row's dot product, which goes through the matmul epilogue (store,
 * residual add or split: llmc_matmul_epilogue). No shared memory and no
 * barrier. This is the structure of TensorRT-LLM's batched GEMV and of the
 * MLIR GEMV measured at 47-85% of an H200's copy bandwidth
 * (shared/GPU-RECIPES.md, section 5).
 *
 * Weights are f32, f16/bf16 packed two per 32-bit word, or int8 in llmc's
 * row layout (LLMC_DT_I8: N*K int8 values, then N f32 scales; four per
 * word); products and sums are f32. bf16 widens with integer ops (a bf16 is
 * the high half of an f32), f16 with arith.extf, int8 with arith.sitofp
 * (exact), and an int8 row's dot product is scaled by its row's scale
 * once, after the warp's sum (rows need K % 16 == 0 there: a lane's
 * 16-byte load is 16 weights). Rows and the activation row are 16-byte aligned
 * (K % 8 == 0, weights 64-byte aligned in the weight file, activations
 * 64-byte aligned by plan-memory), which supports() in kvariants.c
 * requires. Every thread runs every shuffle (rows past N are clamped and not
 * stored), so the warp is converged at each one.
 *
 * Per-target fusion (codegen/kplan.c, absorb): with NORM the kernel also does
 * the rms_norm before it: it reads the norm's input x (args[7]) and weight g
 * (args[8]) instead of the normalised row, multiplies x by g (+ NOFFSET, the
 * norm's offset: Gemma's (1 + w)) on the way in,
 * sums x^2 alongside the dot products (one more shuffle tree) and scales
 * each dot product by 1/sqrt(sum/K + EPS). With GLU it also does the
 * silu_mul (GLU 1) or gelu_mul (GLU 2) after it: the matmul is the joined
 * [gate; up] of N = 2H rows, each output o takes rows o and H + o (2R weight
 * streams per warp) and act(gate) * up goes to that op's [T, H] rows at
 * args[9]; the split parts are not written.
 *
 * TOK tokens share each weight load: a block computes its outputs for TOK
 * consecutive tokens of the step (R * TOK accumulators a thread), so a
 * batch of decode tokens or a prefill chunk reads the weights ceil(T / TOK)
 * times instead of T. Tokens past T are clamped (computed, not stored).
 * With ROWS (the logits' matmul) the tokens are the step's logit rows
 * (meta, at args[10]): block y computes slots TOK*y.., the blocks past the
 * count return at once, so a prefill chunk's logits cost one row's work.
 *
 * Launch: grid (ceil(N / (WARPS * R * (GLU ? 2 : 1))), ceil(T / TOK)) x
 * (WARPS * WS), grid_y_tokens = TOK;
 * args as the other matmuls: [a_off, b_off (f32 words), out_off, T, then the
 * epilogue's], and [7], [8], [9] for the fusions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"

enum { MAX_ACC = 8 * 8 + 8 }; /* rows (GLU: 2R <= 8) x tokens (<= 8), and a sum of squares a token */

/* What the emitters need to know. */
typedef struct {
  llmc_buf_t *o;
  int rows;           /* weight rows streamed per warp: R, or 2R with GLU */
  int tok;            /* tokens a block computes */
  llmc_dtype_t wdt;   /* f32, f16 or bf16 */
  bool norm;          /* the rms_norm prologue */
  bool norm_offset;   /* its weights get %noff added (Gemma's (1 + w) norms) */
  const char *vt;     /* a dot-product accumulator's type */
  const char *xt;     /* the activation vector's type (4 words of weights' worth) */
} gen_t;

typedef char acc_t[MAX_ACC][32];

static int n_acc(const gen_t *g) { return g->rows * g->tok + (g->norm ? g->tok : 0); }

/* Loads for one stretch `s`, `words` past the lane's start `base` (an SSA
 * index): each token j's activations %x{s}_{j} (times the norm weight %g{s}
 * with NORM; the raw ones %xr{s}_{j} feed the sum of squares) and each
 * row's weights %w{s}_{r}. The tail's bounds check is the caller's. */
static void emit_loads(const gen_t *g, const char *ind, int s, int64_t words, const char *base) {
  llmc_buf_t *o = g->o;
  llmc_buf_printf(o, "%s%%ko%d = arith.constant %lld : index\n", ind, s, (long long)words);
  llmc_buf_printf(o, "%s%%kw%d = arith.addi %s, %%ko%d : index\n", ind, s, base, s);
  /* Word j holds elements 2j and 2j + 1 of 16-bit weights (4 words are 8
   * activations), elements 4j..4j+3 of int8 ones (4 words, 16). */
  if (g->wdt == LLMC_DT_F32)
    llmc_buf_printf(o, "%s%%ke%d = arith.addi %%kw%d, %%c0 : index\n", ind, s, s);
  else if (g->wdt == LLMC_DT_I8)
    llmc_buf_printf(o, "%s%%ke%d = arith.muli %%kw%d, %%c4 : index\n", ind, s, s);
  else
    llmc_buf_printf(o, "%s%%ke%d = arith.muli %%kw%d, %%c2 : index\n", ind, s, s);
  if (g->norm) {
    llmc_buf_printf(o, "%s%%gi%d = arith.addi %%g_off, %%ke%d : index\n", ind, s, s);
    llmc_buf_printf(o, "%s%%g%s%d = vector.load %%w[%%gi%d] {alignment = 16} : memref<?xf32>, %s\n", ind,
                    g->norm_offset ? "w" : "", s, s, g->xt);
    if (g->norm_offset) llmc_buf_printf(o, "%s%%g%d = arith.addf %%gw%d, %%noff : %s\n", ind, s, s, g->xt);
  }
  for (int j = 0; j < g->tok; j++) {
    const char *x = g->norm ? "xr" : "x";
    llmc_buf_printf(o, "%s%%xi%d_%d = arith.addi %%a_row%d, %%ke%d : index\n", ind, s, j, j, s);
    llmc_buf_printf(o, "%s%%%s%d_%d = vector.load %%act[%%xi%d_%d] {alignment = 16} : memref<?xf32>, %s\n", ind, x,
                    s, j, s, j, g->xt);
    if (g->norm) llmc_buf_printf(o, "%s%%x%d_%d = arith.mulf %%xr%d_%d, %%g%d : %s\n", ind, s, j, s, j, s, g->xt);
  }
  for (int r = 0; r < g->rows; r++) {
    llmc_buf_printf(o, "%s%%wi%d_%d = arith.addi %%wrow%d, %%kw%d : index\n", ind, s, r, r, s);
    llmc_buf_printf(o, "%s%%w%d_%d = vector.load %%w[%%wi%d_%d] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                    ind, s, r, s, r);
  }
}

/* acc[r * tok + j] (SSA names) += row r's products with token j for
 * stretch s; acc[rows * tok + j] += token j's x^2 with NORM. */
static void emit_fmas(const gen_t *g, const char *ind, int s, acc_t acc) {
  llmc_buf_t *o = g->o;
  for (int j = 0; g->wdt == LLMC_DT_BF16 && j < g->tok; j++)
    llmc_buf_printf(o,
                    "%s%%xe%d_%d = vector.shuffle %%x%d_%d, %%x%d_%d [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>\n"
                    "%s%%xo%d_%d = vector.shuffle %%x%d_%d, %%x%d_%d [1, 3, 5, 7] : vector<8xf32>, vector<8xf32>\n",
                    ind, s, j, s, j, s, j, ind, s, j, s, j, s, j);
  for (int r = 0; r < g->rows; r++) {
    /* Widen the row's weights once; every token multiplies them. */
    if (g->wdt == LLMC_DT_BF16)
      llmc_buf_printf(o,
                      "%s%%wb%d_%d = vector.bitcast %%w%d_%d : vector<4xf32> to vector<4xi32>\n"
                      "%s%%wl%d_%d = arith.shli %%wb%d_%d, %%v16 : vector<4xi32>\n"
                      "%s%%wh%d_%d = arith.andi %%wb%d_%d, %%vmask : vector<4xi32>\n"
                      "%s%%we%d_%d = vector.bitcast %%wl%d_%d : vector<4xi32> to vector<4xf32>\n"
                      "%s%%wo%d_%d = vector.bitcast %%wh%d_%d : vector<4xi32> to vector<4xf32>\n",
                      ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r);
    else if (g->wdt == LLMC_DT_F16)
      llmc_buf_printf(o,
                      "%s%%wh%d_%d = vector.bitcast %%w%d_%d : vector<4xf32> to vector<8xf16>\n"
                      "%s%%wf%d_%d = arith.extf %%wh%d_%d : vector<8xf16> to vector<8xf32>\n",
                      ind, s, r, s, r, ind, s, r, s, r);
    else if (g->wdt == LLMC_DT_I8)
      llmc_buf_printf(o,
                      "%s%%wh%d_%d = vector.bitcast %%w%d_%d : vector<4xf32> to vector<16xi8>\n"
                      "%s%%wf%d_%d = arith.sitofp %%wh%d_%d : vector<16xi8> to vector<16xf32>\n",
                      ind, s, r, s, r, ind, s, r, s, r);
    for (int j = 0; j < g->tok; j++) {
      int a = r * g->tok + j;
      switch (g->wdt) {
        case LLMC_DT_BF16:
          llmc_buf_printf(o,
                          "%s%%m%d_%d_%d = vector.fma %%xe%d_%d, %%we%d_%d, %s : vector<4xf32>\n"
                          "%s%%n%d_%d_%d = vector.fma %%xo%d_%d, %%wo%d_%d, %%m%d_%d_%d : vector<4xf32>\n",
                          ind, s, r, j, s, j, s, r, acc[a], ind, s, r, j, s, j, s, r, s, r, j);
          break;
        case LLMC_DT_F16:
        case LLMC_DT_I8:
          llmc_buf_printf(o, "%s%%n%d_%d_%d = vector.fma %%x%d_%d, %%wf%d_%d, %s : %s\n", ind, s, r, j, s, j, s, r,
                          acc[a], g->vt);
          break;
        default:
          llmc_buf_printf(o, "%s%%n%d_%d_%d = vector.fma %%x%d_%d, %%w%d_%d, %s : %s\n", ind, s, r, j, s, j, s, r,
                          acc[a], g->vt);
          break;
      }
      snprintf(acc[a], 32, "%%n%d_%d_%d", s, r, j);
    }
  }
  for (int j = 0; g->norm && j < g->tok; j++) {
    int a = g->rows * g->tok + j;
    llmc_buf_printf(o, "%s%%q%d_%d = vector.fma %%xr%d_%d, %%xr%d_%d, %s : %s\n", ind, s, j, s, j, s, j, acc[a],
                    g->xt);
    snprintf(acc[a], 32, "%%q%d_%d", s, j);
  }
}

void llmc_emit_glu_act(llmc_buf_t *o, const char *ind, const char *tag, const char *gate, int glu) {
  const char *t = tag;
  if (glu == 2) /* gelu, tanh form: 0.5 x (1 + tanh(0.7978845608 (x + 0.044715 x^3))) */
    llmc_buf_printf(o,
                    "%s%%gone%s = arith.constant 1.0 : f32\n%s%%ghalf%s = arith.constant 0.5 : f32\n"
                    "%s%%gk0%s = arith.constant 0.7978845608 : f32\n%s%%gk1%s = arith.constant 0.044715 : f32\n"
                    "%s%%ghx%s = arith.mulf %%ghalf%s, %s : f32\n%s%%gx2%s = arith.mulf %%gk1%s, %s : f32\n"
                    "%s%%gx3%s = arith.mulf %%gx2%s, %s : f32\n%s%%gx4%s = arith.mulf %%gx3%s, %s : f32\n"
                    "%s%%gin%s = arith.addf %s, %%gx4%s : f32\n%s%%gu%s = arith.mulf %%gk0%s, %%gin%s : f32\n"
                    "%s%%gtanh%s = math.tanh %%gu%s : f32\n%s%%gp%s = arith.addf %%gone%s, %%gtanh%s : f32\n"
                    "%s%%gact%s = arith.mulf %%ghx%s, %%gp%s : f32\n",
                    ind, t, ind, t, ind, t, ind, t, ind, t, t, gate, ind, t, t, gate, ind, t, t, gate, ind, t, t,
                    gate, ind, t, gate, t, ind, t, t, t, ind, t, t, ind, t, t, t, ind, t, t, t);
  else /* silu: x / (1 + exp(-x)) */
    llmc_buf_printf(o,
                    "%s%%gone%s = arith.constant 1.0 : f32\n%s%%gneg%s = arith.negf %s : f32\n"
                    "%s%%gexp%s = math.exp %%gneg%s : f32\n%s%%gden%s = arith.addf %%gone%s, %%gexp%s : f32\n"
                    "%s%%gact%s = arith.divf %s, %%gden%s : f32\n",
                    ind, t, ind, t, gate, ind, t, t, ind, t, t, t, ind, t, gate, t);
}

static const char *acc_type(const gen_t *g, int a) { return a < g->rows * g->tok ? g->vt : g->xt; }

/* "vector<4xf32>, ..." for the loop-carried accumulators. */
static void acc_types(const gen_t *g, llmc_buf_t *o) {
  for (int a = 0; a < n_acc(g); a++) llmc_buf_printf(o, "%s%s", a ? ", " : "", acc_type(g, a));
}

static void acc_names(const gen_t *g, llmc_buf_t *o, acc_t acc) {
  for (int a = 0; a < n_acc(g); a++) llmc_buf_printf(o, "%s%s", a ? ", " : "", acc[a]);
}

/* "scf.yield %a, %b, ... : types" of the accumulators. */
static void emit_yield(const gen_t *g, const char *ind, acc_t acc) {
  llmc_buf_printf(g->o, "%sscf.yield ", ind);
  acc_names(g, g->o, acc);
  llmc_buf_printf(g->o, " : ");
  acc_types(g, g->o);
  llmc_buf_printf(g->o, "\n");
}

/* out = the warp's sum of f32 `in` over its lanes (a gpu.shuffle xor tree). */
static void emit_warp_sum(llmc_buf_t *o, const char *ind, const char *tag, const char *in, int64_t ws, char *out,
                          size_t cap) {
  snprintf(out, cap, "%s", in);
  int step = 0;
  for (int64_t off = ws / 2; off >= 1; off /= 2, step++) {
    llmc_buf_printf(o,
                    "%s%%o%s_%d = arith.constant %lld : i32\n"
                    "%s%%h%s_%d, %%ok%s_%d = gpu.shuffle xor %s, %%o%s_%d, %%width : f32\n"
                    "%s%%d%s_%d = arith.addf %s, %%h%s_%d : f32\n",
                    ind, tag, step, (long long)off, ind, tag, step, tag, step, out, tag, step, ind, tag, step + 1, out,
                    tag, step);
    snprintf(out, cap, "%%d%s_%d", tag, step + 1);
  }
}

llmc_status_t *llmc_gemv_warp_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = llmc_kinstance_int(inst, "K"), R = llmc_kinstance_int(inst, "R"), WARPS = llmc_kinstance_int(inst, "WARPS"), U = llmc_kinstance_int(inst, "UNROLL");
  int64_t WS = llmc_kinstance_int(inst, "WS"), N = llmc_kinstance_int(inst, "N"), NORM = llmc_kinstance_int(inst, "NORM"), GLU = llmc_kinstance_int(inst, "GLU");
  int64_t TOK = llmc_kinstance_int(inst, "TOK"), ROWS = llmc_kinstance_int(inst, "ROWS");
  if (ROWS < 0) ROWS = 0; /* absent: every row */
  const char *wt = llmc_kinstance_str(inst, "WTYPE"), *epi = llmc_kinstance_str(inst, "EPILOGUE"), *eps = llmc_kinstance_str(inst, "EPS");
  const char *noffset = llmc_kinstance_str(inst, "NOFFSET"); /* the norm weights' offset: Gemma's (1 + w) */
  llmc_dtype_t wdt;
  if (K <= 0 || K % 8 || R < 1 || R > 4 || WARPS < 1 || U < 1 || U > 16 || (WS != 32 && WS != 64) || !wt || !epi ||
      !eps || !noffset || !llmc_dtype_parse(wt, &wdt) || (NORM != 0 && NORM != 1) || GLU < 0 || GLU > 2 ||
      (GLU && N % 2) || TOK < 1 || TOK > 8 || (ROWS != 0 && ROWS != 1))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemv_warp: bad parameters");
  if (wdt == LLMC_DT_I8 && K % 16)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemv_warp: int8 rows need K %% 16 == 0");
  bool i8 = wdt == LLMC_DT_I8;
  gen_t g = {.o = o, .rows = (int)(GLU ? 2 * R : R), .tok = (int)TOK, .wdt = wdt, .norm = NORM == 1,
             .norm_offset = strcmp(noffset, "0x00000000") != 0 && strcmp(noffset, "0.0") != 0,
             .vt = i8 ? "vector<16xf32>" : wdt == LLMC_DT_F16 ? "vector<8xf32>" : "vector<4xf32>",
             .xt = i8 ? "vector<16xf32>" : wdt == LLMC_DT_F32 ? "vector<4xf32>" : "vector<8xf32>"};
  /* 32-bit words per weight row */
  int64_t words = wdt == LLMC_DT_F32 ? K : i8 ? K / 4 : K / 2;
  int64_t stretch = WS * 4;                         /* words a warp reads per step */
  int64_t full = words / stretch, tail = words % stretch;
  int64_t threads = WARPS * WS, outs_per_block = WARPS * R, H = GLU ? N / 2 : N;

  llmc_buf_printf(o,
                  "// %s: gemv_warp K=%lld N=%lld W=%s, %lld warps of %lld lanes, %lld outputs per warp for %lld "
                  "tokens, %lld stretches of %lld words in flight%s%s (codegen/gemv_warp.c)\n",
                  name, (long long)K, (long long)N, wt, (long long)WARPS, (long long)WS, (long long)R, (long long)TOK,
                  (long long)U, (long long)stretch, NORM ? ", rms_norm prologue" : "", GLU == 2 ? ", gelu_mul epilogue" : GLU ? ", silu_mul epilogue" : "");
  llmc_buf_printf(o,
                  "func.func private @%s_out(%%act: memref<?xf32>, %%args: memref<?xi64>, %%t: index, %%n: index, "
                  "%%y: f32) {\n%s  return\n}\n",
                  name, epi);
  /* ROWS (the logits' matmul): the step's logit rows (llmc_abi.h), their
   * meta offset at args[LLMC_MATMUL_ROWS_ARG]: a count, then the rows. */
  char count_call[256];
  if (ROWS) {
    llmc_buf_printf(o,
                    "func.func private @%s_rows(%%meta: memref<?xi32>, %%args: memref<?xi64>, %%t: index) -> index {\n"
                    "  %%c = arith.constant %d : index\n"
                    "  %%o_i = memref.load %%args[%%c] : memref<?xi64>\n"
                    "  %%o = arith.index_cast %%o_i : i64 to index\n"
                    "  %%n_i = memref.load %%meta[%%o] : memref<?xi32>\n"
                    "  %%n = arith.index_cast %%n_i : i32 to index\n"
                    "  %%m = arith.minui %%n, %%t : index\n"
                    "  return %%m : index\n}\n"
                    "func.func private @%s_row(%%meta: memref<?xi32>, %%args: memref<?xi64>, %%i: index) -> index {\n"
                    "  %%c = arith.constant %d : index\n"
                    "  %%c1 = arith.constant 1 : index\n"
                    "  %%o_i = memref.load %%args[%%c] : memref<?xi64>\n"
                    "  %%o = arith.index_cast %%o_i : i64 to index\n"
                    "  %%o1 = arith.addi %%o, %%c1 : index\n"
                    "  %%j = arith.addi %%o1, %%i : index\n"
                    "  %%r_i = memref.load %%meta[%%j] : memref<?xi32>\n"
                    "  %%r = arith.index_cast %%r_i : i32 to index\n"
                    "  return %%r : index\n}\n",
                    name, LLMC_MATMUL_ROWS_ARG, name, LLMC_MATMUL_ROWS_ARG);
    snprintf(count_call, sizeof count_call,
             "func.call @%.100s_rows(%%meta, %%args, %%t_all) : (memref<?xi32>, memref<?xi64>, index) -> index", name);
  } else {
    snprintf(count_call, sizeof count_call, "arith.addi %%t_all, %%c0 : index");
  }
  llmc_buf_printf(o,
                  "gpu.func @%s(%%act: memref<?xf32>, %%w: memref<?xf32>, %%kv: memref<?xf32>, %%meta: "
                  "memref<?xi32>, %%args: memref<?xi64>, %%extent: i64) kernel attributes {known_block_size = "
                  "array<i32: %lld, 1, 1>} {\n",
                  name, (long long)threads);
  const char *I = "  ";
  llmc_buf_printf(o,
                  "%s%%c0 = arith.constant 0 : index\n%s%%c1 = arith.constant 1 : index\n"
                  "%s%%c2 = arith.constant 2 : index\n%s%%c3 = arith.constant 3 : index\n"
                  "%s%%c4 = arith.constant 4 : index\n%s%%c_x = arith.constant %d : index\n"
                  "%s%%ws = arith.constant %lld : index\n%s%%k_dim = arith.constant %lld : index\n"
                  "%s%%k_words = arith.constant %lld : index\n%s%%n_dim = arith.constant %lld : index\n"
                  "%s%%outs_blk = arith.constant %lld : index\n%s%%outs_warp = arith.constant %lld : index\n"
                  "%s%%tok = arith.constant %lld : index\n"
                  "%s%%zero = arith.constant dense<0.0> : %s\n%s%%zero_x = arith.constant dense<0.0> : %s\n",
                  I, I, I, I, I, I, NORM ? 7 : 0, I, (long long)WS, I, (long long)K, I, (long long)words, I,
                  (long long)N, I, (long long)outs_per_block, I, (long long)R, I, (long long)TOK, I, g.vt, I, g.xt);
  if (wdt == LLMC_DT_BF16)
    llmc_buf_printf(o, "%s%%v16 = arith.constant dense<16> : vector<4xi32>\n%s%%vmask = arith.constant dense<-65536> "
                       ": vector<4xi32>\n", I, I);
  /* The activation rows are the norm's input with NORM (args[7]), else the
   * matmul's a; block y has tokens TOK*y .. TOK*y + TOK - 1. */
  llmc_buf_printf(o,
                  "%s%%tid = gpu.thread_id x\n%s%%bx = gpu.block_id x\n%s%%by = gpu.block_id y\n"
                  "%s%%tb = arith.muli %%by, %%tok : index\n"
                  "%s%%warp = arith.divui %%tid, %%ws : index\n%s%%lane = arith.remui %%tid, %%ws : index\n"
                  "%s%%a_off_i = memref.load %%args[%%c_x] : memref<?xi64>\n"
                  "%s%%b_off_i = memref.load %%args[%%c1] : memref<?xi64>\n"
                  "%s%%t_i = memref.load %%args[%%c3] : memref<?xi64>\n"
                  "%s%%a_off = arith.index_cast %%a_off_i : i64 to index\n"
                  "%s%%b_off = arith.index_cast %%b_off_i : i64 to index\n"
                  "%s%%t_all = arith.index_cast %%t_i : i64 to index\n"
                  "%s%%n_cols = arith.index_cast %%extent : i64 to index\n"
                  "%s%%n_end = arith.minui %%n_cols, %%n_dim : index\n"
                  "%s%%tokens = %s\n"
                  "%s%%live = arith.cmpi ult, %%tb, %%tokens : index\n"
                  "%sscf.if %%live {\n",
                  I, I, I, I, I, I, I, I, I, I, I, I, I, I, I,
                  count_call,
                  I, I);
  const char *J = "    ";
  if (NORM)
    llmc_buf_printf(o,
                    "%s%%c8 = arith.constant 8 : index\n%s%%g_off_i = memref.load %%args[%%c8] : memref<?xi64>\n"
                    "%s%%g_off = arith.index_cast %%g_off_i : i64 to index\n",
                    J, J, J);
  if (NORM && g.norm_offset)
    llmc_buf_printf(o, "%s%%noff1 = arith.constant %s : f32\n%s%%noff = vector.broadcast %%noff1 : f32 to %s\n", J, noffset, J,
                    g.xt);
  /* Tokens past T are clamped to the last one (computed, not stored). */
  llmc_buf_printf(o, "%s%%t_last = arith.subi %%tokens, %%c1 : index\n", J);
  /* Slot tk of the step's rows (ROWS: the logit rows it lists) is token
   * row tr. */
  for (int j = 0; j < TOK; j++) {
    llmc_buf_printf(o,
                    "%s%%tj%d = arith.constant %d : index\n%s%%tk%d = arith.addi %%tb, %%tj%d : index\n"
                    "%s%%tc%d = arith.minui %%tk%d, %%t_last : index\n",
                    J, j, j, J, j, j, J, j, j);
    if (ROWS)
      llmc_buf_printf(o,
                      "%s%%tr%d = func.call @%s_row(%%meta, %%args, %%tc%d) : (memref<?xi32>, memref<?xi64>, index) -> "
                      "index\n",
                      J, j, name, j);
    else
      llmc_buf_printf(o, "%s%%tr%d = arith.addi %%tc%d, %%c0 : index\n", J, j, j);
    llmc_buf_printf(o, "%s%%t_k%d = arith.muli %%tr%d, %%k_dim : index\n%s%%a_row%d = arith.addi %%a_off, %%t_k%d : index\n",
                    J, j, j, J, j, j);
  }
  /* Outputs: GLU's are the first half's columns (gate o, up H + o). */
  llmc_buf_printf(o,
                  "%s%%h_dim = arith.constant %lld : index\n"
                  "%s%%o_end = %s : index\n"
                  "%s%%blk0 = arith.muli %%bx, %%outs_blk : index\n%s%%wrp0 = arith.muli %%warp, %%outs_warp : index\n"
                  "%s%%obase = arith.addi %%blk0, %%wrp0 : index\n%s%%o_last = arith.subi %%o_end, %%c1 : index\n"
                  "%s%%lw = arith.muli %%lane, %%c4 : index\n",
                  J, (long long)H, J, GLU ? "arith.divui %n_end, %c2" : "arith.addi %n_end, %c0", J, J, J, J, J);
  /* Outputs past the end are clamped to the last one (loaded, never
   * stored), so every lane of every warp runs the same loads and shuffles. */
  for (int r = 0; r < R; r++) {
    llmc_buf_printf(o,
                    "%s%%rc%d = arith.constant %d : index\n%s%%out%d = arith.addi %%obase, %%rc%d : index\n"
                    "%s%%outc%d = arith.minui %%out%d, %%o_last : index\n",
                    J, r, r, J, r, r, J, r, r);
    for (int half = 0; half < (GLU ? 2 : 1); half++) {
      int row = GLU ? 2 * r + half : r;
      if (half)
        llmc_buf_printf(o, "%s%%rowc%d = arith.addi %%outc%d, %%h_dim : index\n", J, row, r);
      else
        llmc_buf_printf(o, "%s%%rowc%d = arith.addi %%outc%d, %%c0 : index\n", J, row, r);
      llmc_buf_printf(o,
                      "%s%%rw%d = arith.muli %%rowc%d, %%k_words : index\n"
                      "%s%%wrow%d = arith.addi %%b_off, %%rw%d : index\n",
                      J, row, row, J, row, row);
    }
  }
  acc_t acc;
  for (int a = 0; a < n_acc(&g); a++) snprintf(acc[a], sizeof acc[a], a < g.rows * g.tok ? "%%zero" : "%%zero_x");
  int64_t chunks = full / U, rest = full % U;
  if (chunks > 0) {
    /* The main loop: UNROLL stretches per trip, loads first. */
    llmc_buf_printf(o, "%s%%chunk_words = arith.constant %lld : index\n%s%%chunk_end = arith.constant %lld : index\n",
                    J, (long long)(U * stretch), J, (long long)(chunks * U * stretch));
    llmc_buf_printf(o, "%s%%acc:%d = scf.for %%kc = %%c0 to %%chunk_end step %%chunk_words iter_args(", J, n_acc(&g));
    for (int a = 0; a < n_acc(&g); a++) llmc_buf_printf(o, "%s%%s%d = %s", a ? ", " : "", a, acc[a]);
    llmc_buf_printf(o, ") -> (");
    acc_types(&g, o);
    llmc_buf_printf(o, ") {\n");
    const char *L = "      ";
    llmc_buf_printf(o, "%s%%lwk = arith.addi %%lw, %%kc : index\n", L);
    for (int u = 0; u < U; u++) emit_loads(&g, L, u, (int64_t)u * stretch, "%lwk");
    acc_t lacc;
    for (int a = 0; a < n_acc(&g); a++) snprintf(lacc[a], sizeof lacc[a], "%%s%d", a);
    for (int u = 0; u < U; u++) emit_fmas(&g, L, u, lacc);
    emit_yield(&g, L, lacc);
    llmc_buf_printf(o, "%s}\n", J);
    for (int a = 0; a < n_acc(&g); a++) snprintf(acc[a], sizeof acc[a], "%%acc#%d", a);
  }
  /* Stretches left after the loop, unrolled, then the tail: lanes whose
   * 4 words lie inside the row read them, the others add nothing. */
  int s = 100; /* SSA suffixes distinct from the loop body's */
  for (int64_t i = 0; i < rest; i++, s++) {
    emit_loads(&g, J, s, (chunks * U + i) * stretch, "%lw");
    emit_fmas(&g, J, s, acc);
  }
  if (tail) {
    llmc_buf_printf(o, "%s%%tail = arith.constant %lld : index\n%s%%in_tail = arith.cmpi ult, %%lw, %%tail : index\n",
                    J, (long long)tail, J);
    llmc_buf_printf(o, "%s%%tacc:%d = scf.if %%in_tail -> (", J, n_acc(&g));
    acc_types(&g, o);
    llmc_buf_printf(o, ") {\n");
    acc_t tacc;
    memcpy(tacc, acc, sizeof tacc);
    emit_loads(&g, "      ", 200, full * stretch, "%lw");
    emit_fmas(&g, "      ", 200, tacc);
    emit_yield(&g, "      ", tacc);
    llmc_buf_printf(o, "%s} else {\n", J);
    emit_yield(&g, "      ", acc);
    llmc_buf_printf(o, "%s}\n", J);
    for (int a = 0; a < n_acc(&g); a++) snprintf(acc[a], sizeof acc[a], "%%tacc#%d", a);
  }
  /* Lane sums, the shuffle trees, lane 0 stores. */
  llmc_buf_printf(o, "%s%%width = arith.constant %lld : i32\n%s%%lead = arith.cmpi eq, %%lane, %%c0 : index\n", J,
                  (long long)WS, J);
  acc_t sum;
  for (int a = 0; a < g.rows * g.tok; a++) {
    char tag[16], lane_sum[32];
    snprintf(tag, sizeof tag, "a%d", a);
    snprintf(lane_sum, sizeof lane_sum, "%%l%d", a);
    llmc_buf_printf(o, "%s%%l%d = vector.reduction <add>, %s : %s into f32\n", J, a, acc[a], g.vt);
    emit_warp_sum(o, J, tag, lane_sum, WS, sum[a], sizeof sum[a]);
  }
  /* int8: each row's sums times its scale, the N f32 words after the rows. */
  if (i8) {
    llmc_buf_printf(o, "%s%%scales = arith.constant %lld : index\n%s%%s_off = arith.addi %%b_off, %%scales : index\n",
                    J, (long long)(N * words), J);
    for (int row = 0; row < g.rows; row++) {
      llmc_buf_printf(o,
                      "%s%%si%d = arith.addi %%s_off, %%rowc%d : index\n"
                      "%s%%sw%d = memref.load %%w[%%si%d] : memref<?xf32>\n",
                      J, row, row, J, row, row);
      for (int j = 0; j < g.tok; j++) {
        int a = row * g.tok + j;
        llmc_buf_printf(o, "%s%%sc%d = arith.mulf %s, %%sw%d : f32\n", J, a, sum[a], row);
        snprintf(sum[a], sizeof sum[a], "%%sc%d", a);
      }
    }
  }
  if (g.norm)
    llmc_buf_printf(o, "%s%%kf = arith.constant %lld.0 : f32\n%s%%eps = arith.constant %s : f32\n"
                       "%s%%one = arith.constant 1.0 : f32\n",
                    J, (long long)K, J, eps, J);
  for (int j = 0; g.norm && j < TOK; j++) {
    /* 1 / sqrt(mean(x^2) + eps) of token j, as rms_norm computes it (in f32 here). */
    char ss[32], tag[16], lane_sum[32];
    snprintf(tag, sizeof tag, "ss%d", j);
    snprintf(lane_sum, sizeof lane_sum, "%%lss%d", j);
    llmc_buf_printf(o, "%s%%lss%d = vector.reduction <add>, %s : %s into f32\n", J, j, acc[g.rows * TOK + j], g.xt);
    emit_warp_sum(o, J, tag, lane_sum, WS, ss, sizeof ss);
    llmc_buf_printf(o,
                    "%s%%mean%d = arith.divf %s, %%kf : f32\n%s%%var%d = arith.addf %%mean%d, %%eps : f32\n"
                    "%s%%root%d = math.sqrt %%var%d : f32\n%s%%rs%d = arith.divf %%one, %%root%d : f32\n",
                    J, j, ss, J, j, j, J, j, j, J, j, j);
  }
  for (int j = 0; j < TOK; j++) {
    llmc_buf_printf(o, "%s%%tv%d = arith.cmpi ult, %%tk%d, %%tokens : index\n", J, j, j);
    for (int r = 0; r < R; r++) {
      int gate = (GLU ? 2 * r : r) * (int)TOK + j, up = (2 * r + 1) * (int)TOK + j;
      char y[32], yu[32];
      snprintf(y, sizeof y, "%s", sum[gate]);
      snprintf(yu, sizeof yu, "%s", GLU ? sum[up] : "");
      if (g.norm) {
        llmc_buf_printf(o, "%s%%ys%d = arith.mulf %s, %%rs%d : f32\n", J, gate, y, j);
        snprintf(y, sizeof y, "%%ys%d", gate);
        if (GLU) {
          llmc_buf_printf(o, "%s%%ys%d = arith.mulf %s, %%rs%d : f32\n", J, up, yu, j);
          snprintf(yu, sizeof yu, "%%ys%d", up);
        }
      }
      llmc_buf_printf(o,
                      "%s%%in%d_%d = arith.cmpi ult, %%out%d, %%o_end : index\n"
                      "%s%%sa%d_%d = arith.andi %%lead, %%in%d_%d : i1\n"
                      "%s%%st%d_%d = arith.andi %%sa%d_%d, %%tv%d : i1\n"
                      "%sscf.if %%st%d_%d {\n",
                      J, r, j, r, J, r, j, r, j, J, r, j, r, j, j, J, r, j);
      if (GLU) {
        /* act(gate) * up, as silu_mul / gelu_mul compute it, into its rows. */
        char ind[16];
        snprintf(ind, sizeof ind, "%s  ", J);
        llmc_emit_glu_act(o, ind, "", y, (int)GLU);
        llmc_buf_printf(o,
                        "%s  %%gy = arith.mulf %%gact, %s : f32\n"
                        "%s  %%gc9 = arith.constant 9 : index\n"
                        "%s  %%go_i = memref.load %%args[%%gc9] : memref<?xi64>\n"
                        "%s  %%go = arith.index_cast %%go_i : i64 to index\n"
                        "%s  %%gth = arith.muli %%tr%d, %%h_dim : index\n"
                        "%s  %%grow = arith.addi %%go, %%gth : index\n"
                        "%s  %%gi = arith.addi %%grow, %%out%d : index\n"
                        "%s  memref.store %%gy, %%act[%%gi] : memref<?xf32>\n",
                        J, yu, J, J, J, J, j, J, J, r, J);
      } else {
        llmc_buf_printf(o,
                        "%s  func.call @%s_out(%%act, %%args, %%tr%d, %%out%d, %s) : (memref<?xf32>, memref<?xi64>, "
                        "index, index, f32) -> ()\n",
                        J, name, j, r, y);
      }
      llmc_buf_printf(o, "%s}\n", J);
    }
  }
  llmc_buf_printf(o, "%s}\n  gpu.return\n}\n", I);
  return o->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}
