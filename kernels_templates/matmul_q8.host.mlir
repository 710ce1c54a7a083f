// matmul_q8.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b in an integer
// layout (int4 or int8 groups of 32, int8 rows, or ggml's K-quants) and integer dot products:
// llama.cpp's Q4_0 x Q8_0 arithmetic, written once for every layout.
//
// Each row of a is first quantized in blocks of 32 to int8:
//   d = max|x| / 127,  q = roundeven(x * (1 / d))   (q = 0 when d = 0)
// so a block of 32 weights meets its activations as an exact 32-bit integer
// sum of products, scaled once by the weight's scale times d. Two helpers
// complete the kernel: the layout's (q8_dot_<layout>) decodes the weights
// (@NAME_step takes two blocks, 64 weights, of one column into 8 f32 lanes,
// given the column's values at q_word and its scales from s_col, step g;
// @NAME_colscale is the column's own factor: int8 rows' scale, groups' 1),
// and the target's (q8_dot32, q8_dot32_avx2) is @NAME_dot32, a block's
// integer dot product.
//
//   params: NAME, K (a multiple of 64), N, KB (= K/32), STEPS (= K/64), TQ
//           (tokens quantized at a time), QA (= TQ*K), DA (= TQ*KB), CORR (true:
//           the layout's dot takes unsigned int4 values and lane
//           corrections), CA (= TQ*KB*8 with CORR, else 8), QWORDS (a column's f32
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
// The quantized rows live on the stack, TQ tokens at a time (QA + 4*DA
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
// The rows of slots [i0, i0 + tn) of a at act[a_off] (matmul_rows), quantized into qa
// (K bytes a row) and da (KB scales a row); with CORR, also each block's
// lane corrections into ca (8 a block: lane j holds 8 * the sum of the
// block's values 4j .. 4j+3, what an unsigned int4 dot subtracts to make
// its lanes those of the signed one).
func.func private @{{NAME}}_quantize(%act: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>,
                                     %a_off: index, %i0: index, %tn: index,
                                     %qa: memref<{{QA}}xi8>, %da: memref<{{DA}}xf32>, %ca: memref<{{CA}}xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %k_dim = arith.constant {{K}} : index
  %kb = arith.constant {{KB}} : index
  %f127 = arith.constant 127.0 : f32
  %f1 = arith.constant 1.0 : f32
  %f0 = arith.constant 0.0 : f32
  scf.for %t = %c0 to %tn step %c1 {
    %row = arith.muli %t, %k_dim : index
    %slot = arith.addi %i0, %t : index
    %tok = func.call @{{NAME}}_row(%meta, %args, %slot) : (memref<?xi32>, memref<?xi64>, index) -> index
    %tok_k = arith.muli %tok, %k_dim : index
    %a_row = arith.addi %a_off, %tok_k : index
    %brow = arith.muli %t, %kb : index
    scf.for %b = %c0 to %kb step %c1 {
      %bk = arith.muli %b, %c32 : index
      %ia = arith.addi %a_row, %bk : index
      %x = vector.load %act[%ia] : memref<?xf32>, vector<32xf32>
      %ax = math.absf %x : vector<32xf32>
      %amax = vector.reduction <maxnumf>, %ax : vector<32xf32> into f32
      %d = arith.divf %amax, %f127 : f32
      %nz = arith.cmpf one, %d, %f0 : f32
      %inv = arith.divf %f1, %d : f32
      %id = arith.select %nz, %inv, %f0 : f32
      %idv = vector.broadcast %id : f32 to vector<32xf32>
      %y = arith.mulf %x, %idv : vector<32xf32>
      %r = math.roundeven %y : vector<32xf32>
      %q = arith.fptosi %r : vector<32xf32> to vector<32xi8>
      %iq = arith.addi %row, %bk : index
      vector.store %q, %qa[%iq] : memref<{{QA}}xi8>, vector<32xi8>
      %jd = arith.addi %brow, %b : index
      memref.store %d, %da[%jd] : memref<{{DA}}xf32>
      %corr = arith.constant {{CORR}}
      scf.if %corr {
        %three = arith.constant dense<3> : vector<8xi32>
        %c8 = arith.constant 8 : index
        %q32 = arith.extsi %q : vector<32xi8> to vector<32xi32>
        %pe = vector.shuffle %q32, %q32 [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
        %po = vector.shuffle %q32, %q32 [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
        %pairs = arith.addi %pe, %po : vector<16xi32>
        %qe = vector.shuffle %pairs, %pairs [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xi32>, vector<16xi32>
        %qo = vector.shuffle %pairs, %pairs [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xi32>, vector<16xi32>
        %lanes = arith.addi %qe, %qo : vector<8xi32>
        %c = arith.shli %lanes, %three : vector<8xi32>
        %ic = arith.muli %jd, %c8 : index
        vector.store %c, %ca[%ic] : memref<{{CA}}xi32>, vector<8xi32>
      }
    }
  }
  return
}
// One K/64-step of the dot products of a quantized row (at qa[row],
// da[brow]) with one column (values at q_word.., scales at s_word..).
func.func private @{{NAME}}_col(%w: memref<?xf32>, %q_col: index, %s_col: index, %g: index,
                                %aq0: vector<32xi8>, %aq1: vector<32xi8>, %da0: f32, %da1: f32,
                                %c0: vector<8xi32>, %c1: vector<8xi32>, %acc: vector<8xf32>) -> vector<8xf32> {
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
  %n = func.call @{{NAME}}_step(%w, %wq, %s_col, %g, %aq0, %aq1, %da0, %da1, %c0, %c1, %acc) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
  return %n : vector<8xf32>
}
// A column's 8 lanes reduced and scaled by its own factor.
func.func private @{{NAME}}_fin(%w: memref<?xf32>, %s_col: index, %acc: vector<8xf32>) -> f32 {
  %sum = vector.reduction <add>, %acc fastmath<reassoc> : vector<8xf32> into f32
  %cs = func.call @{{NAME}}_colscale(%w, %s_col) : (memref<?xf32>, index) -> f32
  %y = arith.mulf %sum, %cs : f32
  return %y : f32
}
// Quantized row tl's activations for step g: two blocks, their scales and
// (with CORR; zeros otherwise) their lane corrections.
func.func private @{{NAME}}_acts(%qa: memref<{{QA}}xi8>, %da: memref<{{DA}}xf32>, %ca: memref<{{CA}}xi32>,
                                 %tl: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %k_dim = arith.constant {{K}} : index
  %kb = arith.constant {{KB}} : index
  %row = arith.muli %tl, %k_dim : index
  %brow = arith.muli %tl, %kb : index
  %k = arith.muli %g, %c64 : index
  %ia = arith.addi %row, %k : index
  %ib = arith.addi %ia, %c32 : index
  %aq0 = vector.load %qa[%ia] : memref<{{QA}}xi8>, vector<32xi8>
  %aq1 = vector.load %qa[%ib] : memref<{{QA}}xi8>, vector<32xi8>
  %g2 = arith.muli %g, %c2 : index
  %j0 = arith.addi %brow, %g2 : index
  %j1 = arith.addi %j0, %c1 : index
  %da0 = memref.load %da[%j0] : memref<{{DA}}xf32>
  %da1 = memref.load %da[%j1] : memref<{{DA}}xf32>
  %corr = arith.constant {{CORR}}
  %cc:2 = scf.if %corr -> (vector<8xi32>, vector<8xi32>) {
    %c8 = arith.constant 8 : index
    %i0 = arith.muli %j0, %c8 : index
    %i1 = arith.muli %j1, %c8 : index
    %v0 = vector.load %ca[%i0] : memref<{{CA}}xi32>, vector<8xi32>
    %v1 = vector.load %ca[%i1] : memref<{{CA}}xi32>, vector<8xi32>
    scf.yield %v0, %v1 : vector<8xi32>, vector<8xi32>
  } else {
    %z = arith.constant dense<0> : vector<8xi32>
    scf.yield %z, %z : vector<8xi32>, vector<8xi32>
  }
  return %aq0, %aq1, %da0, %da1, %cc#0, %cc#1 : vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>
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
  %zero = arith.constant dense<0.0> : vector<8xf32>
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
            -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
          %aq0, %aq1, %da0, %da1, %ca0, %ca1 = func.call @{{NAME}}_acts(%qa, %da, %ca, %tl, %g) : (memref<{{QA}}xi8>, memref<{{DA}}xf32>, memref<{{CA}}xi32>, index, index) -> (vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>)
          %n0 = func.call @{{NAME}}_col(%w, %q0, %z0, %g, %aq0, %aq1, %da0, %da1, %ca0, %ca1, %s0) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
          %n1 = func.call @{{NAME}}_col(%w, %q1, %z1, %g, %aq0, %aq1, %da0, %da1, %ca0, %ca1, %s1) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
          %n2 = func.call @{{NAME}}_col(%w, %q2, %z2, %g, %aq0, %aq1, %da0, %da1, %ca0, %ca1, %s2) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
          %n3 = func.call @{{NAME}}_col(%w, %q3, %z3, %g, %aq0, %aq1, %da0, %da1, %ca0, %ca1, %s3) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
          scf.yield %n0, %n1, %n2, %n3 : vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>
        }
        %d0 = func.call @{{NAME}}_fin(%w, %z0, %acc#0) : (memref<?xf32>, index, vector<8xf32>) -> f32
        %d1 = func.call @{{NAME}}_fin(%w, %z1, %acc#1) : (memref<?xf32>, index, vector<8xf32>) -> f32
        %d2 = func.call @{{NAME}}_fin(%w, %z2, %acc#2) : (memref<?xf32>, index, vector<8xf32>) -> f32
        %d3 = func.call @{{NAME}}_fin(%w, %z3, %acc#3) : (memref<?xf32>, index, vector<8xf32>) -> f32
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
        %acc = scf.for %g = %c0 to %steps step %c1 iter_args(%s0 = %zero) -> (vector<8xf32>) {
          %aq0, %aq1, %da0, %da1, %ca0, %ca1 = func.call @{{NAME}}_acts(%qa, %da, %ca, %tl, %g) : (memref<{{QA}}xi8>, memref<{{DA}}xf32>, memref<{{CA}}xi32>, index, index) -> (vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>)
          %n0 = func.call @{{NAME}}_col(%w, %q0, %z0, %g, %aq0, %aq1, %da0, %da1, %ca0, %ca1, %s0) : (memref<?xf32>, index, index, index, vector<32xi8>, vector<32xi8>, f32, f32, vector<8xi32>, vector<8xi32>, vector<8xf32>) -> vector<8xf32>
          scf.yield %n0 : vector<8xf32>
        }
        %d0 = func.call @{{NAME}}_fin(%w, %z0, %acc) : (memref<?xf32>, index, vector<8xf32>) -> f32
        func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
      }
    }
  }
  return
}
