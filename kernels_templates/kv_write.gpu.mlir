// kv_write.gpu.mlir: appends this step's keys and values to the paged KV
// cache (Kwon et al. 2023, PagedAttention); the GPU form of kv_write.host.mlir.
//
//   params: NAME, KVD (= n_kv_heads * head_dim), BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS (block-table row length), WG (threads per workgroup),
//           ROPE (1: rotate k first, fuse-rope; 0: copy it), HEAD_DIM,
//           HALF_DIM; the rotation (@NAME_rot at @NAME_pair's elements,
//           rope_rot.gpu.mlir: the style and a partial rotary) has its own
//   args:   [k_off (act), v_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer]
//   extent: T tokens
//   grid:   (T, 1, 1) x (WG, 1, 1); workgroup t copies token t's K and V rows
//           (KVD floats each) with thread i moving elements i, i + WG, ...
// Token t at position p of sequence s goes to block
// blk = block_tables[s * MAX_BLOCKS + p / BLOCK_SIZE], slot p % BLOCK_SIZE,
//   kv[blk * BLOCK_FLOATS + ((layer * 2 + kind) * BLOCK_SIZE + slot) * KVD + j]
// with kind 0 = K, 1 = V (llmc_abi.h). With ROPE, thread i rotates the k
// pairs i, i + WG, ... (as rope.gpu.mlir does) on their way to the cache.
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
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
  %wg = arith.constant {{WG}} : index
  %rope = arith.constant {{ROPE}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %half_hd = arith.constant {{HALF_DIM}} : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %kvh = arith.divui %kvd, %hd : index
  %n_pairs = arith.muli %kvh, %half_hd : index
  %tid = gpu.thread_id x
  %t = gpu.block_id x
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %t, %rows : index
  scf.if %live {
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
    %l2 = arith.muli %layer, %c2 : index
    %k_rows = arith.muli %l2, %bs : index
    %k_layer = arith.muli %k_rows, %kvd : index
    %kind_stride = arith.muli %bs, %kvd : index
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
    scf.if %rotate {
      %pos_f = arith.sitofp %pos_i : i32 to f32
      scf.for %p = %tid to %n_pairs step %wg {
        %h = arith.divui %p, %half_hd : index
        %i = arith.remui %p, %half_hd : index
        %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
        %hb = arith.muli %h, %hd : index
        %j0 = arith.addi %hb, %e0 : index
        %j1 = arith.addi %hb, %e1 : index
        %is0 = arith.addi %ks, %j0 : index
        %is1 = arith.addi %ks, %j1 : index
        %id0 = arith.addi %kb, %j0 : index
        %id1 = arith.addi %kb, %j1 : index
        %x0 = memref.load %act[%is0] : memref<?xf32>
        %x1 = memref.load %act[%is1] : memref<?xf32>
        %y:2 = func.call @{{NAME}}_rot(%x0, %x1, %pos_f, %i) : (f32, f32, f32, index) -> (f32, f32)
        memref.store %y#0, %kv[%id0] : memref<?xf32>
        memref.store %y#1, %kv[%id1] : memref<?xf32>
      }
    } else {
      scf.for %j = %tid to %kvd step %wg {
        %iks = arith.addi %ks, %j : index
        %ikd = arith.addi %kb, %j : index
        %kx = memref.load %act[%iks] : memref<?xf32>
        memref.store %kx, %kv[%ikd] : memref<?xf32>
      }
    }
    scf.for %j = %tid to %kvd step %wg {
      %ivs = arith.addi %vs, %j : index
      %ivd = arith.addi %vb, %j : index
      %vx = memref.load %act[%ivs] : memref<?xf32>
      memref.store %vx, %kv[%ivd] : memref<?xf32>
    }
  }
  gpu.return
}
