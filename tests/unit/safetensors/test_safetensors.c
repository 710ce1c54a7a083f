/* Unit tests for frontend/safetensors: writer->reader round trips, byte-exact
 * determinism, and one crafted file per kind of corruption the reader must
 * refuse, each checked for its status code, its `where` and its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "llmc_safetensors.h"

/* A fresh temp path; the test unlinks it. */
static void temp_path(char out[64]) {
  strcpy(out, "/tmp/llmc_st_XXXXXX");
  int fd = mkstemp(out);
  assert_true(fd >= 0);
  close(fd);
}

static void write_raw(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(bytes, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Writes "u64 len | header | data_len bytes of 0xAB" with len taken from the
 * header unless hlen_override is nonzero. */
static void write_st(const char *path, const char *header, uint64_t hlen_override,
                     size_t data_len) {
  size_t hl = strlen(header);
  uint64_t hlen = hlen_override ? hlen_override : hl;
  size_t n = 8 + hl + data_len;
  uint8_t *b = malloc(n);
  assert_non_null(b);
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hlen >> (8 * i));
  memcpy(b + 8, header, hl);
  memset(b + 8 + hl, 0xab, data_len);
  write_raw(path, b, n);
  free(b);
}

/* Opens path, expects failure with code and a message containing `want`,
 * and checks the status names the file. */
static void expect_open_error(const char *path, llmc_code_t code, const char *want) {
  llmc_safetensors_t *st = (llmc_safetensors_t *)1;
  llmc_status_t *s = llmc_safetensors_open(path, &st);
  assert_non_null(s);
  assert_null(st);
  char buf[1024];
  llmc_status_format(s, buf, sizeof buf);
  if (llmc_status_code(s) != code || !strstr(llmc_status_message(s), want) ||
      strncmp(buf, path, strlen(path)) != 0)
    print_error("got code %d: %s (wanted %d, '%s')\n", llmc_status_code(s), buf, code, want);
  assert_int_equal(llmc_status_code(s), code);
  assert_non_null(strstr(llmc_status_message(s), want));
  assert_memory_equal(buf, path, strlen(path));
  llmc_status_free(s);
}

/* One crafted header with data_len bytes of data must fail as described. */
static void expect_header_error(const char *header, size_t data_len, llmc_code_t code,
                                const char *want) {
  char path[64];
  temp_path(path);
  write_st(path, header, 0, data_len);
  expect_open_error(path, code, want);
  unlink(path);
}

static llmc_safetensors_t *open_ok(const char *path) {
  llmc_safetensors_t *st = NULL;
  llmc_status_t *s = llmc_safetensors_open(path, &st);
  if (s) {
    char buf[1024];
    llmc_status_format(s, buf, sizeof buf);
    print_error("%s\n", buf);
    llmc_status_free(s);
  }
  assert_null(s);
  assert_non_null(st);
  return st;
}

static void check_ok(llmc_status_t *s) {
  if (s) print_error("%s\n", llmc_status_message(s));
  assert_null(s);
}

/* Fixture tensors shared by the round-trip and determinism tests. */
enum { N_A = 6, N_B = 5, N_C = 7 };
static float a_vals[N_A];
static uint16_t b_f16[N_B], c_bf16[N_C];
static const int64_t a_shape[] = {2, 3}, b_shape[] = {5}, c_shape[] = {7, 1};

static llmc_st_writer_t *make_writer(void) {
  uint64_t rng = 42;
  for (int i = 0; i < N_A; i++) a_vals[i] = llmc_rng_uniform(&rng) * 4 - 2;
  for (int i = 0; i < N_B; i++) b_f16[i] = llmc_f32_to_f16((float)i * 0.5f - 1);
  for (int i = 0; i < N_C; i++) c_bf16[i] = llmc_f32_to_bf16((float)i * 3 - 7);
  llmc_st_writer_t *w = NULL;
  check_ok(llmc_st_writer_create(&w));
  /* Added out of name order to show the reader sorts and the writer does not. */
  check_ok(llmc_st_writer_add(w, "model.z.weight", LLMC_ST_F32, 2, a_shape, a_vals));
  check_ok(llmc_st_writer_add(w, "model.b.bias", LLMC_ST_F16, 1, b_shape, b_f16));
  check_ok(llmc_st_writer_add(w, "model.c", LLMC_ST_BF16, 2, c_shape, c_bf16));
  check_ok(llmc_st_writer_add(w, "scalar", LLMC_ST_F32, 0, NULL, &a_vals[1]));
  check_ok(llmc_st_writer_add(w, "empty", LLMC_ST_F16, 1, (const int64_t[]){0}, NULL));
  check_ok(llmc_st_writer_set_metadata(w, "format", "pt"));
  check_ok(llmc_st_writer_set_metadata(w, "llmc", "old"));
  check_ok(llmc_st_writer_set_metadata(w, "llmc", "test \"quoted\" \xc3\xa9"));
  return w;
}

static void test_round_trip(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  llmc_st_writer_t *w = make_writer();
  assert_int_equal(llmc_st_writer_data_offset(w, "model.z.weight"), 0);
  assert_int_equal(llmc_st_writer_data_offset(w, "model.b.bias"), 64);
  assert_int_equal(llmc_st_writer_data_offset(w, "model.c"), 128);
  assert_int_equal(llmc_st_writer_data_offset(w, "scalar"), 192);
  assert_int_equal(llmc_st_writer_data_offset(w, "empty"), 256);
  assert_true(llmc_st_writer_data_offset(w, "nope") == UINT64_MAX);
  check_ok(llmc_st_writer_finish(w, path));
  llmc_st_writer_destroy(w);

  llmc_safetensors_t *st = open_ok(path);
  assert_int_equal(llmc_safetensors_count(st), 5);
  const char *order[] = {"empty", "model.b.bias", "model.c", "model.z.weight", "scalar"};
  for (int i = 0; i < 5; i++) {
    const llmc_st_tensor_t *t = llmc_safetensors_at(st, i);
    assert_string_equal(t->name, order[i]);
    assert_ptr_equal(llmc_safetensors_find(st, order[i]), t);
    assert_int_equal((uintptr_t)t->data % 64, 0);
  }
  assert_null(llmc_safetensors_find(st, "model"));
  assert_null(llmc_safetensors_find(st, "zzz"));

  const llmc_st_tensor_t *a = llmc_safetensors_find(st, "model.z.weight");
  assert_int_equal(a->dtype, LLMC_ST_F32);
  assert_int_equal(a->rank, 2);
  assert_int_equal(a->shape[0], 2);
  assert_int_equal(a->shape[1], 3);
  assert_int_equal(a->numel, 6);
  assert_int_equal(a->nbytes, 24);
  float f[N_C];
  llmc_st_tensor_to_f32(a, 0, N_A, f);
  assert_memory_equal(f, a_vals, sizeof a_vals);
  llmc_st_tensor_to_f32(a, 4, 2, f);
  assert_true(f[0] == a_vals[4] && f[1] == a_vals[5]);

  const llmc_st_tensor_t *b = llmc_safetensors_find(st, "model.b.bias");
  assert_int_equal(b->dtype, LLMC_ST_F16);
  llmc_st_tensor_to_f32(b, 0, N_B, f);
  for (int i = 0; i < N_B; i++) assert_true(f[i] == (float)i * 0.5f - 1);

  const llmc_st_tensor_t *c = llmc_safetensors_find(st, "model.c");
  assert_int_equal(c->dtype, LLMC_ST_BF16);
  assert_int_equal(c->rank, 2);
  llmc_st_tensor_to_f32(c, 1, N_C - 1, f);
  for (int i = 1; i < N_C; i++) assert_true(f[i - 1] == (float)i * 3 - 7);

  const llmc_st_tensor_t *sc = llmc_safetensors_find(st, "scalar");
  assert_int_equal(sc->rank, 0);
  assert_int_equal(sc->numel, 1);
  llmc_st_tensor_to_f32(sc, 0, 1, f);
  assert_true(f[0] == a_vals[1]);

  const llmc_st_tensor_t *e = llmc_safetensors_find(st, "empty");
  assert_int_equal(e->numel, 0);
  assert_int_equal(e->nbytes, 0);

  assert_string_equal(llmc_safetensors_metadata(st, "format"), "pt");
  assert_string_equal(llmc_safetensors_metadata(st, "llmc"), "test \"quoted\" \xc3\xa9");
  assert_null(llmc_safetensors_metadata(st, "other"));
  assert_int_equal(llmc_safetensors_metadata_count(st), 2);
  const char *k, *v;
  llmc_safetensors_metadata_at(st, 0, &k, &v);
  assert_string_equal(k, "format");
  llmc_safetensors_close(st);

  /* The header must be the exact documented layout. */
  llmc_file_map_t m;
  check_ok(llmc_file_map_open(path, &m));
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | m.data[i];
  assert_int_equal((8 + hlen) % 64, 0);
  assert_int_equal(m.size, 8 + hlen + 256);
  const char *want_prefix =
      "{\"__metadata__\":{\"format\":\"pt\",\"llmc\":\"test \\\"quoted\\\" \xc3\xa9\"},"
      "\"model.z.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},";
  assert_memory_equal(m.data + 8, want_prefix, strlen(want_prefix));
  assert_int_equal(m.data[8 + hlen - 1], ' ');
  assert_int_equal(m.data[8 + hlen + 24], 0); /* zero padding */
  llmc_file_map_close(&m);
  unlink(path);
}

static void test_determinism(void **state) {
  (void)state;
  char p1[64], p2[64];
  temp_path(p1);
  temp_path(p2);
  llmc_st_writer_t *w = make_writer();
  check_ok(llmc_st_writer_finish(w, p1));
  llmc_st_writer_destroy(w);
  w = make_writer();
  check_ok(llmc_st_writer_finish(w, p2));
  check_ok(llmc_st_writer_finish(w, p2)); /* finishing again overwrites in place */
  llmc_st_writer_destroy(w);
  llmc_file_map_t m1, m2;
  check_ok(llmc_file_map_open(p1, &m1));
  check_ok(llmc_file_map_open(p2, &m2));
  assert_int_equal(m1.size, m2.size);
  assert_memory_equal(m1.data, m2.data, m1.size);
  llmc_file_map_close(&m1);
  llmc_file_map_close(&m2);
  unlink(p1);
  unlink(p2);
}

/* A produced tensor: its bytes are src's, handed out in the chunks asked
 * for; every call is checked against the writer's promises. */
typedef struct {
  const uint8_t *src;
  uint64_t nbytes, next; /* the offset the next call must ask for */
  size_t esize;
  int calls, fail_at;    /* fail_at: the call that fails, or -1 */
} producer_t;

static llmc_status_t *produce(void *ctx, uint64_t offset, void *buf, size_t len) {
  producer_t *p = ctx;
  assert_int_equal(offset, p->next); /* in file order, no gaps */
  assert_true(len > 0 && len <= LLMC_ST_CHUNK && offset + len <= p->nbytes);
  assert_int_equal(offset % p->esize, 0);
  assert_int_equal(len % p->esize, 0);
  if (p->calls++ == p->fail_at) return LLMC_ERROR(LLMC_DATA_LOSS, "producer", "made to fail");
  memcpy(buf, p->src + offset, len);
  p->next = offset + len;
  return NULL;
}

/* Tensors added with a producer give the same file as the same bytes added
 * from memory; a large one is produced in LLMC_ST_CHUNK pieces. */
static void test_stream(void **state) {
  (void)state;
  /* BIG f32 elements in 3 rows, just over two chunks; SMALL bf16 elements. */
  enum { COLS = LLMC_ST_CHUNK / 4 * 2 / 3 + 1, BIG = 3 * COLS, SMALL = 5 };
  float *big = malloc(sizeof(float) * BIG);
  assert_non_null(big);
  uint64_t rng = 7;
  for (int i = 0; i < BIG; i++) big[i] = llmc_rng_uniform(&rng);
  const uint16_t small[SMALL] = {1, 2, 3, 0x3f80, 0xffff};
  const int64_t big_shape[] = {3, COLS}, small_shape[] = {SMALL};
  char p1[64], p2[64];
  temp_path(p1);
  temp_path(p2);

  llmc_st_writer_t *w = NULL;
  check_ok(llmc_st_writer_create(&w));
  check_ok(llmc_st_writer_add(w, "a", LLMC_ST_F32, 1, a_shape, a_vals));
  check_ok(llmc_st_writer_add(w, "big", LLMC_ST_F32, 2, big_shape, big));
  check_ok(llmc_st_writer_add(w, "small", LLMC_ST_BF16, 1, small_shape, small));
  check_ok(llmc_st_writer_finish(w, p1));
  llmc_st_writer_destroy(w);

  producer_t pb = {(const uint8_t *)big, sizeof(float) * BIG, 0, 4, 0, -1};
  producer_t ps = {(const uint8_t *)small, sizeof small, 0, 2, 0, -1};
  check_ok(llmc_st_writer_create(&w));
  check_ok(llmc_st_writer_add(w, "a", LLMC_ST_F32, 1, a_shape, a_vals));
  check_ok(llmc_st_writer_add_stream(w, "big", LLMC_ST_F32, 2, big_shape, produce, &pb));
  check_ok(llmc_st_writer_add_stream(w, "small", LLMC_ST_BF16, 1, small_shape, produce, &ps));
  assert_int_equal(pb.calls, 0); /* nothing produced before finish */
  check_ok(llmc_st_writer_finish(w, p2));
  assert_int_equal(pb.calls, 3);
  assert_int_equal(pb.next, pb.nbytes);
  assert_int_equal(ps.calls, 1);

  llmc_file_map_t m1, m2;
  check_ok(llmc_file_map_open(p1, &m1));
  check_ok(llmc_file_map_open(p2, &m2));
  assert_int_equal(m1.size, m2.size);
  assert_memory_equal(m1.data, m2.data, m1.size);
  uint64_t size = m1.size;
  llmc_file_map_close(&m1);
  llmc_file_map_close(&m2);

  /* A producer's failure is finish's: the old file stays, no temp file is left. */
  pb = (producer_t){(const uint8_t *)big, sizeof(float) * BIG, 0, 4, 0, 1};
  ps.next = ps.calls = 0;
  llmc_status_t *s = llmc_st_writer_finish(w, p2);
  assert_non_null(s);
  assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
  assert_non_null(strstr(llmc_status_message(s), "made to fail"));
  llmc_status_free(s);
  assert_int_equal(ps.calls, 0);
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p2, (long)getpid());
  assert_int_equal(access(tmp, F_OK), -1);
  check_ok(llmc_file_map_open(p2, &m2));
  assert_int_equal(m2.size, size);
  llmc_file_map_close(&m2);

  s = llmc_st_writer_add_stream(w, "none", LLMC_ST_F32, 1, small_shape, NULL, NULL);
  assert_non_null(s);
  assert_int_equal(llmc_status_code(s), LLMC_INVALID_ARGUMENT);
  llmc_status_free(s);
  llmc_st_writer_destroy(w);
  free(big);
  unlink(p1);
  unlink(p2);
}

