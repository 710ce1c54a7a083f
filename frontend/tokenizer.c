/* tokenizer.c: BPE from a Hugging Face tokenizer.json (see llmc_tokenizer.h
 * for what is supported).
 *
 * Load undoes GPT-2's byte-to-unicode alphabet on every vocabulary string, so
 * encoding works on raw bytes throughout: split out added tokens, run the
 * pre-tokenizer stages, then per pre-token start from one symbol per byte and
 * merge the adjacent pair of lowest rank (leftmost on ties, as Hugging Face
 * does) until none applies. Merges are keyed by the ids of the pair, so each
 * candidate is one hash probe, and a heap keeps a pre-token at O(n log n): a
 * 100 KB run of letters is one pre-token.
 *
 * Sentencepiece-style BPE (Llama 2, Mistral, TinyLlama, Gemma: no ByteLevel
 * stage) is "char level": vocabulary strings are UTF-8 text, the normalizer
 * (Prepend, Replace) or a Metaspace pre-tokenizer turns spaces into U+2581,
 * a pre-token starts from one symbol per character, a character missing
 * from the vocabulary becomes the <0xXX> tokens of its bytes (byte_fallback)
 * or the unknown token (runs of them fused with fuse_unk), and merges
 * proceed as above. Decoding precomputes each token's text through the
 * decoder's Replace and ByteFallback steps; its Strip of the first leading
 * space applies to a whole sequence (llmc_tokenizer_decode).
 *
 * Left out: added tokens' lstrip/rstrip/single_word flags and BPE dropout
 * (a training feature).
 *
 * Invariants: ids are in [0, n_ids) with n_ids <= MAX_TOKENS; every merge's
 * left, right and merged ids name vocabulary tokens (checked at load), so a
 * symbol always has an id; the tokenizer is never written after load. */
#include "llmc_tokenizer.h"

#include <assert.h>
#include <jansson.h>
#include <oniguruma.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Ids size per-id tables, so a hostile file must not pick them freely. The
 * largest real vocabularies are near 2^18. */
#define MAX_TOKENS (1 << 24)
#define MAX_FILE_BYTES (1ull << 30)
#define MAX_STAGES 8
#define MAX_NORMS 8    /* normalizer steps */
#define MAX_REPLACES 4 /* decoder Replace steps */
#define MAX_SPECIALS 16                /* on each side of a template */
#define MAX_CONFIG_BYTES (64u << 20) /* tokenizer_config.json carries chat templates */

/* ---- GPT-2 byte alphabet ------------------------------------------------ */

/* bytes_to_unicode in GPT-2's encoder.py: printable Latin-1 bytes stand for
 * themselves and the other 68 take U+0100.. in byte order, so every byte has
 * a visible character in vocab files. */
enum { N_SHIFTED = 68 };

static bool byte_is_printable(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

typedef struct {
  uint8_t shifted[N_SHIFTED]; /* the byte that U+0100 + i stands for */
} alphabet_t;

static void alphabet_init(alphabet_t *a) {
  int n = 0;
  for (unsigned b = 0; b < 256; b++)
    if (!byte_is_printable(b)) a->shifted[n++] = (uint8_t)b;
}

#define CP_INVALID UINT32_MAX

/* One UTF-8 sequence at s (n >= 1 bytes left). Overlong, surrogate, truncated
 * and stray bytes decode as a single byte with cp CP_INVALID. */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *out_cp) {
  uint8_t b = s[0];
  if (b < 0x80) {
    *out_cp = b;
    return 1;
  }
  size_t len;
  uint32_t cp;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2, cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3, cp = b & 0x0Fu;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4, cp = b & 0x07u;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    goto invalid;
  }
  if (n < len) goto invalid;
  for (size_t k = 1; k < len; k++) {
    uint8_t c = s[k];
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) goto invalid;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  *out_cp = cp;
  return len;
invalid:
  *out_cp = CP_INVALID;
  return 1;
}

/* Maps a vocabulary string to the bytes it stands for; out has room for n.
 * False when a character is outside the alphabet (e.g. "<|im_start|>" is
 * fine, "▁" is not). */
static bool alphabet_decode(const alphabet_t *a, const char *s, size_t n, uint8_t *out,
                            size_t *out_len) {
  if (!a) { /* char-level vocabularies are the text itself */
    memcpy(out, s, n);
    *out_len = n;
    return true;
  }
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    i += utf8_decode((const uint8_t *)s + i, n - i, &cp);
    if (cp < 256 && byte_is_printable(cp))
      out[o++] = (uint8_t)cp;
    else if (cp >= 256 && cp < 256 + N_SHIFTED)
      out[o++] = a->shifted[cp - 256];
    else
      return false;
  }
  *out_len = o;
  return true;
}

/* ---- Pre-tokenizer patterns ---------------------------------------------- */

