/* kv_cache.c: block pool, block tables, prefix cache and copy-on-write for
 * the paged KV cache (PagedAttention, Kwon et al. 2023; prefix caching as in
 * vLLM). See rt_kv_cache.h for the model and the invariants.
 *
 * Data structures, all sized once at create:
 *   free stack   unreferenced blocks without a cached prefix
 *   LRU list     unreferenced blocks with one, oldest first (intrusive,
 *                prev/next arrays), evicted only when the free stack is empty
 *   prefix map   open addressing (linear probing, backward-shift deletion)
 *                from chain hash to block; a hit is confirmed by comparing
 *                the parent hash and the block's token ids, so a 64-bit hash
 *                collision can cost a cache miss but never wrong KV. */
#include "rt_kv_cache.h"

#include <stdlib.h>
#include <string.h>

#define NO_BLOCK (-1)
/* Parent hash of block 0: any constant not likely to be a real chain hash. */
#define CHAIN_SEED 0x6c6c6d632d6b7630ull

struct llmc_kv_pool {
  int32_t n_blocks, block_size, max_blocks;
  llmc_kv_copy_fn copy_block;
  void *copy_ctx;

  int32_t *refcount;      /* [n_blocks] table entries naming the block */
  bool *hashed;           /* [n_blocks] in the prefix map */
  uint64_t *hash;         /* [n_blocks] chain hash, valid when hashed */
  uint64_t *parent_hash;  /* [n_blocks] chain hash of the previous block */
  int32_t *tokens;        /* [n_blocks * block_size] token ids, valid when hashed */

  int32_t *free_stack; /* [n_blocks] */
  int32_t n_free;

  int32_t *lru_prev, *lru_next; /* [n_blocks] */
  int32_t lru_head, lru_tail, n_lru;

  uint64_t *map_keys; /* [map_cap] */
  int32_t *map_vals;  /* [map_cap] block or NO_BLOCK */
  uint64_t map_mask;
};

/* ---- hashing ---- */

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t chain_hash(uint64_t parent, const int32_t *tokens, int32_t n) {
  uint64_t h = mix64(parent ^ 0x9E3779B97F4A7C15ull);
  for (int32_t i = 0; i < n; i++) h = mix64(h ^ (uint32_t)tokens[i]) + 0x9E3779B97F4A7C15ull;
  return h;
}

/* ---- prefix map ---- */

static int32_t map_find(const llmc_kv_pool_t *p, uint64_t h, uint64_t parent,
                        const int32_t *tokens) {
  for (uint64_t i = h & p->map_mask;; i = (i + 1) & p->map_mask) {
    int32_t b = p->map_vals[i];
    if (b == NO_BLOCK) return NO_BLOCK;
    if (p->map_keys[i] == h && p->parent_hash[b] == parent &&
        memcmp(p->tokens + (int64_t)b * p->block_size, tokens,
               (size_t)p->block_size * sizeof *tokens) == 0)
      return b;
  }
}

static bool map_has_key(const llmc_kv_pool_t *p, uint64_t h) {
  for (uint64_t i = h & p->map_mask; p->map_vals[i] != NO_BLOCK; i = (i + 1) & p->map_mask)
    if (p->map_keys[i] == h) return true;
  return false;
}

static void map_insert(llmc_kv_pool_t *p, uint64_t h, int32_t b) {
  uint64_t i = h & p->map_mask;
  while (p->map_vals[i] != NO_BLOCK) i = (i + 1) & p->map_mask;
  p->map_keys[i] = h;
  p->map_vals[i] = b;
}

/* Backward-shift deletion keeps every entry reachable from its home slot
 * without tombstones (Knuth 6.4, Algorithm R). */
static void map_remove(llmc_kv_pool_t *p, int32_t b) {
  uint64_t i = p->hash[b] & p->map_mask;
  while (p->map_vals[i] != b) i = (i + 1) & p->map_mask;
  p->map_vals[i] = NO_BLOCK;
  for (uint64_t j = (i + 1) & p->map_mask; p->map_vals[j] != NO_BLOCK; j = (j + 1) & p->map_mask) {
    uint64_t home = p->map_keys[j] & p->map_mask;
    /* Entry j may move to the hole at i unless its home lies cyclically in (i, j]. */
    bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    p->map_keys[i] = p->map_keys[j];
    p->map_vals[i] = p->map_vals[j];
    p->map_vals[j] = NO_BLOCK;
    i = j;
  }
}

