/* rt.c: opening an artifact and executing its plan.
 *
 * Open: check that out/model.so is a whole ELF file (elf_check.c), dlopen
 * it, take its llmc_model_v1, and validate the plan completely before
 * anything runs it (artifact_check.c: every offset and extent against its
 * buffer, then the plan's digest). A corrupt artifact gets a status, never
 * a crash: only the kernels themselves are trusted; GPU image tables are
 * checked too (gpu.c). Then choose the backend (select_backend: "auto"
 * takes the first GPU backend with a driver, a device and an image for it,
 * else the host), mmap weights.safetensors and check it is the file
 * model.so was compiled with (artifact_check.c; its data section, 64-byte
 * aligned by the compiler, is the weights buffer as is on the host, and is
 * uploaded once to a device) and allocate every buffer once: activation arena, meta, args of
 * all launches, KV pool, and on a device pinned host staging for meta, args
 * and logits. Nothing is allocated per step.
 *
 * Execute: the caller fills meta (tokens, positions, seq_of_token, block
 * table rows); run_plan resolves every launch's arguments for T and
 * launches each kernel over its extent. On a device that is: two uploads
 * (meta, args), every launch on one queue, downloads of only the logits
 * rows the caller will sample from, and one synchronize; no host round trip
 * between launches. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_check.h"
#include "rt_gpu.h"
#include "rt_impl.h"

/* Opens model.so and checks it is a whole ELF file (elf_check.c) before
 * dlopen maps it; then dlopen loads the very file checked, through its
 * descriptor (/proc/self/fd/N), not the path, which could be replaced in
 * between. O_NONBLOCK: a FIFO named model.so must not block the open.
 * The descriptor stays open as long as the library is loaded: the dynamic
 * loader reuses a loaded library whose name matches, so a second artifact
 * opened on a recycled descriptor number would get the first one's code. */
static llmc_status_t *dlopen_checked(llmc_rt_t *rt, const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return LLMC_ERROR(LLMC_NOT_FOUND, path, "model.so not found: is this an llmc output directory?");
    return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot open: %s", strerror(errno));
  }
  llmc_status_t *s = llmc_rt_elf_check_fd(fd, path);
  if (!s) {
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
    dlerror();
    rt->dl = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL);
    if (!rt->dl) {
      const char *e = dlerror();
      s = LLMC_ERROR(LLMC_DATA_LOSS, path, "cannot load: %s", e ? e : "dlopen failed");
    }
  }
  rt->so_fd = fd; /* closed after dlclose (llmc_rt_close) */
  return s;
}

static llmc_status_t *load_model(llmc_rt_t *rt, const char *path) {
  LLMC_RETURN_IF_ERROR(dlopen_checked(rt, path));
  const llmc_model_v1_t *m = dlsym(rt->dl, LLMC_MODEL_SYMBOL);
  if (!m)
    return LLMC_ERROR(LLMC_DATA_LOSS, path, "not an llmc artifact: no symbol %s",
                      LLMC_MODEL_SYMBOL);
  if (m->magic != LLMC_ABI_MAGIC)
    return LLMC_ERROR(LLMC_DATA_LOSS, path, "not an llmc artifact (magic 0x%08x, expected 0x%08x)",
                      m->magic, LLMC_ABI_MAGIC);
  if (m->abi_version != LLMC_ABI_VERSION)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, path,
                      "artifact ABI version %u; this runtime reads version %u: recompile it",
                      m->abi_version, LLMC_ABI_VERSION);
  llmc_rt_plan_index_t ix;
  LLMC_RETURN_IF_ERROR(llmc_rt_plan_validate(path, m, &ix));
  /* The runtime object owns the index's arrays from here. */
  rt->n_launches = ix.n_launches;
  rt->launch_pos = ix.launch_pos;
  rt->arg_base = ix.arg_base;
  rt->total_args = ix.total_args;
  /* The host kernel table is NULL in an artifact compiled only for GPU
   * targets; the host backend then refuses it (backends/host.c). */
  if (m->kernels)
    for (int64_t k = 0; k < m->n_kernels; k++)
      if (!m->kernels[k])
        return LLMC_ERROR(LLMC_DATA_LOSS, path, "kernel %lld is null", (long long)k);
  LLMC_RETURN_IF_ERROR(llmc_rt_images_validate(path, m));
  if (!m->kernels && m->n_images == 0 && m->n_kernels > 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, path,
                      "the artifact has neither host kernels nor GPU images for its %lld kernels",
                      (long long)m->n_kernels);
  rt->model = m;
  memcpy(rt->hdr, m->plan, sizeof rt->hdr);
  return NULL;
}

/* weights.safetensors: u64 header length n, n bytes of JSON, then data;
 * checked against model.so by llmc_rt_weights_check. The mapping is of
 * the file as it was opened: one truncated after the check would fault on
 * a missing page, which no check can prevent (llmc replaces its outputs by
 * rename, never in place). */
