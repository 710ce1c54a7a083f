// rope.host.mlir: rotary position embedding (Su et al. 2021, "RoFormer:
// Enhanced Transformer with Rotary Position Embedding") on the heads of one
// projection (q or k), rows of N_HEADS * HEAD_DIM floats. Each pair
// (x0, x1) of dimension i is rotated by @NAME_rot (rope_rot.host.mlir,
// shared with kv_write and attention) at the elements @NAME_pair gives:
// (i, i + HEAD_DIM/2) in the "half" style (HF rotate_half, LLaMA/Qwen),
// (2i, 2i + 1) "interleaved" (GPT-J, original Meta), less with a partial
// rotary; the style is the rotation's parameter.
//
//   params: NAME, N_HEADS, HEAD_DIM; the rotation's are its own
//   args:   [in_off (act), out_off (act), positions_off (meta)]
//   extent: T tokens
// Both elements of a pair are loaded before either is stored, so
// in_off == out_off (in place) works.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n_heads = arith.constant {{N_HEADS}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %half_hd = arith.divui %hd, %c2 : index
  %row_len = arith.muli %n_heads, %hd : index
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
    scf.for %h = %c0 to %n_heads step %c1 {
      %hb = arith.muli %h, %hd : index
      %ib = arith.addi %i_row, %hb : index
      %ob = arith.addi %o_row, %hb : index
      scf.for %i = %c0 to %half_hd step %c1 {
        %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
        %ix0 = arith.addi %ib, %e0 : index
        %ix1 = arith.addi %ib, %e1 : index
        %ox0 = arith.addi %ob, %e0 : index
        %ox1 = arith.addi %ob, %e1 : index
        %x0 = memref.load %act[%ix0] : memref<?xf32>
        %x1 = memref.load %act[%ix1] : memref<?xf32>
        %y:2 = func.call @{{NAME}}_rot(%x0, %x1, %pos, %i) : (f32, f32, f32, index) -> (f32, f32)
        memref.store %y#0, %act[%ox0] : memref<?xf32>
        memref.store %y#1, %act[%ox1] : memref<?xf32>
      }
    }
  }
  return
}
