/* scheduler.c: sequences and the continuous-batching scheduler.
 *
 * Each llmc_rt_step iteration builds one ragged batch (Orca-style iteration
 * level scheduling, Yu et al., OSDI 2022) of at most T_max tokens from at
 * most MAX_SEQS sequences, in this order (SARATHI, Agrawal et al. 2023:
 * decodes first, then prefill chunks fill the remaining token budget, so a
 * long prompt never stalls the sequences that are generating):
 *   1. running sequences with one pending token (decode), oldest first;
 *   2. running sequences part-way through their prompt, a chunk each;
 *   3. waiting sequences, oldest first: new ones, and preempted ones, which
 *      recompute prompt + generated tokens. Admission looks up the prompt's
 *      full blocks in the prefix cache first and computes only the rest, but
 *      always the last token, whose logits give the next token.
 * A sequence samples when its chunk reaches its last token.
 *
 * With a sliding window on every layer (LLMC_PLAN_KV_WINDOW), each
 * sequence gives back the blocks behind its window after each step it runs
 * in and after a prompt hit: a sequence then needs only the blocks of one
 * window at a time (llmc_rt_kv_blocks_for), however long it grows.
 *
 * KV blocks: decode tokens are guaranteed blocks by preempting the newest
 * running sequence not yet in the batch (vLLM's recompute preemption: its
 * blocks are freed; its full blocks stay in the prefix cache, so the
 * recomputation is often a cache hit). Prefill chunks shrink to the blocks
 * that are free rather than preempting; admission stops at the first
 * waiting sequence that does not fit (first come, first served). If nothing
 * at all fits, the newest running sequence is preempted and the iteration
 * is planned again. llmc_rt_seq_add already refused any sequence that could
 * not fit in the whole cache alone, so this always progresses, unless
 * sequences driven by llmc_rt_forward hold the blocks (an error then).
 *
 * Sampling uses each sequence's own rng, drawn once per sampled token, so a
 * sequence produces the same tokens whatever it is batched with and however
 * often it is preempted. */
#include <stdlib.h>
#include <string.h>

#include "rt_impl.h"

/* ---- sequences ---- */

llmc_rt_seq_t *llmc_rt_seq_get(const llmc_rt_t *rt, int seq) {
  if (!rt || seq < 0 || seq >= rt->n_seq_slots || !rt->seqs[seq]) return NULL;
  return rt->seqs[seq];
}

/* A new sequence with room for cap tokens, appended to the add order. */
static llmc_status_t *seq_new(llmc_rt_t *rt, int64_t cap, int *out_id, llmc_rt_seq_t **out) {
  int id = 0;
  while (id < rt->n_seq_slots && rt->seqs[id]) id++;
  if (id == rt->n_seq_slots) {
    if (rt->n_seq_slots > (1 << 24))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "more than 2^24 live sequences");
    int n = rt->n_seq_slots ? 2 * rt->n_seq_slots : 16;
    llmc_rt_seq_t **seqs = realloc(rt->seqs, (size_t)n * sizeof *seqs);
    if (!seqs) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    rt->seqs = seqs;
    int *order = realloc(rt->order, (size_t)n * sizeof *order);
    if (!order) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    rt->order = order;
    for (int i = rt->n_seq_slots; i < n; i++) rt->seqs[i] = NULL;
    rt->n_seq_slots = n;
  }
  llmc_rt_seq_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  s->tokens = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *s->tokens);
  llmc_status_t *st = s->tokens ? llmc_kv_table_init(rt->kv_pool, &s->table)
                                : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (st) {
    free(s->tokens);
    free(s);
    return st;
  }
  s->cap = cap;
  s->arrival = rt->next_arrival++;
  rt->seqs[id] = s;
  rt->order[rt->n_order++] = id;
  *out_id = id;
  *out = s;
  return NULL;
}

/* Most blocks n >= 1 consecutive positions can touch: ceil((n - 1) / bs) + 1. */
static int64_t blocks_spanned(int64_t n, int64_t bs) { return n < 1 ? 0 : (n + bs - 2) / bs + 1; }

