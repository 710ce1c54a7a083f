/* bench_requests.c: `bench DIR --requests N ...`, a request-level benchmark
 * run in-process against the runtime (issue 13's "Bench"): N requests whose
 * prompt and generation lengths are drawn uniformly from ranges with a seeded
 * PRNG, arriving all at once or as a Poisson process, at most --concurrency in
 * flight, stepped by one llmc_rt_step loop (continuous batching with chunked
 * prefill is the runtime's). Reports TTFT, TPOT and latency percentiles,
 * throughput and the peak of KV blocks in use, as text or one JSON object.
 *
 * With --url instead of a directory the same requests go to a running
 * `llmc serve` through HTTP (libcurl; streamed completions of token ids,
 * `ignore_eos`, `return_token_ids`), one client thread per --concurrency
 * slot, so the server's overhead shows against the in-process numbers.
 *
 * Leaves out: sampling other than greedy. Every request generates exactly
 * its drawn length (no stop tokens, eos ignored), so the token counts depend
 * on the seed only.
 *
 * Times: a request *arrives* at its drawn time, is *admitted* (handed to the
 * runtime) once it has arrived and fewer than --concurrency are in flight,
 * and its tokens are timed when the step that produced them returns. TTFT and
 * latency run from admission, as a client holding one of --concurrency
 * connections sees them (vLLM's benchmark_serving measures the same way); the
 * wait from arrival to admission is reported on its own line ("queue"), so
 * arrival-to-first-token is queue + TTFT. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "llmc_cli.h"
#include "llmc_rt.h"

static const char help[] =
    "Usage: llmc bench ARTIFACT_DIR --requests=N [options]\n"
    "       llmc bench --url=URL --requests=N [options]\n"
    "Runs a mix of N requests in-process (continuous batching), or against a running\n"
    "`llmc serve` at URL (http://HOST:PORT) through HTTP, and reports time to\n"
    "first token (TTFT), time per output token (TPOT) and latency percentiles\n"
    "(p50/p90/p99, nearest rank), requests/s, output tokens/s and KV use.\n\n"
    "      --requests=N         requests to run (switches bench to this mode)\n"
    "      --concurrency=C      requests in flight at most (default: the artifact's\n"
    "                           --max-seqs; more than that queue in the runtime)\n"
    "      --prompt-len=A:B     prompt tokens, uniform in [A, B] (default: 32:128;\n"
    "                           N alone is N:N)\n"
    "      --gen-len=A:B        generated tokens, uniform in [A, B] (default: 16:64);\n"
    "                           every request generates exactly its length\n"
    "      --rate=R             Poisson arrivals at R requests/s (default: all at once)\n"
    "      --seed=S             seed of lengths, prompts and arrivals (default: 0)\n"
    "      --json               print one JSON object (with every request) instead\n"
    "      --kv-blocks=N        KV cache size in blocks, as for run\n"
    "      --synthetic-weights  run on generated weights (speed only)\n"
    "      --url=URL            send the requests to the server at URL instead (streamed\n"
    "                           /v1/completions of token ids; KV use is not reported)\n"
    "      --api-key-file=F     the bearer token for --url, read from F\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --device=NAME        as for run (default: auto)\n"
    "  -h, --help               this text\n"
    "TTFT and latency run from a request's admission (when a --concurrency slot\n"
    "takes it); \"queue\" is the wait from its arrival to its admission.\n";

/* Nearest rank (NIST's definition): the value at rank ceil(p/100 * n) of
 * the sorted values, 1-based, so p50 of {1,2,3,4} is 2 and p99 of fewer
 * than 100 values is the largest. Always one of the values (no
 * interpolation). */
