/* test_codegen_kernels.c: every host kernel family, end to end.
 *
 * Each test instantiates templates, wraps them in one module, lowers it
 * (llmc_host_lower), emits an object for `host`, links it with
 * llmc_link_shared into a temporary directory, dlopens the result and calls
 * `_mlir_ciface_<NAME>` through llmc_kernel_fn over random data (fixed seed).
 * The extent is always run as two slices, [0, mid) and [mid, extent), the
 * way the runtime's thread pool splits it, and compared with a naive C
 * reference within 1e-5 (absolute + relative). */
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "llmc_abi.h"
#include "llmc_codegen.h"
#include "llmc_kquant.h"
#include "llmc_kplan.h"
#include "kplan_impl.h" /* llmc_gemm_host_generate */

#define TOL 1e-5f

/* ---- harness ---- */

typedef struct {
  llmc_buf_t text; /* the module being built */
} module_builder_t;

static void mb_init(module_builder_t *mb) {
  memset(mb, 0, sizeof *mb);
  llmc_buf_printf(&mb->text, "module {\n");
}

static void check_ok(llmc_status_t *st) {
  if (st) {
    char msg[16384];
    llmc_status_format(st, msg, sizeof msg);
    print_error("%s\n", msg);
    llmc_status_free(st);
    fail();
  }
}

/* Instantiates family with "KEY", "VALUE", ..., NULL. */
static void mb_add(module_builder_t *mb, const char *family, ...) {
  llmc_template_param_t params[LLMC_KPARAMS_MAX];
  int n = 0;
  va_list ap;
  va_start(ap, family);
  for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
    assert_true(n < LLMC_KPARAMS_MAX);
    params[n].key = k;
    params[n].value = va_arg(ap, const char *);
    n++;
  }
  va_end(ap);
  check_ok(llmc_template_instantiate(family, "host", params, n, &mb->text));
  llmc_buf_printf(&mb->text, "\n");
}

/* The RoPE rotation kernel `name` calls (rope_rot.host.mlir). */
static void mb_rot(module_builder_t *mb, const char *name, const char *head_dim, float theta, const char *style,
                   const char *rot_half) {
  int hd = atoi(head_dim);
  float inv[LLMC_MAX_HEAD_DIM / 2];
  llmc_ir_rope_inv_freq(&(llmc_rope_t){.theta = theta, .cos_sin_scale = 1}, hd, inv);
  llmc_buf_t table = {0};
  char lit[16], half[16];
  for (int i = 0; i < hd / 2; i++) llmc_buf_printf(&table, "%s%s", i ? ", " : "", llmc_template_f32_literal(inv[i], lit));
  snprintf(half, sizeof half, "%d", hd / 2);
  mb_add(mb, "rope_rot", "NAME", name, "HALF_DIM", half, "INV_FREQ", table.data, "COS_SIN_SCALE", "1.0", "STYLE", style,
         "ROT_HALF", rot_half, NULL);
  llmc_buf_free(&table);
}

typedef struct {
  void *dl;
  char dir[64];
} kernel_lib_t;

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Compiles the module for target `host`, links and loads it. Takes mb. */
static void mb_build(module_builder_t *mb, kernel_lib_t *lib) {
  llmc_buf_printf(&mb->text, "}\n");
  assert_false(mb->text.failed);
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = NULL;
  check_ok(llmc_host_lower(mb->text.data, ctx, &m, NULL));
  llmc_target_t t;
  check_ok(llmc_target_lookup("host", &t));
  llmc_buf_t obj = {0};
  check_ok(llmc_llvm_emit_object(m, &t, 3, &obj, NULL));
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  llmc_buf_free(&mb->text);

  snprintf(lib->dir, sizeof lib->dir, "/tmp/llmc_cg_XXXXXX");
  assert_non_null(mkdtemp(lib->dir));
  char obj_path[128], so_path[128];
  snprintf(obj_path, sizeof obj_path, "%s/k.o", lib->dir);
  snprintf(so_path, sizeof so_path, "%s/k.so", lib->dir);
  write_file(obj_path, obj.data, obj.len);
  llmc_buf_free(&obj);
  check_ok(llmc_link_shared(obj_path, so_path));
  lib->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  if (!lib->dl) print_error("dlopen: %s\n", dlerror());
  assert_non_null(lib->dl);
  unlink(obj_path);
  unlink(so_path);
  rmdir(lib->dir);
}

static llmc_kernel_fn lib_fn(kernel_lib_t *lib, const char *name) {
  char sym[300];
  snprintf(sym, sizeof sym, "_mlir_ciface_%.200s", name);
  void *p = dlsym(lib->dl, sym);
  if (!p) print_error("missing %s\n", sym);
  assert_non_null(p);
  llmc_kernel_fn fn;
  memcpy(&fn, &p, sizeof fn);
  return fn;
}

static void lib_close(kernel_lib_t *lib) { dlclose(lib->dl); }

/* The five buffers of a launch. */
typedef struct {
  float *act, *w, *kv;
  int32_t *meta;
  int64_t args[16];
  int64_t n_act, n_w, n_kv, n_meta;
} bufs_t;

static void bufs_alloc(bufs_t *b, int64_t n_act, int64_t n_w, int64_t n_kv, int64_t n_meta) {
  memset(b, 0, sizeof *b);
  b->n_act = n_act, b->n_w = n_w, b->n_kv = n_kv, b->n_meta = n_meta;
  b->act = calloc((size_t)n_act + 1, sizeof(float));
  b->w = calloc((size_t)n_w + 1, sizeof(float));
  b->kv = calloc((size_t)n_kv + 1, sizeof(float));
  b->meta = calloc((size_t)n_meta + 1, sizeof(int32_t));
  assert_true(b->act && b->w && b->kv && b->meta);
}

static void bufs_free(bufs_t *b) {
  free(b->act);
  free(b->w);
  free(b->kv);
  free(b->meta);
}

static void fill(float *p, int64_t n, uint64_t *rng, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * llmc_rng_uniform(rng);
}

static llmc_memref1d_t mr(void *p, int64_t n) { return (llmc_memref1d_t){p, p, 0, n, 1}; }

/* Calls fn over [0, extent) in two slices. */
static void launch(llmc_kernel_fn fn, bufs_t *b, int64_t n_args, int64_t extent) {
  llmc_memref1d_t act = mr(b->act, b->n_act), w = mr(b->w, b->n_w), kv = mr(b->kv, b->n_kv),
                  meta = mr(b->meta, b->n_meta), args = mr(b->args, n_args);
  int64_t mid = extent / 2;
  fn(&act, &w, &kv, &meta, &args, 0, mid);
  fn(&act, &w, &kv, &meta, &args, mid, extent);
}

static void expect_close(const float *got, const float *want, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++) {
    float d = fabsf(got[i] - want[i]);
    if (!(d <= TOL + TOL * fabsf(want[i]))) {
      print_error("%s[%lld]: got %.9g want %.9g\n", what, (long long)i, got[i], want[i]);
      fail();
    }
  }
}

/* The matmul templates' row map (matmul_rows): every row, or (on) only the
 * rows a step lists in meta, as the logits' matmul computes. */
static void mb_rows(module_builder_t *mb, const char *name, bool on) {
  mb_add(mb, "matmul_rows", "NAME", name, "ON", on ? "true" : "false", "ARG", "10", NULL);
}

/* A step's logit_rows for T tokens: rows 1 and T-1 (row 0 when T = 1) at
 * meta[2..], its offset in args[10]; the arguments between the epilogue's
 * and it are zero. Returns the argument count. */
static int64_t set_rows(bufs_t *b, int64_t n_args, int T) {
  assert_true(b->n_meta >= 5);
  int32_t *m = b->meta + 2;
  if (T == 1) m[0] = 1, m[1] = 0;
  else m[0] = 2, m[1] = 1, m[2] = T - 1;
  while (n_args < 10) b->args[n_args++] = 0;
  b->args[n_args++] = 2;
  return n_args;
}

/* Rows listed by set_rows match want; the others still hold `sentinel`. */
static void expect_rows(const float *got, const float *want, int T, int N, float sentinel, const char *what) {
  for (int t = 0; t < T; t++) {
    bool listed = T == 1 || t == 1 || t == T - 1;
    if (listed) {
      expect_close(got + t * N, want + t * N, N, what);
    } else {
      for (int n = 0; n < N; n++)
        if (got[t * N + n] != sentinel) {
          print_error("%s: row %d (not listed) was written\n", what, t);
          fail();
        }
    }
  }
}

/* ---- elementwise ---- */

static void test_add_mul(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "add", "NAME", "k_add", "N", "37", NULL);
  mb_add(&mb, "mul", "NAME", "k_mul", "N", "37", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, N = 37;
  uint64_t rng = 1;
  for (int op = 0; op < 2; op++) {
    bufs_t b;
    bufs_alloc(&b, 4 * T * N, 1, 1, 1);
    fill(b.act, 3 * T * N, &rng, -2, 2);
    float want[5 * 37];
    int64_t a_off = 3, b_off = T * N + 5, o_off = 2 * T * N + 9;
    for (int i = 0; i < T * N; i++)
      want[i] = op ? b.act[a_off + i] * b.act[b_off + i] : b.act[a_off + i] + b.act[b_off + i];
    b.args[0] = a_off, b.args[1] = b_off, b.args[2] = o_off;
    /* Elementwise kernels run over T * N elements. */
    launch(lib_fn(&lib, op ? "k_mul" : "k_add"), &b, 3, T * N);
    expect_close(b.act + o_off, want, T * N, op ? "mul" : "add");
    /* In place: out == a. */
    b.args[2] = a_off;
    launch(lib_fn(&lib, op ? "k_mul" : "k_add"), &b, 3, T * N);
    expect_close(b.act + a_off, want, T * N, "in place");
    bufs_free(&b);
  }
  lib_close(&lib);
}

/* ---- matmul ---- */

static void ref_matmul(const float *a, const float *b, float *out, int T, int K, int N) {
  for (int t = 0; t < T; t++)
    for (int n = 0; n < N; n++) {
      double acc = 0;
      for (int k = 0; k < K; k++) acc += (double)a[t * K + k] * b[n * K + k];
      out[t * N + n] = (float)acc;
    }
}

/* A matmul launch's arguments for epilogue e (llmc_matmul_epilogue):
 * [a, b, out, T], then the residual at r_off (add) or the second and third
 * parts back to back after the first at o_off (split, sizes); want (the
 * plain product) becomes what the epilogue writes. Returns the count. */
static int64_t epilogue_args(bufs_t *b, int e, int64_t a_off, int64_t b_off, int64_t o_off, int64_t r_off, int T,
                             int N, const int64_t sizes[3], float *want) {
  b->args[0] = a_off, b->args[1] = b_off, b->args[2] = o_off, b->args[3] = T;
  int64_t n_args = 4;
  if (e == LLMC_EPILOGUE_ADD) {
    b->args[n_args++] = r_off;
    for (int i = 0; i < T * N; i++) want[i] += b->act[r_off + i];
  } else if (e == LLMC_EPILOGUE_SPLIT) {
    float *parts = malloc(sizeof(float) * (size_t)(T * N));
    assert_non_null(parts);
    int64_t at = 0, begin = 0;
    for (int p = 0; p < 3; p++) {
      if (p > 0) b->args[n_args++] = o_off + at;
      for (int t = 0; t < T; t++)
        for (int64_t j = 0; j < sizes[p]; j++) parts[at++] = want[t * N + begin + j];
      begin += sizes[p];
    }
    memcpy(want, parts, sizeof(float) * (size_t)(T * N));
    free(parts);
  }
  return n_args;
}

/* Every epilogue (codegen/kvariants.c, llmc_matmul_epilogue) on the same
 * dot products: a plain store, a residual add (matmul_add), and a split
 * into up to three results (fuse-sibling-matmuls). */
