/* hf.c: the Hugging Face importer. config.json plus an architecture
 * description from frontend/arch/ (one JSON file per family) become model.json text, which then
 * goes through the same reader as a hand-written model.json. Supporting a new
 * family means adding a description (its config → params mapping, its graph,
 * the config features it cannot honour), not code. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "frontend_impl.h"

/* Defined in the generated arch_embedded.c. */
extern const llmc_embedded_file_t llmc_arch_files[];
extern const int llmc_arch_files_count;

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds the description whose "architectures" lists arch. */
static llmc_status_t *find_arch(const char *arch, const char *where, json_t **out) {
  *out = NULL;
  llmc_buf_t known = {0};
  for (int i = 0; i < llmc_arch_files_count; i++) {
    json_error_t err;
    json_t *d = json_loadb((const char *)llmc_arch_files[i].data, llmc_arch_files[i].len,
                           JSON_REJECT_DUPLICATES, &err);
    if (!d) {
      llmc_buf_free(&known);
      return LLMC_ERROR(LLMC_INTERNAL, llmc_arch_files[i].name, "%d: %s", err.line, err.text);
    }
    size_t k;
    json_t *a;
    json_array_foreach(json_object_get(d, "architectures"), k, a) {
      if (strcmp(json_string_value(a), arch) == 0) {
        *out = d;
        llmc_buf_free(&known);
        return NULL;
      }
      llmc_buf_printf(&known, "%s%s", known.len ? ", " : "", json_string_value(a));
    }
    json_decref(d);
  }
  llmc_status_t *s = LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                                "architecture '%s' is not supported (supported: %s)", arch,
                                known.data ? known.data : "none");
  llmc_buf_free(&known);
  return s;
}

/* A description with "extends": ARCH is ARCH's description with this one's
 * keys over it (a multimodal wrapper of a text model: its config section,
 * weight prefix and extra ignored weights). */
static llmc_status_t *extend_desc(json_t **desc, const char *where) {
  const char *base_arch = json_string_value(json_object_get(*desc, "extends"));
  if (!base_arch) return NULL;
  json_t *base = NULL;
  LLMC_RETURN_IF_ERROR(find_arch(base_arch, where, &base));
  json_object_del(*desc, "extends");
  json_object_update(base, *desc);
  json_decref(*desc);
  *desc = base;
  return NULL;
}

/* "config_section": KEY: the params come from config[KEY] (Gemma 3's
 * text_config), with the top level's keys it lacks (tie_word_embeddings,
 * eos_token_id, torch_dtype). *config is replaced by the merged object. */
static llmc_status_t *config_section(json_t *desc, json_t **config, const char *where) {
  const char *key = json_string_value(json_object_get(desc, "config_section"));
  if (!key) return NULL;
  json_t *section = json_object_get(*config, key);
  if (!json_is_object(section)) return LLMC_ERROR(LLMC_DATA_LOSS, where, "config has no \"%s\" object", key);
  json_t *merged = json_deep_copy(section);
  if (!merged) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  const char *k;
  json_t *v;
  json_object_foreach(*config, k, v) {
    if (strcmp(k, key) && !json_object_get(merged, k)) json_object_set(merged, k, v);
  }
  json_decref(*config);
  *config = merged;
  return NULL;
}

/* One alternative of a param mapping: a config key, "a/b" (integer quotient
 * of two keys), {"key": K, "null": V} (K, or V where config gives K as null:
 * Mistral's sliding_window, whose null means none and whose absence
 * transformers' default), or a literal default. Returns NULL (no error) when
 * the key is absent so the next alternative is tried. */
static json_t *eval_alternative(json_t *config, json_t *alt) {
  if (json_is_object(alt)) {
    json_t *v = json_object_get(config, json_string_value(json_object_get(alt, "key")));
    if (!v || (json_is_null(v) && !json_object_get(alt, "null"))) return NULL;
    if (json_is_null(v)) return json_incref(json_object_get(alt, "null"));
    /* {"key": K, "pow": p}: K^p (Gemma: sqrt(hidden_size), query_pre_attn_scalar^-0.5). */
    json_t *p = json_object_get(alt, "pow");
    if (p && json_is_number(v) && json_number_value(v) > 0) return json_real(pow(json_number_value(v), json_number_value(p)));
    return json_incref(v);
  }
  if (!json_is_string(alt)) return json_incref(alt);
  const char *key = json_string_value(alt);
  const char *slash = strchr(key, '/');
  if (!slash) {
    json_t *v = json_object_get(config, key);
    return (v && !json_is_null(v)) ? json_incref(v) : NULL;
  }
  char left[128];
  snprintf(left, sizeof left, "%.*s", (int)(slash - key), key);
  json_t *a = json_object_get(config, left), *b = json_object_get(config, slash + 1);
  if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(b) <= 0) return NULL;
  return json_integer(json_integer_value(a) / json_integer_value(b));
}

