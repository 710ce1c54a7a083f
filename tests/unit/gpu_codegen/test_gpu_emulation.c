/* test_gpu_emulation.c: llmc_gpu_compile_emulation and the emulator that
 * runs its images (tests/unit/runtime/fake_gpu_emu.c, linked in here).
 * The model-level checks are the emu.gpu.* tests (tests/gpu); these pin the
 * mechanism: barriers order shared-memory traffic between the threads of a
 * block, libdevice math resolves, blocks see their own ids, a barrier that
 * only some threads reach is reported instead of passing or hanging, and
 * racecheck reports a missing barrier and a read of unwritten shared memory,
 * through each of the three lowerings; and the warp-shuffle GEMV
 * (codegen/gemv_warp.c) over its configurations and epilogues on the two
 * lowerings it is for, with the emulated shfl.sync / ds_bpermute /
 * ds_swizzle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_gpu_emu.h"
#include "llmc_codegen.h"
#include "llmc_gpu_emulation.h"
#include "kplan_impl.h" /* llmc_gemv_warp_generate: a generator, tested directly */

/* Block b reverses x[64b .. 64b+63] through shared memory and stores exp of
 * it; every thread reads the value another thread wrote, so without the
 * barrier the emulator (threads run in order until they wait) would read
 * garbage for half of them. */
static const char KERNELS[] =
    "memref.global \"private\" @rev_sh : memref<64xf32, 3>\n"
    "gpu.func @reverse_exp(%x: memref<?xf32>, %y: memref<?xf32>) kernel "
    "attributes {known_block_size = array<i32: 64, 1, 1>} {\n"
    "  %tid = gpu.thread_id x\n"
    "  %b = gpu.block_id x\n"
    "  %c64 = arith.constant 64 : index\n"
    "  %c63 = arith.constant 63 : index\n"
    "  %base = arith.muli %b, %c64 : index\n"
    "  %i = arith.addi %base, %tid : index\n"
    "  %v = memref.load %x[%i] : memref<?xf32>\n"
    "  %sh = memref.get_global @rev_sh : memref<64xf32, 3>\n"
    "  memref.store %v, %sh[%tid] : memref<64xf32, 3>\n"
    "  gpu.barrier\n"
    "  %j = arith.subi %c63, %tid : index\n"
    "  %w = memref.load %sh[%j] : memref<64xf32, 3>\n"
    "  %e = math.exp %w : f32\n"
    "  memref.store %e, %y[%i] : memref<?xf32>\n"
    "  gpu.return\n"
    "}\n"
    /* Thread t reads the word thread t - 1 wrote, with no barrier between:
     * in the emulator's fixed thread order the answer even comes out
     * right; racecheck must object. */
    "memref.global \"private\" @racy_sh : memref<64xf32, 3>\n"
    "gpu.func @racy(%x: memref<?xf32>, %y: memref<?xf32>) kernel "
    "attributes {known_block_size = array<i32: 64, 1, 1>} {\n"
    "  %tid = gpu.thread_id x\n"
    "  %c1 = arith.constant 1 : index\n"
    "  %v = memref.load %x[%tid] : memref<?xf32>\n"
    "  %sh = memref.get_global @racy_sh : memref<64xf32, 3>\n"
    "  memref.store %v, %sh[%tid] : memref<64xf32, 3>\n"
    "  %t1 = arith.maxui %tid, %c1 : index\n"
    "  %j = arith.subi %t1, %c1 : index\n"
    "  %w = memref.load %sh[%j] : memref<64xf32, 3>\n"
    "  memref.store %w, %y[%tid] : memref<?xf32>\n"
    "  gpu.return\n"
    "}\n"
    /* Thread 0 reads a word no thread of the block wrote. */
    "memref.global \"private\" @uninit_sh : memref<64xf32, 3>\n"
    "gpu.func @uninit(%x: memref<?xf32>, %y: memref<?xf32>) kernel "
    "attributes {known_block_size = array<i32: 32, 1, 1>} {\n"
    "  %tid = gpu.thread_id x\n"
    "  %c32 = arith.constant 32 : index\n"
    "  %v = memref.load %x[%tid] : memref<?xf32>\n"
    "  %sh = memref.get_global @uninit_sh : memref<64xf32, 3>\n"
    "  memref.store %v, %sh[%tid] : memref<64xf32, 3>\n"
    "  gpu.barrier\n"
    "  %j = arith.addi %tid, %c32 : index\n"
    "  %w = memref.load %sh[%j] : memref<64xf32, 3>\n"
    "  memref.store %w, %y[%tid] : memref<?xf32>\n"
    "  gpu.return\n"
    "}\n"
    "gpu.func @diverge(%x: memref<?xf32>) kernel {\n"
    "  %tid = gpu.thread_id x\n"
    "  %c5 = arith.constant 5 : index\n"
    "  %lo = arith.cmpi ult, %tid, %c5 : index\n"
    "  scf.if %lo {\n"
    "    gpu.barrier\n"
    "  }\n"
    "  gpu.return\n"
    "}\n";

