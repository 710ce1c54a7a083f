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
//           (KVD values each) with thread i moving element pairs i, i + WG, ...
// Token t at position p of sequence s goes to block
// blk = block_tables[s * MAX_BLOCKS + p / BLOCK_SIZE], slot p % BLOCK_SIZE,
//   element blk * BLOCK_FLOATS + ((layer * 2 + kind) * BLOCK_SIZE + slot) * KVD + j
// with kind 0 = K, 1 = V (llmc_abi.h); BLOCK_FLOATS counts elements, which
// the pool's helper (@NAME_kv_put2: kv_f32, kv_f16, kv_bf16.gpu.mlir) stores
// two at a time (16-bit ones share a word). K goes through a workgroup row
// first: with ROPE thread i rotates the k pairs i, i + WG, ... (as
// rope.gpu.mlir does, pairs that need not be adjacent) into it.
memref.global "private" @{{NAME}}_row : memref<{{KVD}}xf32, 3>
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
    %row = memref.get_global @{{NAME}}_row : memref<{{KVD}}xf32, 3>
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
        %x0 = memref.load %act[%is0] : memref<?xf32>
        %x1 = memref.load %act[%is1] : memref<?xf32>
        %y:2 = func.call @{{NAME}}_rot(%x0, %x1, %pos_f, %i) : (f32, f32, f32, index) -> (f32, f32)
        memref.store %y#0, %row[%j0] : memref<{{KVD}}xf32, 3>
        memref.store %y#1, %row[%j1] : memref<{{KVD}}xf32, 3>
      }
    } else {
      scf.for %j = %tid to %kvd step %wg {
        %iks = arith.addi %ks, %j : index
        %kx = memref.load %act[%iks] : memref<?xf32>
        memref.store %kx, %row[%j] : memref<{{KVD}}xf32, 3>
      }
    }
    gpu.barrier
    %n_two = arith.divui %kvd, %c2 : index
    scf.for %q = %tid to %n_two step %wg {
      %j = arith.muli %q, %c2 : index
      %j1 = arith.addi %j, %c1 : index
      %ka = memref.load %row[%j] : memref<{{KVD}}xf32, 3>
      %kb2 = memref.load %row[%j1] : memref<{{KVD}}xf32, 3>
      %ikd = arith.addi %kb, %j : index
      func.call @{{NAME}}_kv_put2(%kv, %ikd, %ka, %kb2) : (memref<?xf32>, index, f32, f32) -> ()
      %ivs = arith.addi %vs, %j : index
      %ivs1 = arith.addi %ivs, %c1 : index
      %va = memref.load %act[%ivs] : memref<?xf32>
      %vb2 = memref.load %act[%ivs1] : memref<?xf32>
      %ivd = arith.addi %vb, %j : index
      func.call @{{NAME}}_kv_put2(%kv, %ivd, %va, %vb2) : (memref<?xf32>, index, f32, f32) -> ()
    }
    // An odd KVD (f32 only: a 16-bit pool has an even head_dim) leaves the
    // last element of each row, element and word alike.
    %kvd_odd = arith.remui %kvd, %c2 : index
    %last = arith.cmpi eq, %kvd_odd, %c1 : index
    %t0 = arith.cmpi eq, %tid, %c0 : index
    %tail = arith.andi %last, %t0 : i1
    scf.if %tail {
      %jl = arith.subi %kvd, %c1 : index
      %kl = memref.load %row[%jl] : memref<{{KVD}}xf32, 3>
      %ikl = arith.addi %kb, %jl : index
      memref.store %kl, %kv[%ikl] : memref<?xf32>
      %ivl = arith.addi %vs, %jl : index
      %vl = memref.load %act[%ivl] : memref<?xf32>
      %ivdl = arith.addi %vb, %jl : index
      memref.store %vl, %kv[%ivdl] : memref<?xf32>
    }
  }
  gpu.return
}
