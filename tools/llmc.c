/* llmc.c: the command-line driver. `compile` runs frontend → passes →
 * codegen; `import` prints the model.json an HF directory becomes; `run` and
 * `bench` (cli_run.c, shared with llmc-run) load an artifact with the
 * runtime. Errors are printed by llmc_cli_report only, with sysexits codes. */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include <llvm-c/ErrorHandling.h>

#ifdef LLMC_GPU_EMULATION
#include "llmc_gpu_emulation.h"
#endif
#include "llmc_artifact.h"
#include "llmc_frontend.h"
#include "llmc_passes.h"
#include "llmc_cli.h"
#include "llmc_rt.h"
#include "llmc_verify.h"

int llmc_cli_tune(int argc, char **argv); /* tune.c */

/* ---- compile ---- */

/* ---- interrupted compiles ----
 *
 * SIGINT or SIGTERM while a compile writes its staging directory (see
 * codegen/publish.c) removes that directory, then re-raises the signal with
 * its default action, so the shell sees the usual status (130, 143) and -o
 * holds the old artifact or, when the swap was already made, the new one.
 *
 * This is llmc's one piece of global mutable state, and must be: a signal
 * handler receives no context. It is a fixed path buffer, written while the
 * signals are blocked and before the flag arms the handler, and the flag.
 * The handler uses async-signal-safe calls only (open, getdents64 through
 * syscall, unlinkat, rmdir, signal, raise): no opendir, which allocates.
 * The staging directory is flat (write_outputs makes no subdirectories).
 * SIGKILL cannot be caught: the next compile into the same -o sweeps. */
