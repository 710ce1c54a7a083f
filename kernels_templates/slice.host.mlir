// slice.host.mlir: out[t, j] = in[t, BEGIN + j] for j < N: columns of rows
// of WIDTH floats. Only slices that no matmul writes directly run as a
// kernel (see ir/ops.def: a matmul whose uses are slices tiling its columns
// writes them itself).
//
//   params: NAME, N, WIDTH, BEGIN
//   args:   [in_off, out_off]   (both in act; never aliased)
//   extent: T rows
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %width = arith.constant {{WIDTH}} : index
  %first = arith.constant {{BEGIN}} : index
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %t_w = arith.muli %t, %width : index
    %i_row0 = arith.addi %i_off, %t_w : index
    %i_row = arith.addi %i_row0, %first : index
    %t_n = arith.muli %t, %n : index
    %o_row = arith.addi %o_off, %t_n : index
    scf.for %j = %c0 to %n step %c1 {
      %ii = arith.addi %i_row, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      memref.store %x, %act[%io] : memref<?xf32>
    }
  }
  return
}
