/* chat_template.c: chat templates recognised by family and rendered in C
 * (see llmc_chat.h for the families and why there is no Jinja engine). Each
 * renderer follows its template's logic step for step; the comments quote
 * the Jinja they stand for. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_chat.h"

typedef enum { FAMILY_LLAMA3, FAMILY_CHATML, FAMILY_QWEN3, FAMILY_GEMMA, FAMILY_DEEPSEEK } family_t;

struct llmc_chat_template {
  family_t family;
  char *bos;            /* tokenizer_config.json's bos_token, "" when none */
  char *default_system; /* chatml: the system turn a template adds when the first message is not one */
};

static const char *const family_names[] = {"llama3", "chatml", "qwen3", "gemma", "deepseek"};

const char *llmc_chat_template_family(const llmc_chat_template_t *t) { return family_names[t->family]; }

void llmc_chat_template_destroy(llmc_chat_template_t *t) {
  if (!t) return;
  free(t->bos);
  free(t->default_system);
  free(t);
}

/* A special token in tokenizer_config.json: a string or {"content": ...}. */
static const char *token_text(json_t *v) {
  if (json_is_object(v)) v = json_object_get(v, "content");
  return json_string_value(v);
}

/* A ChatML template's default system message: the literal text of
 * '<|im_start|>system\n...<|im_end|>\n' when it is all literal (Qwen2.5's
 * "You are Qwen, created by Alibaba Cloud. ..."), else NULL. */
static char *chatml_default_system(const char *tpl) {
  static const char open[] = "'<|im_start|>system\\n";
  for (const char *p = strstr(tpl, open); p; p = strstr(p + 1, open)) {
    const char *text = p + strlen(open), *end = strstr(text, "<|im_end|>");
    if (!end || end == text) continue;
    size_t n = (size_t)(end - text);
    if (memchr(text, '\'', n) || memchr(text, '\\', n) || memchr(text, '{', n)) continue; /* not a plain literal */
    char *s = malloc(n + 1);
    if (s) {
      memcpy(s, text, n);
      s[n] = 0;
    }
    return s;
  }
  return NULL;
}

static llmc_status_t *recognise(const char *tpl, const char *where, family_t *out) {
  if (strstr(tpl, "<|start_header_id|>") && strstr(tpl, "<|eot_id|>")) {
    if (strstr(tpl, "Cutting Knowledge Date"))
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                        "the Llama 3.1+ chat template (date header, tools) is not supported yet");
    *out = FAMILY_LLAMA3;
  } else if (strstr(tpl, "<|im_start|>") && strstr(tpl, "<|im_end|>")) {
    *out = strstr(tpl, "</think>") ? FAMILY_QWEN3 : FAMILY_CHATML;
  } else if (strstr(tpl, "<start_of_turn>") && strstr(tpl, "<end_of_turn>")) {
    *out = FAMILY_GEMMA;
  } else if (strstr(tpl, "<\xef\xbd\x9cUser\xef\xbd\x9c>") && strstr(tpl, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>")) {
    *out = FAMILY_DEEPSEEK;
  } else {
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                      "the chat template is of no family llmc renders (Llama 3, ChatML/Qwen, Gemma, DeepSeek-V3)");
  }
  return NULL;
}