double llmc_cli_percentile(const double *sorted, int64_t n, double p) {
  if (n <= 0) return 0;
  /* p * n first: exact for whole p, so rank 90 of 100 is not 90.000001 -> 91. */
  int64_t rank = (int64_t)ceil(p * (double)n / 100.0);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

typedef struct {
  const char *dir, *device, *url, *api_key_file;
  int64_t requests, concurrency, seed, threads, kv_blocks;
  int64_t prompt_lo, prompt_hi, gen_lo, gen_hi;
  double rate; /* 0: all at once */
  bool json, synthetic_weights;
} args_t;

typedef struct {
  int64_t prompt_len, gen_len;
  uint64_t prompt_rng; /* the prompt's own stream, so prompts do not depend on timing */
  double arrival;      /* seconds after the start */
  double admitted, first, last; /* absolute llmc_cli_now() times */
  int64_t generated;
  int seq; /* -1 when not in flight */
} request_t;

/* "A:B" or "A", 1 <= A <= B <= 2^24. */
static bool parse_range(const char *s, int64_t *lo, int64_t *hi) {
  char buf[64];
  if (strlen(s) >= sizeof buf) return false;
  strcpy(buf, s);
  char *colon = strchr(buf, ':');
  if (colon) *colon = '\0';
  if (!llmc_cli_parse_i64(buf, 1, 1 << 24, lo)) return false;
  if (!colon) {
    *hi = *lo;
    return true;
  }
  return llmc_cli_parse_i64(colon + 1, *lo, 1 << 24, hi);
}

static int parse_args(int argc, char **argv, args_t *a) {
  static const struct option opts[] = {
      {"requests", required_argument, 0, 'r'},   {"concurrency", required_argument, 0, 'c'},
      {"prompt-len", required_argument, 0, 'l'}, {"gen-len", required_argument, 0, 'g'},
      {"rate", required_argument, 0, 'R'},       {"seed", required_argument, 0, 's'},
      {"json", no_argument, 0, 'J'},             {"kv-blocks", required_argument, 0, 'B'},
      {"threads", required_argument, 0, 'j'},    {"device", required_argument, 0, 'd'},
      {"synthetic-weights", no_argument, 0, 'S'}, {"help", no_argument, 0, 'h'},
      {"url", required_argument, 0, 'U'},        {"api-key-file", required_argument, 0, 'K'},
      {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  float rate;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 'r':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 24, &a->requests)) return llmc_cli_usage_error("bench", "bad --requests '%s' (1 or more)", optarg);
        break;
      case 'c':
        if (!llmc_cli_parse_i64(optarg, 1, 1 << 20, &a->concurrency)) return llmc_cli_usage_error("bench", "bad --concurrency '%s' (1 or more)", optarg);
        break;
      case 'l':
        if (!parse_range(optarg, &a->prompt_lo, &a->prompt_hi)) return llmc_cli_usage_error("bench", "bad --prompt-len '%s' (A:B with 1 <= A <= B)", optarg);
        break;
      case 'g':
        if (!parse_range(optarg, &a->gen_lo, &a->gen_hi)) return llmc_cli_usage_error("bench", "bad --gen-len '%s' (A:B with 1 <= A <= B)", optarg);
        break;
      case 'R':
        /* Positive and finite; 1e6/s is already "all at once" for any model. */
        if (!llmc_cli_parse_f32(optarg, 1e-6, 1e6, &rate)) return llmc_cli_usage_error("bench", "bad --rate '%s' (requests/s, above 0)", optarg);
        a->rate = rate;
        break;
      case 's':
        if (!llmc_cli_parse_i64(optarg, 0, INT64_MAX, &a->seed)) return llmc_cli_usage_error("bench", "bad --seed '%s'", optarg);
        break;
      case 'B':
        if (!llmc_cli_parse_i64(optarg, 1, INT32_MAX, &a->kv_blocks)) return llmc_cli_usage_error("bench", "bad --kv-blocks '%s'", optarg);
        break;
      case 'j':
        if (!llmc_cli_parse_i64(optarg, 1, 1024, &a->threads)) return llmc_cli_usage_error("bench", "bad --threads '%s'", optarg);
        break;
      case 'd': a->device = optarg; break;
      case 'J': a->json = true; break;
      case 'S': a->synthetic_weights = true; break;
      case 'U': a->url = optarg; break;
      case 'K': a->api_key_file = optarg; break;
      case 'h': fputs(help, stdout); return -1;
      case ':': return llmc_cli_usage_error("bench", "option '%s' needs a value", argv[optind - 1]);
      default:
        return llmc_cli_usage_error("bench", "unknown option '%s' (with --requests; see llmc bench --requests=1 --help)",
                                    argv[optind - 1]);
    }
  }
  if (a->url) {
    if (optind != argc) return llmc_cli_usage_error("bench", "%s", "--url takes no ARTIFACT_DIR argument");
    if (strncmp(a->url, "http://", 7) != 0 || strlen(a->url) > 1000)
      return llmc_cli_usage_error("bench", "--url '%s' is not an http:// URL", a->url);
    if (a->device || a->threads || a->kv_blocks || a->synthetic_weights)
      return llmc_cli_usage_error("bench", "%s", "--device, --threads, --kv-blocks and --synthetic-weights are the server's with --url");
    a->dir = a->url;
    return 0;
  }
  if (a->api_key_file) return llmc_cli_usage_error("bench", "%s", "--api-key-file goes with --url");
  if (optind != argc - 1) return llmc_cli_usage_error("bench", "%s", "expected exactly one ARTIFACT_DIR argument");
  a->dir = argv[optind];
  return 0;
}

