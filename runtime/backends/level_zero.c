/* level_zero.c: the Intel GPU backend, over oneAPI Level Zero (the loader
 * libze_loader.so.1) loaded with dlopen.
 *
 * No Level Zero header is needed to build it: the structs in ze_types.h are
 * copied field for field from ze_api.h of the Level Zero Specification v1.17
 * (oneapi-src/level-zero, "Update to Level Zero Spec v1.17.24"); they are
 * all core since v1.0 and unchanged since, and a test program compiled once
 * against that header matched every size and offset. Each descriptor
 * carries its ze_structure_type_t in stype, as the spec requires.
 *
 * Open: zeInit(ZE_INIT_FLAG_GPU_ONLY), the first GPU device of the first
 * driver that has one (ZE_AFFINITY_MASK chooses), a context, and one
 * immediate command list (Spec "Command Lists": immediate lists submit on
 * append) on the device's first compute queue group. The SPIR-V image is
 * built with zeModuleCreate(ZE_MODULE_FORMAT_IL_SPIRV); its build log is
 * kept for the message when that fails. Each kernel's group size is set once
 * (zeKernelSetGroupSize: block_threads x 1 x 1).
 *
 * Ordering: commands in a Level Zero command list are not ordered unless
 * the application orders them (Spec "Synchronization Primitives" and
 * zeCommandListAppendBarrier), so a barrier follows every copy, fill and
 * launch; synchronize appends one that signals a host-visible event and
 * waits on it (zeEventHostSynchronize), which works on every 1.x driver.
 * Kernel argument values are captured when a launch is appended, so the
 * 26 arguments (zeKernelSetArgumentValue, 8 bytes each) are set right
 * before each append; only those that changed since the kernel's last
 * launch are set again.
 *
 * Unlike CUDA, Level Zero has no launch-time dynamic shared memory size:
 * SLM is either static in the SPIR-V or a local-pointer argument, which the
 * 26-parameter ABI has not. A SPIR-V kernel asking for shared_bytes > 0 is
 * refused at open. Memory copies read their host source when they run, not
 * when appended; the runtime keeps staging memory unchanged until
 * synchronize (rt_backend.h), and it comes from zeMemAllocHost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include "../rt_gpu.h"

#include "ze_types.h"

typedef struct {
  ze_result_t (*zeInit)(uint32_t flags);
  ze_result_t (*zeDriverGet)(uint32_t *count, ze_driver_handle_t *drivers);
  ze_result_t (*zeDeviceGet)(ze_driver_handle_t drv, uint32_t *count, ze_device_handle_t *devs);
  ze_result_t (*zeDeviceGetProperties)(ze_device_handle_t dev, ze_device_properties_t *props);
  ze_result_t (*zeDeviceGetCommandQueueGroupProperties)(
      ze_device_handle_t dev, uint32_t *count, ze_command_queue_group_properties_t *props);
  ze_result_t (*zeContextCreate)(ze_driver_handle_t drv, const ze_context_desc_t *desc,
                                 ze_context_handle_t *ctx);
  ze_result_t (*zeContextDestroy)(ze_context_handle_t ctx);
  ze_result_t (*zeCommandListCreateImmediate)(ze_context_handle_t ctx, ze_device_handle_t dev,
                                              const ze_command_queue_desc_t *desc,
                                              ze_command_list_handle_t *list);
  ze_result_t (*zeCommandListDestroy)(ze_command_list_handle_t list);
  ze_result_t (*zeCommandListAppendBarrier)(ze_command_list_handle_t list, ze_event_handle_t sig,
                                            uint32_t n_wait, ze_event_handle_t *wait);
  ze_result_t (*zeCommandListAppendMemoryCopy)(ze_command_list_handle_t list, void *dst,
                                               const void *src, size_t bytes,
                                               ze_event_handle_t sig, uint32_t n_wait,
                                               ze_event_handle_t *wait);
  ze_result_t (*zeCommandListAppendMemoryFill)(ze_command_list_handle_t list, void *ptr,
                                               const void *pattern, size_t pattern_size,
                                               size_t bytes, ze_event_handle_t sig,
                                               uint32_t n_wait, ze_event_handle_t *wait);
  ze_result_t (*zeCommandListAppendLaunchKernel)(ze_command_list_handle_t list,
                                                 ze_kernel_handle_t k,
                                                 const ze_group_count_t *groups,
                                                 ze_event_handle_t sig, uint32_t n_wait,
                                                 ze_event_handle_t *wait);
  ze_result_t (*zeEventPoolCreate)(ze_context_handle_t ctx, const ze_event_pool_desc_t *desc,
                                   uint32_t n_devs, ze_device_handle_t *devs,
                                   ze_event_pool_handle_t *pool);
  ze_result_t (*zeEventPoolDestroy)(ze_event_pool_handle_t pool);
  ze_result_t (*zeEventCreate)(ze_event_pool_handle_t pool, const ze_event_desc_t *desc,
                               ze_event_handle_t *ev);
  ze_result_t (*zeEventDestroy)(ze_event_handle_t ev);
  ze_result_t (*zeEventHostSynchronize)(ze_event_handle_t ev, uint64_t timeout_ns);
  ze_result_t (*zeEventHostReset)(ze_event_handle_t ev);
  ze_result_t (*zeMemAllocDevice)(ze_context_handle_t ctx, const ze_device_mem_alloc_desc_t *desc,
                                  size_t bytes, size_t alignment, ze_device_handle_t dev,
                                  void **ptr);
  ze_result_t (*zeMemAllocHost)(ze_context_handle_t ctx, const ze_host_mem_alloc_desc_t *desc,
                                size_t bytes, size_t alignment, void **ptr);
  ze_result_t (*zeMemFree)(ze_context_handle_t ctx, void *ptr);
  ze_result_t (*zeModuleCreate)(ze_context_handle_t ctx, ze_device_handle_t dev,
                                const ze_module_desc_t *desc, ze_module_handle_t *mod,
                                ze_module_build_log_handle_t *log);
  ze_result_t (*zeModuleDestroy)(ze_module_handle_t mod);
  ze_result_t (*zeModuleBuildLogGetString)(ze_module_build_log_handle_t log, size_t *size,
                                           char *text);
  ze_result_t (*zeModuleBuildLogDestroy)(ze_module_build_log_handle_t log);
  ze_result_t (*zeKernelCreate)(ze_module_handle_t mod, const ze_kernel_desc_t *desc,
                                ze_kernel_handle_t *k);
  ze_result_t (*zeKernelDestroy)(ze_kernel_handle_t k);
  ze_result_t (*zeKernelSetGroupSize)(ze_kernel_handle_t k, uint32_t x, uint32_t y, uint32_t z);
  ze_result_t (*zeKernelSetArgumentValue)(ze_kernel_handle_t k, uint32_t index, size_t size,
                                          const void *value);
} ze_api_t;

#define LIBZE "libze_loader.so.1"

typedef struct {
  ze_api_t api;
  ze_driver_handle_t driver;
  ze_device_handle_t dev;
  ze_context_handle_t ctx;
  ze_command_list_handle_t list;
  ze_event_pool_handle_t pool;
  ze_event_handle_t done;
  ze_module_handle_t module;
  llmc_rt_gpu_kernel_t *kernels;                 /* [n_kernels]; fn is the ze_kernel_handle_t */
  uint64_t (*last_args)[LLMC_RT_GPU_N_PARAMS];   /* [n_kernels] values last set */
  bool *args_set;                                /* [n_kernels] last_args is valid */
  int64_t n_kernels;
  const char *const *kernel_names;
  char name[256];
  char desc[512];
} ze_state_t;

