/* cuda.c: the NVIDIA backend, over the CUDA driver API loaded with dlopen.
 *
 * No CUDA header is needed to build it: the few types, constants and entry
 * points used are declared below as the driver exports them (CUDA Driver API
 * reference, cuda.h of CUDA 12/13; the "_v2" names are the ABI-stable symbols
 * cuda.h maps cuMemAlloc and friends to since CUDA 3.2). Everything is
 * resolved with dlsym from libcuda.so.1, the driver's soname.
 *
 * Open: cuInit, device 0 (CUDA_VISIBLE_DEVICES chooses), its compute
 * capability picks an image (llmc_rt_pick_image), the device's primary
 * context (shared with any CUDA runtime code in the process: Driver API,
 * "Primary Context Management") is made current on every entry, since
 * contexts are current per thread. The image is loaded with
 * cuModuleLoadDataEx (PTX is JIT-compiled here, with its error log kept for
 * the message) and every kernel resolved with cuModuleGetFunction.
 *
 * Execution: one non-blocking stream; every copy, memset and launch is
 * enqueued on it in order, and cuStreamSynchronize is the only wait. Copies
 * to and from the runtime's staging buffers use page-locked memory
 * (cuMemAllocHost), so they are asynchronous (Driver API, "API
 * synchronization behavior": copies involving pageable memory may be
 * synchronous). cuLaunchKernel copies the parameter values at the call
 * (kernelParams), so they live on this function's stack.
 *
 * Decode steps are replayed as CUDA graphs (Driver API, "Graph Management",
 * "Stream Capture"): a step of up to MAX_SEQS tokens launches the same
 * kernels with the same parameters every time for the same T (activations,
 * KV cache, meta and args buffers never move; what changes per step is
 * uploaded into them before the launches), so its launches are captured on
 * the stream once (relaxed capture mode, as cuCtxSetCurrent is called
 * during it), instantiated, and from then on one cuGraphLaunch replaces
 * some 300 cuLaunchKernel calls of a 1B model's step. Drivers without the
 * graph API, a failed capture, or LLMC_CUDA_GRAPHS=0 mean plain launches.
 *
 * The driver library stays loaded once cuInit ran: the driver API has no
 * finalization, and unloading the driver under its own helper threads is not
 * safe (the CUDA runtime never unloads it either). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include "../rt_gpu.h"

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr; /* CUdeviceptr_v2 on 64-bit hosts */
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_STREAM_NON_BLOCKING = 1,
};

/* Above 48 KiB a kernel's dynamic shared memory needs an explicit opt-in
 * (CUDA C++ Programming Guide, "Shared Memory" of compute capability 7.x+). */
#define DEFAULT_SHARED_LIMIT (48 * 1024)