/* ByteLevel's own split (use_regex), GPT-2's pattern. */
static const char k_gpt2_regex[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Backtracking steps one search may take: patterns come from the file, and
 * a hostile one must not hang an encode (real patterns take a few per byte). */
#define REGEX_RETRY_LIMIT 10000000UL

/* Appends s with every occurrence of `from` (non-empty) replaced by `to`,
 * left to right without overlaps: the normalizer's and decoder's Replace
 * and Metaspace's spaces. */
static void replace_all(llmc_buf_t *out, const uint8_t *s, size_t n, const uint8_t *from, size_t from_len,
                        const uint8_t *to, size_t to_len) {
  for (size_t i = 0; i < n;) {
    if (i + from_len <= n && !memcmp(s + i, from, from_len)) {
      llmc_buf_append(out, to, to_len);
      i += from_len;
    } else {
      llmc_buf_append(out, s + i, 1);
      i++;
    }
  }
}

/* ---- Hash maps ------------------------------------------------------------ */

/* Open addressing with linear probing, at most half full, never deleted. */
typedef struct {
  const uint8_t *key; /* NULL: empty slot */
  uint32_t len;
  int32_t value;
} str_slot_t;
typedef struct {
  str_slot_t *slots;
  size_t mask;
} str_map_t;

typedef struct {
  uint64_t key; /* (left << 32 | right) + 1; 0: empty slot */
  int32_t rank, merged;
} pair_slot_t;
typedef struct {
  pair_slot_t *slots;
  size_t mask;
} pair_map_t;

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t k) { /* murmur3 fmix64 */
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

static size_t table_cap(size_t n) {
  size_t c = 16;
  while (c < 2 * n) c *= 2;
  return c;
}

static int32_t str_map_get(const str_map_t *m, const uint8_t *k, size_t n) {
  for (size_t i = hash_bytes(k, n) & m->mask;; i = (i + 1) & m->mask) {
    const str_slot_t *s = &m->slots[i];
    if (!s->key) return -1;
    if (s->len == n && memcmp(s->key, k, n) == 0) return s->value;
  }
}

static void str_map_put(str_map_t *m, const uint8_t *k, uint32_t n, int32_t v) {
  for (size_t i = hash_bytes(k, n) & m->mask;; i = (i + 1) & m->mask) {
    str_slot_t *s = &m->slots[i];
    if (!s->key) {
      *s = (str_slot_t){k, n, v};
      return;
    }
    if (s->len == n && memcmp(s->key, k, n) == 0) return;
  }
}

static const pair_slot_t *pair_map_get(const pair_map_t *m, int32_t a, int32_t b) {
  uint64_t key = ((uint64_t)a << 32 | (uint32_t)b) + 1;
  for (size_t i = hash_u64(key) & m->mask;; i = (i + 1) & m->mask) {
    const pair_slot_t *s = &m->slots[i];
    if (s->key == key) return s;
    if (!s->key) return NULL;
  }
}

/* A repeated pair takes the later rank, as Hugging Face's map insert does. */
static void pair_map_put(pair_map_t *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
  uint64_t key = ((uint64_t)a << 32 | (uint32_t)b) + 1;
  for (size_t i = hash_u64(key) & m->mask;; i = (i + 1) & m->mask) {
    pair_slot_t *s = &m->slots[i];
    if (!s->key || s->key == key) {
      *s = (pair_slot_t){key, rank, merged};
      return;
    }
  }
}

/* ---- The tokenizer -------------------------------------------------------- */

typedef enum { BEHAVIOR_REMOVED, BEHAVIOR_ISOLATED, BEHAVIOR_WITH_PREVIOUS, BEHAVIOR_WITH_NEXT } behavior_t;
typedef enum { PREPEND_NEVER, PREPEND_FIRST, PREPEND_ALWAYS } prepend_t;

typedef struct {
  bool byte_level;       /* a ByteLevel stage, else a Split or Metaspace stage */
  bool add_prefix_space; /* ByteLevel: prepend ' ' to a piece not starting with one */
  bool use_regex;        /* ByteLevel: split with the GPT-2 pattern (in re) */
  OnigRegex re;          /* Split with a regex, or ByteLevel's; NULL: none */
  /* Split on a literal string (literal != NULL), or Metaspace: spaces
   * become `literal` (U+2581), which is prepended per `prepend` and, with
   * split, starts each piece (behavior WITH_NEXT). */
  bool metaspace, split;
  const uint8_t *literal;
  uint32_t literal_len;
  behavior_t behavior;
  prepend_t prepend;
} stage_t;

/* A normalizer step: Prepend `to` to non-empty text, Replace every `from`
 * with `to`, or a Unicode normalization form (utf8proc options). */
typedef struct {
  bool prepend;
  int unicode; /* utf8proc_option_t of NFC/NFD/NFKC/NFKD; 0: not one */
  const uint8_t *from, *to;
  uint32_t from_len, to_len;
} norm_t;

typedef struct {
  const uint8_t *text; /* content, matched literally */
  uint32_t len;        /* > 0 */
  int32_t id;
} added_t;

struct llmc_tokenizer {
  llmc_arena_t *arena;
  int32_t n_ids;        /* vocab size: 1 + the largest id */
  const uint8_t **tok;  /* [n_ids] the bytes each id decodes to; NULL: unassigned */
  uint32_t *tok_len;    /* [n_ids] */
  str_map_t vocab;      /* decoded bytes -> id, for strings in the byte alphabet */
  pair_map_t merges;    /* (left id, right id) -> rank, merged id */
  int32_t byte_id[256]; /* the token of each single byte; -1 if none */
  added_t *added;       /* [n_added] by first byte, longest first */
  size_t n_added;
  uint32_t added_start[257];  /* added[added_start[b] .. added_start[b + 1]) start with b */
  stage_t stages[MAX_STAGES]; /* pre-tokenizer stages, applied in order */
  int n_stages;
  bool ignore_merges; /* a pre-token that is itself a token skips merging */
  bool char_level;    /* sentencepiece-style: symbols start as UTF-8 characters (see the top) */
  bool byte_fallback; /* char level: a character not in the vocabulary becomes <0xXX> tokens */
  bool fuse_unk;      /* char level: adjacent unknown characters become one unknown token */
  int32_t unk;        /* model.unk_token's id; -1: none */
  norm_t norms[MAX_NORMS];
  int n_norms;
  int strip_start; /* decoder Strip: leading spaces a decoded sequence loses */
  int32_t prefix[MAX_SPECIALS], suffix[MAX_SPECIALS]; /* what encode(add_special) adds */
  int n_prefix, n_suffix;
  int32_t bos;                          /* -1: none */
  int32_t stop[LLMC_TOKENIZER_MAX_STOP]; /* the stop (EOS) ids, in the order declared */
  int n_stop;
};

#define DATA_LOSS(...) LLMC_ERROR(LLMC_DATA_LOSS, path, __VA_ARGS__)
#define UNSUPPORTED(...) LLMC_ERROR(LLMC_UNIMPLEMENTED, path, __VA_ARGS__)
#define OOM() LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, path, "out of memory")

static const char *type_of(const json_t *o) {
  const json_t *t = json_object_get(o, "type");
  return json_is_string(t) ? json_string_value(t) : NULL;
}

/* A JSON string's bytes in the arena. */
static const uint8_t *arena_bytes(llmc_tokenizer_t *t, const json_t *str) {
  return (const uint8_t *)llmc_arena_strndup(t->arena, json_string_value(str), json_string_length(str));
}

/* Normalizers: NFC, NFD, NFKC and NFKD (utf8proc), Prepend, Replace of a
 * literal string, and Sequences of them, kept in order in t->norms. */
static llmc_status_t *parse_normalizer(llmc_tokenizer_t *t, const json_t *n, int depth, const char *path) {
  if (!n || json_is_null(n)) return NULL;
  const char *type = type_of(n);
  if (!type) return DATA_LOSS("normalizer has no \"type\"");
  static const struct {
    const char *name;
    int options;
  } forms[] = {{"NFC", UTF8PROC_STABLE | UTF8PROC_COMPOSE},
               {"NFD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE},
               {"NFKC", UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
               {"NFKD", UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    if (strcmp(type, forms[i].name)) continue;
    if (t->n_norms == MAX_NORMS) return UNSUPPORTED("more than %d normalizer steps are not supported", MAX_NORMS);
    t->norms[t->n_norms++] = (norm_t){.unicode = forms[i].options};
    return NULL;
  }
  if (!strcmp(type, "Sequence")) {
    const json_t *list = json_object_get(n, "normalizers");
    if (!json_is_array(list)) return DATA_LOSS("normalizer Sequence has no \"normalizers\" array");
    if (depth > 4) return UNSUPPORTED("normalizer Sequences nested deeper than 4 are not supported");
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) LLMC_RETURN_IF_ERROR(parse_normalizer(t, m, depth + 1, path));
    return NULL;
  }
  bool prepend = !strcmp(type, "Prepend");
  if (!prepend && strcmp(type, "Replace"))
    return UNSUPPORTED("normalizer \"%s\" is not supported (llmc reads NFC, NFD, NFKC, NFKD, Prepend, Replace)", type);
  if (t->n_norms == MAX_NORMS) return UNSUPPORTED("more than %d normalizer steps are not supported", MAX_NORMS);
  norm_t *m = &t->norms[t->n_norms];
  const json_t *to = json_object_get(n, prepend ? "prepend" : "content");
  if (!json_is_string(to)) return DATA_LOSS("normalizer %s has no \"%s\" string", type, prepend ? "prepend" : "content");
  if (!prepend) {
    const json_t *pattern = json_object_get(n, "pattern"), *lit = json_object_get(pattern, "String");
    if (!json_is_string(lit)) {
      if (json_object_get(pattern, "Regex")) return UNSUPPORTED("normalizer Replace with a Regex pattern is not supported");
      return DATA_LOSS("normalizer Replace has no \"pattern\": {\"String\": ...}");
    }
    if (json_string_length(lit) == 0) return DATA_LOSS("normalizer Replace has an empty pattern");
    m->from = arena_bytes(t, lit);
    m->from_len = (uint32_t)json_string_length(lit);
  }
  m->prepend = prepend;
  m->to = arena_bytes(t, to);
  m->to_len = (uint32_t)json_string_length(to);
  if (!m->to || (!prepend && !m->from)) return OOM();
  t->n_norms++;
  return NULL;
}

/* A pattern compiled by Oniguruma, the regex engine Hugging Face's
 * tokenizers use (UTF-8, its default Ruby syntax: \\p{..} classes,
 * look-ahead, (?i:..)). A pattern that does not compile fails the load. */
static llmc_status_t *compile_regex(const char *pattern, size_t len, OnigRegex *out, const char *path) {
  OnigErrorInfo info;
  int r = onig_new(out, (const OnigUChar *)pattern, (const OnigUChar *)pattern + len, ONIG_OPTION_NONE,
                   ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  if (r == ONIG_NORMAL) return NULL;
  *out = NULL;
  OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
  onig_error_code_to_str(msg, r, &info);
  return DATA_LOSS("pre_tokenizer regex does not compile: %s", (const char *)msg);
}

static llmc_status_t *parse_split(llmc_tokenizer_t *t, const json_t *p, const char *path) {
  const json_t *pattern = json_object_get(p, "pattern");
  const json_t *regex = json_object_get(pattern, "Regex"), *lit = json_object_get(pattern, "String");
  if (!json_is_string(regex) && !json_is_string(lit))
    return DATA_LOSS("Split pre_tokenizer has no \"pattern\": {\"Regex\" or \"String\": ...}");
  const json_t *behavior = json_object_get(p, "behavior");
  if (json_is_true(json_object_get(p, "invert")))
    return UNSUPPORTED("Split pre_tokenizer with invert is not supported");
  if (json_is_string(lit)) {
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext"};
    int b = -1;
    for (int i = 0; i < 4 && json_is_string(behavior); i++)
      if (!strcmp(json_string_value(behavior), names[i])) b = i;
    if (b < 0) return UNSUPPORTED("Split pre_tokenizer behavior is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext");
    if (json_string_length(lit) == 0) return DATA_LOSS("Split pre_tokenizer has an empty pattern");
    stage_t *st = &t->stages[t->n_stages];
    *st = (stage_t){.literal = arena_bytes(t, lit), .literal_len = (uint32_t)json_string_length(lit),
                    .behavior = (behavior_t)b};
    if (!st->literal) return OOM();
    t->n_stages++;
    return NULL;
  }
  if (!json_is_string(behavior) || strcmp(json_string_value(behavior), "Isolated"))
    return UNSUPPORTED("Split pre_tokenizer behavior other than \"Isolated\" is not supported");
  stage_t *st = &t->stages[t->n_stages];
  *st = (stage_t){0};
  LLMC_RETURN_IF_ERROR(compile_regex(json_string_value(regex), json_string_length(regex), &st->re, path));
  t->n_stages++;
  return NULL;
}

static llmc_status_t *parse_pre_tokenizer(llmc_tokenizer_t *t, const json_t *p, const char *path) {
  if (!json_is_object(p)) return DATA_LOSS("pre_tokenizer is not an object");
  const char *type = type_of(p);
  if (!type) return DATA_LOSS("pre_tokenizer has no \"type\"");
  if (!strcmp(type, "Sequence")) {
    const json_t *list = json_object_get(p, "pretokenizers");
    if (!json_is_array(list))
      return DATA_LOSS("pre_tokenizer Sequence has no \"pretokenizers\" array");
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) LLMC_RETURN_IF_ERROR(parse_pre_tokenizer(t, m, path));
    return NULL;
  }
  if (t->n_stages == MAX_STAGES)
    return UNSUPPORTED("more than %d pre_tokenizer stages are not supported", MAX_STAGES);
  if (!strcmp(type, "Split")) return parse_split(t, p, path);
  if (!strcmp(type, "ByteLevel")) {
    /* Absent flags take Hugging Face's defaults (both true). */
    const json_t *prefix = json_object_get(p, "add_prefix_space");
    const json_t *regex = json_object_get(p, "use_regex");
    stage_t *st = &t->stages[t->n_stages];
    *st = (stage_t){
        .byte_level = true,
        .add_prefix_space = prefix ? json_is_true(prefix) : true,
        .use_regex = regex ? json_is_true(regex) : true,
    };
    if (st->use_regex) LLMC_RETURN_IF_ERROR(compile_regex(k_gpt2_regex, strlen(k_gpt2_regex), &st->re, path));
    t->n_stages++;
    return NULL;
  }
  if (!strcmp(type, "Metaspace")) {
    /* replacement (U+2581), prepend_scheme (always, first, never; older
     * files: add_prefix_space), split (default true). */
    const json_t *r = json_object_get(p, "replacement"), *scheme = json_object_get(p, "prepend_scheme");
    const json_t *split = json_object_get(p, "split"), *prefix = json_object_get(p, "add_prefix_space");
    if (!json_is_string(r) || json_string_length(r) == 0) return DATA_LOSS("Metaspace has no \"replacement\" string");
    prepend_t pre = prefix && !json_is_true(prefix) ? PREPEND_NEVER : PREPEND_ALWAYS;
    if (json_is_string(scheme)) {
      const char *v = json_string_value(scheme);
      if (!strcmp(v, "always")) pre = PREPEND_ALWAYS;
      else if (!strcmp(v, "first")) pre = PREPEND_FIRST;
      else if (!strcmp(v, "never")) pre = PREPEND_NEVER;
      else return DATA_LOSS("Metaspace prepend_scheme \"%s\" is not always, first or never", v);
    }
    stage_t *st = &t->stages[t->n_stages];
    *st = (stage_t){.metaspace = true, .split = split ? json_is_true(split) : true, .literal = arena_bytes(t, r),
                    .literal_len = (uint32_t)json_string_length(r), .behavior = BEHAVIOR_WITH_NEXT, .prepend = pre};
    if (!st->literal) return OOM();
    t->n_stages++;
    return NULL;
  }
  return UNSUPPORTED("pre_tokenizer \"%s\" is not supported (llmc reads ByteLevel, Split, Metaspace)", type);
}

/* What decoding does, read from the decoder: ByteLevel (the byte alphabet,
 * undone at load), and for char-level tokenizers Replace (of a literal
 * string), ByteFallback, Fuse (a no-op for llmc, which decodes to one
 * string), Strip of leading spaces and Metaspace. */
typedef struct {
  bool byte_level, byte_fallback;
  const json_t *from[MAX_REPLACES], *to[MAX_REPLACES];
  int n_replaces;
} decoder_t;

static llmc_status_t *parse_decoder(llmc_tokenizer_t *t, const json_t *d, decoder_t *out, int depth,
                                    const char *path) {
  if (!d || json_is_null(d)) return NULL;
  const char *type = type_of(d);
  if (!type) return DATA_LOSS("decoder has no \"type\"");
  if (!strcmp(type, "ByteLevel")) {
    out->byte_level = true;
    return NULL;
  }
  if (!strcmp(type, "Sequence")) {
    const json_t *list = json_object_get(d, "decoders");
    if (!json_is_array(list)) return DATA_LOSS("decoder Sequence has no \"decoders\" array");
    if (depth > 4) return UNSUPPORTED("decoder Sequences nested deeper than 4 are not supported");
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) LLMC_RETURN_IF_ERROR(parse_decoder(t, m, out, depth + 1, path));
    return NULL;
  }
  if (!strcmp(type, "ByteFallback")) {
    out->byte_fallback = true;
    return NULL;
  }
  if (!strcmp(type, "Fuse")) return NULL;
  bool metaspace = !strcmp(type, "Metaspace");
  if (!strcmp(type, "Replace") || metaspace) {
    const json_t *from = metaspace ? json_object_get(d, "replacement") : json_object_get(json_object_get(d, "pattern"), "String");
    const json_t *to = metaspace ? NULL : json_object_get(d, "content");
    if (!json_is_string(from) || json_string_length(from) == 0 || (!metaspace && !json_is_string(to)))
      return UNSUPPORTED("decoder %s other than of a literal string is not supported", type);
    if (out->n_replaces == MAX_REPLACES) return UNSUPPORTED("more than %d decoder Replace steps are not supported", MAX_REPLACES);
    out->from[out->n_replaces] = from;
    out->to[out->n_replaces++] = to; /* NULL: a space */
    if (metaspace) {
      const json_t *scheme = json_object_get(d, "prepend_scheme"), *prefix = json_object_get(d, "add_prefix_space");
      bool never = (json_is_string(scheme) && !strcmp(json_string_value(scheme), "never")) ||
                   (prefix && !json_is_true(prefix));
      if (!never) t->strip_start = 1;
    }
    return NULL;
  }
  if (!strcmp(type, "Strip")) {
    const json_t *content = json_object_get(d, "content"), *start = json_object_get(d, "start"), *stop = json_object_get(d, "stop");
    if (!json_is_string(content) || strcmp(json_string_value(content), " ") || !json_is_integer(start) ||
        !json_is_integer(stop) || json_integer_value(stop) != 0 || json_integer_value(start) < 0 ||
        json_integer_value(start) > 16)
      return UNSUPPORTED("decoder Strip other than of up to 16 leading spaces is not supported");
    t->strip_start = (int)json_integer_value(start);
    return NULL;
  }
  return UNSUPPORTED("decoder \"%s\" is not supported", type);
}

static llmc_status_t *check_model(const json_t *model, const char *path) {
  if (!json_is_object(model)) return DATA_LOSS("missing \"model\" object");
  const char *type = type_of(model);
  /* Files from older tokenizers versions omit the type of a BPE model. */
  if (!type && json_object_get(model, "type")) return DATA_LOSS("model.type is not a string");
  if (!type && !json_object_get(model, "merges")) return DATA_LOSS("model has no \"type\"");
  if (type && strcmp(type, "BPE"))
    return UNSUPPORTED("tokenizer model \"%s\" is not supported (llmc reads BPE only)", type);
  static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (size_t i = 0; i < 2; i++) {
    const json_t *a = json_object_get(model, affixes[i]);
    if (json_is_string(a) && json_string_length(a) > 0)
      return UNSUPPORTED("BPE with a %s is not supported", affixes[i]);
  }
  return NULL;
}

static llmc_status_t *check_id(const json_t *v, const char *what, const char *name,
                               const char *path, int32_t *out_id) {
  if (!json_is_integer(v)) return DATA_LOSS("%s \"%s\": id is not an integer", what, name);
  json_int_t id = json_integer_value(v);
  if (id < 0 || id >= MAX_TOKENS)
    return DATA_LOSS("%s \"%s\": id %lld is outside [0, %d)", what, name, (long long)id,
                     MAX_TOKENS);
  *out_id = (int32_t)id;
  return NULL;
}

/* Fills tok/tok_len/vocab/byte_id from model.vocab and added_tokens. */
static llmc_status_t *load_vocab(llmc_tokenizer_t *t, const alphabet_t *al, const json_t *vocab,
                                 const json_t *added, const char *path) {
  if (!json_is_object(vocab)) return DATA_LOSS("model.vocab is missing or not an object");
  if (added && !json_is_null(added) && !json_is_array(added))
    return DATA_LOSS("added_tokens is not an array");
  int32_t max_id = -1, id = 0;
  const char *key;
  const json_t *v;
  size_t i;
  json_object_foreach((json_t *)vocab, key, v) {
    LLMC_RETURN_IF_ERROR(check_id(v, "model.vocab", key, path, &id));
    if (id > max_id) max_id = id;
  }
  size_t n_added = json_is_array(added) ? json_array_size(added) : 0;
  for (i = 0; i < n_added; i++) {
    const json_t *a = json_array_get(added, i);
    const json_t *content = json_object_get(a, "content");
    if (!json_is_string(content))
      return DATA_LOSS("added_tokens[%zu] has no \"content\" string", i);
    LLMC_RETURN_IF_ERROR(
        check_id(json_object_get(a, "id"), "added token", json_string_value(content), path, &id));
    if (id > max_id) max_id = id;
  }
  if (max_id < 0) return DATA_LOSS("the vocabulary is empty");

  t->n_ids = max_id + 1;
  t->tok = llmc_arena_alloc(t->arena, (size_t)t->n_ids * sizeof *t->tok);
  t->tok_len = llmc_arena_alloc(t->arena, (size_t)t->n_ids * sizeof *t->tok_len);
  size_t cap = table_cap(json_object_size(vocab));
  t->vocab = (str_map_t){llmc_arena_alloc(t->arena, cap * sizeof(str_slot_t)), cap - 1};
  t->added = llmc_arena_alloc(t->arena, (n_added + 1) * sizeof *t->added);
  if (!t->tok || !t->tok_len || !t->vocab.slots || !t->added) return OOM();

  json_object_foreach((json_t *)vocab, key, v) {
    id = (int32_t)json_integer_value(v);
    size_t len = strlen(key), blen;
    uint8_t *bytes = llmc_arena_alloc(t->arena, len + 1);
    if (!bytes) return OOM();
    if (t->tok[id]) return DATA_LOSS("model.vocab \"%s\": id %d is already taken", key, id);
    if (alphabet_decode(al, key, len, bytes, &blen)) {
      str_map_put(&t->vocab, bytes, (uint32_t)blen, id);
    } else {
      /* Not byte-level text (a special token in a foreign alphabet): decodes
       * as its own UTF-8, as Hugging Face's ByteLevel decoder does. */
      memcpy(bytes, key, len);
      blen = len;
    }
    t->tok[id] = bytes;
    t->tok_len[id] = (uint32_t)blen;
  }
  for (i = 0; i < n_added; i++) {
    const json_t *a = json_array_get(added, i);
    const json_t *content = json_object_get(a, "content");
    id = (int32_t)json_integer_value(json_object_get(a, "id"));
    size_t len = json_string_length(content);
    const uint8_t *text =
        (const uint8_t *)llmc_arena_strndup(t->arena, json_string_value(content), len);
    if (!text) return OOM();
    t->tok[id] = text;
    t->tok_len[id] = (uint32_t)len;
    if (len > 0) t->added[t->n_added++] = (added_t){text, (uint32_t)len, id};
  }
  for (unsigned b = 0; b < 256; b++) {
    uint8_t byte = (uint8_t)b;
    t->byte_id[b] = str_map_get(&t->vocab, &byte, 1);
  }
  return NULL;
}

static int added_cmp(const void *pa, const void *pb) {
  const added_t *a = pa, *b = pb;
  if (a->text[0] != b->text[0]) return a->text[0] < b->text[0] ? -1 : 1;
  if (a->len != b->len) return a->len > b->len ? -1 : 1; /* longest first */
  return memcmp(a->text, b->text, a->len);
}

static void index_added(llmc_tokenizer_t *t) {
  if (t->n_added) qsort(t->added, t->n_added, sizeof *t->added, added_cmp);
  size_t k = 0;
  for (unsigned b = 0; b <= 256; b++) {
    while (k < t->n_added && t->added[k].text[0] < b) k++;
    t->added_start[b] = (uint32_t)k;
  }
}

/* One merge as a byte-alphabet string pair; false when not in the alphabet. */
static bool merge_side(const alphabet_t *al, const json_t *s, size_t off, size_t n, uint8_t *buf,
                       size_t *out_len) {
  return alphabet_decode(al, json_string_value(s) + off, n, buf, out_len);
}

static llmc_status_t *load_merges(llmc_tokenizer_t *t, const alphabet_t *al, const json_t *merges,
                                  const char *path) {
  if (!json_is_array(merges)) return DATA_LOSS("model.merges is missing or not an array");
  size_t n = json_array_size(merges);
  if (n >= INT32_MAX) return DATA_LOSS("model.merges has %zu entries", n);
  size_t cap = table_cap(n);
  t->merges = (pair_map_t){llmc_arena_alloc(t->arena, cap * sizeof(pair_slot_t)), cap - 1};
  if (!t->merges.slots) return OOM();
  uint8_t *buf = NULL;
  size_t buf_cap = 0;
  llmc_status_t *st = NULL;
  for (size_t i = 0; i < n && !st; i++) {
    const json_t *m = json_array_get(merges, i);
    const json_t *ls, *rs;
    size_t loff = 0, llen, roff, rlen;
    if (json_is_string(m)) { /* "left right" */
      const char *s = json_string_value(m), *sp = strchr(s, ' ');
      if (!sp || strchr(sp + 1, ' ')) {
        st = DATA_LOSS("model.merges[%zu] \"%s\" is not two tokens separated by a space", i, s);
        break;
      }
      ls = rs = m;
      llen = (size_t)(sp - s);
      roff = llen + 1;
      rlen = json_string_length(m) - roff;
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
      ls = json_array_get(m, 0);
      rs = json_array_get(m, 1);
      llen = json_string_length(ls);
      roff = 0;
      rlen = json_string_length(rs);
    } else {
      st = DATA_LOSS("model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", i);
      break;
    }
    if (llen + rlen > buf_cap) {
      buf_cap = 2 * (llen + rlen);
      free(buf);
      if (!(buf = malloc(buf_cap))) {
        st = OOM();
        break;
      }
    }
    size_t lb, rb;
    /* A side outside the byte alphabet can never be formed from bytes, so
     * the merge can never apply. */
    if (!merge_side(al, ls, loff, llen, buf, &lb) || !merge_side(al, rs, roff, rlen, buf + lb, &rb))
      continue;
    int32_t left = str_map_get(&t->vocab, buf, lb), right = str_map_get(&t->vocab, buf + lb, rb);
    int32_t merged = str_map_get(&t->vocab, buf, lb + rb);
    if (left < 0 || right < 0 || merged < 0) {
      const char *l = json_string_value(ls) + loff, *r = json_string_value(rs) + roff;
      if (left < 0 || right < 0)
        st = DATA_LOSS("model.merges[%zu]: \"%.*s\" is not in the vocabulary", i,
                       (int)(left < 0 ? llen : rlen), left < 0 ? l : r);
      else
        st = DATA_LOSS("model.merges[%zu]: \"%.*s\" + \"%.*s\" is not in the vocabulary", i,
                       (int)llen, l, (int)rlen, r);
      break;
    }
    pair_map_put(&t->merges, left, right, (int32_t)i, merged);
  }
  free(buf);
  return st;
}

int32_t llmc_tokenizer_find(const llmc_tokenizer_t *t, const char *s, size_t len) {
  const uint8_t *p = (const uint8_t *)s;
  if (len > 0)
    for (uint32_t k = t->added_start[p[0]]; k < t->added_start[p[0] + 1]; k++)
      if (t->added[k].len == len && !memcmp(t->added[k].text, p, len)) return t->added[k].id;
  return str_map_get(&t->vocab, p, len);
}

/* ---- Special tokens: what encode adds, BOS and EOS ------------------------
 *
 * Never guessed from a token's name: a vocabulary entry spelled "<s>" is an
 * ordinary token unless a file says otherwise (Qwen3 has one and no BOS).
 * The precedence follows transformers:
 *   - what encode(add_special) adds is what the post_processor adds:
 *     TemplateProcessing's "single" (the special tokens before $A, then those
 *     after it), or RobertaProcessing/BertProcessing's cls and sep;
 *   - tokenizer_config.json's add_bos_token / add_eos_token, where present,
 *     replace that side of the template with [bos_token] or nothing, as
 *     LlamaTokenizerFast.update_post_processor rebuilds the template from
 *     them (a flag that is true needs the token it names);
 *   - BOS (informational) is tokenizer_config.json's bos_token where the key
 *     is present (null: none), else generation_config.json's bos_token_id,
 *     else the first special token the template adds;
 *   - the stop ids are generation_config.json's eos_token_id (an id or a
 *     list), as generate() uses, else tokenizer_config.json's eos_token.
 * A token is a string or an object with "content" (an AddedToken); every id
 * is checked against the vocabulary. */

/* Appends the ids a template's special token stands for to ids[*n]. */
static llmc_status_t *add_template_ids(const llmc_tokenizer_t *t, const json_t *ids_json,
                                       const char *name, int32_t *ids, int *n, const char *path) {
  if (!json_is_array(ids_json))
    return DATA_LOSS("post_processor: special token \"%s\" has no \"ids\" list", name);
  size_t i;
  const json_t *v;
  json_array_foreach(ids_json, i, v) {
    if (*n == MAX_SPECIALS)
      return UNSUPPORTED("post_processor: more than %d special tokens on one side", MAX_SPECIALS);
    json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
    if (id < 0 || id >= t->n_ids || !t->tok[id])
      return DATA_LOSS("post_processor: special token \"%s\" has an id that is not in the vocabulary",
                       name);
    ids[(*n)++] = (int32_t)id;
  }
  return NULL;
}

/* TemplateProcessing: "single" is a list of {"SpecialToken": {"id": NAME}}
 * and one {"Sequence": {"id": "A"}}; NAME's ids are in "special_tokens". */
static llmc_status_t *parse_template(llmc_tokenizer_t *t, const json_t *post, const char *path) {
  const json_t *single = json_object_get(post, "single");
  const json_t *specials = json_object_get(post, "special_tokens");
  if (!json_is_array(single)) return DATA_LOSS("post_processor: TemplateProcessing has no \"single\" list");
  if (specials && !json_is_object(specials))
    return DATA_LOSS("post_processor: \"special_tokens\" is not an object");
  bool seen_seq = false;
  size_t i;
  const json_t *item;
  json_array_foreach(single, i, item) {
    if (json_object_get(item, "Sequence")) {
      if (seen_seq) return UNSUPPORTED("post_processor: a \"single\" template with two sequences");
      seen_seq = true;
      continue;
    }
    const json_t *name = json_object_get(json_object_get(item, "SpecialToken"), "id");
    if (!json_is_string(name))
      return DATA_LOSS("post_processor: single[%zu] is neither a SpecialToken nor a Sequence", i);
    const char *s = json_string_value(name);
    const json_t *entry = json_object_get(specials, s);
    if (!entry) return DATA_LOSS("post_processor: special token \"%s\" is not in special_tokens", s);
    LLMC_RETURN_IF_ERROR(add_template_ids(t, json_object_get(entry, "ids"), s,
                                          seen_seq ? t->suffix : t->prefix,
                                          seen_seq ? &t->n_suffix : &t->n_prefix, path));
  }
  if (!seen_seq) return DATA_LOSS("post_processor: the \"single\" template has no Sequence");
  return NULL;
}

/* RobertaProcessing / BertProcessing: "cls": [token, id] before the text and
 * "sep": [token, id] after it. */
static llmc_status_t *parse_cls_sep(llmc_tokenizer_t *t, const json_t *post, const char *path) {
  static const char *const keys[] = {"cls", "sep"};
  for (int k = 0; k < 2; k++) {
    const json_t *pair = json_object_get(post, keys[k]);
    const json_t *id = json_array_get(pair, 1);
    json_int_t v = json_is_integer(id) ? json_integer_value(id) : -1;
    if (v < 0 || v >= t->n_ids || !t->tok[v])
      return DATA_LOSS("post_processor: \"%s\" is not [token, id] with an id in the vocabulary",
                       keys[k]);
    if (k == 0)
      t->prefix[t->n_prefix++] = (int32_t)v;
    else
      t->suffix[t->n_suffix++] = (int32_t)v;
  }
  return NULL;
}

static llmc_status_t *parse_post_processor(llmc_tokenizer_t *t, const json_t *post, int depth,
                                           const char *path) {
  if (!post || json_is_null(post)) return NULL;
  const char *type = json_is_object(post) ? type_of(post) : NULL;
  if (!type) return DATA_LOSS("post_processor has no \"type\"");
  if (!strcmp(type, "ByteLevel")) return NULL; /* offsets only */
  bool adds = !strcmp(type, "TemplateProcessing") || !strcmp(type, "RobertaProcessing") ||
              !strcmp(type, "BertProcessing");
  if (adds && (t->n_prefix || t->n_suffix))
    return UNSUPPORTED("post_processor: more than one processor adds special tokens");
  if (!strcmp(type, "TemplateProcessing")) return parse_template(t, post, path);
  if (adds) return parse_cls_sep(t, post, path);
  if (!strcmp(type, "Sequence") && depth == 0) {
    const json_t *list = json_object_get(post, "processors");
    if (!json_is_array(list)) return DATA_LOSS("post_processor Sequence has no \"processors\" array");
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p) LLMC_RETURN_IF_ERROR(parse_post_processor(t, p, 1, path));
    return NULL;
  }
  return UNSUPPORTED("post_processor \"%s\" is not supported", type);
}

/* A token in tokenizer_config.json: a string, an AddedToken object with
 * "content", or null. *out_id is -1 for null, else the token's id. */
static llmc_status_t *config_token(const llmc_tokenizer_t *t, const json_t *v, const char *key,
                                   const char *path, int32_t *out_id) {
  *out_id = -1;
  if (json_is_null(v)) return NULL;
  const json_t *content = json_is_object(v) ? json_object_get(v, "content") : v;
  if (!json_is_string(content))
    return DATA_LOSS("\"%s\" is neither a string, an object with a \"content\" string, nor null", key);
  *out_id = llmc_tokenizer_find(t, json_string_value(content), json_string_length(content));
  if (*out_id < 0) {
    char *shown = llmc_printable_dup(json_string_value(content));
    llmc_status_t *s = DATA_LOSS("%s \"%s\" is not a token of the vocabulary", key,
                                 shown ? shown : "?");
    free(shown);
    return s;
  }
  return NULL;
}

static llmc_status_t *config_flag(const json_t *cfg, const char *key, const char *path, int *out) {
  const json_t *v = json_object_get(cfg, key);
  *out = -1; /* absent */
  if (!v || json_is_null(v)) return NULL;
  if (!json_is_boolean(v)) return DATA_LOSS("\"%s\" must be true or false", key);
  *out = json_is_true(v);
  return NULL;
}

/* bos/eos from tokenizer_config.json (ids; -2: the key is absent). */
typedef struct {
  int32_t bos, eos;         /* -1: null, -2: absent */
  int32_t gen_bos;          /* generation_config bos_token_id; -2: absent */
  int32_t gen_eos[LLMC_TOKENIZER_MAX_STOP];
  int n_gen_eos;            /* -1: absent */
} declared_t;

static llmc_status_t *apply_tokenizer_config(llmc_tokenizer_t *t, const json_t *cfg, declared_t *d,
                                             const char *path) {
  if (!json_is_object(cfg)) return DATA_LOSS("the top level is not a JSON object");
  static const char *const keys[] = {"bos_token", "eos_token"};
  int32_t *outs[] = {&d->bos, &d->eos};
  for (int k = 0; k < 2; k++) {
    const json_t *v = json_object_get(cfg, keys[k]);
    if (v) LLMC_RETURN_IF_ERROR(config_token(t, v, keys[k], path, outs[k]));
  }
  int add_bos, add_eos;
  LLMC_RETURN_IF_ERROR(config_flag(cfg, "add_bos_token", path, &add_bos));
  LLMC_RETURN_IF_ERROR(config_flag(cfg, "add_eos_token", path, &add_eos));
  if (add_bos == 1 && d->bos < 0) return DATA_LOSS("add_bos_token is true but there is no bos_token");
  if (add_eos == 1 && d->eos < 0) return DATA_LOSS("add_eos_token is true but there is no eos_token");
  if (add_bos >= 0) {
    t->n_prefix = add_bos;
    t->prefix[0] = d->bos;
  }
  if (add_eos >= 0) {
    t->n_suffix = add_eos;
    t->suffix[0] = d->eos;
  }
  return NULL;
}

static llmc_status_t *gen_id(const llmc_tokenizer_t *t, const json_t *v, const char *key,
                             const char *path, int32_t *out) {
  json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
  if (!json_is_integer(v)) return DATA_LOSS("\"%s\" must be a token id or a list of them", key);
  if (id < 0 || id >= t->n_ids || !t->tok[id])
    return DATA_LOSS("%s %lld is not a token of the %d-token vocabulary", key, (long long)id,
                     t->n_ids);
  *out = (int32_t)id;
  return NULL;
}

static llmc_status_t *apply_generation_config(const llmc_tokenizer_t *t, const json_t *gen,
                                              declared_t *d, const char *path) {
  if (!json_is_object(gen)) return DATA_LOSS("the top level is not a JSON object");
  const json_t *bos = json_object_get(gen, "bos_token_id");
  if (json_is_null(bos)) d->gen_bos = -1;
  else if (bos) LLMC_RETURN_IF_ERROR(gen_id(t, bos, "bos_token_id", path, &d->gen_bos));
  const json_t *eos = json_object_get(gen, "eos_token_id");
  if (!eos || json_is_null(eos)) return NULL;
  d->n_gen_eos = 0;
  if (!json_is_array(eos)) return gen_id(t, eos, "eos_token_id", path, &d->gen_eos[d->n_gen_eos++]);
  if (json_array_size(eos) > LLMC_TOKENIZER_MAX_STOP)
    return DATA_LOSS("eos_token_id lists %zu ids; at most %d are supported", json_array_size(eos),
                     LLMC_TOKENIZER_MAX_STOP);
  size_t i;
  const json_t *v;
  json_array_foreach(eos, i, v)
      LLMC_RETURN_IF_ERROR(gen_id(t, v, "eos_token_id", path, &d->gen_eos[d->n_gen_eos++]));
  return NULL;
}

/* An upper-case hexadecimal digit's value (as in "<0x0A>"), else -1. */
static int hex_digit(uint8_t c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/* Token id's text through the decoder (char level; see decode_vocab). */
static llmc_status_t *decode_token_text(llmc_tokenizer_t *t, const decoder_t *d, int32_t id, const char *path) {
  const uint8_t *w = t->tok[id];
  uint32_t n = t->tok_len[id];
  int hi, lo;
  if (d->byte_fallback && n == 6 && !memcmp(w, "<0x", 3) && w[5] == '>' && (hi = hex_digit(w[3])) >= 0 &&
      (lo = hex_digit(w[4])) >= 0) {
    uint8_t *b = llmc_arena_alloc(t->arena, 1);
    if (!b) return OOM();
    b[0] = (uint8_t)(hi * 16 + lo);
    t->tok[id] = b;
    t->tok_len[id] = 1;
    return NULL;
  }
  for (int r = 0; r < d->n_replaces; r++) {
    const uint8_t *from = (const uint8_t *)json_string_value(d->from[r]);
    size_t fl = json_string_length(d->from[r]);
    const uint8_t *to = d->to[r] ? (const uint8_t *)json_string_value(d->to[r]) : (const uint8_t *)" ";
    size_t tl = d->to[r] ? json_string_length(d->to[r]) : 1;
    llmc_buf_t out = {0};
    replace_all(&out, w, n, from, fl, to, tl);
    uint8_t *copy = out.failed ? NULL : llmc_arena_alloc(t->arena, out.len + 1);
    if (copy && out.len) memcpy(copy, out.data, out.len);
    size_t len = out.len;
    llmc_buf_free(&out);
    if (!copy) return OOM();
    w = copy;
    n = (uint32_t)len;
  }
  t->tok[id] = w;
  t->tok_len[id] = n;
  return NULL;
}

/* Char level: each token's text through the decoder (<0xXX> is its byte
 * with ByteFallback; Replace steps in order), in tok[], as Hugging Face's
 * decoders treat every token, added ones included (Gemma's runs of U+2581
 * are added tokens); the vocabulary map and added-token matching keep the
 * raw strings. */
static llmc_status_t *decode_vocab(llmc_tokenizer_t *t, const decoder_t *d, const char *path) {
  for (int32_t id = 0; id < t->n_ids; id++)
    if (t->tok[id]) LLMC_RETURN_IF_ERROR(decode_token_text(t, d, id, path));
  return NULL;
}

static llmc_status_t *load_json(llmc_tokenizer_t *t, const json_t *root, const char *path) {
  if (!json_is_object(root)) return DATA_LOSS("the top level is not a JSON object");
  const json_t *model = json_object_get(root, "model");
  LLMC_RETURN_IF_ERROR(check_model(model, path));
  LLMC_RETURN_IF_ERROR(parse_normalizer(t, json_object_get(root, "normalizer"), 0, path));
  const json_t *pre = json_object_get(root, "pre_tokenizer");
  if (pre && !json_is_null(pre)) LLMC_RETURN_IF_ERROR(parse_pre_tokenizer(t, pre, path));
  decoder_t dec = {0};
  LLMC_RETURN_IF_ERROR(parse_decoder(t, json_object_get(root, "decoder"), &dec, 0, path));
  /* Byte level when a ByteLevel stage says so; else sentencepiece-style. */
  bool byte_level = false, metaspace = false;
  for (int i = 0; i < t->n_stages; i++) byte_level |= t->stages[i].byte_level, metaspace |= t->stages[i].metaspace;
  t->char_level = !byte_level;
  if (byte_level && (metaspace || dec.byte_fallback || dec.n_replaces))
    return UNSUPPORTED("a ByteLevel pre_tokenizer with Metaspace, ByteFallback or Replace steps is not supported");
  if (!byte_level && dec.byte_level)
    return UNSUPPORTED("a ByteLevel decoder without a ByteLevel pre_tokenizer is not supported");

  alphabet_t al;
  alphabet_init(&al);
  const alphabet_t *alpha = byte_level ? &al : NULL;
  LLMC_RETURN_IF_ERROR(load_vocab(t, alpha, json_object_get(model, "vocab"),
                                  json_object_get(root, "added_tokens"), path));
  index_added(t);
  LLMC_RETURN_IF_ERROR(load_merges(t, alpha, json_object_get(model, "merges"), path));
  t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
  t->unk = -1;
  if (t->char_level) {
    t->byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    t->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    const json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk)) {
      t->unk = llmc_tokenizer_find(t, json_string_value(unk), json_string_length(unk));
      if (t->unk < 0) return DATA_LOSS("model.unk_token \"%s\" is not in the vocabulary", json_string_value(unk));
    }
    /* The byte tokens a character falls back to. */
    for (unsigned b = 0; b < 256; b++) {
      char name[8];
      snprintf(name, sizeof name, "<0x%02X>", b);
      t->byte_id[b] = t->byte_fallback ? str_map_get(&t->vocab, (const uint8_t *)name, 6) : -1;
    }
    LLMC_RETURN_IF_ERROR(decode_vocab(t, &dec, path));
  }
  return parse_post_processor(t, json_object_get(root, "post_processor"), 0, path);
}

