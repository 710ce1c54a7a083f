/* llmc_support.h: the small base every stage shares: status objects, checked
 * size arithmetic, a bump arena, read-only file mappings and atomic file
 * writes.
 *
 * Status follows IREE's convention: NULL is success; a failure is a heap
 * object with a code, the source location that raised it, a message and an
 * optional cause. Out-of-memory while building a status returns a static
 * object so reporting never needs to allocate. Library code never prints. */
#ifndef LLMC_SUPPORT_H
#define LLMC_SUPPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LLMC_VERSION_STRING "0.1.0"

typedef enum {
  LLMC_OK = 0,
  LLMC_INVALID_ARGUMENT, /* bad flags or API misuse: exit 64 */
  LLMC_NOT_FOUND,        /* missing input file: exit 66 */
  LLMC_DATA_LOSS,        /* corrupt or inconsistent input data: exit 65 */
  LLMC_OUT_OF_RANGE,     /* a value outside what the input allows: exit 65 */
  LLMC_UNIMPLEMENTED,    /* valid input llmc does not support: exit 65 */
  LLMC_RESOURCE_EXHAUSTED, /* out of memory or cache blocks: exit 70 */
  LLMC_CANT_CREATE,      /* output cannot be created: exit 73 */
  LLMC_IO_ERROR,         /* read/write failure: exit 74 */
  LLMC_UNAVAILABLE,      /* a driver or device is not present: exit 69 */
  LLMC_INTERNAL,         /* llmc's own bug or toolchain failure: exit 70 */
} llmc_code_t;

typedef struct llmc_status llmc_status_t;

#define LLMC_MUST_USE __attribute__((warn_unused_result))
#define LLMC_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Creates a failure. `where` is the user-facing location (e.g. "model.json:12")
 * and may be NULL; the C source location is kept for debugging. */
llmc_status_t *llmc_status_make(llmc_code_t code, const char *where, const char *src_file,
                                int src_line, const char *fmt, ...) LLMC_PRINTF(5, 6);
/* Wraps `cause` (taken) under a new message. */
llmc_status_t *llmc_status_wrap(llmc_status_t *cause, const char *where, const char *fmt, ...)
    LLMC_PRINTF(3, 4);
llmc_code_t llmc_status_code(const llmc_status_t *s);
/* Renders "where: error: message" lines (outermost first) into buf. */
void llmc_status_format(const llmc_status_t *s, char *buf, size_t cap);
/* The innermost message, for tests that match on text. */
const char *llmc_status_message(const llmc_status_t *s);
void llmc_status_free(llmc_status_t *s);
/* sysexits(3) code for a status (0 for NULL). */
int llmc_status_exit_code(const llmc_status_t *s);

#define LLMC_ERROR(code, where, ...) llmc_status_make((code), (where), __FILE__, __LINE__, __VA_ARGS__)
#define LLMC_RETURN_IF_ERROR(expr)             \
  do {                                         \
    llmc_status_t *llmc__s = (expr);           \
    if (llmc__s) return llmc__s;               \
  } while (0)