typedef struct {
  CUresult (*cuInit)(unsigned flags);
  CUresult (*cuDeviceGetCount)(int *count);
  CUresult (*cuDeviceGet)(CUdevice *dev, int ordinal);
  CUresult (*cuDeviceGetAttribute)(int *value, int attrib, CUdevice dev);
  CUresult (*cuDeviceGetName)(char *name, int len, CUdevice dev);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice dev);
  CUresult (*cuCtxSetCurrent)(CUcontext ctx);
  CUresult (*cuModuleLoadDataEx)(CUmodule *mod, const void *image, unsigned n_options,
                                 int *options, void **values);
  CUresult (*cuModuleUnload)(CUmodule mod);
  CUresult (*cuModuleGetFunction)(CUfunction *fn, CUmodule mod, const char *name);
  CUresult (*cuFuncSetAttribute)(CUfunction fn, int attrib, int value);
  CUresult (*cuMemAlloc)(CUdeviceptr *ptr, size_t bytes);
  CUresult (*cuMemFree)(CUdeviceptr ptr);
  CUresult (*cuMemAllocHost)(void **ptr, size_t bytes);
  CUresult (*cuMemFreeHost)(void *ptr);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream s);
  CUresult (*cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream s);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s);
  CUresult (*cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t n, CUstream s);
  CUresult (*cuStreamCreate)(CUstream *s, unsigned flags);
  CUresult (*cuStreamDestroy)(CUstream s);
  CUresult (*cuStreamSynchronize)(CUstream s);
  CUresult (*cuLaunchKernel)(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                             unsigned by, unsigned bz, unsigned shared, CUstream s,
                             void **params, void **extra);
  CUresult (*cuGetErrorName)(CUresult r, const char **name);
  CUresult (*cuGetErrorString)(CUresult r, const char **text);
  CUresult (*cuEventCreate)(CUevent *ev, unsigned flags);
  CUresult (*cuEventRecord)(CUevent ev, CUstream s);
  CUresult (*cuEventElapsedTime)(float *ms, CUevent start, CUevent end);
  CUresult (*cuEventDestroy)(CUevent ev);
  /* The graph API (CUDA 11.4+), all or none. */
  CUresult (*cuStreamBeginCapture)(CUstream s, int mode);
  CUresult (*cuStreamEndCapture)(CUstream s, CUgraph *graph);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph,
                                          unsigned long long flags);
  CUresult (*cuGraphLaunch)(CUgraphExec exec, CUstream s);
  CUresult (*cuGraphExecDestroy)(CUgraphExec exec);
  CUresult (*cuGraphDestroy)(CUgraph graph);
} cuda_api_t;

enum { CU_STREAM_CAPTURE_MODE_RELAXED = 2 };

#define LIBCUDA "libcuda.so.1"

typedef struct {
  cuda_api_t api;
  CUdevice dev;
  CUcontext ctx; /* the primary context, retained */
  CUstream stream;
  CUmodule module;
  llmc_rt_gpu_kernel_t *kernels; /* [n_kernels] */
  int64_t n_kernels;
  const char *const *kernel_names;
  uint64_t max_grid, max_grid_y;
  char arch[16];  /* "sm_90" */
  char name[256]; /* device name */
  char desc[512];
  CUevent *marks; /* profiling timestamps, created on first use */
  int64_t n_marks;
  llmc_rt_graphs_t graphs; /* step replay (gpu.c) */
} cuda_state_t;

static const llmc_rt_graph_ops_t cuda_graph_ops;

/* "CUDA_ERROR_OUT_OF_MEMORY (out of memory)" */
static void cu_error_text(const cuda_api_t *api, CUresult r, char *buf, size_t size) {
  const char *name = NULL, *text = NULL;
  if (api->cuGetErrorName) api->cuGetErrorName(r, &name);
  if (api->cuGetErrorString) api->cuGetErrorString(r, &text);
  snprintf(buf, size, "%s (%s)", name ? name : "CUDA error", text ? text : "no description");
  if (!name) snprintf(buf, size, "CUDA error %d", r);
}

static llmc_status_t *cu_fail(const cuda_api_t *api, CUresult r, const char *what) {
  char e[256];
  cu_error_text(api, r, e, sizeof e);
  return LLMC_ERROR(r == CUDA_ERROR_OUT_OF_MEMORY ? LLMC_RESOURCE_EXHAUSTED : LLMC_INTERNAL, NULL,
                    "backend 'cuda': %s failed: %s", what, e);
}

#define CU_CHECK(st, call, what)                         \
  do {                                                   \
    CUresult cu__r = (call);                             \
    if (cu__r != CUDA_SUCCESS) return cu_fail(&(st)->api, cu__r, what); \
  } while (0)