/* Reads a JSON file of at most limit bytes; *out NULL when path is. */
static llmc_status_t *read_json_file(const char *path, uint64_t limit, size_t flags, json_t **out) {
  *out = NULL;
  if (!path) return NULL;
  char *text = NULL;
  size_t len = 0;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, limit, &text, &len));
  json_error_t jerr;
  *out = json_loadb(text, len, JSON_REJECT_DUPLICATES | flags, &jerr);
  free(text);
  if (!*out) return DATA_LOSS("line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
  return NULL;
}

/* The tokenizer of parsed files: root is tokenizer.json's, cfg and gen
 * tokenizer_config.json's and generation_config.json's (NULL when absent). */
static llmc_status_t *load_roots(llmc_tokenizer_t *t, const json_t *root, const char *path, const json_t *cfg,
                                 const char *config_path, const json_t *gen, const char *generation_path) {
  LLMC_RETURN_IF_ERROR(load_json(t, root, path));
  declared_t d = {.bos = -2, .eos = -2, .gen_bos = -2, .n_gen_eos = -1};
  if (cfg) LLMC_RETURN_IF_ERROR(apply_tokenizer_config(t, cfg, &d, config_path));
  if (gen) LLMC_RETURN_IF_ERROR(apply_generation_config(t, gen, &d, generation_path));
  t->bos = d.bos != -2 ? d.bos : d.gen_bos != -2 ? d.gen_bos : t->n_prefix ? t->prefix[0] : -1;
  if (d.n_gen_eos >= 0) {
    memcpy(t->stop, d.gen_eos, (size_t)d.n_gen_eos * sizeof *t->stop);
    t->n_stop = d.n_gen_eos;
  } else if (d.eos >= 0) {
    t->stop[t->n_stop++] = d.eos;
  }
  return NULL;
}

