// silu_mul.host.mlir: out = silu(a) * b elementwise over rows of N floats:
// the SwiGLU gate of LLaMA-style MLPs (Shazeer 2020, "GLU Variants Improve
// Transformer"), produced by fusing silu(gate) * up.
//
//   params: NAME, N
//   args:   [a_off, b_off, out_off]   (all in act; out may equal a or b)
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// silu(a) = a / (1 + exp(-a)), computed exactly as silu.host.mlir does (16
// lanes at a time, exp from exp_vec.host.mlir).
// silu of 16 lanes (exp from exp_vec.host.mlir, @NAME_exp with W = 16).
func.func private @{{NAME}}_silu16(%x: vector<16xf32>) -> vector<16xf32> {
  %one = arith.constant dense<1.0> : vector<16xf32>
  %nx = arith.negf %x : vector<16xf32>
  %e = func.call @{{NAME}}_exp(%nx) : (vector<16xf32>) -> vector<16xf32>
  %den = arith.addf %one, %e : vector<16xf32>
  %r = arith.divf %x, %den : vector<16xf32>
  return %r : vector<16xf32>
}
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c16 = arith.constant 16 : index
  %n = arith.constant {{N}} : index // (for the reader: rows of N)
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %o_off_i = memref.load %args[%c2] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  %count = arith.subi %end, %begin : index
  %chunks = arith.divui %count, %c16 : index
  %vec = arith.muli %chunks, %c16 : index
  %vec_end = arith.addi %begin, %vec : index
  scf.for %j = %begin to %vec_end step %c16 {
    %ia = arith.addi %a_off, %j : index
    %x = vector.load %act[%ia] : memref<?xf32>, vector<16xf32>
    %iy = arith.addi %b_off, %j : index
    %y = vector.load %act[%iy] : memref<?xf32>, vector<16xf32>
    %s = func.call @{{NAME}}_silu16(%x) : (vector<16xf32>) -> vector<16xf32>
    %r = arith.mulf %s, %y : vector<16xf32>
    %io = arith.addi %o_off, %j : index
    vector.store %r, %act[%io] : memref<?xf32>, vector<16xf32>
  }
  // The rest one at a time, through the same lanes' arithmetic (a broadcast):
  // an element's bits do not depend on where the extent was split.
  scf.for %j = %vec_end to %end step %c1 {
    %ia = arith.addi %a_off, %j : index
    %x = memref.load %act[%ia] : memref<?xf32>
    %iy = arith.addi %b_off, %j : index
    %y = memref.load %act[%iy] : memref<?xf32>
    %xv = vector.broadcast %x : f32 to vector<16xf32>
    %sv = func.call @{{NAME}}_silu16(%xv) : (vector<16xf32>) -> vector<16xf32>
    %ss = vector.extract %sv[0] : f32 from vector<16xf32>
    %rs = arith.mulf %ss, %y : f32
    %io = arith.addi %o_off, %j : index
    memref.store %rs, %act[%io] : memref<?xf32>
  }
  return
}
