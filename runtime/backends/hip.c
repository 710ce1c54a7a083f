/* hip.c: the AMD backend, over the HIP runtime (libamdhip64) loaded with
 * dlopen.
 *
 * No ROCm header is needed to build it: the handful of HIP entry points used
 * are declared below as hip_runtime_api.h (ROCm 5 to 7) declares them;
 * handles are opaque pointers and hipDeviceptr_t is void *.
 *
 * The device's chip comes from hipDeviceProp_t.gcnArchName
 * ("gfx942:sramecc+:xnack-"). That struct's layout changed in ROCm 6, which
 * therefore exports a versioned entry point, hipGetDevicePropertiesR0600
 * (layout hipDeviceProp_tR0600: 1472 bytes, gcnArchName at byte 1160), next
 * to hipGetDeviceProperties with the ROCm 5 layout (hipDeviceProp_tR0000,
 * hip_deprecated.h: gcnArchName at byte 396). Both offsets were taken from
 * the HIP headers with offsetof; the call writes into a larger zeroed
 * buffer, so a later struct growing at its end cannot overrun it.
 *
 * Image: an HSACO for the device's processor with compatible features
 * (llmc_rt_pick_image). Execution mirrors cuda.c: device 0
 * (HIP_VISIBLE_DEVICES chooses) made current on every entry (hipSetDevice is
 * per thread), one non-blocking stream, pinned staging (hipHostMalloc), and
 * hipModuleLaunchKernel with the 26 parameter values, which it copies at the
 * call like cuLaunchKernel. Decode-sized steps are captured as HIP graphs
 * and replayed, as cuda.c does with CUDA graphs (gpu.c's mechanism;
 * LLMC_HIP_GRAPHS=0 turns it off). HIP limits a launch to 2^32 - 1 work-items in
 * all (gridDimX * blockDimX; HIP Programming Guide, "Kernel launch"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include "../rt_gpu.h"

typedef int hipError_t;
typedef struct ihipModule_t *hipModule_t;
typedef struct ihipModuleSymbol_t *hipFunction_t;
typedef struct ihipStream_t *hipStream_t;
typedef struct ihipEvent_t *hipEvent_t;
typedef struct ihipGraph *hipGraph_t;
typedef struct hipGraphExec *hipGraphExec_t;
typedef void *hipDeviceptr_t;

enum {
  hipSuccess = 0,
  hipErrorOutOfMemory = 2,
  hipErrorNoDevice = 100,
  hipStreamNonBlocking = 1,
  hipHostMallocDefault = 0,
};

enum {
  PROP_BUFFER_BYTES = 8192,
  PROP_R0600_GCN_ARCH_NAME = 1160,
  PROP_R0000_GCN_ARCH_NAME = 396,
  GCN_ARCH_NAME_BYTES = 256,
  MAX_GRID_Y = 65535, /* hipDeviceProp_t.maxGridSize[1] on every AMD GPU HIP supports */
};

