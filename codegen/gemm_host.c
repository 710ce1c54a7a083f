/* gemm_host.c: the CPU matmul for steps of several tokens (a prefill chunk,
 * a batch of decode tokens), written by a C generator because its register
 * tile (TT tokens x NC columns of accumulators) is a parameter.
 *
 *   out[t, n] = epilogue(sum_k a[t, k] * w[n, k])    for the [T, K] rows of a
 *
 * A GEMV (matmul.host.mlir) reads every weight once per token or pair of
 * tokens, so a prompt's matmuls are bound by loads, not FMAs. Here each
 * k-step loads TT activation vectors and NC weight vectors and does TT x NC
 * FMAs into TT x NC vector accumulators that stay in registers for the whole
 * of K (16 of AVX-512's 32 registers at 4 x 4; 9 of AVX2's 16 at 3 x 3):
 * half a load per FMA instead of one and a half. The loops, outermost first:
 *
 *   token blocks of TB (the block's activation rows stay in L2 while every
 *   column of the thread's slice passes over them), then
 *   columns, NC at a time, then
 *   K in chunks of KC (the NC weight rows' chunk stays in L1 while the
 *   block's token tiles pass over it; the accumulators wait in a stack
 *   scratch between chunks), then
 *   token tiles of TT (the block's last tile may be smaller: a tile function
 *   for each size 1..TT, so every token of T is one tile pass), then the
 *   chunk's k.
 *
 * Each (token, column) sums its VEC lanes in k order (mul + add marked
 * `contract`, fused into FMA) and reduces them with the same
 * vector.reduction as matmul.host.mlir and matmul_half.host.mlir, so a
 * value's bits are those of the GEMV at the same VEC: a token gets the same
 * logits whether it came in a prompt, a batch or alone, and whichever tile,
 * block or thread computed it (checked in unit.codegen.kernels).
 *
 * Weights are f32 or 16-bit (f16, bf16: a vector of VEC is loaded as VEC/2
 * f32 words, reinterpreted and widened with arith.extf, exact; once per
 * k-step for all TT tokens). Token rows come through matmul_rows (the
 * logits' matmul computes only the rows a step samples).
 *
 *   params: K, N, VEC (divides K; even for 16-bit weights), TT (1..8), NC
 *           (1..8), TB (a multiple of TT), KC (a multiple of VEC; >= K: one
 *           chunk), PF (f32 words of weights to prefetch ahead in a token
 *           block's first tile, which streams them from memory; 0: none),
 *           WTYPE (f32 | f16 | bf16), EPILOGUE
 *   args:   as matmul.host.mlir: [a_off, b_off (f32 words), out_off, T, then
 *           the epilogue's], args[10] the step's logit rows with
 *           matmul_rows ON
 *   extent: N output columns */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"

/* A tile function's type (emit_tile). */
#define TILE_TYPE                                                                                           \
  "(memref<?xf32>, memref<?xf32>, memref<?xi32>, memref<?xi64>, index, index, index, index, index, index, " \
  "i1, i1, memref<?xf32>, index, i1) -> ()"

typedef struct {
  llmc_buf_t *o;
  const char *name;
  int64_t K, vec, ncmax, pf; /* pf: f32 words to prefetch ahead in a block's first tile (0: none) */
  bool half;         /* 16-bit weights */
  bool bf16;         /* the 16-bit weights are bf16 (else f16) */
} gen_t;

/* The tile function @NAME_tTTxNC: tokens of slots [i0, i0 + tt), columns
 * [n, n + nc), the k-range [k0, k1) of one chunk. The accumulators start at
 * zero on the first chunk, else from the scratch (the tile's slot `rel` in
 * its token block, NCMAX columns a slot); after the last chunk they are
 * reduced and go through the epilogue, else back to the scratch: stored
 * and reloaded exactly, so a value's bits do not depend on the chunking. */
