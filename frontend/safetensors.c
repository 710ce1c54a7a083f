/* safetensors.c: the safetensors reader and the dtype table.
 *
 * Validation order follows the file: the length prefix, the JSON, then each
 * entry's dtype, shape and offsets, and last the offsets against each other.
 * Every size the file controls goes through llmc_checked_mul/add, and no
 * pointer into the mapping is formed until its range is known to lie inside
 * the data section. The JSON tree is freed before returning; names and
 * metadata are copied into an arena the handle owns. */
#include "llmc_safetensors.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; llmc reads it in place"
#endif

static const struct {
  const char *name;
  int size;
} dtype_table[] = {
#define LLMC_ST_X(e, s, n) {s, n},
    LLMC_ST_DTYPES(LLMC_ST_X)
#undef LLMC_ST_X
};

const char *llmc_st_dtype_name(llmc_st_dtype_t dt) {
  return (unsigned)dt < LLMC_ST_DTYPE_COUNT ? dtype_table[dt].name : "?";
}

int llmc_st_dtype_size(llmc_st_dtype_t dt) {
  return (unsigned)dt < LLMC_ST_DTYPE_COUNT ? dtype_table[dt].size : 0;
}

bool llmc_st_dtype_from_name(const char *name, llmc_st_dtype_t *out_dt) {
  for (int i = 0; i < LLMC_ST_DTYPE_COUNT; i++) {
    if (strcmp(name, dtype_table[i].name) == 0) {
      *out_dt = (llmc_st_dtype_t)i;
      return true;
    }
  }
  return false;
}

typedef struct {
  const char *key, *value;
} meta_entry_t;

struct llmc_safetensors {
  llmc_file_map_t map;       /* owned when opened from a path; zero otherwise */
  llmc_arena_t *arena;       /* names and metadata strings */
  llmc_st_tensor_t *tensors; /* [count], sorted by name */
  int count;
  meta_entry_t *meta;        /* [meta_count], sorted by key */
  int meta_count;
};

void llmc_safetensors_close(llmc_safetensors_t *st) {
  if (!st) return;
  llmc_file_map_close(&st->map);
  llmc_arena_destroy(st->arena);
  free(st->tensors);
  free(st->meta);
  free(st);
}

static int cmp_tensor_name(const void *a, const void *b) {
  return strcmp(((const llmc_st_tensor_t *)a)->name, ((const llmc_st_tensor_t *)b)->name);
}

static int cmp_meta_key(const void *a, const void *b) {
  return strcmp(((const meta_entry_t *)a)->key, ((const meta_entry_t *)b)->key);
}

/* Orders by (offset, nbytes) so each range only needs checking against the
 * furthest end seen before it. */
static int cmp_tensor_ptr_offset(const void *a, const void *b) {
  const llmc_st_tensor_t *x = *(const llmc_st_tensor_t *const *)a;
  const llmc_st_tensor_t *y = *(const llmc_st_tensor_t *const *)b;
  if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
  if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* "__metadata__": { string: string, ... } */
static llmc_status_t *parse_metadata(llmc_safetensors_t *st, const char *where, json_t *obj) {
  if (!json_is_object(obj))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "__metadata__ is not a JSON object");
  size_t n = json_object_size(obj);
  if (n == 0) return NULL;
  st->meta = calloc(n, sizeof *st->meta);
  if (!st->meta) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    if (!json_is_string(val))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "__metadata__ value for '%s' is not a string", key);
    meta_entry_t *m = &st->meta[st->meta_count++];
    m->key = llmc_arena_strdup(st->arena, key);
    m->value = llmc_arena_strdup(st->arena, json_string_value(val));
    if (!m->key || !m->value) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  }
  qsort(st->meta, (size_t)st->meta_count, sizeof *st->meta, cmp_meta_key);
  return NULL;
}

/* name: {"dtype": string, "shape": [int...], "data_offsets": [int, int]}.
 * Other keys are ignored, as the reference implementation does. Fills t and
 * checks it against the data section of data_size bytes. */
