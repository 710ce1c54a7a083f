/* gguf_model.c: GGUF models through the architecture descriptions.
 *
 * A GGUF file carries what config.json carries, under llama.cpp's names
 * ("llama.block_count", ...), and its tensors under llama.cpp's names
 * ("blk.0.attn_q.weight"). Both are renamed here to Hugging Face's, and the
 * model then goes through frontend/arch/ like a checkpoint directory: one
 * description per family, whichever format the weights come in.
 *
 * One difference is in the weights themselves: llama.cpp's converter
 * permutes the rows of a Llama q and k projection so that the two elements
 * RoPE rotates together are adjacent (its "normal" rope) instead of half a
 * head apart (transformers' rotate_half). The same rows in the same order
 * for q and for k leave every q·k product unchanged, so rather than undo the
 * permutation (a copy of two of every layer's matrices) the graph rotates
 * adjacent pairs: rope style "interleaved". Qwen's GGUFs are not permuted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_impl.h"

typedef struct {
  const char *arch;     /* general.architecture */
  const char *hf_class; /* the description it goes through */
  bool permuted_qk;     /* llama.cpp's converter permuted q and k (rope "normal") */
} gguf_arch_t;

static const gguf_arch_t archs[] = {
    {"llama", "LlamaForCausalLM", true},
    {"qwen2", "Qwen2ForCausalLM", false},
    {"qwen3", "Qwen3ForCausalLM", false},
};

/* llama.cpp's tensor names (llama-arch.cpp's LLM_TENSOR_NAMES) → transformers'. */
static const struct {
  const char *gguf, *hf;
} global_names[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
}, layer_names[] = {
    {"attn_norm", "input_layernorm"},     {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},       {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},  {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"},  {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},        {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

/* The frequency factors of Llama 3.1+'s rope scaling: llama.cpp's converter
 * stores them as a tensor instead of config keys. */
#define ROPE_FREQS "rope_freqs.weight"

/* The Hugging Face name of a GGUF tensor, into buf; false when it has none
 * (it then keeps its GGUF name, which the unused-weight check reports). */
static bool hf_name(const char *name, char *buf, size_t cap) {
  const char *suffix = strrchr(name, '.');
  if (!suffix || (strcmp(suffix, ".weight") && strcmp(suffix, ".bias"))) return false;
  int stem_len = (int)(suffix - name);
  for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++)
    if ((int)strlen(global_names[i].gguf) == stem_len && !strncmp(name, global_names[i].gguf, (size_t)stem_len))
      return snprintf(buf, cap, "%s%s", global_names[i].hf, suffix) < (int)cap;
  if (strncmp(name, "blk.", 4)) return false;
  const char *p = name + 4;
  int layer = 0, digits = 0;
  for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++) layer = layer * 10 + (*p - '0');
  if (!digits || (digits > 1 && name[4] == '0') || *p != '.') return false;
  p++;
  int part_len = (int)(suffix - p);
  for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++)
    if ((int)strlen(layer_names[i].gguf) == part_len && !strncmp(p, layer_names[i].gguf, (size_t)part_len))
      return snprintf(buf, cap, "model.layers.%d.%s%s", layer, layer_names[i].hf, suffix) < (int)cap;
  return false;
}

/* ---- the tensor table ---- */

struct llmc_gguf_weights {
  llmc_gguf_t *file;
  llmc_arena_t *arena;
  llmc_st_tensor_t *tensors; /* sorted by name */
  int n;
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const llmc_st_tensor_t *)a)->name, ((const llmc_st_tensor_t *)b)->name);
}

void llmc_gguf_weights_close(llmc_gguf_weights_t *w) {
  if (!w) return;
  free(w->tensors);
  llmc_arena_destroy(w->arena);
  llmc_gguf_close(w->file);
  free(w);
}

