/* llmc_safetensors.h: reading and writing the safetensors weight format.
 *
 * Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON, then the data section. The JSON maps
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} with
 * offsets relative to the data section, plus an optional "__metadata__" object
 * of string to string. Data is little-endian and row-major.
 *
 * The reader mmaps the file and validates every size before any pointer into
 * the mapping is formed, so a hostile file yields a status, never a fault.
 * It accepts gaps between tensors (the spec forbids them but writers in the
 * wild leave alignment padding) and rejects overlap.
 *
 * The writer produces deterministic files: keys in the order added, the data
 * section starting 64-byte aligned in the file and every tensor 64-byte
 * aligned, zero bytes in the padding. Assumes a little-endian host. */
#ifndef LLMC_SAFETENSORS_H
#define LLMC_SAFETENSORS_H

#include <stdint.h>

#include "llmc_support.h"

#define LLMC_ST_MAX_RANK 8
/* The format's own cap on the header, which also bounds the JSON parse. */
#define LLMC_ST_MAX_HEADER_BYTES 100000000ull
/* Alignment the writer gives the data section and each tensor. */
#define LLMC_ST_ALIGN 64

/* X(enum suffix, name in the file, bytes per element). */
#define LLMC_ST_DTYPES(X) \
  X(F32, "F32", 4)        \
  X(F16, "F16", 2)        \
  X(BF16, "BF16", 2)      \
  X(I32, "I32", 4)        \
  X(I64, "I64", 8)        \
  X(I8, "I8", 1)          \
  X(U8, "U8", 1)          \
  X(F64, "F64", 8)        \
  X(I16, "I16", 2)        \
  X(U16, "U16", 2)        \
  X(U32, "U32", 4)        \
  X(U64, "U64", 8)        \
  X(BOOL, "BOOL", 1)      \
  X(F8_E4M3, "F8_E4M3", 1) \
  X(F8_E5M2, "F8_E5M2", 1)

typedef enum {
#define LLMC_ST_X(e, s, n) LLMC_ST_##e,
  LLMC_ST_DTYPES(LLMC_ST_X)
#undef LLMC_ST_X
  LLMC_ST_DTYPE_COUNT
} llmc_st_dtype_t;

/* "F32", "BF16", ...; "?" for an out-of-range value. */
const char *llmc_st_dtype_name(llmc_st_dtype_t dt);
/* Bytes per element; 0 for an out-of-range value. */
int llmc_st_dtype_size(llmc_st_dtype_t dt);
/* Looks a file's dtype string up; false when unknown. */
bool llmc_st_dtype_from_name(const char *name, llmc_st_dtype_t *out_dt);

typedef struct {
  const char *name;       /* NUL-terminated, owned by the llmc_safetensors_t */
  llmc_st_dtype_t dtype;
  int rank;               /* 0..LLMC_ST_MAX_RANK; 0 is a scalar */
  int64_t shape[LLMC_ST_MAX_RANK]; /* [rank], each >= 0; unused entries 0 */
  uint64_t numel;         /* product of shape (1 for a scalar) */
  uint64_t offset;        /* of the data, relative to the data section */
  uint64_t nbytes;        /* numel * dtype size, checked */
  const uint8_t *data;    /* points into the mapping; not aligned unless the writer was llmc's */
  const char *source;     /* the format the data was converted from (a GGUF's "Q4_K"); NULL when as stored */
  const uint8_t *source_data; /* those bytes (in the source file's mapping); NULL when as stored */
  uint64_t source_bytes;
  /* With a source: data is NULL and the F32 values come from decode (see
   * llmc_weight_view_t). */
  void (*decode)(const void *decode_ctx, uint64_t first, uint64_t n, float *out);
  const void *decode_ctx;
} llmc_st_tensor_t;

/* Opaque: owns the mapping, the names and a name-sorted tensor array. */
typedef struct llmc_safetensors llmc_safetensors_t;

/* Maps and validates a file. Codes: LLMC_NOT_FOUND (missing), LLMC_DATA_LOSS
 * (corrupt), LLMC_UNIMPLEMENTED (unknown dtype), LLMC_IO_ERROR; the status's
 * `where` is the path. */