static llmc_status_t *load_all(llmc_tokenizer_t *t, const char *path, const char *config_path,
                               const char *generation_path) {
  json_t *root = NULL, *cfg = NULL, *gen = NULL;
  /* tokenizer_config.json holds no ids, and Llama 3's holds a
   * model_max_length beyond 64 bits: numbers are read as reals. */
  llmc_status_t *st = read_json_file(path, MAX_FILE_BYTES, 0, &root);
  if (!st) st = read_json_file(config_path, MAX_CONFIG_BYTES, JSON_DECODE_INT_AS_REAL, &cfg);
  if (!st) st = read_json_file(generation_path, MAX_CONFIG_BYTES, 0, &gen);
  if (!st) st = load_roots(t, root, path, cfg, config_path, gen, generation_path);
  json_decref(root);
  json_decref(cfg);
  json_decref(gen);
  return st;
}

llmc_status_t *llmc_tokenizer_load_text(const char *json, size_t len, const char *config_json, size_t config_len,
                                        const char *where, llmc_tokenizer_t **out_tokenizer) {
  *out_tokenizer = NULL;
  const char *path = where;
  llmc_tokenizer_t *t = calloc(1, sizeof *t);
  if (!t || !(t->arena = llmc_arena_create())) {
    free(t);
    return OOM();
  }
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *cfg = NULL;
  llmc_status_t *st = root ? NULL : DATA_LOSS("line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
  if (!st && config_json && !(cfg = json_loadb(config_json, config_len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr)))
    st = DATA_LOSS("tokenizer config: line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
  if (!st) st = load_roots(t, root, where, cfg, where, NULL, NULL);
  json_decref(root);
  json_decref(cfg);
  if (st) {
    llmc_tokenizer_destroy(t);
    return st;
  }
  *out_tokenizer = t;
  return NULL;
}

llmc_status_t *llmc_tokenizer_load_files(const char *path, const char *config_path,
                                         const char *generation_path,
                                         llmc_tokenizer_t **out_tokenizer) {
  *out_tokenizer = NULL;
  llmc_status_t *st = NULL;
  llmc_tokenizer_t *t = calloc(1, sizeof *t);
  if (!t || !(t->arena = llmc_arena_create()))
    st = OOM();
  else
    st = load_all(t, path, config_path, generation_path);
  if (st) {
    llmc_tokenizer_destroy(t);
    return st;
  }
  *out_tokenizer = t;
  return NULL;
}

llmc_status_t *llmc_tokenizer_load(const char *path, llmc_tokenizer_t **out_tokenizer) {
  return llmc_tokenizer_load_files(path, NULL, NULL, out_tokenizer);
}

/* dir/name confined to dir; *out NULL when it does not exist and may not. */
static llmc_status_t *confine(llmc_arena_t *a, const char *dir, const char *name, bool optional,
                              const char **out) {
  llmc_status_t *st = llmc_path_confine(a, dir, name, out);
  if (st && optional && llmc_status_code(st) == LLMC_NOT_FOUND) {
    llmc_status_free(st);
    *out = NULL;
    return NULL;
  }
  return st;
}

llmc_status_t *llmc_tokenizer_load_dir(const char *dir, llmc_tokenizer_t **out_tokenizer) {
  *out_tokenizer = NULL;
  llmc_arena_t *a = llmc_arena_create();
  if (!a) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, dir, "out of memory");
  const char *tok = NULL, *cfg = NULL, *gen = NULL;
  llmc_status_t *st = confine(a, dir, "tokenizer.json", false, &tok);
  if (!st) st = confine(a, dir, "tokenizer_config.json", true, &cfg);
  if (!st) st = confine(a, dir, "generation_config.json", true, &gen);
  if (!st) st = llmc_tokenizer_load_files(tok, cfg, gen, out_tokenizer);
  llmc_arena_destroy(a);
  return st;
}

void llmc_tokenizer_destroy(llmc_tokenizer_t *t) {
  if (!t) return;
  /* A stage whose load failed midway may hold a regex without being counted. */
  for (int i = 0; i <= t->n_stages && i < MAX_STAGES; i++) onig_free(t->stages[i].re);
  llmc_arena_destroy(t->arena);
  free(t);
}

int32_t llmc_tokenizer_vocab_size(const llmc_tokenizer_t *t) { return t->n_ids; }
int32_t llmc_tokenizer_bos(const llmc_tokenizer_t *t) { return t->bos; }
int32_t llmc_tokenizer_eos(const llmc_tokenizer_t *t) { return t->n_stop ? t->stop[0] : -1; }

int llmc_tokenizer_stop_ids(const llmc_tokenizer_t *t, const int32_t **out_ids) {
  *out_ids = t->stop;
  return t->n_stop;
}

int llmc_tokenizer_special_ids(const llmc_tokenizer_t *t, bool suffix, const int32_t **out_ids) {
  *out_ids = suffix ? t->suffix : t->prefix;
  return suffix ? t->n_suffix : t->n_prefix;
}

llmc_status_t *llmc_tokenizer_decode_token(const llmc_tokenizer_t *t, int32_t id, llmc_buf_t *buf) {
  if (id < 0 || id >= t->n_ids || !t->tok[id])
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "token id %d is not in the vocabulary (size %d)", id,
                      t->n_ids);
  llmc_buf_append(buf, t->tok[id], t->tok_len[id]);
  if (buf->failed) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

llmc_status_t *llmc_tokenizer_decode(const llmc_tokenizer_t *t, const int32_t *ids, size_t n, llmc_buf_t *buf) {
  size_t start = buf->len;
  for (size_t i = 0; i < n; i++) LLMC_RETURN_IF_ERROR(llmc_tokenizer_decode_token(t, ids[i], buf));
  /* The decoder's Strip (or Metaspace's prepended space): leading spaces. */
  size_t k = 0;
  while (k < (size_t)t->strip_start && start + k < buf->len && buf->data[start + k] == ' ') k++;
  if (k) {
    memmove(buf->data + start, buf->data + start + k, buf->len - start - k);
    buf->len -= k;
  }
  return NULL;
}

/* ---- Encoding -------------------------------------------------------------- */

typedef struct {
  int32_t id;         /* -1 once merged into the symbol on its left */
  int32_t prev, next; /* neighbours in the piece; -1 at the ends */
} sym_t;

typedef struct {
  int32_t rank, pos;           /* heap order: lowest rank, then leftmost */
  int32_t left, right, merged; /* the pair when queued; stale if the symbols changed */
} cand_t;

/* Per-call state; scratch grows to the longest pre-token. */
typedef struct {
  int32_t *ids;
  size_t n, cap;
  sym_t *syms;  /* [sym_cap] */
  cand_t *heap; /* [3 * sym_cap]: n - 1 initial pairs plus 2 per merge */
  size_t sym_cap, heap_n;
  bool first; /* the segment being encoded starts the text (Metaspace "first") */
  OnigRegion *region; /* regex searches' scratch, made on first use */
  OnigMatchParam *mp;
} enc_t;

#define ENC_OOM() LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory")

static llmc_status_t *enc_push(enc_t *e, int32_t id) {
  if (e->n == e->cap) {
    int32_t *ids = realloc(e->ids, 2 * e->cap * sizeof *ids);
    if (!ids) return ENC_OOM();
    e->ids = ids;
    e->cap *= 2;
  }
  e->ids[e->n++] = id;
  return NULL;
}

static bool cand_less(const cand_t *a, const cand_t *b) {
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(enc_t *e, cand_t c) {
  assert(e->heap_n < 3 * e->sym_cap);
  size_t i = e->heap_n++;
  while (i > 0 && cand_less(&c, &e->heap[(i - 1) / 2])) {
    e->heap[i] = e->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  e->heap[i] = c;
}

static cand_t heap_pop(enc_t *e) {
  cand_t top = e->heap[0], last = e->heap[--e->heap_n];
  size_t i = 0, n = e->heap_n;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && cand_less(&e->heap[c + 1], &e->heap[c])) c++;
    if (!cand_less(&e->heap[c], &last)) break;
    e->heap[i] = e->heap[c];
    i = c;
  }
  if (n) e->heap[i] = last;
  return top;
}

static void queue_pair(const llmc_tokenizer_t *t, enc_t *e, int32_t pos) {
  if (pos < 0) return;
  int32_t next = e->syms[pos].next;
  if (next < 0) return;
  int32_t l = e->syms[pos].id, r = e->syms[next].id;
  const pair_slot_t *m = pair_map_get(&t->merges, l, r);
  if (m) heap_push(e, (cand_t){m->rank, pos, l, r, m->merged});
}

/* Byte-pair encodes one pre-token. */
static llmc_status_t *encode_bpe(const llmc_tokenizer_t *t, enc_t *e, const uint8_t *s, size_t n) {
  if (t->ignore_merges || n == 1) {
    int32_t id = str_map_get(&t->vocab, s, n);
    if (id >= 0) return enc_push(e, id);
  }
  if (n > INT32_MAX / 4)
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "a pre-token of %zu bytes is too long", n);
  if (n > e->sym_cap) {
    free(e->syms);
    free(e->heap);
    e->sym_cap = n;
    e->syms = malloc(n * sizeof *e->syms);
    e->heap = malloc(3 * n * sizeof *e->heap);
    if (!e->syms || !e->heap) return ENC_OOM();
  }
  size_t m = 0; /* symbols */
  if (!t->char_level) {
    for (size_t i = 0; i < n; i++) {
      int32_t id = t->byte_id[s[i]];
      if (id < 0)
        return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "the vocabulary has no token for byte 0x%02x", s[i]);
      e->syms[m++].id = id;
    }
  } else {
    /* One symbol per character; one not in the vocabulary becomes its
     * bytes' tokens, else the unknown token (fused with one before it). */
    for (size_t i = 0; i < n;) {
      uint32_t cp;
      size_t w = utf8_decode(s + i, n - i, &cp);
      int32_t id = str_map_get(&t->vocab, s + i, w);
      bool bytes = id < 0 && t->byte_fallback;
      for (size_t k = 0; bytes && k < w; k++) bytes = t->byte_id[s[i + k]] >= 0;
      if (id >= 0) {
        e->syms[m++].id = id;
      } else if (bytes) {
        for (size_t k = 0; k < w; k++) e->syms[m++].id = t->byte_id[s[i + k]];
      } else if (t->unk >= 0) {
        if (!(t->fuse_unk && m > 0 && e->syms[m - 1].id == t->unk)) e->syms[m++].id = t->unk;
      } else {
        return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "the vocabulary has no token for U+%04X and no unk_token",
                          (unsigned)cp);
      }
      i += w;
    }
  }
  for (size_t i = 0; i < m; i++) {
    e->syms[i].prev = (int32_t)i - 1;
    e->syms[i].next = i + 1 < m ? (int32_t)i + 1 : -1;
  }
  e->heap_n = 0;
  for (size_t i = 0; i + 1 < m; i++) queue_pair(t, e, (int32_t)i);
  while (e->heap_n) {
    cand_t c = heap_pop(e);
    sym_t *a = &e->syms[c.pos];
    if (a->id != c.left || a->next < 0 || e->syms[a->next].id != c.right) continue;
    sym_t *b = &e->syms[a->next];
    a->id = c.merged;
    a->next = b->next;
    if (b->next >= 0) e->syms[b->next].prev = c.pos;
    b->id = -1;
    queue_pair(t, e, a->prev);
    queue_pair(t, e, c.pos);
  }
  for (int32_t i = 0; i >= 0; i = e->syms[i].next) LLMC_RETURN_IF_ERROR(enc_push(e, e->syms[i].id));
  return NULL;
}

