/* llmc_abi.h: the contract between a compiled artifact (model.so, written by
 * codegen/) and the runtime (libllmc_rt). Both sides include this header and
 * nothing else of each other.
 *
 * model.so exports one symbol, `llmc_model_v1`, of type llmc_model_v1_t. It
 * holds a kernel table and an execution plan: a flat int64 array, a header
 * followed by launches. The runtime resolves each launch's arguments for the
 * step's token count T, splits the launch's parallel extent over its threads
 * and calls the kernel once per slice.
 *
 * Buffers every kernel receives, as MLIR memref<?xT> descriptors:
 *   act     f32  activation arena, PLAN_ACT_FLOATS elements, offsets planned statically
 *   weights f32  the data section of out/weights.safetensors (64-byte aligned)
 *   kv      f32  the paged KV pool, n_blocks * PLAN_BLOCK_FLOATS elements
 *   meta    i32  per-step metadata (layout below)
 *   args    i64  this launch's resolved arguments
 * and the slice [begin, end) of the launch's parallel extent.
 *
 * Meta layout (i32, offsets in the plan header, sized for PLAN_MAX_STEP_TOKENS
 * tokens and PLAN_MAX_SEQS sequences):
 *   tokens[T], positions[T], seq_of_token[T] (index of the token's sequence
 *   in this step), block_tables[MAX_SEQS][MAX_BLOCKS_PER_SEQ],
 *   logit_rows[1 + T] (how many of the step's logits rows are read, then
 *   those rows, ascending: every token of llmc_rt_forward, the last token of
 *   each sequence that samples in a scheduled step).
 * A step is a ragged batch: tokens of all scheduled sequences concatenated.
 * Logits rows not listed in logit_rows are undefined after the step: the
 * kernel computing the logits may skip them (a prompt's other tokens). 
 *
 * KV pool layout: block-major, so one block table serves every layer:
 *   offset(block, layer, kind, slot, j) = block * BLOCK_FLOATS
 *       + ((layer * 2 + kind) * BLOCK_SIZE + slot) * (N_KV_HEADS * HEAD_DIM) + j
 *   kind 0 = K, 1 = V; a token at position p of a sequence lives in
 *   block_tables[seq][p / BLOCK_SIZE], slot p % BLOCK_SIZE. */
#ifndef LLMC_ABI_H
#define LLMC_ABI_H

#include <stdint.h>

#define LLMC_ABI_MAGIC 0x434d4c4cu /* "LLMC" little-endian */
#define LLMC_ABI_VERSION 7u /* 2: GPU image table; 3: a token range per launch;
                              4: argument kinds, plan and weights digests;
                              5: the KV pool's element type (LLMC_PLAN_KV_DTYPE);
                              6: the step's logits rows (LLMC_PLAN_META_LOGIT_ROWS);
                              7: the attention window every layer keeps (LLMC_PLAN_KV_WINDOW) */

/* MLIR's C-interface layout of memref<?xT>. */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
} llmc_memref1d_t;

typedef void (*llmc_kernel_fn)(llmc_memref1d_t *act, llmc_memref1d_t *weights,
                               llmc_memref1d_t *kv, llmc_memref1d_t *meta,
                               llmc_memref1d_t *args, int64_t begin, int64_t end);

