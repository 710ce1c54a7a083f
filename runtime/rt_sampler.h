/* rt_sampler.h: token sampling from one row of logits (internal).
 *
 * Greedy (temperature <= 0 or top_k == 1): argmax, ties to the lowest id.
 * Otherwise softmax(logits / temperature), restricted to the top_k most
 * likely tokens (top_k > 0) and then to the smallest set whose probability
 * reaches top_p (nucleus sampling, Holtzman et al. 2020; 0 < top_p < 1), and
 * one draw of llmc_rng_uniform from the sequence's own rng state, so a run
 * is reproducible per sequence seed whatever else is batched with it.
 * Candidates are ordered by (probability desc, id asc), so ties never depend
 * on sort stability. All scratch is sized at create; sampling allocates
 * nothing. */
#ifndef LLMC_RT_SAMPLER_H
#define LLMC_RT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc_rt.h"

typedef struct llmc_sampler llmc_sampler_t;

LLMC_MUST_USE llmc_status_t *llmc_sampler_create(int64_t vocab, llmc_sampler_t **out_sampler);
void llmc_sampler_destroy(llmc_sampler_t *s);

int32_t llmc_sampler_argmax(const float *logits, int64_t vocab);
/* True when params make llmc_sampler_sample take the argmax (temperature 0
 * or top_k 1): then the id may come from the device's argmax kernel
 * instead (rt.c), which breaks ties the same way. */
bool llmc_sampler_is_greedy(const llmc_sampling_t *params);
/* Samples one token id from logits[vocab]; advances *rng only when it draws. */
int32_t llmc_sampler_sample(llmc_sampler_t *s, const float *logits, const llmc_sampling_t *params,
                            uint64_t *rng);
/* token's log-softmax over logits[vocab] (computed in double), and the
 * n_top (<= LLMC_RT_MAX_LOGPROBS) largest, best first, ties to the lower id. */
void llmc_sampler_logprobs(const llmc_sampler_t *s, const float *logits, int32_t token, int n_top,
                           llmc_rt_logprobs_t *out);

#endif
