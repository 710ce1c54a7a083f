// q8_dot32_avx2.host.mlir: matmul_q8's integer dot product of a block on
// x86 with AVX2, as llama.cpp's AVX2 path takes it: vpmaddubsw multiplies
// unsigned by signed bytes, so it gets |w| and a with w's sign (vpsignb;
// 0 where w = 0), summing pairs into 16 bits (|w| <= 128, |a| <= 127: at
// most 32512, never saturating), then vpmaddwd by ones sums pairs of those
// into 8 lanes of 32 bits. The same sums as q8_dot32, in 4 instructions.
//   params: NAME
func.func private @{{NAME}}_dot32(%wq: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %ones = arith.constant dense<1> : vector<16xi16>
  %wa = math.absi %wq : vector<32xi8>
  %as = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%aq, %wq) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
  %p16 = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%wa, %as) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
  %sum = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%p16, %ones) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
  return %sum : vector<8xi32>
}
// The same for unsigned weights u in 0..15 (int4's u = q + 8: vpmaddubsw
// takes them as they are; |pair| <= 2 * 15 * 127, no saturation), lanes
// as above, in 2 instructions.
func.func private @{{NAME}}_dot32u(%wu: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %ones = arith.constant dense<1> : vector<16xi16>
  %p16 = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%wu, %aq) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
  %sum = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%p16, %ones) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
  return %sum : vector<8xi32>
}
