/* safetensors_writer.c: deterministic safetensors output.
 *
 * Layout: u64 header length, compact JSON ("__metadata__" first when set,
 * then tensors in the order added, each as dtype/shape/data_offsets) padded
 * with spaces so the data section starts at a multiple of LLMC_ST_ALIGN, then
 * each tensor at the next multiple of LLMC_ST_ALIGN with zero padding between.
 * Offsets are fixed when a tensor is added, so later stages can refer to them
 * before the file exists. At finish time a tensor's bytes come either straight
 * from the caller's buffer (llmc_st_writer_add) or from the caller's producer
 * (llmc_st_writer_add_stream), called in file order to fill one reused buffer
 * of at most LLMC_ST_CHUNK bytes; so nothing GB-sized is staged, whatever
 * conversion the producer does. The same inputs always produce the same bytes. */
#include "llmc_safetensors.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char *name;
  llmc_st_dtype_t dtype;
  int rank;
  int64_t shape[LLMC_ST_MAX_RANK]; /* [rank] */
  const void *data;                /* borrowed; [nbytes]; NULL when produced */
  llmc_st_produce_fn produce;      /* fills the data chunk by chunk, or NULL */
  void *produce_ctx;               /* borrowed until finish */
  uint64_t nbytes, offset;         /* offset relative to the data section */
} entry_t;

typedef struct {
  char *key, *value;
} meta_t;

struct llmc_st_writer {
  entry_t *entries; /* [count], in the order added */
  int count, cap;
  int32_t *index;   /* open-addressed hash of entry numbers by name; -1 empty; [index_cap] */
  int index_cap;    /* power of two, at least twice count */
  uint64_t end;     /* end of the last tensor's data, relative to the data section */
  meta_t *meta;     /* [meta_count], in the order first set */
  int meta_count, meta_cap;
};

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

/* The slot holding name, or the empty slot where it would go. */
static int32_t *index_slot(const llmc_st_writer_t *w, const char *name) {
  size_t mask = (size_t)w->index_cap - 1;
  for (size_t i = (size_t)hash_name(name) & mask;; i = (i + 1) & mask) {
    int32_t *slot = &w->index[i];
    if (*slot < 0 || strcmp(w->entries[*slot].name, name) == 0) return slot;
  }
}

static bool index_grow(llmc_st_writer_t *w) {
  int cap = w->index_cap ? w->index_cap * 2 : 64;
  int32_t *idx = malloc((size_t)cap * sizeof *idx);
  if (!idx) return false;
  memset(idx, 0xff, (size_t)cap * sizeof *idx);
  free(w->index);
  w->index = idx;
  w->index_cap = cap;
  for (int i = 0; i < w->count; i++) *index_slot(w, w->entries[i].name) = i;
  return true;
}

llmc_status_t *llmc_st_writer_create(llmc_st_writer_t **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  return NULL;
}

void llmc_st_writer_destroy(llmc_st_writer_t *w) {
  if (!w) return;
  for (int i = 0; i < w->count; i++) free(w->entries[i].name);
  for (int i = 0; i < w->meta_count; i++) {
    free(w->meta[i].key);
    free(w->meta[i].value);
  }
  free(w->entries);
  free(w->index);
  free(w->meta);
  free(w);
}

/* Jansson refuses strings that are not UTF-8, which the format requires. */
static bool is_utf8(const char *s) {
  json_t *j = json_string(s);
  json_decref(j);
  return j != NULL;
}