static llmc_status_t *encode_stage(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s,
                                   size_t n);

/* Split on st->literal with st->behavior, each piece on to the next stage. */
static llmc_status_t *split_literal(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s, size_t n) {
  const stage_t *st = &t->stages[stage];
  size_t p = st->literal_len, start = 0;
  for (size_t i = 0; i + p <= n;) {
    if (memcmp(s + i, st->literal, p)) {
      i++;
      continue;
    }
    size_t end = st->behavior == BEHAVIOR_WITH_PREVIOUS ? i + p : i;
    LLMC_RETURN_IF_ERROR(encode_stage(t, e, stage + 1, s + start, end - start));
    if (st->behavior == BEHAVIOR_ISOLATED) LLMC_RETURN_IF_ERROR(encode_stage(t, e, stage + 1, s + i, p));
    start = st->behavior == BEHAVIOR_WITH_NEXT ? i : i + p;
    i += p;
  }
  return encode_stage(t, e, stage + 1, s + start, n - start);
}

/* Metaspace: spaces become the replacement, which is prepended (always, or
 * to the text's first segment) unless there, then split before each one. */
static llmc_status_t *metaspace_stage(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s, size_t n) {
  const stage_t *st = &t->stages[stage];
  llmc_buf_t b = {0};
  bool pre = st->prepend == PREPEND_ALWAYS || (st->prepend == PREPEND_FIRST && e->first);
  if (pre && !(n >= st->literal_len && !memcmp(s, st->literal, st->literal_len)))
    llmc_buf_append(&b, st->literal, st->literal_len);
  replace_all(&b, s, n, (const uint8_t *)" ", 1, st->literal, st->literal_len);
  llmc_status_t *r = b.failed ? ENC_OOM()
                     : st->split ? split_literal(t, e, stage, (const uint8_t *)b.data, b.len)
                                 : encode_stage(t, e, stage + 1, (const uint8_t *)b.data, b.len);
  llmc_buf_free(&b);
  return r;
}

