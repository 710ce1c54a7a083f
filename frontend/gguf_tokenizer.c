/* gguf_tokenizer.c: a GGUF file's embedded tokenizer as tokenizer.json.
 *
 * llama.cpp stores a vocabulary as arrays (tokenizer.ggml.tokens, token_type,
 * merges or scores) and names its pre-tokenization ("pre") rather than
 * storing it. llmc's tokenizer reads tokenizer.json, so the arrays become
 * one here, the way transformers' own conversions lay them out, and the
 * pre-tokenizer names become the Split patterns llama.cpp runs for them
 * (llama-vocab.cpp's llm_tokenizer_bpe). Two vocabulary kinds:
 *   - "gpt2": byte-level BPE with merges (Llama 3, Qwen, GPT-2, SmolLM);
 *   - "llama": sentencepiece with scores and byte tokens (Llama 2, Mistral,
 *     TinyLlama). Its merges are derived from the scores as transformers'
 *     SentencePieceExtractor derives them: every split of a token into two
 *     tokens, ranked by the whole token's score, so BPE merges what
 *     llama.cpp's score-driven merging merges.
 * A name llmc does not know is refused by name, never guessed. */
#include <stdlib.h>
#include <string.h>

#include "frontend_impl.h"

/* llama_token_type */
enum { TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_USER_DEFINED = 4, TOKEN_UNUSED = 5, TOKEN_BYTE = 6 };

#define MAX_VOCAB (1 << 22)
#define MAX_MERGED_BYTES 128

/* Pre-tokenizer regexes (original tokenizer.json spellings; llama.cpp's
 * adapted ones match the same pieces), applied in order, each splitting the
 * pieces of the one before. */
static const char *const gpt2_re[] = {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", NULL};
static const char *const llama3_re[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const qwen2_re[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
/* llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEFAULT (what a converter writes for a
 * tokenizer it did not recognise). */
static const char *const default_re[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+",
                                         "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                                         "\\p{N}+", "[0-9][0-9][0-9]", NULL};

static const struct {
  const char *name;
  const char *const *regexes;
  bool ignore_merges, nfc;
} pre_types[] = {
    {"default", default_re, false, false}, {"gpt-2", gpt2_re, false, false},    {"gpt2", gpt2_re, false, false},
    {"llama-bpe", llama3_re, true, false}, {"llama3", llama3_re, true, false},  {"smaug-bpe", llama3_re, true, false},
    {"dbrx", llama3_re, true, false},      {"qwen2", qwen2_re, false, true},
};

typedef struct {
  const llmc_gguf_t *g;
  const char *where;
} ctx_t;

static llmc_status_t *string_at(const ctx_t *c, const llmc_gguf_kv_t *kv, uint64_t i, const char *what, json_t **out) {
  const char *s;
  size_t len;
  if (!llmc_gguf_kv_array_string(kv, i, &s, &len) || !(*out = json_stringn(s, len)))
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "%s[%llu] is not a UTF-8 string", what, (unsigned long long)i);
  return NULL;
}

/* An optional token-id key; -1 when absent. */
static llmc_status_t *token_id(const ctx_t *c, const char *key, uint64_t n, int64_t *out) {
  const llmc_gguf_kv_t *kv = llmc_gguf_find(c->g, key);
  *out = -1;
  if (!kv) return NULL;
  if (llmc_gguf_kv_type(kv) == LLMC_GGUF_BOOL || !llmc_gguf_kv_int(kv, out) || *out < 0 || (uint64_t)*out >= n)
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "%s must be an id of the %llu-token vocabulary", key, (unsigned long long)n);
  return NULL;
}

static llmc_status_t *flag(const ctx_t *c, const char *key, bool dflt, bool *out) {
  const llmc_gguf_kv_t *kv = llmc_gguf_find(c->g, key);
  int64_t v;
  *out = dflt;
  if (!kv) return NULL;
  if (llmc_gguf_kv_type(kv) != LLMC_GGUF_BOOL || !llmc_gguf_kv_int(kv, &v))
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "%s must be a boolean", key);
  *out = v != 0;
  return NULL;
}

/* SentencePieceExtractor's merges: for token p of score s, every split
 * p = l + r (at a UTF-8 boundary) with both halves tokens, by s descending,
 * then by l's and r's ids. */
typedef struct {
  float score;
  int32_t l, r;
} merge_t;

static int cmp_merge(const void *a, const void *b) {
  const merge_t *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->l != y->l) return x->l < y->l ? -1 : 1;
  return (x->r > y->r) - (x->r < y->r);
}