/* Uniform in [lo, hi]; the modulo bias is below 2^-40 for these ranges. */
static int64_t draw(uint64_t *rng, int64_t lo, int64_t hi) {
  return lo + (int64_t)(llmc_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

/* The requests in arrival order: lengths, prompt streams and arrival times
 * all from one seeded stream. Poisson arrivals have exponential gaps of mean
 * 1/rate: -ln(1 - u) / rate with u uniform in [0, 1). */
static void draw_requests(const args_t *a, request_t *r) {
  /* Arrivals have a stream of their own, so --rate changes when requests
   * come, never what they are. */
  uint64_t rng = (uint64_t)a->seed, arrivals = (uint64_t)a->seed ^ 0x5DEECE66Dull;
  double t = 0;
  for (int64_t i = 0; i < a->requests; i++) {
    r[i].prompt_len = draw(&rng, a->prompt_lo, a->prompt_hi);
    r[i].gen_len = draw(&rng, a->gen_lo, a->gen_hi);
    r[i].prompt_rng = llmc_rng_next(&rng);
    if (a->rate > 0) {
      double u = (double)(llmc_rng_next(&arrivals) >> 11) * 0x1p-53;
      t += -log1p(-u) / a->rate;
    }
    r[i].arrival = t;
    r[i].seq = -1;
  }
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9)};
  nanosleep(&ts, NULL);
}

typedef struct {
  double p50, p90, p99, mean;
  int64_t n;
} summary_t;

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* Sorts v in place. */
static summary_t summarize(double *v, int64_t n) {
  summary_t s = {.n = n};
  if (n == 0) return s;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += v[i];
  s.mean = sum / (double)n;
  s.p50 = llmc_cli_percentile(v, n, 50);
  s.p90 = llmc_cli_percentile(v, n, 90);
  s.p99 = llmc_cli_percentile(v, n, 99);
  return s;
}

static json_t *summary_json(summary_t s) {
  if (s.n == 0) return json_null();
  return json_pack("{s:f, s:f, s:f, s:f, s:I}", "p50", s.p50, "p90", s.p90, "p99", s.p99, "mean", s.mean, "n",
                   (json_int_t)s.n);
}

static void summary_line(const char *name, summary_t s) {
  if (s.n == 0)
    printf("%-10s %10s\n", name, "n/a");
  else
    printf("%-10s %10.2f %10.2f %10.2f %10.2f %8lld\n", name, s.p50, s.p90, s.p99, s.mean, (long long)s.n);
}

