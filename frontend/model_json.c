/* model_json.c: reads llmc's own model format, "llmc.model/1" (spec in
 * docs/model-json.md), into the IR.
 *
 * The file lists primitive ops in order; "out" names may be rebound (x = x +
 * h), each binding making a fresh SSA value. A "repeat" block instantiates
 * its body n times with a loop variable, substituted into names as "{i}"
 * and usable in attributes as "$i". Names not bound by an op resolve to the
 * inputs "tokens"/"positions" or to weights (after "weight_aliases").
 * jansson parses with duplicate keys rejected and bounds nesting depth; the
 * builder bounds repeat depth and total node count so a tiny file cannot ask
 * for a billion nodes. */
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmc_frontend.h"

#define MAX_REPEAT_DEPTH 8
#define MAX_NODES 1000000
#define MAX_LOCATION 1024

typedef struct {
  const char *file;
  json_t *params;
  json_t *aliases;
  llmc_model_t *m;
  llmc_arena_t *a; /* scratch for names */
  int n_env, cap_env;
  const char **env_names;
  llmc_value_t **env_values;
  int n_loops;
  const char *loop_names[MAX_REPEAT_DEPTH];
  int64_t loop_values[MAX_REPEAT_DEPTH];
  int64_t n_nodes;
} builder_t;

static llmc_status_t *berr(builder_t *b, const char *loc, llmc_code_t code, const char *fmt,
                           const char *detail) {
  char where[MAX_LOCATION + 512];
  snprintf(where, sizeof where, "%.400s: %.1100s", b->file, loc);
  return LLMC_ERROR(code, where, fmt, detail);
}

static llmc_status_t *bind(builder_t *b, const char *name, llmc_value_t *v) {
  if (b->n_env == b->cap_env) {
    int cap = b->cap_env ? b->cap_env * 2 : 256;
    const char **names = realloc(b->env_names, sizeof(char *) * (size_t)cap);
    if (names) b->env_names = names;
    llmc_value_t **values = realloc(b->env_values, sizeof(void *) * (size_t)cap);
    if (values) b->env_values = values;
    if (!names || !values) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    b->cap_env = cap;
  }
  b->env_names[b->n_env] = name;
  b->env_values[b->n_env++] = v;
  return NULL;
}

static llmc_value_t *env_find(builder_t *b, const char *name) {
  for (int i = b->n_env - 1; i >= 0; i--)
    if (strcmp(b->env_names[i], name) == 0) return b->env_values[i];
  return NULL;
}

/* Replaces "{var}" with loop values. */
static llmc_status_t *substitute(builder_t *b, const char *loc, const char *in, const char **out) {
  llmc_buf_t buf = {0};
  llmc_status_t *s = NULL;
  for (const char *p = in; *p && !s;) {
    if (*p != '{') {
      llmc_buf_append(&buf, p++, 1);
      continue;
    }
    const char *close = strchr(p, '}');
    if (!close) {
      s = berr(b, loc, LLMC_DATA_LOSS, "unclosed '{' in name \"%s\"", in);
      break;
    }
    int k = b->n_loops - 1;
    for (; k >= 0; k--)
      if (strlen(b->loop_names[k]) == (size_t)(close - p - 1) &&
          strncmp(b->loop_names[k], p + 1, (size_t)(close - p - 1)) == 0)
        break;
    if (k < 0) {
      s = berr(b, loc, LLMC_DATA_LOSS, "name \"%s\" uses a loop variable that is not in scope", in);
      break;
    }
    llmc_buf_printf(&buf, "%lld", (long long)b->loop_values[k]);
    p = close + 1;
  }
  if (!s && !(*out = llmc_arena_strdup(b->a, buf.data ? buf.data : "")))
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_buf_free(&buf);
  return s;
}

/* "$name" → a loop variable or a param. */
static llmc_status_t *resolve_ref(builder_t *b, const char *loc, const char *ref, json_t **out_param,
                                  int64_t *out_loop, bool *out_is_loop) {
  for (int k = b->n_loops - 1; k >= 0; k--)
    if (strcmp(b->loop_names[k], ref) == 0) {
      *out_is_loop = true;
      *out_loop = b->loop_values[k];
      return NULL;
    }
  *out_is_loop = false;
  *out_param = b->params ? json_object_get(b->params, ref) : NULL;
  if (!*out_param) return berr(b, loc, LLMC_DATA_LOSS, "unknown parameter '$%s'", ref);
  return NULL;
}

