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
 *           WTYPE (f32 | f16 | bf16), EPILOGUE; MR (0: no panels, else
 *           1..LLMC_GEMM_PANEL_MR_MAX tokens a panel tile) and NV (1..4
 *           vectors of VEC columns a panel; VEC 4, 8 or 16): see "Panels"
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
  int64_t mr, nv;    /* panel tiles: MR tokens x NV vectors of VEC columns (mr 0: none) */
  int rho[16];       /* the pack's column order: lane p of a panel vector is its column rho[p] */
  int kappa[16];     /* the pack's k order: network output q holds k offset kappa[q] */
} gen_t;

/* 16-bit weights widened to f32, exactly: %<p>wv<i> from the VEC/2 words
 * %<p>ww<i> (temporaries %<p>wh<i>, wx, ws). A bf16 is the high half of an
 * f32, widened with integer ops (an arith.extf from bf16 on a target
 * without bf16 instructions let LLVM's legalizer call compiler-rt's
 * __truncsfbf2, which model.so cannot resolve); needs %sh16. */
static void emit_widen(const gen_t *g, const char *p, int i) {
  long long v = (long long)g->vec, h = v / 2;
  if (g->bf16)
    llmc_buf_printf(g->o,
                    "    %%%swh%d = vector.bitcast %%%sww%d : vector<%lldxf32> to vector<%lldxi16>\n"
                    "    %%%swx%d = arith.extui %%%swh%d : vector<%lldxi16> to vector<%lldxi32>\n"
                    "    %%%sws%d = arith.shli %%%swx%d, %%sh16 : vector<%lldxi32>\n"
                    "    %%%swv%d = arith.bitcast %%%sws%d : vector<%lldxi32> to vector<%lldxf32>\n",
                    p, i, p, i, h, v, p, i, p, i, v, v, p, i, p, i, v, p, i, p, i, v, v);
  else
    llmc_buf_printf(g->o,
                    "    %%%swh%d = vector.bitcast %%%sww%d : vector<%lldxf32> to vector<%lldxf16>\n"
                    "    %%%swv%d = arith.extf %%%swh%d : vector<%lldxf16> to vector<%lldxf32>\n",
                    p, i, p, i, h, v, p, i, p, i, v, v);
}

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
    llmc_buf_printf(o,
                    "    %%iw%d = arith.divui %%ib%d, %%c2 : index\n"
                    "    %%ww%d = vector.load %%w[%%iw%d] : memref<?xf32>, vector<%lldxf32>\n",
                    c, c, c, c, (long long)g->vec / 2);
    emit_widen(g, "", c);
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

/* A panel tile's type (emit_panel_tile). */
#define PANEL_TYPE "(memref<?xf32>, memref<?xf32>, memref<?xi32>, memref<?xi64>, index, index, index, memref<?xf32>) -> ()"

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

/* ---- Panels: the broadcast form, for token blocks of PMIN tokens or more ----
 *
 * The tiles above hold a (token, column)'s VEC lanes in one register and
 * load an activation vector and a weight vector per TT x NC FMAs: on a Zen 5
 * that kernel reached about half of the FMA peak with everything in L1. The
 * broadcast form holds VEC columns in a register and does MR x NV FMAs per
 * NV weight vectors and MR broadcast activations (about nine tenths of the
 * peak there), but it needs the weights with columns along the lanes: a
 * thread packs NR = NV x VEC weight rows at a time into a stack panel, and
 * every token tile of the block then reads the panel.
 *
 * The bits stay the GEMV's: a (token, column)'s lane l sums the products of
 * k = l, l + VEC, l + 2 VEC, ... in k order, then the VEC lane sums meet in
 * the halving tree that vector.reduction <add> lowers to on x86 (lane l
 * plus lane l + VEC/2, and so on down). So the panel keeps the k offsets
 * apart: pk[l][i][c] = w[n0 + c][i VEC + l], and a tile runs its VEC lane
 * classes one after another, parking each class's sums in a stack scratch,
 * then adds them up in that tree with vector adds (no reassoc: LLVM keeps
 * the order written). Only x86 targets take panels (kvariants.c): there the
 * reduction's order is that tree.
 *
 * The pack transposes VEC x VEC blocks of the weights with the in-lane
 * network of unpacks (32-bit, 64-bit) and 128-bit block shuffles, which
 * leaves the columns and k offsets in a fixed order other than 0..VEC-1:
 * net_order works it out once by running the network on labels, and the
 * stores and the epilogue's column index follow it. */