static llmc_status_t *load_weights(llmc_rt_t *rt, const char *path) {
  LLMC_RETURN_IF_ERROR(llmc_file_map_open(path, &rt->weights_map));
  const uint8_t *d = rt->weights_map.data;
  uint64_t off = 0;
  LLMC_RETURN_IF_ERROR(llmc_rt_weights_check(path, rt->model, d, rt->weights_map.size, &off));
  const uint64_t need = (uint64_t)rt->hdr[LLMC_PLAN_WEIGHT_FLOATS];
  rt->weights_bytes = (size_t)need * sizeof(float);
  if (rt->be->host_visible) {
    rt->weights_dev = (void *)(d + off);
    llmc_file_map_prefault(&rt->weights_map);
    return NULL;
  }
  LLMC_RETURN_IF_ERROR(rt->be->alloc(rt->be_state, rt->weights_bytes, &rt->weights_dev));
  rt->weights_owned = true;
  return rt->be->upload(rt->be_state, rt->weights_dev, d + off, rt->weights_bytes);
}

/* Benchmark weights without a weights file: every 32-bit word is 0x3Cxx3Cxx
 * (sign bits varied), which reads as a small finite number whether a kernel
 * takes it as one f32 (~0.01) or as two f16 (~1) or bf16 (~0.01) values, so
 * any model runs without overflow. Throughput does not depend on the values;
 * the logits are meaningless. */
static llmc_status_t *synthetic_weights(llmc_rt_t *rt) {
  const uint64_t need = (uint64_t)rt->hdr[LLMC_PLAN_WEIGHT_FLOATS];
  rt->weights_bytes = (size_t)need * sizeof(float);
  uint32_t *host = malloc(rt->weights_bytes ? rt->weights_bytes : 4);
  if (!host) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory for synthetic weights");
  uint64_t rng = 0x5eed;
  for (uint64_t i = 0; i < need; i++) {
    uint64_t r = llmc_rng_next(&rng);
    host[i] = 0x3C003C00u | (uint32_t)(r & 0x00FF00FFu) | (uint32_t)(r & 0x80008000u);
  }
  llmc_status_t *s = rt->be->alloc(rt->be_state, rt->weights_bytes ? rt->weights_bytes : 4, &rt->weights_dev);
  if (!s) {
    rt->weights_owned = true;
    s = rt->be->upload(rt->be_state, rt->weights_dev, host, rt->weights_bytes);
    if (!s) s = rt->be->synchronize(rt->be_state); /* host is freed below */
  }
  free(host);
  return s;
}

/* ---- backends ---- */

/* GPU backends in the order "auto" tries them. */
static const llmc_rt_backend_vtable_t *const gpu_backends[] = {
    &llmc_rt_backend_cuda, &llmc_rt_backend_hip, &llmc_rt_backend_level_zero};
enum { N_GPU_BACKENDS = sizeof gpu_backends / sizeof gpu_backends[0] };

static bool is_auto(const char *name) { return !name || !*name || !strcmp(name, "auto"); }

static llmc_status_t *find_backend(const char *name, const llmc_rt_backend_vtable_t **out) {
  *out = NULL;
  if (!strcmp(name, "host")) {
    *out = &llmc_rt_backend_host;
    return NULL;
  }
  for (size_t i = 0; i < N_GPU_BACKENDS; i++)
    if (!strcmp(name, gpu_backends[i]->name)) {
      *out = gpu_backends[i];
      return NULL;
    }
  return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                    "unknown backend '%s' (known: auto, host, cuda, hip, level-zero)", name);
}

/* Creates the backend opts asks for. "auto" tries each GPU backend for
 * which the artifact has an image of its formats (so a host-only artifact
 * never loads a GPU driver), then the host; when none can run the artifact,
 * the error gives every backend's reason. */
static llmc_status_t *select_backend(llmc_rt_t *rt, const llmc_rt_options_t *opts) {
  const char *name = opts ? opts->backend : NULL;
  const llmc_model_v1_t *m = rt->model;
  if (!is_auto(name)) {
    const llmc_rt_backend_vtable_t *be;
    LLMC_RETURN_IF_ERROR(find_backend(name, &be));
    LLMC_RETURN_IF_ERROR(be->create(opts, m, &rt->be_state));
    rt->be = be;
    return NULL;
  }
  uint32_t formats = 0;
  for (int64_t i = 0; i < m->n_images; i++) formats |= 1u << m->images[i].format;
  char why[1536];
  size_t used = 0;
  why[0] = 0;
  for (size_t i = 0; i < N_GPU_BACKENDS; i++) {
    const llmc_rt_backend_vtable_t *be = gpu_backends[i];
    if (!(formats & be->image_formats)) continue;
    llmc_status_t *s = be->create(opts, m, &rt->be_state);
    if (!s) {
      rt->be = be;
      return NULL;
    }
    if (used < sizeof why) {
      int w = snprintf(why + used, sizeof why - used, "; %s", llmc_status_message(s));
      if (w > 0) used += (size_t)w;
    }
    llmc_status_free(s);
  }
  llmc_status_t *s = llmc_rt_backend_host.create(opts, m, &rt->be_state);
  if (!s) {
    rt->be = &llmc_rt_backend_host;
    return NULL;
  }
  if (!why[0]) return s;
  llmc_status_t *all = LLMC_ERROR(llmc_status_code(s), NULL,
                                  "no backend can run the artifact: %s%s", llmc_status_message(s),
                                  why);
  llmc_status_free(s);
  return all;
}

