/* gpu_check: device logits against host logits on the same artifact.
 *
 *   gpu_check --probe [--backend=NAME]
 *       prints "BACKEND TARGET DEVICE-NAME" for the first device NAME
 *       (default auto: cuda, hip, level-zero) finds, or "SKIP: reason" and
 *       exits 77 when there is none.
 *   gpu_check [--backend=NAME] [--tol=X] ARTIFACT_DIR
 *       opens the artifact on NAME and on the host, runs the same ragged
 *       forward batches (prompts of several lengths, fed in chunks, so
 *       prefill, decode and paged KV reads all run) on both, and fails when
 *       any logit differs by more than tol * (1 + |host logit|). Then both
 *       decode greedily for 32 steps from the same 8-token prompt, each
 *       feeding back its own argmax, and the token ids must be identical;
 *       and again through the scheduler (llmc_rt_step, two sequences of
 *       different prompt lengths batched together), where a device backend
 *       takes greedy ids from the artifact's argmax kernel.
 *       Exits 77 when NAME finds no device. --quick: two short prompts and
 *       8 greedy steps (for emulated devices, which are slow).
 *
 * It links libllmc_rt only: no compiler, no LLVM, no MLIR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_rt.h"

enum { SKIP = 77 };

static int fail_status(const char *what, llmc_status_t *s) {
  char buf[2048];
  llmc_status_format(s, buf, sizeof buf);
  fprintf(stderr, "gpu_check: %s: %s\n", what, buf);
  llmc_status_free(s);
  return 1;
}

/* The GPU backend to use and its device, or SKIP with the reason printed. */
static int probe(const char *backend, const char **out_name, llmc_rt_device_info_t *info) {
  static const char *const gpus[] = {"cuda", "hip", "level-zero"};
  char why[2048] = "";
  size_t used = 0;
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(backend, "auto") && strcmp(backend, gpus[i])) continue;
    llmc_status_t *s = llmc_rt_probe_device(gpus[i], info);
    if (!s) {
      *out_name = gpus[i];
      return 0;
    }
    int w = snprintf(why + used, sizeof why - used, "%s%s", used ? "; " : "",
                     llmc_status_message(s));
    if (w > 0 && (size_t)w < sizeof why - used) used += (size_t)w;
    llmc_status_free(s);
  }
  printf("SKIP: no GPU device for backend '%s': %s\n", backend, used ? why : "unknown backend");
  return SKIP;
}

static int64_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t v = 1; v < n; v++)
    if (row[v] > row[best]) best = v;
  return best;
}

/* Greedy decode of `steps` tokens after `prompt` on rt; ids[steps]. */
static llmc_status_t *greedy(llmc_rt_t *rt, const int32_t *prompt, int64_t n_prompt, int steps,
                             int32_t *ids) {
  const int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  int seq;
  llmc_status_t *s = llmc_rt_seq_create_empty(rt, &seq);
  if (s) return s;
  int32_t pos[64];
  for (int64_t i = 0; i < n_prompt; i++) pos[i] = (int32_t)i;
  const float *logits;
  s = llmc_rt_forward(rt, seq, prompt, pos, n_prompt, &logits);
  for (int i = 0; i < steps && !s; i++) {
    ids[i] = (int32_t)argmax(logits + (i == 0 ? n_prompt - 1 : 0) * vocab, vocab);
    int32_t p = (int32_t)(n_prompt + i);
    if (i + 1 < steps) s = llmc_rt_forward(rt, seq, &ids[i], &p, 1, &logits);
  }
  llmc_rt_seq_free(rt, seq);
  return s;
}

static int compare_greedy(llmc_rt_t *h, llmc_rt_t *g, int STEPS) {
  enum { PROMPT = 8, MAX_STEPS = 32 };
  const int64_t vocab = llmc_rt_plan_value(h, LLMC_PLAN_VOCAB);
  const int64_t ctx = llmc_rt_plan_value(h, LLMC_PLAN_MAX_CONTEXT);
  if (ctx < PROMPT + STEPS) {
    printf("greedy: skipped, the context (%lld) is shorter than %d tokens\n", (long long)ctx,
           PROMPT + STEPS);
    return 0;
  }
  int32_t prompt[PROMPT], ih[MAX_STEPS], ig[MAX_STEPS];
  uint64_t rng = 77;
  for (int i = 0; i < PROMPT; i++)
    prompt[i] = (int32_t)(llmc_rng_uniform(&rng) * (float)vocab) % (int32_t)vocab;
  llmc_status_t *s = greedy(h, prompt, PROMPT, STEPS, ih);
  if (s) return fail_status("host greedy decode", s);
  if ((s = greedy(g, prompt, PROMPT, STEPS, ig))) return fail_status("device greedy decode", s);
  for (int i = 0; i < STEPS; i++)
    if (ih[i] != ig[i]) {
      fprintf(stderr, "gpu_check: FAIL: greedy step %d: host token %d, device token %d\n", i,
              ih[i], ig[i]);
      return 1;
    }
  printf("greedy: %d steps, the same token ids on host and device\n", STEPS);
  return 0;
}

