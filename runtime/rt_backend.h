/* rt_backend.h: the runtime's backend table (internal).
 *
 * A backend is a table of function pointers, in the style of ggml's backend
 * interface: adding CUDA, HIP or Level Zero is adding one more table, not
 * editing the scheduler. The host backend runs kernels on a thread pool over
 * plain memory; GPU backends will reach their drivers through dlopen.
 *
 * Buffers are opaque device pointers. Where host_visible is true they are
 * plain host memory the runtime may read and write directly (and weights may
 * stay in the file mapping); otherwise the runtime stages through upload and
 * download. Calls may be asynchronous; synchronize waits for all of them. */
#ifndef LLMC_RT_BACKEND_H
#define LLMC_RT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc_abi.h"
#include "llmc_rt.h"

#define LLMC_RT_BACKEND_VTABLE_VERSION 1u

/* The five buffers a kernel receives, already sized for the launch. */
typedef struct {
  llmc_memref1d_t act, weights, kv, meta, args;
} llmc_rt_buffers_t;

typedef struct {
  uint32_t version; /* LLMC_RT_BACKEND_VTABLE_VERSION */
  const char *name;
  bool host_visible;
  llmc_status_t *(*create)(const llmc_rt_options_t *opts, void **out_state);
  void (*destroy)(void *state);
  /* Zeroed, at least 64-byte aligned. */
  llmc_status_t *(*alloc)(void *state, size_t bytes, void **out_ptr);
  void (*free)(void *state, void *ptr, size_t bytes);
  llmc_status_t *(*upload)(void *state, void *dst, const void *src, size_t bytes);
  llmc_status_t *(*download)(void *state, void *dst, const void *src, size_t bytes);
  llmc_status_t *(*copy)(void *state, void *dst, const void *src, size_t bytes);
  /* Runs fn over [0, extent) in slices; bufs are copied before return. */
  llmc_status_t *(*launch)(void *state, llmc_kernel_fn fn, int64_t extent,
                                         const llmc_rt_buffers_t *bufs);
  llmc_status_t *(*synchronize)(void *state);
} llmc_rt_backend_vtable_t;

extern const llmc_rt_backend_vtable_t llmc_rt_backend_host;

#endif
