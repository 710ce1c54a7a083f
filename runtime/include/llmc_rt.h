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
  /* "auto" (NULL too): the first GPU backend (cuda, hip, level-zero, in that
   * order) whose driver loads, has a device, and for which the artifact has
   * a usable image; else "host". Naming a backend uses it or fails with
   * LLMC_UNAVAILABLE in one sentence (no driver, no device, no image for the
   * device: naming the device and the artifact's targets). */
  const char *backend;
  int n_threads;       /* 0: all cores */
  int64_t kv_blocks;   /* 0: enough for max_seqs sequences of max_context tokens
                          (with a sliding window on every layer: of a window and a step) */
  bool profile;        /* time every kernel launch (llmc_rt_profile_get); costs a
                        * timestamp per launch. LLMC_UNAVAILABLE at open on a
                        * backend that cannot (level-zero, for now) */
  bool synthetic_weights; /* benchmarks: fill the weights with small values instead of
                             reading weights.safetensors (which may then be absent) */
} llmc_rt_options_t;

/* The most stop ids a sequence takes besides eos_token. */
#define LLMC_RT_MAX_STOP_TOKENS 32
/* The most alternatives a sampled token's log-probabilities list. */
#define LLMC_RT_MAX_LOGPROBS 20

typedef struct {
  float temperature; /* 0: greedy (argmax) */
  int top_k;         /* 0: off */
  float top_p;       /* 1: off (0 is off too) */
  uint64_t seed;
  int max_new_tokens; /* 0: up to the model's context */
  int32_t eos_token; /* -1: none */
  /* More stop ids (a model may have several: Llama 3.1's three, Qwen's two);
   * generation ends at eos_token or any of these. */
  int32_t stop_tokens[LLMC_RT_MAX_STOP_TOKENS];
  int n_stop_tokens; /* 0..LLMC_RT_MAX_STOP_TOKENS */
  /* Each sampled token's log-probability under the model (log-softmax of
   * its logits: before temperature, top-k and top-p) and those of the
   * top_logprobs most likely tokens (0..LLMC_RT_MAX_LOGPROBS) in the event.
   * Such a sequence's logits come to the host even when it is greedy. */
  bool logprobs;
  int top_logprobs;
} llmc_sampling_t;

LLMC_MUST_USE llmc_status_t *llmc_rt_open(const char *artifact_dir, const llmc_rt_options_t *opts,
                                          llmc_rt_t **out_rt);
void llmc_rt_close(llmc_rt_t *rt);

/* The backend the runtime chose ("host", "cuda", "hip", "level-zero") and a
 * line describing its device and the image it runs (borrowed, valid until
 * close). */
const char *llmc_rt_backend_name(const llmc_rt_t *rt);
const char *llmc_rt_device_describe(const llmc_rt_t *rt);

/* What a GPU backend finds without an artifact: its driver's first device. */
typedef struct {
  char name[256];  /* "NVIDIA H100 80GB HBM3" */
  char target[64]; /* the target name to compile for: "sm_90", "gfx942", "spirv" */
  int n_devices;
} llmc_rt_device_info_t;

/* Loads `backend`'s driver and describes its first device. LLMC_UNAVAILABLE
 * (one sentence) when the driver or a device is missing; "host" describes
 * the CPU. Nothing stays loaded. */
LLMC_MUST_USE llmc_status_t *llmc_rt_probe_device(const char *backend,
                                                  llmc_rt_device_info_t *out_info);

/* Model facts from the plan header (LLMC_PLAN_* index). */
int64_t llmc_rt_plan_value(const llmc_rt_t *rt, int field);

/* The KV blocks a sequence of n_tokens cached tokens holds at most at once
 * when run by llmc_rt_step: all of its blocks, or, when every layer attends
 * through a sliding window (LLMC_PLAN_KV_WINDOW), the blocks one window
 * spans (older ones are given back as it goes). */
int64_t llmc_rt_kv_blocks_for(const llmc_rt_t *rt, int64_t n_tokens);

/* Adds a sequence with its prompt (at least one token) for llmc_rt_step to
 * schedule. The prompt plus max_new_tokens must fit in the model's context
 * and its KV (llmc_rt_kv_blocks_for) in the whole cache (LLMC_OUT_OF_RANGE
 * otherwise, naming the numbers). Sequence ids are small non-negative integers; a freed id may be
 * reused. */
LLMC_MUST_USE llmc_status_t *llmc_rt_seq_add(llmc_rt_t *rt, const int32_t *prompt, int64_t n,
                                             const llmc_sampling_t *sampling, int *out_seq);
/* Adds a sequence that llmc_rt_step never schedules: its caller drives it
 * with llmc_rt_forward. */
LLMC_MUST_USE llmc_status_t *llmc_rt_seq_create_empty(llmc_rt_t *rt, int *out_seq);
/* Ends a sequence (finished or not) and releases its KV blocks; full blocks
 * stay cached for prefix reuse until the pool needs them. */
