// kv_f32.gpu.mlir: how the GPU kernels (kv_write, attention, attention_warp)
// read and write elements of the paged KV pool when it holds f32: element i
// is word i. The 16-bit forms (kv_bf16.gpu.mlir, kv_f16.gpu.mlir) keep two
// elements to a word; the kernels address elements and call these.
//   params: NAME, DPL (the elements @NAME_kv_getv reads: attention_warp's
//           dimensions a lane; 2 where a kernel does not call it)
func.func private @{{NAME}}_kv_get(%kv: memref<?xf32>, %i: index) -> f32 {
  %x = memref.load %kv[%i] : memref<?xf32>
  return %x : f32
}
// DPL consecutive elements from i (a multiple of DPL).
func.func private @{{NAME}}_kv_getv(%kv: memref<?xf32>, %i: index) -> vector<{{DPL}}xf32> {
  %x = vector.load %kv[%i] : memref<?xf32>, vector<{{DPL}}xf32>
  return %x : vector<{{DPL}}xf32>
}
// Elements i and i + 1 (i even).
func.func private @{{NAME}}_kv_put2(%kv: memref<?xf32>, %i: index, %a: f32, %b: f32) {
  %c1 = arith.constant 1 : index
  %i1 = arith.addi %i, %c1 : index
  memref.store %a, %kv[%i] : memref<?xf32>
  memref.store %b, %kv[%i1] : memref<?xf32>
  return
}
// What a value reads back as once stored.
func.func private @{{NAME}}_kv_round(%x: f32) -> f32 {
  return %x : f32
}