static void *load(const char *target, llmc_buf_t *image) {
  llmc_target_t t;
  assert_null(llmc_target_lookup(target, &t));
  llmc_gpu_image_info_t info;
  assert_null(llmc_gpu_compile_emulation(KERNELS, &t, 2, image, &info));
  assert_int_equal(info.kind, LLMC_GPU_IMAGE_HOST_EMULATION);
  assert_true(emu_is_image(image->data));
  char err[512];
  void *m = emu_module_load(image->data, err, sizeof err);
  if (!m) print_error("%s\n", err);
  assert_non_null(m);
  return m;
}

/* A memref<?xf32> kernel argument: MLIR's descriptor, five values. */
typedef struct {
  float *allocated, *aligned;
  int64_t offset, size, stride;
} desc_t;

static void set_desc(void **params, desc_t *d, float *p, int64_t n) {
  *d = (desc_t){p, p, 0, n, 1};
  params[0] = &d->allocated;
  params[1] = &d->aligned;
  params[2] = &d->offset;
  params[3] = &d->size;
  params[4] = &d->stride;
}

/* state: the target whose lowering (NVVM, ROCDL or LLVM-SPV) is emulated. */
static void barriers_order_shared_memory(void **state) {
  llmc_buf_t image = {0};
  void *m = load(*state, &image);
  emu_kernel_fn fn = emu_module_function(m, "reverse_exp");
  assert_non_null(fn);
  enum { BLOCKS = 3, N = 64 * BLOCKS };
  float x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = 0.01f * (float)i, y[i] = -1;
  desc_t dx, dy;
  void *params[10];
  set_desc(params, &dx, x, N);
  set_desc(params + 5, &dy, y, N);
  char err[256];
  assert_int_equal(emu_run_grid(fn, params, BLOCKS, 1, 64, err, sizeof err), 0);
  for (int b = 0; b < BLOCKS; b++)
    for (int t = 0; t < 64; t++) {
      float want = expf(x[64 * b + 63 - t]);
      assert_true(fabsf(y[64 * b + t] - want) <= 1e-6f * want);
    }
  emu_module_unload(m);
  llmc_buf_free(&image);
}

/* Runs kernel `name` over x, y (64 floats each) as `blocks` blocks of
 * `threads`, expecting failure with `text` in the message. */
static void expect_hazard(const char *target, const char *name, uint32_t threads,
                          const char *text) {
  llmc_buf_t image = {0};
  void *m = load(target, &image);
  emu_kernel_fn fn = emu_module_function(m, name);
  assert_non_null(fn);
  float x[64] = {0}, y[64];
  desc_t dx, dy;
  void *params[10];
  set_desc(params, &dx, x, 64);
  set_desc(params + 5, &dy, y, 64);
  char err[256] = "";
  assert_int_equal(emu_run_grid(fn, params, 1, 1, threads, err, sizeof err), -1);
  if (!strstr(err, text)) print_error("'%s' does not say '%s'\n", err, text);
  assert_non_null(strstr(err, text));
  emu_module_unload(m);
  llmc_buf_free(&image);
}

static void missing_barrier_is_a_hazard(void **state) {
  expect_hazard(*state, "racy", 64, "thread 1 reads racy_sh+0, which thread 0 wrote since the last barrier");
}

static void uninitialized_shared_read_is_a_hazard(void **state) {
  expect_hazard(*state, "uninit", 32, "reads uninit_sh+128, which this block never wrote");
}

/* The argmax template (the runtime's greedy path) in emulation: the lowest
 * id among equal maxima, rows picked through meta, no hazard. */
