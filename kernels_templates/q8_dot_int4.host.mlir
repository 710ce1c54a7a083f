// q8_dot_int4.host.mlir: matmul_q8's weight decoding for llmc's int4 group
// layout (LLMC_DT_I4): a column is K/2 bytes of nibbles (a group's 16 bytes
// hold its elements j in the low nibble and j + 16 in the high one, stored
// as u = q + 8), then the tensor's f16 scales, one a group, two to a word.
// The dot takes the unsigned u (0..15) as they are and subtracts the
// block's lane corrections (8 * its activations' lane sums, computed once
// when the row was quantized, CORR): sum (u - 8) a = sum u a - 8 sum a,
// lane by lane, so the lanes are exactly the signed dot's with three fewer
// instructions a block (no re-centring, no sign handling).
//   params: NAME
func.func private @{{NAME}}_unpack(%g: vector<16xi8>) -> vector<32xi8> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %lo = arith.andi %g, %mask : vector<16xi8>
  %hi = arith.shrui %g, %four : vector<16xi8>
  %wq = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xi8>, vector<16xi8>
  return %wq : vector<32xi8>
}
// Step g's weights: two groups (8 words of nibbles at q_word) as unsigned
// bytes, and their scales (word g of the column's, from s_col) as [s0, s1, 0, 0].
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, vector<4xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %g0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %g1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %wq0 = func.call @{{NAME}}_unpack(%g0) : (vector<16xi8>) -> vector<32xi8>
  %wq1 = func.call @{{NAME}}_unpack(%g1) : (vector<16xi8>) -> vector<32xi8>
  %s_word = arith.addi %s_col, %g : index
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %zero = arith.constant dense<0.0> : vector<2xf32>
  %wk = vector.shuffle %sf, %zero [0, 1, 2, 3] : vector<2xf32>, vector<2xf32>
  return %wq0, %wq1, %wk : vector<32xi8>, vector<32xi8>, vector<4xf32>
}
// The decoded step against a token's two blocks (aq, da, lane corrections c).
func.func private @{{NAME}}_dot(%wq0: vector<32xi8>, %wq1: vector<32xi8>, %wk: vector<4xf32>, %aq0: vector<32xi8>,
                                %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                %acc: vector<8xf32>) -> vector<8xf32> {
  %s0 = vector.extract %wk[0] : f32 from vector<4xf32>
  %s1 = vector.extract %wk[1] : f32 from vector<4xf32>
  %u0 = func.call @{{NAME}}_dot32u(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %u1 = func.call @{{NAME}}_dot32u(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i0 = arith.subi %u0, %c0 : vector<8xi32>
  %i1 = arith.subi %u1, %c1 : vector<8xi32>
  %f0 = arith.sitofp %i0 : vector<8xi32> to vector<8xf32>
  %f1 = arith.sitofp %i1 : vector<8xi32> to vector<8xf32>
  %sc0 = arith.mulf %s0, %da0 : f32
  %sc1 = arith.mulf %s1, %da1 : f32
  %b0 = vector.broadcast %sc0 : f32 to vector<8xf32>
  %b1 = vector.broadcast %sc1 : f32 to vector<8xf32>
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
  return %acc1 : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
