/* serve.c: `llmc serve` (and `llmc-run serve`): an OpenAI-compatible HTTP
 * server over the runtime, on GNU libmicrohttpd.
 *
 * Routes: POST /v1/completions (prompt as text or token ids; streamed as
 * Server-Sent Events with "stream": true), POST /v1/chat/completions
 * (messages rendered with the artifact's chat template, frontend/llmc_chat.h;
 * a 400 saying why when it has none llmc renders), GET /v1/models,
 * GET /v1/models/ID, GET /health, GET /metrics (Prometheus text).
 *
 * Every request is hostile input: bodies are bounded (LLMC_SERVE_MAX_BODY,
 * else 413), JSON is parsed by jansson and every field's type and range is
 * checked before anything reaches the engine, responses are built with
 * jansson (user text never formatted into JSON by hand), and errors have
 * OpenAI's shape {"error": {"message", "type", "param", "code"}} with a 4xx
 * status; 500 is only for the runtime failing.
 *
 * Threads: libmicrohttpd runs one thread per connection (a handler may block
 * waiting for tokens, and a streaming response's reader blocks for the next
 * ones); serve_engine.c's thread owns the runtime. SIGINT and SIGTERM are
 * blocked in every thread and taken by the main thread with sigwait, so no
 * handler and no global flag is needed: it stops accepting, lets admitted
 * requests finish, closes connections and returns 0.
 *
 * logprobs: each sampled token's log-probability under the model (log-softmax
 * of its logits, before temperature, top-k and top-p: vLLM's default) and
 * up to 20 alternatives, in OpenAI's two shapes.
 *
 * Not yet: tools in chat, n > 1, echo (issue 13). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "llmc_chat.h"
#include "llmc_cli.h"
#include "serve.h"

enum {
  LLMC_SERVE_MAX_BODY = 1 << 20,   /* bytes of a request body; more is a 413 */
  LLMC_SERVE_MAX_KEY = 4096,       /* bytes of an API key file */
  LLMC_SERVE_MAX_CONNECTIONS = 256, /* one thread each */
  LLMC_SERVE_IDLE_TIMEOUT_S = 60,  /* a connection silent this long is closed */
};

typedef struct {
  llmc_serve_engine_t *engine;
  llmc_tokenizer_t *tok; /* NULL: prompts must be token ids */
  llmc_chat_template_t *chat; /* NULL: chat completions get a 400 saying why_no_chat */
  char why_no_chat[512];
  const char *model;     /* the id clients name */
  char *api_key;         /* NULL: no authentication */
  int64_t vocab, context;
  llmc_sampling_t stops; /* only its stop tokens: the model's, from generation.json */
  int64_t created;        /* when the server started, for /v1/models */
  uint64_t next_id;       /* request ids, atomically incremented */
  int64_t jobs;           /* completions being answered, atomically counted */
} server_t;

/* Per connection request: the body as it arrives. */
typedef struct {
  llmc_buf_t body;
  bool too_large;
  bool answered; /* a response was queued before the body was read */
} conn_t;

/* ---- responses ---- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type, char *text,
                                 size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", type);
  enum MHD_Result ok = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ok;
}

/* Sends j (taken) as the body; a JSON value that could not be built is an
 * out-of-memory, answered without allocating more than needed. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j) {
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!text) {
    static const char oom[] =
        "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":\"internal_error\"}}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_INTERNAL_SERVER_ERROR, r);
    MHD_destroy_response(r);
    return ok;
  }
  return send_text(c, status, "application/json", text, strlen(text));
}

/* OpenAI's error object for an HTTP status. The message may quote request
 * text (a model name): it is sanitized into valid UTF-8 for jansson. */
static json_t *error_json(unsigned status, const char *param, const char *message) {
  const char *type = "invalid_request_error", *code = "invalid_request";
  switch (status) {
    case 401: type = "authentication_error", code = "invalid_api_key"; break;
    case 404: type = "not_found_error", code = "not_found"; break;
    case 405: code = "method_not_allowed"; break;
    case 413: code = "request_too_large"; break;
    case 503: type = "server_error", code = "service_unavailable"; break;
    case 500: type = "server_error", code = "internal_error"; break;
    default: break;
  }
  llmc_buf_t m = {0};
  llmc_serve_utf8_sanitize(&m, message, strlen(message));
  json_t *j = json_pack("{s:{s:s%,s:s,s:s?,s:s}}", "error", "message", m.data ? m.data : "", m.len, "type",
                        type, "param", param, "code", code);
  llmc_buf_free(&m);
  return j;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *param,
                                  const char *fmt, ...) LLMC_PRINTF(4, 5);
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *param,
                                  const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return send_json(c, status, error_json(status, param, msg));
}

/* The HTTP status for a status from request parsing or the engine. */
static unsigned http_status_of(const llmc_status_t *s) {
  switch (llmc_status_code(s)) {
    case LLMC_INVALID_ARGUMENT:
    case LLMC_OUT_OF_RANGE:
    case LLMC_UNIMPLEMENTED:
    case LLMC_DATA_LOSS: return 400;
    case LLMC_NOT_FOUND: return 404;
    case LLMC_RESOURCE_EXHAUSTED:
    case LLMC_UNAVAILABLE: return 503;
    default: return 500;
  }
}

/* Sends s (freed) as an error; its `where` names the offending parameter. */
static enum MHD_Result send_status(struct MHD_Connection *c, llmc_status_t *s, const char *param) {
  unsigned status = http_status_of(s);
  enum MHD_Result ok = send_error(c, status, param, "%s", llmc_status_message(s));
  llmc_status_free(s);
  return ok;
}

/* ---- request parameters ---- */

typedef struct {
  int32_t *prompt; /* owned until the request takes it */
  int64_t n_prompt;
  llmc_sampling_t sp;
  bool stream, return_ids, ignore_eos;
  bool chat; /* /v1/chat/completions: messages in, chat.completion objects out */
  char *stops[LLMC_SERVE_MAX_STOPS]; /* owned */
  int n_stops;
  int32_t stop_ids[LLMC_SERVE_MAX_STOPS];
  int n_stop_ids;
  const char *bad_param; /* the parameter a parse error is about */
} completion_t;

