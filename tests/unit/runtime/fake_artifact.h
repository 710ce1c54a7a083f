/* fake_artifact.h: test fixture shared by the runtime tests: a temporary
 * artifact directory holding one of the fake_model_v<N>.so variants as
 * model.so next to a weights.safetensors the test writes. Failures abort the
 * current cmocka test. */
#ifndef LLMC_TEST_FAKE_ARTIFACT_H
#define LLMC_TEST_FAKE_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char dir[256];
} artifact_t;

void write_file(const char *path, const void *data, size_t n);
/* weights.safetensors in dir: u64 header length, JSON padded with spaces so
 * the data starts at a multiple of 64 (plus `misalign`), then n_floats of
 * weights. */
void write_weights(const char *dir, const float *weights, int64_t n_floats, int misalign);
/* A temporary artifact directory with fake_model_v<variant> (from FAKE_DIR)
 * as model.so (variant < 0: none) and n_floats of weights (< 0: none). */
void make_artifact(artifact_t *a, const char *fake_dir, int variant, const float *weights,
                   int64_t n_floats, int misalign);
void remove_artifact(artifact_t *a);

#endif
