// softmax.host.mlir: numerically stable softmax over rows of N floats:
//   m = max_j x[j];  e[j] = exp(x[j] - m);  out[j] = e[j] / sum_j e[j]
//
//   params: NAME, N
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T rows
// Three passes over the row (max, exp and sum storing e into out, scale by
// 1/sum); subtracting the max keeps every exp in (0, 1]. exp is libm's expf.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %row = arith.muli %t, %n : index
    %i_row = arith.addi %i_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %m = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %ninf) -> (f32) {
      %ii = arith.addi %i_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      %next = arith.maximumf %acc, %x : f32
      scf.yield %next : f32
    }
    %sum = scf.for %j = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
      %ii = arith.addi %i_row, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      %xm = arith.subf %x, %m : f32
      %e = math.exp %xm : f32
      memref.store %e, %act[%io] : memref<?xf32>
      %next = arith.addf %acc, %e fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    %inv = arith.divf %one, %sum : f32
    scf.for %j = %c0 to %n step %c1 {
      %io = arith.addi %o_row, %j : index
      %e = memref.load %act[%io] : memref<?xf32>
      %y = arith.mulf %e, %inv : f32
      memref.store %y, %act[%io] : memref<?xf32>
    }
  }
  return
}