/* Greedy tokens of two batched sequences through llmc_rt_step; the events
 * go into ev[] (seq, token) until both finish. Returns how many. */
static llmc_status_t *scheduled(llmc_rt_t *rt, const int32_t *prompt, int steps, int32_t *out,
                                int *out_n) {
  llmc_sampling_t sp = {.temperature = 0, .top_p = 1, .max_new_tokens = steps, .eos_token = -1};
  int seqs[2], n = 0;
  llmc_status_t *s = llmc_rt_seq_add(rt, prompt, 8, &sp, &seqs[0]);
  if (!s) s = llmc_rt_seq_add(rt, prompt + 8, 3, &sp, &seqs[1]);
  while (!s) {
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev)) || ev.n == 0) break;
    for (int i = 0; i < ev.n && n < 4 * steps; i++) {
      out[n++] = ev.events[i].seq == seqs[0] ? 0 : 1;
      out[n++] = ev.events[i].token;
    }
  }
  llmc_rt_seq_free(rt, seqs[0]);
  llmc_rt_seq_free(rt, seqs[1]);
  *out_n = n;
  return s;
}

static int compare_scheduled(llmc_rt_t *h, llmc_rt_t *g, int steps) {
  const int64_t vocab = llmc_rt_plan_value(h, LLMC_PLAN_VOCAB);
  if (llmc_rt_plan_value(h, LLMC_PLAN_MAX_CONTEXT) < 8 + steps) return 0;
  int32_t prompt[11], eh[4 * 32], eg[4 * 32];
  uint64_t rng = 99;
  for (int i = 0; i < 11; i++)
    prompt[i] = (int32_t)(llmc_rng_uniform(&rng) * (float)vocab) % (int32_t)vocab;
  int nh, ng;
  llmc_status_t *s = scheduled(h, prompt, steps, eh, &nh);
  if (s) return fail_status("host scheduled decode", s);
  if ((s = scheduled(g, prompt, steps, eg, &ng))) return fail_status("device scheduled decode", s);
  for (int i = 0; i < nh || i < ng; i += 2)
    if (i >= nh || i >= ng || eh[i] != eg[i] || eh[i + 1] != eg[i + 1]) {
      fprintf(stderr, "gpu_check: FAIL: scheduled event %d: host (seq %d, token %d), device (seq %d, token %d)\n",
              i / 2, i < nh ? eh[i] : -1, i < nh ? eh[i + 1] : -1, i < ng ? eg[i] : -1,
              i < ng ? eg[i + 1] : -1);
      return 1;
    }
  printf("scheduled: 2 batched sequences, %d greedy tokens, the same on host and device\n", nh / 2);
  return 0;
}

