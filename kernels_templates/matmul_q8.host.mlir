// matmul_q8.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b in an integer
// layout (int4 or int8 groups of 32, int8 rows, or ggml's K-quants) and integer dot products:
// llama.cpp's Q4_0 x Q8_0 arithmetic, written once for every layout.
//
// Three helpers complete the kernel: q8_rows quantizes its token rows to
// int8 in blocks of 32 (@NAME_quantize; @NAME_acts reads a row's step of
// two blocks back, @NAME_fin ends a column); the layout's (q8_dot_<layout>)
// reads a step of a column's weights (@NAME_decode: two blocks, 64 weights,
// at q_word, with their scales from s_col, step g) and takes them against a
// row's step into 16 f32 lanes (@NAME_dot; lanes 0-7 the first block's, 8-15
// the second's); @NAME_colscale is the column's own factor (int8 rows'
// scale, groups' 1); and the target's (q8_dot64, _avx2, _vnni, _vnni512) is
// @NAME_dot64 / @NAME_dot64u, a step's integer dot product (signed or
// unsigned weights), lane j holding elements 4j .. 4j+3.
//
//   params: NAME, K (a multiple of 64), N, STEPS (= K/64), TQ (tokens
//           quantized at a time), QA, DA, CA (q8_rows' stack for TQ rows), QWORDS (a column's f32
//           words of values), STEP_WORDS (its words per 64 weights), SWORDS
//           (its words of scales), SCALES (the scales' first word in the
//           tensor), FOUR_COLS (1: columns four at a time; 0: one at a time),
//           PF (f32 words to prefetch ahead), PF_ON (true when PF > 0)
//   args:   [a_off (act), b_off (weights, in f32 words), out_off (act), T,
//            then the epilogue's]
//           (args[10]: the step's logit rows when matmul_rows is ON: the
//           rows computed are matmul_rows' slots)
//   extent: N output columns
//
// The quantized rows live on the stack, TQ tokens at a time (QA + 4 DA + 4 CA
// bytes, bounded by the variant's legality check); every thread quantizes
// the rows it needs itself, so a launch needs no scratch buffer and no
// barrier. With FOUR_COLS = 1, four columns at a time share the quantized
// activations (four weight streams a thread); with 0, a thread reads its
// columns one after another (one stream; faster for int8 weights on the
// machines measured, see docs/performance.md). Every
// column, in the 4-column loop or the 1-column one, for any T and TQ, sums in
// the same order, so its bits depend neither on T nor on the thread split.
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
// One K/64-step of the dot products of a quantized row (its two blocks:
// aq, da, c, as from @NAME_acts) with one column (values at q_col..,
// scales at s_col..).
func.func private @{{NAME}}_col(%w: memref<?xf32>, %q_col: index, %s_col: index, %g: index,
                                %aq: vector<64xi8>, %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %step_words = arith.constant {{STEP_WORDS}} : index
  %gw = arith.muli %g, %step_words : index
  %wq = arith.addi %q_col, %gw : index
  // Software prefetch PF words ahead of the weights being read (0: none).
  // The hardware prefetcher alone leaves a thread waiting on its weight
  // stream: prefetching 8 KiB ahead more than doubled int8 decode here
  // (docs/performance.md). A prefetch past the tensor's end does not fault.
  %pf = arith.constant {{PF}} : index
  %pf_on = arith.constant {{PF_ON}}
  scf.if %pf_on {
    %ahead = arith.addi %wq, %pf : index
    memref.prefetch %w[%ahead], read, locality<3>, data : memref<?xf32>
  }
  %u, %wk, %wm = func.call @{{NAME}}_decode(%w, %wq, %s_col, %g) : (memref<?xf32>, index, index, index) -> (vector<64xi8>, vector<16xf32>, vector<16xf32>)
  %n = func.call @{{NAME}}_dot(%u, %wk, %wm, %aq, %da, %c, %as, %acc) : (vector<64xi8>, vector<16xf32>, vector<16xf32>, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
  return %n : vector<16xf32>
}
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %k_dim = arith.constant {{K}} : index
  %n_dim = arith.constant {{N}} : index // (for the reader: the extent is N)
  %tq = arith.constant {{TQ}} : index
  %steps = arith.constant {{STEPS}} : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %q_row = arith.constant {{QWORDS}} : index
  %s_row = arith.constant {{SWORDS}} : index
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %scales_at = arith.constant {{SCALES}} : index
  %s_off = arith.addi %b_off, %scales_at : index
  %t_all = arith.index_cast %t_i : i64 to index
  %tokens = func.call @{{NAME}}_rows(%meta, %args, %t_all) : (memref<?xi32>, memref<?xi64>, index) -> index
  %count = arith.subi %end, %begin : index
  %blocks = arith.divui %count, %c4 : index
  %blocked4 = arith.muli %blocks, %c4 : index
  %four_cols = arith.constant {{FOUR_COLS}} : index
  %blocked = arith.muli %blocked4, %four_cols : index
  %block_end = arith.addi %begin, %blocked : index
  %qa = memref.alloca() : memref<{{QA}}xi8>
  %da = memref.alloca() : memref<{{DA}}xf32>
  %ca = memref.alloca() : memref<{{CA}}xi32>
  scf.for %t0 = %c0 to %tokens step %tq {
    %left = arith.subi %tokens, %t0 : index
    %tn = arith.minui %left, %tq : index
    func.call @{{NAME}}_quantize(%act, %meta, %args, %a_off, %t0, %tn, %qa, %da, %ca) : (memref<?xf32>, memref<?xi32>, memref<?xi64>, index, index, index, memref<{{QA}}xi8>, memref<{{DA}}xf32>, memref<{{CA}}xi32>) -> ()
    scf.for %n = %begin to %block_end step %c4 {
      %nq = arith.muli %n, %q_row : index
      %q0 = arith.addi %b_off, %nq : index
      %q1 = arith.addi %q0, %q_row : index
      %q2 = arith.addi %q1, %q_row : index
      %q3 = arith.addi %q2, %q_row : index
      %ns = arith.muli %n, %s_row : index
      %z0 = arith.addi %s_off, %ns : index
      %z1 = arith.addi %z0, %s_row : index
      %z2 = arith.addi %z1, %s_row : index
      %z3 = arith.addi %z2, %s_row : index
      %en1 = arith.addi %n, %c1 : index
      %en2 = arith.addi %n, %c2 : index
      %en3 = arith.addi %n, %c3 : index
      scf.for %tl = %c0 to %tn step %c1 {
        %slot = arith.addi %t0, %tl : index
        %t = func.call @{{NAME}}_row(%meta, %args, %slot) : (memref<?xi32>, memref<?xi64>, index) -> index
        %acc:4 = scf.for %g = %c0 to %steps step %c1
            iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero, %s3 = %zero)
            -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
          %aq, %d16, %c16, %a16 = func.call @{{NAME}}_acts(%qa, %da, %ca, %tl, %g) : (memref<{{QA}}xi8>, memref<{{DA}}xf32>, memref<{{CA}}xi32>, index, index) -> (vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>)
          %n0 = func.call @{{NAME}}_col(%w, %q0, %z0, %g, %aq, %d16, %c16, %a16, %s0) : (memref<?xf32>, index, index, index, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
          %n1 = func.call @{{NAME}}_col(%w, %q1, %z1, %g, %aq, %d16, %c16, %a16, %s1) : (memref<?xf32>, index, index, index, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
          %n2 = func.call @{{NAME}}_col(%w, %q2, %z2, %g, %aq, %d16, %c16, %a16, %s2) : (memref<?xf32>, index, index, index, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
          %n3 = func.call @{{NAME}}_col(%w, %q3, %z3, %g, %aq, %d16, %c16, %a16, %s3) : (memref<?xf32>, index, index, index, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
          scf.yield %n0, %n1, %n2, %n3 : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
        }
        %d0 = func.call @{{NAME}}_fin(%w, %z0, %acc#0) : (memref<?xf32>, index, vector<16xf32>) -> f32
        %d1 = func.call @{{NAME}}_fin(%w, %z1, %acc#1) : (memref<?xf32>, index, vector<16xf32>) -> f32
        %d2 = func.call @{{NAME}}_fin(%w, %z2, %acc#2) : (memref<?xf32>, index, vector<16xf32>) -> f32
        %d3 = func.call @{{NAME}}_fin(%w, %z3, %acc#3) : (memref<?xf32>, index, vector<16xf32>) -> f32
        func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
        func.call @{{NAME}}_out(%act, %args, %t, %en1, %d1) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
        func.call @{{NAME}}_out(%act, %args, %t, %en2, %d2) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
        func.call @{{NAME}}_out(%act, %args, %t, %en3, %d3) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      }
    }
    scf.for %n = %block_end to %end step %c1 {
      %nq = arith.muli %n, %q_row : index
      %q0 = arith.addi %b_off, %nq : index
      %ns = arith.muli %n, %s_row : index
      %z0 = arith.addi %s_off, %ns : index
      scf.for %tl = %c0 to %tn step %c1 {
        %slot = arith.addi %t0, %tl : index
        %t = func.call @{{NAME}}_row(%meta, %args, %slot) : (memref<?xi32>, memref<?xi64>, index) -> index
        %acc = scf.for %g = %c0 to %steps step %c1 iter_args(%s0 = %zero) -> (vector<16xf32>) {
          %aq, %d16, %c16, %a16 = func.call @{{NAME}}_acts(%qa, %da, %ca, %tl, %g) : (memref<{{QA}}xi8>, memref<{{DA}}xf32>, memref<{{CA}}xi32>, index, index) -> (vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>)
          %n0 = func.call @{{NAME}}_col(%w, %q0, %z0, %g, %aq, %d16, %c16, %a16, %s0) : (memref<?xf32>, index, index, index, vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
          scf.yield %n0 : vector<16xf32>
        }
        %d0 = func.call @{{NAME}}_fin(%w, %z0, %acc) : (memref<?xf32>, index, vector<16xf32>) -> f32
        func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      }
    }
  }
  return
}
