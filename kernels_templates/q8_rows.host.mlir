// q8_rows.host.mlir: the int8 activations of the integer-dot matmuls
// (matmul_q8.host.mlir, codegen/gemm_q8_host.c): a kernel's token rows
// quantized onto its stack, a row's step of them read back, and a column's
// lanes reduced at the end, written once for both.
//
// Each row of a is quantized in blocks of 32 to int8:
//   d = max|x| / 127,  q = roundeven(x * (1 / d))   (q = 0 when d = 0)
// so a block of 32 weights meets its activations as an exact 32-bit integer
// sum of products, scaled once by the weight's scale times d.
//   params: NAME, K (a multiple of 64), KB (= K/32), QA (rows * K: the
//           stack's rows of values), DA (rows * KB * 2: their scales and
//           sums), CA (rows * KB * 8: their lane corrections)
// The rows of slots [i0, i0 + tn) of a at act[a_off] (matmul_rows),
// quantized into qa (K bytes a row), da (two floats a block: its scale d,
// and -d times the sum of its quantized values: the K-quants' mins' and
// int4-zp's zero points' factor) and ca (8 lane corrections a block: lane
// j holds -8 times the sum of the block's values 4j .. 4j+3, what an
// unsigned int4 dot starts from to make its lanes those of the signed one;
// 16 times it is what a VNNI dot of int8 weights biased by 128 starts from).
func.func private @{{NAME}}_quantize(%act: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>,
                                     %a_off: index, %i0: index, %tn: index,
                                     %qa: memref<{{QA}}xi8>, %da: memref<{{DA}}xf32>, %ca: memref<{{CA}}xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %k_dim = arith.constant {{K}} : index
  %kb = arith.constant {{KB}} : index
  %f127 = arith.constant 127.0 : f32
  %f1 = arith.constant 1.0 : f32
  %f0 = arith.constant 0.0 : f32
  scf.for %t = %c0 to %tn step %c1 {
    %row = arith.muli %t, %k_dim : index
    %slot = arith.addi %i0, %t : index
    %tok = func.call @{{NAME}}_row(%meta, %args, %slot) : (memref<?xi32>, memref<?xi64>, index) -> index
    %tok_k = arith.muli %tok, %k_dim : index
    %a_row = arith.addi %a_off, %tok_k : index
    %brow = arith.muli %t, %kb : index
    scf.for %b = %c0 to %kb step %c1 {
      %bk = arith.muli %b, %c32 : index
      %ia = arith.addi %a_row, %bk : index
      %x = vector.load %act[%ia] : memref<?xf32>, vector<32xf32>
      %ax = math.absf %x : vector<32xf32>
      %amax = vector.reduction <maxnumf>, %ax : vector<32xf32> into f32
      %d = arith.divf %amax, %f127 : f32
      %nz = arith.cmpf one, %d, %f0 : f32
      %inv = arith.divf %f1, %d : f32
      %id = arith.select %nz, %inv, %f0 : f32
      %idv = vector.broadcast %id : f32 to vector<32xf32>
      %y = arith.mulf %x, %idv : vector<32xf32>
      %r = math.roundeven %y : vector<32xf32>
      %q = arith.fptosi %r : vector<32xf32> to vector<32xi8>
      %iq = arith.addi %row, %bk : index
      vector.store %q, %qa[%iq] : memref<{{QA}}xi8>, vector<32xi8>
      %jd = arith.addi %brow, %b : index
      %c2 = arith.constant 2 : index
      %jd2 = arith.muli %jd, %c2 : index
      %jd2s = arith.addi %jd2, %c1 : index
      memref.store %d, %da[%jd2] : memref<{{DA}}xf32>
      %three = arith.constant dense<3> : vector<8xi32>
      %c8 = arith.constant 8 : index
      %q32 = arith.extsi %q : vector<32xi8> to vector<32xi32>
      %pe = vector.shuffle %q32, %q32 [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xi32>, vector<32xi32>
      %po = vector.shuffle %q32, %q32 [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<32xi32>, vector<32xi32>
      %pairs = arith.addi %pe, %po : vector<16xi32>
      %qe = vector.shuffle %pairs, %pairs [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xi32>, vector<16xi32>
      %qo = vector.shuffle %pairs, %pairs [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xi32>, vector<16xi32>
      %lanes = arith.addi %qe, %qo : vector<8xi32>
      %l8 = arith.shli %lanes, %three : vector<8xi32>
      %zero = arith.constant dense<0> : vector<8xi32>
      %c = arith.subi %zero, %l8 : vector<8xi32>
      %ic = arith.muli %jd, %c8 : index
      vector.store %c, %ca[%ic] : memref<{{CA}}xi32>, vector<8xi32>
      %sum = vector.reduction <add>, %lanes : vector<8xi32> into i32
      %sumf = arith.sitofp %sum : i32 to f32
      %nd = arith.negf %d : f32
      %sa = arith.mulf %nd, %sumf : f32
      memref.store %sa, %da[%jd2s] : memref<{{DA}}xf32>
    }
  }
  return
}
// A column's 16 lanes reduced and scaled by its own factor.
func.func private @{{NAME}}_fin(%w: memref<?xf32>, %s_col: index, %acc: vector<16xf32>) -> f32 {
  %sum = vector.reduction <add>, %acc fastmath<reassoc> : vector<16xf32> into f32
  %cs = func.call @{{NAME}}_colscale(%w, %s_col) : (memref<?xf32>, index) -> f32
  %y = arith.mulf %sum, %cs : f32
  return %y : f32
}
// Quantized row tl's activations for step g, as the layouts' @NAME_dot takes
// them: its two blocks' 64 values; their scales da, one a lane of its block;
// their lane corrections (8 a block: 16 lanes) and, in every lane of its
// block, -da times the block's sum of values (the zero points' and mins'
// factor). What a layout's dot does not use is dead once the calls are
// inlined.
func.func private @{{NAME}}_acts(%qa: memref<{{QA}}xi8>, %da: memref<{{DA}}xf32>, %ca: memref<{{CA}}xi32>,
                                 %tl: index, %g: index)
    -> (vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>) {
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %k_dim = arith.constant {{K}} : index
  %kb = arith.constant {{KB}} : index
  %row = arith.muli %tl, %k_dim : index
  %brow = arith.muli %tl, %kb : index
  %k = arith.muli %g, %c64 : index
  %ia = arith.addi %row, %k : index
  %aq = vector.load %qa[%ia] : memref<{{QA}}xi8>, vector<64xi8>
  %g2 = arith.muli %g, %c2 : index
  %j0 = arith.addi %brow, %g2 : index
  %jd = arith.muli %j0, %c2 : index
  %d4 = vector.load %da[%jd] : memref<{{DA}}xf32>, vector<4xf32>
  %d16 = vector.shuffle %d4, %d4 [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2] : vector<4xf32>, vector<4xf32>
  %as = vector.shuffle %d4, %d4 [1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3] : vector<4xf32>, vector<4xf32>
  %c8 = arith.constant 8 : index
  %i0 = arith.muli %j0, %c8 : index
  %cc = vector.load %ca[%i0] : memref<{{CA}}xi32>, vector<16xi32>
  return %aq, %d16, %cc, %as : vector<64xi8>, vector<16xf32>, vector<16xi32>, vector<16xf32>
}
