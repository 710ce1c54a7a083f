/* fake_cuda.c: a stand-in for the NVIDIA driver (built as libcuda.so.1 and
 * found through LD_LIBRARY_PATH) so the runtime's CUDA backend runs end to
 * end on a machine without a GPU. It implements exactly the entry points
 * backends/cuda.c resolves, over fake_driver.c (garbage-filled memory, one
 * queue that runs at cuStreamSynchronize, fake_gpu.h images or emulation
 * images), with CUDA's context rule: calls need a current context.
 *
 * Environment: FAKE_CUDA_CC (compute capability, "90" = 9.0; default 90),
 * FAKE_CUDA_DEVICES (device count; default 1). fake_cuda_fail_next_loads(n)
 * makes the next n module loads fail, as a cubin from a too new ptxas
 * would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_driver.h"

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum {
  OK = 0,
  ERR_INVALID_VALUE = 1,
  ERR_OUT_OF_MEMORY = 2,
  ERR_NOT_INITIALIZED = 3,
  ERR_NO_DEVICE = 100,
  ERR_INVALID_IMAGE = 200,
  ERR_INVALID_CONTEXT = 201,
  ERR_NOT_FOUND = 500,
  ERR_LAUNCH_FAILED = 719,
};

static struct {
  int initialized;
  int ctx; /* the primary context "handle" is &g.ctx */
  int current;
  int fail_loads;
} g;

static int g_stream;

EXPORT const fake_cuda_counters_t *fake_cuda_counters(void) { return &fake_counters; }
EXPORT void fake_cuda_fail_next_loads(int n) { g.fail_loads = n; }

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

static CUresult queued(int r) { return r == 0 ? OK : ERR_OUT_OF_MEMORY; }

EXPORT CUresult cuInit(unsigned flags) {
  if (flags) return ERR_INVALID_VALUE;
  g.initialized = 1;
  return OK;
}

EXPORT CUresult cuDeviceGetCount(int *n) {
  if (!g.initialized) return ERR_NOT_INITIALIZED;
  *n = env_int("FAKE_CUDA_DEVICES", 1);
  return OK;
}

EXPORT CUresult cuDeviceGet(int *dev, int ordinal) {
  if (ordinal < 0 || ordinal >= env_int("FAKE_CUDA_DEVICES", 1)) return ERR_INVALID_VALUE;
  *dev = ordinal;
  return OK;
}

EXPORT CUresult cuDeviceGetAttribute(int *v, int attrib, int dev) {
  (void)dev;
  int cc = env_int("FAKE_CUDA_CC", 90);
  switch (attrib) {
  case 5: *v = 2147483647; return OK;  /* max grid x */
  case 6: *v = 65535; return OK;       /* max grid y */
  case 75: *v = cc / 10; return OK;    /* major */
  case 76: *v = cc % 10; return OK;    /* minor */
  case 97: *v = 227 * 1024; return OK; /* opt-in shared memory */
  }
  return ERR_INVALID_VALUE;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, int dev) {
  (void)dev;
  snprintf(name, (size_t)len, "Fake NVIDIA GPU");
  return OK;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) {
  (void)dev;
  fake_counters.ctx_refs++;
  *ctx = &g.ctx;
  return OK;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
  (void)dev;
  if (fake_counters.ctx_refs <= 0) return ERR_INVALID_CONTEXT;
  fake_counters.ctx_refs--;
  return OK;
}

EXPORT CUresult cuCtxSetCurrent(void *ctx) {
  if (ctx && ctx != &g.ctx) return ERR_INVALID_CONTEXT;
  g.current = ctx != NULL;
  return OK;
}

EXPORT CUresult cuModuleLoadDataEx(void **mod, const void *image, unsigned n_options,
                                   int *options, void **values) {
  (void)n_options;
  (void)options;
  (void)values;
  if (!g.current) return ERR_INVALID_CONTEXT;
  if (g.fail_loads > 0) {
    g.fail_loads--;
    return ERR_INVALID_IMAGE;
  }
  int r = fake_module_load(image, mod);
  return r == 0 ? OK : r == -1 ? ERR_INVALID_IMAGE : ERR_OUT_OF_MEMORY;
}

EXPORT CUresult cuModuleUnload(void *mod) {
  fake_module_unload(mod);
  return OK;
}

