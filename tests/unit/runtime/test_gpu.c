/* Tests of the GPU side of libllmc_rt that need no GPU: image choice and
 * launch shapes as pure functions; backend selection on a machine without
 * drivers (each GPU backend named explicitly is one LLMC_UNAVAILABLE
 * sentence, "auto" falls back to the host, a GPU-only artifact is refused
 * by the host with its targets named); and, when CMake runs this binary
 * with LLMC_TEST_FAKE_CUDA=1 and the fake driver (fake_cuda.c) first on
 * LD_LIBRARY_PATH, backends/cuda.c end to end against the host backend. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_gpu.h"
#include "fake_model_math.h"
#include "fake_artifact.h"
#include "llmc_rt.h"
#include "rt_gpu.h"
#include "../expect_status.h"

/* ---- image choice ---- */

#define IM(t, f) {t, f, 0, (const uint8_t *)"x", 1, NULL}

static void test_pick_nvidia(void **state) {
  (void)state;
  const llmc_image_v1_t a[] = {IM("sm_80", LLMC_IMAGE_PTX), IM("sm_90", LLMC_IMAGE_CUBIN),
                               IM("gfx942", LLMC_IMAGE_HSACO)};
  /* Exact cubin. */
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "sm_90"), 1);
  /* A newer device: the driver JITs the PTX. */
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "sm_100"), 0);
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "sm_120"), 0);
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "sm_86"), 0);
  /* An older device: nothing runs. */
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "sm_75"), -1);
  assert_int_equal(llmc_rt_pick_image(a, 3, LLMC_RT_VENDOR_NVIDIA, "gfx942"), -1);
  assert_int_equal(llmc_rt_pick_image(a, 0, LLMC_RT_VENDOR_NVIDIA, "sm_90"), -1);

  /* sm_90a cubin beats sm_90 on 9.0, and runs nowhere else. */
  const llmc_image_v1_t b[] = {IM("sm_90", LLMC_IMAGE_CUBIN), IM("sm_90a", LLMC_IMAGE_CUBIN),
                               IM("sm_86", LLMC_IMAGE_PTX)};
  assert_int_equal(llmc_rt_pick_image(b, 3, LLMC_RT_VENDOR_NVIDIA, "sm_90"), 1);
  assert_int_equal(llmc_rt_pick_image(b, 3, LLMC_RT_VENDOR_NVIDIA, "sm_100"), 2);
  assert_int_equal(llmc_rt_pick_image(b + 1, 1, LLMC_RT_VENDOR_NVIDIA, "sm_100"), -1);

  /* A cubin of the same major and a lower minor runs (binary
   * compatibility) and beats PTX; the highest such minor wins. */
  const llmc_image_v1_t c[] = {IM("sm_80", LLMC_IMAGE_CUBIN), IM("sm_86", LLMC_IMAGE_PTX),
                               IM("sm_86", LLMC_IMAGE_CUBIN), IM("sm_70", LLMC_IMAGE_CUBIN)};
  assert_int_equal(llmc_rt_pick_image(c, 4, LLMC_RT_VENDOR_NVIDIA, "sm_89"), 2);
  assert_int_equal(llmc_rt_pick_image(c, 4, LLMC_RT_VENDOR_NVIDIA, "sm_87"), 2);
  assert_int_equal(llmc_rt_pick_image(c, 1, LLMC_RT_VENDOR_NVIDIA, "sm_90"), -1);
  assert_int_equal(llmc_rt_pick_image(c, 2, LLMC_RT_VENDOR_NVIDIA, "sm_90"), 1);

  /* Arch-specific PTX only on exactly its chip; the highest PTX <= device. */
  const llmc_image_v1_t d[] = {IM("sm_90a", LLMC_IMAGE_PTX), IM("sm_70", LLMC_IMAGE_PTX),
                               IM("sm_80", LLMC_IMAGE_PTX), IM("bogus", LLMC_IMAGE_PTX)};
  assert_int_equal(llmc_rt_pick_image(d, 4, LLMC_RT_VENDOR_NVIDIA, "sm_90"), 0);
  assert_int_equal(llmc_rt_pick_image(d, 4, LLMC_RT_VENDOR_NVIDIA, "sm_100"), 2);
  assert_int_equal(llmc_rt_pick_image(d, 4, LLMC_RT_VENDOR_NVIDIA, "sm_75"), 1);
}