int64_t llmc_rt_kv_blocks_for(const llmc_rt_t *rt, int64_t n_tokens) {
  if (!rt || n_tokens < 1) return 0;
  const int64_t bs = rt->hdr[LLMC_PLAN_BLOCK_SIZE], w = rt->hdr[LLMC_PLAN_KV_WINDOW];
  int64_t all = (n_tokens + bs - 1) / bs;
  /* Before a step at position c the sequence keeps [c - w + 1, c) and adds
   * c: w positions. A prefill chunk holds more while it runs, but shrinks to
   * the blocks there are (scheduler), so one window's blocks always progress. */
  if (w <= 0 || w >= n_tokens) return all;
  int64_t win = blocks_spanned(w, bs);
  return win < all ? win : all;
}

llmc_status_t *llmc_rt_seq_add(llmc_rt_t *rt, const int32_t *prompt, int64_t n,
                               const llmc_sampling_t *sampling, int *out_seq) {
  *out_seq = -1;
  if (!rt || !prompt || n < 1)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                      "a sequence needs a prompt of at least one token");
  const int64_t *h = rt->hdr;
  const llmc_sampling_t greedy = {.temperature = 0, .top_p = 1, .eos_token = -1};
  if (!sampling) sampling = &greedy;
  if (sampling->max_new_tokens < 0 || sampling->top_k < 0 || sampling->top_p < 0.0f)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                      "sampling parameters max_new_tokens %d, top_k %d, top_p %g: none may be "
                      "negative",
                      sampling->max_new_tokens, sampling->top_k, (double)sampling->top_p);
  if (sampling->top_logprobs < 0 || sampling->top_logprobs > LLMC_RT_MAX_LOGPROBS)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "top_logprobs %d: at most %d", sampling->top_logprobs,
                      LLMC_RT_MAX_LOGPROBS);
  if (sampling->n_stop_tokens < 0 || sampling->n_stop_tokens > LLMC_RT_MAX_STOP_TOKENS)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "%d stop tokens: at most %d", sampling->n_stop_tokens,
                      LLMC_RT_MAX_STOP_TOKENS);
  for (int64_t i = 0; i < n; i++)
    if (prompt[i] < 0 || prompt[i] >= h[LLMC_PLAN_VOCAB])
      return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                        "prompt token %d at index %lld is outside the vocabulary of %lld",
                        prompt[i], (long long)i, (long long)h[LLMC_PLAN_VOCAB]);
  const int64_t ctx = h[LLMC_PLAN_MAX_CONTEXT];
  int64_t max_new = sampling->max_new_tokens ? sampling->max_new_tokens : ctx - n;
  if (max_new < 1 || n + max_new > ctx)
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "prompt of %lld tokens plus %lld new tokens exceeds the model's context of "
                      "%lld tokens",
                      (long long)n, (long long)(max_new < 1 ? 1 : max_new), (long long)ctx);
  /* The last sampled token is never fed back, so n + max_new - 1 tokens of KV. */
  const int64_t bs = h[LLMC_PLAN_BLOCK_SIZE];
  const int64_t blocks = llmc_rt_kv_blocks_for(rt, n + max_new - 1);
  if (blocks > rt->kv_blocks)
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "prompt of %lld tokens plus %lld new tokens needs %lld KV blocks of %lld "
                      "tokens%s; the cache has only %lld blocks",
                      (long long)n, (long long)max_new, (long long)blocks, (long long)bs,
                      h[LLMC_PLAN_KV_WINDOW] ? " at once" : "", (long long)rt->kv_blocks);
  llmc_rt_seq_t *s;
  LLMC_RETURN_IF_ERROR(seq_new(rt, n + max_new, out_seq, &s));
  memcpy(s->tokens, prompt, (size_t)n * sizeof *prompt);
  s->n_prompt = s->n_tokens = n;
  s->max_new = max_new;
  s->sampling = *sampling;
  s->rng = sampling->seed;
  s->state = LLMC_SEQ_WAITING;
  return NULL;
}

llmc_status_t *llmc_rt_seq_create_empty(llmc_rt_t *rt, int *out_seq) {
  *out_seq = -1;
  if (!rt) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no runtime");
  llmc_rt_seq_t *s;
  LLMC_RETURN_IF_ERROR(seq_new(rt, 0, out_seq, &s));
  s->state = LLMC_SEQ_MANUAL;
  return NULL;
}

