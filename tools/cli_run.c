/* cli_run.c: `run` and `bench`, shared by llmc and llmc-run, plus the
 * small helpers both programs use. Links only the runtime and the tokenizer. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "llmc_chat.h"
#include "llmc_cli.h"
#include "llmc_rt.h"
#include "llmc_tokenizer.h"

llmc_status_t *llmc_cli_read_json(const char *path, uint64_t limit, json_t **out) {
  *out = NULL;
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, limit, &text, &len));
  json_error_t err;
  *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!*out) return LLMC_ERROR(LLMC_DATA_LOSS, path, "line %d: %s", err.line, err.text);
  return NULL;
}

int llmc_cli_report(llmc_status_t *s) {
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

int llmc_cli_usage_error(const char *cmd, const char *fmt, const char *detail) {
  fprintf(stderr, "llmc%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, detail);
  fprintf(stderr, "\nTry 'llmc %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
  return EX_USAGE;
}

double llmc_cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool llmc_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool llmc_cli_parse_f32(const char *s, double lo, double hi, float *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
  *out = (float)v;
  return true;
}

/* ---- run and bench ---- */

typedef struct {
  const char *dir, *prompt, *prompt_ids, *device, *system;
  int64_t max_tokens, top_k, threads, seed, prompt_len, kv_blocks, batch, warmup;
  float temperature, top_p;
  bool print_ids, ignore_eos, synthetic_weights, profile, chat;
} run_args_t;

static const char run_help[] =
    "Usage: llmc run ARTIFACT_DIR [options]\n"
    "Generates tokens with a compiled artifact.\n\n"
    "      --prompt=TEXT        prompt text (needs the artifact's tokenizer.json)\n"
    "      --prompt-ids=LIST    prompt as comma-separated token ids\n"
    "      --chat               the prompt is a user's message: render it with the\n"
    "                           model's chat template and print only the reply\n"
    "      --system=TEXT        with --chat: a system message first\n"
    "      --max-tokens=N       tokens to generate (default: 64)\n"
    "      --temperature=F      0 is greedy (default: 0.8)\n"
    "      --top-k=K            sample from the K most likely tokens (default: off)\n"
    "      --top-p=P            nucleus sampling (default: 1, off)\n"
    "      --seed=N             sampling seed (default: 0)\n"
    "      --print-ids          print the generated ids only, space-separated, on one line\n"
    "      --ignore-eos         keep generating past the end-of-text token\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --kv-blocks=N        KV cache size in blocks (default: enough for every\n"
    "                           sequence slot at full context; with a sliding window\n"
    "                           on every layer, for a window and a step)\n"
    "      --device=NAME        auto (default: the first GPU backend with a device the\n"
    "                           artifact has an image for, else host), host, cuda,\n"
    "                           hip, level-zero\n"
    "  -h, --help               this text\n";

