/* tokenizer_fixture.h: builds small tokenizer.json files for the tokenizer
 * tests and fuzz target. Tokens are given as raw bytes and written in GPT-2's
 * byte-to-unicode alphabet, as real byte-level vocabularies are. Ids: byte b
 * is token b, then extra vocabulary, then new merge results, then added
 * tokens. Tests look ids up with llmc_tokenizer_find. */
#ifndef LLMC_TOKENIZER_FIXTURE_H
#define LLMC_TOKENIZER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmc_support.h"

typedef struct {
  const char *model_type;   /* NULL: "BPE" */
  const char *(*merges)[2]; /* raw byte pairs, rank order */
  size_t n_merges;
  bool merges_as_pairs;           /* [["a","b"]] instead of ["a b"] */
  const char *const *extra_vocab; /* raw byte strings */
  size_t n_extra;
  const char *const *added; /* added token contents */
  size_t n_added;
  const char *pre_tokenizer;  /* JSON; NULL: ByteLevel, no prefix space */
  const char *post_processor; /* JSON; NULL: null */
  const char *model_extra;    /* extra "key": value, fields of model */
} fx_opts_t;

/* GPT-2's bytes_to_unicode. */
static inline unsigned fx_byte_cp(unsigned b) {
  bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
  if (printable) return b;
  unsigned n = 0;
  for (unsigned c = 0; c < b; c++)
    if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) n++;
  return 256 + n;
}

static inline void fx_put_cp(llmc_buf_t *b, unsigned cp) {
  char u[3];
  if (cp == '"' || cp == '\\') {
    u[0] = '\\', u[1] = (char)cp;
    llmc_buf_append(b, u, 2);
  } else if (cp < 0x80) {
    u[0] = (char)cp;
    llmc_buf_append(b, u, 1);
  } else {
    u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
    llmc_buf_append(b, u, 2);
  }
}

/* A JSON string literal of raw bytes in the byte alphabet (no quotes). */
static inline void fx_put_token(llmc_buf_t *b, const char *raw) {
  for (const unsigned char *p = (const unsigned char *)raw; *p; p++) fx_put_cp(b, fx_byte_cp(*p));
}

/* A JSON string literal of plain text (added tokens), quotes included. */
static inline void fx_put_text(llmc_buf_t *b, const char *s) {
  llmc_buf_append(b, "\"", 1);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') llmc_buf_append(b, "\\", 1);
    llmc_buf_append(b, s, 1);
  }
  llmc_buf_append(b, "\"", 1);
}

/* Whether merge i yields a token not already in the vocabulary; joined gets
 * the merged bytes. */
static inline bool fx_merge_is_new(const fx_opts_t *o, size_t i, char *joined, size_t cap) {
  snprintf(joined, cap, "%s%s", o->merges[i][0], o->merges[i][1]);
  if (strlen(joined) == 1) return false;
  for (size_t k = 0; k < o->n_extra; k++)
    if (!strcmp(o->extra_vocab[k], joined)) return false;
  char prev[256];
  for (size_t k = 0; k < i; k++) {
    snprintf(prev, sizeof prev, "%s%s", o->merges[k][0], o->merges[k][1]);
    if (!strcmp(prev, joined)) return false;
  }
  return true;
}

/* tokenizer.json text; malloc'd. */
static inline char *fx_json(const fx_opts_t *o) {
  llmc_buf_t b = {0};
  llmc_buf_printf(
      &b, "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n\"added_tokens\": [");
  char joined[256];
  int base = 256 + (int)o->n_extra;
  for (size_t i = 0; i < o->n_merges; i++) base += fx_merge_is_new(o, i, joined, sizeof joined);
  for (size_t i = 0; i < o->n_added; i++) {
    llmc_buf_printf(&b, "%s\n {\"id\": %d, \"content\": ", i ? "," : "", base + (int)i);
    fx_put_text(&b, o->added[i]);
    llmc_buf_printf(&b,
                    ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                    "\"normalized\": false, \"special\": true}");
  }
  llmc_buf_printf(&b,
                  "],\n\"normalizer\": null,\n\"pre_tokenizer\": %s,\n\"post_processor\": %s,\n"
                  "\"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, "
                  "\"trim_offsets\": true, \"use_regex\": true},\n",
                  o->pre_tokenizer ? o->pre_tokenizer
                                   : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                                     "\"trim_offsets\": true, \"use_regex\": true}",
                  o->post_processor ? o->post_processor : "null");
  llmc_buf_printf(
      &b, "\"model\": {\"type\": \"%s\", \"dropout\": null, \"unk_token\": null, %s\n\"vocab\": {",
      o->model_type ? o->model_type : "BPE", o->model_extra ? o->model_extra : "");
  char raw[2] = {0};
  for (unsigned i = 0; i < 256; i++) {
    raw[0] = (char)i;
    llmc_buf_printf(&b, "%s\"", i ? ", " : "");
    if (i == 0)
      fx_put_cp(&b, fx_byte_cp(0));
    else
      fx_put_token(&b, raw);
    llmc_buf_printf(&b, "\": %u", i);
  }
  int id = 256;
  for (size_t i = 0; i < o->n_extra; i++) {
    llmc_buf_printf(&b, ",\n \"");
    fx_put_token(&b, o->extra_vocab[i]);
    llmc_buf_printf(&b, "\": %d", id++);
  }
  for (size_t i = 0; i < o->n_merges; i++) {
    if (!fx_merge_is_new(o, i, joined, sizeof joined)) continue;
    llmc_buf_printf(&b, ",\n \"");
    fx_put_token(&b, joined);
    llmc_buf_printf(&b, "\": %d", id++);
  }
  llmc_buf_printf(&b, "},\n\"merges\": [");
  for (size_t i = 0; i < o->n_merges; i++) {
    llmc_buf_printf(&b, "%s%s", i ? ", " : "", o->merges_as_pairs ? "[\"" : "\"");
    fx_put_token(&b, o->merges[i][0]);
    llmc_buf_printf(&b, "%s", o->merges_as_pairs ? "\", \"" : " ");
    fx_put_token(&b, o->merges[i][1]);
    llmc_buf_printf(&b, "%s", o->merges_as_pairs ? "\"]" : "\"");
  }
  llmc_buf_printf(&b, "]}}\n");
  return b.data;
}

/* Writes text to a fresh temporary file; returns its malloc'd path or NULL. */
static inline char *fx_write(const char *text) {
  char *path = strdup("/tmp/llmc_tok_XXXXXX");
  int fd = path ? mkstemp(path) : -1;
  if (fd < 0) {
    free(path);
    return NULL;
  }
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  if (!ok) {
    unlink(path);
    free(path);
    return NULL;
  }
  return path;
}

#endif
