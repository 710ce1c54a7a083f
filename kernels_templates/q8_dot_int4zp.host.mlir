// q8_dot_int4zp.host.mlir: matmul_q8's weight decoding for llmc's int4
// zero-point layout (LLMC_DT_I4Z: GPTQ's and AWQ's values): a column is K/2
// bytes of nibbles (as int4-g32's: u in 0..15), and the tensor's headers, a
// column's K/64 words of f16 scales (two groups of 32 a word), then its
// K/128 words of u8 zero points (four groups a word). A group's values are
// s (u - z), so against a block of activations a (scale da) it is
// (s da) sum u a - (s z da) sum a: the unsigned dot's lanes, and the block's
// sum of a, from the lane sums matmul_q8 keeps for the nibble layouts (CORR
// lanes are 8x them). (The exact integer form, sum u a - (z c) >> 3, lane by
// lane, measured ~7% slower on the 2-vCPU Xeon, 2026-11-30.)
//   params: NAME, ZOFF (= K/64: the zero points' first word in a column's header)
func.func private @{{NAME}}_unpack(%g: vector<16xi8>) -> vector<32xi8> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %lo = arith.andi %g, %mask : vector<16xi8>
  %hi = arith.shrui %g, %four : vector<16xi8>
  %wq = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xi8>, vector<16xi8>
  return %wq : vector<32xi8>
}
// Step g's weights: groups 2g and 2g + 1 (8 words of nibbles at q_word) as
// unsigned bytes, and [s0, s1, s0 z0, s1 z1]: their scales in word g of the
// column's header (from s_col), their zero points in bytes 2 (g % 2) and
// 2 (g % 2) + 1 of word ZOFF + g / 2.
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, vector<4xf32>) {
  %two = arith.constant 2 : index
  %zoff = arith.constant {{ZOFF}} : index
  %sixteen = arith.constant 16 : i32
  %eight = arith.constant 8 : i32
  %byte = arith.constant 255 : i32
  %s_word = arith.addi %s_col, %g : index
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %half = arith.divui %g, %two : index
  %zw0 = arith.addi %s_col, %zoff : index
  %z_word = arith.addi %zw0, %half : index
  %zv = vector.load %w[%z_word] : memref<?xf32>, vector<1xf32>
  %zi = vector.bitcast %zv : vector<1xf32> to vector<1xi32>
  %zword = vector.extract %zi[0] : i32 from vector<1xi32>
  %odd = arith.remui %g, %two : index
  %odd_i = arith.index_cast %odd : index to i32
  %shift = arith.muli %odd_i, %sixteen : i32
  %zpair = arith.shrui %zword, %shift : i32
  %z0i = arith.andi %zpair, %byte : i32
  %z1s = arith.shrui %zpair, %eight : i32
  %z1i = arith.andi %z1s, %byte : i32
  %z0 = arith.sitofp %z0i : i32 to f32
  %z1 = arith.sitofp %z1i : i32 to f32
  %zz = vector.from_elements %z0, %z1 : vector<2xf32>
  %ones = arith.constant dense<1.0> : vector<2xf32>
  %s4 = vector.shuffle %sf, %sf [0, 1, 0, 1] : vector<2xf32>, vector<2xf32>
  %z4 = vector.shuffle %ones, %zz [0, 1, 2, 3] : vector<2xf32>, vector<2xf32>
  %wk = arith.mulf %s4, %z4 : vector<4xf32>
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %g0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %g1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %wq0 = func.call @{{NAME}}_unpack(%g0) : (vector<16xi8>) -> vector<32xi8>
  %wq1 = func.call @{{NAME}}_unpack(%g1) : (vector<16xi8>) -> vector<32xi8>
  return %wq0, %wq1, %wk : vector<32xi8>, vector<32xi8>, vector<4xf32>
}
// The decoded step against a token's two blocks. As int4-k's: the
// per-group factors as one 4-lane product
//   [s0, s1, s0 z0, s1 z1] * [da0, da1, -da0 sa0, -da1 sa1]
// (sa = the block's sum of quantized activations, from the CORR lanes / 8;
// that side is the same for every column: computed once a token when the
// calls are inlined side by side), the two scales times the unsigned dots'
// lanes, the two zero-point terms into spare lanes of the accumulator.
func.func private @{{NAME}}_dot(%wq0: vector<32xi8>, %wq1: vector<32xi8>, %wk: vector<4xf32>, %aq0: vector<32xi8>,
                                %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                %acc: vector<8xf32>) -> vector<8xf32> {
  %eighth = arith.constant -0.125 : f32
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
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
  %sv = arith.mulf %wk, %av : vector<4xf32>
  %b0 = vector.shuffle %sv, %sv [0, 0, 0, 0, 0, 0, 0, 0] : vector<4xf32>, vector<4xf32>
  %b1 = vector.shuffle %sv, %sv [1, 1, 1, 1, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
  %zs = vector.shuffle %sv, %zero4 [4, 4, 2, 3, 4, 4, 4, 4] : vector<4xf32>, vector<4xf32>
  %u0 = func.call @{{NAME}}_dot32u(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %u1 = func.call @{{NAME}}_dot32u(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %f0 = arith.sitofp %u0 : vector<8xi32> to vector<8xf32>
  %f1 = arith.sitofp %u1 : vector<8xi32> to vector<8xf32>
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
  %acc2 = arith.addf %acc1, %zs : vector<8xf32>
  return %acc2 : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
