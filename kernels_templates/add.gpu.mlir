// add.gpu.mlir: elementwise out = a + b over rows of N floats (residual adds),
// the GPU form of add.host.mlir (same args, same result bit for bit).
//
// GPU kernel ABI (llmc_gpu_compile, codegen/gpu_pipeline.c): the host ABI's
// buffers act, w, kv (f32), meta (i32) and args (i64) as memref<?xT>, then
// the launch's extent as i64; no [begin, end) slice, the grid covers it all.
//   params: NAME, N, WG (threads per workgroup)
//   args:   [a_off, b_off, out_off]   (all three in act; out may alias a or b)
//   extent: T * N elements (flat: at decode a row of one token still
//           spreads over ceil(N / WG) workgroups, not one)
//   grid:   (ceil(T * N / WG), 1, 1) x (WG, 1, 1); thread i of workgroup b
//           handles element b * WG + i (coalesced).
// Each element is read and written by the same thread, so in-place works.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = arith.constant {{N}} : index
  %wg = arith.constant {{WG}} : index
  %tid = gpu.thread_id x
  %bx = gpu.block_id x
  %total = arith.index_cast %extent : i64 to index
  %first = arith.muli %bx, %wg : index
  %j = arith.addi %first, %tid : index
  %live = arith.cmpi ult, %j, %total : index
  scf.if %live {
    %a_off_i = memref.load %args[%c0] : memref<?xi64>
    %b_off_i = memref.load %args[%c1] : memref<?xi64>
    %o_off_i = memref.load %args[%c2] : memref<?xi64>
    %a_off = arith.index_cast %a_off_i : i64 to index
    %b_off = arith.index_cast %b_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %ia = arith.addi %a_off, %j : index
    %ib = arith.addi %b_off, %j : index
    %io = arith.addi %o_off, %j : index
    %x = memref.load %act[%ia] : memref<?xf32>
    %y = memref.load %act[%ib] : memref<?xf32>
    %r = arith.addf %x, %y : f32
    memref.store %r, %act[%io] : memref<?xf32>
  }
  gpu.return
}
