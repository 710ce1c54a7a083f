/* serve.h: the parts of `llmc serve` (serve.c: the command and the HTTP API;
 * serve_engine.c: the engine thread and the queue between it and the HTTP
 * threads; serve_text.c: turning sampled tokens into completion text).
 *
 * Threads: one engine thread owns the runtime (llmc_rt_t is not thread-safe)
 * and alone calls it after start. HTTP handler threads build requests,
 * submit them, and wait on the request's condition variable for tokens. All
 * shared request state is guarded by the engine's one mutex. */
#ifndef LLMC_SERVE_H
#define LLMC_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "llmc_rt.h"
#include "llmc_support.h"
#include "llmc_tokenizer.h"

typedef struct llmc_serve_engine llmc_serve_engine_t;

/* One generation request. Created by a handler, shared with the engine from
 * submit on; freed by whichever of the two releases it last. */
typedef struct llmc_serve_req {
  /* Set before submit; read-only afterwards. */
  int32_t *prompt;          /* [n_prompt], owned */
  int64_t n_prompt;
  llmc_sampling_t sampling; /* max_new_tokens >= 1 */
  /* Guarded by the engine's mutex. */
  pthread_cond_t cv;  /* signalled when tokens arrive or the request ends */
  int32_t *tokens;    /* [max_new_tokens] sampled so far, allocated once */
  llmc_rt_logprobs_t *logprobs; /* [max_new_tokens] with sampling.logprobs, else NULL */
  int64_t n_tokens;
  bool finished;      /* no more tokens will come */
  int error_http;     /* 0, or the HTTP status of a failure the engine met */
  char error[512];    /* its message */
  bool cancelled;     /* the handler wants no more tokens */
  int refs;           /* 2 while both sides hold it */
  /* Engine only. */
  int seq;            /* runtime sequence id, -1 until admitted */
  double t_submit, t_last; /* monotonic seconds: submitted, last token */
  struct llmc_serve_req *next; /* pending FIFO */
} llmc_serve_req_t;

/* A Prometheus histogram of seconds: counts[i] observations at most
 * llmc_serve_hist_bounds[i] (not cumulative), counts[N] above them all. */
enum { LLMC_SERVE_HIST_BOUNDS = 15 };
extern const double llmc_serve_hist_bounds[LLMC_SERVE_HIST_BOUNDS];
typedef struct {
  int64_t counts[LLMC_SERVE_HIST_BOUNDS + 1];
  int64_t n;
  double sum;
} llmc_serve_hist_t;

/* What /metrics shows; a snapshot the engine refreshes after each step.
 * Times are the engine's: from submission to the step that sampled a
 * token, not to the client receiving it. */
typedef struct {
  llmc_serve_hist_t ttft;    /* submission to first token */
  llmc_serve_hist_t itl;     /* between consecutive tokens of a request */
  llmc_serve_hist_t latency; /* submission to the end (finished or cancelled) */
  int64_t requests_total, requests_rejected, requests_cancelled, requests_failed;
  int64_t prompt_tokens_total, generation_tokens_total;
  int64_t running, pending;
  int64_t kv_blocks_total, kv_blocks_available, preemptions, prefix_hit_tokens, kv_blocks_dropped;
  int64_t invariant_failures; /* KV bookkeeping checks that failed when idle */
} llmc_serve_metrics_t;

/* rt is borrowed and must not be touched by anyone else between start and
 * stop. At most max_running requests are in the runtime at once, and at
 * most max_pending wait for a slot; submit refuses more. */
LLMC_MUST_USE llmc_status_t *llmc_serve_engine_create(llmc_rt_t *rt, int max_running, int max_pending,
                                                      llmc_serve_engine_t **out_engine);
LLMC_MUST_USE llmc_status_t *llmc_serve_engine_start(llmc_serve_engine_t *e);
/* Refuses new requests, lets every admitted one finish, joins the thread. */
void llmc_serve_engine_stop(llmc_serve_engine_t *e);
void llmc_serve_engine_destroy(llmc_serve_engine_t *e);

