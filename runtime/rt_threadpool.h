/* rt_threadpool.h: the host backend's fork-join thread pool (internal).
 *
 * parallel_for(extent) splits [0, extent) into one contiguous slice per
 * thread (the caller runs slice 0) and returns when every slice is done.
 * Not reentrant: a slice must not call parallel_for on the same pool, and
 * only one thread may launch on a pool at a time. */
#ifndef LLMC_RT_THREADPOOL_H
#define LLMC_RT_THREADPOOL_H

#include <stdint.h>

#include "llmc_support.h"

typedef struct llmc_threadpool llmc_threadpool_t;

/* Runs the slice [begin, end) of a launch; never called with an empty slice. */
typedef void (*llmc_threadpool_fn)(void *ctx, int64_t begin, int64_t end);

/* n_threads counts the calling thread; 0 means sysconf(_SC_NPROCESSORS_ONLN). */
LLMC_MUST_USE llmc_status_t *llmc_threadpool_create(int n_threads, llmc_threadpool_t **out_pool);
void llmc_threadpool_destroy(llmc_threadpool_t *pool);
int llmc_threadpool_size(const llmc_threadpool_t *pool);

void llmc_threadpool_parallel_for(llmc_threadpool_t *pool, int64_t extent, llmc_threadpool_fn fn,
                                  void *ctx);

/* Slice i of n over [0, extent): the same split parallel_for uses. */
static inline void llmc_threadpool_slice(int64_t extent, int i, int n, int64_t *begin,
                                         int64_t *end) {
  /* The first extent % n slices get one extra element; no overflow for any extent. */
  int64_t q = extent / n, r = extent % n;
  *begin = q * i + (i < r ? i : r);
  *end = *begin + q + (i < r ? 1 : 0);
}

#endif
