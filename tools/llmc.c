/* llmc.c: the command-line driver. `compile` runs frontend → passes →
 * codegen; `run` and `bench` load an artifact with the runtime; `import`
 * prints the model.json an HF directory becomes. Errors are printed here and
 * only here ("llmc: where: error: message"), with sysexits codes. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "llmc_codegen.h"
#include "llmc_frontend.h"
#include "llmc_passes.h"
#include "llmc_rt.h"
#include "llmc_tokenizer.h"
#include "llmc_verify.h"

static int report(llmc_status_t *s) {
  if (!s) return 0;
  char msg[8192];
  llmc_status_format(s, msg, sizeof msg);
  /* Every line of a status chain gets the program prefix. */
  for (char *line = msg, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    fprintf(stderr, "llmc: %s\n", line);
  }
  int code = llmc_status_exit_code(s);
  llmc_status_free(s);
  return code;
}

static int usage_error(const char *cmd, const char *fmt, const char *detail) {
  fprintf(stderr, "llmc%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, detail);
  fprintf(stderr, "\nTry 'llmc %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
  return EX_USAGE;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_f32(const char *s, double lo, double hi, float *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
  *out = (float)v;
  return true;
}

/* ---- compile ---- */

/* Weights for the verifying interpreter: the artifact's stored ones (16-bit
 * weights as rounded), else the model's own (weights DCE dropped). */
typedef struct {
  llmc_weight_set_t *artifact, *model;
} verify_weights_t;

static bool verify_lookup(void *ctx, const char *name, llmc_weight_view_t *out) {
  verify_weights_t *w = ctx;
  return llmc_weight_set_lookup(w->artifact, name, out) || llmc_weight_set_lookup(w->model, name, out);
}

/* --verify: the artifact on the host backend against the interpreter running
 * the graph as imported (a fresh load, before any pass) on the weights the
 * artifact stores. */
static llmc_status_t *verify_artifact(const char *model_path, const char *out_dir, const char *emit) {
  if (strcmp(emit, "so") != 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--verify", "needs the full artifact (--emit=so)");
  llmc_model_t *model = NULL;
  llmc_rt_t *rt = NULL;
  llmc_rt_options_t ro = {.backend = "host"};
  llmc_status_t *s = llmc_model_load(model_path, &model);
  if (!s) s = llmc_rt_open(out_dir, &ro, &rt);
  if (s) {
    llmc_model_destroy(model);
    return llmc_status_wrap(s, "--verify", "cannot run the artifact on the host");
  }
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB), ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
  int len = ctx >= 32 ? 16 : (int)(ctx / 2), steps = len;
  int32_t prompt[16];
  uint64_t rng = 7;
  for (int i = 0; i < len; i++) prompt[i] = (int32_t)(llmc_rng_next(&rng) % (uint64_t)vocab);
  llmc_verify_result_t r;
  static const char *const files[] = {"weights.safetensors"};
  verify_weights_t vw = {.model = model->weights};
  s = llmc_weight_set_open(out_dir, files, 1, &vw.artifact);
  if (!s) s = llmc_verify_greedy_with(model, verify_lookup, &vw, rt, prompt, len, steps, NULL, &r);
  llmc_weight_set_close(vw.artifact);
  const double tolerance = 1e-4; /* f32 everywhere: only summation order differs */
  if (!s) {
    fprintf(stderr, "verify: max |compiled - interpreter| = %.3g over %lld positions of %lld logits (tolerance %.0e); "
                    "greedy tokens %s\n",
            r.max_abs_err, (long long)r.positions, (long long)vocab, tolerance,
            r.first_mismatch < 0 ? "identical" : "differ");
    if (!(r.max_abs_err <= tolerance) || r.first_mismatch >= 0)
      s = LLMC_ERROR(LLMC_INTERNAL, "--verify", "the compiled model disagrees with the reference interpreter");
  }
  llmc_rt_close(rt);
  llmc_model_destroy(model);
  return s;
}

static const char compile_help[] =
    "Usage: llmc compile MODEL [options]\n"
    "Compiles MODEL (a model.json file or a Hugging Face directory) ahead of time.\n\n"
    "  -o, --output=DIR         output directory (default: out)\n"
    "      --target=LIST        comma-separated: at most one CPU target (host, x86-64,\n"
    "                           x86-64-v3, aarch64) and any GPU targets (sm_80, sm_86,\n"
    "                           sm_89, sm_90, sm_90a, gfx90a, gfx942, gfx1100, spirv);\n"
    "                           default: host\n"
    "      --emit=KIND          so (default: the full artifact), ir, mlir, llvm, obj,\n"
    "                           report, ptx, hsaco, spirv\n"
    "  -O0 .. -O3               optimisation level (default: -O2)\n"
    "      --passes=LIST        run exactly these graph passes (comma-separated)\n"
    "      --print-after=PASS   print the IR after PASS (or 'all') on stderr\n"
    "      --time-passes        print the time of each pass and codegen stage on stderr\n"
    "      --max-context=N      longest sequence served (default: the model's, at most 4096)\n"
    "      --max-step-tokens=N  tokens per step, the prefill chunk (default: 128)\n"
    "      --max-seqs=N         sequences per step (default: 8)\n"
    "      --block-size=N       KV cache block size in tokens (default: 16)\n"
    "      --weight-dtype=T     f32 (default), f16 or bf16: how matmul weights are\n"
    "                           stored and read (CPU targets; halves decode traffic)\n"
    "      --verify             run the artifact on the host against the reference\n"
    "                           interpreter (16-token prompt, 16 greedy steps) and\n"
    "                           report the largest logit difference\n"
    "  -h, --help               this text\n";

static int cmd_compile(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'},      {"target", required_argument, 0, 't'},
      {"emit", required_argument, 0, 'e'},        {"passes", required_argument, 0, 'p'},
      {"print-after", required_argument, 0, 'P'}, {"time-passes", no_argument, 0, 'T'},
      {"max-context", required_argument, 0, 'c'}, {"max-step-tokens", required_argument, 0, 's'},
      {"max-seqs", required_argument, 0, 'q'},    {"block-size", required_argument, 0, 'b'},
      {"verify", no_argument, 0, 'V'},            {"weight-dtype", required_argument, 0, 'W'},
      {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
  const char *out_dir = "out", *target = "host", *emit = "so", *pipeline = NULL, *print_after = NULL;
  bool time_passes = false, verify = false;
  llmc_dtype_t weight_dtype = LLMC_DT_F32;
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
      case 'W':
        if (!llmc_dtype_parse(optarg, &weight_dtype) ||
            (weight_dtype != LLMC_DT_F32 && weight_dtype != LLMC_DT_F16 && weight_dtype != LLMC_DT_BF16))
          return usage_error("compile", "--weight-dtype takes f32, f16 or bf16, not '%s'", optarg);
        break;
      case 'O':
        if (strlen(optarg) != 1 || optarg[0] < '0' || optarg[0] > '3')
          return usage_error("compile", "-O takes 0, 1, 2 or 3, not '%s'", optarg);
        opt_level = optarg[0] - '0';
        break;
      case 'c':
        if (!parse_i64(optarg, 1, 1 << 24, &max_context))
          return usage_error("compile", "bad --max-context '%s'", optarg);
        break;
      case 's':
        if (!parse_i64(optarg, 1, 1 << 16, &max_step))
          return usage_error("compile", "bad --max-step-tokens '%s'", optarg);
        break;
      case 'q':
        if (!parse_i64(optarg, 1, 4096, &max_seqs)) return usage_error("compile", "bad --max-seqs '%s'", optarg);
        break;
      case 'b':
        if (!parse_i64(optarg, 1, 4096, &block_size))
          return usage_error("compile", "bad --block-size '%s'", optarg);
        break;
      case 'h': fputs(compile_help, stdout); return 0;
      case ':': return usage_error("compile", "option '%s' needs a value", argv[optind - 1]);
      default: return usage_error("compile", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return usage_error("compile", "%s", "expected exactly one MODEL argument");
  static const char *const emits[] = {"so", "ir", "mlir", "llvm", "obj", "report", "ptx", "hsaco", "spirv"};
  bool emit_ok = false;
  for (size_t i = 0; i < sizeof emits / sizeof emits[0]; i++) emit_ok |= strcmp(emit, emits[i]) == 0;
  if (!emit_ok) return usage_error("compile", "unknown --emit kind '%s' (so, ir, mlir, llvm, obj, report, ptx, hsaco, spirv)", emit);
  if (print_after && !llmc_pass_exists(print_after))
    return usage_error("compile", "unknown pass '%s' for --print-after", print_after);

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
  if (s) return report(s);

  double t0 = now_seconds();
  llmc_model_t *model = NULL;
  if ((s = llmc_model_load(argv[optind], &model))) return report(s);
  double t_import = now_seconds() - t0;
  if (max_context == 0) max_context = model->max_context < 4096 ? model->max_context : 4096;
  if (max_context > model->max_context) {
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--max-context", "%lld exceeds the model's context of %lld",
                   (long long)max_context, (long long)model->max_context);
    llmc_model_destroy(model);
    return report(s);
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
    llmc_artifact_options_t aopts = {.target = target, .out_dir = out_dir, .emit = emit,
                                     .opt_level = opt_level, .max_context = max_context,
                                     .max_seqs = max_seqs, .block_size = block_size,
                                     .tokenizer_path = model->tokenizer_path,
                                     .eos_token = model->eos_token, .passes = &pres,
                                     .weight_dtype = weight_dtype};
    s = llmc_artifact_write(model->graph, &pres.plan, llmc_weight_set_lookup, model->weights, &aopts, &sum);
  }
  if (!s && time_passes) {
    fprintf(stderr, "===== llmc time report =====\n  %8.4f s  import\n", t_import);
    for (int i = 0; i < pres.n_passes; i++)
      fprintf(stderr, "  %8.4f s  %s (%d -> %d nodes)\n", pres.stats[i].seconds, pres.stats[i].name,
              pres.stats[i].nodes_before, pres.stats[i].nodes_after);
    fprintf(stderr, "  %8.4f s  gpu images\n  %8.4f s  mlir lowering\n  %8.4f s  llvm optimisation and emission\n"
                    "  %8.4f s  link\n  %8.4f s  total (%d kernels, %d launches)\n",
            sum.seconds_gpu, sum.seconds_lower, sum.seconds_llvm, sum.seconds_link, now_seconds() - t0,
            sum.n_kernels, sum.n_launches);
  }
  llmc_pass_result_free(&pres);
  llmc_model_destroy(model);
  if (!s && verify) s = verify_artifact(argv[optind], out_dir, emit);
  return report(s);
}

/* ---- import ---- */

static int cmd_import(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    puts("Usage: llmc import HF_DIR\nPrints the model.json that a Hugging Face directory is imported as.");
    return 0;
  }
  if (argc != 2) return usage_error("import", "%s", "expected exactly one HF_DIR argument");
  char *json = NULL;
  llmc_status_t *s = llmc_hf_config_to_model_json(argv[1], &json);
  if (!s) printf("%s\n", json);
  free(json);
  return report(s);
}

/* ---- run and bench ---- */

typedef struct {
  const char *dir, *prompt, *prompt_ids, *device;
  int64_t max_tokens, top_k, threads, seed, prompt_len, kv_blocks, batch;
  float temperature, top_p;
  bool print_ids, ignore_eos;
} run_args_t;

static const char run_help[] =
    "Usage: llmc run ARTIFACT_DIR [options]\n"
    "Generates tokens with a compiled artifact.\n\n"
    "      --prompt=TEXT        prompt text (needs the artifact's tokenizer.json)\n"
    "      --prompt-ids=LIST    prompt as comma-separated token ids\n"
    "      --max-tokens=N       tokens to generate (default: 64)\n"
    "      --temperature=F      0 is greedy (default: 0.8)\n"
    "      --top-k=K            sample from the K most likely tokens (default: off)\n"
    "      --top-p=P            nucleus sampling (default: 1, off)\n"
    "      --seed=N             sampling seed (default: 0)\n"
    "      --print-ids          print the generated ids only, space-separated, on one line\n"
    "      --ignore-eos         keep generating past the end-of-text token\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --kv-blocks=N        KV cache size in blocks (default: enough for every\n"
    "                           sequence slot at full context)\n"
    "      --device=NAME        auto (default: the first GPU backend with a device the\n"
    "                           artifact has an image for, else host), host, cuda,\n"
    "                           hip, level-zero\n"
    "  -h, --help               this text\n";

static const char bench_help[] =
    "Usage: llmc bench ARTIFACT_DIR [options]\n"
    "Measures prefill and decode speed and the weight-read bandwidth against the\n"
    "machine's own memory bandwidth, measured in the same run.\n\n"
    "      --prompt-len=N       prompt tokens (default: 32)\n"
    "      --max-tokens=N       decode tokens per sequence (default: 64)\n"
    "      --batch=N            sequences decoded together (default: 1; at most the\n"
    "                           artifact's --max-seqs per step)\n"
    "      --threads=N          host threads (default: all cores)\n"
    "  -h, --help               this text\n";

static int parse_run_args(const char *cmd, int argc, char **argv, run_args_t *a) {
  static const struct option opts[] = {
      {"prompt", required_argument, 0, 'p'},      {"prompt-ids", required_argument, 0, 'i'},
      {"max-tokens", required_argument, 0, 'n'},  {"temperature", required_argument, 0, 't'},
      {"top-k", required_argument, 0, 'k'},       {"top-p", required_argument, 0, 'P'},
      {"seed", required_argument, 0, 's'},        {"print-ids", no_argument, 0, 'I'},
      {"threads", required_argument, 0, 'j'},     {"device", required_argument, 0, 'd'},
      {"prompt-len", required_argument, 0, 'l'},  {"ignore-eos", no_argument, 0, 'E'},
      {"kv-blocks", required_argument, 0, 'B'},   {"batch", required_argument, 0, 'b'},
      {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 'p': a->prompt = optarg; break;
      case 'i': a->prompt_ids = optarg; break;
      case 'd': a->device = optarg; break;
      case 'I': a->print_ids = true; break;
      case 'E': a->ignore_eos = true; break;
      case 'n':
        if (!parse_i64(optarg, 0, 1 << 24, &a->max_tokens)) return usage_error(cmd, "bad --max-tokens '%s'", optarg);
        break;
      case 'b':
        if (!parse_i64(optarg, 1, 4096, &a->batch)) return usage_error(cmd, "bad --batch '%s'", optarg);
        break;
      case 'B':
        if (!parse_i64(optarg, 1, INT32_MAX, &a->kv_blocks)) return usage_error(cmd, "bad --kv-blocks '%s'", optarg);
        break;
      case 'l':
        if (!parse_i64(optarg, 1, 1 << 24, &a->prompt_len)) return usage_error(cmd, "bad --prompt-len '%s'", optarg);
        break;
      case 't':
        if (!parse_f32(optarg, 0, 100, &a->temperature)) return usage_error(cmd, "bad --temperature '%s'", optarg);
        break;
      case 'k':
        if (!parse_i64(optarg, 0, 1 << 24, &a->top_k)) return usage_error(cmd, "bad --top-k '%s'", optarg);
        break;
      case 'P':
        if (!parse_f32(optarg, 0, 1, &a->top_p)) return usage_error(cmd, "bad --top-p '%s' (0..1)", optarg);
        break;
      case 's':
        if (!parse_i64(optarg, 0, INT64_MAX, &a->seed)) return usage_error(cmd, "bad --seed '%s'", optarg);
        break;
      case 'j':
        if (!parse_i64(optarg, 1, 1024, &a->threads)) return usage_error(cmd, "bad --threads '%s'", optarg);
        break;
      case 'h': fputs(strcmp(cmd, "run") == 0 ? run_help : bench_help, stdout); return -1;
      case ':': return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
      default: return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return usage_error(cmd, "%s", "expected exactly one ARTIFACT_DIR argument");
  a->dir = argv[optind];
  return 0;
}

static llmc_status_t *parse_ids(const char *list, int32_t **out, int64_t *out_n) {
  int64_t cap = 1;
  for (const char *p = list; *p; p++) cap += *p == ',';
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
  if (!ids) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int64_t n = 0;
  for (const char *p = list; *p;) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
      free(ids);
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-ids", "'%s' is not a comma-separated list of token ids", list);
    }
    ids[n++] = (int32_t)v;
    p = *end ? end + 1 : end;
  }
  if (n == 0) {
    free(ids);
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-ids", "the prompt is empty");
  }
  *out = ids;
  *out_n = n;
  return NULL;
}

static int32_t read_eos(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/generation.json", dir);
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
  json_t *e = json_object_get(j, "eos_token_id");
  int32_t eos = json_is_integer(e) ? (int32_t)json_integer_value(e) : -1;
  json_decref(j);
  return eos;
}

static int cmd_run(int argc, char **argv) {
  run_args_t a = {.max_tokens = 64, .temperature = 0.8f, .top_p = 1.0f};
  int rc = parse_run_args("run", argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  if (!a.prompt == !a.prompt_ids) return usage_error("run", "%s", "give exactly one of --prompt and --prompt-ids");
  llmc_tokenizer_t *tok = NULL;
  int32_t *ids = NULL;
  int64_t n_ids = 0;
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = NULL;
  char tok_path[4096];
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", a.dir);
  bool have_tok = access(tok_path, R_OK) == 0;
  if (have_tok) s = llmc_tokenizer_load(tok_path, &tok);
  if (!s && a.prompt) {
    if (!tok)
      s = LLMC_ERROR(LLMC_NOT_FOUND, tok_path, "the artifact has no tokenizer; use --prompt-ids");
    else
      s = llmc_tokenizer_encode(tok, a.prompt, strlen(a.prompt), true, &ids, &n_ids);
    if (!s && n_ids == 0) s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt", "the prompt is empty");
  } else if (!s) {
    s = parse_ids(a.prompt_ids, &ids, &n_ids);
  }
  llmc_rt_options_t ro = {.backend = a.device, .n_threads = (int)a.threads, .kv_blocks = a.kv_blocks};
  if (!s) s = llmc_rt_open(a.dir, &ro, &rt);
  if (!s) {
    int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
    for (int64_t i = 0; i < n_ids && !s; i++)
      if (ids[i] >= vocab)
        s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-ids", "token id %d is outside the vocabulary of %lld",
                       ids[i], (long long)vocab);
  }
  int seq = -1;
  if (!s && a.max_tokens > 0) {
    llmc_sampling_t sp = {.temperature = a.temperature, .top_k = (int)a.top_k, .top_p = a.top_p,
                          .seed = (uint64_t)a.seed, .max_new_tokens = (int)a.max_tokens,
                          .eos_token = a.ignore_eos ? -1 : read_eos(a.dir)};
    s = llmc_rt_seq_add(rt, ids, n_ids, &sp, &seq);
  }
  if (!s && !a.print_ids && tok) {
    /* Echo the prompt so the continuation reads naturally. */
    fwrite(a.prompt ? a.prompt : "", 1, a.prompt ? strlen(a.prompt) : 0, stdout);
    fflush(stdout);
  }
  bool first = true;
  llmc_buf_t text = {0};
  while (!s && seq >= 0) {
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev)) || ev.n == 0) break;
    for (int i = 0; i < ev.n && !s; i++) {
      if (a.print_ids || !tok) {
        printf("%s%d", first ? "" : " ", ev.events[i].token);
      } else {
        text.len = 0;
        s = llmc_tokenizer_decode_token(tok, ev.events[i].token, &text);
        if (!s && text.len) fwrite(text.data, 1, text.len, stdout);
      }
      fflush(stdout);
      first = false;
    }
  }
  if (!first || a.print_ids) putchar('\n');
  llmc_buf_free(&text);
  llmc_rt_close(rt);
  llmc_tokenizer_destroy(tok);
  free(ids);
  return report(s);
}