static void completion_free(completion_t *p) {
  free(p->prompt);
  for (int i = 0; i < p->n_stops; i++) free(p->stops[i]);
}

/* A present, non-null member (JSON null counts as absent, as in OpenAI's API). */
static json_t *member(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_null(v) ? NULL : v;
}

#define BAD(p, key, ...) ((p)->bad_param = (key), LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, __VA_ARGS__))

static llmc_status_t *get_number(completion_t *p, json_t *o, const char *key, double lo, double hi,
                                 double *out) {
  json_t *v = member(o, key);
  if (!v) return NULL;
  if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
    return BAD(p, key, "'%s' must be a number from %g to %g", key, lo, hi);
  *out = json_number_value(v);
  return NULL;
}

static llmc_status_t *get_int(completion_t *p, json_t *o, const char *key, json_int_t lo, json_int_t hi,
                              json_int_t *out) {
  json_t *v = member(o, key);
  if (!v) return NULL;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return BAD(p, key, "'%s' must be an integer from %lld to %lld", key, (long long)lo, (long long)hi);
  *out = json_integer_value(v);
  return NULL;
}

static llmc_status_t *get_bool(completion_t *p, json_t *o, const char *key, bool *out) {
  json_t *v = member(o, key);
  if (!v) return NULL;
  if (!json_is_boolean(v)) return BAD(p, key, "'%s' must be true or false", key);
  *out = json_is_true(v);
  return NULL;
}

static llmc_status_t *parse_ids(const server_t *srv, completion_t *p, json_t *arr) {
  size_t n = json_array_size(arr);
  if (n == 0) return BAD(p, "prompt", "the prompt is empty");
  if ((int64_t)n >= srv->context)
    return BAD(p, "prompt", "the prompt of %zu tokens leaves no room in the model's context of %lld tokens", n,
               (long long)srv->context);
  p->prompt = malloc(n * sizeof *p->prompt);
  if (!p->prompt) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(arr, i);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= srv->vocab)
      return BAD(p, "prompt", "prompt[%zu] is not a token id of the %lld-token vocabulary", i,
                 (long long)srv->vocab);
    p->prompt[i] = (int32_t)json_integer_value(v);
  }
  p->n_prompt = (int64_t)n;
  return NULL;
}

/* A prompt the tokenizer made of param ("prompt", or "messages": what is
 * the conversation): not empty, room left in the context, every id in the
 * model's vocabulary. */
static llmc_status_t *check_encoded(const server_t *srv, completion_t *p, const char *param, const char *what) {
  if (p->n_prompt == 0) return BAD(p, param, "the %s is empty", what);
  if (p->n_prompt >= srv->context)
    return BAD(p, param, "the %s of %lld tokens leaves no room in the model's context of %lld tokens", what,
               (long long)p->n_prompt, (long long)srv->context);
  for (int64_t i = 0; i < p->n_prompt; i++)
    if (p->prompt[i] < 0 || p->prompt[i] >= srv->vocab)
      return BAD(p, param, "the tokenizer gave token %d, outside the model's %lld-token vocabulary", p->prompt[i],
                 (long long)srv->vocab);
  return NULL;
}

static llmc_status_t *parse_prompt(const server_t *srv, completion_t *p, json_t *v) {
  /* A list of one prompt is that prompt; more would need n > 1 choices. */
  if (json_is_array(v) && json_array_size(v) == 1 &&
      (json_is_string(json_array_get(v, 0)) || json_is_array(json_array_get(v, 0))))
    v = json_array_get(v, 0);
  if (json_is_array(v)) {
    if (json_array_size(v) > 0 && !json_is_integer(json_array_get(v, 0)))
      return BAD(p, "prompt", "one prompt per request: a string or an array of token ids");
    return parse_ids(srv, p, v);
  }
  if (!json_is_string(v)) return BAD(p, "prompt", "'prompt' must be a string or an array of token ids");
  if (!srv->tok)
    return BAD(p, "prompt", "the model has no tokenizer (compiled with --no-tokenizer): give the prompt as "
                            "an array of token ids");
  LLMC_RETURN_IF_ERROR(llmc_tokenizer_encode(srv->tok, json_string_value(v), json_string_length(v), true,
                                             &p->prompt, &p->n_prompt));
  return check_encoded(srv, p, "prompt", "prompt");
}

/* Chat: the messages rendered with the chat template (which holds BOS and
 * the turn markers), encoded without adding special tokens. */
static llmc_status_t *parse_messages(const server_t *srv, completion_t *p, json_t *v) {
  if (!srv->chat) return BAD(p, "messages", "%s", srv->why_no_chat);
  llmc_chat_message_t *m = NULL;
  size_t n = 0;
  llmc_buf_t text = {0};
  llmc_status_t *s = llmc_chat_messages_from_json(v, &m, &n);
  if (!s) s = llmc_chat_render(srv->chat, m, n, true, &text);
  if (!s && text.failed) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) s = llmc_tokenizer_encode(srv->tok, text.data ? text.data : "", text.len, false, &p->prompt, &p->n_prompt);
  free(m);
  llmc_buf_free(&text);
  if (s) {
    if (llmc_status_code(s) == LLMC_INVALID_ARGUMENT) p->bad_param = "messages";
    return s;
  }
  return check_encoded(srv, p, "messages", "conversation");
}