/* Plan header fields, in order, at plan[0..LLMC_PLAN_HEADER_LEN). */
enum {
  LLMC_PLAN_VOCAB,
  LLMC_PLAN_MAX_STEP_TOKENS, /* T_max: tokens per step (activations are planned for it) */
  LLMC_PLAN_MAX_CONTEXT,     /* longest sequence, in tokens */
  LLMC_PLAN_MAX_SEQS,        /* sequences per step */
  LLMC_PLAN_ACT_FLOATS,      /* activation arena size */
  LLMC_PLAN_LOGITS_OFFSET,   /* f32 offset of logits[T, vocab] in act */
  LLMC_PLAN_N_LAYERS,
  LLMC_PLAN_N_KV_HEADS,
  LLMC_PLAN_HEAD_DIM,
  LLMC_PLAN_BLOCK_SIZE,
  LLMC_PLAN_BLOCK_FLOATS,
  LLMC_PLAN_MAX_BLOCKS_PER_SEQ,
  LLMC_PLAN_META_TOKENS,
  LLMC_PLAN_META_POSITIONS,
  LLMC_PLAN_META_SEQ,
  LLMC_PLAN_META_BLOCK_TABLES,
  LLMC_PLAN_META_INTS, /* meta buffer size in i32 */
  LLMC_PLAN_WEIGHT_FLOATS,
  LLMC_PLAN_N_LAUNCHES,
  /* The KV pool's elements, llmc_plan_kv_dtype_t (16-bit values two to an
   * f32 word: BLOCK_FLOATS is then half the elements; HEAD_DIM is even;
   * int8: a head's row is HEAD_DIM int8s then its f32 scale, HEAD_DIM / 4 + 1
   * words; HEAD_DIM is a multiple of 4). */
  LLMC_PLAN_KV_DTYPE,
  LLMC_PLAN_META_LOGIT_ROWS, /* meta offset of logit_rows[1 + MAX_STEP_TOKENS] */
  /* W > 0 when every layer's attention is a sliding window of at most W
   * tokens (a token at p reads positions p-W+1..p, and no kernel reads a
   * block table entry below the first one it attends): the runtime may then
   * free a sequence's blocks that lie wholly before its next position - W + 1,
   * and their table entries stop naming them (0). 0: some layer reads the
   * whole context. */
  LLMC_PLAN_KV_WINDOW,
  LLMC_PLAN_HEADER_LEN
};

typedef enum {
  LLMC_PLAN_KV_F32 = 0,
  LLMC_PLAN_KV_F16 = 1,
  LLMC_PLAN_KV_BF16 = 2,
  LLMC_PLAN_KV_I8 = 3
} llmc_plan_kv_dtype_t;

/* After the header, each launch is:
 *   kernel index, extent_a, extent_b, t_min, t_max, n_args, then n_args
 *   pairs (a, b).
 * The launch runs in steps of T tokens with t_min <= T <= t_max (1 <= t_min
 * <= t_max): the plan may hold a variant of a kernel call per token-count
 * range (decode and prefill), and exactly one of them runs in a step. Every
 * other value is a + b * T for the step's token count T. */
#define LLMC_PLAN_LAUNCH_FIXED 6

/* What each plan argument is, so the runtime can check at load time that
 * every range a kernel touches lies inside its buffer. arg_kinds holds one
 * record per argument, in plan order (launch by launch), of
 * LLMC_ARG_RECORD values: kind, extent_a, extent_b. For the offset kinds
 * the kernel reads or writes [v, v + extent_a + extent_b*T) of the buffer
 * named, v being the argument's value for T; the extent is in the buffer's
 * elements (f32, or i32 for meta). */
typedef enum {
  LLMC_ARG_SCALAR = 0,   /* not an offset: a placeholder the kernel ignores, or a constant */
  LLMC_ARG_ACT = 1,      /* offset into act */
  LLMC_ARG_WEIGHTS = 2,  /* offset into weights */
  LLMC_ARG_META = 3,     /* offset into meta */
  LLMC_ARG_TOKENS = 4,   /* the step's token count: exactly 0 + 1*T */
  LLMC_ARG_LAYER = 5,    /* a layer index into the KV pool: in [0, N_LAYERS) */
  LLMC_ARG_ROWS = 6,     /* rows of a table token ids index (embedding): at least VOCAB */
  LLMC_ARG_KIND_COUNT
} llmc_arg_kind_t;
#define LLMC_ARG_RECORD 3

