/* quant_check.c: the accuracy of a quantized artifact against the f32
 * reference interpreter, teacher-forced on held-out text.
 *
 * Usage: quant_check MODEL ARTIFACT_DIR TEXT_FILE [--positions N]
 *                    [--min-top1 F] [--max-ppl-ratio F] [--max-err F]
 *
 * The text's last 5% (the part examples/tiny-llama/train.py holds out) is
 * tokenized with MODEL's tokenizer.json and cut into windows of the
 * artifact's context. Each window goes through the interpreter (MODEL's
 * own f32 weights) in one step and through the artifact in chunks of its
 * step size, and at every position the two next-token distributions are
 * compared: top-1 agreement, max |logit difference|, and the perplexity of
 * the actual next token under each. Prints one line of figures; exits 1
 * when a bound given is not met. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_tokenizer.h"
#include "llmc_verify.h"

static int fail(llmc_status_t *s) {
  char msg[4096];
  llmc_status_format(s, msg, sizeof msg);
  fprintf(stderr, "quant_check: %s\n", msg);
  llmc_status_free(s);
  return 70;
}

static int64_t argmax(const float *x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

/* -log softmax(x)[target], in double. */
static double nll(const float *x, int64_t n, int64_t target) {
  double mx = x[0], sum = 0;
  for (int64_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  for (int64_t i = 0; i < n; i++) sum += exp((double)x[i] - mx);
  return log(sum) + mx - (double)x[target];
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: quant_check MODEL ARTIFACT_DIR TEXT_FILE [--positions N] [--min-top1 F] "
                    "[--max-ppl-ratio F] [--max-err F]\n");
    return 64;
  }
  long positions = 256;
  double min_top1 = 0, max_ppl_ratio = 0, max_err = 0;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--positions") == 0) positions = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--min-top1") == 0) min_top1 = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--max-ppl-ratio") == 0) max_ppl_ratio = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--max-err") == 0) max_err = atof(argv[i + 1]);
  }
  llmc_model_t *model;
  llmc_status_t *s = llmc_model_load(argv[1], &model);
  if (s) return fail(s);
  llmc_tokenizer_t *tok;
  if ((s = llmc_model_tokenizer(model, &tok))) return fail(s);
  char *text;
  size_t len;
  if ((s = llmc_file_read_text(argv[3], 64u << 20, &text, &len))) return fail(s);
  size_t from = len - len / 20;
  int32_t *ids;
  int64_t n_ids;
  if ((s = llmc_tokenizer_encode(tok, text + from, len - from, false, &ids, &n_ids))) return fail(s);
  llmc_rt_t *rt;
  llmc_rt_options_t ro = {0};
  if ((s = llmc_rt_open(argv[2], &ro, &rt))) return fail(s);
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB), ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
  int64_t t_max = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_STEP_TOKENS);
  int32_t *pos = malloc(sizeof(int32_t) * (size_t)ctx);
  float *got = malloc(sizeof(float) * (size_t)(ctx * vocab));
  for (int64_t i = 0; i < ctx; i++) pos[i] = (int32_t)i;
  long done = 0, agree = 0;
  double worst = 0, nll_ref = 0, nll_got = 0;
  for (int64_t w = 0; !s && done < positions && (w + 1) * ctx <= n_ids; w++) {
    const int32_t *win = ids + w * ctx;
    llmc_interp_t *it = NULL;
    const float *ref;
    int64_t v;
    int seq = -1;
    if (!(s = llmc_interp_create(model->graph, llmc_weight_set_lookup, model->weights, ctx, &it)))
      s = llmc_interp_step(it, win, pos, ctx, &ref, &v);
    if (!s) s = llmc_rt_seq_create_empty(rt, &seq);
    for (int64_t at = 0; !s && at < ctx; at += t_max) {
      int64_t n = ctx - at < t_max ? ctx - at : t_max;
      const float *out;
      if (!(s = llmc_rt_forward(rt, seq, win + at, pos + at, n, &out)))
        memcpy(got + at * vocab, out, sizeof(float) * (size_t)(n * vocab));
    }
    for (int64_t p = 0; !s && p + 1 < ctx && done < positions; p++, done++) {
      const float *r = ref + p * vocab, *g = got + p * vocab;
      agree += argmax(r, vocab) == argmax(g, vocab);
      for (int64_t j = 0; j < vocab; j++) {
        double d = fabs((double)r[j] - (double)g[j]);
        if (!(d <= worst)) worst = d;
      }
      nll_ref += nll(r, vocab, win[p + 1]);
      nll_got += nll(g, vocab, win[p + 1]);
    }
    if (seq >= 0) llmc_rt_seq_free(rt, seq);
    llmc_interp_destroy(it);
  }
  if (s) return fail(s);
  if (done == 0) return fail(LLMC_ERROR(LLMC_DATA_LOSS, argv[3], "the held-out text is shorter than one window"));
  double top1 = (double)agree / (double)done, ppl_ref = exp(nll_ref / (double)done), ppl_got = exp(nll_got / (double)done);
  printf("positions %ld: top-1 agreement %.4f, max |logit diff| %.4g, perplexity %.4f (f32 reference) vs %.4f "
         "(artifact, %+.2f%%)\n", done, top1, worst, ppl_ref, ppl_got, 100.0 * (ppl_got / ppl_ref - 1));
  bool ok = top1 >= min_top1 && (max_ppl_ratio <= 0 || ppl_got / ppl_ref <= max_ppl_ratio) &&
            (max_err <= 0 || worst <= max_err);
  llmc_rt_close(rt);
  free(pos);
  free(got);
  free(ids);
  free(text);
  llmc_tokenizer_destroy(tok);
  llmc_model_destroy(model);
  if (!ok) printf("FAILED\n");
  return ok ? 0 : 1;
}