static void test_writer_errors(void **state) {
  (void)state;
  llmc_st_writer_t *w = NULL;
  check_ok(llmc_st_writer_create(&w));
  float x = 1;
  const int64_t one[] = {1}, neg[] = {-1}, huge[] = {INT64_MAX, 4};
  check_ok(llmc_st_writer_add(w, "x", LLMC_ST_F32, 1, one, &x));
  struct {
    llmc_status_t *s;
    llmc_code_t code;
  } cases[] = {
      {llmc_st_writer_add(w, "x", LLMC_ST_F32, 1, one, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "__metadata__", LLMC_ST_F32, 1, one, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "", LLMC_ST_F32, 1, one, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "bad\xff", LLMC_ST_F32, 1, one, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "n", LLMC_ST_F32, 1, neg, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "r", LLMC_ST_F32, 9, one, &x), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "d", LLMC_ST_F32, 1, one, NULL), LLMC_INVALID_ARGUMENT},
      {llmc_st_writer_add(w, "h", LLMC_ST_F32, 2, huge, &x), LLMC_OUT_OF_RANGE},
      {llmc_st_writer_add(w, "h", LLMC_ST_U8, 1, huge, &x), LLMC_OUT_OF_RANGE},
      {llmc_st_writer_finish(w, "/nonexistent-dir/x.safetensors"), LLMC_CANT_CREATE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_non_null(cases[i].s);
    assert_int_equal(llmc_status_code(cases[i].s), cases[i].code);
    llmc_status_free(cases[i].s);
  }
  /* Many names exercise the index's growth. */
  char name[32];
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "t%d", i);
    check_ok(llmc_st_writer_add(w, name, LLMC_ST_U8, 1, one, &x));
  }
  assert_int_equal(llmc_st_writer_data_offset(w, "t299"), 300 * 64);
  assert_int_equal(llmc_st_writer_data_offset(w, "x"), 0);
  llmc_st_writer_destroy(w);
}