static void test_pick_amd(void **state) {
  (void)state;
  const llmc_image_v1_t a[] = {
      IM("gfx90a", LLMC_IMAGE_HSACO),         IM("gfx942", LLMC_IMAGE_HSACO),
      IM("gfx942:xnack+", LLMC_IMAGE_HSACO),  IM("gfx942:sramecc+:xnack-", LLMC_IMAGE_HSACO),
      IM("sm_90", LLMC_IMAGE_CUBIN),
  };
  /* Exact processor; the image pinning the device's features wins. */
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx942:sramecc+:xnack-"), 3);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx942:sramecc-:xnack+"), 2);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx942"), 1);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx90a:sramecc+:xnack-"), 0);
  /* Only the processor name counts when the image pins no feature. */
  assert_int_equal(llmc_rt_pick_image(a, 2, LLMC_RT_VENDOR_AMD, "gfx942:sramecc+:xnack-"), 1);
  /* A pinned feature the device sets otherwise, another chip, a prefix. */
  assert_int_equal(llmc_rt_pick_image(a + 2, 1, LLMC_RT_VENDOR_AMD, "gfx942:xnack-"), -1);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx1100"), -1);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "gfx94"), -1);
  assert_int_equal(llmc_rt_pick_image(a, 5, LLMC_RT_VENDOR_AMD, "sm_90"), -1);
}

static void test_pick_intel_and_describe(void **state) {
  (void)state;
  const llmc_image_v1_t a[] = {IM("sm_90", LLMC_IMAGE_CUBIN), IM("spirv", LLMC_IMAGE_SPIRV)};
  assert_int_equal(llmc_rt_pick_image(a, 2, LLMC_RT_VENDOR_INTEL, NULL), 1);
  assert_int_equal(llmc_rt_pick_image(a, 1, LLMC_RT_VENDOR_INTEL, NULL), -1);
  char buf[128];
  llmc_rt_images_describe(a, 2, buf, sizeof buf);
  assert_string_equal(buf, "sm_90 (cubin), spirv (spir-v)");
  llmc_rt_images_describe(NULL, 0, buf, sizeof buf);
  assert_string_equal(buf, "none (host kernels only)");
  llmc_rt_images_describe(a, 2, buf, 8); /* truncated, still terminated */
  assert_int_equal(strlen(buf), 7);
}

static void test_grid_and_params(void **state) {
  (void)state;
  uint32_t g, gy;
  llmc_rt_gpu_kernel_t k = {.items_per_block = 4, .grid_y_tokens = 1};
  assert_true(llmc_rt_gpu_grid_xy(&k, 9, 7, 100, 100, &g, &gy));
  assert_int_equal(g, 3);
  assert_int_equal(gy, 7);
  assert_false(llmc_rt_gpu_grid_xy(&k, 9, 101, 100, 100, &g, &gy)); /* T over grid.y */
  k.grid_y_tokens = 4; /* 4 tokens a block: ceil(7 / 4) */
  assert_true(llmc_rt_gpu_grid_xy(&k, 9, 7, 100, 100, &g, &gy));
  assert_int_equal(gy, 2);
  assert_true(llmc_rt_gpu_grid_xy(&k, 9, 400, 100, 100, &g, &gy)); /* 100 blocks of 4 */
  assert_int_equal(gy, 100);
  assert_false(llmc_rt_gpu_grid_xy(&k, 9, 401, 100, 100, &g, &gy));
  k.grid_y_tokens = 0;
  assert_true(llmc_rt_gpu_grid_xy(&k, 9, 101, 100, 100, &g, &gy));
  assert_int_equal(gy, 1);
  assert_true(llmc_rt_gpu_grid(10, 3, 100, &g));
  assert_int_equal(g, 4);
  assert_true(llmc_rt_gpu_grid(9, 3, 3, &g));
  assert_int_equal(g, 3);
  assert_false(llmc_rt_gpu_grid(10, 3, 3, &g)); /* over the device's limit */
  assert_false(llmc_rt_gpu_grid(0, 3, 100, &g));
  assert_false(llmc_rt_gpu_grid(INT64_C(1) << 40, 1, UINT64_MAX, &g)); /* over 2^32 - 1 */
  float f[4];
  int64_t i64[2];
  llmc_rt_buffers_t b = {
      .act = {f, f + 1, 2, 3, 1},
      .args = {i64, i64 + 1, 0, 1, 1},
  };
  uint64_t v[LLMC_RT_GPU_N_PARAMS];
  llmc_rt_gpu_params(&b, 77, v);
  assert_int_equal(v[0], (uint64_t)(uintptr_t)f);
  assert_int_equal(v[1], (uint64_t)(uintptr_t)(f + 1));
  assert_int_equal(v[2], 2);
  assert_int_equal(v[3], 3);
  assert_int_equal(v[4], 1);
  assert_int_equal(v[21], (uint64_t)(uintptr_t)(i64 + 1));
  assert_int_equal(v[25], 77);
}

