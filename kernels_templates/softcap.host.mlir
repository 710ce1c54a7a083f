// softcap.host.mlir: logit soft-capping (Gemma 2's final logits),
// elementwise over rows of N:
//   out = tanh(x / CAP) * CAP   (CAP 0.0: out = x; canonicalize removes those)
//
//   params: NAME, N, CAP (an f32 literal, >= 0)
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements
// tanh becomes a call to libm's tanhf (convert-math-to-libm); the C
// reference is tanhf(x / cap) * cap.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %cap = arith.constant {{CAP}} : f32
  %cap_zero = arith.constant 0.0 : f32
  %capped = arith.cmpf one, %cap, %cap_zero : f32
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %j = %begin to %end step %c1 {
    %ii = arith.addi %i_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ii] : memref<?xf32>
    %r = scf.if %capped -> (f32) {
      %u = arith.divf %x, %cap : f32
      %th = math.tanh %u : f32
      %c = arith.mulf %th, %cap : f32
      scf.yield %c : f32
    } else {
      scf.yield %x : f32
    }
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