/* The value of the first of alts that config gives (a new reference), or NULL. */
static json_t *first_alternative(json_t *config, json_t *alts) {
  size_t k;
  json_t *alt, *v;
  json_array_foreach(alts, k, alt) {
    if ((v = eval_alternative(config, alt))) return v;
  }
  return NULL;
}

/* Per-layer params, for families whose layers differ (Gemma's sliding and
 * global layers). The description's "layer_types" says which layer is which:
 * config.layer_types when given (each "sliding_attention" or
 * "full_attention"), else layer i slides unless i + 1 is a multiple of the
 * period (its alternatives, like a param's: Gemma 2 alternates, period 2;
 * Gemma 3 has sliding_window_pattern, 6), or, with "from_layer", from that
 * layer on when the config key "enabled_by" is true (Qwen2). "per_layer" then maps a param
 * name to its value per type, a number or "$param"; the param becomes a
 * list, read in the graph as "$name[i]". */
static llmc_status_t *layer_params(json_t *desc, json_t *config, json_t *params, const char *where,
                                   json_t **out_types) {
  *out_types = NULL;
  json_t *rule = json_object_get(desc, "layer_types");
  if (!rule) return NULL;
  json_int_t n = json_integer_value(json_object_get(params, "n_layers"));
  json_t *given = json_object_get(config, "layer_types"), *types = json_array();
  if (given && !json_is_null(given)) {
    if (!json_is_array(given) || (json_int_t)json_array_size(given) != n) {
      json_decref(types);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"layer_types\" must list one type per layer (%lld)", (long long)n);
    }
    size_t i;
    json_t *t;
    json_array_foreach(given, i, t) {
      const char *s = json_string_value(t);
      if (!s || (strcmp(s, "sliding_attention") && strcmp(s, "full_attention"))) {
        json_decref(types);
        return LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                          "layer_types[%zu] must be \"sliding_attention\" or \"full_attention\"", i);
      }
      json_array_append(types, t);
    }
  } else if (json_object_get(rule, "from_layer")) {
    /* Qwen2: layer i slides when config.use_sliding_window and i >=
     * max_window_layers (the "from_layer" alternatives). */
    json_t *from = first_alternative(config, json_object_get(rule, "from_layer"));
    json_int_t first = json_integer_value(from);
    json_decref(from);
    bool on = json_is_true(json_object_get(config, json_string_value(json_object_get(rule, "enabled_by"))));
    for (json_int_t i = 0; i < n; i++)
      json_array_append_new(types, json_string(on && i >= first ? "sliding_attention" : "full_attention"));
  } else {
    json_t *period = first_alternative(config, json_object_get(rule, "period"));
    json_int_t p = json_integer_value(period);
    json_decref(period);
    if (p < 1 || p > 1000000) {
      json_decref(types);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "the sliding-window layer period must be a positive integer");
    }
    for (json_int_t i = 0; i < n; i++)
      json_array_append_new(types, json_string((i + 1) % p ? "sliding_attention" : "full_attention"));
  }
  const char *name;
  json_t *by_type;
  json_object_foreach(json_object_get(desc, "per_layer"), name, by_type) {
    json_t *list = json_array();
    for (json_int_t i = 0; i < n; i++) {
      json_t *v = json_object_get(by_type, json_string_value(json_array_get(types, (size_t)i)));
      if (json_is_string(v) && json_string_value(v)[0] == '$') v = json_object_get(params, json_string_value(v) + 1);
      json_array_append(list, v ? v : json_null());
    }
    json_object_set_new(params, name, list);
  }
  *out_types = types;
  return NULL;
}

/* The config key a param mapping names first, for messages. */
static const char *first_key(json_t *alts) {
  json_t *a = json_array_get(alts, 0);
  const char *k = json_string_value(json_is_object(a) ? json_object_get(a, "key") : a);
  return k ? k : "?";
}

