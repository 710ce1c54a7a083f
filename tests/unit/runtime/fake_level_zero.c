/* fake_level_zero.c: a stand-in for the oneAPI Level Zero loader (built as
 * libze_loader.so.1 and found through LD_LIBRARY_PATH) so the runtime's
 * Level Zero backend runs end to end on a machine without a GPU. It
 * implements exactly the entry points backends/level_zero.c resolves, on
 * the structs of ze_types.h, over fake_driver.c: garbage-filled memory, one
 * queue that runs when the host waits on an event, fake_gpu.h or emulation
 * images (a SPIR-V image from `llmc compile --gpu-emulation` holds the
 * kernels as MLIR's convert-gpu-to-llvm-spv lowers them).
 *
 * Checked as the specification asks: every descriptor's stype, SPIR-V as
 * the module format, a group size set before a kernel is appended, and all
 * 26 arguments set (zeKernelSetArgumentValue, captured at append).
 * Environment: FAKE_ZE_DEVICES (GPU count; default 1). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../runtime/backends/ze_types.h"
#include "fake_driver.h"

#define EXPORT __attribute__((visibility("default")))

enum {
  OK = 0,
  ERR_NOT_READY = 1,
  ERR_DEVICE_LOST = 0x70000001,
  ERR_OUT_OF_HOST_MEMORY = 0x70000002,
  ERR_MODULE_BUILD_FAILURE = 0x70000004,
  ERR_UNINITIALIZED = 0x78000001,
  ERR_INVALID_ARGUMENT = 0x78000004,
  ERR_INVALID_KERNEL_NAME = 0x78000011,
  ERR_INVALID_GROUP_SIZE = 0x78000012,
};

enum { N_ARGS = 26, MAX_HOST_ALLOCS = 256 };

struct _ze_kernel_handle_t {
  const void *fn;
  uint32_t group_x;
  uint64_t args[N_ARGS];
  uint32_t set; /* bit per argument set */
};
struct _ze_module_handle_t {
  void *module;
};
struct _ze_event_handle_t {
  int signaled;
};

static int g_initialized, g_driver, g_device, g_context, g_list, g_pool;
static void *g_host_allocs[MAX_HOST_ALLOCS];

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

static ze_result_t queued(int r) { return r == 0 ? OK : ERR_OUT_OF_HOST_MEMORY; }

EXPORT ze_result_t zeInit(uint32_t flags) {
  if (flags != ZE_INIT_FLAG_GPU_ONLY && flags != 0) return ERR_INVALID_ARGUMENT;
  g_initialized = 1;
  return OK;
}

EXPORT ze_result_t zeDriverGet(uint32_t *count, ze_driver_handle_t *drivers) {
  if (!g_initialized) return ERR_UNINITIALIZED;
  if (drivers && *count > 0) drivers[0] = (ze_driver_handle_t)&g_driver;
  *count = 1;
  return OK;
}

EXPORT ze_result_t zeDeviceGet(ze_driver_handle_t drv, uint32_t *count, ze_device_handle_t *devs) {
  if (drv != (ze_driver_handle_t)&g_driver) return ERR_INVALID_ARGUMENT;
  uint32_t n = (uint32_t)env_int("FAKE_ZE_DEVICES", 1);
  if (devs)
    for (uint32_t i = 0; i < n && i < *count; i++) devs[i] = (ze_device_handle_t)&g_device;
  if (!devs || *count > n) *count = n;
  return OK;
}

EXPORT ze_result_t zeDeviceGetProperties(ze_device_handle_t dev, ze_device_properties_t *p) {
  if (dev != (ze_device_handle_t)&g_device || p->stype != ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES)
    return ERR_INVALID_ARGUMENT;
  void *next = p->pNext;
  memset(p, 0, sizeof *p);
  p->stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES;
  p->pNext = next;
  p->type = ZE_DEVICE_TYPE_GPU;
  p->vendorId = 0x8086;
  p->maxMemAllocSize = 1ull << 34;
  snprintf(p->name, sizeof p->name, "Fake Intel GPU");
  return OK;
}

