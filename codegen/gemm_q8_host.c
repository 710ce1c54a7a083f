/* gemm_q8_host.c: the integer-dot CPU matmul for steps of several tokens (a
 * prefill chunk, a batch of decode tokens) on weights in an integer layout
 * (int4, int4-zp, int8 groups or rows, the K-quants), written by a C
 * generator because its register tile (TT tokens x NC columns) is a
 * parameter.
 *
 *   out[t, n] = epilogue(sum over K/64 steps of dot(decode(w[n], g), q8(a[t]), g))
 *
 * matmul_q8.host.mlir (the decode kernel) decodes a step of a column's
 * weights (unpacking nibbles and high bits, widening scales) once per token,
 * which for a prompt costs as much as the dot products themselves. Here a
 * step's NC columns are decoded once (@NAME_decode) and taken against each
 * of a tile's TT tokens (@NAME_dot) into TT x NC accumulators that stay in
 * registers for the whole of K. The loops, outermost first:
 *
 *   token blocks of TB (quantized to int8 onto the stack by q8_rows'
 *   @NAME_quantize, as matmul_q8 does TQ at a time), then
 *   columns, NC at a time (then one at a time for the leftovers), then
 *   token tiles of TT (a block's last tile may be smaller: a tile function
 *   for each size 1..TT), then K's steps of 64.
 *
 * Each (token, column) accumulates @NAME_dot in step order from zero and
 * ends with @NAME_fin, exactly matmul_q8's sequence, so a value's bits are
 * the decode kernel's whatever the tile, block or thread split (checked in
 * unit.codegen.kernels): a token's logits do not depend on whether it came
 * in a prompt or alone. The block's first tile of each column group reads
 * the weights from memory and prefetches PF words ahead; later tiles find
 * them in L1 (NC columns of K/64 steps: a few KiB).
 *
 *   params: K (a multiple of 64), N, STEPS (= K/64), QWORDS, STEP_WORDS,
 *           SWORDS, SCALES (as matmul_q8), TT (1..8), NC (1..8), TB (>= TT:
 *           q8_rows' QA, DA and CA are for TB rows), PF (f32 words to
 *           prefetch ahead; 0: none), EPILOGUE
 *   helpers: the layout's q8_dot_*, the target's q8_dot64*, matmul_rows,
 *           q8_rows (kvariants.c: q8_common)
 *   args:   as matmul_q8: [a_off, b_off (f32 words), out_off, T, then the
 *           epilogue's], args[10] the step's logit rows with matmul_rows ON
 *   extent: N output columns */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"

typedef struct {
  llmc_buf_t *o;
  const char *name;
  int64_t steps, qwords, step_words, swords, pf;
  char qa_t[48], da_t[48], ca_t[48]; /* the stack rows' memref types */
} gen_t;

/* The tile function's type (emit_tile). */
static void tile_type(const gen_t *g, llmc_buf_t *o) {
  llmc_buf_printf(o,
                  "(memref<?xf32>, memref<?xf32>, memref<?xi32>, memref<?xi64>, %s, %s, %s, index, index, index, "
                  "index, index, i1) -> ()",
                  g->qa_t, g->da_t, g->ca_t);
}

/* @NAME_tTTxNC: tokens of slots [i0, i0 + tt) (rows [tl0, tl0 + tt) of the
 * block on the stack), columns [n, n + nc), every step of K. */
