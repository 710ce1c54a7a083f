// gelu.gpu.mlir: GELU in its tanh form (Hendrycks & Gimpel 2016), as GPT-2
// uses it, elementwise over rows of N; the GPU form of gelu.host.mlir:
//   out = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//
//   params: NAME, N, WG (threads per workgroup)
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements (flat: at decode a row of one token still
//           spreads over ceil(N / WG) workgroups, not one)
//   grid:   (ceil(T * N / WG), 1, 1) x (WG, 1, 1); thread i of workgroup b
//           handles element b * WG + i (coalesced).
// tanh is libdevice's tanhf (NVIDIA), OpenCL.std tanh (SPIR-V), or on AMD
// (no device library linked) MLIR's math-expand-ops form built on exp.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %wg = arith.constant {{WG}} : index
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %k0 = arith.constant 0.7978845608 : f32
  %k1 = arith.constant 0.044715 : f32
  %tid = gpu.thread_id x
  %bx = gpu.block_id x
  %total = arith.index_cast %extent : i64 to index
  %first = arith.muli %bx, %wg : index
  %j = arith.addi %first, %tid : index
  %live = arith.cmpi ult, %j, %total : index
  scf.if %live {
    %i_off_i = memref.load %args[%c0] : memref<?xi64>
    %o_off_i = memref.load %args[%c1] : memref<?xi64>
    %i_off = arith.index_cast %i_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %ii = arith.addi %i_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ii] : memref<?xf32>
    %hx = arith.mulf %half, %x : f32
    %x2 = arith.mulf %k1, %x : f32
    %x3 = arith.mulf %x2, %x : f32
    %x4 = arith.mulf %x3, %x : f32
    %inner = arith.addf %x, %x4 : f32
    %u = arith.mulf %k0, %inner : f32
    %th = math.tanh %u : f32
    %p = arith.addf %one, %th : f32
    %r = arith.mulf %hx, %p : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  gpu.return
}
