// silu_mul.host.mlir: out = silu(a) * b elementwise over rows of N floats:
// the SwiGLU gate of LLaMA-style MLPs (Shazeer 2020, "GLU Variants Improve
// Transformer"), produced by fusing silu(gate) * up.
//
//   params: NAME, N
//   args:   [a_off, b_off, out_off]   (all in act; out may equal a or b)
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// silu(a) = a / (1 + expf(-a)), computed exactly as silu.host.mlir does.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant {{N}} : index
  %one = arith.constant 1.0 : f32
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
    %nx = arith.negf %x : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %s = arith.divf %x, %den : f32
    %r = arith.mulf %s, %y : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  return
}