/* Loads the driver, initializes it and finds device 0. */
static llmc_status_t *cuda_open_driver(cuda_api_t *api, CUdevice *out_dev, int *out_count) {
  memset(api, 0, sizeof *api);
  static const char *const names[] = {LIBCUDA};
  char err[256];
  void *lib = llmc_rt_dlopen_first(names, 1, err, sizeof err);
  if (!lib)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'cuda': no NVIDIA driver found (" LIBCUDA " could not be loaded)");
#define SYM(n, s) {n, (void **)&api->s}
  const llmc_rt_sym_t syms[] = {
      SYM("cuInit", cuInit),
      SYM("cuDeviceGetCount", cuDeviceGetCount),
      SYM("cuDeviceGet", cuDeviceGet),
      SYM("cuDeviceGetAttribute", cuDeviceGetAttribute),
      SYM("cuDeviceGetName", cuDeviceGetName),
      SYM("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain),
      SYM("cuDevicePrimaryCtxRelease_v2", cuDevicePrimaryCtxRelease),
      SYM("cuCtxSetCurrent", cuCtxSetCurrent),
      SYM("cuModuleLoadDataEx", cuModuleLoadDataEx),
      SYM("cuModuleUnload", cuModuleUnload),
      SYM("cuModuleGetFunction", cuModuleGetFunction),
      SYM("cuFuncSetAttribute", cuFuncSetAttribute),
      SYM("cuMemAlloc_v2", cuMemAlloc),
      SYM("cuMemFree_v2", cuMemFree),
      SYM("cuMemAllocHost_v2", cuMemAllocHost),
      SYM("cuMemFreeHost", cuMemFreeHost),
      SYM("cuMemcpyHtoDAsync_v2", cuMemcpyHtoDAsync),
      SYM("cuMemcpyDtoHAsync_v2", cuMemcpyDtoHAsync),
      SYM("cuMemcpyDtoDAsync_v2", cuMemcpyDtoDAsync),
      SYM("cuMemsetD8Async", cuMemsetD8Async),
      SYM("cuStreamCreate", cuStreamCreate),
      SYM("cuStreamDestroy_v2", cuStreamDestroy),
      SYM("cuStreamSynchronize", cuStreamSynchronize),
      SYM("cuLaunchKernel", cuLaunchKernel),
      SYM("cuGetErrorName", cuGetErrorName),
      SYM("cuGetErrorString", cuGetErrorString),
      SYM("cuEventCreate", cuEventCreate),
      SYM("cuEventRecord", cuEventRecord),
      SYM("cuEventElapsedTime", cuEventElapsedTime),
      SYM("cuEventDestroy_v2", cuEventDestroy),
  };
  const char *missing = llmc_rt_dlsym_all(lib, syms, sizeof syms / sizeof syms[0]);
  if (missing) {
    dlclose(lib);
    memset(api, 0, sizeof *api);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'cuda': the NVIDIA driver is too old (" LIBCUDA " lacks %s)",
                      missing);
  }
  const llmc_rt_sym_t graph_syms[] = {
      SYM("cuStreamBeginCapture_v2", cuStreamBeginCapture),
      SYM("cuStreamEndCapture", cuStreamEndCapture),
      SYM("cuGraphInstantiateWithFlags", cuGraphInstantiateWithFlags),
      SYM("cuGraphLaunch", cuGraphLaunch),
      SYM("cuGraphExecDestroy", cuGraphExecDestroy),
      SYM("cuGraphDestroy", cuGraphDestroy),
  };
  if (llmc_rt_dlsym_all(lib, graph_syms, sizeof graph_syms / sizeof graph_syms[0]))
    for (size_t i = 0; i < sizeof graph_syms / sizeof graph_syms[0]; i++) *graph_syms[i].slot = NULL;
#undef SYM
  /* From here on the library stays loaded (see the file comment). */
  char e[256];
  CUresult r = api->cuInit(0);
  if (r == CUDA_ERROR_NO_DEVICE)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'cuda': no NVIDIA GPU found (the driver loads but reports no "
                      "device)");
  if (r != CUDA_SUCCESS) {
    cu_error_text(api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'cuda': the NVIDIA driver failed to initialize: %s", e);
  }
  int count = 0;
  r = api->cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count < 1)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'cuda': no NVIDIA GPU found (the driver loads but reports no "
                      "device)");
  r = api->cuDeviceGet(out_dev, 0);
  if (r != CUDA_SUCCESS) {
    cu_error_text(api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "backend 'cuda': cannot open device 0: %s", e);
  }
  *out_count = count;
  return NULL;
}

