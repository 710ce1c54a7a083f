/* llmc_gguf.h: reading GGUF files (llama.cpp's model format).
 *
 * Format (ggml's docs/gguf.md), little-endian, versions 2 and 3:
 *   "GGUF" u32 version, u64 tensor_count, u64 kv_count,
 *   kv_count × (string key, u32 value type, value),
 *   tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset),
 *   padding to general.alignment (32 by default), the data section.
 * A string is a u64 length and that many bytes (no NUL). ne[0] is the
 * innermost dimension, so a ggml [ne0, ne1] matrix is PyTorch's [ne1, ne0]
 * with the same bytes.
 *
 * Every count, length, offset and size the file states is checked against
 * the file before a pointer into the mapping is formed (GGUF readers have a
 * history of overflow CVEs): a hostile file gives a status, never a fault.
 * Keys and tensor names are copied NUL-terminated (a NUL inside one is
 * refused); string values are returned as pointer + length into the file. */
#ifndef LLMC_GGUF_H
#define LLMC_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "llmc_support.h"

/* Metadata value types (the file's numbers). */
typedef enum {
  LLMC_GGUF_U8 = 0,
  LLMC_GGUF_I8 = 1,
  LLMC_GGUF_U16 = 2,
  LLMC_GGUF_I16 = 3,
  LLMC_GGUF_U32 = 4,
  LLMC_GGUF_I32 = 5,
  LLMC_GGUF_F32 = 6,
  LLMC_GGUF_BOOL = 7,
  LLMC_GGUF_STRING = 8,
  LLMC_GGUF_ARRAY = 9,
  LLMC_GGUF_U64 = 10,
  LLMC_GGUF_I64 = 11,
  LLMC_GGUF_F64 = 12,
} llmc_gguf_type_t;

/* ggml tensor types llmc knows by number: X(name, number, elements per
 * block, bytes per block). Types not listed are refused by name number. */
#define LLMC_GGML_TYPES(X) \
  X(F32, 0, 1, 4)          \
  X(F16, 1, 1, 2)          \
  X(Q4_0, 2, 32, 18)       \
  X(Q4_1, 3, 32, 20)       \
  X(Q5_0, 6, 32, 22)       \
  X(Q5_1, 7, 32, 24)       \
  X(Q8_0, 8, 32, 34)       \
  X(Q2_K, 10, 256, 84)     \
  X(Q3_K, 11, 256, 110)    \
  X(Q4_K, 12, 256, 144)    \
  X(Q5_K, 13, 256, 176)    \
  X(Q6_K, 14, 256, 210)    \
  X(BF16, 30, 1, 2)

typedef enum {
#define LLMC_GGML_X(n, num, bl, bb) LLMC_GGML_##n = num,
  LLMC_GGML_TYPES(LLMC_GGML_X)
#undef LLMC_GGML_X
} llmc_ggml_type_t;

/* "Q4_K", ...; NULL for a type llmc does not know. */
const char *llmc_ggml_type_name(uint32_t type);
/* Elements per block of the type (1 for F32/F16/BF16); 0 when unknown. */
int llmc_ggml_type_block(uint32_t type);
/* Whether llmc_gguf_tensor_to_f32 reads the type (F32, F16, BF16, Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: every type of the table). */
bool llmc_ggml_type_readable(uint32_t type);

#define LLMC_GGUF_MAX_DIMS 4

typedef struct {
  const char *name;  /* NUL-terminated, owned by the llmc_gguf_t */
  uint32_t type;     /* llmc_ggml_type_t */
  int n_dims;        /* 1..4 */
  int64_t ne[LLMC_GGUF_MAX_DIMS]; /* ne[0] innermost; unused entries 1 */
  uint64_t numel;
  uint64_t nbytes;
  const uint8_t *data; /* into the mapping, aligned as the file says */
} llmc_gguf_tensor_t;

typedef struct llmc_gguf llmc_gguf_t;
typedef struct llmc_gguf_kv llmc_gguf_kv_t;

/* Maps and validates a file. Codes: LLMC_NOT_FOUND, LLMC_IO_ERROR,
 * LLMC_DATA_LOSS (corrupt), LLMC_UNIMPLEMENTED (a version, byte order or
 * tensor type llmc does not read); `where` is the path. */
LLMC_MUST_USE llmc_status_t *llmc_gguf_open(const char *path, llmc_gguf_t **out);
/* The same over caller-owned bytes that outlive the result (the fuzzer). */
LLMC_MUST_USE llmc_status_t *llmc_gguf_open_memory(const void *data, uint64_t size, const char *where,
                                                   llmc_gguf_t **out);
void llmc_gguf_close(llmc_gguf_t *g);

uint32_t llmc_gguf_version(const llmc_gguf_t *g);

/* Metadata, looked up by key; NULL when absent. */
const llmc_gguf_kv_t *llmc_gguf_find(const llmc_gguf_t *g, const char *key);
int llmc_gguf_kv_count(const llmc_gguf_t *g);
/* i in [0, kv_count), in file order. */
const llmc_gguf_kv_t *llmc_gguf_kv_at(const llmc_gguf_t *g, int i);
const char *llmc_gguf_kv_key(const llmc_gguf_kv_t *kv);
llmc_gguf_type_t llmc_gguf_kv_type(const llmc_gguf_kv_t *kv);
/* A scalar of any integer type (bool too); false for other types and for
 * a u64 above INT64_MAX. */
bool llmc_gguf_kv_int(const llmc_gguf_kv_t *kv, int64_t *out);
/* A float, or an integer converted; false otherwise. */
bool llmc_gguf_kv_float(const llmc_gguf_kv_t *kv, double *out);
bool llmc_gguf_kv_string(const llmc_gguf_kv_t *kv, const char **out, size_t *out_len);
/* Arrays: element type and count (0 and LLMC_GGUF_ARRAY for a non-array). */
llmc_gguf_type_t llmc_gguf_kv_array_type(const llmc_gguf_kv_t *kv);
uint64_t llmc_gguf_kv_array_len(const llmc_gguf_kv_t *kv);
/* Element i of an array of strings / numbers; false when out of range or
 * of another type. */
bool llmc_gguf_kv_array_string(const llmc_gguf_kv_t *kv, uint64_t i, const char **out, size_t *out_len);
bool llmc_gguf_kv_array_int(const llmc_gguf_kv_t *kv, uint64_t i, int64_t *out);
bool llmc_gguf_kv_array_float(const llmc_gguf_kv_t *kv, uint64_t i, double *out);

int llmc_gguf_tensor_count(const llmc_gguf_t *g);
/* i in [0, tensor_count), in file order. */
const llmc_gguf_tensor_t *llmc_gguf_tensor_at(const llmc_gguf_t *g, int i);
const llmc_gguf_tensor_t *llmc_gguf_tensor_find(const llmc_gguf_t *g, const char *name);

/* Dequantizes elements [first, first + n) of a readable type to f32, as
 * ggml's dequantize_row_* computes them; first and n must be multiples of
 * the type's block size and lie within numel. */
void llmc_gguf_tensor_to_f32(const llmc_gguf_tensor_t *t, uint64_t first, uint64_t n, float *out);
/* The same for any range within numel (blocks cut at either end are
 * decoded whole and trimmed); ctx is the llmc_gguf_tensor_t (the weight
 * views' decode). */
void llmc_gguf_tensor_decode(const void *ctx, uint64_t first, uint64_t n, float *out);

#endif