static void test_matmul(void **state) {
  (void)state;
  enum { STORE = LLMC_EPILOGUE_STORE, ADD = LLMC_EPILOGUE_ADD, SPLIT = LLMC_EPILOGUE_SPLIT };
  static const struct {
    int K, N, VEC, T, E, R; /* R: only the rows set_rows lists (the logits' matmul) */
  } cases[] = {{64, 37, 16, 1, STORE, 0}, {64, 37, 16, 5, STORE, 0}, {48, 8, 16, 5, STORE, 0}, {24, 10, 8, 5, STORE, 0},
               {12, 9, 4, 1, STORE, 0},   {12, 9, 4, 5, STORE, 0},   {7, 6, 1, 1, STORE, 0},    {7, 6, 1, 5, STORE, 0},
               {64, 37, 16, 5, ADD, 0},   {12, 9, 4, 1, ADD, 0},     {64, 37, 16, 5, SPLIT, 0}, {12, 9, 4, 1, SPLIT, 0},
               {64, 37, 16, 5, STORE, 1}, {12, 9, 4, 6, STORE, 1},   {7, 6, 1, 1, STORE, 1},    {24, 10, 8, 5, ADD, 1}};
  enum { N_CASES = (int)(sizeof cases / sizeof cases[0]) };
  module_builder_t mb;
  mb_init(&mb);
  char names[N_CASES][32], ks[N_CASES][16], ns[N_CASES][16], vs[N_CASES][16];
  llmc_buf_t epi[N_CASES] = {0};
  int64_t sizes[N_CASES][3];
  for (int c = 0; c < N_CASES; c++) {
    snprintf(names[c], sizeof names[c], "mm_%d", c);
    snprintf(ks[c], sizeof ks[c], "%d", cases[c].K);
    snprintf(ns[c], sizeof ns[c], "%d", cases[c].N);
    snprintf(vs[c], sizeof vs[c], "%d", cases[c].VEC);
    /* Split: the first half, a third of the rest, the remainder. */
    sizes[c][0] = cases[c].N / 2;
    sizes[c][1] = (cases[c].N - sizes[c][0]) / 3;
    sizes[c][2] = cases[c].N - sizes[c][0] - sizes[c][1];
    llmc_matmul_epilogue((llmc_epilogue_t)cases[c].E, cases[c].N, sizes[c], 3, &epi[c]);
    assert_false(epi[c].failed);
    mb_rows(&mb, names[c], cases[c].R);
    mb_add(&mb, "matmul", "NAME", names[c], "K", ks[c], "N", ns[c], "VEC", vs[c], "PF", c % 2 ? "2048" : "0", "PF_ON", c % 2 ? "true" : "false", "EPILOGUE", epi[c].data, NULL);
  }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  uint64_t rng = 7;
  for (int c = 0; c < N_CASES; c++) {
    const int K = cases[c].K, N = cases[c].N, T = cases[c].T;
    bufs_t b;
    /* out (or the three parts, back to back) then the residual. */
    const int64_t a_off = 5, o_off = a_off + T * K + 3, r_off = o_off + T * N + 7, b_off = 11;
    bufs_alloc(&b, r_off + T * N, b_off + N * K, 1, 8);
    fill(b.act + a_off, T * K, &rng, -1, 1);
    fill(b.act + r_off, T * N, &rng, -1, 1);
    for (int i = 0; i < T * N; i++) b.act[o_off + i] = 7.0f; /* rows left unwritten keep it */
    fill(b.w + b_off, N * K, &rng, -1, 1);
    float *want = malloc(sizeof(float) * (size_t)(T * N));
    ref_matmul(b.act + a_off, b.w + b_off, want, T, K, N);
    int64_t n_args = epilogue_args(&b, cases[c].E, a_off, b_off, o_off, r_off, T, N, sizes[c], want);
    if (cases[c].R) n_args = set_rows(&b, n_args, T);
    llmc_kernel_fn fn = lib_fn(&lib, names[c]);
    launch(fn, &b, n_args, N);
    if (cases[c].R) expect_rows(b.act + o_off, want, T, N, 7.0f, names[c]);
    else expect_close(b.act + o_off, want, T * N, names[c]);
    /* A column's bits do not depend on how the extent is split. */
    float *first = malloc(sizeof(float) * (size_t)(T * N));
    memcpy(first, b.act + o_off, sizeof(float) * (size_t)(T * N));
    llmc_memref1d_t act = mr(b.act, b.n_act), w = mr(b.w, b.n_w), kv = mr(b.kv, 1),
                    meta = mr(b.meta, b.n_meta), args = mr(b.args, n_args);
    fn(&act, &w, &kv, &meta, &args, 0, 1);
    fn(&act, &w, &kv, &meta, &args, 1, N - 2);
    fn(&act, &w, &kv, &meta, &args, N - 2, N);
    assert_memory_equal(first, b.act + o_off, sizeof(float) * (size_t)(T * N));
    free(first);
    free(want);
    bufs_free(&b);
  }
  for (int c = 0; c < N_CASES; c++) llmc_buf_free(&epi[c]);
  lib_close(&lib);
}

/* ---- matmul of several tokens, register-tiled (codegen/gemm_host.c) ---- */

/* The generator's kernel (and its matmul_rows helper) into mb. */
static void mb_gemm(module_builder_t *mb, const char *name, int K, int N, int VEC, int TT, int NC, int TB, int KC,
                    int MR, int NV, const char *wt, const char *epi, bool rows) {
  char v[10][16];
  int vals[10] = {K, N, VEC, TT, NC, TB, KC, K % 3 ? 64 : 0, MR, NV}; /* prefetch on in some cases */
  for (int i = 0; i < 10; i++) snprintf(v[i], sizeof v[i], "%d", vals[i]);
  llmc_kinstance_t inst = {.family = "gemm_host", .n = 12,
                           .params = {{"K", v[0]}, {"N", v[1]}, {"VEC", v[2]}, {"TT", v[3]}, {"NC", v[4]},
                                      {"TB", v[5]}, {"KC", v[6]}, {"PF", v[7]}, {"MR", v[8]}, {"NV", v[9]},
                                      {"WTYPE", wt}, {"EPILOGUE", epi}}};
  mb_rows(mb, name, rows);
  check_ok(llmc_gemm_host_generate(&inst, name, &mb->text));
}

/* Against the reference for every epilogue, token counts below, at and
 * across a tile and a token block, leftover columns, 16-bit weights and the
 * sampled rows; and bit for bit against the GEMV templates at the same VEC
 * (a token's logits do not depend on the step that computed them). The
 * cases with MR > 0 take panels (x86 only, as kvariants.c allows) for
 * blocks of LLMC_GEMM_PANEL_PMIN tokens or more: VEC 16, 8 and 4, every
 * panel width, a block's leftover tokens (MR not dividing it), columns
 * past the last whole panel, a short block after a long one, 16-bit
 * weights and the sampled rows. */
static void test_gemm_host(void **state) {
  (void)state;
  enum { STORE = LLMC_EPILOGUE_STORE, ADD = LLMC_EPILOGUE_ADD, SPLIT = LLMC_EPILOGUE_SPLIT };
  /* KC below K: K in chunks (48 = 32 + 16: a short last one). */
  static const struct {
    int K, N, VEC, TT, NC, TB, KC, T, E, R, MR, NV;
    const char *wt;
  } cases[] = {{64, 37, 16, 4, 4, 24, 256, 5, STORE, 0, 0, 1, "f32"},  {64, 37, 16, 4, 4, 8, 32, 30, STORE, 0, 0, 1, "f32"},
               {24, 10, 8, 3, 4, 24, 8, 7, ADD, 0, 0, 1, "f32"},     {48, 8, 16, 6, 4, 24, 32, 3, STORE, 0, 0, 1, "f32"},
               {12, 9, 4, 2, 3, 4, 4, 9, SPLIT, 0, 0, 1, "f32"},     {7, 6, 1, 4, 4, 24, 2, 5, STORE, 0, 0, 1, "f32"},
               {64, 37, 16, 4, 4, 24, 256, 6, STORE, 1, 0, 1, "f32"}, {64, 37, 16, 4, 4, 8, 16, 19, STORE, 0, 0, 1, "bf16"},
               {24, 10, 8, 3, 4, 24, 256, 5, ADD, 0, 0, 1, "f16"},   {32, 9, 8, 4, 2, 24, 16, 2, STORE, 1, 0, 1, "bf16"},
               {64, 150, 16, 4, 4, 24, 256, 29, STORE, 0, 6, 4, "f32"}, {96, 70, 16, 4, 4, 48, 256, 16, ADD, 0, 12, 2, "f32"},
               {48, 37, 16, 4, 4, 24, 256, 40, SPLIT, 0, 4, 1, "f32"},  {40, 53, 8, 3, 3, 24, 256, 23, STORE, 0, 6, 2, "f32"},
               {32, 21, 4, 2, 3, 24, 256, 17, ADD, 0, 8, 4, "f32"},     {64, 100, 16, 4, 4, 24, 256, 33, STORE, 0, 6, 4, "bf16"},
               {48, 40, 8, 4, 4, 24, 256, 18, ADD, 0, 4, 2, "f16"},     {64, 37, 16, 4, 4, 24, 256, 20, STORE, 1, 6, 2, "f32"}};
  enum { N_CASES = (int)(sizeof cases / sizeof cases[0]) };
  module_builder_t mb;
  mb_init(&mb);
  char names[N_CASES][32], gemv[N_CASES][32], ks[N_CASES][16], ns[N_CASES][16], vs[N_CASES][16], hs[N_CASES][16];
  llmc_buf_t epi[N_CASES] = {0};
  int64_t sizes[N_CASES][3];
  for (int c = 0; c < N_CASES; c++) {
    snprintf(names[c], sizeof names[c], "gm_%d", c);
    snprintf(gemv[c], sizeof gemv[c], "gv_%d", c);
    snprintf(ks[c], sizeof ks[c], "%d", cases[c].K);
    snprintf(ns[c], sizeof ns[c], "%d", cases[c].N);
    snprintf(vs[c], sizeof vs[c], "%d", cases[c].VEC);
    snprintf(hs[c], sizeof hs[c], "%d", cases[c].VEC / 2);
    sizes[c][0] = cases[c].N / 2;
    sizes[c][1] = (cases[c].N - sizes[c][0]) / 3;
    sizes[c][2] = cases[c].N - sizes[c][0] - sizes[c][1];
    llmc_matmul_epilogue((llmc_epilogue_t)cases[c].E, cases[c].N, sizes[c], 3, &epi[c]);
    assert_false(epi[c].failed);
    mb_gemm(&mb, names[c], cases[c].K, cases[c].N, cases[c].VEC, cases[c].TT, cases[c].NC, cases[c].TB, cases[c].KC,
            cases[c].MR, cases[c].NV, cases[c].wt,
            epi[c].data, cases[c].R);
    mb_rows(&mb, gemv[c], cases[c].R);
    if (strcmp(cases[c].wt, "f32") == 0)
      mb_add(&mb, "matmul", "NAME", gemv[c], "K", ks[c], "N", ns[c], "VEC", vs[c], "PF", "0", "PF_ON", "false",
             "EPILOGUE", epi[c].data, NULL);
    else
      mb_add(&mb, "matmul_half", "NAME", gemv[c], "K", ks[c], "N", ns[c], "VEC", vs[c], "HALF", hs[c], "WTYPE",
             cases[c].wt, "PF", "0", "PF_ON", "false", "EPILOGUE", epi[c].data, NULL);
  }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  uint64_t rng = 9;
  for (int c = 0; c < N_CASES; c++) {
    const int K = cases[c].K, N = cases[c].N, T = cases[c].T;
    bool half = strcmp(cases[c].wt, "f32") != 0, f16 = strcmp(cases[c].wt, "f16") == 0;
    bufs_t b;
    const int64_t a_off = 5, o_off = a_off + T * K + 3, r_off = o_off + T * N + 7, b_off = 12;
    bufs_alloc(&b, r_off + T * N, b_off + N * K, 1, 8);
    fill(b.act + a_off, T * K, &rng, -1, 1);
    fill(b.act + r_off, T * N, &rng, -1, 1);
    for (int i = 0; i < T * N; i++) b.act[o_off + i] = 7.0f;
    float *wf = malloc(sizeof(float) * (size_t)(N * K));
    fill(wf, N * K, &rng, -1, 1);
    if (half) { /* two 16-bit values a word, from word b_off */
      uint16_t *h = (uint16_t *)(b.w + b_off);
      for (int i = 0; i < N * K; i++) {
        h[i] = f16 ? llmc_f32_to_f16(wf[i]) : llmc_f32_to_bf16(wf[i]);
        wf[i] = f16 ? llmc_f16_to_f32(h[i]) : llmc_bf16_to_f32(h[i]);
      }
    } else {
      memcpy(b.w + b_off, wf, sizeof(float) * (size_t)(N * K));
    }
    float *want = malloc(sizeof(float) * (size_t)(T * N));
    ref_matmul(b.act + a_off, wf, want, T, K, N);
    int64_t n_args = epilogue_args(&b, cases[c].E, a_off, b_off, o_off, r_off, T, N, sizes[c], want);
    if (cases[c].R) n_args = set_rows(&b, n_args, T);
    launch(lib_fn(&lib, names[c]), &b, n_args, N);
    if (cases[c].R) expect_rows(b.act + o_off, want, T, N, 7.0f, names[c]);
    else expect_close(b.act + o_off, want, T * N, names[c]);
    /* The GEMV template's bits, every row. Not at VEC = 1 (an odd K, no
     * real model's): there the code is scalar and whether LLVM fuses a
     * given mul + add into an FMA is not pinned, so the last bit may
     * differ between the two kernels. */
    float *got = malloc(sizeof(float) * (size_t)(T * N));
    memcpy(got, b.act + o_off, sizeof(float) * (size_t)(T * N));
    launch(lib_fn(&lib, gemv[c]), &b, n_args, N);
    if (cases[c].VEC > 1 && memcmp(got, b.act + o_off, sizeof(float) * (size_t)(T * N)) != 0) {
      for (int i = 0; i < T * N; i++)
        if (got[i] != b.act[o_off + i]) print_error("%d: %.9g vs %.9g\n", i, got[i], b.act[o_off + i]);
      print_error("%s: bits differ from the GEMV's\n", names[c]);
      fail();
    }
    /* Nor on how the extent is split (panels start at a slice's start). */
    llmc_kernel_fn fn = lib_fn(&lib, names[c]);
    llmc_memref1d_t act = mr(b.act, b.n_act), w = mr(b.w, b.n_w), kv = mr(b.kv, 1), meta = mr(b.meta, b.n_meta),
                    args = mr(b.args, n_args);
    fn(&act, &w, &kv, &meta, &args, 0, N / 2 < 7 ? N / 2 : 7);
    fn(&act, &w, &kv, &meta, &args, N / 2 < 7 ? N / 2 : 7, N);
    if (cases[c].VEC > 1) assert_memory_equal(got, b.act + o_off, sizeof(float) * (size_t)(T * N));
    free(got);
    free(want);
    free(wf);
    bufs_free(&b);
  }
  for (int c = 0; c < N_CASES; c++) llmc_buf_free(&epi[c]);
  lib_close(&lib);
}

