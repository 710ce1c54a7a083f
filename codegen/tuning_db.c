/* tuning_db.c: reading the tuning database `llmc tune` writes (JSON lines;
 * format in llmc_kplan.h). The file is input like any other: every line is
 * checked when it is loaded, and a bad one is one error naming the file and
 * line. Entries are kept in file order; a query takes, of the entries for
 * its (target, variant, shape) at the widest step its token range has
 * entries for, the fastest, where an entry is superseded by a later line
 * with the same device and configuration. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kplan_impl.h"

typedef struct {
  int line;
  char *target, *device, *variant, *shape;
  int64_t tokens;
  int n;
  char *keys[LLMC_KCONFIG_MAX];
  int64_t values[LLMC_KCONFIG_MAX];
  double us;
} entry_t;

struct llmc_tuning_db {
  char *path;
  int n, cap;
  entry_t *entries;
};

static void entry_free(entry_t *e) {
  free(e->target);
  free(e->device);
  free(e->variant);
  free(e->shape);
  for (int i = 0; i < e->n; i++) free(e->keys[i]);
}

void llmc_tuning_db_destroy(llmc_tuning_db_t *db) {
  if (!db) return;
  for (int i = 0; i < db->n; i++) entry_free(&db->entries[i]);
  free(db->entries);
  free(db->path);
  free(db);
}

const char *llmc_tuning_db_path(const llmc_tuning_db_t *db) { return db->path; }

/* Copies jansson's message, whose "near '...'" part quotes the file, with
 * anything but printable ASCII replaced, so an error stays one clean line. */
static void printable(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 1 < cap; in++) out[n++] = *in >= 0x20 && *in < 0x7f ? *in : '?';
  out[n] = '\0';
}

/* Parameter names are what the registry spells: A-Z, 0-9, _. */
static bool param_name_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 32) return false;
  for (; *k; k++)
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_')) return false;
  return true;
}

static const char *string_field(json_t *o, const char *key, bool required, const char **why) {
  json_t *v = json_object_get(o, key);
  bool ok = v ? json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 256 : !required;
  if (!ok && !*why) *why = key; /* the first bad field */
  if (!ok || !v) return NULL;
  return json_string_value(v);
}

static llmc_status_t *parse_line(const llmc_tuning_db_t *db, int line, const char *text, size_t len, entry_t *e) {
  json_error_t err;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!o) {
    char why[JSON_ERROR_TEXT_LENGTH];
    printable(err.text, why, sizeof why);
    return LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: not JSON: %s", db->path, line, why);
  }
  llmc_status_t *s = NULL;
  const char *bad = NULL;
  const char *target = NULL, *device = NULL, *variant = NULL, *shape = NULL;
  json_t *cfg = NULL, *us = NULL, *tokens = NULL;
  if (!json_is_object(o)) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: a line must be a JSON object", db->path, line);
    goto done;
  }
  target = string_field(o, "target", true, &bad);
  device = string_field(o, "device", false, &bad);
  variant = string_field(o, "variant", true, &bad);
  shape = string_field(o, "shape", true, &bad);
  if (bad) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: \"%s\" is missing or not a short string", db->path, line, bad);
    goto done;
  }
  cfg = json_object_get(o, "config");
  us = json_object_get(o, "us");
  tokens = json_object_get(o, "tokens");
  if (!json_is_object(cfg) || json_object_size(cfg) > LLMC_KCONFIG_MAX) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: \"config\" must be an object of at most %d integers", db->path,
                   line, LLMC_KCONFIG_MAX);
    goto done;
  }
  if (!json_is_number(us) || !(json_number_value(us) >= 0) || json_number_value(us) > 1e12) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: \"us\" must be a non-negative number of microseconds", db->path,
                   line);
    goto done;
  }
  if (!json_is_integer(tokens) || json_integer_value(tokens) < 1 || json_integer_value(tokens) > (1 << 24)) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: \"tokens\" must be a positive integer", db->path, line);
    goto done;
  }
  *e = (entry_t){.line = line, .tokens = json_integer_value(tokens), .us = json_number_value(us)};
  e->target = strdup(target);
  e->device = strdup(device ? device : "");
  e->variant = strdup(variant);
  e->shape = strdup(shape);
  const char *key;
  json_t *val;
  json_object_foreach(cfg, key, val) {
    if (!param_name_ok(key)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: a config key is not a parameter name (A-Z, 0-9, _)", db->path,
                     line);
      break;
    }
    if (!json_is_integer(val)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: config value \"%s\" is not an integer", db->path, line, key);
      break;
    }
    e->keys[e->n] = strdup(key);
    e->values[e->n++] = json_integer_value(val);
  }
  bool ok = e->target && e->device && e->variant && e->shape;
  for (int i = 0; i < e->n; i++) ok &= e->keys[i] != NULL;
  if (!s && !ok) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (s) entry_free(e);
