// embedding.host.mlir: token embedding lookup, one row of D floats per token:
//   out[t*D + j] = table[id*D + j] * SCALE,  id = tokens[t]
//
//   params: NAME, D, SCALE (an f32 literal: Gemma's sqrt(hidden_size), else 1.0)
//   args:   [out_off (act), table_off (weights), tokens_off (meta), vocab]
//   extent: T tokens
// Ids are not clamped: the runtime validates them against vocab (args[3])
// before a step runs, so the kernel trusts them.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %scale = arith.constant {{SCALE}} : f32
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %d = arith.constant {{D}} : index
  %o_off_i = memref.load %args[%c0] : memref<?xi64>
  %tab_off_i = memref.load %args[%c1] : memref<?xi64>
  %tok_off_i = memref.load %args[%c2] : memref<?xi64>
  %o_off = arith.index_cast %o_off_i : i64 to index
  %tab_off = arith.index_cast %tab_off_i : i64 to index
  %tok_off = arith.index_cast %tok_off_i : i64 to index
  scf.for %t = %begin to %end step %c1 {
    %it = arith.addi %tok_off, %t : index
    %id_i = memref.load %meta[%it] : memref<?xi32>
    %id = arith.index_cast %id_i : i32 to index
    %src_row = arith.muli %id, %d : index
    %src = arith.addi %tab_off, %src_row : index
    %dst_row = arith.muli %t, %d : index
    %dst = arith.addi %o_off, %dst_row : index
    scf.for %j = %c0 to %d step %c1 {
      %is = arith.addi %src, %j : index
      %id2 = arith.addi %dst, %j : index
      %x0 = memref.load %w[%is] : memref<?xf32>
      %x = arith.mulf %x0, %scale : f32
      memref.store %x, %act[%id2] : memref<?xf32>
    }
  }
  return
}
