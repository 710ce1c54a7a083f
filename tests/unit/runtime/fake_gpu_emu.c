/* fake_gpu_emu.c: see fake_gpu_emu.h.
 *
 * A thread of a block is a fiber with a stack of its own. The
 * scheduler resumes every runnable fiber in turn; a fiber runs until it
 * calls the barrier (it then waits) or returns (done). When every fiber
 * waits, the barrier opens; when every fiber is done, the block is. Fibers
 * waiting while others have returned is a barrier not all threads reach:
 * undefined behaviour in CUDA (a hang on some chips), an error here.
 *
 * The image calls back for what NVVM or AMDGPU intrinsics or OpenCL builtins
 * would give (thread and block ids, barriers; gpu_emulation.c renames
 * llvm.nvvm.X to llmc_emu_nvvm_X and llvm.amdgcn.X to llmc_emu_amdgcn_X) and
 * for
 * libdevice's math (__nv_*, mapped to libm; AMD kernels use LLVM
 * intrinsics only), so this library promotes itself to RTLD_GLOBAL before
 * it dlopens an image.
 *
 * Shared memory is checked on every access (gpu_emulation.c puts a call
 * before each, and exports the table of shared globals): per 4-byte word,
 * who last wrote it in which block and barrier interval (epoch), and who
 * read it in this one. A read or write of a word another thread wrote in
 * the same epoch, a write of one another thread read in it, and a read of
 * one the block never wrote are reported as the hazards they are, since
 * running threads in a fixed order would otherwise hide a missing barrier.
 *
 * Switching fibers is most of the cost (a matmul block of 256 threads meets
 * 9 barriers), and glibc's swapcontext makes a sigprocmask system call on
 * every switch: the example model took minutes that way. On x86-64 the
 * switch is therefore the six pushes and pops of the callee-saved registers
 * the System V ABI asks for (fiber_switch below); elsewhere ucontext. */
#include "fake_gpu_emu.h"

#include <dlfcn.h>
#include <elf.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum { MAX_THREADS = 1024, STACK_BYTES = 16 * 1024 };
/* WAITING: at a block barrier; WARP_WAITING: at a warp's exchange (a
 * shuffle), which opens when every live thread of its warp is there. */
enum { RUNNABLE, WAITING, WARP_WAITING, DONE };

#if defined(__x86_64__)
/* fiber_switch(&save, to): saves the callee-saved registers on the current
 * stack, stores its pointer in *save, and resumes the stack `to` (which
 * fiber_switch saved, or fiber_stack_init made). */
void fiber_switch(void **save, void *to);
__asm__(".text\n"
        ".p2align 4\n"
        ".type fiber_switch,@function\n"
        "fiber_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size fiber_switch, .-fiber_switch\n");
typedef struct {
  void *sp;
  int state;
  uint32_t warp_width; /* WARP_WAITING: the warp's width (32, or 64 on AMD) */
} fiber_t;
typedef void *scheduler_t;
#else
typedef struct {
  ucontext_t ctx;
  int state;
  uint32_t warp_width; /* WARP_WAITING: the warp's width (32, or 64 on AMD) */
} fiber_t;
typedef ucontext_t scheduler_t;
#endif

/* Shadow state of one 4-byte word of shared memory. */
typedef struct {
  uint32_t write_epoch, read_epoch, write_block;
  uint16_t writer, reader;
  uint8_t readers; /* 0, 1 (reader) or 2 (several) in read_epoch */
} word_t;

/* A shared global of a loaded image. */
typedef struct {
  uintptr_t begin, end;
  const char *name;
  word_t *shadow;
  void *module;
} region_t;

/* One launch at a time: the driver runs launches at cuStreamSynchronize,
 * on the calling thread. */
