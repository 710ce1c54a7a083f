/* ops_impl.h: private to ir/: the op table's per-op rules. */
#ifndef LLMC_IR_OPS_IMPL_H
#define LLMC_IR_OPS_IMPL_H

#include "llmc_ir.h"

/* Checks a node's inputs and attributes and computes its result type. Only
 * node->op, inputs and attrs are read. */
LLMC_MUST_USE llmc_status_t *llmc_ir_node_infer(const llmc_value_t *node, const char *where,
                                                llmc_dtype_t *out_dtype, llmc_shape_t *out_shape);

/* Formats a shape like "[T,256]" into buf. */
void llmc_shape_format(const llmc_shape_t *s, char *buf, size_t cap);

#endif