/* Checked arithmetic for sizes that a file controls. Return false on overflow. */
static inline bool llmc_checked_mul(uint64_t a, uint64_t b, uint64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool llmc_checked_add(uint64_t a, uint64_t b, uint64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* Bump arena: IR nodes, names and shapes live here and die together. */
typedef struct llmc_arena llmc_arena_t;
llmc_arena_t *llmc_arena_create(void);
void llmc_arena_destroy(llmc_arena_t *a);
/* Zeroed, 16-byte aligned. Returns NULL only when malloc fails. */
void *llmc_arena_alloc(llmc_arena_t *a, size_t size);
char *llmc_arena_strdup(llmc_arena_t *a, const char *s);
char *llmc_arena_strndup(llmc_arena_t *a, const char *s, size_t n);
char *llmc_arena_printf(llmc_arena_t *a, const char *fmt, ...) LLMC_PRINTF(2, 3);

/* A map from NUL-terminated strings to pointers, in an arena (freed with it).
 * Keys are not copied: they must live as long as the map. put replaces the
 * value of an existing key; it and create return false/NULL when out of memory. */
typedef struct llmc_strmap llmc_strmap_t;
llmc_strmap_t *llmc_strmap_create(llmc_arena_t *a);
void *llmc_strmap_get(const llmc_strmap_t *m, const char *key);
bool llmc_strmap_put(llmc_strmap_t *m, const char *key, void *value);

/* A read-only mmap of a whole file. Zero-byte files map to data == NULL, size 0. */
typedef struct {
  const uint8_t *data;
  uint64_t size;
} llmc_file_map_t;
LLMC_MUST_USE llmc_status_t *llmc_file_map_open(const char *path, llmc_file_map_t *out_map);
void llmc_file_map_close(llmc_file_map_t *map);
/* Maps every page of the mapping now (Linux's MADV_POPULATE_READ; a hint
 * elsewhere, and a no-op where the kernel has neither): the first request
 * then does not take a page fault per 4 KiB of weights (400 MB: 25-100 ms
 * of a prompt's time). llama.cpp's loader does the same (MAP_POPULATE). */
void llmc_file_map_prefault(const llmc_file_map_t *map);

/* XXH3-64 of n bytes with a seed: the artifact's digests (llmc_abi.h). */
uint64_t llmc_digest64(const void *data, size_t n, uint64_t seed);
/* The digest model.so records of its weights.safetensors (llmc_abi.h):
 * XXH3-64 of the file's first 8 + n bytes (the header length n and the JSON
 * header) seeded with the file's size. d[0, size) is the whole file; false
 * when it is too short to hold the header it announces. */
bool llmc_weights_head_digest(const uint8_t *d, uint64_t size, uint64_t *out_digest);
/* The plan digest model.so records (llmc_abi.h): of plan[0, plan_len) and
 * then kinds[0, kinds_len), as bytes; never 0 (0 means "not recorded"). */
uint64_t llmc_plan_digest(const int64_t *plan, int64_t plan_len, const int64_t *kinds, int64_t kinds_len);

/* Reads a small text file into a malloc'd NUL-terminated buffer (limit bytes at most). */
LLMC_MUST_USE llmc_status_t *llmc_file_read_text(const char *path, uint64_t limit, char **out_text,
                                                 size_t *out_len);
/* Writes bytes to path atomically: a temp file beside it, fsync, rename. */
LLMC_MUST_USE llmc_status_t *llmc_file_write_atomic(const char *path, const void *data, size_t size);

/* A growable byte buffer for building text and binary outputs. */
typedef struct {
  char *data;
  size_t len, cap;
  bool failed; /* set when an allocation failed; later appends are ignored */
} llmc_buf_t;
void llmc_buf_append(llmc_buf_t *b, const void *data, size_t n);
void llmc_buf_printf(llmc_buf_t *b, const char *fmt, ...) LLMC_PRINTF(2, 3);
void llmc_buf_free(llmc_buf_t *b);

/* Appends s as a double-quoted string that stays inert wherever generated
 * text puts it (an MLIR or C comment or string, JSON-like text): quotes and
 * backslashes are escaped, "*" "/" and "/" "*" are broken, and control bytes, invalid
 * UTF-8 and C1 controls are written as \xNN. Every name read from a file
 * goes through this (or through a validator) before it reaches MLIR or C. */
void llmc_buf_put_quoted(llmc_buf_t *b, const char *s);
/* A malloc'd copy of s with control bytes and invalid UTF-8 written as \xNN,
 * so a message quoting a file stays one line; NULL when out of memory. */
char *llmc_printable_dup(const char *s);

/* A file embedded into a library at build time by cmake/embed_files.cmake,
 * which emits a NULL-terminated table of these and its count. */
typedef struct {
  const char *name; /* file name without directories */
  const unsigned char *data; /* NUL-terminated */
  size_t len;
} llmc_embedded_file_t;

/* Joins dir and name into an arena-owned path. */
char *llmc_path_join(llmc_arena_t *a, const char *dir, const char *name);
/* An input file named by a model file: rel must be relative, without "..",
 * and its real path (symlinks resolved) must lie inside dir's real path (or,
 * for a Hugging Face cache snapshot, inside its models--* directory, where
 * the snapshot's symlinks point). Writes the joined path (arena-owned). */
LLMC_MUST_USE llmc_status_t *llmc_path_confine(llmc_arena_t *a, const char *dir, const char *rel,
                                               const char **out_path);

/* Deterministic 64-bit PRNG (splitmix64) for samplers and fixtures. */
static inline uint64_t llmc_rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform float in [0, 1). */
static inline float llmc_rng_uniform(uint64_t *state) {
  return (float)(llmc_rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

/* IEEE half and bfloat16 conversions (round to nearest even). */
float llmc_f16_to_f32(uint16_t h);
float llmc_bf16_to_f32(uint16_t h);
uint16_t llmc_f32_to_f16(float f);
uint16_t llmc_f32_to_bf16(float f);

/* The int8 KV cache's rows (--kv-cache-dtype=int8): n values to n int8s
 * and one scale d (symmetric, max|x| / 127, rounded to nearest even; a
 * value reads back as q * d; kernels_templates/kv_i8.host.mlir does the
 * same bit for bit), and a row rounded in place to what it reads back as. */
void llmc_i8_row_quantize(const float *x, int64_t n, int8_t *q, float *d);
void llmc_i8_row_round(float *x, int64_t n);

#endif
