/* status.c: llmc_status_t, the one error channel for failures that input or
 * the environment can cause. A status owns its message and its cause chain. */
#include "llmc_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct llmc_status {
  llmc_code_t code;
  const char *src_file;
  int src_line;
  char *where;
  char *message;
  llmc_status_t *cause;
  bool is_static;
};

/* Returned when we cannot allocate a status: reporting OOM must not allocate. */
static llmc_status_t oom_status = {LLMC_RESOURCE_EXHAUSTED, __FILE__, 0, NULL, "out of memory",
                                   NULL, true};

static char *vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static llmc_status_t *make_v(llmc_code_t code, const char *where, const char *src_file,
                             int src_line, llmc_status_t *cause, const char *fmt, va_list ap) {
  llmc_status_t *s = calloc(1, sizeof *s);
  if (!s) {
    llmc_status_free(cause);
    return &oom_status;
  }
  s->code = code;
  s->src_file = src_file;
  s->src_line = src_line;
  /* Messages quote names and paths from files: kept printable, so an error
   * is one line whatever a hostile file holds. */
  s->where = where ? llmc_printable_dup(where) : NULL;
  char *raw = vformat(fmt, ap);
  s->message = raw ? llmc_printable_dup(raw) : NULL;
  free(raw);
  s->cause = cause;
  if (!s->message || (where && !s->where)) {
    llmc_status_free(s);
    return &oom_status;
  }
  return s;
}

llmc_status_t *llmc_status_make(llmc_code_t code, const char *where, const char *src_file,
                                int src_line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  llmc_status_t *s = make_v(code, where, src_file, src_line, NULL, fmt, ap);
  va_end(ap);
  return s;
}

llmc_status_t *llmc_status_wrap(llmc_status_t *cause, const char *where, const char *fmt, ...) {
  if (!cause) return NULL;
  va_list ap;
  va_start(ap, fmt);
  llmc_status_t *s = make_v(cause->code, where, NULL, 0, cause, fmt, ap);
  va_end(ap);
  return s;
}

llmc_code_t llmc_status_code(const llmc_status_t *s) { return s ? s->code : LLMC_OK; }

const char *llmc_status_message(const llmc_status_t *s) {
  if (!s) return "ok";
  while (s->cause) s = s->cause;
  return s->message;
}

void llmc_status_format(const llmc_status_t *s, char *buf, size_t cap) {
  size_t used = 0;
  if (cap == 0) return;
  buf[0] = '\0';
  /* One line, outermost first: "where: error: what: cause-where: cause". */
  for (bool first = true; s && used < cap; s = s->cause, first = false) {
    int n = snprintf(buf + used, cap - used, "%s%s%s%s%s", first ? "" : ": ", s->where ? s->where : "",
                     s->where ? ": " : "", first ? "error: " : "", s->message);
    if (n < 0) break;
    used += (size_t)n;
  }
}

void llmc_status_free(llmc_status_t *s) {
  while (s && !s->is_static) {
    llmc_status_t *cause = s->cause;
    free(s->where);
    free(s->message);
    free(s);
    s = cause;
  }
}

int llmc_status_exit_code(const llmc_status_t *s) {
  switch (llmc_status_code(s)) {
    case LLMC_OK: return 0;
    case LLMC_INVALID_ARGUMENT: return EX_USAGE;
    case LLMC_NOT_FOUND: return EX_NOINPUT;
    case LLMC_DATA_LOSS:
    case LLMC_OUT_OF_RANGE:
    case LLMC_UNIMPLEMENTED: return EX_DATAERR;
    case LLMC_CANT_CREATE: return EX_CANTCREAT;
    case LLMC_IO_ERROR: return EX_IOERR;
    case LLMC_UNAVAILABLE: return EX_UNAVAILABLE;
    case LLMC_RESOURCE_EXHAUSTED:
    case LLMC_INTERNAL: return EX_SOFTWARE;
  }
  return EX_SOFTWARE;
}
