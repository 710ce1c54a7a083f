// q8_dot64_avx2.host.mlir: the integer-dot matmuls' dot product of a step's
// two blocks on x86 with AVX2, as llama.cpp's AVX2 path takes it, a block
// (32 bytes) at a time: vpmaddubsw multiplies unsigned by signed bytes, so
// it gets |w| and a with w's sign (vpsignb; 0 where w = 0), summing pairs
// into 16 bits (|w| <= 128, |a| <= 127: at most 32512, never saturating),
// then vpmaddwd by ones sums pairs of those into 8 lanes of 32 bits. The
// same 16 lanes as q8_dot64.
//   params: NAME
func.func private @{{NAME}}_dot32(%wq: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %ones = arith.constant dense<1> : vector<16xi16>
  %wa = math.absi %wq : vector<32xi8>
  %as = llvm.call_intrinsic "llvm.x86.avx2.psign.b"(%aq, %wq) : (vector<32xi8>, vector<32xi8>) -> vector<32xi8>
  %p16 = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%wa, %as) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
  %sum = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%p16, %ones) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
  return %sum : vector<8xi32>
}
// The same for unsigned weights u in 0..63 (int4's u = q + 8, the K-quants'
// u: vpmaddubsw takes them as they are; |pair| <= 2 * 63 * 127, no
// saturation), in 2 instructions.
func.func private @{{NAME}}_dot32u(%wu: vector<32xi8>, %aq: vector<32xi8>) -> vector<8xi32> {
  %ones = arith.constant dense<1> : vector<16xi16>
  %p16 = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%wu, %aq) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
  %sum = llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%p16, %ones) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
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
