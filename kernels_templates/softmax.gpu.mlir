// softmax.gpu.mlir: numerically stable softmax over rows of N floats, the
// GPU form of softmax.host.mlir:
//   m = max_j x[j];  e[j] = exp(x[j] - m);  out[j] = e[j] / sum_j e[j]
//
//   params: NAME, N, WG (threads per workgroup, a power of two)
//   args:   [in_off, out_off]   (both in act; out may equal in)
//   extent: T rows
//   grid:   (T, 1, 1) x (WG, 1, 1); one workgroup per row.
// Two workgroup reductions (max, then the sum of exponentials), each a
// per-thread strided pass and a tree over workgroup memory (address space 3)
// with a barrier per halving, as in rms_norm.gpu.mlir. Every thread stores
// e[j] for its own columns and later scales exactly those, so in place works.
memref.global "private" @{{NAME}}_red : memref<{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {{N}} : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %wg = arith.constant {{WG}} : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %red = memref.get_global @{{NAME}}_red : memref<{{WG}}xf32, 3>
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
    %i_off_i = memref.load %args[%c0] : memref<?xi64>
    %o_off_i = memref.load %args[%c1] : memref<?xi64>
    %i_off = arith.index_cast %i_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %row = arith.muli %t, %n : index
    %i_row = arith.addi %i_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %pmax = scf.for %j = %tid to %n step %wg iter_args(%acc = %ninf) -> (f32) {
      %ii = arith.addi %i_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      %next = arith.maximumf %acc, %x : f32
      scf.yield %next : f32
    }
    memref.store %pmax, %red[%tid] : memref<{{WG}}xf32, 3>
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
        %rc = arith.maximumf %ra, %rb : f32
        memref.store %rc, %red[%tid] : memref<{{WG}}xf32, 3>
      }
      gpu.barrier
      %s_next = arith.shrui %s, %c1 : index
      scf.yield %s_next : index
    }
    %m = memref.load %red[%c0] : memref<{{WG}}xf32, 3>
    gpu.barrier
    %psum = scf.for %j = %tid to %n step %wg iter_args(%acc = %zero) -> (f32) {
      %ii = arith.addi %i_row, %j : index
      %io = arith.addi %o_row, %j : index
      %x = memref.load %act[%ii] : memref<?xf32>
      %xm = arith.subf %x, %m : f32
      %e = math.exp %xm : f32
      memref.store %e, %act[%io] : memref<?xf32>
      %next = arith.addf %acc, %e : f32
      scf.yield %next : f32
    }
    memref.store %psum, %red[%tid] : memref<{{WG}}xf32, 3>
    gpu.barrier
    %s_s0 = arith.shrui %wg, %c1 : index
    %s_done = scf.while (%s = %s_s0) : (index) -> index {
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
    %inv = arith.divf %one, %sum : f32
    scf.for %j = %tid to %n step %wg {
      %io = arith.addi %o_row, %j : index
      %e = memref.load %act[%io] : memref<?xf32>
      %y = arith.mulf %e, %inv : f32
      memref.store %y, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