static llmc_status_t *map_params(json_t *desc, json_t *config, const char *where, json_t *params) {
  const char *param;
  json_t *alts;
  json_object_foreach(json_object_get(desc, "params"), param, alts) {
    json_t *value = NULL;
    size_t i;
    json_t *alt;
    json_array_foreach(alts, i, alt) {
      if ((value = eval_alternative(config, alt))) break;
    }
    if (!value)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "config has no \"%s\" (needed for %s)",
                        first_key(alts), param);
    if (json_is_string(value) && !strcmp(json_string_value(value), "refuse")) { /* {"key": K, "null": "refuse"} */
      json_decref(value);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"%s\" is null; the model needs a value", first_key(alts));
    }
    if (!json_is_number(value)) {
      json_decref(value);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"%s\" must be a number",
                        first_key(alts));
    }
    /* Every config number must be positive; the description's own values (a
     * literal default, a null's stand-in) may be 0: no window, no cap. */
    bool from_description = !json_is_string(alt) && !(json_is_object(alt) && !json_is_null(json_object_get(config, first_key(alts))));
    if (json_is_integer(value) && json_integer_value(value) <= 0 && !from_description) {
      json_decref(value);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"%s\" must be positive",
                        first_key(alts));
    }
    json_object_set_new(params, param, value);
  }
  return NULL;
}

/* The description's "derived" params, in order: [name, a, op, b] with a and
 * b a "$param" or a number and op one of + - * (Phi-3's split points of the
 * fused qkv_proj: n_heads * head_dim, ...). Integers stay integers. */
static llmc_status_t *derive_params(json_t *desc, json_t *params, const char *where) {
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(desc, "derived"), i, d) {
    json_t *v[2];
    for (int k = 0; k < 2; k++) {
      v[k] = json_array_get(d, k == 0 ? 1 : 3);
      if (json_is_string(v[k]) && json_string_value(v[k])[0] == '$')
        v[k] = json_object_get(params, json_string_value(v[k]) + 1);
    }
    const char *name = json_string_value(json_array_get(d, 0)), *op = json_string_value(json_array_get(d, 2));
    if (!name || !op || !json_is_integer(v[0]) || !json_is_integer(v[1]))
      return LLMC_ERROR(LLMC_INTERNAL, where, "description: derived[%zu] is not [name, a, op, b] of integers", i);
    json_int_t a = json_integer_value(v[0]), b = json_integer_value(v[1]), r;
    bool overflow = !strcmp(op, "+") ? __builtin_add_overflow(a, b, &r)
                    : !strcmp(op, "-") ? __builtin_sub_overflow(a, b, &r)
                                       : __builtin_mul_overflow(a, b, &r);
    if (overflow || r <= 0 || r > ((json_int_t)1 << 40))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "the config's sizes give %s out of range", name);
    json_object_set_new(params, name, json_integer(r));
  }
  return NULL;
}

static llmc_status_t *check_unsupported(json_t *desc, json_t *config, const char *where) {
  const char *key;
  json_t *what;
  json_object_foreach(json_object_get(desc, "unsupported"), key, what) {
    json_t *v = json_object_get(config, key);
    if (!v || json_is_null(v) || json_is_false(v)) continue;
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "\"%s\" is set: %s is not supported yet", key,
                      json_string_value(what));
  }
  return NULL;
}

/* A positive finite number member of rope_scaling, or an error naming it. */
static llmc_status_t *scaling_number(json_t *rs, const char *key, const char *where, bool required, double *out) {
  json_t *v = json_object_get(rs, key);
  if (!v || json_is_null(v)) {
    if (required) return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\" needs \"%s\"", key);
    return NULL;
  }
  /* transformers reads the optional ones with `or`: 0 means the default. */
  double x = json_is_number(v) ? json_number_value(v) : -1;
  if (!(required ? x > 0 : x >= 0) || x > 1e9)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\": \"%s\" must be a positive number", key);
  *out = json_number_value(v);
  return NULL;
}

/* Phi-3's longrope (transformers' _compute_longrope_parameters): pair i's
 * frequency divided by short_factor[i] below the original context
 * (long_factor past it, which llmc does not compile: the model's context
 * becomes the original one), cos and sin scaled by attention_factor, else
 * sqrt(1 + ln(s) / ln(original)) with s = max_position_embeddings /
 * original when s > 1. The original context is the description's
 * original_context param, else config's original_max_position_embeddings,
 * else max_position_embeddings. */