void llmc_rt_seq_free(llmc_rt_t *rt, int seq) {
  llmc_rt_seq_t *s = llmc_rt_seq_get(rt, seq);
  if (!s) return;
  llmc_kv_table_destroy(rt->kv_pool, &s->table);
  free(s->tokens);
  free(s);
  rt->seqs[seq] = NULL;
  for (int i = 0; i < rt->n_order; i++) {
    if (rt->order[i] != seq) continue;
    memmove(rt->order + i, rt->order + i + 1, (size_t)(rt->n_order - i - 1) * sizeof *rt->order);
    rt->n_order--;
    break;
  }
}

void llmc_rt_seqs_destroy(llmc_rt_t *rt) {
  for (int i = 0; i < rt->n_seq_slots; i++) llmc_rt_seq_free(rt, i);
  free(rt->seqs);
  free(rt->order);
  rt->seqs = NULL;
  rt->order = NULL;
  rt->n_seq_slots = rt->n_order = 0;
}

llmc_status_t *llmc_rt_seq_get_tokens(const llmc_rt_t *rt, int seq, const int32_t **out_tokens,
                                      int64_t *out_n, int64_t *out_n_prompt) {
  *out_tokens = NULL;
  *out_n = 0;
  if (out_n_prompt) *out_n_prompt = 0;
  const llmc_rt_seq_t *s = llmc_rt_seq_get(rt, seq);
  if (!s) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no sequence %d", seq);
  *out_tokens = s->tokens;
  *out_n = s->n_tokens;
  if (out_n_prompt) *out_n_prompt = s->n_prompt;
  return NULL;
}

/* ---- scheduling ---- */

static void preempt(llmc_rt_t *rt, llmc_rt_seq_t *s) {
  llmc_kv_table_release(rt->kv_pool, &s->table);
  s->n_computed = 0;
  s->state = LLMC_SEQ_WAITING;
  rt->stats.preemptions++;
}

/* The newest running sequence not in the batch, or NULL. */
static llmc_rt_seq_t *newest_unbatched(llmc_rt_t *rt) {
  for (int i = rt->n_order - 1; i >= 0; i--) {
    llmc_rt_seq_t *s = rt->seqs[rt->order[i]];
    if (s->state == LLMC_SEQ_RUNNING && !s->scheduled) return s;
  }
  return NULL;
}

/* With a sliding window on every layer, gives back the blocks that lie
 * wholly before the window of the sequence's next position, n_computed. */
static void drop_behind_window(llmc_rt_t *rt, llmc_rt_seq_t *s) {
  const int64_t w = rt->hdr[LLMC_PLAN_KV_WINDOW];
  if (w > 0) rt->stats.kv_blocks_dropped += llmc_kv_table_drop_before(rt->kv_pool, &s->table, s->n_computed - w + 1);
}

/* Tokens past n_computed the sequence can hold with its blocks plus every
 * available one. */
static int64_t tokens_that_fit(const llmc_rt_t *rt, const llmc_rt_seq_t *s) {
  const int64_t bs = rt->hdr[LLMC_PLAN_BLOCK_SIZE];
  int64_t blocks = (int64_t)s->table.n_blocks + llmc_kv_pool_n_available(rt->kv_pool);
  if (blocks > s->table.max_blocks) blocks = s->table.max_blocks;
  return blocks * bs - s->n_computed;
}

typedef struct {
  int n;          /* sequences in the batch */
  int64_t tokens; /* tokens in the batch */
} batch_t;

static void batch_add(llmc_rt_t *rt, batch_t *b, int id, int64_t chunk) {
  llmc_rt_seq_t *s = rt->seqs[id];
  s->scheduled = true;
  s->chunk = chunk;
  rt->batch[b->n++] = id;
  b->tokens += chunk;
}

/* Plans one iteration into rt->batch. Reservations made here cannot fail:
 * each is checked against the available blocks first. */