static const char bench_help[] =
    "Usage: llmc bench ARTIFACT_DIR [options]\n"
    "Measures prefill and decode speed and the weight-read bandwidth against the\n"
    "machine's own memory bandwidth, measured in the same run.\n\n"
    "      --prompt-len=N       prompt tokens (default: 32)\n"
    "      --max-tokens=N       new tokens per sequence, the first from prefill\n"
    "                           (default: 64; at least 1, and 1 is prefill only)\n"
    "      --batch=N            sequences decoded together (default: 1; at most the\n"
    "                           artifact's --max-seqs: more is an error)\n"
    "      --warmup=N           untimed rounds of the same shape first (default: 1;\n"
    "                           0 times a cold process: its first reads of the\n"
    "                           weights and its first launches)\n"
    "      --kv-blocks=N        KV cache size in blocks, as for run\n"
    "      --synthetic-weights  run without weights.safetensors, on generated small\n"
    "                           values (speed only: the tokens are meaningless)\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --device=NAME        as for run (default: auto)\n"
    "      --profile            time every kernel launch and print where the time\n"
    "                           went, per kernel (host, cuda, hip)\n"
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
      {"synthetic-weights", no_argument, 0, 'S'}, {"profile", no_argument, 0, 'F'},
      {"chat", no_argument, 0, 'C'},              {"system", required_argument, 0, 'Y'},
      {"warmup", required_argument, 0, 'W'},     {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
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
      case 'S': a->synthetic_weights = true; break;
      case 'F': a->profile = true; break;
      case 'C': a->chat = true; break;
      case 'Y': a->system = optarg; break;
      case 'n':
        if (!llmc_cli_parse_i64(optarg, 0, 1 << 24, &a->max_tokens)) return llmc_cli_usage_error(cmd, "bad --max-tokens '%s'", optarg);
        break;
      case 'b':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &a->batch)) return llmc_cli_usage_error(cmd, "bad --batch '%s'", optarg);
        break;
      case 'W':
        if (strcmp(cmd, "bench") != 0) return llmc_cli_usage_error(cmd, "unknown option '%s'", "--warmup");
        if (!llmc_cli_parse_i64(optarg, 0, 100, &a->warmup)) return llmc_cli_usage_error(cmd, "bad --warmup '%s' (0..100)", optarg);
        break;
      case 'B':
        if (!llmc_cli_parse_i64(optarg, 1, INT32_MAX, &a->kv_blocks)) return llmc_cli_usage_error(cmd, "bad --kv-blocks '%s'", optarg);
        break;
      case 'l':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 24, &a->prompt_len)) return llmc_cli_usage_error(cmd, "bad --prompt-len '%s'", optarg);
        break;
      case 't':
        if (!llmc_cli_parse_f32(optarg, 0, 100, &a->temperature)) return llmc_cli_usage_error(cmd, "bad --temperature '%s'", optarg);
        break;
      case 'k':
        if (!llmc_cli_parse_i64(optarg, 0, 1 << 24, &a->top_k)) return llmc_cli_usage_error(cmd, "bad --top-k '%s'", optarg);
        break;
      case 'P':
        if (!llmc_cli_parse_f32(optarg, 0, 1, &a->top_p)) return llmc_cli_usage_error(cmd, "bad --top-p '%s' (0..1)", optarg);
        break;
      case 's':
        if (!llmc_cli_parse_i64(optarg, 0, INT64_MAX, &a->seed)) return llmc_cli_usage_error(cmd, "bad --seed '%s'", optarg);
        break;
      case 'j':
        if (!llmc_cli_parse_i64(optarg, 1, 1024, &a->threads)) return llmc_cli_usage_error(cmd, "bad --threads '%s'", optarg);
        break;
      case 'h': fputs(strcmp(cmd, "run") == 0 ? run_help : bench_help, stdout); return -1;
      case ':': return llmc_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error(cmd, "%s", "expected exactly one ARTIFACT_DIR argument");
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

/* The artifact's generation.json: {"eos_token_id": N} or {"eos_token_id":
 * [N, ...]} (the stop ids), or none. Read like every input (a regular file,
 * bounded), and each id checked against the vocabulary rather than cast. */
llmc_status_t *llmc_cli_read_stop_ids(const char *dir, int64_t vocab, llmc_sampling_t *sp) {
  sp->n_stop_tokens = 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/generation.json", dir);
  if (access(path, F_OK) != 0) return NULL;
  json_t *j;
  LLMC_RETURN_IF_ERROR(llmc_cli_read_json(path, 1u << 20, &j));
  json_t *e = json_object_get(j, "eos_token_id");
  size_t n = json_is_array(e) ? json_array_size(e) : e != NULL;
  bool ok = json_is_object(j) && (!e || json_is_integer(e) || json_is_array(e));
  for (size_t i = 0; ok && json_is_array(e) && i < n; i++) ok = json_is_integer(json_array_get(e, i));
  llmc_status_t *s = NULL;
  if (!ok)
    s = LLMC_ERROR(LLMC_DATA_LOSS, path, "not a JSON object whose \"eos_token_id\" is an integer or a list of them");
  else if (n > LLMC_RT_MAX_STOP_TOKENS)
    s = LLMC_ERROR(LLMC_DATA_LOSS, path, "%zu stop ids: at most %d", n, LLMC_RT_MAX_STOP_TOKENS);
  for (size_t i = 0; !s && i < n; i++) {
    json_int_t id = json_integer_value(json_is_array(e) ? json_array_get(e, i) : e);
    if (id < 0 || id >= vocab)
      s = LLMC_ERROR(LLMC_DATA_LOSS, path, "eos_token_id %lld is not a token of the %lld-token vocabulary",
                     (long long)id, (long long)vocab);
    else
      sp->stop_tokens[sp->n_stop_tokens++] = (int32_t)id;
  }
  json_decref(j);
  return s;
}

