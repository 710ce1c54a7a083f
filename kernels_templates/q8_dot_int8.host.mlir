// q8_dot_int8.host.mlir: matmul_q8's weight decoding for llmc's int8 row
// layout (LLMC_DT_I8): a column is K int8 values; the tensor's N f32 scales,
// one a row, follow all the values (the column's own factor).
//   params: NAME
// Step g's weights: two blocks of 32 (16 words of values at q_word); s_col
// and g are unused (the row's scale is its colscale).
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, vector<4xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %bytes = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %wq0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %wq1 = vector.extract_strided_slice %bytes {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %wk = arith.constant dense<0.0> : vector<4xf32>
  return %wq0, %wq1, %wk : vector<32xi8>, vector<32xi8>, vector<4xf32>
}
// The decoded step against a token's two blocks (aq, da; wk and c unused).
func.func private @{{NAME}}_dot(%wq0: vector<32xi8>, %wq1: vector<32xi8>, %wk: vector<4xf32>, %aq0: vector<32xi8>,
                                %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                %acc: vector<8xf32>) -> vector<8xf32> {
  %i0 = func.call @{{NAME}}_dot32(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i1 = func.call @{{NAME}}_dot32(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %f0 = arith.sitofp %i0 : vector<8xi32> to vector<8xf32>
  %f1 = arith.sitofp %i1 : vector<8xi32> to vector<8xf32>
  %b0 = vector.broadcast %da0 : f32 to vector<8xf32>
  %b1 = vector.broadcast %da1 : f32 to vector<8xf32>
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
  return %acc1 : vector<8xf32>
}
// Row n's scale (s_col = the scales' start + n: one word a column).
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %s = memref.load %w[%s_col] : memref<?xf32>
  return %s : f32
}
