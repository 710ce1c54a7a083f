/* llmc_codegen.h: the public face of codegen/: the target table, kernel
 * template instantiation, the host MLIR -> LLVM -> object pipeline, the
 * shared-library link step, and (at the end) the artifact writer.
 *
 * Flow for the host: instantiate one template per kernel (llmc_template_*),
 * concatenate the instances inside one `module { ... }`, lower it
 * (llmc_host_lower), optimise and emit an object (llmc_llvm_emit_object) and
 * link it (llmc_link_shared). Every kernel follows the ABI in llmc_abi.h and
 * is called through `_mlir_ciface_<NAME>` as an llmc_kernel_fn.
 *
 * Everything here is deterministic: the same inputs give the same bytes.
 * The one exception is the `host` target, whose CPU name and features come
 * from the machine that runs the compiler. */
#ifndef LLMC_CODEGEN_H
#define LLMC_CODEGEN_H

#include <stdbool.h>
#include <stdint.h>

#include <llvm-c/Core.h>

#include "llmc_support.h"

/* --- targets (codegen/targets.c) --- */

typedef struct llmc_target_s {
  const char *name;     /* clang-style name: "host", "x86-64-v3", "sm_90a", ... */
  const char *triple;   /* LLVM target triple */
  const char *cpu;      /* LLVM CPU (host/x86/arm) or chip (sm_90a, gfx942) */
  const char *features; /* LLVM feature string, "" for the CPU's defaults */
  int vector_bits;      /* widest profitable SIMD register, in bits (host) */
  int vector_regs;      /* SIMD registers (host): 16 on AVX2, 32 on AVX-512 and AArch64 */
  bool is_gpu;
  bool codegen_ready;   /* false: known, but its code generation is not built yet */
  /* GPU fields, 0 on host targets. Counts that vary between parts of one
   * architecture (multiprocessors, L2) are those of the reference part named
   * in targets.c: heuristics use them to size grids, and `llmc tune`
   * corrects for other parts. */
  int warp_size;              /* threads per warp / wavefront / subgroup */
  int shared_mem_per_block;   /* bytes of shared / LDS / SLM memory per block (opt-in maximum) */
  int static_shared_per_block; /* bytes of statically declared shared memory per block */
  int shared_mem_per_sm;      /* bytes of shared memory per multiprocessor / CU / Xe core */
  int max_threads_per_block;
  int registers_per_sm;       /* 32-bit registers per multiprocessor */
  int sm_count;               /* multiprocessors (SMs, CUs, Xe cores) of the reference part */
  int64_t l2_bytes;           /* last-level on-chip cache of the reference part */
  bool has_tensor_cores;      /* mma / wgmma / MFMA / WMMA / DPAS */
  bool has_fp8;
  const char *tensor_core;    /* the matrix instruction family, "" for none: "mma.sync.m16n8k16",
                               * "wgmma.m64nNk16", "mfma.32x32x8", "wmma.16x16x16" */
  /* Host fields, 0 on GPU targets: per-core data caches. */
  int64_t l1d_bytes, l2_bytes_per_core;
} llmc_target_t;

/* Looks a target up by name and fills *out (strings are static, or for
 * `host` live for the process). `sm90` is accepted as `sm_90`.
 * Unknown name: LLMC_INVALID_ARGUMENT "unknown target 'X'; did you mean 'Y'?".
 * Known but not yet built (GPUs): LLMC_UNIMPLEMENTED
 * "target 'sm_90' is known but its code generation is not built yet". */
LLMC_MUST_USE llmc_status_t *llmc_target_lookup(const char *name, llmc_target_t *out);
/* Whether the target's kernels can read f16 weights: every GPU and every
 * CPU but x86-64 without F16C (where LLVM widens f16 through
 * __extendhfsf2, a compiler-rt routine model.so cannot count on at load
 * time; bf16 is a shift everywhere). */
bool llmc_target_reads_f16(const llmc_target_t *t);
/* Whether t's code may use AVX2 (x86-64-v3 and up, or a host that has it):
 * kernels then call its integer intrinsics (vpmaddubsw) directly. */
bool llmc_target_has_avx2(const llmc_target_t *t);
/* Whether t's code may use vpdpbusd on 256-bit vectors (AVX-512 VNNI with
 * VL, or AVX-VNNI: a host that has them; no named x86-64 level does). */
