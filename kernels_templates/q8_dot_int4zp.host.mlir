// q8_dot_int4zp.host.mlir: matmul_q8's weight decoding for llmc's int4
// zero-point layout (LLMC_DT_I4Z: GPTQ's and AWQ's values): a column is K/2
// bytes of nibbles (as int4-g32's: u in 0..15), and the tensor's headers, a
// column's K/64 words of f16 scales (two groups of 32 a word), then its
// K/128 words of u8 zero points (four groups a word). A group's values are
// s (u - z), so against a block of activations a (scale da) it is
// (s da) sum u a - (s z da) sum a: the unsigned dot's lanes, and the block's
// sum of a, from the lane sums q8_rows keeps (its lane corrections are -8x
// them). (The exact integer form, sum u a - (z c) >> 3, lane by
// lane, measured ~7% slower on the 2-vCPU Xeon, 2026-11-30.)
//   params: NAME, ZOFF (= K/64: the zero points' first word in a column's header)
// A step's 32 bytes of nibbles (two groups of 16: element j in the low
// nibble of byte j, j + 16 in the high one) as 64 bytes of values 0..15.
func.func private @{{NAME}}_unpack(%b: vector<32xi8>) -> vector<64xi8> {
  %mask = arith.constant dense<15> : vector<32xi8>
  %four = arith.constant dense<4> : vector<32xi8>
  %lo = arith.andi %b, %mask : vector<32xi8>
  %hi = arith.shrui %b, %four : vector<32xi8>
  %u = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63] : vector<32xi8>, vector<32xi8>
  return %u : vector<64xi8>
}
// Step g's weights: groups 2g and 2g + 1 (8 words of nibbles at q_word) as
// unsigned values; their scales s (word g of the column's header, from
// s_col), one a lane of its block; and s z, their zero points' terms (z in
// bytes 2 (g % 2) and 2 (g % 2) + 1 of word ZOFF + g / 2), in lanes 0 and 8.
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xf32>) {
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
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
  %s4 = vector.shuffle %sf, %sf [0, 1, 0, 1] : vector<2xf32>, vector<2xf32>
  %z4 = vector.shuffle %ones, %zz [0, 1, 2, 3] : vector<2xf32>, vector<2xf32>
  %k = arith.mulf %s4, %z4 : vector<4xf32>
  %wk = vector.shuffle %k, %k [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
  %wm = vector.shuffle %k, %zero4 [2, 4, 4, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4] : vector<4xf32>, vector<4xf32>
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %wq = func.call @{{NAME}}_unpack(%bytes) : (vector<32xi8>) -> vector<64xi8>
  return %wq, %wk, %wm : vector<64xi8>, vector<16xf32>, vector<16xf32>
}
// s (u - z) against a block a (scale da): (s da) sum u a - (s z) (da sum a),
// the unsigned dot's lanes times s da, and the zero points' terms from the
// activations' as (lanes 0 and 8: -da times the block's sum of quantized
// values; q8_rows' @NAME_acts).
func.func private @{{NAME}}_dot(%wq: vector<64xi8>, %wk: vector<16xf32>, %wm: vector<16xf32>, %aq: vector<64xi8>,
                                %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %z = arith.constant dense<0> : vector<16xi32>
  %u = func.call @{{NAME}}_dot64u(%z, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  %f = arith.sitofp %u : vector<16xi32> to vector<16xf32>
  %sv = arith.mulf %wk, %da : vector<16xf32>
  %n0 = vector.fma %f, %sv, %acc : vector<16xf32>
  %n = vector.fma %wm, %as, %n0 : vector<16xf32>
  return %n : vector<16xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
