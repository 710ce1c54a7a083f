/* artifact_check.c: everything the runtime checks of an artifact's data
 * before running it: the plan of model.so and the weights file beside it.
 *
 * The plan is validated completely: the header's sizes must be consistent
 * with one another, every launch must lie inside plan_len and name a kernel
 * that exists, every extent and argument a + b*T must be non-negative for
 * every token count T in [1, T_max] (a + b*T is linear in T, so its
 * endpoints suffice), and every argument must fit its kind (llmc_abi.h):
 * the range an offset names inside its buffer for every T its launch runs
 * for. What these checks cannot see (a flipped launch extent, or any value
 * the kernels trust that keeps every range in bounds, one valid kernel
 * index for another) the plan digest catches.
 * A corrupt artifact gets a status, never a crash: only the kernels
 * themselves are trusted.
 *
 * weights.safetensors must be the file model.so was compiled with (the
 * recorded size and header digest), name tensors inside its data section,
 * and hold the floats the plan reads. The runtime reads the data section
 * as is (llmc wrote it in plan order), so it does not look up tensors. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_check.h"

/* Generous bounds on header values, so sizes derived from them cannot
 * overflow int64 (each product below is of at most three bounded values). */
#define MAX_DIM (INT64_C(1) << 24)
#define MAX_FLOATS (INT64_C(1) << 46)

/* ---- the plan ---- */

static const char *const field_names[] = {
    "VOCAB",          "MAX_STEP_TOKENS", "MAX_CONTEXT",      "MAX_SEQS",        "ACT_FLOATS",
    "LOGITS_OFFSET",  "N_LAYERS",        "N_KV_HEADS",       "HEAD_DIM",        "BLOCK_SIZE",
    "BLOCK_FLOATS",   "MAX_BLOCKS_PER_SEQ", "META_TOKENS",   "META_POSITIONS",  "META_SEQ",
    "META_BLOCK_TABLES", "META_INTS",    "WEIGHT_FLOATS",    "N_LAUNCHES",      "KV_DTYPE",
    "META_LOGIT_ROWS", "KV_WINDOW",
};
_Static_assert(sizeof field_names / sizeof field_names[0] == LLMC_PLAN_HEADER_LEN,
               "a name for every plan header field");

/* a + b*T at T = 1 and T = t_max, both in [0, INT64_MAX] without overflow. */
static bool affine_ok(int64_t a, int64_t b, int64_t t_max) {
  int64_t bt, v1, v2;
  if (__builtin_add_overflow(a, b, &v1) || v1 < 0) return false;
  if (__builtin_mul_overflow(b, t_max, &bt) || __builtin_add_overflow(a, bt, &v2) || v2 < 0)
    return false;
  return true;
}