static llmc_status_t *parse_tensor(llmc_safetensors_t *st, const char *where, const char *name,
                                   json_t *obj, uint64_t data_size, llmc_st_tensor_t *t) {
  if (!json_is_object(obj))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': entry is not a JSON object", name);
  json_t *jdt = json_object_get(obj, "dtype");
  json_t *jshape = json_object_get(obj, "shape");
  json_t *joff = json_object_get(obj, "data_offsets");
  if (!jdt) return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': missing \"dtype\"", name);
  if (!jshape) return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': missing \"shape\"", name);
  if (!joff)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': missing \"data_offsets\"", name);

  if (!json_is_string(jdt))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': \"dtype\" is not a string", name);
  const char *dts = json_string_value(jdt);
  if (!llmc_st_dtype_from_name(dts, &t->dtype))
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "tensor '%s': unsupported dtype \"%s\"", name,
                      dts);

  if (!json_is_array(jshape))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': \"shape\" is not an array", name);
  size_t rank = json_array_size(jshape);
  if (rank > LLMC_ST_MAX_RANK)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': rank %zu exceeds the maximum of %d",
                      name, rank, LLMC_ST_MAX_RANK);
  t->rank = (int)rank;
  uint64_t numel = 1;
  for (size_t i = 0; i < rank; i++) {
    json_t *d = json_array_get(jshape, i);
    if (!json_is_integer(d))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': shape[%zu] is not an integer", name,
                        i);
    json_int_t v = json_integer_value(d);
    if (v < 0)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': shape[%zu] is negative (%lld)", name,
                        i, (long long)v);
    t->shape[i] = (int64_t)v;
    if (!llmc_checked_mul(numel, (uint64_t)v, &numel))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': shape element count overflows",
                        name);
  }
  t->numel = numel;
  if (!llmc_checked_mul(numel, (uint64_t)llmc_st_dtype_size(t->dtype), &t->nbytes))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': shape byte size overflows", name);

  if (!json_is_array(joff) || json_array_size(joff) != 2 ||
      !json_is_integer(json_array_get(joff, 0)) || !json_is_integer(json_array_get(joff, 1)))
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "tensor '%s': \"data_offsets\" is not an array of two integers", name);
  json_int_t begin = json_integer_value(json_array_get(joff, 0));
  json_int_t end = json_integer_value(json_array_get(joff, 1));
  if (begin < 0 || end < 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': negative data offset", name);
  if (begin > end)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "tensor '%s': data_offsets begin %lld is after end %lld", name,
                      (long long)begin, (long long)end);
  if ((uint64_t)end > data_size)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "tensor '%s': data ends at %lld, past the end of the data section "
                      "(%llu bytes)",
                      name, (long long)end, (unsigned long long)data_size);
  uint64_t have = (uint64_t)(end - begin);
  if (have != t->nbytes)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "tensor '%s': data_offsets span %llu bytes but %s x %llu elements "
                      "need %llu",
                      name, (unsigned long long)have, llmc_st_dtype_name(t->dtype),
                      (unsigned long long)numel, (unsigned long long)t->nbytes);
  t->offset = (uint64_t)begin;
  t->name = llmc_arena_strdup(st->arena, name);
  if (!t->name) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  return NULL;
}

/* Rejects two non-empty ranges that share a byte. Empty tensors occupy no
 * bytes and so cannot overlap anything. */
static llmc_status_t *check_overlap(llmc_safetensors_t *st, const char *where) {
  if (st->count < 2) return NULL;
  llmc_st_tensor_t **order = malloc((size_t)st->count * sizeof *order);
  if (!order) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  for (int i = 0; i < st->count; i++) order[i] = &st->tensors[i];
  qsort(order, (size_t)st->count, sizeof *order, cmp_tensor_ptr_offset);
  llmc_status_t *s = NULL;
  const llmc_st_tensor_t *furthest = NULL; /* the non-empty range reaching furthest so far */
  for (int i = 0; i < st->count && !s; i++) {
    const llmc_st_tensor_t *t = order[i];
    if (t->nbytes == 0) continue;
    if (furthest && t->offset < furthest->offset + furthest->nbytes)
      s = LLMC_ERROR(LLMC_DATA_LOSS, where,
                     "tensors '%s' and '%s' overlap in the data section", furthest->name,
                     t->name);
    else if (!furthest || t->offset + t->nbytes > furthest->offset + furthest->nbytes)
      furthest = t;
  }
  free(order);
  return s;
}