/* Lane p of unpack/shuffle result of vectors x (ids 0..W-1) and y (W..2W-1),
 * for the network's kinds: 0 unpacklo_ps, 1 unpackhi_ps, 2 unpacklo_pd,
 * 3 unpackhi_pd, 4/5 the 128-bit blocks even/odd of x then of y (W = 16:
 * shuffle_f32x4 0x88 / 0xdd), 6/7 the low/high 128-bit blocks of x then y
 * (W = 8: vperm2f128 0x20 / 0x31). */
static int net_lane(int kind, int w, int p) {
  int lane = p / 4, e = p % 4, nb = w / 4;
  switch (kind) {
  case 0: return (e % 2 ? w : 0) + 4 * lane + e / 2;
  case 1: return (e % 2 ? w : 0) + 4 * lane + 2 + e / 2;
  case 2: return (e / 2 ? w : 0) + 4 * lane + e % 2;
  case 3: return (e / 2 ? w : 0) + 4 * lane + 2 + e % 2;
  case 4:
  case 5: {
    int half = lane / (nb / 2), b = 2 * (lane % (nb / 2)) + (kind == 5);
    return (half ? w : 0) + 4 * b + e;
  }
  default: return (lane ? w : 0) + 4 * (kind == 7) + e; /* 6, 7 (W = 8: two blocks) */
  }
}

/* One stage of the network: out[a], out[b] from in[x], in[y] by kinds ka, kb. */
typedef struct {
  int a, b, x, y, ka, kb;
} net_step_t;

/* The network's steps for W (4, 8 or 16), in order; stage s reads the
 * vectors stage s - 1 wrote (the emitter names them by stage). */
static int net_steps(int w, net_step_t *st) {
  int n = 0;
  for (int j = 0; j < w / 2; j++) st[n++] = (net_step_t){2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 0, 1};
  for (int j = 0; j < w / 4; j++) {
    st[n++] = (net_step_t){4 * j, 4 * j + 1, 4 * j, 4 * j + 2, 2, 3};
    st[n++] = (net_step_t){4 * j + 2, 4 * j + 3, 4 * j + 1, 4 * j + 3, 2, 3};
  }
  /* 128-bit blocks: vectors d apart, d = W/2 then W/4 (down to 4). */
  for (int d = w / 2; d >= 4; d /= 2)
    for (int q = 0; q < w; q++)
      if ((q / d) % 2 == 0) st[n++] = (net_step_t){q, q + d, q, q + d, w == 16 ? 4 : 6, w == 16 ? 5 : 7};
  return n;
}

/* Runs the network on labels (row r, k offset c) and finds rho and kappa:
 * false if the result is not a transpose up to those orders (a bug here). */
static bool net_order(gen_t *g) {
  int w = (int)g->vec;
  net_step_t st[64];
  int n = net_steps(w, st), cur[16][16], nxt[16][16];
  for (int r = 0; r < w; r++)
    for (int c = 0; c < w; c++) cur[r][c] = r * w + c;
  int per_stage = w / 2, done = 0;
  while (done < n) {
    memcpy(nxt, cur, sizeof cur);
    for (int i = done; i < done + per_stage; i++)
      for (int p = 0; p < w; p++) {
        int la = net_lane(st[i].ka, w, p), lb = net_lane(st[i].kb, w, p);
        nxt[st[i].a][p] = la < w ? cur[st[i].x][la] : cur[st[i].y][la - w];
        nxt[st[i].b][p] = lb < w ? cur[st[i].x][lb] : cur[st[i].y][lb - w];
      }
    memcpy(cur, nxt, sizeof cur);
    done += per_stage;
  }
  for (int q = 0; q < w; q++) {
    g->kappa[q] = cur[q][0] % w;
    for (int p = 0; p < w; p++) {
      if (q == 0) g->rho[p] = cur[0][p] / w;
      if (cur[q][p] % w != g->kappa[q] || cur[q][p] / w != g->rho[p]) return false;
    }
  }
  return true;
}