static llmc_status_t *parse_stop(const server_t *srv, completion_t *p, json_t *v) {
  json_t *one[1] = {v};
  size_t n = 1;
  if (json_is_array(v)) n = json_array_size(v);
  if (n > LLMC_SERVE_MAX_STOPS) return BAD(p, "stop", "at most %d stop sequences", LLMC_SERVE_MAX_STOPS);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_is_array(v) ? json_array_get(v, i) : one[0];
    if (json_is_integer(s)) {
      if (json_integer_value(s) < 0 || json_integer_value(s) >= srv->vocab)
        return BAD(p, "stop", "stop token %lld is not in the %lld-token vocabulary",
                   (long long)json_integer_value(s), (long long)srv->vocab);
      p->stop_ids[p->n_stop_ids++] = (int32_t)json_integer_value(s);
    } else if (json_is_string(s)) {
      size_t len = json_string_length(s);
      if (len == 0 || len > LLMC_SERVE_MAX_STOP_LEN || memchr(json_string_value(s), 0, len))
        return BAD(p, "stop", "a stop string must be 1 to %d bytes, without NUL", LLMC_SERVE_MAX_STOP_LEN);
      if (!srv->tok) return BAD(p, "stop", "the model has no tokenizer: stop strings need one; give token ids");
      if (!(p->stops[p->n_stops] = strdup(json_string_value(s))))
        return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
      p->n_stops++;
    } else {
      return BAD(p, "stop", "'stop' must be a string, a token id, or an array of them");
    }
  }
  return NULL;
}

/* Checks every field of a completion request; unknown fields are ignored
 * (clients send many), known ones must have the right type and range. */
static llmc_status_t *parse_completion(server_t *srv, json_t *root, completion_t *p) {
  if (!json_is_object(root)) return BAD(p, NULL, "the request body must be a JSON object");
  json_t *model = member(root, "model");
  if (model && !json_is_string(model)) return BAD(p, "model", "'model' must be a string");
  if (model && strcmp(json_string_value(model), srv->model) != 0) {
    p->bad_param = "model";
    return LLMC_ERROR(LLMC_NOT_FOUND, NULL, "the model '%.200s' does not exist; this server serves '%s'",
                      json_string_value(model), srv->model);
  }
  if (p->chat) {
    json_t *messages = json_object_get(root, "messages");
    if (!messages) return BAD(p, "messages", "'messages' is required");
    LLMC_RETURN_IF_ERROR(parse_messages(srv, p, messages));
  } else {
    json_t *prompt = json_object_get(root, "prompt");
    if (!prompt) return BAD(p, "prompt", "'prompt' is required");
    LLMC_RETURN_IF_ERROR(parse_prompt(srv, p, prompt));
  }
  /* Chat's default is what fits (OpenAI's: up to the context). */
  json_int_t max_tokens = p->chat ? srv->context - p->n_prompt : 16, top_k = 0, n = 1, seed = -1, top_logprobs = 0;
  LLMC_RETURN_IF_ERROR(get_int(p, root, "max_tokens", 1, INT32_MAX, &max_tokens));
  if (p->chat && !member(root, "max_tokens"))
    LLMC_RETURN_IF_ERROR(get_int(p, root, "max_completion_tokens", 1, INT32_MAX, &max_tokens));
  if (p->n_prompt + max_tokens > srv->context)
    return BAD(p, "max_tokens",
               "the prompt of %lld tokens plus max_tokens %lld exceeds the model's context of %lld tokens",
               (long long)p->n_prompt, (long long)max_tokens, (long long)srv->context);
  double temperature = 1.0, top_p = 1.0;
  LLMC_RETURN_IF_ERROR(get_number(p, root, "temperature", 0, 2, &temperature));
  LLMC_RETURN_IF_ERROR(get_number(p, root, "top_p", 0, 1, &top_p));
  LLMC_RETURN_IF_ERROR(get_int(p, root, "top_k", -1, srv->vocab, &top_k));
  LLMC_RETURN_IF_ERROR(get_int(p, root, "seed", INT64_MIN, INT64_MAX, &seed));
  LLMC_RETURN_IF_ERROR(get_int(p, root, "n", 1, 1, &n));
  bool logprobs = false;
  if (p->chat) { /* chat: "logprobs" true, and "top_logprobs" alternatives with it */
    LLMC_RETURN_IF_ERROR(get_bool(p, root, "logprobs", &logprobs));
    LLMC_RETURN_IF_ERROR(get_int(p, root, "top_logprobs", 0, LLMC_RT_MAX_LOGPROBS, &top_logprobs));
    if (member(root, "top_logprobs") && !logprobs)
      return BAD(p, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
  } else { /* completions: "logprobs" is the number of alternatives (0: the sampled token's only) */
    LLMC_RETURN_IF_ERROR(get_int(p, root, "logprobs", 0, LLMC_RT_MAX_LOGPROBS, &top_logprobs));
    logprobs = member(root, "logprobs") != NULL;
  }
  LLMC_RETURN_IF_ERROR(get_bool(p, root, "stream", &p->stream));
  LLMC_RETURN_IF_ERROR(get_bool(p, root, "return_token_ids", &p->return_ids));
  LLMC_RETURN_IF_ERROR(get_bool(p, root, "ignore_eos", &p->ignore_eos));
  bool echo = false;
  LLMC_RETURN_IF_ERROR(get_bool(p, root, "echo", &echo));
  if (echo) return BAD(p, "echo", "'echo' is not supported");
  json_t *stop = member(root, "stop");
  if (stop) LLMC_RETURN_IF_ERROR(parse_stop(srv, p, stop));
  /* Without a seed, each request samples differently (as OpenAI's does);
   * with one, the same request gives the same tokens. */
  uint64_t id = __atomic_load_n(&srv->next_id, __ATOMIC_RELAXED);
  p->sp = (llmc_sampling_t){
      .temperature = (float)temperature,
      .top_k = top_k < 0 ? 0 : (int)top_k,
      .top_p = (float)top_p,
      .seed = member(root, "seed") ? (uint64_t)seed : llmc_rng_next(&id) ^ (uint64_t)time(NULL),
      .max_new_tokens = (int)max_tokens,
      .eos_token = -1,
      .logprobs = logprobs,
      .top_logprobs = (int)top_logprobs,
  };
  if (!p->ignore_eos) { /* the model's stop ids, every one of them */
    memcpy(p->sp.stop_tokens, srv->stops.stop_tokens, sizeof p->sp.stop_tokens);
    p->sp.n_stop_tokens = srv->stops.n_stop_tokens;
  }
  return NULL;
}

/* ---- a completion in progress (one handler thread at a time) ---- */

typedef struct {
  server_t *srv;
  llmc_serve_req_t *req;
  completion_t params;
  llmc_serve_text_t text;
  int32_t *ids;     /* [max_new_tokens]: what the engine sent so far */
  llmc_rt_logprobs_t *lps; /* [max_new_tokens] with logprobs: theirs */
  int64_t text_offset;     /* completions' logprobs: bytes of the token strings listed so far */
  int64_t n_seen;
  int64_t n_sent_ids; /* ids already streamed (return_token_ids) */
  bool done;
  int error_http;
  char error[512];
  char id[32];
  int64_t created;
  /* Streaming: the SSE bytes being written and how far. */
  llmc_buf_t out;
  size_t out_off;
  bool sent_done;
  bool sent_role; /* chat streams: the first chunk's delta names the role */
} job_t;

static void job_free(job_t *j) {
  if (!j) return;
  __atomic_fetch_sub(&j->srv->jobs, 1, __ATOMIC_RELAXED);
  if (j->req) {
    /* A client gone before the end leaves a sequence to cancel. */
    if (!j->done) llmc_serve_engine_cancel(j->srv->engine, j->req);
    llmc_serve_req_release(j->srv->engine, j->req);
  }
  completion_free(&j->params);
  llmc_buf_free(&j->text.text);
  llmc_buf_free(&j->out);
  free(j->ids);
  free(j->lps);
  free(j);
}

/* Waits for more tokens and turns them into text; sets done at the end (a
 * stop met, the engine finished, or an error). */
static void job_pull(job_t *j) {
  bool finished;
  int error_http;
  int64_t n = llmc_serve_engine_wait(j->srv->engine, j->req, j->n_seen, j->ids + j->n_seen,
                                     j->lps ? j->lps + j->n_seen : NULL, &finished,
                                     &error_http, j->error, sizeof j->error);
  llmc_status_t *s = llmc_serve_text_feed(&j->text, j->ids + j->n_seen, n - j->n_seen);
  j->n_seen = n;
  if (s) {
    error_http = 500;
    snprintf(j->error, sizeof j->error, "%s", llmc_status_message(s));
    llmc_status_free(s);
  }
  if (error_http) {
    j->error_http = error_http;
  } else if (j->text.finish_reason) {
    /* A stop met before the engine's end frees the sequence now. */
    if (!finished) llmc_serve_engine_cancel(j->srv->engine, j->req);
  } else if (finished) {
    llmc_serve_text_finish(&j->text);
  } else {
    return;
  }
  j->done = true;
}

static json_t *usage_json(const job_t *j) {
  return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)j->params.n_prompt, "completion_tokens",
                   (json_int_t)j->text.n_accepted, "total_tokens",
                   (json_int_t)(j->params.n_prompt + j->text.n_accepted));
}

