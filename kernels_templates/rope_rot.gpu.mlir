// rope_rot.gpu.mlir: the rotation of rotary position embeddings (Su et al.
// 2021, RoFormer), one function every GPU kernel that applies RoPE calls
// (rope, kv_write and attention with rope attributes; see ir/ops.def):
//   (y0, y1) = (x0 c - x1 s, x0 s + x1 c),  c = cos a * S, s = sin a * S,
//   a = pos * inv_i
//
//   params: NAME (the calling kernel's), HALF_DIM, INV_FREQ (HALF_DIM
//           comma-separated f32 literals: llmc_ir_rope_inv_freq computes
//           them, RoPE scalings included, as the reference interpreter does,
//           so the table is bit-identical to the host's), COS_SIN_SCALE (S,
//           an f32 literal: yarn's attention factor, else 1.0), STYLE (0 half,
//           1 interleaved), ROT_HALF (pairs that rotate: HEAD_DIM / 2, less
//           with a partial rotary)
// sin and cos are computed here, identically on every vendor (AMD has no
// device math library linked): Cody-Waite reduction by pi/2 with a
// three-part constant and fma, k = trunc(a * 2/pi + 0.5) (a >= 0), then the
// Cephes sinf/cosf polynomials on [-pi/4, pi/4] and the quadrant k mod 4.
// Measured against sin/cos in double for 0 <= a < 131072 (3e6 points, a C
// model of the same arithmetic): max abs error 7.7e-8, and within 2^-24
// (6e-8) of glibc's sinf/cosf. The angle a = pos * inv_i is rounded to f32
// exactly as the host computes it.
memref.global "private" constant @{{NAME}}_inv_freq : memref<{{HALF_DIM}}xf32, 1> = dense<[{{INV_FREQ}}]>
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
func.func private @{{NAME}}_rot(%x0: f32, %x1: f32, %pos: f32, %i: index) -> (f32, f32) {
  %c3_i = arith.constant 3 : i32
  %c0_i = arith.constant 0 : i32
  %c1_i = arith.constant 1 : i32
  %c2_i = arith.constant 2 : i32
  // Cody-Waite pi/2 = P1 + P2 + P3 (P1 and P2 short), and the polynomials.
  %two_over_pi = arith.constant 0.636619772367581 : f32
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %p1 = arith.constant 1.5703125 : f32
  %p2 = arith.constant 4.837512969970703125e-4 : f32
  %p3 = arith.constant 7.54978995489188216e-8 : f32
  %s1 = arith.constant -1.9515295891e-4 : f32
  %s2 = arith.constant 8.3321608736e-3 : f32
  %s3 = arith.constant -1.6666654611e-1 : f32
  %k1 = arith.constant 2.443315711809948e-5 : f32
  %k2 = arith.constant -1.388731625493765e-3 : f32
  %k3 = arith.constant 4.166664568298827e-2 : f32
  %inv_freq = memref.get_global @{{NAME}}_inv_freq : memref<{{HALF_DIM}}xf32, 1>
  %inv = memref.load %inv_freq[%i] : memref<{{HALF_DIM}}xf32, 1>
  %a = arith.mulf %pos, %inv : f32
  // sincos(a), a >= 0.
  %ka = arith.mulf %a, %two_over_pi : f32
  %kh = arith.addf %ka, %half : f32
  %k = arith.fptosi %kh : f32 to i32
  %kf = arith.sitofp %k : i32 to f32
  %nk = arith.negf %kf : f32
  %r1 = math.fma %nk, %p1, %a : f32
  %r2 = math.fma %nk, %p2, %r1 : f32
  %r = math.fma %nk, %p3, %r2 : f32
  %z = arith.mulf %r, %r : f32
  %sa = arith.mulf %s1, %z : f32
  %sb = arith.addf %sa, %s2 : f32
  %sc = arith.mulf %sb, %z : f32
  %sd = arith.addf %sc, %s3 : f32
  %se = arith.mulf %sd, %z : f32
  %sf = arith.mulf %se, %r : f32
  %sp = arith.addf %sf, %r : f32
  %ca = arith.mulf %k1, %z : f32
  %cb = arith.addf %ca, %k2 : f32
  %cc = arith.mulf %cb, %z : f32
  %cd = arith.addf %cc, %k3 : f32
  %ce = arith.mulf %cd, %z : f32
  %cf = arith.mulf %ce, %z : f32
  %hz = arith.mulf %half, %z : f32
  %cg = arith.subf %cf, %hz : f32
  %cp = arith.addf %cg, %one : f32
  %q = arith.andi %k, %c3_i : i32
  %swap = arith.andi %q, %c1_i : i32
  %odd = arith.cmpi ne, %swap, %c0_i : i32
  %sin_mag = arith.select %odd, %cp, %sp : f32
  %cos_mag = arith.select %odd, %sp, %cp : f32
  // sin is negative in quadrants 2, 3; cos in quadrants 1, 2.
  %q_hi = arith.cmpi uge, %q, %c2_i : i32
  %q_12a = arith.cmpi eq, %q, %c1_i : i32
  %q_12b = arith.cmpi eq, %q, %c2_i : i32
  %q_12 = arith.ori %q_12a, %q_12b : i1
  %neg_s = arith.negf %sin_mag : f32
  %neg_c = arith.negf %cos_mag : f32
  %c1s = arith.select %q_12, %neg_c, %cos_mag : f32
  %s1s = arith.select %q_hi, %neg_s, %sin_mag : f32
  %scale = arith.constant {{COS_SIN_SCALE}} : f32
  // A pair past a partial rotary (inverse frequency 0) passes through
  // untouched: no rotation, and not the attention factor either.
  %f_zero = arith.constant 0.0 : f32
  %passes = arith.cmpf oeq, %inv, %f_zero : f32
  %scale_i = arith.select %passes, %one, %scale : f32
  %c = arith.mulf %c1s, %scale_i : f32
  %s = arith.mulf %s1s, %scale_i : f32
  %x0c = arith.mulf %x0, %c : f32
  %x1s = arith.mulf %x1, %s : f32
  %y0 = arith.subf %x0c, %x1s : f32
  %x0s = arith.mulf %x0, %s : f32
  %x1c = arith.mulf %x1, %c : f32
  %y1 = arith.addf %x0s, %x1c : f32
  return %y0, %y1 : f32, f32
}