/* vector.shuffle's mask for a kind. */
static void emit_mask(llmc_buf_t *o, int kind, int w) {
  for (int p = 0; p < w; p++) llmc_buf_printf(o, "%s%d", p ? ", " : "", net_lane(kind, w, p));
}

/* @NAME_pack: the NR weight rows from column n0 into pk[l][i][c] (f32;
 * 16-bit weights widened here, once per block instead of once per tile). */
static void emit_pack(const gen_t *g) {
  llmc_buf_t *o = g->o;
  int w = (int)g->vec;
  long long nr = g->nv * w, iw = g->K / w;
  char vt[32];
  snprintf(vt, sizeof vt, "vector<%dxf32>", w);
  llmc_buf_printf(o,
                  "func.func private @%s_pack(%%w: memref<?xf32>, %%b_off: index, %%n0: index, %%pk: memref<?xf32>) {\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%c2 = arith.constant 2 : index\n"
                  "  %%k_dim = arith.constant %lld : index\n"
                  "  %%vec = arith.constant %d : index\n"
                  "  %%nr = arith.constant %lld : index\n"
                  "  %%iw = arith.constant %lld : index\n"
                  "  %%sh16 = arith.constant dense<16> : vector<%dxi32>\n",
                  g->name, (long long)g->K, w, nr, iw, w);
  net_step_t st[64];
  int n_st = net_steps(w, st), per_stage = w / 2, last = n_st / per_stage;
  /* A group of VEC rows at a time: VEC streams from memory (all NR rows at
   * once were too many streams for the prefetchers: 3.5 GB/s). */
  for (int grp = 0; grp < g->nv; grp++) {
    llmc_buf_printf(o, "  scf.for %%i = %%c0 to %%iw step %%c1 {\n    %%k = arith.muli %%i, %%vec : index\n");
    for (int q = 0; q < w; q++) /* where output q's k offset goes: pk[kappa[q]][i] */
      llmc_buf_printf(o,
                      "    %%l%d = arith.constant %d : index\n"
                      "    %%li%d = arith.muli %%l%d, %%iw : index\n"
                      "    %%lii%d = arith.addi %%li%d, %%i : index\n"
                      "    %%lin%d = arith.muli %%lii%d, %%nr : index\n",
                      q, g->kappa[q], q, q, q, q, q, q);
    for (int r = 0; r < w; r++) {
      llmc_buf_printf(o,
                      "    %%G%dn%d = arith.constant %d : index\n"
                      "    %%G%dm%d = arith.addi %%n0, %%G%dn%d : index\n"
                      "    %%G%dk%d = arith.muli %%G%dm%d, %%k_dim : index\n"
                      "    %%G%db%d = arith.addi %%b_off, %%G%dk%d : index\n"
                      "    %%G%de%d = arith.addi %%G%db%d, %%k : index\n",
                      grp, r, grp * w + r, grp, r, grp, r, grp, r, grp, r, grp, r, grp, r, grp, r, grp, r);
      if (!g->half) {
        llmc_buf_printf(o, "    %%G%dwv%d = vector.load %%w[%%G%de%d] : memref<?xf32>, %s\n", grp, r, grp, r, vt);
        continue;
      }
      llmc_buf_printf(o,
                      "    %%G%diw%d = arith.divui %%G%de%d, %%c2 : index\n"
                      "    %%G%dww%d = vector.load %%w[%%G%diw%d] : memref<?xf32>, vector<%dxf32>\n",
                      grp, r, grp, r, grp, r, grp, r, w / 2);
      char pre[16];
      snprintf(pre, sizeof pre, "G%d", grp);
      emit_widen(g, pre, r);
    }
    /* The network: stage s reads stage s - 1's vectors (the rows,
     * %G{grp}wv*, for the first), writes %G{grp}s{s+1}_*. */
    for (int i = 0; i < n_st; i++) {
      int s = i / per_stage;
      char in_x[32], in_y[32];
      if (s == 0) {
        snprintf(in_x, sizeof in_x, "G%dwv%d", grp, st[i].x);
        snprintf(in_y, sizeof in_y, "G%dwv%d", grp, st[i].y);
      } else {
        snprintf(in_x, sizeof in_x, "G%ds%d_%d", grp, s, st[i].x);
        snprintf(in_y, sizeof in_y, "G%ds%d_%d", grp, s, st[i].y);
      }
      llmc_buf_printf(o, "    %%G%ds%d_%d = vector.shuffle %%%s, %%%s [", grp, s + 1, st[i].a, in_x, in_y);
      emit_mask(o, st[i].ka, w);
      llmc_buf_printf(o, "] : %s, %s\n    %%G%ds%d_%d = vector.shuffle %%%s, %%%s [", vt, vt, grp, s + 1, st[i].b,
                      in_x, in_y);
      emit_mask(o, st[i].kb, w);
      llmc_buf_printf(o, "] : %s, %s\n", vt, vt);
    }
    for (int q = 0; q < w; q++)
      llmc_buf_printf(o,
                      "    %%G%dc%d = arith.constant %d : index\n"
                      "    %%G%dat%d = arith.addi %%lin%d, %%G%dc%d : index\n"
                      "    vector.store %%G%ds%d_%d, %%pk[%%G%dat%d] : memref<?xf32>, %s\n",
                      grp, q, grp * w, grp, q, q, grp, q, grp, last, q, grp, q, vt);
    llmc_buf_printf(o, "  }\n");
  }
  llmc_buf_printf(o, "  return\n}\n");
}

