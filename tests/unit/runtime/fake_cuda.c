/* fake_cuda.c: a stand-in for the NVIDIA driver (built as libcuda.so.1 and
 * found through LD_LIBRARY_PATH) so the runtime's CUDA backend runs end to
 * end on a machine without a GPU. It implements exactly the entry points
 * backends/cuda.c resolves, over host memory, with the driver's ordering
 * rules made strict: everything enqueued on a stream (copies, memsets,
 * launches) runs only at cuStreamSynchronize, so a runtime that read a
 * result before synchronizing, or changed a staging buffer while a copy
 * from it was pending, would see wrong numbers. Fresh device and pinned
 * memory is filled with garbage, as the real driver does not zero it.
 * Launches run fake_gpu.h images block by block, or the kernels of an
 * `llmc compile --gpu-emulation` image thread by thread (fake_cuda_emu.c).
 *
 * Environment: FAKE_CUDA_CC (compute capability, "90" = 9.0; default 90),
 * FAKE_CUDA_DEVICES (device count; default 1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda_emu.h"
#include "fake_gpu.h"

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

typedef enum { OP_COPY, OP_SET, OP_LAUNCH } op_kind_t;
typedef struct {
  op_kind_t kind;
  void *dst;
  const void *src;
  size_t bytes;
  int dtoh;
  fake_gpu_fn fn;
  emu_kernel_fn emu;
  uint32_t grid, grid_y, threads;
  uint64_t params[26];
} op_t;

static struct {
  int initialized;
  int ctx; /* the primary context "handle" is &g.ctx */
  int current;
  op_t *ops;
  size_t n_ops, cap_ops;
  fake_cuda_counters_t c;
} g;

EXPORT const fake_cuda_counters_t *fake_cuda_counters(void) { return &g.c; }

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : dflt;
}

static CUresult enqueue(op_t op) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  if (g.n_ops == g.cap_ops) {
    size_t cap = g.cap_ops ? 2 * g.cap_ops : 64;
    op_t *ops = realloc(g.ops, cap * sizeof *ops);
    if (!ops) return ERR_OUT_OF_MEMORY;
    g.ops = ops;
    g.cap_ops = cap;
  }
  g.ops[g.n_ops++] = op;
  return OK;
}

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
  g.c.ctx_refs++;
  *ctx = &g.ctx;
  return OK;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
  (void)dev;
  if (g.c.ctx_refs <= 0) return ERR_INVALID_CONTEXT;
  g.c.ctx_refs--;
  return OK;
}

EXPORT CUresult cuCtxSetCurrent(void *ctx) {
  if (ctx && ctx != &g.ctx) return ERR_INVALID_CONTEXT;
  g.current = ctx != NULL;
  return OK;
}

/* What cuModuleGetFunction hands out: one of the two kinds of kernel. */
typedef struct {
  char name[128];
  fake_gpu_fn fn;
  emu_kernel_fn emu;
} kernel_t;

enum { MAX_KERNELS = 256 };
typedef struct {
  void *emu; /* dlopen handle of an emulation image, else NULL */
  int32_t n;
  kernel_t kernels[MAX_KERNELS];
} module_t;

EXPORT CUresult cuModuleLoadDataEx(void **mod, const void *image, unsigned n_options,
                                   int *options, void **values) {
  (void)n_options;
  (void)options;
  (void)values;
  if (!g.current) return ERR_INVALID_CONTEXT;
  module_t *m = calloc(1, sizeof *m);
  if (!m) return ERR_OUT_OF_MEMORY;
  const fake_gpu_image_t *im = image;
  if (emu_is_image(image)) {
    char err[512];
    if (!(m->emu = emu_module_load(image, err, sizeof err))) {
      fprintf(stderr, "fake cuda: emulation image: %s\n", err);
      free(m);
      return ERR_INVALID_IMAGE;
    }
  } else if (memcmp(im->magic, FAKE_GPU_MAGIC, sizeof FAKE_GPU_MAGIC) != 0 || im->n > MAX_KERNELS) {
    free(m);
    return ERR_INVALID_IMAGE;
  } else {
    m->n = im->n;
    for (int i = 0; i < im->n; i++) {
      snprintf(m->kernels[i].name, sizeof m->kernels[i].name, "%s", im->entries[i].name);
      m->kernels[i].fn = im->entries[i].fn;
    }
  }
  g.c.modules_loaded++;
  *mod = m;
  return OK;
}

EXPORT CUresult cuModuleUnload(void *mod) {
  module_t *m = mod;
  if (m->emu) emu_module_unload(m->emu);
  free(mod);
  g.c.modules_loaded--;
  return OK;
}

