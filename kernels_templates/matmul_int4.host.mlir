// matmul_int4.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b in llmc's int4
// group layout (LLMC_DT_I4): row n of b is K/32 groups of 32 weights, each
// w = (q - 8) * scale with q an unsigned nibble and one f16 scale per group
// (symmetric; ggml's Q4_0 values). The tensor is N*K/2 bytes of nibbles,
// row-major, then N*K/32 f16 scales (row-major, two to an f32 word). A
// group's 16 bytes hold its elements j (low nibble) and j + 16 (high nibble),
// so each half unpacks to 16 consecutive weights.
//
//   params: NAME, K (a multiple of 64), N, QWORDS (= K/8: a column's words of
//           nibbles), SWORDS (= K/64: its words of scales), SCALES (= N*K/8:
//           the scales' first f32 word within the tensor)
//   args:   [a_off (act), b_off (weights, in f32 words: the tensor starts
//            64-byte aligned), out_off (act), T, then the epilogue's]
//   extent: N output columns
//
// Four columns at a time share the activation loads; a step takes two
// groups (64 weights: 32 bytes of nibbles and one word of scales) of each
// column. Within a group the products of its two halves are summed in
// vector lanes and scaled once; groups accumulate in 16 lanes reduced at the
// end. Every column, in the 4-column loop or the 1-column one, for any T,
// sums in this order, so its bits do not depend on T or on the thread split.
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
// One column's two groups at words [q_word, q_word + 8) (nibbles) and
// s_word (scales), against activations av0..av3 (elements k .. k + 63),
// added to acc.
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_word: index, %av0: vector<16xf32>,
                                 %av1: vector<16xf32>, %av2: vector<16xf32>, %av3: vector<16xf32>,
                                 %acc: vector<16xf32>) -> vector<16xf32> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %eight = arith.constant dense<8> : vector<16xi8>
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %g0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %g1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %s0 = vector.extract %sf[0] : f32 from vector<2xf32>
  %s1 = vector.extract %sf[1] : f32 from vector<2xf32>
  %lo0_u = arith.andi %g0, %mask : vector<16xi8>
  %hi0_u = arith.shrui %g0, %four : vector<16xi8>
  %lo1_u = arith.andi %g1, %mask : vector<16xi8>
  %hi1_u = arith.shrui %g1, %four : vector<16xi8>
  %lo0_i = arith.subi %lo0_u, %eight : vector<16xi8>
  %hi0_i = arith.subi %hi0_u, %eight : vector<16xi8>
  %lo1_i = arith.subi %lo1_u, %eight : vector<16xi8>
  %hi1_i = arith.subi %hi1_u, %eight : vector<16xi8>
  %lo0 = arith.sitofp %lo0_i : vector<16xi8> to vector<16xf32>
  %hi0 = arith.sitofp %hi0_i : vector<16xi8> to vector<16xf32>
  %lo1 = arith.sitofp %lo1_i : vector<16xi8> to vector<16xf32>
  %hi1 = arith.sitofp %hi1_i : vector<16xi8> to vector<16xf32>
  %p0a = arith.mulf %lo0, %av0 : vector<16xf32>
  %p0 = vector.fma %hi0, %av1, %p0a : vector<16xf32>
  %p1a = arith.mulf %lo1, %av2 : vector<16xf32>
  %p1 = vector.fma %hi1, %av3, %p1a : vector<16xf32>
  %b0 = vector.broadcast %s0 : f32 to vector<16xf32>
  %b1 = vector.broadcast %s1 : f32 to vector<16xf32>
  %acc0 = vector.fma %p0, %b0, %acc : vector<16xf32>
  %acc1 = vector.fma %p1, %b1, %acc0 : vector<16xf32>
  return %acc1 : vector<16xf32>
}
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %c48 = arith.constant 48 : index
  %c64 = arith.constant 64 : index
  %k_dim = arith.constant {{K}} : index
  %n_dim = arith.constant {{N}} : index // (for the reader: the extent is N)
  // Per column: K/8 words of nibbles, K/64 words of scales.
  %q_row = arith.constant {{QWORDS}} : index
  %s_row = arith.constant {{SWORDS}} : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %scales_at = arith.constant {{SCALES}} : index
  %s_off = arith.addi %b_off, %scales_at : index
  %tokens = arith.index_cast %t_i : i64 to index
  %count = arith.subi %end, %begin : index
  %blocks = arith.divui %count, %c4 : index
  %blocked = arith.muli %blocks, %c4 : index
  %block_end = arith.addi %begin, %blocked : index

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
    scf.for %t = %c0 to %tokens step %c1 {
      %t_k = arith.muli %t, %k_dim : index
      %a_row = arith.addi %a_off, %t_k : index
      %acc:4 = scf.for %g = %c0 to %s_row step %c1
          iter_args(%s0 = %zero, %s1 = %zero, %s2 = %zero, %s3 = %zero)
          -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
        %k = arith.muli %g, %c64 : index
        %ia = arith.addi %a_row, %k : index
        %ib = arith.addi %ia, %c16 : index
        %ic = arith.addi %ia, %c32 : index
        %id = arith.addi %ia, %c48 : index
        %av0 = vector.load %act[%ia] : memref<?xf32>, vector<16xf32>
        %av1 = vector.load %act[%ib] : memref<?xf32>, vector<16xf32>
        %av2 = vector.load %act[%ic] : memref<?xf32>, vector<16xf32>
        %av3 = vector.load %act[%id] : memref<?xf32>, vector<16xf32>
        %g8 = arith.muli %g, %c8 : index
        %w0 = arith.addi %q0, %g8 : index
        %w1 = arith.addi %q1, %g8 : index
        %w2 = arith.addi %q2, %g8 : index
        %w3 = arith.addi %q3, %g8 : index
        %y0 = arith.addi %z0, %g : index
        %y1 = arith.addi %z1, %g : index
        %y2 = arith.addi %z2, %g : index
        %y3 = arith.addi %z3, %g : index
        %n0 = func.call @{{NAME}}_step(%w, %w0, %y0, %av0, %av1, %av2, %av3, %s0) : (memref<?xf32>, index, index, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
        %n1 = func.call @{{NAME}}_step(%w, %w1, %y1, %av0, %av1, %av2, %av3, %s1) : (memref<?xf32>, index, index, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
        %n2 = func.call @{{NAME}}_step(%w, %w2, %y2, %av0, %av1, %av2, %av3, %s2) : (memref<?xf32>, index, index, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
        %n3 = func.call @{{NAME}}_step(%w, %w3, %y3, %av0, %av1, %av2, %av3, %s3) : (memref<?xf32>, index, index, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
        scf.yield %n0, %n1, %n2, %n3 : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
      }
      %d0 = vector.reduction <add>, %acc#0 fastmath<reassoc> : vector<16xf32> into f32
      %d1 = vector.reduction <add>, %acc#1 fastmath<reassoc> : vector<16xf32> into f32
      %d2 = vector.reduction <add>, %acc#2 fastmath<reassoc> : vector<16xf32> into f32
      %d3 = vector.reduction <add>, %acc#3 fastmath<reassoc> : vector<16xf32> into f32
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
    %nq = arith.muli %n, %q_row : index
    %q0 = arith.addi %b_off, %nq : index
    %ns = arith.muli %n, %s_row : index
    %z0 = arith.addi %s_off, %ns : index
    scf.for %t = %c0 to %tokens step %c1 {
      %t_k = arith.muli %t, %k_dim : index
      %a_row = arith.addi %a_off, %t_k : index
      %acc = scf.for %g = %c0 to %s_row step %c1 iter_args(%s0 = %zero) -> (vector<16xf32>) {
        %k = arith.muli %g, %c64 : index
        %ia = arith.addi %a_row, %k : index
        %ib = arith.addi %ia, %c16 : index
        %ic = arith.addi %ia, %c32 : index
        %id = arith.addi %ia, %c48 : index
        %av0 = vector.load %act[%ia] : memref<?xf32>, vector<16xf32>
        %av1 = vector.load %act[%ib] : memref<?xf32>, vector<16xf32>
        %av2 = vector.load %act[%ic] : memref<?xf32>, vector<16xf32>
        %av3 = vector.load %act[%id] : memref<?xf32>, vector<16xf32>
        %g8 = arith.muli %g, %c8 : index
        %w0 = arith.addi %q0, %g8 : index
        %y0 = arith.addi %z0, %g : index
        %n0 = func.call @{{NAME}}_step(%w, %w0, %y0, %av0, %av1, %av2, %av3, %s0) : (memref<?xf32>, index, index, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
        scf.yield %n0 : vector<16xf32>
      }
      %d0 = vector.reduction <add>, %acc fastmath<reassoc> : vector<16xf32> into f32
      func.call @{{NAME}}_out(%act, %args, %t, %n, %d0) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }
  return
}
