// q8_dot_int8g.host.mlir: matmul_q8's weight decoding for llmc's int8 group
// layout (LLMC_DT_I8G, ggml's Q8_0 values): a column is K int8 values, then
// the tensor's f16 scales, one a group of 32, two to a word.
//   params: NAME
// Step g's weights: two groups (16 words of values at q_word) and their
// scales (word g of the column's, from s_col) as [s0, s1, 0, 0].
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, vector<4xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %bytes = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %wq0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %wq1 = vector.extract_strided_slice %bytes {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %s_word = arith.addi %s_col, %g : index
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %zero = arith.constant dense<0.0> : vector<2xf32>
  %wk = vector.shuffle %sf, %zero [0, 1, 2, 3] : vector<2xf32>, vector<2xf32>
  return %wq0, %wq1, %wk : vector<32xi8>, vector<32xi8>, vector<4xf32>
}
// The decoded step against a token's two blocks (aq, da; c unused).
func.func private @{{NAME}}_dot(%wq0: vector<32xi8>, %wq1: vector<32xi8>, %wk: vector<4xf32>, %aq0: vector<32xi8>,
                                %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                %acc: vector<8xf32>) -> vector<8xf32> {
  %s0 = vector.extract %wk[0] : f32 from vector<4xf32>
  %s1 = vector.extract %wk[1] : f32 from vector<4xf32>
  %i0 = func.call @{{NAME}}_dot32(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i1 = func.call @{{NAME}}_dot32(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
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