static llmc_memref1d_t memref(void *p, int64_t n) {
  return (llmc_memref1d_t){.allocated = p, .aligned = p, .offset = 0, .size = n, .stride = 1};
}

/* KV copy-on-write: the pool asks for one block's contents to be copied. */
static void copy_kv_block(void *ctx, int32_t dst, int32_t src) {
  llmc_rt_t *rt = ctx;
  const size_t bytes = (size_t)rt->hdr[LLMC_PLAN_BLOCK_FLOATS] * sizeof(float);
  char *base = rt->kv;
  llmc_status_t *s = rt->be->copy(rt->be_state, base + (size_t)dst * bytes,
                                  base + (size_t)src * bytes, bytes);
  llmc_status_free(s); /* host copies cannot fail; device errors resurface at synchronize */
}

/* ---- device bandwidth ---- */

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static llmc_status_t *profile_setup(llmc_rt_t *rt) {
  if (!rt->be->host_visible && !(rt->be->mark && rt->be->mark_elapsed))
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "backend '%s' cannot time kernels (profile)",
                      rt->be->name);
  const int64_t n = rt->model->n_kernels;
  rt->prof = calloc((size_t)(n ? n : 1), sizeof *rt->prof);
  rt->prof_launched = calloc((size_t)rt->n_launches + 2, sizeof *rt->prof_launched);
  if (!rt->prof || !rt->prof_launched)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int64_t k = 0; k < n; k++)
    rt->prof[k].kernel = rt->model->kernel_names ? rt->model->kernel_names[k] : "?";
  rt->profile = true;
  return NULL;
}

int64_t llmc_rt_profile_get(const llmc_rt_t *rt, const llmc_rt_kernel_time_t **out) {
  *out = rt && rt->profile ? rt->prof : NULL;
  return *out ? rt->model->n_kernels : 0;
}

void llmc_rt_profile_reset(llmc_rt_t *rt) {
  for (int64_t k = 0; rt && rt->profile && k < rt->model->n_kernels; k++) {
    rt->prof[k].calls = 0;
    rt->prof[k].ms = 0;
  }
}

/* The artifact's argmax kernel (codegen names it llmc_kN_argmax) and its
 * buffers, on device backends; the host backend samples in place. */
static llmc_status_t *argmax_setup(llmc_rt_t *rt) {
  rt->argmax_kernel = -1;
  const llmc_rt_backend_vtable_t *be = rt->be;
  if (be->host_visible || !rt->model->kernel_names) return NULL;
  for (int64_t k = 0; k < rt->model->n_kernels; k++) {
    const char *name = rt->model->kernel_names[k];
    size_t n = name ? strlen(name) : 0;
    if (n > 7 && strcmp(name + n - 7, "_argmax") == 0) rt->argmax_kernel = k;
  }
  if (rt->argmax_kernel < 0) return NULL;
  const size_t ints = (size_t)(2 * rt->hdr[LLMC_PLAN_MAX_SEQS]) * sizeof(int32_t);
  void *p;
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, ints, &rt->argmax_dev));
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, 4 * sizeof(int64_t), &rt->argmax_args_dev));
  LLMC_RETURN_IF_ERROR(be->alloc_host(rt->be_state, ints, &p));
  rt->argmax_host = p;
  LLMC_RETURN_IF_ERROR(be->alloc_host(rt->be_state, 4 * sizeof(int64_t), &p));
  rt->argmax_args_host = p;
  return NULL;
}