typedef struct {
  hipError_t (*hipInit)(unsigned flags);
  hipError_t (*hipGetDeviceCount)(int *count);
  hipError_t (*hipSetDevice)(int device);
  hipError_t (*hipDeviceGetName)(char *name, int len, int device);
  hipError_t (*hipGetDeviceProperties)(void *prop, int device); /* R0600 or R0000 */
  hipError_t (*hipModuleLoadData)(hipModule_t *mod, const void *image);
  hipError_t (*hipModuleUnload)(hipModule_t mod);
  hipError_t (*hipModuleGetFunction)(hipFunction_t *fn, hipModule_t mod, const char *name);
  hipError_t (*hipMalloc)(void **ptr, size_t bytes);
  hipError_t (*hipFree)(void *ptr);
  hipError_t (*hipHostMalloc)(void **ptr, size_t bytes, unsigned flags);
  hipError_t (*hipHostFree)(void *ptr);
  hipError_t (*hipMemcpyHtoDAsync)(hipDeviceptr_t dst, void *src, size_t bytes, hipStream_t s);
  hipError_t (*hipMemcpyDtoHAsync)(void *dst, hipDeviceptr_t src, size_t bytes, hipStream_t s);
  hipError_t (*hipMemcpyDtoDAsync)(hipDeviceptr_t dst, hipDeviceptr_t src, size_t bytes,
                                   hipStream_t s);
  hipError_t (*hipMemsetD8Async)(hipDeviceptr_t dst, unsigned char value, size_t n,
                                 hipStream_t s);
  hipError_t (*hipStreamCreateWithFlags)(hipStream_t *s, unsigned flags);
  hipError_t (*hipStreamDestroy)(hipStream_t s);
  hipError_t (*hipStreamSynchronize)(hipStream_t s);
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t fn, unsigned gx, unsigned gy, unsigned gz,
                                      unsigned bx, unsigned by, unsigned bz, unsigned shared,
                                      hipStream_t s, void **params, void **extra);
  const char *(*hipGetErrorName)(hipError_t e);
  const char *(*hipGetErrorString)(hipError_t e);
  hipError_t (*hipEventCreate)(hipEvent_t *ev);
  hipError_t (*hipEventRecord)(hipEvent_t ev, hipStream_t s);
  hipError_t (*hipEventElapsedTime)(float *ms, hipEvent_t start, hipEvent_t stop);
  hipError_t (*hipEventDestroy)(hipEvent_t ev);
  /* The graph API, all or none. */
  hipError_t (*hipStreamBeginCapture)(hipStream_t s, int mode);
  hipError_t (*hipStreamEndCapture)(hipStream_t s, hipGraph_t *graph);
  hipError_t (*hipGraphInstantiate)(hipGraphExec_t *exec, hipGraph_t graph, void *error_node,
                                    char *log, size_t log_size);
  hipError_t (*hipGraphLaunch)(hipGraphExec_t exec, hipStream_t s);
  hipError_t (*hipGraphExecDestroy)(hipGraphExec_t exec);
  hipError_t (*hipGraphDestroy)(hipGraph_t graph);
  size_t arch_offset; /* of gcnArchName in what hipGetDeviceProperties writes */
} hip_api_t;

typedef struct {
  hip_api_t api;
  int dev;
  hipStream_t stream;
  hipModule_t module;
  llmc_rt_gpu_kernel_t *kernels; /* [n_kernels] */
  int64_t n_kernels;
  const char *const *kernel_names;
  char arch[GCN_ARCH_NAME_BYTES]; /* "gfx942:sramecc+:xnack-" */
  char name[256];
  char desc[768];
  hipEvent_t *marks; /* profiling timestamps, created on first use */
  int64_t n_marks;
  llmc_rt_graphs_t graphs; /* step replay (gpu.c) */
} hip_state_t;

static const llmc_rt_graph_ops_t hip_graph_ops;

static void hip_error_text(const hip_api_t *api, hipError_t r, char *buf, size_t size) {
  const char *name = api->hipGetErrorName ? api->hipGetErrorName(r) : NULL;
  const char *text = api->hipGetErrorString ? api->hipGetErrorString(r) : NULL;
  if (name) snprintf(buf, size, "%s (%s)", name, text ? text : "no description");
  else snprintf(buf, size, "HIP error %d", r);
}

static llmc_status_t *hip_fail(const hip_api_t *api, hipError_t r, const char *what) {
  char e[256];
  hip_error_text(api, r, e, sizeof e);
  return LLMC_ERROR(r == hipErrorOutOfMemory ? LLMC_RESOURCE_EXHAUSTED : LLMC_INTERNAL, NULL,
                    "backend 'hip': %s failed: %s", what, e);
}

#define HIP_CHECK(st, call, what)                                        \
  do {                                                                   \
    hipError_t hip__r = (call);                                          \
    if (hip__r != hipSuccess) return hip_fail(&(st)->api, hip__r, what); \
  } while (0)

