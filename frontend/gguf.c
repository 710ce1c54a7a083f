/* gguf.c: the GGUF reader and ggml's block formats.
 *
 * The file is read front to back through a cursor that refuses to move past
 * the end, so every count and length is checked against the bytes that are
 * left before anything is allocated for it. Tensor ranges are checked last,
 * against the data section and against each other (overlap is refused: two
 * names for the same bytes is a broken or hostile file). */
#include "llmc_gguf.h"
#include "llmc_kquant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF data is read in place as little-endian"
#endif

/* Bounds on what a file may declare; far above real models (Llama 3 405B
 * has ~1.1k tensors and ~40 keys; vocabularies reach ~260k entries). */
#define MAX_KVS 65536
#define MAX_TENSORS (1 << 20)
#define MAX_NAME 65535

static const struct {
  const char *name;
  uint32_t num;
  int block, bytes;
} type_table[] = {
#define LLMC_GGML_X(n, num, bl, bb) {#n, num, bl, bb},
    LLMC_GGML_TYPES(LLMC_GGML_X)
#undef LLMC_GGML_X
};

static int type_index(uint32_t type) {
  for (size_t i = 0; i < sizeof type_table / sizeof type_table[0]; i++)
    if (type_table[i].num == type) return (int)i;
  return -1;
}

const char *llmc_ggml_type_name(uint32_t type) {
  int i = type_index(type);
  return i < 0 ? NULL : type_table[i].name;
}

int llmc_ggml_type_block(uint32_t type) {
  int i = type_index(type);
  return i < 0 ? 0 : type_table[i].block;
}

bool llmc_ggml_type_readable(uint32_t type) { return type_index(type) >= 0; }

struct llmc_gguf_kv {
  const char *key;
  llmc_gguf_type_t type;
  llmc_gguf_type_t elem; /* arrays */
  uint64_t count;        /* arrays */
  const uint8_t *data;   /* the value (scalars, strings' bytes, numeric arrays' elements) */
  uint64_t len;          /* strings */
  uint64_t *offsets;     /* arrays of strings: each element's length prefix, from data */
};

struct llmc_gguf {
  llmc_file_map_t map; /* owned when opened from a path */
  const uint8_t *base;
  uint64_t size;
  uint32_t version;
  llmc_arena_t *arena;
  llmc_gguf_kv_t *kvs;
  int n_kvs;
  int *kv_sorted; /* kv indexes by key */
  llmc_gguf_tensor_t *tensors;
  int n_tensors;
  int *tensor_sorted;
};

typedef struct {
  const uint8_t *p, *end, *base;
} cursor_t;

static bool take(cursor_t *c, uint64_t n, const uint8_t **out) {
  if ((uint64_t)(c->end - c->p) < n) return false;
  *out = c->p;
  c->p += n;
  return true;
}

static bool read_u32(cursor_t *c, uint32_t *v) {
  const uint8_t *p;
  if (!take(c, 4, &p)) return false;
  memcpy(v, p, 4);
  return true;
}

static bool read_u64(cursor_t *c, uint64_t *v) {
  const uint8_t *p;
  if (!take(c, 8, &p)) return false;
  memcpy(v, p, 8);
  return true;
}

static bool read_string(cursor_t *c, const uint8_t **s, uint64_t *len) {
  return read_u64(c, len) && take(c, *len, s);
}

static int scalar_size(llmc_gguf_type_t t) {
  switch (t) {
    case LLMC_GGUF_U8: case LLMC_GGUF_I8: case LLMC_GGUF_BOOL: return 1;
    case LLMC_GGUF_U16: case LLMC_GGUF_I16: return 2;
    case LLMC_GGUF_U32: case LLMC_GGUF_I32: case LLMC_GGUF_F32: return 4;
    case LLMC_GGUF_U64: case LLMC_GGUF_I64: case LLMC_GGUF_F64: return 8;
    default: return 0;
  }
}

/* Byte offset of where in the file, for messages. */
static llmc_status_t *corrupt(const char *where, const cursor_t *c, const char *what) {
  return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s (at byte %llu)", what, (unsigned long long)(c->p - c->base));
}