bool llmc_target_has_vnni(const llmc_target_t *t);
/* Whether t's code may use vpdpbusd on 512-bit vectors (AVX-512 VNNI and BW,
 * and a target that uses 512-bit vectors). */
bool llmc_target_has_vnni512(const llmc_target_t *t);
/* The whole table, for `llmc --help` and tests. */
const llmc_target_t *llmc_target_table(int *out_count);

/* --- kernel templates (codegen/template.c) --- */

typedef struct {
  const char *key;   /* e.g. "NAME", "K", "EPS" (without the braces) */
  const char *value; /* substituted verbatim */
} llmc_template_param_t;

/* Instantiates the embedded kernels_templates/<family>.<target_class>.mlir,
 * replacing every {{KEY}} by its value, and appends the text to *out. A
 * template holds one or more func.func (never a module), so instances can be
 * concatenated inside one `module { ... }`; the kernel is named by NAME.
 * Unknown family: LLMC_NOT_FOUND. A {{KEY}} without a parameter, a parameter
 * the template does not use, or a duplicated key: LLMC_INTERNAL. */
LLMC_MUST_USE llmc_status_t *llmc_template_instantiate(const char *family, const char *target_class,
                                                       const llmc_template_param_t *params,
                                                       int n_params, llmc_buf_t *out);
/* The raw embedded text of "<family>.<target_class>.mlir" (NUL-terminated),
 * or NULL if there is none. */
const char *llmc_template_get(const char *family, const char *target_class);
/* Writes an f32 as an MLIR hexadecimal float literal ("0x3727C5AC"), bit
 * exact, for EPS/THETA/SCALE parameters (MLIR's decimal floats need a dot;
 * "1e-5" would not parse). buf must hold 11 bytes. Returns buf. */
char *llmc_template_f32_literal(float v, char buf[static 11]);

/* --- host pipeline (codegen/host_pipeline.c) --- */

/* The MLIR pass pipeline that lowers host kernels to the LLVM dialect. */
extern const char *const LLMC_HOST_PIPELINE;

/* Parses a whole MLIR module text, lowers it to the LLVM dialect with
 * LLMC_HOST_PIPELINE and translates it into an LLVM module owned by the
 * caller, living in ctx. out_lowered (nullable) receives the lowered MLIR
 * text (--emit=mlir). Parse, verify and pass errors come back as
 * LLMC_INTERNAL with MLIR's diagnostics (with locations) in the message. */
LLMC_MUST_USE llmc_status_t *llmc_host_lower(const char *module_text, LLVMContextRef ctx,
                                             LLVMModuleRef *out_module, llmc_buf_t *out_lowered);

/* Sets the module's triple and data layout for t, runs the new pass manager's
 * "default<O{opt_level}>" (opt_level 0..3) and emits a position-independent
 * ELF object into *out_obj (appended). out_llvm_ir (nullable) receives the
 * optimised IR text. The module is modified in place. */
LLMC_MUST_USE llmc_status_t *llmc_llvm_emit_object(LLVMModuleRef m, const llmc_target_t *t,
                                                   int opt_level, llmc_buf_t *out_obj,
                                                   llmc_buf_t *out_llvm_ir);

/* Links one object into a shared library with ld.lld (-shared,
 * --build-id=none, -z noexecstack, --hash-style=gnu: deterministic bytes).
 * ld.lld is LLMC_LLD from the environment if set, else the one found at
 * configure time. Undefined libm symbols (expf, tanhf, ...) are left for the
 * process that dlopens the library. ld.lld's stderr ends up in the status. */
LLMC_MUST_USE llmc_status_t *llmc_link_shared(const char *obj_path, const char *so_path);

/* --- GPU pipeline (codegen/gpu_pipeline.c) --- */

/* Flow for GPUs: instantiate one kernels_templates/<family>.gpu.mlir per
 * kernel (target class "gpu"; each instance is a gpu.func plus the
 * memref.globals it uses), concatenate the instances and hand the text to
 * llmc_gpu_compile, which wraps it in `gpu.module @llmc_kernels`, lowers it
 * for the target's vendor and returns one device image. GPU targets stay
 * codegen_ready = false until the artifact and runtime embed and launch
 * these images; the GPU rows of llmc_target_table() are used directly. */