static llmc_status_t *parse(llmc_safetensors_t *st, const uint8_t *bytes, uint64_t size,
                            const char *where) {
  if (size == 0) return LLMC_ERROR(LLMC_DATA_LOSS, where, "file is empty (0 bytes)");
  if (size < 8)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "file is %llu bytes, too short for the 8-byte header length",
                      (unsigned long long)size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
  /* The messages do not print hlen: those are the file's first 8 bytes, and
   * a file that is not safetensors at all must not be echoed. */
  if (hlen > LLMC_ST_MAX_HEADER_BYTES)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "not a safetensors file: its header length exceeds the limit of %llu bytes",
                      LLMC_ST_MAX_HEADER_BYTES);
  if (hlen > size - 8)
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "not a safetensors file: its header length runs past the end of the file (%llu bytes)",
                      (unsigned long long)size);
  const uint8_t *data_start = bytes + 8 + hlen;
  uint64_t data_size = size - 8 - hlen;

  json_error_t jerr;
  json_t *root = json_loadb((const char *)bytes + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    if (json_error_code(&jerr) == json_error_duplicate_key)
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "header has a duplicate key (%s at byte %d)",
                        jerr.text, jerr.position);
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "header is not valid JSON: %s (line %d, column %d)",
                      jerr.text, jerr.line, jerr.column);
  }
  llmc_status_t *s = NULL;
  if (!json_is_object(root)) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "header is not a JSON object");
    goto cleanup;
  }
  size_t n = json_object_size(root);
  st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
  if (!st->tensors) {
    s = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
    goto cleanup;
  }
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      s = parse_metadata(st, where, val);
    } else {
      s = parse_tensor(st, where, key, val, data_size, &st->tensors[st->count]);
      if (!s) {
        llmc_st_tensor_t *t = &st->tensors[st->count++];
        t->data = data_start + t->offset;
      }
    }
    if (s) goto cleanup;
  }
  qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, cmp_tensor_name);
  /* JSON_REJECT_DUPLICATES already refuses a repeated name; this keeps
   * binary search sound even if the parser's notion of equality differs. */
  for (int i = 1; i < st->count; i++) {
    if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "header has a duplicate key: tensor '%s'",
                     st->tensors[i].name);
      goto cleanup;
    }
  }
  s = check_overlap(st, where);
cleanup:
  json_decref(root);
  return s;
}

static llmc_status_t *open_common(const uint8_t *bytes, uint64_t size, const char *where,
                                  llmc_file_map_t *map, llmc_safetensors_t **out) {
  llmc_safetensors_t *st = calloc(1, sizeof *st);
  if (st) st->arena = llmc_arena_create();
  if (!st || !st->arena) {
    free(st);
    if (map) llmc_file_map_close(map);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, where, "out of memory");
  }
  if (map) st->map = *map; /* the handle owns the mapping from here, even on failure */
  llmc_status_t *s = parse(st, bytes, size, where);
  if (s) {
    llmc_safetensors_close(st);
    return s;
  }
  *out = st;
  return NULL;
}

llmc_status_t *llmc_safetensors_open(const char *path, llmc_safetensors_t **out) {
  *out = NULL;
  llmc_file_map_t map;
  LLMC_RETURN_IF_ERROR(llmc_file_map_open(path, &map));
  return open_common(map.data, map.size, path, &map, out);
}

llmc_status_t *llmc_safetensors_open_memory(const void *data, uint64_t size, const char *where,
                                            llmc_safetensors_t **out) {
  *out = NULL;
  return open_common(data, size, where, NULL, out);
}

int llmc_safetensors_count(const llmc_safetensors_t *st) { return st->count; }

const llmc_st_tensor_t *llmc_safetensors_at(const llmc_safetensors_t *st, int i) {
  assert(i >= 0 && i < st->count);
  return &st->tensors[i];
}

const llmc_st_tensor_t *llmc_safetensors_find(const llmc_safetensors_t *st, const char *name) {
  if (st->count == 0) return NULL; /* bsearch wants a non-NULL base */
  llmc_st_tensor_t key = {.name = name};
  return bsearch(&key, st->tensors, (size_t)st->count, sizeof *st->tensors, cmp_tensor_name);
}

