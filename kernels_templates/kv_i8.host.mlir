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
// reach an fptosi (poison). Out, q * d, exactly as the interpreter's
// dequantized row: attention converts a block's rows for one KV head once
// (@NAME_kv_block) into an f32 stage on its stack, rows of HEAD_DIM, and
// reads them from there (@NAME_kv_row, a plain load) for every query row of
// its tile, so the conversion is shared by a GQA group's heads and a tile's
// tokens. A row holding NaN or an infinity reads back as NaNs or infinities
// (its d is NaN or inf), as an f32 pool would carry them on.
//   params: NAME, HEAD_DIM (a multiple of 4), Q_WORDS (= HEAD_DIM / 4),
//           ROW_WORDS (= Q_WORDS + 1)
// (The stage's size is the attention kernel's STAGE_FLOATS, 2 x BLOCK_SIZE x
// HEAD_DIM; kplan bounds it.)
// A pool row (element i: a row's first) as f32: q * d.
func.func private @{{NAME}}_kv_deq(%kv: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %hd = arith.constant {{HEAD_DIM}} : index
  %rw = arith.constant {{ROW_WORDS}} : index
  %qw = arith.constant {{Q_WORDS}} : index
  %row = arith.divui %i, %hd : index
  %w = arith.muli %row, %rw : index
  %words = vector.load %kv[%w] : memref<?xf32>, vector<{{Q_WORDS}}xf32>
  %q = vector.bitcast %words : vector<{{Q_WORDS}}xf32> to vector<{{HEAD_DIM}}xi8>
  %f = arith.sitofp %q : vector<{{HEAD_DIM}}xi8> to vector<{{HEAD_DIM}}xf32>
  %wd = arith.addi %w, %qw : index
  %d = memref.load %kv[%wd] : memref<?xf32>
  %dv = vector.broadcast %d : f32 to vector<{{HEAD_DIM}}xf32>
  %r = arith.mulf %f, %dv : vector<{{HEAD_DIM}}xf32>
  return %r : vector<{{HEAD_DIM}}xf32>
}
// A block's K rows (kb + slot * kvd) and V rows (vb + slot * kvd), bs slots,
// into the stage: K's at slot * HEAD_DIM, V's after bs of them. Attention
// reads the block from the stage: (stage, 0, bs * HEAD_DIM), rows HEAD_DIM
// apart (its READ_KVD).
func.func private @{{NAME}}_kv_block(%kv: memref<?xf32>, %kb: index, %vb: index, %kvd: index, %bs: index, %stage: memref<?xf32>) -> (memref<?xf32>, index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %sv = arith.muli %bs, %hd : index
  scf.for %s = %c0 to %bs step %c1 {
    %o = arith.muli %s, %kvd : index
    %ik = arith.addi %kb, %o : index
    %iv = arith.addi %vb, %o : index
    %k = func.call @{{NAME}}_kv_deq(%kv, %ik) : (memref<?xf32>, index) -> vector<{{HEAD_DIM}}xf32>
    %v = func.call @{{NAME}}_kv_deq(%kv, %iv) : (memref<?xf32>, index) -> vector<{{HEAD_DIM}}xf32>
    %so = arith.muli %s, %hd : index
    %sov = arith.addi %sv, %so : index
    vector.store %k, %stage[%so] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
    vector.store %v, %stage[%sov] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  }
  return %stage, %c0, %sv : memref<?xf32>, index, index
}
// A staged row: f32 as it is.
func.func private @{{NAME}}_kv_row(%stage: memref<?xf32>, %i: index) -> vector<{{HEAD_DIM}}xf32> {
  %r = vector.load %stage[%i] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  return %r : vector<{{HEAD_DIM}}xf32>
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