/* A key or tensor name: bounded, without NUL, copied. */
static llmc_status_t *read_name(cursor_t *c, llmc_arena_t *a, const char *where, const char *what, const char **out) {
  const uint8_t *s;
  uint64_t len;
  if (!read_string(c, &s, &len)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s runs past the end of the file", what);
    return corrupt(where, c, msg);
  }
  if (len == 0 || len > MAX_NAME || memchr(s, 0, len))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s is empty, longer than %d bytes or holds a NUL", what, MAX_NAME);
  if (!(*out = llmc_arena_strndup(a, (const char *)s, len))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

static llmc_status_t *read_value(cursor_t *c, llmc_gguf_kv_t *kv, const char *where) {
  uint32_t type;
  if (!read_u32(c, &type)) return corrupt(where, c, "truncated value type");
  kv->type = (llmc_gguf_type_t)type;
  if (type == LLMC_GGUF_STRING) {
    if (!read_string(c, &kv->data, &kv->len)) return corrupt(where, c, "string value runs past the end of the file");
    return NULL;
  }
  if (type != LLMC_GGUF_ARRAY) {
    int size = scalar_size(kv->type);
    if (!size) return LLMC_ERROR(LLMC_DATA_LOSS, where, "key '%s' has unknown value type %u", kv->key, type);
    if (!take(c, (uint64_t)size, &kv->data)) return corrupt(where, c, "truncated value");
    return NULL;
  }
  uint32_t elem;
  if (!read_u32(c, &elem) || !read_u64(c, &kv->count)) return corrupt(where, c, "truncated array header");
  kv->elem = (llmc_gguf_type_t)elem;
  kv->data = c->p;
  if (elem == LLMC_GGUF_STRING) {
    /* Each element takes at least its 8-byte length: the count is bounded
     * by what is left before anything is allocated for it. */
    if (kv->count > (uint64_t)(c->end - c->p) / 8) return corrupt(where, c, "string array longer than the file");
    if (!(kv->offsets = malloc(sizeof(uint64_t) * (kv->count ? kv->count : 1))))
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    for (uint64_t i = 0; i < kv->count; i++) {
      const uint8_t *s;
      uint64_t len;
      kv->offsets[i] = (uint64_t)(c->p - kv->data);
      if (!read_string(c, &s, &len)) return corrupt(where, c, "array string runs past the end of the file");
    }
    return NULL;
  }
  int size = scalar_size(kv->elem);
  if (!size)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "key '%s': arrays of type %u are not supported (nested arrays included)",
                      kv->key, elem);
  uint64_t bytes;
  const uint8_t *p;
  if (!llmc_checked_mul(kv->count, (uint64_t)size, &bytes) || !take(c, bytes, &p))
    return corrupt(where, c, "array runs past the end of the file");
  return NULL;
}

static const char *sort_key_kv(const llmc_gguf_t *g, int i) { return g->kvs[i].key; }
static const char *sort_key_tensor(const llmc_gguf_t *g, int i) { return g->tensors[i].name; }

/* Sorting index arrays by name needs the handle; qsort has no context
 * argument, so a small merge sort it is (n log n, stable). */
static void sort_indexes(const llmc_gguf_t *g, int *idx, int *tmp, int n, const char *(*key)(const llmc_gguf_t *, int)) {
  if (n < 2) return;
  int h = n / 2;
  sort_indexes(g, idx, tmp, h, key);
  sort_indexes(g, idx + h, tmp, n - h, key);
  int i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = strcmp(key(g, idx[j]), key(g, idx[i])) < 0 ? idx[j++] : idx[i++];
  while (i < h) tmp[k++] = idx[i++];
  while (j < n) tmp[k++] = idx[j++];
  memcpy(idx, tmp, sizeof(int) * (size_t)n);
}

/* Builds a sorted index and refuses duplicate names. */
static llmc_status_t *index_names(const llmc_gguf_t *g, int n, const char *(*key)(const llmc_gguf_t *, int),
                                  const char *what, const char *where, int **out) {
  int *idx = malloc(sizeof(int) * (size_t)(n ? n : 1)), *tmp = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!idx || !tmp) {
    free(idx);
    free(tmp);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  for (int i = 0; i < n; i++) idx[i] = i;
  sort_indexes(g, idx, tmp, n, key);
  free(tmp);
  for (int i = 1; i < n; i++)
    if (strcmp(key(g, idx[i - 1]), key(g, idx[i])) == 0) {
      llmc_status_t *s = LLMC_ERROR(LLMC_DATA_LOSS, where, "%s '%s' appears twice", what, key(g, idx[i]));
      free(idx);
      return s;
    }
  *out = idx;
  return NULL;
}

static int find_sorted(const llmc_gguf_t *g, const int *idx, int n, const char *(*key)(const llmc_gguf_t *, int),
                       const char *name) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2, c = strcmp(key(g, idx[mid]), name);
    if (c == 0) return idx[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

static int cmp_tensor_range(const void *a, const void *b) {
  const llmc_gguf_tensor_t *x = *(const llmc_gguf_tensor_t *const *)a, *y = *(const llmc_gguf_tensor_t *const *)b;
  if (x->data != y->data) return x->data < y->data ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static llmc_status_t *read_tensor_info(cursor_t *c, llmc_gguf_t *g, llmc_gguf_tensor_t *t, uint64_t *offset,
                                       const char *where) {
  LLMC_RETURN_IF_ERROR(read_name(c, g->arena, where, "tensor name", &t->name));
  const char *name = t->name; /* statuses keep messages printable */
  uint32_t n_dims, type = 0;
  llmc_status_t *s = NULL;
  if (!read_u32(c, &n_dims)) {
    s = corrupt(where, c, "truncated tensor info");
  } else if (n_dims < 1 || n_dims > LLMC_GGUF_MAX_DIMS) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s' has %u dimensions (1 to %d allowed)", name, n_dims,
                   LLMC_GGUF_MAX_DIMS);
  } else {
    t->n_dims = (int)n_dims;
    t->numel = 1;
    for (int d = 0; d < LLMC_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims && !s; d++) {
      uint64_t ne;
      if (!read_u64(c, &ne)) s = corrupt(where, c, "truncated tensor dimensions");
      else if (ne == 0 || ne > (uint64_t)INT64_MAX || !llmc_checked_mul(t->numel, ne, &t->numel))
        s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s' has a zero or overflowing dimension", name);
      else t->ne[d] = (int64_t)ne;
    }
    if (!s && (!read_u32(c, &type) || !read_u64(c, offset))) s = corrupt(where, c, "truncated tensor info");
  }
  if (!s) {
    t->type = type;
    int ti = type_index(type);
    if (ti < 0) {
      s = LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "tensor '%s' has ggml type %u, which llmc does not read", name, type);
    } else if (t->ne[0] % type_table[ti].block) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': a %s row of %lld elements is not whole %d-element blocks",
                     name, type_table[ti].name, (long long)t->ne[0], type_table[ti].block);
    } else if (!llmc_checked_mul(t->numel / (uint64_t)type_table[ti].block, (uint64_t)type_table[ti].bytes, &t->nbytes)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s' is too large", name);
    }
  }
  return s;
}