EXPORT ze_result_t zeDeviceGetCommandQueueGroupProperties(ze_device_handle_t dev, uint32_t *count,
                                                          ze_command_queue_group_properties_t *g) {
  if (dev != (ze_device_handle_t)&g_device) return ERR_INVALID_ARGUMENT;
  /* Group 0 copies only, group 1 computes: the backend must look. */
  if (g) {
    for (uint32_t i = 0; i < *count && i < 2; i++) {
      if (g[i].stype != ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES)
        return ERR_INVALID_ARGUMENT;
      g[i].flags = i == 1 ? ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE : 0;
      g[i].maxMemoryFillPatternSize = 128;
      g[i].numQueues = 1;
    }
  }
  if (!g || *count > 2) *count = 2;
  return OK;
}

EXPORT ze_result_t zeContextCreate(ze_driver_handle_t drv, const ze_context_desc_t *d,
                                   ze_context_handle_t *ctx) {
  if (drv != (ze_driver_handle_t)&g_driver || d->stype != ZE_STRUCTURE_TYPE_CONTEXT_DESC)
    return ERR_INVALID_ARGUMENT;
  fake_counters.ctx_refs++;
  *ctx = (ze_context_handle_t)&g_context;
  return OK;
}

EXPORT ze_result_t zeContextDestroy(ze_context_handle_t ctx) {
  if (ctx != (ze_context_handle_t)&g_context) return ERR_INVALID_ARGUMENT;
  fake_counters.ctx_refs--;
  return OK;
}

EXPORT ze_result_t zeCommandListCreateImmediate(ze_context_handle_t ctx, ze_device_handle_t dev,
                                                const ze_command_queue_desc_t *d,
                                                ze_command_list_handle_t *list) {
  if (ctx != (ze_context_handle_t)&g_context || dev != (ze_device_handle_t)&g_device ||
      d->stype != ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC || d->ordinal != 1)
    return ERR_INVALID_ARGUMENT;
  *list = (ze_command_list_handle_t)&g_list;
  return OK;
}

EXPORT ze_result_t zeCommandListDestroy(ze_command_list_handle_t list) {
  return list == (ze_command_list_handle_t)&g_list ? OK : ERR_INVALID_ARGUMENT;
}

/* Commands run in order at the next host wait, so a barrier only has to
 * signal its event then. */
static ze_event_handle_t g_pending_signal;

EXPORT ze_result_t zeCommandListAppendBarrier(ze_command_list_handle_t list, ze_event_handle_t sig,
                                              uint32_t n_wait, ze_event_handle_t *wait) {
  (void)wait;
  if (list != (ze_command_list_handle_t)&g_list || n_wait) return ERR_INVALID_ARGUMENT;
  if (sig) {
    sig->signaled = 0;
    g_pending_signal = sig;
  }
  return OK;
}

EXPORT ze_result_t zeCommandListAppendMemoryCopy(ze_command_list_handle_t list, void *dst,
                                                 const void *src, size_t bytes,
                                                 ze_event_handle_t sig, uint32_t n_wait,
                                                 ze_event_handle_t *wait) {
  (void)wait;
  if (list != (ze_command_list_handle_t)&g_list || sig || n_wait) return ERR_INVALID_ARGUMENT;
  return queued(fake_enqueue_copy(dst, src, bytes, FAKE_DTOD));
}

EXPORT ze_result_t zeCommandListAppendMemoryFill(ze_command_list_handle_t list, void *ptr,
                                                 const void *pattern, size_t pattern_size,
                                                 size_t bytes, ze_event_handle_t sig,
                                                 uint32_t n_wait, ze_event_handle_t *wait) {
  (void)wait;
  if (list != (ze_command_list_handle_t)&g_list || sig || n_wait || pattern_size != 1)
    return ERR_INVALID_ARGUMENT; /* the backend only zero-fills */
  return queued(fake_enqueue_set(ptr, *(const unsigned char *)pattern, bytes));
}

