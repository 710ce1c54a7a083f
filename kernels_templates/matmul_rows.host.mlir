// matmul_rows.host.mlir: which token rows a CPU matmul computes, for the
// matmul templates (a helper rendered with the kernel's NAME).
//
//   params: NAME, ON (true: the logits' matmul, computing only the rows the
//           step lists; false: every row), ARG (the argument holding the
//           meta offset of the step's logit_rows, llmc_abi.h: a count, then
//           that many rows, ascending)
//
// A kernel loops over slots i in [0, @NAME_rows(T)) and computes token row
// @NAME_row(i): every row, or a prompt's last token only, whose logits are
// the only ones a step samples from. Which rows are computed never changes
// a row's value.
func.func private @{{NAME}}_rows(%meta: memref<?xi32>, %args: memref<?xi64>, %t: index) -> index {
  %on = arith.constant {{ON}}
  %r = scf.if %on -> (index) {
    %c = arith.constant {{ARG}} : index
    %o_i = memref.load %args[%c] : memref<?xi64>
    %o = arith.index_cast %o_i : i64 to index
    %n_i = memref.load %meta[%o] : memref<?xi32>
    %n = arith.index_cast %n_i : i32 to index
    %m = arith.minui %n, %t : index
    scf.yield %m : index
  } else {
    scf.yield %t : index
  }
  return %r : index
}
func.func private @{{NAME}}_row(%meta: memref<?xi32>, %args: memref<?xi64>, %i: index) -> index {
  %on = arith.constant {{ON}}
  %r = scf.if %on -> (index) {
    %c = arith.constant {{ARG}} : index
    %c1 = arith.constant 1 : index
    %o_i = memref.load %args[%c] : memref<?xi64>
    %o = arith.index_cast %o_i : i64 to index
    %o1 = arith.addi %o, %c1 : index
    %j = arith.addi %o1, %i : index
    %r_i = memref.load %meta[%j] : memref<?xi32>
    %row = arith.index_cast %r_i : i32 to index
    scf.yield %row : index
  } else {
    scf.yield %i : index
  }
  return %r : index
}
