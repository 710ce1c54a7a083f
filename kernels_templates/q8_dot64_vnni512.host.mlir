// q8_dot64_vnni512.host.mlir: the integer-dot matmuls' dot product of a
// step's two blocks on x86 with AVX-512 VNNI and 512-bit vectors: one
// vpdpbusd over all 64 bytes (unsigned by signed, 4 products added into each
// of init's 16 32-bit lanes: lane j elements 4j .. 4j+3, the lanes of q8_dot64, so the
// same bits). Signed weights meet |w| and a with w's sign; AVX-512 has no
// vpsignb, so the sign is a masked negation (w = 0 gives |w| = 0, so the
// product is 0 either way; |a| <= 127, so -a fits).
//   params: NAME
func.func private @{{NAME}}_dot64(%init: vector<16xi32>, %wq: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %zb = arith.constant dense<0> : vector<64xi8>
  %wa = math.absi %wq : vector<64xi8>
  %neg = arith.cmpi slt, %wq, %zb : vector<64xi8>
  %na = arith.subi %zb, %aq : vector<64xi8>
  %as = arith.select %neg, %na, %aq : vector<64xi1>, vector<64xi8>
  %sum = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%init, %wa, %as) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  return %sum : vector<16xi32>
}
func.func private @{{NAME}}_dot64u(%init: vector<16xi32>, %wu: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %sum = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%init, %wu, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  return %sum : vector<16xi32>
}
// Signed weights w biased to unsigned w + 128 when decoded (once a column
// step, not per token), so their dot is vpdpbusd's unsigned-by-signed one
// started from 16 c = -128 times the lane sums of a (c: q8_rows' lane
// corrections, -8 times them): sum (w + 128) a - 128 sum a = sum w a,
// exactly (4 products of at most 255 * 127 a lane never overflow), one
// instruction a token instead of the sign trick's three.
func.func private @{{NAME}}_sbias(%wq: vector<64xi8>) -> vector<64xi8> {
  %bias = arith.constant dense<-128> : vector<64xi8>
  %wb = arith.xori %wq, %bias : vector<64xi8>
  return %wb : vector<64xi8>
}
func.func private @{{NAME}}_dot64s(%c: vector<16xi32>, %wb: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %four = arith.constant dense<4> : vector<16xi32>
  %init = arith.shli %c, %four : vector<16xi32>
  %sum = func.call @{{NAME}}_dot64u(%init, %wb, %aq) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
  return %sum : vector<16xi32>
}
