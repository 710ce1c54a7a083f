// layer_norm.gpu.mlir: LayerNorm (Ba, Kiros & Hinton 2016) over rows of D,
// the GPU form of layer_norm.host.mlir:
//   mean = sum(x)/D, var = sum((x - mean)^2)/D   (biased, as PyTorch)
//   out[t, j] = (x[t, j] - mean) * rsqrt(var + EPS) * w[j] + b[j]
//
//   params: NAME, D, EPS (f32 literal), WG (threads per workgroup, a power
//           of two)
//   args:   [x_off (act), w_off (weights), b_off (weights), out_off (act)]
//   extent: T rows
//   grid:   (T, 1, 1) x (WG, 1, 1); one workgroup per row.
// Two workgroup reductions (mean, then the centred sum of squares: the
// two-pass variance avoids the cancellation of E[x^2] - E[x]^2), each a
// per-thread strided sum and a tree over workgroup memory (address space 3:
// NVVM shared, AMDGPU LDS, SPIR-V Workgroup) with a barrier per halving, as
// in rms_norm.gpu.mlir. A barrier separates reading the first result from
// reusing the buffer for the second.
memref.global "private" @{{NAME}}_red : memref<{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %d = arith.constant {{D}} : index
  %d_f = arith.constant {{D}}.0 : f32
  %eps = arith.constant {{EPS}} : f32
  %zero = arith.constant 0.0 : f32
  %wg = arith.constant {{WG}} : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %red = memref.get_global @{{NAME}}_red : memref<{{WG}}xf32, 3>
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
    %x_off_i = memref.load %args[%c0] : memref<?xi64>
    %w_off_i = memref.load %args[%c1] : memref<?xi64>
    %b_off_i = memref.load %args[%c2] : memref<?xi64>
    %o_off_i = memref.load %args[%c3] : memref<?xi64>
    %x_off = arith.index_cast %x_off_i : i64 to index
    %w_off = arith.index_cast %w_off_i : i64 to index
    %b_off = arith.index_cast %b_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %row = arith.muli %t, %d : index
    %x_row = arith.addi %x_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %part = scf.for %j = %tid to %d step %wg iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %next = arith.addf %acc, %x : f32
      scf.yield %next : f32
    }
    memref.store %part, %red[%tid] : memref<{{WG}}xf32, 3>
    gpu.barrier
    %m_s0 = arith.shrui %wg, %c1 : index
    %m_done = scf.while (%s = %m_s0) : (index) -> index {
      %more = arith.cmpi ugt, %s, %c0 : index
      scf.condition(%more) %s : index
    } do {
    ^bb0(%s: index):
      %lo = arith.cmpi ult, %tid, %s : index
      scf.if %lo {
        %other = arith.addi %tid, %s : index
        %ra = memref.load %red[%tid] : memref<{{WG}}xf32, 3>
        %rb = memref.load %red[%other] : memref<{{WG}}xf32, 3>
        %rc = arith.addf %ra, %rb : f32
        memref.store %rc, %red[%tid] : memref<{{WG}}xf32, 3>
      }
      gpu.barrier
      %s_next = arith.shrui %s, %c1 : index
      scf.yield %s_next : index
    }
    %sum = memref.load %red[%c0] : memref<{{WG}}xf32, 3>
    %mean = arith.divf %sum, %d_f : f32
    gpu.barrier
    %part2 = scf.for %j = %tid to %d step %wg iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %xc = arith.subf %x, %mean : f32
      %x2 = arith.mulf %xc, %xc : f32
      %next = arith.addf %acc, %x2 : f32
      scf.yield %next : f32
    }
    memref.store %part2, %red[%tid] : memref<{{WG}}xf32, 3>
    gpu.barrier
    %v_s0 = arith.shrui %wg, %c1 : index
    %v_done = scf.while (%s = %v_s0) : (index) -> index {
      %more = arith.cmpi ugt, %s, %c0 : index
      scf.condition(%more) %s : index
    } do {
    ^bb0(%s: index):
      %lo = arith.cmpi ult, %tid, %s : index
      scf.if %lo {
        %other = arith.addi %tid, %s : index
        %ra = memref.load %red[%tid] : memref<{{WG}}xf32, 3>
        %rb = memref.load %red[%other] : memref<{{WG}}xf32, 3>
        %rc = arith.addf %ra, %rb : f32
        memref.store %rc, %red[%tid] : memref<{{WG}}xf32, 3>
      }
      gpu.barrier
      %s_next = arith.shrui %s, %c1 : index
      scf.yield %s_next : index
    }
    %sq = memref.load %red[%c0] : memref<{{WG}}xf32, 3>
    %var = arith.divf %sq, %d_f : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    scf.for %j = %tid to %d step %wg {
      %ix = arith.addi %x_row, %j : index
      %iw = arith.addi %w_off, %j : index
      %ib = arith.addi %b_off, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %g = memref.load %w[%iw] : memref<?xf32>
      %bb = memref.load %w[%ib] : memref<?xf32>
      %xc = arith.subf %x, %mean : f32
      %xr = arith.mulf %xc, %r : f32
      %xg = arith.mulf %xr, %g : f32
      %y = arith.addf %xg, %bb : f32
      memref.store %y, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
