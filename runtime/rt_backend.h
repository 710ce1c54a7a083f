/* rt_backend.h: the runtime's backend table (internal).
 *
 * A backend is a table of function pointers, in the style of ggml's backend
 * interface: the host backend runs the artifact's host kernels on a thread
 * pool over plain memory; the GPU backends (cuda.c, hip.c, level_zero.c)
 * reach their drivers through dlopen, so one libllmc_rt builds and runs on
 * machines with none of them. Adding a backend is adding a table and one
 * line in rt.c's list, not editing the scheduler.
 *
 * Each backend resolves the model's kernels itself when it is created (the
 * host backend takes the host kernel table; a GPU backend picks an image
 * with llmc_rt_pick_image, loads it and looks every kernel up), so a launch
 * names a kernel by its plan index.
 *
 * Buffers are opaque device pointers. Where host_visible is true they are
 * plain host memory the runtime reads and writes directly (and weights stay
 * in the file mapping); otherwise the runtime stages through upload and
 * download, from host memory it got from alloc_host. Calls are enqueued in
 * order on one queue and may be asynchronous: every memory argument of an
 * enqueued call must stay valid and unchanged until synchronize returns,
 * which waits for all of them and reports the first failure. */
#ifndef LLMC_RT_BACKEND_H
#define LLMC_RT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "llmc_abi.h"
#include "llmc_rt.h"

#define LLMC_RT_BACKEND_VTABLE_VERSION 2u

/* The five buffers a kernel receives, already sized for the launch. */
typedef struct {
  llmc_memref1d_t act, weights, kv, meta, args;
} llmc_rt_buffers_t;

typedef struct {
  uint32_t version;      /* LLMC_RT_BACKEND_VTABLE_VERSION */
  const char *name;      /* as llmc_rt_options_t.backend spells it */
  bool host_visible;     /* device buffers are host memory */
  uint32_t image_formats; /* bit (1 << llmc_image_format_t) per image format it loads; 0: host */
  /* Finds the driver and its first device without loading a model. Errors:
   * LLMC_UNAVAILABLE (no driver, or no device). */
  llmc_status_t *(*probe)(llmc_rt_device_info_t *out_info);
  /* Loads the driver, picks the first device and prepares the model's
   * kernels for it. LLMC_UNAVAILABLE when the driver, a device or a usable
   * image is missing, in one sentence naming what is missing. */
  llmc_status_t *(*create)(const llmc_rt_options_t *opts, const llmc_model_v1_t *model,
                           void **out_state);
  void (*destroy)(void *state);
  /* "NVIDIA H100 (sm_90), image sm_90a cubin": the device and what runs on it. */
  const char *(*describe)(void *state);
  /* Device memory: zeroed (before any later enqueued call runs), at least
   * 64-byte aligned. */
  llmc_status_t *(*alloc)(void *state, size_t bytes, void **out_ptr);
  void (*free)(void *state, void *ptr, size_t bytes);
  /* Host memory for staging (pinned where the driver can, so copies from and
   * to it are truly asynchronous); NULL for host-visible backends. */
  llmc_status_t *(*alloc_host)(void *state, size_t bytes, void **out_ptr);
  void (*free_host)(void *state, void *ptr);
  llmc_status_t *(*upload)(void *state, void *dst, const void *src, size_t bytes);
  llmc_status_t *(*download)(void *state, void *dst, const void *src, size_t bytes);
  llmc_status_t *(*copy)(void *state, void *dst, const void *src, size_t bytes);
  /* Runs kernel `kernel` (a plan kernel index) over [0, extent), extent > 0,
   * in a step of `tokens` tokens (T; GPU kernels with grid_y_tokens take it
   * as grid.y). bufs is read before return: the host backend runs the
   * kernel to completion in slices; GPU backends copy the descriptor fields
   * into the launch's 26 parameters (llmc_abi.h). */
  llmc_status_t *(*launch)(void *state, int64_t kernel, int64_t extent, int64_t tokens,
                           const llmc_rt_buffers_t *bufs);
  llmc_status_t *(*synchronize)(void *state);
  /* True when `kernel` does nothing on this device: its work is fused into
   * another launch here (block_threads 0 in the image). Optional (NULL:
   * never); the plan's loop skips such launches, profiling included. */
  bool (*skipped)(void *state, int64_t kernel);
  /* Kernel timing for llmc_rt_options_t.profile, optional (NULL: a device
   * backend that cannot time; the host backend needs neither, its launches
   * run to completion and rt.c reads the clock). mark queues timestamp
   * `slot` (0, 1, ...; the backend grows its storage); after synchronize,
   * mark_elapsed gives the milliseconds from slot a to slot b. */
  llmc_status_t *(*mark)(void *state, int64_t slot);
  llmc_status_t *(*mark_elapsed)(void *state, int64_t a, int64_t b, float *out_ms);
  /* Step replay, optional (NULL: every step launches afresh). The runtime
   * brackets the launches of a step whose launches (kernels, grids,
   * parameter values) are a function of `key`: step_begin sets *out_replay
   * when the backend holds a recording for key (the runtime then launches
   * nothing), else the launches that follow may be recorded rather than
   * run. step_end then queues the recording, so the step runs either way,
   * and sets *out_ran; false (or an error) means the launches did not run
   * and the runtime must launch them again, directly. */
  llmc_status_t *(*step_begin)(void *state, uint64_t key, bool *out_replay);
  llmc_status_t *(*step_end)(void *state, bool *out_ran);
} llmc_rt_backend_vtable_t;

extern const llmc_rt_backend_vtable_t llmc_rt_backend_host;
extern const llmc_rt_backend_vtable_t llmc_rt_backend_cuda;
extern const llmc_rt_backend_vtable_t llmc_rt_backend_hip;
extern const llmc_rt_backend_vtable_t llmc_rt_backend_level_zero;

/* True when this CPU has every feature in the comma-separated list (x86
 * names as LLVM spells them; unknown ones are not checked); otherwise the
 * missing ones go into missing[cap]. */
bool llmc_rt_cpu_supports(const char *features, char *missing, size_t cap);

#endif
