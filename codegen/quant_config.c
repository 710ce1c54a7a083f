/* quant_config.c: --quant-config=FILE, per-weight overrides of --quant.
 *
 *   {"rules": [{"match": "lm_head.weight", "quant": "none"},
 *              {"match": "model.layers.*.mlp.*", "quant": "int8"}]}
 *
 * The first rule whose fnmatch pattern matches a weight's name (as the
 * checkpoint names it) decides its layout; a weight no rule matches takes
 * --quant. The file is input like any other: bounded, strict JSON, unknown
 * keys and values refused with the rule's index. */
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_kplan.h"

#define MAX_RULES 256
#define MAX_PATTERN 1024

struct llmc_quant_config {
  int n;
  char *patterns[MAX_RULES];
  llmc_quant_t quant[MAX_RULES];
  /* Exact names added by the compiler (a GGUF's layouts), after the rules. */
  int n_exact;
  char **exact;
  llmc_quant_t *exact_quant;
};

bool llmc_quant_parse(const char *s, llmc_quant_t *out) {
  if (strcmp(s, "none") == 0) *out = LLMC_QUANT_NONE;
  else if (strcmp(s, "int8") == 0) *out = LLMC_QUANT_INT8;
  else if (strcmp(s, "int4") == 0) *out = LLMC_QUANT_INT4;
  else if (strcmp(s, "int8-g32") == 0) *out = LLMC_QUANT_INT8_G32;
  else if (strcmp(s, "int4-zp") == 0) *out = LLMC_QUANT_INT4_ZP;
  else if (strcmp(s, "int4-k") == 0) *out = LLMC_QUANT_INT4_K;
  else if (strcmp(s, "int5-k") == 0) *out = LLMC_QUANT_INT5_K;
  else if (strcmp(s, "int6-k") == 0) *out = LLMC_QUANT_INT6_K;
  else return false;
  return true;
}

static llmc_status_t *parse_rules(llmc_quant_config_t *c, json_t *root, const char *path) {
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "rules") != 0) return LLMC_ERROR(LLMC_DATA_LOSS, path, "unknown key \"%s\" (expected \"rules\")", key);
  }
  json_t *rules = json_object_get(root, "rules");
  if (!json_is_array(rules)) return LLMC_ERROR(LLMC_DATA_LOSS, path, "\"rules\" must be a list");
  if (json_array_size(rules) > MAX_RULES) return LLMC_ERROR(LLMC_DATA_LOSS, path, "more than %d rules", MAX_RULES);
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r) {
    json_t *match = json_object_get(r, "match"), *quant = json_object_get(r, "quant");
    if (!json_is_object(r) || json_object_size(r) != 2 || !json_is_string(match) || !json_is_string(quant))
      return LLMC_ERROR(LLMC_DATA_LOSS, path, "rule %zu must be {\"match\": PATTERN, \"quant\": LAYOUT}", i);
    if (json_string_length(match) == 0 || json_string_length(match) > MAX_PATTERN)
      return LLMC_ERROR(LLMC_DATA_LOSS, path, "rule %zu: the pattern must be 1 to %d bytes", i, MAX_PATTERN);
    if (!llmc_quant_parse(json_string_value(quant), &c->quant[c->n]))
      return LLMC_ERROR(LLMC_DATA_LOSS, path, "rule %zu: \"quant\" must be \"none\", \"int8\", \"int8-g32\", \"int4\", \"int4-zp\", \"int4-k\", \"int5-k\" or \"int6-k\", not \"%s\"", i,
                        json_string_value(quant));
    if (!(c->patterns[c->n] = strdup(json_string_value(match))))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    c->n++;
  }
  return NULL;
}

llmc_status_t *llmc_quant_config_load(const char *path, llmc_quant_config_t **out) {
  *out = NULL;
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, 1u << 20, &text, &len));
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!json_is_object(root)) {
    json_decref(root);
    return LLMC_ERROR(LLMC_DATA_LOSS, path, "line %d: %s", root ? 1 : err.line,
                      root ? "the quantization config must be a JSON object" : err.text);
  }
  llmc_quant_config_t *c = calloc(1, sizeof *c);
  llmc_status_t *s = c ? parse_rules(c, root, path) : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  json_decref(root);
  if (s) {
    llmc_quant_config_destroy(c);
    return s;
  }
  *out = c;
  return NULL;
}

void llmc_quant_config_destroy(llmc_quant_config_t *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++) free(c->patterns[i]);
  for (int i = 0; i < c->n_exact; i++) free(c->exact[i]);
  free(c->exact);
  free(c->exact_quant);
  free(c);
}

llmc_status_t *llmc_quant_config_add_exact(llmc_quant_config_t **c, const char *name, llmc_quant_t quant) {
  if (!*c && !(*c = calloc(1, sizeof **c))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_quant_config_t *q = *c;
  char **names = realloc(q->exact, sizeof *names * (size_t)(q->n_exact + 1));
  if (names) q->exact = names;
  llmc_quant_t *quants = realloc(q->exact_quant, sizeof *quants * (size_t)(q->n_exact + 1));
  if (quants) q->exact_quant = quants;
  if (!names || !quants || !(q->exact[q->n_exact] = strdup(name)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  q->exact_quant[q->n_exact++] = quant;
  return NULL;
}

llmc_quant_t llmc_quant_config_for(const llmc_quant_config_t *c, const char *name, llmc_quant_t dflt) {
  for (int i = 0; c && name && i < c->n; i++)
    if (fnmatch(c->patterns[i], name, 0) == 0) return c->quant[i];
  for (int i = 0; c && name && i < c->n_exact; i++)
    if (strcmp(c->exact[i], name) == 0) return c->exact_quant[i];
  return dflt;
}
