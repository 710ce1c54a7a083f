/* ze_types.h: the Level Zero types backends/level_zero.c uses, copied field
 * for field from ze_api.h of the Level Zero Specification v1.17 (see
 * level_zero.c), shared with the fake loader of the tests
 * (tests/unit/runtime/fake_level_zero.c). Internal to the runtime. */
#ifndef LLMC_RT_ZE_TYPES_H
#define LLMC_RT_ZE_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef int ze_result_t;
typedef uint32_t ze_structure_type_t;
typedef struct _ze_driver_handle_t *ze_driver_handle_t;
typedef struct _ze_device_handle_t *ze_device_handle_t;
typedef struct _ze_context_handle_t *ze_context_handle_t;
typedef struct _ze_command_list_handle_t *ze_command_list_handle_t;
typedef struct _ze_module_handle_t *ze_module_handle_t;
typedef struct _ze_module_build_log_handle_t *ze_module_build_log_handle_t;
typedef struct _ze_kernel_handle_t *ze_kernel_handle_t;
typedef struct _ze_event_pool_handle_t *ze_event_pool_handle_t;
typedef struct _ze_event_handle_t *ze_event_handle_t;

enum {
  ZE_RESULT_SUCCESS = 0,
  ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY = 0x70000002,
  ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY = 0x70000003,
  ZE_RESULT_ERROR_MODULE_BUILD_FAILURE = 0x70000004,
  ZE_INIT_FLAG_GPU_ONLY = 1,
  ZE_DEVICE_TYPE_GPU = 1,
  ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES = 0x3,
  ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES = 0x6,
  ZE_STRUCTURE_TYPE_CONTEXT_DESC = 0xd,
  ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC = 0xe,
  ZE_STRUCTURE_TYPE_EVENT_POOL_DESC = 0x10,
  ZE_STRUCTURE_TYPE_EVENT_DESC = 0x11,
  ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC = 0x15,
  ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC = 0x16,
  ZE_STRUCTURE_TYPE_MODULE_DESC = 0x1b,
  ZE_STRUCTURE_TYPE_KERNEL_DESC = 0x1d,
  ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE = 1,
  ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS = 2,
  ZE_COMMAND_QUEUE_PRIORITY_NORMAL = 0,
  ZE_EVENT_POOL_FLAG_HOST_VISIBLE = 1,
  ZE_EVENT_SCOPE_FLAG_HOST = 4,
  ZE_MODULE_FORMAT_IL_SPIRV = 0,
};

typedef struct {
  ze_structure_type_t stype;
  void *pNext;
  uint32_t type; /* ze_device_type_t */
  uint32_t vendorId, deviceId, flags, subdeviceId, coreClockRate;
  uint64_t maxMemAllocSize;
  uint32_t maxHardwareContexts, maxCommandQueuePriority, numThreadsPerEU, physicalEUSimdWidth,
      numEUsPerSubslice, numSubslicesPerSlice, numSlices;
  uint64_t timerResolution;
  uint32_t timestampValidBits, kernelTimestampValidBits;
  uint8_t uuid[16];
  char name[256];
} ze_device_properties_t; /* 368 bytes */

typedef struct {
  ze_structure_type_t stype;
  void *pNext;
  uint32_t flags;
  size_t maxMemoryFillPatternSize;
  uint32_t numQueues;
} ze_command_queue_group_properties_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t flags;
} ze_context_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t ordinal, index, flags, mode, priority;
} ze_command_queue_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t flags, count;
} ze_event_pool_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t index, signal, wait;
} ze_event_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t flags, ordinal;
} ze_device_mem_alloc_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t flags;
} ze_host_mem_alloc_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t format;
  size_t inputSize;
  const uint8_t *pInputModule;
  const char *pBuildFlags;
  const void *pConstants;
} ze_module_desc_t;

typedef struct {
  ze_structure_type_t stype;
  const void *pNext;
  uint32_t flags;
  const char *pKernelName;
} ze_kernel_desc_t;

typedef struct {
  uint32_t groupCountX, groupCountY, groupCountZ;
} ze_group_count_t;

#endif