/* ---- matmul on integer weights, int8 activations (matmul_q8) ---- */

enum { Q8_I4, Q8_I8G, Q8_I8, Q8_I4K, Q8_I5K, Q8_I6K, Q8_I4Z };
static int q8_kbits(int layout) { return layout == Q8_I4K ? 4 : layout == Q8_I5K ? 5 : layout == Q8_I6K ? 6 : 0; }
static bool q8_kquant(int layout) { return q8_kbits(layout) != 0; }

/* Activation row x[K] quantized as the kernel does it, block by block of 32. */
static void ref_quantize_q8(const float *x, int K, int8_t *q, float *d) {
  for (int b = 0; b < K / 32; b++) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
    d[b] = amax / 127.0f;
    float id = d[b] != 0 ? 1.0f / d[b] : 0.0f;
    for (int j = 0; j < 32; j++) q[b * 32 + j] = (int8_t)rintf(x[b * 32 + j] * id);
  }
}

/* Writes random integer weights wq[N][K] (int4: -8..7, int8: -127..127) and
 * scales (groups: one per 32; rows: one per row) into the layout at w, and
 * returns the weights' f32 values in wf. */
static void q8_weights(int layout, int N, int K, float *w, float *wf, uint64_t *rng) {
  uint8_t *bytes = (uint8_t *)w;
  int64_t values_bytes = layout == Q8_I4 || layout == Q8_I4Z ? (int64_t)N * K / 2 : (int64_t)N * K;
  if (layout == Q8_I4Z) { /* nibbles, then a row's K/32 f16 scales and K/32 zero points (0..16) */
    for (int n = 0; n < N; n++) {
      uint8_t *h = bytes + values_bytes + (int64_t)n * (3 * K / 32);
      for (int g = 0; g < K / 32; g++) {
        uint16_t d = llmc_f32_to_f16(0.001f + 0.05f * llmc_rng_uniform(rng));
        int z = (int)(llmc_rng_uniform(rng) * 17);
        z = z > 16 ? 16 : z;
        memcpy(h + 2 * g, &d, 2);
        h[K / 16 + g] = (uint8_t)z;
        for (int j = 0; j < 32; j++) {
          int u = (int)(llmc_rng_uniform(rng) * 16);
          u = u > 15 ? 15 : u;
          uint8_t *byte = bytes + (int64_t)n * K / 2 + g * 16 + (j & 15);
          *byte = (uint8_t)(j < 16 ? (*byte & 0xf0) | u : (*byte & 0x0f) | (u << 4));
          wf[(int64_t)n * K + g * 32 + j] = (float)(u - z) * llmc_f16_to_f32(d);
        }
      }
    }
    return;
  }
  if (q8_kquant(layout)) { /* random super-blocks, read back by llmc_kquant_dequant_row */
    int bits = q8_kbits(layout);
    values_bytes = N * (int64_t)llmc_kquant_value_bytes(bits, (uint64_t)K);
    uint64_t row_v = llmc_kquant_value_bytes(bits, (uint64_t)K), row_h = llmc_kquant_header_bytes((uint64_t)K);
    for (int n = 0; n < N; n++) {
      uint8_t *v = bytes + (uint64_t)n * row_v, *h = bytes + values_bytes + (uint64_t)n * row_h;
      for (uint64_t i = 0; i < row_v; i++) v[i] = (uint8_t)(llmc_rng_uniform(rng) * 256); /* any bits are values */
      for (uint64_t b = 0; b < row_h; b += LLMC_KQUANT_HEADER_BYTES) {
        /* dmin about half of d's range of levels: groups roughly centred, as trained weights are. */
        float df = 0.0005f + 0.002f * llmc_rng_uniform(rng);
        uint16_t d = llmc_f32_to_f16(df), dmin = llmc_f32_to_f16(df * (float)(1 << (bits - 1)) * llmc_rng_uniform(rng));
        memcpy(h + b, &d, 2);
        memcpy(h + b + 2, bits < 6 ? &dmin : &(uint16_t){0}, 2);
        for (int j = 4; j < LLMC_KQUANT_HEADER_BYTES; j++)
          h[b + j] = bits < 6 ? (uint8_t)(llmc_rng_uniform(rng) * 64) : (uint8_t)(int8_t)((int)(llmc_rng_uniform(rng) * 255) - 127);
      }
      llmc_kquant_dequant_row(bits, v, h, (uint64_t)K, wf + (int64_t)n * K);
    }
    return;
  }
  float row_scale = 0;
  for (int n = 0; n < N; n++) {
    if (layout == Q8_I8) row_scale = 0.001f + 0.02f * llmc_rng_uniform(rng);
    for (int g = 0; g < K / 32; g++) {
      float scale = row_scale;
      if (layout != Q8_I8) {
        uint16_t h = llmc_f32_to_f16(0.001f + 0.05f * llmc_rng_uniform(rng));
        scale = llmc_f16_to_f32(h);
        memcpy(bytes + values_bytes + ((int64_t)n * (K / 32) + g) * 2, &h, 2);
      }
      for (int j = 0; j < 32; j++) {
        int k = g * 32 + j;
        int v = layout == Q8_I4 ? (int)(llmc_rng_uniform(rng) * 16) - 8 : (int)(llmc_rng_uniform(rng) * 255) - 127;
        if (v > (layout == Q8_I4 ? 7 : 127)) v--;
        wf[(int64_t)n * K + k] = (float)v * scale;
        if (layout == Q8_I4) {
          uint8_t *byte = bytes + (int64_t)n * K / 2 + g * 16 + (j & 15);
          *byte = (uint8_t)(j < 16 ? (*byte & 0xf0) | (v + 8) : (*byte & 0x0f) | ((v + 8) << 4));
        } else {
          bytes[(int64_t)n * K + k] = (uint8_t)(int8_t)v;
        }
      }
    }
    if (layout == Q8_I8) memcpy(bytes + values_bytes + (int64_t)n * 4, &row_scale, 4);
  }
}

/* The helpers an integer-dot matmul named `name` calls: layout L's
 * decoding, the integer dot dot64, the row map, and q8_rows for `rows`
 * token rows of K. */
static void mb_q8_helpers(module_builder_t *mb, const char *name, int L, int K, int rows, const char *dot64, bool R) {
  static const char *helpers[] = {"q8_dot_int4",   "q8_dot_int8g",  "q8_dot_int8",  "q8_dot_kquant",
                                  "q8_dot_kquant", "q8_dot_kquant", "q8_dot_int4zp"};
  char v[5][24];
  int64_t vals[5] = {K, K / 32, (int64_t)rows * K, (int64_t)rows * (K / 32) * 2,
                     (int64_t)rows * (K / 32) * 8};
  for (int i = 0; i < 5; i++) snprintf(v[i], sizeof v[i], "%lld", (long long)vals[i]);
  char zoff[24];
  snprintf(zoff, sizeof zoff, "%d", K / 64);
  if (q8_kquant(L))
    mb_add(mb, helpers[L], "NAME", name, "HIGH1", q8_kbits(L) == 5 ? "true" : "false", "HIGH2",
           q8_kbits(L) == 6 ? "true" : "false", "MIN", q8_kbits(L) < 6 ? "true" : "false", NULL);
  else if (L == Q8_I4Z)
    mb_add(mb, helpers[L], "NAME", name, "ZOFF", zoff, NULL);
  else
    mb_add(mb, helpers[L], "NAME", name, NULL);
  mb_add(mb, dot64, "NAME", name, NULL);
  mb_rows(mb, name, R);
  mb_add(mb, "q8_rows", "NAME", name, "K", v[0], "KB", v[1], "QA", v[2], "DA", v[3], "CA", v[4], NULL);
}

/* The kernel against a C reference of the same arithmetic (the activations
 * quantized as above, products summed exactly, scaled per block) within
 * TOL, for every layout, for T below, equal to and above TQ, columns one or
 * four at a time; its bits do not depend on TQ, COLS or the extent's split; and against the f32 product of the
 * unquantized activations within the stated error of int8 activations
 * (relative RMS error below 1%: a block's values round to 1/254 of its
 * largest). */
