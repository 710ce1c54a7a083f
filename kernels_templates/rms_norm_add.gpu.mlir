// rms_norm_add.gpu.mlir: a residual plus the RMSNorm of x (Gemma's
// post-norms), the GPU form of rms_norm_add.host.mlir; the norm part is
// rms_norm.gpu.mlir's (one workgroup per row, a tree reduction in WG).
//
//   params: NAME, D, EPS, OFFSET (f32 literals), WG (threads, a power of two)
//   args:   [x_off (act), w_off (weights), out_off (act), r_off (act)]
//   extent: T rows
//   grid:   (T, 1, 1) x (WG, 1, 1)
memref.global "private" @{{NAME}}_red : memref<{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %d = arith.constant {{D}} : index
  %d_f = arith.constant {{D}}.0 : f32
  %eps = arith.constant {{EPS}} : f32
  %w_offset = arith.constant {{OFFSET}} : f32
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
    %o_off_i = memref.load %args[%c2] : memref<?xi64>
    %c3 = arith.constant 3 : index
    %r_off_i = memref.load %args[%c3] : memref<?xi64>
    %r_off = arith.index_cast %r_off_i : i64 to index
    %x_off = arith.index_cast %x_off_i : i64 to index
    %w_off = arith.index_cast %w_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %row = arith.muli %t, %d : index
    %x_row = arith.addi %x_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %r_row = arith.addi %r_off, %row : index
    %part = scf.for %j = %tid to %d step %wg iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %x2 = arith.mulf %x, %x : f32
      %next = arith.addf %acc, %x2 : f32
      scf.yield %next : f32
    }
    memref.store %part, %red[%tid] : memref<{{WG}}xf32, 3>
    gpu.barrier
    %s0 = arith.shrui %wg, %c1 : index
    %done = scf.while (%s = %s0) : (index) -> index {
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
    %ss = memref.load %red[%c0] : memref<{{WG}}xf32, 3>
    %mean = arith.divf %ss, %d_f : f32
    %me = arith.addf %mean, %eps : f32
    %r = math.rsqrt %me : f32
    scf.for %j = %tid to %d step %wg {
      %ix = arith.addi %x_row, %j : index
      %iw = arith.addi %w_off, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %g0 = memref.load %w[%iw] : memref<?xf32>
      %g = arith.addf %g0, %w_offset : f32
      %xr = arith.mulf %x, %r : f32
      %y0 = arith.mulf %xr, %g : f32
      %ir = arith.addi %r_row, %j : index
      %res = memref.load %act[%ir] : memref<?xf32>
      %y = arith.addf %res, %y0 : f32
      memref.store %y, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
