// q8_dot64.host.mlir: the integer-dot matmuls' dot product of a step's two
// blocks, for any CPU: 64 int8 weights against 64 int8 activations, exactly,
// as 16 lanes of 32-bit partial sums added to init's, lane j holding
// elements 4j .. 4j+3
// (lanes 0-7 the first block, 8-15 the second) as every target's dot does,
// so the f32 sums after it agree bit for bit (|lane| <= 4 * 128 * 127).
// Written as sign-extended products summed in pairs, which LLVM turns into
// vpmaddwd on x86 and widening multiply-adds on AArch64.
//   params: NAME
func.func private @{{NAME}}_dot64(%init: vector<16xi32>, %wq: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %w32 = arith.extsi %wq : vector<64xi8> to vector<64xi32>
  %a32 = arith.extsi %aq : vector<64xi8> to vector<64xi32>
  %p = arith.muli %w32, %a32 : vector<64xi32>
  %q = func.call @{{NAME}}_quads(%p) : (vector<64xi32>) -> vector<16xi32>
  %sum = arith.addi %init, %q : vector<16xi32>
  return %sum : vector<16xi32>
}
// The same for unsigned weights u in 0..255 (int4's u = q + 8): u
// zero-extended, products and lanes as above.
func.func private @{{NAME}}_dot64u(%init: vector<16xi32>, %wu: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %w32 = arith.extui %wu : vector<64xi8> to vector<64xi32>
  %a32 = arith.extsi %aq : vector<64xi8> to vector<64xi32>
  %p = arith.muli %w32, %a32 : vector<64xi32>
  %q = func.call @{{NAME}}_quads(%p) : (vector<64xi32>) -> vector<16xi32>
  %sum = arith.addi %init, %q : vector<16xi32>
  return %sum : vector<16xi32>
}
// Lane j = p[4j] + p[4j+1] + p[4j+2] + p[4j+3], as pairs of pairs.
func.func private @{{NAME}}_quads(%p: vector<64xi32>) -> vector<16xi32> {
  %even = vector.shuffle %p, %p [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62] : vector<64xi32>, vector<64xi32>
  %odd = vector.shuffle %p, %p [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63] : vector<64xi32>, vector<64xi32>
  %pairs = arith.addi %even, %odd : vector<32xi32>
  %qe = vector.shuffle %pairs, %pairs [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
  %qo = vector.shuffle %pairs, %pairs [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
  %sum = arith.addi %qe, %qo : vector<16xi32>
  return %sum : vector<16xi32>
}
// Signed weights as the layouts' decoding leaves them for @NAME_dot64s
// (here unchanged), and their dot: c, q8_rows' lane corrections, unused.
func.func private @{{NAME}}_sbias(%wq: vector<64xi8>) -> vector<64xi8> {
  return %wq : vector<64xi8>
}
func.func private @{{NAME}}_dot64s(%c: vector<16xi32>, %wq: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %zero = arith.constant dense<0> : vector<16xi32>
  %sum = func.call @{{NAME}}_dot64(%zero, %wq, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  return %sum : vector<16xi32>
}