/* Runs the requests; fills their times and the peak of KV blocks in use. */
static llmc_status_t *run_mix(llmc_rt_t *rt, const args_t *a, request_t *r, int64_t vocab, double *out_t0,
                              double *out_t_end, int64_t *out_peak_blocks) {
  int64_t n = a->requests, next = 0, done = 0, in_flight = 0;
  int32_t *prompt = malloc(sizeof(int32_t) * (size_t)a->prompt_hi);
  /* The in-flight requests by index, so an event's sequence id (which the
   * runtime reuses after a free) finds its request among at most C. */
  int64_t *flight = malloc(sizeof(int64_t) * (size_t)(a->concurrency < n ? a->concurrency : n));
  if (!prompt || !flight) {
    free(prompt);
    free(flight);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  bool progress = isatty(STDERR_FILENO);
  llmc_sampling_t sp = {.temperature = 0, .top_p = 1, .eos_token = -1}; /* no stop tokens */
  llmc_status_t *s = NULL;
  double t0 = llmc_cli_now();
  *out_peak_blocks = 0;
  while (!s && done < n) {
    double now = llmc_cli_now();
    while (!s && next < n && in_flight < a->concurrency && t0 + r[next].arrival <= now) {
      request_t *q = &r[next];
      uint64_t prng = q->prompt_rng;
      for (int64_t i = 0; i < q->prompt_len; i++) prompt[i] = (int32_t)(llmc_rng_next(&prng) % (uint64_t)vocab);
      sp.max_new_tokens = (int)q->gen_len;
      s = llmc_rt_seq_add(rt, prompt, q->prompt_len, &sp, &q->seq);
      q->admitted = now;
      flight[in_flight++] = next++;
    }
    if (s) break;
    if (in_flight == 0) { /* nothing to step until the next arrival */
      sleep_s(t0 + r[next].arrival - llmc_cli_now());
      continue;
    }
    llmc_rt_events_t ev;
    if ((s = llmc_rt_step(rt, &ev))) break;
    now = llmc_cli_now();
    if (ev.n == 0) {
      s = LLMC_ERROR(LLMC_INTERNAL, NULL, "the runtime has nothing to do with %lld requests in flight",
                     (long long)in_flight);
      break;
    }
    llmc_rt_stats_t st;
    llmc_rt_stats_get(rt, &st);
    if (st.kv_blocks_total - st.kv_blocks_available > *out_peak_blocks)
      *out_peak_blocks = st.kv_blocks_total - st.kv_blocks_available;
    for (int i = 0; i < ev.n; i++) {
      int64_t k = 0;
      while (k < in_flight && r[flight[k]].seq != ev.events[i].seq) k++;
      if (k == in_flight) {
        s = LLMC_ERROR(LLMC_INTERNAL, NULL, "a token of sequence %d, which no request owns", ev.events[i].seq);
        break;
      }
      request_t *q = &r[flight[k]];
      if (q->generated++ == 0) q->first = now;
      q->last = now;
      if (ev.events[i].finished) {
        llmc_rt_seq_free(rt, q->seq);
        q->seq = -1;
        flight[k] = flight[--in_flight];
        done++;
        if (progress) fprintf(stderr, "\rbench: %lld/%lld requests done", (long long)done, (long long)n);
      }
    }
  }
  if (progress) fputc('\n', stderr);
  *out_t0 = t0;
  *out_t_end = llmc_cli_now();
  free(prompt);
  free(flight);
  return s;
}

/* ---- the same mix through HTTP (--url) ---- */

typedef struct {
  const args_t *a;
  request_t *r;
  int64_t vocab;
  char model[256];
  struct curl_slist *headers; /* content type, and the bearer token with --api-key-file */
  double t0;
  pthread_mutex_t mu;
  int64_t next, done;
  llmc_status_t *error; /* the first failure; the others stop at their next request */
  bool progress;
} http_mix_t;

/* One streamed response: its server-sent events, line by line. */
typedef struct {
  request_t *q;
  llmc_buf_t line;
  bool finished; /* "data: [DONE]" seen */
  char error[300];
} stream_t;

#define MAX_EVENT_BYTES (1u << 20)

static void stream_line(stream_t *st, double now) {
  const char *p = st->line.data ? st->line.data : "";
  if (st->line.len < 6 || strncmp(p, "data: ", 6) != 0) return;
  if (st->line.len == 12 && strncmp(p + 6, "[DONE]", 6) == 0) {
    st->finished = true;
    return;
  }
  json_t *o = json_loadb(p + 6, st->line.len - 6, 0, NULL);
  json_t *err = json_object_get(o, "error");
  if (!o || err) {
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!st->error[0]) snprintf(st->error, sizeof st->error, "%s", msg ? msg : "an event that is not JSON");
  } else {
    size_t k = json_array_size(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "token_ids"));
    if (k > 0) {
      if (st->q->generated == 0) st->q->first = now;
      st->q->last = now;
      st->q->generated += (int64_t)k;
    }
  }
  json_decref(o);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
  stream_t *st = ctx;
  size_t n = size * nmemb;
  double now = llmc_cli_now();
  for (size_t i = 0; i < n; i++) {
    if (data[i] == '\n') {
      stream_line(st, now);
      st->line.len = 0;
    } else if (st->line.len < MAX_EVENT_BYTES) {
      llmc_buf_append(&st->line, &data[i], 1);
    } else {
      if (!st->error[0]) snprintf(st->error, sizeof st->error, "an event longer than %u bytes", MAX_EVENT_BYTES);
      return 0; /* stops the transfer */
    }
  }
  return n;
}