static void test_matmul_q8(void **state) {
  (void)state;
  static const struct {
    int layout, K, N, T, TQ, COLS, R; /* R: only the rows set_rows lists */
  } cases[] = {{Q8_I4, 64, 37, 1, 1, 4, 0},   {Q8_I4, 128, 8, 5, 8, 4, 0},   {Q8_I4, 192, 37, 5, 2, 4, 0},
               {Q8_I4, 192, 37, 5, 1, 1, 0},  {Q8_I8G, 64, 9, 1, 1, 1, 0},   {Q8_I8G, 192, 37, 5, 2, 1, 0},
               {Q8_I8G, 192, 37, 5, 1, 4, 0}, {Q8_I8, 64, 37, 1, 1, 4, 0},   {Q8_I8, 192, 37, 5, 2, 4, 0},
               {Q8_I8, 192, 37, 5, 1, 1, 0},  {Q8_I4K, 256, 37, 1, 1, 4, 0}, {Q8_I4K, 512, 37, 5, 2, 4, 0},
               {Q8_I4K, 512, 37, 5, 1, 1, 0}, {Q8_I5K, 256, 37, 1, 1, 4, 0}, {Q8_I5K, 512, 37, 5, 2, 4, 0},
               {Q8_I6K, 256, 9, 1, 1, 1, 0},  {Q8_I6K, 512, 37, 5, 2, 1, 0}, {Q8_I6K, 512, 37, 5, 1, 4, 0},
               {Q8_I4Z, 128, 37, 1, 1, 4, 0}, {Q8_I4Z, 384, 37, 5, 2, 4, 0}, {Q8_I4Z, 384, 37, 5, 1, 1, 0},
               {Q8_I4, 192, 37, 5, 2, 4, 1}, {Q8_I8, 64, 9, 6, 4, 1, 1},  {Q8_I6K, 256, 9, 1, 1, 1, 1}};
  enum { N_CASES = (int)(sizeof cases / sizeof cases[0]) };
  /* Every integer dot the machine has (AVX2, VNNI, 512-bit VNNI; cycling by
   * case), and the portable one. */
  llmc_target_t host;
  check_ok(llmc_target_lookup("host", &host));
  bool avx2 = llmc_target_has_avx2(&host), vnni = llmc_target_has_vnni(&host), vnni512 = llmc_target_has_vnni512(&host);
  module_builder_t mb;
  mb_init(&mb);
  char names[N_CASES][32], gnames[N_CASES][32], v[N_CASES][13][24];
  llmc_buf_t epi[N_CASES] = {0};
  for (int c = 0; c < N_CASES; c++) {
    const int K = cases[c].K, N = cases[c].N, TQ = cases[c].TQ, L = cases[c].layout;
    int64_t qwords = q8_kquant(L) ? (int64_t)llmc_kquant_value_bytes(q8_kbits(L), (uint64_t)K) / 4
                     : L == Q8_I4 || L == Q8_I4Z ? K / 8
                                                 : K / 4;
    snprintf(names[c], sizeof names[c], "mq_%d", c);
    int64_t vals[13] = {K, N, K / 32, K / 64, TQ, (int64_t)TQ * K, (int64_t)TQ * (K / 32) * 2, qwords,
                        qwords / (K / 64), L == Q8_I8 ? 1 : q8_kquant(L) ? K / 256 * 5 : L == Q8_I4Z ? 3 * K / 128 : K / 64,
                        N * qwords,
                        cases[c].COLS == 4, (int64_t)TQ * (K / 32) * 8};
    for (int i = 0; i < 13; i++) snprintf(v[c][i], sizeof v[c][i], "%lld", (long long)vals[i]);
    llmc_matmul_epilogue(LLMC_EPILOGUE_STORE, N, NULL, 0, &epi[c]);
    assert_false(epi[c].failed);
    const char *dot64 = vnni512 && c % 4 == 3 ? "q8_dot64_vnni512"
                        : vnni && c % 4 == 2  ? "q8_dot64_vnni"
                        : avx2 && c % 4       ? "q8_dot64_avx2"
                                              : "q8_dot64";
    mb_q8_helpers(&mb, names[c], L, K, TQ, dot64, cases[c].R);
    mb_add(&mb, "matmul_q8", "NAME", names[c], "K", v[c][0], "N", v[c][1], "STEPS", v[c][3], "TQ", v[c][4], "QA",
           v[c][5], "DA", v[c][6], "QWORDS", v[c][7], "STEP_WORDS", v[c][8], "SWORDS", v[c][9], "SCALES", v[c][10],
           "FOUR_COLS", v[c][11], "CA", v[c][12], "PF", c % 3 ? "512" : "0", "PF_ON", c % 3 ? "true" : "false",
           "EPILOGUE", epi[c].data, NULL);
    /* gemm_q8_host over the same weights: tiles and blocks cycling by case. */
    snprintf(gnames[c], sizeof gnames[c], "gq_%d", c);
    static const int tiles[][3] = {{4, 4, 8}, {3, 2, 4}, {2, 3, 16}, {1, 1, 1}, {4, 2, 4}};
    const int *tile = tiles[c % 5];
    mb_q8_helpers(&mb, gnames[c], L, K, tile[2], dot64, cases[c].R);
    char tt[8], nc[8], tb[8];
    snprintf(tt, sizeof tt, "%d", tile[0]);
    snprintf(nc, sizeof nc, "%d", tile[1]);
    snprintf(tb, sizeof tb, "%d", tile[2]);
    llmc_kinstance_t inst = {.family = "gemm_q8_host", .n = 12,
                             .params = {{"K", v[c][0]}, {"N", v[c][1]}, {"STEPS", v[c][3]}, {"QWORDS", v[c][7]},
                                        {"STEP_WORDS", v[c][8]}, {"SWORDS", v[c][9]}, {"SCALES", v[c][10]},
                                        {"TT", tt}, {"NC", nc}, {"TB", tb}, {"PF", c % 2 ? "512" : "0"},
                                        {"EPILOGUE", epi[c].data}}};
    check_ok(llmc_gemm_q8_host_generate(&inst, gnames[c], &mb.text));
  }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  float *prev = NULL;
  for (int c = 0; c < N_CASES; c++) {
    const int K = cases[c].K, N = cases[c].N, T = cases[c].T, L = cases[c].layout;
    uint64_t rng = 11 + (uint64_t)(L * 1000 + K + N + T); /* cases differing only in TQ see the same data */
    bufs_t b;
    const int64_t a_off = 5, o_off = a_off + T * K + 3, b_off = 16; /* the tensor starts 64-byte aligned */
    int64_t w_words = (q8_kquant(L) ? N * (int64_t)llmc_kquant_value_bytes(q8_kbits(L), (uint64_t)K) / 4
                       : L == Q8_I4 || L == Q8_I4Z ? (int64_t)N * K / 8
                                                   : (int64_t)N * K / 4) +
                      (L == Q8_I8    ? N
                       : q8_kquant(L) ? (int64_t)N * K / 256 * 5
                       : L == Q8_I4Z  ? (int64_t)N * 3 * K / 128
                                      : (int64_t)N * K / 64);
    bufs_alloc(&b, o_off + T * N, b_off + w_words, 1, 8);
    fill(b.act + a_off, T * K, &rng, -1, 1);
    for (int i = 0; i < T * N; i++) b.act[o_off + i] = 7.0f; /* rows left unwritten keep it */
    b.act[a_off + 32] = 0; /* an all-zero block: d = 0 */
    for (int j = 1; j < 32 && K >= 64; j++) b.act[a_off + 32 + j] = 0;
    float *wf = malloc(sizeof(float) * (size_t)(N * K));
    q8_weights(L, N, K, b.w + b_off, wf, &rng);
    /* References: the quantized arithmetic, and f32 activations. */
    float *want = malloc(sizeof(float) * (size_t)(T * N)), *exact = malloc(sizeof(float) * (size_t)(T * N));
    int8_t *q = malloc((size_t)K);
    float *d = malloc(sizeof(float) * (size_t)(K / 32));
    for (int t = 0; t < T; t++) {
      ref_quantize_q8(b.act + a_off + t * K, K, q, d);
      for (int n = 0; n < N; n++) {
        double acc = 0;
        for (int k = 0; k < K; k++) acc += (double)wf[n * K + k] * q[k] * d[k / 32];
        want[t * N + n] = (float)acc;
      }
    }
    ref_matmul(b.act + a_off, wf, exact, T, K, N);
    b.args[0] = a_off, b.args[1] = b_off, b.args[2] = o_off, b.args[3] = T;
    int64_t n_args = cases[c].R ? set_rows(&b, 4, T) : 4;
    llmc_kernel_fn fn = lib_fn(&lib, names[c]);
    launch(fn, &b, n_args, N);
    /* gemm_q8_host: matmul_q8's bits, whatever its tile, block and split. */
    {
      size_t bytes = sizeof(float) * (size_t)(T * N);
      float *mq = malloc(bytes);
      memcpy(mq, b.act + o_off, bytes);
      for (int i = 0; i < T * N; i++) b.act[o_off + i] = 7.0f;
      launch(lib_fn(&lib, gnames[c]), &b, n_args, N);
      if (memcmp(mq, b.act + o_off, bytes) != 0) {
        for (int i = 0; i < T * N; i++)
          if (mq[i] != b.act[o_off + i]) print_error("%d: %.9g vs %.9g\n", i, b.act[o_off + i], mq[i]);
        print_error("%s: bits differ from matmul_q8's\n", gnames[c]);
        fail();
      }
      llmc_memref1d_t act = mr(b.act, b.n_act), w = mr(b.w, b.n_w), kv = mr(b.kv, 1), meta = mr(b.meta, b.n_meta),
                      args = mr(b.args, n_args);
      llmc_kernel_fn gfn = lib_fn(&lib, gnames[c]);
      gfn(&act, &w, &kv, &meta, &args, 0, N / 3);
      gfn(&act, &w, &kv, &meta, &args, N / 3, N - 1);
      gfn(&act, &w, &kv, &meta, &args, N - 1, N);
      assert_memory_equal(mq, b.act + o_off, bytes);
      free(mq);
    }
    if (cases[c].R) {
      expect_rows(b.act + o_off, want, T, N, 7.0f, names[c]);
      free(wf);
      free(want);
      free(exact);
      free(q);
      free(d);
      bufs_free(&b);
      continue;
    }
    expect_close(b.act + o_off, want, T * N, names[c]);
    double err2 = 0, ref2 = 0;
    for (int i = 0; i < T * N; i++) {
      err2 += ((double)b.act[o_off + i] - exact[i]) * ((double)b.act[o_off + i] - exact[i]);
      ref2 += (double)exact[i] * exact[i];
    }
    if (!(sqrt(err2 / ref2) < 0.01)) {
      print_error("%s: relative RMS error %.3g against f32 activations\n", names[c], sqrt(err2 / ref2));
      fail();
    }
    /* Bits: the same for another split, and for another TQ, COLS and
     * integer dot (the case before, when its shape matches). */
    float *first = malloc(sizeof(float) * (size_t)(T * N));
    memcpy(first, b.act + o_off, sizeof(float) * (size_t)(T * N));
    llmc_memref1d_t act = mr(b.act, b.n_act), w = mr(b.w, b.n_w), kv = mr(b.kv, 1), meta = mr(b.meta, 1),
                    args = mr(b.args, 4);
    fn(&act, &w, &kv, &meta, &args, 0, 1);
    fn(&act, &w, &kv, &meta, &args, 1, N - 2);
    fn(&act, &w, &kv, &meta, &args, N - 2, N);
    assert_memory_equal(first, b.act + o_off, sizeof(float) * (size_t)(T * N));
    if (c > 0 && cases[c - 1].layout == L && cases[c - 1].K == K && cases[c - 1].N == N && cases[c - 1].T == T)
      assert_memory_equal(prev, first, sizeof(float) * (size_t)(T * N));
    free(prev);
    prev = first;
    free(q);
    free(d);
    free(wf);
    free(want);
    free(exact);
    bufs_free(&b);
  }
  free(prev);
  for (int c = 0; c < N_CASES; c++) llmc_buf_free(&epi[c]);
  lib_close(&lib);
}