static void test_other_dtypes(void **state) {
  (void)state;
  for (int d = 0; d < LLMC_ST_DTYPE_COUNT; d++) {
    llmc_st_dtype_t dt;
    assert_true(llmc_st_dtype_from_name(llmc_st_dtype_name((llmc_st_dtype_t)d), &dt));
    assert_int_equal(dt, d);
    assert_true(llmc_st_dtype_size(dt) > 0);
  }
  assert_string_equal(llmc_st_dtype_name(LLMC_ST_DTYPE_COUNT), "?");
  assert_false(llmc_st_dtype_from_name("f32", &(llmc_st_dtype_t){0}));
  char path[64];
  temp_path(path);
  const int8_t i8[] = {-3, 0, 127};
  const int64_t i64[] = {-5, 1 << 20, 7};
  const uint8_t e4m3[] = {0x38, 0xc0, 0x01, 0x7e}; /* 1, -2, 2^-9, 448 */
  const uint8_t e5m2[] = {0x3c, 0xc0};             /* 1, -2 */
  const int64_t s3[] = {3}, s4[] = {4}, s2[] = {2};
  llmc_st_writer_t *w = NULL;
  check_ok(llmc_st_writer_create(&w));
  check_ok(llmc_st_writer_add(w, "i8", LLMC_ST_I8, 1, s3, i8));
  check_ok(llmc_st_writer_add(w, "i64", LLMC_ST_I64, 1, s3, i64));
  check_ok(llmc_st_writer_add(w, "e4m3", LLMC_ST_F8_E4M3, 1, s4, e4m3));
  check_ok(llmc_st_writer_add(w, "e5m2", LLMC_ST_F8_E5M2, 1, s2, e5m2));
  check_ok(llmc_st_writer_finish(w, path));
  llmc_st_writer_destroy(w);
  llmc_safetensors_t *st = open_ok(path);
  float f[4];
  llmc_st_tensor_to_f32(llmc_safetensors_find(st, "i8"), 0, 3, f);
  assert_true(f[0] == -3 && f[1] == 0 && f[2] == 127);
  llmc_st_tensor_to_f32(llmc_safetensors_find(st, "i64"), 0, 3, f);
  assert_true(f[0] == -5 && f[1] == 1 << 20 && f[2] == 7);
  llmc_st_tensor_to_f32(llmc_safetensors_find(st, "e4m3"), 0, 4, f);
  assert_true(f[0] == 1 && f[1] == -2 && f[2] == 0x1p-9f && f[3] == 448);
  llmc_st_tensor_to_f32(llmc_safetensors_find(st, "e5m2"), 0, 2, f);
  assert_true(f[0] == 1 && f[1] == -2);
  llmc_safetensors_close(st);
  unlink(path);
}