LLMC_MUST_USE llmc_status_t *llmc_safetensors_open(const char *path, llmc_safetensors_t **out);
/* The same over caller-owned bytes, which must outlive the result (used by
 * the fuzzer and by callers that already hold the file). `where` names the
 * bytes in statuses. */
LLMC_MUST_USE llmc_status_t *llmc_safetensors_open_memory(const void *data, uint64_t size,
                                                          const char *where,
                                                          llmc_safetensors_t **out);
void llmc_safetensors_close(llmc_safetensors_t *st);

int llmc_safetensors_count(const llmc_safetensors_t *st);
/* i in [0, count), in name order (strcmp). */
const llmc_st_tensor_t *llmc_safetensors_at(const llmc_safetensors_t *st, int i);
/* Binary search by name; NULL when absent. */
const llmc_st_tensor_t *llmc_safetensors_find(const llmc_safetensors_t *st, const char *name);
/* A "__metadata__" value; NULL when absent. */
const char *llmc_safetensors_metadata(const llmc_safetensors_t *st, const char *key);
int llmc_safetensors_metadata_count(const llmc_safetensors_t *st);
/* i in [0, metadata_count), in key order. */
void llmc_safetensors_metadata_at(const llmc_safetensors_t *st, int i, const char **out_key,
                                  const char **out_value);

/* Converts elements [first, first + n) of any dtype to f32 (integers and BOOL
 * by value, F8 per the OCP FP8 formats). The range must lie within numel. */
void llmc_st_tensor_to_f32(const llmc_st_tensor_t *t, uint64_t first, uint64_t n, float *out);

/* Writer. Tensor data is borrowed until finish and streamed straight from the
 * caller's pointers, or produced at finish time by the caller's callback into
 * a reused buffer, so GB-sized outputs need no staging copy. */
typedef struct llmc_st_writer llmc_st_writer_t;

/* The most bytes one call of a producer fills. */
#define LLMC_ST_CHUNK ((size_t)4 << 20)
/* Fills bytes [offset, offset + len) of a tensor's data into buf. Called by
 * finish, in file order, with offset and len multiples of the dtype's size and
 * len at most LLMC_ST_CHUNK; a failure stops finish, which returns it. */
typedef llmc_status_t *(*llmc_st_produce_fn)(void *ctx, uint64_t offset, void *buf, size_t len);

LLMC_MUST_USE llmc_status_t *llmc_st_writer_create(llmc_st_writer_t **out);
/* LLMC_INVALID_ARGUMENT for a duplicate or reserved name, a rank outside
 * 0..8, a negative dim, non-UTF-8 name, or NULL data with nonzero size;
 * LLMC_OUT_OF_RANGE when the size overflows. */
LLMC_MUST_USE llmc_status_t *llmc_st_writer_add(llmc_st_writer_t *w, const char *name,
                                                llmc_st_dtype_t dt, int rank,
                                                const int64_t *shape, const void *data);
/* As llmc_st_writer_add, but the data is produced by produce(ctx, ...) at
 * finish time (ctx is borrowed until then); the memory it needs is one
 * buffer of at most LLMC_ST_CHUNK bytes, whatever the tensor's size. */
LLMC_MUST_USE llmc_status_t *llmc_st_writer_add_stream(llmc_st_writer_t *w, const char *name,
                                                       llmc_st_dtype_t dt, int rank,
                                                       const int64_t *shape,
                                                       llmc_st_produce_fn produce, void *ctx);
/* Setting a key again replaces its value in place (keeps its position). */
LLMC_MUST_USE llmc_status_t *llmc_st_writer_set_metadata(llmc_st_writer_t *w, const char *key,
                                                         const char *value);
/* Streams the file to "<path>.tmp.<pid>", fsyncs, renames over path; on any
 * failure the temp file is removed. May be called more than once. */
LLMC_MUST_USE llmc_status_t *llmc_st_writer_finish(llmc_st_writer_t *w, const char *path);
/* Offset of a tensor's data relative to the data section, fixed at add time;
 * UINT64_MAX when no such tensor was added. */
uint64_t llmc_st_writer_data_offset(const llmc_st_writer_t *w, const char *name);
void llmc_st_writer_destroy(llmc_st_writer_t *w);

#endif