static llmc_status_t *hip_open_driver(hip_api_t *api, int *out_count) {
  memset(api, 0, sizeof *api);
  /* The unversioned name is a development symlink; runtime packages ship
   * only the versioned sonames. */
  static const char *const names[] = {"libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6",
                                      "libamdhip64.so.5"};
  char err[256];
  void *lib = llmc_rt_dlopen_first(names, sizeof names / sizeof names[0], err, sizeof err);
  if (!lib)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'hip': no AMD ROCm runtime found (libamdhip64.so could not be "
                      "loaded)");
  api->arch_offset = PROP_R0600_GCN_ARCH_NAME;
  void *props = dlsym(lib, "hipGetDevicePropertiesR0600");
  if (!props) {
    props = dlsym(lib, "hipGetDeviceProperties"); /* ROCm 5: the R0000 layout */
    api->arch_offset = PROP_R0000_GCN_ARCH_NAME;
  }
  memcpy(&api->hipGetDeviceProperties, &props, sizeof props);
#define SYM(n) {#n, (void **)&api->n}
  const llmc_rt_sym_t syms[] = {
      SYM(hipInit),           SYM(hipGetDeviceCount),    SYM(hipSetDevice),
      SYM(hipDeviceGetName),  SYM(hipModuleLoadData),    SYM(hipModuleUnload),
      SYM(hipModuleGetFunction), SYM(hipMalloc),         SYM(hipFree),
      SYM(hipHostMalloc),     SYM(hipHostFree),          SYM(hipMemcpyHtoDAsync),
      SYM(hipMemcpyDtoHAsync), SYM(hipMemcpyDtoDAsync),  SYM(hipMemsetD8Async),
      SYM(hipStreamCreateWithFlags), SYM(hipStreamDestroy), SYM(hipStreamSynchronize),
      SYM(hipModuleLaunchKernel), SYM(hipGetErrorName),  SYM(hipGetErrorString),
      SYM(hipEventCreate),    SYM(hipEventRecord),       SYM(hipEventElapsedTime),
      SYM(hipEventDestroy),
  };
  const llmc_rt_sym_t graph_syms[] = {
      SYM(hipStreamBeginCapture), SYM(hipStreamEndCapture), SYM(hipGraphInstantiate),
      SYM(hipGraphLaunch),        SYM(hipGraphExecDestroy), SYM(hipGraphDestroy),
  };
#undef SYM
  if (llmc_rt_dlsym_all(lib, graph_syms, sizeof graph_syms / sizeof graph_syms[0]))
    for (size_t i = 0; i < sizeof graph_syms / sizeof graph_syms[0]; i++) *graph_syms[i].slot = NULL;
  const char *missing = llmc_rt_dlsym_all(lib, syms, sizeof syms / sizeof syms[0]);
  if (!missing && !props) missing = "hipGetDeviceProperties";
  if (missing) {
    dlclose(lib);
    memset(api, 0, sizeof *api);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'hip': the ROCm runtime is too old (libamdhip64 lacks %s)",
                      missing);
  }
  /* Stays loaded from here on, like the CUDA driver (cuda.c). */
  int count = 0;
  hipError_t r = api->hipInit(0);
  if (r == hipSuccess) r = api->hipGetDeviceCount(&count);
  if (r == hipErrorNoDevice || (r == hipSuccess && count < 1))
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'hip': no AMD GPU found (the ROCm runtime loads but reports no "
                      "device)");
  if (r != hipSuccess) {
    char e[256];
    hip_error_text(api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'hip': the ROCm runtime failed to initialize: %s", e);
  }
  *out_count = count;
  return NULL;
}

static llmc_status_t *hip_identify(const hip_api_t *api, int dev, char *name, size_t name_size,
                                   char *arch, size_t arch_size) {
  if (api->hipDeviceGetName(name, (int)name_size, dev) != hipSuccess)
    snprintf(name, name_size, "AMD device 0");
  name[name_size - 1] = 0;
  unsigned char *props = calloc(1, PROP_BUFFER_BYTES);
  if (!props) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  hipError_t r = api->hipGetDeviceProperties(props, dev);
  if (r != hipSuccess) {
    free(props);
    return hip_fail(api, r, "reading the device properties");
  }
  char gcn[GCN_ARCH_NAME_BYTES];
  memcpy(gcn, props + api->arch_offset, sizeof gcn);
  gcn[sizeof gcn - 1] = 0;
  free(props);
  if (strncmp(gcn, "gfx", 3) != 0)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'hip': cannot tell the chip of %s (gcnArchName '%.32s' is not a "
                      "gfx name; is this ROCm release's hipDeviceProp_t layout known?)",
                      name, gcn);
  snprintf(arch, arch_size, "%s", gcn);
  return NULL;
}

static llmc_status_t *hip_probe(llmc_rt_device_info_t *out) {
  memset(out, 0, sizeof *out);
  hip_api_t api;
  LLMC_RETURN_IF_ERROR(hip_open_driver(&api, &out->n_devices));
  char arch[GCN_ARCH_NAME_BYTES];
  LLMC_RETURN_IF_ERROR(hip_identify(&api, 0, out->name, sizeof out->name, arch, sizeof arch));
  /* The compiler's target is the processor; features stay the device's. */
  size_t n = strcspn(arch, ":");
  if (n >= sizeof out->target) n = sizeof out->target - 1;
  memcpy(out->target, arch, n);
  out->target[n] = 0;
  return NULL;
}

