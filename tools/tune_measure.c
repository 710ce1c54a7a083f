/* tune_measure.c: `llmc-run tune-measure --target=T [--device=D] -o FILE DIR...`
 * (also `llmc tune-measure`): the timing half of `llmc tune`, for machines
 * without the compiler, such as a lent GPU machine.
 *
 * Each DIR is an artifact compiled here with some kernel configurations
 * forced (`--kernel-config`, as bench/gpu/prepare.sh does for its sweep).
 * For each, decode steps (T = 1) and then prompt steps (T = the artifact's
 * widest step within its context, or --prompt-tokens) run on device D with
 * per-kernel profiling; the artifact's report.json says which variant,
 * shape and configuration each kernel runs on target T, and each (variant,
 * shape, step, configuration) keeps its fastest time per launch over the
 * artifacts, a kernel's decode launches at step 1 and its prompt launches
 * at the prompt step. The result is the
 * tuning database `llmc compile --tuning-db` reads: one JSON line each,
 * in the order first seen. Weights may be synthetic (--synthetic-weights):
 * only time is measured here; numerics were checked where the artifacts
 * were compiled. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_cli.h"
#include "llmc_rt.h"

enum { WARMUP_STEPS = LLMC_CLI_WARMUP_STEPS, TIMED_STEPS = LLMC_CLI_TIMED_STEPS, MAX_ENTRIES = 4096 };

typedef struct {
  char *variant, *shape, *config; /* config: compact JSON, keys in the report's order */
  int64_t tokens;                 /* the step it was timed at */
  double us;
} entry_t;

typedef struct {
  int n;
  entry_t items[MAX_ENTRIES];
} entries_t;

static void keep(entries_t *e, const char *variant, const char *shape, const char *config, int64_t tokens,
                 double us) {
  for (int i = 0; i < e->n; i++)
    if (!strcmp(e->items[i].variant, variant) && !strcmp(e->items[i].shape, shape) &&
        !strcmp(e->items[i].config, config) && e->items[i].tokens == tokens) {
      if (us < e->items[i].us) e->items[i].us = us;
      return;
    }
  if (e->n == MAX_ENTRIES) return;
  e->items[e->n++] = (entry_t){strdup(variant), strdup(shape), strdup(config), tokens, us};
}

llmc_status_t *llmc_cli_time_decode(llmc_rt_t *rt, double *ms, int64_t *calls, int64_t n) {
  int seq;
  LLMC_RETURN_IF_ERROR(llmc_rt_seq_create_empty(rt, &seq));
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  llmc_status_t *s = NULL;
  const llmc_rt_kernel_time_t *prof;
  for (int step = 0; step < WARMUP_STEPS + TIMED_STEPS && !s; step++) {
    if (step == WARMUP_STEPS) {
      int64_t m = llmc_rt_profile_get(rt, &prof);
      for (int64_t k = 0; k < m && k < n; k++) ms[k] = -prof[k].ms, calls[k] = -prof[k].calls;
    }
    int32_t tok = (int32_t)((step * 7 + 3) % vocab), pos = step;
    const float *logits;
    s = llmc_rt_forward(rt, seq, &tok, &pos, 1, &logits);
  }
  int64_t m = llmc_rt_profile_get(rt, &prof);
  for (int64_t k = 0; k < m && k < n; k++) ms[k] += prof[k].ms, calls[k] += prof[k].calls;
  llmc_rt_seq_free(rt, seq);
  return s;
}

