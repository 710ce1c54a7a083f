/* gemm_mma.c: the tensor-core GEMM for NVIDIA targets (sm_80 and later),
 * mma.sync.m16n8k16 with bf16 operands and f32 accumulation, for steps of
 * many tokens (a prefill chunk):
 *
 *   out[t, n] = epilogue(sum_k a[t, k] * w[n, k])    a: f32 [T, K], w: bf16 [N, K]
 *
 * A block computes a BM x BN tile of out (tokens x columns) with WM x WN
 * warps, each a (BM/WM) x (BN/WN) tile of MT x NT mma tiles of 16 x 8. K is
 * walked 32 at a time: the block's threads stage the activations' [BM, 32]
 * and the weights' [BN, 32] slices in shared memory (plain loads and stores;
 * a first version: no cp.async, no ldmatrix, one shared buffer), meet at
 * a barrier, and each warp reads its fragments from shared memory and
 * issues its mma instructions (two k16 steps); the next slice's global loads
 * are issued before them, into registers (double buffering in registers).
 *
 * The activations stay f32 in the arena; the tensor cores take bf16. Each
 * activation a is split into a = hi + lo + r: hi is a's top 16 bits (a bf16,
 * exactly), lo = a - hi rounded to the nearest bf16, so |r| <= 2^-17 |a|,
 * and the kernel computes hi.w + lo.w: two mma instructions per tile and
 * step where bf16 activations would take one, for products accurate to
 * about f32's summation error (the weights are bf16 already; products of
 * two bf16 are exact in f32). The tensor cores have throughput to spare at
 * these sizes; the interpreter contract (f32) stays as it is for every
 * other GPU matmul. An infinite activation contributes hi = inf and lo = 0.
 *
 * Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16", lane l, g = l/4,
 * c = l%4): A's registers are rows g, g+8, g, g+8 at k = 2c, 2c, 2c+8, 2c+8
 * (two consecutive k a register, the lower k in the low half); B's two are
 * column g at k = 2c and 2c+8; the four accumulators are (g, 2c), (g, 2c+1),
 * (g+8, 2c), (g+8, 2c+1). Shared rows hold a row's 32 values as 16 words,
 * padded to 20 words so that the eight rows a fragment load touches fall in
 * distinct banks.
 *
 * Per-target fusion, as gemv_warp: with NORM the rms_norm before the
 * matmul is done on the way in (the staged activations are x * (g + NOFFSET)
 * and each thread sums the x^2 of the rows it stages; after the K loop the
 * eight threads of a row add theirs with shuffles and the row's
 * 1/sqrt(mean + EPS) scales its outputs). With GLU (1: silu_mul, 2: gelu_mul)
 * the matmul is the joined [gate; up] of N = 2H rows: a block covers BN/2
 * outputs, the first half of each warp's columns taken from the gate rows
 * and the second half from the same outputs' up rows, so a thread holds
 * gate and up of each of its outputs and writes act(gate) * up to the glu's
 * [T, H] rows (args[9]).
 *
 * Launch: grid (N / BN, ceil(T / BM)) x (32 WM WN) threads, items_per_block
 * BN (weight rows), grid_y_tokens BM. Tokens past T are loaded clamped to
 * the last row and not stored. kvariants.c requires K % 32 == 0, N % BN == 0
 * (GLU: H % (BN/2) == 0) and bf16 weights; args as gemv_warp's. */
#include <stdio.h>
#include <string.h>

#include "kplan_impl.h"

enum { BK = 32, ROW_WORDS = 20 }; /* K values a stage; shared words a staged row (16 + 4 of padding) */

typedef struct {
  llmc_buf_t *o;
  int64_t bm, bn, wm, wn, mt, nt, threads, la, lb, k;
  bool norm, glu;
} mma_gen_t;

/* Loads this thread's LA chunks of 4 activations of the K slice starting
 * at %<k> (an index name) into %av<i><sfx> (with NORM also the norm weights'
 * chunks into %gv<i><sfx>). */
