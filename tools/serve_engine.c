/* serve_engine.c: the thread that owns the runtime for `llmc serve`, and the
 * queue through which HTTP threads hand it requests and get tokens back.
 *
 * The engine loop, under the mutex except while stepping:
 *   1. end cancelled sequences (their KV blocks go back to the pool);
 *   2. admit pending requests, first come first served, while fewer than
 *      max_running are in the runtime (the runtime's own scheduler then
 *      batches them: continuous batching with chunked prefill);
 *   3. with nothing running: stop if shutting down, else sleep on `work`;
 *   4. unlock, llmc_rt_step, lock, append each event's token to its request
 *      and wake its handler; finished sequences are freed at once.
 * Handlers only touch request fields under the mutex and never the runtime,
 * so the runtime is used by one thread only, as it requires.
 *
 * Not here: priorities, per-client fairness, timeouts (a request runs to its
 * max_tokens unless its client goes away or a stop condition is met). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_cli.h"
#include "serve.h"

const double llmc_serve_hist_bounds[LLMC_SERVE_HIST_BOUNDS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static void observe(llmc_serve_hist_t *h, double seconds) {
  int i = 0;
  while (i < LLMC_SERVE_HIST_BOUNDS && seconds > llmc_serve_hist_bounds[i]) i++;
  h->counts[i]++;
  h->n++;
  h->sum += seconds;
}

struct llmc_serve_engine {
  llmc_rt_t *rt;
  int max_running, max_pending;
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t work; /* the engine sleeps here when idle */
  /* Guarded by mu. */
  bool stopping;
  llmc_serve_req_t *pending_head, *pending_tail;
  int n_pending;
  llmc_serve_req_t **running; /* [max_running] */
  int n_running;
  llmc_serve_metrics_t metrics;
};

llmc_status_t *llmc_serve_engine_create(llmc_rt_t *rt, int max_running, int max_pending,
                                        llmc_serve_engine_t **out_engine) {
  *out_engine = NULL;
  if (max_running < 1 || max_pending < 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "max_running %d must be >= 1, max_pending %d >= 0",
                      max_running, max_pending);
  llmc_serve_engine_t *e = calloc(1, sizeof *e);
  if (!e) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  e->running = calloc((size_t)max_running, sizeof *e->running);
  if (!e->running) {
    free(e);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  e->rt = rt;
  e->max_running = max_running;
  e->max_pending = max_pending;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->work, NULL);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  e->metrics.kv_blocks_total = st.kv_blocks_total;
  e->metrics.kv_blocks_available = st.kv_blocks_available;
  *out_engine = e;
  return NULL;
}

void llmc_serve_engine_destroy(llmc_serve_engine_t *e) {
  if (!e) return;
  pthread_cond_destroy(&e->work);
  pthread_mutex_destroy(&e->mu);
  free(e->running);
  free(e);
}

llmc_status_t *llmc_serve_req_create(int32_t *prompt, int64_t n_prompt, const llmc_sampling_t *sampling,
                                     llmc_serve_req_t **out_req) {
  *out_req = NULL;
  if (n_prompt < 1 || sampling->max_new_tokens < 1) {
    free(prompt);
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "a request needs a prompt and max_new_tokens >= 1");
  }
  llmc_serve_req_t *r = calloc(1, sizeof *r);
  int32_t *tokens = malloc((size_t)sampling->max_new_tokens * sizeof *tokens);
  llmc_rt_logprobs_t *lps = sampling->logprobs ? malloc((size_t)sampling->max_new_tokens * sizeof *lps) : NULL;
  if (!r || !tokens || (sampling->logprobs && !lps)) {
    free(r);
    free(tokens);
    free(lps);
    free(prompt);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  r->prompt = prompt;
  r->n_prompt = n_prompt;
  r->sampling = *sampling;
  r->tokens = tokens;
  r->logprobs = lps;
  r->seq = -1;
  r->refs = 1;
  pthread_cond_init(&r->cv, NULL);
  *out_req = r;
  return NULL;
}

static void req_free(llmc_serve_req_t *r) {
  pthread_cond_destroy(&r->cv);
  free(r->tokens);
  free(r->logprobs);
  free(r->prompt);
  free(r);
}

/* Called with mu held. */
static void req_unref_locked(llmc_serve_req_t *r) {
  if (--r->refs == 0) req_free(r);
}

void llmc_serve_req_release(llmc_serve_engine_t *e, llmc_serve_req_t *req) {
  if (!req) return;
  pthread_mutex_lock(&e->mu);
  req_unref_locked(req);
  pthread_mutex_unlock(&e->mu);
}