/* --chat: [system,] user rendered with the artifact's chat template (which
 * holds BOS and the other special tokens), encoded without adding any. */
static llmc_status_t *chat_prompt_ids(const char *dir, const llmc_tokenizer_t *tok, const char *system,
                                      const char *user, int32_t **ids, int64_t *n) {
  llmc_chat_template_t *t;
  LLMC_RETURN_IF_ERROR(llmc_chat_template_load_dir(dir, &t));
  llmc_chat_message_t m[2];
  size_t k = 0;
  if (system) m[k++] = (llmc_chat_message_t){"system", system};
  m[k++] = (llmc_chat_message_t){"user", user};
  llmc_buf_t text = {0};
  llmc_status_t *s = llmc_chat_render(t, m, k, true, &text);
  if (!s) s = llmc_tokenizer_encode(tok, text.data ? text.data : "", text.len, false, ids, n);
  llmc_buf_free(&text);
  llmc_chat_template_destroy(t);
  return s;
}

int llmc_cli_run(int argc, char **argv) {
  run_args_t a = {.max_tokens = 64, .temperature = 0.8f, .top_p = 1.0f};
  int rc = parse_run_args("run", argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  if (!a.prompt == !a.prompt_ids) return llmc_cli_usage_error("run", "%s", "give exactly one of --prompt and --prompt-ids");
  if ((a.chat || a.system) && !a.prompt)
    return llmc_cli_usage_error("run", "%s", "--chat and --system take the user's message from --prompt");
  if (a.system && !a.chat) return llmc_cli_usage_error("run", "%s", "--system goes with --chat");
  llmc_tokenizer_t *tok = NULL;
  int32_t *ids = NULL;
  int64_t n_ids = 0;
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = NULL;
  char tok_path[4096];
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", a.dir);
  /* --prompt-ids never needs the tokenizer: with --print-ids it is not read,
   * and one that cannot be loaded only means ids are printed instead of text. */
  bool have_tok = access(tok_path, R_OK) == 0 && !(a.prompt_ids && a.print_ids);
  if (have_tok) s = llmc_tokenizer_load_dir(a.dir, &tok); /* with its tokenizer_config.json */
  if (s && a.prompt_ids) {
    fprintf(stderr, "llmc: %s: warning: cannot use the tokenizer (%s); printing token ids\n", tok_path,
            llmc_status_message(s));
    llmc_status_free(s);
    s = NULL;
  }
  if (!s && a.prompt) {
    if (!tok)
      s = LLMC_ERROR(LLMC_NOT_FOUND, tok_path, "the artifact has no tokenizer; use --prompt-ids");
    else if (a.chat)
      s = chat_prompt_ids(a.dir, tok, a.system, a.prompt, &ids, &n_ids);
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
  llmc_sampling_t sp = {.temperature = a.temperature, .top_k = (int)a.top_k, .top_p = a.top_p,
                        .seed = (uint64_t)a.seed, .max_new_tokens = (int)a.max_tokens, .eos_token = -1};
  if (!s && !a.ignore_eos) s = llmc_cli_read_stop_ids(a.dir, llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB), &sp);
  if (!s && a.max_tokens > 0) s = llmc_rt_seq_add(rt, ids, n_ids, &sp, &seq);
  if (!s && !a.print_ids && tok) {
    /* Echo the prompt so the continuation reads naturally (a chat prints
     * the reply alone). */
    if (!a.chat) fwrite(a.prompt ? a.prompt : "", 1, a.prompt ? strlen(a.prompt) : 0, stdout);
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
  if (!first || (a.print_ids && !s)) putchar('\n'); /* no stray line on an error */
  llmc_buf_free(&text);
  llmc_rt_close(rt);
  llmc_tokenizer_destroy(tok);
  free(ids);
  return llmc_cli_report(s);
}

/* The weight bytes a decode step reads, from report.json; -1 when the
 * artifact has no report (or the report lacks the figure): the bandwidth
 * is then unknown, not zero. */
static int64_t decode_weight_bytes(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/report.json", dir);
  json_t *j = NULL;
  llmc_status_free(llmc_cli_read_json(path, 256u << 20, &j)); /* unreadable: unknown, as missing */
  json_t *v = json_object_get(json_object_get(j, "memory"), "decode_weight_bytes_per_token");
  int64_t bytes = json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : -1;
  json_decref(j);
  return bytes;
}

static int by_time_desc(const void *a, const void *b) {
  double x = ((const llmc_rt_kernel_time_t *)a)->ms, y = ((const llmc_rt_kernel_time_t *)b)->ms;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void free_profile(llmc_rt_kernel_time_t *times, char **names, int64_t n) {
  for (int64_t k = 0; names && k < n; k++) free(names[k]);
  free(names);
  free(times);
}

/* bench --profile: the kernels' times, sorted in place, the most expensive
 * first (only those that ran). */
static void print_profile(llmc_rt_kernel_time_t *sorted, int64_t n, bool on_device) {
  qsort(sorted, (size_t)n, sizeof *sorted, by_time_desc);
  double total = 0;
  for (int64_t k = 0; k < n; k++) total += sorted[k].ms;
  printf("profile             %s time per kernel, prefill and decode together, %.1f ms in all\n",
         on_device ? "device" : "wall", total);
  printf("  %-28s %8s %10s %6s %10s\n", "kernel", "launches", "ms", "share", "us/launch");
  for (int64_t k = 0; k < n; k++) {
    if (!sorted[k].calls) continue;
    printf("  %-28s %8lld %10.2f %5.1f%% %10.1f\n", sorted[k].kernel, (long long)sorted[k].calls,
           sorted[k].ms, total > 0 ? 100 * sorted[k].ms / total : 0,
           1e3 * sorted[k].ms / (double)sorted[k].calls);
  }
}

/* One untimed round of bench's shape: `batch` sequences of prompt_len
 * tokens, each through its prefill and (with max_tokens > 1) one decode
 * step, then freed. A process's first reads of the weights and first
 * launches cost more than any later ones (on some virtual machines every
 * page's first touch is a hypervisor fault; a GPU loads modules lazily),
 * so a benchmark that starts cold measures those, as llama-bench's
 * warm-up run avoids. The prompts differ from the timed ones (`timed`) in
 * their first token where the vocabulary allows, so no KV block of the
 * warm-up can be a prefix hit for the timed round. */
static llmc_status_t *bench_warmup(llmc_rt_t *rt, const int32_t *timed, int64_t prompt_len, int64_t batch,
                                   int64_t max_tokens, int64_t vocab, int64_t round) {
  int32_t *prompt = malloc(sizeof(int32_t) * (size_t)prompt_len);
  int *seqs = malloc(sizeof(int) * (size_t)batch);
  if (!prompt || !seqs) {
    free(prompt);
    free(seqs);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  uint64_t rng = 1000 + (uint64_t)round;
  llmc_sampling_t sp = {.temperature = 0, .max_new_tokens = max_tokens > 1 ? 2 : 1, .eos_token = -1};
  llmc_status_t *s = NULL;
  int64_t added = 0;
  for (int64_t b = 0; b < batch && !s; b++) {
    for (int64_t i = 0; i < prompt_len; i++) prompt[i] = (int32_t)(llmc_rng_next(&rng) % (uint64_t)vocab);
    for (int64_t tries = 0; tries < vocab; tries++) {
      bool clash = false;
      for (int64_t j = 0; j < batch && !clash; j++) clash = timed[j * prompt_len] == prompt[0];
      if (!clash) break;
      prompt[0] = (int32_t)((prompt[0] + 1) % vocab);
    }
    if (!(s = llmc_rt_seq_add(rt, prompt, prompt_len, &sp, &seqs[b]))) added++;
  }
  while (!s) {
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev)) || ev.n == 0) break;
  }
  for (int64_t b = 0; b < added; b++) llmc_rt_seq_free(rt, seqs[b]);
  free(prompt);
  free(seqs);
  return s;
}

/* Runs `batch` sequences of random prompts together (continuous batching:
 * one step decodes a token of every sequence, reading the weights once), and
 * reports time to first token, per-token latency and throughput, with the
 * weight-read bandwidth next to the machine's measured one. */
int llmc_cli_bench(int argc, char **argv) {
  /* --requests selects the request-mix mode, which has options of its own
   * (--prompt-len takes a range there): it parses argv itself. */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--requests") == 0 || strncmp(argv[i], "--requests=", 11) == 0)
      return llmc_cli_bench_requests(argc, argv);
  run_args_t a = {.max_tokens = 64, .prompt_len = 32, .batch = 1, .warmup = 1};
  int rc = parse_run_args("bench", argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  /* TTFT is the time to the first token: a benchmark of no tokens measures
   * nothing (run --max-tokens 0 generates nothing, which is no benchmark). */
  if (a.max_tokens == 0)
    return llmc_cli_usage_error("bench", "%s", "--max-tokens must be at least 1 (1: prefill only)");
  int64_t prompt_len = a.prompt_len, batch = a.batch;
  llmc_rt_t *rt = NULL;
  llmc_rt_options_t ro = {.backend = a.device, .n_threads = (int)a.threads, .kv_blocks = a.kv_blocks,
                          .synthetic_weights = a.synthetic_weights, .profile = a.profile};
  llmc_status_t *s = llmc_rt_open(a.dir, &ro, &rt);
  if (s) return llmc_cli_report(s);
  /* More sequences than a step holds would run in waves: the later ones
   * start when earlier ones finish, and "decoded together" would be false. */
  int64_t max_seqs = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_SEQS);
  if (batch > max_seqs) {
    llmc_rt_close(rt);
    return llmc_cli_report(LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--batch",
                                      "%lld sequences exceed the artifact's %lld per step (compile with "
                                      "--max-seqs=%lld or more)",
                                      (long long)batch, (long long)max_seqs, (long long)batch));
  }
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  int32_t *prompts = malloc(sizeof(int32_t) * (size_t)(prompt_len * batch));
  bool *started = calloc((size_t)batch, sizeof *started);
  int *seqs = calloc((size_t)batch, sizeof *seqs);
  if (!prompts || !started || !seqs) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  uint64_t rng = 42;
  for (int64_t i = 0; !s && i < prompt_len * batch; i++) prompts[i] = (int32_t)(llmc_rng_next(&rng) % (uint64_t)vocab);
  for (int64_t r = 0; r < a.warmup && !s; r++) s = bench_warmup(rt, prompts, prompt_len, batch, a.max_tokens, vocab, r);
  /* The timed round's profile and counters start after the warm-up. */
  llmc_rt_profile_reset(rt);
  llmc_rt_stats_t before;
  llmc_rt_stats_get(rt, &before);
  llmc_sampling_t sp = {.temperature = 0, .max_new_tokens = (int)a.max_tokens, .eos_token = -1};
  for (int64_t b = 0; b < batch && !s; b++) s = llmc_rt_seq_add(rt, prompts + b * prompt_len, prompt_len, &sp, &seqs[b]);
  /* The decode phase starts when every sequence has its first token; only
   * the steps after that, and the tokens they produce, are decode (a step
   * that finishes one sequence's prefill can already decode another's
   * tokens: counted neither as decode time nor as decode tokens). */
  double t0 = llmc_cli_now(), t_first = 0, t_all = 0, t_last = 0;
  int64_t generated = 0, n_started = 0, steps_after_all = 0, decoded = 0;
  while (!s) {
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev)) || ev.n == 0) break;
    double now = llmc_cli_now();
    if (generated == 0) t_first = now;
    if (n_started == batch) {
      steps_after_all++;
      decoded += ev.n;
      t_last = now;
    }
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
  llmc_rt_stats_t stats;
  llmc_rt_stats_get(rt, &stats);
  /* On a GPU the reference is the device memory's own copy bandwidth,
   * measured with the model still loaded (the host's STREAM probe says
   * nothing about HBM). */
  bool on_device = strcmp(llmc_rt_backend_name(rt), "host") != 0;
  char device[600];
  snprintf(device, sizeof device, "%s: %s", llmc_rt_backend_name(rt), llmc_rt_device_describe(rt));
  double device_bw = 0;
  if (!s && on_device) s = llmc_rt_measure_copy_bandwidth(rt, 1ull << 30, 5, &device_bw);
  /* Kernel names live in the artifact: copied before it is closed, with
   * the strings kept by name index into a copy of the table. */
  const llmc_rt_kernel_time_t *prof = NULL;
  int64_t n_prof = llmc_rt_profile_get(rt, &prof);
  llmc_rt_kernel_time_t *times = calloc((size_t)(n_prof ? n_prof : 1), sizeof *times);
  char **names = calloc((size_t)(n_prof ? n_prof : 1), sizeof *names);
  for (int64_t k = 0; times && names && k < n_prof; k++) {
    times[k] = prof[k];
    names[k] = strdup(prof[k].kernel ? prof[k].kernel : "?");
    times[k].kernel = names[k] ? names[k] : "?";
  }
  llmc_rt_close(rt);
  free(prompts);
  free(started);
  free(seqs);
  if (s) {
    free_profile(times, names, n_prof);
    return llmc_cli_report(s);
  }
  double decode_s = steps_after_all > 0 ? t_last - t_all : 0, ttft = t_first - t0;
  double step_s = steps_after_all > 0 ? decode_s / (double)steps_after_all : 0;
  int64_t bytes = decode_weight_bytes(a.dir);
  if (bytes < 0)
    fprintf(stderr, "bench: %s/report.json is missing or lacks memory.decode_weight_bytes_per_token: "
                    "the weight bytes per step and the achieved bandwidth are unknown\n", a.dir);
  double machine = device_bw;
  if (!on_device && (s = llmc_rt_measure_read_bandwidth((int)a.threads, 1ull << 30, 3, &machine))) {
    free_profile(times, names, n_prof);
    return llmc_cli_report(s);
  }
  bool have_bw = bytes >= 0 && step_s > 0;
  double achieved = have_bw ? (double)bytes / step_s / 1e9 : 0;
  printf("artifact            %s\n", a.dir);
  printf("device              %s\n", device);
  printf("sequences           %lld (prompts of %lld tokens, %lld new tokens each)\n", (long long)batch,
         (long long)prompt_len, (long long)a.max_tokens);
  printf("TTFT                %.2f ms (%.1f prompt tokens/s)\n", ttft * 1e3,
         (double)(prompt_len * batch) / (t_all - t0));
  if (steps_after_all > 0 && decode_s > 0) {
    printf("TPOT                %.2f ms (one decode step of all sequences)\n", step_s * 1e3);
    printf("decode              %.2f tokens/s (%lld tokens in %.3f s)\n", (double)decoded / decode_s,
           (long long)decoded, decode_s);
  } else {
    printf("TPOT                n/a (no decode step: --max-tokens 1 is prefill only)\n");
    printf("decode              n/a\n");
  }
  printf("preemptions         %lld\n", (long long)(stats.preemptions - before.preemptions));
  if (bytes >= 0) printf("weights per step    %.1f MB\n", (double)bytes / 1e6);
  else printf("weights per step    unknown (no report.json)\n");
  if (have_bw) printf("achieved read BW    %.2f GB/s\n", achieved);
  else printf("achieved read BW    unknown\n");
  if (on_device)
    printf("device copy BW      %.2f GB/s (1 GiB copied on the device, read + write, best of 5, "
           "measured now)\n", machine);
  else
    printf("machine read BW     %.2f GB/s (STREAM-like sum over 1 GiB, same threads, measured now)\n",
           machine);
  if (have_bw && machine > 0) printf("ratio               %.2f\n", achieved / machine);
  else printf("ratio               unknown\n");
  if (a.profile && times && names) print_profile(times, n_prof, on_device);
  free_profile(times, names, n_prof);
  return 0;
}