/* A request owning `prompt` (taken, even on failure). */
LLMC_MUST_USE llmc_status_t *llmc_serve_req_create(int32_t *prompt, int64_t n_prompt,
                                                   const llmc_sampling_t *sampling,
                                                   llmc_serve_req_t **out_req);
/* Hands req to the engine. LLMC_RESOURCE_EXHAUSTED when the queue is full,
 * LLMC_UNAVAILABLE when shutting down; the caller still owns req then. */
LLMC_MUST_USE llmc_status_t *llmc_serve_engine_submit(llmc_serve_engine_t *e, llmc_serve_req_t *req);
/* Blocks until req has more than n_seen tokens or has finished; copies
 * tokens [n_seen, n) into out[0, n - n_seen) (out holds max_new_tokens),
 * and their log-probabilities likewise into out_logprobs when it and the
 * request's sampling.logprobs are set, and returns n. *out_finished: no more will come. A failure the engine met
 * comes back as *out_error_http (0 if none) and its message in err. */
int64_t llmc_serve_engine_wait(llmc_serve_engine_t *e, llmc_serve_req_t *req, int64_t n_seen,
                               int32_t *out, llmc_rt_logprobs_t *out_logprobs, bool *out_finished,
                               int *out_error_http, char *err, size_t err_cap);
/* Asks the engine to end req's sequence now (its KV blocks are freed). */
void llmc_serve_engine_cancel(llmc_serve_engine_t *e, llmc_serve_req_t *req);
/* Drops the caller's reference: a handler's after it has answered, whether
 * or not it submitted req. */
void llmc_serve_req_release(llmc_serve_engine_t *e, llmc_serve_req_t *req);
void llmc_serve_engine_metrics(llmc_serve_engine_t *e, llmc_serve_metrics_t *out);
bool llmc_serve_engine_stopping(llmc_serve_engine_t *e);

/* ---- serve_text.c: tokens to completion text ---- */

/* Stop conditions and the text decoded so far for one completion. Used by
 * one handler thread only. */
typedef struct {
  const llmc_tokenizer_t *tok; /* NULL: no text, ids only */
  const int32_t *eos_ids;      /* the model's stop ids (generation.json; none with ignore_eos) */
  int n_eos_ids;
  const int32_t *stop_ids;
  int n_stop_ids;
  const char *const *stops;    /* stop strings, each 1..LLMC_SERVE_MAX_STOP_LEN bytes */
  int n_stops;
  llmc_buf_t text;   /* completion bytes, cut before a stop string */
  size_t emitted;    /* bytes of text already streamed */
  int64_t n_accepted; /* tokens counted as the completion (a stop token included) */
  const char *finish_reason; /* NULL while generating, "stop" or "length" */
} llmc_serve_text_t;

enum { LLMC_SERVE_MAX_STOPS = 16, LLMC_SERVE_MAX_STOP_LEN = 256 };

/* Feeds sampled tokens; once a stop is met, the rest are ignored and
 * finish_reason is "stop" (the caller then cancels the sequence). */
LLMC_MUST_USE llmc_status_t *llmc_serve_text_feed(llmc_serve_text_t *t, const int32_t *ids, int64_t n);
/* With finished (the engine sends no more): sets finish_reason "length" if
 * no stop was met. */
void llmc_serve_text_finish(llmc_serve_text_t *t);
/* How many bytes of text may be streamed now: all once finished; before,
 * everything except a tail that may still turn into a stop string or that
 * ends inside a UTF-8 sequence. */
size_t llmc_serve_text_safe_len(const llmc_serve_text_t *t);
/* Appends s[0, n) to out as valid UTF-8, each ill-formed sequence replaced
 * by U+FFFD (JSON strings must be valid UTF-8; tokens need not be). */
void llmc_serve_utf8_sanitize(llmc_buf_t *out, const char *s, size_t n);

#endif
