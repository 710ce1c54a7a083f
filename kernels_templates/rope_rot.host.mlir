// rope_rot.host.mlir: the rotation of rotary position embeddings (Su et al.
// 2021, RoFormer), one function every host kernel that applies RoPE calls
// (rope, kv_write and attention with a rope_theta; see ir/ops.def):
//   inv_i = THETA^(-2i/HEAD_DIM),  a = pos * inv_i
//   (y0, y1) = (x0 cos a - x1 sin a, x0 sin a + x1 cos a)
//
//   params: NAME (the calling kernel's), HEAD_DIM, THETA (f32 literal)
// The angle is computed in f32 exactly as the reference interpreter does it,
//   float inv = powf(theta, -2.0f * i / hd); float a = (float)pos * inv;
// with libm's powf, cosf and sinf, so the two agree to rounding.
func.func private @{{NAME}}_rot(%x0: f32, %x1: f32, %pos: f32, %i: index) -> (f32, f32) {
  %hd_f = arith.constant {{HEAD_DIM}}.0 : f32
  %theta = arith.constant {{THETA}} : f32
  %m2 = arith.constant -2.0 : f32
  %i_i = arith.index_cast %i : index to i32
  %i_f = arith.sitofp %i_i : i32 to f32
  %num = arith.mulf %m2, %i_f : f32
  %ex = arith.divf %num, %hd_f : f32
  %inv = math.powf %theta, %ex : f32
  %a = arith.mulf %pos, %inv : f32
  %c = math.cos %a : f32
  %s = math.sin %a : f32
  %x0c = arith.mulf %x0, %c : f32
  %x1s = arith.mulf %x1, %s : f32
  %y0 = arith.subf %x0c, %x1s : f32
  %x0s = arith.mulf %x0, %s : f32
  %x1c = arith.mulf %x1, %c : f32
  %y1 = arith.addf %x0s, %x1c : f32
  return %y0, %y1 : f32, f32
}