static void emit_tile(const gen_t *g, int tt, int nc) {
  llmc_buf_t *o = g->o;
  const char *n = g->name;
  const char *acts_t = "(vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>)";
  llmc_buf_printf(o,
                  "func.func private @%s_t%dx%d(%%act: memref<?xf32>, %%w: memref<?xf32>, %%meta: memref<?xi32>, "
                  "%%args: memref<?xi64>, %%qa: %s, %%da: %s, %%ca: %s, %%b_off: index, %%s_off: index, "
                  "%%i0: index, %%tl0: index, %%n: index, %%pf: i1) {\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%steps = arith.constant %lld : index\n"
                  "  %%q_row = arith.constant %lld : index\n"
                  "  %%s_row = arith.constant %lld : index\n"
                  "  %%step_words = arith.constant %lld : index\n"
                  "  %%pf_words = arith.constant %lld : index\n"
                  "  %%zero = arith.constant dense<0.0> : vector<16xf32>\n",
                  n, tt, nc, g->qa_t, g->da_t, g->ca_t, (long long)g->steps, (long long)g->qwords,
                  (long long)g->swords, (long long)g->step_words, (long long)g->pf);
  for (int i = 0; i < (tt > nc ? tt : nc); i++) llmc_buf_printf(o, "  %%c%d_ = arith.constant %d : index\n", i, i);
  for (int j = 0; j < tt; j++)
    llmc_buf_printf(o,
                    "  %%s%d = arith.addi %%i0, %%c%d_ : index\n"
                    "  %%t%d = func.call @%s_row(%%meta, %%args, %%s%d) : (memref<?xi32>, memref<?xi64>, index) -> index\n"
                    "  %%l%d = arith.addi %%tl0, %%c%d_ : index\n",
                    j, j, j, n, j, j, j);
  for (int c = 0; c < nc; c++)
    llmc_buf_printf(o,
                    "  %%n%d = arith.addi %%n, %%c%d_ : index\n"
                    "  %%nq%d = arith.muli %%n%d, %%q_row : index\n"
                    "  %%q%d = arith.addi %%b_off, %%nq%d : index\n"
                    "  %%ns%d = arith.muli %%n%d, %%s_row : index\n"
                    "  %%z%d = arith.addi %%s_off, %%ns%d : index\n",
                    c, c, c, c, c, c, c, c, c, c);
  /* acc (j, c) is iter_arg %x{j}_{c}. */
  llmc_buf_printf(o, "  %%acc:%d = scf.for %%g = %%c0 to %%steps step %%c1 iter_args(", tt * nc);
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++) llmc_buf_printf(o, "%s%%x%d_%d = %%zero", j || c ? ", " : "", j, c);
  llmc_buf_printf(o, ") -> (");
  llmc_emit_type_list(o, "vector<16xf32>", tt * nc);
  llmc_buf_printf(o, ") {\n    %%gw = arith.muli %%g, %%step_words : index\n");
  for (int c = 0; c < nc; c++) {
    llmc_buf_printf(o, "    %%wq%d = arith.addi %%q%d, %%gw : index\n", c, c);
    /* As matmul_q8's @NAME_col: a prefetch past the tensor's end does not fault. */
    if (g->pf > 0)
      llmc_buf_printf(o,
                      "    scf.if %%pf {\n"
                      "      %%ahead%d = arith.addi %%wq%d, %%pf_words : index\n"
                      "      memref.prefetch %%w[%%ahead%d], read, locality<3>, data : memref<?xf32>\n"
                      "    }\n",
                      c, c, c);
    llmc_buf_printf(o,
                    "    %%u%d:3 = func.call @%s_decode(%%w, %%wq%d, %%z%d, %%g) : (memref<?xf32>, index, index, index) "
                    "-> (vector<64xi8>, vector<16xf32>, vector<16xf32>)\n",
                    c, n, c, c);
  }
  for (int j = 0; j < tt; j++)
    llmc_buf_printf(o, "    %%a%d:4 = func.call @%s_acts(%%qa, %%da, %%ca, %%l%d, %%g) : (%s, %s, %s, index, index) -> %s\n",
                    j, n, j, g->qa_t, g->da_t, g->ca_t, acts_t);
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o,
                      "    %%y%d_%d = func.call @%s_dot(%%u%d#0, %%u%d#1, %%u%d#2, %%a%d#0, %%a%d#1, %%a%d#2, %%a%d#3, "
                      "%%x%d_%d) : (vector<64xi8>, vector<16xf32>, vector<16xf32>, vector<64xi8>, vector<16xf32>, "
                      "vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>\n",
                      j, c, n, c, c, c, j, j, j, j, j, c);
  llmc_emit_tile_yield(o, "    ", "y", tt, nc, "vector<16xf32>");
  llmc_buf_printf(o, "  }\n");
  for (int j = 0; j < tt; j++)
    for (int c = 0; c < nc; c++)
      llmc_buf_printf(o,
                      "  %%d%d_%d = func.call @%s_fin(%%w, %%z%d, %%acc#%d) : (memref<?xf32>, index, vector<16xf32>) -> f32\n"
                      "  func.call @%s_out(%%act, %%args, %%t%d, %%n%d, %%d%d_%d) : (memref<?xf32>, memref<?xi64>, "
                      "index, index, f32) -> ()\n",
                      j, c, n, c, j * nc + c, n, j, c, j, c);
  llmc_buf_printf(o, "  return\n}\n");
}