static int64_t decode_weight_bytes(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/report.json", dir);
  json_t *j = json_load_file(path, 0, NULL);
  json_t *v = json_object_get(json_object_get(j, "memory"), "decode_weight_bytes_per_token");
  int64_t bytes = json_is_integer(v) ? json_integer_value(v) : 0;
  json_decref(j);
  return bytes;
}

/* Runs `batch` sequences of random prompts together (continuous batching:
 * one step decodes a token of every sequence, reading the weights once), and
 * reports time to first token, per-token latency and throughput, with the
 * weight-read bandwidth next to the machine's measured one. */
static int cmd_bench(int argc, char **argv) {
  run_args_t a = {.max_tokens = 64, .prompt_len = 32, .batch = 1};
  int rc = parse_run_args("bench", argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  int64_t prompt_len = a.prompt_len, batch = a.batch;
  llmc_rt_t *rt = NULL;
  llmc_rt_options_t ro = {.backend = a.device, .n_threads = (int)a.threads};
  llmc_status_t *s = llmc_rt_open(a.dir, &ro, &rt);
  if (s) return report(s);
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  int32_t *prompt = malloc(sizeof(int32_t) * (size_t)prompt_len);
  bool *started = calloc((size_t)batch, sizeof *started);
  if (!prompt || !started) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  uint64_t rng = 42;
  llmc_sampling_t sp = {.temperature = 0, .max_new_tokens = (int)a.max_tokens, .eos_token = -1};
  int *seqs = calloc((size_t)batch, sizeof *seqs);
  if (!seqs && !s) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int64_t b = 0; b < batch && !s; b++) {
    for (int64_t i = 0; i < prompt_len; i++) prompt[i] = (int32_t)(llmc_rng_next(&rng) % (uint64_t)vocab);
    s = llmc_rt_seq_add(rt, prompt, prompt_len, &sp, &seqs[b]);
  }
  double t0 = now_seconds(), t_first = 0, t_all = 0;
  int64_t generated = 0, n_started = 0, steps_after_all = 0;
  while (!s) {
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev)) || ev.n == 0) break;
    double now = now_seconds();
    if (generated == 0) t_first = now;
    if (n_started == batch) steps_after_all++;
    for (int i = 0; i < ev.n; i++) {
      int k = 0;
      while (k < batch && seqs[k] != ev.events[i].seq) k++;
      if (k < batch && !started[k]) {
        started[k] = true;
        if (++n_started == batch) t_all = now;
      }
    }
    generated += ev.n;
  }
  double t_end = now_seconds();
  llmc_rt_stats_t stats;
  llmc_rt_stats_get(rt, &stats);
  llmc_rt_close(rt);
  free(prompt);
  free(started);
  free(seqs);
  if (s) return report(s);
  /* Decode phase: after every sequence has its first token. */
  int64_t decoded = generated - batch;
  double decode_s = t_end - t_all, ttft = t_first - t0;
  double step_s = steps_after_all > 0 ? decode_s / (double)steps_after_all : 0;
  int64_t bytes = decode_weight_bytes(a.dir);
  double machine = 0;
  if ((s = llmc_rt_measure_read_bandwidth((int)a.threads, 1ull << 30, 3, &machine))) return report(s);
  double achieved = step_s > 0 ? (double)bytes / step_s / 1e9 : 0;
  printf("artifact            %s\n", a.dir);
  printf("sequences           %lld (prompts of %lld tokens, %lld new tokens each)\n", (long long)batch,
         (long long)prompt_len, (long long)a.max_tokens);
  printf("TTFT                %.2f ms (%.1f prompt tokens/s)\n", ttft * 1e3,
         (double)(prompt_len * batch) / (t_all - t0));
  printf("TPOT                %.2f ms (one decode step of all sequences)\n", step_s * 1e3);
  printf("decode              %.2f tokens/s (%lld tokens in %.3f s)\n", decode_s > 0 ? (double)decoded / decode_s : 0,
         (long long)decoded, decode_s);
  printf("preemptions         %lld\n", (long long)stats.preemptions);
  printf("weights per step    %.1f MB\n", (double)bytes / 1e6);
  printf("achieved read BW    %.2f GB/s\n", achieved);
  printf("machine read BW     %.2f GB/s (STREAM-like sum over 1 GiB, same threads, measured now)\n", machine);
  printf("ratio               %.2f\n", machine > 0 ? achieved / machine : 0);
  return 0;
}

/* ---- main ---- */

static const char main_help[] =
    "Usage: llmc COMMAND [options]\n"
    "An ahead-of-time compiler for LLM inference.\n\n"
    "Commands:\n"
    "  compile MODEL    compile a model.json or Hugging Face directory into an artifact\n"
    "  run DIR          generate tokens with a compiled artifact\n"
    "  bench DIR        measure prefill/decode speed and memory bandwidth\n"
    "  import HF_DIR    print the model.json a Hugging Face directory becomes\n\n"
    "Run 'llmc COMMAND --help' for a command's options. 'llmc --version' prints the version.\n";

int main(int argc, char **argv) {
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
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
  if (strcmp(cmd, "import") == 0) return cmd_import(argc - 1, argv + 1);
  return usage_error(NULL, "unknown command '%s'", cmd);
}