static llmc_status_t *alloc_buffers(llmc_rt_t *rt, const llmc_rt_options_t *opts) {
  const int64_t *h = rt->hdr;
  const llmc_rt_backend_vtable_t *be = rt->be;
  /* By default every sequence can hold its whole context at once; with a
   * sliding window on every layer, a window's blocks and a step's. */
  int64_t per_seq = h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ];
  const int64_t w = h[LLMC_PLAN_KV_WINDOW], bs = h[LLMC_PLAN_BLOCK_SIZE];
  if (w > 0 && w < h[LLMC_PLAN_MAX_CONTEXT]) {
    int64_t span = (w + h[LLMC_PLAN_MAX_STEP_TOKENS] - 1 + bs - 2) / bs + 1;
    if (span < per_seq) per_seq = span;
  }
  int64_t kv_blocks = opts && opts->kv_blocks ? opts->kv_blocks : h[LLMC_PLAN_MAX_SEQS] * per_seq;
  if (kv_blocks < 1 || kv_blocks > (1 << 30))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "KV cache of %lld blocks: expected 1 to 2^30",
                      (long long)kv_blocks);
  uint64_t kv_bytes;
  if (!llmc_checked_mul((uint64_t)kv_blocks, (uint64_t)h[LLMC_PLAN_BLOCK_FLOATS] * 4, &kv_bytes) ||
      kv_bytes > SIZE_MAX / 2)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "KV cache of %lld blocks is too large",
                      (long long)kv_blocks);
  rt->kv_blocks = kv_blocks;
  rt->act_bytes = (size_t)h[LLMC_PLAN_ACT_FLOATS] * sizeof(float);
  rt->kv_bytes = (size_t)kv_bytes;
  rt->meta_bytes = (size_t)h[LLMC_PLAN_META_INTS] * sizeof(int32_t);
  rt->args_bytes = (size_t)(rt->total_args ? rt->total_args : 1) * sizeof(int64_t);
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, rt->act_bytes, &rt->act));
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, rt->kv_bytes, &rt->kv));
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, rt->meta_bytes, &rt->meta_dev));
  LLMC_RETURN_IF_ERROR(be->alloc(rt->be_state, rt->args_bytes, &rt->args_dev));
  if (be->host_visible) {
    rt->meta = rt->meta_dev;
    rt->args = rt->args_dev;
  } else {
    /* Staging in the backend's pinned host memory, so the per-step uploads
     * and the logits download are truly asynchronous. */
    void *p;
    rt->logits_host_bytes = (size_t)(h[LLMC_PLAN_MAX_STEP_TOKENS] * h[LLMC_PLAN_VOCAB]) * 4;
    LLMC_RETURN_IF_ERROR(be->alloc_host(rt->be_state, rt->meta_bytes, &p));
    memset(p, 0, rt->meta_bytes);
    rt->meta = p;
    LLMC_RETURN_IF_ERROR(be->alloc_host(rt->be_state, rt->args_bytes, &p));
    memset(p, 0, rt->args_bytes);
    rt->args = p;
    LLMC_RETURN_IF_ERROR(be->alloc_host(rt->be_state, rt->logits_host_bytes, &p));
    rt->logits_host = p;
  }
  rt->bufs.act = memref(rt->act, h[LLMC_PLAN_ACT_FLOATS]);
  rt->bufs.weights = memref(rt->weights_dev, h[LLMC_PLAN_WEIGHT_FLOATS]);
  rt->bufs.kv = memref(rt->kv, kv_blocks * h[LLMC_PLAN_BLOCK_FLOATS]);
  rt->bufs.meta = memref(rt->meta_dev, h[LLMC_PLAN_META_INTS]);
  rt->bufs.args = memref(rt->args_dev, 0);
  LLMC_RETURN_IF_ERROR(llmc_kv_pool_create((int32_t)kv_blocks, (int32_t)h[LLMC_PLAN_BLOCK_SIZE],
                                           (int32_t)h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ], copy_kv_block,
                                           rt, &rt->kv_pool));
  const int64_t max_seqs = h[LLMC_PLAN_MAX_SEQS];
  rt->batch = calloc((size_t)max_seqs, sizeof *rt->batch);
  rt->events = calloc((size_t)max_seqs, sizeof *rt->events);
  rt->rows = calloc((size_t)max_seqs, sizeof *rt->rows);
  rt->row_greedy = calloc((size_t)max_seqs, sizeof *rt->row_greedy);
  rt->row_ids = calloc((size_t)max_seqs, sizeof *rt->row_ids);
  if (!rt->batch || !rt->events || !rt->rows || !rt->row_greedy || !rt->row_ids)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  LLMC_RETURN_IF_ERROR(argmax_setup(rt));
  if (opts && opts->profile) LLMC_RETURN_IF_ERROR(profile_setup(rt));
  LLMC_RETURN_IF_ERROR(llmc_sampler_create(h[LLMC_PLAN_VOCAB], &rt->sampler));
  rt->stats.kv_blocks_total = kv_blocks;
  return NULL;
}

/* ---- open / close ---- */

