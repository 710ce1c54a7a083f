// q8_dot_int4k.host.mlir: matmul_q8's weight decoding for llmc's int4-k
// layout (LLMC_DT_I4K, ggml's Q4_K values; support/llmc_kquant.h): a column
// is K/2 bytes of nibbles (groups of 32 as int4-g32's, unsigned q in
// 0..15), and the tensor's headers, five words a column's super-block of
// 256: word 0 (f16 d, f16 dmin), word 1 + p the p-th 64 values' u8 (sc0,
// sc1, m0, m1). A group's values are (d*sc) q - dmin*m, so against a block
// of activations a (scale da) it is (d*sc*da) sum q a - (dmin*m*da) sum a:
// the unsigned dot's lanes, and the block's lane sums of a that matmul_q8
// keeps for the nibble layouts (CORR lanes are 8 * those: scaled by 1/8,
// exactly).
//   params: NAME
func.func private @{{NAME}}_unpack(%g: vector<16xi8>) -> vector<32xi8> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %lo = arith.andi %g, %mask : vector<16xi8>
  %hi = arith.shrui %g, %four : vector<16xi8>
  %wq = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xi8>, vector<16xi8>
  return %wq : vector<32xi8>
}
// Step g: groups 2g and 2g + 1 (8 words of nibbles at q_word); their
// super-block's header from s_col + 5 (g / 4), their pair word after it.
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index, %aq0: vector<32xi8>,
                                 %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                 %acc: vector<8xf32>) -> vector<8xf32> {
  %one = arith.constant 1 : index
  %four = arith.constant 4 : index
  %five = arith.constant 5 : index
  %eighth = arith.constant -0.125 : f32
  %sb = arith.divui %g, %four : index
  %p = arith.remui %g, %four : index
  %sb5 = arith.muli %sb, %five : index
  %head = arith.addi %s_col, %sb5 : index
  %pw1 = arith.addi %head, %one : index
  %pw = arith.addi %pw1, %p : index
  %hw = vector.load %w[%head] : memref<?xf32>, vector<1xf32>
  %hh = vector.bitcast %hw : vector<1xf32> to vector<2xf16>
  %hf = arith.extf %hh : vector<2xf16> to vector<2xf32>
  %d = vector.extract %hf[0] : f32 from vector<2xf32>
  %dmin = vector.extract %hf[1] : f32 from vector<2xf32>
  %pv = vector.load %w[%pw] : memref<?xf32>, vector<1xf32>
  %pb = vector.bitcast %pv : vector<1xf32> to vector<4xi8>
  %pf = arith.uitofp %pb : vector<4xi8> to vector<4xf32>
  %sc0 = vector.extract %pf[0] : f32 from vector<4xf32>
  %sc1 = vector.extract %pf[1] : f32 from vector<4xf32>
  %m0 = vector.extract %pf[2] : f32 from vector<4xf32>
  %m1 = vector.extract %pf[3] : f32 from vector<4xf32>
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %g0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %g1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %wq0 = func.call @{{NAME}}_unpack(%g0) : (vector<16xi8>) -> vector<32xi8>
  %wq1 = func.call @{{NAME}}_unpack(%g1) : (vector<16xi8>) -> vector<32xi8>
  %u0 = func.call @{{NAME}}_dot32u(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %u1 = func.call @{{NAME}}_dot32u(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %f0 = arith.sitofp %u0 : vector<8xi32> to vector<8xf32>
  %f1 = arith.sitofp %u1 : vector<8xi32> to vector<8xf32>
  %a0 = arith.sitofp %c0 : vector<8xi32> to vector<8xf32>
  %a1 = arith.sitofp %c1 : vector<8xi32> to vector<8xf32>
  // (d * sc) * da and -((dmin * m) * da) / 8, per group.
  %ds0 = arith.mulf %d, %sc0 : f32
  %ds1 = arith.mulf %d, %sc1 : f32
  %s0 = arith.mulf %ds0, %da0 : f32
  %s1 = arith.mulf %ds1, %da1 : f32
  %dm0 = arith.mulf %dmin, %m0 : f32
  %dm1 = arith.mulf %dmin, %m1 : f32
  %mm0 = arith.mulf %dm0, %da0 : f32
  %mm1 = arith.mulf %dm1, %da1 : f32
  %n0 = arith.mulf %mm0, %eighth : f32
  %n1 = arith.mulf %mm1, %eighth : f32
  %b0 = vector.broadcast %s0 : f32 to vector<8xf32>
  %b1 = vector.broadcast %s1 : f32 to vector<8xf32>
  %e0 = vector.broadcast %n0 : f32 to vector<8xf32>
  %e1 = vector.broadcast %n1 : f32 to vector<8xf32>
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %a0, %e0, %acc0 : vector<8xf32>
  %acc2 = vector.fma %f1, %b1, %acc1 : vector<8xf32>
  %acc3 = vector.fma %a1, %e1, %acc2 : vector<8xf32>
  return %acc3 : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