llmc_status_t *llmc_cli_time_prefill(llmc_rt_t *rt, int64_t tokens, double *ms, int64_t *calls, int64_t n) {
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)tokens), *pos = malloc(sizeof(int32_t) * (size_t)tokens);
  llmc_status_t *s = ids && pos ? NULL : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  const llmc_rt_kernel_time_t *prof;
  for (int trip = 0; trip < 1 + LLMC_CLI_TIMED_PROMPTS && !s; trip++) {
    if (trip == 1) {
      int64_t m = llmc_rt_profile_get(rt, &prof);
      for (int64_t k = 0; k < m && k < n; k++) ms[k] = -prof[k].ms, calls[k] = -prof[k].calls;
    }
    for (int64_t i = 0; i < tokens; i++) ids[i] = (int32_t)((i * 7 + trip + 3) % vocab), pos[i] = (int32_t)i;
    int seq;
    if ((s = llmc_rt_seq_create_empty(rt, &seq))) break;
    const float *logits;
    s = llmc_rt_forward(rt, seq, ids, pos, tokens, &logits);
    llmc_rt_seq_free(rt, seq);
  }
  int64_t m = s ? 0 : llmc_rt_profile_get(rt, &prof);
  for (int64_t k = 0; k < m && k < n; k++) ms[k] += prof[k].ms, calls[k] += prof[k].calls;
  free(ids);
  free(pos);
  return s;
}

static llmc_status_t *measure(const char *dir, const char *target, const llmc_rt_options_t *ro,
                              int64_t prompt_tokens, entries_t *e) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/report.json", dir) >= sizeof path)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, dir, "path too long");
  json_t *report;
  LLMC_RETURN_IF_ERROR(llmc_cli_read_json(path, 256u << 20, &report));
  llmc_rt_t *rt = NULL;
  llmc_status_t *s = llmc_rt_open(dir, ro, &rt);
  const llmc_rt_kernel_time_t *prof = NULL;
  int64_t n = s ? 0 : llmc_rt_profile_get(rt, &prof);
  double *ms = calloc((size_t)n + 1, sizeof *ms), *pms = calloc((size_t)n + 1, sizeof *pms);
  int64_t *calls = calloc((size_t)n + 1, sizeof *calls), *pcalls = calloc((size_t)n + 1, sizeof *pcalls);
  if (!s && (!ms || !calls || !pms || !pcalls)) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) s = llmc_cli_time_decode(rt, ms, calls, n);
  /* The prompt step: the widest the artifact takes within its context. */
  int64_t step = 0;
  if (!s && prompt_tokens != 0) {
    int64_t widest = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_STEP_TOKENS), ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
    step = widest < ctx ? widest : ctx;
    if (prompt_tokens > 0 && prompt_tokens < step) step = prompt_tokens;
    if (step >= 2) s = llmc_cli_time_prefill(rt, step, pms, pcalls, n);
  }
  if (!s) n = llmc_rt_profile_get(rt, &prof);
  json_t *kernels = json_object_get(report, "kernels");
  size_t i;
  json_t *k;
  bool any = false;
  json_array_foreach(kernels, i, k) {
    if (s) break;
    const char *name = json_string_value(json_object_get(k, "name"));
    const char *shape = json_string_value(json_object_get(k, "shape"));
    json_t *choice = json_object_get(json_object_get(json_object_get(k, "targets"), target), "choice");
    const char *variant = json_string_value(json_object_get(choice, "variant"));
    json_t *cfg = json_object_get(choice, "config");
    if (!name || !shape || !variant || !json_is_object(cfg) || json_object_size(cfg) == 0) continue;
    int64_t idx = 0;
    while (idx < n && strcmp(prof[idx].kernel, name) != 0) idx++;
    if (idx == n || (calls[idx] <= 0 && pcalls[idx] <= 0)) continue;
    char *cfg_text = json_dumps(cfg, JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (!cfg_text) continue;
    if (calls[idx] > 0) keep(e, variant, shape, cfg_text, 1, ms[idx] * 1000.0 / (double)calls[idx]);
    if (step >= 2 && pcalls[idx] > 0) keep(e, variant, shape, cfg_text, step, pms[idx] * 1000.0 / (double)pcalls[idx]);
    free(cfg_text);
    any = true;
  }
  if (!s && !any)
    s = LLMC_ERROR(LLMC_DATA_LOSS, dir, "no tunable kernel of target '%s' ran (is the artifact compiled for it, "
                   "and does the device run that image?)", target);
  free(ms);
  free(calls);
  free(pms);
  free(pcalls);
  llmc_rt_close(rt);
  json_decref(report);
  return s;
}