static void test_validate_images(void **state) {
  (void)state;
  const llmc_gpu_kernel_v1_t ok[1] = {{"k", 64, 4, 0, 0}}, bad[1] = {{"k", -1, 4, 0, 0}};
  llmc_image_v1_t im = {"sm_90", LLMC_IMAGE_CUBIN, 1, (const uint8_t *)"x", 1, ok};
  llmc_model_v1_t m = {.n_kernels = 1, .n_images = 1, .images = &im};
  assert_null(llmc_rt_images_validate("t", &m));
  /* 0 threads: the kernel's work is fused into another launch on this target. */
  const llmc_gpu_kernel_v1_t fused[1] = {{"k", 0, 1, 0, 0}};
  llmc_image_v1_t im_fused = {"sm_90", LLMC_IMAGE_CUBIN, 1, (const uint8_t *)"x", 1, fused};
  m.images = &im_fused;
  assert_null(llmc_rt_images_validate("t", &m));
  const struct {
    llmc_image_v1_t im;
    const char *needle;
  } cases[] = {
      {{"sm_90", LLMC_IMAGE_CUBIN, 2, (const uint8_t *)"x", 1, ok}, "has 2 kernels"},
      {{"sm_90", LLMC_IMAGE_CUBIN, 1, (const uint8_t *)"x", 1, bad}, "-1 threads per block"},
      {{"sm_90", 9, 1, (const uint8_t *)"x", 1, ok}, "format 9"},
      {{"sm_90", LLMC_IMAGE_CUBIN, 1, NULL, 0, ok}, "empty"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    m.images = &cases[i].im;
    llmc_status_t *s = llmc_rt_images_validate("t", &m);
    assert_non_null(s);
    assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
    if (!strstr(llmc_status_message(s), cases[i].needle))
      fail_msg("'%s' not in '%s'", cases[i].needle, llmc_status_message(s));
    llmc_status_free(s);
  }
  m.images = NULL; /* n_images > 0 without a table */
  llmc_status_t *s = llmc_rt_images_validate("t", &m);
  assert_non_null(s);
  llmc_status_free(s);
}

/* ---- artifacts ---- */

static float g_weights[FAKE_WEIGHT_FLOATS];

static artifact_t g_good, g_gpu_only;

static int setup(void **state) {
  (void)state;
  uint64_t rng = 99;
  for (int i = 0; i < FAKE_WEIGHT_FLOATS; i++) g_weights[i] = llmc_rng_uniform(&rng) * 2 - 1;
  make_artifact(&g_good, FAKE_DIR, 0, g_weights, FAKE_WEIGHT_FLOATS, 0);
  make_artifact(&g_gpu_only, FAKE_DIR, 8, g_weights, FAKE_WEIGHT_FLOATS, 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  remove_artifact(&g_good);
  remove_artifact(&g_gpu_only);
  return 0;
}

static bool fake_cuda(void) { return getenv("LLMC_TEST_FAKE_CUDA") != NULL; }

/* Opens dir on backend; expects failure with code and each needle in the
 * message when code != LLMC_OK. */
static llmc_rt_t *open_on(const char *dir, const char *backend, llmc_code_t code,
                          const char *const *needles) {
  llmc_rt_options_t o = {.backend = backend, .n_threads = 2};
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = llmc_rt_open(dir, &o, &rt);
  if (code == LLMC_OK) {
    if (s) fail_msg("open on %s: %s", backend ? backend : "auto", llmc_status_message(s));
    return rt;
  }
  if (!s || llmc_status_code(s) != code)
    fail_msg("open on %s: expected code %d, got %s", backend ? backend : "auto", code,
             s ? llmc_status_message(s) : "success");
  assert_null(rt);
  char buf[2048];
  llmc_status_format(s, buf, sizeof buf);
  for (; needles && *needles; needles++)
    if (!strstr(buf, *needles)) fail_msg("'%s' not in '%s'", *needles, buf);
  llmc_status_free(s);
  return NULL;
}

/* Whether a real (or fake) driver library loads in this process. */
static bool loadable(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h) dlclose(h);
  return h != NULL;
}

/* ---- without drivers ---- */

static void test_explicit_backends_unavailable(void **state) {
  (void)state;
  const struct {
    const char *backend, *lib, *sentence;
  } cases[] = {
      {"cuda", "libcuda.so.1",
       "backend 'cuda': no NVIDIA driver found (libcuda.so.1 could not be loaded)"},
      {"hip", "libamdhip64.so",
       "backend 'hip': no AMD ROCm runtime found (libamdhip64.so could not be loaded)"},
      {"level-zero", "libze_loader.so.1",
       "backend 'level-zero': no Level Zero loader found (libze_loader.so.1 could not be loaded)"},
  };
  int ran = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (loadable(cases[i].lib)) continue; /* a driver is installed: nothing to check here */
    const char *needles[] = {cases[i].sentence, NULL};
    open_on(g_good.dir, cases[i].backend, LLMC_UNAVAILABLE, needles);
    open_on(g_gpu_only.dir, cases[i].backend, LLMC_UNAVAILABLE, needles);
    llmc_rt_device_info_t info;
    llmc_status_t *s = llmc_rt_probe_device(cases[i].backend, &info);
    assert_non_null(s);
    assert_int_equal(llmc_status_code(s), LLMC_UNAVAILABLE);
    assert_string_equal(llmc_status_message(s), cases[i].sentence);
    llmc_status_free(s);
    ran++;
  }
  if (!ran) skip();
}