static llmc_status_t *http_request(http_mix_t *m, CURL *curl, request_t *q, int32_t *prompt) {
  uint64_t prng = q->prompt_rng;
  json_t *ids = json_array();
  for (int64_t i = 0; i < q->prompt_len; i++) {
    prompt[i] = (int32_t)(llmc_rng_next(&prng) % (uint64_t)m->vocab);
    json_array_append_new(ids, json_integer(prompt[i]));
  }
  json_t *body = json_pack("{s:s, s:o, s:I, s:f, s:b, s:b, s:b}", "model", m->model, "prompt", ids, "max_tokens",
                           (json_int_t)q->gen_len, "temperature", 0.0, "stream", 1, "ignore_eos", 1,
                           "return_token_ids", 1);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  char url[1100];
  snprintf(url, sizeof url, "%s/v1/completions", m->a->url);
  stream_t st = {.q = q};
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, m->headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  q->admitted = llmc_cli_now();
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  free(text);
  if (st.line.len) stream_line(&st, llmc_cli_now()); /* a last line without its newline */
  llmc_buf_free(&st.line);
  if (rc != CURLE_OK && !st.error[0])
    return LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "%s", curl_easy_strerror(rc));
  if (status != 200 || st.error[0])
    return LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "request of %lld prompt tokens: HTTP %ld%s%s", (long long)q->prompt_len,
                      status, st.error[0] ? ": " : "", st.error);
  if (!st.finished || q->generated != q->gen_len)
    return LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "a stream ended after %lld of %lld tokens", (long long)q->generated,
                      (long long)q->gen_len);
  return NULL;
}

/* A client thread: one --concurrency slot, its requests one after another. */
static void *http_client(void *arg) {
  http_mix_t *m = arg;
  CURL *curl = curl_easy_init();
  int32_t *prompt = malloc(sizeof(int32_t) * (size_t)m->a->prompt_hi);
  llmc_status_t *s = curl && prompt ? NULL : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  while (!s) {
    pthread_mutex_lock(&m->mu);
    int64_t i = m->error ? m->a->requests : m->next++;
    pthread_mutex_unlock(&m->mu);
    if (i >= m->a->requests) break;
    sleep_s(m->t0 + m->r[i].arrival - llmc_cli_now());
    s = http_request(m, curl, &m->r[i], prompt);
    pthread_mutex_lock(&m->mu);
    m->done++;
    if (m->progress) fprintf(stderr, "\rbench: %lld/%lld requests done", (long long)m->done, (long long)m->a->requests);
    pthread_mutex_unlock(&m->mu);
  }
  pthread_mutex_lock(&m->mu);
  if (s && !m->error) m->error = s;
  else llmc_status_free(s);
  pthread_mutex_unlock(&m->mu);
  free(prompt);
  curl_easy_cleanup(curl);
  return NULL;
}

/* GET /v1/models: the served model's name and vocabulary. */
static size_t on_models(char *data, size_t size, size_t nmemb, void *ctx) {
  llmc_buf_t *b = ctx;
  if (b->len + size * nmemb > MAX_EVENT_BYTES) return 0;
  llmc_buf_append(b, data, size * nmemb);
  return size * nmemb;
}

/* GET url + path into b (NUL-terminated); the curl result and HTTP status. */
static CURLcode http_get(const http_mix_t *m, const char *path, llmc_buf_t *b, long *out_status) {
  *out_status = 0;
  CURL *curl = curl_easy_init();
  if (!curl) return CURLE_OUT_OF_MEMORY;
  char url[1100];
  snprintf(url, sizeof url, "%s%s", m->a->url, path);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, m->headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_models);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, out_status);
  curl_easy_cleanup(curl);
  llmc_buf_append(b, "", 1);
  if (!b->failed) b->len--; /* the NUL stays after the data */
  return rc;
}

static llmc_status_t *http_model(http_mix_t *m, int64_t *out_context) {
  llmc_buf_t b = {0};
  long status;
  CURLcode rc = http_get(m, "/v1/models", &b, &status);
  llmc_status_t *s = NULL;
  json_t *o = rc == CURLE_OK && status == 200 ? json_loadb(b.data ? b.data : "", b.len, 0, NULL) : NULL;
  json_t *model = json_array_get(json_object_get(o, "data"), 0);
  const char *id = json_string_value(json_object_get(model, "id"));
  json_t *vocab = json_object_get(model, "vocab_size"), *ctx = json_object_get(model, "max_model_len");
  if (rc != CURLE_OK)
    s = LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "%s", curl_easy_strerror(rc));
  else if (status != 200)
    s = LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "GET /v1/models: HTTP %ld", status);
  else if (!id || strlen(id) >= sizeof m->model || !json_is_integer(vocab) || json_integer_value(vocab) < 1 ||
           !json_is_integer(ctx))
    s = LLMC_ERROR(LLMC_UNAVAILABLE, m->a->url, "GET /v1/models names no model with vocab_size (not llmc serve?)");
  else {
    snprintf(m->model, sizeof m->model, "%s", id);
    m->vocab = json_integer_value(vocab);
    *out_context = json_integer_value(ctx);
  }
  json_decref(o);
  llmc_buf_free(&b);
  return s;
}

