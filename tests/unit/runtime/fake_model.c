/* fake_model.c: a stand-in for a compiled model.so, for the runtime's tests.
 * Plain C kernels implement fake_model_math.h over the real ABI: a static
 * plan, memref descriptors, ragged batches, KV written and read only through
 * block tables. FAKE_VARIANT selects a deliberately broken artifact for the
 * corrupt-artifact tests (0 is the good one; 8 is good too but GPU-only: no
 * host kernel table; 9's embedding table runs past the weights; 10 is good,
 * with a sliding window of FAKE_WINDOW: its attention reads only the block
 * table entries of the window, as the real kernels, and the runtime frees
 * the blocks behind it). Good variants also carry fake GPU images
 * (fake_gpu.h): the same kernels behind the 26-parameter GPU signature, run
 * block by block by the fake CUDA driver. */
#include <stddef.h>
#include <stdint.h>

#include "fake_gpu.h"
#include "fake_model_math.h"
#include "llmc_abi.h"

#ifndef FAKE_VARIANT
#define FAKE_VARIANT 0
#endif

#define F(m) ((float *)(m)->aligned + (m)->offset)
#define I32(m) ((int32_t *)(m)->aligned + (m)->offset)
#define I64(m) ((int64_t *)(m)->aligned + (m)->offset)

static float *kv_slot(llmc_memref1d_t *kv, const int32_t *meta, int seq, int pos, int kind) {
  int32_t block = meta[FAKE_M_BT + seq * FAKE_MAXB + pos / FAKE_BS];
  return F(kv) + (int64_t)block * FAKE_BLOCK_FLOATS + (kind * FAKE_BS + pos % FAKE_BS) * FAKE_D;
}

/* args: x offset, embedding offset. */
static void k_embed(llmc_memref1d_t *act, llmc_memref1d_t *w, llmc_memref1d_t *kv,
                    llmc_memref1d_t *meta, llmc_memref1d_t *args, int64_t b, int64_t e) {
  (void)kv;
  const int64_t *a = I64(args);
  for (int64_t t = b; t < e; t++)
    fake_embed(F(w) + a[1], I32(meta)[FAKE_M_TOK + t], F(act) + a[0] + t * FAKE_D);
}

/* args: x offset. */
static void k_kv_write(llmc_memref1d_t *act, llmc_memref1d_t *w, llmc_memref1d_t *kv,
                       llmc_memref1d_t *meta, llmc_memref1d_t *args, int64_t b, int64_t e) {
  (void)w;
  const int32_t *m = I32(meta);
  for (int64_t t = b; t < e; t++) {
    const float *x = F(act) + I64(args)[0] + t * FAKE_D;
    int seq = m[FAKE_M_SEQ + t], pos = m[FAKE_M_POS + t];
    fake_rotate(x, pos, kv_slot(kv, m, seq, pos, 0));
    fake_value(x, kv_slot(kv, m, seq, pos, 1));
  }
}

/* args: x offset, h offset. */
static void k_attend(llmc_memref1d_t *act, llmc_memref1d_t *w, llmc_memref1d_t *kv,
                     llmc_memref1d_t *meta, llmc_memref1d_t *args, int64_t b, int64_t e) {
  (void)w;
  const int32_t *m = I32(meta);
  const int64_t *a = I64(args);
  for (int64_t t = b; t < e; t++) {
    int seq = m[FAKE_M_SEQ + t], pos = m[FAKE_M_POS + t];
    const float *ks[FAKE_CTX], *vs[FAKE_CTX];
    int lo = FAKE_VARIANT == 10 && pos >= FAKE_WINDOW ? pos - FAKE_WINDOW + 1 : 0;
    for (int i = lo; i <= pos; i++) {
      ks[i] = kv_slot(kv, m, seq, i, 0);
      vs[i] = kv_slot(kv, m, seq, i, 1);
    }
    fake_attend(F(act) + a[0] + t * FAKE_D, lo, pos, ks, vs, F(act) + a[1] + t * FAKE_D);
  }
}

/* Extent V*T. args: h offset, logits offset, T. */
static void k_lm_head(llmc_memref1d_t *act, llmc_memref1d_t *w, llmc_memref1d_t *kv,
                      llmc_memref1d_t *meta, llmc_memref1d_t *args, int64_t b, int64_t e) {
  (void)kv;
  (void)meta;
  const int64_t *a = I64(args);
  for (int64_t i = b; i < e; i++) {
    int64_t t = i / FAKE_V, v = i % FAKE_V;
    if (t >= a[2]) continue;
    F(act)[a[1] + i] = fake_logit(F(w), F(act) + a[0] + t * FAKE_D, (int)v);
  }
}

