/* fake_driver.c: see fake_driver.h. */
#include "fake_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fake_gpu_emu.h"

fake_cuda_counters_t fake_counters;

typedef enum { OP_COPY, OP_SET, OP_LAUNCH, OP_MARK } op_kind_t;
typedef struct {
  op_kind_t kind;
  void *dst;
  const void *src;
  size_t bytes;
  unsigned char value;
  const struct kernel *kernel;
  uint32_t grid, grid_y, threads;
  uint64_t params[26];
  double *stamp;
} op_t;

typedef struct {
  op_t *ops;
  size_t n_ops, cap_ops;
} queue_t;

/* The stream's queue, and the graph being captured (active: capturing). */
static queue_t q, capture;
static int capturing;

/* What fake_module_function hands out: one of the two kinds of kernel. */
typedef struct kernel {
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

static int push(queue_t *to, op_t op) {
  if (to->n_ops == to->cap_ops) {
    size_t cap = to->cap_ops ? 2 * to->cap_ops : 64;
    op_t *ops = realloc(to->ops, cap * sizeof *ops);
    if (!ops) return -1;
    to->ops = ops;
    to->cap_ops = cap;
  }
  to->ops[to->n_ops++] = op;
  return 0;
}

static int enqueue(op_t op) { return push(capturing ? &capture : &q, op); }

int fake_capture_begin(void) {
  if (capturing) return -1;
  capturing = 1;
  capture = (queue_t){0};
  return 0;
}

int fake_capture_end(void **out_graph) {
  if (!capturing) return -1;
  capturing = 0;
  queue_t *g = malloc(sizeof *g);
  if (!g) {
    free(capture.ops);
    return -1;
  }
  *g = capture;
  capture = (queue_t){0};
  fake_counters.graphs_captured++;
  *out_graph = g;
  return 0;
}

int fake_graph_launch(const void *graph) {
  const queue_t *g = graph;
  fake_counters.graph_launches++;
  for (size_t i = 0; i < g->n_ops; i++)
    if (enqueue(g->ops[i])) return -1;
  return 0;
}

void *fake_graph_copy(const void *graph) {
  const queue_t *g = graph;
  queue_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  for (size_t i = 0; i < g->n_ops; i++)
    if (push(c, g->ops[i])) {
      fake_graph_free(c);
      return NULL;
    }
  return c;
}

void fake_graph_free(void *graph) {
  queue_t *g = graph;
  if (g) free(g->ops);
  free(g);
}

/* Device memory ends right at an inaccessible page (its size rounded up to
 * the 256-byte alignment drivers give), so a kernel or a copy that runs
 * past the end of a buffer faults here as it might on a GPU, instead of
 * reading a neighbour. */
typedef struct {
  char *p, *base;
  size_t span;
} mapping_t;
static mapping_t *maps;
static size_t n_maps, cap_maps;

static void *guarded_alloc(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t body = (bytes + 255) / 256 * 256;
  size_t span = (body + page - 1) / page * page + page;
  if (n_maps == cap_maps) {
    size_t cap = cap_maps ? 2 * cap_maps : 64;
    mapping_t *m = realloc(maps, cap * sizeof *m);
    if (!m) return NULL;
    maps = m;
    cap_maps = cap;
  }
  char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return NULL;
  mprotect(base + span - page, page, PROT_NONE);
  char *p = base + span - page - body;
  maps[n_maps++] = (mapping_t){p, base, span};
  return p;
}

static void guarded_free(void *p) {
  for (size_t i = 0; i < n_maps; i++)
    if (maps[i].p == p) {
      munmap(maps[i].base, maps[i].span);
      maps[i] = maps[--n_maps];
      return;
    }
  abort(); /* not ours: the runtime freed something twice or never allocated it */
}

void *fake_alloc(size_t bytes, int device) {
  void *p = NULL;
  if (device) p = guarded_alloc(bytes ? bytes : 1);
  else if (posix_memalign(&p, 256, bytes ? bytes : 1)) p = NULL;
  if (!p) return NULL;
  memset(p, 0xa5, bytes);
  if (device) fake_counters.live_device_allocs++;
  else fake_counters.live_host_allocs++;
  return p;
}

void fake_free(void *p, int device) {
  if (device) guarded_free(p);
  else free(p);
  if (device) fake_counters.live_device_allocs--;
  else fake_counters.live_host_allocs--;
}

int fake_enqueue_copy(void *dst, const void *src, size_t bytes, int direction) {
  switch (direction) {
  case FAKE_HTOD: fake_counters.htod++; break;
  case FAKE_DTOH:
    fake_counters.dtoh++;
    fake_counters.dtoh_bytes += (int64_t)bytes;
    break;
  default: fake_counters.dtod++; break;
  }
  return enqueue((op_t){.kind = OP_COPY, .dst = dst, .src = src, .bytes = bytes});
}

int fake_enqueue_set(void *dst, unsigned char value, size_t bytes) {
  fake_counters.memsets++;
  return enqueue((op_t){.kind = OP_SET, .dst = dst, .bytes = bytes, .value = value});
}

typedef struct {
  double t;
  int recorded;
} event_t;

void *fake_event_new(void) { return calloc(1, sizeof(event_t)); }

int fake_event_record(void *event) {
  event_t *e = event;
  e->recorded = 1;
  return enqueue((op_t){.kind = OP_MARK, .stamp = &e->t});
}

int fake_event_elapsed(const void *start, const void *end, float *out_ms) {
  const event_t *a = start, *b = end;
  if (!a->recorded || !b->recorded) return -1;
  *out_ms = (float)(1e3 * (b->t - a->t));
  return 0;
}

void fake_event_free(void *event) { free(event); }

int fake_module_load(const void *image, void **out_module) {
  module_t *m = calloc(1, sizeof *m);
  if (!m) return -2;
  const fake_gpu_image_t *im = image;
  if (emu_is_image(image)) {
    char err[512];
    if (!(m->emu = emu_module_load(image, err, sizeof err))) {
      fprintf(stderr, "fake driver: emulation image: %s\n", err);
      free(m);
      return -1;
    }
  } else if (memcmp(im->magic, FAKE_GPU_MAGIC, sizeof FAKE_GPU_MAGIC) != 0 || im->n > MAX_KERNELS) {
    free(m);
    return -1;
  } else {
    m->n = im->n;
    for (int i = 0; i < im->n; i++) {
      snprintf(m->kernels[i].name, sizeof m->kernels[i].name, "%s", im->entries[i].name);
      m->kernels[i].fn = im->entries[i].fn;
    }
  }
  fake_counters.modules_loaded++;
  *out_module = m;
  return 0;
}

void fake_module_unload(void *module) {
  module_t *m = module;
  if (m->emu) emu_module_unload(m->emu);
  free(m);
  fake_counters.modules_loaded--;
}

const void *fake_module_function(void *module, const char *name) {
  module_t *m = module;
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->kernels[i].name, name)) return &m->kernels[i];
  emu_kernel_fn k = m->emu && m->n < MAX_KERNELS ? emu_module_function(m->emu, name) : NULL;
  if (!k) return NULL;
  kernel_t *e = &m->kernels[m->n++];
  snprintf(e->name, sizeof e->name, "%s", name);
  e->emu = k;
  return e;
}