static struct {
  scheduler_t scheduler;
  fiber_t fibers[MAX_THREADS];
  char *stacks; /* MAX_THREADS stacks, mapped on first use */
  uint32_t threads, current;
  uint32_t bx, by, gx, gy;
  emu_kernel_fn fn;
  void **params;
  /* shared-memory checking */
  region_t *regions;
  size_t n_regions, last_region;
  uint32_t epoch, block_serial; /* both start a new interval with every block */
  char hazard[256];             /* the first one of the launch, "" if none */
} emu;

/* The image's table row, as gpu_emulation.c lays it out. */
typedef struct {
  void *address;
  uint64_t bytes;
  const char *name;
} shared_row_t;

static int add_regions(void *module, char *err, size_t err_size) {
  const shared_row_t *rows = dlsym(module, "llmc_emu_shared_table");
  const uint64_t *count = dlsym(module, "llmc_emu_shared_count");
  if (!rows || !count) {
    snprintf(err, err_size, "the image has no shared-memory table");
    return -1;
  }
  region_t *r = realloc(emu.regions, sizeof *r * (emu.n_regions + *count + 1));
  if (!r) goto oom;
  emu.regions = r;
  for (uint64_t i = 0; i < *count; i++) {
    word_t *shadow = calloc(rows[i].bytes / 4 + 1, sizeof *shadow);
    if (!shadow) goto oom;
    emu.regions[emu.n_regions++] = (region_t){(uintptr_t)rows[i].address,
                                              (uintptr_t)rows[i].address + rows[i].bytes,
                                              rows[i].name, shadow, module};
  }
  return 0;
oom:
  snprintf(err, err_size, "out of memory");
  return -1;
}

static void remove_regions(void *module) {
  size_t kept = 0;
  for (size_t i = 0; i < emu.n_regions; i++) {
    if (emu.regions[i].module == module) free(emu.regions[i].shadow);
    else emu.regions[kept++] = emu.regions[i];
  }
  emu.n_regions = kept;
  emu.last_region = 0;
}

static void hazard(const char *what, const region_t *r, uintptr_t a, unsigned other) {
  if (emu.hazard[0]) return;
  snprintf(emu.hazard, sizeof emu.hazard,
           "block (%u, %u): thread %u %s %s+%zu, which thread %u %s since the last barrier",
           emu.bx, emu.by, emu.current, what, r->name, (size_t)(a - r->begin), other,
           what[0] == 'r' ? "wrote" : strstr(what, "read") ? "read" : "wrote");
}

EXPORT void llmc_emu_shared_access(void *address, uint64_t bytes, int32_t is_write) {
  uintptr_t a = (uintptr_t)address;
  const region_t *r = NULL;
  if (emu.last_region < emu.n_regions && a >= emu.regions[emu.last_region].begin &&
      a < emu.regions[emu.last_region].end)
    r = &emu.regions[emu.last_region];
  for (size_t i = 0; !r && i < emu.n_regions; i++)
    if (a >= emu.regions[i].begin && a < emu.regions[i].end) {
      r = &emu.regions[i];
      emu.last_region = i;
    }
  if (!r || a + bytes > r->end) {
    if (!emu.hazard[0])
      snprintf(emu.hazard, sizeof emu.hazard,
               "block (%u, %u): thread %u accesses %llu bytes of shared memory outside every "
               "shared global",
               emu.bx, emu.by, emu.current, (unsigned long long)bytes);
    return;
  }
  const uint16_t t = (uint16_t)emu.current;
  for (size_t w = (a - r->begin) / 4; w <= (a + bytes - 1 - r->begin) / 4; w++) {
    word_t *s = &r->shadow[w];
    bool written_now = s->write_epoch == emu.epoch && s->write_block == emu.block_serial;
    if (is_write) {
      if (written_now && s->writer != t) hazard("writes", r, a, s->writer);
      else if (s->read_epoch == emu.epoch && (s->readers > 1 || s->reader != t))
        hazard("writes (after a read of)", r, a, s->reader);
      s->write_epoch = emu.epoch;
      s->write_block = emu.block_serial;
      s->writer = t;
    } else {
      if (s->write_block != emu.block_serial) {
        if (!emu.hazard[0])
          snprintf(emu.hazard, sizeof emu.hazard,
                   "block (%u, %u): thread %u reads %s+%zu, which this block never wrote",
                   emu.bx, emu.by, emu.current, r->name, (size_t)(a - r->begin));
      } else if (written_now && s->writer != t) {
        hazard("reads", r, a, s->writer);
      }
      if (s->read_epoch != emu.epoch) {
        s->read_epoch = emu.epoch;
        s->reader = t;
        s->readers = 1;
      } else if (s->reader != t) {
        s->readers = 2;
      }
    }
  }
}