/* Device name and "sm_XY". */
static llmc_status_t *cuda_identify(const cuda_api_t *api, CUdevice dev, char *name,
                                    size_t name_size, char *arch, size_t arch_size) {
  int major = 0, minor = 0;
  CUresult r = api->cuDeviceGetName(name, (int)name_size, dev);
  if (r != CUDA_SUCCESS) snprintf(name, name_size, "NVIDIA device 0");
  name[name_size - 1] = 0;
  r = api->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
  if (r == CUDA_SUCCESS)
    r = api->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
  if (r != CUDA_SUCCESS) return cu_fail(api, r, "reading the compute capability");
  snprintf(arch, arch_size, "sm_%d%d", major, minor);
  return NULL;
}

static llmc_status_t *cuda_probe(llmc_rt_device_info_t *out) {
  memset(out, 0, sizeof *out);
  cuda_api_t api;
  CUdevice dev;
  LLMC_RETURN_IF_ERROR(cuda_open_driver(&api, &dev, &out->n_devices));
  return cuda_identify(&api, dev, out->name, sizeof out->name, out->target, sizeof out->target);
}

static void cuda_destroy(void *state) {
  cuda_state_t *s = state;
  if (!s) return;
  if (s->ctx) {
    s->api.cuCtxSetCurrent(s->ctx);
    if (s->stream) s->api.cuStreamSynchronize(s->stream);
    if (s->module) s->api.cuModuleUnload(s->module);
    if (s->stream) s->api.cuStreamDestroy(s->stream);
    for (int64_t i = 0; i < s->n_marks; i++) s->api.cuEventDestroy(s->marks[i]);
    llmc_rt_graphs_destroy(&s->graphs, &cuda_graph_ops, s);
    s->api.cuCtxSetCurrent(NULL);
    s->api.cuDevicePrimaryCtxRelease(s->dev);
  }
  free(s->kernels);
  free(s->marks);
  free(s);
}

/* Loads the chosen image and resolves every kernel. */
static llmc_status_t *cuda_load_image(cuda_state_t *s, const llmc_image_v1_t *im) {
  char log[8192] = "";
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, (void *)(uintptr_t)sizeof log};
  char *ptx = NULL;
  const void *data = im->data;
  if (im->format == LLMC_IMAGE_PTX) {
    /* cuModuleLoadDataEx reads PTX up to its NUL: copy it, so a table that
     * counts the text without its terminator is read within bounds. */
    ptx = malloc(im->size + 1);
    if (!ptx) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    memcpy(ptx, im->data, im->size);
    ptx[im->size] = 0;
    data = ptx;
  }
  CUresult r = s->api.cuModuleLoadDataEx(&s->module, data, 2, options, values);
  free(ptx);
  if (r != CUDA_SUCCESS) {
    s->module = NULL;
    char e[256];
    cu_error_text(&s->api, r, e, sizeof e);
    log[sizeof log - 1] = 0;
    if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
      return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                        "backend 'cuda': the NVIDIA driver is older than the PTX of image %s: "
                        "update the driver or compile a cubin for %s (%s)",
                        im->target, s->arch, e);
    return LLMC_ERROR(LLMC_INTERNAL, NULL,
                      "backend 'cuda': loading image %s (%s) on %s failed: %s%s%s", im->target,
                      llmc_rt_image_format_name(im->format), s->name, e, log[0] ? ": " : "", log);
  }
  int optin = DEFAULT_SHARED_LIMIT;
  s->api.cuDeviceGetAttribute(&optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                              s->dev);
  for (int64_t k = 0; k < s->n_kernels; k++) {
    const llmc_gpu_kernel_v1_t *g = &im->kernels[k];
    llmc_rt_gpu_kernel_t *kk = &s->kernels[k];
    if (g->block_threads == 0) { /* fused into another launch here: never run */
      *kk = (llmc_rt_gpu_kernel_t){0};
      continue;
    }
    CUfunction fn;
    r = s->api.cuModuleGetFunction(&fn, s->module, g->symbol);
    if (r != CUDA_SUCCESS) {
      char e[256];
      cu_error_text(&s->api, r, e, sizeof e);
      return LLMC_ERROR(LLMC_DATA_LOSS, NULL,
                        "backend 'cuda': image %s has no kernel '%s': %s", im->target, g->symbol,
                        e);
    }
    if (g->shared_bytes > optin)
      return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                        "backend 'cuda': kernel '%s' needs %d bytes of shared memory; %s allows "
                        "%d",
                        g->symbol, g->shared_bytes, s->name, optin);
    if (g->shared_bytes > DEFAULT_SHARED_LIMIT)
      CU_CHECK(s,
               s->api.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                         g->shared_bytes),
               "raising a kernel's shared memory limit");
    *kk = (llmc_rt_gpu_kernel_t){.fn = fn,
                                 .block_threads = (uint32_t)g->block_threads,
                                 .items_per_block = (uint32_t)g->items_per_block,
                                 .shared_bytes = (uint32_t)g->shared_bytes,
                                 .grid_y_tokens = (uint32_t)g->grid_y_tokens};
  }
  return NULL;
}

