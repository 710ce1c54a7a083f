/* gpu.c: image choice, driver loading and launch parameters shared by the
 * GPU backends (see rt_gpu.h). No driver is touched here. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_gpu.h"

/* ---- NVIDIA targets ---- */

/* "sm_90", "sm_90a", "sm_100f", "compute_86": *num = 10 * major + minor and
 * *suffix the letter after the digits (0 when none). */
static bool parse_sm(const char *t, int *num, char *suffix) {
  if (!strncmp(t, "sm_", 3)) t += 3;
  else if (!strncmp(t, "compute_", 8)) t += 8;
  else return false;
  int n = 0, digits = 0;
  while (*t >= '0' && *t <= '9' && digits < 4) n = n * 10 + (*t++ - '0'), digits++;
  if (digits < 2) return false;
  *suffix = 0;
  if (*t == 'a' || *t == 'f') *suffix = *t++;
  if (*t) return false;
  *num = n;
  return true;
}

static int64_t pick_nvidia(const llmc_image_v1_t *im, int64_t n, const char *arch) {
  int dev;
  char dev_suffix;
  if (!parse_sm(arch, &dev, &dev_suffix)) return -1;
  int64_t exact = -1, compat = -1, ptx = -1;
  int compat_num = -1, ptx_num = -1;
  bool exact_a = false;
  for (int64_t i = 0; i < n; i++) {
    int num;
    char suf;
    if (!im[i].target || !parse_sm(im[i].target, &num, &suf)) continue;
    if (im[i].format == LLMC_IMAGE_CUBIN) {
      if (num == dev && (exact < 0 || (suf == 'a' && !exact_a))) {
        exact = i;
        exact_a = suf == 'a';
      } else if (suf == 0 && num / 10 == dev / 10 && num < dev && num > compat_num) {
        compat = i;
        compat_num = num;
      }
    } else if (im[i].format == LLMC_IMAGE_PTX) {
      /* Arch-specific PTX (sm_90a) only JITs for exactly that chip; family
       * PTX (sm_100f) for the same major; plain PTX for any later chip. */
      bool ok = suf == 'a' ? num == dev : suf == 'f' ? num / 10 == dev / 10 && num <= dev
                                                     : num <= dev;
      if (ok && num > ptx_num) {
        ptx = i;
        ptx_num = num;
      }
    }
  }
  return exact >= 0 ? exact : compat >= 0 ? compat : ptx;
}

/* ---- AMD target ids: "gfx90a:sramecc+:xnack-" ---- */

static size_t processor_len(const char *t) {
  const char *c = strchr(t, ':');
  return c ? (size_t)(c - t) : strlen(t);
}

/* The sign ('+' or '-') the target id gives `feature` (name without sign),
 * or 0 when it leaves it out. */
static char feature_sign(const char *id, const char *feature, size_t len) {
  for (const char *p = strchr(id, ':'); p; p = strchr(p + 1, ':')) {
    const char *f = p + 1;
    const char *end = strchr(f, ':');
    size_t flen = end ? (size_t)(end - f) : strlen(f);
    if (flen == len + 1 && !strncmp(f, feature, len) && (f[len] == '+' || f[len] == '-'))
      return f[len];
  }
  return 0;
}

/* -1: the image cannot run on the device; otherwise the number of features
 * it pins (all of them matching). */
static int amd_match(const char *image, const char *device) {
  size_t pl = processor_len(image);
  if (pl != processor_len(device) || strncmp(image, device, pl)) return -1;
  int pinned = 0;
  for (const char *p = strchr(image, ':'); p; p = strchr(p + 1, ':')) {
    const char *f = p + 1;
    const char *end = strchr(f, ':');
    size_t flen = end ? (size_t)(end - f) : strlen(f);
    if (flen < 2 || (f[flen - 1] != '+' && f[flen - 1] != '-')) return -1; /* malformed */
    if (feature_sign(device, f, flen - 1) != f[flen - 1]) return -1;
    pinned++;
  }
  return pinned;
}

static int64_t pick_amd(const llmc_image_v1_t *im, int64_t n, const char *arch) {
  int64_t best = -1;
  int best_pinned = -1;
  for (int64_t i = 0; i < n; i++) {
    if (im[i].format != LLMC_IMAGE_HSACO || !im[i].target) continue;
    int pinned = amd_match(im[i].target, arch);
    if (pinned > best_pinned) {
      best = i;
      best_pinned = pinned;
    }
  }
  return best;
}