/* A token as logprobs list it: its bytes made valid UTF-8 (a token may end
 * inside a character), and, for chat, the bytes themselves; "token_id:N"
 * without a tokenizer (vLLM's form). */
static json_t *token_json(const job_t *j, int32_t id, bool chat, float logprob, int64_t *io_offset) {
  llmc_buf_t raw = {0}, text = {0};
  if (j->srv->tok) {
    llmc_status_free(llmc_tokenizer_decode_token(j->srv->tok, id, &raw)); /* an id it cannot decode: "" */
    if (raw.len) llmc_serve_utf8_sanitize(&text, raw.data, raw.len);
  } else {
    llmc_buf_printf(&text, "token_id:%d", id);
  }
  if (io_offset) *io_offset += (int64_t)raw.len;
  json_t *o = NULL;
  if (chat) {
    json_t *bytes = json_array();
    for (size_t i = 0; bytes && i < raw.len; i++) json_array_append_new(bytes, json_integer((uint8_t)raw.data[i]));
    o = json_pack("{s:s%,s:f,s:o}", "token", text.data ? text.data : "", text.len, "logprob", (double)logprob,
                  "bytes", bytes);
  } else {
    o = json_stringn(text.data ? text.data : "", text.len);
  }
  llmc_buf_free(&raw);
  llmc_buf_free(&text);
  return o;
}

/* The log-probabilities of ids[from, to) as OpenAI returns them: chat's
 * {"content": [{token, logprob, bytes, top_logprobs: [...]}]}, completions'
 * {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}],
 * "text_offset"}. */
static json_t *logprobs_json(job_t *j, int64_t from, int64_t to) {
  if (j->params.chat) {
    json_t *content = json_array();
    for (int64_t i = from; i < to; i++) {
      const llmc_rt_logprobs_t *lp = &j->lps[i];
      json_t *e = token_json(j, j->ids[i], true, lp->logprob, NULL), *top = json_array();
      for (int k = 0; k < lp->n_top; k++)
        json_array_append_new(top, token_json(j, lp->top_ids[k], true, lp->top_logprobs[k], NULL));
      json_object_set_new(e, "top_logprobs", top);
      json_array_append_new(content, e);
    }
    return json_pack("{s:o}", "content", content);
  }
  json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(), *offsets = json_array();
  for (int64_t i = from; i < to; i++) {
    const llmc_rt_logprobs_t *lp = &j->lps[i];
    json_array_append_new(offsets, json_integer(j->text_offset));
    json_array_append_new(tokens, token_json(j, j->ids[i], false, 0, &j->text_offset));
    json_array_append_new(lps, json_real(lp->logprob));
    json_t *top = json_object();
    for (int k = 0; k < lp->n_top; k++) {
      json_t *name = token_json(j, lp->top_ids[k], false, 0, NULL);
      /* Two ids may decode alike (after sanitizing); the better one stays. */
      if (name && !json_object_get(top, json_string_value(name)))
        json_object_set_new(top, json_string_value(name), json_real(lp->top_logprobs[k]));
      json_decref(name);
    }
    json_array_append_new(tops, top);
  }
  return json_pack("{s:o,s:o,s:o,s:o}", "tokens", tokens, "token_logprobs", lps, "top_logprobs", tops, "text_offset",
                   offsets);
}

/* A completion object (or a stream chunk of one) carrying text[from, to)
 * and ids[ids_from, ids_to) (and their logprobs when asked); finish_reason
 * and usage once done. */