static llmc_status_t *longrope_attrs(json_t *config, json_t *rs, json_t *params, const char *where, json_t **out) {
  /* The description's "original_context" param (Phi3Config defaults it to
   * 4096), else config's key. */
  json_t *shorts = json_object_get(rs, "short_factor"), *orig = json_object_get(params, "original_context");
  if (!orig) orig = json_object_get(config, "original_max_position_embeddings");
  if (!json_is_array(shorts) || json_array_size(shorts) == 0 || json_array_size(shorts) > LLMC_MAX_ATTR_FLOATS)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\": longrope needs a \"short_factor\" list");
  json_int_t max_pos = json_integer_value(json_object_get(params, "max_context"));
  json_int_t original = max_pos;
  if (orig && !json_is_null(orig)) {
    if (!json_is_integer(orig) || json_integer_value(orig) <= 0)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"original_max_position_embeddings\" must be a positive integer");
    original = json_integer_value(orig);
  }
  double scale = 0, factor = (double)max_pos / (double)original;
  llmc_status_t *s = scaling_number(rs, "attention_factor", where, false, &scale);
  if (s) return s;
  if (scale == 0) scale = factor <= 1 ? 1.0 : sqrt(1 + log(factor) / log((double)original));
  json_t *a = json_object(), *fs = json_array();
  size_t i;
  json_t *f;
  json_array_foreach(shorts, i, f) {
    if (!json_is_number(f) || !(json_number_value(f) > 0)) {
      json_decref(a);
      json_decref(fs);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\": short_factor[%zu] must be a positive number", i);
    }
    json_array_append_new(fs, json_real(json_number_value(f)));
  }
  json_object_set_new(a, "scaling", json_string("longrope"));
  json_object_set_new(a, "ext_factors", fs);
  json_object_set_new(a, "original_context", json_integer(original));
  json_object_set_new(a, "attention_factor", json_real(scale));
  /* Compiled for the original context, where the short factors hold. */
  if (original < max_pos) json_object_set_new(params, "max_context", json_integer(original));
  *out = a;
  return NULL;
}

/* config.json's rope_scaling as attributes for every rope op of the graph
 * (the names llmc_ir_rope_read reads), as transformers interprets it
 * (modeling_rope_utils.py, ROPE_INIT_FUNCTIONS): *out stays NULL for none or
 * "default". dynamic (NTK) changes nothing below max_position_embeddings,
 * the longest context the model is compiled for. */
