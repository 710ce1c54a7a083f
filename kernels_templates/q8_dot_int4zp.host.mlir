// q8_dot_int4zp.host.mlir: matmul_q8's weight decoding for llmc's int4
// zero-point layout (LLMC_DT_I4Z: GPTQ's and AWQ's values): a column is K/2
// bytes of nibbles (as int4-g32's: u in 0..15), and the tensor's headers, a
// column's K/64 words of f16 scales (two groups of 32 a word), then its
// K/128 words of u8 zero points (four groups a word). A group's values are
// s (u - z), so against a block of activations a (scale da) it is
// (s da) (sum u a - z sum a): the unsigned dot's lanes less z times the
// block's lane sums — which matmul_q8 keeps as 8x them for the nibble
// layouts (CORR), so (z c) >> 3, exact — scaled once.
//   params: NAME, ZOFF (= K/64: the zero points' first word in a column's header)
func.func private @{{NAME}}_unpack(%g: vector<16xi8>) -> vector<32xi8> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %lo = arith.andi %g, %mask : vector<16xi8>
  %hi = arith.shrui %g, %four : vector<16xi8>
  %wq = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xi8>, vector<16xi8>
  return %wq : vector<32xi8>
}
// Step g: groups 2g and 2g + 1 (8 words of nibbles at q_word), their scales
// in word g of the column's header (from s_col), their zero points in bytes
// 2 (g % 2) and 2 (g % 2) + 1 of word ZOFF + g / 2.
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index, %aq0: vector<32xi8>,
                                 %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                 %acc: vector<8xf32>) -> vector<8xf32> {
  %two = arith.constant 2 : index
  %zoff = arith.constant {{ZOFF}} : index
  %three = arith.constant dense<3> : vector<8xi32>
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
  %s0 = vector.extract %sf[0] : f32 from vector<2xf32>
  %s1 = vector.extract %sf[1] : f32 from vector<2xf32>
  %half = arith.divui %g, %two : index
  %zw0 = arith.addi %s_col, %zoff : index
  %z_word = arith.addi %zw0, %half : index
  %zv = vector.load %w[%z_word] : memref<?xf32>, vector<1xf32>
  %zb = vector.bitcast %zv : vector<1xf32> to vector<4xi8>
  %zi = arith.extui %zb : vector<4xi8> to vector<4xi32>
  %odd = arith.remui %g, %two : index
  %one = arith.constant 1 : index
  %zat0 = arith.muli %odd, %two : index
  %zat1 = arith.addi %zat0, %one : index
  %z0 = vector.extract %zi[%zat0] : i32 from vector<4xi32>
  %z1 = vector.extract %zi[%zat1] : i32 from vector<4xi32>
  %zv0 = vector.broadcast %z0 : i32 to vector<8xi32>
  %zv1 = vector.broadcast %z1 : i32 to vector<8xi32>
  %zc0 = arith.muli %zv0, %c0 : vector<8xi32>
  %zc1 = arith.muli %zv1, %c1 : vector<8xi32>
  %k0 = arith.shrsi %zc0, %three : vector<8xi32>
  %k1 = arith.shrsi %zc1, %three : vector<8xi32>
  %u0 = func.call @{{NAME}}_dot32u(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %u1 = func.call @{{NAME}}_dot32u(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i0 = arith.subi %u0, %k0 : vector<8xi32>
  %i1 = arith.subi %u1, %k1 : vector<8xi32>
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