static llmc_status_t *parse(llmc_gguf_t *g, const char *where) {
  cursor_t c = {g->base, g->base + g->size, g->base};
  const uint8_t *magic;
  if (!take(&c, 4, &magic) || memcmp(magic, "GGUF", 4))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "not a GGUF file (no \"GGUF\" magic)");
  uint64_t n_tensors, n_kvs;
  if (!read_u32(&c, &g->version)) return corrupt(where, &c, "truncated header");
  if (g->version == 1)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "GGUF version 1 (2023's first format) is not read; convert it to v3");
  if (g->version != 2 && g->version != 3)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, where, "GGUF version %u is not read (2 and 3 are%s)", g->version,
                      (g->version & 0xffff) == 0 ? "; this looks like a big-endian file" : "");
  if (!read_u64(&c, &n_tensors) || !read_u64(&c, &n_kvs)) return corrupt(where, &c, "truncated header");
  if (n_kvs > MAX_KVS || n_tensors > MAX_TENSORS)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%llu keys and %llu tensors is beyond llmc's limits (%d, %d)",
                      (unsigned long long)n_kvs, (unsigned long long)n_tensors, MAX_KVS, MAX_TENSORS);
  /* Nothing is allocated for entries the file has no room for: a key takes
   * at least 14 bytes (length, one byte, type, a u8), a tensor 33. */
  uint64_t left = (uint64_t)(c.end - c.p);
  if (n_kvs > left / 14 || n_tensors > left / 33)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%llu keys and %llu tensors do not fit in the file's %llu bytes",
                      (unsigned long long)n_kvs, (unsigned long long)n_tensors, (unsigned long long)g->size);
  if (!(g->kvs = calloc(n_kvs ? n_kvs : 1, sizeof *g->kvs)) ||
      !(g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors)))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (uint64_t i = 0; i < n_kvs; i++) {
    llmc_gguf_kv_t *kv = &g->kvs[g->n_kvs++];
    LLMC_RETURN_IF_ERROR(read_name(&c, g->arena, where, "metadata key", &kv->key));
    LLMC_RETURN_IF_ERROR(read_value(&c, kv, where));
  }
  LLMC_RETURN_IF_ERROR(index_names(g, g->n_kvs, sort_key_kv, "key", where, &g->kv_sorted));

  uint64_t align = 32;
  const llmc_gguf_kv_t *akv = llmc_gguf_find(g, "general.alignment");
  if (akv) {
    int64_t v;
    if (akv->type != LLMC_GGUF_U32 || !llmc_gguf_kv_int(akv, &v) || v < 1 || v > 65536 || (v & (v - 1)))
      return LLMC_ERROR(LLMC_DATA_LOSS, where, "general.alignment must be a u32 power of two up to 65536");
    align = (uint64_t)v;
  }
  uint64_t *offsets = malloc(sizeof(uint64_t) * (n_tensors ? n_tensors : 1));
  if (!offsets) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  llmc_status_t *s = NULL;
  for (uint64_t i = 0; i < n_tensors && !s; i++) {
    s = read_tensor_info(&c, g, &g->tensors[i], &offsets[i], where);
    if (!s) g->n_tensors++;
  }
  if (!s) s = index_names(g, g->n_tensors, sort_key_tensor, "tensor", where, &g->tensor_sorted);
  /* The data section starts at the next multiple of the alignment. */
  uint64_t data_start = (uint64_t)(c.p - g->base);
  data_start = (data_start + align - 1) / align * align;
  if (!s && n_tensors && data_start > g->size) s = LLMC_ERROR(LLMC_DATA_LOSS, where, "the file ends before its data section");
  for (int i = 0; i < g->n_tensors && !s; i++) {
    llmc_gguf_tensor_t *t = &g->tensors[i];
    uint64_t end;
    if (offsets[i] % align || !llmc_checked_add(offsets[i], t->nbytes, &end) || end > g->size - data_start) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s': offset %llu + %llu bytes is %s", t->name,
                     (unsigned long long)offsets[i], (unsigned long long)t->nbytes,
                     offsets[i] % align ? "not aligned" : "outside the data section");
      break;
    }
    t->data = g->base + data_start + offsets[i];
  }
  free(offsets);
  if (s) return s;
  /* No two tensors share bytes. */
  const llmc_gguf_tensor_t **byoff = malloc(sizeof(void *) * (size_t)(g->n_tensors ? g->n_tensors : 1));
  if (!byoff) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  for (int i = 0; i < g->n_tensors; i++) byoff[i] = &g->tensors[i];
  qsort(byoff, (size_t)g->n_tensors, sizeof byoff[0], cmp_tensor_range);
  const uint8_t *reach = NULL;
  for (int i = 0; i < g->n_tensors && !s; i++) {
    if (reach && byoff[i]->data < reach)
      s = LLMC_ERROR(LLMC_DATA_LOSS, where, "tensor '%s' overlaps another tensor's data", byoff[i]->name);
    if (!reach || byoff[i]->data + byoff[i]->nbytes > reach) reach = byoff[i]->data + byoff[i]->nbytes;
  }
  free(byoff);
  return s;
}