int64_t llmc_rt_pick_image(const llmc_image_v1_t *images, int64_t n, llmc_rt_vendor_t vendor,
                           const char *device_arch) {
  if (!images || n <= 0) return -1;
  switch (vendor) {
  case LLMC_RT_VENDOR_NVIDIA: return device_arch ? pick_nvidia(images, n, device_arch) : -1;
  case LLMC_RT_VENDOR_AMD: return device_arch ? pick_amd(images, n, device_arch) : -1;
  case LLMC_RT_VENDOR_INTEL:
    for (int64_t i = 0; i < n; i++)
      if (images[i].format == LLMC_IMAGE_SPIRV) return i;
    return -1;
  }
  return -1;
}

const char *llmc_rt_image_format_name(uint32_t format) {
  switch (format) {
  case LLMC_IMAGE_PTX: return "ptx";
  case LLMC_IMAGE_CUBIN: return "cubin";
  case LLMC_IMAGE_HSACO: return "hsaco";
  case LLMC_IMAGE_SPIRV: return "spir-v";
  }
  return "unknown format";
}

void llmc_rt_images_describe(const llmc_image_v1_t *images, int64_t n, char *buf, size_t size) {
  if (!size) return;
  buf[0] = 0;
  if (!images || n <= 0) {
    snprintf(buf, size, "none (host kernels only)");
    return;
  }
  size_t used = 0;
  for (int64_t i = 0; i < n && used < size; i++) {
    int w = snprintf(buf + used, size - used, "%s%s (%s)", i ? ", " : "",
                     images[i].target ? images[i].target : "?",
                     llmc_rt_image_format_name(images[i].format));
    if (w < 0) break;
    used += (size_t)w;
  }
}

llmc_status_t *llmc_rt_no_image(const char *backend, const char *kind, const char *device,
                                const llmc_model_v1_t *model) {
  char have[512];
  llmc_rt_images_describe(model->images, model->n_images, have, sizeof have);
  return LLMC_ERROR(LLMC_UNAVAILABLE, NULL,
                    "backend '%s': the artifact has no %simage for %s; it has: %s", backend, kind,
                    device, have);
}

bool llmc_rt_env_allows(const char *name) {
  const char *v = getenv(name);
  return !(v && strcmp(v, "0") == 0);
}

/* ---- validation ---- */

llmc_status_t *llmc_rt_images_validate(const char *where, const llmc_model_v1_t *m) {
  if (m->n_images < 0 || m->n_images > 4096 || (m->n_images > 0 && !m->images))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "image table of %lld entries is missing or absurd",
                      (long long)m->n_images);
  for (int64_t i = 0; i < m->n_images; i++) {
    const llmc_image_v1_t *im = &m->images[i];
    if (!im->target || im->format < LLMC_IMAGE_PTX || im->format > LLMC_IMAGE_SPIRV)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "image %lld has no target or format %u is unknown",
                        (long long)i, im->format);
    if (!im->data || im->size == 0)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "image %lld (%s) is empty", (long long)i,
                        im->target);
    if ((int64_t)im->n_kernels != m->n_kernels || (im->n_kernels > 0 && !im->kernels))
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "image %lld (%s) has %u kernels; the plan's kernel table has %lld",
                        (long long)i, im->target, im->n_kernels, (long long)m->n_kernels);
    for (uint32_t k = 0; k < im->n_kernels; k++) {
      const llmc_gpu_kernel_v1_t *g = &im->kernels[k];
      /* 1024 threads per block is the limit of every supported chip (CUDA
       * compute capability tables, AMD CDNA/RDNA, Intel Xe). */
      /* block_threads 0: the kernel's work is fused into another launch on
       * this target (the kernel plan's per-target fusion); it is skipped. */
      if (g->block_threads == 0 && g->symbol) continue;
      if (!g->symbol || g->block_threads < 1 || g->block_threads > 1024 ||
          g->items_per_block < 1 || g->shared_bytes < 0 || g->grid_y_tokens < 0 ||
          g->grid_y_tokens > 64)
        return LLMC_ERROR(LLMC_DATA_LOSS, where,
                          "image %lld (%s) kernel %u: symbol %s, %d threads per block, %d items "
                          "per block, %d shared bytes: not a valid launch shape",
                          (long long)i, im->target, k, g->symbol ? g->symbol : "(none)",
                          g->block_threads, g->items_per_block, g->shared_bytes);
    }
  }
  return NULL;
}

/* ---- drivers ---- */