/* ---- LRU list of cached, unreferenced blocks ---- */

static void lru_push_tail(llmc_kv_pool_t *p, int32_t b) {
  p->lru_prev[b] = p->lru_tail;
  p->lru_next[b] = NO_BLOCK;
  if (p->lru_tail != NO_BLOCK) p->lru_next[p->lru_tail] = b;
  else p->lru_head = b;
  p->lru_tail = b;
  p->n_lru++;
}

static void lru_unlink(llmc_kv_pool_t *p, int32_t b) {
  if (p->lru_prev[b] != NO_BLOCK) p->lru_next[p->lru_prev[b]] = p->lru_next[b];
  else p->lru_head = p->lru_next[b];
  if (p->lru_next[b] != NO_BLOCK) p->lru_prev[p->lru_next[b]] = p->lru_prev[b];
  else p->lru_tail = p->lru_prev[b];
  p->lru_prev[b] = p->lru_next[b] = NO_BLOCK;
  p->n_lru--;
}

static void unhash(llmc_kv_pool_t *p, int32_t b) {
  map_remove(p, b);
  p->hashed[b] = false;
}

/* ---- block references ---- */

/* Takes a block for a new reference: the free stack first, then the least
 * recently used cached block, whose prefix is forgotten. Caller checked that
 * one is available. */
static int32_t block_alloc(llmc_kv_pool_t *p) {
  int32_t b;
  if (p->n_free > 0) {
    b = p->free_stack[--p->n_free];
  } else {
    b = p->lru_head;
    lru_unlink(p, b);
    unhash(p, b);
  }
  p->refcount[b] = 1;
  return b;
}

static void block_decref(llmc_kv_pool_t *p, int32_t b) {
  if (--p->refcount[b] > 0) return;
  if (p->hashed[b]) lru_push_tail(p, b); /* keep the prefix for later hits */
  else p->free_stack[p->n_free++] = b;
}

/* ---- pool ---- */

llmc_status_t *llmc_kv_pool_create(int32_t n_blocks, int32_t block_size,
                                   int32_t max_blocks_per_seq, llmc_kv_copy_fn copy_block,
                                   void *copy_ctx, llmc_kv_pool_t **out_pool) {
  *out_pool = NULL;
  if (n_blocks < 1 || block_size < 1 || max_blocks_per_seq < 1 || n_blocks > (1 << 30))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL,
                      "KV pool of %d blocks of %d tokens (%d per sequence) is not valid",
                      (int)n_blocks, (int)block_size, (int)max_blocks_per_seq);
  llmc_kv_pool_t *p = calloc(1, sizeof *p);
  if (!p) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  p->n_blocks = n_blocks;
  p->block_size = block_size;
  p->max_blocks = max_blocks_per_seq;
  p->copy_block = copy_block;
  p->copy_ctx = copy_ctx;
  uint64_t cap = 16;
  while (cap < 2 * (uint64_t)n_blocks) cap *= 2; /* load factor <= 1/2 */
  p->map_mask = cap - 1;
  size_t n = (size_t)n_blocks;
  p->refcount = calloc(n, sizeof *p->refcount);
  p->hashed = calloc(n, sizeof *p->hashed);
  p->hash = calloc(n, sizeof *p->hash);
  p->parent_hash = calloc(n, sizeof *p->parent_hash);
  p->tokens = calloc(n * (size_t)block_size, sizeof *p->tokens);
  p->free_stack = malloc(n * sizeof *p->free_stack);
  p->lru_prev = malloc(n * sizeof *p->lru_prev);
  p->lru_next = malloc(n * sizeof *p->lru_next);
  p->map_keys = calloc(cap, sizeof *p->map_keys);
  p->map_vals = malloc(cap * sizeof *p->map_vals);
  if (!p->refcount || !p->hashed || !p->hash || !p->parent_hash || !p->tokens ||
      !p->free_stack || !p->lru_prev || !p->lru_next || !p->map_keys || !p->map_vals) {
    llmc_kv_pool_destroy(p);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory for a KV pool of %d blocks",
                      (int)n_blocks);
  }
  /* Stack order makes block 0 the first one handed out. */
  for (int32_t i = 0; i < n_blocks; i++) {
    p->free_stack[i] = n_blocks - 1 - i;
    p->lru_prev[i] = p->lru_next[i] = NO_BLOCK;
  }
  p->n_free = n_blocks;
  p->lru_head = p->lru_tail = NO_BLOCK;
  for (uint64_t i = 0; i < cap; i++) p->map_vals[i] = NO_BLOCK;
  *out_pool = p;
  return NULL;
}