static int compare(const char *backend, const char *dir, double tol, bool quick) {
  llmc_rt_options_t ho = {.backend = "host"}, go = {.backend = backend};
  llmc_rt_t *h = NULL, *g = NULL;
  llmc_status_t *s = llmc_rt_open(dir, &go, &g);
  if (s) return fail_status("opening on the device", s);
  printf("device: %s: %s\n", llmc_rt_backend_name(g), llmc_rt_device_describe(g));
  if ((s = llmc_rt_open(dir, &ho, &h))) {
    llmc_rt_close(g);
    return fail_status("opening on the host (the artifact needs a host target too)", s);
  }
  const int64_t vocab = llmc_rt_plan_value(h, LLMC_PLAN_VOCAB);
  const int64_t t_max = llmc_rt_plan_value(h, LLMC_PLAN_MAX_STEP_TOKENS);
  const int64_t ctx = llmc_rt_plan_value(h, LLMC_PLAN_MAX_CONTEXT);
  const int64_t lens[] = {1, 7, 33, 70};
  const size_t n_lens = quick ? 2 : sizeof lens / sizeof lens[0];
  double worst = 0;
  int64_t rows = 0, worst_row = 0, worst_col = 0, argmax_same = 0;
  int rc = 0;
  for (size_t p = 0; p < n_lens && !rc; p++) {
    int64_t n = lens[p] < ctx ? lens[p] : ctx;
    int sh, sg;
    if ((s = llmc_rt_seq_create_empty(h, &sh)) || (s = llmc_rt_seq_create_empty(g, &sg))) {
      rc = fail_status("creating a sequence", s);
      break;
    }
    uint64_t rng = 1000 + p;
    for (int64_t at = 0, c = 0; at < n && !rc; c++) {
      /* Chunks of 1, 2, 5, t_max, ... tokens: decode- and prefill-sized. */
      static const int64_t chunk_sizes[] = {1, 2, 5, 1 << 30};
      int64_t len = chunk_sizes[c % 4] < t_max ? chunk_sizes[c % 4] : t_max;
      if (len > n - at) len = n - at;
      int32_t tok[4096], pos[4096];
      if (len > 4096) len = 4096;
      for (int64_t i = 0; i < len; i++) {
        tok[i] = (int32_t)(llmc_rng_uniform(&rng) * (float)vocab) % (int32_t)vocab;
        pos[i] = (int32_t)(at + i);
      }
      const float *lh, *lg;
      if ((s = llmc_rt_forward(h, sh, tok, pos, len, &lh))) {
        rc = fail_status("host forward", s);
        break;
      }
      if ((s = llmc_rt_forward(g, sg, tok, pos, len, &lg))) {
        rc = fail_status("device forward", s);
        break;
      }
      for (int64_t r = 0; r < len; r++, rows++) {
        int64_t ah = 0, ag = 0;
        for (int64_t v = 0; v < vocab; v++) {
          double x = lh[r * vocab + v], y = lg[r * vocab + v];
          double d = fabs(x - y) / (1 + fabs(x));
          if (!(d <= worst)) { /* NaN counts as worst */
            worst = isnan(d) ? INFINITY : d;
            worst_row = rows;
            worst_col = v;
          }
          if (lh[r * vocab + v] > lh[r * vocab + ah]) ah = v;
          if (lg[r * vocab + v] > lg[r * vocab + ag]) ag = v;
        }
        argmax_same += ah == ag;
      }
      at += len;
    }
    llmc_rt_seq_free(h, sh);
    llmc_rt_seq_free(g, sg);
  }
  if (!rc) {
    printf("%lld rows of %lld logits: max relative difference %.3g (row %lld, token %lld); "
           "argmax agrees on %lld rows\n",
           (long long)rows, (long long)vocab, worst, (long long)worst_row, (long long)worst_col,
           (long long)argmax_same);
    if (!(worst <= tol)) {
      fprintf(stderr, "gpu_check: FAIL: difference %.3g exceeds tolerance %.3g\n", worst, tol);
      rc = 1;
    }
  }
  if (!rc) rc = compare_greedy(h, g, quick ? 8 : 32);
  if (!rc) rc = compare_scheduled(h, g, quick ? 8 : 32);
  llmc_rt_close(h);
  llmc_rt_close(g);
  return rc;
}

int main(int argc, char **argv) {
  const char *backend = "auto", *dir = NULL;
  double tol = 2e-3; /* f32 with reassociated reductions on the device */
  int probe_only = 0;
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--probe")) probe_only = 1;
    else if (!strncmp(argv[i], "--backend=", 10)) backend = argv[i] + 10;
    else if (!strncmp(argv[i], "--tol=", 6)) tol = atof(argv[i] + 6);
    else if (!strcmp(argv[i], "--quick")) quick = true;
    else if (argv[i][0] != '-' && !dir) dir = argv[i];
    else {
      fprintf(stderr, "usage: gpu_check --probe [--backend=NAME] | gpu_check [--backend=NAME] "
                      "[--tol=X] [--quick] ARTIFACT_DIR\n");
      return 64;
    }
  }
  const char *name;
  llmc_rt_device_info_t info;
  int rc = probe(backend, &name, &info);
  if (rc) return rc;
  if (probe_only) {
    printf("%s %s %s\n", name, info.target, info.name);
    return 0;
  }
  if (!dir) {
    fprintf(stderr, "gpu_check: no artifact directory given\n");
    return 64;
  }
  return compare(name, dir, tol, quick);
}
