/* test_gpu_codegen.c: static validation of GPU code generation, no GPU needed.
 *
 *   test_gpu_codegen units       pipeline strings, rope table, error paths,
 *                                determinism, PTX-only fallback
 *   test_gpu_codegen TARGET      every kernel family instantiated with
 *                                realistic parameters into ONE gpu.module,
 *                                compiled for TARGET and checked by the
 *                                vendor's own tools:
 *     sm_*     ptxas -arch=sm_XX accepts the PTX (llmc also made a cubin with
 *              it), the cubin is an ELF for EM_CUDA, every kernel is a
 *              .entry, and the PTX calls no external function;
 *     gfx*     llvm-readelf -h shows an AMDGPU ELF whose flags name the chip,
 *              llvm-nm -u lists nothing, every kernel has its .kd descriptor;
 *     spirv    spirv-val accepts the module, every kernel is an OpEntryPoint.
 * LLMC_GPU_TEST_DUMP=DIR keeps TARGET.mlir (the instances), TARGET.image and
 * TARGET.s (PTX, AMDGPU or SPIR-V assembly) for inspection.
 * A tool missing at configure time skips its check with a printed message.
 * What this does NOT check: numerical results. Those are checked by
 * emulation (test_gpu_emulation.c and the emu.gpu.* tests in tests/gpu) and,
 * when a device is present, by the gpu.* tests. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "llmc_codegen.h"
#include "llmc_kplan.h"
#include "kplan_impl.h" /* llmc_gemv_warp_generate */
#include "../expect_status.h"

#ifndef LLMC_TEST_PTXAS
#define LLMC_TEST_PTXAS ""
#endif
#ifndef LLMC_TEST_READELF
#define LLMC_TEST_READELF ""
#endif
#ifndef LLMC_TEST_NM
#define LLMC_TEST_NM ""
#endif
#ifndef LLMC_TEST_SPIRV_VAL
#define LLMC_TEST_SPIRV_VAL ""
#endif
#ifndef LLMC_TEST_SPIRV_DIS
#define LLMC_TEST_SPIRV_DIS ""
#endif

static const char *target_name; /* set by main for the per-target run */

static void check_ok(llmc_status_t *st) {
  if (st) {
    char buf[16384];
    llmc_status_format(st, buf, sizeof buf);
    print_error("%s\n", buf);
    llmc_status_free(st);
    fail();
  }
}

