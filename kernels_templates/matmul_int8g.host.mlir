// matmul_int8g.host.mlir: out[T,N] = a[T,K] x b[N,K]^T with b in llmc's
// int8 group layout (LLMC_DT_I8G): row n of b is K/32 groups of 32 int8
// weights, each w = q * scale with one f16 scale per group (symmetric;
// ggml's Q8_0 values). The tensor is N*K int8 bytes, row-major, then N*K/32
// f16 scales (row-major, two to an f32 word).
//
//   params: NAME, K (a multiple of 64), N, QWORDS (= K/4: a column's words of
//           int8), SWORDS (= K/64: its words of scales), SCALES (= N*K/4:
//           the scales' first f32 word within the tensor)
//   args:   [a_off (act), b_off (weights, in f32 words: the tensor starts
//            64-byte aligned), out_off (act), T, then the epilogue's]
//   extent: N output columns
//
// The same loops as matmul_int4.host.mlir (four columns sharing the
// activation loads, two groups a step, one summation order for any T), with
// a group's 32 bytes widened instead of two nibbles unpacked.
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
// One column's two groups at words [q_word, q_word + 16) (int8) and s_word
// (scales), against activations av0..av3 (elements k .. k + 63), added to acc.
func.func private @{{NAME}}_step(%w: memref<?xf32>, %q_word: index, %s_word: index, %av0: vector<16xf32>,
                                 %av1: vector<16xf32>, %av2: vector<16xf32>, %av3: vector<16xf32>,
                                 %acc: vector<16xf32>) -> vector<16xf32> {
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<16xf32>
  %bytes = vector.bitcast %words : vector<16xf32> to vector<64xi8>
  %q0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
  %q1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
  %q2 = vector.extract_strided_slice %bytes {offsets = [32], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
  %q3 = vector.extract_strided_slice %bytes {offsets = [48], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
  %sw = vector.load %w[%s_word] : memref<?xf32>, vector<1xf32>
  %sh = vector.bitcast %sw : vector<1xf32> to vector<2xf16>
  %sf = arith.extf %sh : vector<2xf16> to vector<2xf32>
  %s0 = vector.extract %sf[0] : f32 from vector<2xf32>
  %s1 = vector.extract %sf[1] : f32 from vector<2xf32>
  %f0 = arith.sitofp %q0 : vector<16xi8> to vector<16xf32>
  %f1 = arith.sitofp %q1 : vector<16xi8> to vector<16xf32>
  %f2 = arith.sitofp %q2 : vector<16xi8> to vector<16xf32>
  %f3 = arith.sitofp %q3 : vector<16xi8> to vector<16xf32>
  %p0a = arith.mulf %f0, %av0 : vector<16xf32>
  %p0 = vector.fma %f1, %av1, %p0a : vector<16xf32>
  %p1a = arith.mulf %f2, %av2 : vector<16xf32>
  %p1 = vector.fma %f3, %av3, %p1a : vector<16xf32>
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
  // Per column: K/4 words of int8, K/64 words of scales.
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
        %gw = arith.muli %g, %c16 : index
        %w0 = arith.addi %q0, %gw : index
        %w1 = arith.addi %q1, %gw : index
        %w2 = arith.addi %q2, %gw : index
        %w3 = arith.addi %q3, %gw : index
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
        %gw = arith.muli %g, %c16 : index
        %w0 = arith.addi %q0, %gw : index
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
