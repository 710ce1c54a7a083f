// gelu_mul.host.mlir: out = gelu(a) * b elementwise over rows of N floats:
// GeGLU's gate (Shazeer 2020; Gemma), with GELU in its tanh form as
// gelu.host.mlir computes it:
//   0.5f * a * (1.0f + tanhf(0.7978845608f * (a + 0.044715f * a * a * a))) * b
//
//   params: NAME, N
//   args:   [a_off, b_off, out_off]   (all in act; out may equal a or b)
//   extent: T * N elements
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant {{N}} : index
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %k0 = arith.constant 0.7978845608 : f32
  %k1 = arith.constant 0.044715 : f32
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %o_off_i = memref.load %args[%c2] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %j = %begin to %end step %c1 {
    %ia = arith.addi %a_off, %j : index
    %ib = arith.addi %b_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ia] : memref<?xf32>
    %y = memref.load %act[%ib] : memref<?xf32>
    %hx = arith.mulf %half, %x : f32
    %x2 = arith.mulf %k1, %x : f32
    %x3 = arith.mulf %x2, %x : f32
    %x4 = arith.mulf %x3, %x : f32
    %inner = arith.addf %x, %x4 : f32
    %u = arith.mulf %k0, %inner : f32
    %th = math.tanh %u : f32
    %p = arith.addf %one, %th : f32
    %s = arith.mulf %hx, %p : f32
    %r = arith.mulf %s, %y : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
