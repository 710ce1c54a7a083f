/* escape.c: the one way text read from a file reaches generated text or a
 * message. Names in checkpoints and model files are hostile: a newline ends a
 * comment in MLIR or C, a quote ends a string, "*" "/" ends a C comment, and
 * control bytes rewrite a terminal. Both functions below keep such bytes
 * inert by writing them as \xNN. */
#include "llmc_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (1..4) for a code point that
 * is printable outside ASCII (U+00A0 and up, not a surrogate), or 0. */
static size_t utf8_printable_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0) return 0;
  return n;
}

static void put_hex(llmc_buf_t *b, unsigned char c) {
  char hex[5];
  snprintf(hex, sizeof hex, "\\x%02x", c);
  llmc_buf_append(b, hex, 4);
}

/* Appends s with every byte that is not printable ASCII or well-formed,
 * printable UTF-8 written as \xNN; `quoted` also escapes quotes and
 * backslashes and breaks comment ends and openers. */
static void put_escaped(llmc_buf_t *b, const char *s, bool quoted) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    size_t n;
    if (quoted && (*p == '"' || *p == '\\')) {
      llmc_buf_append(b, "\\", 1);
      llmc_buf_append(b, p++, 1);
    } else if (quoted && (*p == '/' || *p == '*') && p > (const unsigned char *)s &&
               (p[-1] == '*' || p[-1] == '/') && p[-1] != *p) {
      put_hex(b, *p++); /* never "*" "/" nor "/" "*": the string may sit in a C comment */
    } else if (*p >= 0x20 && *p < 0x7F) {
      llmc_buf_append(b, p++, 1);
    } else if ((n = utf8_printable_len(p)) > 0) {
      llmc_buf_append(b, p, n);
      p += n;
    } else {
      put_hex(b, *p++);
    }
  }
}

void llmc_buf_put_quoted(llmc_buf_t *b, const char *s) {
  llmc_buf_append(b, "\"", 1);
  put_escaped(b, s, true);
  llmc_buf_append(b, "\"", 1);
}

char *llmc_printable_dup(const char *s) {
  llmc_buf_t b = {0};
  put_escaped(&b, s, false);
  llmc_buf_append(&b, "", 1);
  if (b.failed) {
    llmc_buf_free(&b);
    return NULL;
  }
  return b.data;
}