llmc_status_t *llmc_serve_engine_submit(llmc_serve_engine_t *e, llmc_serve_req_t *req) {
  llmc_status_t *s = NULL;
  pthread_mutex_lock(&e->mu);
  if (e->stopping) {
    s = LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "the server is shutting down");
  } else if (e->n_pending + e->n_running >= e->max_pending + e->max_running) {
    e->metrics.requests_rejected++;
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL,
                   "the server is busy: %d requests running and %d waiting, the most it queues; "
                   "retry later",
                   e->n_running, e->n_pending);
  } else {
    req->refs++; /* the engine's reference */
    req->t_submit = llmc_cli_now();
    req->next = NULL;
    if (e->pending_tail) e->pending_tail->next = req;
    else e->pending_head = req;
    e->pending_tail = req;
    e->n_pending++;
    e->metrics.requests_total++;
    e->metrics.pending = e->n_pending;
    pthread_cond_signal(&e->work);
  }
  pthread_mutex_unlock(&e->mu);
  return s;
}

int64_t llmc_serve_engine_wait(llmc_serve_engine_t *e, llmc_serve_req_t *req, int64_t n_seen,
                               int32_t *out, llmc_rt_logprobs_t *out_logprobs, bool *out_finished,
                               int *out_error_http, char *err, size_t err_cap) {
  pthread_mutex_lock(&e->mu);
  while (req->n_tokens <= n_seen && !req->finished) pthread_cond_wait(&req->cv, &e->mu);
  int64_t n = req->n_tokens;
  if (n > n_seen) memcpy(out, req->tokens + n_seen, (size_t)(n - n_seen) * sizeof *out);
  if (n > n_seen && out_logprobs && req->logprobs)
    memcpy(out_logprobs, req->logprobs + n_seen, (size_t)(n - n_seen) * sizeof *out_logprobs);
  *out_finished = req->finished;
  *out_error_http = req->error_http;
  if (req->error_http && err_cap) snprintf(err, err_cap, "%s", req->error);
  pthread_mutex_unlock(&e->mu);
  return n;
}

void llmc_serve_engine_cancel(llmc_serve_engine_t *e, llmc_serve_req_t *req) {
  pthread_mutex_lock(&e->mu);
  if (!req->finished && !req->cancelled) {
    req->cancelled = true;
    pthread_cond_signal(&e->work);
  }
  pthread_mutex_unlock(&e->mu);
}

void llmc_serve_engine_metrics(llmc_serve_engine_t *e, llmc_serve_metrics_t *out) {
  pthread_mutex_lock(&e->mu);
  *out = e->metrics;
  pthread_mutex_unlock(&e->mu);
}

bool llmc_serve_engine_stopping(llmc_serve_engine_t *e) {
  pthread_mutex_lock(&e->mu);
  bool stopping = e->stopping;
  pthread_mutex_unlock(&e->mu);
  return stopping;
}

/* ---- the engine thread (all below runs with mu held unless said) ---- */

/* Ends r for good: frees its sequence, wakes its handler, drops the
 * engine's reference. error_http 0 is a normal end. */
static void finish_locked(llmc_serve_engine_t *e, llmc_serve_req_t *r, int error_http, const char *msg) {
  if (r->seq >= 0) llmc_rt_seq_free(e->rt, r->seq);
  r->seq = -1;
  r->finished = true;
  observe(&e->metrics.latency, llmc_cli_now() - r->t_submit);
  if (error_http) {
    r->error_http = error_http;
    snprintf(r->error, sizeof r->error, "%s", msg);
    e->metrics.requests_failed++;
  }
  pthread_cond_signal(&r->cv);
  req_unref_locked(r);
}

static void remove_running(llmc_serve_engine_t *e, int i) {
  e->running[i] = e->running[--e->n_running];
}