static void test_auto_falls_back_to_host(void **state) {
  (void)state;
  if (fake_cuda() || loadable("libcuda.so.1") || loadable("libamdhip64.so")) skip();
  const char *modes[] = {NULL, "auto", ""};
  for (size_t i = 0; i < 3; i++) {
    llmc_rt_t *rt = open_on(g_good.dir, modes[i], LLMC_OK, NULL);
    assert_string_equal(llmc_rt_backend_name(rt), "host");
    assert_non_null(strstr(llmc_rt_device_describe(rt), "host"));
    llmc_rt_close(rt);
  }
  llmc_rt_device_info_t info;
  assert_null(llmc_rt_probe_device(NULL, &info));
  assert_string_equal(info.target, "host");
}

static void test_gpu_only_artifact_on_host(void **state) {
  (void)state;
  const char *host[] = {"backend 'host': the artifact has no host kernels",
                        "sm_80 (ptx), sm_90 (cubin), gfx942 (hsaco), spirv (spir-v)", NULL};
  open_on(g_gpu_only.dir, "host", LLMC_UNAVAILABLE, host);
  if (fake_cuda() || loadable("libcuda.so.1") || loadable("libamdhip64.so") ||
      loadable("libze_loader.so.1"))
    return;
  /* auto: every backend's reason. */
  const char *all[] = {"no backend can run the artifact", "no host kernels",
                       "backend 'cuda': no NVIDIA driver found",
                       "backend 'hip': no AMD ROCm runtime found",
                       "backend 'level-zero': no Level Zero loader found", NULL};
  open_on(g_gpu_only.dir, "auto", LLMC_UNAVAILABLE, all);
}

/* ---- on the fake CUDA driver ---- */