static const char *ze_result_name(ze_result_t r) {
  switch ((unsigned)r) {
  case 0x70000001u: return "ZE_RESULT_ERROR_DEVICE_LOST";
  case 0x70000002u: return "ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY";
  case 0x70000003u: return "ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY";
  case 0x70000004u: return "ZE_RESULT_ERROR_MODULE_BUILD_FAILURE";
  case 0x78000001u: return "ZE_RESULT_ERROR_UNINITIALIZED";
  case 0x78000002u: return "ZE_RESULT_ERROR_UNSUPPORTED_VERSION";
  case 0x78000003u: return "ZE_RESULT_ERROR_UNSUPPORTED_FEATURE";
  case 0x78000004u: return "ZE_RESULT_ERROR_INVALID_ARGUMENT";
  case 0x78000011u: return "ZE_RESULT_ERROR_INVALID_KERNEL_NAME";
  case 0x7ffffffeu: return "ZE_RESULT_ERROR_UNKNOWN";
  }
  return NULL;
}

static llmc_status_t *ze_fail(ze_result_t r, const char *what) {
  const char *n = ze_result_name(r);
  bool oom = r == ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY || r == ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY;
  if (n)
    return LLMC_ERROR(oom ? LLMC_RESOURCE_EXHAUSTED : LLMC_INTERNAL, NULL,
                      "backend 'level-zero': %s failed: %s", what, n);
  return LLMC_ERROR(LLMC_INTERNAL, NULL, "backend 'level-zero': %s failed: error 0x%x", what,
                    (unsigned)r);
}

