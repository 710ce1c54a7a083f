/* llama_ref.c: llama.cpp's own code as a reference for llmc's GGUF import,
 * loaded at run time from a prebuilt libllama/libggml (the npm package
 * @node-llama-cpp/linux-x64 ships them). Test infrastructure only: never
 * linked into llmc.
 *
 *   llama_ref quantize LIBLLAMA IN.gguf OUT.gguf FTYPE
 *       llama.cpp's quantizer (llama_model_quantize, what llama-quantize
 *       runs) with a llama_ftype number: 2 Q4_0, 7 Q8_0, 15 Q4_K_M, 17 Q5_K_M, 18 Q6_K.
 *   llama_ref dequant LIBGGML_BASE
 *       for every block type llmc reads: random rows quantized by ggml's
 *       reference quantizer, dequantized by ggml and by llmc
 *       (llmc_gguf_tensor_to_f32); prints the largest difference per type and
 *       fails unless they agree exactly.
 *
 * The two structs used across the boundary are declared here as ggml.h and
 * llama.h (2025-2026) lay them out, and checked at run time against what
 * the library returns before anything relies on them. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_gguf.h"

typedef void (*to_float_fn)(const void *x, float *y, int64_t k);
typedef void (*from_float_fn)(const float *x, void *y, int64_t k);

struct ggml_type_traits { /* ggml.h */
  const char *type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  to_float_fn to_float;
  from_float_fn from_float_ref;
};

/* llama_model_quantize_params starts {int32_t nthread; enum llama_ftype
 * ftype; ...}; the rest is left as the library's defaults. Returned by value
 * (through a hidden pointer: it is larger than 16 bytes), so the buffer only
 * has to be at least as large as the real struct. */
typedef struct {
  int32_t nthread;
  int32_t ftype;
  unsigned char rest[504];
} quantize_params_t;

/* dlsym's object pointer as a function pointer (POSIX guarantees the
 * conversion; ISO C does not, hence the copy). */
#define LOAD(h, name, fn) \
  do {                     \
    void *p_ = dlsym(h, name); \
    memcpy(&(fn), &p_, sizeof p_); \
  } while (0)

static void *open_lib(const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) fprintf(stderr, "llama_ref: %s\n", dlerror());
  return h;
}

static int quantize(const char *lib, const char *in, const char *out, int ftype) {
  void *h = open_lib(lib);
  if (!h) return 69;
  quantize_params_t (*defaults)(void);
  uint32_t (*run)(const char *, const char *, const quantize_params_t *);
  void (*backend_init)(void);
  LOAD(h, "llama_model_quantize_default_params", defaults);
  LOAD(h, "llama_model_quantize", run);
  LOAD(h, "llama_backend_init", backend_init);
  if (!defaults || !run) {
    fprintf(stderr, "llama_ref: %s lacks llama_model_quantize\n", lib);
    return 69;
  }
  if (backend_init) backend_init();
  quantize_params_t p = defaults();
  /* llama.h's defaults: nthread 0, ftype LLAMA_FTYPE_MOSTLY_Q5_1 (9; Q8_0,
   * 7, in newer versions). */
  if (p.nthread != 0 || (p.ftype != 9 && p.ftype != 7)) {
    fprintf(stderr, "llama_ref: llama_model_quantize_params is not laid out as expected\n");
    return 69;
  }
  p.nthread = 1;
  p.ftype = ftype;
  uint32_t rc = run(in, out, &p);
  if (rc) fprintf(stderr, "llama_ref: llama_model_quantize failed (%u)\n", rc);
  return rc ? 1 : 0;
}

static int dequant(const char *lib) {
  void *h = open_lib(lib);
  if (!h) return 69;
  const struct ggml_type_traits *(*traits)(int);
  LOAD(h, "ggml_get_type_traits", traits);
  if (!traits) {
    fprintf(stderr, "llama_ref: %s lacks ggml_get_type_traits\n", lib);
    return 69;
  }
  static const struct {
    uint32_t type;
    int block, bytes;
  } types[] = {{LLMC_GGML_Q4_0, 32, 18}, {LLMC_GGML_Q4_1, 32, 20}, {LLMC_GGML_Q5_0, 32, 22},
               {LLMC_GGML_Q5_1, 32, 24}, {LLMC_GGML_Q8_0, 32, 34}, {LLMC_GGML_Q4_K, 256, 144},
               {LLMC_GGML_Q5_K, 256, 176}, {LLMC_GGML_Q6_K, 256, 210}, {LLMC_GGML_Q2_K, 256, 84},
               {LLMC_GGML_Q3_K, 256, 110},  {LLMC_GGML_F16, 1, 2},
               {LLMC_GGML_BF16, 1, 2}};
  enum { N = 256 * 64 };
  float *x = malloc(sizeof(float) * N), *ref = malloc(sizeof(float) * N), *got = malloc(sizeof(float) * N);
  unsigned char *q = malloc(N * 4);
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  int bad = 0;
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    const struct ggml_type_traits *tr = traits((int)types[t].type);
    if (!tr || tr->blck_size != types[t].block || tr->type_size != (size_t)types[t].bytes || !tr->to_float ||
        !tr->from_float_ref) {
      fprintf(stderr, "llama_ref: ggml's traits of %s are not as expected\n", llmc_ggml_type_name(types[t].type));
      return 69;
    }
    /* Rows of different scales, outliers included, and an all-zero block. */
    for (int i = 0; i < N; i++) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      float u = (float)((rng >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
      float scale = powf(10.0f, (float)((i / 256) % 7) - 4.0f);
      x[i] = (i % 97 == 0 ? 8.0f : 1.0f) * u * scale;
    }
    for (int i = 0; i < 256; i++) x[i] = 0;
    tr->from_float_ref(x, q, N);
    tr->to_float(q, ref, N);
    llmc_gguf_tensor_t tensor = {.name = "t", .type = types[t].type, .n_dims = 1, .ne = {N, 1, 1, 1}, .numel = N,
                                 .nbytes = (uint64_t)N / (uint64_t)types[t].block * (uint64_t)types[t].bytes, .data = q};
    llmc_gguf_tensor_to_f32(&tensor, 0, N, got);
    double worst = 0;
    int differ = 0;
    for (int i = 0; i < N; i++) {
      if (memcmp(&ref[i], &got[i], 4)) differ++;
      double d = fabs((double)ref[i] - (double)got[i]);
      if (d > worst) worst = d;
    }
    printf("%-5s %d of %d values differ, max abs difference %.3g\n", llmc_ggml_type_name(types[t].type), differ, N,
           worst);
    bad |= differ != 0;
  }
  free(x);
  free(ref);
  free(got);
  free(q);
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "quantize") == 0) return quantize(argv[2], argv[3], argv[4], atoi(argv[5]));
  if (argc == 3 && strcmp(argv[1], "dequant") == 0) return dequant(argv[2]);
  fprintf(stderr, "usage: llama_ref quantize LIBLLAMA IN.gguf OUT.gguf FTYPE | llama_ref dequant LIBGGML_BASE\n");
  return 64;
}