llmc_status_t *llmc_rt_open(const char *dir, const llmc_rt_options_t *opts, llmc_rt_t **out_rt) {
  *out_rt = NULL;
  if (!dir) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no artifact directory given");
  if (opts && opts->n_threads < 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "thread count %d is negative", opts->n_threads);
  if (opts && !is_auto(opts->backend)) {
    const llmc_rt_backend_vtable_t *be; /* an unknown name fails before any file is read */
    LLMC_RETURN_IF_ERROR(find_backend(opts->backend, &be));
  }
  llmc_rt_t *rt = calloc(1, sizeof *rt);
  if (!rt) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  rt->so_fd = -1;
  llmc_status_t *s = NULL;
  size_t len = strlen(dir);
  char *path = malloc(len + 32);
  if (!path) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto fail;
  }
  const char *sep = (len && dir[len - 1] == '/') ? "" : "/";
  snprintf(path, len + 32, "%s%smodel.so", dir, sep);
  if ((s = load_model(rt, path))) goto fail;
  if ((s = select_backend(rt, opts))) goto fail;
  snprintf(path, len + 32, "%s%sweights.safetensors", dir, sep);
  if ((s = opts && opts->synthetic_weights ? synthetic_weights(rt) : load_weights(rt, path))) goto fail;
  if ((s = alloc_buffers(rt, opts))) goto fail;
  /* A device backend has the weights upload and the buffers' zeroing in
   * flight: wait here, so a device fault surfaces at open. */
  if ((s = rt->be->synchronize(rt->be_state))) goto fail;
  free(path);
  *out_rt = rt;
  return NULL;
fail:
  free(path);
  llmc_rt_close(rt);
  return s;
}

void llmc_rt_close(llmc_rt_t *rt) {
  if (!rt) return;
  llmc_rt_seqs_destroy(rt);
  llmc_kv_pool_destroy(rt->kv_pool);
  llmc_sampler_destroy(rt->sampler);
  if (rt->be && rt->be_state) {
    /* Nothing may still read what is freed below; a failure was reported
     * (or is moot) by now. */
    llmc_status_free(rt->be->synchronize(rt->be_state));
    rt->be->free(rt->be_state, rt->act, rt->act_bytes);
    rt->be->free(rt->be_state, rt->kv, rt->kv_bytes);
    rt->be->free(rt->be_state, rt->meta_dev, rt->meta_bytes);
    rt->be->free(rt->be_state, rt->args_dev, rt->args_bytes);
    if (rt->weights_owned) rt->be->free(rt->be_state, rt->weights_dev, rt->weights_bytes);
    if (!rt->be->host_visible) {
      rt->be->free_host(rt->be_state, rt->meta);
      rt->be->free_host(rt->be_state, rt->args);
      rt->be->free_host(rt->be_state, rt->logits_host);
      const size_t ints = (size_t)(2 * rt->hdr[LLMC_PLAN_MAX_SEQS]) * sizeof(int32_t);
      if (rt->argmax_dev) rt->be->free(rt->be_state, rt->argmax_dev, ints);
      if (rt->argmax_args_dev) rt->be->free(rt->be_state, rt->argmax_args_dev, 4 * sizeof(int64_t));
      if (rt->argmax_host) rt->be->free_host(rt->be_state, rt->argmax_host);
      if (rt->argmax_args_host) rt->be->free_host(rt->be_state, rt->argmax_args_host);
    }
    rt->be->destroy(rt->be_state);
  }
  llmc_file_map_close(&rt->weights_map);
  if (rt->dl) dlclose(rt->dl);
  if (rt->so_fd >= 0) close(rt->so_fd);
  free(rt->launch_pos);
  free(rt->arg_base);
  free(rt->batch);
  free(rt->events);
  free(rt->rows);
  free(rt->row_greedy);
  free(rt->prof);
  free(rt->prof_launched);
  free(rt->row_ids);
  free(rt);
}

const char *llmc_rt_backend_name(const llmc_rt_t *rt) { return rt && rt->be ? rt->be->name : ""; }

const char *llmc_rt_device_describe(const llmc_rt_t *rt) {
  return rt && rt->be ? rt->be->describe(rt->be_state) : "";
}

llmc_status_t *llmc_rt_probe_device(const char *backend, llmc_rt_device_info_t *out) {
  memset(out, 0, sizeof *out);
  if (is_auto(backend)) {
    for (size_t i = 0; i < N_GPU_BACKENDS; i++) {
      llmc_status_t *s = gpu_backends[i]->probe(out);
      if (!s) return NULL;
      llmc_status_free(s);
    }
    return llmc_rt_backend_host.probe(out);
  }
  const llmc_rt_backend_vtable_t *be;
  LLMC_RETURN_IF_ERROR(find_backend(backend, &be));
  return be->probe(out);
}

int64_t llmc_rt_plan_value(const llmc_rt_t *rt, int field) {
  if (!rt || field < 0 || field >= LLMC_PLAN_HEADER_LEN) return -1;
  return rt->hdr[field];
}