static llmc_status_t *rope_scaling_attrs(json_t *desc, json_t *config, json_t *params, const char *where,
                                         json_t **out) {
  *out = NULL;
  /* RoPE over the first int(head_dim * partial_rotary_factor) values of
   * each head (Phi-4-mini: 0.75), for the families whose description says
   * their attention passes the rest through ("partial_rotary": Phi-3). */
  json_t *prf = json_object_get(config, "partial_rotary_factor");
  json_int_t rotary_dim = 0, head_dim = json_integer_value(json_object_get(params, "head_dim"));
  if (prf && !json_is_null(prf) && !(json_is_number(prf) && json_number_value(prf) == 1.0)) {
    if (!json_is_true(json_object_get(desc, "partial_rotary")))
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "\"partial_rotary_factor\" other than 1 is not supported for this family");
    double f = json_is_number(prf) ? json_number_value(prf) : -1;
    rotary_dim = (json_int_t)((double)head_dim * f);
    if (!(f > 0 && f < 1) || rotary_dim < 2 || rotary_dim % 2)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"partial_rotary_factor\" must give an even rotary size in 2..head_dim");
  }
  json_t *rs = json_object_get(config, "rope_scaling");
  if (!rs || json_is_null(rs)) {
    if (rotary_dim) *out = json_pack("{s:I}", "rotary_dim", rotary_dim);
    return NULL;
  }
  if (!json_is_object(rs)) return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\" must be an object or null");
  json_t *type = json_object_get(rs, "rope_type");
  if (!type || json_is_null(type)) type = json_object_get(rs, "type");
  const char *t = json_string_value(type);
  if (!t) return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\" has no \"rope_type\" string");
  if (strcmp(t, "default") == 0) {
    if (rotary_dim) *out = json_pack("{s:I}", "rotary_dim", rotary_dim);
    return NULL;
  }
  if (strcmp(t, "longrope") == 0 || strcmp(t, "su") == 0) {
    LLMC_RETURN_IF_ERROR(longrope_attrs(config, rs, params, where, out));
    if (rotary_dim) json_object_set_new(*out, "rotary_dim", json_integer(rotary_dim));
    return NULL;
  }
  if (strcmp(t, "linear") && strcmp(t, "dynamic") && strcmp(t, "llama3") && strcmp(t, "yarn")) {
    char *shown = llmc_printable_dup(t);
    llmc_status_t *s = LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                                  "RoPE scaling \"%s\" is not supported (supported: linear, dynamic, llama3, yarn, longrope)",
                                  shown ? shown : "?");
    free(shown);
    return s;
  }
  double factor = 0, low = 0, high = 0, beta_fast = 0, beta_slow = 0, attention_factor = 0, mscale = 0,
         mscale_all = 0, original = 0;
  json_int_t max_pos = json_integer_value(json_object_get(params, "max_context"));
  llmc_status_t *s = scaling_number(rs, "factor", where, true, &factor);
  if (!s) s = scaling_number(rs, "original_max_position_embeddings", where, strcmp(t, "llama3") == 0, &original);
  if (!s && original != 0 && original != (double)(json_int_t)original)
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\": \"original_max_position_embeddings\" must be an integer");
  if (s) return s;
  json_t *a = json_object();
  json_object_set_new(a, "scaling", json_string(t));
  if (strcmp(t, "llama3") == 0) {
    if ((s = scaling_number(rs, "low_freq_factor", where, true, &low)) ||
        (s = scaling_number(rs, "high_freq_factor", where, true, &high)))
      goto fail;
    json_object_set_new(a, "low_freq_factor", json_real(low));
    json_object_set_new(a, "high_freq_factor", json_real(high));
    json_object_set_new(a, "original_context", json_integer((json_int_t)original));
  } else if (strcmp(t, "dynamic") == 0) {
    /* transformers' dynamic NTK compares with max_position_embeddings. */
    json_object_set_new(a, "original_context", json_integer(max_pos));
  } else if (strcmp(t, "yarn") == 0) {
    if ((s = scaling_number(rs, "beta_fast", where, false, &beta_fast)) ||
        (s = scaling_number(rs, "beta_slow", where, false, &beta_slow)) ||
        (s = scaling_number(rs, "attention_factor", where, false, &attention_factor)) ||
        (s = scaling_number(rs, "mscale", where, false, &mscale)) ||
        (s = scaling_number(rs, "mscale_all_dim", where, false, &mscale_all)))
      goto fail;
    json_t *truncate = json_object_get(rs, "truncate");
    if (truncate && !json_is_null(truncate) && !json_is_boolean(truncate)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "\"rope_scaling\": \"truncate\" must be true or false");
      goto fail;
    }
    /* The explicit factor, as transformers >= 4.56 takes it (4.50-4.55
     * replaced it by max_position_embeddings / original when original was
     * given); original_max_position_embeddings only places the ramp. */
    if (original == 0) original = (double)max_pos;
    json_object_set_new(a, "original_context", json_integer((json_int_t)original));
    if (beta_fast != 0) json_object_set_new(a, "beta_fast", json_real(beta_fast));
    if (beta_slow != 0) json_object_set_new(a, "beta_slow", json_real(beta_slow));
    if (json_is_false(truncate)) json_object_set_new(a, "truncate", json_false());
    /* get_mscale(factor, m) = 0.1 m ln(factor) + 1 (1 for factor <= 1). */
    if (attention_factor == 0 && mscale != 0 && mscale_all != 0) {
      double num = factor <= 1 ? 1 : 0.1 * mscale * log(factor) + 1, den = factor <= 1 ? 1 : 0.1 * mscale_all * log(factor) + 1;
      attention_factor = num / den;
    }
    if (attention_factor != 0) json_object_set_new(a, "attention_factor", json_real(attention_factor));
  }
  json_object_set_new(a, "factor", json_real(factor));
  if (rotary_dim) json_object_set_new(a, "rotary_dim", json_integer(rotary_dim));
  *out = a;
  return NULL;
fail:
  json_decref(a);
  return s;
}