static llmc_status_t *schedule(llmc_rt_t *rt, batch_t *b) {
  const int64_t t_max = rt->hdr[LLMC_PLAN_MAX_STEP_TOKENS];
  const int max_seqs = (int)rt->hdr[LLMC_PLAN_MAX_SEQS];
  llmc_kv_pool_t *pool = rt->kv_pool;
  for (;;) {
    *b = (batch_t){0};
    for (int i = 0; i < rt->n_order; i++) {
      rt->seqs[rt->order[i]]->scheduled = false;
      rt->seqs[rt->order[i]]->chunk = 0;
    }
    /* 1. Decodes, oldest first; preempt the newest to make room. */
    for (int i = 0; i < rt->n_order && b->n < max_seqs && b->tokens < t_max; i++) {
      llmc_rt_seq_t *s = rt->seqs[rt->order[i]];
      if (s->state != LLMC_SEQ_RUNNING || s->n_tokens - s->n_computed != 1) continue;
      while (llmc_kv_table_blocks_needed(pool, &s->table, s->n_computed + 1) >
             llmc_kv_pool_n_available(pool)) {
        llmc_rt_seq_t *victim = newest_unbatched(rt);
        preempt(rt, victim); /* never NULL: s itself is running and unbatched */
        if (victim == s) break;
      }
      if (s->state != LLMC_SEQ_RUNNING) continue;
      LLMC_RETURN_IF_ERROR(llmc_kv_table_reserve(pool, &s->table, s->n_computed + 1));
      batch_add(rt, b, rt->order[i], 1);
    }
    /* 2. Running prefills (and recomputations), a chunk each. */
    for (int i = 0; i < rt->n_order && b->n < max_seqs && b->tokens < t_max; i++) {
      llmc_rt_seq_t *s = rt->seqs[rt->order[i]];
      if (s->state != LLMC_SEQ_RUNNING || s->scheduled) continue;
      int64_t chunk = s->n_tokens - s->n_computed, fit = tokens_that_fit(rt, s);
      if (chunk > t_max - b->tokens) chunk = t_max - b->tokens;
      if (chunk > fit) chunk = fit;
      if (chunk <= 0) continue;
      LLMC_RETURN_IF_ERROR(llmc_kv_table_reserve(pool, &s->table, s->n_computed + chunk));
      batch_add(rt, b, rt->order[i], chunk);
    }
    /* 3. Admit waiting sequences in order while they fit. */
    bool blocked = false;
    for (int i = 0; i < rt->n_order && b->n < max_seqs && b->tokens < t_max; i++) {
      llmc_rt_seq_t *s = rt->seqs[rt->order[i]];
      if (s->state != LLMC_SEQ_WAITING) continue;
      int64_t hit = llmc_kv_table_match_prefix(pool, &s->table, s->tokens, s->n_tokens - 1);
      s->n_computed = hit;
      drop_behind_window(rt, s);
      int64_t chunk = s->n_tokens - hit, fit = tokens_that_fit(rt, s);
      if (chunk > t_max - b->tokens) chunk = t_max - b->tokens;
      if (chunk > fit) chunk = fit;
      if (chunk <= 0) {
        llmc_kv_table_release(pool, &s->table); /* give the hit back; try next iteration */
        s->n_computed = 0;
        blocked = true;
        break;
      }
      LLMC_RETURN_IF_ERROR(llmc_kv_table_reserve(pool, &s->table, hit + chunk));
      rt->stats.prefix_hit_tokens += hit;
      s->state = LLMC_SEQ_RUNNING;
      batch_add(rt, b, rt->order[i], chunk);
    }
    if (b->n > 0) return NULL;
    /* Nothing fits. Preempting a running sequence frees blocks for older ones. */
    llmc_rt_seq_t *victim = newest_unbatched(rt);
    if (victim) {
      preempt(rt, victim);
      continue;
    }
    if (!blocked) return NULL; /* no work at all */
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL,
                      "KV cache exhausted: %d of %d blocks are held by sequences driven by "
                      "llmc_rt_forward and the waiting sequences do not fit in the rest",
                      (int)(rt->kv_blocks - llmc_kv_pool_n_available(pool)), (int)rt->kv_blocks);
  }
}