static llmc_status_t *validate_header(const char *where, const int64_t *h) {
  static const struct {
    int field;
    int64_t lo, hi;
  } ranges[] = {
      {LLMC_PLAN_VOCAB, 1, INT32_MAX},          {LLMC_PLAN_MAX_STEP_TOKENS, 1, MAX_DIM},
      {LLMC_PLAN_MAX_CONTEXT, 1, INT32_MAX},    {LLMC_PLAN_MAX_SEQS, 1, MAX_DIM},
      {LLMC_PLAN_ACT_FLOATS, 1, MAX_FLOATS},    {LLMC_PLAN_LOGITS_OFFSET, 0, MAX_FLOATS},
      {LLMC_PLAN_N_LAYERS, 1, MAX_DIM},         {LLMC_PLAN_N_KV_HEADS, 1, MAX_DIM},
      {LLMC_PLAN_HEAD_DIM, 1, MAX_DIM},         {LLMC_PLAN_BLOCK_SIZE, 1, MAX_DIM},
      {LLMC_PLAN_BLOCK_FLOATS, 1, MAX_FLOATS},  {LLMC_PLAN_MAX_BLOCKS_PER_SEQ, 1, MAX_DIM},
      {LLMC_PLAN_META_TOKENS, 0, INT32_MAX},    {LLMC_PLAN_META_POSITIONS, 0, INT32_MAX},
      {LLMC_PLAN_META_SEQ, 0, INT32_MAX},       {LLMC_PLAN_META_BLOCK_TABLES, 0, INT32_MAX},
      {LLMC_PLAN_META_INTS, 1, INT32_MAX},      {LLMC_PLAN_WEIGHT_FLOATS, 0, MAX_FLOATS},
      {LLMC_PLAN_N_LAUNCHES, 0, INT32_MAX},     {LLMC_PLAN_KV_DTYPE, LLMC_PLAN_KV_F32, LLMC_PLAN_KV_I8},
      {LLMC_PLAN_META_LOGIT_ROWS, 0, INT32_MAX}, {LLMC_PLAN_KV_WINDOW, 0, INT32_MAX},
  };
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    int64_t v = h[ranges[i].field];
    if (v < ranges[i].lo || v > ranges[i].hi)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan header %s = %lld is outside [%lld, %lld]",
                        field_names[ranges[i].field], (long long)v, (long long)ranges[i].lo,
                        (long long)ranges[i].hi);
  }
  const int64_t T = h[LLMC_PLAN_MAX_STEP_TOKENS], V = h[LLMC_PLAN_VOCAB];
  if (h[LLMC_PLAN_LOGITS_OFFSET] + T * V > h[LLMC_PLAN_ACT_FLOATS])
    return LLMC_ERROR(
        LLMC_DATA_LOSS, where,
        "plan logits [%lld + %lld x %lld] lie outside the %lld-float activation arena",
        (long long)h[LLMC_PLAN_LOGITS_OFFSET], (long long)T, (long long)V,
        (long long)h[LLMC_PLAN_ACT_FLOATS]);
  uint64_t kv_floats = 2;
  const int kv_dims[] = {LLMC_PLAN_N_LAYERS, LLMC_PLAN_BLOCK_SIZE, LLMC_PLAN_N_KV_HEADS,
                         LLMC_PLAN_HEAD_DIM};
  for (size_t i = 0; i < 4; i++)
    if (!llmc_checked_mul(kv_floats, (uint64_t)h[kv_dims[i]], &kv_floats)) kv_floats = UINT64_MAX;
  /* 16-bit elements: two to a word, rows starting at even elements; int8:
   * a row of HEAD_DIM (a multiple of 4) is HEAD_DIM / 4 + 1 words. */
  const int64_t kvt = h[LLMC_PLAN_KV_DTYPE], hd = h[LLMC_PLAN_HEAD_DIM];
  bool kv16 = kvt == LLMC_PLAN_KV_F16 || kvt == LLMC_PLAN_KV_BF16, kv8 = kvt == LLMC_PLAN_KV_I8;
  if ((kv16 && hd % 2) || (kv8 && hd % 4))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan KV_DTYPE = %lld (%s) with HEAD_DIM = %lld, not a multiple of %d",
                      (long long)kvt, kv8 ? "int8" : "16-bit", (long long)hd, kv8 ? 4 : 2);
  if (kv16 && kv_floats != UINT64_MAX) kv_floats /= 2;
  if (kv8 && kv_floats != UINT64_MAX && !llmc_checked_mul(kv_floats / (uint64_t)hd, (uint64_t)(hd / 4 + 1), &kv_floats))
    kv_floats = UINT64_MAX;
  if (kv_floats > (uint64_t)h[LLMC_PLAN_BLOCK_FLOATS])
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "plan BLOCK_FLOATS = %lld is less than layers x 2 x block x heads x head_dim%s",
                      (long long)h[LLMC_PLAN_BLOCK_FLOATS], kv16 ? " / 2" : kv8 ? " / head_dim x (head_dim / 4 + 1)" : "");
  const int64_t bs = h[LLMC_PLAN_BLOCK_SIZE];
  if (h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ] < (h[LLMC_PLAN_MAX_CONTEXT] + bs - 1) / bs)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "plan MAX_BLOCKS_PER_SEQ = %lld cannot hold MAX_CONTEXT = %lld tokens",
                      (long long)h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ],
                      (long long)h[LLMC_PLAN_MAX_CONTEXT]);
  const struct {
    int field;
    int64_t len;
  } meta[] = {
      {LLMC_PLAN_META_TOKENS, T},
      {LLMC_PLAN_META_POSITIONS, T},
      {LLMC_PLAN_META_SEQ, T},
      {LLMC_PLAN_META_BLOCK_TABLES, h[LLMC_PLAN_MAX_SEQS] * h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ]},
      {LLMC_PLAN_META_LOGIT_ROWS, 1 + T},
  };
  for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
    if (h[meta[i].field] + meta[i].len > h[LLMC_PLAN_META_INTS])
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan meta %s [%lld, +%lld) lies outside the %lld-int meta buffer",
                        field_names[meta[i].field], (long long)h[meta[i].field],
                        (long long)meta[i].len, (long long)h[LLMC_PLAN_META_INTS]);
  return NULL;
}


