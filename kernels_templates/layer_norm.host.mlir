// layer_norm.host.mlir: LayerNorm (Ba, Kiros & Hinton 2016) over rows of D:
//   mean = sum(x)/D, var = sum((x - mean)^2)/D   (biased, as PyTorch)
//   out[t, j] = (x[t, j] - mean) * rsqrt(var + EPS) * w[j] + b[j]
//
//   params: NAME, D, EPS (f32 literal)
//   args:   [x_off (act), w_off (weights), b_off (weights), out_off (act)]
//   extent: T rows
// Three passes (mean, variance, store): the two-pass variance avoids the
// cancellation of E[x^2] - E[x]^2. Sums carry `reassoc` so LLVM vectorises
// them (fixed order for a given target).
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %d = arith.constant {{D}} : index
  %d_f = arith.constant {{D}}.0 : f32
  %eps = arith.constant {{EPS}} : f32
  %zero = arith.constant 0.0 : f32
  %x_off_i = memref.load %args[%c0] : memref<?xi64>
  %w_off_i = memref.load %args[%c1] : memref<?xi64>
  %b_off_i = memref.load %args[%c2] : memref<?xi64>
  %o_off_i = memref.load %args[%c3] : memref<?xi64>
  %x_off = arith.index_cast %x_off_i : i64 to index
  %w_off = arith.index_cast %w_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %row = arith.muli %t, %d : index
    %x_row = arith.addi %x_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    %sum = scf.for %j = %c0 to %d step %c1 iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %next = arith.addf %acc, %x fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    %mean = arith.divf %sum, %d_f : f32
    %sq = scf.for %j = %c0 to %d step %c1 iter_args(%acc = %zero) -> (f32) {
      %ix = arith.addi %x_row, %j : index
      %x = memref.load %act[%ix] : memref<?xf32>
      %xc = arith.subf %x, %mean : f32
      %x2 = arith.mulf %xc, %xc : f32
      %next = arith.addf %acc, %x2 fastmath<reassoc> : f32
      scf.yield %next : f32
    }
    %var = arith.divf %sq, %d_f : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    scf.for %j = %c0 to %d step %c1 {
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
  return
}