static char staging_path[sizeof ((llmc_publish_t *)0)->tmp];
static volatile sig_atomic_t staging_armed;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static void on_fatal_signal(int signo) {
  if (staging_armed) {
    int fd = open(staging_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* Unlinking while reading may make getdents skip an entry: read again
     * from the start until a pass finds nothing left (a few at most). */
    for (int pass = 0; fd >= 0 && pass < 4; pass++) {
      union {
        struct linux_dirent64 align;
        char bytes[4096];
      } buf;
      bool any = false;
      long n;
      (void)lseek(fd, 0, SEEK_SET);
      while ((n = syscall(SYS_getdents64, fd, buf.bytes, sizeof buf.bytes)) > 0) {
        for (long off = 0; off < n;) {
          struct linux_dirent64 *d = (struct linux_dirent64 *)(void *)(buf.bytes + off);
          off += d->d_reclen;
          if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
          any = true;
          if (unlinkat(fd, d->d_name, 0) != 0) (void)unlinkat(fd, d->d_name, AT_REMOVEDIR);
        }
      }
      if (!any) break;
    }
    if (fd >= 0) close(fd);
    (void)rmdir(staging_path);
  }
  signal(signo, SIG_DFL);
  raise(signo);
}

/* Begins publication into out_dir with the handler armed for its staging
 * directory; the signals are blocked meanwhile, so the directory never
 * exists unguarded. */
static llmc_status_t *begin_guarded(const char *out_dir, const char *const *inputs, int n_inputs,
                                    llmc_publish_t *pub) {
  struct sigaction sa = {.sa_handler = on_fatal_signal};
  sigemptyset(&sa.sa_mask);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  llmc_status_t *s = llmc_publish_begin(out_dir, inputs, n_inputs, pub);
  if (!s) {
    memcpy(staging_path, pub->tmp, sizeof staging_path);
    staging_armed = 1;
    /* A signal ignored by whoever started llmc (nohup, a background job
     * of a shell without job control) stays ignored. */
    int sigs[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
      struct sigaction was;
      if (sigaction(sigs[i], NULL, &was) == 0 && was.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  return s;
}

/* After publication (or abandon): the staging directory is gone. */
static void disarm(void) { staging_armed = 0; }

/* The directories a compile reads: the model's (a model.json's, or the Hugging
 * Face directory itself, which hold the weights; a GGUF file itself) and the
 * tokenizer's. */
static int input_dirs(const char *model_path, const char *tokenizer_path, char bufs[2][4096],
                      const char *out[2]) {
  int n = 0;
  struct stat st;
  const char *paths[2] = {model_path, tokenizer_path};
  for (int i = 0; i < 2; i++) {
    if (!paths[i]) continue;
    snprintf(bufs[n], 4096, "%s", paths[i]);
    /* A GGUF file holds the whole model: -o only has to stay clear of the
     * file itself, so an output beside it is fine. */
    size_t len = strlen(paths[i]);
    bool gguf = len > 5 && strcmp(paths[i] + len - 5, ".gguf") == 0;
    if (!gguf && !(stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))) {
      char *d = dirname(bufs[n]); /* may return a static "." */
      if (d != bufs[n]) snprintf(bufs[n], 4096, "%s", d);
    }
    out[n] = bufs[n];
    n++;
  }
  return n;
}

/* --verify: the artifact on the host backend against the interpreter running
 * the graph as imported (a fresh load, before any pass) on the weights the
 * artifact stores. */
static llmc_status_t *verify_artifact(const char *model_path, const char *out_dir, int int8_activation_calls) {
  llmc_rt_t *rt = NULL;
  llmc_rt_options_t ro = {.backend = "host"};
  llmc_status_t *s = llmc_rt_open(out_dir, &ro, &rt);
  if (s) {
    /* One line: the cause's own where is the staging directory, which is
     * gone by the time the message is read. */
    llmc_status_t *flat = LLMC_ERROR(llmc_status_code(s), "--verify", "cannot run the artifact on the host: %s",
                                     llmc_status_message(s));
    llmc_status_free(s);
    return flat;
  }
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  llmc_verify_result_t r;
  s = llmc_verify_artifact(model_path, out_dir, rt, &r);
  if (!s) {
    llmc_verify_contract_t contract = llmc_verify_contract(rt, int8_activation_calls);
    double bound;
    bool ok = llmc_verify_judge(&r, contract, &bound);
    if (contract == LLMC_VERIFY_EXACT)
      fprintf(stderr, "verify: max |compiled - interpreter| = %.3g over %lld positions of %lld logits (tolerance %.0e); "
                      "greedy tokens %s\n",
              r.max_abs_err, (long long)r.positions, (long long)vocab, bound,
              r.first_mismatch < 0 ? "identical" : "differ");
    else
      fprintf(stderr, "verify: %s: relative error %.3g (bound %.2g), max |compiled - interpreter| = %.3g "
                      "over %lld positions of %lld logits; greedy tokens %s\n",
              contract == LLMC_VERIFY_KV16  ? "16-bit KV cache"
              : contract == LLMC_VERIFY_KV8 ? "int8 KV cache"
                                            : "int8 activations",
              r.max_rel_err, bound,
              r.max_abs_err, (long long)r.positions, (long long)vocab,
              r.first_mismatch < 0 ? "identical" : r.first_unexplained < 0 ? "differ at near-ties only" : "differ");
    if (!ok) s = LLMC_ERROR(LLMC_INTERNAL, "--verify", "the compiled model disagrees with the reference interpreter");
  }
  llmc_rt_close(rt);
  return s;
}

/* What every target of --target=a,b,... has: a CPU (*cpu_only), int8-row
 * kernels (*int8_rows: CPUs, and NVIDIA and AMD GPUs' gemv_warp; not
 * SPIR-V yet, kplan refuses int8 there). An unknown name makes both false:
 * the artifact writer reports it. */
static void target_list_facts(const char *list, bool *cpu_only, bool *int8_rows) {
  *cpu_only = *int8_rows = true;
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    char name[64];
    llmc_target_t t;
    llmc_status_t *s = len == 0 || len >= sizeof name ? LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "bad target") : NULL;
    if (!s) {
      memcpy(name, p, len);
      name[len] = '\0';
      s = llmc_target_lookup(name, &t);
    }
    if (s) {
      llmc_status_free(s);
      *cpu_only = *int8_rows = false;
      return;
    }
    p += len + (p[len] == ',');
    llmc_gpu_vendor_t vendor = t.is_gpu ? llmc_gpu_vendor(&t) : LLMC_GPU_VENDOR_NVIDIA;
    *cpu_only = *cpu_only && !t.is_gpu;
    *int8_rows = *int8_rows && (vendor == LLMC_GPU_VENDOR_NVIDIA || vendor == LLMC_GPU_VENDOR_AMD);
  }
}

static const char compile_help[] =
    "Usage: llmc compile MODEL [options]\n"
    "Compiles MODEL (a model.json file or a Hugging Face directory) ahead of time.\n\n"
    "  -o, --output=DIR         output directory (default: out), replaced as a whole\n"
    "                           once the artifact is complete; it may not be or hold\n"
    "                           the model's directory, nor hold files llmc does not write\n"
    "      --target=LIST        comma-separated: at most one CPU target (host, x86-64,\n"
    "                           x86-64-v3, aarch64) and any GPU targets (sm_80, sm_86,\n"
    "                           sm_89, sm_90, sm_90a, gfx90a, gfx942, gfx1100, spirv);\n"
    "                           default: host\n"
    "      --emit=KIND          so (default: the full artifact), ir, plan, mlir, llvm,\n"
    "                           obj, report, ptx, hsaco, spirv\n"
    "  -O0 .. -O3               optimisation level (default: -O2)\n"
    "      --passes=LIST        run exactly these graph passes (comma-separated)\n"
    "      --print-after=PASS   print the IR after PASS (or 'all') on stderr\n"
    "      --time-passes        print the time of each pass and codegen stage on stderr\n"
    "      --max-context=N      longest sequence served (default: the model's, at most 4096)\n"
    "      --max-step-tokens=N  tokens per step, the prefill chunk (default: 128)\n"
    "      --max-seqs=N         sequences per step (default: 8)\n"
    "      --block-size=N       KV cache block size in tokens (default: 16)\n";
/* (Two strings: C17 compilers need only support 4095 characters in one.) */
static const char compile_help_weights[] =
    "      --weight-dtype=T     auto (default), f32, f16 or bf16: how matmul weights\n"
    "                           are stored and read; auto keeps the checkpoint's\n"
    "                           16-bit type (16-bit halves the bytes decode streams)\n"
    "      --kernel-config=VARIANT[%ID][@TARGET]:KEY=V[,KEY=V]\n"
    "                           force a kernel variant's configuration (every call of\n"
    "                           it, or value %ID's, on every target or TARGET's);\n"
    "                           repeatable; --emit=plan shows the variants chosen\n"
    "      --tuning-db=FILE     configurations measured by `llmc tune` (JSON lines);\n"
    "                           the fastest entry for a call's variant and shape wins\n"
    "      --quant=Q            none, int8, int8-g32, int4, int4-zp, int4-k, int5-k, int6-k,\n"
    "                           auto:\n"
    "                           matmul weights stored as int8 per output row with f32\n"
    "                           scales (a quarter of f32's bytes), or int4 in groups of\n"
    "                           32 with f16 scales (CPU targets; 0.5625 bytes a weight),\n"
    "                           or int4-zp: the same with a zero point a group (GPTQ's,\n"
    "                           AWQ's; CPU, int8 activations, K a multiple of 128), or\n"
    "                           int8-g32: int8 in groups of 32 with f16 scales (CPU\n"
    "                           targets; 1.0625 bytes), or ggml's K-quants: int4-k,\n"
    "                           int5-k, int6-k (Q4_K's, Q5_K's, Q6_K's values; 0.58,\n"
    "                           0.70, 0.83 bytes; CPU targets, int8 activations, K a\n"
    "                           multiple of 256); auto: int8 where every target has\n"
    "                           int8 kernels (CPUs, NVIDIA and AMD GPUs), else none.\n"
    "                           Default none, but a GGUF's Q4_0, Q8_0 and K-quant\n"
    "                           tensors, and a GPTQ or AWQ checkpoint's, keep their\n"
    "                           layout (with auto too)\n"
    "      --kv-cache-dtype=T   f32 (default), f16, bf16 or int8: the KV cache's element\n"
    "                           type (CPU targets; 16-bit halves its memory and the\n"
    "                           bytes attention reads, int8 (a scale a head's row)\n"
    "                           takes ~0.27 of f32's; f16 needs F16C)\n"
    "      --act-quant=A        int8 (default) or none: matmuls on int8/int4 weights\n"
    "                           quantize their activations to int8 in blocks of 32 and\n"
    "                           take integer dot products (llama.cpp's Q8_0 arithmetic;\n"
    "                           CPU targets), or keep them f32 and widen the weights\n"
    "      --quant-config=FILE  per-weight overrides of --quant: {\"rules\": [{\"match\":\n"
    "                           PATTERN, \"quant\": \"none\"|\"int8\"|\"int4\"}, ...]}, first match\n"
    "      --no-tokenizer       leave the model's tokenizer out of the artifact (one\n"
    "                           llmc cannot load is otherwise an error)\n"
    "      --verify             before publishing, run the artifact on the host against\n"
    "                           the reference interpreter (16-token prompt, 16 greedy\n"
    "                           steps) and report the largest logit difference\n"
#ifdef LLMC_GPU_EMULATION
    "      --gpu-emulation      (llmc-emu, the test build) GPU images hold the kernels\n"
    "                           compiled for this CPU, which only llmc's test drivers\n"
    "                           run (a real driver rejects them)\n"
#endif
    "  -h, --help               this text\n";


static int cmd_compile(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'},      {"target", required_argument, 0, 't'},
      {"emit", required_argument, 0, 'e'},        {"passes", required_argument, 0, 'p'},
      {"print-after", required_argument, 0, 'P'}, {"time-passes", no_argument, 0, 'T'},
      {"max-context", required_argument, 0, 'c'}, {"max-step-tokens", required_argument, 0, 's'},
      {"max-seqs", required_argument, 0, 'q'},    {"block-size", required_argument, 0, 'b'},
      {"verify", no_argument, 0, 'V'},            {"weight-dtype", required_argument, 0, 'W'},
#ifdef LLMC_GPU_EMULATION
      {"gpu-emulation", no_argument, 0, 'G'},
#endif
      {"help", no_argument, 0, 'h'},
      {"kernel-config", required_argument, 0, 'K'}, {"tuning-db", required_argument, 0, 'D'},
      {"no-tokenizer", no_argument, 0, 'N'},      {"quant", required_argument, 0, 'Q'},
      {"quant-config", required_argument, 0, 'C'}, {"act-quant", required_argument, 0, 'A'},
      {"kv-cache-dtype", required_argument, 0, 'Y'},
      {0, 0, 0, 0}};
  enum { MAX_OVERRIDES = 64 };
  llmc_koverride_t overrides[MAX_OVERRIDES];
  int n_overrides = 0;
  const char *tuning_db_path = NULL, *quant_config_path = NULL;
  const char *out_dir = "out", *target = "host", *emit = "so", *pipeline = NULL, *print_after = NULL;
  bool time_passes = false, verify = false, no_tokenizer = false;
  llmc_gpu_finisher_t gpu_finisher = NULL;
  llmc_dtype_t weight_dtype = LLMC_DT_F32;
  bool weight_dtype_auto = true; /* --weight-dtype=auto: decided from the checkpoint below */
  llmc_quant_t quant = LLMC_QUANT_NONE;
  bool quant_given = false; /* --quant: the user's layout, not the checkpoint's */
  bool quant_auto = false;  /* --quant=auto: chosen from the targets below */
  llmc_act_quant_t act_quant = LLMC_ACT_QUANT_AUTO;
  llmc_dtype_t kv_dtype = LLMC_DT_F32;
  int opt_level = 2;
  int64_t max_context = 0, max_step = 128, max_seqs = 8, block_size = 16;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:O:h", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out_dir = optarg; break;
      case 't': target = optarg; break;
      case 'e': emit = optarg; break;
      case 'p': pipeline = optarg; break;
      case 'P': print_after = optarg; break;
      case 'T': time_passes = true; break;
      case 'V': verify = true; break;
      case 'N': no_tokenizer = true; break;
      case 'Q':
        quant_auto = strcmp(optarg, "auto") == 0;
        quant_given = !quant_auto;
        if (!quant_auto && !llmc_quant_parse(optarg, &quant))
          return llmc_cli_usage_error("compile", "--quant takes none, int8, int8-g32, int4, int4-zp, int4-k, int5-k, int6-k or auto (fp8 is not built yet), not '%s'", optarg);
        break;
#ifdef LLMC_GPU_EMULATION
      case 'G': gpu_finisher = llmc_gpu_emulation_finisher(); break;
#endif
      case 'D': tuning_db_path = optarg; break;
      case 'C': quant_config_path = optarg; break;
      case 'Y':
        if (strcmp(optarg, "fp8") == 0)
          return llmc_cli_usage_error("compile", "--kv-cache-dtype=%s is not built yet (f32, f16, bf16 or int8)", optarg);
        if (strcmp(optarg, "int8") == 0) kv_dtype = LLMC_DT_I8;
        else if (!llmc_dtype_parse(optarg, &kv_dtype) ||
                 (kv_dtype != LLMC_DT_F32 && kv_dtype != LLMC_DT_F16 && kv_dtype != LLMC_DT_BF16))
          return llmc_cli_usage_error("compile", "--kv-cache-dtype takes f32, f16, bf16 or int8, not '%s'", optarg);
        break;
      case 'A':
        if (strcmp(optarg, "int8") == 0) act_quant = LLMC_ACT_QUANT_AUTO;
        else if (strcmp(optarg, "none") == 0) act_quant = LLMC_ACT_QUANT_NONE;
        else return llmc_cli_usage_error("compile", "--act-quant takes int8 or none, not '%s'", optarg);
        break;
      case 'K': {
        if (n_overrides == MAX_OVERRIDES)
          return llmc_cli_usage_error("compile", "%s", "more than 64 --kernel-config options");
        llmc_status_t *ps = llmc_koverride_parse(optarg, &overrides[n_overrides++]);
        if (ps) return llmc_cli_report(ps);
        break;
      }
      case 'W':
        weight_dtype_auto = strcmp(optarg, "auto") == 0;
        if (!weight_dtype_auto &&
            (!llmc_dtype_parse(optarg, &weight_dtype) ||
             (weight_dtype != LLMC_DT_F32 && weight_dtype != LLMC_DT_F16 && weight_dtype != LLMC_DT_BF16)))
          return llmc_cli_usage_error("compile", "--weight-dtype takes auto, f32, f16 or bf16, not '%s'", optarg);
        break;
      case 'O':
        if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3')
          return llmc_cli_usage_error("compile", "-O takes 0, 1, 2 or 3, not '%s'", optarg);
        opt_level = optarg[0] - '0';
        break;
      case 'c':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 24, &max_context))
          return llmc_cli_usage_error("compile", "bad --max-context '%s'", optarg);
        break;
      case 's':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 16, &max_step))
          return llmc_cli_usage_error("compile", "bad --max-step-tokens '%s'", optarg);
        break;
      case 'q':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &max_seqs)) return llmc_cli_usage_error("compile", "bad --max-seqs '%s'", optarg);
        break;
      case 'b':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &block_size))
          return llmc_cli_usage_error("compile", "bad --block-size '%s'", optarg);
        break;
      case 'h':
        fputs(compile_help, stdout);
        fputs(compile_help_weights, stdout);
        return 0;
      case ':': return llmc_cli_usage_error("compile", "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("compile", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error("compile", "%s", "expected exactly one MODEL argument");
  static const char *const emits[] = {"so", "ir", "plan", "mlir", "llvm", "obj", "report", "ptx", "hsaco", "spirv"};
  bool emit_ok = false;
  for (size_t i = 0; i < sizeof emits / sizeof emits[0]; i++) emit_ok |= strcmp(emit, emits[i]) == 0;
  if (!emit_ok) return llmc_cli_usage_error("compile", "unknown --emit kind '%s' (so, ir, plan, mlir, llvm, obj, report, ptx, hsaco, spirv)", emit);
  if (verify && strcmp(emit, "so") != 0)
    return llmc_cli_usage_error("compile", "%s", "--verify needs the full artifact (--emit=so)");
  if (print_after && !llmc_pass_exists(print_after))
    return llmc_cli_usage_error("compile", "unknown pass '%s' for --print-after", print_after);

  /* Check the targets before the (slow) import so a typo fails fast. */
  llmc_status_t *s = NULL;
  for (const char *p = target; *p && !s;) {
    char name[64];
    size_t len = strcspn(p, ",");
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
    llmc_target_t t;
    s = llmc_target_lookup(name, &t);
    p += len + (p[len] == ',');
  }
  if (s) return llmc_cli_report(s);
  llmc_tuning_db_t *tuning_db = NULL;
  if (tuning_db_path && (s = llmc_tuning_db_load(tuning_db_path, &tuning_db))) return llmc_cli_report(s);
  llmc_quant_config_t *quant_config = NULL;
  if (quant_config_path && (s = llmc_quant_config_load(quant_config_path, &quant_config))) {
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }

  double t0 = llmc_cli_now();
  llmc_model_t *model = NULL;
  if ((s = llmc_model_load(argv[optind], &model))) {
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }
  if (no_tokenizer) llmc_model_drop_tokenizer(model);
  if ((s = llmc_model_check_tokenizer(model))) {
    llmc_model_destroy(model);
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }
  if (weight_dtype_auto) weight_dtype = llmc_model_checkpoint_dtype(model);
  /* Layouts the checkpoint already has, unless the user chose: a GGUF's
   * Q4_0 and Q8_0 matrices are llmc's int4 and int8 groups (dequantized and
   * requantized by the same rules they come back bit for bit), its Q4_K,
   * Q5_K and Q6_K ones llmc's int4-k, int5-k and int6-k (converted from the
   * file's blocks exactly); GPTQ and AWQ checkpoints' linears int4 or,
   * with zero points other than 8, int4-zp (copied). Only where every
   * target has kernels for them (CPU targets; the K-quants and int4-zp with
   * int8 activations); elsewhere they are dequantized to
   * the checkpoint's 16-bit type. They follow --quant-config's rules, so a
   * rule still decides the weights it matches (e.g. a Q6_K output matrix to
   * int8-g32 next to the Q4_0 ones). */
  bool cpu_only, int8_rows;
  target_list_facts(target, &cpu_only, &int8_rows);
  bool int8_dots = cpu_only && act_quant == LLMC_ACT_QUANT_AUTO;
  /* --quant=auto: int8 rows (a quarter of f32's bytes, top-1 0.993 on the
   * trained example) where every target reads them, else none. (FP8 would
   * come first where a target has it; it is not built.) */
  if (quant_auto) quant = int8_rows ? LLMC_QUANT_INT8 : LLMC_QUANT_NONE;
  if (weight_dtype_auto && !quant_given && cpu_only)
    for (int i = 0; !s && i < model->graph->n_values; i++) {
      const llmc_value_t *v = model->graph->values[i];
      llmc_weight_view_t w;
      if (v->kind != LLMC_VALUE_WEIGHT || !llmc_weight_set_lookup(model->weights, v->name, &w) || !w.source) continue;
      bool int4 = !strcmp(w.source, "Q4_0") || !strcmp(w.source, "GPTQ") || !strcmp(w.source, "AWQ");
      bool zp = !strcmp(w.source, "GPTQ-zp") || !strcmp(w.source, "AWQ-zp");
      llmc_quant_t q = int4                                     ? LLMC_QUANT_INT4
                       : zp && int8_dots                          ? LLMC_QUANT_INT4_ZP
                       : !strcmp(w.source, "Q8_0")                ? LLMC_QUANT_INT8_G32
                       : !strcmp(w.source, "Q4_K") && int8_dots ? LLMC_QUANT_INT4_K
                       : !strcmp(w.source, "Q5_K") && int8_dots ? LLMC_QUANT_INT5_K
                       : !strcmp(w.source, "Q6_K") && int8_dots ? LLMC_QUANT_INT6_K
                                                                  : LLMC_QUANT_NONE;
      if (q != LLMC_QUANT_NONE) s = llmc_quant_config_add_exact(&quant_config, v->name, q);
    }
  if (s) {
    llmc_model_destroy(model);
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }
  double t_import = llmc_cli_now() - t0;
  if (max_context == 0) max_context = model->max_context < 4096 ? model->max_context : 4096;
  if (max_context > model->max_context) {
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--max-context", "%lld exceeds the model's context of %lld",
                   (long long)max_context, (long long)model->max_context);
    llmc_model_destroy(model);
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }
  /* -o is checked (and its staging directory made) before the slow part. */
  char in_bufs[2][4096];
  const char *inputs[2];
  int n_inputs = input_dirs(argv[optind], model->tokenizer_path, in_bufs, inputs);
  llmc_publish_t pub;
  if ((s = begin_guarded(out_dir, inputs, n_inputs, &pub))) {
    llmc_model_destroy(model);
    llmc_tuning_db_destroy(tuning_db);
    llmc_quant_config_destroy(quant_config);
    return llmc_cli_report(s);
  }
  llmc_buf_t log = {0};
  llmc_pass_options_t popts = {.opt_level = opt_level, .pipeline = pipeline, .print_after = print_after,
                               .max_tokens = max_step, .log = &log};
  llmc_pass_result_t pres;
  s = llmc_passes_run(model->graph, &popts, &pres);
  if (log.len) fputs(log.data, stderr);
  llmc_buf_free(&log);
  if (!s && !pres.planned) {
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--passes", "the pipeline must end with plan-memory");
  }
  llmc_artifact_summary_t sum = {0};
  if (!s) {
    llmc_artifact_options_t aopts = {.target = target, .out_dir = out_dir, .staging_dir = pub.tmp, .emit = emit,
                                     .opt_level = opt_level, .max_context = max_context,
                                     .max_seqs = max_seqs, .block_size = block_size,
                                     .tokenizer_path = model->tokenizer_path,
                                     .tokenizer_config_path = model->tokenizer_config_path,
                                     .tokenizer_text = model->tokenizer_text,
                                     .tokenizer_config_text = model->tokenizer_config_text,
                                     .eos_tokens = model->eos_tokens, .n_eos_tokens = model->n_eos_tokens,
                                     .passes = &pres,
                                     .weight_dtype = weight_dtype, .weight_dtype_auto = weight_dtype_auto,
                                     .quant = quant, .quant_config = quant_config, .act_quant = act_quant,
                                     .kv_dtype = kv_dtype,
                                     .gpu_finisher = gpu_finisher,
                                     .overrides = overrides, .n_overrides = n_overrides,
                                     .tuning_db = tuning_db};
    s = llmc_artifact_write(model->graph, &pres.plan, llmc_weight_set_lookup, model->weights, &aopts, &sum);
  }
  if (!s && time_passes) {
    fprintf(stderr, "===== llmc time report =====\n  %8.4f s  import\n", t_import);
    for (int i = 0; i < pres.n_passes; i++)
      fprintf(stderr, "  %8.4f s  %s (%d -> %d nodes)\n", pres.stats[i].seconds, pres.stats[i].name,
              pres.stats[i].nodes_before, pres.stats[i].nodes_after);
    fprintf(stderr, "  %8.4f s  gpu images\n  %8.4f s  mlir lowering\n  %8.4f s  llvm optimisation and emission\n"
                    "  %8.4f s  link\n  %8.4f s  total (%d kernels, %d launches)\n",
            sum.seconds_gpu, sum.seconds_lower, sum.seconds_llvm, sum.seconds_link, llmc_cli_now() - t0,
            sum.n_kernels, sum.n_launches);
  }
  llmc_pass_result_free(&pres);
  llmc_model_destroy(model);
  llmc_tuning_db_destroy(tuning_db);
  llmc_quant_config_destroy(quant_config);
  /* Verified where it was written, so a failing artifact is never published. */
  if (!s && verify)
    s = verify_artifact(argv[optind], pub.tmp, sum.int8_activation_calls);
  if (!s) s = llmc_publish_commit(&pub);
  llmc_publish_abort(&pub);
  disarm();
  return llmc_cli_report(s);
}

