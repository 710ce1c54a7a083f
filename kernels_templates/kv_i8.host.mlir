// kv_i8.host.mlir: how kv_write and attention on the host store and read
// a head's row of the paged KV pool when it holds int8 (--kv-cache-dtype=
// int8): a row of HEAD_DIM values is HEAD_DIM int8s and one f32 scale,
// ROW_WORDS (= HEAD_DIM / 4 + 1) f32 words; KV element i (always a row's
// first: rows start at multiples of HEAD_DIM) lives in the row i / HEAD_DIM,
// whose int8s start at word (i / HEAD_DIM) * ROW_WORDS and whose scale
// follows them. A row is quantized symmetrically, as llmc_i8_row_quantize
// does in C (the reference interpreter applies it at its kv_write for such an
// artifact), bit for bit:
//   d = max|x| / 127 (NaN when an x is NaN: arith.maximumf propagates it),
//   q = x * (1 / d) rounded to nearest even (q = 0 where d is 0 or NaN)
// The rounding adds 1.5 * 2^23 and takes the low bits (|x / d| <= 127 gives
// an exact round-to-nearest-even there), so no target needs roundeven
// (baseline x86-64 would call libm for it) and a NaN or infinity cannot
// reach an fptosi (poison). Out, @NAME_kv_row gives q as f32 (exact) and
// @NAME_kv_scale d: attention multiplies a score (q . k) by its K row's d
// and a weight by its V row's d, rather than every element by it. A row
// holding NaN or an infinity reads back as NaNs or infinities (its d is NaN
// or inf), as an f32 pool would carry them on.
//   params: NAME, HEAD_DIM (a multiple of 4), Q_WORDS (= HEAD_DIM / 4),
//           ROW_WORDS (= Q_WORDS + 1)
func.func private @{{NAME}}_kv_row(%kv: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %hd = arith.constant {{HEAD_DIM}} : index
  %rw = arith.constant {{ROW_WORDS}} : index
  %qw = arith.constant {{Q_WORDS}} : index
  %row = arith.divui %i, %hd : index
  %w = arith.muli %row, %rw : index
  %words = vector.load %kv[%w] : memref<?xf32>, vector<{{Q_WORDS}}xf32>
  %q = vector.bitcast %words : vector<{{Q_WORDS}}xf32> to vector<{{HEAD_DIM}}xi8>
  %f = arith.sitofp %q : vector<{{HEAD_DIM}}xi8> to vector<{{HEAD_DIM}}xf32>
  return %f : vector<{{HEAD_DIM}}xf32>
}
func.func private @{{NAME}}_kv_scale(%kv: memref<?xf32>, %i: index) -> f32 {
  %hd = arith.constant {{HEAD_DIM}} : index
  %rw = arith.constant {{ROW_WORDS}} : index
  %qw = arith.constant {{Q_WORDS}} : index
  %row = arith.divui %i, %hd : index
  %w = arith.muli %row, %rw : index
  %wd = arith.addi %w, %qw : index
  %d = memref.load %kv[%wd] : memref<?xf32>
  return %d : f32
}
func.func private @{{NAME}}_kv_put(%kv: memref<?xf32>, %i: index, %r: vector<{{HEAD_DIM}}xf32>) {
  %hd = arith.constant {{HEAD_DIM}} : index
  %rw = arith.constant {{ROW_WORDS}} : index
  %qw = arith.constant {{Q_WORDS}} : index
  %f0 = arith.constant 0.0 : f32
  %f1 = arith.constant 1.0 : f32
  %f127 = arith.constant 127.0 : f32
  %magic = arith.constant dense<12582912.0> : vector<{{HEAD_DIM}}xf32>
  %magic_bits = arith.constant dense<1262485504> : vector<{{HEAD_DIM}}xi32>
  %a = math.absf %r : vector<{{HEAD_DIM}}xf32>
  %amax = vector.reduction <maximumf>, %a : vector<{{HEAD_DIM}}xf32> into f32
  %d = arith.divf %amax, %f127 : f32
  %nz = arith.cmpf one, %d, %f0 : f32
  %inv = arith.divf %f1, %d : f32
  %id = arith.select %nz, %inv, %f0 : f32
  %idv = vector.broadcast %id : f32 to vector<{{HEAD_DIM}}xf32>
  %y = arith.mulf %r, %idv : vector<{{HEAD_DIM}}xf32>
  %m = arith.addf %y, %magic : vector<{{HEAD_DIM}}xf32>
  %b = arith.bitcast %m : vector<{{HEAD_DIM}}xf32> to vector<{{HEAD_DIM}}xi32>
  %qi = arith.subi %b, %magic_bits : vector<{{HEAD_DIM}}xi32>
  %q = arith.trunci %qi : vector<{{HEAD_DIM}}xi32> to vector<{{HEAD_DIM}}xi8>
  %words = vector.bitcast %q : vector<{{HEAD_DIM}}xi8> to vector<{{Q_WORDS}}xf32>
  %row = arith.divui %i, %hd : index
  %w = arith.muli %row, %rw : index
  vector.store %words, %kv[%w] : memref<?xf32>, vector<{{Q_WORDS}}xf32>
  %wd = arith.addi %w, %qw : index
  memref.store %d, %kv[%wd] : memref<?xf32>
  return
}