/* ---- execution ---- */

void llmc_rt_meta_set_row(llmc_rt_t *rt, int slot, const llmc_kv_table_t *t) {
  const int64_t width = rt->hdr[LLMC_PLAN_MAX_BLOCKS_PER_SEQ];
  int32_t *row = rt->meta + rt->hdr[LLMC_PLAN_META_BLOCK_TABLES] + slot * width;
  /* Dropped entries (behind every layer's window) and unused ones name
   * block 0: no kernel reads them, and a wrong one would still stay inside
   * the pool. */
  memset(row, 0, (size_t)t->n_dropped * sizeof *row);
  memcpy(row + t->n_dropped, t->blocks + t->n_dropped,
         (size_t)(t->n_blocks - t->n_dropped) * sizeof *row);
  memset(row + t->n_blocks, 0, (size_t)(width - t->n_blocks) * sizeof *row);
}

/* Queues every launch of the plan for a step of T tokens (args already
 * uploaded); with profiling, a timestamp around each (*out_timed of them). */
static llmc_status_t *launch_all(llmc_rt_t *rt, int64_t T, int64_t *out_timed) {
  const llmc_rt_backend_vtable_t *be = rt->be;
  const int64_t *plan = rt->model->plan;
  llmc_rt_buffers_t bufs = rt->bufs;
  int64_t timed = 0;
  double t_prev = rt->profile ? seconds_now() : 0;
  for (int64_t l = 0; l < rt->n_launches; l++) {
    const int64_t *L = plan + rt->launch_pos[l];
    const int64_t extent = L[1] + L[2] * T;
    /* Outside its token range another variant of the call runs instead. */
    if (extent == 0 || T < L[3] || T > L[4] || (be->skipped && be->skipped(rt->be_state, L[0]))) continue;
    int64_t *a = (int64_t *)rt->args_dev + rt->arg_base[l];
    bufs.args = memref(a, L[5]);
    if (rt->profile && be->mark) LLMC_RETURN_IF_ERROR(be->mark(rt->be_state, timed));
    LLMC_RETURN_IF_ERROR(be->launch(rt->be_state, L[0], extent, T, &bufs));
    if (rt->profile) {
      rt->prof_launched[timed++] = L[0];
      if (!be->mark) { /* the host: the launch has run */
        double t = seconds_now();
        rt->prof[L[0]].ms += 1e3 * (t - t_prev);
        rt->prof[L[0]].calls++;
        t_prev = t;
      }
    }
  }
  if (rt->profile && be->mark) LLMC_RETURN_IF_ERROR(be->mark(rt->be_state, timed));
  *out_timed = timed;
  return NULL;
}

/* Queues the argmax of the greedy rows among `rows` (see run_plan);
 * returns how many there are. */
static llmc_status_t *queue_argmax(llmc_rt_t *rt, const int64_t *rows, int64_t n_rows,
                                   const bool *greedy, int64_t *out_n) {
  *out_n = 0;
  if (!rows || !greedy || rt->argmax_kernel < 0) return NULL;
  const llmc_rt_backend_vtable_t *be = rt->be;
  const int64_t max_seqs = rt->hdr[LLMC_PLAN_MAX_SEQS];
  if (n_rows > max_seqs)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "%lld sampled rows; a step has at most %lld",
                      (long long)n_rows, (long long)max_seqs);
  int64_t n = 0;
  for (int64_t i = 0; i < n_rows; i++)
    if (greedy[i]) rt->argmax_host[n++] = (int32_t)rows[i];
  if (n == 0) return NULL;
  int64_t *a = rt->argmax_args_host;
  a[0] = rt->hdr[LLMC_PLAN_LOGITS_OFFSET];
  a[1] = 0;        /* rows */
  a[2] = max_seqs; /* ids */
  a[3] = n;
  LLMC_RETURN_IF_ERROR(be->upload(rt->be_state, rt->argmax_dev, rt->argmax_host, (size_t)n * 4));
  LLMC_RETURN_IF_ERROR(be->upload(rt->be_state, rt->argmax_args_dev, a, 4 * sizeof *a));
  llmc_rt_buffers_t bufs = rt->bufs;
  bufs.meta = memref(rt->argmax_dev, 2 * max_seqs);
  bufs.args = memref(rt->argmax_args_dev, 4);
  LLMC_RETURN_IF_ERROR(be->launch(rt->be_state, rt->argmax_kernel, n, 1, &bufs));
  LLMC_RETURN_IF_ERROR(be->download(rt->be_state, rt->argmax_host + max_seqs,
                                    (int32_t *)rt->argmax_dev + max_seqs, (size_t)n * 4));
  *out_n = n;
  return NULL;
}

