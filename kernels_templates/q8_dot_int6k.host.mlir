// q8_dot_int6k.host.mlir: matmul_q8's weight decoding for llmc's int6-k
// layout (LLMC_DT_I6K, ggml's Q6_K values; support/llmc_kquant.h): a column
// is K signed bytes (q in -32..31), and the tensor's headers, five words a
// column's super-block of 256: word 0 (f16 d, 0), word 1 + p the int8
// scales of the p-th 64 values' four groups of 16. A value is (d*sc) q;
// the integer dot's lanes hold 4 values each, so lanes 0-3 of a block are
// its first group of 16 and lanes 4-7 its second: each half of the lanes
// takes its own (d*sc) * da.
//   params: NAME
// Step g: 64 values (16 words at q_word); the header from s_col + 5 (g / 4),
// the scales' word after it.
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index, %aq0: vector<32xi8>,
                                 %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                 %acc: vector<8xf32>) -> vector<8xf32> {
  %one = arith.constant 1 : index
  %four = arith.constant 4 : index
  %five = arith.constant 5 : index
  %sb = arith.divui %g, %four : index
  %p = arith.remui %g, %four : index
  %sb5 = arith.muli %sb, %five : index
  %head = arith.addi %s_col, %sb5 : index
  %pw1 = arith.addi %head, %one : index
  %pw = arith.addi %pw1, %p : index
  %hw = vector.load %w[%head] : memref<?xf32>, vector<1xf32>
  %hh = vector.bitcast %hw : vector<1xf32> to vector<2xf16>
  %hf = arith.extf %hh : vector<2xf16> to vector<2xf32>
  %d = vector.extract %hf[0] : f32 from vector<2xf32>
  %pv = vector.load %w[%pw] : memref<?xf32>, vector<1xf32>
  %pb = vector.bitcast %pv : vector<1xf32> to vector<4xi8>
  %pf = arith.sitofp %pb : vector<4xi8> to vector<4xf32>
  // [d*sc0, d*sc1, d*sc2, d*sc3] * [da0, da0, da1, da1] (the latter the same
  // for every column a thread reads), then each group of 16's factor over
  // its half of a block's lanes.
  %dv = vector.broadcast %d : f32 to vector<4xf32>
  %ds = arith.mulf %dv, %pf : vector<4xf32>
  %z = arith.constant dense<0.0> : vector<4xf32>
  %a0 = vector.insert %da0, %z [0] : f32 into vector<4xf32>
  %a1 = vector.insert %da0, %a0 [1] : f32 into vector<4xf32>
  %a2 = vector.insert %da1, %a1 [2] : f32 into vector<4xf32>
  %av = vector.insert %da1, %a2 [3] : f32 into vector<4xf32>
  %sv = arith.mulf %ds, %av : vector<4xf32>
  %b0 = vector.shuffle %sv, %sv [0, 0, 0, 0, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
  %b1 = vector.shuffle %sv, %sv [2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %bytes = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %wq0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %wq1 = vector.extract_strided_slice %bytes {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %i0 = func.call @{{NAME}}_dot32(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i1 = func.call @{{NAME}}_dot32(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %f0 = arith.sitofp %i0 : vector<8xi32> to vector<8xf32>
  %f1 = arith.sitofp %i1 : vector<8xi32> to vector<8xf32>
  %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
  %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
  return %acc1 : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