/* The server's prefix_hit_tokens counter (GET /metrics), -1 when it cannot
 * be read: a server whose cache already holds a run's prompts (the same
 * --seed run before) answers faster than a cold one, and the report says so. */
static int64_t http_prefix_hits(const http_mix_t *m) {
  llmc_buf_t b = {0};
  long status;
  CURLcode rc = http_get(m, "/metrics", &b, &status);
  int64_t v = -1;
  static const char key[] = "\nllmc_prefix_hit_tokens_total ";
  const char *at = rc == CURLE_OK && status == 200 && !b.failed ? strstr(b.data, key) : NULL;
  if (at) {
    char *end;
    long long x = strtoll(at + sizeof key - 1, &end, 10);
    if (end != at + sizeof key - 1 && x >= 0) v = x;
  }
  llmc_buf_free(&b);
  return v;
}

/* Runs the mix against the server; fills the requests' times and the
 * prefix-cache hits it saw (-1: unknown). */
static llmc_status_t *run_http_mix(const args_t *a, request_t *r, double *out_t0, double *out_t_end,
                                   int64_t *out_prefix_hits) {
  http_mix_t m = {.a = a, .r = r, .progress = isatty(STDERR_FILENO)};
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "libcurl cannot start");
  llmc_status_t *s = NULL;
  m.headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (a->api_key_file) {
    char *key = NULL;
    if (!(s = llmc_cli_read_api_key(a->api_key_file, &key))) {
      char h[600];
      snprintf(h, sizeof h, "Authorization: Bearer %.500s", key);
      m.headers = curl_slist_append(m.headers, h);
    }
    free(key);
  }
  int64_t context = 0;
  if (!s) s = http_model(&m, &context);
  if (!s && a->prompt_hi + a->gen_hi > context)
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-len/--gen-len",
                   "prompts up to %lld tokens plus up to %lld new tokens exceed the server's context of %lld",
                   (long long)a->prompt_hi, (long long)a->gen_hi, (long long)context);
  int64_t n_threads = a->concurrency < a->requests ? a->concurrency : a->requests;
  pthread_t *threads = s ? NULL : calloc((size_t)n_threads, sizeof *threads);
  if (!s && !threads) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int64_t started = 0, hits0 = s ? -1 : http_prefix_hits(&m);
  *out_prefix_hits = -1;
  if (!s) {
    pthread_mutex_init(&m.mu, NULL);
    m.t0 = llmc_cli_now();
    for (; started < n_threads; started++)
      if (pthread_create(&threads[started], NULL, http_client, &m) != 0) break;
    for (int64_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
    if (m.progress) fputc('\n', stderr);
    s = m.error;
    if (!s && started < n_threads)
      s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "started %lld of %lld client threads", (long long)started,
                     (long long)n_threads);
    pthread_mutex_destroy(&m.mu);
    int64_t hits1 = http_prefix_hits(&m);
    if (hits0 >= 0 && hits1 >= hits0) *out_prefix_hits = hits1 - hits0;
  }
  *out_t0 = m.t0;
  *out_t_end = llmc_cli_now();
  free(threads);
  curl_slist_free_all(m.headers);
  curl_global_cleanup();
  return s;
}

/* The KV facts of a run: all in-process; through HTTP only the prefix-cache
 * hits (total 0; hits -1 when /metrics could not be read). */
typedef struct {
  int64_t total, peak, block_tokens, preemptions, prefix_hits, dropped;
} kv_report_t;

static int report(const args_t *a, request_t *r, double *v, double t0, double t_end, const char *device,
                  const kv_report_t *kv);