static void hip_destroy(void *state) {
  hip_state_t *s = state;
  if (!s) return;
  if (s->api.hipSetDevice) {
    s->api.hipSetDevice(s->dev);
    if (s->stream) s->api.hipStreamSynchronize(s->stream);
    if (s->module) s->api.hipModuleUnload(s->module);
    if (s->stream) s->api.hipStreamDestroy(s->stream);
    for (int64_t i = 0; i < s->n_marks; i++) s->api.hipEventDestroy(s->marks[i]);
    llmc_rt_graphs_destroy(&s->graphs, &hip_graph_ops, s);
  }
  free(s->kernels);
  free(s->marks);
  free(s);
}

static llmc_status_t *hip_load_image(hip_state_t *s, const llmc_image_v1_t *im) {
  hipError_t r = s->api.hipModuleLoadData(&s->module, im->data);
  if (r != hipSuccess) {
    s->module = NULL;
    char e[256];
    hip_error_text(&s->api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'hip': loading image %s on %s (%s) failed: %s",
                      im->target, s->name, s->arch, e);
  }
  for (int64_t k = 0; k < s->n_kernels; k++) {
    const llmc_gpu_kernel_v1_t *g = &im->kernels[k];
    if (g->block_threads == 0) { /* fused into another launch here: never run */
      s->kernels[k] = (llmc_rt_gpu_kernel_t){0};
      continue;
    }
    hipFunction_t fn;
    r = s->api.hipModuleGetFunction(&fn, s->module, g->symbol);
    if (r != hipSuccess) {
      char e[256];
      hip_error_text(&s->api, r, e, sizeof e);
      return LLMC_ERROR(LLMC_DATA_LOSS, NULL, "backend 'hip': image %s has no kernel '%s': %s",
                        im->target, g->symbol, e);
    }
    s->kernels[k] = (llmc_rt_gpu_kernel_t){.fn = fn,
                                           .block_threads = (uint32_t)g->block_threads,
                                           .items_per_block = (uint32_t)g->items_per_block,
                                           .shared_bytes = (uint32_t)g->shared_bytes,
                                           .grid_y_tokens = (uint32_t)g->grid_y_tokens};
  }
  return NULL;
}

static llmc_status_t *hip_create(const llmc_rt_options_t *opts, const llmc_model_v1_t *model,
                                 void **out_state) {
  (void)opts;
  *out_state = NULL;
  hip_state_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int count;
  llmc_status_t *st = hip_open_driver(&s->api, &count);
  if (!st) st = hip_identify(&s->api, 0, s->name, sizeof s->name, s->arch, sizeof s->arch);
  int64_t pick = -1;
  if (!st) {
    pick = llmc_rt_pick_image(model->images, model->n_images, LLMC_RT_VENDOR_AMD, s->arch);
    if (pick < 0) {
      char device[600];
      snprintf(device, sizeof device, "%s (%s)", s->name, s->arch);
      st = llmc_rt_no_image("hip", "", device, model);
    }
  }
  if (st) {
    free(s);
    return st;
  }
  const llmc_image_v1_t *im = &model->images[pick];
  s->n_kernels = model->n_kernels;
  s->kernel_names = model->kernel_names;
  s->graphs.on = s->api.hipGraphLaunch && llmc_rt_env_allows("LLMC_HIP_GRAPHS");
  snprintf(s->desc, sizeof s->desc, "%s (%s), image %s (%s)%s", s->name, s->arch, im->target,
           llmc_rt_image_format_name(im->format),
           s->graphs.on ? ", decode steps as HIP graphs" : "");
  hipError_t r = s->api.hipSetDevice(s->dev);
  if (r != hipSuccess) st = hip_fail(&s->api, r, "selecting device 0");
  if (!st && (r = s->api.hipStreamCreateWithFlags(&s->stream, hipStreamNonBlocking)) !=
                 hipSuccess) {
    s->stream = NULL;
    st = hip_fail(&s->api, r, "creating a stream");
  }
  if (!st) {
    s->kernels = calloc((size_t)(s->n_kernels ? s->n_kernels : 1), sizeof *s->kernels);
    st = s->kernels ? hip_load_image(s, im)
                    : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  if (st) {
    hip_destroy(s);
    return st;
  }
  *out_state = s;
  return NULL;
}

static const char *hip_describe(void *state) { return ((hip_state_t *)state)->desc; }

static llmc_status_t *hip_alloc(void *state, size_t bytes, void **out_ptr) {
  hip_state_t *s = state;
  *out_ptr = NULL;
  if (bytes == 0) bytes = 64;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  void *p = NULL;
  hipError_t r = s->api.hipMalloc(&p, bytes);
  if (r != hipSuccess) {
    char e[256];
    hip_error_text(&s->api, r, e, sizeof e);
    return LLMC_ERROR(r == hipErrorOutOfMemory ? LLMC_RESOURCE_EXHAUSTED : LLMC_INTERNAL, NULL,
                      "backend 'hip': allocating %zu bytes on %s failed: %s", bytes, s->name, e);
  }
  r = s->api.hipMemsetD8Async(p, 0, bytes, s->stream);
  if (r != hipSuccess) {
    s->api.hipFree(p);
    return hip_fail(&s->api, r, "zeroing device memory");
  }
  *out_ptr = p;
  return NULL;
}

static void hip_free(void *state, void *ptr, size_t bytes) {
  (void)bytes;
  hip_state_t *s = state;
  if (!ptr) return;
  s->api.hipSetDevice(s->dev);
  s->api.hipFree(ptr);
}

static llmc_status_t *hip_alloc_host(void *state, size_t bytes, void **out_ptr) {
  hip_state_t *s = state;
  *out_ptr = NULL;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipHostMalloc(out_ptr, bytes ? bytes : 64, hipHostMallocDefault),
            "allocating pinned host memory");
  return NULL;
}