/* Adds attrs to every rope op of a description's graph, repeat bodies too. */
static void add_rope_attrs(json_t *ops, json_t *attrs) {
  size_t i;
  json_t *op;
  json_array_foreach(ops, i, op) {
    if (json_object_get(op, "body")) add_rope_attrs(json_object_get(op, "body"), attrs);
    const char *name = json_string_value(json_object_get(op, "op"));
    if (!name || strcmp(name, "rope")) continue;
    json_t *existing = json_object_get(op, "attrs");
    if (!existing) json_object_set_new(op, "attrs", existing = json_object());
    json_object_update(existing, attrs);
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The weight files of an HF directory: the shard index if present, else
 * model.safetensors, else every *.safetensors (sorted, for determinism). */
static llmc_status_t *list_weights(const char *dir, json_t *out_list) {
  llmc_arena_t *a = llmc_arena_create();
  if (!a) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_status_t *s = NULL;
  if (file_exists(llmc_path_join(a, dir, "model.safetensors.index.json"))) {
    json_array_append_new(out_list, json_string("model.safetensors.index.json"));
  } else if (file_exists(llmc_path_join(a, dir, "model.safetensors"))) {
    json_array_append_new(out_list, json_string("model.safetensors"));
  } else {
    DIR *d = opendir(dir);
    char *names[4096];
    int n = 0;
    bool pickle = false;
    for (struct dirent *e; d && (e = readdir(d)) && n < 4096;) {
      size_t len = strlen(e->d_name);
      if (len > 12 && strcmp(e->d_name + len - 12, ".safetensors") == 0)
        names[n++] = llmc_arena_strdup(a, e->d_name);
      if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) pickle = true;
    }
    if (d) closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) json_array_append_new(out_list, json_string(names[i]));
    if (n == 0)
      s = pickle ? LLMC_ERROR(LLMC_UNIMPLEMENTED, dir,
                              "only pickle (.bin) weights found; they are never loaded (unpickling "
                              "runs arbitrary code): convert them to safetensors first")
                 : LLMC_ERROR(LLMC_NOT_FOUND, dir, "no *.safetensors weights in the directory");
  }
  llmc_arena_destroy(a);
  return s;
}

/* dir/generation_config.json as a JSON object, or *out NULL when there is
 * none; read like every input (confined, a regular file, bounded). */
static llmc_status_t *read_generation_config(const char *dir, json_t **out) {
  *out = NULL;
  llmc_arena_t *a = llmc_arena_create();
  if (!a) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  const char *path = NULL;
  char *text = NULL;
  size_t len = 0;
  llmc_status_t *s = llmc_path_confine(a, dir, "generation_config.json", &path);
  if (s && llmc_status_code(s) == LLMC_NOT_FOUND) {
    llmc_status_free(s);
    llmc_arena_destroy(a);
    return NULL;
  }
  if (!s) s = llmc_file_read_text(path, 1u << 20, &text, &len);
  if (!s) {
    json_error_t err;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (!*out || !json_is_object(*out)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, path, "%s", *out ? "not a JSON object" : err.text);
      json_decref(*out);
      *out = NULL;
    }
  }
  llmc_arena_destroy(a);
  return s;
}

llmc_status_t *llmc_hf_config_to_model_json(const char *dir, char **out_json) {
  *out_json = NULL;
  char where[4096];
  snprintf(where, sizeof where, "%s/config.json", dir);
  char *text;
  size_t len;
  llmc_arena_t *pa = llmc_arena_create();
  const char *config_path = NULL;
  llmc_status_t *cs = pa ? llmc_path_confine(pa, dir, "config.json", &config_path)
                         : LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!cs) cs = llmc_file_read_text(config_path, 16u << 20, &text, &len);
  llmc_arena_destroy(pa);
  if (cs) return cs;
  json_error_t err;
  json_t *config = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!config || !json_is_object(config)) {
    char loc[4200];
    snprintf(loc, sizeof loc, "%s:%d", where, config ? 1 : err.line);
    json_decref(config);
    return LLMC_ERROR(LLMC_DATA_LOSS, loc, "%s", config ? "config must be a JSON object" : err.text);
  }
  llmc_hf_import_t imp = {.weights = json_array()};
  json_t *gen = NULL;
  llmc_status_t *s = list_weights(dir, imp.weights);
  if (!s) s = read_generation_config(dir, &gen);
  char tok[4200], tok_config[4200];
  snprintf(tok, sizeof tok, "%s/tokenizer.json", dir);
  snprintf(tok_config, sizeof tok_config, "%s/tokenizer_config.json", dir);
  if (file_exists(tok)) {
    imp.tokenizer = "tokenizer.json";
    if (file_exists(tok_config)) imp.tokenizer_config = "tokenizer_config.json";
  }
  const char *base = strrchr(dir, '/');
  imp.name = base && base[1] ? base + 1 : dir;
  imp.generation_config = gen;
  if (!s) s = llmc_hf_model_json(config, where, &imp, out_json);
  else json_decref(config);
  json_decref(gen);
  json_decref(imp.weights);
  return s;
}

/* config.json's "quantization_config" as model.json's "quantization" (what
 * the weight set needs to read the checkpoint's packed tensors:
 * llmc_weight_set_add_packed_int4) and the packed tensors' names in
 * `ignore`. Only what llmc reads without re-quantizing is accepted: GPTQ
 * (4 bits, groups in input order: no act-order) and AWQ (4 bits, GEMM
 * format, zero points), group size a multiple of 32 (GPTQ: or -1, one group
 * a row); anything else is refused by name. */
