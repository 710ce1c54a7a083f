// q8_dot_int8.host.mlir: matmul_q8's weight decoding for llmc's int8 row
// layout (LLMC_DT_I8): a column is K int8 values; the tensor's N f32 scales,
// one a row, follow all the values (the column's own factor).
//   params: NAME
// Step g's weights: two blocks of 32 (16 words of values at q_word, as the
// target's dot takes signed weights: @NAME_sbias); s_col
// and g are unused (the row's scale is its colscale).
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xf32>) {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %wv = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %wq = func.call @{{NAME}}_sbias(%wv) : (vector<64xi8>) -> vector<64xi8>
  %wk = arith.constant dense<1.0> : vector<16xf32>
  %wm = arith.constant dense<0.0> : vector<16xf32>
  return %wq, %wk, %wm : vector<64xi8>, vector<16xf32>, vector<16xf32>
}
func.func private @{{NAME}}_dot(%wq: vector<64xi8>, %wk: vector<16xf32>, %wm: vector<16xf32>, %aq: vector<64xi8>,
                                %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %i = func.call @{{NAME}}_dot64s(%c, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  %f = arith.sitofp %i : vector<16xi32> to vector<16xf32>
  %n = vector.fma %f, %da, %acc : vector<16xf32>
  return %n : vector<16xf32>
}
// Row n's scale (s_col = the scales' start + n: one word a column).
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %s = memref.load %w[%s_col] : memref<?xf32>
  return %s : f32
}