int emu_is_image(const void *image) { return memcmp(image, ELFMAG, SELFMAG) == 0; }

void *emu_module_load(const void *image, char *err, size_t err_size) {
  const Elf64_Ehdr *eh = image;
  if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_DYN) {
    snprintf(err, err_size, "not a 64-bit ELF shared object");
    return NULL;
  }
  /* cuModuleLoadData gets no size; ld.lld puts the section headers last. */
  size_t size = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
  /* In a library loaded RTLD_LOCAL (libcuda.so.1, as the runtime loads
   * it), make the callbacks visible to the image. Linked into a program
   * with exported symbols instead, they already are: that dlopen fails. */
  Dl_info self;
  if (dladdr(&emu, &self)) dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  char path[] = "/tmp/fake-cuda-emu-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    snprintf(err, err_size, "cannot create a temporary file");
    return NULL;
  }
  int ok = write(fd, image, size) == (ssize_t)size;
  close(fd);
  void *h = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
  if (!h) snprintf(err, err_size, "%s", ok ? dlerror() : "cannot write the image");
  unlink(path);
  if (h && add_regions(h, err, err_size)) {
    remove_regions(h);
    dlclose(h);
    return NULL;
  }
  return h;
}

void emu_module_unload(void *module) {
  remove_regions(module);
  dlclose(module);
}

emu_kernel_fn emu_module_function(void *module, const char *name) {
  void *f = dlsym(module, name);
  emu_kernel_fn fn;
  memcpy(&fn, &f, sizeof fn);
  return fn;
}

static void fiber_main(void) {
  emu.fn(emu.params);
  emu.fibers[emu.current].state = DONE;
#if defined(__x86_64__)
  void *dead;
  fiber_switch(&dead, emu.scheduler); /* never resumed */
#endif
  /* ucontext: uc_link resumes the scheduler */
}

/* Makes fiber t start at fiber_main on its own stack. */
static void fiber_start(uint32_t t) {
  fiber_t *f = &emu.fibers[t];
  char *stack = emu.stacks + (size_t)t * STACK_BYTES;
  f->state = RUNNABLE;
#if defined(__x86_64__)
  /* What fiber_switch pops: six registers (zero), then the return address
   * fiber_main, above which rsp is 8 mod 16 as after a call. The tops of
   * the stacks are staggered by a cache line per fiber: at one offset in
   * every stack, all of them would fall into the same cache set, and every
   * switch would miss (measured: half the run time in fiber_switch). */
  void **top = (void **)(stack + STACK_BYTES - 64 * (t % 64));
  top[-1] = NULL;
  void (*entry)(void) = fiber_main;
  memcpy(&top[-2], &entry, sizeof entry);
  for (int i = 3; i <= 8; i++) top[-i] = NULL;
  f->sp = &top[-8];
#else
  getcontext(&f->ctx);
  f->ctx.uc_stack.ss_sp = stack;
  f->ctx.uc_stack.ss_size = STACK_BYTES;
  f->ctx.uc_link = &emu.scheduler;
  makecontext(&f->ctx, fiber_main, 0);
#endif
}