static llmc_status_t *quantization(json_t *qc, const char *where, json_t *model, json_t *ignore) {
  if (!qc || json_is_null(qc)) return NULL;
  if (!json_is_object(qc)) return LLMC_ERROR(LLMC_DATA_LOSS, where, "\"quantization_config\" must be an object");
  const char *method = json_string_value(json_object_get(qc, "quant_method"));
  if (!method) return LLMC_ERROR(LLMC_DATA_LOSS, where, "quantization_config has no \"quant_method\" string");
  bool awq = strcmp(method, "awq") == 0;
  if (!awq && strcmp(method, "gptq") != 0)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                      "quantization_config.quant_method '%.64s' is not supported yet (GPTQ and AWQ, 4-bit, are)", method);
  const char *name = awq ? "AWQ" : "GPTQ";
  json_t *bits = json_object_get(qc, awq && !json_object_get(qc, "bits") ? "w_bit" : "bits");
  json_t *group = json_object_get(qc, awq && !json_object_get(qc, "group_size") ? "q_group_size" : "group_size");
  if (!json_is_integer(bits) || json_integer_value(bits) != 4)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "%s with %s bits is not supported yet (4 is)", name,
                      json_is_integer(bits) ? "other than 4" : "unstated");
  if (!json_is_integer(group) || (json_integer_value(group) != -1 &&
                                  (json_integer_value(group) < 32 || json_integer_value(group) % 32 ||
                                   json_integer_value(group) > (1 << 20))) ||
      (awq && json_integer_value(group) == -1))
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "%s group_size must be a multiple of 32 for llmc", name);
  int zero_offset = 0;
  if (awq) {
    const char *version = json_string_value(json_object_get(qc, "version"));
    if (version && strcasecmp(version, "gemm") != 0)
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "AWQ version '%.32s' is not supported yet (GEMM is)", version);
    json_t *zp = json_object_get(qc, "zero_point");
    if (zp && !json_is_true(zp))
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "AWQ without zero points is not supported yet");
  } else {
    if (json_is_true(json_object_get(qc, "desc_act")))
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where,
                        "GPTQ with desc_act (act-order: groups out of input order) is not supported yet");
    const char *format = json_string_value(json_object_get(qc, "checkpoint_format"));
    if (format && strcmp(format, "gptq") != 0 && strcmp(format, "gptq_v2") != 0)
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "GPTQ checkpoint_format '%.64s' is not supported", format);
    /* checkpoint_format "gptq" (v1, the default) stores zero points minus one. */
    zero_offset = format && strcmp(format, "gptq_v2") == 0 ? 0 : 1;
  }
  json_object_set_new(model, "quantization", json_pack("{s:s,s:I,s:i}", "method", method, "group_size",
                                                       json_integer_value(group), "zero_offset", zero_offset));
  static const char *const packed[] = {"*.qweight", "*.qzeros", "*.scales", "*.g_idx"};
  for (size_t i = 0; i < sizeof packed / sizeof packed[0]; i++) json_array_append_new(ignore, json_string(packed[i]));
  return NULL;
}

/* config.json (owned: consumed) → model.json text, through the
 * architecture's description. */