static void emit_tile(const gen_t *g, int tt, int nc) {
  llmc_buf_t *o = g->o;
  const char *n = g->name;
  char vt[32];
  snprintf(vt, sizeof vt, "vector<%lldxf32>", (long long)g->vec);
  llmc_buf_printf(o,
                  "func.func private @%s_t%dx%d(%%act: memref<?xf32>, %%w: memref<?xf32>, %%meta: memref<?xi32>, "
                  "%%args: memref<?xi64>, %%a_off: index, %%b_off: index, %%i0: index, %%n: index, %%k0: index, "
                  "%%k1: index, %%first: i1, %%last: i1, %%scr: memref<?xf32>, %%rel: index, %%pf: i1) {\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%c2 = arith.constant 2 : index\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%k_dim = arith.constant %lld : index\n"
                  "  %%vec = arith.constant %lld : index\n"
                  "  %%ncmax = arith.constant %lld : index\n"
                  "  %%zero = arith.constant dense<0.0> : %s\n"
                  "  %%sh16 = arith.constant dense<16> : vector<%lldxi32>\n",
                  n, tt, nc, (long long)g->K, (long long)g->vec, (long long)g->ncmax, vt, (long long)g->vec);
  for (int i = 0; i < (tt > nc ? tt : nc); i++) llmc_buf_printf(o, "  %%c%d_ = arith.constant %d : index\n", i, i);
  for (int j = 0; j < tt; j++)
    llmc_buf_printf(o,
                    "  %%s%d = arith.addi %%i0, %%c%d_ : index\n"
                    "  %%t%d = func.call @%s_row(%%meta, %%args, %%s%d) : (memref<?xi32>, memref<?xi64>, index) -> index\n"
                    "  %%tk%d = arith.muli %%t%d, %%k_dim : index\n"
                    "  %%a%d = arith.addi %%a_off, %%tk%d : index\n"
                    "  %%r%d = arith.addi %%rel, %%c%d_ : index\n"
                    "  %%rn%d = arith.muli %%r%d, %%ncmax : index\n",
                    j, j, j, n, j, j, j, j, j, j, j, j, j);
  for (int c = 0; c < nc; c++)
    llmc_buf_printf(o,
                    "  %%n%d = arith.addi %%n, %%c%d_ : index\n"
                    "  %%nk%d = arith.muli %%n%d, %%k_dim : index\n"
                    "  %%b%d = arith.addi %%b_off, %%nk%d : index\n",
                    c, c, c, c, c, c);
  /* Where acc (j, c) waits between chunks, and its starting value. */
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o,
                      "  %%q%d_%d = arith.addi %%rn%d, %%c%d_ : index\n"
                      "  %%e%d_%d = arith.muli %%q%d_%d, %%vec : index\n"
                      "  %%z%d_%d = scf.if %%first -> (%s) {\n"
                      "    scf.yield %%zero : %s\n"
                      "  } else {\n"
                      "    %%l%d_%d = vector.load %%scr[%%e%d_%d] : memref<?xf32>, %s\n"
                      "    scf.yield %%l%d_%d : %s\n"
                      "  }\n",
                      j, c, j, c, j, c, j, c, j, c, vt, vt, j, c, j, c, vt, j, c, vt);
  /* The accumulators: acc (j, c) is iter_arg %x{j}_{c}. */
  llmc_buf_printf(o, "  %%acc:%d = scf.for %%k = %%k0 to %%k1 step %%vec iter_args(", tt * nc);
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++) llmc_buf_printf(o, "%s%%x%d_%d = %%z%d_%d", j || c ? ", " : "", j, c, j, c);
  llmc_buf_printf(o, ") -> (");
  llmc_emit_type_list(o, vt, tt * nc);
  llmc_buf_printf(o, ") {\n");
  for (int j = 0; j < tt; j++)
    llmc_buf_printf(o,
                    "    %%ia%d = arith.addi %%a%d, %%k : index\n"
                    "    %%av%d = vector.load %%act[%%ia%d] : memref<?xf32>, %s\n",
                    j, j, j, j, vt);
  for (int c = 0; c < nc; c++) {
    llmc_buf_printf(o, "    %%ib%d = arith.addi %%b%d, %%k : index\n", c, c);
    /* The block's first tile streams the weights from memory: prefetch
     * PF words ahead, as the GEMV does (the later tiles find them in L1). */
    if (g->pf > 0)
      llmc_buf_printf(o,
                      "    scf.if %%pf {\n"
                      "      %%pfc%d = arith.constant %lld : index\n"
                      "      %%pfa%d = arith.addi %%ib%d, %%pfc%d : index\n"
                      "      %%pfw%d = arith.divui %%pfa%d, %%c%d : index\n"
                      "      memref.prefetch %%w[%%pfw%d], read, locality<3>, data : memref<?xf32>\n"
                      "    }\n",
                      c, (long long)g->pf * (g->half ? 2 : 1), c, c, c, c, c, g->half ? 2 : 1, c);
    if (!g->half) {
      llmc_buf_printf(o, "    %%wv%d = vector.load %%w[%%ib%d] : memref<?xf32>, %s\n", c, c, vt);
      continue;
    }
    /* 16-bit weights: VEC of them in VEC/2 f32 words. */
    long long v = (long long)g->vec, h = v / 2;
    llmc_buf_printf(o,
                    "    %%iw%d = arith.divui %%ib%d, %%c2 : index\n"
                    "    %%ww%d = vector.load %%w[%%iw%d] : memref<?xf32>, vector<%lldxf32>\n",
                    c, c, c, c, h);
    if (g->bf16)
      /* A bf16 is the high half of an f32: widened with integer ops, exactly
       * (an arith.extf from bf16 on a target without bf16 instructions let
       * LLVM's legalizer call compiler-rt's __truncsfbf2, which model.so
       * cannot resolve). */
      llmc_buf_printf(o,
                      "    %%wh%d = vector.bitcast %%ww%d : vector<%lldxf32> to vector<%lldxi16>\n"
                      "    %%wx%d = arith.extui %%wh%d : vector<%lldxi16> to vector<%lldxi32>\n"
                      "    %%ws%d = arith.shli %%wx%d, %%sh16 : vector<%lldxi32>\n"
                      "    %%wv%d = arith.bitcast %%ws%d : vector<%lldxi32> to %s\n",
                      c, c, h, v, c, c, v, v, c, c, v, c, c, v, vt);
    else
      llmc_buf_printf(o,
                      "    %%wh%d = vector.bitcast %%ww%d : vector<%lldxf32> to vector<%lldxf16>\n"
                      "    %%wv%d = arith.extf %%wh%d : vector<%lldxf16> to %s\n",
                      c, c, h, v, c, c, v, vt);
  }
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o,
                      "    %%p%d_%d = arith.mulf %%av%d, %%wv%d fastmath<contract> : %s\n"
                      "    %%y%d_%d = arith.addf %%x%d_%d, %%p%d_%d fastmath<contract> : %s\n",
                      j, c, j, c, vt, j, c, j, c, j, c, vt);
  llmc_emit_tile_yield(o, "    ", "y", tt, nc, vt);
  llmc_buf_printf(o, "  }\n  scf.if %%last {\n");
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o,
                      "    %%d%d_%d = vector.reduction <add>, %%acc#%d fastmath<reassoc> : %s into f32\n"
                      "    func.call @%s_out(%%act, %%args, %%t%d, %%n%d, %%d%d_%d) : (memref<?xf32>, memref<?xi64>, "
                      "index, index, f32) -> ()\n",
                      j, c, j * nc + c, vt, n, j, c, j, c);
  llmc_buf_printf(o, "  } else {\n");
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o, "    vector.store %%acc#%d, %%scr[%%e%d_%d] : memref<?xf32>, %s\n", j * nc + c, j, c, vt);
  llmc_buf_printf(o, "  }\n  return\n}\n");
}

