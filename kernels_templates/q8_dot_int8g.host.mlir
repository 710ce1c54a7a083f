// q8_dot_int8g.host.mlir: matmul_q8's weight decoding for llmc's int8 group
// layout (LLMC_DT_I8G, ggml's Q8_0 values): a column is K int8 values, then
// the tensor's f16 scales, one a group of 32, two to a word.
//   params: NAME
// Step g's weights: two groups (16 words of values at q_word, as the
// target's dot takes signed weights: @NAME_sbias), and their
// scales (word g of the column's, from s_col), one a lane of its block.
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %wv = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %wq = func.call @{{NAME}}_sbias(%wv) : (vector<64xi8>) -> vector<64xi8>
  %s_word = arith.addi %s_col, %g : index
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %wk = vector.shuffle %sf, %sf [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] : vector<2xf32>, vector<2xf32>
  %wm = arith.constant dense<0.0> : vector<16xf32>
  return %wq, %wk, %wm : vector<64xi8>, vector<16xf32>, vector<16xf32>
}
func.func private @{{NAME}}_dot(%wq: vector<64xi8>, %wk: vector<16xf32>, %wm: vector<16xf32>, %aq: vector<64xi8>,
                                %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %i = func.call @{{NAME}}_dot64s(%c, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  %f = arith.sitofp %i : vector<16xi32> to vector<16xf32>
  %sv = arith.mulf %wk, %da : vector<16xf32>
  %n = vector.fma %f, %sv, %acc : vector<16xf32>
  return %n : vector<16xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