#define ZE_CHECK(call, what)                             \
  do {                                                   \
    ze_result_t ze__r = (call);                          \
    if (ze__r != ZE_RESULT_SUCCESS) return ze_fail(ze__r, what); \
  } while (0)

/* Loads the loader, initializes GPU drivers and finds the first GPU. */
static llmc_status_t *ze_open_driver(ze_api_t *api, ze_driver_handle_t *out_drv,
                                     ze_device_handle_t *out_dev, ze_device_properties_t *props,
                                     int *out_count) {
  memset(api, 0, sizeof *api);
  static const char *const names[] = {LIBZE};
  char err[256];
  void *lib = llmc_rt_dlopen_first(names, 1, err, sizeof err);
  if (!lib)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'level-zero': no Level Zero loader found (" LIBZE
                      " could not be loaded)");
#define SYM(n) {#n, (void **)&api->n}
  const llmc_rt_sym_t syms[] = {
      SYM(zeInit), SYM(zeDriverGet), SYM(zeDeviceGet), SYM(zeDeviceGetProperties),
      SYM(zeDeviceGetCommandQueueGroupProperties), SYM(zeContextCreate), SYM(zeContextDestroy),
      SYM(zeCommandListCreateImmediate), SYM(zeCommandListDestroy),
      SYM(zeCommandListAppendBarrier), SYM(zeCommandListAppendMemoryCopy),
      SYM(zeCommandListAppendMemoryFill), SYM(zeCommandListAppendLaunchKernel),
      SYM(zeEventPoolCreate), SYM(zeEventPoolDestroy), SYM(zeEventCreate), SYM(zeEventDestroy),
      SYM(zeEventHostSynchronize), SYM(zeEventHostReset), SYM(zeMemAllocDevice),
      SYM(zeMemAllocHost), SYM(zeMemFree), SYM(zeModuleCreate), SYM(zeModuleDestroy),
      SYM(zeModuleBuildLogGetString), SYM(zeModuleBuildLogDestroy), SYM(zeKernelCreate),
      SYM(zeKernelDestroy), SYM(zeKernelSetGroupSize), SYM(zeKernelSetArgumentValue),
  };
#undef SYM
  const char *missing = llmc_rt_dlsym_all(lib, syms, sizeof syms / sizeof syms[0]);
  if (missing) {
    dlclose(lib);
    memset(api, 0, sizeof *api);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'level-zero': the Level Zero loader is too old (" LIBZE " lacks %s)",
                      missing);
  }
  /* Stays loaded from here on, like the CUDA driver (cuda.c). */
  ze_result_t r = api->zeInit(ZE_INIT_FLAG_GPU_ONLY);
  uint32_t n_drv = 0;
  if (r == ZE_RESULT_SUCCESS) r = api->zeDriverGet(&n_drv, NULL);
  if (r != ZE_RESULT_SUCCESS || n_drv == 0)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'level-zero': no Level Zero GPU driver found (the loader loads "
                      "but reports no driver)");
  ze_driver_handle_t drivers[16];
  if (n_drv > 16) n_drv = 16;
  if (api->zeDriverGet(&n_drv, drivers) != ZE_RESULT_SUCCESS) n_drv = 0;
  int count = 0;
  *out_dev = NULL;
  for (uint32_t d = 0; d < n_drv; d++) {
    ze_device_handle_t devs[64];
    uint32_t n_dev = 0;
    if (api->zeDeviceGet(drivers[d], &n_dev, NULL) != ZE_RESULT_SUCCESS) continue;
    if (n_dev > 64) n_dev = 64;
    if (api->zeDeviceGet(drivers[d], &n_dev, devs) != ZE_RESULT_SUCCESS) continue;
    for (uint32_t i = 0; i < n_dev; i++) {
      ze_device_properties_t p = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
      if (api->zeDeviceGetProperties(devs[i], &p) != ZE_RESULT_SUCCESS ||
          p.type != ZE_DEVICE_TYPE_GPU)
        continue;
      if (!count++) {
        *out_drv = drivers[d];
        *out_dev = devs[i];
        *props = p;
        props->name[sizeof props->name - 1] = 0;
      }
    }
  }
  if (!*out_dev)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'level-zero': no GPU found (the Level Zero drivers report no GPU "
                      "device)");
  *out_count = count;
  return NULL;
}

