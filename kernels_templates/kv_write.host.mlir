// kv_write.host.mlir: appends this step's keys and values to the paged KV
// cache (Kwon et al. 2023, "Efficient Memory Management for Large Language
// Model Serving with PagedAttention").
//
//   params: NAME, KVD (= n_kv_heads * head_dim), BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS (block-table row length), ROPE (1: rotate k first,
//           fuse-rope; 0: copy it), HEAD_DIM; the rotation (@NAME_cs, @NAME_apply
//           at @NAME_pair's elements, rope_rot.host.mlir: the style and a
//           partial rotary) has its own
//   args:   [k_off (act), v_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer]
//   extent: T tokens
// Token t at position p of sequence s lives in block
// blk = block_tables[s * MAX_BLOCKS + p / BLOCK_SIZE], slot p % BLOCK_SIZE;
// the pool layout (llmc_abi.h) is, in KV elements (f32 words, or 16-bit
// values two to a word with --kv-cache-dtype=f16|bf16: BLOCK_FLOATS counts
// elements here),
//   kv[blk * BLOCK_FLOATS + ((layer * 2 + kind) * BLOCK_SIZE + slot) * KVD + j]
// with kind 0 = K, 1 = V. Each token writes two contiguous rows of KVD
// elements, a head at a time through @NAME_kv_put (the kv_f32, kv_f16 or kv_bf16
// helper: the pool's element type); with ROPE the k pairs are rotated (as
// rope.host.mlir does) on their way to the cache.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %kvd = arith.constant {{KVD}} : index
  %bs = arith.constant {{BLOCK_SIZE}} : index
  %bf = arith.constant {{BLOCK_FLOATS}} : index
  %max_blocks = arith.constant {{MAX_BLOCKS}} : index
  %rope = arith.constant {{ROPE}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %half_hd = arith.divui %hd, %c2 : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %kvh = arith.divui %kvd, %hd : index
  %k_off_i = memref.load %args[%c0] : memref<?xi64>
  %v_off_i = memref.load %args[%c1] : memref<?xi64>
  %p_off_i = memref.load %args[%c2] : memref<?xi64>
  %s_off_i = memref.load %args[%c3] : memref<?xi64>
  %bt_off_i = memref.load %args[%c4] : memref<?xi64>
  %layer_i = memref.load %args[%c5] : memref<?xi64>
  %k_off = arith.index_cast %k_off_i : i64 to index
  %v_off = arith.index_cast %v_off_i : i64 to index
  %p_off = arith.index_cast %p_off_i : i64 to index
  %s_off = arith.index_cast %s_off_i : i64 to index
  %bt_off = arith.index_cast %bt_off_i : i64 to index
  %layer = arith.index_cast %layer_i : i64 to index
  // Row of K for slot 0 of this layer inside a block; V follows BLOCK_SIZE rows later.
  %l2 = arith.muli %layer, %c2 : index
  %k_rows = arith.muli %l2, %bs : index
  %k_layer = arith.muli %k_rows, %kvd : index
  %kind_stride = arith.muli %bs, %kvd : index
  %hrow = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  %cos = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  %sin = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  scf.for %t = %begin to %end step %c1 {
    %ip = arith.addi %p_off, %t : index
    %is = arith.addi %s_off, %t : index
    %pos_i = memref.load %meta[%ip] : memref<?xi32>
    %seq_i = memref.load %meta[%is] : memref<?xi32>
    %pos = arith.index_cast %pos_i : i32 to index
    %seq = arith.index_cast %seq_i : i32 to index
    %lb = arith.divui %pos, %bs : index
    %slot = arith.remui %pos, %bs : index
    %bt_row = arith.muli %seq, %max_blocks : index
    %ibt0 = arith.addi %bt_off, %bt_row : index
    %ibt = arith.addi %ibt0, %lb : index
    %blk_i = memref.load %meta[%ibt] : memref<?xi32>
    %blk = arith.index_cast %blk_i : i32 to index
    %blk_base = arith.muli %blk, %bf : index
    %slot_row = arith.muli %slot, %kvd : index
    %kb0 = arith.addi %blk_base, %k_layer : index
    %kb = arith.addi %kb0, %slot_row : index
    %vb = arith.addi %kb, %kind_stride : index
    %tr = arith.muli %t, %kvd : index
    %ks = arith.addi %k_off, %tr : index
    %vs = arith.addi %v_off, %tr : index
    // Each head's row goes to the pool through @NAME_kv_put (kv_f32,
    // kv_f16, kv_bf16: the pool's element type), k rotated first in a stack row.
    %pos_f = arith.sitofp %pos_i : i32 to f32
    // The token's cos and sin, once for all its heads (libm calls: the
    // kernel's cost).
    scf.if %rotate {
      scf.for %i = %c0 to %half_hd step %c1 {
        %c, %s = func.call @{{NAME}}_cs(%pos_f, %i) : (f32, index) -> (f32, f32)
        memref.store %c, %cos[%i] : memref<{{HEAD_DIM}}xf32>
        memref.store %s, %sin[%i] : memref<{{HEAD_DIM}}xf32>
      }
    }
    scf.for %h = %c0 to %kvh step %c1 {
      %hb = arith.muli %h, %hd : index
      %ksh = arith.addi %ks, %hb : index
      %kbh = arith.addi %kb, %hb : index
      %krow = scf.if %rotate -> (vector<{{HEAD_DIM}}xf32>) {
        scf.for %i = %c0 to %half_hd step %c1 {
          %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
          %is0 = arith.addi %ksh, %e0 : index
          %is1 = arith.addi %ksh, %e1 : index
          %x0 = memref.load %act[%is0] : memref<?xf32>
          %x1 = memref.load %act[%is1] : memref<?xf32>
          %c = memref.load %cos[%i] : memref<{{HEAD_DIM}}xf32>
          %s = memref.load %sin[%i] : memref<{{HEAD_DIM}}xf32>
          %y:2 = func.call @{{NAME}}_apply(%x0, %x1, %c, %s) : (f32, f32, f32, f32) -> (f32, f32)
          memref.store %y#0, %hrow[%e0] : memref<{{HEAD_DIM}}xf32>
          memref.store %y#1, %hrow[%e1] : memref<{{HEAD_DIM}}xf32>
        }
        %r = vector.load %hrow[%c0] : memref<{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
        scf.yield %r : vector<{{HEAD_DIM}}xf32>
      } else {
        %r = vector.load %act[%ksh] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
        scf.yield %r : vector<{{HEAD_DIM}}xf32>
      }
      func.call @{{NAME}}_kv_put(%kv, %kbh, %krow) : (memref<?xf32>, index, vector<{{HEAD_DIM}}xf32>) -> ()
      %vsh = arith.addi %vs, %hb : index
      %vbh = arith.addi %vb, %hb : index
      %vrow = vector.load %act[%vsh] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
      func.call @{{NAME}}_kv_put(%kv, %vbh, %vrow) : (memref<?xf32>, index, vector<{{HEAD_DIM}}xf32>) -> ()
    }
  }
  return
}