#if FAKE_VARIANT == 7
#define LOGITS_OFFSET FAKE_ACT_FLOATS /* logits past the arena */
#else
#define LOGITS_OFFSET FAKE_LOGITS
#endif
#if FAKE_VARIANT == 4
#define N_LAUNCHES 5 /* more launches than the plan holds */
#else
#define N_LAUNCHES 4
#endif
#if FAKE_VARIANT == 2
#define LM_HEAD 7 /* no such kernel */
#else
#define LM_HEAD 3
#endif
#if FAKE_VARIANT == 9
#define EMB_OFFSET (FAKE_OUT + 4) /* [FAKE_OUT + 4, + V*D) ends past the weights */
#else
#define EMB_OFFSET FAKE_EMB
#endif
#if FAKE_VARIANT == 3
#define ATTEND_EXTENT_A (-2) /* -2 + T < 0 at T = 1 */
#else
#define ATTEND_EXTENT_A 0
#endif

static const int64_t plan[] = {
    /* header */
    FAKE_V, FAKE_TMAX, FAKE_CTX, FAKE_SEQS, FAKE_ACT_FLOATS, LOGITS_OFFSET, 1, 1, FAKE_D, FAKE_BS,
    FAKE_BLOCK_FLOATS, FAKE_MAXB, FAKE_M_TOK, FAKE_M_POS, FAKE_M_SEQ, FAKE_M_BT, FAKE_META_INTS,
    FAKE_WEIGHT_FLOATS, N_LAUNCHES, 0 /* KV_DTYPE: f32 */, FAKE_M_ROWS,
    FAKE_VARIANT == 10 ? FAKE_WINDOW : 0 /* KV_WINDOW */,
    /* kernel, extent a, b, T range, n_args, (a, b)... */
    0, 0, 1, 1, FAKE_TMAX, 2, FAKE_X, 0, EMB_OFFSET, 0,
    1, 0, 1, 1, FAKE_TMAX, 1, FAKE_X, 0,
    2, ATTEND_EXTENT_A, 1, 1, FAKE_TMAX, 2, FAKE_X, 0, FAKE_H, 0,
    LM_HEAD, 0, FAKE_V, 1, FAKE_TMAX, 3, FAKE_H, 0, FAKE_LOGITS, 0, 0, 1,
};

/* What each argument above is, and the elements its kernel touches
 * (llmc_abi.h): kind, extent a, extent b. */
static const int64_t arg_kinds[] = {
    LLMC_ARG_ACT, 0, FAKE_D, LLMC_ARG_WEIGHTS, FAKE_V * FAKE_D, 0, /* embed: x, table */
    LLMC_ARG_ACT, 0, FAKE_D,                                        /* kv_write: x */
    LLMC_ARG_ACT, 0, FAKE_D, LLMC_ARG_ACT, 0, FAKE_D,               /* attend: x, h */
    LLMC_ARG_ACT, 0, FAKE_D, LLMC_ARG_ACT, 0, FAKE_V, LLMC_ARG_TOKENS, 0, 0, /* lm_head: h, logits, T */
};

/* The argmax kernel codegen adds for GPU targets (argmax.*.mlir): no plan
 * launch uses it. args: logits offset (act), rows offset, ids offset (meta),
 * n_rows; items are rows. */
static void k_argmax(llmc_memref1d_t *act, llmc_memref1d_t *w, llmc_memref1d_t *kv,
                     llmc_memref1d_t *meta, llmc_memref1d_t *args, int64_t b, int64_t e) {
  (void)w;
  (void)kv;
  const int64_t *a = I64(args);
  for (int64_t r = b; r < e; r++) {
    const float *row = F(act) + a[0] + (int64_t)I32(meta)[a[1] + r] * FAKE_V;
    int32_t best = 0;
    for (int32_t v = 1; v < FAKE_V; v++)
      if (row[v] > row[best]) best = v;
    I32(meta)[a[2] + r] = best;
  }
}

static const llmc_kernel_fn kernels[] = {k_embed, k_kv_write, k_attend, k_lm_head, k_argmax};

/* ---- the GPU side: one block covers items [block * IPB, + IPB) ---- */

