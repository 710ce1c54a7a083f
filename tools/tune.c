/* tune.c: `llmc tune MODEL --target=T [--device=D] -o tuning.jsonl`.
 *
 * Sweeps the legal configurations of every tunable kernel call of MODEL's
 * plan for one target and measures them through the real runtime backend:
 *
 *   1. Import MODEL, run the graph passes, build the kernel plan for T.
 *   2. Group the calls by (variant, shape); each group with more than one
 *      legal configuration is swept (llmc_kplan_candidates).
 *   3. Round r compiles the whole model with every group forced to its r-th
 *      candidate (groups run different kernels, so they are measured
 *      together; a group with fewer candidates cycles), checks the artifact
 *      against the reference interpreter on device D (the --verify check),
 *      then times decode steps (T = 1) and prompt steps (T = the widest
 *      step, --max-step-tokens, at most the context) with per-kernel
 *      profiling and credits each kernel's time per launch to its group's
 *      configuration (the round's report.json says which kernel runs which
 *      call): decode groups from the decode steps, the groups of the calls
 *      for wider steps (prefill's GEMMs) from the prompt steps.
 *   4. One JSON line per (group, configuration), the best of its rounds,
 *      in plan order, with the step's token count: the tuning database
 *      `llmc compile --tuning-db` reads.
 *
 * A decode call's space is swept whole (up to MAX_CANDIDATES); a wide
 * call's space is a product of up to seven parameters (gemm_host: ~10^5),
 * so it is searched around the heuristic's choice, one parameter at a time
 * (every legal value of it with the others at the heuristic's).
 *
 * A candidate that fails to compile or disagrees with the interpreter is an
 * error: it is a bug in a variant, not a slow configuration. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmc_artifact.h"
#include "llmc_cli.h"
#include "llmc_frontend.h"
#include "llmc_passes.h"
#include "llmc_rt.h"
#include "llmc_verify.h"

/* matmul_q8's space is 8 TQ x 2 COLS x 3 PF = 48: all of it is swept. */
enum { MAX_CANDIDATES = 64, MAX_GROUPS = 256 };

typedef struct {
  const llmc_kcall_t *call; /* the first call of the group */
  int64_t tokens;           /* the step it is timed at: 1 (decode) or the prompt step's */
  int n;                    /* legal configurations (at most MAX_CANDIDATES swept) */
  llmc_kconfig_t cands[MAX_CANDIDATES];
  double best_us[MAX_CANDIDATES]; /* per launch; < 0 until measured */
} group_t;

typedef struct {
  const char *model_path, *target, *device, *out_path;
  llmc_dtype_t weight_dtype;
  bool weight_dtype_auto; /* the checkpoint's, as compile's default */
  llmc_quant_t quant;     /* --quant, as for compile: the integer layouts' kernels are tuned */
  int64_t max_context, max_step, block_size;
  int64_t max_candidates; /* configurations per group, at most MAX_CANDIDATES */
} tune_opts_t;

static bool same_config(const llmc_kconfig_t *a, const llmc_kconfig_t *b) {
  if (a->n != b->n) return false;
  for (int i = 0; i < a->n; i++)
    if (a->values[i] != b->values[i]) return false;
  return true;
}

/* The configurations one parameter away from the call's heuristic choice
 * (that choice first), legal ones only, at most cap; returns how many. */
static int neighbourhood(const llmc_kplan_t *kp, const llmc_kcall_t *c, llmc_kconfig_t *out, int cap) {
  const llmc_kvariant_t *v = c->choice[0].variant;
  const llmc_kconfig_t *h = &c->choice[0].config;
  int n = 0;
  out[n++] = *h;
  for (int p = 0; p < llmc_kvariant_n_params(v); p++) {
    int64_t values[LLMC_KPARAM_MAX_VALUES];
    int nv = llmc_kvariant_param_values(v, p, values);
    for (int i = 0; i < nv && n < cap; i++) {
      llmc_kconfig_t cfg = *h;
      cfg.values[p] = values[i];
      bool seen = false;
      for (int j = 0; j < n && !seen; j++) seen = same_config(&out[j], &cfg);
      if (!seen && llmc_kplan_config_legal(kp, c, 0, &cfg)) out[n++] = cfg;
    }
  }
  return n;
}

