/* cpu_features.c: does this CPU run the artifact's host code? The compiler
 * records the instruction-set features it let LLVM use (llmc_model_v1_t.
 * cpu_features); code built for a newer or different CPU would otherwise die
 * with SIGILL in the middle of a step. Features this file does not know are
 * not checked (the list covers what LLVM's x86 code generation uses for these
 * kernels); other architectures are not checked. */
#include <string.h>

#include "rt_backend.h"

#if defined(__x86_64__) || defined(__i386__)
/* __builtin_cpu_supports takes literals only, hence the table. */
static int x86_has(const char *f, size_t n) {
#define FEATURE(name)                                        \
  if (n == sizeof(name) - 1 && strncmp(f, name, n) == 0) \
    return __builtin_cpu_supports(name) ? 1 : 0;
  FEATURE("sse3")
  FEATURE("ssse3")
  FEATURE("sse4.1")
  FEATURE("sse4.2")
  FEATURE("popcnt")
  FEATURE("avx")
  FEATURE("avx2")
  FEATURE("fma")
  FEATURE("bmi")
  FEATURE("bmi2")
  FEATURE("f16c")
  FEATURE("avx512f")
  FEATURE("avx512bw")
  FEATURE("avx512dq")
  FEATURE("avx512vl")
  FEATURE("avx512cd")
  FEATURE("avx512vnni")
  FEATURE("avx512bf16")
  FEATURE("avx512vbmi")
  FEATURE("avx512vbmi2")
  FEATURE("avx512bitalg")
  FEATURE("avx512vpopcntdq")
  FEATURE("avx512ifma")
  FEATURE("avx512fp16")
  FEATURE("gfni")
  FEATURE("vaes")
  FEATURE("vpclmulqdq")
#undef FEATURE
  return -1; /* unknown: not checked */
}
#endif

bool llmc_rt_cpu_supports(const char *features, char *missing, size_t cap) {
  if (cap) missing[0] = '\0';
  bool ok = true;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  size_t used = 0;
  for (const char *p = features ? features : ""; *p;) {
    size_t n = strcspn(p, ",");
    if (n && x86_has(p, n) == 0) {
      ok = false;
      if (cap && used + n + 3 < cap) {
        if (used) {
          memcpy(missing + used, ", ", 2);
          used += 2;
        }
        memcpy(missing + used, p, n);
        used += n;
        missing[used] = '\0';
      }
    }
    p += n + (p[n] == ',');
  }
#else
  (void)features;
#endif
  return ok;
}