static llmc_status_t *ze_probe(llmc_rt_device_info_t *out) {
  memset(out, 0, sizeof *out);
  ze_api_t api;
  ze_driver_handle_t drv;
  ze_device_handle_t dev;
  ze_device_properties_t p;
  LLMC_RETURN_IF_ERROR(ze_open_driver(&api, &drv, &dev, &p, &out->n_devices));
  snprintf(out->name, sizeof out->name, "%s", p.name);
  snprintf(out->target, sizeof out->target, "spirv");
  return NULL;
}

static void ze_destroy(void *state) {
  ze_state_t *s = state;
  if (!s) return;
  if (s->list && s->done) {
    s->api.zeCommandListAppendBarrier(s->list, s->done, 0, NULL);
    s->api.zeEventHostSynchronize(s->done, UINT64_MAX);
  }
  for (int64_t k = 0; s->kernels && k < s->n_kernels; k++)
    if (s->kernels[k].fn) s->api.zeKernelDestroy(s->kernels[k].fn);
  if (s->module) s->api.zeModuleDestroy(s->module);
  if (s->done) s->api.zeEventDestroy(s->done);
  if (s->pool) s->api.zeEventPoolDestroy(s->pool);
  if (s->list) s->api.zeCommandListDestroy(s->list);
  if (s->ctx) s->api.zeContextDestroy(s->ctx);
  free(s->kernels);
  free(s->last_args);
  free(s->args_set);
  free(s);
}