llmc_status_t *llmc_chat_template_load_dir(const char *dir, llmc_chat_template_t **out) {
  *out = NULL;
  llmc_arena_t *a = llmc_arena_create();
  if (!a) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  const char *path = NULL;
  char *text = NULL;
  size_t len = 0;
  json_t *cfg = NULL;
  llmc_status_t *s = llmc_path_confine(a, dir, "tokenizer_config.json", &path);
  if (!s) s = llmc_file_read_text(path, 64u << 20, &text, &len);
  if (!s) {
    json_error_t err;
    cfg = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);
    if (!json_is_object(cfg)) s = LLMC_ERROR(LLMC_DATA_LOSS, path, "%s", cfg ? "not a JSON object" : err.text);
  }
  const char *tpl = NULL;
  if (!s) {
    json_t *t = json_object_get(cfg, "chat_template");
    if (json_is_array(t)) { /* [{"name": "default", "template": ...}, {"name": "tool_use", ...}] */
      size_t i;
      json_t *e, *found = NULL;
      json_array_foreach(t, i, e) {
        if (json_is_string(json_object_get(e, "name")) && !strcmp(json_string_value(json_object_get(e, "name")), "default"))
          found = json_object_get(e, "template");
      }
      t = found;
    }
    if (!t || json_is_null(t)) s = LLMC_ERROR(LLMC_NOT_FOUND, path, "the tokenizer has no chat template");
    else if (!(tpl = json_string_value(t))) s = LLMC_ERROR(LLMC_DATA_LOSS, path, "\"chat_template\" must be a string");
  }
  family_t family = FAMILY_CHATML;
  if (!s) s = recognise(tpl, path, &family);
  llmc_chat_template_t *t = NULL;
  if (!s) {
    const char *bos = token_text(json_object_get(cfg, "bos_token"));
    t = calloc(1, sizeof *t);
    if (t) {
      t->family = family;
      t->bos = strdup(bos ? bos : "");
      if (family == FAMILY_CHATML) t->default_system = chatml_default_system(tpl);
    }
    if (!t || !t->bos) {
      llmc_chat_template_destroy(t);
      t = NULL;
      s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    }
  }
  json_decref(cfg);
  free(text);
  llmc_arena_destroy(a);
  *out = t;
  return s;
}

/* ---- string helpers, as Jinja's (Python's) str methods behave ---- */

typedef struct {
  const char *p;
  size_t n;
} span_t;

static span_t span_of(const char *s) { return (span_t){s, strlen(s)}; }

/* The length of the whitespace character (Python's str.isspace) at p, or 0. */
static size_t space_at(const char *p, size_t left) {
  unsigned char c = (unsigned char)p[0];
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
  if (left >= 2 && c == 0xc2 && ((unsigned char)p[1] == 0x85 || (unsigned char)p[1] == 0xa0)) return 2;
  if (left >= 3) {
    unsigned cp = ((c & 0x0fu) << 12) | (((unsigned char)p[1] & 0x3fu) << 6) | ((unsigned char)p[2] & 0x3fu);
    if ((c & 0xf0) == 0xe0 && ((unsigned char)p[1] & 0xc0) == 0x80 && ((unsigned char)p[2] & 0xc0) == 0x80 &&
        (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000))
      return 3;
  }
  return 0;
}

/* | trim: Python's str.strip() of whitespace. */
static span_t trim(span_t s) {
  size_t k;
  while (s.n && (k = space_at(s.p, s.n))) s.p += k, s.n -= k;
  for (;;) { /* the last character: back up over UTF-8 continuation bytes */
    size_t start = s.n;
    while (start && ((unsigned char)s.p[start - 1] & 0xc0) == 0x80) start--;
    if (!start) break;
    start--;
    if (space_at(s.p + start, s.n - start) != s.n - start) break;
    s.n = start;
  }
  return s;
}

static span_t lstrip_nl(span_t s) {
  while (s.n && s.p[0] == '\n') s.p++, s.n--;
  return s;
}
static span_t rstrip_nl(span_t s) {
  while (s.n && s.p[s.n - 1] == '\n') s.n--;
  return s;
}

static const char *find_in(span_t s, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; m <= s.n && i <= s.n - m; i++)
    if (!memcmp(s.p + i, needle, m)) return s.p + i;
  return NULL;
}
static const char *find_last_in(span_t s, const char *needle) {
  size_t m = strlen(needle);
  if (m > s.n) return NULL;
  for (size_t i = s.n - m + 1; i-- > 0;)
    if (!memcmp(s.p + i, needle, m)) return s.p + i;
  return NULL;
}

static void put(llmc_buf_t *b, span_t s) { llmc_buf_append(b, s.p, s.n); }
static void puts_(llmc_buf_t *b, const char *s) { llmc_buf_append(b, s, strlen(s)); }

static bool is_role(const char *r, const char *want) { return strcmp(r, want) == 0; }

/* ---- the families ---- */

/* {% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] +
 * '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}
 * {% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}
 * {% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %} */