static llmc_status_t *json_to_attr(builder_t *b, const char *loc, const char *key, json_t *v,
                                   llmc_attr_t *out) {
  out->name = key;
  if (json_is_string(v) && json_string_value(v)[0] == '$') {
    bool is_loop;
    int64_t loop;
    json_t *param;
    LLMC_RETURN_IF_ERROR(resolve_ref(b, loc, json_string_value(v) + 1, &param, &loop, &is_loop));
    if (is_loop) {
      out->kind = LLMC_ATTR_INT;
      out->i = loop;
      return NULL;
    }
    v = param;
  }
  if (json_is_integer(v)) {
    out->kind = LLMC_ATTR_INT;
    out->i = json_integer_value(v);
  } else if (json_is_real(v)) {
    out->kind = LLMC_ATTR_FLOAT;
    out->f = json_real_value(v);
  } else if (json_is_boolean(v)) {
    out->kind = LLMC_ATTR_BOOL;
    out->i = json_is_true(v);
  } else if (json_is_string(v)) {
    out->kind = LLMC_ATTR_STRING;
    out->s = json_string_value(v);
  } else {
    return berr(b, loc, LLMC_DATA_LOSS, "attribute '%s' must be a number, boolean or string", key);
  }
  return NULL;
}

static llmc_status_t *weight_value(builder_t *b, const char *loc, const char *name,
                                   llmc_value_t **out) {
  json_t *alias = b->aliases ? json_object_get(b->aliases, name) : NULL;
  if (alias) name = json_string_value(alias);
  const llmc_st_tensor_t *t = llmc_weight_set_find(b->m->weights, name);
  if (!t)
    return berr(b, loc, LLMC_DATA_LOSS,
                "'%s' is neither a value defined earlier, an input, nor a weight in the weight files",
                name);
  llmc_dtype_t dt;
  switch (t->dtype) {
    case LLMC_ST_F32: dt = LLMC_DT_F32; break;
    case LLMC_ST_F16: dt = LLMC_DT_F16; break;
    case LLMC_ST_BF16: dt = LLMC_DT_BF16; break;
    default:
      return berr(b, loc, LLMC_UNIMPLEMENTED, "weight '%s' has a dtype llmc cannot compute with yet", name);
  }
  if (t->rank < 1 || t->rank > LLMC_MAX_RANK)
    return berr(b, loc, LLMC_UNIMPLEMENTED, "weight '%s' must have 1 to 4 dimensions", name);
  llmc_shape_t shape = {.rank = t->rank};
  for (int i = 0; i < t->rank; i++) shape.dims[i] = t->shape[i];
  return llmc_ir_graph_add_weight(b->m->graph, name, dt, shape, out);
}

static llmc_status_t *build_list(builder_t *b, json_t *list, const char *loc);

