/* rt_kv_cache.h: the paged KV cache's bookkeeping (internal).
 *
 * Following PagedAttention (Kwon et al., SOSP 2023, the vLLM paper), KV lives
 * in fixed-size blocks of block_size token slots taken from one pool; each
 * sequence reaches its blocks through a block table, so memory is allocated
 * a block at a time as a sequence grows and never needs to be contiguous.
 *
 * This module owns only metadata: which block is free, who references it,
 * which token prefix it holds. Block contents live in a backend buffer; the
 * pool calls copy_block to copy one block's contents (copy-on-write).
 *
 * Prefix caching (vLLM's automatic prefix caching): when a block becomes
 * full its content is named by a hash chained with the previous block's
 * hash, h_i = H(h_{i-1}, tokens of block i), so equal hashes mean equal whole
 * prefixes. A map from hash to block lets a new sequence that starts with
 * the same full blocks take references to them and skip computing them.
 * A block whose last reference goes away keeps its hash and waits in an LRU
 * list; it is reused only when the free list is empty (oldest first), and a
 * prefix hit on it revives it.
 *
 * Invariants (llmc_kv_check_invariants):
 *   refcount[b] == number of table entries naming b, over all live tables;
 *   a block with refcount 0 is in exactly one of free list (unhashed) and
 *   LRU list (hashed); n_free + n_lru + n_used == n_blocks;
 *   the map names exactly the hashed blocks, each under its own hash;
 *   no table names one block twice;
 *   a table's dropped entries, [0, n_dropped), name no block (-1) and are
 *   hashed (n_dropped <= n_hashed).
 *
 * Sliding windows (Mistral): when every layer attends only to the last W
 * positions, blocks wholly before a sequence's next position - W + 1 are
 * never read again. llmc_kv_table_drop_before gives them back to the pool
 * (into the LRU list, still hashed, so another sequence's prompt can still
 * hit them); the table keeps its position-indexed layout, with holes. */
#ifndef LLMC_RT_KV_CACHE_H
#define LLMC_RT_KV_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "llmc_support.h"

typedef struct llmc_kv_pool llmc_kv_pool_t;

/* Copies the contents of block src into block dst. */
typedef void (*llmc_kv_copy_fn)(void *ctx, int32_t dst, int32_t src);

/* A sequence's block table. blocks[i] holds tokens [i*bs, (i+1)*bs). */
typedef struct {
  int32_t *blocks;     /* [max_blocks] block ids; entries >= n_blocks are unused,
                          entries < n_dropped are -1 (dropped) */
  uint64_t *hashes;    /* [max_blocks] chain hash of each full block, 0..n_hashed) */
  int32_t n_blocks;    /* blocks held */
  int32_t n_hashed;    /* leading full blocks whose chain hash is known */
  int32_t n_dropped;   /* leading entries whose blocks were given back */
  int32_t max_blocks;  /* capacity, the plan's MAX_BLOCKS_PER_SEQ */
} llmc_kv_table_t;

LLMC_MUST_USE llmc_status_t *llmc_kv_pool_create(int32_t n_blocks, int32_t block_size,
                                                 int32_t max_blocks_per_seq,
                                                 llmc_kv_copy_fn copy_block, void *copy_ctx,
                                                 llmc_kv_pool_t **out_pool);
void llmc_kv_pool_destroy(llmc_kv_pool_t *pool);

int32_t llmc_kv_pool_block_size(const llmc_kv_pool_t *pool);
int32_t llmc_kv_pool_n_blocks(const llmc_kv_pool_t *pool);
/* Blocks a reservation can take now: free plus cached-but-unreferenced. */
int32_t llmc_kv_pool_n_available(const llmc_kv_pool_t *pool);
/* Unreferenced blocks that still hold a cached prefix. */
int32_t llmc_kv_pool_n_cached(const llmc_kv_pool_t *pool);

/* Table storage is allocated here, once per sequence; the table starts empty. */
LLMC_MUST_USE llmc_status_t *llmc_kv_table_init(const llmc_kv_pool_t *pool,
                                                llmc_kv_table_t *table);
/* Releases the table's blocks (if any) and its storage. */
void llmc_kv_table_destroy(llmc_kv_pool_t *pool, llmc_kv_table_t *table);
/* Drops every block reference; the table stays usable. */
void llmc_kv_table_release(llmc_kv_pool_t *pool, llmc_kv_table_t *table);

/* For an empty table: takes references to the cached blocks that hold the
 * longest prefix of tokens[0, n) made of whole blocks. Returns the number of
 * tokens covered (a multiple of block_size). Pass n = prompt length - 1 so the
 * last prompt token is always computed (its logits are needed). */
int64_t llmc_kv_table_match_prefix(llmc_kv_pool_t *pool, llmc_kv_table_t *table,
                                   const int32_t *tokens, int64_t n);

/* Blocks the table must add to hold n_tokens tokens. */
int32_t llmc_kv_table_blocks_needed(const llmc_kv_pool_t *pool, const llmc_kv_table_t *table,
                                    int64_t n_tokens);
/* Grows the table to hold n_tokens tokens; all or nothing. Fails with
 * LLMC_RESOURCE_EXHAUSTED when the pool has too few blocks available and
 * LLMC_OUT_OF_RANGE past max_blocks. */
LLMC_MUST_USE llmc_status_t *llmc_kv_table_reserve(llmc_kv_pool_t *pool, llmc_kv_table_t *table,
                                                   int64_t n_tokens);
/* Makes the blocks holding positions [begin, end) private before they are
 * written: a shared block is copied to a new one (copy-on-write), and a
 * private block that is in the prefix map leaves it (its content changes),
 * along with the hashes of later blocks. The positions must be reserved. */
LLMC_MUST_USE llmc_status_t *llmc_kv_table_prepare_write(llmc_kv_pool_t *pool,
                                                         llmc_kv_table_t *table, int64_t begin,
                                                         int64_t end);
/* Records that tokens[0, n_computed) are in the cache: newly full blocks get
 * their chain hash and enter the prefix map (unless an equal block already
 * is there). */
void llmc_kv_table_commit(llmc_kv_pool_t *pool, llmc_kv_table_t *table, const int32_t *tokens,
                          int64_t n_computed);

/* Gives back the blocks that hold only positions before pos (behind every
 * layer's window), in order, stopping at the first one whose chain hash is not
 * known yet (never the case for committed positions). Returns how many. */
int32_t llmc_kv_table_drop_before(llmc_kv_pool_t *pool, llmc_kv_table_t *table, int64_t pos);

/* Debug check of the invariants above over all live tables. NULL when they
 * hold; otherwise LLMC_INTERNAL naming the first violation. */
LLMC_MUST_USE llmc_status_t *llmc_kv_check_invariants(const llmc_kv_pool_t *pool,
                                                      const llmc_kv_table_t *const *tables,
                                                      int n_tables);

/* Refcount of one block (tests). */
int32_t llmc_kv_pool_refcount(const llmc_kv_pool_t *pool, int32_t block);

#endif