/* A panel tile @NAME_p{m}: m tokens from slot i0 against the panel at
 * column n0; lane class by lane class, then the tree and the epilogue. */
static void emit_panel_tile(const gen_t *g, int m) {
  llmc_buf_t *o = g->o;
  const char *n = g->name;
  int w = (int)g->vec, nv = (int)g->nv;
  long long nr = (long long)nv * w, iw = g->K / w;
  char vt[32];
  snprintf(vt, sizeof vt, "vector<%dxf32>", w);
  llmc_buf_printf(o,
                  "func.func private @%s_p%d(%%act: memref<?xf32>, %%pk: memref<?xf32>, %%meta: memref<?xi32>, "
                  "%%args: memref<?xi64>, %%a_off: index, %%i0: index, %%n0: index, %%scr: memref<?xf32>) {\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%k_dim = arith.constant %lld : index\n"
                  "  %%vec = arith.constant %d : index\n"
                  "  %%nr = arith.constant %lld : index\n"
                  "  %%iw = arith.constant %lld : index\n"
                  "  %%zero = arith.constant dense<0.0> : %s\n",
                  n, m, (long long)g->K, w, nr, iw, vt);
  for (int r = 0; r < m; r++)
    llmc_buf_printf(o,
                    "  %%cr%d = arith.constant %d : index\n"
                    "  %%s%d = arith.addi %%i0, %%cr%d : index\n"
                    "  %%t%d = func.call @%s_row(%%meta, %%args, %%s%d) : (memref<?xi32>, memref<?xi64>, index) -> index\n"
                    "  %%tk%d = arith.muli %%t%d, %%k_dim : index\n"
                    "  %%a%d = arith.addi %%a_off, %%tk%d : index\n",
                    r, r, r, r, r, n, r, r, r, r, r);
  llmc_buf_printf(o,
                  "  scf.for %%l = %%c0 to %%vec step %%c1 {\n"
                  "    %%lb = arith.muli %%l, %%iw : index\n"
                  "    %%acc:%d = scf.for %%i = %%c0 to %%iw step %%c1 iter_args(",
                  m * nv);
  for (int r = 0; r < m; r++)
    for (int j = 0; j < nv; j++) llmc_buf_printf(o, "%s%%x%d_%d = %%zero", r || j ? ", " : "", r, j);
  llmc_buf_printf(o, ") -> (");
  llmc_emit_type_list(o, vt, m * nv);
  llmc_buf_printf(o,
                  ") {\n"
                  "      %%ik = arith.muli %%i, %%vec : index\n"
                  "      %%kk = arith.addi %%ik, %%l : index\n"
                  "      %%li = arith.addi %%lb, %%i : index\n"
                  "      %%pb = arith.muli %%li, %%nr : index\n");
  for (int j = 0; j < nv; j++)
    llmc_buf_printf(o,
                    "      %%cj%d = arith.constant %d : index\n"
                    "      %%pj%d = arith.addi %%pb, %%cj%d : index\n"
                    "      %%wv%d = vector.load %%pk[%%pj%d] : memref<?xf32>, %s\n",
                    j, j * w, j, j, j, j, vt);
  for (int r = 0; r < m; r++) {
    llmc_buf_printf(o,
                    "      %%ia%d = arith.addi %%a%d, %%kk : index\n"
                    "      %%as%d = memref.load %%act[%%ia%d] : memref<?xf32>\n"
                    "      %%ab%d = vector.broadcast %%as%d : f32 to %s\n",
                    r, r, r, r, r, r, vt);
    for (int j = 0; j < nv; j++)
      llmc_buf_printf(o,
                      "      %%p%d_%d = arith.mulf %%ab%d, %%wv%d fastmath<contract> : %s\n"
                      "      %%y%d_%d = arith.addf %%x%d_%d, %%p%d_%d fastmath<contract> : %s\n",
                      r, j, r, j, vt, r, j, r, j, r, j, vt);
  }
  llmc_emit_tile_yield(o, "      ", "y", m, nv, vt);
  llmc_buf_printf(o, "    }\n");
  /* Class l's sums park at scr[((l * m + r) * NV + j) * VEC]. */
  for (int r = 0; r < m; r++)
    for (int j = 0; j < nv; j++)
      llmc_buf_printf(o,
                      "    %%q%d_%d = arith.constant %d : index\n"
                      "    %%lm%d_%d = arith.muli %%l, %%q%d_%d : index\n"
                      "    %%o%d_%d = arith.constant %d : index\n"
                      "    %%so%d_%d = arith.addi %%lm%d_%d, %%o%d_%d : index\n"
                      "    vector.store %%acc#%d, %%scr[%%so%d_%d] : memref<?xf32>, %s\n",
                      r, j, m * nv * w, r, j, r, j, r, j, (r * nv + j) * w, r, j, r, j, r, j, r * nv + j, r, j, vt);
  llmc_buf_printf(o, "  }\n");
  /* The tree over classes, then each column's epilogue. */
  for (int r = 0; r < m; r++)
    for (int j = 0; j < nv; j++) {
      for (int l = 0; l < w; l++)
        llmc_buf_printf(o,
                        "  %%ro%d_%d_%d = arith.constant %d : index\n"
                        "  %%v%d_%d_%d = vector.load %%scr[%%ro%d_%d_%d] : memref<?xf32>, %s\n",
                        r, j, l, ((l * m + r) * nv + j) * w, r, j, l, r, j, l, vt);
      int lvl = 0;
      for (int h = w / 2; h >= 1; h /= 2, lvl++)
        for (int l = 0; l < h; l++) {
          if (lvl == 0)
            llmc_buf_printf(o, "  %%h%d_%d_%d_%d = arith.addf %%v%d_%d_%d, %%v%d_%d_%d : %s\n", r, j, lvl, l, r, j, l, r,
                            j, l + h, vt);
          else
            llmc_buf_printf(o, "  %%h%d_%d_%d_%d = arith.addf %%h%d_%d_%d_%d, %%h%d_%d_%d_%d : %s\n", r, j, lvl, l, r,
                            j, lvl - 1, l, r, j, lvl - 1, l + h, vt);
        }
      for (int p = 0; p < w; p++)
        llmc_buf_printf(o,
                        "  %%z%d_%d_%d = vector.extract %%h%d_%d_%d_0[%d] : f32 from %s\n"
                        "  %%cn%d_%d_%d = arith.constant %d : index\n"
                        "  %%nn%d_%d_%d = arith.addi %%n0, %%cn%d_%d_%d : index\n"
                        "  func.call @%s_out(%%act, %%args, %%t%d, %%nn%d_%d_%d, %%z%d_%d_%d) : (memref<?xf32>, "
                        "memref<?xi64>, index, index, f32) -> ()\n",
                        r, j, p, r, j, lvl - 1, p, vt, r, j, p, j * w + g->rho[p], r, j, p, r, j, p, n, r, r, j, p, r,
                        j, p);
    }
  llmc_buf_printf(o, "  return\n}\n");
}