/* Adds an entry whose bytes come from data or, when it is NULL, from produce. */
static llmc_status_t *add_entry(llmc_st_writer_t *w, const char *name, llmc_st_dtype_t dt, int rank,
                                const int64_t *shape, const void *data, llmc_st_produce_fn produce,
                                void *produce_ctx) {
  if (!name || !*name) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "empty tensor name");
  if (strcmp(name, "__metadata__") == 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "tensor name is reserved");
  if (!is_utf8(name)) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "name is not UTF-8");
  if ((unsigned)dt >= LLMC_ST_DTYPE_COUNT)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "bad dtype %d", (int)dt);
  if (rank < 0 || rank > LLMC_ST_MAX_RANK)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "rank %d outside 0..%d", rank,
                      LLMC_ST_MAX_RANK);
  uint64_t nbytes = (uint64_t)llmc_st_dtype_size(dt);
  for (int i = 0; i < rank; i++) {
    if (shape[i] < 0)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "shape[%d] is negative", i);
    if (!llmc_checked_mul(nbytes, (uint64_t)shape[i], &nbytes))
      return LLMC_ERROR(LLMC_OUT_OF_RANGE, name, "tensor size overflows");
  }
  if (nbytes > 0 && !data && !produce)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "data is NULL");
  /* w->end <= INT64_MAX, so rounding up cannot wrap. */
  uint64_t offset = (w->end + LLMC_ST_ALIGN - 1) / LLMC_ST_ALIGN * LLMC_ST_ALIGN, end;
  /* JSON integers are signed 64-bit, so the data section must stay below 2^63. */
  if (!llmc_checked_add(offset, nbytes, &end) || end > (uint64_t)INT64_MAX)
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, name, "data section would exceed 2^63 bytes");

  if (w->index_cap == 0 || (w->count + 1) * 2 > w->index_cap) {
    if (!index_grow(w)) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, name, "out of memory");
  }
  int32_t *slot = index_slot(w, name);
  if (*slot >= 0) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "duplicate tensor name");
  if (w->count == w->cap) {
    int cap = w->cap ? w->cap * 2 : 16;
    entry_t *e = realloc(w->entries, (size_t)cap * sizeof *e);
    if (!e) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, name, "out of memory");
    w->entries = e;
    w->cap = cap;
  }
  entry_t *e = &w->entries[w->count];
  *e = (entry_t){.dtype = dt, .rank = rank, .data = data, .produce = produce,
                 .produce_ctx = produce_ctx, .nbytes = nbytes, .offset = offset};
  if (rank) memcpy(e->shape, shape, (size_t)rank * sizeof *shape);
  e->name = strdup(name);
  if (!e->name) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, name, "out of memory");
  *slot = w->count++;
  w->end = end;
  return NULL;
}

llmc_status_t *llmc_st_writer_add(llmc_st_writer_t *w, const char *name, llmc_st_dtype_t dt,
                                  int rank, const int64_t *shape, const void *data) {
  return add_entry(w, name, dt, rank, shape, data, NULL, NULL);
}

llmc_status_t *llmc_st_writer_add_stream(llmc_st_writer_t *w, const char *name, llmc_st_dtype_t dt,
                                         int rank, const int64_t *shape, llmc_st_produce_fn produce,
                                         void *ctx) {
  if (!produce) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, name, "no producer");
  return add_entry(w, name, dt, rank, shape, NULL, produce, ctx);
}

llmc_status_t *llmc_st_writer_set_metadata(llmc_st_writer_t *w, const char *key,
                                           const char *value) {
  if (!key || !value) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "NULL metadata key or value");
  if (!is_utf8(key) || !is_utf8(value))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, key, "metadata is not UTF-8");
  char *v = strdup(value);
  if (!v) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, key, "out of memory");
  for (int i = 0; i < w->meta_count; i++) {
    if (strcmp(w->meta[i].key, key) == 0) {
      free(w->meta[i].value);
      w->meta[i].value = v;
      return NULL;
    }
  }
  if (w->meta_count == w->meta_cap) {
    int cap = w->meta_cap ? w->meta_cap * 2 : 8;
    meta_t *m = realloc(w->meta, (size_t)cap * sizeof *m);
    if (!m) {
      free(v);
      return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, key, "out of memory");
    }
    w->meta = m;
    w->meta_cap = cap;
  }
  char *k = strdup(key);
  if (!k) {
    free(v);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, key, "out of memory");
  }
  w->meta[w->meta_count++] = (meta_t){k, v};
  return NULL;
}

uint64_t llmc_st_writer_data_offset(const llmc_st_writer_t *w, const char *name) {
  if (w->count == 0) return UINT64_MAX;
  int32_t i = *index_slot(w, name);
  return i >= 0 ? w->entries[i].offset : UINT64_MAX;
}

