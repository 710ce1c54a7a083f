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
#include <fnmatch.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend_impl.h"
#include "llmc_tokenizer.h"

#define MAX_REPEAT_DEPTH 8
#define MAX_NODES 1000000
/* Ops built plus repeat iterations: nested repeats with empty bodies build
 * nothing but would still iterate count^depth times. */
#define MAX_STEPS 4000000
#define MAX_LOCATION 1024

typedef struct {
  const char *file;
  json_t *params;
  json_t *aliases;
  const char *weight_prefix; /* "" or put before every weight name the graph reads */
  llmc_model_t *m;
  llmc_arena_t *a; /* scratch for names */
  llmc_strmap_t *env; /* name -> newest bound value (names live in a) */
  int n_loops;
  const char *loop_names[MAX_REPEAT_DEPTH];
  int64_t loop_values[MAX_REPEAT_DEPTH];
  int64_t n_nodes, n_steps;
} builder_t;

static llmc_status_t *berr(builder_t *b, const char *loc, llmc_code_t code, const char *fmt,
                           const char *detail) {
  char where[MAX_LOCATION + 512];
  snprintf(where, sizeof where, "%.400s: %.1100s", b->file, loc);
  return LLMC_ERROR(code, where, fmt, detail);
}

/* The newest binding of each name (a rebinding replaces it). */
static llmc_status_t *bind(builder_t *b, const char *name, llmc_value_t *v) {
  if (!b->env && !(b->env = llmc_strmap_create(b->a))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!llmc_strmap_put(b->env, name, v)) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

static llmc_value_t *env_find(builder_t *b, const char *name) {
  return b->env ? llmc_strmap_get(b->env, name) : NULL;
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

/* "$name[var]": element var (a loop variable) of the list param name; a
 * null element leaves the attribute out (*absent). Per-layer values, as the
 * Hugging Face importer writes them for models whose layers differ
 * (Gemma's sliding and global layers). */
static llmc_status_t *indexed_ref(builder_t *b, const char *loc, const char *ref, json_t **out, bool *absent) {
  const char *open = strchr(ref, '['), *close = open ? strchr(open, ']') : NULL;
  if (!open || !close || close[1] || open == ref || close == open + 1 || (size_t)(close - ref) >= 128)
    return berr(b, loc, LLMC_DATA_LOSS, "'$%s' is not a reference: \"$param\" or \"$param[loop]\"", ref);
  char name[128], index[128];
  snprintf(name, sizeof name, "%.*s", (int)(open - ref), ref);
  snprintf(index, sizeof index, "%.*s", (int)(close - open - 1), open + 1);
  bool is_loop;
  int64_t at = 0;
  json_t *list = NULL, *unused = NULL;
  LLMC_RETURN_IF_ERROR(resolve_ref(b, loc, index, &unused, &at, &is_loop));
  char msg[300];
  if (!is_loop) {
    snprintf(msg, sizeof msg, "'%s' in '$%s' is not a loop variable", index, name);
    return berr(b, loc, LLMC_DATA_LOSS, "%s", msg);
  }
  LLMC_RETURN_IF_ERROR(resolve_ref(b, loc, name, &list, &at, &is_loop));
  if (is_loop || !json_is_array(list)) {
    snprintf(msg, sizeof msg, "'$%s' is not a list parameter", name);
    return berr(b, loc, LLMC_DATA_LOSS, "%s", msg);
  }
  if (at < 0 || (size_t)at >= json_array_size(list)) {
    snprintf(msg, sizeof msg, "'$%s' has no element %lld", name, (long long)at);
    return berr(b, loc, LLMC_DATA_LOSS, "%s", msg);
  }
  *out = json_array_get(list, (size_t)at);
  *absent = json_is_null(*out);
  return NULL;
}

static llmc_status_t *json_to_attr(builder_t *b, const char *loc, const char *key, json_t *v,
                                   llmc_attr_t *out, bool *absent) {
  out->name = key;
  *absent = false;
  if (json_is_string(v) && json_string_value(v)[0] == '$' && strchr(json_string_value(v), '[')) {
    LLMC_RETURN_IF_ERROR(indexed_ref(b, loc, json_string_value(v) + 1, &v, absent));
    if (*absent) return NULL;
  } else if (json_is_string(v) && json_string_value(v)[0] == '$') {
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
  } else if (json_is_array(v) && json_array_size(v) <= LLMC_MAX_ATTR_FLOATS) {
    size_t n = json_array_size(v);
    double *fs = llmc_arena_alloc(b->a, sizeof(double) * (n ? n : 1));
    if (!fs) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    for (size_t k = 0; k < n; k++) {
      if (!json_is_number(json_array_get(v, k)))
        return berr(b, loc, LLMC_DATA_LOSS, "attribute '%s' must be a list of numbers", key);
      fs[k] = json_number_value(json_array_get(v, k));
    }
    out->kind = LLMC_ATTR_FLOATS;
    out->fs = fs;
    out->i = (int64_t)n;
  } else {
    return berr(b, loc, LLMC_DATA_LOSS, "attribute '%s' must be a number, boolean or string", key);
  }
  return NULL;
}

static llmc_status_t *weight_value(builder_t *b, const char *loc, const char *name,
                                   llmc_value_t **out) {
  json_t *alias = b->aliases ? json_object_get(b->aliases, name) : NULL;
  if (alias) name = json_string_value(alias);
  if (b->weight_prefix[0] && !(name = llmc_arena_printf(b->a, "%s%s", b->weight_prefix, name)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
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
  if (++b->n_steps > MAX_STEPS)
    return berr(b, loc, LLMC_DATA_LOSS, "%s", "repeat blocks expand to more than 4000000 iterations and ops");

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
    bool absent;
    LLMC_RETURN_IF_ERROR(json_to_attr(b, loc, key, v, &attrs[n_attrs], &absent));
    if (!absent) n_attrs++;
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
    if (++b->n_steps > MAX_STEPS) {
      s = berr(b, loc, LLMC_DATA_LOSS, "%s", "repeat blocks expand to more than 4000000 iterations and ops");
      break;
    }
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

/* "checks": {"PARAM": ["TENSOR", DIM], ...}: each param must equal that
 * dimension of that tensor (after weight_aliases). A config's vocab_size,
 * hidden_size or intermediate_size that disagrees with the checkpoint is a
 * wrong config, and the graph (which takes shapes from the tensors) would
 * otherwise ignore it. */
static llmc_status_t *check_params(builder_t *b, json_t *checks) {
  if (!checks) return NULL;
  if (!json_is_object(checks))
    return berr(b, "checks", LLMC_DATA_LOSS, "%s", "\"checks\" must map params to [tensor, dimension]");
  const char *param;
  json_t *c;
  json_object_foreach(checks, param, c) {
    const char *tensor = json_string_value(json_array_get(c, 0));
    json_t *dim_j = json_array_get(c, 1);
    if (!json_is_array(c) || json_array_size(c) != 2 || !tensor || !json_is_integer(dim_j))
      return berr(b, "checks", LLMC_DATA_LOSS, "check '%s' must be [tensor name, dimension]", param);
    json_t *value = b->params ? json_object_get(b->params, param) : NULL;
    if (!value) continue; /* a param the model does not set has nothing to disagree with */
    json_t *alias = b->aliases ? json_object_get(b->aliases, tensor) : NULL;
    if (alias) tensor = json_string_value(alias);
    if (b->weight_prefix[0] && !(tensor = llmc_arena_printf(b->a, "%s%s", b->weight_prefix, tensor)))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    const llmc_st_tensor_t *t = llmc_weight_set_find(b->m->weights, tensor);
    int64_t dim = json_integer_value(dim_j);
    char msg[1024];
    if (!t || dim < 0 || dim >= t->rank) {
      snprintf(msg, sizeof msg, "check '%s' names '%.300s' dimension %lld, which the weights do not have", param,
               tensor, (long long)dim);
      return berr(b, "checks", LLMC_DATA_LOSS, "%s", msg);
    }
    if (!json_is_integer(value) || json_integer_value(value) != t->shape[dim]) {
      char shown[64] = "a non-integer";
      if (json_is_integer(value)) snprintf(shown, sizeof shown, "%lld", (long long)json_integer_value(value));
      snprintf(msg, sizeof msg, "param '%s' is %s but '%.300s' has %lld in dimension %lld: the config does not "
               "describe these weights", param, shown, tensor, (long long)t->shape[dim], (long long)dim);
      return berr(b, "params", LLMC_DATA_LOSS, "%s", msg);
    }
  }
  return NULL;
}

/* Every tensor of the weight files must be read by the graph or named by a
 * pattern of "ignore_weights" (fnmatch globs): a config whose layer count is
 * below the checkpoint's would otherwise drop layers without a word. */
static llmc_status_t *check_unused_weights(builder_t *b, json_t *ignore) {
  if (ignore && (!json_is_array(ignore) || json_array_size(ignore) > 256))
    return berr(b, "ignore_weights", LLMC_DATA_LOSS, "%s", "\"ignore_weights\" must be a list of patterns");
  for (size_t k = 0; k < json_array_size(ignore); k++)
    if (!json_is_string(json_array_get(ignore, k)))
      return berr(b, "ignore_weights", LLMC_DATA_LOSS, "%s", "patterns must be strings");
  const llmc_ir_graph_t *g = b->m->graph; /* a weight is in it only once an op reads it */
  int n_unused = 0;
  const char *first = NULL;
  for (int i = 0, n = llmc_weight_set_count(b->m->weights); i < n; i++) {
    const char *name = llmc_weight_set_at(b->m->weights, i)->name;
    if (g->weight_names && llmc_strmap_get(g->weight_names, name)) continue;
    bool ignored = false;
    for (size_t k = 0; k < json_array_size(ignore) && !ignored; k++)
      ignored = fnmatch(json_string_value(json_array_get(ignore, k)), name, 0) == 0;
    if (!ignored && !n_unused++) first = name;
  }
  if (n_unused) {
    char msg[600];
    snprintf(msg, sizeof msg, "%d tensor%s of the weight files %s not used by the graph (e.g. '%.300s'): the config "
             "may describe fewer layers than the checkpoint holds (list deliberate ones in \"ignore_weights\")",
             n_unused, n_unused == 1 ? "" : "s", n_unused == 1 ? "is" : "are", first);
    return berr(b, "weights", LLMC_DATA_LOSS, "%s", msg);
  }
  return NULL;
}

static llmc_status_t *build_model(builder_t *b, json_t *root, const char *dir) {
  llmc_model_t *m = b->m;
  const char *key;
  json_t *v;
  static const char *const known[] = {"format", "name", "weights", "tokenizer", "params",
                                      "weight_aliases", "graph", "outputs", "eos_token_id", "tokenizer_config",
                                      "max_context", "description", "checks", "ignore_weights", "weight_prefix",
                                      "quantization"};
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
  /* "weight_prefix": where a checkpoint keeps the language model under a
   * prefix (Gemma 3's multimodal "language_model."), the graph names its
   * weights without it. */
  json_t *prefix = json_object_get(root, "weight_prefix");
  if (prefix && (!json_is_string(prefix) || json_string_length(prefix) > 256 ||
                 strlen(json_string_value(prefix)) != json_string_length(prefix)))
    return berr(b, "weight_prefix", LLMC_DATA_LOSS, "%s", "\"weight_prefix\" must be a string of at most 256 bytes");
  b->weight_prefix = prefix ? json_string_value(prefix) : "";
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
  /* "quantization": {"method": "gptq"|"awq", "group_size": G, "zero_offset":
   * 0|1} (hf.c, from quantization_config): each linear's packed tensors read
   * as its weight. */
  json_t *quant = json_object_get(root, "quantization");
  if (quant) {
    json_t *method = json_object_get(quant, "method"), *group = json_object_get(quant, "group_size"),
           *zoff = json_object_get(quant, "zero_offset");
    /* The group size as hf.c accepts it from quantization_config: -1 (GPTQ:
     * one group per column) or a multiple of 32 up to 2^20 (the packed
     * readers divide by it). */
    bool awq = json_is_string(method) && strcmp(json_string_value(method), "awq") == 0;
    json_int_t g = json_is_integer(group) ? json_integer_value(group) : 0;
    bool group_ok = json_is_integer(group) && (g == -1 ? !awq : g >= 32 && g % 32 == 0 && g <= (1 << 20));
    if (!json_is_object(quant) || !json_is_string(method) ||
        (strcmp(json_string_value(method), "gptq") && strcmp(json_string_value(method), "awq")) || !group_ok ||
        !json_is_integer(zoff) || json_integer_value(zoff) < 0 || json_integer_value(zoff) > 1)
      return berr(b, "quantization", LLMC_DATA_LOSS, "%s",
                  "\"quantization\" must be {\"method\": \"gptq\" or \"awq\", \"group_size\": a multiple of 32 up to "
                  "1048576 (or -1 with gptq), \"zero_offset\": 0 or 1}");
    LLMC_RETURN_IF_ERROR(llmc_weight_set_add_packed_int4(m->weights, json_string_value(method),
                                                         (int64_t)json_integer_value(group),
                                                         (int)json_integer_value(zoff)));
  }

  json_t *tok = json_object_get(root, "tokenizer");
  if (tok) {
    if (!json_is_string(tok)) return berr(b, "tokenizer", LLMC_DATA_LOSS, "%s", "must be a file name");
    const char *tok_path;
    llmc_status_t *ts = llmc_path_confine(b->a, dir, json_string_value(tok), &tok_path);
    if (ts) return llmc_status_wrap(ts, "tokenizer", "the tokenizer file");
    if (!(m->tokenizer_path = strdup(tok_path)))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  json_t *tok_cfg = json_object_get(root, "tokenizer_config");
  if (tok_cfg) {
    if (!json_is_string(tok_cfg)) return berr(b, "tokenizer_config", LLMC_DATA_LOSS, "%s", "must be a file name");
    if (!tok) return berr(b, "tokenizer_config", LLMC_DATA_LOSS, "%s", "a tokenizer_config needs a tokenizer");
    const char *cfg_path;
    llmc_status_t *ts = llmc_path_confine(b->a, dir, json_string_value(tok_cfg), &cfg_path);
    if (ts) return llmc_status_wrap(ts, "tokenizer_config", "the tokenizer_config file");
    if (!(m->tokenizer_config_path = strdup(cfg_path)))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  json_t *ctx = json_object_get(root, "max_context");
  if (!ctx && b->params) ctx = json_object_get(b->params, "max_context");
  if (ctx && !json_is_integer(ctx)) /* 100.5 or "256" is a mistake, not a reason for the default */
    return berr(b, "max_context", LLMC_DATA_LOSS, "%s", "max_context must be an integer");
  m->max_context = ctx ? json_integer_value(ctx) : 2048;
  if (m->max_context <= 0 || m->max_context > (1 << 24))
    return berr(b, "max_context", LLMC_DATA_LOSS, "%s", "max_context must be in 1..16777216");
  /* An id or a list of them (Llama 3.1 stops at three); null is none. */
  json_t *eos = json_object_get(root, "eos_token_id");
  bool eos_ok = !eos || json_is_null(eos) || json_is_integer(eos) ||
                (json_is_array(eos) && json_array_size(eos) <= LLMC_TOKENIZER_MAX_STOP);
  for (size_t i = 0; eos_ok && json_is_array(eos) && i < json_array_size(eos); i++)
    eos_ok = json_is_integer(json_array_get(eos, i));
  if (!eos_ok)
    return berr(b, "eos_token_id", LLMC_DATA_LOSS, "%s",
                "eos_token_id must be an integer token id or a list of at most 32 of them");

  LLMC_RETURN_IF_ERROR(llmc_ir_graph_create(json_string_value(name), &m->graph));
  llmc_value_t *in;
  llmc_shape_t rows = {.rank = 1, .dims = {LLMC_DIM_T}};
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_input(m->graph, "tokens", LLMC_DT_I32, rows, &in));
  LLMC_RETURN_IF_ERROR(llmc_ir_graph_add_input(m->graph, "positions", LLMC_DT_I32, rows, &in));
  /* Params against the tensors first: a wrong config is the cause to name,
   * not the shape error it would cause somewhere in the graph. */
  LLMC_RETURN_IF_ERROR(check_params(b, json_object_get(root, "checks")));
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
  /* Dynamic NTK RoPE scaling is the default rotation below its
   * original_context; llmc compiles it for those positions only. */
  for (int i = 0; i < m->graph->n_values; i++) {
    llmc_rope_t r;
    const llmc_value_t *v = m->graph->values[i];
    if (v->kind == LLMC_VALUE_NODE && llmc_ir_rope_of(v, &r) &&
        (r.scaling == LLMC_ROPE_DYNAMIC || r.scaling == LLMC_ROPE_LONGROPE) && m->max_context > r.original_context)
    {
      char msg[200];
      snprintf(msg, sizeof msg, "max_context %lld is beyond the original_context %lld of %s RoPE scaling",
               (long long)m->max_context, (long long)r.original_context,
               r.scaling == LLMC_ROPE_DYNAMIC ? "dynamic" : "longrope");
      return berr(b, "max_context", LLMC_DATA_LOSS, "%s (positions past it are not supported)", msg);
    }
  }
  llmc_value_t *logits = llmc_ir_graph_find_output(m->graph, "logits");
  if (!logits) return berr(b, "outputs", LLMC_DATA_LOSS, "%s", "the model must have an output named 'logits'");
  if (logits->dtype != LLMC_DT_F32 || logits->shape.rank != 2)
    return berr(b, "outputs", LLMC_DATA_LOSS, "%s", "'logits' must be f32[T,vocab]");
  /* Checked against the vocabulary, not cast: 2^40 must not become 0. */
  int64_t vocab = logits->shape.dims[1];
  size_t n_eos = json_is_array(eos) ? json_array_size(eos) : json_is_integer(eos);
  for (size_t i = 0; i < n_eos; i++) {
    int64_t eos_id = json_integer_value(json_is_array(eos) ? json_array_get(eos, i) : eos);
    if (eos_id < 0 || eos_id >= vocab) {
      char msg[128];
      snprintf(msg, sizeof msg, "eos_token_id %lld is not a token of the %lld-token vocabulary", (long long)eos_id,
               (long long)vocab);
      return berr(b, "eos_token_id", LLMC_DATA_LOSS, "%s", msg);
    }
    m->eos_tokens[m->n_eos_tokens++] = (int32_t)eos_id;
  }
  /* A graph error (which may leave tensors unread) is the better message. */
  LLMC_RETURN_IF_ERROR(llmc_ir_verify(m->graph));
  return check_unused_weights(b, json_object_get(root, "ignore_weights"));
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
  builder_t b = {.file = where, .weight_prefix = ""};
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
  llmc_arena_destroy(b.a);
  json_decref(root);
  if (s) {
    llmc_model_destroy(b.m);
    return s;
  }
  *out_model = b.m;
  return NULL;
}

llmc_dtype_t llmc_model_checkpoint_dtype(const llmc_model_t *m) {
  const llmc_ir_graph_t *g = m->graph;
  llmc_dtype_t seen = LLMC_DT_F32;
  int n = 0;
  for (int i = 0; i < g->n_values; i++) {
    const llmc_value_t *v = g->values[i];
    llmc_weight_view_t w;
    if (v->kind != LLMC_VALUE_WEIGHT || !llmc_weight_set_lookup(m->weights, v->name, &w)) continue;
    /* Vectors (norms, biases) are small and stay f32 whatever they are
     * stored as; GGUF stores them f32 next to 16-bit or quantized matrices. */
    if (w.shape.rank < 2) continue;
    /* A block-quantized (GGUF) matrix is dequantized on import: f16 holds
     * its values to within 2^-11 relative, far inside its quantization step. */
    if (w.source) w.dtype = LLMC_DT_F16;
    if (w.dtype != LLMC_DT_F16 && w.dtype != LLMC_DT_BF16) return LLMC_DT_F32;
    if (n++ && w.dtype != seen) return LLMC_DT_F32;
    seen = w.dtype;
  }
  return n ? seen : LLMC_DT_F32;
}

void llmc_model_destroy(llmc_model_t *m) {
  if (!m) return;
  llmc_ir_graph_destroy(m->graph);
  llmc_weight_set_close(m->weights);
  free(m->tokenizer_path);
  free(m->tokenizer_config_path);
  free(m->tokenizer_text);
  free(m->tokenizer_config_text);
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
  bool gguf_tokenizer = false; /* a GGUF carrying its tokenizer */
  const char *dir = ".";
  size_t n = strlen(path);
  if (n >= 5 && strcmp(path + n - 5, ".gguf") == 0) {
    dir = dirname(copy);
    snprintf(json_where, sizeof json_where, "%s", path);
    s = llmc_gguf_model_json(path, &text, &gguf_tokenizer);
    if (!s) len = strlen(text);
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
  if (!s && gguf_tokenizer && !((*out_model)->tokenizer_path = strdup(path))) {
    llmc_model_destroy(*out_model);
    *out_model = NULL;
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  free(text);
  free(copy);
  return s;
}

static bool is_gguf(const char *path) {
  size_t n = strlen(path);
  return n >= 5 && strcmp(path + n - 5, ".gguf") == 0;
}

/* A GGUF's tokenizer as tokenizer.json and tokenizer_config.json text. */
static llmc_status_t *gguf_tokenizer_text(const char *path, char **out_json, char **out_config) {
  llmc_gguf_t *g;
  LLMC_RETURN_IF_ERROR(llmc_gguf_open(path, &g));
  llmc_status_t *s = llmc_gguf_tokenizer_json(g, path, out_json, out_config);
  llmc_gguf_close(g);
  return s;
}

llmc_status_t *llmc_model_import_json(const char *path, char **out_json) {
  bool has_tokenizer;
  if (is_gguf(path)) return llmc_gguf_model_json(path, out_json, &has_tokenizer);
  return llmc_hf_config_to_model_json(path, out_json);
}

llmc_status_t *llmc_model_tokenizer(const llmc_model_t *m, llmc_tokenizer_t **out) {
  *out = NULL;
  if (!m->tokenizer_path) return LLMC_ERROR(LLMC_NOT_FOUND, m->source, "the model has no tokenizer");
  if (!is_gguf(m->tokenizer_path) || m->tokenizer_text) {
    if (m->tokenizer_text)
      return llmc_tokenizer_load_text(m->tokenizer_text, strlen(m->tokenizer_text), m->tokenizer_config_text,
                                      m->tokenizer_config_text ? strlen(m->tokenizer_config_text) : 0,
                                      m->tokenizer_path, out);
    return llmc_tokenizer_load_files(m->tokenizer_path, m->tokenizer_config_path, NULL, out);
  }
  char *json = NULL, *config = NULL;
  llmc_status_t *s = gguf_tokenizer_text(m->tokenizer_path, &json, &config);
  if (!s)
    s = llmc_tokenizer_load_text(json, strlen(json), config, config ? strlen(config) : 0, m->tokenizer_path, out);
  free(json);
  free(config);
  return s;
}

void llmc_model_drop_tokenizer(llmc_model_t *m) {
  free(m->tokenizer_path);
  free(m->tokenizer_config_path);
  free(m->tokenizer_text);
  free(m->tokenizer_config_text);
  m->tokenizer_path = m->tokenizer_config_path = m->tokenizer_text = m->tokenizer_config_text = NULL;
}

llmc_status_t *llmc_model_check_tokenizer(llmc_model_t *m) {
  if (!m->tokenizer_path) {
    llmc_model_drop_tokenizer(m); /* --no-tokenizer: nothing to configure */
    return NULL;
  }
  /* A GGUF's tokenizer is converted once, here: the artifact stores the text. */
  if (is_gguf(m->tokenizer_path) && !m->tokenizer_text) {
    llmc_status_t *s = gguf_tokenizer_text(m->tokenizer_path, &m->tokenizer_text, &m->tokenizer_config_text);
    if (s)
      return llmc_status_wrap(s, m->tokenizer_path,
                              "the tokenizer cannot be used (compile with --no-tokenizer to leave it out; "
                              "`llmc run --prompt-ids` then works without one)");
  }
  llmc_tokenizer_t *t;
  llmc_status_t *s = llmc_model_tokenizer(m, &t);
  if (s)
    return llmc_status_wrap(s, m->tokenizer_path,
                            "the tokenizer cannot be used (compile with --no-tokenizer to leave it out; "
                            "`llmc run --prompt-ids` then works without one)");
  const llmc_value_t *logits = llmc_ir_graph_find_output(m->graph, "logits");
  int64_t vocab = logits ? logits->shape.dims[1] : 0, n = llmc_tokenizer_vocab_size(t);
  if (m->n_eos_tokens == 0) { /* ids below n: checked by the tokenizer, and n <= vocab below */
    const int32_t *stop;
    m->n_eos_tokens = llmc_tokenizer_stop_ids(t, &stop);
    memcpy(m->eos_tokens, stop, (size_t)m->n_eos_tokens * sizeof *stop);
  }
  llmc_tokenizer_destroy(t);
  if (n > vocab)
    return LLMC_ERROR(LLMC_DATA_LOSS, m->tokenizer_path,
                      "the tokenizer has ids up to %lld but the model's vocabulary has %lld tokens",
                      (long long)n - 1, (long long)vocab);
  return NULL;
}