static void argmax_template(void **state) {
  llmc_target_t t;
  assert_null(llmc_target_lookup(*state, &t));
  llmc_buf_t text = {0}, image = {0};
  const llmc_template_param_t params[] = {{"NAME", "am"}, {"V", "1000"}, {"WG", "256"}};
  assert_null(llmc_template_instantiate("argmax", "gpu", params, 3, &text));
  assert_null(llmc_gpu_compile_emulation(text.data, &t, 2, &image, NULL));
  char err[256] = "";
  void *m = emu_module_load(image.data, err, sizeof err);
  assert_non_null(m);
  enum { V = 1000, T = 3 };
  static float logits[T * V];
  for (int i = 0; i < T * V; i++) logits[i] = (float)((i * 7919) % 1009) / 1009.0f;
  logits[0 * V + 700] = 5, logits[0 * V + 300] = 5, logits[0 * V + 999] = 5; /* 300 */
  logits[2 * V + 0] = 6;                                                    /* 0 */
  int32_t meta[8] = {2, 0, 1};
  int64_t args[4] = {0, 0, 4, 3}, extent = 3;
  float dummy = 0;
  desc_t da, dw, dk;
  struct {
    int32_t *allocated, *aligned;
    int64_t offset, size, stride;
  } dm = {meta, meta, 0, 8, 1};
  struct {
    int64_t *allocated, *aligned;
    int64_t offset, size, stride;
  } dargs = {args, args, 0, 4, 1};
  void *params_v[26];
  set_desc(params_v, &da, logits, T * V);
  set_desc(params_v + 5, &dw, &dummy, 1);
  set_desc(params_v + 10, &dk, &dummy, 1);
  void *dmp[] = {&dm.allocated, &dm.aligned, &dm.offset, &dm.size, &dm.stride};
  void *dap[] = {&dargs.allocated, &dargs.aligned, &dargs.offset, &dargs.size, &dargs.stride};
  memcpy(params_v + 15, dmp, sizeof dmp);
  memcpy(params_v + 20, dap, sizeof dap);
  params_v[25] = &extent;
  if (emu_run_grid(emu_module_function(m, "am"), params_v, 3, 1, 256, err, sizeof err))
    print_error("%s\n", err);
  assert_string_equal(err, "");
  for (int r = 0; r < 3; r++) {
    const float *row = logits + meta[r] * V;
    int32_t best = 0;
    for (int v = 1; v < V; v++)
      if (row[v] > row[best]) best = v;
    assert_int_equal(meta[4 + r], best);
  }
  assert_int_equal(meta[4 + 1], 300);
  assert_int_equal(meta[4 + 0], 0);
  emu_module_unload(m);
  llmc_buf_free(&text);
  llmc_buf_free(&image);
}


/* ---- gemv_warp: every kind of configuration against a reference ---- */

typedef struct {
  int R, WARPS, UNROLL;
  llmc_dtype_t wdt;
  int K;
  llmc_epilogue_t epi;
  int norm, glu; /* the per-target fusions: rms_norm prologue (2: Gemma's (1 + w) offset),
                    silu_mul epilogue (2: gelu_mul, GeGLU) */
  int tok;       /* tokens a block */
} gemv_case_t;

/* K=64: only the guarded tail; K=520: the unrolled loop, stretches left
 * after it and a tail, for 32- and 64-lane warps. N=13 leaves part of the
 * last block's rows empty (clamped, not stored). */
static const gemv_case_t gemv_cases[] = {
    {1, 4, 4, LLMC_DT_F32, 520, LLMC_EPILOGUE_STORE, 0, 0, 1},  {2, 2, 1, LLMC_DT_F32, 64, LLMC_EPILOGUE_STORE, 0, 0, 2},
    {4, 2, 2, LLMC_DT_BF16, 520, LLMC_EPILOGUE_STORE, 0, 0, 1}, {1, 8, 8, LLMC_DT_BF16, 64, LLMC_EPILOGUE_ADD, 0, 0, 4},
    {2, 4, 2, LLMC_DT_F16, 520, LLMC_EPILOGUE_SPLIT, 0, 0, 8},  {1, 2, 1, LLMC_DT_F16, 64, LLMC_EPILOGUE_STORE, 0, 0, 1},
    {2, 2, 4, LLMC_DT_F32, 520, LLMC_EPILOGUE_ADD, 0, 0, 2},    {4, 4, 1, LLMC_DT_BF16, 520, LLMC_EPILOGUE_SPLIT, 0, 0, 1},
    {2, 2, 2, LLMC_DT_BF16, 520, LLMC_EPILOGUE_SPLIT, 1, 0, 4}, {1, 4, 4, LLMC_DT_F32, 520, LLMC_EPILOGUE_ADD, 1, 0, 2},
    {2, 2, 2, LLMC_DT_F16, 520, LLMC_EPILOGUE_STORE, 0, 1, 8},  {1, 2, 1, LLMC_DT_BF16, 64, LLMC_EPILOGUE_STORE, 1, 1, 1},
    {4, 2, 4, LLMC_DT_F32, 520, LLMC_EPILOGUE_STORE, 1, 1, 4},
    {2, 2, 2, LLMC_DT_BF16, 520, LLMC_EPILOGUE_STORE, 2, 2, 2}, {1, 4, 1, LLMC_DT_F32, 64, LLMC_EPILOGUE_STORE, 2, 2, 1},
};
/* N = 13 outputs: 26 joined gate/up rows with GLU. */
enum { GEMV_N = 13, GEMV_T = 5, N_GEMV = (int)(sizeof gemv_cases / sizeof gemv_cases[0]) };
static const int64_t gemv_split[3] = {5, 6, 2};