/* The in-process run: the artifact opened here, the mix stepped here. */
static llmc_status_t *run_local(args_t *a, request_t **out_r, double *out_t0, double *out_t_end, char *device,
                                size_t device_cap, kv_report_t *kv) {
  llmc_rt_t *rt = NULL;
  llmc_rt_options_t ro = {.backend = a->device, .n_threads = (int)a->threads, .kv_blocks = a->kv_blocks,
                          .synthetic_weights = a->synthetic_weights};
  LLMC_RETURN_IF_ERROR(llmc_rt_open(a->dir, &ro, &rt));
  int64_t ctx = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT), bs = llmc_rt_plan_value(rt, LLMC_PLAN_BLOCK_SIZE);
  int64_t vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
  if (!a->concurrency) a->concurrency = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_SEQS);
  llmc_rt_stats_t st;
  llmc_rt_stats_get(rt, &st);
  /* The longest request must fit, as llmc_rt_seq_add would check it only
   * when that request comes: the prompt plus its new tokens in the context,
   * and their KV (the last token is never fed back; with sliding windows
   * only a window's blocks at once) in the whole cache. */
  int64_t longest = a->prompt_hi + a->gen_hi, blocks = llmc_rt_kv_blocks_for(rt, longest - 1);
  llmc_status_t *s = NULL;
  if (longest > ctx)
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-len/--gen-len",
                   "prompts up to %lld tokens plus up to %lld new tokens exceed the artifact's context of %lld",
                   (long long)a->prompt_hi, (long long)a->gen_hi, (long long)ctx);
  else if (blocks > st.kv_blocks_total)
    s = LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--prompt-len/--gen-len",
                   "a request of %lld tokens needs %lld KV blocks of %lld tokens; the cache has %lld",
                   (long long)longest, (long long)blocks, (long long)bs, (long long)st.kv_blocks_total);
  request_t *r = s ? NULL : calloc((size_t)a->requests, sizeof *r);
  if (!s && !r) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int64_t peak = 0;
  if (!s) {
    draw_requests(a, r);
    s = run_mix(rt, a, r, vocab, out_t0, out_t_end, &peak);
  }
  snprintf(device, device_cap, "%s: %s", llmc_rt_backend_name(rt), llmc_rt_device_describe(rt));
  llmc_rt_stats_get(rt, &st);
  llmc_rt_close(rt);
  *kv = (kv_report_t){.total = st.kv_blocks_total, .peak = peak, .block_tokens = bs, .preemptions = st.preemptions,
                      .prefix_hits = st.prefix_hit_tokens, .dropped = st.kv_blocks_dropped};
  *out_r = r;
  return s;
}

int llmc_cli_bench_requests(int argc, char **argv) {
  args_t a = {.prompt_lo = 32, .prompt_hi = 128, .gen_lo = 16, .gen_hi = 64};
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  char device[1200];
  kv_report_t kv = {0};
  request_t *r = NULL;
  double t0 = 0, t_end = 0;
  llmc_status_t *s = NULL;
  if (a.url) {
    if (!a.concurrency) a.concurrency = 8;
    snprintf(device, sizeof device, "%s", "the server's (through HTTP)");
    if (!(r = calloc((size_t)a.requests, sizeof *r))) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    if (!s) {
      draw_requests(&a, r);
      s = run_http_mix(&a, r, &t0, &t_end, &kv.prefix_hits);
    }
  } else {
    s = run_local(&a, &r, &t0, &t_end, device, sizeof device, &kv);
  }
  double *v = s ? NULL : malloc(sizeof(double) * (size_t)a.requests);
  if (!s && !v) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) rc = report(&a, r, v, t0, t_end, device, &kv);
  free(r);
  free(v);
  return s ? llmc_cli_report(s) : rc;
}