static void hip_free_host(void *state, void *ptr) {
  hip_state_t *s = state;
  if (!ptr) return;
  s->api.hipHostFree(ptr);
}

static llmc_status_t *hip_upload(void *state, void *dst, const void *src, size_t bytes) {
  hip_state_t *s = state;
  if (!bytes) return NULL;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipMemcpyHtoDAsync(dst, (void *)(uintptr_t)src, bytes, s->stream),
            "a host-to-device copy");
  return NULL;
}

static llmc_status_t *hip_download(void *state, void *dst, const void *src, size_t bytes) {
  hip_state_t *s = state;
  if (!bytes) return NULL;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipMemcpyDtoHAsync(dst, (void *)(uintptr_t)src, bytes, s->stream),
            "a device-to-host copy");
  return NULL;
}

static llmc_status_t *hip_copy(void *state, void *dst, const void *src, size_t bytes) {
  hip_state_t *s = state;
  if (!bytes) return NULL;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipMemcpyDtoDAsync(dst, (void *)(uintptr_t)src, bytes, s->stream),
            "a device-to-device copy");
  return NULL;
}

static llmc_status_t *launch_kernel(hip_state_t *s, int64_t kernel, int64_t extent,
                                    int64_t tokens, const llmc_rt_buffers_t *bufs) {
  const llmc_rt_gpu_kernel_t *k = &s->kernels[kernel];
  if (k->block_threads == 0) return NULL; /* fused into another launch */
  uint32_t grid, grid_y;
  const uint64_t max_blocks = UINT32_MAX / k->block_threads;
  if (!llmc_rt_gpu_grid_xy(k, extent, tokens, max_blocks, MAX_GRID_Y, &grid, &grid_y))
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "backend 'hip': kernel %s over %lld items x %lld tokens needs more than "
                      "the %llu x %d blocks of %u threads HIP allows",
                      s->kernel_names ? s->kernel_names[kernel] : "?", (long long)extent,
                      (long long)tokens, (unsigned long long)max_blocks, MAX_GRID_Y,
                      k->block_threads);
  uint64_t values[LLMC_RT_GPU_N_PARAMS];
  void *params[LLMC_RT_GPU_N_PARAMS];
  llmc_rt_gpu_params(bufs, extent, values);
  for (int i = 0; i < LLMC_RT_GPU_N_PARAMS; i++) params[i] = &values[i];
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  hipError_t r = s->api.hipModuleLaunchKernel(k->fn, grid, grid_y, 1, k->block_threads, 1, 1,
                                              k->shared_bytes, s->stream, params, NULL);
  if (r != hipSuccess) {
    char e[256];
    hip_error_text(&s->api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'hip': launching kernel %s failed: %s",
                      s->kernel_names ? s->kernel_names[kernel] : "?", e);
  }
  return NULL;
}

static llmc_status_t *hip_launch(void *state, int64_t kernel, int64_t extent, int64_t tokens,
                                 const llmc_rt_buffers_t *bufs) {
  hip_state_t *s = state;
  llmc_status_t *st = launch_kernel(s, kernel, extent, tokens, bufs);
  /* The runtime returns without step_end: the stream must leave capture. */
  if (st) llmc_rt_graphs_abandon(&s->graphs, &hip_graph_ops, s);
  return st;
}