/* Credits the round's kernel times to the groups timed at `tokens` per step
 * (ms and calls: that phase's launches only): report.json names, per
 * kernel, the op, shape, variant and configuration it runs on the target. */
static llmc_status_t *credit(const char *report_path, const char *target, group_t *groups, int n_groups,
                             int64_t tokens, const llmc_rt_kernel_time_t *prof, const double *ms,
                             const int64_t *calls, int64_t n_kernels) {
  json_error_t err;
  json_t *r = json_load_file(report_path, 0, &err);
  if (!r) return LLMC_ERROR(LLMC_INTERNAL, report_path, "cannot read the round's report: %s", err.text);
  json_t *kernels = json_object_get(r, "kernels");
  size_t i;
  json_t *k;
  json_array_foreach(kernels, i, k) {
    const char *name = json_string_value(json_object_get(k, "name"));
    const char *shape = json_string_value(json_object_get(k, "shape"));
    json_t *choice = json_object_get(json_object_get(json_object_get(k, "targets"), target), "choice");
    const char *variant = json_string_value(json_object_get(choice, "variant"));
    json_t *cfg = json_object_get(choice, "config");
    if (!name || !shape || !variant || !cfg) continue;
    int64_t idx = 0;
    while (idx < n_kernels && strcmp(prof[idx].kernel, name) != 0) idx++;
    if (idx == n_kernels || calls[idx] <= 0) continue;
    double us = ms[idx] * 1000.0 / (double)calls[idx];
    for (int g = 0; g < n_groups; g++) {
      const llmc_kvariant_t *v = groups[g].call->choice[0].variant;
      if (groups[g].tokens != tokens || strcmp(llmc_kvariant_name(v), variant) || strcmp(groups[g].call->shape, shape))
        continue;
      llmc_kconfig_t c = {.n = llmc_kvariant_n_params(v)};
      for (int p = 0; p < c.n; p++)
        c.values[p] = json_integer_value(json_object_get(cfg, llmc_kvariant_param_name(v, p)));
      for (int j = 0; j < groups[g].n && j < MAX_CANDIDATES; j++)
        if (same_config(&groups[g].cands[j], &c) && (groups[g].best_us[j] < 0 || us < groups[g].best_us[j]))
          groups[g].best_us[j] = us;
    }
  }
  json_decref(r);
  return NULL;
}

static llmc_status_t *write_db(const tune_opts_t *o, const char *device, group_t *groups, int n_groups) {
  llmc_buf_t out = {0};
  for (int g = 0; g < n_groups; g++) {
    const llmc_kvariant_t *v = groups[g].call->choice[0].variant;
    for (int j = 0; j < groups[g].n && j < MAX_CANDIDATES; j++) {
      if (groups[g].best_us[j] < 0) continue;
      json_t *cfg = json_object();
      for (int p = 0; p < llmc_kvariant_n_params(v); p++)
        json_object_set_new(cfg, llmc_kvariant_param_name(v, p), json_integer(groups[g].cands[j].values[p]));
      json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:f}", "target", o->target, "device", device,
                               "variant", llmc_kvariant_name(v), "shape", groups[g].call->shape, "tokens",
                               (json_int_t)groups[g].tokens,
                               "config", cfg, "us", groups[g].best_us[j]);
      char *text = json_dumps(line, JSON_PRESERVE_ORDER | JSON_COMPACT);
      json_decref(line);
      if (text) llmc_buf_printf(&out, "%s\n", text);
      free(text);
    }
  }
  llmc_status_t *s = out.failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory")
                                : llmc_file_write_atomic(o->out_path, out.data ? out.data : "", out.len);
  llmc_buf_free(&out);
  return s;
}