static void gemv_warp_configurations(void **state) {
  llmc_target_t t;
  assert_null(llmc_target_lookup(*state, &t));
  llmc_buf_t text = {0}, image = {0};
  char names[N_GEMV][16];
  for (int c = 0; c < N_GEMV; c++) {
    const gemv_case_t *g = &gemv_cases[c];
    char k[16], n[16], r[8], w[8], u[8], ws[8], tok[8];
    snprintf(names[c], sizeof names[c], "gw%d", c);
    snprintf(k, sizeof k, "%d", g->K), snprintf(n, sizeof n, "%d", g->glu ? 2 * GEMV_N : GEMV_N);
    snprintf(r, sizeof r, "%d", g->R);
    snprintf(tok, sizeof tok, "%d", g->tok);
    snprintf(w, sizeof w, "%d", g->WARPS), snprintf(u, sizeof u, "%d", g->UNROLL), snprintf(ws, sizeof ws, "%d", t.warp_size);
    llmc_buf_t epi = {0};
    llmc_matmul_epilogue(g->epi, GEMV_N, gemv_split, 3, &epi);
    char eps[11];
    llmc_template_f32_literal(1e-5f, eps);
    llmc_kinstance_t inst = {.family = "gemv_warp", .generate = llmc_gemv_warp_generate, .n = 13,
                             .params = {{"K", k}, {"N", n}, {"EPILOGUE", epi.data}, {"WTYPE", llmc_dtype_name(g->wdt)},
                                        {"WS", ws}, {"R", r}, {"WARPS", w}, {"UNROLL", u},
                                        {"NORM", g->norm ? "1" : "0"}, {"EPS", eps},
                                        {"NOFFSET", g->norm == 2 ? "0x3F800000" : "0x00000000"},
                                        {"GLU", g->glu == 2 ? "2" : g->glu ? "1" : "0"}, {"TOK", tok}}};
    assert_null(llmc_kinstance_render(&inst, "gpu", names[c], &text));
    llmc_buf_free(&epi);
  }
  llmc_status_t *s = llmc_gpu_compile_emulation(text.data, &t, 2, &image, NULL);
  if (s) {
    char msg[8192];
    llmc_status_format(s, msg, sizeof msg);
    print_error("%s\n", msg);
    llmc_status_free(s);
  }
  assert_non_null(image.data);
  char err[512] = "";
  void *m = emu_module_load(image.data, err, sizeof err);
  assert_non_null(m);
  uint64_t rng = 11;
  for (int c = 0; c < N_GEMV; c++) {
    const gemv_case_t *g = &gemv_cases[c];
    const int K = g->K, N = GEMV_N, T = GEMV_T, NW = g->glu ? 2 * GEMV_N : GEMV_N; /* NW weight rows */
    /* act: a [T,K] at 0, out [T,N] (or the split parts back to back), the
     * residual [T,N], the silu_mul output [T,N]; 16-float aligned like
     * plan-memory's offsets. */
    const int64_t a_off = 0, o_off = 16 * ((T * K + 15) / 16), r_off = o_off + 16 * ((T * NW + 15) / 16);
    const int64_t glu_off = r_off + 16 * ((T * N + 15) / 16);
    static float act[16384], wf[16384], xn[GEMV_T * 520], ref[GEMV_T * GEMV_N], want[GEMV_T * GEMV_N];
    static uint32_t words[16384];
    assert_true(glu_off + T * N <= 16384 && NW * K + K + 16 <= 16384);
    memset(act, 0, sizeof act);
    for (int i = 0; i < T * K; i++) act[a_off + i] = (float)((llmc_rng_next(&rng) % 2001) / 1000.0 - 1.0);
    for (int i = 0; i < T * N; i++) act[r_off + i] = (float)((llmc_rng_next(&rng) % 2001) / 1000.0 - 1.0);
    for (int i = 0; i < NW * K; i++) {
      float v = (float)((llmc_rng_next(&rng) % 2001) / 1000.0 - 1.0);
      if (g->wdt == LLMC_DT_BF16) v = llmc_bf16_to_f32(llmc_f32_to_bf16(v));
      if (g->wdt == LLMC_DT_F16) v = llmc_f16_to_f32(llmc_f32_to_f16(v));
      wf[i] = v;
    }
    int64_t n_words = g->wdt == LLMC_DT_F32 ? (int64_t)NW * K : (int64_t)NW * K / 2;
    for (int64_t i = 0; i < n_words; i++) {
      if (g->wdt == LLMC_DT_F32) {
        memcpy(&words[i], &wf[i], 4);
      } else {
        uint16_t lo = g->wdt == LLMC_DT_BF16 ? llmc_f32_to_bf16(wf[2 * i]) : llmc_f32_to_f16(wf[2 * i]);
        uint16_t hi = g->wdt == LLMC_DT_BF16 ? llmc_f32_to_bf16(wf[2 * i + 1]) : llmc_f32_to_f16(wf[2 * i + 1]);
        words[i] = (uint32_t)lo | (uint32_t)hi << 16;
      }
    }
    /* The norm weight (f32, 16-word aligned) after the matrix. */
    const int64_t g_off = 16 * ((n_words + 15) / 16);
    for (int k = 0; k < K; k++) {
      float v = (float)(0.5 + (llmc_rng_next(&rng) % 1001) / 1000.0);
      memcpy(&words[g_off + k], &v, 4);
    }
    /* The reference: rms_norm as the interpreter computes it, then the dot products. */
    for (int tt = 0; tt < T; tt++) {
      const float *x = act + a_off + tt * K;
      double ss = 0;
      for (int k = 0; k < K; k++) ss += (double)x[k] * x[k];
      double rs = 1.0 / sqrt(ss / K + 1e-5);
      for (int k = 0; k < K; k++) {
        float gk;
        memcpy(&gk, &words[g_off + k], 4);
        xn[tt * K + k] = g->norm ? (float)(x[k] * rs) * (gk + (g->norm == 2 ? 1.0f : 0.0f)) : x[k];
      }
    }
    static float y[GEMV_T * 2 * GEMV_N];
    for (int tt = 0; tt < T; tt++)
      for (int n = 0; n < NW; n++) {
        double acc = 0;
        for (int k = 0; k < K; k++) acc += (double)xn[tt * K + k] * wf[n * K + k];
        y[tt * NW + n] = (float)acc;
      }
    for (int tt = 0; tt < T; tt++)
      for (int n = 0; n < N; n++) {
        float v = y[tt * NW + n];
        if (g->glu == 1) v = v / (1.0f + expf(-v)) * y[tt * NW + N + n];
        if (g->glu == 2) v = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v))) * y[tt * NW + N + n];
        ref[tt * N + n] = v + (g->epi == LLMC_EPILOGUE_ADD && !g->glu ? act[r_off + tt * N + n] : 0.0f);
      }
    int64_t args[10] = {a_off, 0, o_off, T, r_off, 0, 0, a_off, g_off, glu_off};
    int64_t n_args = g->norm || g->glu ? 10 : g->epi == LLMC_EPILOGUE_STORE ? 4 : 5;
    memcpy(want, ref, sizeof(float) * (size_t)(T * N));
    if (g->epi == LLMC_EPILOGUE_SPLIT && !g->glu) { /* the parts' [T, size] rows back to back from o_off */
      int64_t at = 0, begin = 0;
      for (int p = 0; p < 3; p++) {
        if (p > 0) args[3 + p] = o_off + at;
        for (int tt = 0; tt < T; tt++)
          for (int64_t j = 0; j < gemv_split[p]; j++) want[at++] = ref[tt * N + begin + j];
        begin += gemv_split[p];
      }
      if (n_args < 6) n_args = 6;
    }
    const int64_t check_off = g->glu ? glu_off : o_off;
    float dummy = 0;
    int32_t meta[1] = {0};
    int64_t extent = NW;
    desc_t da, dw, dk;
    struct {
      int32_t *allocated, *aligned;
      int64_t offset, size, stride;
    } dm = {meta, meta, 0, 1, 1};
    struct {
      int64_t *allocated, *aligned;
      int64_t offset, size, stride;
    } dargs = {args, args, 0, n_args, 1};
    void *pv[26];
    set_desc(pv, &da, act, 16384);
    set_desc(pv + 5, &dw, (float *)words, g_off + K);
    set_desc(pv + 10, &dk, &dummy, 1);
    void *dmp[] = {&dm.allocated, &dm.aligned, &dm.offset, &dm.size, &dm.stride};
    void *dap[] = {&dargs.allocated, &dargs.aligned, &dargs.offset, &dargs.size, &dargs.stride};
    memcpy(pv + 15, dmp, sizeof dmp);
    memcpy(pv + 20, dap, sizeof dap);
    pv[25] = &extent;
    uint32_t rows = (uint32_t)(g->R * g->WARPS), gx = (uint32_t)((N + (int)rows - 1) / (int)rows);
    uint32_t gy = (uint32_t)((T + g->tok - 1) / g->tok);
    if (emu_run_grid(emu_module_function(m, names[c]), pv, gx, gy, (uint32_t)(g->WARPS * t.warp_size), err, sizeof err))
      print_error("%s: %s\n", names[c], err);
    assert_string_equal(err, "");
    for (int i = 0; i < T * N; i++) {
      float got = act[check_off + i];
      if (!(fabsf(got - want[i]) <= 1e-5f * (1.0f + fabsf(want[i]))))
        print_error("case %d (R=%d WARPS=%d UNROLL=%d TOK=%d %s K=%d norm %d glu %d): [%d] = %g, want %g\n", c,
                    g->R, g->WARPS, g->UNROLL, g->tok, llmc_dtype_name(g->wdt), K, g->norm, g->glu, i, (double)got,
                    (double)want[i]);
      assert_true(fabsf(got - want[i]) <= 1e-5f * (1.0f + fabsf(want[i])));
    }
  }
  emu_module_unload(m);
  llmc_buf_free(&text);
  llmc_buf_free(&image);
}

