// kv_f32.host.mlir: how kv_write and attention on the host store and read
// a head's row of the paged KV pool when it holds f32 (--kv-cache-dtype=f32,
// the default): KV element i is f32 word i.
//   params: NAME, HEAD_DIM
func.func private @{{NAME}}_kv_row(%kv: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %r = vector.load %kv[%i] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  return %r : vector<{{HEAD_DIM}}xf32>
}
func.func private @{{NAME}}_kv_put(%kv: memref<?xf32>, %i: index, %r: vector<{{HEAD_DIM}}xf32>) {
  vector.store %r, %kv[%i] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  return
}
// Attention reads a block's rows from the pool itself (no stage: READ_KVD =
// KVD, STAGE_FLOATS = 1).
func.func private @{{NAME}}_kv_block(%kv: memref<?xf32>, %kb: index, %vb: index, %kvd: index, %bs: index, %stage: memref<?xf32>) -> (memref<?xf32>, index, index) {
  return %kv, %kb, %vb : memref<?xf32>, index, index
}