/* Split with st->re, Isolated: each match and each stretch between matches
 * is a pre-token (empty matches split nothing), s being valid UTF-8. */
static llmc_status_t *split_regex(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s, size_t n) {
  OnigRegex re = t->stages[stage].re;
  if (!e->region && !(e->region = onig_region_new())) return ENC_OOM();
  if (!e->mp) {
    if (!(e->mp = onig_new_match_param())) return ENC_OOM();
    onig_initialize_match_param(e->mp);
    onig_set_retry_limit_in_search_of_match_param(e->mp, REGEX_RETRY_LIMIT);
  }
  OnigRegion *region = e->region;
  llmc_status_t *st = NULL;
  size_t pos = 0, from = 0; /* pre-token start; search start */
  while (!st && from < n) {
    int r = onig_search_with_param(re, s, s + n, s + from, s + n, region, ONIG_OPTION_NONE, e->mp);
    if (r == ONIG_MISMATCH) break;
    if (r < 0) {
      st = LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL, "the pre_tokenizer regex failed on the text (Oniguruma error %d)", r);
      break;
    }
    size_t ms = (size_t)region->beg[0], me = (size_t)region->end[0];
    if (me == ms) { /* an empty match: search on from the next character */
      uint32_t cp;
      from = ms + (ms < n ? utf8_decode(s + ms, n - ms, &cp) : 1);
      continue;
    }
    if (ms > pos) st = encode_stage(t, e, stage + 1, s + pos, ms - pos);
    if (!st) st = encode_stage(t, e, stage + 1, s + ms, me - ms);
    pos = from = me;
  }
  if (!st && pos < n) st = encode_stage(t, e, stage + 1, s + pos, n - pos);
  return st;
}

