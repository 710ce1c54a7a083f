// matmul_int8.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b in llmc's int8
// row layout (LLMC_DT_I8): N*K int8 values, row-major, then N f32 scales,
// row n of b being q[n][k] * scale[n] (symmetric, per output channel). The
// same kernel as matmul_half.host.mlir (same loops, blocking, token pairs,
// extent and args) except that a weight vector is VEC int8 values loaded as
// WORDS = VEC/4 f32 words, reinterpreted with vector.bitcast, and widened
// with arith.sitofp (exact); each column's dot product of a with q is
// scaled once, at the end, by its row's scale.
//
//   params: NAME, K, N, VEC (a multiple of 4 dividing K), WORDS (= VEC / 4),
//           SCALES (= N*K/4: the scales' first word within the tensor)
//   args:   [a_off (act), b_off (weights, in f32 words: the tensor starts
//            64-byte aligned), out_off (act), T, then the epilogue's]
//   extent: N output columns
//
// Decode reads every weight once per token: int8 weights stream a quarter of
// f32's bytes. The epilogue is as in matmul.host.mlir.
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %k_dim = arith.constant {{K}} : index
  %n_dim = arith.constant {{N}} : index
  %vec = arith.constant {{VEC}} : index
  %zero = arith.constant dense<0.0> : vector<{{VEC}}xf32>
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off_f = arith.index_cast %b_off_i : i64 to index
  %b_off = arith.muli %b_off_f, %c4 : index
  %scales_at = arith.constant {{SCALES}} : index
  %s_off = arith.addi %b_off_f, %scales_at : index
  %tokens = arith.index_cast %t_i : i64 to index
  // One token (a decode step): blocks of 8 columns, so 8 independent FMA
  // chains hide the latency the conversions add; each column sums in the
  // same order as in the loops below, so its bits do not depend on T.
  %c8 = arith.constant 8 : index
  %one_token = arith.cmpi eq, %tokens, %c1 : index
  %count_all = arith.subi %end, %begin : index
  %blocks8 = arith.divui %count_all, %c8 : index
  %blocked8 = arith.muli %blocks8, %c8 : index
  %block8_end = arith.addi %begin, %blocked8 : index
  %start4 = arith.select %one_token, %block8_end, %begin : index
  scf.if %one_token {
    scf.for %n = %begin to %block8_end step %c8 {
      %n_k = arith.muli %n, %k_dim : index
      %a_row = arith.addi %a_off, %c0 : index
      %o0 = arith.addi %b_off, %n_k : index
      %o1 = arith.addi %o0, %k_dim : index
      %o2 = arith.addi %o1, %k_dim : index
      %o3 = arith.addi %o2, %k_dim : index
      %o4 = arith.addi %o3, %k_dim : index
      %o5 = arith.addi %o4, %k_dim : index
      %o6 = arith.addi %o5, %k_dim : index
      %o7 = arith.addi %o6, %k_dim : index
      %z0 = arith.addi %s_off, %n : index
      %y0 = memref.load %w[%z0] : memref<?xf32>
      %z1 = arith.addi %z0, %c1 : index
      %y1 = memref.load %w[%z1] : memref<?xf32>
      %z2 = arith.addi %z1, %c1 : index
      %y2 = memref.load %w[%z2] : memref<?xf32>
      %z3 = arith.addi %z2, %c1 : index
      %y3 = memref.load %w[%z3] : memref<?xf32>
      %z4 = arith.addi %z3, %c1 : index
      %y4 = memref.load %w[%z4] : memref<?xf32>
      %z5 = arith.addi %z4, %c1 : index
      %y5 = memref.load %w[%z5] : memref<?xf32>
      %z6 = arith.addi %z5, %c1 : index
      %y6 = memref.load %w[%z6] : memref<?xf32>
      %z7 = arith.addi %z6, %c1 : index
      %y7 = memref.load %w[%z7] : memref<?xf32>
      %acc:8 = scf.for %k = %c0 to %k_dim step %vec
          iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero, %s3 = %zero, %s4 = %zero, %s5 = %zero, %s6 = %zero, %s7 = %zero)
          -> (vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>) {
        %ia = arith.addi %a_row, %k : index
        %av = vector.load %act[%ia] : memref<?xf32>, vector<{{VEC}}xf32>
        %i0 = arith.addi %o0, %k : index
        %f0 = arith.divui %i0, %c4 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w0_q = vector.bitcast %w0_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w0 = arith.sitofp %w0_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %n0 = arith.addf %s0, %p0 fastmath<contract> : vector<{{VEC}}xf32>
        %i1 = arith.addi %o1, %k : index
        %f1 = arith.divui %i1, %c4 : index
        %w1_words = vector.load %w[%f1] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w1_q = vector.bitcast %w1_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w1 = arith.sitofp %w1_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p1 = arith.mulf %av, %w1 fastmath<contract> : vector<{{VEC}}xf32>
        %n1 = arith.addf %s1, %p1 fastmath<contract> : vector<{{VEC}}xf32>
        %i2 = arith.addi %o2, %k : index
        %f2 = arith.divui %i2, %c4 : index
        %w2_words = vector.load %w[%f2] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w2_q = vector.bitcast %w2_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w2 = arith.sitofp %w2_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p2 = arith.mulf %av, %w2 fastmath<contract> : vector<{{VEC}}xf32>
        %n2 = arith.addf %s2, %p2 fastmath<contract> : vector<{{VEC}}xf32>
        %i3 = arith.addi %o3, %k : index
        %f3 = arith.divui %i3, %c4 : index
        %w3_words = vector.load %w[%f3] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w3_q = vector.bitcast %w3_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w3 = arith.sitofp %w3_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p3 = arith.mulf %av, %w3 fastmath<contract> : vector<{{VEC}}xf32>
        %n3 = arith.addf %s3, %p3 fastmath<contract> : vector<{{VEC}}xf32>
        %i4 = arith.addi %o4, %k : index
        %f4 = arith.divui %i4, %c4 : index
        %w4_words = vector.load %w[%f4] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w4_q = vector.bitcast %w4_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w4 = arith.sitofp %w4_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p4 = arith.mulf %av, %w4 fastmath<contract> : vector<{{VEC}}xf32>
        %n4 = arith.addf %s4, %p4 fastmath<contract> : vector<{{VEC}}xf32>
        %i5 = arith.addi %o5, %k : index
        %f5 = arith.divui %i5, %c4 : index
        %w5_words = vector.load %w[%f5] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w5_q = vector.bitcast %w5_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w5 = arith.sitofp %w5_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p5 = arith.mulf %av, %w5 fastmath<contract> : vector<{{VEC}}xf32>
        %n5 = arith.addf %s5, %p5 fastmath<contract> : vector<{{VEC}}xf32>
        %i6 = arith.addi %o6, %k : index
        %f6 = arith.divui %i6, %c4 : index
        %w6_words = vector.load %w[%f6] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w6_q = vector.bitcast %w6_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w6 = arith.sitofp %w6_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p6 = arith.mulf %av, %w6 fastmath<contract> : vector<{{VEC}}xf32>
        %n6 = arith.addf %s6, %p6 fastmath<contract> : vector<{{VEC}}xf32>
        %i7 = arith.addi %o7, %k : index
        %f7 = arith.divui %i7, %c4 : index
        %w7_words = vector.load %w[%f7] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w7_q = vector.bitcast %w7_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w7 = arith.sitofp %w7_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p7 = arith.mulf %av, %w7 fastmath<contract> : vector<{{VEC}}xf32>
        %n7 = arith.addf %s7, %p7 fastmath<contract> : vector<{{VEC}}xf32>
        scf.yield %n0, %n1, %n2, %n3, %n4, %n5, %n6, %n7 : vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>
      }
      %d0 = vector.reduction <add>, %acc#0 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d0s = arith.mulf %d0, %y0 : f32
      func.call @{{NAME}}_out(%act, %args, %c0, %n, %d0s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d1s = arith.mulf %d1, %y1 : f32
      %m1 = arith.addi %n, %c1 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m1, %d1s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d2s = arith.mulf %d2, %y2 : f32
      %m2 = arith.addi %n, %c2 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m2, %d2s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d3s = arith.mulf %d3, %y3 : f32
      %m3 = arith.addi %n, %c3 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m3, %d3s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d4 = vector.reduction <add>, %acc#4 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d4s = arith.mulf %d4, %y4 : f32
      %m4 = arith.addi %n, %c4 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m4, %d4s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d5 = vector.reduction <add>, %acc#5 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d5s = arith.mulf %d5, %y5 : f32
      %m5 = arith.addi %m4, %c1 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m5, %d5s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d6 = vector.reduction <add>, %acc#6 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d6s = arith.mulf %d6, %y6 : f32
      %m6 = arith.addi %m5, %c1 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m6, %d6s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      %d7 = vector.reduction <add>, %acc#7 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d7s = arith.mulf %d7, %y7 : f32
      %m7 = arith.addi %m6, %c1 : index
      func.call @{{NAME}}_out(%act, %args, %c0, %m7, %d7s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }
  %count = arith.subi %end, %start4 : index
  %blocks = arith.divui %count, %c4 : index
  %blocked = arith.muli %blocks, %c4 : index
  %block_end = arith.addi %start4, %blocked : index
  %tpairs = arith.divui %tokens, %c2 : index
  %pairs_end = arith.muli %tpairs, %c2 : index

  // Blocks of 4 columns.
  scf.for %n = %start4 to %block_end step %c4 {
    %n_k = arith.muli %n, %k_dim : index
    %b0 = arith.addi %b_off, %n_k : index
    %b1 = arith.addi %b0, %k_dim : index
    %b2 = arith.addi %b1, %k_dim : index
    %b3 = arith.addi %b2, %k_dim : index
    // The four rows' scales, applied once per dot product.
    %si0 = arith.addi %s_off, %n : index
    %si1 = arith.addi %si0, %c1 : index
    %si2 = arith.addi %si0, %c2 : index
    %si3 = arith.addi %si0, %c3 : index
    %sc0 = memref.load %w[%si0] : memref<?xf32>
    %sc1 = memref.load %w[%si1] : memref<?xf32>
    %sc2 = memref.load %w[%si2] : memref<?xf32>
    %sc3 = memref.load %w[%si3] : memref<?xf32>
    // Pairs of tokens share every weight vector (8 accumulators: 4 columns
    // x 2 tokens, each token's sums in the same order as the loop below, so
    // a column's bits do not depend on which loop computed them); an odd
    // last token takes the loop below.
    scf.for %tp = %c0 to %pairs_end step %c2 {
      %tq = arith.addi %tp, %c1 : index
      %tp_k = arith.muli %tp, %k_dim : index
      %a_row = arith.addi %a_off, %tp_k : index
      %tq_k = arith.muli %tq, %k_dim : index
      %a_row1 = arith.addi %a_off, %tq_k : index
      %acc:8 = scf.for %k = %c0 to %k_dim step %vec
          iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero, %s3 = %zero, %u0 = %zero, %u1 = %zero, %u2 = %zero, %u3 = %zero)
          -> (vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>) {
        %ia = arith.addi %a_row, %k : index
        %ib = arith.addi %a_row1, %k : index
        %i0 = arith.addi %b0, %k : index
        %i1 = arith.addi %b1, %k : index
        %i2 = arith.addi %b2, %k : index
        %i3 = arith.addi %b3, %k : index
        %av = vector.load %act[%ia] : memref<?xf32>, vector<{{VEC}}xf32>
        %bv = vector.load %act[%ib] : memref<?xf32>, vector<{{VEC}}xf32>
        %f0 = arith.divui %i0, %c4 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w0_q = vector.bitcast %w0_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w0 = arith.sitofp %w0_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f1 = arith.divui %i1, %c4 : index
        %w1_words = vector.load %w[%f1] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w1_q = vector.bitcast %w1_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w1 = arith.sitofp %w1_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f2 = arith.divui %i2, %c4 : index
        %w2_words = vector.load %w[%f2] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w2_q = vector.bitcast %w2_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w2 = arith.sitofp %w2_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f3 = arith.divui %i3, %c4 : index
        %w3_words = vector.load %w[%f3] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w3_q = vector.bitcast %w3_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w3 = arith.sitofp %w3_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %p1 = arith.mulf %av, %w1 fastmath<contract> : vector<{{VEC}}xf32>
        %p2 = arith.mulf %av, %w2 fastmath<contract> : vector<{{VEC}}xf32>
        %p3 = arith.mulf %av, %w3 fastmath<contract> : vector<{{VEC}}xf32>
        %n0 = arith.addf %s0, %p0 fastmath<contract> : vector<{{VEC}}xf32>
        %n1 = arith.addf %s1, %p1 fastmath<contract> : vector<{{VEC}}xf32>
        %n2 = arith.addf %s2, %p2 fastmath<contract> : vector<{{VEC}}xf32>
        %n3 = arith.addf %s3, %p3 fastmath<contract> : vector<{{VEC}}xf32>
        %q0 = arith.mulf %bv, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %q1 = arith.mulf %bv, %w1 fastmath<contract> : vector<{{VEC}}xf32>
        %q2 = arith.mulf %bv, %w2 fastmath<contract> : vector<{{VEC}}xf32>
        %q3 = arith.mulf %bv, %w3 fastmath<contract> : vector<{{VEC}}xf32>
        %m0 = arith.addf %u0, %q0 fastmath<contract> : vector<{{VEC}}xf32>
        %m1 = arith.addf %u1, %q1 fastmath<contract> : vector<{{VEC}}xf32>
        %m2 = arith.addf %u2, %q2 fastmath<contract> : vector<{{VEC}}xf32>
        %m3 = arith.addf %u3, %q3 fastmath<contract> : vector<{{VEC}}xf32>
        scf.yield %n0, %n1, %n2, %n3, %m0, %m1, %m2, %m3 : vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>
      }
      %d0 = vector.reduction <add>, %acc#0 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d0s = arith.mulf %d0, %sc0 : f32
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d1s = arith.mulf %d1, %sc1 : f32
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d2s = arith.mulf %d2, %sc2 : f32
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d3s = arith.mulf %d3, %sc3 : f32
      %e0 = vector.reduction <add>, %acc#4 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e0s = arith.mulf %e0, %sc0 : f32
      %e1 = vector.reduction <add>, %acc#5 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e1s = arith.mulf %e1, %sc1 : f32
      %e2 = vector.reduction <add>, %acc#6 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e2s = arith.mulf %e2, %sc2 : f32
      %e3 = vector.reduction <add>, %acc#7 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e3s = arith.mulf %e3, %sc3 : f32
      %en1 = arith.addi %n, %c1 : index
      %en2 = arith.addi %n, %c2 : index
      %en3 = arith.addi %n, %c3 : index
      func.call @{{NAME}}_out(%act, %args, %tp, %n, %d0s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en1, %d1s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en2, %d2s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en3, %d3s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %n, %e0s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en1, %e1s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en2, %e2s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en3, %e3s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
    scf.for %t = %pairs_end to %tokens step %c1 {
      %t_k = arith.muli %t, %k_dim : index
      %a_row = arith.addi %a_off, %t_k : index
      %acc:4 = scf.for %k = %c0 to %k_dim step %vec
          iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero, %s3 = %zero)
          -> (vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>) {
        %ia = arith.addi %a_row, %k : index
        %i0 = arith.addi %b0, %k : index
        %i1 = arith.addi %b1, %k : index
        %i2 = arith.addi %b2, %k : index
        %i3 = arith.addi %b3, %k : index
        %av = vector.load %act[%ia] : memref<?xf32>, vector<{{VEC}}xf32>
        %f0 = arith.divui %i0, %c4 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w0_q = vector.bitcast %w0_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w0 = arith.sitofp %w0_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f1 = arith.divui %i1, %c4 : index
        %w1_words = vector.load %w[%f1] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w1_q = vector.bitcast %w1_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w1 = arith.sitofp %w1_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f2 = arith.divui %i2, %c4 : index
        %w2_words = vector.load %w[%f2] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w2_q = vector.bitcast %w2_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w2 = arith.sitofp %w2_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %f3 = arith.divui %i3, %c4 : index
        %w3_words = vector.load %w[%f3] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w3_q = vector.bitcast %w3_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w3 = arith.sitofp %w3_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %p1 = arith.mulf %av, %w1 fastmath<contract> : vector<{{VEC}}xf32>
        %p2 = arith.mulf %av, %w2 fastmath<contract> : vector<{{VEC}}xf32>
        %p3 = arith.mulf %av, %w3 fastmath<contract> : vector<{{VEC}}xf32>
        %n0 = arith.addf %s0, %p0 fastmath<contract> : vector<{{VEC}}xf32>
        %n1 = arith.addf %s1, %p1 fastmath<contract> : vector<{{VEC}}xf32>
        %n2 = arith.addf %s2, %p2 fastmath<contract> : vector<{{VEC}}xf32>
        %n3 = arith.addf %s3, %p3 fastmath<contract> : vector<{{VEC}}xf32>
        scf.yield %n0, %n1, %n2, %n3 : vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>, vector<{{VEC}}xf32>
      }
      %d0 = vector.reduction <add>, %acc#0 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d0s = arith.mulf %d0, %sc0 : f32
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d1s = arith.mulf %d1, %sc1 : f32
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d2s = arith.mulf %d2, %sc2 : f32
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d3s = arith.mulf %d3, %sc3 : f32
      %en1 = arith.addi %n, %c1 : index
      %en2 = arith.addi %n, %c2 : index
      %en3 = arith.addi %n, %c3 : index
      func.call @{{NAME}}_out(%act, %args, %t, %n, %d0s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en1, %d1s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en2, %d2s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en3, %d3s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }

  // Remaining columns, one at a time, with the same arithmetic.
  scf.for %n = %block_end to %end step %c1 {
    %n_k = arith.muli %n, %k_dim : index
    %b0 = arith.addi %b_off, %n_k : index
    %si0 = arith.addi %s_off, %n : index
    %sc0 = memref.load %w[%si0] : memref<?xf32>
    scf.for %t = %c0 to %tokens step %c1 {
      %t_k = arith.muli %t, %k_dim : index
      %a_row = arith.addi %a_off, %t_k : index
      %acc = scf.for %k = %c0 to %k_dim step %vec iter_args(%s0 = %zero) -> (vector<{{VEC}}xf32>) {
        %ia = arith.addi %a_row, %k : index
        %i0 = arith.addi %b0, %k : index
        %av = vector.load %act[%ia] : memref<?xf32>, vector<{{VEC}}xf32>
        %f0 = arith.divui %i0, %c4 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{WORDS}}xf32>
        %w0_q = vector.bitcast %w0_words : vector<{{WORDS}}xf32> to vector<{{VEC}}xi8>
        %w0 = arith.sitofp %w0_q : vector<{{VEC}}xi8> to vector<{{VEC}}xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %n0 = arith.addf %s0, %p0 fastmath<contract> : vector<{{VEC}}xf32>
        scf.yield %n0 : vector<{{VEC}}xf32>
      }
      %d0 = vector.reduction <add>, %acc fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d0s = arith.mulf %d0, %sc0 : f32
      func.call @{{NAME}}_out(%act, %args, %t, %n, %d0s) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }
  return
}