llmc_status_t *llmc_rt_run_plan(llmc_rt_t *rt, int64_t T, const int64_t *rows, int64_t n_rows,
                                const bool *greedy, int32_t *out_ids, const float **out_logits) {
  const int64_t *plan = rt->model->plan;
  const llmc_rt_backend_vtable_t *be = rt->be;
  /* The logits rows read after the step (llmc_abi.h): the rows asked for,
   * or every row (llmc_rt_forward). */
  int32_t *lr = rt->meta + rt->hdr[LLMC_PLAN_META_LOGIT_ROWS];
  lr[0] = (int32_t)(rows ? n_rows : T);
  for (int64_t i = 0; i < lr[0]; i++) lr[1 + i] = (int32_t)(rows ? rows[i] : i);
  for (int64_t l = 0; l < rt->n_launches; l++) {
    const int64_t *L = plan + rt->launch_pos[l];
    int64_t *a = rt->args + rt->arg_base[l];
    for (int64_t j = 0; j < L[5]; j++) a[j] = L[6 + 2 * j] + L[7 + 2 * j] * T;
  }
  if (!be->host_visible) {
    LLMC_RETURN_IF_ERROR(be->upload(rt->be_state, rt->meta_dev, rt->meta, rt->meta_bytes));
    LLMC_RETURN_IF_ERROR(be->upload(rt->be_state, rt->args_dev, rt->args,
                                    (size_t)rt->total_args * sizeof(int64_t)));
  }
  /* Decode-sized steps (T up to MAX_SEQS) on a backend that can replay a
   * recorded step (CUDA graphs) launch the same kernels with the same
   * parameters for the same T: recorded once, replayed after. Not while
   * profiling, which times launches one by one. */
  int64_t timed = 0;
  bool replay = false, bracket = be->step_begin && !rt->profile && !rt->replay_off &&
                                T <= rt->hdr[LLMC_PLAN_MAX_SEQS];
  if (bracket) LLMC_RETURN_IF_ERROR(be->step_begin(rt->be_state, (uint64_t)T, &replay));
  if (!replay) LLMC_RETURN_IF_ERROR(launch_all(rt, T, &timed));
  if (bracket) {
    bool ran = false;
    llmc_status_t *s = be->step_end(rt->be_state, &ran);
    if (s || !ran) {
      /* Recording failed: the launches were captured, not run. Run them
       * now, and launch directly from here on. */
      llmc_status_free(s);
      rt->replay_off = true;
      LLMC_RETURN_IF_ERROR(launch_all(rt, T, &timed));
    }
  }
  const int64_t V = rt->hdr[LLMC_PLAN_VOCAB];
  const float *logits = (const float *)rt->act + rt->hdr[LLMC_PLAN_LOGITS_OFFSET];
  int64_t n_greedy = 0;
  if (!be->host_visible) {
    /* Greedy rows send back their id; the other rows asked for cross
     * back, each run of consecutive rows in one copy, into the same rows
     * of logits_host; one wait for all. */
    LLMC_RETURN_IF_ERROR(queue_argmax(rt, rows, n_rows, greedy, &n_greedy));
    const size_t row_bytes = (size_t)V * sizeof(float);
    for (int64_t i = 0; i < (rows ? n_rows : 1);) {
      if (n_greedy && greedy[i]) {
        i++;
        continue;
      }
      int64_t first = rows ? rows[i] : 0, n = rows ? 1 : T;
      while (rows && i + n < n_rows && rows[i + n] == first + n && !(n_greedy && greedy[i + n])) n++;
      LLMC_RETURN_IF_ERROR(be->download(rt->be_state, rt->logits_host + first * V,
                                        logits + first * V, (size_t)n * row_bytes));
      i += rows ? n : 1;
    }
    logits = rt->logits_host;
  }
  LLMC_RETURN_IF_ERROR(be->synchronize(rt->be_state));
  for (int64_t i = 0; rt->profile && be->mark && i < timed; i++) {
    float ms = 0;
    LLMC_RETURN_IF_ERROR(be->mark_elapsed(rt->be_state, i, i + 1, &ms));
    rt->prof[rt->prof_launched[i]].ms += ms;
    rt->prof[rt->prof_launched[i]].calls++;
  }
  for (int64_t i = 0, j = 0; out_ids && i < n_rows; i++)
    out_ids[i] = n_greedy && greedy[i] ? rt->argmax_host[rt->hdr[LLMC_PLAN_MAX_SEQS] + j++] : -1;
  rt->stats.iterations++;
  rt->stats.tokens_computed += T;
  *out_logits = logits;
  return NULL;
}