void llmc_kv_pool_destroy(llmc_kv_pool_t *p) {
  if (!p) return;
  free(p->refcount);
  free(p->hashed);
  free(p->hash);
  free(p->parent_hash);
  free(p->tokens);
  free(p->free_stack);
  free(p->lru_prev);
  free(p->lru_next);
  free(p->map_keys);
  free(p->map_vals);
  free(p);
}

int32_t llmc_kv_pool_block_size(const llmc_kv_pool_t *p) { return p->block_size; }
int32_t llmc_kv_pool_n_blocks(const llmc_kv_pool_t *p) { return p->n_blocks; }
int32_t llmc_kv_pool_n_available(const llmc_kv_pool_t *p) { return p->n_free + p->n_lru; }
int32_t llmc_kv_pool_n_cached(const llmc_kv_pool_t *p) { return p->n_lru; }
int32_t llmc_kv_pool_refcount(const llmc_kv_pool_t *p, int32_t b) {
  return (b >= 0 && b < p->n_blocks) ? p->refcount[b] : -1;
}

/* ---- tables ---- */

llmc_status_t *llmc_kv_table_init(const llmc_kv_pool_t *p, llmc_kv_table_t *t) {
  *t = (llmc_kv_table_t){0};
  t->blocks = malloc((size_t)p->max_blocks * sizeof *t->blocks);
  t->hashes = malloc((size_t)p->max_blocks * sizeof *t->hashes);
  if (!t->blocks || !t->hashes) {
    free(t->blocks);
    free(t->hashes);
    *t = (llmc_kv_table_t){0};
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory for a block table");
  }
  t->max_blocks = p->max_blocks;
  return NULL;
}

void llmc_kv_table_release(llmc_kv_pool_t *p, llmc_kv_table_t *t) {
  /* Release the last block first so that, in the LRU list, a prefix's tail
   * blocks are evicted before its head: a later hit needs the head. */
  for (int32_t i = t->n_blocks - 1; i >= t->n_dropped; i--) block_decref(p, t->blocks[i]);
  t->n_blocks = 0;
  t->n_hashed = 0;
  t->n_dropped = 0;
}

void llmc_kv_table_destroy(llmc_kv_pool_t *p, llmc_kv_table_t *t) {
  if (t->blocks) llmc_kv_table_release(p, t);
  free(t->blocks);
  free(t->hashes);
  *t = (llmc_kv_table_t){0};
}

int64_t llmc_kv_table_match_prefix(llmc_kv_pool_t *p, llmc_kv_table_t *t, const int32_t *tokens,
                                   int64_t n) {
  if (t->n_blocks != 0 || n <= 0) return 0;
  int64_t n_full = n / p->block_size;
  if (n_full > t->max_blocks) n_full = t->max_blocks;
  uint64_t parent = CHAIN_SEED;
  for (int64_t i = 0; i < n_full; i++) {
    const int32_t *bt = tokens + i * p->block_size;
    uint64_t h = chain_hash(parent, bt, p->block_size);
    int32_t b = map_find(p, h, parent, bt);
    if (b == NO_BLOCK) break;
    if (p->refcount[b] == 0) lru_unlink(p, b); /* revive a cached block */
    p->refcount[b]++;
    t->blocks[t->n_blocks++] = b;
    t->hashes[t->n_hashed++] = h;
    parent = h;
  }
  return (int64_t)t->n_blocks * p->block_size;
}

int32_t llmc_kv_table_blocks_needed(const llmc_kv_pool_t *p, const llmc_kv_table_t *t,
                                    int64_t n_tokens) {
  int64_t want = (n_tokens + p->block_size - 1) / p->block_size;
  if (want <= t->n_blocks) return 0;
  if (want > INT32_MAX) return INT32_MAX;
  return (int32_t)(want - t->n_blocks);
}

