// silu.host.mlir: out = silu(x) = x / (1 + exp(-x)) (Elfwing et al. 2017,
// "Sigmoid-Weighted Linear Units"), elementwise over rows of N floats.
//
//   params: NAME, N
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// exp is libm's expf (math.exp -> llvm.exp.f32), so results match a C
// reference that writes x / (1.0f + expf(-x)).
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %one = arith.constant 1.0 : f32
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %j = %begin to %end step %c1 {
    %ii = arith.addi %i_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ii] : memref<?xf32>
    %nx = arith.negf %x : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %r = arith.divf %x, %den : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
