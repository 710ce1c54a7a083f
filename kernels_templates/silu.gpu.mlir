// silu.gpu.mlir: out = silu(x) = x / (1 + exp(-x)) (Elfwing et al. 2017),
// elementwise over rows of N floats; the GPU form of silu.host.mlir.
//
//   params: NAME, N, WG (threads per workgroup)
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T * N elements (flat: at decode a row of one token still
//           spreads over ceil(N / WG) workgroups, not one)
//   grid:   (ceil(T * N / WG), 1, 1) x (WG, 1, 1); thread i of workgroup b
//           handles element b * WG + i (coalesced).
// exp is the vendor's expf (codegen/gpu_pipeline.c: libdevice, the AMDGPU
// backend's llvm.exp, OpenCL.std exp), within a few ulp of libm's.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %wg = arith.constant {{WG}} : index
  %one = arith.constant 1.0 : f32
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
    %nx = arith.negf %x : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %r = arith.divf %x, %den : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  gpu.return
}
