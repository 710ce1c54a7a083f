/* targets.c: the target table and name lookup.
 *
 * One row per target, named as clang names them. Host rows are ready now;
 * GPU rows carry their real triple, chip and limits but are marked not ready
 * until their pipelines land, so a lookup says "known but not built yet"
 * rather than "unknown".
 *
 * `host` is resolved at first use from the machine running the compiler
 * (LLVMGetDefaultTargetTriple, LLVMGetHostCPUName, LLVMGetHostCPUFeatures).
 * Artifacts built for `host` therefore embed this machine's CPU and may
 * differ between machines; use a named target (x86-64-v3, aarch64) for
 * byte-identical artifacts everywhere. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/TargetMachine.h>

#include "llmc_codegen.h"

#define HOST(n, tr, c, f, vb, vr, l1, l2)                                                        \
  {.name = n, .triple = tr, .cpu = c, .features = f, .vector_bits = vb, .vector_regs = vr,       \
   .l1d_bytes = l1,                                                                              \
   .l2_bytes_per_core = l2, .codegen_ready = true, .tensor_core = ""}
#define GPU(n, tr, c, f, warp, smem, static_smem, smem_sm, sms, l2, tc, fp8)                      \
  {.name = n, .triple = tr, .cpu = c, .features = f, .is_gpu = true, .warp_size = warp,          \
   .shared_mem_per_block = smem, .static_shared_per_block = static_smem,                         \
   .shared_mem_per_sm = smem_sm, .max_threads_per_block = 1024, .registers_per_sm = 65536,       \
   .sm_count = sms, .l2_bytes = l2, .has_tensor_cores = sizeof(tc) > 1, .tensor_core = tc,           \
   .has_fp8 = fp8, .codegen_ready = true}
#define KIB 1024
#define MIB (1024 * 1024)

static llmc_target_t targets[] = {
    /* Host caches: typical per-core sizes of the class (host_init reads
     * this machine's for `host`). */
    HOST("host", NULL, NULL, NULL, 0, 16, 32 * KIB, 1 * MIB), /* filled by host_init */
    HOST("x86-64", "x86_64-unknown-linux-gnu", "x86-64", "", 128, 16, 32 * KIB, 1 * MIB),
    HOST("x86-64-v3", "x86_64-unknown-linux-gnu", "x86-64-v3", "", 256, 16, 32 * KIB, 1 * MIB),
    HOST("aarch64", "aarch64-unknown-linux-gnu", "generic", "+neon", 128, 32, 64 * KIB, 1 * MIB),
    /* NVIDIA (CUDA C++ Programming Guide, "Compute Capabilities"): opt-in
     * dynamic shared memory per block, 48 KiB static, shared memory per SM.
     * Reference parts: A100 (108 SMs, 40 MiB L2), A10 (72, 6 MiB), L4 (58,
     * 48 MiB), H100/H200 SXM (132, 50 MiB). */
    GPU("sm_80", "nvptx64-nvidia-cuda", "sm_80", "+ptx70", 32, 166912, 48 * KIB, 167936, 108, 40 * MIB, "mma.sync.m16n8k16", false),
    GPU("sm_86", "nvptx64-nvidia-cuda", "sm_86", "+ptx71", 32, 101376, 48 * KIB, 102400, 72, 6 * MIB, "mma.sync.m16n8k16", false),
    GPU("sm_89", "nvptx64-nvidia-cuda", "sm_89", "+ptx78", 32, 101376, 48 * KIB, 102400, 58, 48 * MIB, "mma.sync.m16n8k16", true),
    GPU("sm_90", "nvptx64-nvidia-cuda", "sm_90", "+ptx78", 32, 232448, 48 * KIB, 233472, 132, 50 * MIB, "mma.sync.m16n8k16", true),
    GPU("sm_90a", "nvptx64-nvidia-cuda", "sm_90a", "+ptx80", 32, 232448, 48 * KIB, 233472, 132, 50 * MIB, "wgmma.m64nNk16", true),
    /* AMD (LLVM AMDGPUUsage; CDNA/RDNA ISA guides): LDS per workgroup and
     * per CU. Reference parts: MI250X GCD (110 CUs, 8 MiB L2), MI300X (304
     * CUs, 4 MiB L2 per XCD; 256 MiB Infinity Cache not counted),
     * RX 7900 XTX (96 CUs, 6 MiB). */
    GPU("gfx90a", "amdgcn-amd-amdhsa", "gfx90a", "", 64, 65536, 65536, 65536, 110, 8 * MIB, "mfma.32x32x8", false),
    GPU("gfx942", "amdgcn-amd-amdhsa", "gfx942", "", 64, 65536, 65536, 65536, 304, 4 * MIB, "mfma.32x32x8", true),
    GPU("gfx1100", "amdgcn-amd-amdhsa", "gfx1100", "", 32, 65536, 65536, 65536, 96, 6 * MIB, "wmma.16x16x16", false),
    /* Intel GPUs through Level Zero; subgroup 16, SLM per workgroup and per
     * Xe core. Reference part: Data Center GPU Max 1550 (128 Xe cores, 408
     * MiB L2). Its DPAS is not used by this path yet. */
    GPU("spirv", "spirv64-unknown-unknown", "", "", 16, 65536, 65536, 131072, 128, 408 * MIB, "", false),
};
#define N_TARGETS ((int)(sizeof targets / sizeof targets[0]))