static const char *const kind_names[LLMC_ARG_KIND_COUNT] = {"scalar", "act", "weights", "meta",
                                                           "tokens", "layer", "rows"};

/* Checks argument j of launch l against its kind record K (kind, extent a,
 * extent b) for the launch's T range [lo, hi]: an offset's range
 * [v(T), v(T) + e(T)) inside its buffer. v and e are affine in T, so their
 * sum is, and its largest value is at an end of the range. */
static llmc_status_t *check_arg(const char *where, const int64_t *h, int64_t l, int64_t j,
                                int64_t a, int64_t b, const int64_t *K, int64_t lo, int64_t hi) {
  const int64_t kind = K[0];
  if (kind < 0 || kind >= LLMC_ARG_KIND_COUNT)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan launch %lld argument %lld has unknown kind %lld",
                      (long long)l, (long long)j, (long long)kind);
  int64_t size = 0;
  switch ((llmc_arg_kind_t)kind) {
    case LLMC_ARG_SCALAR: return NULL;
    case LLMC_ARG_TOKENS:
      if (a == 0 && b == 1) return NULL;
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld argument %lld is the token count, but reads %lld + %lld*T",
                        (long long)l, (long long)j, (long long)a, (long long)b);
    case LLMC_ARG_LAYER:
      if (b == 0 && a < h[LLMC_PLAN_N_LAYERS]) return NULL;
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan launch %lld argument %lld names layer %lld + %lld*T of %lld",
                        (long long)l, (long long)j, (long long)a, (long long)b,
                        (long long)h[LLMC_PLAN_N_LAYERS]);
    case LLMC_ARG_ROWS:
      /* Token ids are checked against VOCAB, so a table with fewer rows
       * would let a valid id read past it. */
      if (b == 0 && a >= h[LLMC_PLAN_VOCAB]) return NULL;
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld argument %lld: a table of %lld + %lld*T rows is indexed by token "
                        "ids up to the vocabulary of %lld",
                        (long long)l, (long long)j, (long long)a, (long long)b, (long long)h[LLMC_PLAN_VOCAB]);
    case LLMC_ARG_ACT: size = h[LLMC_PLAN_ACT_FLOATS]; break;
    case LLMC_ARG_WEIGHTS: size = h[LLMC_PLAN_WEIGHT_FLOATS]; break;
    case LLMC_ARG_META: size = h[LLMC_PLAN_META_INTS]; break;
    case LLMC_ARG_KIND_COUNT: break;
  }
  const int64_t ts[2] = {lo, hi};
  for (int i = 0; i < 2; i++) {
    int64_t v, e, bt, end;
    /* v(T) >= 0 is known (affine_ok over [1, T_max] contains [lo, hi]). */
    bool bad = __builtin_mul_overflow(b, ts[i], &bt) || __builtin_add_overflow(a, bt, &v) ||
               __builtin_mul_overflow(K[2], ts[i], &bt) || __builtin_add_overflow(K[1], bt, &e) || e < 0 ||
               __builtin_add_overflow(v, e, &end) || end > size;
    if (bad)
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld argument %lld: %s range [%lld + %lld*T, +%lld + %lld*T) at T = %lld "
                        "lies outside the %lld-element buffer",
                        (long long)l, (long long)j, kind_names[kind], (long long)a, (long long)b,
                        (long long)K[1], (long long)K[2], (long long)ts[i], (long long)size);
  }
  return NULL;
}

void llmc_rt_plan_index_free(llmc_rt_plan_index_t *ix) {
  free(ix->launch_pos);
  free(ix->arg_base);
  *ix = (llmc_rt_plan_index_t){0};
}

/* Walks the launches, records where each starts and where its arguments
 * go. Every read of plan[] and arg_kinds[] is bounds-checked first. */
