/* template.c: kernel template lookup and {{KEY}} substitution.
 *
 * Templates are kernels_templates/<family>.<class>.mlir, embedded into the
 * library at build time (cmake/embed_files.cmake). A placeholder is `{{KEY}}`
 * with KEY made of A-Z, 0-9 and `_`; every other byte is copied verbatim.
 * Substitution is strict both ways: a placeholder without a parameter and a
 * parameter without a placeholder are both llmc bugs (LLMC_INTERNAL), so a
 * template and the code that instantiates it cannot drift apart silently. */
#include <stdio.h>
#include <string.h>

#include "llmc_codegen.h"

/* Defined in the generated templates_embedded.c. */
extern const llmc_embedded_file_t llmc_embedded_templates[];
extern const int llmc_embedded_templates_count;

#define MAX_PARAMS 64

const char *llmc_template_get(const char *family, const char *target_class) {
  if (!family || !target_class) return NULL;
  size_t lf = strlen(family), lc = strlen(target_class);
  for (int i = 0; i < llmc_embedded_templates_count; i++) {
    const char *n = llmc_embedded_templates[i].name;
    if (strncmp(n, family, lf) == 0 && n[lf] == '.' && strncmp(n + lf + 1, target_class, lc) == 0 &&
        strcmp(n + lf + 1 + lc, ".mlir") == 0)
      return (const char *)llmc_embedded_templates[i].data;
  }
  return NULL;
}

char *llmc_template_f32_literal(float v, char buf[static 11]) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  snprintf(buf, 11, "0x%08X", (unsigned)bits);
  return buf;
}

/* Drops what this call appended, keeping the buffer NUL-terminated. */
static void rollback(llmc_buf_t *b, size_t len) {
  b->len = len;
  if (b->data) b->data[len] = '\0';
}

static bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

llmc_status_t *llmc_template_instantiate(const char *family, const char *target_class,
                                         const llmc_template_param_t *params, int n_params,
                                         llmc_buf_t *out) {
  const char *text = llmc_template_get(family, target_class);
  if (!text)
    return LLMC_ERROR(LLMC_NOT_FOUND, NULL, "no kernel template '%s.%s.mlir'", family ? family : "",
                      target_class ? target_class : "");
  if (n_params < 0 || n_params > MAX_PARAMS || (n_params > 0 && !params))
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "template '%s': bad parameter list", family);
  bool used[MAX_PARAMS] = {0};
  for (int i = 0; i < n_params; i++) {
    if (!params[i].key || !params[i].value)
      return LLMC_ERROR(LLMC_INTERNAL, NULL, "template '%s': parameter %d has no key or value",
                        family, i);
    for (int j = 0; j < i; j++)
      if (strcmp(params[i].key, params[j].key) == 0)
        return LLMC_ERROR(LLMC_INTERNAL, NULL, "template '%s': parameter %s given twice", family,
                          params[i].key);
  }
  size_t start_len = out->len;
  const char *p = text;
  int line = 1;
  while (*p) {
    const char *open = strstr(p, "{{");
    if (!open) {
      llmc_buf_append(out, p, strlen(p));
      break;
    }
    for (const char *q = p; q < open; q++) line += *q == '\n';
    const char *k = open + 2, *e = k;
    while (is_key_char(*e)) e++;
    if (e == k || e[0] != '}' || e[1] != '}') {
      rollback(out, start_len);
      return LLMC_ERROR(LLMC_INTERNAL, NULL, "%s.%s.mlir:%d: malformed placeholder", family,
                        target_class, line);
    }
    llmc_buf_append(out, p, (size_t)(open - p));
    int found = -1;
    for (int i = 0; i < n_params && found < 0; i++)
      if (strlen(params[i].key) == (size_t)(e - k) && memcmp(params[i].key, k, (size_t)(e - k)) == 0)
        found = i;
    if (found < 0) {
      rollback(out, start_len);
      return LLMC_ERROR(LLMC_INTERNAL, NULL, "%s.%s.mlir:%d: missing template parameter %.*s",
                        family, target_class, line, (int)(e - k), k);
    }
    used[found] = true;
    llmc_buf_append(out, params[found].value, strlen(params[found].value));
    p = e + 2;
  }
  for (int i = 0; i < n_params; i++)
    if (!used[i]) {
      rollback(out, start_len);
      return LLMC_ERROR(LLMC_INTERNAL, NULL, "template '%s.%s': parameter %s is not used", family,
                        target_class, params[i].key);
    }
  if (out->failed)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory instantiating '%s'", family);
  return NULL;
}