EXPORT CUresult cuModuleGetFunction(void **fn, void *mod, const char *name) {
  const void *k = fake_module_function(mod, name);
  if (!k) return ERR_NOT_FOUND;
  *fn = (void *)k;
  return OK;
}

EXPORT CUresult cuFuncSetAttribute(void *fn, int attrib, int value) {
  (void)fn;
  (void)attrib;
  (void)value;
  return OK;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  if (bytes == 0) return ERR_INVALID_VALUE;
  void *m = fake_alloc(bytes, 1);
  if (!m) return ERR_OUT_OF_MEMORY;
  *p = (CUdeviceptr)(uintptr_t)m;
  return OK;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  fake_free((void *)(uintptr_t)p, 1);
  return OK;
}

EXPORT CUresult cuMemAllocHost_v2(void **p, size_t bytes) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  *p = fake_alloc(bytes, 0);
  return *p ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT CUresult cuMemFreeHost(void *p) {
  fake_free(p, 0);
  return OK;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return queued(fake_enqueue_copy((void *)(uintptr_t)dst, src, n, FAKE_HTOD));
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return queued(fake_enqueue_copy(dst, (const void *)(uintptr_t)src, n, FAKE_DTOH));
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return queued(fake_enqueue_copy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n,
                                  FAKE_DTOD));
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return queued(fake_enqueue_set((void *)(uintptr_t)dst, v, n));
}

EXPORT CUresult cuStreamCreate(void **s, unsigned flags) {
  (void)flags;
  if (!g.current) return ERR_INVALID_CONTEXT;
  *s = &g_stream;
  return OK;
}

EXPORT CUresult cuStreamDestroy_v2(void *s) { return s == &g_stream ? OK : ERR_INVALID_VALUE; }

EXPORT CUresult cuStreamSynchronize(void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return fake_synchronize() ? ERR_LAUNCH_FAILED : OK;
}

EXPORT CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                               unsigned by, unsigned bz, unsigned shared, void *s, void **params,
                               void **extra) {
  (void)shared;
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  int r = fake_enqueue_launch(f, gx, gy, gz, bx, by, bz, params, extra);
  return r == 0 ? OK : r == -1 ? ERR_INVALID_VALUE : ERR_OUT_OF_MEMORY;
}

/* Stream capture and graphs (fake_driver.c records and replays). */
EXPORT CUresult cuStreamBeginCapture_v2(void *s, int mode) {
  if (s != &g_stream || mode < 0 || mode > 2) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return fake_capture_begin() ? ERR_INVALID_VALUE : OK;
}

EXPORT CUresult cuStreamEndCapture(void *s, void **graph) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  *graph = NULL;
  return fake_capture_end(graph) ? ERR_INVALID_VALUE : OK;
}

/* The executable graph is a copy of the graph (which may be destroyed). */
EXPORT CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
  if (flags || !graph) return ERR_INVALID_VALUE;
  *exec = fake_graph_copy(graph);
  return *exec ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT CUresult cuGraphLaunch(void *exec, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return fake_graph_launch(exec) ? ERR_OUT_OF_MEMORY : OK;
}

EXPORT CUresult cuGraphExecDestroy(void *exec) {
  fake_graph_free(exec);
  return OK;
}

EXPORT CUresult cuGraphDestroy(void *graph) {
  fake_graph_free(graph);
  return OK;
}

/* Timing events (fake_driver.c). */
EXPORT CUresult cuEventCreate(void **ev, unsigned flags) {
  if (flags) return ERR_INVALID_VALUE; /* the backend wants timing events */
  if (!g.current) return ERR_INVALID_CONTEXT;
  *ev = fake_event_new();
  return *ev ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT CUresult cuEventRecord(void *ev, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  if (!g.current) return ERR_INVALID_CONTEXT;
  return queued(fake_event_record(ev));
}

EXPORT CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
  return fake_event_elapsed(start, end, ms) ? ERR_INVALID_VALUE : OK;
}

EXPORT CUresult cuEventDestroy_v2(void *ev) {
  fake_event_free(ev);
  return OK;
}

EXPORT CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == ERR_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY"
       : r == ERR_LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED"
                                : "CUDA_ERROR_FAKE";
  return OK;
}

EXPORT CUresult cuGetErrorString(CUresult r, const char **s) {
  (void)r;
  *s = "fake driver error";
  return OK;
}