static int report(const args_t *a, request_t *r, double *v, double t0, double t_end, const char *device,
                  const kv_report_t *kv) {
  int64_t in_tokens = 0, out_tokens = 0, n = a->requests, m;
  for (int64_t i = 0; i < n; i++) in_tokens += r[i].prompt_len, out_tokens += r[i].generated;
  double dur = t_end - t0;
  for (int64_t i = 0; i < n; i++) v[i] = (r[i].first - r[i].admitted) * 1e3;
  summary_t ttft = summarize(v, n);
  m = 0; /* TPOT needs two tokens: a request of one token has none */
  for (int64_t i = 0; i < n; i++)
    if (r[i].generated > 1) v[m++] = (r[i].last - r[i].first) * 1e3 / (double)(r[i].generated - 1);
  summary_t tpot = summarize(v, m);
  for (int64_t i = 0; i < n; i++) v[i] = (r[i].last - r[i].admitted) * 1e3;
  summary_t lat = summarize(v, n);
  for (int64_t i = 0; i < n; i++) v[i] = (r[i].admitted - (t0 + r[i].arrival)) * 1e3;
  for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : 0; /* admitted in the same instant */
  summary_t queue = summarize(v, n);

  if (a->json) {
    json_t *reqs = json_array();
    for (int64_t i = 0; i < n; i++)
      json_array_append_new(
          reqs, json_pack("{s:I, s:I, s:I, s:f, s:f, s:f}", "prompt_len", (json_int_t)r[i].prompt_len, "gen_len",
                          (json_int_t)r[i].gen_len, "generated", (json_int_t)r[i].generated, "arrival_ms",
                          r[i].arrival * 1e3, "ttft_ms", (r[i].first - r[i].admitted) * 1e3, "latency_ms",
                          (r[i].last - r[i].admitted) * 1e3));
    bool local = !a->url;
    /* dropped: blocks given back behind a sliding window (llmc_rt_stats_t.kv_blocks_dropped). */
    json_t *kv_json = local ? json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)kv->total, "peak_in_use",
                                        (json_int_t)kv->peak, "block_tokens", (json_int_t)kv->block_tokens,
                                        "dropped", (json_int_t)kv->dropped)
                            : json_null();
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:[I,I], s:[I,I], s:f, s:I, s:I, s:f, s:f, s:o, s:o, s:o, s:o,"
        " s:o, s:o, s:o, s:o}",
        "artifact", a->dir, "device", device, "requests", (json_int_t)n, "completed", (json_int_t)n, "concurrency",
        (json_int_t)a->concurrency, "rate", a->rate > 0 ? json_real(a->rate) : json_null(), "seed",
        (json_int_t)a->seed, "prompt_len", (json_int_t)a->prompt_lo, (json_int_t)a->prompt_hi, "gen_len",
        (json_int_t)a->gen_lo, (json_int_t)a->gen_hi, "duration_s", dur, "input_tokens", (json_int_t)in_tokens,
        "output_tokens", (json_int_t)out_tokens, "requests_per_s", (double)n / dur, "output_tokens_per_s",
        (double)out_tokens / dur, "ttft_ms", summary_json(ttft), "tpot_ms", summary_json(tpot), "latency_ms",
        summary_json(lat), "queue_ms", summary_json(queue), "kv_blocks", kv_json, "preemptions",
        local ? json_integer(kv->preemptions) : json_null(), "prefix_hit_tokens",
        kv->prefix_hits >= 0 ? json_integer(kv->prefix_hits) : json_null(), "per_request", reqs);
    if (!o) return llmc_cli_report(LLMC_ERROR(LLMC_INTERNAL, NULL, "cannot build the JSON report"));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (text) puts(text);
    free(text);
  } else {
    printf("%s            %s\n", a->url ? "server  " : "artifact", a->dir);
    printf("device              %s\n", device);
    if (a->rate > 0)
      printf("requests            %lld, Poisson arrivals at %g/s, at most %lld in flight, seed %lld\n",
             (long long)n, a->rate, (long long)a->concurrency, (long long)a->seed);
    else
      printf("requests            %lld, all at once, at most %lld in flight, seed %lld\n", (long long)n,
             (long long)a->concurrency, (long long)a->seed);
    printf("prompt tokens       %lld:%lld each, %lld in all\n", (long long)a->prompt_lo, (long long)a->prompt_hi,
           (long long)in_tokens);
    printf("output tokens       %lld:%lld each, %lld in all\n", (long long)a->gen_lo, (long long)a->gen_hi,
           (long long)out_tokens);
    printf("duration            %.3f s\n", dur);
    printf("throughput          %.2f requests/s, %.1f output tokens/s\n", (double)n / dur,
           (double)out_tokens / dur);
    if (!a->url) {
      printf("KV blocks           %lld at most in use of %lld (%lld tokens each)", (long long)kv->peak,
             (long long)kv->total, (long long)kv->block_tokens);
      if (kv->dropped > 0) printf("; %lld given back behind the sliding window", (long long)kv->dropped);
      printf("\n");
      printf("preemptions         %lld\n", (long long)kv->preemptions);
    }
    if (kv->prefix_hits >= 0)
      printf("prefix-cache hits   %lld of %lld prompt tokens%s\n", (long long)kv->prefix_hits, (long long)in_tokens,
             kv->prefix_hits > 0 && a->url ? " (the server had seen these prompts: a cold server is slower)" : "");
    printf("%-10s %10s %10s %10s %10s %8s   (ms; nearest-rank percentiles)\n", "", "p50", "p90", "p99", "mean",
           "n");
    summary_line("TTFT", ttft);
    summary_line("TPOT", tpot);
    summary_line("latency", lat);
    summary_line("queue", queue);
  }
  return 0;
}
