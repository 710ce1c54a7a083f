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

typedef struct {
  const char *name;     /* clang-style name: "host", "x86-64-v3", "sm_90a", ... */
  const char *triple;   /* LLVM target triple */
  const char *cpu;      /* LLVM CPU (host/x86/arm) or chip (sm_90a, gfx942) */
  const char *features; /* LLVM feature string, "" for the CPU's defaults */
  int vector_bits;      /* widest profitable SIMD register, in bits (host) */
  bool is_gpu;
  bool codegen_ready;   /* false: known, but its code generation is not built yet */
  /* GPU fields, 0 on host targets. */
  int warp_size;              /* threads per warp / wavefront / subgroup */
  int shared_mem_per_block;   /* bytes of shared / LDS / SLM memory per block */
  bool has_tensor_cores;      /* mma / wgmma / MFMA / WMMA / DPAS */
  bool has_fp8;
} llmc_target_t;

/* Looks a target up by name and fills *out (strings are static, or for
 * `host` live for the process). `sm90` is accepted as `sm_90`.
 * Unknown name: LLMC_INVALID_ARGUMENT "unknown target 'X'; did you mean 'Y'?".
 * Known but not yet built (GPUs): LLMC_UNIMPLEMENTED
 * "target 'sm_90' is known but its code generation is not built yet". */
LLMC_MUST_USE llmc_status_t *llmc_target_lookup(const char *name, llmc_target_t *out);
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

/* --- artifact (codegen/artifact.c) --- */

#include "llmc_ir.h"
#include "llmc_passes.h"

/* Writes out_dir/{model.so, model.h, weights.safetensors, report.json} (and
 * tokenizer.json when given) for a graph that went through the passes, with
 * the memory plan the passes made. Everything is written into a temporary
 * directory first and moved into place at the end, so a failure never leaves
 * a half-written artifact. emit selects a single inspection output instead:
 * "ir" (the graph after the passes, model.ir), "mlir" (the instantiated kernel module), "llvm" (optimised LLVM IR), "obj"
 * (model.o) or "report" (report.json only); NULL or "so" is the artifact. */
typedef struct {
  const char *target;    /* a host target name */
  const char *out_dir;
  const char *emit;      /* NULL, "so", "ir", "mlir", "llvm", "obj", "report" */
  int opt_level;         /* LLVM -O level, 0..3 */
  int64_t max_context;   /* longest sequence the artifact serves */
  int64_t max_seqs;      /* sequences per step */
  int64_t block_size;    /* KV block size in tokens */
  const char *tokenizer_path; /* copied into out_dir when non-NULL */
  int32_t eos_token;     /* -1: none */
  const llmc_pass_result_t *passes; /* stats for the report */
} llmc_artifact_options_t;

typedef struct {
  int n_kernels, n_launches;
  uint64_t weight_bytes, arena_bytes, kv_bytes_per_token;
  double seconds_lower, seconds_llvm, seconds_link; /* for --time-passes */
} llmc_artifact_summary_t;

LLMC_MUST_USE llmc_status_t *llmc_artifact_write(const llmc_ir_graph_t *g,
                                                 const llmc_memory_plan_t *plan,
                                                 llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                                 const llmc_artifact_options_t *opts,
                                                 llmc_artifact_summary_t *out_summary);

#endif
