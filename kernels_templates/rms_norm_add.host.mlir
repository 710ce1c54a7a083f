// rms_norm_add.host.mlir: a residual plus the RMSNorm of x, the
// post-norms of Gemma 2/3 (h = r + rms_norm(x)), in one kernel:
//   out[t, j] = r[t, j] + x[t, j] * rsqrt(mean_j(x[t, :]^2) + EPS) * (w[j] + OFFSET)
// made by fuse-norm-add from add(r, rms_norm(x)); the norm part is
// rms_norm.host.mlir's, the same arithmetic in the same order.
//
//   params: NAME, D, EPS, OFFSET (f32 literals)
//   args:   [x_off (act), w_off (weights), out_off (act), r_off (act)]
//           (out may equal x or r: each element is read before it is written)
//   extent: T rows
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %d = arith.constant {{D}} : index
  %d_f = arith.constant {{D}}.0 : f32
  %eps = arith.constant {{EPS}} : f32
  %w_offset = arith.constant {{OFFSET}} : f32
  %zero = arith.constant 0.0 : f32
  %x_off_i = memref.load %args[%c0] : memref<?xi64>
  %w_off_i = memref.load %args[%c1] : memref<?xi64>
  %o_off_i = memref.load %args[%c2] : memref<?xi64>
  %c3 = arith.constant 3 : index
  %r_off_i = memref.load %args[%c3] : memref<?xi64>
  %r_off = arith.index_cast %r_off_i : i64 to index
  %x_off = arith.index_cast %x_off_i : i64 to index
  %w_off = arith.index_cast %w_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %row = arith.muli %t, %d : index
    %x_row = arith.addi %x_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %r_row = arith.addi %r_off, %row : index
    %ss = scf.for %j = %c0 to %d step %c1 iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %x2 = arith.mulf %x, %x : f32
      %next = arith.addf %acc, %x2 fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    %mean = arith.divf %ss, %d_f : f32
    %me = arith.addf %mean, %eps : f32
    %r = math.rsqrt %me : f32
    scf.for %j = %c0 to %d step %c1 {
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
  return
}
