/* ir_opt.c: reads IR text, runs graph passes, prints the result: the driver
 * of the FileCheck tests in tests/ir. With plan-memory in the pipeline it
 * also prints each activation's planned offset as a comment; fusion passes'
 * remarks (fusions made and refused) are printed as comments too.
 *
 * Usage: ir_opt FILE.ir [--passes=LIST] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmc_passes.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ir_opt FILE.ir [--passes=LIST] [--max-tokens=N]\n");
    return 64;
  }
  const char *passes = NULL;
  long max_tokens = 4;
  for (int i = 2; i < argc; i++) {
    if (strncmp(argv[i], "--passes=", 9) == 0) passes = argv[i] + 9;
    else if (strncmp(argv[i], "--max-tokens=", 13) == 0) max_tokens = atol(argv[i] + 13);
  }
  char *text;
  size_t len;
  llmc_ir_graph_t *g = NULL;
  llmc_status_t *s = llmc_file_read_text(argv[1], 64u << 20, &text, &len);
  if (!s) {
    s = llmc_ir_parse(text, argv[1], &g);
    free(text);
  }
  llmc_pass_result_t r = {0};
  if (!s && passes) {
    llmc_pass_options_t o = {.pipeline = passes, .max_tokens = max_tokens};
    s = llmc_passes_run(g, &o, &r);
  }
  if (s) {
    char msg[4096];
    llmc_status_format(s, msg, sizeof msg);
    fprintf(stderr, "%s\n", msg);
    int code = llmc_status_exit_code(s);
    llmc_status_free(s);
    llmc_ir_graph_destroy(g);
    return code;
  }
  llmc_buf_t out = {0};
  llmc_ir_print(g, &out);
  fputs(out.data, stdout);
  llmc_buf_free(&out);
  for (int i = 0; i < r.remarks.n; i++)
    printf("// remark: %s: %s: %s\n", r.remarks.items[i].pass, r.remarks.items[i].fused ? "fused" : "refused",
           r.remarks.items[i].what);
  if (r.planned) {
    printf("// plan: arena %lld floats, without reuse %lld floats\n", (long long)r.plan.arena_floats,
           (long long)r.plan.naive_floats);
    for (int i = 0; i < g->n_values; i++)
      if (r.plan.offsets[i] >= 0) printf("// plan: %%%d @ %lld\n", i, (long long)r.plan.offsets[i]);
  }
  llmc_pass_result_free(&r);
  llmc_ir_graph_destroy(g);
  return 0;
}