EXPORT ze_result_t zeCommandListAppendLaunchKernel(ze_command_list_handle_t list,
                                                   ze_kernel_handle_t k,
                                                   const ze_group_count_t *groups,
                                                   ze_event_handle_t sig, uint32_t n_wait,
                                                   ze_event_handle_t *wait) {
  (void)wait;
  if (list != (ze_command_list_handle_t)&g_list || sig || n_wait) return ERR_INVALID_ARGUMENT;
  if (!k->group_x) return ERR_INVALID_GROUP_SIZE;
  if (k->set != (1u << N_ARGS) - 1) return ERR_INVALID_ARGUMENT;
  void *params[N_ARGS];
  for (int i = 0; i < N_ARGS; i++) params[i] = &k->args[i];
  int r = fake_enqueue_launch(k->fn, groups->groupCountX, groups->groupCountY,
                              groups->groupCountZ, k->group_x, 1, 1, params, NULL);
  return r == 0 ? OK : r == -1 ? ERR_INVALID_ARGUMENT : ERR_OUT_OF_HOST_MEMORY;
}

EXPORT ze_result_t zeEventPoolCreate(ze_context_handle_t ctx, const ze_event_pool_desc_t *d,
                                     uint32_t n_devs, ze_device_handle_t *devs,
                                     ze_event_pool_handle_t *pool) {
  (void)n_devs;
  (void)devs;
  if (ctx != (ze_context_handle_t)&g_context || d->stype != ZE_STRUCTURE_TYPE_EVENT_POOL_DESC ||
      !(d->flags & ZE_EVENT_POOL_FLAG_HOST_VISIBLE))
    return ERR_INVALID_ARGUMENT;
  *pool = (ze_event_pool_handle_t)&g_pool;
  return OK;
}

EXPORT ze_result_t zeEventPoolDestroy(ze_event_pool_handle_t pool) {
  return pool == (ze_event_pool_handle_t)&g_pool ? OK : ERR_INVALID_ARGUMENT;
}

EXPORT ze_result_t zeEventCreate(ze_event_pool_handle_t pool, const ze_event_desc_t *d,
                                 ze_event_handle_t *ev) {
  if (pool != (ze_event_pool_handle_t)&g_pool || d->stype != ZE_STRUCTURE_TYPE_EVENT_DESC)
    return ERR_INVALID_ARGUMENT;
  *ev = calloc(1, sizeof **ev);
  return *ev ? OK : ERR_OUT_OF_HOST_MEMORY;
}

EXPORT ze_result_t zeEventDestroy(ze_event_handle_t ev) {
  if (g_pending_signal == ev) g_pending_signal = NULL;
  free(ev);
  return OK;
}

EXPORT ze_result_t zeEventHostSynchronize(ze_event_handle_t ev, uint64_t timeout_ns) {
  (void)timeout_ns;
  if (g_pending_signal != ev && !ev->signaled) return ERR_NOT_READY; /* never signaled */
  int r = fake_synchronize();
  ev->signaled = 1;
  g_pending_signal = NULL;
  return r ? ERR_DEVICE_LOST : OK;
}

EXPORT ze_result_t zeEventHostReset(ze_event_handle_t ev) {
  ev->signaled = 0;
  return OK;
}

EXPORT ze_result_t zeMemAllocDevice(ze_context_handle_t ctx, const ze_device_mem_alloc_desc_t *d,
                                    size_t bytes, size_t alignment, ze_device_handle_t dev,
                                    void **ptr) {
  if (ctx != (ze_context_handle_t)&g_context || dev != (ze_device_handle_t)&g_device ||
      d->stype != ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC || alignment > 256 || !bytes)
    return ERR_INVALID_ARGUMENT;
  *ptr = fake_alloc(bytes, 1);
  return *ptr ? OK : ERR_OUT_OF_HOST_MEMORY;
}

EXPORT ze_result_t zeMemAllocHost(ze_context_handle_t ctx, const ze_host_mem_alloc_desc_t *d,
                                  size_t bytes, size_t alignment, void **ptr) {
  if (ctx != (ze_context_handle_t)&g_context || d->stype != ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC ||
      alignment > 256 || !bytes)
    return ERR_INVALID_ARGUMENT;
  int slot = 0;
  while (slot < MAX_HOST_ALLOCS && g_host_allocs[slot]) slot++;
  if (slot == MAX_HOST_ALLOCS || !(*ptr = fake_alloc(bytes, 0))) return ERR_OUT_OF_HOST_MEMORY;
  g_host_allocs[slot] = *ptr;
  return OK;
}