static json_t *choice_json(job_t *j, size_t from, size_t to, int64_t ids_from, int64_t ids_to, bool last,
                           bool chunk) {
  llmc_buf_t t = {0};
  if (to > from) llmc_serve_utf8_sanitize(&t, j->text.text.data + from, to - from); /* data is NULL when empty */
  json_t *choice;
  if (!j->params.chat) {
    choice = json_pack("{s:i,s:s%,s:n,s:s?}", "index", 0, "text", t.data ? t.data : "", t.len, "logprobs",
                       "finish_reason", last ? j->text.finish_reason : NULL);
  } else {
    /* chat.completion: "message"; a chat.completion.chunk: "delta", the
     * role in the first one. */
    json_t *msg = json_pack("{s:s%}", "content", t.data ? t.data : "", t.len);
    if (msg && (!chunk || !j->sent_role)) json_object_set_new(msg, "role", json_string("assistant"));
    j->sent_role = true;
    choice = json_pack("{s:i,s:o,s:n,s:s?}", "index", 0, chunk ? "delta" : "message", msg, "logprobs",
                       "finish_reason", last ? j->text.finish_reason : NULL);
  }
  llmc_buf_free(&t);
  if (choice && j->lps) json_object_set_new(choice, "logprobs", logprobs_json(j, ids_from, ids_to));
  if (choice && j->params.return_ids) {
    json_t *ids = json_array();
    for (int64_t i = ids_from; ids && i < ids_to; i++) json_array_append_new(ids, json_integer(j->ids[i]));
    json_object_set_new(choice, "token_ids", ids);
  }
  const char *object = !j->params.chat ? "text_completion" : chunk ? "chat.completion.chunk" : "chat.completion";
  json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", j->id, "object", object, "created",
                        (json_int_t)j->created, "model", j->srv->model, "choices", choice);
  if (o && last) json_object_set_new(o, "usage", usage_json(j));
  return o;
}

/* ---- streaming (Server-Sent Events) ---- */

static void sse_event(job_t *j, json_t *event) {
  char *text = event ? json_dumps(event, JSON_COMPACT) : NULL;
  json_decref(event);
  if (!text) {
    j->out.failed = true;
    return;
  }
  llmc_buf_printf(&j->out, "data: %s\n\n", text);
  free(text);
}

/* libmicrohttpd's reader: called whenever the socket can take more; blocks
 * (this connection's own thread) until there is something to send. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  job_t *j = cls;
  while (j->out_off == j->out.len) {
    if (j->sent_done) return MHD_CONTENT_READER_END_OF_STREAM;
    j->out.len = j->out_off = 0;
    if (!j->done) job_pull(j);
    if (j->error_http) {
      sse_event(j, error_json((unsigned)j->error_http, NULL, j->error));
    } else {
      size_t safe = llmc_serve_text_safe_len(&j->text);
      int64_t ids_to = j->text.n_accepted;
      bool new_ids = (j->params.return_ids || j->lps) && ids_to > j->n_sent_ids;
      if (safe > j->text.emitted || new_ids || j->done)
        sse_event(j, choice_json(j, j->text.emitted, safe, j->n_sent_ids, ids_to, j->done, true));
      j->text.emitted = safe;
      j->n_sent_ids = ids_to;
    }
    if (j->done) {
      llmc_buf_printf(&j->out, "data: [DONE]\n\n");
      j->sent_done = true;
    }
    if (j->out.failed) return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  size_t n = j->out.len - j->out_off;
  if (n > max) n = max;
  memcpy(buf, j->out.data + j->out_off, n);
  j->out_off += n;
  return (ssize_t)n;
}

static void stream_free(void *cls) { job_free(cls); }

/* ---- routes ---- */

static enum MHD_Result handle_completions(server_t *srv, struct MHD_Connection *c, conn_t *cc, bool chat) {
  json_error_t jerr;
  json_t *root = json_loadb(cc->body.data ? cc->body.data : "", cc->body.len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return send_error(c, 400, NULL, "the body is not valid JSON: line %d column %d: %s", jerr.line, jerr.column,
                      jerr.text);
  job_t *j = calloc(1, sizeof *j);
  if (!j) {
    json_decref(root);
    return send_error(c, 503, NULL, "out of memory");
  }
  j->srv = srv;
  j->params.chat = chat;
  __atomic_fetch_add(&srv->jobs, 1, __ATOMIC_RELAXED);
  llmc_status_t *s = parse_completion(srv, root, &j->params);
  json_decref(root);
  if (s) {
    const char *param = j->params.bad_param;
    job_free(j);
    return send_status(c, s, param);
  }
  j->text = (llmc_serve_text_t){.tok = srv->tok, .eos_ids = j->params.sp.stop_tokens,
                                .n_eos_ids = j->params.sp.n_stop_tokens,
                                .stop_ids = j->params.stop_ids, .n_stop_ids = j->params.n_stop_ids,
                                .stops = (const char *const *)j->params.stops, .n_stops = j->params.n_stops};
  j->ids = malloc((size_t)j->params.sp.max_new_tokens * sizeof *j->ids);
  if (j->ids && j->params.sp.logprobs && !(j->lps = malloc((size_t)j->params.sp.max_new_tokens * sizeof *j->lps))) {
    free(j->ids);
    j->ids = NULL;
  }
  snprintf(j->id, sizeof j->id, "%s-%llu", chat ? "chatcmpl" : "cmpl",
           (unsigned long long)__atomic_fetch_add(&srv->next_id, 1, __ATOMIC_RELAXED));
  j->created = (int64_t)time(NULL);
  s = j->ids ? llmc_serve_req_create(j->params.prompt, j->params.n_prompt, &j->params.sp, &j->req)
             : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (j->ids) j->params.prompt = NULL; /* taken by the request */
  if (!s) {
    s = llmc_serve_engine_submit(srv->engine, j->req);
    if (s) { /* never submitted: the only reference is ours */
      llmc_serve_req_release(srv->engine, j->req);
      j->req = NULL;
    }
  }
  if (s) {
    job_free(j);
    return send_status(c, s, NULL);
  }
  if (j->params.stream) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, j, stream_free);
    if (!r) {
      job_free(j);
      return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* the connection keeps it, and frees j with it */
    return ok;
  }
  while (!j->done) job_pull(j);
  enum MHD_Result ok;
  if (j->error_http)
    ok = send_error(c, (unsigned)j->error_http, NULL, "%s", j->error);
  else
    ok = send_json(c, MHD_HTTP_OK, choice_json(j, 0, j->text.text.len, 0, j->text.n_accepted, true, false));
  job_free(j);
  return ok;
}