static llmc_status_t *build_op(builder_t *b, json_t *item, const char *loc) {
  const char *key;
  json_t *v;
  json_object_foreach(item, key, v) {
    if (strcmp(key, "op") && strcmp(key, "in") && strcmp(key, "out") && strcmp(key, "attrs"))
      return berr(b, loc, LLMC_DATA_LOSS, "unknown key \"%s\" in an op", key);
  }
  json_t *op_j = json_object_get(item, "op"), *in_j = json_object_get(item, "in");
  json_t *out_j = json_object_get(item, "out"), *attrs_j = json_object_get(item, "attrs");
  if (!json_is_string(op_j)) return berr(b, loc, LLMC_DATA_LOSS, "%s", "\"op\" must be a string");
  llmc_op_t op;
  if (!llmc_op_parse(json_string_value(op_j), &op))
    return berr(b, loc, LLMC_DATA_LOSS, "unknown op '%s'", json_string_value(op_j));
  if (!json_is_array(in_j)) return berr(b, loc, LLMC_DATA_LOSS, "%s", "\"in\" must be an array of names");
  if (!json_is_string(out_j)) return berr(b, loc, LLMC_DATA_LOSS, "%s", "\"out\" must be a name");
  if (attrs_j && !json_is_object(attrs_j))
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "\"attrs\" must be an object");
  if (json_array_size(in_j) > 8) return berr(b, loc, LLMC_DATA_LOSS, "%s", "too many operands");
  if (json_object_size(attrs_j) > 16) return berr(b, loc, LLMC_DATA_LOSS, "%s", "too many attributes");
  if (++b->n_nodes > MAX_NODES) return berr(b, loc, LLMC_DATA_LOSS, "%s", "more than 1000000 nodes");

  llmc_value_t *ins[8];
  int n_in = 0;
  size_t i;
  json_t *name_j;
  json_array_foreach(in_j, i, name_j) {
    if (!json_is_string(name_j)) return berr(b, loc, LLMC_DATA_LOSS, "%s", "operand names must be strings");
    const char *name;
    LLMC_RETURN_IF_ERROR(substitute(b, loc, json_string_value(name_j), &name));
    llmc_value_t *val = env_find(b, name);
    if (!val) val = llmc_ir_graph_find_input(b->m->graph, name);
    if (!val) LLMC_RETURN_IF_ERROR(weight_value(b, loc, name, &val));
    ins[n_in++] = val;
  }
  llmc_attr_t attrs[16];
  int n_attrs = 0;
  json_object_foreach(attrs_j, key, v) {
    LLMC_RETURN_IF_ERROR(json_to_attr(b, loc, key, v, &attrs[n_attrs++]));
  }
  char where[MAX_LOCATION + 512];
  snprintf(where, sizeof where, "%.400s: %.1100s", b->file, loc);
  llmc_value_t *result;
  LLMC_RETURN_IF_ERROR(
      llmc_ir_graph_add_node(b->m->graph, op, ins, n_in, attrs, n_attrs, where, &result));
  const char *out_name;
  LLMC_RETURN_IF_ERROR(substitute(b, loc, json_string_value(out_j), &out_name));
  return bind(b, out_name, result);
}

static llmc_status_t *build_repeat(builder_t *b, json_t *item, const char *loc) {
  json_t *count_j = json_object_get(item, "repeat"), *as_j = json_object_get(item, "as");
  json_t *body = json_object_get(item, "body");
  if (!json_is_string(as_j) || !json_is_array(body))
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "a repeat needs \"as\" (a name) and \"body\" (a list)");
  if (b->n_loops == MAX_REPEAT_DEPTH)
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "repeat blocks nested more than 8 deep");
  int64_t count;
  if (json_is_integer(count_j)) {
    count = json_integer_value(count_j);
  } else if (json_is_string(count_j)) {
    const char *ref = json_string_value(count_j);
    json_t *param = NULL;
    int64_t loop;
    bool is_loop;
    LLMC_RETURN_IF_ERROR(resolve_ref(b, loc, ref[0] == '$' ? ref + 1 : ref, &param, &loop, &is_loop));
    if (!is_loop && !json_is_integer(param))
      return berr(b, loc, LLMC_DATA_LOSS, "repeat count '%s' is not an integer", ref);
    count = is_loop ? loop : json_integer_value(param);
  } else {
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "\"repeat\" must be an integer or a parameter name");
  }
  if (count < 0 || count > MAX_NODES)
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "repeat count out of range");
  b->loop_names[b->n_loops] = json_string_value(as_j);
  b->n_loops++;
  llmc_status_t *s = NULL;
  for (int64_t k = 0; k < count && !s; k++) {
    b->loop_values[b->n_loops - 1] = k;
    char inner[MAX_LOCATION + 128];
    snprintf(inner, sizeof inner, "%.900s(%.32s=%lld).body", loc, json_string_value(as_j), (long long)k);
    s = build_list(b, body, inner);
  }
  b->n_loops--;
  return s;
}

static llmc_status_t *build_list(builder_t *b, json_t *list, const char *loc) {
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    char here[MAX_LOCATION + 160];
    snprintf(here, sizeof here, "%.1000s[%zu]", loc, i);
    if (!json_is_object(item)) return berr(b, here, LLMC_DATA_LOSS, "%s", "graph entries must be objects");
    if (json_object_get(item, "repeat"))
      LLMC_RETURN_IF_ERROR(build_repeat(b, item, here));
    else
      LLMC_RETURN_IF_ERROR(build_op(b, item, here));
  }
  return NULL;
}

