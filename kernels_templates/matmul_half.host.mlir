// matmul_half.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b stored in
// 16-bit floats (WTYPE f16 or bf16) and everything else in f32: the same
// kernel as matmul.host.mlir (same loops, same accumulation order, same
// extent and args) except for how a weight vector is loaded.
//
//   params: NAME, K, N, VEC (even, divides K), HALF (= VEC / 2), WTYPE (f16 | bf16),
//           PF, PF_ON (the prefetch distance in f32 words, and whether it is on)
//   args:   [a_off (act), b_off (weights, in f32 units: the tensor starts
//            4-byte aligned), out_off (act), T, then the epilogue's]
//           (args[10]: the step's logit rows when matmul_rows is ON: the
//           rows computed are matmul_rows' slots)
//   extent: N output columns
//
// Decode reads every weight once per token, so 16-bit weights halve the
// bytes the memory-bound GEMV streams. The weights memref is f32-typed (one
// ABI for every kernel); a weight vector is loaded as HALF f32 words,
// reinterpreted with vector.bitcast as VEC 16-bit floats, and widened with
// arith.extf, which is exact for both formats; products and sums stay f32.
// The epilogue: what happens to each output value y of token t, column n
// (a plain store, a residual add, or a split into several results), one
// function the kernel calls where it would store (codegen/kvariants.c
// writes its body; LLVM inlines it).
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
// Software prefetch: PF f32 words ahead of weight index i (PF_ON false:
// none). The hardware prefetcher alone leaves a decode thread waiting on
// its weight streams; 8 KiB ahead took bf16 decode from 73 to 112 tokens/s on
// the 2-vCPU Xeon of docs/performance.md (2026-11-30). A prefetch past the
// weights' end does not fault.
func.func private @{{NAME}}_pf(%w: memref<?xf32>, %i: index) {
  %pf = arith.constant {{PF}} : index
  %on = arith.constant {{PF_ON}}
  scf.if %on {
    %a = arith.addi %i, %pf : index
    memref.prefetch %w[%a], read, locality<3>, data : memref<?xf32>
  }
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
  %b_off = arith.muli %b_off_f, %c2 : index
  %t_all = arith.index_cast %t_i : i64 to index
  %tokens = func.call @{{NAME}}_rows(%meta, %args, %t_all) : (memref<?xi32>, memref<?xi64>, index) -> index
  %count = arith.subi %end, %begin : index
  %blocks = arith.divui %count, %c4 : index
  %blocked = arith.muli %blocks, %c4 : index
  %block_end = arith.addi %begin, %blocked : index
  %tpairs = arith.divui %tokens, %c2 : index
  %pairs_end = arith.muli %tpairs, %c2 : index

  // Blocks of 4 columns.
  scf.for %n = %begin to %block_end step %c4 {
    %n_k = arith.muli %n, %k_dim : index
    %b0 = arith.addi %b_off, %n_k : index
    %b1 = arith.addi %b0, %k_dim : index
    %b2 = arith.addi %b1, %k_dim : index
    %b3 = arith.addi %b2, %k_dim : index
    // Pairs of tokens share every weight vector (8 accumulators: 4 columns
    // x 2 tokens, each token's sums in the same order as the loop below, so
    // a column's bits do not depend on which loop computed them); an odd
    // last token takes the loop below.
    scf.for %ip = %c0 to %pairs_end step %c2 {
      %iq = arith.addi %ip, %c1 : index
      %tp = func.call @{{NAME}}_row(%meta, %args, %ip) : (memref<?xi32>, memref<?xi64>, index) -> index
      %tq = func.call @{{NAME}}_row(%meta, %args, %iq) : (memref<?xi32>, memref<?xi64>, index) -> index
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
        %f0 = arith.divui %i0, %c2 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f0) : (memref<?xf32>, index) -> ()
        %w0_h = vector.bitcast %w0_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w0 = arith.extf %w0_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f1 = arith.divui %i1, %c2 : index
        %w1_words = vector.load %w[%f1] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f1) : (memref<?xf32>, index) -> ()
        %w1_h = vector.bitcast %w1_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w1 = arith.extf %w1_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f2 = arith.divui %i2, %c2 : index
        %w2_words = vector.load %w[%f2] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f2) : (memref<?xf32>, index) -> ()
        %w2_h = vector.bitcast %w2_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w2 = arith.extf %w2_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f3 = arith.divui %i3, %c2 : index
        %w3_words = vector.load %w[%f3] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f3) : (memref<?xf32>, index) -> ()
        %w3_h = vector.bitcast %w3_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w3 = arith.extf %w3_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
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
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e0 = vector.reduction <add>, %acc#4 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e1 = vector.reduction <add>, %acc#5 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e2 = vector.reduction <add>, %acc#6 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %e3 = vector.reduction <add>, %acc#7 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %en1 = arith.addi %n, %c1 : index
      %en2 = arith.addi %n, %c2 : index
      %en3 = arith.addi %n, %c3 : index
      func.call @{{NAME}}_out(%act, %args, %tp, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en1, %d1) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en2, %d2) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tp, %en3, %d3) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %n, %e0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en1, %e1) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en2, %e2) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %tq, %en3, %e3) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
    scf.for %i = %pairs_end to %tokens step %c1 {
      %t = func.call @{{NAME}}_row(%meta, %args, %i) : (memref<?xi32>, memref<?xi64>, index) -> index
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
        %f0 = arith.divui %i0, %c2 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f0) : (memref<?xf32>, index) -> ()
        %w0_h = vector.bitcast %w0_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w0 = arith.extf %w0_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f1 = arith.divui %i1, %c2 : index
        %w1_words = vector.load %w[%f1] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f1) : (memref<?xf32>, index) -> ()
        %w1_h = vector.bitcast %w1_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w1 = arith.extf %w1_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f2 = arith.divui %i2, %c2 : index
        %w2_words = vector.load %w[%f2] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f2) : (memref<?xf32>, index) -> ()
        %w2_h = vector.bitcast %w2_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w2 = arith.extf %w2_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %f3 = arith.divui %i3, %c2 : index
        %w3_words = vector.load %w[%f3] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f3) : (memref<?xf32>, index) -> ()
        %w3_h = vector.bitcast %w3_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w3 = arith.extf %w3_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
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
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      %en1 = arith.addi %n, %c1 : index
      %en2 = arith.addi %n, %c2 : index
      %en3 = arith.addi %n, %c3 : index
      func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en1, %d1) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en2, %d2) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      func.call @{{NAME}}_out(%act, %args, %t, %en3, %d3) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }

  // Remaining columns, one at a time, with the same arithmetic.
  scf.for %n = %block_end to %end step %c1 {
    %n_k = arith.muli %n, %k_dim : index
    %b0 = arith.addi %b_off, %n_k : index
    scf.for %i = %c0 to %tokens step %c1 {
      %t = func.call @{{NAME}}_row(%meta, %args, %i) : (memref<?xi32>, memref<?xi64>, index) -> index
      %t_k = arith.muli %t, %k_dim : index
      %a_row = arith.addi %a_off, %t_k : index
      %acc = scf.for %k = %c0 to %k_dim step %vec iter_args(%s0 = %zero) -> (vector<{{VEC}}xf32>) {
        %ia = arith.addi %a_row, %k : index
        %i0 = arith.addi %b0, %k : index
        %av = vector.load %act[%ia] : memref<?xf32>, vector<{{VEC}}xf32>
        %f0 = arith.divui %i0, %c2 : index
        %w0_words = vector.load %w[%f0] : memref<?xf32>, vector<{{HALF}}xf32>
        func.call @{{NAME}}_pf(%w, %f0) : (memref<?xf32>, index) -> ()
        %w0_h = vector.bitcast %w0_words : vector<{{HALF}}xf32> to vector<{{VEC}}x{{WTYPE}}>
        %w0 = arith.extf %w0_h : vector<{{VEC}}x{{WTYPE}}> to vector<{{VEC}}xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<{{VEC}}xf32>
        %n0 = arith.addf %s0, %p0 fastmath<contract> : vector<{{VEC}}xf32>
        scf.yield %n0 : vector<{{VEC}}xf32>
      }
      %d0 = vector.reduction <add>, %acc fastmath<reassoc> : vector<{{VEC}}xf32> into f32
      func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }
  return
}