llmc_status_t *llmc_gemm_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = llmc_kinstance_int(inst, "K"), N = llmc_kinstance_int(inst, "N"), VEC = llmc_kinstance_int(inst, "VEC");
  int64_t TT = llmc_kinstance_int(inst, "TT"), NC = llmc_kinstance_int(inst, "NC"), TB = llmc_kinstance_int(inst, "TB");
  int64_t KC = llmc_kinstance_int(inst, "KC"), PF = llmc_kinstance_int(inst, "PF");
  /* MR 0 (or absent): no panels. */
  int64_t MR = llmc_kinstance_int(inst, "MR"), NV = llmc_kinstance_int(inst, "NV");
  if (MR < 0) MR = 0;
  const char *wt = llmc_kinstance_str(inst, "WTYPE"), *epi = llmc_kinstance_str(inst, "EPILOGUE");
  bool half = wt && (strcmp(wt, "f16") == 0 || strcmp(wt, "bf16") == 0);
  if (K <= 0 || N <= 0 || VEC < 1 || VEC > 16 || K % VEC || TT < 1 || TT > 8 || NC < 1 || NC > 8 || TB < TT ||
      TB % TT || KC < VEC || KC % VEC || PF < 0 || !wt || !epi || (!half && strcmp(wt, "f32") != 0) || (half && VEC % 2) ||
      MR > LLMC_GEMM_PANEL_MR_MAX || (MR > 0 && (NV < 1 || NV > 4 || (VEC != 4 && VEC != 8 && VEC != 16))))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_host: bad parameters");
  gen_t g = {.o = o, .name = name, .K = K, .vec = VEC, .ncmax = NC, .pf = PF, .half = half,
             .bf16 = half && strcmp(wt, "bf16") == 0, .mr = MR, .nv = MR > 0 ? NV : 0};
  if (MR > 0 && !net_order(&g)) return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_host: the pack's network is not a transpose");
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
  if (MR > 0) {
    emit_pack(&g);
    for (int m = 1; m <= MR; m++) emit_panel_tile(&g, m);
  }
  int64_t nr = MR > 0 ? NV * VEC : 1, panel_words = MR > 0 ? nr * K : 1, panel_scr = MR > 0 ? VEC * MR * NV * VEC : 1;
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
                  "  %%pk_s = memref.alloca() : memref<%lldxf32>\n"
                  "  %%pk = memref.cast %%pk_s : memref<%lldxf32> to memref<?xf32>\n"
                  "  %%pscr_s = memref.alloca() : memref<%lldxf32>\n"
                  "  %%pscr = memref.cast %%pscr_s : memref<%lldxf32> to memref<?xf32>\n"
                  "  %%nr = arith.constant %lld : index\n"
                  "  %%mr = arith.constant %lld : index\n"
                  "  %%pmin = arith.constant %lld : index\n"
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
                  "  %%panels = arith.divui %%count, %%nr : index\n"
                  "  %%panelled = arith.muli %%panels, %%nr : index\n"
                  "  %%panel_end = arith.addi %%begin, %%panelled : index\n"
                  "  scf.for %%tb0 = %%c0 to %%tokens step %%tb {\n"
                  "    %%tb1 = arith.addi %%tb0, %%tb : index\n"
                  "    %%te = arith.minui %%tb1, %%tokens : index\n"
                  "    %%tn = arith.subi %%te, %%tb0 : index\n"
                  "    %%tiles = arith.divui %%tn, %%tt : index\n"
                  "    %%full = arith.muli %%tiles, %%tt : index\n"
                  "    %%full_end = arith.addi %%tb0, %%full : index\n"
                  "    %%rem = arith.subi %%tn, %%full : index\n",
                  name, (long long)TT, (long long)NC, (long long)TB, (long long)K, (long long)KC, (long long)scratch,
                  (long long)scratch, (long long)panel_words, (long long)panel_words, (long long)panel_scr,
                  (long long)panel_scr, (long long)nr, (long long)(MR > 0 ? MR : 1), (long long)LLMC_GEMM_PANEL_PMIN,
                  half ? 2 : 1, name);
  /* A block of PMIN tokens or more goes through panels as far as whole
   * panels reach; the tiles take the rest of the columns (all of them for
   * a short block: packing would cost more than it saves). */
  if (MR > 0) {
    llmc_buf_printf(o,
                    "    %%use_panels = arith.cmpi uge, %%tn, %%pmin : index\n"
                    "    %%dbegin = arith.select %%use_panels, %%panel_end, %%begin : index\n"
                    "    scf.if %%use_panels {\n"
                    "      %%ptiles = arith.divui %%tn, %%mr : index\n"
                    "      %%pfull = arith.muli %%ptiles, %%mr : index\n"
                    "      %%pfull_end = arith.addi %%tb0, %%pfull : index\n"
                    "      %%prem = arith.subi %%tn, %%pfull : index\n"
                    "      scf.for %%n0 = %%begin to %%panel_end step %%nr {\n"
                    "        func.call @%s_pack(%%w, %%b_off, %%n0, %%pk) : (memref<?xf32>, index, index, memref<?xf32>) -> ()\n"
                    "        scf.for %%i = %%tb0 to %%pfull_end step %%mr {\n"
                    "          func.call @%s_p%lld(%%act, %%pk, %%meta, %%args, %%a_off, %%i, %%n0, %%pscr) : " PANEL_TYPE "\n"
                    "        }\n"
                    "        scf.index_switch %%prem\n",
                    name, name, (long long)MR);
    for (int m = 1; m < MR; m++)
      llmc_buf_printf(o,
                      "        case %d {\n"
                      "          func.call @%s_p%d(%%act, %%pk, %%meta, %%args, %%a_off, %%pfull_end, %%n0, %%pscr) : " PANEL_TYPE "\n"
                      "          scf.yield\n"
                      "        }\n",
                      m, name, m);
    llmc_buf_printf(o, "        default {\n          scf.yield\n        }\n      }\n    }\n");
  } else {
    llmc_buf_printf(o, "    %%dbegin = arith.addi %%begin, %%c0 : index\n");
  }
  llmc_buf_printf(o,
                  "    %%dcount = arith.subi %%end, %%dbegin : index\n"
                  "    %%blocks = arith.divui %%dcount, %%nc : index\n"
                  "    %%blocked = arith.muli %%blocks, %%nc : index\n"
                  "    %%block_end = arith.addi %%dbegin, %%blocked : index\n");
  for (int w = 0; w < (NC > 1 ? 2 : 1); w++) {
    int nc = ncs[w];
    if (w == 0)
      llmc_buf_printf(o, "    scf.for %%n = %%dbegin to %%block_end step %%nc {\n");
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
