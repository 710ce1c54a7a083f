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
//     q8_rows' lane corrections: -8x the lane sums), and lanes 0-3 (its first 16 values) and
//     4-7 take their own groups' (d*sc) * da.
// @NAME_decode reads a step's weights, @NAME_dot takes them against a
// token's activations (a GEMM decodes once for a tile of tokens). The
// per-group factors are one 4-lane product whose activation side is the same
// for every column (computed once a token where calls are inlined together).
//   params: NAME, HIGH1 (true: int5-k's one high bit), HIGH2 (int6-k's two), MIN
// A step's 32 bytes of nibbles (two groups of 16: element j in the low
// nibble of byte j, j + 16 in the high one) as 64 bytes of values 0..15.
func.func private @{{NAME}}_unpack(%b: vector<32xi8>) -> vector<64xi8> {
  %mask = arith.constant dense<15> : vector<32xi8>
  %four = arith.constant dense<4> : vector<32xi8>
  %lo = arith.andi %b, %mask : vector<32xi8>
  %hi = arith.shrui %b, %four : vector<32xi8>
  %u = vector.shuffle %lo, %hi [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63] : vector<32xi8>, vector<32xi8>
  return %u : vector<64xi8>
}
// The high bits (int5-k: 8 bytes at %at, one bit a value; int6-k: 16
// bytes, two), replicated over 32 bytes: for a value of the first group
// (bytes in order) field t = h (j / nb) lies at bits t.., for the second at
// t = h (32 / nb + j / nb); shifting each 8 bytes left by 4 - t or right by
// t - 4 brings it to bit 4 (bits crossing from a neighbouring byte land
// outside the mask), added to the nibbles as bits 4 ...
func.func private @{{NAME}}_high1(%w: memref<?xf32>, %at: index, %u: vector<64xi8>) -> vector<64xi8> {
  %hw = vector.load %w[%at] : memref<?xf32>, vector<2xf32>
  %hq = vector.bitcast %hw : vector<2xf32> to vector<1xi64>
  %r = vector.shuffle %hq, %hq [0, 0, 0, 0] : vector<1xi64>, vector<1xi64>
  %sa = arith.constant dense<[4, 3, 2, 1]> : vector<4xi64>
  %sb = arith.constant dense<[0, 1, 2, 3]> : vector<4xi64>
  %mask = arith.constant dense<16> : vector<64xi8>
  %ra = arith.shli %r, %sa : vector<4xi64>
  %rb = arith.shrui %r, %sb : vector<4xi64>
  %rr = vector.shuffle %ra, %rb [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xi64>, vector<4xi64>
  %bytes = vector.bitcast %rr : vector<8xi64> to vector<64xi8>
  %hb = arith.andi %bytes, %mask : vector<64xi8>
  %v = arith.ori %u, %hb : vector<64xi8>
  return %v : vector<64xi8>
}
func.func private @{{NAME}}_high2(%w: memref<?xf32>, %at: index, %u: vector<64xi8>) -> vector<64xi8> {
  %hw = vector.load %w[%at] : memref<?xf32>, vector<4xf32>
  %hq = vector.bitcast %hw : vector<4xf32> to vector<2xi64>
  %r = vector.shuffle %hq, %hq [0, 1, 0, 1] : vector<2xi64>, vector<2xi64>
  %sa = arith.constant dense<[4, 4, 2, 2]> : vector<4xi64>
  %sb = arith.constant dense<[0, 0, 2, 2]> : vector<4xi64>
  %mask = arith.constant dense<48> : vector<64xi8>
  %ra = arith.shli %r, %sa : vector<4xi64>
  %rb = arith.shrui %r, %sb : vector<4xi64>
  %rr = vector.shuffle %ra, %rb [0, 1, 2, 3, 4, 5, 6, 7] : vector<4xi64>, vector<4xi64>
  %bytes = vector.bitcast %rr : vector<8xi64> to vector<64xi8>
  %hb = arith.andi %bytes, %mask : vector<64xi8>
  %v = arith.ori %u, %hb : vector<64xi8>
  return %v : vector<64xi8>
}
// Step g's weights: 64 values at q_word as unsigned bytes, and the step's
// factors from its super-block's header (s_col + 5 (g / 4)) and word of
// scales after it: MIN, d sc one a lane of its block and dmin m in lanes 0
// and 8; else d sc one a lane of its group of 16 (wm unused).
func.func private @{{NAME}}_decode(%w: memref<?xf32>, %q_word: index, %s_col: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xf32>) {
  %one = arith.constant 1 : index
  %four = arith.constant 4 : index
  %five = arith.constant 5 : index
  %c8 = arith.constant 8 : index
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
  %sb = arith.divui %g, %four : index
  %p = arith.remui %g, %four : index
  %sb5 = arith.muli %sb, %five : index
  %head = arith.addi %s_col, %sb5 : index
  %pw1 = arith.addi %head, %one : index
  %pw = arith.addi %pw1, %p : index
  // The values: nibbles, then the planes.
  %words = vector.load %w[%q_word] : memref<?xf32>, vector<8xf32>
  %bytes = vector.bitcast %words : vector<8xf32> to vector<32xi8>
  %nib = func.call @{{NAME}}_unpack(%bytes) : (vector<32xi8>) -> vector<64xi8>
  %at = arith.addi %q_word, %c8 : index
  %has1 = arith.constant {{HIGH1}}
  %has2 = arith.constant {{HIGH2}}
  %wq = scf.if %has1 -> (vector<64xi8>) {
    %v = func.call @{{NAME}}_high1(%w, %at, %nib) : (memref<?xf32>, index, vector<64xi8>) -> vector<64xi8>
    scf.yield %v : vector<64xi8>
  } else {
    %x = scf.if %has2 -> (vector<64xi8>) {
      %v = func.call @{{NAME}}_high2(%w, %at, %nib) : (memref<?xf32>, index, vector<64xi8>) -> vector<64xi8>
      scf.yield %v : vector<64xi8>
    } else {
      scf.yield %nib : vector<64xi8>
    }
    scf.yield %x : vector<64xi8>
  }
  %hw = vector.load %w[%head] : memref<?xf32>, vector<1xf32>
  %hh = vector.bitcast %hw : vector<1xf32> to vector<2xf16>
  %hf = arith.extf %hh : vector<2xf16> to vector<2xf32>
  %sw = vector.load %w[%pw] : memref<?xf32>, vector<1xf32>
  %sbytes = vector.bitcast %sw : vector<1xf32> to vector<4xi8>
  %min = arith.constant {{MIN}}
  %wk, %wm = scf.if %min -> (vector<16xf32>, vector<16xf32>) {
    // [d sc0, d sc1, dmin m0, dmin m1]
    %dd = vector.shuffle %hf, %hf [0, 0, 1, 1] : vector<2xf32>, vector<2xf32>
    %pf = arith.uitofp %sbytes : vector<4xi8> to vector<4xf32>
    %k = arith.mulf %dd, %pf : vector<4xf32>
    %k16 = vector.shuffle %k, %k [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] : vector<4xf32>, vector<4xf32>
    %m16 = vector.shuffle %k, %zero4 [2, 4, 4, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4] : vector<4xf32>, vector<4xf32>
    scf.yield %k16, %m16 : vector<16xf32>, vector<16xf32>
  } else {
    // [d sc0, d sc1, d sc2, d sc3]
    %d = vector.extract %hf[0] : f32 from vector<2xf32>
    %dv = vector.broadcast %d : f32 to vector<4xf32>
    %pf = arith.sitofp %sbytes : vector<4xi8> to vector<4xf32>
    %ds = arith.mulf %dv, %pf : vector<4xf32>
    %k16 = vector.shuffle %ds, %ds [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
    %z16 = arith.constant dense<0.0> : vector<16xf32>
    scf.yield %k16, %z16 : vector<16xf32>, vector<16xf32>
  }
  return %wq, %wk, %wm : vector<64xi8>, vector<16xf32>, vector<16xf32>
}
// The decoded step against a token's two blocks (aq, da, lane corrections c,
// as: lanes 0 and 8 -da times a block's sum of quantized values).
//   MIN: (d sc da) sum u a - (dmin m) (da sum a).
//   else: (d sc da) (sum u a - 32 sum a), the centred lanes started from
//   c (-8x the lane sums) times 4.
func.func private @{{NAME}}_dot(%wq: vector<64xi8>, %wk: vector<16xf32>, %wm: vector<16xf32>, %aq: vector<64xi8>,
                                %da: vector<16xf32>, %c: vector<16xi32>, %as: vector<16xf32>,
                                %acc: vector<16xf32>) -> vector<16xf32> {
  %sv = arith.mulf %wk, %da : vector<16xf32>
  %min = arith.constant {{MIN}}
  %out = scf.if %min -> (vector<16xf32>) {
    %z = arith.constant dense<0> : vector<16xi32>
    %u = func.call @{{NAME}}_dot64u(%z, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
    %f = arith.sitofp %u : vector<16xi32> to vector<16xf32>
    %n0 = vector.fma %f, %sv, %acc : vector<16xf32>
    %n = vector.fma %wm, %as, %n0 : vector<16xf32>
    scf.yield %n : vector<16xf32>
  } else {
    %two = arith.constant dense<2> : vector<16xi32>
    %c4 = arith.shli %c, %two : vector<16xi32>
    %i = func.call @{{NAME}}_dot64u(%c4, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
    %f = arith.sitofp %i : vector<16xi32> to vector<16xf32>
    %n = vector.fma %f, %sv, %acc : vector<16xf32>
    scf.yield %n : vector<16xf32>
  }
  return %out : vector<16xf32>
}
func.func private @{{NAME}}_colscale(%w: memref<?xf32>, %s_col: index) -> f32 {
  %one = arith.constant 1.0 : f32
  return %one : f32
}
