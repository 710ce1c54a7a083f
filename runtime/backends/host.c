/* host.c: the host backend. It runs the artifact's host kernel table (an
 * artifact compiled only for GPU targets has none, and this backend refuses
 * it). Buffers are malloc'd (or, when large, anonymous mmaps, which are zero
 * and committed lazily, so a big KV pool costs only the pages that are
 * touched); kernels run on the fork-join thread pool, each
 * slice with its own copy of the descriptors so a kernel that writes to its
 * descriptor cannot disturb another slice. Everything is synchronous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../rt_gpu.h"
#include "../rt_threadpool.h"

enum { MMAP_THRESHOLD = 1 << 20 };

typedef struct {
  llmc_threadpool_t *pool;
  const llmc_kernel_fn *kernels; /* the artifact's host kernel table */
} host_state_t;

typedef struct {
  llmc_kernel_fn fn;
  const llmc_rt_buffers_t *bufs;
} host_launch_t;

static llmc_status_t *host_probe(llmc_rt_device_info_t *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "host CPU");
  snprintf(out->target, sizeof out->target, "host");
  out->n_devices = 1;
  return NULL;
}

static llmc_status_t *host_create(const llmc_rt_options_t *opts, const llmc_model_v1_t *model,
                                  void **out_state) {
  *out_state = NULL;
  if (!model->kernels) {
    char targets[512];
    llmc_rt_images_describe(model->images, model->n_images, targets, sizeof targets);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'host': the artifact has no host kernels (it was compiled only "
                      "for %s); recompile it with a host target, e.g. --target=host,...",
                      targets);
  }
  char missing[256];
  if (!llmc_rt_cpu_supports(model->cpu_features, missing, sizeof missing))
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'host': the artifact's host code needs CPU features this machine "
                      "lacks (%s); recompile it for this machine (--target=host) or a portable "
                      "target (--target=x86-64-v3 or x86-64)",
                      missing);
  host_state_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_status_t *st = llmc_threadpool_create(opts ? opts->n_threads : 0, &s->pool);
  if (st) {
    free(s);
    return st;
  }
  s->kernels = model->kernels;
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

static llmc_status_t *host_launch(void *state, int64_t kernel, int64_t extent, int64_t tokens,
                                  const llmc_rt_buffers_t *bufs) {
  (void)tokens;
  host_state_t *s = state;
  host_launch_t l = {s->kernels[kernel], bufs};
  llmc_threadpool_parallel_for(s->pool, extent, host_slice, &l);
  return NULL;
}

static llmc_status_t *host_synchronize(void *state) {
  (void)state;
  return NULL;
}

static const char *host_describe(void *state) {
  (void)state;
  return "host CPU (thread pool)";
}

const llmc_rt_backend_vtable_t llmc_rt_backend_host = {
    .version = LLMC_RT_BACKEND_VTABLE_VERSION,
    .name = "host",
    .host_visible = true,
    .image_formats = 0,
    .probe = host_probe,
    .create = host_create,
    .destroy = host_destroy,
    .describe = host_describe,
    .alloc = host_alloc,
    .free = host_free,
    .upload = host_memcpy,
    .download = host_memcpy,
    .copy = host_memcpy,
    .launch = host_launch,
    .synchronize = host_synchronize,
};
