/* serve_text.c: from sampled tokens to the text a completion returns, for
 * `llmc serve`: decoding, stop tokens and stop strings (OpenAI's `stop`:
 * the text ends before the first occurrence, which is not returned), and
 * how much of the text a stream may send before it is final (a tail that
 * could still become a stop string, or that ends inside a UTF-8 sequence
 * split across tokens, is held back).
 *
 * JSON strings must be valid UTF-8 while a token's bytes need not be, so
 * text is sanitized (ill-formed sequences become U+FFFD) before it goes
 * into a response. */
#include <string.h>

#include "serve.h"

static bool is_stop_id(const llmc_serve_text_t *t, int32_t id) {
  for (int i = 0; i < t->n_eos_ids; i++)
    if (t->eos_ids[i] == id) return true;
  for (int i = 0; i < t->n_stop_ids; i++)
    if (t->stop_ids[i] == id) return true;
  return false;
}

/* The first occurrence of a stop string starting at or after `from`. */
static bool find_stop(const llmc_serve_text_t *t, size_t from, size_t *out_pos) {
  *out_pos = 0;
  bool found = false;
  for (int i = 0; i < t->n_stops; i++) {
    size_t len = strlen(t->stops[i]);
    if (len == 0 || t->text.len < len) continue;
    for (size_t p = from; p + len <= t->text.len; p++) {
      if (memcmp(t->text.data + p, t->stops[i], len) == 0) {
        if (!found || p < *out_pos) *out_pos = p;
        found = true;
        break;
      }
    }
  }
  return found;
}

llmc_status_t *llmc_serve_text_feed(llmc_serve_text_t *t, const int32_t *ids, int64_t n) {
  for (int64_t i = 0; i < n && !t->finish_reason; i++) {
    t->n_accepted++;
    if (is_stop_id(t, ids[i])) {
      t->finish_reason = "stop";
      break;
    }
    if (!t->tok) continue;
    size_t old = t->text.len;
    /* A model's vocabulary may be padded beyond the tokenizer's: such a
     * token has no text, which is not the client's error nor ours. */
    llmc_status_free(llmc_tokenizer_decode_token(t->tok, ids[i], &t->text));
    if (t->text.failed) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    /* Only a match that ends in the new bytes is new; one cannot start in
     * text already streamed (safe_len held every possible start back). */
    size_t from = old >= LLMC_SERVE_MAX_STOP_LEN ? old - LLMC_SERVE_MAX_STOP_LEN : 0;
    if (from < t->emitted) from = t->emitted;
    size_t pos = 0;
    if (find_stop(t, from, &pos)) {
      t->text.len = pos;
      t->finish_reason = "stop";
    }
  }
  return NULL;
}

void llmc_serve_text_finish(llmc_serve_text_t *t) {
  if (!t->finish_reason) t->finish_reason = "length";
}

/* The length of a valid UTF-8 sequence starting with lead byte c, with the
 * allowed range of its second byte (Unicode 15, table 3-7); 0 if c cannot
 * start one. */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c == 0xE0) return *lo = 0xA0, 3;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return 3;
  if (c == 0xED) return *hi = 0x9F, 3;
  if (c == 0xF0) return *lo = 0x90, 4;
  if (c >= 0xF1 && c <= 0xF3) return 4;
  if (c == 0xF4) return *hi = 0x8F, 4;
  return 0;
}

size_t llmc_serve_text_safe_len(const llmc_serve_text_t *t) {
  size_t len = t->text.len;
  if (t->finish_reason) return len;
  const char *d = t->text.data;
  /* Hold back the longest tail that is a proper prefix of a stop string. */
  size_t hold = 0;
  for (int i = 0; i < t->n_stops; i++) {
    size_t sl = strlen(t->stops[i]);
    for (size_t k = sl > 0 ? sl - 1 : 0; k > hold; k--)
      if (k <= len && memcmp(d + len - k, t->stops[i], k) == 0) {
        hold = k;
        break;
      }
  }
  size_t end = len - hold;
  /* And a UTF-8 sequence the next token may complete. */
  for (size_t back = 1; back <= 3 && back <= end; back++) {
    unsigned char c = (unsigned char)d[end - back], lo, hi;
    if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
    int need = utf8_lead(c, &lo, &hi);
    if (need > (int)back) end -= back;
    break;
  }
  return end > t->emitted ? end : t->emitted;
}

void llmc_serve_utf8_sanitize(llmc_buf_t *out, const char *s, size_t n) {
  static const char replacement[] = "\xEF\xBF\xBD";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char lo, hi;
    int len = utf8_lead(u[i], &lo, &hi);
    bool ok = len >= 1 && i + (size_t)len <= n;
    if (ok && len > 1) ok = u[i + 1] >= lo && u[i + 1] <= hi;
    for (int k = 2; ok && k < len; k++) ok = (u[i + k] & 0xC0) == 0x80;
    if (ok) {
      llmc_buf_append(out, s + i, (size_t)len);
      i += (size_t)len;
    } else {
      llmc_buf_append(out, replacement, 3);
      i++;
    }
  }
}