static llmc_status_t *validate_launches(const char *where, const llmc_model_v1_t *m, const int64_t *h,
                                        llmc_rt_plan_index_t *ix) {
  const int64_t n = h[LLMC_PLAN_N_LAUNCHES], t_max = h[LLMC_PLAN_MAX_STEP_TOKENS];
  if (n > (m->plan_len - LLMC_PLAN_HEADER_LEN) / LLMC_PLAN_LAUNCH_FIXED)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan claims %lld launches in %lld values",
                      (long long)n, (long long)m->plan_len);
  if (m->arg_kinds_len < 0 || (m->arg_kinds_len > 0 && !m->arg_kinds))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "argument kind table of %lld values",
                      (long long)m->arg_kinds_len);
  ix->n_launches = n;
  ix->launch_pos = calloc((size_t)n + 1, sizeof *ix->launch_pos);
  ix->arg_base = calloc((size_t)n + 1, sizeof *ix->arg_base);
  if (!ix->launch_pos || !ix->arg_base)
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  int64_t pos = LLMC_PLAN_HEADER_LEN, args = 0;
  for (int64_t l = 0; l < n; l++) {
    if (m->plan_len - pos < LLMC_PLAN_LAUNCH_FIXED)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan launch %lld runs past its end (%lld values)",
                        (long long)l, (long long)m->plan_len);
    const int64_t *L = m->plan + pos;
    if (L[0] < 0 || L[0] >= m->n_kernels)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan launch %lld names kernel %lld of %lld",
                        (long long)l, (long long)L[0], (long long)m->n_kernels);
    if (L[5] < 0 || L[5] > (m->plan_len - pos - LLMC_PLAN_LAUNCH_FIXED) / 2)
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld (%s) has %lld arguments, past the plan's end",
                        (long long)l, m->kernel_names ? m->kernel_names[L[0]] : "?",
                        (long long)L[5]);
    if (L[3] < 1 || L[4] < L[3])
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan launch %lld runs for T in [%lld, %lld], an empty range",
                        (long long)l, (long long)L[3], (long long)L[4]);
    if (!affine_ok(L[1], L[2], t_max))
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld extent %lld + %lld*T is negative or overflows for T "
                        "in [1, %lld]",
                        (long long)l, (long long)L[1], (long long)L[2], (long long)t_max);
    if (L[5] > (m->arg_kinds_len / LLMC_ARG_RECORD) - args)
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "plan launch %lld has arguments past the end of the %lld-value kind table",
                        (long long)l, (long long)m->arg_kinds_len);
    /* The T the launch runs for: its range, within the plan's. */
    const int64_t lo = L[3], hi = L[4] < t_max ? L[4] : t_max;
    for (int64_t j = 0; j < L[5]; j++) {
      const int64_t a = L[6 + 2 * j], b = L[7 + 2 * j];
      if (!affine_ok(a, b, t_max))
        return LLMC_ERROR(LLMC_DATA_LOSS, where,
                          "plan launch %lld argument %lld = %lld + %lld*T is negative or "
                          "overflows for T in [1, %lld]",
                          (long long)l, (long long)j, (long long)a, (long long)b, (long long)t_max);
      if (lo <= hi)
        LLMC_RETURN_IF_ERROR(check_arg(where, h, l, j, a, b, m->arg_kinds + (args + j) * LLMC_ARG_RECORD, lo, hi));
    }
    ix->launch_pos[l] = pos;
    ix->arg_base[l] = args;
    args += L[5];
    pos += LLMC_PLAN_LAUNCH_FIXED + 2 * L[5];
  }
  if (pos != m->plan_len)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "plan has %lld values but its %lld launches end at %lld",
                      (long long)m->plan_len, (long long)n, (long long)pos);
  if (m->arg_kinds_len != args * LLMC_ARG_RECORD)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "the kind table has %lld values for %lld arguments",
                      (long long)m->arg_kinds_len, (long long)args);
  ix->total_args = args;
  return NULL;
}