/* ---- embedding ---- */

static void test_embedding(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "embedding", "NAME", "emb", "D", "13", "SCALE", "8.0", NULL); /* Gemma scales by sqrt(dim) */
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, D = 13, V = 11;
  uint64_t rng = 3;
  bufs_t b;
  const int64_t tab_off = 7, out_off = 2, tok_off = 4;
  bufs_alloc(&b, out_off + T * D, tab_off + V * D, 1, tok_off + T);
  fill(b.w + tab_off, V * D, &rng, -1, 1);
  const int32_t ids[5] = {3, 0, 10, 3, 7};
  memcpy(b.meta + tok_off, ids, sizeof ids);
  float want[5 * 13];
  for (int t = 0; t < T; t++)
    for (int j = 0; j < D; j++) want[t * D + j] = b.w[tab_off + ids[t] * D + j] * 8.0f;
  b.args[0] = out_off, b.args[1] = tab_off, b.args[2] = tok_off, b.args[3] = V;
  launch(lib_fn(&lib, "emb"), &b, 4, T);
  assert_memory_equal(b.act + out_off, want, sizeof want);
  bufs_free(&b);
  lib_close(&lib);
}

/* The argmax the runtime's device path relies on: selected rows, lowest id
 * among equal maxima (as llmc_sampler_argmax). */
static void test_argmax(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "argmax", "NAME", "am", "V", "37", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 6, V = 37;
  uint64_t rng = 5;
  bufs_t b;
  const int64_t l_off = 3, rows_off = 2, ids_off = 9;
  bufs_alloc(&b, l_off + T * V, 1, 1, ids_off + 4);
  fill(b.act + l_off, T * V, &rng, -3, 3);
  b.act[l_off + 4 * V + 30] = 9, b.act[l_off + 4 * V + 11] = 9; /* a tie: 11 wins */
  b.act[l_off + 1 * V + 0] = 7;                                 /* the first id */
  const int32_t rows[4] = {5, 1, 4, 0};
  memcpy(b.meta + rows_off, rows, sizeof rows);
  b.args[0] = l_off, b.args[1] = rows_off, b.args[2] = ids_off, b.args[3] = 4;
  launch(lib_fn(&lib, "am"), &b, 4, 4);
  for (int r = 0; r < 4; r++) {
    const float *row = b.act + l_off + rows[r] * V;
    int32_t best = 0;
    for (int v = 1; v < V; v++)
      if (row[v] > row[best]) best = v;
    assert_int_equal(b.meta[ids_off + r], best);
  }
  assert_int_equal(b.meta[ids_off + 2], 11);
  assert_int_equal(b.meta[ids_off + 1], 0);
  bufs_free(&b);
  lib_close(&lib);
}

/* bias_add: a weight row added to every token's row; the flat element
 * index finds its column (i % N), also when a slice starts mid-row. */
static void test_bias_add(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "bias_add", "NAME", "k_bias", "N", "37", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 3, N = 37;
  uint64_t rng = 3;
  bufs_t b;
  const int64_t a_off = 2, o_off = a_off + T * N + 5, w_off = 7;
  bufs_alloc(&b, o_off + T * N, w_off + N, 1, 1);
  fill(b.act + a_off, T * N, &rng, -2, 2);
  fill(b.w + w_off, N, &rng, -1, 1);
  float want[3 * 37];
  for (int i = 0; i < T * N; i++) want[i] = b.act[a_off + i] + b.w[w_off + i % N];
  b.args[0] = a_off, b.args[1] = w_off, b.args[2] = o_off;
  launch(lib_fn(&lib, "k_bias"), &b, 3, T * N);
  expect_close(b.act + o_off, want, T * N, "bias_add");
  bufs_free(&b);
  lib_close(&lib);
}

/* ---- activations ---- */

static float ref_silu(float x) { return x / (1.0f + expf(-x)); }
static float ref_gelu(float x) {
  return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

static void test_activations(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "exp_vec", "NAME", "k_silu", "W", "16", "HI", "88.0", NULL);
  mb_add(&mb, "silu", "NAME", "k_silu", "N", "29", NULL);
  mb_add(&mb, "gelu", "NAME", "k_gelu", "N", "29", NULL);
  mb_add(&mb, "exp_vec", "NAME", "k_silu_mul", "W", "16", "HI", "88.0", NULL);
  mb_add(&mb, "silu_mul", "NAME", "k_silu_mul", "N", "29", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, N = 29;
  uint64_t rng = 5;
  bufs_t b;
  const int64_t a_off = 1, b_off = a_off + T * N, o_off = b_off + T * N + 2;
  bufs_alloc(&b, o_off + T * N, 1, 1, 1);
  fill(b.act + a_off, 2 * T * N, &rng, -6, 6);
  /* Past exp_vec's clamps: silu(x) for x below -88 is ~x / 1.65e38 where
   * libm's gives -0 (within TOL); above 87 it is x, as libm's. */
  static const float far[] = {-200.0f, -90.0f, -88.5f, -87.0f, 87.0f, 88.5f, 90.0f, 200.0f, 0.0f, -0.0f};
  for (int i = 0; i < (int)(sizeof far / sizeof far[0]); i++) b.act[a_off + 7 * i + 3] = far[i];
  float want[5 * 29];
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < T * N; i++) {
      float x = b.act[a_off + i], y = b.act[b_off + i];
      want[i] = k == 0 ? ref_silu(x) : k == 1 ? ref_gelu(x) : ref_silu(x) * y;
    }
    const char *name = k == 0 ? "k_silu" : k == 1 ? "k_gelu" : "k_silu_mul";
    int n_args;
    if (k == 2)
      b.args[0] = a_off, b.args[1] = b_off, b.args[2] = o_off, n_args = 3;
    else
      b.args[0] = a_off, b.args[1] = o_off, n_args = 2;
    launch(lib_fn(&lib, name), &b, n_args, T * N);
    expect_close(b.act + o_off, want, T * N, name);
    /* An element's bits do not depend on the split (vector chunks of 16 or
     * the scalar rest). */
    float first[5 * 29];
    memcpy(first, b.act + o_off, sizeof first);
    llmc_memref1d_t act = mr(b.act, b.n_act), w = mr(b.w, b.n_w), kv = mr(b.kv, 1), meta = mr(b.meta, 1),
                    args = mr(b.args, n_args);
    llmc_kernel_fn fn = lib_fn(&lib, name);
    for (int at = 0; at < T * N; at += 13) fn(&act, &w, &kv, &meta, &args, at, at + 13 < T * N ? at + 13 : T * N);
    assert_memory_equal(first, b.act + o_off, sizeof first);
  }
  bufs_free(&b);
  lib_close(&lib);
}

/* ---- norms and softmax ---- */

static void test_norms(void **state) {
  (void)state;
  char eps[11];
  llmc_template_f32_literal(1e-5f, eps);
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "rms_norm", "NAME", "k_rms", "D", "45", "EPS", eps, "OFFSET", "1.0", NULL); /* Gemma's (1 + w) */
  mb_add(&mb, "layer_norm", "NAME", "k_ln", "D", "45", "EPS", eps, NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, D = 45;
  uint64_t rng = 9;
  bufs_t b;
  const int64_t x_off = 3, o_off = x_off + T * D + 1, w_off = 2, bias_off = w_off + D + 3;
  bufs_alloc(&b, o_off + T * D, bias_off + D, 1, 1);
  fill(b.act + x_off, T * D, &rng, -3, 3);
  fill(b.w + w_off, D, &rng, 0.5f, 1.5f);
  fill(b.w + bias_off, D, &rng, -1, 1);
  float want[5 * 45];
  for (int t = 0; t < T; t++) {
    const float *x = b.act + x_off + t * D;
    double ss = 0;
    for (int j = 0; j < D; j++) ss += (double)x[j] * x[j];
    float r = 1.0f / sqrtf((float)(ss / D) + 1e-5f);
    for (int j = 0; j < D; j++) want[t * D + j] = x[j] * r * (b.w[w_off + j] + 1.0f);
  }
  b.args[0] = x_off, b.args[1] = w_off, b.args[2] = o_off;
  launch(lib_fn(&lib, "k_rms"), &b, 3, T);
  expect_close(b.act + o_off, want, T * D, "rms_norm");
  for (int t = 0; t < T; t++) {
    const float *x = b.act + x_off + t * D;
    double mean = 0, var = 0;
    for (int j = 0; j < D; j++) mean += x[j];
    mean /= D;
    for (int j = 0; j < D; j++) var += (x[j] - mean) * (x[j] - mean);
    var /= D;
    float r = 1.0f / sqrtf((float)var + 1e-5f);
    for (int j = 0; j < D; j++)
      want[t * D + j] = (x[j] - (float)mean) * r * b.w[w_off + j] + b.w[bias_off + j];
  }
  b.args[0] = x_off, b.args[1] = w_off, b.args[2] = bias_off, b.args[3] = o_off;
  launch(lib_fn(&lib, "k_ln"), &b, 4, T);
  expect_close(b.act + o_off, want, T * D, "layer_norm");
  bufs_free(&b);
  lib_close(&lib);
}

static void test_softmax(void **state) {
  (void)state;
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "softmax", "NAME", "k_sm", "N", "19", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, N = 19;
  uint64_t rng = 11;
  bufs_t b;
  const int64_t i_off = 2, o_off = i_off + T * N;
  bufs_alloc(&b, o_off + T * N, 1, 1, 1);
  fill(b.act + i_off, T * N, &rng, -8, 8);
  b.act[i_off + 3] = 80.0f; /* exp(80) overflows f32 without the max shift */
  float want[5 * 19];
  for (int t = 0; t < T; t++) {
    const float *x = b.act + i_off + t * N;
    double m = x[0], sum = 0;
    for (int j = 1; j < N; j++) m = x[j] > m ? x[j] : m;
    for (int j = 0; j < N; j++) sum += exp(x[j] - m);
    for (int j = 0; j < N; j++) want[t * N + j] = (float)(exp(x[j] - m) / sum);
  }
  b.args[0] = i_off, b.args[1] = o_off;
  launch(lib_fn(&lib, "k_sm"), &b, 2, T);
  expect_close(b.act + o_off, want, T * N, "softmax");
  b.args[1] = i_off; /* in place */
  launch(lib_fn(&lib, "k_sm"), &b, 2, T);
  expect_close(b.act + i_off, want, T * N, "softmax in place");
  bufs_free(&b);
  lib_close(&lib);
}

/* ---- rope ---- */

static void ref_rope(const float *in, float *out, const int32_t *pos, int T, int H, int hd,
                     float theta, int interleaved) {
  for (int t = 0; t < T; t++)
    for (int i = 0; i < hd / 2; i++) {
      float inv = powf(theta, -2.0f * i / hd);
      float a = (float)pos[t] * inv;
      float c = cosf(a), s = sinf(a);
      for (int h = 0; h < H; h++) {
        int base = t * H * hd + h * hd;
        int i0 = interleaved ? base + 2 * i : base + i;
        int i1 = interleaved ? i0 + 1 : i0 + hd / 2;
        float x0 = in[i0], x1 = in[i1];
        out[i0] = x0 * c - x1 * s;
        out[i1] = x0 * s + x1 * c;
      }
    }
}