/* GPU images. An artifact compiled for several targets carries one image
 * per GPU target next to the host kernel table; the runtime picks the image
 * matching the device it finds (exact chip first, then PTX the driver can
 * JIT for a newer chip). Each image holds the same kernels, in the same
 * order, as the plan's kernel indexes.
 *
 * GPU kernel parameters are what MLIR's default lowering of
 *   gpu.func @k(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>,
 *               %meta: memref<?xi32>, %args: memref<?xi64>, %extent: index)
 * produces: each memref expands to its descriptor fields (allocated ptr,
 * aligned ptr, i64 offset, i64 size, i64 stride), then the i64 extent:
 * 26 parameters. A launch covers its extent with a grid of
 * (ceil(extent / items_per_block), grid_y_tokens ? ceil(T / grid_y_tokens) : 1, 1) blocks of
 * (block_threads, 1, 1) threads. */
typedef enum {
  LLMC_IMAGE_PTX = 1,   /* NVIDIA PTX text, NUL-terminated (cuModuleLoadData JITs it) */
  LLMC_IMAGE_CUBIN = 2, /* NVIDIA ELF from ptxas, for exactly one sm_XX */
  LLMC_IMAGE_HSACO = 3, /* AMD HSA code object (hipModuleLoadData) */
  LLMC_IMAGE_SPIRV = 4, /* SPIR-V binary (zeModuleCreate) */
} llmc_image_format_t;

typedef struct {
  const char *symbol;      /* kernel name in the image */
  int32_t block_threads;   /* threads per block (1-D); 0: on this target the kernel's work is
                              fused into another launch (per-target fusion), so it is skipped */
  int32_t items_per_block; /* extent items one block covers */
  int32_t shared_bytes;    /* dynamic shared memory per block */
  int32_t grid_y_tokens;   /* 0: grid.y is 1; k in 1..64: grid.y = ceil(T / k), a block's k tokens
                              (matmul: 1 a token, more to share weight loads among tokens) */
} llmc_gpu_kernel_v1_t;

typedef struct {
  const char *target; /* target-table name: "sm_90a", "gfx942", "spirv", ... */
  uint32_t format;    /* llmc_image_format_t */
  uint32_t n_kernels; /* equals llmc_model_v1_t.n_kernels */
  const uint8_t *data;
  uint64_t size;
  const llmc_gpu_kernel_v1_t *kernels;
} llmc_image_v1_t;

typedef struct {
  uint32_t magic;       /* LLMC_ABI_MAGIC */
  uint32_t abi_version; /* LLMC_ABI_VERSION */
  const char *name;     /* model name */
  const int64_t *plan;
  int64_t plan_len;
  const llmc_kernel_fn *kernels; /* host entry points; NULL when no host target was compiled */
  int64_t n_kernels;
  const char *const *kernel_names; /* for profiling and error messages */
  int64_t n_images;                /* GPU images; 0 for a host-only artifact */
  const llmc_image_v1_t *images;
  /* CPU features the host kernels were compiled to use ("avx2,fma,f16c"),
   * checked by the runtime before running them: code for another machine's
   * CPU must fail with a message, not SIGILL. "" when only the
   * architecture's baseline is assumed. */
  const char *cpu_features;
  /* Version 4. */
  const int64_t *arg_kinds; /* LLMC_ARG_RECORD values per plan argument (above) */
  int64_t arg_kinds_len;
  /* XXH3-64 of the plan's and arg_kinds' bytes: a flipped bit in either
   * (one that keeps every offset in bounds, or swaps a kernel index for
   * another kernel's) is refused at load. 0: not recorded. */
  uint64_t plan_digest;
  /* The weights.safetensors this model.so was compiled with: its size in
   * bytes, and the XXH3-64 of its first 8 + n bytes (length and JSON
   * header, which names the model) seeded with that size. Not a digest of
   * the data: checking that would read every weight at load. 0: not
   * recorded (a test's hand-written artifact). */
  uint64_t weights_size;
  uint64_t weights_digest;
} llmc_model_v1_t;

#define LLMC_MODEL_SYMBOL "llmc_model_v1"

#endif
