/* llmc_verify.h: compiled artifact vs the reference interpreter, the check
 * behind `llmc compile --verify` and the end-to-end tests. */
#ifndef LLMC_VERIFY_H
#define LLMC_VERIFY_H

#include "llmc_frontend.h"
#include "llmc_rt.h"

typedef struct {
  double max_abs_err;   /* over every logit of every compared position */
  int64_t positions;    /* positions compared */
  int first_mismatch;   /* first greedy step whose argmax differs, -1 if none */
} llmc_verify_result_t;

/* Runs `prompt` (len tokens) through the interpreter and through the
 * artifact (llmc_rt_forward on a fresh sequence, in chunks of the plan's
 * step size, so attention reads through the block table), then `steps`
 * greedy steps on both, feeding the interpreter's choice to both. Compares
 * the logits of every position. out_tokens (len + steps, nullable) receives
 * the prompt and the interpreter's greedy tokens. */
LLMC_MUST_USE llmc_status_t *llmc_verify_greedy(const llmc_model_t *model, llmc_rt_t *rt,
                                                const int32_t *prompt, int len, int steps,
                                                int32_t *out_tokens, llmc_verify_result_t *out);

/* The same, with the interpreter reading weights through `lookup` (e.g. the
 * artifact's own weights.safetensors, so 16-bit weights are compared as
 * stored and the check isolates compilation from rounding). */
LLMC_MUST_USE llmc_status_t *llmc_verify_greedy_with(const llmc_model_t *model,
                                                     llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                                     llmc_rt_t *rt, const int32_t *prompt, int len,
                                                     int steps, int32_t *out_tokens,
                                                     llmc_verify_result_t *out);

/* The check behind `llmc compile --verify` and `llmc tune`: the artifact in
 * out_dir, running on rt (any backend), against the interpreter running
 * the graph of model_path as imported (a fresh load, before any pass) on
 * the weights the artifact stores (weights DCE dropped come from the
 * model's): a 16-token random prompt (fewer for short contexts) and as many
 * greedy steps. */
LLMC_MUST_USE llmc_status_t *llmc_verify_artifact(const char *model_path, const char *out_dir, llmc_rt_t *rt,
                                                  llmc_verify_result_t *out);

#endif
