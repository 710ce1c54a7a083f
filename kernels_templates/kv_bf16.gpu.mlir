// kv_bf16.gpu.mlir: the paged KV pool in bf16 (--kv-cache-dtype=bf16) for
// the GPU kernels: element i in word i / 2, the even one in the low half. A
// bf16 is the high half of an f32, so both directions are integer
// operations: in, rounded to nearest even with NaNs kept quiet, bit for bit
// as llmc_f32_to_bf16 and kv_bf16.host.mlir (the host kernels and the
// reference interpreter round the same values the same way); out, exact.
//   params: NAME, DPL (as kv_f32.gpu.mlir; even), HALF_DPL (= DPL / 2)
func.func private @{{NAME}}_kv_get(%kv: memref<?xf32>, %i: index) -> f32 {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant 16 : i32
  %hi_mask = arith.constant -65536 : i32
  %wi = arith.divui %i, %c2 : index
  %odd_i = arith.remui %i, %c2 : index
  %odd = arith.cmpi eq, %odd_i, %c1 : index
  %wf = memref.load %kv[%wi] : memref<?xf32>
  %w = arith.bitcast %wf : f32 to i32
  %lo = arith.shli %w, %sixteen : i32
  %hi = arith.andi %w, %hi_mask : i32
  %b = arith.select %odd, %hi, %lo : i32
  %x = arith.bitcast %b : i32 to f32
  return %x : f32
}
func.func private @{{NAME}}_kv_getv(%kv: memref<?xf32>, %i: index) -> vector<{{DPL}}xf32> {
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant dense<16> : vector<{{DPL}}xi32>
  %wi = arith.divui %i, %c2 : index
  %words = vector.load %kv[%wi] : memref<?xf32>, vector<{{HALF_DPL}}xf32>
  %h = vector.bitcast %words : vector<{{HALF_DPL}}xf32> to vector<{{DPL}}xi16>
  %u = arith.extui %h : vector<{{DPL}}xi16> to vector<{{DPL}}xi32>
  %b = arith.shli %u, %sixteen : vector<{{DPL}}xi32>
  %x = arith.bitcast %b : vector<{{DPL}}xi32> to vector<{{DPL}}xf32>
  return %x : vector<{{DPL}}xf32>
}
// x rounded to the nearest even bf16, NaNs quiet, in the low 16 bits.
func.func private @{{NAME}}_kv_bits(%x: f32) -> i32 {
  %sixteen = arith.constant 16 : i32
  %one = arith.constant 1 : i32
  %half = arith.constant 32767 : i32
  %abs_mask = arith.constant 2147483647 : i32
  %inf = arith.constant 2139095040 : i32
  %quiet = arith.constant 64 : i32
  %bits = arith.bitcast %x : f32 to i32
  %hi = arith.shrui %bits, %sixteen : i32
  %lsb = arith.andi %hi, %one : i32
  %up0 = arith.addi %bits, %half : i32
  %up = arith.addi %up0, %lsb : i32
  %rounded = arith.shrui %up, %sixteen : i32
  %abs = arith.andi %bits, %abs_mask : i32
  %nan = arith.cmpi ugt, %abs, %inf : i32
  %qnan = arith.ori %hi, %quiet : i32
  %r = arith.select %nan, %qnan, %rounded : i32
  return %r : i32
}
func.func private @{{NAME}}_kv_put2(%kv: memref<?xf32>, %i: index, %a: f32, %b: f32) {
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant 16 : i32
  %ra = func.call @{{NAME}}_kv_bits(%a) : (f32) -> i32
  %rb = func.call @{{NAME}}_kv_bits(%b) : (f32) -> i32
  %rbh = arith.shli %rb, %sixteen : i32
  %w = arith.ori %ra, %rbh : i32
  %wf = arith.bitcast %w : i32 to f32
  %wi = arith.divui %i, %c2 : index
  memref.store %wf, %kv[%wi] : memref<?xf32>
  return
}
func.func private @{{NAME}}_kv_round(%x: f32) -> f32 {
  %sixteen = arith.constant 16 : i32
  %r = func.call @{{NAME}}_kv_bits(%x) : (f32) -> i32
  %b = arith.shli %r, %sixteen : i32
  %y = arith.bitcast %b : i32 to f32
  return %y : f32
}
