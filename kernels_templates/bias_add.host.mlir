// bias_add.host.mlir: out[t, j] = a[t, j] + bias[j], a bias weight added to
// every row (the q/k/v biases of Qwen2-style attention).
//
// ABI (runtime/include/llmc_abi.h): every kernel takes the act, weights, kv,
// meta and args buffers as memref<?xT> and the slice [begin, end) of its
// parallel extent. Offsets are in elements.
//   params: NAME, N
//   args:   [a_off (act), b_off (weights), out_off (act; may alias a)]
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// The inner loop is unit-stride and left to LLVM's loop vectoriser.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant {{N}} : index
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %o_off_i = memref.load %args[%c2] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %j = %begin to %end step %c1 {
    %ia = arith.addi %a_off, %j : index
    %col = arith.remui %j, %n : index
    %ib = arith.addi %b_off, %col : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ia] : memref<?xf32>
    %y = memref.load %w[%ib] : memref<?xf32>
    %r = arith.addf %x, %y : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