/* The PTX image llmc_rt_pick_image would choose for arch if there were no
 * cubins, or -1. */
static int64_t pick_ptx(const llmc_model_v1_t *model, const char *arch) {
  llmc_image_v1_t *only = calloc((size_t)(model->n_images ? model->n_images : 1), sizeof *only);
  int64_t *index = calloc((size_t)(model->n_images ? model->n_images : 1), sizeof *index);
  int64_t n = 0, pick = -1;
  for (int64_t i = 0; only && index && i < model->n_images; i++)
    if (model->images[i].format == LLMC_IMAGE_PTX) {
      index[n] = i;
      only[n++] = model->images[i];
    }
  if (only && index) {
    int64_t p = llmc_rt_pick_image(only, n, LLMC_RT_VENDOR_NVIDIA, arch);
    pick = p >= 0 ? index[p] : -1;
  }
  free(only);
  free(index);
  return pick;
}

static llmc_status_t *cuda_create(const llmc_rt_options_t *opts, const llmc_model_v1_t *model,
                                  void **out_state) {
  (void)opts;
  *out_state = NULL;
  cuda_state_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int count;
  llmc_status_t *st = cuda_open_driver(&s->api, &s->dev, &count);
  if (!st) st = cuda_identify(&s->api, s->dev, s->name, sizeof s->name, s->arch, sizeof s->arch);
  int64_t pick = -1;
  if (!st) {
    pick = llmc_rt_pick_image(model->images, model->n_images, LLMC_RT_VENDOR_NVIDIA, s->arch);
    if (pick < 0) {
      char device[300];
      snprintf(device, sizeof device, "%s (%s)", s->name, s->arch);
      st = llmc_rt_no_image("cuda", "", device, model);
    }
  }
  if (st) {
    free(s);
    return st;
  }
  const llmc_image_v1_t *im = &model->images[pick];
  s->n_kernels = model->n_kernels;
  s->kernel_names = model->kernel_names;
  s->graphs.on = s->api.cuGraphLaunch && llmc_rt_env_allows("LLMC_CUDA_GRAPHS");
  int max_grid = 0;
  CUresult r = s->api.cuDevicePrimaryCtxRetain(&s->ctx, s->dev);
  if (r != CUDA_SUCCESS) {
    s->ctx = NULL;
    st = cu_fail(&s->api, r, "retaining the device's primary context");
  }
  if (!st && (r = s->api.cuCtxSetCurrent(s->ctx)) != CUDA_SUCCESS)
    st = cu_fail(&s->api, r, "making the context current");
  if (!st && (r = s->api.cuStreamCreate(&s->stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS) {
    s->stream = NULL;
    st = cu_fail(&s->api, r, "creating a stream");
  }
  if (!st &&
      s->api.cuDeviceGetAttribute(&max_grid, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, s->dev) !=
          CUDA_SUCCESS)
    max_grid = INT32_MAX; /* every compute capability since 3.0 */
  s->max_grid = max_grid > 0 ? (uint64_t)max_grid : 1;
  int max_grid_y = 0;
  if (!st &&
      s->api.cuDeviceGetAttribute(&max_grid_y, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, s->dev) !=
          CUDA_SUCCESS)
    max_grid_y = 65535; /* every compute capability */
  s->max_grid_y = max_grid_y > 0 ? (uint64_t)max_grid_y : 1;
  if (!st) {
    s->kernels = calloc((size_t)(s->n_kernels ? s->n_kernels : 1), sizeof *s->kernels);
    st = s->kernels ? cuda_load_image(s, im)
                    : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  const char *fallback = "";
  if (st && s->kernels && im->format == LLMC_IMAGE_CUBIN) {
    /* A cubin the driver will not load (ptxas of a newer CUDA than the
     * driver's, say): the artifact's PTX for this device, JIT-compiled by
     * the driver, when it has one. */
    int64_t ptx = pick_ptx(model, s->arch);
    llmc_status_t *again = ptx >= 0 ? cuda_load_image(s, &model->images[ptx]) : NULL;
    if (ptx >= 0 && !again) {
      llmc_status_free(st);
      st = NULL;
      im = &model->images[ptx];
      fallback = ", JIT-compiled: the cubin did not load";
    } else if (again) {
      /* Both messages: the PTX's under the cubin's. */
      llmc_status_t *cubin = st;
      st = llmc_status_wrap(again, NULL, "%s; the PTX fallback failed too",
                            llmc_status_message(cubin));
      llmc_status_free(cubin);
    }
  }
  if (st) {
    cuda_destroy(s);
    return st;
  }
  snprintf(s->desc, sizeof s->desc, "%s (%s), image %s (%s%s)%s", s->name, s->arch, im->target,
           llmc_rt_image_format_name(im->format), fallback,
           s->graphs.on ? ", decode steps as CUDA graphs" : "");
  *out_state = s;
  return NULL;
}

static const char *cuda_describe(void *state) { return ((cuda_state_t *)state)->desc; }

static CUdeviceptr dptr(const void *p) { return (CUdeviceptr)(uintptr_t)p; }

static llmc_status_t *cuda_alloc(void *state, size_t bytes, void **out_ptr) {
  cuda_state_t *s = state;
  *out_ptr = NULL;
  if (bytes == 0) bytes = 64;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CUdeviceptr p = 0;
  CUresult r = s->api.cuMemAlloc(&p, bytes);
  if (r != CUDA_SUCCESS) {
    char e[256];
    cu_error_text(&s->api, r, e, sizeof e);
    return LLMC_ERROR(r == CUDA_ERROR_OUT_OF_MEMORY ? LLMC_RESOURCE_EXHAUSTED : LLMC_INTERNAL,
                      NULL, "backend 'cuda': allocating %zu bytes on %s failed: %s", bytes,
                      s->name, e);
  }
  /* cuMemAlloc aligns to at least 256 bytes; its memory is not zeroed. */
  r = s->api.cuMemsetD8Async(p, 0, bytes, s->stream);
  if (r != CUDA_SUCCESS) {
    s->api.cuMemFree(p);
    return cu_fail(&s->api, r, "zeroing device memory");
  }
  *out_ptr = (void *)(uintptr_t)p;
  return NULL;
}

static void cuda_free(void *state, void *ptr, size_t bytes) {
  (void)bytes;
  cuda_state_t *s = state;
  if (!ptr) return;
  s->api.cuCtxSetCurrent(s->ctx);
  s->api.cuMemFree(dptr(ptr)); /* cuMemFree waits for work using it to finish */
}

static llmc_status_t *cuda_alloc_host(void *state, size_t bytes, void **out_ptr) {
  cuda_state_t *s = state;
  *out_ptr = NULL;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuMemAllocHost(out_ptr, bytes ? bytes : 64), "allocating pinned host memory");
  return NULL;
}

static void cuda_free_host(void *state, void *ptr) {
  cuda_state_t *s = state;
  if (!ptr) return;
  s->api.cuCtxSetCurrent(s->ctx);
  s->api.cuMemFreeHost(ptr);
}

static llmc_status_t *cuda_upload(void *state, void *dst, const void *src, size_t bytes) {
  cuda_state_t *s = state;
  if (!bytes) return NULL;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuMemcpyHtoDAsync(dptr(dst), src, bytes, s->stream), "a host-to-device copy");
  return NULL;
}

static llmc_status_t *cuda_download(void *state, void *dst, const void *src, size_t bytes) {
  cuda_state_t *s = state;
  if (!bytes) return NULL;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuMemcpyDtoHAsync(dst, dptr(src), bytes, s->stream), "a device-to-host copy");
  return NULL;
}