static llmc_status_t *add_tensor(llmc_gguf_weights_t *w, const llmc_gguf_tensor_t *t, const char *path) {
  char name[512];
  llmc_st_tensor_t *out = &w->tensors[w->n];
  const char *stored = hf_name(t->name, name, sizeof name) ? name : t->name;
  if (!(out->name = llmc_arena_strdup(w->arena, stored))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  out->rank = t->n_dims;
  for (int d = 0; d < t->n_dims; d++) out->shape[d] = t->ne[t->n_dims - 1 - d];
  out->numel = t->numel;
  switch (t->type) {
    case LLMC_GGML_F32: out->dtype = LLMC_ST_F32; break;
    case LLMC_GGML_F16: out->dtype = LLMC_ST_F16; break;
    case LLMC_GGML_BF16: out->dtype = LLMC_ST_BF16; break;
    default: {
      if (!llmc_ggml_type_readable(t->type)) {
        return LLMC_ERROR(LLMC_UNIMPLEMENTED, path, "tensor '%s' is %s, which llmc does not read yet", t->name,
                          llmc_ggml_type_name(t->type));
      }
      /* Read as F32 through a decoder, block by block when asked: no
       * dequantized copy of the model is held. */
      uint64_t bytes;
      if (!llmc_checked_mul(t->numel, sizeof(float), &bytes))
        return LLMC_ERROR(LLMC_DATA_LOSS, path, "tensor '%s' is too large", stored);
      out->dtype = LLMC_ST_F32;
      out->source = llmc_ggml_type_name(t->type);
      out->source_data = t->data;
      out->source_bytes = t->nbytes;
      out->data = NULL;
      out->decode = llmc_gguf_tensor_decode;
      out->decode_ctx = t;
      out->nbytes = bytes;
      w->n++;
      return NULL;
    }
  }
  out->data = t->data;
  out->nbytes = t->nbytes;
  w->n++;
  return NULL;
}

llmc_status_t *llmc_gguf_weights_open(const char *path, llmc_gguf_weights_t **out) {
  *out = NULL;
  llmc_gguf_weights_t *w = calloc(1, sizeof *w);
  if (!w || !(w->arena = llmc_arena_create())) {
    free(w);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  llmc_status_t *s = llmc_gguf_open(path, &w->file);
  int n = s ? 0 : llmc_gguf_tensor_count(w->file);
  if (!s && !(w->tensors = calloc((size_t)n + 1, sizeof *w->tensors)))
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int i = 0; i < n && !s; i++) {
    const llmc_gguf_tensor_t *t = llmc_gguf_tensor_at(w->file, i);
    if (strcmp(t->name, ROPE_FREQS) == 0) continue; /* read as rope attributes */
    s = add_tensor(w, t, path);
  }
  if (!s) {
    qsort(w->tensors, (size_t)w->n, sizeof *w->tensors, cmp_name);
    for (int i = 1; i < w->n && !s; i++)
      if (!strcmp(w->tensors[i - 1].name, w->tensors[i].name))
        s = LLMC_ERROR(LLMC_DATA_LOSS, path, "two tensors are both '%s' once renamed", w->tensors[i].name);
  }
  if (s) {
    llmc_gguf_weights_close(w);
    return s;
  }
  *out = w;
  return NULL;
}

int llmc_gguf_weights_count(const llmc_gguf_weights_t *w) { return w->n; }
const llmc_st_tensor_t *llmc_gguf_weights_at(const llmc_gguf_weights_t *w, int i) {
  return i >= 0 && i < w->n ? &w->tensors[i] : NULL;
}
const llmc_st_tensor_t *llmc_gguf_weights_find(const llmc_gguf_weights_t *w, const char *name) {
  llmc_st_tensor_t key = {.name = name};
  return bsearch(&key, w->tensors, (size_t)w->n, sizeof *w->tensors, cmp_name);
}

/* ---- the config ---- */

typedef struct {
  const llmc_gguf_t *g;
  const char *arch, *where;
} meta_t;

/* "<arch>.<key>" as an integer; dflt < 0: required. */
static llmc_status_t *meta_int(const meta_t *m, const char *key, int64_t dflt, int64_t lo, int64_t hi, int64_t *out) {
  char full[160];
  snprintf(full, sizeof full, "%s.%s", m->arch, key);
  const llmc_gguf_kv_t *kv = llmc_gguf_find(m->g, full);
  if (!kv) {
    if (dflt < 0) return LLMC_ERROR(LLMC_DATA_LOSS, m->where, "metadata key %s is missing", full);
    *out = dflt;
    return NULL;
  }
  if (llmc_gguf_kv_type(kv) == LLMC_GGUF_ARRAY)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, m->where, "%s differs per layer, which llmc does not support", full);
  if (llmc_gguf_kv_type(kv) == LLMC_GGUF_BOOL || !llmc_gguf_kv_int(kv, out) || *out < lo || *out > hi)
    return LLMC_ERROR(LLMC_DATA_LOSS, m->where, "%s must be an integer in [%lld, %lld]", full, (long long)lo,
                      (long long)hi);
  return NULL;
}

