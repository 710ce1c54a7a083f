// rope_rot.host.mlir: the rotation of rotary position embeddings (Su et al.
// 2021, RoFormer), one function every host kernel that applies RoPE calls
// (rope, kv_write and attention with rope attributes; see ir/ops.def):
//   a = pos * inv_i
//   (y0, y1) = (x0 c - x1 s, x0 s + x1 c),  c = cos a * S, s = sin a * S
//
//   params: NAME (the calling kernel's), HALF_DIM, INV_FREQ (HALF_DIM
//           comma-separated f32 literals), COS_SIN_SCALE (S, an f32 literal:
//           yarn's attention factor, else 1.0), STYLE (0 half, 1 interleaved),
//           ROT_HALF (pairs that rotate: HEAD_DIM / 2, less with a partial
//           rotary)
// The inverse frequencies (RoPE scalings included) are computed once at
// compile time by llmc_ir_rope_inv_freq, the function the reference
// interpreter uses; the angle is rounded to f32 and libm's cosf and sinf
// applied, exactly as the interpreter does, so the two agree to rounding.
memref.global "private" constant @{{NAME}}_inv_freq : memref<{{HALF_DIM}}xf32> = dense<[{{INV_FREQ}}]>
// @NAME_pair(i): the elements (e0, e1) of a head that pair i rotates:
//   STYLE 0, "half" (HF rotate_half):  (i, i + ROT_HALF)
//   STYLE 1, "interleaved" (GPT-J):    (2i, 2i + 1)
// A partial rotary (ROT_HALF < HEAD_DIM / 2, Phi-4-mini) rotates only the
// first 2 * ROT_HALF values of a head; the pairs past it,
// (2 ROT_HALF + 2j, 2 ROT_HALF + 2j + 1), have an inverse frequency of 0 in
// the table, which @NAME_rot leaves untouched. The kernels loop over all
// HEAD_DIM / 2 pairs either way.
func.func private @{{NAME}}_pair(%i: index) -> (index, index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %style = arith.constant {{STYLE}} : index
  %interleaved = arith.cmpi ne, %style, %c0 : index
  %rot_half = arith.constant {{ROT_HALF}} : index
  %rot = arith.muli %rot_half, %c2 : index
  %in_rot = arith.cmpi ult, %i, %rot_half : index
  %pass = arith.subi %i, %rot_half : index
  %pass2 = arith.muli %pass, %c2 : index
  %pass0 = arith.addi %rot, %pass2 : index
  %half0 = arith.select %in_rot, %i, %pass0 : index
  %rot1 = arith.addi %i, %rot_half : index
  %pass1 = arith.addi %pass0, %c1 : index
  %half1 = arith.select %in_rot, %rot1, %pass1 : index
  %il0 = arith.muli %i, %c2 : index
  %il1 = arith.addi %il0, %c1 : index
  %e0 = arith.select %interleaved, %il0, %half0 : index
  %e1 = arith.select %interleaved, %il1, %half1 : index
  return %e0, %e1 : index, index
}
// cos and sin of pair i's angle at pos, times S (a pair past a partial
// rotary, inverse frequency 0, passes through untouched: no rotation, and
// not the attention factor either). A kernel rotating several heads of a
// token computes them once (kv_write).
func.func private @{{NAME}}_cs(%pos: f32, %i: index) -> (f32, f32) {
  %scale = arith.constant {{COS_SIN_SCALE}} : f32
  %inv_freq = memref.get_global @{{NAME}}_inv_freq : memref<{{HALF_DIM}}xf32>
  %inv = memref.load %inv_freq[%i] : memref<{{HALF_DIM}}xf32>
  %a = arith.mulf %pos, %inv : f32
  %c0 = math.cos %a : f32
  %s0 = math.sin %a : f32
  %f_zero = arith.constant 0.0 : f32
  %f_one = arith.constant 1.0 : f32
  %passes = arith.cmpf oeq, %inv, %f_zero : f32
  %scale_i = arith.select %passes, %f_one, %scale : f32
  %c = arith.mulf %c0, %scale_i : f32
  %s = arith.mulf %s0, %scale_i : f32
  return %c, %s : f32, f32
}
// (x0, x1) rotated by (c, s).
func.func private @{{NAME}}_apply(%x0: f32, %x1: f32, %c: f32, %s: f32) -> (f32, f32) {
  %x0c = arith.mulf %x0, %c : f32
  %x1s = arith.mulf %x1, %s : f32
  %y0 = arith.subf %x0c, %x1s : f32
  %x0s = arith.mulf %x0, %s : f32
  %x1c = arith.mulf %x1, %c : f32
  %y1 = arith.addf %x0s, %x1c : f32
  return %y0, %y1 : f32, f32
}
func.func private @{{NAME}}_rot(%x0: f32, %x1: f32, %pos: f32, %i: index) -> (f32, f32) {
  %c, %s = func.call @{{NAME}}_cs(%pos, %i) : (f32, index) -> (f32, f32)
  %y0, %y1 = func.call @{{NAME}}_apply(%x0, %x1, %c, %s) : (f32, f32, f32, f32) -> (f32, f32)
  return %y0, %y1 : f32, f32
}