static llmc_status_t *cuda_copy(void *state, void *dst, const void *src, size_t bytes) {
  cuda_state_t *s = state;
  if (!bytes) return NULL;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuMemcpyDtoDAsync(dptr(dst), dptr(src), bytes, s->stream),
           "a device-to-device copy");
  return NULL;
}

static llmc_status_t *launch_kernel(cuda_state_t *s, int64_t kernel, int64_t extent,
                                    int64_t tokens, const llmc_rt_buffers_t *bufs) {
  const llmc_rt_gpu_kernel_t *k = &s->kernels[kernel];
  if (k->block_threads == 0) return NULL; /* fused into another launch */
  uint32_t grid, grid_y;
  if (!llmc_rt_gpu_grid_xy(k, extent, tokens, s->max_grid, s->max_grid_y, &grid, &grid_y))
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "backend 'cuda': kernel %s over %lld items x %lld tokens needs a larger "
                      "grid than %s allows (%llu x %llu blocks)",
                      s->kernel_names ? s->kernel_names[kernel] : "?", (long long)extent,
                      (long long)tokens, s->name, (unsigned long long)s->max_grid,
                      (unsigned long long)s->max_grid_y);
  uint64_t values[LLMC_RT_GPU_N_PARAMS];
  void *params[LLMC_RT_GPU_N_PARAMS];
  llmc_rt_gpu_params(bufs, extent, values);
  for (int i = 0; i < LLMC_RT_GPU_N_PARAMS; i++) params[i] = &values[i];
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CUresult r = s->api.cuLaunchKernel(k->fn, grid, grid_y, 1, k->block_threads, 1, 1,
                                     k->shared_bytes, s->stream, params, NULL);
  if (r != CUDA_SUCCESS) {
    char e[256];
    cu_error_text(&s->api, r, e, sizeof e);
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'cuda': launching kernel %s failed: %s",
                      s->kernel_names ? s->kernel_names[kernel] : "?", e);
  }
  return NULL;
}