static void test_rope(void **state) {
  (void)state;
  char theta[11];
  llmc_template_f32_literal(10000.0f, theta);
  module_builder_t mb;
  mb_init(&mb);
  (void)theta;
  mb_rot(&mb, "rope_half", "8", 10000.0f, "0", "4");
  mb_add(&mb, "rope", "NAME", "rope_half", "N_HEADS", "3", "HEAD_DIM", "8", NULL);
  mb_rot(&mb, "rope_il", "8", 10000.0f, "1", "4");
  mb_add(&mb, "rope", "NAME", "rope_il", "N_HEADS", "3", "HEAD_DIM", "8", NULL);
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  const int T = 5, H = 3, HD = 8, R = H * HD;
  uint64_t rng = 13;
  for (int style = 0; style < 2; style++) {
    bufs_t b;
    const int64_t i_off = 4, o_off = i_off + T * R + 2, p_off = 3;
    bufs_alloc(&b, o_off + T * R, 1, 1, p_off + T);
    fill(b.act + i_off, T * R, &rng, -2, 2);
    const int32_t pos[5] = {0, 1, 17, 511, 4095};
    memcpy(b.meta + p_off, pos, sizeof pos);
    float want[5 * 24];
    ref_rope(b.act + i_off, want, pos, T, H, HD, 10000.0f, style);
    const char *name = style ? "rope_il" : "rope_half";
    b.args[0] = i_off, b.args[1] = o_off, b.args[2] = p_off;
    launch(lib_fn(&lib, name), &b, 3, T);
    expect_close(b.act + o_off, want, T * R, name);
    b.args[1] = i_off; /* in place */
    launch(lib_fn(&lib, name), &b, 3, T);
    expect_close(b.act + i_off, want, T * R, "rope in place");
    bufs_free(&b);
  }
  lib_close(&lib);
}

/* ---- paged KV: kv_write and attention ---- */

enum { P_LAYERS = 2, P_KVH = 2, P_H = 4, P_HD = 16, P_BS = 4, P_MAXB = 4, P_POOL = 8 };
#define P_KVD (P_KVH * P_HD)
#define P_BF (P_LAYERS * 2 * P_BS * P_KVD)

static int64_t kv_at(int blk, int layer, int kind, int slot, int j) {
  return (int64_t)blk * P_BF + ((layer * 2 + kind) * P_BS + slot) * P_KVD + j;
}

/* Two sequences with shuffled blocks; a step of 4 tokens: positions 7, 8, 9
 * of sequence 0 (a prefill chunk) and position 12 of sequence 1 (decode). */
static const int32_t p_tables[2][P_MAXB] = {{5, 2, 7, 0}, {1, 6, 4, 3}};
static const int32_t p_pos[4] = {7, 8, 9, 12};
static const int32_t p_seq[4] = {0, 0, 0, 1};
enum { P_T = 4, M_POS = 0, M_SEQ = 8, M_BT = 16, M_INTS = 16 + 2 * P_MAXB };

static void set_meta(int32_t *meta) {
  memcpy(meta + M_POS, p_pos, sizeof p_pos);
  memcpy(meta + M_SEQ, p_seq, sizeof p_seq);
  memcpy(meta + M_BT, p_tables, sizeof p_tables);
}

/* The KV pool's element types (--kv-cache-dtype): the helper that stores
 * and reads a head's row, and the rounding a 16-bit pool applies. An int8
 * pool's row is P_HD int8s and a scale, P_RW words (kv_i8.host.mlir). */
enum { KV_F32, KV_F16, KV_BF16, KV_I8, KV_TYPES };
static const char *const kv_helpers[] = {"kv_f32", "kv_f16", "kv_bf16", "kv_i8"};
enum { P_RW = P_HD / 4 + 1 };

static void mb_kv(module_builder_t *mb, const char *name, int kvt) {
  char hd[16], half[16], qw[16], rw[16];
  snprintf(hd, sizeof hd, "%d", P_HD);
  snprintf(half, sizeof half, "%d", P_HD / 2);
  snprintf(qw, sizeof qw, "%d", P_HD / 4);
  snprintf(rw, sizeof rw, "%d", P_RW);
  if (kvt == KV_F32) mb_add(mb, kv_helpers[kvt], "NAME", name, "HEAD_DIM", hd, NULL);
  else if (kvt == KV_I8) mb_add(mb, kv_helpers[kvt], "NAME", name, "HEAD_DIM", hd, "Q_WORDS", qw, "ROW_WORDS", rw, NULL);
  else mb_add(mb, kv_helpers[kvt], "NAME", name, "HEAD_DIM", hd, "HALF_HD", half, NULL);
}

/* The pool's f32 words for P_POOL blocks of P_BF elements. */
static int64_t kv_pool_words(int kvt) {
  return kvt == KV_F32 ? P_POOL * P_BF : kvt == KV_I8 ? P_POOL * P_BF / P_HD * P_RW : P_POOL * P_BF / 2;
}

/* An int8 pool's row holding element e (a row's first): its int8s and scale. */
static int8_t *kv_i8_row(float *pool, int64_t e) { return (int8_t *)(pool + e / P_HD * P_RW); }
static float *kv_i8_scale(float *pool, int64_t e) { return pool + e / P_HD * P_RW + P_HD / 4; }

static uint16_t kv_round(int kvt, float x) { return kvt == KV_F16 ? llmc_f32_to_f16(x) : llmc_f32_to_bf16(x); }
static float kv_widen(int kvt, uint16_t h) { return kvt == KV_F16 ? llmc_f16_to_f32(h) : llmc_bf16_to_f32(h); }

/* The paged kernels' template parameters: KVD, BLOCK_FLOATS, HEAD_DIM and
 * the rotation's pairs, as text. */
static void paged_params(char kvd[16], char bf[16], char hd[16], char rh[16]) {
  snprintf(kvd, 16, "%d", P_KVD);
  snprintf(bf, 16, "%d", P_BF);
  snprintf(hd, 16, "%d", P_HD);
  snprintf(rh, 16, "%d", P_HD / 2);
}

/* f16 KV needs F16C on x86 (kplan refuses it elsewhere). */
static bool host_kv_ok(int kvt) {
  llmc_target_t host;
  check_ok(llmc_target_lookup("host", &host));
  return kvt != KV_F16 || llmc_target_reads_f16(&host);
}

/* Each pool type, k copied and rotated: f32 rows exactly as they are (with
 * rope, within TOL of the C rotation); 16-bit rows rounded to nearest even
 * exactly as llmc_f32_to_f16 / llmc_f32_to_bf16 do (the interpreter's model
 * of them), every other element of the pool untouched. */
static void test_kv_write(void **state) {
  (void)state;
  char kvd[16], bf[16], hd[16], rh[16], name[2 * KV_TYPES][32];
  paged_params(kvd, bf, hd, rh);
  module_builder_t mb;
  mb_init(&mb);
  for (int kvt = 0; kvt < KV_TYPES; kvt++)
    for (int rope = 0; rope < 2; rope++) {
      char *n = name[kvt * 2 + rope];
      snprintf(n, 32, "kvw%d%s", kvt, rope ? "_rope" : "");
      if (!host_kv_ok(kvt)) continue;
      /* fuse-rope: k rotated (GPT-J pairs, theta 500000) on its way in. */
      mb_rot(&mb, n, hd, rope ? 500000.0f : 10000.0f, rope ? "1" : "0", rh);
      mb_kv(&mb, n, kvt);
      mb_add(&mb, "kv_write", "NAME", n, "KVD", kvd, "BLOCK_SIZE", "4", "BLOCK_FLOATS", bf, "MAX_BLOCKS", "4", "ROPE",
             rope ? "1" : "0", "HEAD_DIM", hd, NULL);
    }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  for (int kvt = 0; kvt < KV_TYPES; kvt++)
    for (int rope = 0; rope < 2; rope++) {
      if (!host_kv_ok(kvt)) continue;
      uint64_t rng = 17;
      bufs_t b;
      const int64_t k_off = 3, v_off = k_off + P_T * P_KVD;
      const int64_t pool_words = kv_pool_words(kvt);
      bufs_alloc(&b, v_off + P_T * P_KVD, 1, pool_words, M_INTS);
      fill(b.act + k_off, 2 * P_T * P_KVD, &rng, -1, 1);
      fill(b.kv, pool_words, &rng, 5, 6);
      if (kvt == KV_I8) { /* v rows the int8 scale must survive: zeros (d = 0), a NaN, an infinity, a wide one */
        for (int j = 0; j < P_HD; j++) b.act[v_off + 0 * P_KVD + j] = 0.0f;
        b.act[v_off + 1 * P_KVD + P_HD + 3] = NAN;
        b.act[v_off + 2 * P_KVD + 5] = INFINITY;
        b.act[v_off + 3 * P_KVD + P_HD + 7] = 1e30f;
      }
      set_meta(b.meta);
      float *want = malloc(sizeof(float) * (size_t)pool_words);
      memcpy(want, b.kv, sizeof(float) * (size_t)pool_words);
      uint16_t *want16 = (uint16_t *)want;
      const int layer = 1;
      float k_rot[P_T * P_KVD];
      ref_rope(b.act + k_off, k_rot, p_pos, P_T, P_KVH, P_HD, 500000.0f, 1);
      for (int t = 0; t < P_T; t++) {
        int blk = p_tables[p_seq[t]][p_pos[t] / P_BS], slot = p_pos[t] % P_BS;
        for (int j = 0; j < P_KVD; j++) {
          float k = rope ? k_rot[t * P_KVD + j] : b.act[k_off + t * P_KVD + j], v = b.act[v_off + t * P_KVD + j];
          if (kvt == KV_I8) {
            if (j % P_HD) continue; /* a head's row at a time: */
            float kr[P_HD];
            for (int d = 0; d < P_HD; d++) kr[d] = rope ? k_rot[t * P_KVD + j + d] : b.act[k_off + t * P_KVD + j + d];
            int64_t ek = kv_at(blk, layer, 0, slot, j), ev = kv_at(blk, layer, 1, slot, j);
            llmc_i8_row_quantize(kr, P_HD, kv_i8_row(want, ek), kv_i8_scale(want, ek));
            llmc_i8_row_quantize(b.act + v_off + t * P_KVD + j, P_HD, kv_i8_row(want, ev), kv_i8_scale(want, ev));
          } else if (kvt == KV_F32) {
            want[kv_at(blk, layer, 0, slot, j)] = k;
            want[kv_at(blk, layer, 1, slot, j)] = v;
          } else {
            want16[kv_at(blk, layer, 0, slot, j)] = kv_round(kvt, k);
            want16[kv_at(blk, layer, 1, slot, j)] = kv_round(kvt, v);
          }
        }
      }
      int64_t args[6] = {k_off, v_off, M_POS, M_SEQ, M_BT, layer};
      memcpy(b.args, args, sizeof args);
      launch(lib_fn(&lib, name[kvt * 2 + rope]), &b, 6, P_T);
      if (!rope) {
        assert_memory_equal(b.kv, want, sizeof(float) * (size_t)pool_words);
      } else if (kvt == KV_F32) {
        expect_close(b.kv, want, pool_words, "kv_write with rope");
      } else if (kvt == KV_I8) { /* the rotations' last bits may move a q by one step, and d by an ulp */
        for (int64_t e = 0; e < P_POOL * P_BF; e += P_HD) {
          const int8_t *gq = kv_i8_row(b.kv, e), *wq = kv_i8_row(want, e);
          float gd = *kv_i8_scale(b.kv, e), wd = *kv_i8_scale(want, e);
          if (!memcmp(gq, wq, P_HD) && !memcmp(&gd, &wd, 4)) continue; /* (untouched rows hold any bits) */
          for (int d = 0; d < P_HD; d++) {
            float g = gq[d] * gd, w = wq[d] * wd;
            if (!(fabsf(g - w) <= 1.001f * wd + 1e-6f)) {
              print_error("%s[%lld]: got %g want %g\n", name[kvt * 2 + rope], (long long)(e + d), g, w);
              fail();
            }
          }
        }
      } else { /* the C and MLIR rotations may differ in the last f32 bit: a 16-bit ulp at most */
        const uint16_t *got16 = (const uint16_t *)b.kv;
        for (int64_t e = 0; e < 2 * pool_words; e++) {
          if (got16[e] == want16[e]) continue; /* (untouched elements hold any bits, NaNs too) */
          float g = kv_widen(kvt, got16[e]), w = kv_widen(kvt, want16[e]);
          if (!(fabsf(g - w) <= (kvt == KV_F16 ? 0x1p-10f : 0x1p-7f) * fabsf(w) + 1e-6f)) {
            print_error("%s[%lld]: got %g want %g\n", name[kvt * 2 + rope], (long long)e, g, w);
            fail();
          }
        }
      }
      free(want);
      bufs_free(&b);
    }
  lib_close(&lib);
}

