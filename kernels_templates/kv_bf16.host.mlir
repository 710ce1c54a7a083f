// kv_bf16.host.mlir: how kv_write and attention on the host store and read
// a head's row of the paged KV pool when it holds bf16 (--kv-cache-dtype=
// bf16): two values to an f32 word, KV element i in word i / 2 (rows start
// at even elements: HEAD_DIM is even). A bf16 is the high half of an f32, so
// both directions are integer operations (arith.truncf to bf16 would be a
// compiler-rt call on most CPUs): in, rounded to nearest even with NaNs kept
// quiet, bit for bit as llmc_f32_to_bf16 (which the reference interpreter
// applies at its kv_write for such an artifact); out, a 16-bit shift, exact.
//   params: NAME, HEAD_DIM, HALF_HD (= HEAD_DIM / 2)
func.func private @{{NAME}}_kv_row(%kv: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant dense<16> : vector<{{HEAD_DIM}}xi32>
  %w = arith.divui %i, %c2 : index
  %words = vector.load %kv[%w] : memref<?xf32>, vector<{{HALF_HD}}xf32>
  %h = vector.bitcast %words : vector<{{HALF_HD}}xf32> to vector<{{HEAD_DIM}}xi16>
  %u = arith.extui %h : vector<{{HEAD_DIM}}xi16> to vector<{{HEAD_DIM}}xi32>
  %b = arith.shli %u, %sixteen : vector<{{HEAD_DIM}}xi32>
  %r = arith.bitcast %b : vector<{{HEAD_DIM}}xi32> to vector<{{HEAD_DIM}}xf32>
  return %r : vector<{{HEAD_DIM}}xf32>
}
func.func private @{{NAME}}_kv_put(%kv: memref<?xf32>, %i: index, %r: vector<{{HEAD_DIM}}xf32>) {
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant dense<16> : vector<{{HEAD_DIM}}xi32>
  %one = arith.constant dense<1> : vector<{{HEAD_DIM}}xi32>
  %half = arith.constant dense<32767> : vector<{{HEAD_DIM}}xi32>
  %abs_mask = arith.constant dense<2147483647> : vector<{{HEAD_DIM}}xi32>
  %inf = arith.constant dense<2139095040> : vector<{{HEAD_DIM}}xi32>
  %quiet = arith.constant dense<64> : vector<{{HEAD_DIM}}xi32>
  %bits = arith.bitcast %r : vector<{{HEAD_DIM}}xf32> to vector<{{HEAD_DIM}}xi32>
  %hi = arith.shrui %bits, %sixteen : vector<{{HEAD_DIM}}xi32>
  %lsb = arith.andi %hi, %one : vector<{{HEAD_DIM}}xi32>
  %up0 = arith.addi %bits, %half : vector<{{HEAD_DIM}}xi32>
  %up = arith.addi %up0, %lsb : vector<{{HEAD_DIM}}xi32>
  %rounded = arith.shrui %up, %sixteen : vector<{{HEAD_DIM}}xi32>
  %abs = arith.andi %bits, %abs_mask : vector<{{HEAD_DIM}}xi32>
  %nan = arith.cmpi ugt, %abs, %inf : vector<{{HEAD_DIM}}xi32>
  %qnan = arith.ori %hi, %quiet : vector<{{HEAD_DIM}}xi32>
  %sel = arith.select %nan, %qnan, %rounded : vector<{{HEAD_DIM}}xi1>, vector<{{HEAD_DIM}}xi32>
  %h = arith.trunci %sel : vector<{{HEAD_DIM}}xi32> to vector<{{HEAD_DIM}}xi16>
  %words = vector.bitcast %h : vector<{{HEAD_DIM}}xi16> to vector<{{HALF_HD}}xf32>
  %w = arith.divui %i, %c2 : index
  vector.store %words, %kv[%w] : memref<?xf32>, vector<{{HALF_HD}}xf32>
  return
}
// Attention reads a block's rows from the pool itself (no stage: READ_KVD =
// KVD, STAGE_FLOATS = 1).
func.func private @{{NAME}}_kv_block(%kv: memref<?xf32>, %kb: index, %vb: index, %kvd: index, %bs: index, %stage: memref<?xf32>) -> (memref<?xf32>, index, index) {
  return %kv, %kb, %vb : memref<?xf32>, index, index
}