static llmc_status_t *cuda_launch(void *state, int64_t kernel, int64_t extent, int64_t tokens,
                                  const llmc_rt_buffers_t *bufs) {
  llmc_status_t *st = launch_kernel(state, kernel, extent, tokens, bufs);
  if (st) { /* the runtime returns without step_end: the stream must leave capture mode */
    cuda_state_t *s = state;
    llmc_rt_graphs_abandon(&s->graphs, &cuda_graph_ops, s);
  }
  return st;
}

static llmc_status_t *cuda_synchronize(void *state) {
  cuda_state_t *s = state;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuStreamSynchronize(s->stream), "running the step on the device");
  return NULL;
}

/* Profiling: one timing event per slot, reused every step. */
static llmc_status_t *cuda_mark(void *state, int64_t slot) {
  cuda_state_t *s = state;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  while (slot >= s->n_marks) {
    CUevent *m = realloc(s->marks, sizeof *m * (size_t)(s->n_marks + 1));
    if (!m) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    s->marks = m;
    CU_CHECK(s, s->api.cuEventCreate(&s->marks[s->n_marks], 0), "creating a timing event");
    s->n_marks++;
  }
  CU_CHECK(s, s->api.cuEventRecord(s->marks[slot], s->stream), "recording a timing event");
  return NULL;
}

