// q8_dot_kquant.host.mlir: matmul_q8's weight decoding for llmc's K-quant
// layouts (support/llmc_kquant.h: ggml's Q4_K, Q5_K and Q6_K values). A
// column's values come 64 at a time: the two groups' nibbles (8 words, as
// int4-g32's), then, for int5-k and int6-k, nb = 8 or 16 bytes of high bits
// (h = 1 or 2 a value), giving unsigned u of 4, 5 or 6 bits. The high bits
// are laid out so that the nb bytes, replicated over 32, hold each value's
// bits in its own byte at a shift that is constant over every 8 bytes: two
// variable 64-bit shifts and two masks a step decode them. The tensor's
// headers, five words a column's super-block of 256, follow all values.
//   MIN = true (int4-k, int5-k): word 0 (f16 d, f16 dmin), word 1 + p the
//     p-th 64 values' u8 (sc0, sc1, m0, m1); a group's values are
//     (d*sc) u - dmin*m, so against a block of activations a (scale da) it
//     is (d*sc*da) sum u a - (dmin*m*da) sum a.
//   MIN = false (int6-k): word 0 (f16 d, 0), word 1 + p the int8 scales of
//     the p-th 64 values' four groups of 16; a value is (d*sc) (u - 32), so
//     a block's integer lanes are sum u a - 32 sum a (lane by lane, from the
//     CORR lanes: 8x the lane sums), and lanes 0-3 (its first 16 values) and
//     4-7 take their own groups' (d*sc) * da.
// @NAME_decode reads a step's weights, @NAME_dot takes them against a
// token's activations (a GEMM decodes once for a tile of tokens). The
// per-group factors are one 4-lane product whose activation side is the same
// for every column (computed once a token where calls are inlined together).
//   params: NAME, HIGH1 (true: int5-k's one high bit), HIGH2 (int6-k's two), MIN
func.func private @{{NAME}}_unpack(%g: vector<16xi8>) -> vector<32xi8> {
  %mask = arith.constant dense<15> : vector<16xi8>
  %four = arith.constant dense<4> : vector<16xi8>
  %lo = arith.andi %g, %mask : vector<16xi8>
  %hi = arith.shrui %g, %four : vector<16xi8>
  %wq = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31] : vector<16xi8>, vector<16xi8>
  return %wq : vector<32xi8>
}
// The high bits (int5-k: 8 bytes at %at, one bit a value; int6-k: 16
// bytes, two), replicated over 32 bytes: for a value of the first group
// (bytes in order) field t = h (j / nb) lies at bits t.., for the second at
// t = h (32 / nb + j / nb); shifting each 8 bytes left by 4 - t or right by
// t - 4 brings it to bit 4 (bits crossing from a neighbouring byte land
// outside the mask), added to the nibbles as bits 4 ...
func.func private @{{NAME}}_high1(%w: memref<?xf32>, %at: index, %u0: vector<32xi8>, %u1: vector<32xi8>)
    -> (vector<32xi8>, vector<32xi8>) {
  %hw = vector.load %w[%at] : memref<?xf32>, vector<2xf32>
  %hq = vector.bitcast %hw : vector<2xf32> to vector<1xi64>
  %r = vector.shuffle %hq, %hq [0, 0, 0, 0] : vector<1xi64>, vector<1xi64>
  %sa = arith.constant dense<[4, 3, 2, 1]> : vector<4xi64>
  %sb = arith.constant dense<[0, 1, 2, 3]> : vector<4xi64>
  %mask = arith.constant dense<16> : vector<32xi8>
  %ra = arith.shli %r, %sa : vector<4xi64>
  %rb = arith.shrui %r, %sb : vector<4xi64>
  %ba = vector.bitcast %ra : vector<4xi64> to vector<32xi8>
  %bb = vector.bitcast %rb : vector<4xi64> to vector<32xi8>
  %ha = arith.andi %ba, %mask : vector<32xi8>
  %hb = arith.andi %bb, %mask : vector<32xi8>
  %v0 = arith.ori %u0, %ha : vector<32xi8>
  %v1 = arith.ori %u1, %hb : vector<32xi8>
  return %v0, %v1 : vector<32xi8>, vector<32xi8>
}
func.func private @{{NAME}}_high2(%w: memref<?xf32>, %at: index, %u0: vector<32xi8>, %u1: vector<32xi8>)
    -> (vector<32xi8>, vector<32xi8>) {
  %hw = vector.load %w[%at] : memref<?xf32>, vector<4xf32>
  %hq = vector.bitcast %hw : vector<4xf32> to vector<2xi64>
  %r = vector.shuffle %hq, %hq [0, 1, 0, 1] : vector<2xi64>, vector<2xi64>
  %sa = arith.constant dense<[4, 4, 2, 2]> : vector<4xi64>
  %sb = arith.constant dense<[0, 0, 2, 2]> : vector<4xi64>
  %mask = arith.constant dense<48> : vector<32xi8>
  %ra = arith.shli %r, %sa : vector<4xi64>
  %rb = arith.shrui %r, %sb : vector<4xi64>
  %ba = vector.bitcast %ra : vector<4xi64> to vector<32xi8>
  %bb = vector.bitcast %rb : vector<4xi64> to vector<32xi8>
  %ha = arith.andi %ba, %mask : vector<32xi8>
  %hb = arith.andi %bb, %mask : vector<32xi8>
  %v0 = arith.ori %u0, %ha : vector<32xi8>
  %v1 = arith.ori %u1, %hb : vector<32xi8>
  return %v0, %v1 : vector<32xi8>, vector<32xi8>
}
// Step g's weights: 64 values at q_word as unsigned bytes, and the step's
// factors from its super-block's header (s_col + 5 (g / 4)) and word of
// scales after it: MIN, [d sc0, d sc1, dmin m0, dmin m1]; else
// [d sc0, d sc1, d sc2, d sc3].
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<32xi8>, vector<32xi8>, vector<4xf32>) {
  %one = arith.constant 1 : index
  %four = arith.constant 4 : index
  %five = arith.constant 5 : index
  %sb = arith.divui %g, %four : index
  %p = arith.remui %g, %four : index
  %sb5 = arith.muli %sb, %five : index
  %head = arith.addi %s_col, %sb5 : index
  %pw1 = arith.addi %head, %one : index
  %pw = arith.addi %pw1, %p : index
  // The values: nibbles, then the planes.
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %g0 = vector.extract_strided_slice %bytes {offsets = [0], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %g1 = vector.extract_strided_slice %bytes {offsets = [16], sizes = [16], strides = [1]} : vector<32xi8> to vector<16xi8>
  %n0 = func.call @{{NAME}}_unpack(%g0) : (vector<16xi8>) -> vector<32xi8>
  %n1 = func.call @{{NAME}}_unpack(%g1) : (vector<16xi8>) -> vector<32xi8>
  %c8 = arith.constant 8 : index
  %at = arith.addi %q_word, %c8 : index
  %has1 = arith.constant {{HIGH1}}
  %has2 = arith.constant {{HIGH2}}
  %u:2 = scf.if %has1 -> (vector<32xi8>, vector<32xi8>) {
    %v:2 = func.call @{{NAME}}_high1(%w, %at, %n0, %n1) : (memref<?xf32>, index, vector<32xi8>, vector<32xi8>) -> (vector<32xi8>, vector<32xi8>)
    scf.yield %v#0, %v#1 : vector<32xi8>, vector<32xi8>
  } else {
    %x:2 = scf.if %has2 -> (vector<32xi8>, vector<32xi8>) {
      %v:2 = func.call @{{NAME}}_high2(%w, %at, %n0, %n1) : (memref<?xf32>, index, vector<32xi8>, vector<32xi8>) -> (vector<32xi8>, vector<32xi8>)
      scf.yield %v#0, %v#1 : vector<32xi8>, vector<32xi8>
    } else {
      scf.yield %n0, %n1 : vector<32xi8>, vector<32xi8>
    }
    scf.yield %x#0, %x#1 : vector<32xi8>, vector<32xi8>
  }
  %hw = vector.load %w[%head] : memref<?xf32>, vector<1xf32>
  %hh = vector.bitcast %hw : vector<1xf32> to vector<2xf16>
  %hf = arith.extf %hh : vector<2xf16> to vector<2xf32>
  %sw = vector.load %w[%pw] : memref<?xf32>, vector<1xf32>
  %sbytes = vector.bitcast %sw : vector<1xf32> to vector<4xi8>
  %min = arith.constant {{MIN}}
  %wk = scf.if %min -> (vector<4xf32>) {
    %dd = vector.shuffle %hf, %hf [0, 0, 1, 1] : vector<2xf32>, vector<2xf32>
    %pf = arith.uitofp %sbytes : vector<4xi8> to vector<4xf32>
    %k = arith.mulf %dd, %pf : vector<4xf32>
    scf.yield %k : vector<4xf32>
  } else {
    %d = vector.extract %hf[0] : f32 from vector<2xf32>
    %dv = vector.broadcast %d : f32 to vector<4xf32>
    %pf = arith.sitofp %sbytes : vector<4xi8> to vector<4xf32>
    %ds = arith.mulf %dv, %pf : vector<4xf32>
    scf.yield %ds : vector<4xf32>
  }
  return %u#0, %u#1, %wk : vector<32xi8>, vector<32xi8>, vector<4xf32>
}
// The decoded step against a token's two blocks (aq, da, lane corrections c).
func.func private @{{NAME}}_dot(%wq0: vector<32xi8>, %wq1: vector<32xi8>, %wk: vector<4xf32>, %aq0: vector<32xi8>,
                                %aq1: vector<32xi8>, %da0: f32, %da1: f32, %c0: vector<8xi32>, %c1: vector<8xi32>,
                                %acc: vector<8xf32>) -> vector<8xf32> {
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
  %i0 = func.call @{{NAME}}_dot32u(%wq0, %aq0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %i1 = func.call @{{NAME}}_dot32u(%wq1, %aq1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %min = arith.constant {{MIN}}
  %out = scf.if %min -> (vector<8xf32>) {
    // [d sc0, d sc1, dmin m0, dmin m1] * [da0, da1, -da0 sa0, -da1 sa1]
    // (sa = the block's sum of quantized activations: the CORR lanes / 8).
    %eighth = arith.constant -0.125 : f32
    %l0 = vector.reduction <add>, %c0 : vector<8xi32> into i32
    %l1 = vector.reduction <add>, %c1 : vector<8xi32> into i32
    %sa0 = arith.sitofp %l0 : i32 to f32
    %sa1 = arith.sitofp %l1 : i32 to f32
    %ma0 = arith.mulf %da0, %eighth : f32
    %ma1 = arith.mulf %da1, %eighth : f32
    %na0 = arith.mulf %ma0, %sa0 : f32
    %na1 = arith.mulf %ma1, %sa1 : f32
    %av0 = vector.insert %da0, %zero4 [0] : f32 into vector<4xf32>
    %av1 = vector.insert %da1, %av0 [1] : f32 into vector<4xf32>
    %av2 = vector.insert %na0, %av1 [2] : f32 into vector<4xf32>
    %av = vector.insert %na1, %av2 [3] : f32 into vector<4xf32>
    %sv = arith.mulf %wk, %av : vector<4xf32>
    %b0 = vector.shuffle %sv, %sv [0, 0, 0, 0, 0, 0, 0, 0] : vector<4xf32>, vector<4xf32>
    %b1 = vector.shuffle %sv, %sv [1, 1, 1, 1, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
    %mins = vector.shuffle %sv, %zero4 [4, 4, 2, 3, 4, 4, 4, 4] : vector<4xf32>, vector<4xf32>
    %f0 = arith.sitofp %i0 : vector<8xi32> to vector<8xf32>
    %f1 = arith.sitofp %i1 : vector<8xi32> to vector<8xf32>
    %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
    %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
    %acc2 = arith.addf %acc1, %mins : vector<8xf32>
    scf.yield %acc2 : vector<8xf32>
  } else {
    // Centred lanes, then [d sc0, d sc1, d sc2, d sc3] * [da0, da0, da1, da1]
    // over the halves of the two blocks' lanes.
    %two = arith.constant dense<2> : vector<8xi32>
    %k0 = arith.shli %c0, %two : vector<8xi32>
    %k1 = arith.shli %c1, %two : vector<8xi32>
    %j0 = arith.subi %i0, %k0 : vector<8xi32>
    %j1 = arith.subi %i1, %k1 : vector<8xi32>
    %a0 = vector.insert %da0, %zero4 [0] : f32 into vector<4xf32>
    %a1 = vector.insert %da0, %a0 [1] : f32 into vector<4xf32>
    %a2 = vector.insert %da1, %a1 [2] : f32 into vector<4xf32>
    %av = vector.insert %da1, %a2 [3] : f32 into vector<4xf32>
    %sv = arith.mulf %wk, %av : vector<4xf32>
    %b0 = vector.shuffle %sv, %sv [0, 0, 0, 0, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
    %b1 = vector.shuffle %sv, %sv [2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
    %f0 = arith.sitofp %j0 : vector<8xi32> to vector<8xf32>
    %f1 = arith.sitofp %j1 : vector<8xi32> to vector<8xf32>
    %acc0 = vector.fma %f0, %b0, %acc : vector<8xf32>
    %acc1 = vector.fma %f1, %b1, %acc0 : vector<8xf32>
    scf.yield %acc1 : vector<8xf32>
  }
  return %out : vector<8xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