static llmc_status_t *meta_float(const meta_t *m, const char *key, double dflt, double *out) {
  char full[160];
  snprintf(full, sizeof full, "%s.%s", m->arch, key);
  const llmc_gguf_kv_t *kv = llmc_gguf_find(m->g, full);
  *out = dflt;
  if (kv && (llmc_gguf_kv_type(kv) == LLMC_GGUF_BOOL || !llmc_gguf_kv_float(kv, out) || !(*out > 0) || *out > 1e30))
    return LLMC_ERROR(LLMC_DATA_LOSS, m->where, "%s must be a positive number", full);
  return NULL;
}

/* Stop ids: the end-of-sequence, end-of-turn and end-of-message tokens. */
static llmc_status_t *stop_ids(const llmc_gguf_t *g, const char *where, json_t *config) {
  static const char *const keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                     "tokenizer.ggml.eom_token_id"};
  json_t *ids = json_array();
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const llmc_gguf_kv_t *kv = llmc_gguf_find(g, keys[i]);
    int64_t id;
    if (!kv) continue;
    if (llmc_gguf_kv_type(kv) == LLMC_GGUF_BOOL || !llmc_gguf_kv_int(kv, &id) || id < 0 || id > INT32_MAX) {
      json_decref(ids);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s must be a token id", keys[i]);
    }
    bool seen = false;
    for (size_t j = 0; j < json_array_size(ids); j++) seen |= json_integer_value(json_array_get(ids, j)) == id;
    if (!seen) json_array_append_new(ids, json_integer(id));
  }
  if (json_array_size(ids)) json_object_set(config, "eos_token_id", ids);
  json_decref(ids);
  return NULL;
}

/* Llama 3.1+'s rope_freqs tensor: inverse frequency i is base's divided by
 * factor i, which is the IR's longrope form with an attention factor of 1. */
static llmc_status_t *rope_freqs_attrs(const llmc_gguf_t *g, const char *where, int64_t head_dim, int64_t context,
                                       json_t *attrs) {
  const llmc_gguf_tensor_t *t = llmc_gguf_tensor_find(g, ROPE_FREQS);
  if (!t) return NULL;
  if (t->type != LLMC_GGML_F32 || t->n_dims != 1 || t->ne[0] != head_dim / 2)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s must be %lld f32 factors", ROPE_FREQS, (long long)(head_dim / 2));
  json_t *factors = json_array();
  for (int64_t i = 0; i < t->ne[0]; i++) {
    float f;
    memcpy(&f, t->data + 4 * i, 4);
    if (!(f > 0) || f > 1e30f) {
      json_decref(factors);
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s[%lld] is not a positive number", ROPE_FREQS, (long long)i);
    }
    json_array_append_new(factors, json_real(f));
  }
  json_object_set_new(attrs, "scaling", json_string("longrope"));
  json_object_set_new(attrs, "ext_factors", factors);
  json_object_set_new(attrs, "original_context", json_integer(context));
  json_object_set_new(attrs, "attention_factor", json_real(1.0));
  return NULL;
}