/* Fills meta for the batch, runs the plan, records the computed KV and
 * samples for each sequence whose chunk ended at its last token. */
static llmc_status_t *run_batch(llmc_rt_t *rt, const batch_t *b, llmc_rt_events_t *ev) {
  const int64_t *h = rt->hdr;
  int32_t *m = rt->meta;
  int64_t t = 0;
  for (int i = 0; i < b->n; i++) {
    llmc_rt_seq_t *s = rt->seqs[rt->batch[i]];
    LLMC_RETURN_IF_ERROR(llmc_kv_table_prepare_write(rt->kv_pool, &s->table, s->n_computed,
                                                     s->n_computed + s->chunk));
    for (int64_t j = 0; j < s->chunk; j++, t++) {
      m[h[LLMC_PLAN_META_TOKENS] + t] = s->tokens[s->n_computed + j];
      m[h[LLMC_PLAN_META_POSITIONS] + t] = (int32_t)(s->n_computed + j);
      m[h[LLMC_PLAN_META_SEQ] + t] = i;
    }
    llmc_rt_meta_set_row(rt, i, &s->table);
  }
  /* The rows sampled below: each sequence whose chunk reaches its last
   * token samples from that token's row; greedy ones (as the sampler
   * decides) may get their argmax from the device. */
  int64_t n_rows = 0, end = 0;
  for (int i = 0; i < b->n; i++) {
    const llmc_rt_seq_t *s = rt->seqs[rt->batch[i]];
    end += s->chunk;
    if (s->n_computed + s->chunk < s->n_tokens) continue;
    /* (logprobs need the row on the host, greedy or not.) */
    rt->row_greedy[n_rows] = llmc_sampler_is_greedy(&s->sampling) && !s->sampling.logprobs;
    rt->rows[n_rows++] = end - 1;
  }
  const float *logits;
  LLMC_RETURN_IF_ERROR(
      llmc_rt_run_plan(rt, b->tokens, rt->rows, n_rows, rt->row_greedy, rt->row_ids, &logits));
  const int64_t V = h[LLMC_PLAN_VOCAB];
  int64_t row = 0, sampled = 0;
  for (int i = 0; i < b->n; i++) {
    llmc_rt_seq_t *s = rt->seqs[rt->batch[i]];
    row += s->chunk;
    s->n_computed += s->chunk;
    llmc_kv_table_commit(rt->kv_pool, &s->table, s->tokens, s->n_computed);
    drop_behind_window(rt, s);
    if (s->n_computed < s->n_tokens) continue; /* mid-prompt chunk: nothing to sample */
    int32_t id = rt->row_ids[sampled++];
    int32_t tok = id >= 0 ? id
                          : llmc_sampler_sample(rt->sampler, logits + (row - 1) * V, &s->sampling,
                                                &s->rng);
    s->tokens[s->n_tokens++] = tok;
    rt->stats.tokens_sampled++;
    bool done = s->n_tokens - s->n_prompt >= s->max_new ||
                (s->sampling.eos_token >= 0 && tok == s->sampling.eos_token);
    for (int k = 0; k < s->sampling.n_stop_tokens && !done; k++) done = tok == s->sampling.stop_tokens[k];
    if (done) {
      llmc_kv_table_release(rt->kv_pool, &s->table);
      s->state = LLMC_SEQ_FINISHED;
    }
    llmc_rt_event_t *e = &ev->events[ev->n++];
    *e = (llmc_rt_event_t){.seq = rt->batch[i], .token = tok, .finished = done};
    if (s->sampling.logprobs)
      llmc_sampler_logprobs(rt->sampler, logits + (row - 1) * V, tok, s->sampling.top_logprobs, &e->logprobs);
  }
  return NULL;
}

llmc_status_t *llmc_rt_step(llmc_rt_t *rt, llmc_rt_events_t *out_events) {
  out_events->n = 0;
  out_events->events = rt->events;
  for (;;) {
    batch_t b;
    LLMC_RETURN_IF_ERROR(schedule(rt, &b));
    if (b.n == 0) return NULL;
    LLMC_RETURN_IF_ERROR(run_batch(rt, &b, out_events));
    if (out_events->n > 0) return NULL;
  }
}