static llmc_memref1d_t param_memref(void **p) {
  return (llmc_memref1d_t){.allocated = (void *)(uintptr_t) * (uint64_t *)p[0],
                           .aligned = (void *)(uintptr_t) * (uint64_t *)p[1],
                           .offset = *(int64_t *)p[2],
                           .size = *(int64_t *)p[3],
                           .stride = *(int64_t *)p[4]};
}

static void run_block(llmc_kernel_fn fn, int64_t ipb, void **p, uint32_t block) {
  llmc_memref1d_t m[5];
  for (int i = 0; i < 5; i++) m[i] = param_memref(p + 5 * i);
  int64_t extent = *(int64_t *)p[25], b = (int64_t)block * ipb, e = b + ipb;
  if (e > extent) e = extent;
  if (b < e) fn(&m[0], &m[1], &m[2], &m[3], &m[4], b, e);
}

enum { IPB_SMALL = 3, IPB_HEAD = 5 }; /* uneven: the last block is partial */
static void g_embed(void **p, uint32_t b, uint32_t y) {
  (void)y;
  run_block(k_embed, IPB_SMALL, p, b);
}
static void g_kv_write(void **p, uint32_t b, uint32_t y) {
  (void)y;
  run_block(k_kv_write, IPB_SMALL, p, b);
}
static void g_attend(void **p, uint32_t b, uint32_t y) {
  (void)y;
  run_block(k_attend, IPB_SMALL, p, b);
}
/* Launched with grid_y_tokens (grid.y = T) to exercise that path; row y of
 * the grid repeats the work of row 0, so only row 0 does it. */
static void g_lm_head(void **p, uint32_t b, uint32_t y) {
  if (y == 0) run_block(k_lm_head, IPB_HEAD, p, b);
}
static void g_argmax(void **p, uint32_t b, uint32_t y) {
  (void)y;
  run_block(k_argmax, 1, p, b);
}

static const fake_gpu_entry_t gpu_entries[] = {
    {"llmc_embed", g_embed}, {"llmc_kv_write", g_kv_write}, {"llmc_attend", g_attend},
    {"llmc_lm_head", g_lm_head}, {"llmc_k4_argmax", g_argmax}};
static const fake_gpu_image_t gpu_image = {FAKE_GPU_MAGIC, 5, gpu_entries};

static const llmc_gpu_kernel_v1_t gpu_kernels[] = {
    {"llmc_embed", 32, IPB_SMALL, 0, 0},
    {"llmc_kv_write", 32, IPB_SMALL, 0, 0},
    {"llmc_attend", 64, IPB_SMALL, 0, 0},
    {"llmc_lm_head", 128, IPB_HEAD, 0, 1},
    {"llmc_k4_argmax", 64, 1, 0, 0},
};

/* A cubin for sm_90 and PTX for sm_80 (so an 8.6 device JITs the PTX), an
 * hsaco for gfx942 and a SPIR-V module (the fake HIP and Level Zero drivers
 * run them), all the same fake image. */
#define IMAGE(t, f) {t, f, 5, (const uint8_t *)&gpu_image, sizeof gpu_image, gpu_kernels}
static const llmc_image_v1_t images[] = {
    IMAGE("sm_80", LLMC_IMAGE_PTX),
    IMAGE("sm_90", LLMC_IMAGE_CUBIN),
    IMAGE("gfx942", LLMC_IMAGE_HSACO),
    IMAGE("spirv", LLMC_IMAGE_SPIRV),
};
static const char *const kernel_names[] = {"embed", "kv_write", "attend", "lm_head",
                                           "llmc_k4_argmax"};

#if FAKE_VARIANT == 6
#define SYMBOL not_the_model_symbol /* model.so without llmc_model_v1 */
#else
#define SYMBOL llmc_model_v1
#endif

__attribute__((visibility("default"))) const llmc_model_v1_t SYMBOL = {
    .magic = FAKE_VARIANT == 1 ? 0x12345678u : LLMC_ABI_MAGIC,
    .abi_version = FAKE_VARIANT == 5 ? LLMC_ABI_VERSION + 1u : LLMC_ABI_VERSION,
    .name = "fake",
    .plan = plan,
    .plan_len = sizeof plan / sizeof plan[0],
    .kernels = FAKE_VARIANT == 8 ? NULL : kernels,
    .n_kernels = 5,
    .kernel_names = kernel_names,
    .n_images = sizeof images / sizeof images[0],
    .images = images,
    .arg_kinds = arg_kinds,
    .arg_kinds_len = sizeof arg_kinds / sizeof arg_kinds[0],
};