static llmc_status_t *spm_merges(json_t *vocab, json_t *tokens, const int32_t *types, const float *scores,
                                 json_t *out) {
  size_t n = json_array_size(tokens), cap = 1024, count = 0;
  merge_t *m = malloc(cap * sizeof *m);
  if (!m) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (size_t id = 0; id < n; id++) {
    if (types[id] != TOKEN_NORMAL && types[id] != TOKEN_USER_DEFINED) continue;
    const char *p = json_string_value(json_array_get(tokens, id));
    size_t len = json_string_length(json_array_get(tokens, id));
    /* sentencepiece pieces are at most 16 characters by default; longer
     * tokens are not merge results (and would make this quadratic). */
    if (len > MAX_MERGED_BYTES) continue;
    for (size_t cut = 1; cut < len; cut++) {
      if (((unsigned char)p[cut] & 0xC0) == 0x80) continue; /* inside a character */
      json_t *l = json_object_getn(vocab, p, cut), *r = json_object_getn(vocab, p + cut, len - cut);
      if (!l || !r) continue;
      if (count == cap) {
        merge_t *grown = realloc(m, 2 * cap * sizeof *m);
        if (!grown) {
          free(m);
          return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
        }
        m = grown;
        cap *= 2;
      }
      m[count++] = (merge_t){scores[id], (int32_t)json_integer_value(l), (int32_t)json_integer_value(r)};
    }
  }
  qsort(m, count, sizeof *m, cmp_merge);
  for (size_t i = 0; i < count; i++) {
    json_t *pair = json_array();
    json_array_append(pair, json_array_get(tokens, (size_t)m[i].l));
    json_array_append(pair, json_array_get(tokens, (size_t)m[i].r));
    json_array_append_new(out, pair);
  }
  free(m);
  return NULL;
}

static json_t *split(const char *regex) {
  return json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", regex, "behavior", "Isolated",
                   "invert", 0);
}

static json_t *byte_level(bool use_regex) {
  return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex",
                   use_regex);
}

