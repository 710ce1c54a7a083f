/* llmc_rt.h: the public C API of libllmc_rt, the runtime that compiled
 * artifacts run on. It knows only the artifact ABI (llmc_abi.h), never the
 * compiler. Errors come back as llmc_status_t (see support/llmc_support.h).
 *
 * Usage:
 *   llmc_rt_open("out/", &opts, &rt);
 *   llmc_rt_seq_add(rt, prompt, n, &sampling, &seq);
 *   while (llmc_rt_step(rt, &events) ok && events.n > 0) ... consume tokens
 *   llmc_rt_seq_free(rt, seq); llmc_rt_close(rt);
 *
 * Each step schedules every active sequence: sequences still in prefill
 * contribute a chunk of their prompt, decoding ones one token, up to the
 * plan's tokens-per-step budget (continuous batching with chunked prefill).
 * A sequence's KV lives in fixed-size blocks from a shared pool, reached
 * through its block table; attention always reads through the table. */
#ifndef LLMC_RT_H
#define LLMC_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc_abi.h"
#include "llmc_support.h"

typedef struct llmc_rt llmc_rt_t;

typedef struct {
  const char *backend; /* "host" (default) */
  int n_threads;       /* 0: all cores */
  int64_t kv_blocks;   /* 0: enough for max_seqs sequences of max_context tokens */
} llmc_rt_options_t;

typedef struct {
  float temperature; /* 0: greedy (argmax) */
  int top_k;         /* 0: off */
  float top_p;       /* 1: off */
  uint64_t seed;
  int max_new_tokens;
  int32_t eos_token; /* -1: none */
} llmc_sampling_t;

LLMC_MUST_USE llmc_status_t *llmc_rt_open(const char *artifact_dir, const llmc_rt_options_t *opts,
                                          llmc_rt_t **out_rt);
void llmc_rt_close(llmc_rt_t *rt);

/* Model facts from the plan header (LLMC_PLAN_* index). */
int64_t llmc_rt_plan_value(const llmc_rt_t *rt, int field);

/* Adds a sequence with its prompt (at least one token). The prompt plus
 * max_new_tokens must fit in the model's context. */
LLMC_MUST_USE llmc_status_t *llmc_rt_seq_add(llmc_rt_t *rt, const int32_t *prompt, int64_t n,
                                             const llmc_sampling_t *sampling, int *out_seq);
void llmc_rt_seq_free(llmc_rt_t *rt, int seq);

typedef struct {
  int seq;
  int32_t token;
  bool finished; /* reached max_new_tokens or eos */
} llmc_rt_event_t;

typedef struct {
  int n;
  llmc_rt_event_t *events; /* owned by rt, valid until the next step */
} llmc_rt_events_t;

/* Runs one iteration over all active sequences. events.n == 0 when nothing is
 * left to do. */
LLMC_MUST_USE llmc_status_t *llmc_rt_step(llmc_rt_t *rt, llmc_rt_events_t *out_events);

/* Low-level entry used by tests and `llmc compile --verify`: runs the plan on
 * an explicit ragged batch for sequence `seq` (tokens at given positions) and
 * returns a pointer to logits[n, vocab] inside the activation arena. */
LLMC_MUST_USE llmc_status_t *llmc_rt_forward(llmc_rt_t *rt, int seq, const int32_t *tokens,
                                             const int32_t *positions, int64_t n,
                                             const float **out_logits);

#endif