static void render_llama3(const llmc_chat_template_t *t, const llmc_chat_message_t *m, size_t n, bool agp,
                          llmc_buf_t *b) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0) puts_(b, t->bos);
    llmc_buf_printf(b, "<|start_header_id|>%s<|end_header_id|>\n\n", m[i].role);
    put(b, trim(span_of(m[i].content)));
    puts_(b, "<|eot_id|>");
  }
  if (agp) puts_(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* <|im_start|>role\ncontent<|im_end|>\n for each message, a default system
 * turn first when the template has one and the first message is not a
 * system message. */
static void render_chatml(const llmc_chat_template_t *t, const llmc_chat_message_t *m, size_t n, bool agp,
                          llmc_buf_t *b) {
  if (t->default_system && (n == 0 || !is_role(m[0].role, "system")))
    llmc_buf_printf(b, "<|im_start|>system\n%s<|im_end|>\n", t->default_system);
  for (size_t i = 0; i < n; i++) llmc_buf_printf(b, "<|im_start|>%s\n%s<|im_end|>\n", m[i].role, m[i].content);
  if (agp) puts_(b, "<|im_start|>assistant\n");
}

/* Qwen3 without tools: the first system message, then users (and later
 * system messages) as ChatML; an assistant turn keeps only what follows its
 * last </think>, and the turns after the last user turn show their reasoning
 * as <think>\n...\n</think>\n\n (the last one always, others when they have
 * reasoning). enable_thinking is left undefined (thinking on). */
static void render_qwen3(const llmc_chat_message_t *m, size_t n, bool agp, llmc_buf_t *b) {
  if (n && is_role(m[0].role, "system")) llmc_buf_printf(b, "<|im_start|>system\n%s<|im_end|>\n", m[0].content);
  size_t last_query = n ? n - 1 : 0;
  for (size_t k = n; k-- > 0;) { /* the last user turn that is not a tool response */
    span_t c = span_of(m[k].content);
    bool tool_response = c.n >= 31 && !strncmp(c.p, "<tool_response>", 15) &&
                         !memcmp(c.p + c.n - 16, "</tool_response>", 16);
    if (is_role(m[k].role, "user") && !tool_response) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (is_role(m[i].role, "user") || (is_role(m[i].role, "system") && i > 0)) {
      llmc_buf_printf(b, "<|im_start|>%s\n%s<|im_end|>\n", m[i].role, m[i].content);
      continue;
    }
    if (!is_role(m[i].role, "assistant")) continue;
    span_t content = span_of(m[i].content), reasoning = {"", 0};
    const char *close = find_in(content, "</think>");
    if (close) {
      /* content.split('</think>')[-1].lstrip('\n') */
      const char *last = find_last_in(content, "</think>");
      span_t after = {last + 8, (size_t)(content.p + content.n - (last + 8))};
      /* content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
      span_t before = rstrip_nl((span_t){content.p, (size_t)(close - content.p)});
      const char *open = find_last_in(before, "<think>");
      if (open) before = (span_t){open + 7, (size_t)(before.p + before.n - (open + 7))};
      reasoning = lstrip_nl(before);
      content = lstrip_nl(after);
    }
    puts_(b, "<|im_start|>assistant\n");
    if (i > last_query && (i == n - 1 || reasoning.n)) {
      puts_(b, "<think>\n");
      put(b, rstrip_nl(lstrip_nl(reasoning)));
      puts_(b, "\n</think>\n\n");
      put(b, lstrip_nl(content));
    } else {
      put(b, content);
    }
    puts_(b, "<|im_end|>\n");
  }
  if (agp) puts_(b, "<|im_start|>assistant\n");
}

/* {{ bos_token }}, the system message + '\n\n' before the first turn's text,
 * then <start_of_turn>user|model\n{content|trim}<end_of_turn>\n; the turns
 * after the system message must alternate user, assistant, user, ... */
static llmc_status_t *render_gemma(const llmc_chat_template_t *t, const llmc_chat_message_t *m, size_t n, bool agp,
                                   llmc_buf_t *b) {
  puts_(b, t->bos);
  size_t first = n && is_role(m[0].role, "system") ? 1 : 0;
  for (size_t i = first; i < n; i++) {
    if (is_role(m[i].role, "user") != ((i - first) % 2 == 0))
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "conversation roles must alternate user/assistant/user/...");
    llmc_buf_printf(b, "<start_of_turn>%s\n", is_role(m[i].role, "assistant") ? "model" : m[i].role);
    if (i == first && first) llmc_buf_printf(b, "%s\n\n", m[0].content);
    put(b, trim(span_of(m[i].content)));
    puts_(b, "<end_of_turn>\n");
  }
  if (agp) puts_(b, "<start_of_turn>model\n");
  return NULL;
}

/* {{bos_token}}{{ns.system_prompt}} (every system message, joined by
 * '\n\n'), then '<｜User｜>' + content and '<｜Assistant｜>' + content +
 * '<｜end▁of▁sentence｜>'; '<｜Assistant｜>' to open the reply. */
static void render_deepseek(const llmc_chat_template_t *t, const llmc_chat_message_t *m, size_t n, bool agp,
                            llmc_buf_t *b) {
  puts_(b, t->bos);
  bool first_system = true;
  for (size_t i = 0; i < n; i++)
    if (is_role(m[i].role, "system")) {
      if (!first_system) puts_(b, "\n\n");
      puts_(b, m[i].content);
      first_system = false;
    }
  for (size_t i = 0; i < n; i++) {
    if (is_role(m[i].role, "user")) llmc_buf_printf(b, "<\xef\xbd\x9cUser\xef\xbd\x9c>%s", m[i].content);
    if (is_role(m[i].role, "assistant"))
      llmc_buf_printf(b, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>%s<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                      m[i].content);
  }
  if (agp) puts_(b, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
}

llmc_status_t *llmc_chat_render(const llmc_chat_template_t *t, const llmc_chat_message_t *m, size_t n,
                                bool add_generation_prompt, llmc_buf_t *out) {
  if (n == 0) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "a chat needs at least one message");
  for (size_t i = 0; i < n; i++) {
    if (!m[i].role || !m[i].content) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "message %zu has no role or content", i);
    if (!is_role(m[i].role, "system") && !is_role(m[i].role, "user") && !is_role(m[i].role, "assistant"))
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                        "message %zu: roles are \"system\", \"user\" and \"assistant\" (tools are not supported yet)", i);
  }
  llmc_buf_t b = {0};
  llmc_status_t *s = NULL;
  switch (t->family) {
    case FAMILY_LLAMA3: render_llama3(t, m, n, add_generation_prompt, &b); break;
    case FAMILY_CHATML: render_chatml(t, m, n, add_generation_prompt, &b); break;
    case FAMILY_QWEN3: render_qwen3(m, n, add_generation_prompt, &b); break;
    case FAMILY_GEMMA: s = render_gemma(t, m, n, add_generation_prompt, &b); break;
    case FAMILY_DEEPSEEK: render_deepseek(t, m, n, add_generation_prompt, &b); break;
  }
  if (!s && b.failed) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!s) llmc_buf_append(out, b.data ? b.data : "", b.len);
  llmc_buf_free(&b);
  return s;
}

llmc_status_t *llmc_chat_messages_from_json(const json_t *arr, llmc_chat_message_t **out, size_t *out_n) {
  *out = NULL;
  *out_n = 0;
  if (!json_is_array(arr)) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "\"messages\" must be an array");
  size_t n = json_array_size(arr);
  if (n == 0) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "\"messages\" is empty");
  llmc_chat_message_t *m = calloc(n, sizeof *m);
  if (!m) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(arr, i), *role = json_object_get(e, "role"), *content = json_object_get(e, "content");
    if (!json_is_string(role) || !json_is_string(content) || strlen(json_string_value(content)) != json_string_length(content) ||
        strlen(json_string_value(role)) != json_string_length(role)) {
      free(m);
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                        "messages[%zu] needs a \"role\" and a text \"content\" (strings without NUL)", i);
    }
    m[i] = (llmc_chat_message_t){json_string_value(role), json_string_value(content)};
  }
  *out = m;
  *out_n = n;
  return NULL;
}