EXPORT CUresult cuModuleGetFunction(void **fn, void *mod, const char *name) {
  module_t *m = mod;
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->kernels[i].name, name)) {
      *fn = &m->kernels[i];
      return OK;
    }
  emu_kernel_fn k = m->emu && m->n < MAX_KERNELS ? emu_module_function(m->emu, name) : NULL;
  if (!k) return ERR_NOT_FOUND;
  kernel_t *e = &m->kernels[m->n++];
  snprintf(e->name, sizeof e->name, "%s", name);
  e->emu = k;
  *fn = e;
  return OK;
}

EXPORT CUresult cuFuncSetAttribute(void *fn, int attrib, int value) {
  (void)fn;
  (void)attrib;
  (void)value;
  return OK;
}

static void *garbage_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 256, bytes ? bytes : 1)) return NULL;
  memset(p, 0xa5, bytes);
  return p;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  if (bytes == 0) return ERR_INVALID_VALUE;
  void *m = garbage_alloc(bytes);
  if (!m) return ERR_OUT_OF_MEMORY;
  g.c.live_device_allocs++;
  *p = (CUdeviceptr)(uintptr_t)m;
  return OK;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  free((void *)(uintptr_t)p);
  g.c.live_device_allocs--;
  return OK;
}

EXPORT CUresult cuMemAllocHost_v2(void **p, size_t bytes) {
  if (!g.current) return ERR_INVALID_CONTEXT;
  *p = garbage_alloc(bytes);
  if (!*p) return ERR_OUT_OF_MEMORY;
  g.c.live_host_allocs++;
  return OK;
}

EXPORT CUresult cuMemFreeHost(void *p) {
  free(p);
  g.c.live_host_allocs--;
  return OK;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *s) {
  (void)s;
  g.c.htod++;
  return enqueue((op_t){.kind = OP_COPY, .dst = (void *)(uintptr_t)dst, .src = src, .bytes = n});
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *s) {
  (void)s;
  g.c.dtoh++;
  g.c.dtoh_bytes += (int64_t)n;
  return enqueue((op_t){
      .kind = OP_COPY, .dst = dst, .src = (const void *)(uintptr_t)src, .bytes = n, .dtoh = 1});
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void *s) {
  (void)s;
  g.c.dtod++;
  return enqueue((op_t){.kind = OP_COPY,
                        .dst = (void *)(uintptr_t)dst,
                        .src = (const void *)(uintptr_t)src,
                        .bytes = n});
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, void *s) {
  (void)s;
  g.c.memsets++;
  return enqueue(
      (op_t){.kind = OP_SET, .dst = (void *)(uintptr_t)dst, .bytes = n, .grid = v});
}

static int g_stream;

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
  g.c.syncs++;
  CUresult r = OK;
  for (size_t i = 0; i < g.n_ops && r == OK; i++) {
    op_t *op = &g.ops[i];
    switch (op->kind) {
    case OP_COPY: memmove(op->dst, op->src, op->bytes); break;
    case OP_SET: memset(op->dst, (int)op->grid, op->bytes); break;
    case OP_LAUNCH: {
      void *params[26];
      for (int j = 0; j < 26; j++) params[j] = &op->params[j];
      char err[256];
      if (op->emu && emu_run_grid(op->emu, params, op->grid, op->grid_y, op->threads, err,
                                  sizeof err)) {
        fprintf(stderr, "fake cuda: launch failed: %s\n", err);
        r = ERR_LAUNCH_FAILED;
      }
      for (uint32_t y = 0; y < op->grid_y && !op->emu; y++)
        for (uint32_t b = 0; b < op->grid; b++) op->fn(params, b, y);
      break;
    }
    }
  }
  g.n_ops = 0;
  return r;
}

EXPORT CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                               unsigned by, unsigned bz, unsigned shared, void *s, void **params,
                               void **extra) {
  (void)shared;
  (void)s;
  if (gy == 0 || gy > 65535 || gz != 1 || by != 1 || bz != 1 || bx == 0 || bx > 1024 ||
      gx == 0 || extra || !params)
    return ERR_INVALID_VALUE;
  g.c.launches++;
  g.c.grid_y_total += gy;
  const kernel_t *k = f;
  op_t op = {.kind = OP_LAUNCH, .fn = k->fn, .emu = k->emu, .grid = gx, .grid_y = gy, .threads = bx};
  for (int j = 0; j < 26; j++) memcpy(&op.params[j], params[j], 8); /* copied at the call */
  return enqueue(op);
}

EXPORT CUresult cuGetErrorName(CUresult r, const char **s) {
  *s = r == ERR_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_FAKE";
  return OK;
}

EXPORT CUresult cuGetErrorString(CUresult r, const char **s) {
  (void)r;
  *s = "fake driver error";
  return OK;
}

__attribute__((destructor)) static void fake_cuda_fini(void) { free(g.ops); }