static const llmc_target_t *find_target(const char *name) {
  int n;
  const llmc_target_t *table = llmc_target_table(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

/* --- the kernel set --- */

#define P(k, v) {k, v}
typedef struct {
  const char *family;
  const char *name;
  llmc_template_param_t params[16];
  int n;
} kernel_t;

/* A LLaMA-like layer at toy scale: D=256, 4 heads of 64 (2 KV heads), MLP 512,
 * 2 layers of KV, blocks of 16 tokens, 8 blocks per sequence. */
static char rope_inv[4096];
/* Matmul epilogues (llmc_matmul_epilogue): a store, a residual add, a
 * three-way split, so every lowering sees each. */
static char epi_store[4096], epi_add[4096], epi_split[8192];
static const kernel_t kernels[] = {
    {"embedding", "k_embedding", {P("NAME", "k_embedding"), P("D", "256"), P("SCALE", "0x41000000"), P("WG", "256")}, 4},
    {"softcap", "k_softcap", {P("NAME", "k_softcap"), P("N", "512"), P("CAP", "0x41F00000"), P("WG", "256")}, 4},
    {"matmul", "k_matmul", {P("NAME", "k_matmul"), P("K", "256"), P("N", "512"), P("COLS", "8"), P("WG", "256"), P("EPILOGUE", epi_store)}, 6},
    {"matmul", "k_matmul_add", {P("NAME", "k_matmul_add"), P("K", "256"), P("N", "512"), P("COLS", "4"), P("WG", "256"), P("EPILOGUE", epi_add)}, 6},
    {"matmul", "k_matmul_tail", {P("NAME", "k_matmul_tail"), P("K", "512"), P("N", "250"), P("COLS", "4"), P("WG", "128"), P("EPILOGUE", epi_split)}, 6},
    {"add", "k_add", {P("NAME", "k_add"), P("N", "256"), P("WG", "256")}, 3},
    {"slice", "k_slice", {P("NAME", "k_slice"), P("N", "64"), P("WIDTH", "160"), P("BEGIN", "8"), P("WG", "64")}, 5},
    {"mul", "k_mul", {P("NAME", "k_mul"), P("N", "256"), P("WG", "256")}, 3},
    {"silu", "k_silu", {P("NAME", "k_silu"), P("N", "512"), P("WG", "256")}, 3},
    {"silu_mul", "k_silu_mul", {P("NAME", "k_silu_mul"), P("N", "512"), P("WG", "256")}, 3},
    {"gelu", "k_gelu", {P("NAME", "k_gelu"), P("N", "512"), P("WG", "256")}, 3},
    {"rms_norm", "k_rms_norm", {P("NAME", "k_rms_norm"), P("D", "256"), P("EPS", "0x3727C5AC"), P("OFFSET", "1.0"), P("WG", "256")}, 5},
    {"layer_norm", "k_layer_norm", {P("NAME", "k_layer_norm"), P("D", "256"), P("EPS", "0x3727C5AC"), P("WG", "256")}, 4},
    {"softmax", "k_softmax", {P("NAME", "k_softmax"), P("N", "512"), P("WG", "256")}, 3},
    {"rope", "k_rope", {P("NAME", "k_rope"), P("N_HEADS", "4"), P("HEAD_DIM", "64"), P("HALF_DIM", "32"), P("WG", "128")}, 5},
    {"rope", "k_rope_gptj", {P("NAME", "k_rope_gptj"), P("N_HEADS", "2"), P("HEAD_DIM", "64"), P("HALF_DIM", "32"), P("WG", "64")}, 5},
    {"kv_write", "k_kv_write", {P("NAME", "k_kv_write"), P("KVD", "128"), P("BLOCK_SIZE", "16"), P("BLOCK_FLOATS", "8192"), P("MAX_BLOCKS", "8"), P("WG", "128"), P("ROPE", "1"), P("HEAD_DIM", "64"), P("HALF_DIM", "32")}, 9},
    {"attention", "k_attention", {P("NAME", "k_attention"), P("N_HEADS", "4"), P("N_KV_HEADS", "2"), P("HEAD_DIM", "64"), P("BLOCK_SIZE", "16"), P("BLOCK_FLOATS", "8192"), P("MAX_BLOCKS", "8"), P("SCALE", "0x3E000000"), P("ROPE", "1"), P("HALF_DIM", "32"), P("WINDOW", "5"), P("SOFTCAP", "0x42480000")}, 12},
};
#define N_KERNELS ((int)(sizeof kernels / sizeof kernels[0]))

/* The rope_rot helper's pairing of the kernels that rotate: the style, and
 * the pairs that turn (fewer than HALF_DIM: a partial rotary). */
static const struct {
  const char *name, *style, *rot_half;
} pairings[] = {{"k_rope", "0", "32"}, {"k_rope_gptj", "1", "24"}, {"k_kv_write", "0", "16"}, {"k_attention", "1", "32"}};

static void build_kernels(llmc_buf_t *text) {
  if (!epi_store[0]) {
    static const int64_t sizes[3] = {128, 61, 61};
    struct {
      llmc_epilogue_t e;
      int64_t n;
      char *dst;
      size_t cap;
    } epis[] = {{LLMC_EPILOGUE_STORE, 512, epi_store, sizeof epi_store},
                {LLMC_EPILOGUE_ADD, 512, epi_add, sizeof epi_add},
                {LLMC_EPILOGUE_SPLIT, 250, epi_split, sizeof epi_split}};
    for (size_t i = 0; i < sizeof epis / sizeof epis[0]; i++) {
      llmc_buf_t b = {0};
      llmc_matmul_epilogue(epis[i].e, epis[i].n, sizes, 3, &b);
      assert_true(!b.failed && b.len < epis[i].cap);
      memcpy(epis[i].dst, b.data, b.len + 1);
      llmc_buf_free(&b);
    }
  }
  if (!rope_inv[0]) {
    llmc_buf_t b = {0};
    float inv[32];
    char lit[16];
    llmc_ir_rope_inv_freq(&(llmc_rope_t){.theta = 10000, .cos_sin_scale = 1}, 64, inv);
    for (int i = 0; i < 32; i++) llmc_buf_printf(&b, "%s%s", i ? ", " : "", llmc_template_f32_literal(inv[i], lit));
    assert_true(b.len < sizeof rope_inv);
    memcpy(rope_inv, b.data, b.len + 1);
    llmc_buf_free(&b);
  }
  for (int i = 0; i < N_KERNELS; i++) {
    /* Kernels that rotate (rope, and kv_write/attention with ROPE) call
     * their rope_rot helper. */
    const char *f = kernels[i].family;
    if (!strcmp(f, "rope") || !strcmp(f, "kv_write") || !strcmp(f, "attention")) {
      int k = 0;
      while (strcmp(pairings[k].name, kernels[i].name)) k++;
      const llmc_template_param_t hp[] = {P("NAME", kernels[i].name), P("HALF_DIM", "32"), P("INV_FREQ", rope_inv),
                                          P("COS_SIN_SCALE", "1.0"),       P("STYLE", pairings[k].style),
                                          P("ROT_HALF", pairings[k].rot_half)};
      check_ok(llmc_template_instantiate("rope_rot", "gpu", hp, 6, text));
    }
    /* kv_write and attention read and write the pool through its helper:
     * here bf16 for kv_write and f16 for attention (two to a word). */
    if (!strcmp(f, "kv_write") || !strcmp(f, "attention")) {
      const llmc_template_param_t kp[] = {P("NAME", kernels[i].name), P("DPL", "2"), P("HALF_DPL", "1")};
      check_ok(llmc_template_instantiate(!strcmp(f, "kv_write") ? "kv_bf16" : "kv_f16", "gpu", kp, 3, text));
    }
    check_ok(llmc_template_instantiate(kernels[i].family, "gpu", kernels[i].params, kernels[i].n,
                                       text));
    llmc_buf_append(text, "\n", 1);
  }
}

/* --- running the vendor tools --- */

static char scratch_dir[64];

/* Returns one of a few static buffers, so two paths can be live at once. */
static const char *scratch_path(const char *name) {
  static char paths[4][256];
  static int next;
  char *path = paths[next++ % 4];
  if (!scratch_dir[0]) {
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/llmc-gpu-test-XXXXXX");
    assert_non_null(mkdtemp(scratch_dir));
  }
  snprintf(path, sizeof paths[0], "%s/%s", scratch_dir, name);
  return path;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Runs a shell command; returns its exit status and appends its output. */
static int run(llmc_buf_t *out, const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) llmc_buf_append(out, chunk, n);
  llmc_buf_append(out, "", 1);
  out->len--;
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool have(const char *tool, const char *check) {
  if (tool[0] && access(tool, X_OK) == 0) return true;
  printf("SKIP %s: tool not found at configure time\n", check);
  return false;
}

static void expect_contains(const char *haystack, const char *needle, const char *what) {
  if (!strstr(haystack, needle)) {
    print_error("%s: '%s' not found in:\n%.4000s\n", what, needle, haystack);
    fail();
  }
}

static void check_nvidia(const llmc_target_t *t, const llmc_buf_t *image, const char *ptx,
                         llmc_gpu_image_kind_t kind) {
  for (int i = 0; i < N_KERNELS; i++) {
    char entry[128];
    snprintf(entry, sizeof entry, ".entry %s(", kernels[i].name);
    expect_contains(ptx, entry, "PTX kernel entry");
  }
  if (strstr(ptx, ".extern .func")) {
    print_error("PTX calls an external function (libdevice not linked?)\n");
    fail();
  }
  if (!have(LLMC_TEST_PTXAS, "ptxas")) {
    assert_int_equal(kind, LLMC_GPU_IMAGE_PTX);
    return;
  }
  assert_int_equal(kind, LLMC_GPU_IMAGE_CUBIN);
  /* ELF, e_machine EM_CUDA (190). */
  assert_true(image->len > 64 && memcmp(image->data, "\177ELF", 4) == 0);
  assert_int_equal((unsigned char)image->data[18] | ((unsigned char)image->data[19] << 8), 190);
  const char *in = scratch_path("k.ptx");
  write_bytes(in, ptx, strlen(ptx));
  llmc_buf_t log = {0};
  int rc = run(&log, "'%s' -arch=%s -o '%s' '%s'", LLMC_TEST_PTXAS, t->cpu,
               scratch_path("k.cubin"), in);
  if (rc != 0) {
    print_error("ptxas -arch=%s rejected the PTX:\n%s\n", t->cpu, log.data);
    fail();
  }
  llmc_buf_free(&log);
}

static void check_amd(const llmc_target_t *t, const llmc_buf_t *image) {
  const char *path = scratch_path("k.hsaco");
  write_bytes(path, image->data, image->len);
  assert_true(image->len > 64 && memcmp(image->data, "\177ELF", 4) == 0);
  if (have(LLMC_TEST_READELF, "llvm-readelf -h")) {
    llmc_buf_t h = {0};
    assert_int_equal(run(&h, "'%s' -h '%s'", LLMC_TEST_READELF, path), 0);
    expect_contains(h.data, "EM_AMDGPU", "ELF machine");
    char flags[64];
    snprintf(flags, sizeof flags, ", %s", t->cpu); /* "Flags: 0x54c, gfx942, xnack, sramecc" */
    const char *line = strstr(h.data, "Flags:");
    assert_non_null(line);
    expect_contains(line, flags, "ELF flags naming the chip");
    expect_contains(h.data, "DYN", "shared object");
    llmc_buf_free(&h);
  }
  if (have(LLMC_TEST_NM, "llvm-nm -u")) {
    llmc_buf_t u = {0}, all = {0};
    assert_int_equal(run(&u, "'%s' -u '%s'", LLMC_TEST_NM, path), 0);
    if (u.len) {
      print_error("undefined symbols in the code object:\n%s\n", u.data);
      fail();
    }
    assert_int_equal(run(&all, "'%s' '%s'", LLMC_TEST_NM, path), 0);
    for (int i = 0; i < N_KERNELS; i++) {
      char kd[128];
      snprintf(kd, sizeof kd, " %s.kd\n", kernels[i].name);
      expect_contains(all.data, kd, "kernel descriptor");
    }
    llmc_buf_free(&u);
    llmc_buf_free(&all);
  }
}

static void check_spirv(const llmc_buf_t *image) {
  const char *path = scratch_path("k.spv");
  write_bytes(path, image->data, image->len);
  assert_true(image->len > 20);
  assert_int_equal((unsigned char)image->data[0] | ((unsigned char)image->data[1] << 8) |
                       ((unsigned char)image->data[2] << 16) |
                       ((unsigned)(unsigned char)image->data[3] << 24),
                   0x07230203u); /* SPIR-V magic */
  if (have(LLMC_TEST_SPIRV_VAL, "spirv-val")) {
    llmc_buf_t log = {0};
    int rc = run(&log, "'%s' '%s'", LLMC_TEST_SPIRV_VAL, path);
    if (rc != 0) {
      print_error("spirv-val rejected the module:\n%s\n", log.data);
      fail();
    }
    llmc_buf_free(&log);
  }
  if (have(LLMC_TEST_SPIRV_DIS, "spirv-dis entry points")) {
    llmc_buf_t dis = {0};
    assert_int_equal(run(&dis, "'%s' '%s'", LLMC_TEST_SPIRV_DIS, path), 0);
    for (int i = 0; i < N_KERNELS; i++) {
      char ep[128];
      snprintf(ep, sizeof ep, "\"%s\"", kernels[i].name);
      expect_contains(dis.data, "OpEntryPoint Kernel", "SPIR-V entry points");
      expect_contains(dis.data, ep, "SPIR-V kernel name");
    }
    expect_contains(dis.data, "Workgroup", "workgroup memory");
    llmc_buf_free(&dis);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The per-target test: all families, one module, the vendor's checks. */
static void test_target(void **state) {
  (void)state;
  const llmc_target_t *t = find_target(target_name);
  assert_non_null(t);
  assert_true(t->is_gpu);
  llmc_buf_t text = {0}, image = {0}, as = {0};
  build_kernels(&text);
  /* The shuffle GEMV (a C generator, NVIDIA and AMD only): bf16 with a split
   * epilogue and f16 with a residual add, the unrolled loop and the tail. */
  bool shuffles = llmc_gpu_vendor(t) != LLMC_GPU_VENDOR_INTEL;
  if (shuffles) {
    char ws[8];
    snprintf(ws, sizeof ws, "%d", t->warp_size);
    llmc_buf_t epi_s = {0}, epi_a = {0};
    static const int64_t sizes[3] = {256, 64, 64};
    llmc_matmul_epilogue(LLMC_EPILOGUE_SPLIT, 384, sizes, 3, &epi_s);
    llmc_matmul_epilogue(LLMC_EPILOGUE_ADD, 256, NULL, 0, &epi_a);
    /* ... and with the fused rms_norm prologue and silu_mul epilogue. */
    llmc_kinstance_t a = {.family = "gemv_warp", .generate = llmc_gemv_warp_generate, .n = 13,
                          .params = {{"K", "2056"}, {"N", "384"}, {"EPILOGUE", epi_s.data}, {"WTYPE", "bf16"},
                                     {"WS", ws}, {"R", "2"}, {"WARPS", "4"}, {"UNROLL", "4"}, {"NORM", "0"},
                                     {"EPS", "0x00000000"}, {"NOFFSET", "0x00000000"}, {"GLU", "0"}, {"TOK", "1"}}};
    llmc_kinstance_t b = {.family = "gemv_warp", .generate = llmc_gemv_warp_generate, .n = 13,
                          .params = {{"K", "5632"}, {"N", "256"}, {"EPILOGUE", epi_a.data}, {"WTYPE", "f16"},
                                     {"WS", ws}, {"R", "1"}, {"WARPS", "8"}, {"UNROLL", "8"}, {"NORM", "1"},
                                     {"EPS", "0x3727C5AC"}, {"NOFFSET", "0x00000000"}, {"GLU", "1"}, {"TOK", "4"}}};
    /* Gemma: the (1 + w) norm prologue and the gelu_mul (GeGLU) epilogue. */
    llmc_kinstance_t c = {.family = "gemv_warp", .generate = llmc_gemv_warp_generate, .n = 13,
                          .params = {{"K", "2304"}, {"N", "512"}, {"EPILOGUE", epi_a.data}, {"WTYPE", "bf16"},
                                     {"WS", ws}, {"R", "2"}, {"WARPS", "4"}, {"UNROLL", "2"}, {"NORM", "1"},
                                     {"EPS", "0x358637BD"}, {"NOFFSET", "0x3F800000"}, {"GLU", "2"}, {"TOK", "2"}}};
    check_ok(llmc_kinstance_render(&a, "gpu", "k_gemv_warp_split", &text));
    check_ok(llmc_kinstance_render(&b, "gpu", "k_gemv_warp_add", &text));
    check_ok(llmc_kinstance_render(&c, "gpu", "k_gemv_warp_geglu", &text));
    /* attention_warp: head_dim 64 over the warp's lanes, q rotated first,
     * doing the decode kv_write (KVW). */
    char dpl[8], threads[8], log2[8];
    snprintf(dpl, sizeof dpl, "%d", 64 / t->warp_size);
    snprintf(threads, sizeof threads, "%d", 4 * t->warp_size);
    snprintf(log2, sizeof log2, "%d", t->warp_size == 64 ? 6 : 5);
    const llmc_template_param_t rot[] = {P("NAME", "k_attention_warp"), P("HALF_DIM", "32"), P("INV_FREQ", rope_inv),
                                         P("COS_SIN_SCALE", "1.0"), P("STYLE", "0"), P("ROT_HALF", "24")};
    check_ok(llmc_template_instantiate("rope_rot", "gpu", rot, 6, &text));
    /* Its pool: bf16 where a lane holds an even number of dimensions (2 of
     * 64 on 32 lanes), else f32 (1 on AMD's 64). */
    bool even = (64 / t->warp_size) % 2 == 0;
    const llmc_template_param_t kvh[] = {P("NAME", "k_attention_warp"), P("DPL", dpl), P("HALF_DPL", "1")};
    check_ok(llmc_template_instantiate(even ? "kv_bf16" : "kv_f32", "gpu", kvh, even ? 3 : 2, &text));
    const llmc_template_param_t aw[] = {
        P("NAME", "k_attention_warp"), P("N_HEADS", "8"), P("N_KV_HEADS", "2"), P("HEAD_DIM", "64"),
        P("BLOCK_SIZE", "16"), P("BLOCK_FLOATS", "16384"), P("MAX_BLOCKS", "8"), P("SCALE", "0x3E000000"),
        P("ROPE", "1"), P("HALF_DIM", "32"), P("WINDOW", "3"), P("SOFTCAP", "0x42480000"), P("WARPS", "4"), P("WS", ws), P("DPL", dpl),
        P("THREADS", threads), P("LOG2_WS", log2), P("KVW", "1")};
    check_ok(llmc_template_instantiate("attention_warp", "gpu", aw, (int)(sizeof aw / sizeof aw[0]), &text));
    llmc_buf_free(&epi_s);
    llmc_buf_free(&epi_a);
  }
  llmc_gpu_image_info_t info;
  double t0 = now();
  llmc_status_t *st = llmc_gpu_compile(text.data, t, 3, &image, &as, &info);
  if (llmc_status_code(st) == LLMC_UNAVAILABLE) {
    /* NVIDIA kernels need CUDA's libdevice, which Debian's packages do not
     * install by default: say so and skip rather than fail. */
    printf("SKIP %s: %s\n", t->name, llmc_status_message(st));
    llmc_status_free(st);
    llmc_buf_free(&text);
    skip();
  }
  check_ok(st);
  printf("%s: %d kernels, image %zu bytes, asm %zu bytes; mlir %.2fs llvm %.2fs tools %.2fs "
         "(total %.2fs)\n",
         t->name, N_KERNELS, image.len, as.len, info.seconds_mlir, info.seconds_llvm,
         info.seconds_tools, now() - t0);
  const char *dump = getenv("LLMC_GPU_TEST_DUMP"); /* a directory: keep the outputs */
  if (dump && *dump) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.mlir", dump, t->name);
    write_bytes(path, text.data, text.len);
    snprintf(path, sizeof path, "%s/%s.image", dump, t->name);
    write_bytes(path, image.data, image.len);
    snprintf(path, sizeof path, "%s/%s.s", dump, t->name);
    write_bytes(path, as.data, as.len);
  }
  switch (llmc_gpu_vendor(t)) {
  case LLMC_GPU_VENDOR_NVIDIA:
    check_nvidia(t, &image, as.data, info.kind);
    /* Warp shuffles, and 16-byte loads of the weights. */
    expect_contains(as.data, ".entry k_gemv_warp_split(", "PTX kernel entry");
    expect_contains(as.data, ".entry k_attention_warp(", "PTX kernel entry");
    expect_contains(as.data, "shfl.sync.bfly", "a warp shuffle");
    expect_contains(as.data, "ld.global.v4", "16-byte loads");
    break;
  case LLMC_GPU_VENDOR_AMD:
    assert_int_equal(info.kind, LLMC_GPU_IMAGE_HSACO);
    check_amd(t, &image);
    break;
  case LLMC_GPU_VENDOR_INTEL:
    assert_int_equal(info.kind, LLMC_GPU_IMAGE_SPIRV);
    check_spirv(&image);
    break;
  default: fail();
  }
  llmc_buf_free(&text);
  llmc_buf_free(&image);
  llmc_buf_free(&as);
}

/* --- units --- */


static void test_vendors_and_pipelines(void **state) {
  (void)state;
  static const struct {
    const char *name;
    llmc_gpu_vendor_t vendor;
    const char *in_pipeline;
  } rows[] = {
      {"sm_80", LLMC_GPU_VENDOR_NVIDIA, "convert-gpu-to-nvvm"},
      {"sm_90a", LLMC_GPU_VENDOR_NVIDIA, "convert-gpu-to-nvvm"},
      {"gfx90a", LLMC_GPU_VENDOR_AMD, "convert-gpu-to-rocdl{chipset=gfx90a "},
      {"gfx1100", LLMC_GPU_VENDOR_AMD, "chipset=gfx1100"},
      {"spirv", LLMC_GPU_VENDOR_INTEL, "convert-gpu-to-llvm-spv{use-64bit-index=true}"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const llmc_target_t *t = find_target(rows[i].name);
    assert_non_null(t);
    assert_int_equal(llmc_gpu_vendor(t), rows[i].vendor);
    llmc_buf_t p = {0};
    check_ok(llmc_gpu_pipeline(t, &p));
    expect_contains(p.data, rows[i].in_pipeline, rows[i].name);
    llmc_buf_free(&p);
  }
  const llmc_target_t *host = find_target("x86-64-v3");
  assert_int_equal(llmc_gpu_vendor(host), LLMC_GPU_VENDOR_NONE);
  llmc_buf_t p = {0};
  expect_error(llmc_gpu_pipeline(host, &p), LLMC_INVALID_ARGUMENT, "not a GPU target");
  expect_error(llmc_gpu_compile("", host, 3, &p, NULL, NULL), LLMC_INVALID_ARGUMENT,
               "not a GPU target");
  expect_error(llmc_gpu_compile("", find_target("spirv"), 7, &p, NULL, NULL),
               LLMC_INVALID_ARGUMENT, "optimisation level 7");
  assert_int_equal(p.len, 0);
  /* GPU targets are available to the artifact writer. */
  llmc_target_t t;
  assert_null(llmc_target_lookup("sm_90", &t));
  assert_true(t.is_gpu && t.codegen_ready);
}

static void test_bad_kernel_text(void **state) {
  (void)state;
  llmc_buf_t img = {0};
  llmc_status_t *st = llmc_gpu_compile("gpu.func @broken( {", find_target("gfx942"), 3, &img,
                                       NULL, NULL);
  expect_error(st, LLMC_INTERNAL, "does not parse");
  /* A host func.func is not a kernel module: it verifies, but nothing launches it. */
  st = llmc_gpu_compile("gpu.func @k(%x: memref<?xf32>) kernel { %c = arith.constant 0 : index\n"
                        "  %v = memref.load %x[%c] : memref<?xf32>\n  %y = math.atan %v : f32\n"
                        "  memref.store %y, %x[%c] : memref<?xf32>\n  gpu.return }",
                        find_target("gfx942"), 3, &img, NULL, NULL);
  /* math.atan has no AMD lowering without a device library: the error names the
   * linker and the missing symbol, instead of producing a code object that
   * would not load. */
  expect_error(st, LLMC_INTERNAL, "__ocml_atan_f32");
  assert_int_equal(img.len, 0);
  llmc_buf_free(&img);
}

/* The same input gives the same bytes; the rms_norm family alone for speed. */
static void test_deterministic_and_ptx_fallback(void **state) {
  (void)state;
  llmc_buf_t text = {0};
  /* add needs no math library, so this runs without CUDA's libdevice too. */
  const llmc_template_param_t ps[] = {{"NAME", "k"}, {"N", "256"}, {"WG", "256"}};
  check_ok(llmc_template_instantiate("add", "gpu", ps, 3, &text));
  static const char *names[] = {"sm_90", "gfx942", "spirv"};
  for (int i = 0; i < 3; i++) {
    llmc_buf_t a = {0}, b = {0};
    check_ok(llmc_gpu_compile(text.data, find_target(names[i]), 3, &a, NULL, NULL));
    check_ok(llmc_gpu_compile(text.data, find_target(names[i]), 3, &b, NULL, NULL));
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    llmc_buf_free(&a);
    llmc_buf_free(&b);
  }
  /* LLMC_PTXAS=none: the image is the PTX itself, NUL-terminated. */
  const char *old = getenv("LLMC_PTXAS");
  char *saved = old ? strdup(old) : NULL;
  setenv("LLMC_PTXAS", "none", 1);
  char path[256];
  assert_false(llmc_gpu_find_ptxas(path, sizeof path));
  llmc_buf_t img = {0};
  llmc_gpu_image_info_t info;
  check_ok(llmc_gpu_compile(text.data, find_target("sm_80"), 3, &img, NULL, &info));
  assert_int_equal(info.kind, LLMC_GPU_IMAGE_PTX);
  assert_int_equal(img.data[img.len - 1], '\0');
  expect_contains(img.data, ".target sm_80", "PTX target");
  expect_contains(img.data, ".entry k(", "PTX entry");
  if (saved) {
    setenv("LLMC_PTXAS", saved, 1);
    free(saved);
  } else {
    unsetenv("LLMC_PTXAS");
  }
  llmc_buf_free(&img);
  llmc_buf_free(&text);
}

int main(int argc, char **argv) {
  int rc;
  if (argc == 2 && strcmp(argv[1], "units") != 0) {
    target_name = argv[1];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_target)};
    rc = cmocka_run_group_tests_name(argv[1], tests, NULL, NULL);
  } else {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vendors_and_pipelines),
        cmocka_unit_test(test_bad_kernel_text),
        cmocka_unit_test(test_deterministic_and_ptx_fallback),
    };
    rc = cmocka_run_group_tests_name("gpu_codegen.units", tests, NULL, NULL);
  }
  if (scratch_dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
  }
  return rc;
}