static json_t *model_json(const server_t *srv) {
  /* max_model_len as vLLM names it; vocab_size (an llmc extension) lets a
   * client send token ids (`llmc bench --url`). */
  return json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "id", srv->model, "object", "model", "created",
                   (json_int_t)srv->created, "owned_by", "llmc", "max_model_len", (json_int_t)srv->context,
                   "vocab_size", (json_int_t)srv->vocab);
}

static enum MHD_Result handle_metrics(server_t *srv, struct MHD_Connection *c) {
  llmc_serve_metrics_t m;
  llmc_serve_engine_metrics(srv->engine, &m);
  llmc_buf_t b = {0};
  struct {
    const char *name, *type, *help;
    int64_t v;
  } rows[] = {
      {"llmc_requests_total", "counter", "requests admitted", m.requests_total},
      {"llmc_requests_rejected_total", "counter", "requests refused with 503 because the queue was full",
       m.requests_rejected},
      {"llmc_requests_cancelled_total", "counter", "requests ended early (client gone or stop met)",
       m.requests_cancelled},
      {"llmc_requests_failed_total", "counter", "requests the engine failed", m.requests_failed},
      {"llmc_requests_running", "gauge", "requests in the runtime", m.running},
      {"llmc_requests_waiting", "gauge", "requests waiting for a slot", m.pending},
      {"llmc_prompt_tokens_total", "counter", "prompt tokens admitted", m.prompt_tokens_total},
      {"llmc_generation_tokens_total", "counter", "tokens sampled", m.generation_tokens_total},
      {"llmc_kv_blocks_total", "gauge", "KV cache blocks", m.kv_blocks_total},
      {"llmc_kv_blocks_in_use", "gauge", "KV cache blocks held by sequences",
       m.kv_blocks_total - m.kv_blocks_available},
      {"llmc_preemptions_total", "counter", "sequences preempted to free KV blocks", m.preemptions},
      {"llmc_kv_blocks_dropped_total", "counter", "KV blocks given back behind the sliding window",
       m.kv_blocks_dropped},
      {"llmc_prefix_hit_tokens_total", "counter", "prompt tokens served from cached KV blocks",
       m.prefix_hit_tokens},
      {"llmc_kv_invariant_failures_total", "counter", "failed KV bookkeeping checks (a bug if not 0)",
       m.invariant_failures},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    llmc_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", rows[i].name, rows[i].help, rows[i].name,
                    rows[i].type, rows[i].name, (long long)rows[i].v);
  struct {
    const char *name, *help;
    const llmc_serve_hist_t *h;
  } hists[] = {
      {"llmc_time_to_first_token_seconds", "submission to the step that sampled the first token", &m.ttft},
      {"llmc_inter_token_latency_seconds", "between consecutive tokens of a request", &m.itl},
      {"llmc_request_latency_seconds", "submission to the end of generation", &m.latency},
  };
  for (size_t i = 0; i < sizeof hists / sizeof hists[0]; i++) {
    const char *name = hists[i].name;
    llmc_buf_printf(&b, "# HELP %s %s\n# TYPE %s histogram\n", name, hists[i].help, name);
    int64_t cumulative = 0;
    for (int k = 0; k < LLMC_SERVE_HIST_BOUNDS; k++) {
      cumulative += hists[i].h->counts[k];
      llmc_buf_printf(&b, "%s_bucket{le=\"%g\"} %lld\n", name, llmc_serve_hist_bounds[k], (long long)cumulative);
    }
    llmc_buf_printf(&b, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.6f\n%s_count %lld\n", name,
                    (long long)hists[i].h->n, name, hists[i].h->sum, name, (long long)hists[i].h->n);
  }
  if (b.failed || !b.data) {
    llmc_buf_free(&b);
    return send_error(c, 503, NULL, "out of memory");
  }
  return send_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4", b.data, b.len);
}

/* Constant-time comparison of the bearer token with the key, so response
 * timing does not reveal how much of a guess was right. */
static bool authorized(const server_t *srv, struct MHD_Connection *c) {
  if (!srv->api_key) return true;
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
  const char *got = h + 7;
  size_t n = strlen(got), k = strlen(srv->api_key);
  unsigned char diff = n != k;
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)(got[i] ^ srv->api_key[i % k]);
  return diff == 0;
}