static llmc_status_t *read_string_list(builder_t *b, json_t *j, const char *key, const char ***out,
                                       int *n) {
  json_t *v = json_object_get(j, key);
  if (json_is_string(v)) {
    *out = llmc_arena_alloc(b->a, sizeof(char *));
    (*out)[0] = json_string_value(v);
    *n = 1;
    return NULL;
  }
  if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 4096)
    return berr(b, key, LLMC_DATA_LOSS, "%s", "must be a file name or a non-empty list of file names");
  *n = (int)json_array_size(v);
  *out = llmc_arena_alloc(b->a, sizeof(char *) * (size_t)*n);
  for (int i = 0; i < *n; i++) {
    json_t *e = json_array_get(v, (size_t)i);
    if (!json_is_string(e)) return berr(b, key, LLMC_DATA_LOSS, "%s", "file names must be strings");
    (*out)[i] = json_string_value(e);
  }
  return NULL;
}

static llmc_status_t *build_model(builder_t *b, json_t *root, const char *dir) {
  llmc_model_t *m = b->m;
  const char *key;
  json_t *v;
  static const char *const known[] = {"format", "name", "weights", "tokenizer", "params",
                                      "weight_aliases", "graph", "outputs", "eos_token_id",
                                      "max_context", "description"};
  json_object_foreach(root, key, v) {
    size_t k = 0;
    while (k < sizeof known / sizeof known[0] && strcmp(known[k], key)) k++;
    if (k == sizeof known / sizeof known[0])
      return berr(b, key, LLMC_DATA_LOSS, "unknown top-level key \"%s\"", key);
  }
  json_t *format = json_object_get(root, "format");
  if (!json_is_string(format) || strcmp(json_string_value(format), "llmc.model/1") != 0)
    return berr(b, "format", LLMC_DATA_LOSS, "%s", "\"format\" must be \"llmc.model/1\"");
  json_t *name = json_object_get(root, "name");
  if (!json_is_string(name)) return berr(b, "name", LLMC_DATA_LOSS, "%s", "\"name\" must be a string");
  b->params = json_object_get(root, "params");
  if (b->params && !json_is_object(b->params))
    return berr(b, "params", LLMC_DATA_LOSS, "%s", "\"params\" must be an object");
  b->aliases = json_object_get(root, "weight_aliases");
  if (b->aliases) {
    if (!json_is_object(b->aliases))
      return berr(b, "weight_aliases", LLMC_DATA_LOSS, "%s", "must be an object of names");
    json_object_foreach(b->aliases, key, v)
      if (!json_is_string(v)) return berr(b, "weight_aliases", LLMC_DATA_LOSS, "alias '%s' is not a string", key);
  }
  json_t *graph = json_object_get(root, "graph");
  if (!json_is_array(graph) || json_array_size(graph) == 0)
    return berr(b, "graph", LLMC_DATA_LOSS, "%s", "\"graph\" must be a non-empty list");

  const char **files = NULL;
  int n_files = 0;
  LLMC_RETURN_IF_ERROR(read_string_list(b, root, "weights", &files, &n_files));
  LLMC_RETURN_IF_ERROR(llmc_weight_set_open(dir, files, n_files, &m->weights));

  json_t *tok = json_object_get(root, "tokenizer");
  if (tok) {
    if (!json_is_string(tok)) return berr(b, "tokenizer", LLMC_DATA_LOSS, "%s", "must be a file name");
    if (!(m->tokenizer_path = strdup(llmc_path_join(b->a, dir, json_string_value(tok)))))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  json_t *ctx = json_object_get(root, "max_context");
  if (!ctx && b->params) ctx = json_object_get(b->params, "max_context");
  m->max_context = json_is_integer(ctx) ? json_integer_value(ctx) : 2048;
  if (m->max_context <= 0 || m->max_context > (1 << 24))
    return berr(b, "max_context", LLMC_DATA_LOSS, "%s", "max_context must be in 1..16777216");
  json_t *eos = json_object_get(root, "eos_token_id");
  m->eos_token = json_is_integer(eos) ? (int32_t)json_integer_value(eos) : -1;

  LLMC_RETURN_IF_ERROR(llmc_ir_graph_create(json_string_value(name), &m->graph));
  llmc_value_t *in;
  llmc_shape_t rows = {.rank = 1, .dims = {LLMC_DIM_T}};
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_input(m->graph, "tokens", LLMC_DT_I32, rows, &in));
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_input(m->graph, "positions", LLMC_DT_I32, rows, &in));
  LLMC_RETURN_IF_ERROR(build_list(b, graph, "graph"));

  json_t *outputs = json_object_get(root, "outputs");
  if (outputs && !json_is_object(outputs))
    return berr(b, "outputs", LLMC_DATA_LOSS, "%s", "\"outputs\" must map output names to value names");
  if (!outputs) {
    llmc_value_t *logits = env_find(b, "logits");
    if (!logits) return berr(b, "graph", LLMC_DATA_LOSS, "%s", "no value named 'logits' is defined");
    LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_output(m->graph, "logits", logits));
  } else {
    json_object_foreach(outputs, key, v) {
      llmc_value_t *val = json_is_string(v) ? env_find(b, json_string_value(v)) : NULL;
      if (!val) return berr(b, "outputs", LLMC_DATA_LOSS, "output '%s' names no defined value", key);
      LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_output(m->graph, key, val));
    }
  }
  llmc_value_t *logits = llmc_ir_graph_find_output(m->graph, "logits");
  if (!logits) return berr(b, "outputs", LLMC_DATA_LOSS, "%s", "the model must have an output named 'logits'");
  if (logits->dtype != LLMC_DT_F32 || logits->shape.rank != 2)
    return berr(b, "outputs", LLMC_DATA_LOSS, "%s", "'logits' must be f32[T,vocab]");
  return llmc_ir_verify(m->graph);
}

