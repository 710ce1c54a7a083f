// q8_dot32.host.mlir: matmul_q8's integer dot product of a block, for any
// CPU: 32 int8 weights against 32 int8 activations, exactly, as 8 lanes of
// 32-bit partial sums, lane j holding elements 4j .. 4j+3 as every
// target's dot does, so the f32 sums after it agree bit for bit (|sum| <=
// 4 * 128 * 127). Written as sign-extended products summed in pairs, which
// LLVM turns into vpmaddwd on x86 and widening multiply-adds on AArch64.
//   params: NAME
func.func private @{{NAME}}_dot32(%wq: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %w32 = arith.extsi %wq : vector<32xi8> to vector<32xi32>
  %a32 = arith.extsi %aq : vector<32xi8> to vector<32xi32>
  %p = arith.muli %w32, %a32 : vector<32xi32>
  %even = vector.shuffle %p, %p [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
  %odd = vector.shuffle %p, %p [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
  %pairs = arith.addi %even, %odd : vector<16xi32>
  %qe = vector.shuffle %pairs, %pairs [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xi32>, vector<16xi32>
  %qo = vector.shuffle %pairs, %pairs [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xi32>, vector<16xi32>
  %sum = arith.addi %qe, %qo : vector<8xi32>
  return %sum : vector<8xi32>
}
// The same for unsigned weights u in 0..255 (int4's u = q + 8): u
// zero-extended, products and lanes as above.
func.func private @{{NAME}}_dot32u(%wu: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %w32 = arith.extui %wu : vector<32xi8> to vector<32xi32>
  %a32 = arith.extsi %aq : vector<32xi8> to vector<32xi32>
  %p = arith.muli %w32, %a32 : vector<32xi32>
  %even = vector.shuffle %p, %p [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
  %odd = vector.shuffle %p, %p [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
  %pairs = arith.addi %even, %odd : vector<16xi32>
  %qe = vector.shuffle %pairs, %pairs [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xi32>, vector<16xi32>
  %qo = vector.shuffle %pairs, %pairs [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xi32>, vector<16xi32>
  %sum = arith.addi %qe, %qo : vector<8xi32>
  return %sum : vector<8xi32>
}
