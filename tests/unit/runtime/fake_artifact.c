/* fake_artifact.c: see fake_artifact.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_artifact.h"

void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void copy_file(const char *from, const char *to) {
  FILE *f = fopen(from, "rb");
  if (!f) fail_msg("cannot open %s", from);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  write_file(to, buf, (size_t)n);
  free(buf);
}

void write_weights(const char *dir, const float *weights, int64_t n_floats, int misalign) {
  char json[256];
  int len = snprintf(json, sizeof json,
                     "{\"w\":{\"dtype\":\"F32\",\"shape\":[%lld],\"data_offsets\":[0,%lld]}}",
                     (long long)n_floats, (long long)n_floats * 4);
  while ((8 + len) % 64 != 0) json[len++] = ' ';
  len += misalign;
  for (int i = len - misalign; i < len; i++) json[i] = ' ';
  size_t total = 8 + (size_t)len + (size_t)n_floats * 4;
  uint8_t *buf = calloc(1, total);
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)len >> (8 * i));
  memcpy(buf + 8, json, (size_t)len);
  memcpy(buf + 8 + len, weights, (size_t)n_floats * 4);
  char path[512];
  snprintf(path, sizeof path, "%s/weights.safetensors", dir);
  write_file(path, buf, total);
  free(buf);
}

void make_artifact(artifact_t *a, const char *fake_dir, int variant, const float *weights,
                   int64_t n_floats, int misalign) {
  snprintf(a->dir, sizeof a->dir, "/tmp/llmc_rt_test_XXXXXX");
  assert_non_null(mkdtemp(a->dir));
  if (variant >= 0) {
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/fake_model_v%d.so", fake_dir, variant);
    snprintf(to, sizeof to, "%s/model.so", a->dir);
    copy_file(from, to);
  }
  if (n_floats >= 0) write_weights(a->dir, weights, n_floats, misalign);
}

void remove_artifact(artifact_t *a) {
  char p[512];
  snprintf(p, sizeof p, "%s/model.so", a->dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/weights.safetensors", a->dir);
  unlink(p);
  rmdir(a->dir);
}