llmc_status_t *llmc_kv_table_reserve(llmc_kv_pool_t *p, llmc_kv_table_t *t, int64_t n_tokens) {
  int32_t need = llmc_kv_table_blocks_needed(p, t, n_tokens);
  if (need == 0) return NULL;
  if ((int64_t)t->n_blocks + need > t->max_blocks)
    return LLMC_ERROR(LLMC_OUT_OF_RANGE, NULL,
                      "%lld tokens need more than the %d blocks of %d tokens a sequence may hold",
                      (long long)n_tokens, (int)t->max_blocks, (int)p->block_size);
  if (need > llmc_kv_pool_n_available(p))
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL,
                      "KV cache exhausted: %d more blocks needed, %d available of %d",
                      (int)need, (int)llmc_kv_pool_n_available(p), (int)p->n_blocks);
  for (int32_t i = 0; i < need; i++) t->blocks[t->n_blocks++] = block_alloc(p);
  return NULL;
}

llmc_status_t *llmc_kv_table_prepare_write(llmc_kv_pool_t *p, llmc_kv_table_t *t, int64_t begin,
                                           int64_t end) {
  if (begin < 0 || end <= begin) return NULL;
  int64_t first = begin / p->block_size, last = (end - 1) / p->block_size;
  if (last >= t->n_blocks)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "write to position %lld past the %d reserved blocks",
                      (long long)(end - 1), (int)t->n_blocks);
  if (first < t->n_dropped)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "write to position %lld, whose block was dropped",
                      (long long)begin);
  for (int64_t i = first; i <= last; i++) {
    int32_t b = t->blocks[i];
    if (p->refcount[b] > 1) {
      /* Shared with another sequence: copy on write. */
      if (llmc_kv_pool_n_available(p) < 1)
        return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL,
                          "KV cache exhausted: no block left to copy a shared block into");
      int32_t nb = block_alloc(p);
      if (p->copy_block) p->copy_block(p->copy_ctx, nb, b);
      p->refcount[b]--; /* still > 0: stays with its other owners */
      t->blocks[i] = nb;
    } else if (p->hashed[b]) {
      unhash(p, b); /* its content is about to stop matching its hash */
    }
    if (t->n_hashed > i) t->n_hashed = (int32_t)i;
  }
  return NULL;
}

void llmc_kv_table_commit(llmc_kv_pool_t *p, llmc_kv_table_t *t, const int32_t *tokens,
                          int64_t n_computed) {
  int64_t full = n_computed / p->block_size;
  if (full > t->n_blocks) full = t->n_blocks;
  for (int64_t i = t->n_hashed; i < full; i++) {
    uint64_t parent = i > 0 ? t->hashes[i - 1] : CHAIN_SEED;
    const int32_t *bt = tokens + i * p->block_size;
    uint64_t h = chain_hash(parent, bt, p->block_size);
    t->hashes[i] = h;
    int32_t b = t->blocks[i];
    /* An equal block may already be cached (two sequences computed the same
     * prefix in one step): keep that one, this block stays private. */
    if (p->hashed[b] || map_has_key(p, h)) continue;
    p->hashed[b] = true;
    p->hash[b] = h;
    p->parent_hash[b] = parent;
    memcpy(p->tokens + (int64_t)b * p->block_size, bt, (size_t)p->block_size * sizeof *bt);
    map_insert(p, h, b);
  }
  if (full > t->n_hashed) t->n_hashed = (int32_t)full;
}

int32_t llmc_kv_table_drop_before(llmc_kv_pool_t *p, llmc_kv_table_t *t, int64_t pos) {
  int64_t dead = pos > 0 ? pos / p->block_size : 0; /* blocks [0, dead) end at or before pos */
  if (dead > t->n_hashed) dead = t->n_hashed;      /* commit must name them first */
  int32_t n = 0;
  /* These are the head of the sequence's prefix and enter the LRU list
   * before its tail (still held): a later prompt hit needs the head, but an
   * LRU list cannot tell; a long windowed sequence's head is the least
   * likely of its blocks to be asked for again. */
  for (; t->n_dropped < dead; t->n_dropped++, n++) {
    block_decref(p, t->blocks[t->n_dropped]);
    t->blocks[t->n_dropped] = NO_BLOCK;
  }
  return n;
}

/* ---- invariants ---- */

