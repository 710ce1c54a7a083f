/* codegen_impl.h: private to codegen/: helpers the host and GPU pipelines
 * share. */
#ifndef LLMC_CODEGEN_IMPL_H
#define LLMC_CODEGEN_IMPL_H

#include <mlir-c/Diagnostics.h>

#include "llmc_codegen.h"

/* An MLIR diagnostic handler appending "<kernels>:line:col: error: ..." lines
 * (with notes indented) to the llmc_buf_t passed as user data. */
MlirLogicalResult llmc_codegen_collect_diag(MlirDiagnostic d, void *user);
/* LLMC_INTERNAL "what" followed by the collected diagnostics. */
llmc_status_t *llmc_codegen_mlir_failure(const char *what, llmc_buf_t *diags);

/* Runs argv[0] (a path or a name on PATH) with stdout and stderr captured;
 * a nonzero exit is LLMC_INTERNAL naming `what`, with the tool's output;
 * a tool that cannot be started is LLMC_UNAVAILABLE. */
LLMC_MUST_USE llmc_status_t *llmc_codegen_run_tool(const char *what, char *const argv[]);

/* A private temporary directory holding a tool's input and output file
 * (in -> tool -> out); scratch_close removes all three. */
typedef struct {
  char dir[64], in[96], out[96];
} llmc_codegen_scratch_t;
LLMC_MUST_USE llmc_status_t *llmc_codegen_scratch_open(llmc_codegen_scratch_t *s,
                                                       const char *in_name, const char *out_name);
void llmc_codegen_scratch_close(llmc_codegen_scratch_t *s);
LLMC_MUST_USE llmc_status_t *llmc_codegen_write_file(const char *path, const void *data, size_t n);
/* Appends the whole file to *out. */
LLMC_MUST_USE llmc_status_t *llmc_codegen_read_file(const char *path, llmc_buf_t *out);

#endif
