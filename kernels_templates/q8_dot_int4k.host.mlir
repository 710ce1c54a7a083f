// q8_dot_int4k.host.mlir: matmul_q8's weight decoding for llmc's int4-k
// layout (LLMC_DT_I4K, ggml's Q4_K values; support/llmc_kquant.h): a column
// is K/2 bytes of nibbles (groups of 32 as int4-g32's, unsigned q in
// 0..15), and the tensor's headers, five words a column's super-block of
// 256: word 0 (f16 d, f16 dmin), word 1 + p the p-th 64 values' u8 (sc0,
// sc1, m0, m1). A group's values are (d*sc) q - dmin*m, so against a block
// of activations a (scale da) it is (d*sc*da) sum q a - (dmin*m*da) sum a:
// the unsigned dot's lanes, and the block's sum of a, from the lane sums
// matmul_q8 keeps for the nibble layouts (CORR lanes are 8 * those: scaled
// by 1/8, exactly).
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
// The four per-group factors are computed as one 4-lane product,
//   [d, d, dmin, dmin] * [sc0, sc1, m0, m1] * [da0, da1, -da0 sa0, -da1 sa1]
// (sa = the block's sum of quantized activations, from the CORR lanes; the
// last factor is the same for every column a thread reads, so computed once
// a step when the columns are read four at a time); the two scales
// multiply the dots' lanes, the two mins go into two spare lanes of the
// accumulator (its lanes are summed at the end).
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index, %aq0: vector<32xi8>,
                                 %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                 %acc: vector<8xf32>) -> vector<8xf32> {
  %one = arith.constant 1 : index
  %four = arith.constant 4 : index
  %five = arith.constant 5 : index
  %eighth = arith.constant -0.125 : f32
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
  %sb = arith.divui %g, %four : index
  %p = arith.remui %g, %four : index
  %sb5 = arith.muli %sb, %five : index
  %head = arith.addi %s_col, %sb5 : index
  %pw1 = arith.addi %head, %one : index
  %pw = arith.addi %pw1, %p : index
  // Activations: [da0, da1, -da0 sa0, -da1 sa1] (CORR lanes are 8x the lane sums).
  %l0 = vector.reduction <add>, %c0 : vector<8xi32> into i32
  %l1 = vector.reduction <add>, %c1 : vector<8xi32> into i32
  %sa0 = arith.sitofp %l0 : i32 to f32
  %sa1 = arith.sitofp %l1 : i32 to f32
  %ma0 = arith.mulf %da0, %eighth : f32
  %ma1 = arith.mulf %da1, %eighth : f32
  %na0 = arith.mulf %ma0, %sa0 : f32
  %na1 = arith.mulf %ma1, %sa1 : f32
  %av0 = vector.insert %da0, %zero4 [0] : f32 into vector<4xf32>
  %av1 = vector.insert %da1, %av0 [1] : f32 into vector<4xf32>
  %av2 = vector.insert %na0, %av1 [2] : f32 into vector<4xf32>
  %av = vector.insert %na1, %av2 [3] : f32 into vector<4xf32>
  // Weights: [d, d, dmin, dmin] * [sc0, sc1, m0, m1].
  %hw = vector.load %w[%head] : memref<?xf32>, vector<1xf32>
  %hh = vector.bitcast %hw : vector<1xf32> to vector<2xf16>
  %hf = arith.extf %hh : vector<2xf16> to vector<2xf32>
  %dd = vector.shuffle %hf, %hf [0, 0, 1, 1] : vector<2xf32>, vector<2xf32>
  %pv = vector.load %w[%pw] : memref<?xf32>, vector<1xf32>
  %pb = vector.bitcast %pv : vector<1xf32> to vector<4xi8>
  %pf = arith.uitofp %pb : vector<4xi8> to vector<4xf32>
  %k = arith.mulf %dd, %pf : vector<4xf32>
  %sv = arith.mulf %k, %av : vector<4xf32>
  %b0 = vector.shuffle %sv, %sv [0, 0, 0, 0, 0, 0, 0, 0] : vector<4xf32>, vector<4xf32>
  %b1 = vector.shuffle %sv, %sv [1, 1, 1, 1, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
  %mins = vector.shuffle %sv, %zero4 [4, 4, 2, 3, 4, 4, 4, 4] : vector<4xf32>, vector<4xf32>
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
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
  %acc2 = arith.addf %acc1, %mins : vector<8xf32>
  return %acc2 : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
