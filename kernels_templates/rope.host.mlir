// rope.host.mlir: rotary position embedding (Su et al. 2021, "RoFormer:
// Enhanced Transformer with Rotary Position Embedding") on the heads of one
// projection (q or k), rows of N_HEADS * HEAD_DIM floats:
//   for i < HEAD_DIM/2:  inv_i = THETA^(-2i/HEAD_DIM),  a = pos * inv_i
//   (x0, x1) -> (x0 cos a - x1 sin a,  x0 sin a + x1 cos a)
// where the pair (x0, x1) of dimension i is
//   STYLE 0, "half" (HF rotate_half, LLaMA/Qwen):  (i, i + HEAD_DIM/2)
//   STYLE 1, "interleaved" (GPT-J, original Meta):  (2i, 2i + 1)
//
//   params: NAME, N_HEADS, HEAD_DIM, THETA (f32 literal), STYLE (0 or 1)
//   args:   [in_off (act), out_off (act), positions_off (meta)]
//   extent: T tokens
// The angle is computed in f32 exactly as the reference interpreter does it,
//   float inv = powf(theta, -2.0f * i / hd); float a = (float)pos * inv;
// with libm's powf, cosf and sinf, so the two agree to rounding. Loop order
// token -> i -> head computes each (cos, sin) once per token and applies it
// to every head. Both elements of a pair are loaded before either is
// stored, so in_off == out_off (in place) works.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n_heads = arith.constant {{N_HEADS}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %hd_f = arith.constant {{HEAD_DIM}}.0 : f32
  %half_hd = arith.divui %hd, %c2 : index
  %row_len = arith.muli %n_heads, %hd : index
  %theta = arith.constant {{THETA}} : f32
  %m2 = arith.constant -2.0 : f32
  %style = arith.constant {{STYLE}} : index
  %interleaved = arith.cmpi ne, %style, %c0 : index
  // x0 sits at i * stride0, x1 at x0 + step1.
  %stride0 = arith.select %interleaved, %c2, %c1 : index
  %step1 = arith.select %interleaved, %c1, %half_hd : index
  %i_off_i = memref.load %args[%c0] : memref<?xi64>
  %o_off_i = memref.load %args[%c1] : memref<?xi64>
  %p_off_i = memref.load %args[%c2] : memref<?xi64>
  %i_off = arith.index_cast %i_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  %p_off = arith.index_cast %p_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %ip = arith.addi %p_off, %t : index
    %pos_i = memref.load %meta[%ip] : memref<?xi32>
    %pos = arith.sitofp %pos_i : i32 to f32
    %row = arith.muli %t, %row_len : index
    %i_row = arith.addi %i_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    scf.for %i = %c0 to %half_hd step %c1 {
      %i_i = arith.index_cast %i : index to i32
      %i_f = arith.sitofp %i_i : i32 to f32
      %num = arith.mulf %m2, %i_f : f32
      %ex = arith.divf %num, %hd_f : f32
      %inv = math.powf %theta, %ex : f32
      %a = arith.mulf %pos, %inv : f32
      %c = math.cos %a : f32
      %s = math.sin %a : f32
      %e0 = arith.muli %i, %stride0 : index
      %e1 = arith.addi %e0, %step1 : index
      scf.for %h = %c0 to %n_heads step %c1 {
        %hb = arith.muli %h, %hd : index
        %ib = arith.addi %i_row, %hb : index
        %ob = arith.addi %o_row, %hb : index
        %ix0 = arith.addi %ib, %e0 : index
        %ix1 = arith.addi %ib, %e1 : index
        %ox0 = arith.addi %ob, %e0 : index
        %ox1 = arith.addi %ob, %e1 : index
        %x0 = memref.load %act[%ix0] : memref<?xf32>
        %x1 = memref.load %act[%ix1] : memref<?xf32>
        %x0c = arith.mulf %x0, %c : f32
        %x1s = arith.mulf %x1, %s : f32
        %y0 = arith.subf %x0c, %x1s : f32
        %x0s = arith.mulf %x0, %s : f32
        %x1c = arith.mulf %x1, %c : f32
        %y1 = arith.addf %x0s, %x1c : f32
        memref.store %y0, %act[%ox0] : memref<?xf32>
        memref.store %y1, %act[%ox1] : memref<?xf32>
      }
    }
  }
  return
}