void *llmc_rt_dlopen_first(const char *const *names, size_t n, char *err, size_t err_size) {
  if (err_size) err[0] = 0;
  for (size_t i = 0; i < n; i++) {
    dlerror();
    void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    const char *e = dlerror();
    if (err_size) snprintf(err, err_size, "%s", e ? e : "dlopen failed");
  }
  return NULL;
}

const char *llmc_rt_dlsym_all(void *lib, const llmc_rt_sym_t *syms, size_t n) {
  for (size_t i = 0; i < n; i++) {
    *syms[i].slot = dlsym(lib, syms[i].name);
    if (!*syms[i].slot) return syms[i].name;
  }
  return NULL;
}

/* ---- launches ---- */

bool llmc_rt_gpu_grid(int64_t extent, uint32_t items_per_block, uint64_t max_blocks,
                      uint32_t *out_blocks) {
  *out_blocks = 0;
  if (extent <= 0 || items_per_block == 0) return false;
  uint64_t blocks = ((uint64_t)extent + items_per_block - 1) / items_per_block;
  if (blocks > max_blocks || blocks > UINT32_MAX) return false;
  *out_blocks = (uint32_t)blocks;
  return true;
}

bool llmc_rt_gpu_grid_xy(const llmc_rt_gpu_kernel_t *k, int64_t extent, int64_t tokens,
                         uint64_t max_x, uint64_t max_y, uint32_t *out_x, uint32_t *out_y) {
  *out_y = 1;
  if (!llmc_rt_gpu_grid(extent, k->items_per_block, max_x, out_x)) return false;
  if (!k->grid_y_tokens) return true;
  if (tokens < 1 || (uint64_t)tokens > UINT32_MAX) return false;
  uint64_t y = ((uint64_t)tokens + k->grid_y_tokens - 1) / k->grid_y_tokens; /* blocks of tokens */
  if (y > max_y) return false;
  *out_y = (uint32_t)y;
  return true;
}

static void put_memref(const llmc_memref1d_t *m, uint64_t *v) {
  v[0] = (uint64_t)(uintptr_t)m->allocated;
  v[1] = (uint64_t)(uintptr_t)m->aligned;
  v[2] = (uint64_t)m->offset;
  v[3] = (uint64_t)m->size;
  v[4] = (uint64_t)m->stride;
}

void llmc_rt_gpu_params(const llmc_rt_buffers_t *b, int64_t extent,
                        uint64_t out[LLMC_RT_GPU_N_PARAMS]) {
  put_memref(&b->act, out);
  put_memref(&b->weights, out + 5);
  put_memref(&b->kv, out + 10);
  put_memref(&b->meta, out + 15);
  put_memref(&b->args, out + 20);
  out[25] = (uint64_t)extent;
}

/* ---- step replay ---- */

llmc_status_t *llmc_rt_graphs_step_begin(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops,
                                         void *state, uint64_t key, bool *out_replay) {
  *out_replay = false;
  g->replaying = NULL;
  g->capturing = false;
  if (!g->on) return NULL;
  for (int i = 0; i < g->n; i++)
    if (g->keys[i] == key) {
      g->replaying = g->execs[i];
      *out_replay = true;
      return NULL;
    }
  if (g->n == LLMC_RT_MAX_GRAPHS) return NULL; /* launched directly */
  if (!ops->capture_begin(state)) {
    g->on = false; /* launched directly, now and from now on */
    return NULL;
  }
  g->capturing = true;
  g->keys[g->n] = key;
  return NULL;
}

llmc_status_t *llmc_rt_graphs_step_end(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops,
                                       void *state, bool *out_ran) {
  *out_ran = true;
  if (g->capturing) {
    g->capturing = false;
    void *exec = ops->capture_end(state);
    if (!exec) {
      g->on = false; /* nothing ran: the runtime launches the step itself */
      *out_ran = false;
      return NULL;
    }
    g->execs[g->n++] = exec;
    g->replaying = exec;
  }
  void *exec = g->replaying;
  g->replaying = NULL;
  return exec ? ops->replay(state, exec) : NULL;
}

void llmc_rt_graphs_abandon(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops, void *state) {
  if (!g->capturing) return;
  g->capturing = false;
  void *exec = ops->capture_end(state);
  if (exec) ops->destroy(state, exec);
}

void llmc_rt_graphs_destroy(llmc_rt_graphs_t *g, const llmc_rt_graph_ops_t *ops, void *state) {
  for (int i = 0; i < g->n; i++) ops->destroy(state, g->execs[i]);
  g->n = 0;
}