/* Offsets out of name order, gaps, unknown extra keys and an empty header
 * are all legal. */
static void test_accepts_legal_variants(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  write_st(path,
           "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"x\":1},"
           "\"a\":{\"dtype\":\"U8\",\"shape\":[1,3],\"data_offsets\":[5,8]},"
           "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,1]},"
           "\"__metadata__\":{}}   ",
           0, 10);
  llmc_safetensors_t *st = open_ok(path);
  assert_int_equal(llmc_safetensors_count(st), 3);
  assert_int_equal(llmc_safetensors_find(st, "a")->offset, 5);
  assert_int_equal(llmc_safetensors_find(st, "a")->data[0], 0xab);
  assert_null(llmc_safetensors_metadata(st, "format"));
  llmc_safetensors_close(st);
  write_st(path, "{}", 0, 0);
  st = open_ok(path);
  assert_int_equal(llmc_safetensors_count(st), 0);
  assert_null(llmc_safetensors_find(st, "a"));
  llmc_safetensors_close(st);
  unlink(path);

  llmc_st_writer_t *w = NULL; /* and an empty writer makes a valid file */
  check_ok(llmc_st_writer_create(&w));
  check_ok(llmc_st_writer_finish(w, path));
  llmc_st_writer_destroy(w);
  st = open_ok(path);
  assert_int_equal(llmc_safetensors_count(st), 0);
  llmc_safetensors_close(st);
  unlink(path);
}

