/* fake_gpu.h: the "GPU image" the runtime tests put in fake artifacts, and
 * which the fake CUDA driver (fake_cuda.c, built as libcuda.so.1) loads.
 * The image's bytes are a fake_gpu_image_t naming host functions that run
 * one block of a launch from the 26 parameter values the runtime packs, so
 * backends/cuda.c runs end to end, on the CPU, through its real code path:
 * dlopen, image choice, parameter packing, grids, streams, copies. */
#ifndef FAKE_GPU_H
#define FAKE_GPU_H

#include <stdint.h>

#define FAKE_GPU_MAGIC "llmc-fake-gpu"

/* params[i] points at parameter i's 8-byte value (cuLaunchKernel's
 * kernelParams); (bx, by) is blockIdx. */
typedef void (*fake_gpu_fn)(void **params, uint32_t bx, uint32_t by);

typedef struct {
  const char *name;
  fake_gpu_fn fn;
} fake_gpu_entry_t;

typedef struct {
  char magic[16]; /* FAKE_GPU_MAGIC, NUL-padded */
  int32_t n;
  const fake_gpu_entry_t *entries;
} fake_gpu_image_t;

/* What the fake driver did, for tests to check (fake_cuda_counters()). */
typedef struct {
  int64_t launches, syncs, htod, dtoh, dtod, memsets;
  int64_t dtoh_bytes;
  int64_t grid_y_total; /* sum of gridDim.y over launches */
  int64_t live_device_allocs, live_host_allocs, modules_loaded;
  int64_t ctx_refs;
  int64_t graphs_captured, graph_launches;
} fake_cuda_counters_t;

#endif
