/* fake_driver.h: the vendor-neutral core of the fake GPU drivers
 * (fake_cuda.c as libcuda.so.1, fake_hip.c as libamdhip64.so), so the
 * runtime's GPU backends run end to end on a machine without a GPU.
 *
 * "Device" memory is host memory filled with garbage (real drivers do not
 * zero it). Everything enqueued (copies, memsets, launches) runs only at
 * fake_synchronize, so a runtime that read a result before synchronizing,
 * or changed a staging buffer while a copy from it was pending, would see
 * wrong numbers. Modules are fake_gpu.h images (host functions per block)
 * or emulation images (`llmc compile --gpu-emulation`, run by
 * fake_gpu_emu.c thread by thread). One device, one queue. */
#ifndef FAKE_DRIVER_H
#define FAKE_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "fake_gpu.h"

enum { FAKE_HTOD, FAKE_DTOH, FAKE_DTOD };

extern fake_cuda_counters_t fake_counters;

/* Garbage-filled; NULL when out of memory. Device memory ends at an
 * inaccessible page, so running past a buffer's end faults. */
void *fake_alloc(size_t bytes, int device);
void fake_free(void *p, int device);
/* 0, or -1 when out of memory. */
int fake_enqueue_copy(void *dst, const void *src, size_t bytes, int direction);
int fake_enqueue_set(void *dst, unsigned char value, size_t bytes);
/* Timing events (cuEvent / hipEvent): record queues a timestamp the queue
 * writes when it reaches it; elapsed is -1 unless both were recorded. */
void *fake_event_new(void); /* NULL when out of memory */
int fake_event_record(void *event);
int fake_event_elapsed(const void *start, const void *end, float *out_ms);
void fake_event_free(void *event);
/* 0; -1 for an image neither kind; -2 when out of memory. */
int fake_module_load(const void *image, void **out_module);
void fake_module_unload(void *module);
/* The kernel named `name`, or NULL. */
const void *fake_module_function(void *module, const char *name);
/* Launch limits are checked as the real drivers check them: 0, -1 for a
 * shape or arguments they reject, -2 when out of memory. The 26 parameter
 * values are copied at the call. */
int fake_enqueue_launch(const void *kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, void **params, void **extra);
/* Runs everything enqueued; 0, or -1 when an emulated launch failed (the
 * reason is on stderr). -1 while capturing. */
int fake_synchronize(void);
/* Stream capture (CUDA graphs): between begin and end, everything enqueued
 * (parameter values as at the call) goes into a graph instead of the queue;
 * launching the graph enqueues it all again. 0, or -1 (already or not
 * capturing, out of memory). */
int fake_capture_begin(void);
int fake_capture_end(void **out_graph);
int fake_graph_launch(const void *graph);
void fake_graph_free(void *graph);
void *fake_graph_copy(const void *graph); /* NULL when out of memory */

#endif
