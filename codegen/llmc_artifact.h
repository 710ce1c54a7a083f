/* llmc_artifact.h: the artifact writer (codegen/artifact.c): a planned
 * graph and its kernel plan become the directory the runtime loads. */
#ifndef LLMC_ARTIFACT_H
#define LLMC_ARTIFACT_H

#include "llmc_kplan.h"
#include "llmc_passes.h"

/* --- publication (codegen/publish.c) --- */

/* An artifact is written into a staging directory beside -o and replaces -o
 * as a whole with one rename (an exchange when -o exists), so -o holds the
 * complete old artifact or the complete new one, never a mix.
 *   llmc_publish_begin  checks -o (an existing one must be a directory of
 *                       artifact file names only, or empty; -o must not be,
 *                       contain or lie inside any of input_dirs: exit 64),
 *                       removes staging directories of dead processes for the
 *                       same -o, and creates tmp (empty);
 *   llmc_publish_commit swaps tmp in and removes the old tree;
 *   llmc_publish_abort  removes tmp, -o untouched.
 * A CLI that catches SIGINT/SIGTERM removes tmp (flat) from its handler. */
typedef struct {
  char out[4096];         /* canonical -o */
  char tmp[4096 + 300];   /* staging directory: <parent>/.<base>.llmc-tmp.<pid> */
  char where[256];        /* -o as given, for messages */
  bool begun;             /* tmp exists and is ours */
} llmc_publish_t;

LLMC_MUST_USE llmc_status_t *llmc_publish_begin(const char *out_dir, const char *const *input_dirs,
                                                int n_inputs, llmc_publish_t *out);
LLMC_MUST_USE llmc_status_t *llmc_publish_commit(llmc_publish_t *p);
void llmc_publish_abort(llmc_publish_t *p);

/* --- artifact (codegen/artifact.c) --- */

/* Writes out_dir/{model.so, model.h, weights.safetensors, report.json} (and
 * tokenizer.json when given) for a graph that went through the passes, with
 * the memory plan the passes made. Everything is written into a staging
 * directory first, which then replaces out_dir whole (above), so a failure
 * never leaves a half-written or mixed artifact; with staging_dir set the
 * caller publishes (after --verify, say). emit selects a single inspection
 * output instead:
 * "ir" (the graph after the passes, model.ir), "mlir" (the instantiated host kernel module),
 * "ptx"/"hsaco"/"spirv" (model.<target>.<ext> for each GPU target of that vendor), "plan" (the kernel plan's text
 * form, model.plan), "llvm" (optimised LLVM IR), "obj"
 * (model.o) or "report" (report.json only); NULL or "so" is the artifact. */
typedef struct {
  const char *target;    /* comma-separated target names: at most one CPU target, any GPUs */
  const char *out_dir;   /* published through llmc_publish_* unless staging_dir is set */
  const char *staging_dir; /* nullable: write into this existing, empty directory (llmc_publish_t.tmp)
                            * and publish nothing; out_dir is then unused */
  const char *emit;      /* NULL, "so", "ir", "plan", "mlir", "llvm", "obj", "report", "ptx", "hsaco", "spirv" */
  int opt_level;         /* LLVM -O level, 0..3 */
  int64_t max_context;   /* longest sequence the artifact serves */
  int64_t max_seqs;      /* sequences per step */
  int64_t block_size;    /* KV block size in tokens */
  const char *tokenizer_path; /* copied into out_dir when non-NULL */
  const char *tokenizer_config_path; /* copied with the tokenizer when both are non-NULL
                                      * (loaded and confined by the caller) */
  const char *tokenizer_text;        /* instead of the files: tokenizer.json and */
  const char *tokenizer_config_text; /* tokenizer_config.json text (a GGUF's), each nullable */
  const int32_t *eos_tokens; /* [n_eos_tokens] stop ids for generation.json */
  int n_eos_tokens;      /* 0: none */
  llmc_dtype_t weight_dtype; /* LLMC_DT_F32 (default: 0), or F16/BF16 for matmul weights (CPU only) */
  /* weight_dtype came from the checkpoint (--weight-dtype=auto), not the
   * user: where a target cannot read it (f16 without F16C) it falls back
   * to f32 instead of failing. */
  bool weight_dtype_auto;
  llmc_quant_t quant;        /* --quant: matmul weights quantized where a kernel reads the layout */
  const llmc_quant_config_t *quant_config; /* --quant-config: per-weight overrides (nullable) */
  llmc_act_quant_t act_quant; /* --act-quant */
  llmc_dtype_t kv_dtype;      /* --kv-cache-dtype: F32 (default: 0), F16 or BF16 (CPU targets) */
  llmc_gpu_finisher_t gpu_finisher; /* tests only (GPU emulation): see llmc_gpu_compile_finished */
  const llmc_koverride_t *overrides; /* --kernel-config */
  int n_overrides;
  const llmc_tuning_db_t *tuning_db; /* --tuning-db, nullable */
  const llmc_pass_result_t *passes; /* stats for the report */
} llmc_artifact_options_t;

typedef struct {
  int n_kernels, n_launches;
  uint64_t weight_bytes, arena_bytes, kv_bytes_per_token;
  /* Kernel calls that round their activations to int8 on some target
   * (--act-quant=int8 on integer weights): checked against the interpreter
   * statistically, not to summation order (llmc_verify_judge). */
  int int8_activation_calls;
  double seconds_lower, seconds_llvm, seconds_link, seconds_gpu; /* for --time-passes */
} llmc_artifact_summary_t;

LLMC_MUST_USE llmc_status_t *llmc_artifact_write(const llmc_ir_graph_t *g,
                                                 const llmc_memory_plan_t *plan,
                                                 llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                                 const llmc_artifact_options_t *opts,
                                                 llmc_artifact_summary_t *out_summary);

#endif
