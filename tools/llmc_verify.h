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
  /* The largest over positions of |compiled - interpreter|_2 / |interpreter|_2
   * (the logits as vectors): the error's size against the logits'. */
  double max_rel_err;
  /* First greedy step whose argmax differs where the interpreter's logits
   * do not come within that position's max |difference| of a tie: the
   * compiled choice is not a near-tie its error explains. -1 if none. */
  int first_unexplained;
} llmc_verify_result_t;

/* What the artifact's numerics promise (llmc_verify_judge). */
typedef enum {
  LLMC_VERIFY_EXACT,      /* f32 arithmetic everywhere: only summation order differs */
  LLMC_VERIFY_KV16,       /* the KV cache rounds to f16 or bf16 (--kv-cache-dtype), which the interpreter models */
  LLMC_VERIFY_INT8_ACTS,  /* some matmuls round their activations to int8 (--act-quant=int8) */
  LLMC_VERIFY_KV8,        /* the KV cache holds int8 rows (--kv-cache-dtype=int8), which the interpreter models */
} llmc_verify_contract_t;

/* Whether r meets contract c; the bound it was held to in *out_bound (the
 * max |difference| for EXACT, the relative error otherwise). EXACT: max
 * |difference| <= 1e-4 and identical greedy tokens. KV16: relative error
 * <= 3e-3 (measured: 2e-5 to 1.5e-4 on the tests' models, 9.4e-4 for bf16 on
 * a 12-layer 125M one), KV8: <= 1e-2 (measured: 2e-7 to 1.6e-4, the same
 * models; 1.4e-3 with bf16 weights) and INT8_ACTS: <= 5% (measured: 1-2%) at every position, and no
 * unexplained greedy difference. Rounding is discontinuous: the interpreter
 * rounds the same values the same way (KV16, KV8), but the artifact's ~1e-7 differences upstream
 * flip some roundings, each by a unit in the last place of a 16-bit value
 * (2^-11 or 2^-8 relative) or of an int8 step, so the two drift apart by
 * more than summation order and their greedy choices may part at near-ties;
 * the kernels' own arithmetic is checked exactly in unit.codegen.kernels,
 * the model's accuracy in e2e.quant-accuracy. */
bool llmc_verify_judge(const llmc_verify_result_t *r, llmc_verify_contract_t c, double *out_bound);

/* The contract of the artifact open on rt: INT8_ACTS when it has such
 * calls (llmc_artifact_summary_t.int8_activation_calls), else KV16 when its
 * plan's KV pool is 16-bit, else EXACT. */
llmc_verify_contract_t llmc_verify_contract(llmc_rt_t *rt, int int8_activation_calls);

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