static llmc_status_t *hip_synchronize(void *state) {
  hip_state_t *s = state;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipStreamSynchronize(s->stream), "running the step on the device");
  return NULL;
}

/* Profiling: one timing event per slot, reused every step. */
static llmc_status_t *hip_mark(void *state, int64_t slot) {
  hip_state_t *s = state;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  while (slot >= s->n_marks) {
    hipEvent_t *m = realloc(s->marks, sizeof *m * (size_t)(s->n_marks + 1));
    if (!m) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    s->marks = m;
    HIP_CHECK(s, s->api.hipEventCreate(&s->marks[s->n_marks]), "creating a timing event");
    s->n_marks++;
  }
  HIP_CHECK(s, s->api.hipEventRecord(s->marks[slot], s->stream), "recording a timing event");
  return NULL;
}

static llmc_status_t *hip_mark_elapsed(void *state, int64_t a, int64_t b, float *out_ms) {
  hip_state_t *s = state;
  if (a < 0 || b < 0 || a >= s->n_marks || b >= s->n_marks)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'hip': no timing event %lld or %lld",
                      (long long)a, (long long)b);
  HIP_CHECK(s, s->api.hipEventElapsedTime(out_ms, s->marks[a], s->marks[b]),
            "reading a timing event");
  return NULL;
}

/* Step replay: the vendor half of gpu.c's mechanism. */
enum { HIP_STREAM_CAPTURE_MODE_RELAXED = 2 };

static bool hip_capture_begin(void *state) {
  hip_state_t *s = state;
  return s->api.hipSetDevice(s->dev) == hipSuccess &&
         s->api.hipStreamBeginCapture(s->stream, HIP_STREAM_CAPTURE_MODE_RELAXED) == hipSuccess;
}

static void *hip_capture_end(void *state) {
  hip_state_t *s = state;
  hipGraph_t g = NULL;
  hipGraphExec_t exec = NULL;
  hipError_t r = s->api.hipStreamEndCapture(s->stream, &g);
  if (r == hipSuccess) r = s->api.hipGraphInstantiate(&exec, g, NULL, NULL, 0);
  if (g) s->api.hipGraphDestroy(g);
  return r == hipSuccess ? exec : NULL;
}

static llmc_status_t *hip_replay(void *state, void *exec) {
  hip_state_t *s = state;
  HIP_CHECK(s, s->api.hipSetDevice(s->dev), "selecting the device");
  HIP_CHECK(s, s->api.hipGraphLaunch(exec, s->stream), "launching a step's HIP graph");
  return NULL;
}

static void hip_graph_destroy(void *state, void *exec) {
  ((hip_state_t *)state)->api.hipGraphExecDestroy(exec);
}

static const llmc_rt_graph_ops_t hip_graph_ops = {hip_capture_begin, hip_capture_end, hip_replay,
                                                  hip_graph_destroy};

static llmc_status_t *hip_step_begin(void *state, uint64_t key, bool *out_replay) {
  hip_state_t *s = state;
  return llmc_rt_graphs_step_begin(&s->graphs, &hip_graph_ops, s, key, out_replay);
}

static llmc_status_t *hip_step_end(void *state, bool *out_ran) {
  hip_state_t *s = state;
  return llmc_rt_graphs_step_end(&s->graphs, &hip_graph_ops, s, out_ran);
}

/* A kernel another launch does the work of on this device (block_threads 0). */
static bool hip_skipped(void *state, int64_t kernel) {
  const hip_state_t *s = state;
  return s->kernels[kernel].block_threads == 0;
}

const llmc_rt_backend_vtable_t llmc_rt_backend_hip = {
    .version = LLMC_RT_BACKEND_VTABLE_VERSION,
    .name = "hip",
    .host_visible = false,
    .image_formats = 1u << LLMC_IMAGE_HSACO,
    .probe = hip_probe,
    .create = hip_create,
    .destroy = hip_destroy,
    .describe = hip_describe,
    .alloc = hip_alloc,
    .free = hip_free,
    .alloc_host = hip_alloc_host,
    .free_host = hip_free_host,
    .upload = hip_upload,
    .download = hip_download,
    .copy = hip_copy,
    .launch = hip_launch,
    .skipped = hip_skipped,
    .synchronize = hip_synchronize,
    .mark = hip_mark,
    .mark_elapsed = hip_mark_elapsed,
    .step_begin = hip_step_begin,
    .step_end = hip_step_end,
};
