/* fake_hip.c: a stand-in for AMD's HIP runtime (built as libamdhip64.so and
 * found through LD_LIBRARY_PATH) so the runtime's HIP backend runs end to
 * end on a machine without a GPU. It implements exactly the entry points
 * backends/hip.c resolves, ROCm 6 flavour (hipGetDevicePropertiesR0600),
 * over fake_driver.c: garbage-filled memory, one queue that runs at
 * hipStreamSynchronize, and fake_gpu.h or emulation images (an AMD image
 * from `llmc compile --gpu-emulation` holds the ROCDL-lowered kernels).
 *
 * Environment: FAKE_HIP_ARCH (gcnArchName; default
 * "gfx942:sramecc+:xnack-"), FAKE_HIP_DEVICES (device count; default 1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_driver.h"

#define EXPORT __attribute__((visibility("default")))

typedef int hipError_t;
enum {
  OK = 0,
  ERR_INVALID_VALUE = 1,
  ERR_OUT_OF_MEMORY = 2,
  ERR_NOT_INITIALIZED = 3,
  ERR_INVALID_DEVICE = 101,
  ERR_INVALID_IMAGE = 200,
  ERR_NOT_FOUND = 500,
  ERR_LAUNCH_FAILURE = 719,
};

/* hipDeviceProp_tR0600: 1472 bytes, gcnArchName (char[256]) at 1160. */
enum { PROP_R0600_BYTES = 1472, PROP_R0600_GCN_ARCH_NAME = 1160 };

static int g_initialized, g_stream;

EXPORT const fake_cuda_counters_t *fake_hip_counters(void) { return &fake_counters; }

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

static hipError_t queued(int r) { return r == 0 ? OK : ERR_OUT_OF_MEMORY; }

EXPORT hipError_t hipInit(unsigned flags) {
  if (flags) return ERR_INVALID_VALUE;
  g_initialized = 1;
  return OK;
}

EXPORT hipError_t hipGetDeviceCount(int *n) {
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  *n = env_int("FAKE_HIP_DEVICES", 1);
  return OK;
}

EXPORT hipError_t hipSetDevice(int dev) {
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  return dev >= 0 && dev < env_int("FAKE_HIP_DEVICES", 1) ? OK : ERR_INVALID_DEVICE;
}

EXPORT hipError_t hipDeviceGetName(char *name, int len, int dev) {
  (void)dev;
  snprintf(name, (size_t)len, "Fake AMD GPU");
  return OK;
}

EXPORT hipError_t hipGetDevicePropertiesR0600(void *prop, int dev) {
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  if (dev < 0 || dev >= env_int("FAKE_HIP_DEVICES", 1)) return ERR_INVALID_DEVICE;
  memset(prop, 0, PROP_R0600_BYTES);
  const char *arch = getenv("FAKE_HIP_ARCH");
  snprintf((char *)prop + PROP_R0600_GCN_ARCH_NAME, 256, "%s",
           arch && *arch ? arch : "gfx942:sramecc+:xnack-");
  return OK;
}

EXPORT hipError_t hipModuleLoadData(void **mod, const void *image) {
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  int r = fake_module_load(image, mod);
  return r == 0 ? OK : r == -1 ? ERR_INVALID_IMAGE : ERR_OUT_OF_MEMORY;
}

EXPORT hipError_t hipModuleUnload(void *mod) {
  fake_module_unload(mod);
  return OK;
}

EXPORT hipError_t hipModuleGetFunction(void **fn, void *mod, const char *name) {
  const void *k = fake_module_function(mod, name);
  if (!k) return ERR_NOT_FOUND;
  *fn = (void *)k;
  return OK;
}

