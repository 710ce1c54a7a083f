// slice.gpu.mlir: out[t, j] = in[t, BEGIN + j] for j < N; the GPU form of
// slice.host.mlir (only slices no matmul writes directly run as a kernel).
//
//   params: NAME, N, WIDTH, BEGIN, WG (threads per workgroup)
//   args:   [in_off, out_off]   (both in act; never aliased)
//   extent: T rows
//   grid:   (T, 1, 1) x (WG, 1, 1); thread i copies columns i, i + WG, ...
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %width = arith.constant {{WIDTH}} : index
  %first = arith.constant {{BEGIN}} : index
  %wg = arith.constant {{WG}} : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
    %i_off_i = memref.load %args[%c0] : memref<?xi64>
    %o_off_i = memref.load %args[%c1] : memref<?xi64>
    %i_off = arith.index_cast %i_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %t_w = arith.muli %t, %width : index
    %i_row0 = arith.addi %i_off, %t_w : index
    %i_row = arith.addi %i_row0, %first : index
    %t_n = arith.muli %t, %n : index
    %o_row = arith.addi %o_off, %t_n : index
    scf.for %j = %tid to %n step %wg {
      %ii = arith.addi %i_row, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      memref.store %x, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
