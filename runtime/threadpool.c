/* threadpool.c: fork-join pool for the host backend.
 *
 * A launch at decode time is a few microseconds of work, so the pool avoids
 * anything per call that costs more: no allocation, one atomic increment to
 * publish a job, workers that spin briefly before sleeping on a condvar, and
 * a countdown the caller spins on before sleeping on a second condvar.
 *
 * Protocol (release/acquire pairs, so it is data-race free under the C11
 * model; TSan-clean by construction):
 *   launcher: write job fields; pending = n_workers; under the mutex,
 *             generation++ (release) and broadcast; run slice 0; wait for
 *             pending == 0 (acquire).
 *   worker:   wait for generation != seen (acquire), read job fields, run its
 *             slice, pending-- (acq_rel); the last one signals under the mutex.
 * The launcher rewrites the job fields only after pending reached 0, i.e.
 * after every worker finished reading them. Sleepers check the generation
 * under the mutex, and the launcher bumps it under the mutex, so no wake-up
 * is lost; likewise for pending and the done condvar. */
#include "rt_threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Waiting is spin, then yield, then block. Spinning catches the next launch
 * of a decode step within a microsecond; yielding lets a thread we wait for
 * run when there are more threads than free cores (a shared machine);
 * blocking stops burning a core between steps. Both bounds are short: a
 * blocked worker costs only a futex wake on the next launch. */
enum { SPIN_ITERS = 1000, YIELD_ITERS = 20 };

typedef struct {
  llmc_threadpool_t *pool;
  int index; /* slice index, 1..n-1 (the launcher takes 0) */
  pthread_t thread;
} worker_t;

struct llmc_threadpool {
  int n;              /* threads including the launcher */
  worker_t *workers;  /* n - 1 */
  int n_started;      /* workers successfully created */
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* generation changed */
  pthread_cond_t done_cv; /* pending reached 0 */
  _Atomic uint64_t generation;
  _Atomic int pending; /* workers yet to finish the current job */
  _Atomic bool stop;
  /* The current job; written only while no worker reads it (see protocol). */
  llmc_threadpool_fn fn;
  void *ctx;
  int64_t extent;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void run_slice(llmc_threadpool_t *p, int i) {
  int64_t b, e;
  llmc_threadpool_slice(p->extent, i, p->n, &b, &e);
  if (b < e) p->fn(p->ctx, b, e);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  llmc_threadpool_t *p = w->pool;
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
    for (int i = 0; g == seen && i < SPIN_ITERS + YIELD_ITERS; i++) {
      if (i < SPIN_ITERS) cpu_relax();
      else sched_yield();
      g = atomic_load_explicit(&p->generation, memory_order_acquire);
    }
    if (g == seen) {
      pthread_mutex_lock(&p->mu);
      while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&p->work_cv, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    seen = g;
    if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
    run_slice(p, w->index);
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done_cv);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

int llmc_threadpool_size(const llmc_threadpool_t *pool) { return pool->n; }

void llmc_threadpool_parallel_for(llmc_threadpool_t *p, int64_t extent, llmc_threadpool_fn fn,
                                  void *ctx) {
  if (extent <= 0) return;
  /* One thread, or too little work to split: run inline, no synchronisation. */
  if (p->n == 1 || extent == 1) {
    fn(ctx, 0, extent);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  p->extent = extent;
  atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);

  run_slice(p, 0);

  for (int i = 0; i < SPIN_ITERS + YIELD_ITERS; i++) {
    if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
    if (i < SPIN_ITERS) cpu_relax();
    else sched_yield();
  }
  pthread_mutex_lock(&p->mu);
  while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
    pthread_cond_wait(&p->done_cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

static void stop_workers(llmc_threadpool_t *p) {
  pthread_mutex_lock(&p->mu);
  atomic_store_explicit(&p->stop, true, memory_order_release);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_started; i++) pthread_join(p->workers[i].thread, NULL);
}

llmc_status_t *llmc_threadpool_create(int n_threads, llmc_threadpool_t **out_pool) {
  *out_pool = NULL;
  if (n_threads < 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "thread count %d is negative", n_threads);
  if (n_threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = n > 0 ? (n > 1024 ? 1024 : (int)n) : 1;
  }
  llmc_threadpool_t *p = calloc(1, sizeof *p);
  if (!p) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  p->n = n_threads;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stop, false);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  if (n_threads > 1) {
    p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
    if (!p->workers) {
      llmc_threadpool_destroy(p);
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    }
  }
  /* Kernels may keep up to 256 KiB on the stack (matmul_q8's quantized
   * rows); give workers a fixed 8 MiB rather than whatever RLIMIT_STACK
   * makes the default. */
  pthread_attr_t attr;
  bool have_attr = pthread_attr_init(&attr) == 0;
  if (have_attr && pthread_attr_setstacksize(&attr, (size_t)8 << 20) != 0) {
    pthread_attr_destroy(&attr);
    have_attr = false;
  }
  for (int i = 0; i < n_threads - 1; i++) {
    p->workers[i] = (worker_t){.pool = p, .index = i + 1};
    if (pthread_create(&p->workers[i].thread, have_attr ? &attr : NULL, worker_main, &p->workers[i]) != 0) {
      if (have_attr) pthread_attr_destroy(&attr);
      llmc_threadpool_destroy(p);
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "cannot start thread %d of %d", i + 1,
                        n_threads);
    }
    p->n_started++;
  }
  if (have_attr) pthread_attr_destroy(&attr);
  *out_pool = p;
  return NULL;
}

void llmc_threadpool_destroy(llmc_threadpool_t *p) {
  if (!p) return;
  stop_workers(p);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->done_cv);
  free(p->workers);
  free(p);
}