/* Runs pre-tokenizer stage `stage` over s after any prefix space. */
static llmc_status_t *split_stage(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s,
                                  size_t n) {
  const stage_t *st = &t->stages[stage];
  if (st->metaspace) return metaspace_stage(t, e, stage, s, n);
  if (st->literal) return split_literal(t, e, stage, s, n);
  if (!st->re) return encode_stage(t, e, stage + 1, s, n);
  /* The regex runs on each stretch of valid UTF-8 (Oniguruma assumes valid
   * text); a stray byte is a pre-token of its own. */
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t j = i;
    while (j < n) {
      size_t w = utf8_decode(s + j, n - j, &cp);
      if (cp == CP_INVALID) break;
      j += w;
    }
    if (j > i) LLMC_RETURN_IF_ERROR(split_regex(t, e, stage, s + i, j - i));
    if (j < n) LLMC_RETURN_IF_ERROR(encode_stage(t, e, stage + 1, s + j, 1));
    i = j + 1;
  }
  return NULL;
}

static llmc_status_t *encode_stage(const llmc_tokenizer_t *t, enc_t *e, int stage, const uint8_t *s,
                                   size_t n) {
  if (n == 0) return NULL;
  if (stage == t->n_stages) return encode_bpe(t, e, s, n);
  const stage_t *st = &t->stages[stage];
  if (!(st->byte_level && st->add_prefix_space && s[0] != ' '))
    return split_stage(t, e, stage, s, n);
  uint8_t *p = malloc(n + 1);
  if (!p) return ENC_OOM();
  p[0] = ' ';
  memcpy(p + 1, s, n);
  llmc_status_t *r = split_stage(t, e, stage, p, n + 1);
  free(p);
  return r;
}