llmc_status_t *llmc_hf_model_json(json_t *config, const char *where, const llmc_hf_import_t *imp, char **out_json) {
  *out_json = NULL;
  json_t *desc = NULL, *model = json_object(), *params = json_object(), *weights = json_copy(imp->weights);
  /* (Top-level even where the model's own config is a section of config.json.) */
  json_t *quant_config = json_incref(json_object_get(config, "quantization_config"));
  llmc_status_t *s = NULL;
  json_t *archs = json_object_get(config, "architectures");
  const char *arch = json_string_value(json_array_get(archs, 0));
  if (!arch) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "no \"architectures\" list naming the model class");
    goto done;
  }
  if ((s = find_arch(arch, where, &desc)) || (s = extend_desc(&desc, where)) ||
      (s = config_section(desc, &config, where)) || (s = map_params(desc, config, where, params)) ||
      (s = derive_params(desc, params, where)) || (s = check_unsupported(desc, config, where)))
    goto done;

  json_t *name = json_object_get(config, "_name_or_path");
  json_object_set_new(model, "format", json_string("llmc.model/1"));
  json_object_set_new(model, "name", json_string(json_is_string(name) && json_string_length(name)
                                                      ? json_string_value(name) : imp->name));
  json_object_set_new(model, "weights", weights);
  weights = NULL;
  if (imp->tokenizer) json_object_set_new(model, "tokenizer", json_string(imp->tokenizer));
  if (imp->tokenizer_config) json_object_set_new(model, "tokenizer_config", json_string(imp->tokenizer_config));
  json_object_set(model, "params", params);
  json_t *tie = json_object_get(config, "tie_word_embeddings");
  if (tie && !json_is_boolean(tie) && !json_is_null(tie)) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "\"tie_word_embeddings\" must be true or false");
    goto done;
  }
  /* The family's config default when config.json does not say (Gemma: tied). */
  if (!tie || json_is_null(tie)) tie = json_object_get(desc, "tie_word_embeddings_default");
  /* "weight_prefix": the graph's weight names are under it in the files;
   * the ignore patterns of the graph's weights are prefixed too, those of
   * "ignore_weights_extra" (a vision tower) are whole names. */
  const char *prefix = json_string_value(json_object_get(desc, "weight_prefix"));
  if (prefix) json_object_set_new(model, "weight_prefix", json_string(prefix));
  json_t *ignore = json_array();
  size_t n_ign;
  json_t *pattern;
  json_array_foreach(json_object_get(desc, "ignore_weights"), n_ign, pattern) {
    json_array_append_new(ignore, json_sprintf("%s%s", prefix ? prefix : "", json_string_value(pattern)));
  }
  if (json_is_true(tie)) {
    json_object_set(model, "weight_aliases", json_object_get(desc, "tied_embeddings"));
    /* Tied: a stored copy of the output matrix is not what the model reads. */
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(desc, "tied_embeddings"), key, v)
      json_array_append_new(ignore, json_sprintf("%s%s", prefix ? prefix : "", key));
  }
  json_array_foreach(json_object_get(desc, "ignore_weights_extra"), n_ign, pattern) json_array_append(ignore, pattern);
  if ((s = quantization(quant_config, where, model, ignore))) {
    json_decref(ignore);
    goto done;
  }
  if (json_object_get(desc, "checks")) json_object_set(model, "checks", json_object_get(desc, "checks"));
  json_object_set_new(model, "ignore_weights", ignore);
  /* The stop ids generate() uses: generation_config.json's, else config.json's
   * (an id or a list, checked by the model.json reader). */
  json_t *eos = json_object_get(imp->generation_config, "eos_token_id");
  if (!eos || json_is_null(eos)) eos = json_object_get(config, "eos_token_id");
  if (eos && !json_is_null(eos)) json_object_set(model, "eos_token_id", eos);
  json_t *rope = NULL, *types = NULL;
  if ((s = layer_params(desc, config, params, where, &types)) ||
      (s = rope_scaling_attrs(desc, config, params, where, &rope))) {
    json_decref(types);
    goto done;
  }
  /* "rope_scaling_layers": {"type": T, "loop": VAR}: the scaling applies to
   * layers of type T only (Gemma 3's global layers), through per-layer
   * lists "rope_<attr>_per_layer" (null elsewhere). */
  json_t *only = json_object_get(desc, "rope_scaling_layers");
  if (rope && only && types) {
    const char *type = json_string_value(json_object_get(only, "type")), *loop = json_string_value(json_object_get(only, "loop"));
    json_t *refs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(rope, k, v) {
      char pname[96], ref[128];
      snprintf(pname, sizeof pname, "rope_%s_per_layer", k);
      snprintf(ref, sizeof ref, "$%s[%s]", pname, loop ? loop : "i");
      json_t *list = json_array();
      for (size_t i = 0; i < json_array_size(types); i++)
        json_array_append(list, type && !strcmp(json_string_value(json_array_get(types, i)), type) ? v : json_null());
      json_object_set_new(params, pname, list);
      json_object_set_new(refs, k, json_string(ref));
    }
    json_decref(rope);
    rope = refs;
  }
  json_decref(types);
  if (rope) add_rope_attrs(json_object_get(desc, "graph"), rope);
  json_decref(rope);
  if (imp->rope_attrs) add_rope_attrs(json_object_get(desc, "graph"), imp->rope_attrs);
  json_object_set(model, "graph", json_object_get(desc, "graph"));
  if (!(*out_json = json_dumps(model, JSON_PRESERVE_ORDER | JSON_INDENT(1))))
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
done:
  json_decref(quant_config);
  json_decref(weights);
  json_decref(params);
  json_decref(model);
  json_decref(desc);
  json_decref(config);
  return s;
}
