// gelu.host.mlir: GELU in its tanh form, as GPT-2 uses it (Hendrycks &
// Gimpel 2016, "Gaussian Error Linear Units"), elementwise over rows of N:
//   out = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//
//   params: NAME, N
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// tanh becomes a call to libm's tanhf (convert-math-to-libm). The C
// reference: 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x))).
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %k0 = arith.constant 0.7978845608 : f32
  %k1 = arith.constant 0.044715 : f32
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %j = %begin to %end step %c1 {
    %ii = arith.addi %i_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ii] : memref<?xf32>
    %hx = arith.mulf %half, %x : f32
    %x2 = arith.mulf %k1, %x : f32
    %x3 = arith.mulf %x2, %x : f32
    %x4 = arith.mulf %x3, %x : f32
    %inner = arith.addf %x, %x4 : f32
    %u = arith.mulf %k0, %inner : f32
    %th = math.tanh %u : f32
    %p = arith.addf %one, %th : f32
    %r = arith.mulf %hx, %p : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