static llmc_status_t *build(const ctx_t *c, json_t *root, json_t *config) {
  const llmc_gguf_kv_t *model_kv = llmc_gguf_find(c->g, "tokenizer.ggml.model");
  const char *kind;
  size_t kind_len;
  if (!llmc_gguf_kv_string(model_kv, &kind, &kind_len))
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.model must be a string");
  bool bpe = kind_len == 4 && !memcmp(kind, "gpt2", 4), spm = kind_len == 5 && !memcmp(kind, "llama", 5);
  if (!bpe && !spm) {
    /* statuses keep messages printable */
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, c->where, "tokenizer.ggml.model '%.*s' is not supported (gpt2 and llama are)",
                      kind_len < 32 ? (int)kind_len : 32, kind);
  }
  const llmc_gguf_kv_t *tok_kv = llmc_gguf_find(c->g, "tokenizer.ggml.tokens");
  uint64_t n = tok_kv ? llmc_gguf_kv_array_len(tok_kv) : 0;
  if (!tok_kv || llmc_gguf_kv_array_type(tok_kv) != LLMC_GGUF_STRING || n == 0 || n > MAX_VOCAB)
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.tokens must be a list of 1 to %d strings", MAX_VOCAB);
  const llmc_gguf_kv_t *type_kv = llmc_gguf_find(c->g, "tokenizer.ggml.token_type");
  if (type_kv && (llmc_gguf_kv_array_len(type_kv) != n || llmc_gguf_kv_array_type(type_kv) == LLMC_GGUF_STRING))
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.token_type must be %llu numbers", (unsigned long long)n);
  const llmc_gguf_kv_t *score_kv = llmc_gguf_find(c->g, "tokenizer.ggml.scores");
  if (spm && (!score_kv || llmc_gguf_kv_array_len(score_kv) != n || llmc_gguf_kv_array_type(score_kv) == LLMC_GGUF_STRING))
    return LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.scores must be %llu numbers", (unsigned long long)n);

  llmc_status_t *s = NULL;
  json_t *tokens = json_array(), *vocab = json_object(), *added = json_array(), *merges = json_array();
  int32_t *types = malloc(sizeof(int32_t) * n);
  float *scores = malloc(sizeof(float) * n);
  if (!types || !scores) s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (uint64_t i = 0; i < n && !s; i++) {
    json_t *t;
    int64_t type = TOKEN_NORMAL;
    double score = 0;
    if ((s = string_at(c, tok_kv, i, "tokenizer.ggml.tokens", &t))) break;
    json_array_append_new(tokens, t);
    if (type_kv && (!llmc_gguf_kv_array_int(type_kv, i, &type) || type < 1 || type > 6)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.token_type[%llu] is not a token type (1 to 6)",
                     (unsigned long long)i);
      break;
    }
    if (score_kv && (!llmc_gguf_kv_array_float(score_kv, i, &score) || score != score)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.scores[%llu] is not a number", (unsigned long long)i);
      break;
    }
    types[i] = (int32_t)type;
    scores[i] = (float)score;
    if (json_object_getn(vocab, json_string_value(t), json_string_length(t))) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "token '%s' appears twice in tokenizer.ggml.tokens", json_string_value(t));
      break;
    }
    json_object_setn_new(vocab, json_string_value(t), json_string_length(t), json_integer((json_int_t)i));
    if (type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED || (spm && type == TOKEN_UNKNOWN))
      json_array_append_new(added, json_pack("{s:I, s:O, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)i, "content", t,
                                             "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized",
                                             type == TOKEN_USER_DEFINED, "special", type != TOKEN_USER_DEFINED));
  }
  int64_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false, add_eos = false, add_prefix = true;
  if (!s) s = token_id(c, "tokenizer.ggml.bos_token_id", n, &bos);
  if (!s) s = token_id(c, "tokenizer.ggml.eos_token_id", n, &eos);
  if (!s) s = token_id(c, "tokenizer.ggml.unknown_token_id", n, &unk);
  /* llama.cpp's defaults: sentencepiece vocabularies add BOS and a leading space. */
  if (!s) s = flag(c, "tokenizer.ggml.add_bos_token", spm, &add_bos);
  if (!s) s = flag(c, "tokenizer.ggml.add_eos_token", false, &add_eos);
  if (!s) s = flag(c, "tokenizer.ggml.add_space_prefix", true, &add_prefix);
  if (!s && ((add_bos && bos < 0) || (add_eos && eos < 0)))
    s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "add_%s_token is true but there is no %s_token_id", add_bos && bos < 0 ? "bos" : "eos",
                   add_bos && bos < 0 ? "bos" : "eos");

  json_t *model = json_object();
  json_object_set_new(model, "type", json_string("BPE"));
  if (!s && bpe) {
    const llmc_gguf_kv_t *pre_kv = llmc_gguf_find(c->g, "tokenizer.ggml.pre");
    const char *pre = "default";
    size_t pre_len = 7;
    if (pre_kv && !llmc_gguf_kv_string(pre_kv, &pre, &pre_len))
      s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.pre must be a string");
    int which = -1;
    for (size_t i = 0; !s && i < sizeof pre_types / sizeof pre_types[0]; i++)
      if (strlen(pre_types[i].name) == pre_len && !memcmp(pre_types[i].name, pre, pre_len)) which = (int)i;
    if (!s && which < 0) {
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, c->where,
                     "tokenizer.ggml.pre '%.*s' is not supported (default, gpt-2, llama-bpe, qwen2, smaug-bpe and dbrx are)",
                     pre_len < 32 ? (int)pre_len : 32, pre);
    }
    const llmc_gguf_kv_t *merge_kv = llmc_gguf_find(c->g, "tokenizer.ggml.merges");
    uint64_t n_merges = merge_kv ? llmc_gguf_kv_array_len(merge_kv) : 0;
    if (!s && (!merge_kv || llmc_gguf_kv_array_type(merge_kv) != LLMC_GGUF_STRING))
      s = LLMC_ERROR(LLMC_DATA_LOSS, c->where, "tokenizer.ggml.merges must be a list of strings");
    for (uint64_t i = 0; !s && i < n_merges; i++) {
      json_t *m;
      if (!(s = string_at(c, merge_kv, i, "tokenizer.ggml.merges", &m))) json_array_append_new(merges, m);
    }
    if (!s) {
      json_object_set_new(model, "ignore_merges", json_boolean(pre_types[which].ignore_merges));
      json_object_set_new(model, "byte_fallback", json_false());
      json_t *seq = json_array();
      for (int i = 0; pre_types[which].regexes[i]; i++) json_array_append_new(seq, split(pre_types[which].regexes[i]));
      json_array_append_new(seq, byte_level(false));
      json_object_set_new(root, "pre_tokenizer", json_pack("{s:s, s:o}", "type", "Sequence", "pretokenizers", seq));
      json_object_set_new(root, "decoder", byte_level(true));
      json_object_set_new(root, "normalizer", pre_types[which].nfc ? json_pack("{s:s}", "type", "NFC") : json_null());
    }
  } else if (!s) {
    s = spm_merges(vocab, tokens, types, scores, merges);
    if (!s) {
      json_object_set_new(model, "byte_fallback", json_true());
      json_object_set_new(model, "fuse_unk", json_true());
      if (unk >= 0) json_object_set(model, "unk_token", json_array_get(tokens, (size_t)unk));
      json_t *norm = json_array(), *dec = json_array();
      if (add_prefix) json_array_append_new(norm, json_pack("{s:s, s:s}", "type", "Prepend", "prepend", "\xe2\x96\x81"));
      json_array_append_new(norm, json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", " ", "content",
                                            "\xe2\x96\x81"));
      json_array_append_new(dec, json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", "\xe2\x96\x81",
                                           "content", " "));
      json_array_append_new(dec, json_pack("{s:s}", "type", "ByteFallback"));
      json_array_append_new(dec, json_pack("{s:s}", "type", "Fuse"));
      if (add_prefix)
        json_array_append_new(dec, json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", " ", "start", 1, "stop", 0));
      json_object_set_new(root, "normalizer", json_pack("{s:s, s:o}", "type", "Sequence", "normalizers", norm));
      json_object_set_new(root, "pre_tokenizer", json_null());
      json_object_set_new(root, "decoder", json_pack("{s:s, s:o}", "type", "Sequence", "decoders", dec));
    }
  }
  json_object_set(model, "vocab", vocab);
  json_object_set(model, "merges", merges);
  json_object_set_new(root, "model", model);
  json_object_set(root, "added_tokens", added);
  json_object_set_new(root, "post_processor", json_null());
  if (bos >= 0) json_object_set(config, "bos_token", json_array_get(tokens, (size_t)bos));
  if (eos >= 0) json_object_set(config, "eos_token", json_array_get(tokens, (size_t)eos));
  json_object_set_new(config, "add_bos_token", json_boolean(add_bos));
  json_object_set_new(config, "add_eos_token", json_boolean(add_eos));
  json_decref(tokens);
  json_decref(vocab);
  json_decref(added);
  json_decref(merges);
  free(types);
  free(scores);
  return s;
}

llmc_status_t *llmc_gguf_tokenizer_json(const llmc_gguf_t *g, const char *where, char **out_json, char **out_config) {
  *out_json = *out_config = NULL;
  if (!llmc_gguf_find(g, "tokenizer.ggml.model")) return NULL;
  ctx_t c = {g, where};
  json_t *root = json_object(), *config = json_object();
  json_object_set_new(root, "version", json_string("1.0"));
  llmc_status_t *s = build(&c, root, config);
  if (!s) {
    *out_json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *out_config = json_dumps(config, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!*out_json || !*out_config) {
      free(*out_json);
      free(*out_config);
      *out_json = *out_config = NULL;
      s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    }
  }
  json_decref(root);
  json_decref(config);
  return s;
}