/* Tiles of every token count 1..tt for the remainder of a block, then the
 * full one: the switch below picks by how many tokens are left. */
static void emit_switch(const gen_t *g, int tt, int nc, const char *ind) {
  llmc_buf_t *o = g->o;
  llmc_buf_printf(o, "%sscf.index_switch %%rem\n", ind);
  for (int r = 1; r < tt; r++)
    llmc_buf_printf(o,
                    "%scase %d {\n"
                    "%s  func.call @%s_t%dx%d(%%act, %%w, %%meta, %%args, %%a_off, %%b_off, %%full_end, %%n, %%k0, %%k1, "
                    "%%first, %%last, %%scr, %%full, %%pf_rem) : " TILE_TYPE "\n"
                    "%s  scf.yield\n"
                    "%s}\n",
                    ind, r, ind, g->name, r, nc, ind, ind);
  llmc_buf_printf(o, "%sdefault {\n%s  scf.yield\n%s}\n", ind, ind, ind);
}

llmc_status_t *llmc_gemm_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = llmc_kinstance_int(inst, "K"), N = llmc_kinstance_int(inst, "N"), VEC = llmc_kinstance_int(inst, "VEC");
  int64_t TT = llmc_kinstance_int(inst, "TT"), NC = llmc_kinstance_int(inst, "NC"), TB = llmc_kinstance_int(inst, "TB");
  int64_t KC = llmc_kinstance_int(inst, "KC"), PF = llmc_kinstance_int(inst, "PF");
  const char *wt = llmc_kinstance_str(inst, "WTYPE"), *epi = llmc_kinstance_str(inst, "EPILOGUE");
  bool half = wt && (strcmp(wt, "f16") == 0 || strcmp(wt, "bf16") == 0);
  if (K <= 0 || N <= 0 || VEC < 1 || VEC > 16 || K % VEC || TT < 1 || TT > 8 || NC < 1 || NC > 8 || TB < TT ||
      TB % TT || KC < VEC || KC % VEC || PF < 0 || !wt || !epi || (!half && strcmp(wt, "f32") != 0) || (half && VEC % 2))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_host: bad parameters");
  gen_t g = {.o = o, .name = name, .K = K, .vec = VEC, .ncmax = NC, .pf = PF, .half = half,
             .bf16 = half && strcmp(wt, "bf16") == 0};
  /* The scratch holding a token block's accumulators between K chunks
   * (none when K is one chunk). */
  int64_t scratch = KC < K ? TB * NC * VEC : 1;
  llmc_buf_printf(o,
                  "// %s: gemm_host K=%lld N=%lld W=%s, tiles of %lld tokens x %lld columns, VEC=%lld, token "
                  "blocks of %lld, K in chunks of %lld (codegen/gemm_host.c)\n",
                  name, (long long)K, (long long)N, wt, (long long)TT, (long long)NC, (long long)VEC, (long long)TB,
                  (long long)KC);
  llmc_buf_printf(o,
                  "func.func private @%s_out(%%act: memref<?xf32>, %%args: memref<?xi64>, %%t: index, %%n: index, "
                  "%%y: f32) {\n%s  return\n}\n",
                  name, epi);
  /* Tile functions: TT x NC and every smaller token count, for the NC-wide
   * columns and the single leftover ones. */
  int ncs[2] = {(int)NC, 1};
  for (int w = 0; w < (NC > 1 ? 2 : 1); w++)
    for (int tt = 1; tt <= TT; tt++) emit_tile(&g, tt, ncs[w]);
  llmc_buf_printf(o,
                  "func.func @%s(%%act: memref<?xf32>, %%w: memref<?xf32>, %%kv: memref<?xf32>, %%meta: memref<?xi32>, "
                  "%%args: memref<?xi64>, %%begin: index, %%end: index) attributes {llvm.emit_c_interface} {\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%c2 = arith.constant 2 : index\n"
                  "  %%c3 = arith.constant 3 : index\n"
                  "  %%tt = arith.constant %lld : index\n"
                  "  %%nc = arith.constant %lld : index\n"
                  "  %%tb = arith.constant %lld : index\n"
                  "  %%k_dim = arith.constant %lld : index\n"
                  "  %%kc = arith.constant %lld : index\n"
                  "  %%scr_s = memref.alloca() : memref<%lldxf32>\n"
                  "  %%scr = memref.cast %%scr_s : memref<%lldxf32> to memref<?xf32>\n"
                  "  %%a_off_i = memref.load %%args[%%c0] : memref<?xi64>\n"
                  "  %%b_off_i = memref.load %%args[%%c1] : memref<?xi64>\n"
                  "  %%t_i = memref.load %%args[%%c3] : memref<?xi64>\n"
                  "  %%a_off = arith.index_cast %%a_off_i : i64 to index\n"
                  "  %%b_words = arith.index_cast %%b_off_i : i64 to index\n"
                  "  %%b_off = arith.muli %%b_words, %%c%d : index\n" /* in weight elements */
                  "  %%t_all = arith.index_cast %%t_i : i64 to index\n"
                  "  %%tokens = func.call @%s_rows(%%meta, %%args, %%t_all) : (memref<?xi32>, memref<?xi64>, index) -> "
                  "index\n"
                  "  %%count = arith.subi %%end, %%begin : index\n"
                  "  %%blocks = arith.divui %%count, %%nc : index\n"
                  "  %%blocked = arith.muli %%blocks, %%nc : index\n"
                  "  %%block_end = arith.addi %%begin, %%blocked : index\n"
                  "  scf.for %%tb0 = %%c0 to %%tokens step %%tb {\n"
                  "    %%tb1 = arith.addi %%tb0, %%tb : index\n"
                  "    %%te = arith.minui %%tb1, %%tokens : index\n"
                  "    %%tn = arith.subi %%te, %%tb0 : index\n"
                  "    %%tiles = arith.divui %%tn, %%tt : index\n"
                  "    %%full = arith.muli %%tiles, %%tt : index\n"
                  "    %%full_end = arith.addi %%tb0, %%full : index\n"
                  "    %%rem = arith.subi %%tn, %%full : index\n",
                  name, (long long)TT, (long long)NC, (long long)TB, (long long)K, (long long)KC, (long long)scratch,
                  (long long)scratch, half ? 2 : 1, name);
  for (int w = 0; w < (NC > 1 ? 2 : 1); w++) {
    int nc = ncs[w];
    if (w == 0)
      llmc_buf_printf(o, "    scf.for %%n = %%begin to %%block_end step %%nc {\n");
    else
      llmc_buf_printf(o, "    scf.for %%n = %%block_end to %%end step %%c1 {\n");
    /* K in chunks: the columns' chunk of weights stays in L1 while the
     * block's token tiles pass over it. */
    llmc_buf_printf(o,
                    "      scf.for %%k0 = %%c0 to %%k_dim step %%kc {\n"
                    "        %%k0e = arith.addi %%k0, %%kc : index\n"
                    "        %%k1 = arith.minui %%k0e, %%k_dim : index\n"
                    "        %%first = arith.cmpi eq, %%k0, %%c0 : index\n"
                    "        %%last = arith.cmpi eq, %%k1, %%k_dim : index\n"
                    "        %%pf_rem = arith.cmpi eq, %%full, %%c0 : index\n"
                    "        scf.for %%i = %%tb0 to %%full_end step %%tt {\n"
                    "          %%rel = arith.subi %%i, %%tb0 : index\n"
                    "          %%pf = arith.cmpi eq, %%rel, %%c0 : index\n"
                    "          func.call @%s_t%lldx%d(%%act, %%w, %%meta, %%args, %%a_off, %%b_off, %%i, %%n, %%k0, %%k1, "
                    "%%first, %%last, %%scr, %%rel, %%pf) : " TILE_TYPE "\n"
                    "        }\n",
                    name, (long long)TT, nc);
    emit_switch(&g, (int)TT, nc, "        ");
    llmc_buf_printf(o, "      }\n    }\n");
  }
  llmc_buf_printf(o, "  }\n  return\n}\n");
  return o->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}
