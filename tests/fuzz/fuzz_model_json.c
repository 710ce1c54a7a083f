/* fuzz_model_json.c: libFuzzer target for the model.json reader and the IR
 * text parser, the two graph formats llmc reads from users.
 *
 * The first input byte picks the reader. model.json inputs are read against
 * a small random Llama checkpoint that tests/fuzz/run.sh makes with gen_model
 * (directory in LLMC_FUZZ_MODEL_DIR), so inputs that name real weights reach
 * the graph builder and verifier. A graph that loads must verify, print, and
 * re-parse to the same text. Built and run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_frontend.h"

#define FUZZ_CHECK(c) \
  do {                \
    if (!(c)) abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const llmc_ir_graph_t *g) {
  FUZZ_CHECK(llmc_ir_verify(g) == NULL);
  llmc_buf_t a = {0}, b = {0};
  llmc_ir_print(g, &a);
  llmc_ir_graph_t *again = NULL;
  llmc_status_t *s = llmc_ir_parse(a.data, "printed", &again);
  FUZZ_CHECK(s == NULL);
  llmc_ir_print(again, &b);
  FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  llmc_ir_graph_destroy(again);
  llmc_buf_free(&a);
  llmc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *text = malloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  if (data[0] & 1) {
    llmc_ir_graph_t *g = NULL;
    llmc_status_t *s = llmc_ir_parse(text, "fuzz.ir", &g);
    if (s) {
      FUZZ_CHECK(g == NULL);
      llmc_status_free(s);
    } else {
      check_round_trip(g);
      llmc_ir_graph_destroy(g);
    }
  } else {
    const char *dir = getenv("LLMC_FUZZ_MODEL_DIR");
    llmc_model_t *m = NULL;
    llmc_status_t *s = llmc_model_from_json_text(text, size - 1, dir ? dir : ".", "fuzz.json", &m);
    if (s) {
      FUZZ_CHECK(m == NULL);
      llmc_status_free(s);
    } else {
      check_round_trip(m->graph);
      llmc_model_destroy(m);
    }
  }
  free(text);
  return 0;
}
