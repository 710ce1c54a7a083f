/* arena.c: a bump allocator. Chunks grow geometrically; everything is freed at
 * once by llmc_arena_destroy. Allocations are zeroed and 16-byte aligned. */
#include "llmc_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} chunk_t;

struct llmc_arena {
  chunk_t *head;
  size_t next_cap;
};

llmc_arena_t *llmc_arena_create(void) {
  llmc_arena_t *a = calloc(1, sizeof *a);
  if (a) a->next_cap = 64 * 1024;
  return a;
}

void llmc_arena_destroy(llmc_arena_t *a) {
  if (!a) return;
  for (chunk_t *c = a->head, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(a);
}

void *llmc_arena_alloc(llmc_arena_t *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (!a->head || a->head->cap - a->head->used < size) {
    size_t cap = a->next_cap;
    while (cap < size) cap *= 2;
    chunk_t *c = malloc(sizeof(chunk_t) + cap);
    if (!c) return NULL;
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
    if (a->next_cap < (64u << 20)) a->next_cap *= 2;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += size;
  memset(p, 0, size);
  return p;
}

char *llmc_arena_strndup(llmc_arena_t *a, const char *s, size_t n) {
  char *d = llmc_arena_alloc(a, n + 1);
  if (d) memcpy(d, s, n);
  return d;
}

char *llmc_arena_strdup(llmc_arena_t *a, const char *s) {
  return llmc_arena_strndup(a, s, strlen(s));
}

char *llmc_arena_printf(llmc_arena_t *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *d = n < 0 ? NULL : llmc_arena_alloc(a, (size_t)n + 1);
  if (d) vsnprintf(d, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return d;
}

char *llmc_path_join(llmc_arena_t *a, const char *dir, const char *name) {
  if (!dir || !*dir || name[0] == '/') return llmc_arena_strdup(a, name);
  size_t n = strlen(dir);
  return llmc_arena_printf(a, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

void llmc_buf_append(llmc_buf_t *b, const void *data, size_t n) {
  if (b->failed) return;
  if (b->cap - b->len < n + 1) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
      b->failed = true;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, data, n); /* data may be NULL when n is 0 */
  b->len += n;
  b->data[b->len] = '\0';
}

void llmc_buf_printf(llmc_buf_t *b, const char *fmt, ...) {
  char small[256];
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
  } else if ((size_t)n < sizeof small) {
    llmc_buf_append(b, small, (size_t)n);
  } else {
    char *big = malloc((size_t)n + 1);
    if (!big) {
      b->failed = true;
    } else {
      vsnprintf(big, (size_t)n + 1, fmt, ap2);
      llmc_buf_append(b, big, (size_t)n);
      free(big);
    }
  }
  va_end(ap2);
}

void llmc_buf_free(llmc_buf_t *b) {
  free(b->data);
  *b = (llmc_buf_t){0};
}

/* ---- string map ----
 * Open addressing (linear probing, FNV-1a), power-of-two capacity kept at
 * most half full. Lives in an arena: a grown table leaves the old one as
 * arena garbage (at most as much again), and nothing needs freeing. */
struct llmc_strmap {
  llmc_arena_t *arena;
  size_t cap, n;
  const char **keys;
  void **values;
};

static uint64_t strmap_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

llmc_strmap_t *llmc_strmap_create(llmc_arena_t *a) {
  llmc_strmap_t *m = llmc_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  *m = (llmc_strmap_t){.arena = a, .cap = 64};
  m->keys = llmc_arena_alloc(a, sizeof(char *) * m->cap);
  m->values = llmc_arena_alloc(a, sizeof(void *) * m->cap);
  if (!m->keys || !m->values) return NULL;
  memset(m->keys, 0, sizeof(char *) * m->cap);
  return m;
}

static size_t strmap_slot(const llmc_strmap_t *m, const char *key) {
  size_t i = (size_t)strmap_hash(key) & (m->cap - 1);
  while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
  return i;
}

void *llmc_strmap_get(const llmc_strmap_t *m, const char *key) {
  size_t i = strmap_slot(m, key);
  return m->keys[i] ? m->values[i] : NULL;
}

bool llmc_strmap_put(llmc_strmap_t *m, const char *key, void *value) {
  if (2 * (m->n + 1) > m->cap) {
    size_t cap = m->cap * 2;
    const char **keys = llmc_arena_alloc(m->arena, sizeof(char *) * cap);
    void **values = llmc_arena_alloc(m->arena, sizeof(void *) * cap);
    if (!keys || !values) return false;
    memset(keys, 0, sizeof(char *) * cap);
    llmc_strmap_t grown = {.arena = m->arena, .cap = cap, .n = m->n, .keys = keys, .values = values};
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) {
        size_t j = strmap_slot(&grown, m->keys[i]);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
      }
    *m = grown;
  }
  size_t i = strmap_slot(m, key);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->n++;
  }
  m->values[i] = value;
  return true;
}
