/* bandwidth.c: a STREAM-like probe of the machine's memory read bandwidth
 * (McCalpin's STREAM, read-only "sum" variant), run on the same thread pool
 * the kernels use. Decode is memory-bound — every weight is read once per
 * token — so this number is the ceiling `llmc bench` compares against. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "llmc_rt.h"
#include "rt_threadpool.h"

typedef struct {
  const float *data;
  int64_t chunk; /* floats per work item */
  int64_t total; /* floats in data */
  float partial[1024];
} probe_t;

/* Each item sums one chunk with 16 independent accumulators so the loop is
 * bound by loads, not by the add latency chain, and prefetches 16 KiB ahead
 * as the kernels do (without it a thread waits on its stream and the probe
 * read ~40% below what the prefetching kernels reach: not a ceiling). */
static void sum_slice(void *ctx, int64_t begin, int64_t end) {
  probe_t *p = ctx;
  for (int64_t item = begin; item < end; item++) {
    const float *x = p->data + item * p->chunk;
    int64_t ahead_end = p->total - item * p->chunk - 4096; /* prefetch only inside data */
    float acc[16] = {0};
    for (int64_t i = 0; i < p->chunk; i += 16) {
      if (i < ahead_end) __builtin_prefetch(x + i + 4096, 0, 3);
      for (int j = 0; j < 16; j++) acc[j] += x[i + j];
    }
    float s = 0;
    for (int j = 0; j < 16; j++) s += acc[j];
    p->partial[item] = s;
  }
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

llmc_status_t *llmc_rt_measure_read_bandwidth(int n_threads, uint64_t bytes, int repeats,
                                              double *out_gb_per_s) {
  *out_gb_per_s = 0;
  if (bytes < (1u << 20) || bytes > (64ull << 30) || repeats < 1)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "probe size must be 1 MiB..64 GiB, repeats >= 1");
  probe_t *p = calloc(1, sizeof *p);
  if (!p) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int64_t items = 1024;
  p->chunk = (int64_t)(bytes / sizeof(float) / (uint64_t)items) / 16 * 16;
  p->total = p->chunk * items;
  size_t size = (size_t)p->total * sizeof(float);
  float *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  llmc_threadpool_t *pool = NULL;
  llmc_status_t *s = data == MAP_FAILED ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "cannot map %zu bytes", size)
                                        : llmc_threadpool_create(n_threads, &pool);
  if (!s) {
    memset(data, 1, size); /* fault every page in before timing */
    p->data = data;
    double best = 0;
    for (int r = 0; r < repeats; r++) {
      double t0 = now_seconds();
      llmc_threadpool_parallel_for(pool, items, sum_slice, p);
      double dt = now_seconds() - t0;
      double gbs = (double)size / dt / 1e9;
      if (gbs > best) best = gbs;
    }
    *out_gb_per_s = best;
  }
  llmc_threadpool_destroy(pool);
  if (data != MAP_FAILED) munmap(data, size);
  free(p);
  return s;
}
