/* text.c: the IR text form, one line per value:
 *
 *   graph "name" {
 *     %0 = input "tokens" : i32[T]
 *     %2 = weight "model.embed_tokens.weight" : f32[512,256]
 *     %3 = embedding %0, %2 : f32[T,256]
 *     %7 = rms_norm %3, %4 {eps = 1.0000000000000001e-05} : f32[T,256]
 *     output "logits" = %40
 *   }
 *
 * Printing is canonical (ids in order, attrs in stored order, floats with 17
 * significant digits), so print(parse(print(g))) == print(g). The parser
 * re-infers every node's type and rejects a written type that disagrees. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_ir.h"
#include "ops_impl.h"

/* Names come from model files: quoted so that any byte round-trips and none
 * can end the string or the line (\xNN for the rest; see llmc_buf_put_quoted). */
static void print_string(llmc_buf_t *out, const char *s) { llmc_buf_put_quoted(out, s); }

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void print_type(llmc_buf_t *out, const llmc_value_t *v) {
  char shape[128];
  llmc_shape_format(&v->shape, shape, sizeof shape);
  llmc_buf_printf(out, " : %s%s", llmc_dtype_name(v->dtype), v->dtype == LLMC_DT_KV ? "" : shape);
}

static void print_float(llmc_buf_t *out, double f) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%.17g", f);
  llmc_buf_printf(out, "%s%s", tmp, strpbrk(tmp, ".eEni") ? "" : ".0");
}

void llmc_ir_print(const llmc_ir_graph_t *g, llmc_buf_t *out) {
  llmc_buf_printf(out, "graph ");
  print_string(out, g->name);
  llmc_buf_printf(out, " {\n");
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    llmc_buf_printf(out, "  %%%d = ", v->id);
    if (v->kind != LLMC_VALUE_NODE) {
      llmc_buf_printf(out, "%s ", v->kind == LLMC_VALUE_INPUT ? "input" : "weight");
      print_string(out, v->name);
    } else {
      llmc_buf_printf(out, "%s", llmc_op_name(v->op));
      for (int j = 0; j < v->n_inputs; j++) llmc_buf_printf(out, "%s%%%d", j ? ", " : " ", v->inputs[j]->id);
      if (v->n_attrs) {
        llmc_buf_printf(out, " {");
        for (int j = 0; j < v->n_attrs; j++) {
          const llmc_attr_t *a = &v->attrs[j];
          llmc_buf_printf(out, "%s%s = ", j ? ", " : "", a->name);
          switch (a->kind) {
            case LLMC_ATTR_INT: llmc_buf_printf(out, "%lld", (long long)a->i); break;
            case LLMC_ATTR_FLOAT: print_float(out, a->f); break;
            case LLMC_ATTR_BOOL: llmc_buf_printf(out, "%s", a->i ? "true" : "false"); break;
            case LLMC_ATTR_STRING: print_string(out, a->s); break;
            case LLMC_ATTR_FLOATS:
              for (int64_t k = 0; k < a->i; k++) {
                llmc_buf_printf(out, "%s", k ? ", " : "[");
                print_float(out, a->fs[k]);
              }
              llmc_buf_printf(out, "%s", a->i ? "]" : "[]");
              break;
          }
        }
        llmc_buf_printf(out, "}");
      }
    }
    print_type(out, v);
    llmc_buf_printf(out, "\n");
  }
  for (int i = 0; i < g->n_outputs; i++) {
    llmc_buf_printf(out, "  output ");
    print_string(out, g->outputs[i].name);
    llmc_buf_printf(out, " = %%%d\n", g->outputs[i].value->id);
  }
  llmc_buf_printf(out, "}\n");
}

/* ---- parser ---- */

typedef struct {
  const char *p;
  const char *filename;
  int line;
  llmc_arena_t *scratch; /* strings of the current line */
  llmc_ir_graph_t *g;
  /* value names as written (%foo) → value, in definition order */
  int n_names, cap_names;
  const char **names;
  llmc_value_t **named;
} parser_t;

static llmc_status_t *perr(parser_t *ps, const char *fmt, const char *detail) {
  char where[512];
  snprintf(where, sizeof where, "%s:%d", ps->filename, ps->line);
  return LLMC_ERROR(LLMC_DATA_LOSS, where, fmt, detail);
}

static void skip_space(parser_t *ps) {
  for (;;) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n') {
      if (*ps->p == '\n') ps->line++;
      ps->p++;
    }
    if (ps->p[0] == '/' && ps->p[1] == '/') {
      while (*ps->p && *ps->p != '\n') ps->p++;
      continue;
    }
    return;
  }
}

