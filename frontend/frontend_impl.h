/* frontend_impl.h: what the frontend's importers share and nothing else
 * sees. The Hugging Face importer turns a config into model.json through an
 * architecture description; the GGUF importer makes a config of a GGUF
 * file's metadata and goes through the same path, so a family is described
 * once whichever format its weights come in. */
#ifndef LLMC_FRONTEND_IMPL_H
#define LLMC_FRONTEND_IMPL_H

#include <jansson.h>

#include "llmc_frontend.h"
#include "llmc_gguf.h"

typedef struct {
  json_t *weights;           /* model.json "weights": files relative to the model's directory */
  const char *tokenizer;     /* model.json "tokenizer" and "tokenizer_config", or NULL */
  const char *tokenizer_config;
  json_t *generation_config; /* generation_config.json, or NULL */
  json_t *rope_attrs;        /* attributes set on every rope op after the description's, or NULL */
  const char *name;          /* the model's name when the config has none */
} llmc_hf_import_t;

/* config (consumed) → model.json text through the description of
 * config.architectures[0]; where names the config in errors. */
LLMC_MUST_USE llmc_status_t *llmc_hf_model_json(json_t *config, const char *where, const llmc_hf_import_t *imp,
                                                char **out_json);

/* A GGUF file → model.json text, and whether it carries a tokenizer
 * (gguf_model.c). The tokenizer is converted only when asked for
 * (llmc_gguf_tokenizer_json), so --no-tokenizer leaves a broken one out. */
LLMC_MUST_USE llmc_status_t *llmc_gguf_model_json(const char *path, char **out_json, bool *out_has_tokenizer);

/* The tokenizer a GGUF carries as tokenizer.json and tokenizer_config.json
 * text; both NULL when it has none (gguf_tokenizer.c). */
LLMC_MUST_USE llmc_status_t *llmc_gguf_tokenizer_json(const llmc_gguf_t *g, const char *where, char **out_json,
                                                      char **out_config);

/* A GGUF file's tensors under the names the descriptions use, as the weight
 * set serves them: 16- and 32-bit tensors in place, block-quantized ones
 * dequantized to f32 (held by the table). Sorted by name. */
typedef struct llmc_gguf_weights llmc_gguf_weights_t;
LLMC_MUST_USE llmc_status_t *llmc_gguf_weights_open(const char *path, llmc_gguf_weights_t **out);
void llmc_gguf_weights_close(llmc_gguf_weights_t *w);
int llmc_gguf_weights_count(const llmc_gguf_weights_t *w);
const llmc_st_tensor_t *llmc_gguf_weights_at(const llmc_gguf_weights_t *w, int i);
const llmc_st_tensor_t *llmc_gguf_weights_find(const llmc_gguf_weights_t *w, const char *name);

#endif