/* Renders the JSON header, unpadded, into a malloc'd string. */
static char *build_header(const llmc_st_writer_t *w) {
  json_t *root = json_object();
  bool ok = root != NULL;
  if (ok && w->meta_count) {
    json_t *m = json_object();
    ok = m && json_object_set_new(root, "__metadata__", m) == 0;
    for (int i = 0; ok && i < w->meta_count; i++)
      ok = json_object_set_new(m, w->meta[i].key, json_string(w->meta[i].value)) == 0;
  }
  for (int i = 0; ok && i < w->count; i++) {
    const entry_t *e = &w->entries[i];
    json_t *t = json_object(), *shape = json_array(), *off = json_array();
    ok = t && shape && off &&
         json_object_set_new(t, "dtype", json_string(llmc_st_dtype_name(e->dtype))) == 0;
    for (int d = 0; ok && d < e->rank; d++)
      ok = json_array_append_new(shape, json_integer((json_int_t)e->shape[d])) == 0;
    ok = ok && json_array_append_new(off, json_integer((json_int_t)e->offset)) == 0 &&
         json_array_append_new(off, json_integer((json_int_t)(e->offset + e->nbytes))) == 0;
    /* set_new takes its argument even on failure, so hand each one over once. */
    if (ok) {
      ok = json_object_set_new(t, "shape", shape) == 0;
      shape = NULL;
      ok = json_object_set_new(t, "data_offsets", off) == 0 && ok;
      off = NULL;
      ok = json_object_set_new(root, e->name, t) == 0 && ok;
      t = NULL;
    }
    json_decref(t);
    json_decref(shape);
    json_decref(off);
  }
  char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  return text;
}

static bool write_all(int fd, const void *data, uint64_t size) {
  const uint8_t *p = data;
  while (size > 0) {
    size_t chunk = size > (1u << 30) ? (1u << 30) : (size_t)size;
    ssize_t n = write(fd, p, chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    p += n;
    size -= (uint64_t)n;
  }
  return true;
}

/* Padding before a tensor is always shorter than the alignment. */
static bool write_zeros(int fd, uint64_t n) {
  static const uint8_t zeros[LLMC_ST_ALIGN];
  assert(n < sizeof zeros);
  return write_all(fd, zeros, n);
}

/* Writes a produced entry's bytes, one chunk of buf (cap bytes) at a time.
 * A producer's failure comes back as its status; a write's as false with
 * errno set, *out_status left NULL. */
static bool write_produced(int fd, const entry_t *e, uint8_t *buf, size_t cap,
                           llmc_status_t **out_status) {
  for (uint64_t at = 0; at < e->nbytes; at += cap) {
    size_t len = e->nbytes - at < cap ? (size_t)(e->nbytes - at) : cap;
    if ((*out_status = e->produce(e->produce_ctx, at, buf, len))) return false;
    if (!write_all(fd, buf, len)) return false;
  }
  return true;
}

llmc_status_t *llmc_st_writer_finish(llmc_st_writer_t *w, const char *path) {
  char tmp[4096];
  int pn = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (pn < 0 || (size_t)pn >= sizeof tmp)
    return LLMC_ERROR(LLMC_CANT_CREATE, path, "path too long");
  /* One buffer for every produced tensor, no larger than the largest. Either
   * each fits it whole or it is LLMC_ST_CHUNK, a multiple of every dtype's
   * size: chunks never split an element. */
  size_t cap = 0;
  for (int i = 0; i < w->count; i++) {
    const entry_t *e = &w->entries[i];
    if (e->produce && e->nbytes > cap)
      cap = e->nbytes < LLMC_ST_CHUNK ? (size_t)e->nbytes : LLMC_ST_CHUNK;
  }
  uint8_t *buf = cap ? malloc(cap) : NULL;
  if (cap && !buf) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, path, "out of memory");
  char *json = build_header(w);
  if (!json) {
    free(buf);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, path, "out of memory building header");
  }
  size_t jlen = strlen(json);
  uint64_t hlen = (8 + jlen + LLMC_ST_ALIGN - 1) / LLMC_ST_ALIGN * LLMC_ST_ALIGN - 8;
  uint8_t prefix[8];
  for (int i = 0; i < 8; i++) prefix[i] = (uint8_t)(hlen >> (8 * i));

  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    free(json);
    free(buf);
    return LLMC_ERROR(LLMC_CANT_CREATE, path, "cannot create %s: %s", tmp, strerror(e));
  }
  static const char spaces[LLMC_ST_ALIGN] = {
      ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
      ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
      ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
      ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  bool ok = write_all(fd, prefix, 8) && write_all(fd, json, jlen) &&
            write_all(fd, spaces, hlen - jlen);
  free(json);
  llmc_status_t *produced = NULL; /* a producer's failure */
  uint64_t pos = 0;               /* relative to the data section */
  for (int i = 0; ok && i < w->count; i++) {
    const entry_t *e = &w->entries[i];
    ok = write_zeros(fd, e->offset - pos) &&
         (e->data || e->nbytes == 0 ? write_all(fd, e->data, e->nbytes)
                                    : write_produced(fd, e, buf, cap, &produced));
    pos = e->offset + e->nbytes;
  }
  int err = errno;
  free(buf);
  if (ok && fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    if (produced) return produced;
    return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot write: %s", strerror(err));
  }
  return NULL;
}