static void admit_and_cancel(llmc_serve_engine_t *e) {
  for (int i = 0; i < e->n_running;) {
    llmc_serve_req_t *r = e->running[i];
    if (r->cancelled) {
      e->metrics.requests_cancelled++;
      remove_running(e, i);
      finish_locked(e, r, 0, NULL);
    } else {
      i++;
    }
  }
  while (e->pending_head && e->n_running < e->max_running) {
    llmc_serve_req_t *r = e->pending_head;
    e->pending_head = r->next;
    if (!e->pending_head) e->pending_tail = NULL;
    e->n_pending--;
    if (r->cancelled) {
      e->metrics.requests_cancelled++;
      finish_locked(e, r, 0, NULL);
      continue;
    }
    /* The handler checked the prompt against the vocabulary and context,
     * so a refusal here is the KV cache being too small for it (400: the
     * same request can never fit), or out of memory (503). */
    llmc_status_t *s = llmc_rt_seq_add(e->rt, r->prompt, r->n_prompt, &r->sampling, &r->seq);
    if (s) {
      int http = llmc_status_code(s) == LLMC_RESOURCE_EXHAUSTED ? 503 : 400;
      finish_locked(e, r, http, llmc_status_message(s));
      llmc_status_free(s);
      continue;
    }
    e->metrics.prompt_tokens_total += r->n_prompt;
    e->running[e->n_running++] = r;
  }
  e->metrics.running = e->n_running;
  e->metrics.pending = e->n_pending;
}

static void refresh_stats(llmc_serve_engine_t *e) {
  llmc_rt_stats_t st;
  llmc_rt_stats_get(e->rt, &st);
  e->metrics.kv_blocks_total = st.kv_blocks_total;
  e->metrics.kv_blocks_available = st.kv_blocks_available;
  e->metrics.preemptions = st.preemptions;
  e->metrics.kv_blocks_dropped = st.kv_blocks_dropped;
  e->metrics.prefix_hit_tokens = st.prefix_hit_tokens;
}

static void *engine_main(void *arg) {
  llmc_serve_engine_t *e = arg;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    admit_and_cancel(e);
    refresh_stats(e);
    if (e->n_running == 0) {
      if (e->stopping && !e->pending_head) break;
      /* Idle: a cheap moment to check the KV bookkeeping (no sequence
       * should hold a block now), counted for /metrics. */
      llmc_status_t *inv = llmc_rt_check_invariants(e->rt);
      if (inv) e->metrics.invariant_failures++;
      llmc_status_free(inv);
      while (!e->pending_head && !e->stopping) pthread_cond_wait(&e->work, &e->mu);
      continue;
    }
    pthread_mutex_unlock(&e->mu);
    llmc_rt_events_t ev = {0};
    llmc_status_t *s = llmc_rt_step(e->rt, &ev);
    pthread_mutex_lock(&e->mu);
    if (s || ev.n == 0) {
      /* A failing step (a device error) fails what is running; with
       * nothing to do although sequences run, they cannot progress. Either
       * way their handlers get a 500 rather than waiting forever. */
      char msg[512];
      snprintf(msg, sizeof msg, "the runtime failed: %s",
               s ? llmc_status_message(s) : "no progress with sequences running");
      llmc_status_free(s);
      while (e->n_running) {
        llmc_serve_req_t *r = e->running[0];
        remove_running(e, 0);
        finish_locked(e, r, 500, msg);
      }
      continue;
    }
    for (int k = 0; k < ev.n; k++) {
      int i = 0;
      while (i < e->n_running && e->running[i]->seq != ev.events[k].seq) i++;
      if (i == e->n_running) continue; /* cannot happen: every sequence is a request's */
      llmc_serve_req_t *r = e->running[i];
      double now = llmc_cli_now();
      observe(r->n_tokens ? &e->metrics.itl : &e->metrics.ttft, now - (r->n_tokens ? r->t_last : r->t_submit));
      r->t_last = now;
      if (r->n_tokens < r->sampling.max_new_tokens) {
        if (r->logprobs) r->logprobs[r->n_tokens] = ev.events[k].logprobs;
        r->tokens[r->n_tokens++] = ev.events[k].token;
      }
      e->metrics.generation_tokens_total++;
      if (ev.events[k].finished || r->n_tokens == r->sampling.max_new_tokens) {
        remove_running(e, i);
        finish_locked(e, r, 0, NULL);
      } else {
        pthread_cond_signal(&r->cv);
      }
    }
  }
  e->metrics.running = e->metrics.pending = 0;
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

llmc_status_t *llmc_serve_engine_start(llmc_serve_engine_t *e) {
  int rc = pthread_create(&e->thread, NULL, engine_main, e);
  if (rc) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "cannot start the engine thread: %s", strerror(rc));
  e->started = true;
  return NULL;
}

void llmc_serve_engine_stop(llmc_serve_engine_t *e) {
  if (!e || !e->started) return;
  pthread_mutex_lock(&e->mu);
  e->stopping = true;
  pthread_cond_signal(&e->work);
  pthread_mutex_unlock(&e->mu);
  pthread_join(e->thread, NULL);
  e->started = false;
}