static llmc_status_t *tune(const tune_opts_t *o) {
  llmc_target_t target;
  LLMC_RETURN_IF_ERROR(llmc_target_lookup(o->target, &target));
  llmc_model_t *model = NULL;
  LLMC_RETURN_IF_ERROR(llmc_model_load(o->model_path, &model));
  int64_t max_context = o->max_context ? o->max_context : (model->max_context < 4096 ? model->max_context : 4096);
  llmc_dtype_t weight_dtype = o->weight_dtype;
  if (o->weight_dtype_auto) {
    weight_dtype = llmc_model_checkpoint_dtype(model);
    if (weight_dtype == LLMC_DT_F16 && !llmc_target_reads_f16(&target)) weight_dtype = LLMC_DT_F32;
  }
  llmc_pass_options_t popts = {.opt_level = 2, .max_tokens = o->max_step};
  llmc_pass_result_t pres;
  llmc_status_t *s = llmc_passes_run(model->graph, &popts, &pres);
  if (s) {
    llmc_model_destroy(model);
    return s;
  }
  llmc_kplan_t *kp = NULL;
  llmc_kplan_options_t ko = {.weight_dtype = weight_dtype, .quant = o->quant, .block_size = o->block_size,
                             .max_context = max_context, .max_step_tokens = o->max_step};
  s = llmc_kplan_build(model->graph, &target, 1, &ko, &kp);
  group_t *groups = calloc(MAX_GROUPS, sizeof *groups);
  llmc_koverride_t *ov = calloc(MAX_GROUPS, sizeof *ov);
  if (!s && (!groups || !ov)) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int n_groups = 0, rounds = 0;
  /* The prompt step: the widest the plan takes, within the context. */
  int64_t prompt_step = o->max_step < max_context ? o->max_step : max_context;
  for (int i = 0; !s && i < kp->n_calls; i++) {
    const llmc_kcall_t *c = &kp->calls[i];
    const llmc_kvariant_t *v = c->choice[0].variant;
    if (llmc_kvariant_n_params(v) == 0 || !c->node) continue; /* argmax runs outside the plan's launches */
    /* Calls for steps of 1 token are timed at decode, those whose range
     * holds the prompt step at it; the others (a GPU's 2..15) are not
     * timed and keep their heuristic. */
    int64_t tokens = c->t_min == 1 ? 1 : prompt_step;
    if (tokens < c->t_min || tokens > c->t_max) continue;
    int g = 0;
    while (g < n_groups && !(groups[g].call->choice[0].variant == v && groups[g].tokens == tokens &&
                             !strcmp(groups[g].call->shape, c->shape)))
      g++;
    if (g < n_groups || n_groups == MAX_GROUPS) continue;
    group_t *gr = &groups[n_groups];
    gr->call = c;
    gr->tokens = tokens;
    int cap = (int)o->max_candidates;
    gr->n = tokens == 1 ? llmc_kplan_candidates(kp, c, 0, gr->cands, cap) : neighbourhood(kp, c, gr->cands, cap);
    if (gr->n > cap) gr->n = cap;
    if (gr->n < 2) continue;
    for (int j = 0; j < gr->n; j++) gr->best_us[j] = -1;
    if (gr->n > rounds) rounds = gr->n;
    n_groups++;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tune.%ld", o->out_path, (long)getpid());
  char device[256] = "";
  if (!s && n_groups == 0)
    fprintf(stderr, "tune: no kernel call of this plan has more than one legal configuration on %s\n", target.name);
  for (int r = 0; !s && r < rounds; r++) {
    for (int g = 0; g < n_groups; g++) {
      const llmc_kvariant_t *v = groups[g].call->choice[0].variant;
      const llmc_kconfig_t *c = &groups[g].cands[r % groups[g].n];
      ov[g] = (llmc_koverride_t){.variant = v, .node_id = -1, .shape = groups[g].call->shape, .n = c->n,
                                 .tokens = groups[g].tokens, .spec = "llmc tune"};
      for (int p = 0; p < c->n; p++) ov[g].keys[p] = llmc_kvariant_param_name(v, p), ov[g].values[p] = c->values[p];
    }
    llmc_artifact_options_t aopts = {.target = target.name, .out_dir = tmp, .opt_level = 2,
                                     .max_context = max_context, .max_seqs = 1, .block_size = o->block_size,
                                     .passes = &pres, .weight_dtype = weight_dtype, .quant = o->quant,
                                     .overrides = ov, .n_overrides = n_groups};
    llmc_artifact_summary_t sum;
    s = llmc_artifact_write(model->graph, &pres.plan, llmc_weight_set_lookup, model->weights, &aopts, &sum);
    if (s) break;
    llmc_rt_t *rt = NULL;
    llmc_rt_options_t ro = {.backend = o->device, .profile = true};
    s = llmc_rt_open(tmp, &ro, &rt);
    llmc_verify_result_t vr = {0};
    if (!s) s = llmc_verify_artifact(o->model_path, tmp, rt, &vr);
    double bound;
    if (!s && !llmc_verify_judge(&vr, llmc_verify_contract(rt, sum.int8_activation_calls), &bound))
      s = LLMC_ERROR(LLMC_INTERNAL, "llmc tune", "round %d: the compiled model disagrees with the reference "
                     "interpreter (max difference %.3g)", r + 1, vr.max_abs_err);
    const llmc_rt_kernel_time_t *prof = NULL;
    int64_t n_kernels = rt ? llmc_rt_profile_get(rt, &prof) : 0;
    double *ms = calloc((size_t)n_kernels + 1, sizeof *ms), *pms = calloc((size_t)n_kernels + 1, sizeof *pms);
    int64_t *calls = calloc((size_t)n_kernels + 1, sizeof *calls), *pcalls = calloc((size_t)n_kernels + 1, sizeof *pcalls);
    if (!s && (!ms || !calls || !pms || !pcalls)) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    if (!s) s = llmc_cli_time_decode(rt, ms, calls, n_kernels);
    if (!s) s = llmc_cli_time_prefill(rt, prompt_step, pms, pcalls, n_kernels);
    if (!s) {
      snprintf(device, sizeof device, "%s", llmc_rt_device_describe(rt));
      llmc_rt_profile_get(rt, &prof);
      char report[4300];
      snprintf(report, sizeof report, "%s/report.json", tmp);
      s = credit(report, target.name, groups, n_groups, 1, prof, ms, calls, n_kernels);
      if (!s) s = credit(report, target.name, groups, n_groups, prompt_step, prof, pms, pcalls, n_kernels);
    }
    if (!s)
      fprintf(stderr, "tune: round %d/%d on %s: %d groups, verified (max difference %.2g), %d decode steps and "
              "%d steps of %lld tokens timed\n", r + 1, rounds, device, n_groups, vr.max_abs_err,
              (int)LLMC_CLI_TIMED_STEPS, (int)LLMC_CLI_TIMED_PROMPTS, (long long)prompt_step);
    free(ms);
    free(calls);
    free(pms);
    free(pcalls);
    llmc_rt_close(rt);
  }
  if (!s) s = write_db(o, device, groups, n_groups);
  if (!s)
    for (int g = 0; g < n_groups; g++) {
      int best = -1;
      for (int j = 0; j < groups[g].n; j++)
        if (groups[g].best_us[j] >= 0 && (best < 0 || groups[g].best_us[j] < groups[g].best_us[best])) best = j;
      if (best < 0) continue;
      const llmc_kvariant_t *v = groups[g].call->choice[0].variant;
      const llmc_kconfig_t *heur = &groups[g].call->choice[0].config;
      double heur_us = -1;
      for (int j = 0; j < groups[g].n; j++)
        if (same_config(&groups[g].cands[j], heur)) heur_us = groups[g].best_us[j];
      llmc_buf_t cfg = {0}, hcfg = {0};
      llmc_kconfig_print(v, &groups[g].cands[best], &cfg);
      llmc_kconfig_print(v, heur, &hcfg);
      fprintf(stderr, "tune: %s {%s} at %lld tokens: best %s %.2f us per launch; heuristic %s %.2f us\n",
              llmc_kvariant_name(v), groups[g].call->shape, (long long)groups[g].tokens, cfg.data ? cfg.data : "",
              groups[g].best_us[best], hcfg.data ? hcfg.data : "", heur_us);
      llmc_buf_free(&cfg);
      llmc_buf_free(&hcfg);
    }
  /* The rounds' artifacts are scratch. */
  const char *files[] = {"model.so", "model.h", "weights.safetensors", "report.json", "tokenizer.json",
                         "generation.json", "tokenizer_config.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
    unlink(path);
  }
  rmdir(tmp);
  free(groups);
  free(ov);
  llmc_kplan_destroy(kp);
  llmc_pass_result_free(&pres);
  llmc_model_destroy(model);
  return s;
}

static const char tune_help[] =
    "Usage: llmc tune MODEL --target=T [options] -o tuning.jsonl\n"
    "Measures the legal configurations of every tunable kernel call of MODEL on one\n"
    "target and writes a tuning database for `llmc compile --tuning-db`.\n\n"
    "  -o, --output=FILE        the database to write (JSON lines; default tuning.jsonl)\n"
    "      --target=T           one target: a CPU target for --device=host, a GPU one for\n"
    "                           a GPU device (default: host)\n"
    "      --device=D           backend to measure on: host (default), cuda, hip, auto\n"
    "      --weight-dtype=T     auto (default), f32, f16, bf16, as for compile\n"
    "      --quant=Q            none (default), int8, int8-g32, int4, int4-zp, int4-k, int5-k, int6-k, as for compile\n"
    "      --max-context=N, --max-step-tokens=N, --block-size=N   as for compile\n"
    "      --max-candidates=N   configurations measured per call (1..64, default 64): the\n"
    "                           first N of a decode call's space, of a wider call's\n"
    "                           neighbourhood of the heuristic (the heuristic first)\n"
    "  -h, --help               this text\n";

int llmc_cli_tune(int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'},     {"target", required_argument, 0, 't'},
      {"device", required_argument, 0, 'd'},     {"weight-dtype", required_argument, 0, 'W'},
      {"max-context", required_argument, 0, 'c'}, {"max-step-tokens", required_argument, 0, 's'},
      {"block-size", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'},
      {"quant", required_argument, 0, 'Q'},      {"max-candidates", required_argument, 0, 'M'},
      {0, 0, 0, 0}};
  tune_opts_t o = {.target = "host", .device = "host", .out_path = "tuning.jsonl", .weight_dtype = LLMC_DT_F32,
                   .weight_dtype_auto = true,
                   .max_step = 128, .block_size = 16, .max_candidates = MAX_CANDIDATES};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
    switch (c) {
      case 'o': o.out_path = optarg; break;
      case 't': o.target = optarg; break;
      case 'd': o.device = optarg; break;
      case 'W':
        o.weight_dtype_auto = strcmp(optarg, "auto") == 0;
        if (!o.weight_dtype_auto &&
            (!llmc_dtype_parse(optarg, &o.weight_dtype) ||
             (o.weight_dtype != LLMC_DT_F32 && o.weight_dtype != LLMC_DT_F16 && o.weight_dtype != LLMC_DT_BF16)))
          return llmc_cli_usage_error("tune", "--weight-dtype takes auto, f32, f16 or bf16, not '%s'", optarg);
        break;
      case 'Q':
        if (!llmc_quant_parse(optarg, &o.quant))
          return llmc_cli_usage_error("tune", "--quant takes none, int8, int8-g32, int4, int4-zp, int4-k, int5-k or int6-k, not '%s'", optarg);
        break;
      case 'c':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 24, &o.max_context))
          return llmc_cli_usage_error("tune", "bad --max-context '%s'", optarg);
        break;
      case 's':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 16, &o.max_step))
          return llmc_cli_usage_error("tune", "bad --max-step-tokens '%s'", optarg);
        break;
      case 'M':
        if (!llmc_cli_parse_i64(optarg, 1, MAX_CANDIDATES, &o.max_candidates))
          return llmc_cli_usage_error("tune", "--max-candidates must be in 1..64, not '%s'", optarg);
        break;
      case 'b':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &o.block_size))
          return llmc_cli_usage_error("tune", "bad --block-size '%s'", optarg);
        break;
      case 'h': fputs(tune_help, stdout); return 0;
      case ':': return llmc_cli_usage_error("tune", "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("tune", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error("tune", "%s", "expected exactly one MODEL argument");
  if (strchr(o.target, ','))
    return llmc_cli_usage_error("tune", "tunes one target at a time, not '%s'", o.target);
  o.model_path = argv[optind];
  return llmc_cli_report(tune(&o));
}