static void test_open_memory(void **state) {
  (void)state;
  static const char bytes[] = "\x0e\0\0\0\0\0\0\0{\"__metadata__\"";
  llmc_safetensors_t *st = NULL;
  llmc_status_t *s = llmc_safetensors_open_memory(bytes, sizeof bytes - 1, "mem", &st);
  assert_non_null(s);
  assert_int_equal(llmc_status_code(s), LLMC_DATA_LOSS);
  assert_non_null(strstr(llmc_status_message(s), "not valid JSON"));
  llmc_status_free(s);
}

static void test_missing_file(void **state) {
  (void)state;
  expect_open_error("/tmp/llmc-no-such-file.safetensors", LLMC_NOT_FOUND, "cannot open");
}

static void test_zero_byte_file(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  expect_open_error(path, LLMC_DATA_LOSS, "file is empty");
  unlink(path);
}

static void test_short_file(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  write_raw(path, "\x02\0\0\0\0", 5);
  expect_open_error(path, LLMC_DATA_LOSS, "too short for the 8-byte header length");
  unlink(path);
}

static void test_header_too_long(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  write_st(path, "{}", 100000001ull, 0);
  expect_open_error(path, LLMC_DATA_LOSS, "exceeds the limit");
  write_st(path, "{}", UINT64_MAX, 0); /* and no wraparound in 8 + len */
  expect_open_error(path, LLMC_DATA_LOSS, "exceeds the limit");
  unlink(path);
}