static const char help[] =
    "Usage: tune-measure --target=T [options] -o FILE ARTIFACT_DIR...\n"
    "Times decode steps and prompt steps of each artifact (compiled with some kernel\n"
    "configurations forced by --kernel-config) with per-kernel profiling and writes\n"
    "the tuning database for target T: per variant, shape, step and configuration\n"
    "the fastest time per launch (`llmc compile --tuning-db` reads it; files merge\n"
    "by concatenation).\n"
    "\n"
    "  -t, --target=T           the target the entries are for (the image the\n"
    "                           device runs: sm_90a, gfx942, ..., or the host's)\n"
    "      --device=NAME        as for run (default: auto)\n"
    "      --synthetic-weights  run without weights.safetensors (only time counts)\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --prompt-tokens=N    tokens of the timed prompt steps (default: the\n"
    "                           artifact's widest step within its context; 0: none)\n"
    "  -o, --output=FILE        the database to write\n"
    "  -h, --help               this text\n";

int llmc_cli_tune_measure(int argc, char **argv) {
  static const struct option opts[] = {{"target", required_argument, 0, 't'},
                                       {"device", required_argument, 0, 'd'},
                                       {"synthetic-weights", no_argument, 0, 'S'},
                                       {"threads", required_argument, 0, 'j'},
                                       {"output", required_argument, 0, 'o'},
                                       {"prompt-tokens", required_argument, 0, 'P'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *target = NULL, *device = "auto", *out = NULL;
  llmc_rt_options_t ro = {.profile = true};
  int64_t threads = 0, prompt_tokens = -1;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":t:o:h", opts, NULL)) != -1) {
    switch (c) {
      case 't': target = optarg; break;
      case 'd': device = optarg; break;
      case 'S': ro.synthetic_weights = true; break;
      case 'j':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &threads))
          return llmc_cli_usage_error("tune-measure", "--threads must be in 1..4096, not '%s'", optarg);
        break;
      case 'o': out = optarg; break;
      case 'P':
        if (!llmc_cli_parse_i64(optarg, 0, 1 << 16, &prompt_tokens))
          return llmc_cli_usage_error("tune-measure", "--prompt-tokens must be in 0..65536, not '%s'", optarg);
        break;
      case 'h': fputs(help, stdout); return 0;
      case ':': return llmc_cli_usage_error("tune-measure", "%s needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("tune-measure", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (!target || !out || optind >= argc)
    return llmc_cli_usage_error("tune-measure", "%s", "needs --target, -o FILE and at least one artifact");
  ro.backend = device;
  ro.n_threads = (int)threads;
  entries_t *e = calloc(1, sizeof *e);
  if (!e) return llmc_cli_report(LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory"));
  llmc_status_t *s = NULL;
  for (int i = optind; i < argc && !s; i++) {
    fprintf(stderr, "tune-measure: %s (%d/%d)\n", argv[i], i - optind + 1, argc - optind);
    s = measure(argv[i], target, &ro, prompt_tokens, e);
  }
  llmc_buf_t text = {0};
  for (int i = 0; !s && i < e->n; i++) {
    json_error_t err;
    json_t *cfg = json_loads(e->items[i].config, 0, &err);
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:f}", "target", target, "device", device, "variant",
                             e->items[i].variant, "shape", e->items[i].shape, "tokens", (json_int_t)e->items[i].tokens, "config",
                             cfg ? cfg : json_object(), "us", e->items[i].us);
    char *l = line ? json_dumps(line, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    if (l) llmc_buf_printf(&text, "%s\n", l);
    free(l);
    json_decref(line);
  }
  if (!s && text.failed) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) s = llmc_file_write_atomic(out, text.data ? text.data : "", text.len);
  llmc_buf_free(&text);
  for (int i = 0; i < e->n; i++) free(e->items[i].variant), free(e->items[i].shape), free(e->items[i].config);
  free(e);
  return llmc_cli_report(s);
}