static llmc_status_t *ze_load_image(ze_state_t *s, const llmc_image_v1_t *im) {
  ze_module_desc_t md = {.stype = ZE_STRUCTURE_TYPE_MODULE_DESC,
                         .format = ZE_MODULE_FORMAT_IL_SPIRV,
                         .inputSize = (size_t)im->size,
                         .pInputModule = im->data,
                         .pBuildFlags = ""};
  ze_module_build_log_handle_t log = NULL;
  ze_result_t r = s->api.zeModuleCreate(s->ctx, s->dev, &md, &s->module, &log);
  if (r != ZE_RESULT_SUCCESS) {
    s->module = NULL;
    char text[4096] = "";
    size_t n = sizeof text;
    if (log && s->api.zeModuleBuildLogGetString(log, &n, NULL) == ZE_RESULT_SUCCESS &&
        n <= sizeof text)
      s->api.zeModuleBuildLogGetString(log, &n, text);
    text[sizeof text - 1] = 0;
    if (log) s->api.zeModuleBuildLogDestroy(log);
    const char *rn = ze_result_name(r);
    return LLMC_ERROR(LLMC_INTERNAL, NULL,
                      "backend 'level-zero': building image %s on %s failed: %s%s%s", im->target,
                      s->name, rn ? rn : "error", text[0] ? ": " : "", text);
  }
  if (log) s->api.zeModuleBuildLogDestroy(log);
  for (int64_t k = 0; k < s->n_kernels; k++) {
    const llmc_gpu_kernel_v1_t *g = &im->kernels[k];
    if (g->block_threads == 0) { /* fused into another launch here: never run */
      s->kernels[k] = (llmc_rt_gpu_kernel_t){0};
      continue;
    }
    if (g->shared_bytes > 0)
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, NULL,
                        "backend 'level-zero': kernel '%s' asks for %d bytes of dynamic shared "
                        "memory, which a SPIR-V kernel must declare statically",
                        g->symbol, g->shared_bytes);
    ze_kernel_desc_t kd = {.stype = ZE_STRUCTURE_TYPE_KERNEL_DESC, .pKernelName = g->symbol};
    ze_kernel_handle_t kh = NULL;
    r = s->api.zeKernelCreate(s->module, &kd, &kh);
    if (r != ZE_RESULT_SUCCESS) {
      const char *rn = ze_result_name(r);
      return LLMC_ERROR(LLMC_DATA_LOSS, NULL,
                        "backend 'level-zero': image %s has no kernel '%s': %s", im->target,
                        g->symbol, rn ? rn : "error");
    }
    s->kernels[k] = (llmc_rt_gpu_kernel_t){.fn = kh,
                                           .block_threads = (uint32_t)g->block_threads,
                                           .items_per_block = (uint32_t)g->items_per_block,
                                           .grid_y_tokens = (uint32_t)g->grid_y_tokens};
    ZE_CHECK(s->api.zeKernelSetGroupSize(kh, (uint32_t)g->block_threads, 1, 1),
             "setting a kernel's group size");
  }
  return NULL;
}

static llmc_status_t *ze_setup(ze_state_t *s, const llmc_image_v1_t *im) {
  ze_context_desc_t cd = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
  ZE_CHECK(s->api.zeContextCreate(s->driver, &cd, &s->ctx), "creating a context");
  /* The first queue group that takes compute commands. */
  uint32_t n_groups = 0, ordinal = 0;
  ZE_CHECK(s->api.zeDeviceGetCommandQueueGroupProperties(s->dev, &n_groups, NULL),
           "listing command queue groups");
  ze_command_queue_group_properties_t groups[32];
  if (n_groups > 32) n_groups = 32;
  for (uint32_t i = 0; i < n_groups; i++)
    groups[i] = (ze_command_queue_group_properties_t){
        .stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
  ZE_CHECK(s->api.zeDeviceGetCommandQueueGroupProperties(s->dev, &n_groups, groups),
           "listing command queue groups");
  while (ordinal < n_groups &&
         !(groups[ordinal].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE))
    ordinal++;
  if (ordinal == n_groups)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                      "backend 'level-zero': %s has no compute command queue", s->name);
  ze_command_queue_desc_t qd = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
                                .ordinal = ordinal,
                                .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
                                .priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL};
  ZE_CHECK(s->api.zeCommandListCreateImmediate(s->ctx, s->dev, &qd, &s->list),
           "creating a command list");
  ze_event_pool_desc_t pd = {
      .stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, .flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
      .count = 1};
  ZE_CHECK(s->api.zeEventPoolCreate(s->ctx, &pd, 1, &s->dev, &s->pool), "creating an event pool");
  ze_event_desc_t ed = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC,
                        .signal = ZE_EVENT_SCOPE_FLAG_HOST,
                        .wait = ZE_EVENT_SCOPE_FLAG_HOST};
  ZE_CHECK(s->api.zeEventCreate(s->pool, &ed, &s->done), "creating an event");
  size_t n = (size_t)(s->n_kernels ? s->n_kernels : 1);
  s->kernels = calloc(n, sizeof *s->kernels);
  s->last_args = calloc(n, sizeof *s->last_args);
  s->args_set = calloc(n, sizeof *s->args_set);
  if (!s->kernels || !s->last_args || !s->args_set)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return ze_load_image(s, im);
}