done:
  json_decref(o);
  return s;
}

llmc_status_t *llmc_tuning_db_load(const char *path, llmc_tuning_db_t **out_db) {
  *out_db = NULL;
  char *text = NULL;
  size_t len = 0;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, 256u << 20, &text, &len));
  llmc_tuning_db_t *db = calloc(1, sizeof *db);
  llmc_status_t *s = db && (db->path = strdup(path)) ? NULL : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  int line = 0;
  for (size_t at = 0; !s && at < len;) {
    const char *nl = memchr(text + at, '\n', len - at);
    size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
    line++;
    size_t blank = 0;
    while (blank < n && (text[at + blank] == ' ' || text[at + blank] == '\t' || text[at + blank] == '\r')) blank++;
    if (blank < n) {
      if (db->n == db->cap) {
        int cap = db->cap ? 2 * db->cap : 64;
        entry_t *grown = realloc(db->entries, sizeof(entry_t) * (size_t)cap);
        if (!grown) {
          s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
          break;
        }
        db->entries = grown;
        db->cap = cap;
      }
      s = parse_line(db, line, text + at, n, &db->entries[db->n]);
      if (!s) db->n++;
    }
    at += n + 1;
  }
  free(text);
  if (s) {
    llmc_tuning_db_destroy(db);
    return s;
  }
  *out_db = db;
  return NULL;
}

static bool same_config(const entry_t *a, const entry_t *b) {
  if (a->n != b->n) return false;
  for (int i = 0; i < a->n; i++) {
    int j = 0;
    while (j < b->n && strcmp(a->keys[i], b->keys[j]) != 0) j++;
    if (j == b->n || a->values[i] != b->values[j]) return false;
  }
  return true;
}

llmc_status_t *llmc_tuning_db_best(const llmc_tuning_db_t *db, const char *target, const llmc_kvariant_t *v,
                                   const char *shape, int64_t t_min, int64_t t_max, bool *out_found,
                                   llmc_kconfig_t *out_config, int *out_line) {
  *out_found = false;
  *out_line = 0;
  /* Times at different token counts do not compare: the entries measured
   * at the widest step in the range decide. */
  int64_t tokens = 0;
  for (int i = 0; i < db->n; i++) {
    const entry_t *e = &db->entries[i];
    if (!strcmp(e->target, target) && !strcmp(e->variant, v->name) && !strcmp(e->shape, shape) &&
        e->tokens >= t_min && e->tokens <= t_max && e->tokens > tokens)
      tokens = e->tokens;
  }
  const entry_t *best = NULL;
  for (int i = 0; tokens && i < db->n; i++) {
    const entry_t *e = &db->entries[i];
    if (strcmp(e->target, target) || strcmp(e->variant, v->name) || strcmp(e->shape, shape) || e->tokens != tokens)
      continue;
    bool superseded = false;
    for (int j = i + 1; j < db->n && !superseded; j++) {
      const entry_t *f = &db->entries[j];
      superseded = !strcmp(f->target, e->target) && !strcmp(f->variant, e->variant) && !strcmp(f->shape, e->shape) &&
                   f->tokens == e->tokens && !strcmp(f->device, e->device) && same_config(e, f);
    }
    if (superseded) continue;
    /* Parameters the entry does not name (measured before the variant had
     * them) keep the caller's starting values. */
    llmc_kconfig_t c = *out_config;
    c.n = v->n_params;
    for (int k = 0; k < e->n; k++) {
      int j = 0;
      while (j < v->n_params && strcmp(v->params[j].name, e->keys[k]) != 0) j++;
      if (j == v->n_params)
        return LLMC_ERROR(LLMC_DATA_LOSS, NULL, "%s:%d: %s has no parameter \"%s\"", db->path, e->line, v->name,
                          e->keys[k]);
      c.values[j] = e->values[k];
    }
    if (!best || e->us <= best->us) { /* ties: the later line */
      best = e;
      *out_config = c;
    }
  }
  if (best) {
    *out_found = true;
    *out_line = best->line;
  }
  return NULL;
}