static void fiber_resume(fiber_t *f) {
#if defined(__x86_64__)
  fiber_switch(&emu.scheduler, f->sp);
#else
  swapcontext(&emu.scheduler, &f->ctx);
#endif
}

/* Opens the warp exchanges every live thread of its warp has reached:
 * true when one opened. */
static bool release_warps(void) {
  bool released = false;
  for (uint32_t t = 0; t < emu.threads; t++) {
    fiber_t *f = &emu.fibers[t];
    if (f->state != WARP_WAITING) continue;
    uint32_t w = f->warp_width, first = t - t % w, last = first + w < emu.threads ? first + w : emu.threads;
    bool all = true;
    for (uint32_t u = first; u < last && all; u++)
      all = emu.fibers[u].state == DONE ||
            (emu.fibers[u].state == WARP_WAITING && emu.fibers[u].warp_width == w);
    if (!all) continue;
    for (uint32_t u = first; u < last; u++)
      if (emu.fibers[u].state == WARP_WAITING) emu.fibers[u].state = RUNNABLE;
    released = true;
  }
  return released;
}

/* Runs block (bx, by); 0, or -1 when the block's barriers do not match. */
static int run_block(void) {
  emu.block_serial++;
  emu.epoch++;
  for (uint32_t t = 0; t < emu.threads; t++) fiber_start(t);
  for (;;) {
    /* Run every runnable thread until each waits or returns; warps whose
     * threads all reached an exchange go on, until nothing can. */
    for (bool ran = true; ran;) {
      ran = false;
      for (uint32_t t = 0; t < emu.threads; t++) {
        fiber_t *f = &emu.fibers[t];
        if (f->state == RUNNABLE) {
          emu.current = t;
          fiber_resume(f);
          ran = true;
        }
      }
      ran |= release_warps();
    }
    uint32_t waiting = 0, done = 0, warp_waiting = 0;
    for (uint32_t t = 0; t < emu.threads; t++) {
      waiting += emu.fibers[t].state == WAITING;
      warp_waiting += emu.fibers[t].state == WARP_WAITING;
      done += emu.fibers[t].state == DONE;
    }
    if (done == emu.threads) return 0;
    if (done > 0 || warp_waiting > 0) return -1;
    emu.epoch++; /* the barrier opens */
    for (uint32_t t = 0; t < emu.threads; t++) emu.fibers[t].state = RUNNABLE;
  }
}

int emu_run_grid(emu_kernel_fn fn, void **params, uint32_t gx, uint32_t gy, uint32_t threads,
                 char *err, size_t err_size) {
  if (threads == 0 || threads > MAX_THREADS) {
    snprintf(err, err_size, "%u threads per block", threads);
    return -1;
  }
  if (!emu.stacks) {
    void *p = mmap(NULL, (size_t)MAX_THREADS * STACK_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      snprintf(err, err_size, "cannot map fiber stacks");
      return -1;
    }
    emu.stacks = p;
  }
  emu.fn = fn;
  emu.params = params;
  emu.threads = threads;
  emu.gx = gx;
  emu.gy = gy;
  emu.hazard[0] = 0;
  for (emu.by = 0; emu.by < gy; emu.by++)
    for (emu.bx = 0; emu.bx < gx; emu.bx++) {
      if (run_block()) {
        snprintf(err, err_size,
                 "block (%u, %u): some threads returned while others wait at a barrier",
                 emu.bx, emu.by);
        return -1;
      }
      if (emu.hazard[0]) {
        snprintf(err, err_size, "shared-memory hazard: %s", emu.hazard);
        return -1;
      }
    }
  return 0;
}

/* ---- what the image calls: NVVM special registers and barriers ---- */

EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_tid_x(void) { return (int32_t)emu.current; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_tid_y(void) { return 0; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_tid_z(void) { return 0; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ntid_x(void) { return (int32_t)emu.threads; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ntid_y(void) { return 1; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ntid_z(void) { return 1; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ctaid_x(void) { return (int32_t)emu.bx; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ctaid_y(void) { return (int32_t)emu.by; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_ctaid_z(void) { return 0; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_nctaid_x(void) { return (int32_t)emu.gx; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_nctaid_y(void) { return (int32_t)emu.gy; }
EXPORT int32_t llmc_emu_nvvm_read_ptx_sreg_nctaid_z(void) { return 1; }

/* The current thread waits in `state` (the scheduler resumes it). */
static void suspend(int state) {
  fiber_t *f = &emu.fibers[emu.current];
  f->state = state;
#if defined(__x86_64__)
  fiber_switch(&f->sp, emu.scheduler);
#else
  swapcontext(&f->ctx, &emu.scheduler);
#endif
}

static void barrier(void) { suspend(WAITING); }

EXPORT void llmc_emu_nvvm_barrier_cta_sync_aligned_all(int32_t id) {
  (void)id;
  barrier();
}
EXPORT void llmc_emu_nvvm_barrier0(void) { barrier(); }

/* Warp shuffles. Every thread of the warp deposits its value, the warp's
 * threads meet (warp_wait: the scheduler resumes them when all of the
 * warp's live threads are there; other warps run on), each reads its
 * source's, and they meet again before the slots are reused. A warp where
 * some threads never reach the shuffle is reported like a barrier not all
 * threads reach. */
static uint32_t shuffle_slot[MAX_THREADS];

/* Waits until every live thread of this thread's warp (of `width`) is
 * here too. */
static void warp_wait(uint32_t width) {
  emu.fibers[emu.current].warp_width = width;
  suspend(WARP_WAITING);
}

static uint32_t exchange(uint32_t value, uint32_t from, uint32_t width) {
  shuffle_slot[emu.current] = value;
  warp_wait(width);
  uint32_t got = shuffle_slot[from < emu.threads ? from : emu.current];
  warp_wait(width);
  return got;
}

/* shfl.sync.bfly (PTX ISA: lane j = lane ^ b within the segment c
 * describes; out-of-segment reads return the thread's own value). */
static uint32_t shfl_bfly(uint32_t value, int32_t b, int32_t c) {
  uint32_t lane = emu.current % 32, base = emu.current - lane;
  uint32_t segmask = ((uint32_t)c >> 8) & 0x1f, cval = (uint32_t)c & 0x1f;
  uint32_t max_lane = (lane & segmask) | (cval & ~segmask);
  uint32_t j = lane ^ ((uint32_t)b & 0x1f);
  if (j > max_lane) j = lane;
  return exchange(value, base + j, 32);
}

EXPORT float llmc_emu_nvvm_shfl_sync_bfly_f32(int32_t mask, float value, int32_t b, int32_t c) {
  (void)mask;
  uint32_t bits;
  memcpy(&bits, &value, 4);
  bits = shfl_bfly(bits, b, c);
  memcpy(&value, &bits, 4);
  return value;
}

EXPORT int32_t llmc_emu_nvvm_shfl_sync_bfly_i32(int32_t mask, int32_t value, int32_t b, int32_t c) {
  (void)mask;
  return (int32_t)shfl_bfly((uint32_t)value, b, c);
}

/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (the NVVM intrinsic
 * llvm.nvvm.mma.m16n8k16.row.col.bf16; gpu_emulation.c passes its struct
 * result through d): D = A B + C for the warp's 16x16 A, 16x8 B and 16x8 C,
 * each lane holding its fragments as the PTX ISA lays them out ("Matrix
 * Fragments for mma.m16n8k16", g = lane / 4, c = lane % 4): a0 = A[g][2c,
 * 2c+1], a1 = A[g+8][2c..], a2 = A[g][2c+8..], a3 = A[g+8][2c+8..] (lower
 * column in the low half of the word), b0 = B[2c, 2c+1][g], b1 = B[2c+8,
 * 2c+9][g], c0..c3 = C[g][2c], C[g][2c+1], C[g+8][2c], C[g+8][2c+1]. The
 * products of bf16s are exact in f32; the sum is taken in k order in f32
 * (the hardware's order and intermediate precision are its own: tests
 * allow for reassociation). */
typedef struct {
  uint32_t a[4], b[2];
  float c[4];
} mma_frag_t;
static mma_frag_t mma_slot[MAX_THREADS];

static float bf16_lo(uint32_t w) {
  uint32_t bits = w << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}
static float bf16_hi(uint32_t w) {
  uint32_t bits = w & 0xffff0000u;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

EXPORT void llmc_emu_nvvm_mma_m16n8k16_row_col_bf16(float *d, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                                    int32_t b0, int32_t b1, float c0, float c1, float c2,
                                                    float c3) {
  mma_slot[emu.current] = (mma_frag_t){{(uint32_t)a0, (uint32_t)a1, (uint32_t)a2, (uint32_t)a3},
                                       {(uint32_t)b0, (uint32_t)b1},
                                       {c0, c1, c2, c3}};
  warp_wait(32);
  uint32_t base = emu.current - emu.current % 32;
  float A[16][16], B[16][8], C[16][8];
  for (uint32_t l = 0; l < 32; l++) {
    const mma_frag_t *f = &mma_slot[base + l < emu.threads ? base + l : emu.current];
    uint32_t g = l / 4, c = l % 4;
    for (int r = 0; r < 4; r++) {
      uint32_t row = g + (r & 1) * 8, col = 2 * c + (r >> 1) * 8;
      A[row][col] = bf16_lo(f->a[r]);
      A[row][col + 1] = bf16_hi(f->a[r]);
    }
    for (int r = 0; r < 2; r++) {
      B[2 * c + r * 8][g] = bf16_lo(f->b[r]);
      B[2 * c + r * 8 + 1][g] = bf16_hi(f->b[r]);
    }
    C[g][2 * c] = f->c[0];
    C[g][2 * c + 1] = f->c[1];
    C[g + 8][2 * c] = f->c[2];
    C[g + 8][2 * c + 1] = f->c[3];
  }
  uint32_t g = (emu.current % 32) / 4, c = emu.current % 4;
  for (int e = 0; e < 4; e++) {
    uint32_t row = g + (e >> 1) * 8, col = 2 * c + (e & 1);
    float acc = C[row][col];
    for (int k = 0; k < 16; k++) acc += A[row][k] * B[k][col];
    d[e] = acc;
  }
  warp_wait(32);
}

/* ---- and their AMDGPU (ROCDL) counterparts ---- */

/* Lanes of 64-wide waves (gfx9's wave64; a wave32 kernel's xor shuffles
 * stay within their 32 lanes either way). mbcnt counts the mask's bits
 * below this lane: lo over lanes 0-31, hi over 32-63. */
#define WAVE 64
EXPORT int32_t llmc_emu_amdgcn_mbcnt_lo(int32_t mask, int32_t base) {
  uint32_t lane = emu.current % WAVE, below = lane < 32 ? (1u << lane) - 1 : 0xffffffffu;
  return base + __builtin_popcount((uint32_t)mask & below);
}
EXPORT int32_t llmc_emu_amdgcn_mbcnt_hi(int32_t mask, int32_t base) {
  uint32_t lane = emu.current % WAVE, below = lane < 32 ? 0 : (1u << (lane - 32)) - 1;
  return base + __builtin_popcount((uint32_t)mask & below);
}
/* ds_swizzle (the ROCDL lowering uses it for some xor shuffles): with
 * offset bit 15 set, quad mode (lane i of each 4 reads the lane of the
 * quad that bits 2i+1:2i name); else bit-mask mode over groups of 32:
 * j = ((lane & and) | or) ^ xor, the masks in bits 4:0, 9:5, 14:10. */
EXPORT int32_t llmc_emu_amdgcn_ds_swizzle(int32_t data, int32_t offset) {
  uint32_t lane = emu.current % WAVE, base = emu.current - lane, off = (uint32_t)offset, j;
  if (off & 0x8000) {
    j = (lane & ~3u) | ((off >> (2 * (lane & 3))) & 3);
  } else {
    uint32_t and_mask = off & 0x1f, or_mask = (off >> 5) & 0x1f, xor_mask = (off >> 10) & 0x1f;
    j = (lane & ~31u) | ((((lane & 31) & and_mask) | or_mask) ^ xor_mask);
  }
  return (int32_t)exchange((uint32_t)data, base + j, WAVE);
}
/* ds_bpermute: this lane gets `data` of lane (address / 4) of its wave. */
EXPORT int32_t llmc_emu_amdgcn_ds_bpermute(int32_t address, int32_t data) {
  uint32_t base = emu.current - emu.current % WAVE;
  return (int32_t)exchange((uint32_t)data, base + (((uint32_t)address / 4) % WAVE), WAVE);
}

EXPORT int32_t llmc_emu_amdgcn_workitem_id_x(void) { return (int32_t)emu.current; }
EXPORT int32_t llmc_emu_amdgcn_workitem_id_y(void) { return 0; }
EXPORT int32_t llmc_emu_amdgcn_workitem_id_z(void) { return 0; }
EXPORT int32_t llmc_emu_amdgcn_workgroup_id_x(void) { return (int32_t)emu.bx; }
EXPORT int32_t llmc_emu_amdgcn_workgroup_id_y(void) { return (int32_t)emu.by; }
EXPORT int32_t llmc_emu_amdgcn_workgroup_id_z(void) { return 0; }
/* s_barrier; the workgroup-scope fences around it are plain fences here. */
EXPORT void llmc_emu_amdgcn_s_barrier(void) { barrier(); }

/* ---- and the OpenCL builtins of the SPIR-V path, by their Itanium-mangled
 * names (get_local_id(uint) is _Z12get_local_idj; size_t results) ---- */

EXPORT uint64_t _Z12get_local_idj(uint32_t dim) { return dim == 0 ? emu.current : 0; }
EXPORT uint64_t _Z12get_group_idj(uint32_t dim) {
  return dim == 0 ? emu.bx : dim == 1 ? emu.by : 0;
}
EXPORT uint64_t _Z14get_local_sizej(uint32_t dim) { return dim == 0 ? emu.threads : 1; }
EXPORT uint64_t _Z14get_num_groupsj(uint32_t dim) {
  return dim == 0 ? emu.gx : dim == 1 ? emu.gy : 1;
}
EXPORT void _Z7barrierj(uint32_t flags) {
  (void)flags;
  barrier();
}

/* ---- libdevice (CUDA's libdevice user's guide names) on libm ---- */

EXPORT float __nv_expf(float x) { return expf(x); }
EXPORT float __nv_exp2f(float x) { return exp2f(x); }
EXPORT float __nv_logf(float x) { return logf(x); }
EXPORT float __nv_sqrtf(float x) { return sqrtf(x); }
EXPORT float __nv_rsqrtf(float x) { return 1.0f / sqrtf(x); }
EXPORT float __nv_fmaf(float a, float b, float c) { return fmaf(a, b, c); }
EXPORT float __nv_tanhf(float x) { return tanhf(x); }
EXPORT float __nv_erff(float x) { return erff(x); }
EXPORT float __nv_powf(float x, float y) { return powf(x, y); }
EXPORT float __nv_sinf(float x) { return sinf(x); }
EXPORT float __nv_cosf(float x) { return cosf(x); }
EXPORT float __nv_fabsf(float x) { return fabsf(x); }
EXPORT float __nv_fmaxf(float a, float b) { return fmaxf(a, b); }
EXPORT float __nv_fminf(float a, float b) { return fminf(a, b); }