llmc_status_t *llmc_rt_plan_validate(const char *where, const llmc_model_v1_t *m, llmc_rt_plan_index_t *out_index) {
  *out_index = (llmc_rt_plan_index_t){0};
  if (!m->plan || m->plan_len < LLMC_PLAN_HEADER_LEN)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "plan of %lld values is shorter than its header",
                      (long long)m->plan_len);
  if (m->n_kernels < 0 || m->n_kernels > INT32_MAX)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "kernel count %lld is out of range", (long long)m->n_kernels);
  llmc_status_t *s = validate_header(where, m->plan);
  if (!s) s = validate_launches(where, m, m->plan, out_index);
  /* Last, so a corrupt value the checks above can name is named; this
   * catches the rest (a count, an extent, one kernel index for another). */
  if (!s && m->plan_digest &&
      llmc_plan_digest(m->plan, m->plan_len, m->arg_kinds, m->arg_kinds_len) != m->plan_digest)
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "the plan does not match its digest: model.so is corrupt");
  if (s) llmc_rt_plan_index_free(out_index);
  return s;
}

/* ---- weights.safetensors ---- */

llmc_status_t *llmc_rt_weights_check(const char *where, const llmc_model_v1_t *m, const uint8_t *d,
                                     uint64_t size, uint64_t *out_data_offset) {
  *out_data_offset = 0;
  if (size < 8)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "truncated: %llu bytes, less than the 8-byte header length",
                      (unsigned long long)size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | d[i];
  if (n > size - 8 || n == 0 || d[8] != '{')
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "not a safetensors file: header of %llu bytes in a %llu-byte file",
                      (unsigned long long)n, (unsigned long long)size);
  /* The digest first: a file of another model (or another compile) is
   * named as such, not by the first inconsistency it happens to have. */
  if (m->weights_digest) {
    uint64_t digest = 0;
    bool read = llmc_weights_head_digest(d, size, &digest);
    /* The header model.so was compiled with, in a file of another size:
     * the copy was cut short (or grown), rather than another model's. */
    if (read && size != m->weights_size &&
        llmc_digest64(d, (size_t)(8 + n), m->weights_size) == m->weights_digest)
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "%s: %llu bytes, but model.so was compiled with a %llu-byte weights file",
                        size < m->weights_size ? "truncated" : "grown", (unsigned long long)size,
                        (unsigned long long)m->weights_size);
    if (!read || size != m->weights_size || digest != m->weights_digest)
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "weights.safetensors does not belong to this model.so (%llu bytes, header digest "
                        "%016llx; model.so was compiled with %llu bytes, %016llx): recompile, or copy "
                        "both files of one output directory",
                        (unsigned long long)size, (unsigned long long)digest,
                        (unsigned long long)m->weights_size, (unsigned long long)m->weights_digest);
  }
  const uint64_t off = 8 + n;
  if (off % 64 != 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "data section at byte %llu is not 64-byte aligned (not written by llmc?)",
                      (unsigned long long)off);
  json_error_t err;
  json_t *root = json_loadb((const char *)d + 8, (size_t)n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "the safetensors header is not a JSON object%s%s",
                      root ? "" : ": ", root ? "" : err.text);
  }
  llmc_status_t *s = NULL;
  const uint64_t data_bytes = size - off;
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      /* Written by llmc: the model's name (a model of another name is
       * another model, whatever its shapes). */
      const char *name = json_string_value(json_object_get(val, "model"));
      if (name && m->name && strcmp(name, m->name) != 0) {
        s = LLMC_ERROR(LLMC_DATA_LOSS, where,
                       "weights.safetensors does not belong to this model.so: it holds model '%.64s', "
                       "model.so is '%.64s'",
                       name, m->name);
        break;
      }
      continue;
    }
    json_t *offs = json_object_get(val, "data_offsets");
    json_t *b0 = json_array_get(offs, 0), *b1 = json_array_get(offs, 1);
    if (json_array_size(offs) != 2 || !json_is_integer(b0) || !json_is_integer(b1) ||
        json_integer_value(b0) < 0 || json_integer_value(b1) < json_integer_value(b0) ||
        (uint64_t)json_integer_value(b1) > data_bytes) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%.64s' has data_offsets outside the %llu-byte data section",
                     key, (unsigned long long)data_bytes);
      break;
    }
  }
  json_decref(root);
  LLMC_RETURN_IF_ERROR(s);
  const uint64_t have = data_bytes / sizeof(float);
  const uint64_t need = (uint64_t)m->plan[LLMC_PLAN_WEIGHT_FLOATS];
  if (have < need)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "truncated: the data section holds %llu floats, the plan needs %llu",
                      (unsigned long long)have, (unsigned long long)need);
  *out_data_offset = off;
  return NULL;
}