static void test_header_past_eof(void **state) {
  (void)state;
  char path[64];
  temp_path(path);
  write_st(path, "{}", 3, 0);
  expect_open_error(path, LLMC_DATA_LOSS, "runs past the end of the file");
  unlink(path);
}

static void test_header_not_json(void **state) {
  (void)state;
  expect_header_error("{\"a\":", 0, LLMC_DATA_LOSS, "not valid JSON");
  expect_header_error("{} trailing", 0, LLMC_DATA_LOSS, "not valid JSON");
}

static void test_header_not_object(void **state) {
  (void)state;
  expect_header_error("[1, 2]", 0, LLMC_DATA_LOSS, "header is not a JSON object");
}

static void test_duplicate_keys(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                      "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                      2, LLMC_DATA_LOSS, "duplicate key");
  expect_header_error("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, LLMC_DATA_LOSS,
                      "duplicate key");
}

static void test_missing_fields(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, LLMC_DATA_LOSS,
                      "tensor 'w': missing \"dtype\"");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, LLMC_DATA_LOSS,
                      "missing \"shape\"");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, LLMC_DATA_LOSS,
                      "missing \"data_offsets\"");
}

static void test_wrong_types(void **state) {
  (void)state;
  expect_header_error("{\"w\":[1]}", 0, LLMC_DATA_LOSS, "entry is not a JSON object");
  expect_header_error("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                      LLMC_DATA_LOSS, "\"dtype\" is not a string");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}", 1,
                      LLMC_DATA_LOSS, "\"shape\" is not an array");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1,
                      LLMC_DATA_LOSS, "shape[0] is not an integer");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1,
                      LLMC_DATA_LOSS, "not an array of two integers");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",1]}}", 1,
                      LLMC_DATA_LOSS, "not an array of two integers");
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[-1,-1]}}", 1,
                      LLMC_DATA_LOSS, "negative data offset");
}