static void divergent_barrier_is_reported(void **state) {
  llmc_buf_t image = {0};
  void *m = load(*state, &image);
  emu_kernel_fn fn = emu_module_function(m, "diverge");
  assert_non_null(fn);
  float x[1];
  desc_t dx;
  void *params[5];
  set_desc(params, &dx, x, 1);
  char err[256] = "";
  assert_int_equal(emu_run_grid(fn, params, 2, 1, 32, err, sizeof err), -1);
  assert_non_null(strstr(err, "barrier"));
  emu_module_unload(m);
  llmc_buf_free(&image);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(barriers_order_shared_memory, "sm_90"),
      cmocka_unit_test_prestate(divergent_barrier_is_reported, "sm_90"),
      cmocka_unit_test_prestate(barriers_order_shared_memory, "gfx942"),
      cmocka_unit_test_prestate(divergent_barrier_is_reported, "gfx942"),
      cmocka_unit_test_prestate(barriers_order_shared_memory, "spirv"),
      cmocka_unit_test_prestate(divergent_barrier_is_reported, "spirv"),
      cmocka_unit_test_prestate(argmax_template, "sm_90"),
      cmocka_unit_test_prestate(argmax_template, "gfx942"),
      cmocka_unit_test_prestate(argmax_template, "spirv"),
      cmocka_unit_test_prestate(gemv_warp_configurations, "sm_90a"),
      cmocka_unit_test_prestate(gemv_warp_configurations, "gfx942"),
      cmocka_unit_test_prestate(gemv_warp_configurations, "gfx1100"),
      cmocka_unit_test_prestate(missing_barrier_is_a_hazard, "sm_90"),
      cmocka_unit_test_prestate(missing_barrier_is_a_hazard, "gfx942"),
      cmocka_unit_test_prestate(missing_barrier_is_a_hazard, "spirv"),
      cmocka_unit_test_prestate(uninitialized_shared_read_is_a_hazard, "sm_90"),
      cmocka_unit_test_prestate(uninitialized_shared_read_is_a_hazard, "gfx942"),
      cmocka_unit_test_prestate(uninitialized_shared_read_is_a_hazard, "spirv"),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