llmc_status_t *llmc_gguf_open_memory(const void *data, uint64_t size, const char *where, llmc_gguf_t **out) {
  *out = NULL;
  llmc_gguf_t *g = calloc(1, sizeof *g);
  if (!g || !(g->arena = llmc_arena_create())) {
    free(g);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  g->base = data;
  g->size = size;
  llmc_status_t *s = parse(g, where);
  if (s) {
    llmc_gguf_close(g);
    return s;
  }
  *out = g;
  return NULL;
}

llmc_status_t *llmc_gguf_open(const char *path, llmc_gguf_t **out) {
  *out = NULL;
  llmc_file_map_t map;
  LLMC_RETURN_IF_ERROR(llmc_file_map_open(path, &map));
  llmc_status_t *s = llmc_gguf_open_memory(map.data, map.size, path, out);
  if (s) {
    llmc_file_map_close(&map);
    return s;
  }
  (*out)->map = map;
  return NULL;
}

void llmc_gguf_close(llmc_gguf_t *g) {
  if (!g) return;
  for (int i = 0; i < g->n_kvs; i++) free(g->kvs[i].offsets);
  free(g->kvs);
  free(g->kv_sorted);
  free(g->tensors);
  free(g->tensor_sorted);
  llmc_arena_destroy(g->arena);
  llmc_file_map_close(&g->map);
  free(g);
}

uint32_t llmc_gguf_version(const llmc_gguf_t *g) { return g->version; }

const llmc_gguf_kv_t *llmc_gguf_find(const llmc_gguf_t *g, const char *key) {
  int i = g->kv_sorted ? find_sorted(g, g->kv_sorted, g->n_kvs, sort_key_kv, key) : -1;
  return i < 0 ? NULL : &g->kvs[i];
}

int llmc_gguf_kv_count(const llmc_gguf_t *g) { return g->n_kvs; }
const llmc_gguf_kv_t *llmc_gguf_kv_at(const llmc_gguf_t *g, int i) {
  return i >= 0 && i < g->n_kvs ? &g->kvs[i] : NULL;
}
const char *llmc_gguf_kv_key(const llmc_gguf_kv_t *kv) { return kv->key; }
llmc_gguf_type_t llmc_gguf_kv_type(const llmc_gguf_kv_t *kv) { return kv->type; }

/* A scalar of type t at p as an integer; false for floats and strings. */
static bool scalar_int(llmc_gguf_type_t t, const uint8_t *p, int64_t *out) {
  switch (t) {
    case LLMC_GGUF_U8: case LLMC_GGUF_BOOL: *out = p[0]; return true;
    case LLMC_GGUF_I8: *out = (int8_t)p[0]; return true;
    case LLMC_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case LLMC_GGUF_I16: { int16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case LLMC_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case LLMC_GGUF_I32: { int32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case LLMC_GGUF_I64: { int64_t v; memcpy(&v, p, 8); *out = v; return true; }
    case LLMC_GGUF_U64: {
      uint64_t v;
      memcpy(&v, p, 8);
      if (v > (uint64_t)INT64_MAX) return false;
      *out = (int64_t)v;
      return true;
    }
    default: return false;
  }
}

static bool scalar_float(llmc_gguf_type_t t, const uint8_t *p, double *out) {
  int64_t i;
  if (t == LLMC_GGUF_F32) {
    float v;
    memcpy(&v, p, 4);
    *out = v;
    return true;
  }
  if (t == LLMC_GGUF_F64) {
    memcpy(out, p, 8);
    return true;
  }
  if (t == LLMC_GGUF_BOOL || !scalar_int(t, p, &i)) return false;
  *out = (double)i;
  return true;
}

bool llmc_gguf_kv_int(const llmc_gguf_kv_t *kv, int64_t *out) { return scalar_int(kv->type, kv->data, out); }
bool llmc_gguf_kv_float(const llmc_gguf_kv_t *kv, double *out) { return scalar_float(kv->type, kv->data, out); }

bool llmc_gguf_kv_string(const llmc_gguf_kv_t *kv, const char **out, size_t *out_len) {
  if (kv->type != LLMC_GGUF_STRING) return false;
  *out = (const char *)kv->data;
  *out_len = (size_t)kv->len;
  return true;
}

llmc_gguf_type_t llmc_gguf_kv_array_type(const llmc_gguf_kv_t *kv) {
  return kv->type == LLMC_GGUF_ARRAY ? kv->elem : LLMC_GGUF_ARRAY;
}
uint64_t llmc_gguf_kv_array_len(const llmc_gguf_kv_t *kv) { return kv->type == LLMC_GGUF_ARRAY ? kv->count : 0; }

bool llmc_gguf_kv_array_string(const llmc_gguf_kv_t *kv, uint64_t i, const char **out, size_t *out_len) {
  if (kv->type != LLMC_GGUF_ARRAY || kv->elem != LLMC_GGUF_STRING || i >= kv->count) return false;
  const uint8_t *p = kv->data + kv->offsets[i];
  uint64_t len;
  memcpy(&len, p, 8);
  *out = (const char *)p + 8;
  *out_len = (size_t)len;
  return true;
}

bool llmc_gguf_kv_array_int(const llmc_gguf_kv_t *kv, uint64_t i, int64_t *out) {
  if (kv->type != LLMC_GGUF_ARRAY || i >= kv->count || !scalar_size(kv->elem)) return false;
  return scalar_int(kv->elem, kv->data + i * (uint64_t)scalar_size(kv->elem), out);
}

bool llmc_gguf_kv_array_float(const llmc_gguf_kv_t *kv, uint64_t i, double *out) {
  if (kv->type != LLMC_GGUF_ARRAY || i >= kv->count || !scalar_size(kv->elem)) return false;
  return scalar_float(kv->elem, kv->data + i * (uint64_t)scalar_size(kv->elem), out);
}

int llmc_gguf_tensor_count(const llmc_gguf_t *g) { return g->n_tensors; }
const llmc_gguf_tensor_t *llmc_gguf_tensor_at(const llmc_gguf_t *g, int i) {
  return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}
const llmc_gguf_tensor_t *llmc_gguf_tensor_find(const llmc_gguf_t *g, const char *name) {
  int i = g->tensor_sorted ? find_sorted(g, g->tensor_sorted, g->n_tensors, sort_key_tensor, name) : -1;
  return i < 0 ? NULL : &g->tensors[i];
}

/* ---- ggml's block formats, dequantized as ggml's dequantize_row_* ---- */

static float half_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return llmc_f16_to_f32(h);
}

/* 32-element blocks: Q4_0 {d, qs[16]}, Q4_1 {d, m, qs[16]}, Q5_0 {d, qh[4],
 * qs[16]}, Q5_1 {d, m, qh[4], qs[16]}, Q8_0 {d, qs[32]}. Element j of the
 * low nibbles and j + 16 of the high ones; Q5's fifth bits are qh's bit j
 * (low) and j + 16 (high). */
static void dequant_block32(uint32_t type, const uint8_t *b, float *y) {
  float d = half_at(b), m = 0;
  if (type == LLMC_GGML_Q8_0) {
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    return;
  }
  bool has_min = type == LLMC_GGML_Q4_1 || type == LLMC_GGML_Q5_1, five = type == LLMC_GGML_Q5_0 || type == LLMC_GGML_Q5_1;
  const uint8_t *p = b + 2;
  if (has_min) m = half_at(p), p += 2;
  uint32_t qh = 0;
  if (five) memcpy(&qh, p, 4), p += 4;
  int bias = has_min ? 0 : five ? 16 : 8;
  for (int j = 0; j < 16; j++) {
    int lo = p[j] & 0xF, hi = p[j] >> 4;
    if (five) {
      lo |= (int)((qh >> j) << 4) & 0x10;
      hi |= (int)(qh >> (j + 12)) & 0x10;
    }
    if (has_min) {
      y[j] = (float)lo * d + m;
      y[j + 16] = (float)hi * d + m;
    } else {
      y[j] = (float)(lo - bias) * d;
      y[j + 16] = (float)(hi - bias) * d;
    }
  }
}

/* 256-element super-blocks (Q4_K, Q5_K, Q6_K) through llmc's K-quant
 * layouts (support/llmc_kquant.h): the conversion the compiler stores them
 * with, then ggml's dequantization, so the two cannot disagree. */
static void dequant_block256(uint32_t type, const uint8_t *b, float *y) {
  int bits = type == LLMC_GGML_Q4_K ? 4 : type == LLMC_GGML_Q5_K ? 5 : 6;
  uint8_t values[LLMC_KQUANT_BLOCK], header[LLMC_KQUANT_HEADER_BYTES];
  llmc_kquant_from_ggml(bits, b, LLMC_KQUANT_BLOCK, values, header);
  llmc_kquant_dequant_row(bits, values, header, LLMC_KQUANT_BLOCK, y);
}

/* Q2_K {scales[16], qs[64], d, dmin}: sixteen groups of 16 values, each
 * d * (scale & 15) * q - dmin * (scale >> 4) with q two bits; Q3_K
 * {hmask[32], qs[64], scales[12], d}: sixteen groups of 16, each
 * d * (s - 32) * (q - 4 * !high bit) with q two bits and s a 6-bit scale
 * packed as ggml packs it (low nibbles of bytes 0-7, high bit pairs in bytes
 * 8-11). Both walk their 256 values as two halves of 128: in a half, the
 * 32 bytes of qs hold four 2-bit planes (shift 0, 2, 4, 6), each plane two
 * groups (bytes 0-15, 16-31); Q3_K's high bits are plane j's bit of hmask.
 * The arithmetic is ggml's dequantize_row_q2_K / _q3_K, operation for
 * operation (tests/tools/llama_ref.c dequant checks it bit for bit). */
static void dequant_q2_k(const uint8_t *b, float *y) {
  const uint8_t *scales = b, *q = b + 16;
  float d = half_at(b + 80), dmin = half_at(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int half = 0; half < 2; half++) {
        uint8_t sc = scales[is++];
        float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
        for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
      }
}

static void dequant_q3_k(const uint8_t *b, float *y) {
  const uint8_t *hm = b, *q = b + 32, *packed = b + 96;
  float d = half_at(b + 108);
  int8_t scales[16];
  for (int j = 0; j < 16; j++) {
    int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = (int8_t)((low | high << 4) - 32);
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 256; n += 128, q += 32)
    for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1))
      for (int half = 0; half < 2; half++) {
        float dl = d * (float)scales[is++];
        for (int l = 0; l < 16; l++) {
          int k = l + 16 * half;
          *y++ = dl * (float)(((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
        }
      }
}

void llmc_gguf_tensor_to_f32(const llmc_gguf_tensor_t *t, uint64_t first, uint64_t n, float *out) {
  int ti = type_index(t->type);
  uint64_t block = (uint64_t)type_table[ti].block, bytes = (uint64_t)type_table[ti].bytes;
  const uint8_t *p = t->data + first / block * bytes;
  for (uint64_t i = 0; i < n; i += block, p += bytes) {
    switch (t->type) {
      case LLMC_GGML_F32: memcpy(out + i, p, 4); break;
      case LLMC_GGML_F16: out[i] = half_at(p); break;
      case LLMC_GGML_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        out[i] = llmc_bf16_to_f32(h);
        break;
      }
      case LLMC_GGML_Q6_K: case LLMC_GGML_Q4_K: case LLMC_GGML_Q5_K: dequant_block256(t->type, p, out + i); break;
      case LLMC_GGML_Q2_K: dequant_q2_k(p, out + i); break;
      case LLMC_GGML_Q3_K: dequant_q3_k(p, out + i); break;
      default: dequant_block32(t->type, p, out + i); break;
    }
  }
}

void llmc_gguf_tensor_decode(const void *ctx, uint64_t first, uint64_t n, float *out) {
  const llmc_gguf_tensor_t *t = ctx;
  uint64_t block = (uint64_t)type_table[type_index(t->type)].block;
  float tmp[LLMC_KQUANT_BLOCK]; /* the largest block */
  while (n > 0) {
    uint64_t start = first / block * block, skip = first - start;
    if (skip == 0 && n >= block) { /* whole blocks straight into out */
      uint64_t whole = n / block * block;
      llmc_gguf_tensor_to_f32(t, first, whole, out);
      first += whole, out += whole, n -= whole;
      continue;
    }
    llmc_gguf_tensor_to_f32(t, start, block, tmp);
    uint64_t take = block - skip < n ? block - skip : n;
    memcpy(out, tmp + skip, take * sizeof *out);
    first += take, out += take, n -= take;
  }
}
