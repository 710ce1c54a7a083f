/* rt_gpu.h: what the GPU backends share (internal): choosing an artifact's
 * image for a device, loading a driver library, and turning a launch into a
 * grid and the 26 kernel parameters of llmc_abi.h. Everything here is pure
 * or touches only the dynamic loader, so it is unit-tested without a GPU. */
#ifndef LLMC_RT_GPU_H
#define LLMC_RT_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llmc_abi.h"
#include "rt_backend.h"

typedef enum {
  LLMC_RT_VENDOR_NVIDIA, /* device_arch "sm_XY": compute capability X.Y */
  LLMC_RT_VENDOR_AMD,    /* device_arch gcnArchName, "gfx942:sramecc+:xnack-" */
  LLMC_RT_VENDOR_INTEL,  /* device_arch ignored: any SPIR-V image */
} llmc_rt_vendor_t;

/* The index of the image to run on a device, or -1 when none fits.
 *  NVIDIA: a CUBIN for exactly the device's sm_XY (an arch-specific sm_XYa
 *    first: it is a superset for exactly that chip); else a CUBIN of the same
 *    major and a lower minor (CUDA C++ Programming Guide, "Binary
 *    Compatibility": a cubin for X.y runs on X.z, z >= y), the highest; else
 *    PTX of the highest target <= the device (the driver JIT-compiles PTX
 *    for any later chip; PTX for sm_XYa only on exactly X.Y).
 *  AMD: an HSACO whose processor equals the device's; each feature the
 *    image pins (":xnack+", ":sramecc-") must be set alike on the device,
 *    features it leaves out match either way, and the image pinning the most
 *    matching features wins (LLVM AMDGPUUsage, "Target ID").
 *  Intel: the first SPIR-V image. */
int64_t llmc_rt_pick_image(const llmc_image_v1_t *images, int64_t n, llmc_rt_vendor_t vendor,
                           const char *device_arch);

/* "sm_80 (cubin), sm_90a (ptx)" or "none (host kernels only)", for
 * messages; truncated to fit. */
void llmc_rt_images_describe(const llmc_image_v1_t *images, int64_t n, char *buf, size_t size);
/* LLMC_UNAVAILABLE "backend 'B': the artifact has no <kind>image for
 * <device>; it has: <images>" (kind "" or e.g. "SPIR-V "). */
llmc_status_t *llmc_rt_no_image(const char *backend, const char *kind, const char *device,
                                const llmc_model_v1_t *model);
/* Step replay stays on unless the environment variable `name` is "0". */
bool llmc_rt_env_allows(const char *name);
const char *llmc_rt_image_format_name(uint32_t format);

/* Checks an artifact's image table (sizes, kernel counts, launch shapes)
 * before any backend reads it. */
LLMC_MUST_USE llmc_status_t *llmc_rt_images_validate(const char *where,
                                                     const llmc_model_v1_t *model);

/* dlopens the first of names that loads (RTLD_NOW | RTLD_LOCAL); NULL, with
 * the loader's last message in err, when none does. */
void *llmc_rt_dlopen_first(const char *const *names, size_t n, char *err, size_t err_size);
/* dlsym for each of n (name, slot) pairs; on a missing symbol returns its
 * name and leaves the rest unset. */
typedef struct {
  const char *name;
  void **slot;
} llmc_rt_sym_t;
const char *llmc_rt_dlsym_all(void *lib, const llmc_rt_sym_t *syms, size_t n);

/* One kernel of a loaded image: its launch shape from the image table. */
typedef struct {
  void *fn;                 /* CUfunction / hipFunction_t / ze_kernel_handle_t */
  uint32_t block_threads;
  uint32_t items_per_block;
  uint32_t shared_bytes;
  uint32_t grid_y_tokens;   /* 0: grid.y 1; k > 0: grid.y = ceil(T / k), k tokens a block */
} llmc_rt_gpu_kernel_t;

/* Blocks covering extent items, ceil(extent / items_per_block), when it is
 * at most max_blocks; false otherwise. */
bool llmc_rt_gpu_grid(int64_t extent, uint32_t items_per_block, uint64_t max_blocks,
                      uint32_t *out_blocks);
/* A launch's grid (llmc_abi.h): x from the extent, y the step's token count
 * when the kernel asks for it (else 1). False, with a message in err, when
 * x exceeds max_x or y exceeds max_y. */
bool llmc_rt_gpu_grid_xy(const llmc_rt_gpu_kernel_t *k, int64_t extent, int64_t tokens,
                         uint64_t max_x, uint64_t max_y, uint32_t *out_x, uint32_t *out_y);

/* The 26 parameter values of a launch, in order: for act, weights, kv, meta,
 * args their descriptor fields (allocated, aligned, offset, size, stride),
 * then the extent. Every value is 8 bytes, as both pointers (64-bit device
 * address spaces) and i64 are. */
enum { LLMC_RT_GPU_N_PARAMS = 26 };
void llmc_rt_gpu_params(const llmc_rt_buffers_t *bufs, int64_t extent,
                        uint64_t out_values[LLMC_RT_GPU_N_PARAMS]);

/* ---- step replay by stream capture (CUDA graphs, HIP graphs) ----
 * The bookkeeping of the backends' step_begin / step_end (rt_backend.h),
 * one mechanism for both vendors: recordings by key, the one a step
 * replays, whether a step is being captured. The vendor supplies the
 * stream-capture calls. Any failure to capture or instantiate turns replay
 * off for good (the step then reports that nothing ran, and the runtime
 * launches it directly). */
typedef struct {
  bool (*capture_begin)(void *state);   /* true when capturing */
  void *(*capture_end)(void *state);    /* the instantiated graph, or NULL */
  llmc_status_t *(*replay)(void *state, void *exec);
  void (*destroy)(void *state, void *exec);
} llmc_rt_graph_ops_t;

enum { LLMC_RT_MAX_GRAPHS = 16 };
typedef struct {
  bool on, capturing;
  int n;
  uint64_t keys[LLMC_RT_MAX_GRAPHS];
  void *execs[LLMC_RT_MAX_GRAPHS];
  void *replaying;
} llmc_rt_graphs_t;

llmc_status_t *llmc_rt_graphs_step_begin(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops,
                                         void *state, uint64_t key, bool *out_replay);
llmc_status_t *llmc_rt_graphs_step_end(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops,
                                       void *state, bool *out_ran);
/* Ends a capture that will not be used: a launch inside it failed and the
 * runtime returns without step_end. */
void llmc_rt_graphs_abandon(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops, void *state);
void llmc_rt_graphs_destroy(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops, void *state);

#endif
