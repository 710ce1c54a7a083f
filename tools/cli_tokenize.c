/* cli_tokenize.c: `tokenize` and `detokenize`, shared by llmc and llmc-run.
 * DIR is anything holding a tokenizer.json: a Hugging Face directory, an
 * artifact, or a bare tokenizer directory; its tokenizer_config.json and
 * generation_config.json are read too (llmc_tokenizer_load_dir), so the
 * special tokens are those `llmc run --prompt` adds. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_chat.h"
#include "llmc_cli.h"
#include "llmc_tokenizer.h"

/* --jsonl input: one JSON string per line, so a line may hold any text.
 * The ids are printed only once every line is encoded, so bounded. */
#define MAX_JSONL_BYTES (256ull << 20)

static const char tokenize_help[] =
    "Usage: llmc tokenize DIR (--text=TEXT | --jsonl=FILE | --chat-jsonl=FILE [--render])\n"
    "                         [--add-special]\n"
    "Encodes text with DIR's tokenizer.json (DIR: a Hugging Face directory, an\n"
    "artifact, or any directory holding tokenizer.json, with its\n"
    "tokenizer_config.json when present).\n\n"
    "      --text=TEXT          print TEXT's token ids, space-separated, on one line\n"
    "      --jsonl=FILE         read one JSON string per line of FILE; print one\n"
    "                           JSON array of ids per line\n"
    "      --chat-jsonl=FILE    read one conversation per line of FILE (a JSON array\n"
    "                           of {\"role\", \"content\"}), render it with DIR's chat\n"
    "                           template (tokenizer_config.json) and the assistant's\n"
    "                           turn opened; print its ids as a JSON array per line\n"
    "      --render             with --chat-jsonl: print the rendered text as a JSON\n"
    "                           string instead of its ids\n"
    "      --add-special        add the special tokens the tokenizer adds to a\n"
    "                           prompt (BOS, ...); default: none\n"
    "  -h, --help               this text\n";

static const char detokenize_help[] =
    "Usage: llmc detokenize DIR --ids=LIST\n"
    "Prints the text of comma-separated token ids (special tokens included) and a\n"
    "newline, with DIR's tokenizer.json (DIR as for tokenize).\n\n"
    "      --ids=LIST           comma-separated token ids, e.g. 1,2,3\n"
    "  -h, --help               this text\n";

/* Encodes text and appends the ids to out: "1 2 3" or, as JSON,
 * "[1, 2, 3]", and a newline. */
static llmc_status_t *put_ids(const llmc_tokenizer_t *t, const char *text, size_t len,
                              bool add_special, bool json, llmc_buf_t *out) {
  int32_t *ids;
  int64_t n;
  LLMC_RETURN_IF_ERROR(llmc_tokenizer_encode(t, text, len, add_special, &ids, &n));
  if (json) llmc_buf_append(out, "[", 1);
  for (int64_t i = 0; i < n; i++) llmc_buf_printf(out, "%s%d", i ? (json ? ", " : " ") : "", ids[i]);
  llmc_buf_printf(out, "%s\n", json ? "]" : "");
  free(ids);
  return out->failed ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
}

/* Each line of path: a JSON string, encoded into out; errors name path:line. */
static llmc_status_t *tokenize_jsonl(const llmc_tokenizer_t *t, const char *path, bool add_special,
                                     llmc_buf_t *out) {
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, MAX_JSONL_BYTES, &text, &len));
  llmc_status_t *s = NULL;
  size_t line = 1;
  for (size_t i = 0; i < len && !s; line++) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    json_error_t err;
    json_t *v = json_loadb(text + i, end - i, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    char where[4200];
    snprintf(where, sizeof where, "%s:%zu", path, line);
    if (!json_is_string(v))
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "%s", v ? "not a JSON string" : err.text);
    else
      s = put_ids(t, json_string_value(v), json_string_length(v), add_special, true, out);
    json_decref(v);
    i = end + 1;
  }
  free(text);
  return s;
}

/* Each line of path: a conversation, rendered with the chat template into
 * out as a JSON string (render) or the JSON array of its ids. */
static llmc_status_t *chat_jsonl(const llmc_tokenizer_t *t, const char *dir, const char *path, bool render,
                                 llmc_buf_t *out) {
  llmc_chat_template_t *tpl;
  LLMC_RETURN_IF_ERROR(llmc_chat_template_load_dir(dir, &tpl));
  char *text;
  size_t len;
  llmc_status_t *s = llmc_file_read_text(path, MAX_JSONL_BYTES, &text, &len);
  if (s) {
    llmc_chat_template_destroy(tpl);
    return s;
  }
  size_t line = 1;
  for (size_t i = 0; i < len && !s; line++) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    json_error_t err;
    json_t *v = json_loadb(text + i, end - i, 0, &err);
    char where[4200];
    snprintf(where, sizeof where, "%s:%zu", path, line);
    llmc_chat_message_t *m = NULL;
    size_t n = 0;
    llmc_buf_t prompt = {0};
    if (!v) s = LLMC_ERROR(LLMC_DATA_LOSS, where, "%s", err.text);
    llmc_status_t *cs = s ? NULL : llmc_chat_messages_from_json(v, &m, &n);
    if (!s && !cs) cs = llmc_chat_render(tpl, m, n, true, &prompt);
    if (cs) { /* located at the line */
      s = LLMC_ERROR(llmc_status_code(cs), where, "%s", llmc_status_message(cs));
      llmc_status_free(cs);
    }
    if (!s && render) {
      json_t *str = json_stringn(prompt.data ? prompt.data : "", prompt.len);
      char *quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
      json_decref(str);
      if (quoted) llmc_buf_printf(out, "%s\n", quoted);
      else s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
      free(quoted);
    } else if (!s) {
      s = put_ids(t, prompt.data ? prompt.data : "", prompt.len, false, true, out);
    }
    llmc_buf_free(&prompt);
    free(m);
    json_decref(v);
    i = end + 1;
  }
  free(text);
  llmc_chat_template_destroy(tpl);
  return s;
}

