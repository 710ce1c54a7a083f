// attention.gpu.mlir: causal paged decode/prefill attention with grouped-query
// heads, reading K and V through the block table; the GPU form of
// attention.host.mlir (same args, same extent).
//
//   params: NAME, N_HEADS, N_KV_HEADS, HEAD_DIM, BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS, SCALE (f32 literal, usually 1/sqrt(HEAD_DIM)),
//           ROPE (1: rotate q first, fuse-rope: thread i < HEAD_DIM/2
//           rotates pair i into workgroup memory; 0: thread d copies q[d]),
//           HALF_DIM, SOFTCAP (as in
//           attention.host.mlir), WINDOW (sliding
//           window: p attends to max(0, p-WINDOW+1)..p; 0: none); the rotation
//           (@NAME_rot, rope_rot.gpu.mlir) has its own
//   args:   [q_off (act), out_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer]
//   extent: T * N_HEADS items; item = token t * N_HEADS + head h, reading KV
//           head g = h / (N_HEADS / N_KV_HEADS) (GQA, Ainslie et al. 2023).
//   grid:   (T * N_HEADS, 1, 1) x (HEAD_DIM, 1, 1): one workgroup per
//           (token, head); thread d owns output dimension d.
// The token at position p of sequence s attends to positions lo..p of s
// (lo = 0, or p-WINDOW+1 with a window);
// position j lives in block block_tables[s * MAX_BLOCKS + j / BLOCK_SIZE],
// slot j % BLOCK_SIZE, at the offsets llmc_abi.h gives for kind 0 (K) / 1 (V),
// in elements (BLOCK_FLOATS counts them), read through the pool's helper
// (@NAME_kv_get: kv_f32, kv_f16, kv_bf16.gpu.mlir).
//
// One pass over the KV blocks with the online softmax (Milakov & Gimelshein
// 2018; FlashAttention-2, Dao 2023; per KV block as FlashDecoding reads the
// paged cache): q is staged in workgroup memory; for each block, thread
// j computes the score of slot j (a HEAD_DIM dot product) into
// workgroup memory; after a barrier every thread reads the block's scores,
// takes their max, rescales its running (l, acc_d) by exp(m_old - m_new)
// and adds p_j * v_j[d] (consecutive threads read consecutive floats of each
// V row). A second barrier guards the scores before the next block. Every
// thread computes the same m and l from the same values in the same order.
// Workgroup memory is address space 3 (NVVM shared, AMDGPU LDS, SPIR-V
// Workgroup). Not yet: split-KV across workgroups for long contexts (the
// FlashDecoding combine step), K/V tiles shared by the heads of a GQA group.
memref.global "private" @{{NAME}}_q : memref<{{HEAD_DIM}}xf32, 3>
memref.global "private" @{{NAME}}_scores : memref<{{BLOCK_SIZE}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{HEAD_DIM}}, 1, 1>} {
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
  %scale = arith.constant {{SCALE}} : f32
  %softcap = arith.constant {{SOFTCAP}} : f32
  %softcap_zero = arith.constant 0.0 : f32
  %softcapped = arith.cmpf one, %softcap, %softcap_zero : f32
  %window = arith.constant {{WINDOW}} : index
  %windowed = arith.cmpi ne, %window, %c0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %group = arith.divui %n_heads, %n_kv_heads : index
  %kvd = arith.muli %n_kv_heads, %hd : index
  %row_len = arith.muli %n_heads, %hd : index
  %rope = arith.constant {{ROPE}} : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %half_hd = arith.constant {{HALF_DIM}} : index
  %q_sh = memref.get_global @{{NAME}}_q : memref<{{HEAD_DIM}}xf32, 3>
  %scores = memref.get_global @{{NAME}}_scores : memref<{{BLOCK_SIZE}}xf32, 3>
  %tid = gpu.thread_id x
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
    // The first position attended, lo, and its block jb0.
    %in_win = arith.cmpi ult, %pos, %window : index
    %lo_w = arith.subi %n_ctx, %window : index
    %lo = arith.select %in_win, %c0, %lo_w : index
    %lo_eff = arith.select %windowed, %lo, %c0 : index
    %jb0 = arith.divui %lo_eff, %bs : index
    %last_blk = arith.divui %pos, %bs : index
    %n_blk = arith.addi %last_blk, %c1 : index
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
      %iq = arith.addi %q_at, %tid : index
      %q_d = memref.load %act[%iq] : memref<?xf32>
      memref.store %q_d, %q_sh[%tid] : memref<{{HEAD_DIM}}xf32, 3>
    }
    gpu.barrier
    %g_col = arith.muli %g, %hd : index
    %res:3 = scf.for %jb = %jb0 to %n_blk step %c1 iter_args(%m0 = %ninf, %l0 = %zero, %acc0 = %zero) -> (f32, f32, f32) {
      %ibt = arith.addi %bt_row, %jb : index
      %blk_i = memref.load %meta[%ibt] : memref<?xi32>
      %blk = arith.index_cast %blk_i : i32 to index
      %blk_base = arith.muli %blk, %bf : index
      %kb0 = arith.addi %blk_base, %k_layer : index
      %kb = arith.addi %kb0, %g_col : index
      %vb = arith.addi %kb, %kind_stride : index
      %first = arith.muli %jb, %bs : index
      %left = arith.subi %n_ctx, %first : index
      %n_slots = arith.minui %left, %bs : index
      // Slots before s0 are outside the window.
      %before = arith.cmpi ugt, %lo_eff, %first : index
      %skip = arith.subi %lo_eff, %first : index
      %s0 = arith.select %before, %skip, %c0 : index
      %j0 = arith.addi %s0, %tid : index
      // Thread j scores slots s0 + j, s0 + j + HEAD_DIM, ... (one slot each
      // when BLOCK_SIZE <= HEAD_DIM, the usual case).
      scf.for %j = %j0 to %n_slots step %hd {
        %srow = arith.muli %j, %kvd : index
        %ik = arith.addi %kb, %srow : index
        %dot = scf.for %e = %c0 to %hd step %c1 iter_args(%acc = %zero) -> (f32) {
          %qe = memref.load %q_sh[%e] : memref<{{HEAD_DIM}}xf32, 3>
          %ike = arith.addi %ik, %e : index
          %ke = func.call @{{NAME}}_kv_get(%kv, %ike) : (memref<?xf32>, index) -> f32
          %qk = arith.mulf %qe, %ke : f32
          %next = arith.addf %acc, %qk : f32
          scf.yield %next : f32
        }
        %score_raw = arith.mulf %dot, %scale : f32
        %score = scf.if %softcapped -> (f32) {
          %score_u = arith.divf %score_raw, %softcap : f32
          %score_t = math.tanh %score_u : f32
          %score_c = arith.mulf %score_t, %softcap : f32
          scf.yield %score_c : f32
        } else {
          scf.yield %score_raw : f32
        }
        memref.store %score, %scores[%j] : memref<{{BLOCK_SIZE}}xf32, 3>
      }
      gpu.barrier
      %bm = scf.for %slot = %s0 to %n_slots step %c1 iter_args(%mx = %ninf) -> (f32) {
        %sc = memref.load %scores[%slot] : memref<{{BLOCK_SIZE}}xf32, 3>
        %mx_new = arith.maximumf %mx, %sc : f32
        scf.yield %mx_new : f32
      }
      // Online softmax update: rescale what came before by exp(m_old - m_new).
      %m_new = arith.maximumf %m0, %bm : f32
      %dm = arith.subf %m0, %m_new : f32
      %corr = math.exp %dm : f32
      %l_c = arith.mulf %l0, %corr : f32
      %acc_c = arith.mulf %acc0, %corr : f32
      %upd:2 = scf.for %slot = %s0 to %n_slots step %c1 iter_args(%ps = %zero, %acc = %acc_c) -> (f32, f32) {
        %sc = memref.load %scores[%slot] : memref<{{BLOCK_SIZE}}xf32, 3>
        %ds = arith.subf %sc, %m_new : f32
        %p = math.exp %ds : f32
        %srow = arith.muli %slot, %kvd : index
        %iv0 = arith.addi %vb, %srow : index
        %iv = arith.addi %iv0, %tid : index
        %v = func.call @{{NAME}}_kv_get(%kv, %iv) : (memref<?xf32>, index) -> f32
        %pv = arith.mulf %p, %v : f32
        %acc_next = arith.addf %acc, %pv : f32
        %ps_next = arith.addf %ps, %p : f32
        scf.yield %ps_next, %acc_next : f32, f32
      }
      %l_new = arith.addf %l_c, %upd#0 : f32
      gpu.barrier
      scf.yield %m_new, %l_new, %upd#1 : f32, f32, f32
    }
    %inv_l = arith.divf %one, %res#1 : f32
    %out = arith.mulf %res#2, %inv_l : f32
    %o_row = arith.addi %o_off, %t_row : index
    %o_at = arith.addi %o_row, %h_col : index
    %io = arith.addi %o_at, %tid : index
    memref.store %out, %act[%io] : memref<?xf32>
  }
  gpu.return
}
