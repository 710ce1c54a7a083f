// embedding.gpu.mlir: token embedding lookup, one row of D floats per token,
// the GPU form of embedding.host.mlir:
//   out[t*D + j] = table[id*D + j] * SCALE,  id = tokens[t]
//
//   params: NAME, D, SCALE (an f32 literal: Gemma's sqrt(hidden_size), else 1.0), WG (threads per workgroup)
//   args:   [out_off (act), table_off (weights), tokens_off (meta), vocab]
//   extent: T tokens
//   grid:   (T, 1, 1) x (WG, 1, 1); workgroup t copies row tokens[t] with
//           thread i moving columns i, i + WG, ... (coalesced both sides).
// Ids are not clamped: the runtime validates them against vocab first.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %scale = arith.constant {{SCALE}} : f32
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %d = arith.constant {{D}} : index
  %wg = arith.constant {{WG}} : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
    %o_off_i = memref.load %args[%c0] : memref<?xi64>
    %tab_off_i = memref.load %args[%c1] : memref<?xi64>
    %tok_off_i = memref.load %args[%c2] : memref<?xi64>
    %o_off = arith.index_cast %o_off_i : i64 to index
    %tab_off = arith.index_cast %tab_off_i : i64 to index
    %tok_off = arith.index_cast %tok_off_i : i64 to index
    %it = arith.addi %tok_off, %t : index
    %id_i = memref.load %meta[%it] : memref<?xi32>
    %id = arith.index_cast %id_i : i32 to index
    %src_row = arith.muli %id, %d : index
    %src = arith.addi %tab_off, %src_row : index
    %dst_row = arith.muli %t, %d : index
    %dst = arith.addi %o_off, %dst_row : index
    scf.for %j = %tid to %d step %wg {
      %is = arith.addi %src, %j : index
      %id2 = arith.addi %dst, %j : index
      %x0 = memref.load %w[%is] : memref<?xf32>
      %x = arith.mulf %x0, %scale : f32
      memref.store %x, %act[%id2] : memref<?xf32>
    }
  }
  gpu.return
}