static bool is_route(const char *url, const char *route) { return strcmp(url, route) == 0; }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls) {
  (void)version;
  server_t *srv = cls;
  conn_t *cc = *con_cls;
  bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
  bool protected = strncmp(url, "/v1/", 4) == 0;
  if (!cc) {
    /* Headers only so far: refuse what needs no body before reading one. */
    if (!(cc = calloc(1, sizeof *cc))) return MHD_NO;
    *con_cls = cc;
    if (protected && !authorized(srv, c)) {
      cc->answered = true;
      return send_error(c, 401, NULL, "a valid API key is required: send 'Authorization: Bearer KEY'");
    }
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (len && strtoull(len, NULL, 10) > LLMC_SERVE_MAX_BODY) {
      cc->answered = true;
      return send_error(c, 413, NULL, "the request body exceeds %d bytes", LLMC_SERVE_MAX_BODY);
    }
    return MHD_YES;
  }
  if (*upload_size) {
    /* A chunked body without a length is counted as it comes, and the
     * rest of it dropped once over the limit. */
    if (!cc->too_large && cc->body.len + *upload_size <= LLMC_SERVE_MAX_BODY)
      llmc_buf_append(&cc->body, upload, *upload_size);
    else
      cc->too_large = true;
    *upload_size = 0;
    return MHD_YES;
  }
  if (cc->answered) return MHD_YES;
  if (cc->too_large) return send_error(c, 413, NULL, "the request body exceeds %d bytes", LLMC_SERVE_MAX_BODY);
  if (cc->body.failed) return send_error(c, 503, NULL, "out of memory");
  bool completions = is_route(url, "/v1/completions"), chat = is_route(url, "/v1/chat/completions");
  if (completions || chat) {
    if (!post) return send_error(c, 405, NULL, "%s needs POST", url);
    if (llmc_serve_engine_stopping(srv->engine)) return send_error(c, 503, NULL, "the server is shutting down");
    return handle_completions(srv, c, cc, chat);
  }
  bool models = is_route(url, "/v1/models"), model = strncmp(url, "/v1/models/", 11) == 0;
  bool health = is_route(url, "/health"), metrics = is_route(url, "/metrics");
  if (!models && !model && !health && !metrics) return send_error(c, 404, NULL, "no route %.200s", url);
  if (!get) return send_error(c, 405, NULL, "%.200s needs GET", url);
  if (health) {
    if (llmc_serve_engine_stopping(srv->engine)) return send_error(c, 503, NULL, "the server is shutting down");
    return send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
  }
  if (metrics) return handle_metrics(srv, c);
  if (model) {
    if (strcmp(url + 11, srv->model) != 0)
      return send_error(c, 404, "model", "the model '%.200s' does not exist; this server serves '%s'", url + 11,
                        srv->model);
    return send_json(c, MHD_HTTP_OK, model_json(srv));
  }
  return send_json(c, MHD_HTTP_OK, json_pack("{s:s,s:[o]}", "object", "list", "data", model_json(srv)));
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
  (void)cls, (void)c, (void)why;
  conn_t *cc = *con_cls;
  if (!cc) return;
  llmc_buf_free(&cc->body);
  free(cc);
  *con_cls = NULL;
}

/* ---- the command ---- */

typedef struct {
  const char *dir, *host, *device, *key_file, *model;
  int64_t port, threads, kv_blocks, max_seqs, max_queue;
} serve_args_t;

static const char serve_help[] =
    "Usage: llmc serve ARTIFACT_DIR [options]\n"
    "Serves a compiled artifact over HTTP with OpenAI's API: POST /v1/completions,\n"
    "GET /v1/models, GET /health, GET /metrics. SIGINT or SIGTERM stops it after\n"
    "the requests in progress finish.\n\n"
    "      --host=ADDR          address to listen on (default: 127.0.0.1)\n"
    "      --port=N             TCP port; 0 picks a free one (default: 8080). The\n"
    "                           address is printed on stderr once listening\n"
    "      --max-seqs=N         requests generating at once (default: the artifact's\n"
    "                           --max-seqs)\n"
    "      --max-queue=N        requests waiting for a slot; more get 503 (default: 64)\n"
    "      --api-key-file=FILE  require 'Authorization: Bearer KEY' on /v1/ routes,\n"
    "                           KEY being FILE's first line\n"
    "      --model-name=NAME    the model id clients use (default: the artifact\n"
    "                           directory's name)\n"
    "      --threads=N          host threads (default: all cores)\n"
    "      --kv-blocks=N        KV cache size in blocks, as for run\n"
    "      --device=NAME        as for run (default: auto)\n"
    "  -h, --help               this text\n";

static int parse_serve_args(int argc, char **argv, serve_args_t *a) {
  static const struct option opts[] = {
      {"host", required_argument, 0, 'H'},         {"port", required_argument, 0, 'p'},
      {"max-seqs", required_argument, 0, 'm'},     {"max-queue", required_argument, 0, 'q'},
      {"api-key-file", required_argument, 0, 'k'}, {"model-name", required_argument, 0, 'M'},
      {"threads", required_argument, 0, 'j'},      {"kv-blocks", required_argument, 0, 'B'},
      {"device", required_argument, 0, 'd'},       {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 'H': a->host = optarg; break;
      case 'k': a->key_file = optarg; break;
      case 'M': a->model = optarg; break;
      case 'd': a->device = optarg; break;
      case 'p':
        if (!llmc_cli_parse_i64(optarg, 0, 65535, &a->port)) return llmc_cli_usage_error("serve", "bad --port '%s'", optarg);
        break;
      case 'm':
        if (!llmc_cli_parse_i64(optarg, 1, 4096, &a->max_seqs)) return llmc_cli_usage_error("serve", "bad --max-seqs '%s'", optarg);
        break;
      case 'q':
        if (!llmc_cli_parse_i64(optarg, 0, 1 << 20, &a->max_queue)) return llmc_cli_usage_error("serve", "bad --max-queue '%s'", optarg);
        break;
      case 'j':
        if (!llmc_cli_parse_i64(optarg, 1, 1024, &a->threads)) return llmc_cli_usage_error("serve", "bad --threads '%s'", optarg);
        break;
      case 'B':
        if (!llmc_cli_parse_i64(optarg, 1, INT32_MAX, &a->kv_blocks)) return llmc_cli_usage_error("serve", "bad --kv-blocks '%s'", optarg);
        break;
      case 'h': fputs(serve_help, stdout); return -1;
      case ':': return llmc_cli_usage_error("serve", "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error("serve", "%s", "expected exactly one ARTIFACT_DIR argument");
  a->dir = argv[optind];
  if (a->model && (!a->model[0] || strlen(a->model) > 256 || strchr(a->model, '/')))
    return llmc_cli_usage_error("serve", "bad --model-name '%s' (1 to 256 bytes, no '/')", a->model);
  return 0;
}

/* The key is the file's first line, which must not be empty. */
llmc_status_t *llmc_cli_read_api_key(const char *path, char **out) {
  *out = NULL;
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, LLMC_SERVE_MAX_KEY, &text, &len));
  text[strcspn(text, "\r\n")] = '\0';
  if (!text[0] || strchr(text, ' ') || strchr(text, '\t')) {
    free(text);
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, path, "the API key (the first line) is empty or has blanks");
  }
  *out = text;
  return NULL;
}