/* The attention kernel with its exp and scores helpers for `lanes` (4, 8,
 * 16), in token slots of tq, into mb; the kernel's parameters follow (key,
 * value, ..., NULL), HEAD_DIM, BLOCK_SIZE, N_HEADS and N_KV_HEADS among
 * them; READ_KVD and STAGE_FLOATS may be (an int8 pool's stage), else the
 * pool's rows are read where they are. */
static const int att_lanes[3] = {4, 8, 16};
static void mb_attention(module_builder_t *mb, const char *name, int lanes, int tq, ...) {
  const char *kv[2 * 16 + 1], *hd = NULL, *bs = NULL, *heads = NULL, *kv_heads = NULL, *read_kvd = NULL;
  int n = 0;
  va_list ap;
  va_start(ap, tq);
  for (const char *k; (k = va_arg(ap, const char *)) && n < 2 * 14;) {
    const char *v = va_arg(ap, const char *);
    if (strcmp(k, "HEAD_DIM") == 0) hd = v;
    if (strcmp(k, "BLOCK_SIZE") == 0) bs = v;
    if (strcmp(k, "N_HEADS") == 0) heads = v;
    if (strcmp(k, "N_KV_HEADS") == 0) kv_heads = v;
    if (strcmp(k, "READ_KVD") == 0) read_kvd = v;
    kv[n++] = k;
    kv[n++] = v;
  }
  va_end(ap);
  assert_non_null(hd);
  assert_non_null(bs);
  assert_true(heads && kv_heads);
  char l[8], pad[16], tqs[8], rows[16];
  snprintf(tqs, sizeof tqs, "%d", tq);
  snprintf(rows, sizeof rows, "%d", tq / 2 * (atoi(heads) / atoi(kv_heads)));
  int b = atoi(bs);
  snprintf(l, sizeof l, "%d", lanes);
  snprintf(pad, sizeof pad, "%d", (b + lanes - 1) / lanes * lanes);
  mb_add(mb, "exp_vec", "NAME", name, "W", l, "HI", "0.0", NULL);
  char kvd[16];
  snprintf(kvd, sizeof kvd, "%d", atoi(hd) * atoi(kv_heads));
  check_ok(llmc_attention_qk_generate(name, lanes, atoi(hd), read_kvd ? atoi(read_kvd) : atoi(kvd), &mb->text));
  llmc_template_param_t params[24];
  int np = 0;
  params[np++] = (llmc_template_param_t){"NAME", name};
  for (int i = 0; i < n; i += 2) params[np++] = (llmc_template_param_t){kv[i], kv[i + 1]};
  params[np++] = (llmc_template_param_t){"L", l};
  params[np++] = (llmc_template_param_t){"BLOCK_PAD", pad};
  params[np++] = (llmc_template_param_t){"T_ARG", "6"};
  params[np++] = (llmc_template_param_t){"TQ", tqs};
  params[np++] = (llmc_template_param_t){"ROWS", rows};
  if (!read_kvd) {
    params[np++] = (llmc_template_param_t){"READ_KVD", kvd};
    params[np++] = (llmc_template_param_t){"STAGE_FLOATS", "1"};
  }
  check_ok(llmc_template_instantiate("attention", "host", params, np, &mb->text));
}

/* Each pool type: the attention of a step's tokens over what the pool holds
 * (16-bit values widened exactly), against a double-precision reference;
 * scores 4, 8 and 16 at a time over blocks of 4 positions (a chunk of
 * scores wider than the block: its slots clamped, its lanes masked). */
static void test_attention(void **state) {
  (void)state;
  char kvd[16], bf[16], scale[11], hd[16], rh[16], name[2 * KV_TYPES][32];
  paged_params(kvd, bf, hd, rh);
  const float sc = 1.0f / sqrtf((float)P_HD);
  llmc_template_f32_literal(sc, scale);
  module_builder_t mb;
  mb_init(&mb);
  for (int kvt = 0; kvt < KV_TYPES; kvt++)
    for (int rope = 0; rope < 2; rope++) {
      char *n = name[kvt * 2 + rope];
      snprintf(n, 32, "attn%d%s", kvt, rope ? "_rope" : "");
      if (!host_kv_ok(kvt)) continue;
      /* fuse-rope: q rotated (rotate_half pairs) before the scores. */
      mb_rot(&mb, n, hd, 10000.0f, "0", rh);
      mb_kv(&mb, n, kvt);
      char stage[16];
      snprintf(stage, sizeof stage, "%d", 2 * P_BS * P_HD);
      mb_attention(&mb, n, att_lanes[(kvt + rope) % 3], 2 << ((kvt + 2 * rope) % 3), "N_HEADS", "4", "N_KV_HEADS", "2", "HEAD_DIM", hd,
                   "BLOCK_SIZE", "4", "BLOCK_FLOATS", bf, "MAX_BLOCKS", "4", "SCALE", scale, "ROPE", rope ? "1" : "0",
                   "WINDOW", "0", "SOFTCAP", "0.0", kvt == KV_I8 ? "READ_KVD" : NULL, hd, "STAGE_FLOATS", stage, NULL);
    }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  for (int kvt = 0; kvt < KV_TYPES; kvt++)
    for (int rope = 0; rope < 2; rope++) {
      if (!host_kv_ok(kvt)) continue;
      uint64_t rng = 19;
      bufs_t b;
      const int R = P_H * P_HD;
      const int64_t q_off = 5, o_off = q_off + P_T * R + 3;
      const int64_t pool_words = kv_pool_words(kvt);
      bufs_alloc(&b, o_off + P_T * R, 1, pool_words, M_INTS);
      fill(b.act + q_off, P_T * R, &rng, -2, 2);
      /* The pool's values, as the kernel reads them. */
      float *pool = malloc(sizeof(float) * P_POOL * P_BF);
      fill(pool, P_POOL * P_BF, &rng, -2, 2);
      if (kvt == KV_F32) {
        memcpy(b.kv, pool, sizeof(float) * P_POOL * P_BF);
      } else if (kvt == KV_I8) { /* rows of int8s and their scale; the values they stand for */
        for (int64_t e = 0; e < P_POOL * P_BF; e += P_HD) {
          llmc_i8_row_quantize(pool + e, P_HD, kv_i8_row(b.kv, e), kv_i8_scale(b.kv, e));
          for (int d = 0; d < P_HD; d++) pool[e + d] = kv_i8_row(b.kv, e)[d] * *kv_i8_scale(b.kv, e);
        }
      } else {
        uint16_t *kv16 = (uint16_t *)b.kv;
        for (int64_t e = 0; e < P_POOL * P_BF; e++) {
          kv16[e] = kv_round(kvt, pool[e]);
          pool[e] = kv_widen(kvt, kv16[e]);
        }
      }
      set_meta(b.meta);
      const int layer = 1;
      float want[P_T * P_H * P_HD], q_rot[P_T * P_H * P_HD];
      ref_rope(b.act + q_off, q_rot, p_pos, P_T, P_H, P_HD, 10000.0f, 0);
      for (int t = 0; t < P_T; t++)
        for (int h = 0; h < P_H; h++) {
          int g = h / (P_H / P_KVH), p = p_pos[t];
          const int32_t *bt = p_tables[p_seq[t]];
          const float *q = rope ? q_rot + t * R + h * P_HD : b.act + q_off + t * R + h * P_HD;
          double s[16], m = -INFINITY, sum = 0;
          for (int j = 0; j <= p; j++) {
            const float *k = pool + kv_at(bt[j / P_BS], layer, 0, j % P_BS, g * P_HD);
            double dot = 0;
            for (int d = 0; d < P_HD; d++) dot += (double)q[d] * k[d];
            s[j] = dot * sc;
            m = s[j] > m ? s[j] : m;
          }
          for (int j = 0; j <= p; j++) sum += exp(s[j] - m);
          for (int d = 0; d < P_HD; d++) {
            double acc = 0;
            for (int j = 0; j <= p; j++)
              acc += exp(s[j] - m) / sum * pool[kv_at(bt[j / P_BS], layer, 1, j % P_BS, g * P_HD + d)];
            want[t * R + h * P_HD + d] = (float)acc;
          }
        }
      int64_t args[7] = {q_off, o_off, M_POS, M_SEQ, M_BT, layer, P_T};
      memcpy(b.args, args, sizeof args);
      launch(lib_fn(&lib, name[kvt * 2 + rope]), &b, 7, P_T * P_H);
      expect_close(b.act + o_off, want, P_T * R, name[kvt * 2 + rope]);
      free(pool);
      bufs_free(&b);
    }
  lib_close(&lib);
}

/* The attention kernel over the shapes models have: head dims 64, 80, 96,
 * 128 and 256 (and 40: 16 lanes of scores leave 8 of the head dim over),
 * GQA ratios 1, 4 and 8, each with 4, 8 and 16 lanes of scores, and contexts of 1, 7, 64, 513 and
 * 2048 positions (one step's tokens at those positions of one sequence,
 * blocks of 16 in reverse order in the pool, so every prompt crosses block
 * boundaries), against a double-precision softmax. */
