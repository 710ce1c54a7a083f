// kv_f16.gpu.mlir: the paged KV pool in f16 (--kv-cache-dtype=f16) for the
// GPU kernels: element i in word i / 2, the even one in the low half;
// arith.truncf (round to nearest even, as llmc_f32_to_f16 and the host's
// F16C conversion) in, arith.extf (exact) out.
//   params: NAME, DPL (as kv_f32.gpu.mlir; even), HALF_DPL (= DPL / 2)
func.func private @{{NAME}}_kv_get(%kv: memref<?xf32>, %i: index) -> f32 {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %sixteen = arith.constant 16 : i32
  %wi = arith.divui %i, %c2 : index
  %odd_i = arith.remui %i, %c2 : index
  %odd = arith.cmpi eq, %odd_i, %c1 : index
  %wf = memref.load %kv[%wi] : memref<?xf32>
  %w = arith.bitcast %wf : f32 to i32
  %hi = arith.shrui %w, %sixteen : i32
  %b = arith.select %odd, %hi, %w : i32
  %h = arith.trunci %b : i32 to i16
  %f = arith.bitcast %h : i16 to f16
  %x = arith.extf %f : f16 to f32
  return %x : f32
}
func.func private @{{NAME}}_kv_getv(%kv: memref<?xf32>, %i: index) -> vector<{{DPL}}xf32> {
  %c2 = arith.constant 2 : index
  %wi = arith.divui %i, %c2 : index
  %words = vector.load %kv[%wi] : memref<?xf32>, vector<{{HALF_DPL}}xf32>
  %h = vector.bitcast %words : vector<{{HALF_DPL}}xf32> to vector<{{DPL}}xf16>
  %x = arith.extf %h : vector<{{DPL}}xf16> to vector<{{DPL}}xf32>
  return %x : vector<{{DPL}}xf32>
}
func.func private @{{NAME}}_kv_bits(%x: f32) -> i32 {
  %f = arith.truncf %x : f32 to f16
  %h = arith.bitcast %f : f16 to i16
  %b = arith.extui %h : i16 to i32
  return %b : i32
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
  %f = arith.truncf %x : f32 to f16
  %y = arith.extf %f : f16 to f32
  return %y : f32
}