static void test_metadata_types(void **state) {
  (void)state;
  expect_header_error("{\"__metadata__\":[]}", 0, LLMC_DATA_LOSS,
                      "__metadata__ is not a JSON object");
  expect_header_error("{\"__metadata__\":{\"n\":1}}", 0, LLMC_DATA_LOSS,
                      "__metadata__ value for 'n' is not a string");
}

static void test_negative_dim(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,1]}}", 1,
                      LLMC_DATA_LOSS, "shape[1] is negative (-1)");
}

static void test_shape_overflow(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
                      "\"data_offsets\":[0,1]}}",
                      1, LLMC_DATA_LOSS, "element count overflows");
  expect_header_error("{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],"
                      "\"data_offsets\":[0,1]}}",
                      1, LLMC_DATA_LOSS, "byte size overflows");
}

static void test_nbytes_mismatch(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
                      LLMC_DATA_LOSS, "span 20 bytes but F32 x 6 elements need 24");
}

static void test_offsets_reversed(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", 8,
                      LLMC_DATA_LOSS, "begin 4 is after end 2");
}

static void test_offsets_past_end(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 5,
                      LLMC_DATA_LOSS, "past the end of the data section (5 bytes)");
}

static void test_overlap(void **state) {
  (void)state;
  expect_header_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[7,9]}}",
                      9, LLMC_DATA_LOSS, "tensors 'a' and 'c' overlap");
  /* Containment: a short range inside a long one that began earlier. */
  expect_header_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
                      "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}",
                      8, LLMC_DATA_LOSS, "overlap");
}

static void test_unknown_dtype(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"F4_E2M1\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                      LLMC_UNIMPLEMENTED, "unsupported dtype \"F4_E2M1\"");
}

static void test_too_many_dims(void **state) {
  (void)state;
  expect_header_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                      "\"data_offsets\":[0,1]}}",
                      1, LLMC_DATA_LOSS, "rank 9 exceeds the maximum of 8");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_writer_errors),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_other_dtypes),
      cmocka_unit_test(test_accepts_legal_variants),
      cmocka_unit_test(test_open_memory),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_zero_byte_file),
      cmocka_unit_test(test_short_file),
      cmocka_unit_test(test_header_too_long),
      cmocka_unit_test(test_header_past_eof),
      cmocka_unit_test(test_header_not_json),
      cmocka_unit_test(test_header_not_object),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_missing_fields),
      cmocka_unit_test(test_wrong_types),
      cmocka_unit_test(test_metadata_types),
      cmocka_unit_test(test_negative_dim),
      cmocka_unit_test(test_shape_overflow),
      cmocka_unit_test(test_nbytes_mismatch),
      cmocka_unit_test(test_offsets_reversed),
      cmocka_unit_test(test_offsets_past_end),
      cmocka_unit_test(test_overlap),
      cmocka_unit_test(test_unknown_dtype),
      cmocka_unit_test(test_too_many_dims),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
