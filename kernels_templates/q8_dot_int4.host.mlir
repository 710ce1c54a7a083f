// q8_dot_int4.host.mlir: matmul_q8's weight decoding for llmc's int4 group
// layout (LLMC_DT_I4): a column is K/2 bytes of nibbles (a group's 16 bytes
// hold its elements j in the low nibble and j + 16 in the high one, stored
// as u = q + 8), then the tensor's f16 scales, one a group, two to a word.
// The dot takes the unsigned u (0..15) as they are and starts from the
// block's lane corrections (-8 times its activations' lane sums, computed
// once when the row was quantized by q8_rows): sum (u - 8) a = sum u a - 8 sum a,
// lane by lane, so the lanes are exactly the signed dot's with three fewer
// instructions a block (no re-centring, no sign handling).
// @NAME_decode reads a step (two groups: 64 weights) of a column,
// @NAME_dot takes it against a token's two blocks into 16 f32 lanes (a GEMM
// decodes once for a tile of tokens); matmul_q8.host.mlir has the contract.
//   params: NAME
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
// Step g's weights: two groups (8 words of nibbles at q_word) as unsigned
// values, and their scales (word g of the column's, from s_col), one a lane
// of its block.
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %wq = func.call @{{NAME}}_unpack(%bytes) : (vector<32xi8>) -> vector<64xi8>
  %s_word = arith.addi %s_col, %g : index
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %wk = vector.shuffle %sf, %sf [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] : vector<2xf32>, vector<2xf32>
  %wm = arith.constant dense<0.0> : vector<16xf32>
  return %wq, %wk, %wm : vector<64xi8>, vector<16xf32>, vector<16xf32>
}
// sum (u - 8) a: the unsigned dot started from the lane corrections c.
func.func private @{{NAME}}_dot(%wq: vector<64xi8>, %wk: vector<16xf32>, %wm: vector<16xf32>, %aq: vector<64xi8>,
                                %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %i = func.call @{{NAME}}_dot64u(%c, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  %f = arith.sitofp %i : vector<16xi32> to vector<16xf32>
  %sv = arith.mulf %wk, %da : vector<16xf32>
  %n = vector.fma %f, %sv, %acc : vector<16xf32>
  return %n : vector<16xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