/* A listening socket on host:port, so a taken port or a bad address is
 * reported in words (libmicrohttpd would only fail to start). */
static llmc_status_t *listen_on(const char *host, int64_t port, int *out_fd, int *out_family) {
  *out_fd = -1;
  char service[16];
  snprintf(service, sizeof service, "%lld", (long long)port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai;
  int rc = getaddrinfo(host, service, &hints, &ai);
  if (rc) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--host", "cannot resolve '%s': %s", host, gai_strerror(rc));
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  int one = 1;
  int err = fd < 0 ? errno : 0;
  if (!err && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)) err = errno;
  if (!err && bind(fd, ai->ai_addr, ai->ai_addrlen)) err = errno;
  if (!err && listen(fd, 128)) err = errno;
  *out_family = ai->ai_family;
  freeaddrinfo(ai);
  if (err) {
    if (fd >= 0) close(fd);
    return LLMC_ERROR(LLMC_UNAVAILABLE, "--port", "cannot listen on %s port %lld: %s", host, (long long)port,
                      strerror(err));
  }
  *out_fd = fd;
  return NULL;
}

static int bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len)) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

/* The last path component of dir, without trailing slashes. */
static void dir_name(const char *dir, char *out, size_t cap) {
  size_t end = strlen(dir);
  while (end > 1 && dir[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && dir[start - 1] != '/') start--;
  size_t n = end - start < cap - 1 ? end - start : cap - 1;
  memcpy(out, dir + start, n);
  out[n] = '\0';
  if (!out[0] || strcmp(out, ".") == 0 || strcmp(out, "/") == 0) snprintf(out, cap, "model");
}

int llmc_cli_serve(int argc, char **argv) {
  serve_args_t a = {.host = "127.0.0.1", .port = 8080, .max_queue = 64};
  int rc = parse_serve_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc;
  char model[257];
  if (a.model) snprintf(model, sizeof model, "%s", a.model);
  else dir_name(a.dir, model, sizeof model);
  server_t srv = {.model = model, .created = (int64_t)time(NULL)};
  llmc_rt_t *rt = NULL;
  struct MHD_Daemon *d = NULL;
  int fd = -1, family = AF_INET;
  llmc_status_t *s = NULL;
  if (a.key_file) s = llmc_cli_read_api_key(a.key_file, &srv.api_key);
  char tok_path[4096];
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", a.dir);
  /* Without a tokenizer (compiled with --no-tokenizer) prompts are ids. */
  /* With its tokenizer_config.json: the BOS a prompt gets is the one
   * `llmc run --prompt` adds. */
  if (!s && access(tok_path, F_OK) == 0) s = llmc_tokenizer_load_dir(a.dir, &srv.tok);
  if (!s && srv.tok) { /* chat: the artifact's template, or why there is none */
    llmc_status_t *cs = llmc_chat_template_load_dir(a.dir, &srv.chat);
    if (cs) {
      snprintf(srv.why_no_chat, sizeof srv.why_no_chat, "%s; use /v1/completions with a prompt",
               llmc_status_code(cs) == LLMC_NOT_FOUND ? "this model has no chat template"
                                                      : llmc_status_message(cs));
      llmc_status_free(cs);
    }
  } else if (!s) {
    snprintf(srv.why_no_chat, sizeof srv.why_no_chat,
             "the model has no tokenizer (compiled with --no-tokenizer): chat needs one");
  }
  llmc_rt_options_t ro = {.backend = a.device, .n_threads = (int)a.threads, .kv_blocks = a.kv_blocks};
  if (!s) s = llmc_rt_open(a.dir, &ro, &rt);
  if (!s) {
    srv.vocab = llmc_rt_plan_value(rt, LLMC_PLAN_VOCAB);
    srv.context = llmc_rt_plan_value(rt, LLMC_PLAN_MAX_CONTEXT);
    s = llmc_cli_read_stop_ids(a.dir, srv.vocab, &srv.stops);
  }
  int64_t max_seqs = a.max_seqs ? a.max_seqs : (rt ? llmc_rt_plan_value(rt, LLMC_PLAN_MAX_SEQS) : 1);
  if (!s) s = llmc_serve_engine_create(rt, (int)max_seqs, (int)a.max_queue, &srv.engine);
  if (!s) s = listen_on(a.host, a.port, &fd, &family);
  int port = fd >= 0 ? bound_port(fd) : -1;
  /* SIGINT and SIGTERM are blocked before any thread starts, so every
   * thread inherits the mask and only sigwait below receives them. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  if (!s) {
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error return, not a signal */
    s = llmc_serve_engine_start(srv.engine);
  }
  if (!s) {
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)LLMC_SERVE_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)LLMC_SERVE_IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!d) s = LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "libmicrohttpd could not start");
    else fd = -1; /* the daemon owns it now */
  }
  if (!s) {
    fprintf(stderr, "llmc serve: serving '%s' (%s, %lld slots, %lld queued) on http://%s%s%s:%d\n", model,
            llmc_rt_backend_name(rt), (long long)max_seqs, (long long)a.max_queue,
            family == AF_INET6 ? "[" : "", a.host, family == AF_INET6 ? "]" : "", port);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "llmc serve: %s: finishing requests in progress, then exiting\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Stop accepting; admitted requests run to their end (their streams
     * drain), then connections close. */
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
  }
  llmc_serve_engine_stop(srv.engine);
  /* Every admitted request has its last token now; give their responses
   * (streams especially) up to 30 s to reach the clients before the
   * connections close. */
  for (int i = 0; d && i < 3000 && __atomic_load_n(&srv.jobs, __ATOMIC_RELAXED) > 0; i++)
    nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
  if (d) MHD_stop_daemon(d);
  if (fd >= 0) close(fd);
  llmc_serve_engine_destroy(srv.engine);
  llmc_rt_close(rt);
  llmc_tokenizer_destroy(srv.tok);
  llmc_chat_template_destroy(srv.chat);
  free(srv.api_key);
  return llmc_cli_report(s);
}