llmc_status_t *llmc_rt_forward(llmc_rt_t *rt, int seq, const int32_t *tokens,
                               const int32_t *positions, int64_t n, const float **out_logits) {
  *out_logits = NULL;
  if (!rt || !tokens || !positions)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "forward needs tokens and positions");
  llmc_rt_seq_t *s = llmc_rt_seq_get(rt, seq);
  if (!s) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no sequence %d", seq);
  if (s->state == LLMC_SEQ_WAITING && s->n_computed == 0 && s->n_tokens == s->n_prompt &&
      s->table.n_blocks == 0)
    s->state = LLMC_SEQ_MANUAL; /* added but never scheduled: the caller drives it now */
  if (s->state != LLMC_SEQ_MANUAL)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                      "sequence %d is being run by llmc_rt_step; forward needs a sequence from "
                      "llmc_rt_seq_create_empty",
                      seq);
  const int64_t *h = rt->hdr;
  if (n < 1 || n > h[LLMC_PLAN_MAX_STEP_TOKENS])
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "forward of %lld tokens: the plan takes 1 to %lld",
                      (long long)n, (long long)h[LLMC_PLAN_MAX_STEP_TOKENS]);
  int64_t max_pos = 0;
  for (int64_t i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= h[LLMC_PLAN_VOCAB])
      return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                        "token %d at index %lld is outside the vocabulary of %lld", tokens[i],
                        (long long)i, (long long)h[LLMC_PLAN_VOCAB]);
    if (positions[i] < 0 || positions[i] >= h[LLMC_PLAN_MAX_CONTEXT])
      return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                        "position %d at index %lld is outside the context of %lld", positions[i],
                        (long long)i, (long long)h[LLMC_PLAN_MAX_CONTEXT]);
    if (positions[i] > max_pos) max_pos = positions[i];
  }
  LLMC_RETURN_IF_ERROR(llmc_kv_table_reserve(rt->kv_pool, &s->table, max_pos + 1));
  for (int64_t i = 0; i < n; i++)
    LLMC_RETURN_IF_ERROR(
        llmc_kv_table_prepare_write(rt->kv_pool, &s->table, positions[i], positions[i] + 1));
  int32_t *m = rt->meta;
  for (int64_t i = 0; i < n; i++) {
    m[h[LLMC_PLAN_META_TOKENS] + i] = tokens[i];
    m[h[LLMC_PLAN_META_POSITIONS] + i] = positions[i];
    m[h[LLMC_PLAN_META_SEQ] + i] = 0;
  }
  llmc_rt_meta_set_row(rt, 0, &s->table);
  return llmc_rt_run_plan(rt, n, NULL, 0, NULL, NULL, out_logits);
}

void llmc_rt_stats_get(const llmc_rt_t *rt, llmc_rt_stats_t *out) {
  *out = rt->stats;
  out->kv_blocks_available = llmc_kv_pool_n_available(rt->kv_pool);
}

llmc_status_t *llmc_rt_check_invariants(const llmc_rt_t *rt) {
  const llmc_kv_table_t **tables = calloc((size_t)rt->n_seq_slots + 1, sizeof *tables);
  if (!tables) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int n = 0;
  for (int i = 0; i < rt->n_seq_slots; i++)
    if (rt->seqs[i] && rt->seqs[i]->state != LLMC_SEQ_UNUSED) tables[n++] = &rt->seqs[i]->table;
  llmc_status_t *s = llmc_kv_check_invariants(rt->kv_pool, tables, n);
  free(tables);
  return s;
}

llmc_status_t *llmc_rt_measure_copy_bandwidth(llmc_rt_t *rt, uint64_t bytes, int repeats,
                                              double *out_gb_per_s) {
  *out_gb_per_s = 0;
  if (!rt || bytes == 0 || bytes > SIZE_MAX / 2 || repeats < 1)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "bad bandwidth measurement arguments");
  const llmc_rt_backend_vtable_t *be = rt->be;
  void *a = NULL, *b = NULL;
  llmc_status_t *s = be->alloc(rt->be_state, (size_t)bytes, &a);
  if (!s) s = be->alloc(rt->be_state, (size_t)bytes, &b);
  /* The first copy (after the zeroing alloc queued) is a warm-up. */
  if (!s) s = be->copy(rt->be_state, b, a, (size_t)bytes);
  if (!s) s = be->synchronize(rt->be_state);
  double best = 0;
  for (int r = 0; r < repeats && !s; r++) {
    double t0 = seconds_now();
    s = be->copy(rt->be_state, r % 2 ? a : b, r % 2 ? b : a, (size_t)bytes);
    if (!s) s = be->synchronize(rt->be_state);
    double dt = seconds_now() - t0;
    /* A copy reads and writes every byte. */
    if (!s && dt > 0 && 2.0 * (double)bytes / dt / 1e9 > best) best = 2.0 * (double)bytes / dt / 1e9;
  }
  if (a) be->free(rt->be_state, a, (size_t)bytes);
  if (b) be->free(rt->be_state, b, (size_t)bytes);
  if (!s) *out_gb_per_s = best;
  return s;
}