/* ---- import ---- */

static int cmd_import(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    puts("Usage: llmc import HF_DIR|FILE.gguf\nPrints the model.json that a Hugging Face directory or a GGUF file is\n"
         "imported as.");
    return 0;
  }
  if (argc != 2) return llmc_cli_usage_error("import", "%s", "expected exactly one HF_DIR or FILE.gguf argument");
  char *json = NULL;
  llmc_status_t *s = llmc_model_import_json(argv[1], &json);
  if (!s) printf("%s\n", json);
  free(json);
  return llmc_cli_report(s);
}

/* ---- main ---- */

static const char main_help[] =
    "Usage: llmc COMMAND [options]\n"
    "An ahead-of-time compiler for LLM inference.\n\n"
    "Commands:\n"
    "  compile MODEL    compile a model.json or Hugging Face directory into an artifact\n"
    "  run DIR          generate tokens with a compiled artifact\n"
    "  bench DIR        measure prefill/decode speed and memory bandwidth; with\n"
    "                   --requests N, TTFT/TPOT percentiles of a request mix\n"
    "  serve DIR        serve an artifact over HTTP (OpenAI's completions API)\n"
    "  import HF_DIR    print the model.json a Hugging Face directory becomes\n"
    "  tune MODEL       measure kernel configurations, write a tuning database\n"
    "  tune-measure     the timing half of tune, on artifacts compiled elsewhere\n"
    "  tokenize DIR     print the token ids of text (DIR holds a tokenizer.json)\n"
    "  detokenize DIR   print the text of token ids\n\n"
    "Run 'llmc COMMAND --help' for a command's options. 'llmc --version' prints the version.\n";