EXPORT hipError_t hipMalloc(void **p, size_t bytes) {
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  *p = bytes ? fake_alloc(bytes, 1) : NULL;
  return *p || !bytes ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT hipError_t hipFree(void *p) {
  if (p) fake_free(p, 1);
  return OK;
}

EXPORT hipError_t hipHostMalloc(void **p, size_t bytes, unsigned flags) {
  if (flags) return ERR_INVALID_VALUE;
  *p = fake_alloc(bytes, 0);
  return *p ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT hipError_t hipHostFree(void *p) {
  if (p) fake_free(p, 0);
  return OK;
}

EXPORT hipError_t hipMemcpyHtoDAsync(void *dst, void *src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return queued(fake_enqueue_copy(dst, src, n, FAKE_HTOD));
}

EXPORT hipError_t hipMemcpyDtoHAsync(void *dst, void *src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return queued(fake_enqueue_copy(dst, src, n, FAKE_DTOH));
}

EXPORT hipError_t hipMemcpyDtoDAsync(void *dst, void *src, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return queued(fake_enqueue_copy(dst, src, n, FAKE_DTOD));
}

EXPORT hipError_t hipMemsetD8Async(void *dst, unsigned char v, size_t n, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return queued(fake_enqueue_set(dst, v, n));
}

EXPORT hipError_t hipStreamCreateWithFlags(void **s, unsigned flags) {
  (void)flags;
  if (!g_initialized) return ERR_NOT_INITIALIZED;
  *s = &g_stream;
  return OK;
}

EXPORT hipError_t hipStreamDestroy(void *s) { return s == &g_stream ? OK : ERR_INVALID_VALUE; }

EXPORT hipError_t hipStreamSynchronize(void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return fake_synchronize() ? ERR_LAUNCH_FAILURE : OK;
}

EXPORT hipError_t hipModuleLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz,
                                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                                        void *s, void **params, void **extra) {
  (void)shared;
  if (s != &g_stream) return ERR_INVALID_VALUE;
  /* HIP: at most 2^32 - 1 work-items per launch in all. */
  if ((uint64_t)gx * bx > UINT32_MAX) return ERR_INVALID_VALUE;
  int r = fake_enqueue_launch(f, gx, gy, gz, bx, by, bz, params, extra);
  return r == 0 ? OK : r == -1 ? ERR_INVALID_VALUE : ERR_OUT_OF_MEMORY;
}

/* Stream capture and graphs (fake_driver.c records and replays). */
EXPORT hipError_t hipStreamBeginCapture(void *s, int mode) {
  if (s != &g_stream || mode < 0 || mode > 2) return ERR_INVALID_VALUE;
  return fake_capture_begin() ? ERR_INVALID_VALUE : OK;
}

EXPORT hipError_t hipStreamEndCapture(void *s, void **graph) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  *graph = NULL;
  return fake_capture_end(graph) ? ERR_INVALID_VALUE : OK;
}

EXPORT hipError_t hipGraphInstantiate(void **exec, void *graph, void *error_node, char *log,
                                      size_t log_size) {
  (void)error_node;
  (void)log;
  (void)log_size;
  if (!graph) return ERR_INVALID_VALUE;
  *exec = fake_graph_copy(graph);
  return *exec ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT hipError_t hipGraphLaunch(void *exec, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return fake_graph_launch(exec) ? ERR_OUT_OF_MEMORY : OK;
}

EXPORT hipError_t hipGraphExecDestroy(void *exec) {
  fake_graph_free(exec);
  return OK;
}

EXPORT hipError_t hipGraphDestroy(void *graph) {
  fake_graph_free(graph);
  return OK;
}

/* Timing events (fake_driver.c). */
EXPORT hipError_t hipEventCreate(void **ev) {
  *ev = fake_event_new();
  return *ev ? OK : ERR_OUT_OF_MEMORY;
}

EXPORT hipError_t hipEventRecord(void *ev, void *s) {
  if (s != &g_stream) return ERR_INVALID_VALUE;
  return queued(fake_event_record(ev));
}

EXPORT hipError_t hipEventElapsedTime(float *ms, void *start, void *stop) {
  return fake_event_elapsed(start, stop, ms) ? ERR_INVALID_VALUE : OK;
}

EXPORT hipError_t hipEventDestroy(void *ev) {
  fake_event_free(ev);
  return OK;
}

EXPORT const char *hipGetErrorName(hipError_t e) {
  return e == ERR_OUT_OF_MEMORY ? "hipErrorOutOfMemory"
         : e == ERR_LAUNCH_FAILURE ? "hipErrorLaunchFailure"
                                   : "hipErrorFake";
}

EXPORT const char *hipGetErrorString(hipError_t e) {
  (void)e;
  return "fake HIP runtime error";
}