int llmc_cli_tokenize(int argc, char **argv) {
  static const struct option opts[] = {{"text", required_argument, 0, 't'},
                                       {"jsonl", required_argument, 0, 'j'},
                                       {"add-special", no_argument, 0, 'a'},
                                       {"chat-jsonl", required_argument, 0, 'c'},
                                       {"render", no_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *text = NULL, *jsonl = NULL, *chat = NULL;
  bool add_special = false, render = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 't': text = optarg; break;
      case 'j': jsonl = optarg; break;
      case 'a': add_special = true; break;
      case 'c': chat = optarg; break;
      case 'r': render = true; break;
      case 'h': fputs(tokenize_help, stdout); return 0;
      case ':': return llmc_cli_usage_error("tokenize", "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("tokenize", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error("tokenize", "%s", "expected exactly one DIR argument");
  if ((text != NULL) + (jsonl != NULL) + (chat != NULL) != 1)
    return llmc_cli_usage_error("tokenize", "%s", "give exactly one of --text, --jsonl and --chat-jsonl");
  if (render && !chat) return llmc_cli_usage_error("tokenize", "%s", "--render goes with --chat-jsonl");
  if (chat && add_special)
    return llmc_cli_usage_error("tokenize", "%s", "--add-special does not go with --chat-jsonl (the template adds them)");
  llmc_tokenizer_t *t = NULL; /* --render needs only the template */
  llmc_status_t *s = chat && render ? NULL : llmc_tokenizer_load_dir(argv[optind], &t);
  if (s) return llmc_cli_report(s);
  /* Printed once all of it is encoded: nothing on stdout when a line fails. */
  llmc_buf_t out = {0};
  s = text    ? put_ids(t, text, strlen(text), add_special, false, &out)
      : jsonl ? tokenize_jsonl(t, jsonl, add_special, &out)
              : chat_jsonl(t, argv[optind], chat, render, &out);
  if (!s) fwrite(out.data ? out.data : "", 1, out.len, stdout);
  llmc_buf_free(&out);
  llmc_tokenizer_destroy(t);
  return llmc_cli_report(s);
}

/* "1,2,3" into *out (malloc'd); false when it is not such a list. */
static bool parse_id_list(const char *list, int32_t **out, size_t *out_n) {
  size_t cap = 1;
  for (const char *p = list; *p; p++) cap += *p == ',';
  int32_t *ids = malloc(cap * sizeof *ids);
  if (!ids) return false;
  size_t n = 0;
  for (const char *p = list; *p;) {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',') || *p == '+' ||
        (*end == ',' && !end[1])) {
      free(ids);
      return false;
    }
    ids[n++] = (int32_t)v;
    p = *end ? end + 1 : end;
  }
  *out = ids;
  *out_n = n;
  return true;
}

int llmc_cli_detokenize(int argc, char **argv) {
  static const struct option opts[] = {
      {"ids", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *list = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 'i': list = optarg; break;
      case 'h': fputs(detokenize_help, stdout); return 0;
      case ':': return llmc_cli_usage_error("detokenize", "option '%s' needs a value", argv[optind - 1]);
      default: return llmc_cli_usage_error("detokenize", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return llmc_cli_usage_error("detokenize", "%s", "expected exactly one DIR argument");
  if (!list) return llmc_cli_usage_error("detokenize", "%s", "--ids is required");
  int32_t *ids;
  size_t n;
  if (!parse_id_list(list, &ids, &n))
    return llmc_cli_usage_error("detokenize", "--ids '%s' is not a comma-separated list of token ids", list);
  llmc_tokenizer_t *t;
  llmc_status_t *s = llmc_tokenizer_load_dir(argv[optind], &t);
  llmc_buf_t text = {0};
  if (!s) s = llmc_tokenizer_decode(t, ids, n, &text);
  if (s && llmc_status_code(s) == LLMC_OUT_OF_RANGE) { /* name the option, not "(null)" */
    llmc_status_t *flat = LLMC_ERROR(LLMC_OUT_OF_RANGE, "--ids", "%s", llmc_status_message(s));
    llmc_status_free(s);
    s = flat;
  }
  if (!s) { /* nothing on stdout before the error is known */
    fwrite(text.data ? text.data : "", 1, text.len, stdout);
    putchar('\n');
  }
  llmc_buf_free(&text);
  llmc_tokenizer_destroy(t);
  free(ids);
  return llmc_cli_report(s);
}