llmc_status_t *llmc_kv_check_invariants(const llmc_kv_pool_t *p,
                                        const llmc_kv_table_t *const *tables, int n_tables) {
  llmc_status_t *err = NULL;
  int32_t *count = calloc((size_t)p->n_blocks, sizeof *count);
  int32_t *stamp = malloc((size_t)p->n_blocks * sizeof *stamp);
  uint8_t *where = calloc((size_t)p->n_blocks, 1); /* 1 free, 2 lru */
  if (!count || !stamp || !where) {
    err = LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
    goto cleanup;
  }
  for (int32_t b = 0; b < p->n_blocks; b++) stamp[b] = -1;
#define FAIL(...)                                       \
  do {                                                  \
    err = LLMC_ERROR(LLMC_INTERNAL, "kv", __VA_ARGS__); \
    goto cleanup;                                       \
  } while (0)
  for (int ti = 0; ti < n_tables; ti++) {
    const llmc_kv_table_t *t = tables[ti];
    if (!t) continue;
    if (t->n_blocks < 0 || t->n_blocks > t->max_blocks || t->n_hashed > t->n_blocks ||
        t->n_dropped < 0 || t->n_dropped > t->n_hashed)
      FAIL("table %d holds %d blocks (%d hashed, %d dropped, max %d)", ti, (int)t->n_blocks,
           (int)t->n_hashed, (int)t->n_dropped, (int)t->max_blocks);
    for (int32_t i = 0; i < t->n_dropped; i++)
      if (t->blocks[i] != NO_BLOCK) FAIL("table %d dropped entry %d names block %d", ti, (int)i, (int)t->blocks[i]);
    for (int32_t i = t->n_dropped; i < t->n_blocks; i++) {
      int32_t b = t->blocks[i];
      if (b < 0 || b >= p->n_blocks) FAIL("table %d entry %d names block %d", ti, (int)i, (int)b);
      if (stamp[b] == ti) FAIL("table %d names block %d twice", ti, (int)b);
      stamp[b] = ti;
      count[b]++;
    }
  }
  int32_t used = 0, n_hashed = 0;
  for (int32_t b = 0; b < p->n_blocks; b++) {
    if (count[b] != p->refcount[b])
      FAIL("block %d has refcount %d but %d table references", (int)b, (int)p->refcount[b],
           (int)count[b]);
    if (p->refcount[b] > 0) used++;
    if (p->hashed[b]) n_hashed++;
  }
  for (int32_t i = 0; i < p->n_free; i++) {
    int32_t b = p->free_stack[i];
    if (b < 0 || b >= p->n_blocks || where[b])
      FAIL("free list entry %d is block %d", (int)i, (int)b);
    if (p->refcount[b] != 0 || p->hashed[b])
      FAIL("free block %d has refcount %d, hashed %d", (int)b, (int)p->refcount[b], p->hashed[b]);
    where[b] = 1;
  }
  int32_t n_lru = 0;
  for (int32_t b = p->lru_head; b != NO_BLOCK; b = p->lru_next[b]) {
    if (b < 0 || b >= p->n_blocks || where[b] || n_lru > p->n_blocks)
      FAIL("LRU list entry %d is block %d", (int)n_lru, (int)b);
    if (p->refcount[b] != 0 || !p->hashed[b])
      FAIL("LRU block %d has refcount %d, hashed %d", (int)b, (int)p->refcount[b], p->hashed[b]);
    where[b] = 2;
    n_lru++;
  }
  if (n_lru != p->n_lru) FAIL("LRU list has %d blocks, count says %d", (int)n_lru, (int)p->n_lru);
  for (int32_t b = 0; b < p->n_blocks; b++)
    if (p->refcount[b] == 0 && !where[b])
      FAIL("block %d leaked: unreferenced and not free", (int)b);
  if (p->n_free + p->n_lru + used != p->n_blocks)
    FAIL("%d free + %d cached + %d used != %d blocks", (int)p->n_free, (int)p->n_lru, (int)used,
         (int)p->n_blocks);
  int32_t in_map = 0;
  for (uint64_t i = 0; i <= p->map_mask; i++) {
    int32_t b = p->map_vals[i];
    if (b == NO_BLOCK) continue;
    if (b < 0 || b >= p->n_blocks || !p->hashed[b] || p->hash[b] != p->map_keys[i])
      FAIL("prefix map slot %llu names block %d wrongly", (unsigned long long)i, (int)b);
    in_map++;
  }
  if (in_map != n_hashed)
    FAIL("prefix map has %d entries for %d hashed blocks", (int)in_map, (int)n_hashed);
#undef FAIL
cleanup:
  free(count);
  free(stamp);
  free(where);
  return err;
}
