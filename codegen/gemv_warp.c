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
 * Weights are f32, or f16/bf16 packed two per 32-bit word; products and sums
 * are f32. bf16 widens with integer ops (a bf16 is the high half of an f32),
 * f16 with arith.extf. Rows and the activation row are 16-byte aligned
 * (K % 8 == 0, weights 64-byte aligned in the weight file, activations
 * 64-byte aligned by plan-memory), which supports() in kvariants.c
 * requires. Every thread runs every shuffle (rows past N are clamped and not
 * stored), so the warp is converged at each one.
 *
 * Launch: grid (ceil(N / (WARPS * R)), T) x (WARPS * WS); args as the other
 * matmuls: [a_off, b_off (f32 words), out_off, T, then the epilogue's]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"

static int64_t param(const llmc_kinstance_t *inst, const char *key) {
  for (int i = 0; i < inst->n; i++)
    if (strcmp(inst->params[i].key, key) == 0) return strtoll(inst->params[i].value, NULL, 10);
  return -1;
}

static const char *param_s(const llmc_kinstance_t *inst, const char *key) {
  for (int i = 0; i < inst->n; i++)
    if (strcmp(inst->params[i].key, key) == 0) return inst->params[i].value;
  return NULL;
}

/* Loads for one stretch `s`, `words` past the lane's start `base` (an SSA
 * index), for every row: %x{s} and %w{s}_{r}. The tail's bounds check is
 * the caller's. */
static void emit_loads(llmc_buf_t *o, const char *ind, int s, int64_t words, int R, llmc_dtype_t wdt,
                       const char *base) {
  llmc_buf_printf(o, "%s%%ko%d = arith.constant %lld : index\n", ind, s, (long long)words);
  llmc_buf_printf(o, "%s%%kw%d = arith.addi %s, %%ko%d : index\n", ind, s, base, s);
  if (wdt == LLMC_DT_F32) {
    llmc_buf_printf(o, "%s%%xi%d = arith.addi %%a_row, %%kw%d : index\n", ind, s, s);
    llmc_buf_printf(o, "%s%%x%d = vector.load %%act[%%xi%d] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                    ind, s, s);
  } else {
    /* Word j holds elements 2j and 2j + 1: the activations of 4 words are 8 floats. */
    llmc_buf_printf(o, "%s%%ke%d = arith.muli %%kw%d, %%c2 : index\n", ind, s, s);
    llmc_buf_printf(o, "%s%%xi%d = arith.addi %%a_row, %%ke%d : index\n", ind, s, s);
    llmc_buf_printf(o, "%s%%x%d = vector.load %%act[%%xi%d] {alignment = 16} : memref<?xf32>, vector<8xf32>\n",
                    ind, s, s);
  }
  for (int r = 0; r < R; r++) {
    llmc_buf_printf(o, "%s%%wi%d_%d = arith.addi %%wrow%d, %%kw%d : index\n", ind, s, r, r, s);
    llmc_buf_printf(o, "%s%%w%d_%d = vector.load %%w[%%wi%d_%d] {alignment = 16} : memref<?xf32>, vector<4xf32>\n",
                    ind, s, r, s, r);
  }
}

/* acc{r} (the SSA name in `acc[r]`) += products of stretch s; new names
 * %n{s}_{r}. */
static void emit_fmas(llmc_buf_t *o, const char *ind, int s, int R, llmc_dtype_t wdt, char acc[][32]) {
  const char *vt = wdt == LLMC_DT_F16 ? "vector<8xf32>" : "vector<4xf32>";
  if (wdt == LLMC_DT_BF16) {
    llmc_buf_printf(o, "%s%%xe%d = vector.shuffle %%x%d, %%x%d [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>\n", ind, s,
                    s, s);
    llmc_buf_printf(o, "%s%%xo%d = vector.shuffle %%x%d, %%x%d [1, 3, 5, 7] : vector<8xf32>, vector<8xf32>\n", ind, s,
                    s, s);
  }
  for (int r = 0; r < R; r++) {
    switch (wdt) {
      case LLMC_DT_BF16:
        llmc_buf_printf(o,
                        "%s%%wb%d_%d = vector.bitcast %%w%d_%d : vector<4xf32> to vector<4xi32>\n"
                        "%s%%wl%d_%d = arith.shli %%wb%d_%d, %%v16 : vector<4xi32>\n"
                        "%s%%wh%d_%d = arith.andi %%wb%d_%d, %%vmask : vector<4xi32>\n"
                        "%s%%we%d_%d = vector.bitcast %%wl%d_%d : vector<4xi32> to vector<4xf32>\n"
                        "%s%%wo%d_%d = vector.bitcast %%wh%d_%d : vector<4xi32> to vector<4xf32>\n"
                        "%s%%m%d_%d = vector.fma %%xe%d, %%we%d_%d, %s : vector<4xf32>\n"
                        "%s%%n%d_%d = vector.fma %%xo%d, %%wo%d_%d, %%m%d_%d : vector<4xf32>\n",
                        ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, r, ind, s,
                        r, s, s, r, acc[r], ind, s, r, s, s, r, s, r);
        break;
      case LLMC_DT_F16:
        llmc_buf_printf(o,
                        "%s%%wh%d_%d = vector.bitcast %%w%d_%d : vector<4xf32> to vector<8xf16>\n"
                        "%s%%wf%d_%d = arith.extf %%wh%d_%d : vector<8xf16> to vector<8xf32>\n"
                        "%s%%n%d_%d = vector.fma %%x%d, %%wf%d_%d, %s : %s\n",
                        ind, s, r, s, r, ind, s, r, s, r, ind, s, r, s, s, r, acc[r], vt);
        break;
      default:
        llmc_buf_printf(o, "%s%%n%d_%d = vector.fma %%x%d, %%w%d_%d, %s : %s\n", ind, s, r, s, s, r, acc[r], vt);
        break;
    }
    snprintf(acc[r], 32, "%%n%d_%d", s, r);
  }
}

llmc_status_t *llmc_gemv_warp_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *o) {
  int64_t K = param(inst, "K"), R = param(inst, "R"), WARPS = param(inst, "WARPS"), U = param(inst, "UNROLL");
  int64_t WS = param(inst, "WS");
  const char *wt = param_s(inst, "WTYPE"), *epi = param_s(inst, "EPILOGUE");
  llmc_dtype_t wdt;
  if (K <= 0 || K % 8 || R < 1 || R > 4 || WARPS < 1 || U < 1 || U > 8 || (WS != 32 && WS != 64) || !wt || !epi ||
      !llmc_dtype_parse(wt, &wdt))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "gemv_warp: bad parameters");
  int64_t N = param(inst, "N");
  int64_t words = wdt == LLMC_DT_F32 ? K : K / 2; /* 32-bit words per weight row */
  int64_t stretch = WS * 4;                         /* words a warp reads per step */
  int64_t full = words / stretch, tail = words % stretch;
  const char *vt = wdt == LLMC_DT_F16 ? "vector<8xf32>" : "vector<4xf32>";
  int64_t threads = WARPS * WS, rows_per_block = WARPS * R;

  llmc_buf_printf(o,
                  "// %s: gemv_warp K=%lld N=%lld W=%s, %lld warps of %lld lanes, %lld rows per warp, %lld "
                  "stretches of %lld words in flight (codegen/gemv_warp.c)\n",
                  name, (long long)K, (long long)N, wt, (long long)WARPS, (long long)WS, (long long)R, (long long)U,
                  (long long)stretch);
  llmc_buf_printf(o,
                  "func.func private @%s_out(%%act: memref<?xf32>, %%args: memref<?xi64>, %%t: index, %%n: index, "
                  "%%y: f32) {\n%s  return\n}\n",
                  name, epi);
  llmc_buf_printf(o,
                  "gpu.func @%s(%%act: memref<?xf32>, %%w: memref<?xf32>, %%kv: memref<?xf32>, %%meta: "
                  "memref<?xi32>, %%args: memref<?xi64>, %%extent: i64) kernel attributes {known_block_size = "
                  "array<i32: %lld, 1, 1>} {\n",
                  name, (long long)threads);
  const char *I = "  ";
  llmc_buf_printf(o,
                  "%s%%c0 = arith.constant 0 : index\n%s%%c1 = arith.constant 1 : index\n"
                  "%s%%c2 = arith.constant 2 : index\n%s%%c3 = arith.constant 3 : index\n"
                  "%s%%c4 = arith.constant 4 : index\n"
                  "%s%%ws = arith.constant %lld : index\n%s%%k_dim = arith.constant %lld : index\n"
                  "%s%%k_words = arith.constant %lld : index\n%s%%n_dim = arith.constant %lld : index\n"
                  "%s%%rows_blk = arith.constant %lld : index\n%s%%rows_warp = arith.constant %lld : index\n"
                  "%s%%zero = arith.constant dense<0.0> : %s\n",
                  I, I, I, I, I, I, (long long)WS, I, (long long)K, I, (long long)words, I, (long long)N, I,
                  (long long)rows_per_block, I, (long long)R, I, vt);
  if (wdt == LLMC_DT_BF16)
    llmc_buf_printf(o, "%s%%v16 = arith.constant dense<16> : vector<4xi32>\n%s%%vmask = arith.constant dense<-65536> "
                       ": vector<4xi32>\n", I, I);
  llmc_buf_printf(o,
                  "%s%%tid = gpu.thread_id x\n%s%%bx = gpu.block_id x\n%s%%t = gpu.block_id y\n"
                  "%s%%warp = arith.divui %%tid, %%ws : index\n%s%%lane = arith.remui %%tid, %%ws : index\n"
                  "%s%%a_off_i = memref.load %%args[%%c0] : memref<?xi64>\n"
                  "%s%%b_off_i = memref.load %%args[%%c1] : memref<?xi64>\n"
                  "%s%%t_i = memref.load %%args[%%c3] : memref<?xi64>\n"
                  "%s%%a_off = arith.index_cast %%a_off_i : i64 to index\n"
                  "%s%%b_off = arith.index_cast %%b_off_i : i64 to index\n"
                  "%s%%tokens = arith.index_cast %%t_i : i64 to index\n"
                  "%s%%n_cols = arith.index_cast %%extent : i64 to index\n"
                  "%s%%n_end = arith.minui %%n_cols, %%n_dim : index\n"
                  "%s%%live = arith.cmpi ult, %%t, %%tokens : index\n"
                  "%sscf.if %%live {\n",
                  I, I, I, I, I, I, I, I, I, I, I, I, I, I, I);
  const char *J = "    ";
  llmc_buf_printf(o,
                  "%s%%blk0 = arith.muli %%bx, %%rows_blk : index\n%s%%wrp0 = arith.muli %%warp, %%rows_warp : index\n"
                  "%s%%rbase = arith.addi %%blk0, %%wrp0 : index\n%s%%n_last = arith.subi %%n_end, %%c1 : index\n"
                  "%s%%t_k = arith.muli %%t, %%k_dim : index\n%s%%a_row = arith.addi %%a_off, %%t_k : index\n"
                  "%s%%lw = arith.muli %%lane, %%c4 : index\n",
                  J, J, J, J, J, J, J);
  /* Rows past N are clamped to the last one (loaded, never stored), so
   * every lane of every warp runs the same loads and shuffles. */
  for (int r = 0; r < R; r++)
    llmc_buf_printf(o,
                    "%s%%rc%d = arith.constant %d : index\n%s%%row%d = arith.addi %%rbase, %%rc%d : index\n"
                    "%s%%rowc%d = arith.minui %%row%d, %%n_last : index\n"
                    "%s%%rw%d = arith.muli %%rowc%d, %%k_words : index\n"
                    "%s%%wrow%d = arith.addi %%b_off, %%rw%d : index\n",
                    J, r, r, J, r, r, J, r, r, J, r, r, J, r, r);
  char acc[4][32];
  for (int r = 0; r < R; r++) snprintf(acc[r], sizeof acc[r], "%%zero");
  int64_t chunks = full / U, rest = full % U;
  if (chunks > 0) {
    /* The main loop: UNROLL stretches per trip, loads first. */
    llmc_buf_printf(o, "%s%%chunk_words = arith.constant %lld : index\n%s%%chunk_end = arith.constant %lld : index\n",
                    J, (long long)(U * stretch), J, (long long)(chunks * U * stretch));
    llmc_buf_printf(o, "%s%%acc:%lld = scf.for %%kc = %%c0 to %%chunk_end step %%chunk_words iter_args(", J,
                    (long long)R);
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%%s%d = %%zero", r ? ", " : "", r);
    llmc_buf_printf(o, ") -> (");
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", vt);
    llmc_buf_printf(o, ") {\n");
    const char *L = "      ";
    /* Inside the loop the stretch offsets are relative to %kc. */
    llmc_buf_printf(o, "%s%%lwk = arith.addi %%lw, %%kc : index\n", L);
    for (int u = 0; u < U; u++) emit_loads(o, L, u, (int64_t)u * stretch, (int)R, wdt, "%lwk");
    char lacc[4][32];
    for (int r = 0; r < R; r++) snprintf(lacc[r], sizeof lacc[r], "%%s%d", r);
    for (int u = 0; u < U; u++) emit_fmas(o, L, u, (int)R, wdt, lacc);
    llmc_buf_printf(o, "%sscf.yield ", L);
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", lacc[r]);
    llmc_buf_printf(o, " : ");
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", vt);
    llmc_buf_printf(o, "\n%s}\n", J);
    for (int r = 0; r < R; r++) snprintf(acc[r], sizeof acc[r], "%%acc#%d", r);
  }
  /* Stretches left after the loop, unrolled, then the tail: lanes whose
   * 4 words lie inside the row read them, the others add nothing. */
  int s = 100; /* SSA suffixes distinct from the loop body's */
  for (int64_t i = 0; i < rest; i++, s++) {
    emit_loads(o, J, s, (chunks * U + i) * stretch, (int)R, wdt, "%lw");
    emit_fmas(o, J, s, (int)R, wdt, acc);
  }
  if (tail) {
    llmc_buf_printf(o, "%s%%tail = arith.constant %lld : index\n%s%%in_tail = arith.cmpi ult, %%lw, %%tail : index\n",
                    J, (long long)tail, J);
    llmc_buf_printf(o, "%s%%tacc:%lld = scf.if %%in_tail -> (", J, (long long)R);
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", vt);
    llmc_buf_printf(o, ") {\n");
    char tacc[4][32];
    memcpy(tacc, acc, sizeof tacc);
    emit_loads(o, "      ", 200, full * stretch, (int)R, wdt, "%lw");
    emit_fmas(o, "      ", 200, (int)R, wdt, tacc);
    llmc_buf_printf(o, "      scf.yield ");
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", tacc[r]);
    llmc_buf_printf(o, " : ");
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", vt);
    llmc_buf_printf(o, "\n%s} else {\n      scf.yield ", J);
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", acc[r]);
    llmc_buf_printf(o, " : ");
    for (int r = 0; r < R; r++) llmc_buf_printf(o, "%s%s", r ? ", " : "", vt);
    llmc_buf_printf(o, "\n%s}\n", J);
    for (int r = 0; r < R; r++) snprintf(acc[r], sizeof acc[r], "%%tacc#%d", r);
  }
  /* Lane sums, the shuffle tree, lane 0 stores through the epilogue. */
  llmc_buf_printf(o, "%s%%width = arith.constant %lld : i32\n%s%%lead = arith.cmpi eq, %%lane, %%c0 : index\n", J,
                  (long long)WS, J);
  for (int r = 0; r < R; r++) {
    llmc_buf_printf(o, "%s%%d%d_0 = vector.reduction <add>, %s : %s into f32\n", J, r, acc[r], vt);
    int step = 0;
    for (int64_t off = WS / 2; off >= 1; off /= 2, step++) {
      llmc_buf_printf(o,
                      "%s%%o%d_%d = arith.constant %lld : i32\n"
                      "%s%%h%d_%d, %%ok%d_%d = gpu.shuffle xor %%d%d_%d, %%o%d_%d, %%width : f32\n"
                      "%s%%d%d_%d = arith.addf %%d%d_%d, %%h%d_%d : f32\n",
                      J, r, step, (long long)off, J, r, step, r, step, r, step, r, step, J, r, step + 1, r, step, r,
                      step);
    }
    llmc_buf_printf(o,
                    "%s%%in%d = arith.cmpi ult, %%row%d, %%n_end : index\n"
                    "%s%%st%d = arith.andi %%lead, %%in%d : i1\n"
                    "%sscf.if %%st%d {\n"
                    "%s  func.call @%s_out(%%act, %%args, %%t, %%row%d, %%d%d_%d) : (memref<?xf32>, memref<?xi64>, "
                    "index, index, f32) -> ()\n"
                    "%s}\n",
                    J, r, r, J, r, r, J, r, J, name, r, r, step, J);
  }
  llmc_buf_printf(o, "%s}\n  gpu.return\n}\n", I);
  return o->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}