static llmc_status_t *rope_scaling(const meta_t *m, json_t *config) {
  char full[160];
  snprintf(full, sizeof full, "%s.rope.scaling.type", m->arch);
  const llmc_gguf_kv_t *kv = llmc_gguf_find(m->g, full);
  const char *type;
  size_t len;
  if (!kv) return NULL;
  if (!llmc_gguf_kv_string(kv, &type, &len)) return LLMC_ERROR(LLMC_DATA_LOSS, m->where, "%s must be a string", full);
  if (len == 4 && !memcmp(type, "none", 4)) return NULL;
  bool linear = len == 6 && !memcmp(type, "linear", 6), yarn = len == 4 && !memcmp(type, "yarn", 4);
  if (!linear && !yarn)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, m->where, "%s: only none, linear and yarn are supported", full);
  double factor;
  LLMC_RETURN_IF_ERROR(meta_float(m, "rope.scaling.factor", 0, &factor));
  if (!(factor > 0)) return LLMC_ERROR(LLMC_DATA_LOSS, m->where, "%s.rope.scaling.factor is missing", m->arch);
  json_t *rs = json_object();
  json_object_set_new(rs, "rope_type", json_string(linear ? "linear" : "yarn"));
  json_object_set_new(rs, "factor", json_real(factor));
  if (yarn) {
    int64_t orig;
    llmc_status_t *s = meta_int(m, "rope.scaling.original_context_length", -1, 1, INT32_MAX, &orig);
    if (s) {
      json_decref(rs);
      return s;
    }
    json_object_set_new(rs, "original_max_position_embeddings", json_integer(orig));
  }
  json_object_set_new(config, "rope_scaling", rs);
  return NULL;
}

/* The GGUF's metadata as a transformers config, and the rope attributes the
 * file's layout adds. */