void llmc_rt_seq_free(llmc_rt_t *rt, int seq);
/* The sequence's prompt followed by the tokens generated so far (borrowed,
 * valid until the next call that changes the runtime). */
LLMC_MUST_USE llmc_status_t *llmc_rt_seq_get_tokens(const llmc_rt_t *rt, int seq,
                                                    const int32_t **out_tokens, int64_t *out_n,
                                                    int64_t *out_n_prompt);

typedef struct {
  float logprob; /* the sampled token's */
  int n_top;     /* the most likely tokens, best first (ties: lower id first) */
  int32_t top_ids[LLMC_RT_MAX_LOGPROBS];
  float top_logprobs[LLMC_RT_MAX_LOGPROBS];
} llmc_rt_logprobs_t;

typedef struct {
  int seq;
  int32_t token;
  bool finished; /* reached max_new_tokens or eos */
  llmc_rt_logprobs_t logprobs; /* with the sequence's sampling.logprobs; else zero */
} llmc_rt_event_t;

typedef struct {
  int n;
  llmc_rt_event_t *events; /* owned by rt, valid until the next step */
} llmc_rt_events_t;

/* Runs one iteration over all active sequences; when an iteration only
 * advanced prefill chunks (no token sampled), it runs further iterations, so
 * every call that returns events.n == 0 means nothing is left to do. */
LLMC_MUST_USE llmc_status_t *llmc_rt_step(llmc_rt_t *rt, llmc_rt_events_t *out_events);

/* Low-level entry used by tests and `llmc compile --verify`: runs the plan on
 * an explicit ragged batch for sequence `seq` (tokens at given positions) and
 * returns a pointer to logits[n, vocab] inside the activation arena
 * (valid until the next forward or step). 1 <= n <= MAX_STEP_TOKENS; each
 * position below MAX_CONTEXT. The sequence gets KV blocks for every position
 * up to the largest one given. `seq` comes from llmc_rt_seq_create_empty, or
 * from llmc_rt_seq_add before any step ran it (it then leaves the
 * scheduler's care for good). */
LLMC_MUST_USE llmc_status_t *llmc_rt_forward(llmc_rt_t *rt, int seq, const int32_t *tokens,
                                             const int32_t *positions, int64_t n,
                                             const float **out_logits);

/* Counters since open. */
typedef struct {
  int64_t iterations;        /* plan executions */
  int64_t tokens_computed;   /* tokens run through the plan */
  int64_t tokens_sampled;
  int64_t prefix_hit_tokens; /* prompt tokens skipped thanks to cached KV blocks */
  int64_t preemptions;       /* sequences evicted to free KV blocks, recomputed later */
  int64_t kv_blocks_total;
  int64_t kv_blocks_available; /* free now, including cached unreferenced blocks */
  int64_t kv_blocks_dropped;   /* blocks given back behind every layer's sliding window */
} llmc_rt_stats_t;
void llmc_rt_stats_get(const llmc_rt_t *rt, llmc_rt_stats_t *out_stats);

/* Debug check of the KV cache bookkeeping (refcounts match block tables, no
 * block leaked or owned twice). NULL when it holds; LLMC_INTERNAL otherwise. */
LLMC_MUST_USE llmc_status_t *llmc_rt_check_invariants(const llmc_rt_t *rt);

/* Measures the machine's memory read bandwidth (a STREAM-like sum over a
 * `bytes`-sized buffer on n_threads threads, best of `repeats`), in GB/s. */
LLMC_MUST_USE llmc_status_t *llmc_rt_measure_read_bandwidth(int n_threads, uint64_t bytes,
                                                            int repeats, double *out_gb_per_s);

/* Measures the copy bandwidth of the memory rt's backend runs on: a
 * `bytes`-long buffer copied within that memory (device to device on a
 * GPU), best of `repeats` copies after a warm-up, counting every byte read
 * and written (2 * bytes per copy), in GB/s. Allocates two buffers of
 * `bytes` on the device for the duration. */
LLMC_MUST_USE llmc_status_t *llmc_rt_measure_copy_bandwidth(llmc_rt_t *rt, uint64_t bytes,
                                                            int repeats, double *out_gb_per_s);

/* With llmc_rt_options_t.profile: per kernel of the artifact, its name,
 * how many launches ran and their total time since open (device time
 * between timestamps queued around each launch on a GPU, wall time on the
 * host). *out points at n_kernels entries owned by rt; returns n_kernels,
 * or 0 without profiling. */
typedef struct {
  const char *kernel;
  int64_t calls;
  double ms;
} llmc_rt_kernel_time_t;
int64_t llmc_rt_profile_get(const llmc_rt_t *rt, const llmc_rt_kernel_time_t **out);
/* Zeroes the profile's counts and times (a benchmark's warm-up excluded). */
void llmc_rt_profile_reset(llmc_rt_t *rt);

#endif