/* A call of tile tt x nc at slot %slot, block row %tl, column %n. */
static void emit_call(const gen_t *g, int tt, int nc, const char *ind, const char *slot, const char *tl,
                      const char *pf) {
  llmc_buf_printf(g->o,
                  "%sfunc.call @%s_t%dx%d(%%act, %%w, %%meta, %%args, %%qa, %%da, %%ca, %%b_off, %%s_off, %s, %s, %%n, "
                  "%s) : ",
                  ind, g->name, tt, nc, slot, tl, pf);
  tile_type(g, g->o);
  llmc_buf_printf(g->o, "\n");
}

llmc_status_t *llmc_gemm_q8_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = llmc_kinstance_int(inst, "K"), N = llmc_kinstance_int(inst, "N"), STEPS = llmc_kinstance_int(inst, "STEPS");
  int64_t QWORDS = llmc_kinstance_int(inst, "QWORDS"), STEP_WORDS = llmc_kinstance_int(inst, "STEP_WORDS");
  int64_t SWORDS = llmc_kinstance_int(inst, "SWORDS"), SCALES = llmc_kinstance_int(inst, "SCALES");
  int64_t TT = llmc_kinstance_int(inst, "TT"), NC = llmc_kinstance_int(inst, "NC"), TB = llmc_kinstance_int(inst, "TB");
  int64_t PF = llmc_kinstance_int(inst, "PF");
  const char *epi = llmc_kinstance_str(inst, "EPILOGUE");
  if (K <= 0 || K % 64 || N <= 0 || STEPS != K / 64 || QWORDS <= 0 || STEP_WORDS * STEPS != QWORDS || SWORDS < 1 ||
      SCALES < 0 || TT < 1 || TT > 8 || NC < 1 || NC > 8 || TB < TT || PF < 0 || !epi)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_q8_host: bad parameters");
  gen_t g = {.o = o, .name = name, .steps = STEPS, .qwords = QWORDS, .step_words = STEP_WORDS, .swords = SWORDS,
             .pf = PF};
  /* q8_rows' stack for TB rows (kvariants.c: q8_common passes it the same). */
  snprintf(g.qa_t, sizeof g.qa_t, "memref<%lldxi8>", (long long)(TB * K));
  snprintf(g.da_t, sizeof g.da_t, "memref<%lldxf32>", (long long)(TB * (K / 32) * 2));
  snprintf(g.ca_t, sizeof g.ca_t, "memref<%lldxi32>", (long long)(TB * (K / 32) * 8));
  llmc_buf_printf(o,
                  "// %s: gemm_q8_host K=%lld N=%lld, tiles of %lld tokens x %lld columns, token blocks of %lld "
                  "(codegen/gemm_q8_host.c)\n",
                  name, (long long)K, (long long)N, (long long)TT, (long long)NC, (long long)TB);
  llmc_buf_printf(o,
                  "func.func private @%s_out(%%act: memref<?xf32>, %%args: memref<?xi64>, %%t: index, %%n: index, "
                  "%%y: f32) {\n%s  return\n}\n",
                  name, epi);
  int ncs[2] = {(int)NC, 1};
  int widths = NC > 1 ? 2 : 1;
  for (int w = 0; w < widths; w++)
    for (int tt = 1; tt <= TT; tt++) emit_tile(&g, tt, ncs[w]);
  llmc_buf_printf(o,
                  "func.func @%s(%%act: memref<?xf32>, %%w: memref<?xf32>, %%kv: memref<?xf32>, %%meta: memref<?xi32>, "
                  "%%args: memref<?xi64>, %%begin: index, %%end: index) attributes {llvm.emit_c_interface} {\n"
                  "  %%c0 = arith.constant 0 : index\n"
                  "  %%c1 = arith.constant 1 : index\n"
                  "  %%c3 = arith.constant 3 : index\n"
                  "  %%tt = arith.constant %lld : index\n"
                  "  %%nc = arith.constant %lld : index\n"
                  "  %%tb = arith.constant %lld : index\n"
                  "  %%scales_at = arith.constant %lld : index\n"
                  "  %%a_off_i = memref.load %%args[%%c0] : memref<?xi64>\n"
                  "  %%b_off_i = memref.load %%args[%%c1] : memref<?xi64>\n"
                  "  %%t_i = memref.load %%args[%%c3] : memref<?xi64>\n"
                  "  %%a_off = arith.index_cast %%a_off_i : i64 to index\n"
                  "  %%b_off = arith.index_cast %%b_off_i : i64 to index\n"
                  "  %%s_off = arith.addi %%b_off, %%scales_at : index\n"
                  "  %%t_all = arith.index_cast %%t_i : i64 to index\n"
                  "  %%tokens = func.call @%s_rows(%%meta, %%args, %%t_all) : (memref<?xi32>, memref<?xi64>, index) -> "
                  "index\n"
                  "  %%count = arith.subi %%end, %%begin : index\n"
                  "  %%groups = arith.divui %%count, %%nc : index\n"
                  "  %%grouped = arith.muli %%groups, %%nc : index\n"
                  "  %%group_end = arith.addi %%begin, %%grouped : index\n"
                  "  %%qa = memref.alloca() : %s\n"
                  "  %%da = memref.alloca() : %s\n"
                  "  %%ca = memref.alloca() : %s\n"
                  "  scf.for %%tb0 = %%c0 to %%tokens step %%tb {\n"
                  "    %%left = arith.subi %%tokens, %%tb0 : index\n"
                  "    %%tn = arith.minui %%left, %%tb : index\n"
                  "    func.call @%s_quantize(%%act, %%meta, %%args, %%a_off, %%tb0, %%tn, %%qa, %%da, %%ca) : "
                  "(memref<?xf32>, memref<?xi32>, memref<?xi64>, index, index, index, %s, %s, %s) -> ()\n"
                  "    %%tiles = arith.divui %%tn, %%tt : index\n"
                  "    %%full = arith.muli %%tiles, %%tt : index\n"
                  "    %%rem = arith.subi %%tn, %%full : index\n"
                  "    %%rem_slot = arith.addi %%tb0, %%full : index\n"
                  "    %%pf_rem = arith.cmpi eq, %%full, %%c0 : index\n",
                  name, (long long)TT, (long long)NC, (long long)TB, (long long)SCALES, name, g.qa_t, g.da_t, g.ca_t,
                  name, g.qa_t, g.da_t, g.ca_t);
  for (int w = 0; w < widths; w++) {
    int nc = ncs[w];
    if (w == 0)
      llmc_buf_printf(o, "    scf.for %%n = %%begin to %%group_end step %%nc {\n");
    else
      llmc_buf_printf(o, "    scf.for %%n = %%group_end to %%end step %%c1 {\n");
    /* The block's first tile of a column group streams its weights. */
    llmc_buf_printf(o,
                    "      scf.for %%i = %%c0 to %%full step %%tt {\n"
                    "        %%slot = arith.addi %%tb0, %%i : index\n"
                    "        %%pf = arith.cmpi eq, %%i, %%c0 : index\n");
    emit_call(&g, (int)TT, nc, "        ", "%slot", "%i", "%pf");
    llmc_buf_printf(o, "      }\n");
    if (TT > 1) {
      llmc_buf_printf(o, "      scf.index_switch %%rem\n");
      for (int r = 1; r < TT; r++) {
        llmc_buf_printf(o, "      case %d {\n", r);
        emit_call(&g, r, nc, "        ", "%rem_slot", "%full", "%pf_rem");
        llmc_buf_printf(o, "        scf.yield\n      }\n");
      }
      llmc_buf_printf(o, "      default {\n        scf.yield\n      }\n");
    }
    llmc_buf_printf(o, "    }\n");
  }
  llmc_buf_printf(o, "  }\n  return\n}\n");
  return o->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}
