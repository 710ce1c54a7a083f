// attention_warp.gpu.mlir: causal paged attention with grouped-query heads,
// the same op as attention.gpu.mlir (same args, extent, numerics contract)
// with the key positions spread over the warps of a workgroup and each
// score reduced by a warp shuffle tree, for NVIDIA and AMD (shuffles).
//
//   params: NAME, N_HEADS, N_KV_HEADS, HEAD_DIM, BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS, SCALE, ROPE, HALF_DIM, SOFTCAP, WINDOW (as attention.gpu.mlir),
//           WARPS (warps per workgroup), WS (lanes per warp), DPL (= HEAD_DIM
//           / WS: dimensions a lane holds), THREADS (= WARPS * WS); the
//           rotation (@NAME_rot, rope_rot.gpu.mlir) has its own
//   args:   [q_off (act), out_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer], and with KVW
//            [6] k_off, [7] v_off (act: the kv_write's k and v rows)
//   extent: T * N_HEADS items, one workgroup each (token t, head h)
//   grid:   (T * N_HEADS, 1, 1) x (THREADS, 1, 1)
// q is staged in workgroup memory (rotated there with ROPE). Warp w takes
// the positions w, w + WARPS, ... of 0..p (two a trip); lane l holds dimensions l * DPL ..
// l * DPL + DPL - 1 of q, of each key row (coalesced across the warp) and of
// its accumulator. A score is the lanes' partial dot products summed by a
// gpu.shuffle xor tree (every lane gets it), then each warp keeps its own
// online softmax (running max m, sum l, accumulator rescaled by
// exp(m_old - m_new): Milakov & Gimelshein 2018, FlashAttention-2). At the
// end the warps' (m, l, acc) meet in workgroup memory and thread d < HEAD_DIM
// combines them for output dimension d (the FlashDecoding combine, inside
// one workgroup). With KVW (per-target fusion at decode, T = 1: the
// kv_write this attention reads the cache from) the workgroup also stages
// this token's k (rotated with ROPE) and v rows of its kv head, takes
// position p from them instead of the cache, and the first q head of each
// group writes them into the cache, so no other workgroup reads a row
// being written; the staged rows are rounded as the pool stores them
// (@NAME_kv_round), so position p reads what a cached row would. The pool's
// elements are read and written through its helper (kv_f32, kv_f16,
// kv_bf16.gpu.mlir; BLOCK_FLOATS counts elements). Compared with attention.gpu.mlir, which scores a block's
// positions with one thread each and walks the blocks in turn, the work on
// a long context is split WARPS ways and no barrier is taken per block.
memref.global "private" @{{NAME}}_q : memref<{{HEAD_DIM}}xf32, 3>
memref.global "private" @{{NAME}}_k : memref<{{HEAD_DIM}}xf32, 3>
memref.global "private" @{{NAME}}_v : memref<{{HEAD_DIM}}xf32, 3>
memref.global "private" @{{NAME}}_m : memref<{{WARPS}}xf32, 3>
memref.global "private" @{{NAME}}_l : memref<{{WARPS}}xf32, 3>
memref.global "private" @{{NAME}}_acc : memref<{{WARPS}}x{{HEAD_DIM}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{THREADS}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %n_heads = arith.constant {{N_HEADS}} : index
  %n_kv_heads = arith.constant {{N_KV_HEADS}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %bs = arith.constant {{BLOCK_SIZE}} : index
  %bf = arith.constant {{BLOCK_FLOATS}} : index
  %max_blocks = arith.constant {{MAX_BLOCKS}} : index
  %warps = arith.constant {{WARPS}} : index
  %ws = arith.constant {{WS}} : index
  %dpl = arith.constant {{DPL}} : index
  %scale = arith.constant {{SCALE}} : f32
  %softcap = arith.constant {{SOFTCAP}} : f32
  %softcap_zero = arith.constant 0.0 : f32
  %softcapped = arith.cmpf one, %softcap, %softcap_zero : f32
  %window = arith.constant {{WINDOW}} : index
  %windowed = arith.cmpi ne, %window, %c0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %zero_v = arith.constant dense<0.0> : vector<{{DPL}}xf32>
  %width = arith.constant {{WS}} : i32
  %one_i = arith.constant 1 : i32
  %steps = arith.constant {{LOG2_WS}} : index
  %group = arith.divui %n_heads, %n_kv_heads : index
  %kvd = arith.muli %n_kv_heads, %hd : index
  %row_len = arith.muli %n_heads, %hd : index
  %rope = arith.constant {{ROPE}} : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %half_hd = arith.constant {{HALF_DIM}} : index
  %q_sh = memref.get_global @{{NAME}}_q : memref<{{HEAD_DIM}}xf32, 3>
  %k_sh = memref.get_global @{{NAME}}_k : memref<{{HEAD_DIM}}xf32, 3>
  %v_sh = memref.get_global @{{NAME}}_v : memref<{{HEAD_DIM}}xf32, 3>
  %kvw = arith.constant {{KVW}} : index
  %fused = arith.cmpi ne, %kvw, %c0 : index
  %m_sh = memref.get_global @{{NAME}}_m : memref<{{WARPS}}xf32, 3>
  %l_sh = memref.get_global @{{NAME}}_l : memref<{{WARPS}}xf32, 3>
  %acc_sh = memref.get_global @{{NAME}}_acc : memref<{{WARPS}}x{{HEAD_DIM}}xf32, 3>
  %tid = gpu.thread_id x
  %warp = arith.divui %tid, %ws : index
  %lane = arith.remui %tid, %ws : index
  %item = gpu.block_id x
  %items = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %item, %items : index
  scf.if %live {
    %q_off_i = memref.load %args[%c0] : memref<?xi64>
    %o_off_i = memref.load %args[%c1] : memref<?xi64>
    %p_off_i = memref.load %args[%c2] : memref<?xi64>
    %s_off_i = memref.load %args[%c3] : memref<?xi64>
    %bt_off_i = memref.load %args[%c4] : memref<?xi64>
    %layer_i = memref.load %args[%c5] : memref<?xi64>
    %q_off = arith.index_cast %q_off_i : i64 to index
    %o_off = arith.index_cast %o_off_i : i64 to index
    %p_off = arith.index_cast %p_off_i : i64 to index
    %s_off = arith.index_cast %s_off_i : i64 to index
    %bt_off = arith.index_cast %bt_off_i : i64 to index
    %layer = arith.index_cast %layer_i : i64 to index
    %l2 = arith.muli %layer, %c2 : index
    %k_rows = arith.muli %l2, %bs : index
    %k_layer = arith.muli %k_rows, %kvd : index
    %kind_stride = arith.muli %bs, %kvd : index
    %t = arith.divui %item, %n_heads : index
    %h = arith.remui %item, %n_heads : index
    %g = arith.divui %h, %group : index
    %ip = arith.addi %p_off, %t : index
    %is = arith.addi %s_off, %t : index
    %pos_i = memref.load %meta[%ip] : memref<?xi32>
    %seq_i = memref.load %meta[%is] : memref<?xi32>
    %pos = arith.index_cast %pos_i : i32 to index
    %seq = arith.index_cast %seq_i : i32 to index
    %n_ctx = arith.addi %pos, %c1 : index
    // The first position attended: 0, or pos - WINDOW + 1 with a window.
    %in_win = arith.cmpi ult, %pos, %window : index
    %lo_w = arith.subi %n_ctx, %window : index
    %lo = arith.select %in_win, %c0, %lo_w : index
    %lo_eff = arith.select %windowed, %lo, %c0 : index
    %bt_row0 = arith.muli %seq, %max_blocks : index
    %bt_row = arith.addi %bt_off, %bt_row0 : index
    %t_row = arith.muli %t, %row_len : index
    %h_col = arith.muli %h, %hd : index
    %q_row = arith.addi %q_off, %t_row : index
    %q_at = arith.addi %q_row, %h_col : index
    scf.if %rotate {
      %pair = arith.cmpi ult, %tid, %half_hd : index
      scf.if %pair {
        %pos_f = arith.sitofp %pos_i : i32 to f32
        %e0, %e1 = func.call @{{NAME}}_pair(%tid) : (index) -> (index, index)
        %iq0 = arith.addi %q_at, %e0 : index
        %iq1 = arith.addi %q_at, %e1 : index
        %x0 = memref.load %act[%iq0] : memref<?xf32>
        %x1 = memref.load %act[%iq1] : memref<?xf32>
        %y:2 = func.call @{{NAME}}_rot(%x0, %x1, %pos_f, %tid) : (f32, f32, f32, index) -> (f32, f32)
        memref.store %y#0, %q_sh[%e0] : memref<{{HEAD_DIM}}xf32, 3>
        memref.store %y#1, %q_sh[%e1] : memref<{{HEAD_DIM}}xf32, 3>
      }
    } else {
      %dim = arith.cmpi ult, %tid, %hd : index
      scf.if %dim {
        %iq = arith.addi %q_at, %tid : index
        %q_d = memref.load %act[%iq] : memref<?xf32>
        memref.store %q_d, %q_sh[%tid] : memref<{{HEAD_DIM}}xf32, 3>
      }
    }
    // KVW: this token's k (rotated as kv_write would) and v rows of kv
    // head g, into workgroup memory.
    %kvd_t = arith.muli %t, %kvd : index
    %g_hd = arith.muli %g, %hd : index
    scf.if %fused {
      %c6 = arith.constant 6 : index
      %c7 = arith.constant 7 : index
      %k_off_i = memref.load %args[%c6] : memref<?xi64>
      %v_off_i = memref.load %args[%c7] : memref<?xi64>
      %k_off = arith.index_cast %k_off_i : i64 to index
      %v_off = arith.index_cast %v_off_i : i64 to index
      %k_row = arith.addi %k_off, %kvd_t : index
      %k_at = arith.addi %k_row, %g_hd : index
      %v_row = arith.addi %v_off, %kvd_t : index
      %v_at = arith.addi %v_row, %g_hd : index
      %dimk = arith.cmpi ult, %tid, %hd : index
      scf.if %dimk {
        %iv = arith.addi %v_at, %tid : index
        %v_d0 = memref.load %act[%iv] : memref<?xf32>
        %v_d = func.call @{{NAME}}_kv_round(%v_d0) : (f32) -> f32
        memref.store %v_d, %v_sh[%tid] : memref<{{HEAD_DIM}}xf32, 3>
      }
      scf.if %rotate {
        %pairk = arith.cmpi ult, %tid, %half_hd : index
        scf.if %pairk {
          %pos_fk = arith.sitofp %pos_i : i32 to f32
          %f0, %f1 = func.call @{{NAME}}_pair(%tid) : (index) -> (index, index)
          %ik0 = arith.addi %k_at, %f0 : index
          %ik1 = arith.addi %k_at, %f1 : index
          %y0 = memref.load %act[%ik0] : memref<?xf32>
          %y1 = memref.load %act[%ik1] : memref<?xf32>
          %z:2 = func.call @{{NAME}}_rot(%y0, %y1, %pos_fk, %tid) : (f32, f32, f32, index) -> (f32, f32)
          %z0 = func.call @{{NAME}}_kv_round(%z#0) : (f32) -> f32
          %z1 = func.call @{{NAME}}_kv_round(%z#1) : (f32) -> f32
          memref.store %z0, %k_sh[%f0] : memref<{{HEAD_DIM}}xf32, 3>
          memref.store %z1, %k_sh[%f1] : memref<{{HEAD_DIM}}xf32, 3>
        }
      } else {
        scf.if %dimk {
          %ik = arith.addi %k_at, %tid : index
          %k_d0 = memref.load %act[%ik] : memref<?xf32>
          %k_d = func.call @{{NAME}}_kv_round(%k_d0) : (f32) -> f32
          memref.store %k_d, %k_sh[%tid] : memref<{{HEAD_DIM}}xf32, 3>
        }
      }
    }
    gpu.barrier
    // KVW: the first q head of each group writes the rows into the cache
    // (position p of the sequence: block table entry p / BLOCK_SIZE, slot
    // p % BLOCK_SIZE), which the others never read.
    %g_first = arith.muli %g, %group : index
    %is_first = arith.cmpi eq, %h, %g_first : index
    %hd_pairs = arith.divui %hd, %c2 : index
    %dimw = arith.cmpi ult, %tid, %hd_pairs : index
    %writes0 = arith.andi %fused, %is_first : i1
    %writes = arith.andi %writes0, %dimw : i1
    scf.if %writes {
      %pb = arith.divui %pos, %bs : index
      %pslot = arith.remui %pos, %bs : index
      %ipb = arith.addi %bt_row, %pb : index
      %pblk_i = memref.load %meta[%ipb] : memref<?xi32>
      %pblk = arith.index_cast %pblk_i : i32 to index
      %pbase = arith.muli %pblk, %bf : index
      %pk0 = arith.addi %pbase, %k_layer : index
      %psrow = arith.muli %pslot, %kvd : index
      %pk1 = arith.addi %pk0, %psrow : index
      %pk2 = arith.addi %pk1, %g_hd : index
      %d2 = arith.muli %tid, %c2 : index
      %d21 = arith.addi %d2, %c1 : index
      %pk = arith.addi %pk2, %d2 : index
      %pvw = arith.addi %pk, %kind_stride : index
      %kw = memref.load %k_sh[%d2] : memref<{{HEAD_DIM}}xf32, 3>
      %kw1 = memref.load %k_sh[%d21] : memref<{{HEAD_DIM}}xf32, 3>
      %vw = memref.load %v_sh[%d2] : memref<{{HEAD_DIM}}xf32, 3>
      %vw1 = memref.load %v_sh[%d21] : memref<{{HEAD_DIM}}xf32, 3>
      func.call @{{NAME}}_kv_put2(%kv, %pk, %kw, %kw1) : (memref<?xf32>, index, f32, f32) -> ()
      func.call @{{NAME}}_kv_put2(%kv, %pvw, %vw, %vw1) : (memref<?xf32>, index, f32, f32) -> ()
    }
    %d0 = arith.muli %lane, %dpl : index
    %qv = vector.load %q_sh[%d0] : memref<{{HEAD_DIM}}xf32, 3>, vector<{{DPL}}xf32>
    %g_col = arith.muli %g, %hd : index
    %lane_col = arith.addi %g_col, %d0 : index
    // Two positions a trip, j and j + WARPS, their key and value rows
    // loaded before either score is reduced, so a warp waits for one
    // chain of dependent loads (block table, row) per two positions. The
    // second is clamped to j past the context and scores -inf there (the
    // first is always live, so m is finite by then and exp(-inf) adds 0). A
    // warp with no position (a context or window shorter than WARPS) keeps
    // m = -inf and l = 0, which the combine below weighs by exp(-inf) = 0.
    %warps2 = arith.muli %warps, %c2 : index
    %kcur = vector.load %k_sh[%d0] : memref<{{HEAD_DIM}}xf32, 3>, vector<{{DPL}}xf32>
    %vcur = vector.load %v_sh[%d0] : memref<{{HEAD_DIM}}xf32, 3>, vector<{{DPL}}xf32>
    %j_first = arith.addi %lo_eff, %warp : index
    %res:3 = scf.for %j = %j_first to %n_ctx step %warps2 iter_args(%m0 = %ninf, %l0 = %zero, %acc0 = %zero_v) -> (f32, f32, vector<{{DPL}}xf32>) {
      %j2r = arith.addi %j, %warps : index
      %live2 = arith.cmpi ult, %j2r, %n_ctx : index
      %j2 = arith.select %live2, %j2r, %j : index
      %jb = arith.divui %j, %bs : index
      %slot = arith.remui %j, %bs : index
      %ibt = arith.addi %bt_row, %jb : index
      %jb2 = arith.divui %j2, %bs : index
      %slot2 = arith.remui %j2, %bs : index
      %ibt2 = arith.addi %bt_row, %jb2 : index
      %blk_i = memref.load %meta[%ibt] : memref<?xi32>
      %blk2_i = memref.load %meta[%ibt2] : memref<?xi32>
      %blk = arith.index_cast %blk_i : i32 to index
      %blk_base = arith.muli %blk, %bf : index
      %kb0 = arith.addi %blk_base, %k_layer : index
      %srow = arith.muli %slot, %kvd : index
      %kb1 = arith.addi %kb0, %srow : index
      %kb = arith.addi %kb1, %lane_col : index
      %vb = arith.addi %kb, %kind_stride : index
      %blk2 = arith.index_cast %blk2_i : i32 to index
      %blk_base2 = arith.muli %blk2, %bf : index
      %kb02 = arith.addi %blk_base2, %k_layer : index
      %srow2 = arith.muli %slot2, %kvd : index
      %kb12 = arith.addi %kb02, %srow2 : index
      %kb2 = arith.addi %kb12, %lane_col : index
      %vb2 = arith.addi %kb2, %kind_stride : index
      %kc_k = func.call @{{NAME}}_kv_getv(%kv, %kb) : (memref<?xf32>, index) -> vector<{{DPL}}xf32>
      %kc_k2 = func.call @{{NAME}}_kv_getv(%kv, %kb2) : (memref<?xf32>, index) -> vector<{{DPL}}xf32>
      %vc = func.call @{{NAME}}_kv_getv(%kv, %vb) : (memref<?xf32>, index) -> vector<{{DPL}}xf32>
      %vc2 = func.call @{{NAME}}_kv_getv(%kv, %vb2) : (memref<?xf32>, index) -> vector<{{DPL}}xf32>
      // KVW: position p is this token's, from workgroup memory (its cache
      // row may not be written yet; what the load read is not used).
      %at_p = arith.cmpi eq, %j, %pos : index
      %at_p2 = arith.cmpi eq, %j2, %pos : index
      %cur = arith.andi %fused, %at_p : i1
      %cur2 = arith.andi %fused, %at_p2 : i1
      %kv_k = arith.select %cur, %kcur, %kc_k : vector<{{DPL}}xf32>
      %kv_k2 = arith.select %cur2, %kcur, %kc_k2 : vector<{{DPL}}xf32>
      %vv = arith.select %cur, %vcur, %vc : vector<{{DPL}}xf32>
      %vv2 = arith.select %cur2, %vcur, %vc2 : vector<{{DPL}}xf32>
      %prod = arith.mulf %qv, %kv_k : vector<{{DPL}}xf32>
      %part = vector.reduction <add>, %prod : vector<{{DPL}}xf32> into f32
      %prod2 = arith.mulf %qv, %kv_k2 : vector<{{DPL}}xf32>
      %part2 = vector.reduction <add>, %prod2 : vector<{{DPL}}xf32> into f32
      // The warp's sums, on every lane: xor trees over WS lanes.
      %dots:2 = scf.for %i = %c0 to %steps step %c1 iter_args(%v = %part, %v2 = %part2) -> (f32, f32) {
        %ii = arith.index_cast %i : index to i32
        %sh = arith.addi %ii, %one_i : i32
        %off = arith.shrui %width, %sh : i32
        %o, %ok = gpu.shuffle xor %v, %off, %width : f32
        %o2, %ok2 = gpu.shuffle xor %v2, %off, %width : f32
        %nv = arith.addf %v, %o : f32
        %nv2 = arith.addf %v2, %o2 : f32
        scf.yield %nv, %nv2 : f32, f32
      }
      %s_raw = arith.mulf %dots#0, %scale : f32
      %s = scf.if %softcapped -> (f32) {
        %s_u = arith.divf %s_raw, %softcap : f32
        %s_t = math.tanh %s_u : f32
        %s_c = arith.mulf %s_t, %softcap : f32
        scf.yield %s_c : f32
      } else {
        scf.yield %s_raw : f32
      }
      %m_new = arith.maximumf %m0, %s : f32
      %dm = arith.subf %m0, %m_new : f32
      %corr = math.exp %dm : f32
      %ds = arith.subf %s, %m_new : f32
      %p = math.exp %ds : f32
      %l_c = arith.mulf %l0, %corr : f32
      %l_new = arith.addf %l_c, %p : f32
      %corr_v = vector.broadcast %corr : f32 to vector<{{DPL}}xf32>
      %p_v = vector.broadcast %p : f32 to vector<{{DPL}}xf32>
      %acc_c = arith.mulf %acc0, %corr_v : vector<{{DPL}}xf32>
      %pv = arith.mulf %p_v, %vv : vector<{{DPL}}xf32>
      %acc_new = arith.addf %acc_c, %pv : vector<{{DPL}}xf32>
      %s2raw = arith.mulf %dots#1, %scale : f32
      %s2r = scf.if %softcapped -> (f32) {
        %s2r_u = arith.divf %s2raw, %softcap : f32
        %s2r_t = math.tanh %s2r_u : f32
        %s2r_c = arith.mulf %s2r_t, %softcap : f32
        scf.yield %s2r_c : f32
      } else {
        scf.yield %s2raw : f32
      }
      %s2 = arith.select %live2, %s2r, %ninf : f32
      %m_new2 = arith.maximumf %m_new, %s2 : f32
      %dm2 = arith.subf %m_new, %m_new2 : f32
      %corr2 = math.exp %dm2 : f32
      %ds2 = arith.subf %s2, %m_new2 : f32
      %p2 = math.exp %ds2 : f32
      %l_c2 = arith.mulf %l_new, %corr2 : f32
      %l_new2 = arith.addf %l_c2, %p2 : f32
      %corr2_v = vector.broadcast %corr2 : f32 to vector<{{DPL}}xf32>
      %p2_v = vector.broadcast %p2 : f32 to vector<{{DPL}}xf32>
      %acc_c2 = arith.mulf %acc_new, %corr2_v : vector<{{DPL}}xf32>
      %pv2 = arith.mulf %p2_v, %vv2 : vector<{{DPL}}xf32>
      %acc_new2 = arith.addf %acc_c2, %pv2 : vector<{{DPL}}xf32>
      scf.yield %m_new2, %l_new2, %acc_new2 : f32, f32, vector<{{DPL}}xf32>
    }
    // The warps' states meet: thread d combines output dimension d.
    %lead = arith.cmpi eq, %lane, %c0 : index
    scf.if %lead {
      memref.store %res#0, %m_sh[%warp] : memref<{{WARPS}}xf32, 3>
      memref.store %res#1, %l_sh[%warp] : memref<{{WARPS}}xf32, 3>
    }
    vector.store %res#2, %acc_sh[%warp, %d0] : memref<{{WARPS}}x{{HEAD_DIM}}xf32, 3>, vector<{{DPL}}xf32>
    gpu.barrier
    %out_dim = arith.cmpi ult, %tid, %hd : index
    scf.if %out_dim {
      %mx = scf.for %u = %c0 to %warps step %c1 iter_args(%mm = %ninf) -> (f32) {
        %mu = memref.load %m_sh[%u] : memref<{{WARPS}}xf32, 3>
        %mm2 = arith.maximumf %mm, %mu : f32
        scf.yield %mm2 : f32
      }
      %tot:2 = scf.for %u = %c0 to %warps step %c1 iter_args(%ls = %zero, %os = %zero) -> (f32, f32) {
        %mu = memref.load %m_sh[%u] : memref<{{WARPS}}xf32, 3>
        %lu = memref.load %l_sh[%u] : memref<{{WARPS}}xf32, 3>
        %au = memref.load %acc_sh[%u, %tid] : memref<{{WARPS}}x{{HEAD_DIM}}xf32, 3>
        %du = arith.subf %mu, %mx : f32
        %fu = math.exp %du : f32
        %lf = arith.mulf %lu, %fu : f32
        %af = arith.mulf %au, %fu : f32
        %ls2 = arith.addf %ls, %lf : f32
        %os2 = arith.addf %os, %af : f32
        scf.yield %ls2, %os2 : f32, f32
      }
      %inv_l = arith.divf %one, %tot#0 : f32
      %out = arith.mulf %tot#1, %inv_l : f32
      %o_row = arith.addi %o_off, %t_row : index
      %o_at = arith.addi %o_row, %h_col : index
      %io = arith.addi %o_at, %tid : index
      memref.store %out, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