static llmc_status_t *cuda_mark_elapsed(void *state, int64_t a, int64_t b, float *out_ms) {
  cuda_state_t *s = state;
  if (a < 0 || b < 0 || a >= s->n_marks || b >= s->n_marks)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'cuda': no timing event %lld or %lld",
                      (long long)a, (long long)b);
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuEventElapsedTime(out_ms, s->marks[a], s->marks[b]),
           "reading a timing event");
  return NULL;
}

/* Step replay (see the file comment): the vendor half of gpu.c's mechanism. */
static bool cuda_capture_begin(void *state) {
  cuda_state_t *s = state;
  return s->api.cuCtxSetCurrent(s->ctx) == CUDA_SUCCESS &&
         s->api.cuStreamBeginCapture(s->stream, CU_STREAM_CAPTURE_MODE_RELAXED) == CUDA_SUCCESS;
}

static void *cuda_capture_end(void *state) {
  cuda_state_t *s = state;
  CUgraph g = NULL;
  CUgraphExec exec = NULL;
  CUresult r = s->api.cuStreamEndCapture(s->stream, &g);
  if (r == CUDA_SUCCESS) r = s->api.cuGraphInstantiateWithFlags(&exec, g, 0);
  if (g) s->api.cuGraphDestroy(g);
  return r == CUDA_SUCCESS ? exec : NULL;
}

static llmc_status_t *cuda_replay(void *state, void *exec) {
  cuda_state_t *s = state;
  CU_CHECK(s, s->api.cuCtxSetCurrent(s->ctx), "making the context current");
  CU_CHECK(s, s->api.cuGraphLaunch(exec, s->stream), "launching a step's CUDA graph");
  return NULL;
}

static void cuda_graph_destroy(void *state, void *exec) {
  ((cuda_state_t *)state)->api.cuGraphExecDestroy(exec);
}

static const llmc_rt_graph_ops_t cuda_graph_ops = {cuda_capture_begin, cuda_capture_end,
                                                   cuda_replay, cuda_graph_destroy};

static llmc_status_t *cuda_step_begin(void *state, uint64_t key, bool *out_replay) {
  cuda_state_t *s = state;
  return llmc_rt_graphs_step_begin(&s->graphs, &cuda_graph_ops, s, key, out_replay);
}

static llmc_status_t *cuda_step_end(void *state, bool *out_ran) {
  cuda_state_t *s = state;
  return llmc_rt_graphs_step_end(&s->graphs, &cuda_graph_ops, s, out_ran);
}

/* A kernel another launch does the work of on this device (block_threads 0). */
static bool cuda_skipped(void *state, int64_t kernel) {
  const cuda_state_t *s = state;
  return s->kernels[kernel].block_threads == 0;
}

const llmc_rt_backend_vtable_t llmc_rt_backend_cuda = {
    .version = LLMC_RT_BACKEND_VTABLE_VERSION,
    .name = "cuda",
    .host_visible = false,
    .image_formats = (1u << LLMC_IMAGE_PTX) | (1u << LLMC_IMAGE_CUBIN),
    .probe = cuda_probe,
    .create = cuda_create,
    .destroy = cuda_destroy,
    .describe = cuda_describe,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .alloc_host = cuda_alloc_host,
    .free_host = cuda_free_host,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .launch = cuda_launch,
    .skipped = cuda_skipped,
    .synchronize = cuda_synchronize,
    .mark = cuda_mark,
    .mark_elapsed = cuda_mark_elapsed,
    .step_begin = cuda_step_begin,
    .step_end = cuda_step_end,
};
