/* rt_impl.h: the runtime object shared by rt.c (artifact loading, plan
 * execution, forward) and scheduler.c (sequences, continuous batching).
 * Internal: nothing outside runtime/ includes it. */
#ifndef LLMC_RT_IMPL_H
#define LLMC_RT_IMPL_H

#include "llmc_rt.h"
#include "rt_backend.h"
#include "rt_kv_cache.h"
#include "rt_sampler.h"

typedef enum {
  LLMC_SEQ_UNUSED,   /* free slot */
  LLMC_SEQ_MANUAL,   /* driven by llmc_rt_forward; never scheduled */
  LLMC_SEQ_WAITING,  /* holds no KV: not started yet, or preempted */
  LLMC_SEQ_RUNNING,  /* holds KV blocks for tokens [0, n_computed) */
  LLMC_SEQ_FINISHED, /* done; blocks released, tokens kept until seq_free */
} llmc_seq_state_t;

typedef struct {
  llmc_seq_state_t state;
  int32_t *tokens;       /* [cap] prompt, then sampled tokens */
  int64_t n_prompt;      /* prompt length */
  int64_t n_tokens;      /* prompt + sampled so far */
  int64_t cap;           /* n_prompt + max_new */
  int64_t max_new;       /* tokens to sample at most */
  int64_t n_computed;    /* tokens [0, n_computed) have KV in the cache */
  llmc_sampling_t sampling;
  uint64_t rng;          /* sampler state, seeded from sampling.seed */
  uint64_t arrival;      /* add order; preemption evicts the largest */
  llmc_kv_table_t table; /* the sequence's block table */
  int64_t chunk;         /* tokens scheduled in the current iteration */
  bool scheduled;        /* in the current iteration's batch */
} llmc_rt_seq_t;

struct llmc_rt {
  /* The artifact. */
  void *dl;                              /* dlopen handle of model.so */
  int so_fd;                             /* model.so, open while loaded (dlopen_checked); -1: none */
  const llmc_model_v1_t *model;          /* its llmc_model_v1 */
  int64_t hdr[LLMC_PLAN_HEADER_LEN];     /* plan header, validated */
  int64_t n_launches;
  int64_t *launch_pos;                   /* [n_launches] plan index of each launch */
  int64_t *arg_base;                     /* [n_launches] first slot in args */
  int64_t total_args;                    /* args of all launches together */
  llmc_file_map_t weights_map;           /* weights.safetensors */

  /* The backend and its buffers (device pointers; host pointers when
   * the backend is host-visible). */
  const llmc_rt_backend_vtable_t *be;
  void *be_state;
  void *act, *weights_dev, *kv, *meta_dev, *args_dev;
  size_t act_bytes, weights_bytes, kv_bytes, meta_bytes, args_bytes;
  bool weights_owned;                    /* weights_dev was allocated (not the mapping) */
  llmc_rt_buffers_t bufs;                /* descriptors; args is set per launch */
  int32_t *meta;                         /* host view of meta [META_INTS] */
  int64_t *args;                         /* host view of args [total_args] */
  float *logits_host;                    /* [T_max * vocab] when not host-visible */
  size_t logits_host_bytes;
  /* Greedy rows on a device backend: the artifact's argmax kernel (-1: none,
   * or a host-visible backend) reads the row list from the first MAX_SEQS
   * ints of argmax_dev and writes the ids after it. */
  int64_t argmax_kernel;
  /* Profiling (options.profile): per kernel totals, and the kernel of each
   * timed launch of the current step. */
  bool profile;
  bool replay_off;                       /* the backend's step replay failed once */
  llmc_rt_kernel_time_t *prof;           /* [n_kernels] */
  int64_t *prof_launched;                /* [n_launches + 1] */
  void *argmax_dev, *argmax_args_dev;    /* int32 [2 * MAX_SEQS], int64 [4] */
  int32_t *argmax_host;                  /* staging for both */
  int64_t *argmax_args_host;

  /* KV cache. */
  llmc_kv_pool_t *kv_pool;
  int64_t kv_blocks;

  /* Sequences, indexed by id. */
  llmc_rt_seq_t **seqs;
  int n_seq_slots;
  int *order;               /* [n_seq_slots] live ids in add order, oldest first */
  int n_order;
  uint64_t next_arrival;

  /* Scheduler scratch, sized at open. */
  int *batch;               /* [MAX_SEQS] ids in step order */
  llmc_rt_event_t *events;  /* [MAX_SEQS] */
  int64_t *rows;            /* [MAX_SEQS] logits rows the step samples from */
  bool *row_greedy;         /* [MAX_SEQS] per row: its sequence samples greedily */
  int32_t *row_ids;         /* [MAX_SEQS] per row: the id argmax gave, or -1 */
  llmc_sampler_t *sampler;

  llmc_rt_stats_t stats;
};

/* Writes block table row `slot` of meta from a table (entries past its
 * blocks are 0, a valid block, so an over-reading kernel stays in bounds). */
void llmc_rt_meta_set_row(llmc_rt_t *rt, int slot, const llmc_kv_table_t *table);
/* Runs every launch of the plan for a step of T tokens whose meta is filled
 * in; returns the host address of logits[T, vocab]. Only the n_rows rows
 * listed (ascending) are valid there on a device backend (all T when rows
 * is NULL): the others never leave the device. greedy (nullable, per listed
 * row) asks for the row's argmax only: where the backend can (a device with
 * the artifact's argmax kernel) it is computed there, only the id comes
 * back, out_ids[i] receives it and the row's logits stay on the device;
 * elsewhere out_ids[i] is -1 and the logits come back as for other rows. */
LLMC_MUST_USE llmc_status_t *llmc_rt_run_plan(llmc_rt_t *rt, int64_t T, const int64_t *rows,
                                              int64_t n_rows, const bool *greedy,
                                              int32_t *out_ids, const float **out_logits);

/* The sequence with id `seq`, or NULL when there is none. */
llmc_rt_seq_t *llmc_rt_seq_get(const llmc_rt_t *rt, int seq);
/* Frees every sequence (at close). */
void llmc_rt_seqs_destroy(llmc_rt_t *rt);

#endif