static void emit_load_a(const mma_gen_t *g, const char *I, const char *k, const char *sfx) {
  for (int64_t i = 0; i < g->la; i++) {
    llmc_buf_printf(g->o,
                    "%s%%ax%lld%s = arith.addi %%arow%lld, %s : index\n"
                    "%s%%av%lld%s = vector.load %%act[%%ax%lld%s] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                    I, (long long)i, sfx, (long long)i, k, I, (long long)i, sfx, (long long)i, sfx);
    if (g->norm)
      llmc_buf_printf(g->o,
                      "%s%%gx%lld%s = arith.addi %%gcol%lld, %s : index\n"
                      "%s%%gv%lld%s = vector.load %%w[%%gx%lld%s] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                      I, (long long)i, sfx, (long long)i, k, I, (long long)i, sfx, (long long)i, sfx);
  }
}

/* Stages loaded activations (%<a><i>, norm weights %<gw><i>) in shared
 * memory: hi and lo halves into @NAME_ah / @NAME_al; with NORM the sums of
 * squares %ss<i> become %ssn<i>. */
static void emit_store_a(const mma_gen_t *g, const char *I, const char *a, const char *gw) {
  llmc_buf_t *o = g->o;
  for (int64_t i = 0; i < g->la; i++) {
    char v[32];
    snprintf(v, sizeof v, "%s%lld", a, (long long)i);
    if (g->norm) {
      llmc_buf_printf(o,
                      "%s%%gn%lld = arith.addf %%%s%lld, %%noff : vector<4xf32>\n"
                      "%s%%sq%lld = arith.mulf %%%s, %%%s : vector<4xf32>\n"
                      "%s%%sqs%lld = vector.reduction <add>, %%sq%lld : vector<4xf32> into f32\n"
                      "%s%%ssn%lld = arith.addf %%ss%lld, %%sqs%lld : f32\n"
                      "%s%%an%lld = arith.mulf %%%s, %%gn%lld : vector<4xf32>\n",
                      I, (long long)i, gw, (long long)i, I, (long long)i, v, v, I, (long long)i, (long long)i, I,
                      (long long)i, (long long)i, (long long)i, I, (long long)i, v, (long long)i);
      snprintf(v, sizeof v, "an%lld", (long long)i);
    }
    /* hi: the top 16 bits; lo: the rest, rounded to nearest even (0 for an inf). */
    llmc_buf_printf(o,
                    "%s%%ab%lld = vector.bitcast %%%s : vector<4xf32> to vector<4xi32>\n"
                    "%s%%ahi%lld = arith.andi %%ab%lld, %%mhi : vector<4xi32>\n"
                    "%s%%ahf%lld = vector.bitcast %%ahi%lld : vector<4xi32> to vector<4xf32>\n"
                    "%s%%ad%lld = arith.subf %%%s, %%ahf%lld : vector<4xf32>\n"
                    "%s%%aabs%lld = math.absf %%%s : vector<4xf32>\n"
                    "%s%%ainf%lld = arith.cmpf oeq, %%aabs%lld, %%vinf : vector<4xf32>\n"
                    "%s%%adz%lld = arith.select %%ainf%lld, %%vzero, %%ad%lld : vector<4xi1>, vector<4xf32>\n"
                    "%s%%adb%lld = vector.bitcast %%adz%lld : vector<4xf32> to vector<4xi32>\n"
                    "%s%%al1%lld = arith.shrui %%adb%lld, %%v16 : vector<4xi32>\n"
                    "%s%%al2%lld = arith.andi %%al1%lld, %%v1 : vector<4xi32>\n"
                    "%s%%al3%lld = arith.addi %%adb%lld, %%vrne : vector<4xi32>\n"
                    "%s%%al4%lld = arith.addi %%al3%lld, %%al2%lld : vector<4xi32>\n"
                    "%s%%alo%lld = arith.shrui %%al4%lld, %%v16 : vector<4xi32>\n"
                    /* pairs (0,1) and (2,3) into words, the lower k in the low half */
                    "%s%%ahe%lld = vector.shuffle %%ahi%lld, %%ahi%lld [0, 2] : vector<4xi32>, vector<4xi32>\n"
                    "%s%%aho%lld = vector.shuffle %%ahi%lld, %%ahi%lld [1, 3] : vector<4xi32>, vector<4xi32>\n"
                    "%s%%ahs%lld = arith.shrui %%ahe%lld, %%w16 : vector<2xi32>\n"
                    "%s%%ahw%lld = arith.ori %%ahs%lld, %%aho%lld : vector<2xi32>\n"
                    "%s%%ale%lld = vector.shuffle %%alo%lld, %%alo%lld [0, 2] : vector<4xi32>, vector<4xi32>\n"
                    "%s%%alo_%lld = vector.shuffle %%alo%lld, %%alo%lld [1, 3] : vector<4xi32>, vector<4xi32>\n"
                    "%s%%als%lld = arith.shli %%alo_%lld, %%w16 : vector<2xi32>\n"
                    "%s%%alw%lld = arith.ori %%ale%lld, %%als%lld : vector<2xi32>\n"
                    "%svector.store %%ahw%lld, %%ah[%%sr%lld, %%acw_s] : memref<%lldx%dxi32, 3>, vector<2xi32>\n"
                    "%svector.store %%alw%lld, %%al[%%sr%lld, %%acw_s] : memref<%lldx%dxi32, 3>, vector<2xi32>\n",
                    I, (long long)i, v, I, (long long)i, (long long)i, I, (long long)i, (long long)i, I,
                    (long long)i, v, (long long)i, I, (long long)i, v, I, (long long)i,
                    (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i, (long long)i, I,
                    (long long)i, (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i, I,
                    (long long)i, (long long)i, (long long)i, I, (long long)i, (long long)i, I, (long long)i,
                    (long long)i, (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i,
                    (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i, (long long)i,
                    (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i, (long long)i, I,
                    (long long)i, (long long)i, (long long)i, I, (long long)i, (long long)i, (long long)g->bm,
                    ROW_WORDS, I, (long long)i, (long long)i, (long long)g->bm, ROW_WORDS);
  }
}

/* Loads this thread's LB chunks of 4 words (8 bf16) of the weights' K
 * slice starting at word %<kw> into %bv<i><sfx>. */
static void emit_load_b(const mma_gen_t *g, const char *I, const char *kw, const char *sfx) {
  for (int64_t i = 0; i < g->lb; i++)
    llmc_buf_printf(g->o,
                    "%s%%bx%lld%s = arith.addi %%bcol%lld, %s : index\n"
                    "%s%%bv%lld%s = vector.load %%w[%%bx%lld%s] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                    I, (long long)i, sfx, (long long)i, kw, I, (long long)i, sfx, (long long)i, sfx);
}

/* Stages loaded weight chunks %<b><i> in shared memory. */
static void emit_store_b(const mma_gen_t *g, const char *I, const char *b) {
  for (int64_t i = 0; i < g->lb; i++)
    llmc_buf_printf(g->o,
                    "%s%%bi%lld = vector.bitcast %%%s%lld : vector<4xf32> to vector<4xi32>\n"
                    "%svector.store %%bi%lld, %%bs[%%br%lld, %%bcw%lld] : memref<%lldx%dxi32, 3>, vector<4xi32>\n",
                    I, (long long)i, b, (long long)i, I, (long long)i, (long long)i, (long long)i, (long long)g->bn,
                    ROW_WORDS);
}

/* One k16 step (kk = 0, 1 of the staged 32): fragments from shared memory
 * and 2 MT NT mma instructions; acc names are updated. */
static void emit_mma_step(const mma_gen_t *g, const char *I, int kk, char (*acc)[32], int *serial) {
  llmc_buf_t *o = g->o;
  static const char *const half_name[2] = {"h", "l"};
  /* Word columns of this step: kk*8 + c and kk*8 + 4 + c. */
  llmc_buf_printf(o, "%s%%kc%d_0 = arith.addi %%lc, %%kw%d_0 : index\n%s%%kc%d_1 = arith.addi %%lc, %%kw%d_1 : index\n", I,
                  kk, kk, I, kk, kk);
  for (int64_t i = 0; i < g->mt; i++)
    for (int h = 0; h < 2; h++)
      for (int r = 0; r < 4; r++)
        /* a0: (g, 2c) a1: (g+8, 2c) a2: (g, 2c+8) a3: (g+8, 2c+8) */
        llmc_buf_printf(o, "%s%%f%s%d_%lld_%d = memref.load %%a%s[%%ar%lld_%d, %%kc%d_%d] : memref<%lldx%dxi32, 3>\n", I,
                        half_name[h], kk, (long long)i, r, h ? "l" : "h", (long long)i, r & 1, kk, r >> 1,
                        (long long)g->bm, ROW_WORDS);
  for (int64_t j = 0; j < g->nt; j++)
    for (int r = 0; r < 2; r++)
      llmc_buf_printf(o, "%s%%fb%d_%lld_%d = memref.load %%bs[%%bn%lld, %%kc%d_%d] : memref<%lldx%dxi32, 3>\n", I, kk,
                      (long long)j, r, (long long)j, kk, r, (long long)g->bn, ROW_WORDS);
  for (int64_t i = 0; i < g->mt; i++)
    for (int64_t j = 0; j < g->nt; j++) {
      int64_t a0 = (i * g->nt + j) * 4;
      for (int h = 1; h >= 0; h--) { /* lo first, then hi: the larger terms last */
        int s = (*serial)++;
        llmc_buf_printf(o,
                        "%s%%d%d = nvvm.mma.sync A[%%f%s%d_%lld_0, %%f%s%d_%lld_1, %%f%s%d_%lld_2, %%f%s%d_%lld_3] "
                        "B[%%fb%d_%lld_0, %%fb%d_%lld_1] C[%s, %s, %s, %s] {layoutA = #nvvm.mma_layout<row>, "
                        "layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, "
                        "multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : "
                        "(i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>\n",
                        I, s, half_name[h], kk, (long long)i, half_name[h], kk, (long long)i, half_name[h], kk,
                        (long long)i, half_name[h], kk, (long long)i, kk, (long long)j, kk, (long long)j, acc[a0],
                        acc[a0 + 1], acc[a0 + 2], acc[a0 + 3]);
        for (int e = 0; e < 4; e++) {
          llmc_buf_printf(o, "%s%%d%d_%d = llvm.extractvalue %%d%d[%d] : !llvm.struct<(f32, f32, f32, f32)>\n", I, s, e,
                          s, e);
          snprintf(acc[a0 + e], 32, "%%d%d_%d", s, e);
        }
      }
    }
}

static void emit_acc_types(llmc_buf_t *o, int n) {
  for (int a = 0; a < n; a++) llmc_buf_printf(o, "%sf32", a ? ", " : "");
}

llmc_status_t *llmc_gemm_mma_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = llmc_kinstance_int(inst, "K"), N = llmc_kinstance_int(inst, "N");
  int64_t BM = llmc_kinstance_int(inst, "BM"), BN = llmc_kinstance_int(inst, "BN");
  int64_t WM = llmc_kinstance_int(inst, "WM"), WN = llmc_kinstance_int(inst, "WN");
  int64_t NORM = llmc_kinstance_int(inst, "NORM"), GLU = llmc_kinstance_int(inst, "GLU");
  const char *epi = llmc_kinstance_str(inst, "EPILOGUE"), *eps = llmc_kinstance_str(inst, "EPS");
  const char *noffset = llmc_kinstance_str(inst, "NOFFSET");
  mma_gen_t g = {.o = o, .bm = BM, .bn = BN, .wm = WM, .wn = WN, .k = K, .norm = NORM == 1, .glu = GLU > 0};
  if (K <= 0 || K % BK || N <= 0 || BM < 16 || BN < 8 || WM < 1 || WN < 1 || BM % (16 * WM) || BN % (8 * WN) ||
      N % BN || !epi || !eps || !noffset || (NORM != 0 && NORM != 1) || GLU < 0 || GLU > 2)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_mma: bad parameters");
  g.mt = BM / WM / 16;
  g.nt = BN / WN / 8;
  g.threads = 32 * WM * WN;
  if ((BM * 8) % g.threads || (BN * 4) % g.threads || g.mt * g.nt > 16 || (g.glu && (g.nt % 2 || N % 2)))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemm_mma: bad tile");
  g.la = BM * 8 / g.threads; /* 4-value chunks of the [BM, 32] activations a thread stages */
  g.lb = BN * 4 / g.threads; /* 4-word chunks of the [BN, 16 words] weights a thread stages */
  int64_t H = g.glu ? N / 2 : N, wcols = BN / WN; /* a warp's weight rows */
  int n_acc = (int)(g.mt * g.nt * 4), n_carry = n_acc + (g.norm ? (int)g.la : 0);

  llmc_buf_printf(o,
                  "// %s: gemm_mma K=%lld N=%lld W=bf16, mma.sync.m16n8k16 (bf16 hi + lo activations), %lldx%lld tile, "
                  "%lldx%lld warps of %lldx%lld mma tiles%s%s (codegen/gemm_mma.c)\n",
                  name, (long long)K, (long long)N, (long long)BM, (long long)BN, (long long)WM, (long long)WN,
                  (long long)g.mt, (long long)g.nt, g.norm ? ", rms_norm prologue" : "",
                  GLU == 2 ? ", gelu_mul epilogue" : GLU ? ", silu_mul epilogue" : "");
  llmc_buf_printf(o,
                  "func.func private @%s_out(%%act: memref<?xf32>, %%args: memref<?xi64>, %%t: index, %%n: index, "
                  "%%y: f32) {\n%s  return\n}\n",
                  name, epi);
  llmc_buf_printf(o,
                  "memref.global \"private\" @%s_ah : memref<%lldx%dxi32, 3>\n"
                  "memref.global \"private\" @%s_al : memref<%lldx%dxi32, 3>\n"
                  "memref.global \"private\" @%s_bs : memref<%lldx%dxi32, 3>\n",
                  name, (long long)BM, ROW_WORDS, name, (long long)BM, ROW_WORDS, name, (long long)BN, ROW_WORDS);
  if (g.norm) llmc_buf_printf(o, "memref.global \"private\" @%s_rs : memref<%lldxf32, 3>\n", name, (long long)BM);
  llmc_buf_printf(o,
                  "gpu.func @%s(%%act: memref<?xf32>, %%w: memref<?xf32>, %%kv: memref<?xf32>, %%meta: "
                  "memref<?xi32>, %%args: memref<?xi64>, %%extent: i64) kernel attributes {known_block_size = "
                  "array<i32: %lld, 1, 1>} {\n",
                  name, (long long)g.threads);
  const char *I = "  ";
  llmc_buf_printf(o,
                  "%s%%c0 = arith.constant 0 : index\n%s%%c1 = arith.constant 1 : index\n"
                  "%s%%c3 = arith.constant 3 : index\n%s%%c4 = arith.constant 4 : index\n"
                  "%s%%c8 = arith.constant 8 : index\n%s%%c32 = arith.constant 32 : index\n"
                  "%s%%c_x = arith.constant %d : index\n%s%%k_dim = arith.constant %lld : index\n"
                  "%s%%k_words = arith.constant %lld : index\n%s%%h_dim = arith.constant %lld : index\n"
                  "%s%%bm = arith.constant %lld : index\n%s%%wn_c = arith.constant %lld : index\n"
                  "%s%%mhi = arith.constant dense<-65536> : vector<4xi32>\n"
                  "%s%%v16 = arith.constant dense<16> : vector<4xi32>\n%s%%w16 = arith.constant dense<16> : vector<2xi32>\n"
                  "%s%%v1 = arith.constant dense<1> : vector<4xi32>\n%s%%vrne = arith.constant dense<32767> : vector<4xi32>\n"
                  "%s%%vinf = arith.constant dense<0x7F800000> : vector<4xf32>\n"
                  "%s%%vzero = arith.constant dense<0.0> : vector<4xf32>\n%s%%fzero = arith.constant 0.0 : f32\n",
                  I, I, I, I, I, I, I, NORM ? 7 : 0, I, (long long)K, I, (long long)(K / 2), I, (long long)H, I,
                  (long long)BM, I, (long long)WN, I, I, I, I, I, I, I, I);
  llmc_buf_printf(o,
                  "%s%%ah = memref.get_global @%s_ah : memref<%lldx%dxi32, 3>\n"
                  "%s%%al = memref.get_global @%s_al : memref<%lldx%dxi32, 3>\n"
                  "%s%%bs = memref.get_global @%s_bs : memref<%lldx%dxi32, 3>\n",
                  I, name, (long long)BM, ROW_WORDS, I, name, (long long)BM, ROW_WORDS, I, name, (long long)BN, ROW_WORDS);
  llmc_buf_printf(o,
                  "%s%%tid = gpu.thread_id x\n%s%%bx = gpu.block_id x\n%s%%by = gpu.block_id y\n"
                  "%s%%warp = arith.divui %%tid, %%c32 : index\n%s%%lane = arith.remui %%tid, %%c32 : index\n"
                  "%s%%lg = arith.divui %%lane, %%c4 : index\n%s%%lc = arith.remui %%lane, %%c4 : index\n"
                  "%s%%wm = arith.divui %%warp, %%wn_c : index\n%s%%wn = arith.remui %%warp, %%wn_c : index\n"
                  "%s%%a_off_i = memref.load %%args[%%c_x] : memref<?xi64>\n"
                  "%s%%b_off_i = memref.load %%args[%%c1] : memref<?xi64>\n"
                  "%s%%t_i = memref.load %%args[%%c3] : memref<?xi64>\n"
                  "%s%%a_off = arith.index_cast %%a_off_i : i64 to index\n"
                  "%s%%b_off = arith.index_cast %%b_off_i : i64 to index\n"
                  "%s%%tokens = arith.index_cast %%t_i : i64 to index\n"
                  "%s%%t_last = arith.subi %%tokens, %%c1 : index\n"
                  "%s%%m0 = arith.muli %%by, %%bm : index\n",
                  I, I, I, I, I, I, I, I, I, I, I, I, I, I, I, I, I);
  /* The block's first output column: BN columns, or BN/2 outputs with GLU. */
  llmc_buf_printf(o, "%s%%bcols = arith.constant %lld : index\n%s%%n0 = arith.muli %%bx, %%bcols : index\n", I,
                  (long long)(g.glu ? BN / 2 : BN), I);
  if (g.norm) {
    llmc_buf_printf(o,
                    "%s%%g_off_i = memref.load %%args[%%c8] : memref<?xi64>\n"
                    "%s%%g_off = arith.index_cast %%g_off_i : i64 to index\n"
                    "%s%%noff1 = arith.constant %s : f32\n%s%%noff = vector.broadcast %%noff1 : f32 to vector<4xf32>\n",
                    I, I, I, noffset, I);
  }
  /* Staging addresses: chunk i of this thread is staged row
   * (tid + i*threads) / 8, values (tid % 8) * 4 ..+3 of the 32 (words
   * (tid % 8) * 2 ..+1 of the row: threads is a multiple of 8, so the chunk
   * column is the same for every i); its token row is clamped to T - 1. */
  llmc_buf_printf(o,
                  "%s%%c2 = arith.constant 2 : index\n%s%%a_chunk = arith.remui %%tid, %%c8 : index\n"
                  "%s%%a_k = arith.muli %%a_chunk, %%c4 : index\n%s%%acw_s = arith.muli %%a_chunk, %%c2 : index\n",
                  I, I, I, I);
  for (int64_t i = 0; i < g.la; i++) {
    llmc_buf_printf(o,
                    "%s%%aic%lld = arith.constant %lld : index\n"
                    "%s%%aidx%lld = arith.addi %%tid, %%aic%lld : index\n"
                    "%s%%sr%lld = arith.divui %%aidx%lld, %%c8 : index\n"
                    "%s%%at%lld = arith.addi %%m0, %%sr%lld : index\n"
                    "%s%%atc%lld = arith.minui %%at%lld, %%t_last : index\n"
                    "%s%%atk%lld = arith.muli %%atc%lld, %%k_dim : index\n"
                    "%s%%atr%lld = arith.addi %%a_off, %%atk%lld : index\n"
                    "%s%%arow%lld = arith.addi %%atr%lld, %%a_k : index\n",
                    I, (long long)i, (long long)(i * g.threads), I, (long long)i, (long long)i, I, (long long)i,
                    (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i, I, (long long)i,
                    (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i);
    if (g.norm) llmc_buf_printf(o, "%s%%gcol%lld = arith.addi %%g_off, %%a_k : index\n", I, (long long)i);
  }
  /* Weights: chunk i is staged row (tid + i*threads) / 4, words ((tid % 4) * 4 ..+3) of its 16. Staged
   * row r is weight row n0 + r, or with GLU: in warp column block r / wcols,
   * the first half gate rows and the second half the same outputs' up rows. */
  llmc_buf_printf(o, "%s%%b_chunk = arith.remui %%tid, %%c4 : index\n%s%%bcw_s = arith.muli %%b_chunk, %%c4 : index\n", I,
                  I);
  for (int64_t i = 0; i < g.lb; i++) {
    llmc_buf_printf(o,
                    "%s%%bic%lld = arith.constant %lld : index\n"
                    "%s%%bidx%lld = arith.addi %%tid, %%bic%lld : index\n"
                    "%s%%br%lld = arith.divui %%bidx%lld, %%c4 : index\n"
                    "%s%%bcw%lld = arith.addi %%bcw_s, %%c0 : index\n",
                    I, (long long)i, (long long)(i * g.threads), I, (long long)i, (long long)i, I, (long long)i,
                    (long long)i, I, (long long)i);
    if (g.glu)
      llmc_buf_printf(o,
                      "%s%%bwc%lld = arith.constant %lld : index\n%s%%bhc%lld = arith.constant %lld : index\n"
                      "%s%%bwb%lld = arith.divui %%br%lld, %%bwc%lld : index\n"
                      "%s%%bj%lld = arith.remui %%br%lld, %%bwc%lld : index\n"
                      "%s%%bup%lld = arith.divui %%bj%lld, %%bhc%lld : index\n"
                      "%s%%bjo%lld = arith.remui %%bj%lld, %%bhc%lld : index\n"
                      "%s%%bwo%lld = arith.muli %%bwb%lld, %%bhc%lld : index\n"
                      "%s%%bo1%lld = arith.addi %%n0, %%bwo%lld : index\n"
                      "%s%%bo%lld = arith.addi %%bo1%lld, %%bjo%lld : index\n"
                      "%s%%bhh%lld = arith.muli %%bup%lld, %%h_dim : index\n"
                      "%s%%bwr%lld = arith.addi %%bo%lld, %%bhh%lld : index\n",
                      I, (long long)i, (long long)wcols, I, (long long)i, (long long)(wcols / 2), I, (long long)i,
                      (long long)i, (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i,
                      (long long)i, (long long)i, I, (long long)i, (long long)i, (long long)i, I, (long long)i,
                      (long long)i, (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i,
                      (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i, (long long)i);
    else
      llmc_buf_printf(o, "%s%%bwr%lld = arith.addi %%n0, %%br%lld : index\n", I, (long long)i, (long long)i);
    llmc_buf_printf(o,
                    "%s%%bwk%lld = arith.muli %%bwr%lld, %%k_words : index\n"
                    "%s%%bwa%lld = arith.addi %%b_off, %%bwk%lld : index\n"
                    "%s%%bcol%lld = arith.addi %%bwa%lld, %%bcw_s : index\n",
                    I, (long long)i, (long long)i, I, (long long)i, (long long)i, I, (long long)i, (long long)i);
  }
  /* Fragment rows and columns of this lane: A rows wm*(BM/WM) + i*16 + g
   * (+8), B rows (weights staged) wn*wcols + j*8 + g. */
  llmc_buf_printf(o, "%s%%wrows = arith.constant %lld : index\n%s%%wr0 = arith.muli %%wm, %%wrows : index\n"
                     "%s%%wcols = arith.constant %lld : index\n%s%%wc0 = arith.muli %%wn, %%wcols : index\n",
                  I, (long long)(BM / WM), I, I, (long long)wcols, I);
  for (int64_t i = 0; i < g.mt; i++)
    llmc_buf_printf(o,
                    "%s%%ai%lld = arith.constant %lld : index\n%s%%ab0_%lld = arith.addi %%wr0, %%ai%lld : index\n"
                    "%s%%ar%lld_0 = arith.addi %%ab0_%lld, %%lg : index\n%s%%ar%lld_1 = arith.addi %%ar%lld_0, %%c8 : index\n",
                    I, (long long)i, (long long)(i * 16), I, (long long)i, (long long)i, I, (long long)i, (long long)i,
                    I, (long long)i, (long long)i);
  for (int64_t j = 0; j < g.nt; j++)
    llmc_buf_printf(o,
                    "%s%%bj%lld_c = arith.constant %lld : index\n%s%%bn0_%lld = arith.addi %%wc0, %%bj%lld_c : index\n"
                    "%s%%bn%lld = arith.addi %%bn0_%lld, %%lg : index\n",
                    I, (long long)j, (long long)(j * 8), I, (long long)j, (long long)j, I, (long long)j, (long long)j);
  for (int kk = 0; kk < 2; kk++)
    llmc_buf_printf(o, "%s%%kw%d_0 = arith.constant %d : index\n%s%%kw%d_1 = arith.constant %d : index\n", I, kk,
                    kk * 8, I, kk, kk * 8 + 4);

  /* The K loop. Each trip stages the slice loaded by the trip before (or
   * before the loop) and issues the loads of the next slice before its mma
   * instructions, so global latency overlaps the tensor-core work (register
   * double buffering; the last trip loads its own slice again, unused).
   * Carried: the accumulators, NORM's sums of squares, the loaded slice. */
  int n_loads = (int)(g.la * (g.norm ? 2 : 1) + g.lb);
  llmc_buf_printf(o,
                  "%s%%k_end = arith.constant %lld : index\n%s%%bk = arith.constant %d : index\n"
                  "%s%%k_last = arith.constant %lld : index\n",
                  I, (long long)K, I, BK, I, (long long)(K - BK));
  emit_load_a(&g, I, "%c0", "p");
  emit_load_b(&g, I, "%c0", "p");
  llmc_buf_printf(o, "%s%%acc:%d = scf.for %%k0 = %%c0 to %%k_end step %%bk iter_args(", I, n_carry + n_loads);
  for (int a = 0; a < n_carry; a++) llmc_buf_printf(o, "%s%%s%d = %%fzero", a ? ", " : "", a);
  for (int64_t i = 0; i < g.la; i++) llmc_buf_printf(o, ", %%xa%lld = %%av%lldp", (long long)i, (long long)i);
  for (int64_t i = 0; g.norm && i < g.la; i++) llmc_buf_printf(o, ", %%xg%lld = %%gv%lldp", (long long)i, (long long)i);
  for (int64_t i = 0; i < g.lb; i++) llmc_buf_printf(o, ", %%xb%lld = %%bv%lldp", (long long)i, (long long)i);
  llmc_buf_printf(o, ") -> (");
  emit_acc_types(o, n_carry);
  for (int i = 0; i < n_loads; i++) llmc_buf_printf(o, ", vector<4xf32>");
  llmc_buf_printf(o, ") {\n");
  const char *L = "    ";
  for (int64_t i = 0; g.norm && i < g.la; i++)
    llmc_buf_printf(o, "%s%%ss%lld = arith.addf %%s%lld, %%fzero : f32\n", L, (long long)i, (long long)(n_acc + i));
  /* The previous trip's readers are done with shared memory. */
  llmc_buf_printf(o, "%sgpu.barrier\n", L);
  emit_store_a(&g, L, "xa", "xg");
  emit_store_b(&g, L, "xb");
  llmc_buf_printf(o,
                  "%sgpu.barrier\n%s%%k1 = arith.addi %%k0, %%bk : index\n%s%%kn = arith.minui %%k1, %%k_last : index\n"
                  "%s%%kwn = arith.divui %%kn, %%c2 : index\n",
                  L, L, L, L);
  emit_load_a(&g, L, "%kn", "n");
  emit_load_b(&g, L, "%kwn", "n");
  char acc[64 * 4][32];
  for (int a = 0; a < n_acc; a++) snprintf(acc[a], sizeof acc[a], "%%s%d", a);
  int serial = 0;
  for (int kk = 0; kk < 2; kk++) emit_mma_step(&g, L, kk, acc, &serial);
  llmc_buf_printf(o, "%sscf.yield ", L);
  for (int a = 0; a < n_acc; a++) llmc_buf_printf(o, "%s%s", a ? ", " : "", acc[a]);
  for (int64_t i = 0; g.norm && i < g.la; i++) llmc_buf_printf(o, ", %%ssn%lld", (long long)i);
  for (int64_t i = 0; i < g.la; i++) llmc_buf_printf(o, ", %%av%lldn", (long long)i);
  for (int64_t i = 0; g.norm && i < g.la; i++) llmc_buf_printf(o, ", %%gv%lldn", (long long)i);
  for (int64_t i = 0; i < g.lb; i++) llmc_buf_printf(o, ", %%bv%lldn", (long long)i);
  llmc_buf_printf(o, " : ");
  emit_acc_types(o, n_carry);
  for (int i = 0; i < n_loads; i++) llmc_buf_printf(o, ", vector<4xf32>");
  llmc_buf_printf(o, "\n%s}\n", I);

  /* NORM: each row's 8 stagers add their sums of squares (lanes 8 apart
   * within a warp), the first stores 1/sqrt(mean + eps). */
  if (g.norm) {
    llmc_buf_printf(o,
                    "%s%%rs = memref.get_global @%s_rs : memref<%lldxf32, 3>\n"
                    "%s%%width = arith.constant 32 : i32\n%s%%kf = arith.constant %lld.0 : f32\n"
                    "%s%%eps = arith.constant %s : f32\n%s%%one = arith.constant 1.0 : f32\n"
                    "%s%%lead = arith.cmpi eq, %%a_chunk, %%c0 : index\n",
                    I, name, (long long)BM, I, I, (long long)K, I, eps, I, I);
    for (int64_t i = 0; i < g.la; i++) {
      char cur[32];
      snprintf(cur, sizeof cur, "%%acc#%lld", (long long)(n_acc + i));
      for (int off = 1, st = 0; off < 8; off *= 2, st++) {
        llmc_buf_printf(o,
                        "%s%%so%lld_%d = arith.constant %d : i32\n"
                        "%s%%sh%lld_%d, %%sok%lld_%d = gpu.shuffle xor %s, %%so%lld_%d, %%width : f32\n"
                        "%s%%sa%lld_%d = arith.addf %s, %%sh%lld_%d : f32\n",
                        I, (long long)i, st, off, I, (long long)i, st, (long long)i, st, cur, (long long)i, st, I,
                        (long long)i, st, cur, (long long)i, st);
        snprintf(cur, sizeof cur, "%%sa%lld_%d", (long long)i, st);
      }
      llmc_buf_printf(o,
                      "%s%%mean%lld = arith.divf %s, %%kf : f32\n%s%%var%lld = arith.addf %%mean%lld, %%eps : f32\n"
                      "%s%%root%lld = math.sqrt %%var%lld : f32\n%s%%rinv%lld = arith.divf %%one, %%root%lld : f32\n"
                      "%sscf.if %%lead {\n%s  memref.store %%rinv%lld, %%rs[%%sr%lld] : memref<%lldxf32, 3>\n%s}\n",
                      I, (long long)i, cur, I, (long long)i, (long long)i, I, (long long)i, (long long)i, I,
                      (long long)i, (long long)i, I, I, (long long)i, (long long)i, (long long)BM, I);
    }
    llmc_buf_printf(o, "%sgpu.barrier\n", I);
  }

  /* Epilogue: accumulator e of tile (i, j) is row g (+8 for e >= 2), column 2c + (e & 1). */
  llmc_buf_printf(o, "%s%%lc2 = arith.muli %%lc, %%c2 : index\n", I);
  if (g.glu)
    llmc_buf_printf(o,
                    "%s%%hw = arith.constant %lld : index\n%s%%oc0 = arith.muli %%wn, %%hw : index\n"
                    "%s%%ocb = arith.addi %%n0, %%oc0 : index\n"
                    "%s%%gc9 = arith.constant 9 : index\n%s%%go_i = memref.load %%args[%%gc9] : memref<?xi64>\n"
                    "%s%%go = arith.index_cast %%go_i : i64 to index\n",
                    I, (long long)(wcols / 2), I, I, I, I, I);
  else
    llmc_buf_printf(o, "%s%%ocb = arith.addi %%n0, %%wc0 : index\n", I);
  int64_t out_tiles = g.glu ? g.nt / 2 : g.nt;
  for (int64_t i = 0; i < g.mt; i++)
    for (int h = 0; h < 2; h++) {
      llmc_buf_printf(o,
                      "%s%%er%lld_%d = arith.addi %%ar%lld_%d, %%c0 : index\n"
                      "%s%%et%lld_%d = arith.addi %%m0, %%er%lld_%d : index\n"
                      "%s%%ev%lld_%d = arith.cmpi ult, %%et%lld_%d, %%tokens : index\n"
                      "%sscf.if %%ev%lld_%d {\n",
                      I, (long long)i, h, (long long)i, h, I, (long long)i, h, (long long)i, h, I, (long long)i, h,
                      (long long)i, h, I, (long long)i, h);
      const char *E = "    ";
      if (g.norm)
        llmc_buf_printf(o, "%s%%eri = memref.load %%rs[%%er%lld_%d] : memref<%lldxf32, 3>\n", E, (long long)i, h,
                        (long long)BM);
      for (int64_t j = 0; j < out_tiles; j++)
        for (int e = 0; e < 2; e++) {
          int64_t a = (i * g.nt + j) * 4 + 2 * h + e;
          llmc_buf_printf(o,
                          "%s%%ej%lld_%d = arith.constant %lld : index\n"
                          "%s%%ec%lld_%d = arith.addi %%ocb, %%ej%lld_%d : index\n"
                          "%s%%en%lld_%d = arith.addi %%ec%lld_%d, %%lc2 : index\n",
                          E, (long long)j, e, (long long)(j * 8 + e), E, (long long)j, e, (long long)j, e, E,
                          (long long)j, e, (long long)j, e);
          char y[32], yu[32];
          snprintf(y, sizeof y, "%%acc#%lld", (long long)a);
          snprintf(yu, sizeof yu, "%%acc#%lld", (long long)(a + (g.nt / 2) * 4));
          if (g.norm) {
            llmc_buf_printf(o, "%s%%ey%lld_%d = arith.mulf %s, %%eri : f32\n", E, (long long)j, e, y);
            snprintf(y, sizeof y, "%%ey%lld_%d", (long long)j, e);
            if (g.glu) {
              llmc_buf_printf(o, "%s%%eyu%lld_%d = arith.mulf %s, %%eri : f32\n", E, (long long)j, e, yu);
              snprintf(yu, sizeof yu, "%%eyu%lld_%d", (long long)j, e);
            }
          }
          if (!g.glu) {
            llmc_buf_printf(o,
                            "%sfunc.call @%s_out(%%act, %%args, %%et%lld_%d, %%en%lld_%d, %s) : (memref<?xf32>, "
                            "memref<?xi64>, index, index, f32) -> ()\n",
                            E, name, (long long)i, h, (long long)j, e, y);
            continue;
          }
          /* act(gate) * up, as silu_mul / gelu_mul compute it, into the glu's rows. */
          char t[48];
          snprintf(t, sizeof t, "%lld_%d", (long long)j, e);
          llmc_emit_glu_act(o, E, t, y, (int)GLU);
          llmc_buf_printf(o,
                          "%s%%gy%s = arith.mulf %%gact%s, %s : f32\n"
                          "%s%%gth_%s = arith.muli %%et%lld_%d, %%h_dim : index\n"
                          "%s%%grow%s = arith.addi %%go, %%gth_%s : index\n"
                          "%s%%gi%s = arith.addi %%grow%s, %%en%s : index\n"
                          "%smemref.store %%gy%s, %%act[%%gi%s] : memref<?xf32>\n",
                          E, t, t, yu, E, t, (long long)i, h, E, t, t, E, t, t, t, E, t, t);
        }
      llmc_buf_printf(o, "%s}\n", I);
    }
  llmc_buf_printf(o, "  gpu.return\n}\n");
  return o->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}
