// q8_dot64_vnni.host.mlir: the integer-dot matmuls' dot product of a step's
// two blocks on x86 with AVX-VNNI (or AVX-512 VNNI and VL on a target that
// keeps to 256-bit vectors), a block (32 bytes) at a time: vpdpbusd
// multiplies unsigned by signed bytes and adds each 4 products into a 32-bit
// lane at once — the lanes of q8_dot64 (lane j: elements 4j .. 4j+3), so the
// same bits, in one instruction a block for unsigned weights (int4's and the
// K-quants' u) and two for signed ones (|w| against a with w's sign, as
// q8_dot64_avx2 does; no 16-bit intermediate, so nothing can saturate).
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
func.func private @{{NAME}}_dot64(%init: vector<16xi32>, %wq: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %w0 = vector.extract_strided_slice %wq {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %w1 = vector.extract_strided_slice %wq {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %a0 = vector.extract_strided_slice %aq {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %a1 = vector.extract_strided_slice %aq {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %s0 = func.call @{{NAME}}_dot32(%w0, %a0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %s1 = func.call @{{NAME}}_dot32(%w1, %a1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %s = vector.shuffle %s0, %s1 [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : vector<8xi32>, vector<8xi32>
  %sum = arith.addi %init, %s : vector<16xi32>
  return %sum : vector<16xi32>
}
func.func private @{{NAME}}_dot64u(%init: vector<16xi32>, %wu: vector<64xi8>, %aq: vector<64xi8>) -> vector<16xi32> {
  %w0 = vector.extract_strided_slice %wu {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %w1 = vector.extract_strided_slice %wu {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %a0 = vector.extract_strided_slice %aq {offsets = [0], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %a1 = vector.extract_strided_slice %aq {offsets = [32], sizes = [32], strides = [1]} : vector<64xi8> to vector<32xi8>
  %s0 = func.call @{{NAME}}_dot32u(%w0, %a0) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %s1 = func.call @{{NAME}}_dot32u(%w1, %a1) : (vector<32xi8>, vector<32xi8>) -> vector<8xi32>
  %s = vector.shuffle %s0, %s1 [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] : vector<8xi32>, vector<8xi32>
  %sum = arith.addi %init, %s : vector<16xi32>
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
