/* llmc_frontend.h: importing models into the IR.
 *
 * llmc_model_load accepts:
 *   - a model.json file (llmc's own format, docs/model-json.md);
 *   - a Hugging Face directory (config.json + *.safetensors, with
 *     model.safetensors.index.json for shards) of a supported architecture,
 *     which becomes the same graph through an architecture description in
 *     frontend/arch/ (so the two paths cannot drift apart).
 * Weights are mmap'd and never copied; the graph's weight values refer to
 * them by name through the weight set. */
#ifndef LLMC_FRONTEND_H
#define LLMC_FRONTEND_H

#include "llmc_ir.h"
#include "llmc_safetensors.h"
#include "llmc_tokenizer.h"

/* A set of safetensors files searched by tensor name. */
typedef struct llmc_weight_set llmc_weight_set_t;

/* Opens `files` (relative to dir). A file ending in ".index.json" is a
 * Hugging Face shard index; its shards are opened instead. Shard paths that
 * leave dir, pickle files and missing files are errors. */
LLMC_MUST_USE llmc_status_t *llmc_weight_set_open(const char *dir, const char *const *files,
                                                  int n_files, llmc_weight_set_t **out);
void llmc_weight_set_close(llmc_weight_set_t *ws);
const llmc_st_tensor_t *llmc_weight_set_find(const llmc_weight_set_t *ws, const char *name);
/* Reads each 4-bit GPTQ or AWQ linear as a tensor NAME.weight F32 [N, K]:
 * method "gptq": NAME.qweight I32 [K/8, N] (input rows k = 8i+j in bits
 * 4j.. of row i), NAME.qzeros I32 [K/G, N/8], NAME.scales F16 [K/G, N],
 * NAME.g_idx I32 [K] when present (it must be k / G: groups in input order);
 * zero_offset 1 for checkpoint_format "gptq", whose zero points are stored
 * minus one. Method "awq" (AutoAWQ's GEMM format): NAME.qweight I32
 * [K, N/8] and qzeros with 8 columns an int32 in the order 0 2 4 6 1 3 5 7.
 * Values (q - zero) * scale (group_size G; -1: one group a row). Each such
 * tensor's source_data holds the same values in one of llmc's layouts
 * (codegen's group layouts: the checkpoint's groups repeated per 32), so a
 * compile stores them without re-quantizing: int4-g32 when every zero point
 * is 8 (source "GPTQ", "AWQ"), int4-g32-zp otherwise ("GPTQ-zp", "AWQ-zp").
 * LLMC_UNIMPLEMENTED for what that cannot hold, naming the tensor. */
LLMC_MUST_USE llmc_status_t *llmc_weight_set_add_packed_int4(llmc_weight_set_t *ws, const char *method,
                                                             int64_t group_size, int zero_offset);
/* Every tensor of the set: i in [0, count), file by file, by name in each. */
int llmc_weight_set_count(const llmc_weight_set_t *ws);
const llmc_st_tensor_t *llmc_weight_set_at(const llmc_weight_set_t *ws, int i);
/* An llmc_weight_lookup_fn over a weight set (ctx is the set). */
bool llmc_weight_set_lookup(void *ctx, const char *name, llmc_weight_view_t *out);
/* The interpreter's view of a safetensors tensor; false for dtypes it
 * does not read (only F32, F16, BF16). */
bool llmc_weight_view_of(const llmc_st_tensor_t *t, llmc_weight_view_t *out);

typedef struct {
  llmc_ir_graph_t *graph;
  llmc_weight_set_t *weights;
  char *tokenizer_path; /* NULL when the model has none */
  char *tokenizer_config_path; /* tokenizer_config.json; NULL when none (or no tokenizer) */
  /* A tokenizer the model file carries (GGUF) as tokenizer.json and
   * tokenizer_config.json text; tokenizer_path then names the model file. */
  char *tokenizer_text;
  char *tokenizer_config_text;
  int64_t max_context;  /* longest sequence the model supports */
  int32_t eos_tokens[LLMC_TOKENIZER_MAX_STOP]; /* stop ids, each below the vocabulary */
  int n_eos_tokens;     /* 0 when unknown */
  char *source;         /* path the model was loaded from */
} llmc_model_t;

LLMC_MUST_USE llmc_status_t *llmc_model_load(const char *path, llmc_model_t **out_model);
void llmc_model_destroy(llmc_model_t *m);
/* Loads the model's tokenizer (if it has one) with its tokenizer_config.json
 * the way `llmc run` will, so a broken or unsupported one fails the compile
 * rather than every later run, and checks that its ids fit the model's
 * vocabulary. A model without stop ids takes the tokenizer's (its
 * tokenizer_config.json's eos_token); without a tokenizer the
 * tokenizer_config is dropped too. */
LLMC_MUST_USE llmc_status_t *llmc_model_check_tokenizer(llmc_model_t *m);
/* The model's tokenizer, from its files or the text the model file
 * carries; LLMC_NOT_FOUND when it has none. */
LLMC_MUST_USE llmc_status_t *llmc_model_tokenizer(const llmc_model_t *m, llmc_tokenizer_t **out);
/* Leaves the tokenizer out (--no-tokenizer). */
void llmc_model_drop_tokenizer(llmc_model_t *m);
/* The checkpoint's weight type, for --weight-dtype=auto: bf16 (f16) when
 * every weight matrix the graph reads is bf16 (f16), so a 16-bit checkpoint
 * stays 16-bit instead of doubling the bytes each decode step reads; f32
 * otherwise, mixed checkpoints included. Vectors (norms, biases) do not
 * count; a GGUF's block-quantized matrices count as f16 (dequantized, their
 * values fit f16 to 2^-11). */
llmc_dtype_t llmc_model_checkpoint_dtype(const llmc_model_t *m);

/* Builds a model from model.json text (exposed for the HF importer and tests).
 * dir is where weight and tokenizer paths are resolved; where names the text
 * in errors. */
LLMC_MUST_USE llmc_status_t *llmc_model_from_json_text(const char *text, size_t len,
                                                       const char *dir, const char *where,
                                                       llmc_model_t **out_model);

/* Hugging Face importer: config.json in dir → model.json text (malloc'd). */
LLMC_MUST_USE llmc_status_t *llmc_hf_config_to_model_json(const char *dir, char **out_json);
/* The model.json text a Hugging Face directory or a GGUF file (*.gguf) is
 * imported as (`llmc import`); a GGUF's weights are named as the
 * description names them, its tokenizer is not part of the text. */
LLMC_MUST_USE llmc_status_t *llmc_model_import_json(const char *path, char **out_json);

#endif
