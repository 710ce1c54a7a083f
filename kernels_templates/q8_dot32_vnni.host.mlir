// q8_dot32_vnni.host.mlir: matmul_q8's integer dot product of a block on
// x86 with AVX-512 VNNI (and VL) or AVX-VNNI: vpdpbusd multiplies unsigned by
// signed bytes and adds each 4 products into a 32-bit lane at once — the
// lanes of q8_dot32 (lane j: elements 4j .. 4j+3), so the same bits, in one
// instruction for unsigned weights (int4's and the K-quants' u) and two for
// signed ones (|w| against a with w's sign, as q8_dot32_avx2 does; no 16-bit
// intermediate, so nothing can saturate).
//   params: NAME
func.func private @{{NAME}}_dot32(%wq: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %zero = arith.constant dense<0> : vector<8xi32>
  %wa = math.absi %wq : vector<32xi8>
  %as = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%aq, %wq) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
  %sum = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%zero, %wa, %as) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  return %sum : vector<8xi32>
}
func.func private @{{NAME}}_dot32u(%wu: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %zero = arith.constant dense<0> : vector<8xi32>
  %sum = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.256"(%zero, %wu, %aq) : (vector<8xi32>, vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  return %sum : vector<8xi32>
}