/* Text between added tokens: normalized (t->norms in order), then pre-tokenized and encoded. */
static llmc_status_t *encode_segment(const llmc_tokenizer_t *t, enc_t *e, const uint8_t *s, size_t n) {
  if (n == 0) return NULL;
  if (!t->n_norms) return encode_stage(t, e, 0, s, n);
  llmc_buf_t a = {0}, b = {0};
  llmc_buf_append(&a, s, n);
  for (int k = 0; k < t->n_norms && !a.failed; k++) {
    const norm_t *m = &t->norms[k];
    b.len = 0;
    if (m->unicode) {
      /* Text that is not valid UTF-8 is left as it is. */
      utf8proc_uint8_t *out = NULL;
      utf8proc_ssize_t len = a.len > (size_t)INT32_MAX ? -1
                                 : utf8proc_map((const utf8proc_uint8_t *)a.data, (utf8proc_ssize_t)a.len, &out,
                                                (utf8proc_option_t)m->unicode);
      if (len >= 0)
        llmc_buf_append(&b, out, (size_t)len);
      else
        llmc_buf_append(&b, a.data, a.len);
      free(out);
    } else if (m->prepend) {
      if (a.len) llmc_buf_append(&b, m->to, m->to_len);
      llmc_buf_append(&b, a.data, a.len);
    } else {
      replace_all(&b, (const uint8_t *)a.data, a.len, m->from, m->from_len, m->to, m->to_len);
    }
    if (b.failed) a.failed = true;
    llmc_buf_t tmp = a;
    a = b;
    b = tmp;
  }
  llmc_status_t *r = a.failed ? ENC_OOM() : encode_stage(t, e, 0, (const uint8_t *)a.data, a.len);
  llmc_buf_free(&a);
  llmc_buf_free(&b);
  return r;
}

/* The longest added token at the start of s, or NULL. */
static const added_t *match_added(const llmc_tokenizer_t *t, const uint8_t *s, size_t n) {
  for (uint32_t k = t->added_start[s[0]]; k < t->added_start[s[0] + 1]; k++) {
    const added_t *a = &t->added[k];
    if (a->len <= n && !memcmp(a->text, s, a->len)) return a;
  }
  return NULL;
}

llmc_status_t *llmc_tokenizer_encode(const llmc_tokenizer_t *t, const char *text, size_t len,
                                     bool add_special, int32_t **out_ids, int64_t *out_n) {
  *out_ids = NULL;
  *out_n = 0;
  enc_t e = {.cap = 64};
  if (!(e.ids = malloc(e.cap * sizeof *e.ids))) return ENC_OOM();
  llmc_status_t *st = NULL;
  for (int k = 0; add_special && k < t->n_prefix && !st; k++) st = enc_push(&e, t->prefix[k]);
  const uint8_t *s = (const uint8_t *)text;
  size_t seg = 0; /* start of the text not yet encoded */
  for (size_t i = 0; i < len && !st;) {
    const added_t *a = match_added(t, s + i, len - i);
    if (!a) {
      i++;
      continue;
    }
    e.first = seg == 0;
    st = encode_segment(t, &e, s + seg, i - seg);
    if (!st) st = enc_push(&e, a->id);
    i += a->len;
    seg = i;
  }
  e.first = seg == 0;
  if (!st) st = encode_segment(t, &e, s + seg, len - seg);
  for (int k = 0; add_special && k < t->n_suffix && !st; k++) st = enc_push(&e, t->suffix[k]);
  free(e.syms);
  free(e.heap);
  if (e.region) onig_region_free(e.region, 1);
  if (e.mp) onig_free_match_param(e.mp);
  if (st) {
    free(e.ids);
    return st;
  }
  *out_ids = e.ids;
  *out_n = (int64_t)e.n;
  return NULL;
}