/* Accepted spellings that are not table names. */
static const struct {
  const char *alias, *name;
} aliases[] = {{"sm90", "sm_90"}, {"sm90a", "sm_90a"}, {"sm80", "sm_80"},
               {"sm86", "sm_86"}, {"sm89", "sm_89"}};

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static char *host_triple, *host_cpu, *host_features;

static void host_init(void) {
  host_triple = LLVMGetDefaultTargetTriple();
  host_cpu = LLVMGetHostCPUName();
  host_features = LLVMGetHostCPUFeatures();
  int bits = 128;
  if (host_features) {
    if (strstr(host_features, "+avx512f")) bits = 512;
    else if (strstr(host_features, "+avx2") || strstr(host_features, "+avx,")) bits = 256;
  }
  targets[0].triple = host_triple ? host_triple : "";
  targets[0].cpu = host_cpu ? host_cpu : "generic";
  targets[0].features = host_features ? host_features : "";
  targets[0].vector_bits = bits;
  /* AVX-512 and AArch64 have 32 vector registers; SSE and AVX2 16. */
  targets[0].vector_regs = bits == 512 || (host_triple && strncmp(host_triple, "aarch64", 7) == 0) ? 32 : 16;
  /* This machine's caches, where the C library knows them. */
  long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l1 > 0) targets[0].l1d_bytes = l1;
  if (l2 > 0) targets[0].l2_bytes_per_core = l2;
}

const llmc_target_t *llmc_target_table(int *out_count) {
  pthread_once(&host_once, host_init);
  if (out_count) *out_count = N_TARGETS;
  return targets;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 1000;
  int row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = diag + cost;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

llmc_status_t *llmc_target_lookup(const char *name, llmc_target_t *out) {
  memset(out, 0, sizeof *out);
  if (!name) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no target name");
  const llmc_target_t *table = llmc_target_table(NULL);
  const char *canon = name;
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].alias) == 0) canon = aliases[i].name;
  for (int i = 0; i < N_TARGETS; i++) {
    if (strcmp(canon, table[i].name) != 0) continue;
    if (!table[i].codegen_ready)
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, NULL,
                        "target '%s' is known but its code generation is not built yet",
                        table[i].name);
    *out = table[i];
    return NULL;
  }
  int best = -1, best_d = 1 << 30;
  for (int i = 0; i < N_TARGETS; i++) {
    int d = edit_distance(name, table[i].name);
    if (d < best_d) best_d = d, best = i;
  }
  int len = (int)strlen(table[best].name);
  if (best_d <= (len < 4 ? 2 : len / 2))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "unknown target '%s'; did you mean '%s'?", name,
                      table[best].name);
  return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                    "unknown target '%s'; known targets: host, x86-64, x86-64-v3, aarch64, sm_80, "
                    "sm_86, sm_89, sm_90, sm_90a, gfx90a, gfx942, gfx1100, spirv",
                    name);
}

bool llmc_target_has_avx2(const llmc_target_t *t) {
  bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
  return x86 && (strcmp(t->cpu, "x86-64-v3") == 0 || strcmp(t->cpu, "x86-64-v4") == 0 || strstr(t->features, "+avx2"));
}

/* Whether a comma-separated LLVM feature list enables `name` exactly. */
static bool has_feature(const char *features, const char *name) {
  size_t n = strlen(name);
  for (const char *p = features; (p = strstr(p, name)); p += n)
    if (p > features && p[-1] == '+' && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

bool llmc_target_has_vnni(const llmc_target_t *t) {
  bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
  return x86 && ((has_feature(t->features, "avx512vnni") && has_feature(t->features, "avx512vl")) ||
                 has_feature(t->features, "avxvnni"));
}

bool llmc_target_has_vnni512(const llmc_target_t *t) {
  bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
  return x86 && t->vector_bits >= 512 && has_feature(t->features, "avx512vnni") && has_feature(t->features, "avx512bw");
}

bool llmc_target_reads_f16(const llmc_target_t *t) {
  bool x86 = strncmp(t->triple, "x86_64", 6) == 0;
  return !x86 || strcmp(t->cpu, "x86-64-v3") == 0 || strcmp(t->cpu, "x86-64-v4") == 0 || strstr(t->features, "+f16c");
}
