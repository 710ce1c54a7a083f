// silu.host.mlir: out = silu(x) = x / (1 + exp(-x)) (Elfwing et al. 2017,
// "Sigmoid-Weighted Linear Units"), elementwise over rows of N floats.
//
//   params: NAME, N
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements (flat: at decode one token's row still splits
//           across threads)
// 16 elements at a time, exp from exp_vec.host.mlir (~1 ulp from libm's
// expf: a call per element was 6-7% of a quantized prefill); silu_mul
// computes silu the same way, so fusing them changes no bits.
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
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  %count = arith.subi %end, %begin : index
  %chunks = arith.divui %count, %c16 : index
  %vec = arith.muli %chunks, %c16 : index
  %vec_end = arith.addi %begin, %vec : index
  scf.for %j = %begin to %vec_end step %c16 {
    %ia = arith.addi %a_off, %j : index
    %x = vector.load %act[%ia] : memref<?xf32>, vector<16xf32>
    %s = func.call @{{NAME}}_silu16(%x) : (vector<16xf32>) -> vector<16xf32>
    %io = arith.addi %o_off, %j : index
    vector.store %s, %act[%io] : memref<?xf32>, vector<16xf32>
  }
  // The rest one at a time, through the same lanes' arithmetic (a broadcast):
  // an element's bits do not depend on where the extent was split.
  scf.for %j = %vec_end to %end step %c1 {
    %ia = arith.addi %a_off, %j : index
    %x = memref.load %act[%ia] : memref<?xf32>
    %xv = vector.broadcast %x : f32 to vector<16xf32>
    %sv = func.call @{{NAME}}_silu16(%xv) : (vector<16xf32>) -> vector<16xf32>
    %ss = vector.extract %sv[0] : f32 from vector<16xf32>
    %io = arith.addi %o_off, %j : index
    memref.store %ss, %act[%io] : memref<?xf32>
  }
  return
}