/* LLVM reports some errors (an unsupported construct in a backend) through
 * its fatal error handler, which must not return. Say what happened in the
 * usual format instead of aborting with a core dump. */
static void llvm_fatal_error(const char *reason) {
  fprintf(stderr, "llmc: error: internal compiler error in LLVM: %s\n", reason);
  fflush(stderr);
  _Exit(EX_SOFTWARE);
}

int main(int argc, char **argv) {
  LLVMInstallFatalErrorHandler(llvm_fatal_error);
  if (argc < 2) {
    fputs(main_help, stderr);
    return EX_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(main_help, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("llmc %s (LLVM/MLIR %d)\n", LLMC_VERSION_STRING, LLVM_VERSION_MAJOR_LLMC);
    return 0;
  }
  if (strcmp(cmd, "compile") == 0) return cmd_compile(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0) return llmc_cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "bench") == 0) return llmc_cli_bench(argc - 1, argv + 1);
  if (strcmp(cmd, "serve") == 0) return llmc_cli_serve(argc - 1, argv + 1);
  if (strcmp(cmd, "tune-measure") == 0) return llmc_cli_tune_measure(argc - 1, argv + 1);
  if (strcmp(cmd, "import") == 0) return cmd_import(argc - 1, argv + 1);
  if (strcmp(cmd, "tune") == 0) return llmc_cli_tune(argc - 1, argv + 1);
  if (strcmp(cmd, "tokenize") == 0) return llmc_cli_tokenize(argc - 1, argv + 1);
  if (strcmp(cmd, "detokenize") == 0) return llmc_cli_detokenize(argc - 1, argv + 1);
  return llmc_cli_usage_error(NULL, "unknown command '%s'", cmd);
}