llmc_status_t *llmc_model_from_json_text(const char *text, size_t len, const char *dir,
                                         const char *where, llmc_model_t **out_model) {
  *out_model = NULL;
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!root) {
    char loc[4096];
    snprintf(loc, sizeof loc, "%s:%d:%d", where, err.line, err.column);
    return LLMC_ERROR(LLMC_DATA_LOSS, loc, "%s", err.text);
  }
  builder_t b = {.file = where};
  b.m = calloc(1, sizeof *b.m);
  b.a = llmc_arena_create();
  llmc_status_t *s = NULL;
  if (!b.m || !b.a || !(b.m->source = strdup(where))) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  } else if (!json_is_object(root)) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "the model must be a JSON object");
  } else {
    s = build_model(&b, root, dir);
  }
  free(b.env_names);
  free(b.env_values);
  llmc_arena_destroy(b.a);
  json_decref(root);
  if (s) {
    llmc_model_destroy(b.m);
    return s;
  }
  *out_model = b.m;
  return NULL;
}

void llmc_model_destroy(llmc_model_t *m) {
  if (!m) return;
  llmc_ir_graph_destroy(m->graph);
  llmc_weight_set_close(m->weights);
  free(m->tokenizer_path);
  free(m->source);
  free(m);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

llmc_status_t *llmc_model_load(const char *path, llmc_model_t **out_model) {
  *out_model = NULL;
  char *copy = strdup(path);
  if (!copy) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  char *text = NULL;
  size_t len = 0;
  llmc_status_t *s = NULL;
  char json_where[4096];
  const char *dir = ".";
  size_t n = strlen(path);
  if (n >= 5 && strcmp(path + n - 5, ".gguf") == 0) {
    s = LLMC_ERROR(LLMC_UNIMPLEMENTED, path, "GGUF import is not built yet; use model.json or a Hugging Face directory");
  } else if (n >= 5 && strcmp(path + n - 5, ".json") == 0) {
    dir = dirname(copy);
    snprintf(json_where, sizeof json_where, "%s", path);
    s = llmc_file_read_text(path, 64u << 20, &text, &len);
  } else if (is_dir(path)) {
    dir = path;
    snprintf(json_where, sizeof json_where, "%s/config.json", path);
    s = llmc_hf_config_to_model_json(path, &text);
    if (!s) len = strlen(text);
  } else {
    s = LLMC_ERROR(LLMC_NOT_FOUND, path,
                   "not a model: expected a model.json file or a Hugging Face model directory");
    llmc_file_map_t probe;
    llmc_status_t *exists = llmc_file_map_open(path, &probe);
    if (!exists) {
      llmc_file_map_close(&probe);
      llmc_status_free(s);
      s = LLMC_ERROR(LLMC_DATA_LOSS, path,
                     "not a model: expected a model.json file or a Hugging Face model directory");
    } else {
      llmc_status_free(s);
      s = exists;
    }
  }
  if (!s) s = llmc_model_from_json_text(text, len, dir, json_where, out_model);
  free(text);
  free(copy);
  return s;
}