EXPORT ze_result_t zeMemFree(ze_context_handle_t ctx, void *ptr) {
  if (ctx != (ze_context_handle_t)&g_context) return ERR_INVALID_ARGUMENT;
  for (int i = 0; i < MAX_HOST_ALLOCS; i++)
    if (g_host_allocs[i] == ptr) {
      g_host_allocs[i] = NULL;
      fake_free(ptr, 0);
      return OK;
    }
  fake_free(ptr, 1);
  return OK;
}

static const char BUILD_LOG[] = "fake Level Zero: not a fake or emulation image";

EXPORT ze_result_t zeModuleCreate(ze_context_handle_t ctx, ze_device_handle_t dev,
                                  const ze_module_desc_t *d, ze_module_handle_t *mod,
                                  ze_module_build_log_handle_t *log) {
  if (log) *log = NULL;
  if (ctx != (ze_context_handle_t)&g_context || dev != (ze_device_handle_t)&g_device ||
      d->stype != ZE_STRUCTURE_TYPE_MODULE_DESC || d->format != ZE_MODULE_FORMAT_IL_SPIRV ||
      !d->pInputModule || d->inputSize < 16)
    return ERR_INVALID_ARGUMENT;
  struct _ze_module_handle_t *m = calloc(1, sizeof *m);
  if (!m) return ERR_OUT_OF_HOST_MEMORY;
  int r = fake_module_load(d->pInputModule, &m->module);
  if (r) {
    free(m);
    if (log) *log = (ze_module_build_log_handle_t)BUILD_LOG;
    return r == -1 ? ERR_MODULE_BUILD_FAILURE : ERR_OUT_OF_HOST_MEMORY;
  }
  *mod = m;
  return OK;
}

EXPORT ze_result_t zeModuleDestroy(ze_module_handle_t mod) {
  fake_module_unload(mod->module);
  free(mod);
  return OK;
}

EXPORT ze_result_t zeModuleBuildLogGetString(ze_module_build_log_handle_t log, size_t *size,
                                             char *text) {
  if ((const char *)log != BUILD_LOG) return ERR_INVALID_ARGUMENT;
  if (text) snprintf(text, *size, "%s", BUILD_LOG);
  *size = sizeof BUILD_LOG;
  return OK;
}

EXPORT ze_result_t zeModuleBuildLogDestroy(ze_module_build_log_handle_t log) {
  return (const char *)log == BUILD_LOG ? OK : ERR_INVALID_ARGUMENT;
}

EXPORT ze_result_t zeKernelCreate(ze_module_handle_t mod, const ze_kernel_desc_t *d,
                                  ze_kernel_handle_t *k) {
  if (d->stype != ZE_STRUCTURE_TYPE_KERNEL_DESC || !d->pKernelName) return ERR_INVALID_ARGUMENT;
  const void *fn = fake_module_function(mod->module, d->pKernelName);
  if (!fn) return ERR_INVALID_KERNEL_NAME;
  *k = calloc(1, sizeof **k);
  if (!*k) return ERR_OUT_OF_HOST_MEMORY;
  (*k)->fn = fn;
  return OK;
}

EXPORT ze_result_t zeKernelDestroy(ze_kernel_handle_t k) {
  free(k);
  return OK;
}

EXPORT ze_result_t zeKernelSetGroupSize(ze_kernel_handle_t k, uint32_t x, uint32_t y, uint32_t z) {
  if (x == 0 || x > 1024 || y != 1 || z != 1) return ERR_INVALID_GROUP_SIZE;
  k->group_x = x;
  return OK;
}

EXPORT ze_result_t zeKernelSetArgumentValue(ze_kernel_handle_t k, uint32_t index, size_t size,
                                            const void *value) {
  if (index >= N_ARGS || size != 8 || !value) return ERR_INVALID_ARGUMENT;
  memcpy(&k->args[index], value, 8);
  k->set |= 1u << index;
  return OK;
}