static bool accept(parser_t *ps, const char *tok) {
  skip_space(ps);
  size_t n = strlen(tok);
  if (strncmp(ps->p, tok, n) != 0) return false;
  /* keywords must not run into an identifier */
  if (isalpha((unsigned char)tok[0]) && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_'))
    return false;
  ps->p += n;
  return true;
}

static llmc_status_t *expect(parser_t *ps, const char *tok) {
  if (accept(ps, tok)) return NULL;
  return perr(ps, "expected '%s'", tok);
}

/* ident := [A-Za-z_][A-Za-z0-9_]* */
static llmc_status_t *parse_ident(parser_t *ps, char *buf, size_t cap) {
  skip_space(ps);
  size_t n = 0;
  if (!isalpha((unsigned char)*ps->p) && *ps->p != '_') return perr(ps, "expected %s", "a name");
  while ((isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_') && n + 1 < cap) n++;
  memcpy(buf, ps->p, n);
  buf[n] = '\0';
  ps->p += n;
  return NULL;
}

/* string := '"' ( char | '\' char )* '"' */
static llmc_status_t *parse_string(parser_t *ps, char **out) {
  skip_space(ps);
  if (*ps->p != '"') return perr(ps, "expected %s", "a string");
  ps->p++;
  llmc_buf_t b = {0};
  while (*ps->p && *ps->p != '"' && *ps->p != '\n') {
    if (*ps->p == '\\' && ps->p[1] == 'x') {
      int hi = hex_digit(ps->p[2]), lo = hi < 0 ? -1 : hex_digit(ps->p[3]);
      if (lo < 0 || (hi | lo) == 0) {
        llmc_buf_free(&b);
        return perr(ps, "%s", "bad \\x escape in a string (two hex digits, not 00)");
      }
      char c = (char)(hi * 16 + lo);
      llmc_buf_append(&b, &c, 1);
      ps->p += 3;
    } else if (*ps->p == '\\' && ps->p[1]) {
      ps->p++;
      llmc_buf_append(&b, *ps->p == 'n' ? "\n" : ps->p, 1);
    } else {
      llmc_buf_append(&b, ps->p, 1);
    }
    ps->p++;
  }
  if (*ps->p != '"') {
    llmc_buf_free(&b);
    return perr(ps, "%s", "unterminated string");
  }
  ps->p++;
  *out = llmc_arena_strdup(ps->scratch, b.data ? b.data : "");
  llmc_buf_free(&b);
  return *out ? NULL : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
}

/* value-ref := '%' [A-Za-z0-9_]+ */
static llmc_status_t *parse_value_name(parser_t *ps, char *buf, size_t cap) {
  skip_space(ps);
  if (*ps->p != '%') return perr(ps, "expected %s", "a value like %3");
  ps->p++;
  size_t n = 0;
  while ((isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_') && n + 1 < cap) n++;
  if (n == 0) return perr(ps, "expected %s", "a value name after '%'");
  memcpy(buf, ps->p, n);
  buf[n] = '\0';
  ps->p += n;
  return NULL;
}

static llmc_value_t *lookup(parser_t *ps, const char *name) {
  for (int i = ps->n_names - 1; i >= 0; i--)
    if (strcmp(ps->names[i], name) == 0) return ps->named[i];
  return NULL;
}

static llmc_status_t *bind(parser_t *ps, const char *name, llmc_value_t *v) {
  if (lookup(ps, name)) return perr(ps, "value %%%s is defined twice", name);
  if (ps->n_names == ps->cap_names) {
    int cap = ps->cap_names ? ps->cap_names * 2 : 256;
    const char **names = realloc(ps->names, sizeof(char *) * (size_t)cap);
    if (names) ps->names = names;
    llmc_value_t **named = realloc(ps->named, sizeof(void *) * (size_t)cap);
    if (named) ps->named = named;
    if (!names || !named) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    ps->cap_names = cap;
  }
  ps->names[ps->n_names] = llmc_arena_strdup(ps->g->arena, name);
  ps->named[ps->n_names++] = v;
  return NULL;
}

/* type := dtype ( '[' dim (',' dim)* ']' | '[' ']' )?   dim := 'T' | integer */
static llmc_status_t *parse_type(parser_t *ps, llmc_dtype_t *dt, llmc_shape_t *shape) {
  char name[32];
  LLMC_RETURN_IF_ERROR(parse_ident(ps, name, sizeof name));
  if (!llmc_dtype_parse(name, dt)) return perr(ps, "unknown dtype '%s'", name);
  *shape = (llmc_shape_t){0};
  if (*dt == LLMC_DT_KV) return NULL;
  LLMC_RETURN_IF_ERROR(expect(ps, "["));
  if (accept(ps, "]")) return NULL;
  do {
    if (shape->rank == LLMC_MAX_RANK) return perr(ps, "%s", "more than 4 dimensions");
    skip_space(ps);
    if (*ps->p == 'T' && !isalnum((unsigned char)ps->p[1])) {
      ps->p++;
      shape->dims[shape->rank++] = LLMC_DIM_T;
      continue;
    }
    char *end;
    errno = 0;
    long long d = strtoll(ps->p, &end, 10);
    if (end == ps->p || d < 0 || errno) return perr(ps, "%s", "bad dimension");
    ps->p = end;
    shape->dims[shape->rank++] = d;
  } while (accept(ps, ","));
  return expect(ps, "]");
}

/* attr := ident '=' ( integer | float | 'true' | 'false' | string | '[' float (',' float)* ']' ) */
static llmc_status_t *parse_attr(parser_t *ps, llmc_attr_t *a) {
  char name[64];
  LLMC_RETURN_IF_ERROR(parse_ident(ps, name, sizeof name));
  a->name = llmc_arena_strdup(ps->scratch, name);
  LLMC_RETURN_IF_ERROR(expect(ps, "="));
  skip_space(ps);
  if (*ps->p == '"') {
    a->kind = LLMC_ATTR_STRING;
    return parse_string(ps, (char **)&a->s);
  }
  if (accept(ps, "[")) {
    double *fs = llmc_arena_alloc(ps->scratch, sizeof(double) * LLMC_MAX_ATTR_FLOATS);
    if (!fs) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    a->kind = LLMC_ATTR_FLOATS;
    a->fs = fs;
    a->i = 0;
    skip_space(ps);
    if (accept(ps, "]")) return NULL;
    do {
      skip_space(ps);
      char *end;
      size_t n = strspn(ps->p, "0123456789+-.eE");
      if (a->i == LLMC_MAX_ATTR_FLOATS) return perr(ps, "too many numbers in attribute '%s'", name);
      fs[a->i] = strtod(ps->p, &end);
      if (n == 0 || end != ps->p + n) return perr(ps, "bad number in attribute '%s'", name);
      a->i++;
      ps->p = end;
    } while (accept(ps, ","));
    return expect(ps, "]");
  }
  bool is_true = accept(ps, "true");
  if (is_true || accept(ps, "false")) {
    a->kind = LLMC_ATTR_BOOL;
    a->i = is_true;
    return NULL;
  }
  const char *start = ps->p;
  size_t n = strspn(start, "0123456789+-.eEinfa");
  if (n == 0) return perr(ps, "bad value for attribute '%s'", name);
  char *end;
  if (memchr(start, '.', n) || memchr(start, 'e', n) || memchr(start, 'E', n) ||
      memchr(start, 'n', n)) {
    a->kind = LLMC_ATTR_FLOAT;
    a->f = strtod(start, &end);
  } else {
    a->kind = LLMC_ATTR_INT;
    errno = 0;
    a->i = strtoll(start, &end, 10);
    if (errno) return perr(ps, "integer out of range for '%s'", name);
  }
  if (end != start + n) return perr(ps, "bad value for attribute '%s'", name);
  ps->p = end;
  return NULL;
}

static bool same_type(llmc_dtype_t a, const llmc_shape_t *sa, llmc_dtype_t b, const llmc_shape_t *sb) {
  if (a != b || sa->rank != sb->rank) return false;
  for (int i = 0; i < sa->rank; i++)
    if (sa->dims[i] != sb->dims[i]) return false;
  return true;
}

/* line := value-ref '=' ( 'input' string | 'weight' string | op operands attrs? ) ':' type
 *       | 'output' string '=' value-ref */
static llmc_status_t *parse_line(parser_t *ps) {
  llmc_ir_graph_t *g = ps->g;
  if (accept(ps, "output")) {
    char *name, ref[64];
    LLMC_RETURN_IF_ERROR(parse_string(ps, &name));
    LLMC_RETURN_IF_ERROR(expect(ps, "="));
    LLMC_RETURN_IF_ERROR(parse_value_name(ps, ref, sizeof ref));
    llmc_value_t *v = lookup(ps, ref);
    if (!v) return perr(ps, "use of undefined value %%%s", ref);
    if (llmc_ir_graph_find_output(g, name)) return perr(ps, "output \"%s\" is defined twice", name);
    return llmc_ir_graph_add_output(g, name, v);
  }
  char def[64], word[64];
  LLMC_RETURN_IF_ERROR(parse_value_name(ps, def, sizeof def));
  LLMC_RETURN_IF_ERROR(expect(ps, "="));
  int line = ps->line;
  LLMC_RETURN_IF_ERROR(parse_ident(ps, word, sizeof word));
  llmc_value_t *v = NULL;
  llmc_dtype_t dt;
  llmc_shape_t shape;
  char where[512];
  snprintf(where, sizeof where, "%s:%d", ps->filename, line);
  if (strcmp(word, "input") == 0 || strcmp(word, "weight") == 0) {
    char *name;
    LLMC_RETURN_IF_ERROR(parse_string(ps, &name));
    LLMC_RETURN_IF_ERROR(expect(ps, ":"));
    LLMC_RETURN_IF_ERROR(parse_type(ps, &dt, &shape));
    if (word[0] == 'i' && llmc_ir_graph_find_input(g, name))
      return perr(ps, "input \"%s\" is defined twice", name);
    llmc_status_t *s = word[0] == 'i' ? llmc_ir_graph_add_input(g, name, dt, shape, &v)
                                      : llmc_ir_graph_add_weight(g, name, dt, shape, &v);
    if (s) return llmc_status_wrap(s, where, "bad definition");
    if (word[0] == 'w' && v->id != g->n_values - 1)
      return perr(ps, "weight \"%s\" is defined twice", name);
  } else {
    llmc_op_t op;
    if (!llmc_op_parse(word, &op)) return perr(ps, "unknown op '%s'", word);
    llmc_value_t *ins[8];
    llmc_attr_t attrs[16];
    int n_in = 0, n_attrs = 0;
    skip_space(ps);
    if (*ps->p == '%') {
      do {
        char ref[64];
        LLMC_RETURN_IF_ERROR(parse_value_name(ps, ref, sizeof ref));
        if (n_in == 8) return perr(ps, "%s", "too many operands");
        if (!(ins[n_in++] = lookup(ps, ref))) return perr(ps, "use of undefined value %%%s", ref);
      } while (accept(ps, ","));
    }
    if (accept(ps, "{")) {
      do {
        if (n_attrs == 16) return perr(ps, "%s", "too many attributes");
        LLMC_RETURN_IF_ERROR(parse_attr(ps, &attrs[n_attrs++]));
      } while (accept(ps, ","));
      LLMC_RETURN_IF_ERROR(expect(ps, "}"));
    }
    LLMC_RETURN_IF_ERROR(expect(ps, ":"));
    LLMC_RETURN_IF_ERROR(parse_type(ps, &dt, &shape));
    LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_node(g, op, ins, n_in, attrs, n_attrs, where, &v));
    if (!same_type(dt, &shape, v->dtype, &v->shape)) {
      char want[128];
      llmc_shape_format(&v->shape, want, sizeof want);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s: written type differs from the inferred %s%s",
                        word, llmc_dtype_name(v->dtype), v->dtype == LLMC_DT_KV ? "" : want);
    }
  }
  return bind(ps, def, v);
}

llmc_status_t *llmc_ir_parse(const char *text, const char *filename, llmc_ir_graph_t **out_graph) {
  *out_graph = NULL;
  parser_t ps = {.p = text, .filename = filename ? filename : "<ir>", .line = 1};
  char *name = NULL;
  llmc_status_t *s = NULL;
  ps.scratch = llmc_arena_create();
  if (!ps.scratch) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if ((s = expect(&ps, "graph")) || (s = parse_string(&ps, &name)) || (s = expect(&ps, "{")))
    goto done;
  if ((s = llmc_ir_graph_create(name, &ps.g))) goto done;
  while (!accept(&ps, "}")) {
    skip_space(&ps);
    if (!*ps.p) {
      s = perr(&ps, "%s", "unexpected end of input, expected '}'");
      goto done;
    }
    if ((s = parse_line(&ps))) goto done;
  }
  skip_space(&ps);
  if (*ps.p) s = perr(&ps, "%s", "text after the closing '}'");
  if (!s) s = llmc_ir_verify(ps.g);
done:
  free(ps.names);
  free(ps.named);
  llmc_arena_destroy(ps.scratch);
  if (s) {
    llmc_ir_graph_destroy(ps.g);
    return s;
  }
  *out_graph = ps.g;
  return NULL;
}