typedef enum {
  LLMC_GPU_VENDOR_NONE,
  LLMC_GPU_VENDOR_NVIDIA, /* nvptx64-nvidia-cuda */
  LLMC_GPU_VENDOR_AMD,    /* amdgcn-amd-amdhsa */
  LLMC_GPU_VENDOR_INTEL,  /* spirv64-unknown-unknown, for Level Zero */
} llmc_gpu_vendor_t;

typedef enum {
  LLMC_GPU_IMAGE_PTX,   /* PTX text with a trailing NUL (no ptxas found) */
  LLMC_GPU_IMAGE_CUBIN, /* ptxas output for t->cpu */
  LLMC_GPU_IMAGE_HSACO, /* AMDGPU ELF shared object (HSA code object) */
  LLMC_GPU_IMAGE_SPIRV, /* SPIR-V binary module */
  LLMC_GPU_IMAGE_HOST_EMULATION, /* made by a test finisher: see llmc_gpu_compile_finished */
} llmc_gpu_image_kind_t;

typedef struct {
  llmc_gpu_image_kind_t kind;
  double seconds_mlir;  /* parse, MLIR pipeline, translation to LLVM IR */
  double seconds_llvm;  /* libdevice link, default<O{n}>, code generation */
  double seconds_tools; /* ptxas or ld.lld */
} llmc_gpu_image_info_t;

/* The vendor of a GPU target (from its triple); NONE for host targets. */
llmc_gpu_vendor_t llmc_gpu_vendor(const llmc_target_t *t);

/* Appends the MLIR pass pipeline that lowers the gpu.module for t (the AMD
 * one names t->cpu as the chipset). LLMC_INVALID_ARGUMENT for host targets. */
LLMC_MUST_USE llmc_status_t *llmc_gpu_pipeline(const llmc_target_t *t, llmc_buf_t *out);

/* Compiles concatenated *.gpu.mlir instances for GPU target t at LLVM
 * -O{opt_level} and appends the device image to *out_image: a cubin (or PTX
 * when no ptxas is found) for NVIDIA, an HSA code object for AMD, a SPIR-V
 * module for Intel. out_asm (nullable) receives PTX text or AMDGPU assembly (nothing
 * for SPIR-V: run spirv-dis on the image; see gpu_pipeline.c). out_info (nullable) says which image it is and where the
 * time went. Needs CUDA's libdevice for NVIDIA kernels that use math
 * functions (LLMC_LIBDEVICE, else /usr/local/cuda/nvvm/libdevice/
 * libdevice.10.bc): LLMC_UNAVAILABLE without it. ld.lld is LLMC_LLD or the
 * configure-time one. MLIR, LLVM, ptxas and ld.lld errors: LLMC_INTERNAL with
 * their messages. Deterministic for the same inputs and tools. */
LLMC_MUST_USE llmc_status_t *llmc_gpu_compile(const char *kernels_text, const llmc_target_t *t,
                                              int opt_level, llmc_buf_t *out_image,
                                              llmc_buf_t *out_asm,
                                              llmc_gpu_image_info_t *out_info);

/* How GPU images can be finished differently (tests only): llmc_gpu_compile
 * with the vendor's code generation replaced by `finish`, which receives the
 * LLVM module of the lowered kernels (after MLIR's NVVM, ROCDL or LLVM-SPV
 * lowering and translation, before any LLVM optimisation) and appends an
 * image to *out_image. The test suite's GPU emulation
 * (tests/emulation/gpu_emulation.c) is such a finisher; the product has
 * none, so nothing that is not a device image reaches a user's artifact.
 * out_info's kind is LLMC_GPU_IMAGE_HOST_EMULATION. */
typedef llmc_status_t *(*llmc_gpu_finisher_t)(LLVMModuleRef m, LLVMContextRef ctx, int opt_level,
                                              llmc_buf_t *out_image);
LLMC_MUST_USE llmc_status_t *llmc_gpu_compile_finished(const char *kernels_text, const llmc_target_t *t,
                                                       int opt_level, llmc_gpu_finisher_t finish,
                                                       llmc_buf_t *out_image, llmc_gpu_image_info_t *out_info);
/* Finds ptxas: LLMC_PTXAS if set ("" or "none": no ptxas, PTX only), else
 * `ptxas` on PATH, else /usr/local/cuda/bin/ptxas. Writes the path into
 * path[cap] and returns true when one is executable. */
bool llmc_gpu_find_ptxas(char *path, size_t cap);


#endif