int fake_enqueue_launch(const void *kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, void **params, void **extra) {
  if (gy == 0 || gy > 65535 || gz != 1 || by != 1 || bz != 1 || bx == 0 || bx > 1024 ||
      gx == 0 || extra || !params)
    return -1;
  fake_counters.launches++;
  fake_counters.grid_y_total += gy;
  op_t op = {.kind = OP_LAUNCH, .kernel = kernel, .grid = gx, .grid_y = gy, .threads = bx};
  for (int j = 0; j < 26; j++) memcpy(&op.params[j], params[j], 8); /* copied at the call */
  return enqueue(op) ? -2 : 0;
}

int fake_synchronize(void) {
  if (capturing) return -1; /* CUDA: not permitted while the stream captures */
  fake_counters.syncs++;
  int r = 0;
  for (size_t i = 0; i < q.n_ops && r == 0; i++) {
    op_t *op = &q.ops[i];
    switch (op->kind) {
    case OP_COPY: memmove(op->dst, op->src, op->bytes); break;
    case OP_SET: memset(op->dst, op->value, op->bytes); break;
    case OP_MARK: {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      *op->stamp = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
      break;
    }
    case OP_LAUNCH: {
      void *params[26];
      for (int j = 0; j < 26; j++) params[j] = &op->params[j];
      char err[256];
      if (op->kernel->emu) {
        if (emu_run_grid(op->kernel->emu, params, op->grid, op->grid_y, op->threads, err,
                         sizeof err)) {
          fprintf(stderr, "fake driver: launch of %s failed: %s\n", op->kernel->name, err);
          r = -1;
        }
        break;
      }
      for (uint32_t y = 0; y < op->grid_y; y++)
        for (uint32_t b = 0; b < op->grid; b++) op->kernel->fn(params, b, y);
      break;
    }
    }
  }
  q.n_ops = 0;
  return r;
}

__attribute__((destructor)) static void fake_driver_fini(void) {
  free(maps);
  free(q.ops);
  free(capture.ops);
}
