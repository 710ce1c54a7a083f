// kv_f16.host.mlir: how kv_write and attention on the host store and read
// a head's row of the paged KV pool when it holds f16 (--kv-cache-dtype=f16):
// two values to an f32 word, KV element i in word i / 2 (rows start at even
// elements: HEAD_DIM is even). Rows are rounded to nearest even on the way
// in (arith.truncf: vcvtps2ph; the target has F16C, kplan checks) and
// widened exactly on the way out, the rounding the reference interpreter
// applies at its kv_write when it checks such an artifact
// (llmc_interp_set_kv_dtype, llmc_f32_to_f16).
//   params: NAME, HEAD_DIM, HALF_HD (= HEAD_DIM / 2)
func.func private @{{NAME}}_kv_row(%kv: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %c2 = arith.constant 2 : index
  %w = arith.divui %i, %c2 : index
  %words = vector.load %kv[%w] : memref<?xf32>, vector<{{HALF_HD}}xf32>
  %h = vector.bitcast %words : vector<{{HALF_HD}}xf32> to vector<{{HEAD_DIM}}xf16>
  %r = arith.extf %h : vector<{{HEAD_DIM}}xf16> to vector<{{HEAD_DIM}}xf32>
  return %r : vector<{{HEAD_DIM}}xf32>
}
func.func private @{{NAME}}_kv_put(%kv: memref<?xf32>, %i: index, %r: vector<{{HEAD_DIM}}xf32>) {
  %c2 = arith.constant 2 : index
  %w = arith.divui %i, %c2 : index
  %h = arith.truncf %r : vector<{{HEAD_DIM}}xf32> to vector<{{HEAD_DIM}}xf16>
  %words = vector.bitcast %h : vector<{{HEAD_DIM}}xf16> to vector<{{HALF_HD}}xf32>
  vector.store %words, %kv[%w] : memref<?xf32>, vector<{{HALF_HD}}xf32>
  return
}
// Attention reads a block's rows from the pool itself (no stage: READ_KVD =
// KVD, STAGE_FLOATS = 1).
func.func private @{{NAME}}_kv_block(%kv: memref<?xf32>, %kb: index, %vb: index, %kvd: index, %bs: index, %stage: memref<?xf32>) -> (memref<?xf32>, index, index) {
  return %kv, %kb, %vb : memref<?xf32>, index, index
}