const char *llmc_safetensors_metadata(const llmc_safetensors_t *st, const char *key) {
  if (st->meta_count == 0) return NULL; /* bsearch wants a non-NULL base */
  meta_entry_t k = {.key = key};
  const meta_entry_t *m =
      bsearch(&k, st->meta, (size_t)st->meta_count, sizeof *st->meta, cmp_meta_key);
  return m ? m->value : NULL;
}

int llmc_safetensors_metadata_count(const llmc_safetensors_t *st) { return st->meta_count; }

void llmc_safetensors_metadata_at(const llmc_safetensors_t *st, int i, const char **out_key,
                                  const char **out_value) {
  assert(i >= 0 && i < st->meta_count);
  *out_key = st->meta[i].key;
  *out_value = st->meta[i].value;
}

/* OCP 8-bit floating point, E4M3 "fn" variant: bias 7, no infinities, only
 * S.1111.111 is NaN. Normal values map exactly onto f32 bit fields. */
static float f8_e4m3_to_f32(uint8_t b) {
  uint32_t sign = (uint32_t)(b & 0x80) << 24;
  uint32_t e = (b >> 3) & 0xf, m = b & 7;
  float f;
  if (e == 15 && m == 7) {
    uint32_t bits = sign | 0x7fc00000u;
    memcpy(&f, &bits, 4);
  } else if (e == 0) {
    f = (float)m * 0x1p-9f; /* subnormal: m/8 * 2^-6 */
    if (sign) f = -f;
  } else {
    uint32_t bits = sign | ((e + 120) << 23) | (m << 20);
    memcpy(&f, &bits, 4);
  }
  return f;
}

/* Element loads through memcpy: the spec does not promise alignment. */
#define LLMC_ST_CONVERT(T, expr)                     \
  for (uint64_t i = 0; i < n; i++) {                 \
    T v;                                             \
    memcpy(&v, p + i * sizeof(T), sizeof(T));        \
    out[i] = (expr);                                 \
  }                                                  \
  break

void llmc_st_tensor_to_f32(const llmc_st_tensor_t *t, uint64_t first, uint64_t n, float *out) {
  assert(first <= t->numel && n <= t->numel - first);
  if (n == 0) return;
  const uint8_t *p = t->data + first * (uint64_t)llmc_st_dtype_size(t->dtype);
  switch (t->dtype) {
    case LLMC_ST_F32: memcpy(out, p, n * sizeof(float)); break;
    case LLMC_ST_F16: LLMC_ST_CONVERT(uint16_t, llmc_f16_to_f32(v));
    case LLMC_ST_BF16: LLMC_ST_CONVERT(uint16_t, llmc_bf16_to_f32(v));
    case LLMC_ST_F64: LLMC_ST_CONVERT(double, (float)v);
    case LLMC_ST_I8: LLMC_ST_CONVERT(int8_t, (float)v);
    case LLMC_ST_U8: LLMC_ST_CONVERT(uint8_t, (float)v);
    case LLMC_ST_BOOL: LLMC_ST_CONVERT(uint8_t, v ? 1.0f : 0.0f);
    case LLMC_ST_I16: LLMC_ST_CONVERT(int16_t, (float)v);
    case LLMC_ST_U16: LLMC_ST_CONVERT(uint16_t, (float)v);
    case LLMC_ST_I32: LLMC_ST_CONVERT(int32_t, (float)v);
    case LLMC_ST_U32: LLMC_ST_CONVERT(uint32_t, (float)v);
    case LLMC_ST_I64: LLMC_ST_CONVERT(int64_t, (float)v);
    case LLMC_ST_U64: LLMC_ST_CONVERT(uint64_t, (float)v);
    /* E5M2 is the top byte of an IEEE half. */
    case LLMC_ST_F8_E5M2: LLMC_ST_CONVERT(uint8_t, llmc_f16_to_f32((uint16_t)(v << 8)));
    case LLMC_ST_F8_E4M3: LLMC_ST_CONVERT(uint8_t, f8_e4m3_to_f32(v));
    case LLMC_ST_DTYPE_COUNT: assert(0 && "bad dtype"); break;
  }
}