static llmc_status_t *ze_create(const llmc_rt_options_t *opts, const llmc_model_v1_t *model,
                                void **out_state) {
  (void)opts;
  *out_state = NULL;
  ze_state_t *s = calloc(1, sizeof *s);
  if (!s) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  ze_device_properties_t p;
  int count;
  llmc_status_t *st = ze_open_driver(&s->api, &s->driver, &s->dev, &p, &count);
  int64_t pick = -1;
  if (!st) {
    snprintf(s->name, sizeof s->name, "%s", p.name);
    pick = llmc_rt_pick_image(model->images, model->n_images, LLMC_RT_VENDOR_INTEL, "spirv");
    if (pick < 0) st = llmc_rt_no_image("level-zero", "SPIR-V ", s->name, model);
  }
  if (st) {
    free(s);
    return st;
  }
  const llmc_image_v1_t *im = &model->images[pick];
  s->n_kernels = model->n_kernels;
  s->kernel_names = model->kernel_names;
  snprintf(s->desc, sizeof s->desc, "%s (Level Zero), image %s (spir-v)", s->name, im->target);
  if ((st = ze_setup(s, im))) {
    ze_destroy(s);
    return st;
  }
  *out_state = s;
  return NULL;
}

static const char *ze_describe(void *state) { return ((ze_state_t *)state)->desc; }

/* Orders the command just appended before any later one (file comment). */
static llmc_status_t *ze_barrier(ze_state_t *s) {
  ZE_CHECK(s->api.zeCommandListAppendBarrier(s->list, NULL, 0, NULL), "appending a barrier");
  return NULL;
}

static llmc_status_t *ze_alloc(void *state, size_t bytes, void **out_ptr) {
  ze_state_t *s = state;
  *out_ptr = NULL;
  if (bytes == 0) bytes = 64;
  ze_device_mem_alloc_desc_t d = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
  void *p = NULL;
  ze_result_t r = s->api.zeMemAllocDevice(s->ctx, &d, bytes, 64, s->dev, &p);
  if (r != ZE_RESULT_SUCCESS) return ze_fail(r, "allocating device memory");
  const uint8_t zero = 0;
  r = s->api.zeCommandListAppendMemoryFill(s->list, p, &zero, 1, bytes, NULL, 0, NULL);
  if (r != ZE_RESULT_SUCCESS) {
    s->api.zeMemFree(s->ctx, p);
    return ze_fail(r, "zeroing device memory");
  }
  *out_ptr = p;
  return ze_barrier(s);
}

static void ze_free(void *state, void *ptr, size_t bytes) {
  (void)bytes;
  ze_state_t *s = state;
  if (ptr) s->api.zeMemFree(s->ctx, ptr); /* rt.c synchronized before freeing */
}

static llmc_status_t *ze_alloc_host(void *state, size_t bytes, void **out_ptr) {
  ze_state_t *s = state;
  *out_ptr = NULL;
  ze_host_mem_alloc_desc_t d = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
  ZE_CHECK(s->api.zeMemAllocHost(s->ctx, &d, bytes ? bytes : 64, 64, out_ptr),
           "allocating host memory");
  return NULL;
}