static void fail_next_loads(int n) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  assert_non_null(h);
  void (*fn)(int) = NULL;
  void *sym = dlsym(h, "fake_cuda_fail_next_loads");
  memcpy(&fn, &sym, sizeof fn);
  dlclose(h);
  assert_non_null(fn);
  fn(n);
}

static const fake_cuda_counters_t *counters(void) {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  assert_non_null(h);
  const fake_cuda_counters_t *(*fn)(void) = NULL;
  void *sym = dlsym(h, "fake_cuda_counters");
  memcpy(&fn, &sym, sizeof fn); /* POSIX: data and function pointers convert */
  dlclose(h); /* still loaded: the backend keeps the driver */
  assert_non_null(fn);
  return fn();
}

/* The same forward batches on host and on dir/backend give identical
 * logits (the fake GPU runs the same per-item code, block by block). */
static void compare_forward(const char *dir, const char *backend) {
  llmc_rt_t *h = open_on(g_good.dir, "host", LLMC_OK, NULL);
  llmc_rt_t *d = open_on(dir, backend, LLMC_OK, NULL);
  assert_string_equal(llmc_rt_backend_name(d), "cuda");
  int sh, sd;
  assert_null(llmc_rt_seq_create_empty(h, &sh));
  assert_null(llmc_rt_seq_create_empty(d, &sd));
  const int32_t toks[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  int32_t pos[10];
  for (int i = 0; i < 10; i++) pos[i] = i;
  const int chunks[] = {4, 1, 3, 2};
  const fake_cuda_counters_t *cnt = counters();
  for (int c = 0, at = 0; c < 4; at += chunks[c++]) {
    const float *lh, *ld;
    assert_null(llmc_rt_forward(h, sh, toks + at, pos + at, chunks[c], &lh));
    int64_t grid_y = cnt->grid_y_total;
    assert_null(llmc_rt_forward(d, sd, toks + at, pos + at, chunks[c], &ld));
    /* Three kernels of grid.y 1, and lm_head (grid_y_tokens) of grid.y T. */
    assert_int_equal(cnt->grid_y_total - grid_y, 3 + chunks[c]);
    assert_memory_equal(lh, ld, (size_t)chunks[c] * FAKE_V * sizeof(float));
  }
  llmc_rt_close(h);
  llmc_rt_close(d);
}

static void test_fake_cuda_forward(void **state) {
  (void)state;
  if (!fake_cuda()) skip();
  compare_forward(g_good.dir, "cuda");
  compare_forward(g_good.dir, "auto");    /* auto picks cuda */
  compare_forward(g_gpu_only.dir, "auto"); /* no host kernels needed */
  const fake_cuda_counters_t *c = counters();
  assert_int_equal(c->live_device_allocs, 0);
  assert_int_equal(c->live_host_allocs, 0);
  assert_int_equal(c->modules_loaded, 0);
  assert_int_equal(c->ctx_refs, 0);
}

/* Per iteration: one synchronize, and only what sampling needs comes back:
 * the id of a greedy sequence's row (the artifact's argmax kernel ran on the
 * device), the logits row of a sampled one. state: temperature of the second
 * sequence (the first is greedy). */
static void test_fake_cuda_steps(void **state) {
  const float temperature = *(const float *)*state;
  if (!fake_cuda()) skip();
  llmc_rt_t *h = open_on(g_good.dir, "host", LLMC_OK, NULL);
  llmc_rt_t *d = open_on(g_gpu_only.dir, "cuda", LLMC_OK, NULL);
  const int32_t p0[] = {1, 2, 3, 4, 5, 6}, p1[] = {7, 8};
  llmc_sampling_t sp = {.temperature = 0, .top_p = 1, .max_new_tokens = 5, .eos_token = -1, .seed = 3};
  llmc_sampling_t sp1 = sp;
  sp1.temperature = temperature;
  int s;
  assert_null(llmc_rt_seq_add(h, p0, 6, &sp, &s));
  assert_null(llmc_rt_seq_add(h, p1, 2, &sp1, &s));
  assert_null(llmc_rt_seq_add(d, p0, 6, &sp, &s));
  assert_null(llmc_rt_seq_add(d, p1, 2, &sp1, &s));
  const fake_cuda_counters_t *c = counters();
  const int64_t graph_launches = c->graph_launches, captured = c->graphs_captured;
  for (;;) {
    llmc_rt_events_t eh, ed;
    llmc_rt_stats_t st0, st1;
    llmc_rt_stats_get(d, &st0);
    int64_t syncs = c->syncs, dtoh = c->dtoh_bytes;
    assert_null(llmc_rt_step(h, &eh));
    assert_null(llmc_rt_step(d, &ed));
    llmc_rt_stats_get(d, &st1);
    assert_int_equal(eh.n, ed.n);
    for (int i = 0; i < eh.n; i++) {
      assert_int_equal(eh.events[i].seq, ed.events[i].seq);
      assert_int_equal(eh.events[i].token, ed.events[i].token);
    }
    if (eh.n == 0) break;
    assert_int_equal(c->syncs - syncs, st1.iterations - st0.iterations);
    /* Iterations that sampled nothing copied nothing back. */
    int64_t want = 0;
    for (int i = 0; i < ed.n; i++)
      want += ed.events[i].seq == 1 && temperature > 0 ? FAKE_V * (int64_t)sizeof(float)
                                                       : (int64_t)sizeof(int32_t);
    assert_int_equal(c->dtoh_bytes - dtoh, want);
  }
  /* Decode steps (T = 2 after the prompts) were captured once as a CUDA
   * graph and replayed after, with the host's tokens all along. */
  assert_int_equal(c->graphs_captured - captured, 1);
  assert_true(c->graph_launches - graph_launches >= 3);
  llmc_rt_close(h);
  llmc_rt_close(d);
  assert_int_equal(c->live_device_allocs, 0);
}

/* Profiling: every plan launch of every step is timed and counted against
 * its kernel, on the host (wall clock) and on cuda (timing events). */
static void profile_on(const char *dir, const char *backend) {
  llmc_rt_options_t o = {.backend = backend, .n_threads = 2, .profile = true};
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = llmc_rt_open(dir, &o, &rt);
  if (s) fail_msg("open on %s: %s", backend, llmc_status_message(s));
  int seq;
  assert_null(llmc_rt_seq_create_empty(rt, &seq));
  const int32_t toks[] = {3, 1, 4};
  const int32_t pos[] = {0, 1, 2};
  const float *logits;
  assert_null(llmc_rt_forward(rt, seq, toks, pos, 3, &logits));
  assert_null(llmc_rt_forward(rt, seq, toks, pos + 0, 1, &logits));
  const llmc_rt_kernel_time_t *p;
  assert_int_equal(llmc_rt_profile_get(rt, &p), 5);
  for (int k = 0; k < 4; k++) { /* the fake plan: one launch of each kernel per step */
    assert_int_equal(p[k].calls, 2);
    assert_true(p[k].ms >= 0);
  }
  assert_int_equal(p[4].calls, 0); /* argmax is no plan launch */
  assert_string_equal(p[4].kernel, "llmc_k4_argmax");
  llmc_rt_seq_free(rt, seq);
  llmc_rt_close(rt);
}

static void test_profile(void **state) {
  (void)state;
  profile_on(g_good.dir, "host");
  if (!fake_cuda()) return;
  profile_on(g_gpu_only.dir, "cuda");
  /* Without profiling there is nothing to read. */
  llmc_rt_t *rt = open_on(g_good.dir, "host", LLMC_OK, NULL);
  const llmc_rt_kernel_time_t *p;
  assert_int_equal(llmc_rt_profile_get(rt, &p), 0);
  assert_null(p);
  llmc_rt_close(rt);
}

/* bench's reference on a GPU: device-to-device copies, buffers freed. */
static void test_fake_cuda_copy_bandwidth(void **state) {
  (void)state;
  if (!fake_cuda()) skip();
  llmc_rt_t *d = open_on(g_gpu_only.dir, "cuda", LLMC_OK, NULL);
  const fake_cuda_counters_t *c = counters();
  int64_t dtod = c->dtod, allocs = c->live_device_allocs;
  double gbps = 0;
  assert_null(llmc_rt_measure_copy_bandwidth(d, 1 << 20, 3, &gbps));
  assert_true(gbps > 0);
  assert_int_equal(c->dtod - dtod, 1 + 3); /* warm-up, then the timed copies */
  assert_int_equal(c->live_device_allocs, allocs);
  expect_error(llmc_rt_measure_copy_bandwidth(d, 0, 3, &gbps), LLMC_INVALID_ARGUMENT, "bandwidth");
  llmc_rt_close(d);
}

/* On the fake HIP runtime (ctest unit.runtime.gpu_fake_hip): decode steps
 * run as HIP graphs through gpu.c's shared mechanism, with the host's
 * tokens. */
static void test_fake_hip_graphs(void **state) {
  (void)state;
  void *h = dlopen("libamdhip64.so", RTLD_NOW | RTLD_LOCAL);
  void *sym = h ? dlsym(h, "fake_hip_counters") : NULL;
  if (!sym) {
    if (h) dlclose(h);
    skip();
  }
  const fake_cuda_counters_t *(*fn)(void) = NULL;
  memcpy(&fn, &sym, sizeof fn);
  const fake_cuda_counters_t *c = fn();
  llmc_rt_t *host = open_on(g_good.dir, "host", LLMC_OK, NULL);
  llmc_rt_t *d = open_on(g_gpu_only.dir, "hip", LLMC_OK, NULL);
  assert_non_null(strstr(llmc_rt_device_describe(d), "decode steps as HIP graphs"));
  const int32_t p0[] = {1, 2, 3, 4}, p1[] = {5, 6};
  llmc_sampling_t sp = {.temperature = 0, .top_p = 1, .max_new_tokens = 6, .eos_token = -1};
  int s;
  assert_null(llmc_rt_seq_add(host, p0, 4, &sp, &s));
  assert_null(llmc_rt_seq_add(host, p1, 2, &sp, &s));
  assert_null(llmc_rt_seq_add(d, p0, 4, &sp, &s));
  assert_null(llmc_rt_seq_add(d, p1, 2, &sp, &s));
  const int64_t launches = c->graph_launches;
  for (;;) {
    llmc_rt_events_t eh, ed;
    assert_null(llmc_rt_step(host, &eh));
    assert_null(llmc_rt_step(d, &ed));
    assert_int_equal(eh.n, ed.n);
    if (eh.n == 0) break;
    for (int i = 0; i < eh.n; i++) assert_int_equal(eh.events[i].token, ed.events[i].token);
  }
  assert_true(c->graph_launches - launches >= 3);
  llmc_rt_close(host);
  llmc_rt_close(d);
  dlclose(h);
}

/* LLMC_CUDA_GRAPHS=0: plain launches, the same tokens. */
static void test_fake_cuda_no_graphs(void **state) {
  (void)state;
  if (!fake_cuda()) skip();
  setenv("LLMC_CUDA_GRAPHS", "0", 1);
  llmc_rt_t *h = open_on(g_good.dir, "host", LLMC_OK, NULL);
  llmc_rt_t *d = open_on(g_gpu_only.dir, "cuda", LLMC_OK, NULL);
  assert_null(strstr(llmc_rt_device_describe(d), "CUDA graphs"));
  const int32_t p0[] = {1, 2, 3};
  llmc_sampling_t sp = {.temperature = 0, .top_p = 1, .max_new_tokens = 6, .eos_token = -1};
  int s;
  assert_null(llmc_rt_seq_add(h, p0, 3, &sp, &s));
  assert_null(llmc_rt_seq_add(d, p0, 3, &sp, &s));
  const fake_cuda_counters_t *c = counters();
  const int64_t graph_launches = c->graph_launches;
  for (;;) {
    llmc_rt_events_t eh, ed;
    assert_null(llmc_rt_step(h, &eh));
    assert_null(llmc_rt_step(d, &ed));
    assert_int_equal(eh.n, ed.n);
    if (eh.n == 0) break;
    assert_int_equal(eh.events[0].token, ed.events[0].token);
  }
  assert_int_equal(c->graph_launches, graph_launches);
  llmc_rt_close(h);
  llmc_rt_close(d);
  unsetenv("LLMC_CUDA_GRAPHS");
}

static void test_fake_cuda_image_choice(void **state) {
  (void)state;
  if (!fake_cuda()) skip();
  setenv("FAKE_CUDA_CC", "100", 1); /* newer than every image: the sm_80 PTX */
  llmc_rt_t *d = open_on(g_good.dir, "cuda", LLMC_OK, NULL);
  assert_non_null(strstr(llmc_rt_device_describe(d), "(sm_100), image sm_80 (ptx)"));
  llmc_rt_close(d);
  compare_forward(g_gpu_only.dir, "cuda");
  setenv("FAKE_CUDA_CC", "75", 1); /* older than every image */
  const char *old[] = {"backend 'cuda': the artifact has no image for Fake NVIDIA GPU (sm_75); "
                       "it has: sm_80 (ptx), sm_90 (cubin), gfx942 (hsaco)",
                       NULL};
  open_on(g_good.dir, "cuda", LLMC_UNAVAILABLE, old);
  /* auto: falls back to the host where it can, names cuda's reason where not. */
  llmc_rt_t *h = open_on(g_good.dir, "auto", LLMC_OK, NULL);
  assert_string_equal(llmc_rt_backend_name(h), "host");
  llmc_rt_close(h);
  const char *none[] = {"no host kernels", "no image for Fake NVIDIA GPU (sm_75)", NULL};
  open_on(g_gpu_only.dir, "auto", LLMC_UNAVAILABLE, none);
  setenv("FAKE_CUDA_CC", "90", 1);
  /* A cubin the driver rejects: the sm_80 PTX is JIT-compiled instead;
   * when that fails too, both are said. */
  fail_next_loads(1);
  d = open_on(g_good.dir, "cuda", LLMC_OK, NULL);
  assert_non_null(strstr(llmc_rt_device_describe(d),
                         "image sm_80 (ptx, JIT-compiled: the cubin did not load)"));
  llmc_rt_close(d);
  fail_next_loads(2);
  const char *both[] = {"loading image sm_90 (cubin)", "the PTX fallback failed too",
                        "loading image sm_80 (ptx)", NULL};
  open_on(g_good.dir, "cuda", LLMC_INTERNAL, both);
  setenv("FAKE_CUDA_DEVICES", "0", 1);
  const char *nodev[] = {"backend 'cuda': no NVIDIA GPU found", NULL};
  open_on(g_good.dir, "cuda", LLMC_UNAVAILABLE, nodev);
  llmc_rt_device_info_t info;
  llmc_status_t *s = llmc_rt_probe_device("cuda", &info);
  assert_int_equal(llmc_status_code(s), LLMC_UNAVAILABLE);
  llmc_status_free(s);
  unsetenv("FAKE_CUDA_DEVICES");
  assert_null(llmc_rt_probe_device("cuda", &info));
  assert_string_equal(info.target, "sm_90");
  assert_string_equal(info.name, "Fake NVIDIA GPU");
  assert_int_equal(counters()->live_device_allocs, 0);
  assert_int_equal(counters()->ctx_refs, 0);
}

static const float greedy_both = 0.0f, one_sampled = 0.8f;

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pick_nvidia),
      cmocka_unit_test(test_pick_amd),
      cmocka_unit_test(test_pick_intel_and_describe),
      cmocka_unit_test(test_grid_and_params),
      cmocka_unit_test(test_validate_images),
      cmocka_unit_test(test_explicit_backends_unavailable),
      cmocka_unit_test(test_auto_falls_back_to_host),
      cmocka_unit_test(test_gpu_only_artifact_on_host),
      cmocka_unit_test(test_fake_cuda_forward),
      cmocka_unit_test_prestate(test_fake_cuda_steps, (void *)&greedy_both),
      cmocka_unit_test_prestate(test_fake_cuda_steps, (void *)&one_sampled),
      cmocka_unit_test(test_fake_cuda_image_choice),
      cmocka_unit_test(test_fake_cuda_copy_bandwidth),
      cmocka_unit_test(test_fake_cuda_no_graphs),
      cmocka_unit_test(test_fake_hip_graphs),
      cmocka_unit_test(test_profile),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