static llmc_status_t *gguf_config(const llmc_gguf_t *g, const char *where, json_t **out_config, json_t **out_rope) {
  *out_config = *out_rope = NULL;
  const llmc_gguf_kv_t *akv = llmc_gguf_find(g, "general.architecture");
  const char *arch_s;
  size_t arch_len;
  if (!akv || !llmc_gguf_kv_string(akv, &arch_s, &arch_len))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "no general.architecture string");
  const gguf_arch_t *arch = NULL;
  for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
    if (strlen(archs[i].arch) == arch_len && !memcmp(archs[i].arch, arch_s, arch_len)) arch = &archs[i];
  if (!arch) {
    int n = arch_len < 40 ? (int)arch_len : 40; /* statuses keep messages printable */
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "GGUF architecture '%.*s%s' is not supported (llama, qwen2 and qwen3 are)",
                      n, arch_s, arch_len > (size_t)n ? "..." : "");
  }
  meta_t m = {g, arch->arch, where};
  int64_t n_layers, dim, hidden, n_heads, n_kv_heads, context, head_dim, value_dim, rot;
  double theta, eps;
  LLMC_RETURN_IF_ERROR(meta_int(&m, "block_count", -1, 1, 4096, &n_layers));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "embedding_length", -1, 1, 1 << 20, &dim));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "feed_forward_length", -1, 1, 1 << 22, &hidden));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "attention.head_count", -1, 1, 65536, &n_heads));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "attention.head_count_kv", n_heads, 1, 65536, &n_kv_heads));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "context_length", 2048, 1, INT32_MAX, &context));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "attention.key_length", dim / n_heads, 1, 65536, &head_dim));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "attention.value_length", head_dim, 1, 65536, &value_dim));
  LLMC_RETURN_IF_ERROR(meta_int(&m, "rope.dimension_count", head_dim, 1, 65536, &rot));
  LLMC_RETURN_IF_ERROR(meta_float(&m, "rope.freq_base", 10000.0, &theta));
  LLMC_RETURN_IF_ERROR(meta_float(&m, "attention.layer_norm_rms_epsilon", 1e-5, &eps));
  if (value_dim != head_dim)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "key and value heads of different sizes (%lld, %lld) are not supported",
                      (long long)head_dim, (long long)value_dim);
  if (rot != head_dim)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "%s.rope.dimension_count %lld: partial rotary embeddings are not supported here",
                      arch->arch, (long long)rot);
  const llmc_gguf_tensor_t *embd = llmc_gguf_tensor_find(g, "token_embd.weight");
  if (!embd || embd->n_dims != 2) return LLMC_ERROR(LLMC_DATA_LOSS, where, "no 2-D token_embd.weight tensor");

  json_t *config = json_object(), *rope = json_object();
  json_t *classes = json_array();
  json_array_append_new(classes, json_string(arch->hf_class));
  json_object_set_new(config, "architectures", classes);
  json_object_set_new(config, "hidden_size", json_integer(dim));
  json_object_set_new(config, "intermediate_size", json_integer(hidden));
  json_object_set_new(config, "num_hidden_layers", json_integer(n_layers));
  json_object_set_new(config, "num_attention_heads", json_integer(n_heads));
  json_object_set_new(config, "num_key_value_heads", json_integer(n_kv_heads));
  json_object_set_new(config, "head_dim", json_integer(head_dim));
  json_object_set_new(config, "vocab_size", json_integer(embd->ne[1]));
  json_object_set_new(config, "max_position_embeddings", json_integer(context));
  json_object_set_new(config, "rope_theta", json_real(theta));
  json_object_set_new(config, "rms_norm_eps", json_real(eps));
  json_object_set_new(config, "tie_word_embeddings", json_boolean(!llmc_gguf_tensor_find(g, "output.weight")));
  const llmc_gguf_kv_t *name = llmc_gguf_find(g, "general.name");
  const char *name_s;
  size_t name_len;
  if (name && llmc_gguf_kv_string(name, &name_s, &name_len) && name_len && name_len < 256 && !memchr(name_s, 0, name_len))
    json_object_set_new(config, "_name_or_path", json_stringn(name_s, name_len)); /* NULL (dropped) when not UTF-8 */
  if (arch->permuted_qk) json_object_set_new(rope, "style", json_string("interleaved"));
  llmc_status_t *s = stop_ids(g, where, config);
  if (!s) s = rope_scaling(&m, config);
  if (!s && json_object_get(config, "rope_scaling") && llmc_gguf_tensor_find(g, ROPE_FREQS))
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "both %s.rope.scaling.type and %s: which scaling is meant is ambiguous",
                   arch->arch, ROPE_FREQS);
  if (!s) s = rope_freqs_attrs(g, where, head_dim, context, rope);
  if (s) {
    json_decref(config);
    json_decref(rope);
    return s;
  }
  *out_config = config;
  *out_rope = rope;
  return NULL;
}

llmc_status_t *llmc_gguf_model_json(const char *path, char **out_json, bool *out_has_tokenizer) {
  *out_json = NULL;
  llmc_gguf_t *g;
  LLMC_RETURN_IF_ERROR(llmc_gguf_open(path, &g));
  json_t *config, *rope;
  llmc_status_t *s = gguf_config(g, path, &config, &rope);
  *out_has_tokenizer = llmc_gguf_find(g, "tokenizer.ggml.model") != NULL;
  llmc_gguf_close(g);
  if (s) return s;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  llmc_hf_import_t imp = {.weights = json_array(), .rope_attrs = rope, .name = base};
  json_array_append_new(imp.weights, json_string(base));
  s = llmc_hf_model_json(config, path, &imp, out_json);
  json_decref(imp.weights);
  json_decref(rope);
  return s;
}