enum { S_BS = 16, S_MAXB = 128, S_KVH = 2, S_T = 5 };
static void test_attention_shapes(void **state) {
  (void)state;
  static const int hds[] = {64, 80, 96, 128, 256, 40}, groups[] = {1, 4, 8};
  static const int32_t pos[S_T] = {0, 6, 63, 512, 2047};
  enum { N_HD = 6, N_G = 3 };
  module_builder_t mb;
  mb_init(&mb);
  char names[N_HD * N_G][32];
  for (int i = 0; i < N_HD; i++)
    for (int j = 0; j < N_G; j++) {
      int hd = hds[i], h = S_KVH * groups[j];
      char *n = names[i * N_G + j], v[6][24];
      snprintf(n, 32, "as_%d_%d", hd, groups[j]);
      snprintf(v[0], 24, "%d", hd);
      snprintf(v[1], 24, "%d", hd / 2);
      snprintf(v[2], 24, "%d", h);
      snprintf(v[3], 24, "%d", 2 * S_BS * S_KVH * hd); /* one layer's K and V a block */
      snprintf(v[4], 24, "%d", S_MAXB);
      llmc_template_f32_literal(1.0f / sqrtf((float)hd), v[5]);
      mb_rot(&mb, n, v[0], 10000.0f, "0", v[1]);
      mb_add(&mb, "kv_f32", "NAME", n, "HEAD_DIM", v[0], NULL);
      mb_attention(&mb, n, att_lanes[(i + j) % 3], 2 << (i % 3), "N_HEADS", v[2], "N_KV_HEADS", "2", "HEAD_DIM", v[0],
                   "BLOCK_SIZE", "16", "BLOCK_FLOATS", v[3], "MAX_BLOCKS", v[4], "SCALE", v[5], "ROPE", "0", "WINDOW",
                   "0", "SOFTCAP", "0.0", NULL);
    }
  kernel_lib_t lib;
  mb_build(&mb, &lib);
  for (int i = 0; i < N_HD; i++)
    for (int j = 0; j < N_G; j++) {
      const int hd = hds[i], H = S_KVH * groups[j], R = H * hd, kvd = S_KVH * hd, bf = 2 * S_BS * kvd;
      uint64_t rng = 23 + (uint64_t)(i * N_G + j);
      bufs_t b;
      const int64_t q_off = 3, o_off = q_off + S_T * R + 5;
      const int m_pos = 0, m_seq = S_T, m_bt = 2 * S_T;
      bufs_alloc(&b, o_off + S_T * R, 1, (int64_t)S_MAXB * bf, m_bt + S_MAXB);
      fill(b.act + q_off, S_T * R, &rng, -2, 2);
      fill(b.kv, (int64_t)S_MAXB * bf, &rng, -2, 2);
      for (int t = 0; t < S_T; t++) b.meta[m_pos + t] = pos[t], b.meta[m_seq + t] = 0;
      for (int k = 0; k < S_MAXB; k++) b.meta[m_bt + k] = S_MAXB - 1 - k;
      float *want = malloc(sizeof(float) * (size_t)(S_T * R));
      double *sc = malloc(sizeof(double) * 2048);
      for (int t = 0; t < S_T; t++)
        for (int h = 0; h < H; h++) {
          int g = h / groups[j], p = pos[t];
          const float *q = b.act + q_off + t * R + h * hd;
          double m = -INFINITY, sum = 0;
          for (int x = 0; x <= p; x++) {
            const float *k = b.kv + (int64_t)b.meta[m_bt + x / S_BS] * bf + (x % S_BS) * kvd + g * hd;
            double dot = 0;
            for (int d = 0; d < hd; d++) dot += (double)q[d] * k[d];
            sc[x] = dot / sqrt((double)hd);
            m = sc[x] > m ? sc[x] : m;
          }
          for (int x = 0; x <= p; x++) sum += exp(sc[x] - m);
          for (int d = 0; d < hd; d++) {
            double acc = 0;
            for (int x = 0; x <= p; x++)
              acc += exp(sc[x] - m) / sum *
                     b.kv[(int64_t)b.meta[m_bt + x / S_BS] * bf + (S_BS + x % S_BS) * kvd + g * hd + d];
            want[t * R + h * hd + d] = (float)acc;
          }
        }
      int64_t args[7] = {q_off, o_off, m_pos, m_seq, m_bt, 0, S_T};
      memcpy(b.args, args, sizeof args);
      launch(lib_fn(&lib, names[i * N_G + j]), &b, 7, S_T * H);
      expect_close(b.act + o_off, want, S_T * R, names[i * N_G + j]);
      free(sc);
      free(want);
      bufs_free(&b);
    }
  lib_close(&lib);
}

/* ---- targets other than host, determinism ---- */

/* A module using every template, for object-level checks. */
static char *all_families_module(void) {
  char eps[11], theta[11], scale[11];
  llmc_template_f32_literal(1e-5f, eps);
  llmc_template_f32_literal(10000.0f, theta);
  llmc_template_f32_literal(0.25f, scale);
  module_builder_t mb;
  mb_init(&mb);
  mb_add(&mb, "embedding", "NAME", "emb", "D", "64", "SCALE", "1.0", NULL);
  llmc_buf_t epi = {0};
  llmc_matmul_epilogue(LLMC_EPILOGUE_STORE, 64, NULL, 0, &epi);
  mb_rows(&mb, "mm", true);
  mb_add(&mb, "matmul", "NAME", "mm", "K", "64", "N", "64", "VEC", "16", "PF", "2048", "PF_ON", "true", "EPILOGUE", epi.data, NULL);
  /* matmul_q8 with the integer dot every target has (AArch64 too). */
  mb_q8_helpers(&mb, "mq", Q8_I4, 64, 4, "q8_dot64", false);
  mb_add(&mb, "matmul_q8", "NAME", "mq", "K", "64", "N", "64", "STEPS", "1", "TQ", "4", "QA", "256", "DA",
         "16", "CA", "64", "QWORDS", "8", "STEP_WORDS", "8", "SWORDS", "1", "SCALES", "512", "FOUR_COLS", "1",
         "PF", "512", "PF_ON", "true", "EPILOGUE", epi.data,
         NULL);
  llmc_buf_free(&epi);
  mb_add(&mb, "add", "NAME", "add", "N", "64", NULL);
  mb_add(&mb, "mul", "NAME", "mul", "N", "64", NULL);
  mb_add(&mb, "exp_vec", "NAME", "silu", "W", "16", "HI", "88.0", NULL);
  mb_add(&mb, "silu", "NAME", "silu", "N", "64", NULL);
  mb_add(&mb, "gelu", "NAME", "gelu", "N", "64", NULL);
  mb_add(&mb, "exp_vec", "NAME", "silu_mul", "W", "16", "HI", "88.0", NULL);
  mb_add(&mb, "silu_mul", "NAME", "silu_mul", "N", "64", NULL);
  mb_add(&mb, "rms_norm", "NAME", "rms", "D", "64", "EPS", eps, "OFFSET", "0.0", NULL);
  mb_add(&mb, "layer_norm", "NAME", "ln", "D", "64", "EPS", eps, NULL);
  mb_add(&mb, "softmax", "NAME", "sm", "N", "64", NULL);
  (void)theta;
  mb_rot(&mb, "rope", "16", 10000.0f, "0", "8");
  mb_add(&mb, "rope", "NAME", "rope", "N_HEADS", "4", "HEAD_DIM", "16", NULL);
  mb_rot(&mb, "kvw", "16", 10000.0f, "0", "8");
  mb_add(&mb, "kv_bf16", "NAME", "kvw", "HEAD_DIM", "16", "HALF_HD", "8", NULL);
  mb_add(&mb, "kv_write", "NAME", "kvw", "KVD", "32", "BLOCK_SIZE", "16", "BLOCK_FLOATS", "2048",
         "MAX_BLOCKS", "8", "ROPE", "1", "HEAD_DIM", "16", NULL);
  mb_rot(&mb, "attn", "16", 10000.0f, "1", "8");
  mb_add(&mb, "kv_f32", "NAME", "attn", "HEAD_DIM", "16", NULL);
  mb_attention(&mb, "attn", 16, 8, "N_HEADS", "4", "N_KV_HEADS", "2", "HEAD_DIM", "16", "BLOCK_SIZE", "16",
               "BLOCK_FLOATS", "2048", "MAX_BLOCKS", "8", "SCALE", scale, "ROPE", "1", "WINDOW", "0", "SOFTCAP", "0.0",
               NULL);
  llmc_buf_printf(&mb.text, "}\n");
  return mb.text.data;
}

static void emit_for(const char *module_text, const char *target, llmc_buf_t *obj,
                     llmc_buf_t *lowered, llmc_buf_t *ir) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = NULL;
  check_ok(llmc_host_lower(module_text, ctx, &m, lowered));
  llmc_target_t t;
  check_ok(llmc_target_lookup(target, &t));
  check_ok(llmc_llvm_emit_object(m, &t, 3, obj, ir));
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
}

static void test_aarch64_object(void **state) {
  (void)state;
  char *text = all_families_module();
  llmc_buf_t obj = {0};
  emit_for(text, "aarch64", &obj, NULL, NULL);
  assert_true(obj.len > 64);
  assert_memory_equal(obj.data, "\177ELF", 4);
  uint16_t machine;
  memcpy(&machine, obj.data + 18, 2);
  assert_int_equal(machine, 183); /* EM_AARCH64 */
  llmc_buf_free(&obj);
  free(text);
}

static void test_determinism(void **state) {
  (void)state;
  char *text = all_families_module();
  llmc_buf_t obj1 = {0}, obj2 = {0}, low = {0}, ir = {0};
  emit_for(text, "x86-64-v3", &obj1, &low, &ir);
  emit_for(text, "x86-64-v3", &obj2, NULL, NULL);
  assert_int_equal(obj1.len, obj2.len);
  assert_memory_equal(obj1.data, obj2.data, obj1.len);
  uint16_t machine;
  memcpy(&machine, obj1.data + 18, 2);
  assert_int_equal(machine, 62); /* EM_X86_64 */
  /* --emit=mlir and --emit=llvm outputs are filled. */
  assert_non_null(strstr(low.data, "llvm.func @_mlir_ciface_mm"));
  assert_non_null(strstr(ir.data, "define void @_mlir_ciface_attn"));
  /* x86-64-v3 has FMA: the matmul's contract pairs become fma. */
  assert_non_null(strstr(ir.data, "fmuladd") ? ir.data : strstr(ir.data, "contract"));

  /* Linking is deterministic too. */
  char dir[] = "/tmp/llmc_cg_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char o1[64], o2[64], s1[64], s2[64];
  snprintf(o1, sizeof o1, "%s/a.o", dir);
  snprintf(o2, sizeof o2, "%s/b.o", dir);
  snprintf(s1, sizeof s1, "%s/a.so", dir);
  snprintf(s2, sizeof s2, "%s/b.so", dir);
  write_file(o1, obj1.data, obj1.len);
  write_file(o2, obj2.data, obj2.len);
  check_ok(llmc_link_shared(o1, s1));
  check_ok(llmc_link_shared(o2, s2));
  llmc_file_map_t m1, m2;
  check_ok(llmc_file_map_open(s1, &m1));
  check_ok(llmc_file_map_open(s2, &m2));
  assert_int_equal(m1.size, m2.size);
  assert_memory_equal(m1.data, m2.data, m1.size);
  llmc_file_map_close(&m1);
  llmc_file_map_close(&m2);
  unlink(o1), unlink(o2), unlink(s1), unlink(s2);
  rmdir(dir);
  llmc_buf_free(&obj1);
  llmc_buf_free(&obj2);
  llmc_buf_free(&low);
  llmc_buf_free(&ir);
  free(text);
}

/* Bad module text: MLIR's diagnostics, with a location, reach the status. */
static void test_parse_error(void **state) {
  (void)state;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = NULL;
  llmc_status_t *st = llmc_host_lower("module {\n  func.func @f() {\n    %x = arith.constant 1.0 : f32\n"
                                      "    return %x : f32\n  }\n}\n",
                                      ctx, &m, NULL);
  assert_non_null(st);
  assert_null(m);
  assert_int_equal(llmc_status_code(st), LLMC_INTERNAL);
  const char *msg = llmc_status_message(st);
  assert_non_null(strstr(msg, "error"));
  assert_non_null(strstr(msg, "<kernels>:4:"));
  llmc_status_free(st);
  LLVMContextDispose(ctx);
}

static void test_link_error(void **state) {
  (void)state;
  llmc_status_t *st = llmc_link_shared("/nonexistent/x.o", "/tmp/llmc_never.so");
  assert_non_null(st);
  assert_non_null(strstr(llmc_status_message(st), "x.o"));
  llmc_status_free(st);
  /* LLMC_LLD overrides the configured linker. */
  assert_int_equal(setenv("LLMC_LLD", "/nonexistent/ld.lld", 1), 0);
  st = llmc_link_shared("/nonexistent/x.o", "/tmp/llmc_never.so");
  unsetenv("LLMC_LLD");
  assert_non_null(st);
  assert_int_equal(llmc_status_code(st), LLMC_UNAVAILABLE);
  assert_non_null(strstr(llmc_status_message(st), "/nonexistent/ld.lld"));
  llmc_status_free(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_mul),     cmocka_unit_test(test_bias_add),     cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_matmul_q8),
      cmocka_unit_test(test_gemm_host),
      cmocka_unit_test(test_embedding),   cmocka_unit_test(test_argmax),
      cmocka_unit_test(test_activations),
      cmocka_unit_test(test_norms),       cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_rope),        cmocka_unit_test(test_kv_write),
      cmocka_unit_test(test_attention),   cmocka_unit_test(test_attention_shapes),   cmocka_unit_test(test_aarch64_object),
      cmocka_unit_test(test_determinism), cmocka_unit_test(test_parse_error),
      cmocka_unit_test(test_link_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
