// rope.gpu.mlir: rotary position embedding (Su et al. 2021, RoFormer) on the
// heads of one projection (q or k), rows of N_HEADS * HEAD_DIM floats; the
// GPU form of rope.host.mlir. Each pair (x0, x1) of dimension i is rotated
// by @NAME_rot at the elements @NAME_pair gives (rope_rot.gpu.mlir, shared
// with kv_write and attention: the style, half or interleaved, and a
// partial rotary are the rotation's parameters)
//
//   params: NAME, N_HEADS, HEAD_DIM, HALF_DIM (= HEAD_DIM/2), WG (threads per
//           workgroup); the rotation's are its own
//   args:   [in_off (act), out_off (act), positions_off (meta)]
//   extent: T tokens
//   grid:   (T, 1, 1) x (WG, 1, 1); workgroup t rotates token t, thread j
//           the pairs p = j, j + WG, ... with head p / HALF_DIM, i = p % HALF_DIM.
// Both elements of a pair are loaded before either is stored, by the same
// thread, so in place works.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n_heads = arith.constant {{N_HEADS}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %half_hd = arith.constant {{HALF_DIM}} : index
  %wg = arith.constant {{WG}} : index
  %n_pairs = arith.muli %n_heads, %half_hd : index
  %row_len = arith.muli %n_heads, %hd : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
    %i_off_i = memref.load %args[%c0] : memref<?xi64>
    %o_off_i = memref.load %args[%c1] : memref<?xi64>
    %p_off_i = memref.load %args[%c2] : memref<?xi64>
    %i_off = arith.index_cast %i_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %p_off = arith.index_cast %p_off_i : i64 to index
    %ip = arith.addi %p_off, %t : index
    %pos_i = memref.load %meta[%ip] : memref<?xi32>
    %pos = arith.sitofp %pos_i : i32 to f32
    %row = arith.muli %t, %row_len : index
    %i_row = arith.addi %i_off, %row : index
    %o_row = arith.addi %o_off, %row : index
    scf.for %p = %tid to %n_pairs step %wg {
      %h = arith.divui %p, %half_hd : index
      %i = arith.remui %p, %half_hd : index
      %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
      %hb = arith.muli %h, %hd : index
      %ib = arith.addi %i_row, %hb : index
      %ob = arith.addi %o_row, %hb : index
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
  gpu.return
}
