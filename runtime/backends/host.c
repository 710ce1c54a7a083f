/* host.c: the host backend. Buffers are malloc'd (or, when large, anonymous
 * mmaps, which are zero and committed lazily, so a big KV pool costs only
 * the pages that are touched); kernels run on the fork-join thread pool, each
 * slice with its own copy of the descriptors so a kernel that writes to its
 * descriptor cannot disturb another slice. Everything is synchronous. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../rt_backend.h"
#include "../rt_threadpool.h"

enum { MMAP_THRESHOLD = 1 << 20 };

typedef struct {
  llmc_threadpool_t *pool;
} host_state_t;

typedef struct {
  llmc_kernel_fn fn;
  const llmc_rt_buffers_t *bufs;
} host_launch_t;

static llmc_status_t *host_create(const llmc_rt_options_t *opts, void **out_state) {
  *out_state = NULL;
  host_state_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_status_t *st = llmc_threadpool_create(opts ? opts->n_threads : 0, &s->pool);
  if (st) {
    free(s);
    return st;
  }
  *out_state = s;
  return NULL;
}

static void host_destroy(void *state) {
  host_state_t *s = state;
  if (!s) return;
  llmc_threadpool_destroy(s->pool);
  free(s);
}

static llmc_status_t *host_alloc(void *state, size_t bytes, void **out_ptr) {
  (void)state;
  *out_ptr = NULL;
  if (bytes == 0) bytes = 64;
  void *p = NULL;
  if (bytes >= MMAP_THRESHOLD) {
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) p = NULL;
  } else if (posix_memalign(&p, 64, bytes) == 0) {
    memset(p, 0, bytes);
  } else {
    p = NULL;
  }
  if (!p)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "cannot allocate %zu bytes of host memory",
                      bytes);
  *out_ptr = p;
  return NULL;
}

static void host_free(void *state, void *ptr, size_t bytes) {
  (void)state;
  if (!ptr) return;
  if (bytes == 0) bytes = 64;
  if (bytes >= MMAP_THRESHOLD) munmap(ptr, bytes);
  else free(ptr);
}

static llmc_status_t *host_memcpy(void *state, void *dst, const void *src, size_t bytes) {
  (void)state;
  if (bytes) memmove(dst, src, bytes);
  return NULL;
}

static void host_slice(void *ctx, int64_t begin, int64_t end) {
  const host_launch_t *l = ctx;
  llmc_rt_buffers_t b = *l->bufs;
  l->fn(&b.act, &b.weights, &b.kv, &b.meta, &b.args, begin, end);
}

static llmc_status_t *host_launch(void *state, llmc_kernel_fn fn, int64_t extent,
                                  const llmc_rt_buffers_t *bufs) {
  host_state_t *s = state;
  host_launch_t l = {fn, bufs};
  llmc_threadpool_parallel_for(s->pool, extent, host_slice, &l);
  return NULL;
}

static llmc_status_t *host_synchronize(void *state) {
  (void)state;
  return NULL;
}

const llmc_rt_backend_vtable_t llmc_rt_backend_host = {
    .version = LLMC_RT_BACKEND_VTABLE_VERSION,
    .name = "host",
    .host_visible = true,
    .create = host_create,
    .destroy = host_destroy,
    .alloc = host_alloc,
    .free = host_free,
    .upload = host_memcpy,
    .download = host_memcpy,
    .copy = host_memcpy,
    .launch = host_launch,
    .synchronize = host_synchronize,
};