static void ze_free_host(void *state, void *ptr) {
  ze_state_t *s = state;
  if (ptr) s->api.zeMemFree(s->ctx, ptr);
}

static llmc_status_t *ze_memcpy(void *state, void *dst, const void *src, size_t bytes) {
  ze_state_t *s = state;
  if (!bytes) return NULL;
  ZE_CHECK(s->api.zeCommandListAppendMemoryCopy(s->list, dst, src, bytes, NULL, 0, NULL),
           "a memory copy");
  return ze_barrier(s);
}

static llmc_status_t *ze_launch(void *state, int64_t kernel, int64_t extent, int64_t tokens,
                                const llmc_rt_buffers_t *bufs) {
  ze_state_t *s = state;
  const llmc_rt_gpu_kernel_t *k = &s->kernels[kernel];
  if (k->block_threads == 0) return NULL; /* fused into another launch */
  uint32_t groups, groups_y;
  if (!llmc_rt_gpu_grid_xy(k, extent, tokens, UINT32_MAX, UINT32_MAX, &groups, &groups_y))
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "backend 'level-zero': kernel %s over %lld items needs more than 2^32 - 1 "
                      "work-groups",
                      s->kernel_names ? s->kernel_names[kernel] : "?", (long long)extent);
  uint64_t v[LLMC_RT_GPU_N_PARAMS];
  llmc_rt_gpu_params(bufs, extent, v);
  uint64_t *last = s->last_args[kernel];
  for (uint32_t i = 0; i < LLMC_RT_GPU_N_PARAMS; i++) {
    if (s->args_set[kernel] && last[i] == v[i]) continue;
    ZE_CHECK(s->api.zeKernelSetArgumentValue(k->fn, i, sizeof v[i], &v[i]),
             "setting a kernel argument");
    last[i] = v[i];
  }
  s->args_set[kernel] = true;
  ze_group_count_t gc = {groups, groups_y, 1};
  ze_result_t r = s->api.zeCommandListAppendLaunchKernel(s->list, k->fn, &gc, NULL, 0, NULL);
  if (r != ZE_RESULT_SUCCESS) {
    s->args_set[kernel] = false; /* state unknown: set them all next time */
    return ze_fail(r, "launching a kernel");
  }
  return ze_barrier(s);
}

static llmc_status_t *ze_synchronize(void *state) {
  ze_state_t *s = state;
  ZE_CHECK(s->api.zeCommandListAppendBarrier(s->list, s->done, 0, NULL), "appending a barrier");
  ZE_CHECK(s->api.zeEventHostSynchronize(s->done, UINT64_MAX), "running the step on the device");
  ZE_CHECK(s->api.zeEventHostReset(s->done), "resetting an event");
  return NULL;
}

/* A kernel another launch does the work of on this device (block_threads 0). */
static bool ze_skipped(void *state, int64_t kernel) {
  const ze_state_t *s = state;
  return s->kernels[kernel].block_threads == 0;
}

const llmc_rt_backend_vtable_t llmc_rt_backend_level_zero = {
    .version = LLMC_RT_BACKEND_VTABLE_VERSION,
    .name = "level-zero",
    .host_visible = false,
    .image_formats = 1u << LLMC_IMAGE_SPIRV,
    .probe = ze_probe,
    .create = ze_create,
    .destroy = ze_destroy,
    .describe = ze_describe,
    .alloc = ze_alloc,
    .free = ze_free,
    .alloc_host = ze_alloc_host,
    .free_host = ze_free_host,
    .upload = ze_memcpy,
    .download = ze_memcpy,
    .copy = ze_memcpy,
    .launch = ze_launch,
    .skipped = ze_skipped,
    .synchronize = ze_synchronize,
};
