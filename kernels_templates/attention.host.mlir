// attention.host.mlir: causal paged attention with grouped-query heads, one
// (token, head) pair per item, reading K and V through the block table.
//
//   params: NAME, N_HEADS, N_KV_HEADS, HEAD_DIM, BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS, SCALE (f32 literal, usually 1/sqrt(HEAD_DIM)),
//           ROPE (1: q is rotated first, fuse-rope, into a stack copy),
//           SOFTCAP (f32 literal: scores
//           become tanh(s / SOFTCAP) * SOFTCAP, Gemma 2; 0.0: none),
//           WINDOW (sliding window: the
//           token at p attends to max(0, p-WINDOW+1)..p; 0: no window); the
//           rotation (@NAME_cs, @NAME_apply, rope_rot.host.mlir) and the exp (@NAME_exp,
//           exp_vec.host.mlir) have their own
//   args:   [q_off (act), out_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer]
//   extent: T * N_HEADS items; item i is token t = i / N_HEADS, head
//           h = i % N_HEADS, which reads KV head g = h / (N_HEADS / N_KV_HEADS)
//           (GQA: Ainslie et al. 2023).
// The token at position p of sequence s attends to cache positions lo..p of s
// (lo = 0, or p-WINDOW+1 with a window; kv_write for this step has already
// run, so p itself is in the cache);
// position j lives in block block_tables[s * MAX_BLOCKS + j / BLOCK_SIZE],
// slot j % BLOCK_SIZE, at the offsets llmc_abi.h gives for kind 0 (K) / 1 (V),
// in KV elements (BLOCK_FLOATS counts elements: f32 words, or 16-bit values
// with --kv-cache-dtype=f16|bf16), each row read and widened to f32 by
// @NAME_kv_row (the kv_f32, kv_f16 or kv_bf16 helper).
//
//   out[t*N_HEADS*HEAD_DIM + h*HEAD_DIM + d] = sum_j softmax_j(SCALE * q.k_j) v_j[d]
//
// One pass with the online softmax (Milakov & Gimelshein 2018, "Online
// normalizer calculation for softmax"; as in FlashAttention-2, Dao 2023):
// a running max m, running sum l and accumulator acc (a vector<HEAD_DIM>
// loop-carried value) are rescaled by exp(m_old - m_new) when the max grows,
// so the score row is never materialised and K/V are read once. The update
// is done per KV block, as FlashAttention-2 does per key tile: the block's
// scores (at most BLOCK_SIZE, in a stack scratch), its max, one rescale of
// (l, acc), then exp of every score (a vector of BLOCK_SIZE at once,
// @NAME_exp) and the weighted sum of V. Blocks are walked in position order, slots in order within a block,
// so there is no division per position and the summation order is fixed.
// The dot product's `reassoc` lets LLVM reduce with a fixed shuffle tree.
// exp of a block's shifted scores (every one <= 0): @NAME_exp, BLOCK_SIZE
// lanes at once (exp_vec.host.mlir with HI = 0).
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
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
  %zero_v = arith.constant dense<0.0> : vector<{{HEAD_DIM}}xf32>
  %group = arith.divui %n_heads, %n_kv_heads : index
  %kvd = arith.muli %n_kv_heads, %hd : index
  %row_len = arith.muli %n_heads, %hd : index
  %rope = arith.constant {{ROPE}} : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %half_hd = arith.divui %hd, %c2 : index
  %q_rot = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  // The RoPE cos and sin of the position last rotated: a thread's items run
  // through a token's heads in turn, which share them (libm calls, a
  // tenth of a short prompt's prefill when made per item).
  %cos = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  %sin = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  %cs_pos = memref.alloca() : memref<1xi32>
  %no_pos = arith.constant -1 : i32
  memref.store %no_pos, %cs_pos[%c0] : memref<1xi32>
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
  // Scratch for one block's scores, then their exponentials.
  %scores = memref.alloca() : memref<{{BLOCK_SIZE}}xf32>
  %zero_b = arith.constant dense<0.0> : vector<{{BLOCK_SIZE}}xf32>
  vector.store %zero_b, %scores[%c0] : memref<{{BLOCK_SIZE}}xf32>, vector<{{BLOCK_SIZE}}xf32>
  scf.for %item = %begin to %end step %c1 {
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
    // The first position attended, lo, its block jb0 and slot s0.
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
    %q = scf.if %rotate -> (vector<{{HEAD_DIM}}xf32>) {
      %pos_f = arith.sitofp %pos_i : i32 to f32
      %have = memref.load %cs_pos[%c0] : memref<1xi32>
      %stale = arith.cmpi ne, %have, %pos_i : i32
      scf.if %stale {
        scf.for %i = %c0 to %half_hd step %c1 {
          %c, %s = func.call @{{NAME}}_cs(%pos_f, %i) : (f32, index) -> (f32, f32)
          memref.store %c, %cos[%i] : memref<{{HEAD_DIM}}xf32>
          memref.store %s, %sin[%i] : memref<{{HEAD_DIM}}xf32>
        }
        memref.store %pos_i, %cs_pos[%c0] : memref<1xi32>
      }
      scf.for %i = %c0 to %half_hd step %c1 {
        %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
        %iq0 = arith.addi %q_at, %e0 : index
        %iq1 = arith.addi %q_at, %e1 : index
        %x0 = memref.load %act[%iq0] : memref<?xf32>
        %x1 = memref.load %act[%iq1] : memref<?xf32>
        %c = memref.load %cos[%i] : memref<{{HEAD_DIM}}xf32>
        %s = memref.load %sin[%i] : memref<{{HEAD_DIM}}xf32>
        %y:2 = func.call @{{NAME}}_apply(%x0, %x1, %c, %s) : (f32, f32, f32, f32) -> (f32, f32)
        memref.store %y#0, %q_rot[%e0] : memref<{{HEAD_DIM}}xf32>
        memref.store %y#1, %q_rot[%e1] : memref<{{HEAD_DIM}}xf32>
      }
      %qr = vector.load %q_rot[%c0] : memref<{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
      scf.yield %qr : vector<{{HEAD_DIM}}xf32>
    } else {
      %qa = vector.load %act[%q_at] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
      scf.yield %qa : vector<{{HEAD_DIM}}xf32>
    }
    %g_col = arith.muli %g, %hd : index
    %res:3 = scf.for %jb = %jb0 to %n_blk step %c1 iter_args(%m0 = %ninf, %l0 = %zero, %acc0 = %zero_v) -> (f32, f32, vector<{{HEAD_DIM}}xf32>) {
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
      %before = arith.cmpi ugt, %lo_eff, %first : index
      %skip = arith.subi %lo_eff, %first : index
      %s0 = arith.select %before, %skip, %c0 : index
      // Scores of this block's positions, and their max.
      %bm = scf.for %slot = %s0 to %n_slots step %c1 iter_args(%mx = %ninf) -> (f32) {
        %srow = arith.muli %slot, %kvd : index
        %ik = arith.addi %kb, %srow : index
        %k = func.call @{{NAME}}_kv_row(%kv, %ik) : (memref<?xf32>, index) -> vector<{{HEAD_DIM}}xf32>
        %qk = arith.mulf %q, %k : vector<{{HEAD_DIM}}xf32>
        %dot = vector.reduction <add>, %qk fastmath<reassoc> : vector<{{HEAD_DIM}}xf32> into f32
        %score_raw = arith.mulf %dot, %scale : f32
        %score = scf.if %softcapped -> (f32) {
          %score_u = arith.divf %score_raw, %softcap : f32
          %score_t = math.tanh %score_u : f32
          %score_c = arith.mulf %score_t, %softcap : f32
          scf.yield %score_c : f32
        } else {
          scf.yield %score_raw : f32
        }
        memref.store %score, %scores[%slot] : memref<{{BLOCK_SIZE}}xf32>
        // A compare and select, which x86 does in one maxss; arith.maximumf's
        // NaN propagation costs a compare, a mask and a blend on the
        // loop-carried chain (a NaN score still reaches the output through
        // its exp and the sums).
        %gt = arith.cmpf ogt, %score, %mx : f32
        %mx_new = arith.select %gt, %score, %mx : f32
        scf.yield %mx_new : f32
      }
      // Online softmax update: rescale what came before by exp(m_old - m_new).
      %m_new = arith.maximumf %m0, %bm : f32
      %dm = arith.subf %m0, %m_new : f32
      %corr = math.exp %dm : f32
      // exp(score - m_new) for the whole block at once (lanes outside
      // [s0, n_slots) hold finite leftovers and are never read).
      %sv = vector.load %scores[%c0] : memref<{{BLOCK_SIZE}}xf32>, vector<{{BLOCK_SIZE}}xf32>
      %mv = vector.broadcast %m_new : f32 to vector<{{BLOCK_SIZE}}xf32>
      %dv = arith.subf %sv, %mv : vector<{{BLOCK_SIZE}}xf32>
      %ev = func.call @{{NAME}}_exp(%dv) : (vector<{{BLOCK_SIZE}}xf32>) -> vector<{{BLOCK_SIZE}}xf32>
      vector.store %ev, %scores[%c0] : memref<{{BLOCK_SIZE}}xf32>, vector<{{BLOCK_SIZE}}xf32>
      %bsum = scf.for %slot = %s0 to %n_slots step %c1 iter_args(%ps = %zero) -> (f32) {
        %p = memref.load %scores[%slot] : memref<{{BLOCK_SIZE}}xf32>
        %ps_new = arith.addf %ps, %p : f32
        scf.yield %ps_new : f32
      }
      %l_corr = arith.mulf %l0, %corr : f32
      %l_new = arith.addf %l_corr, %bsum : f32
      %corr_v = vector.broadcast %corr : f32 to vector<{{HEAD_DIM}}xf32>
      %acc_c = arith.mulf %acc0, %corr_v : vector<{{HEAD_DIM}}xf32>
      %acc_new = scf.for %slot = %s0 to %n_slots step %c1 iter_args(%acc = %acc_c) -> (vector<{{HEAD_DIM}}xf32>) {
        %p = memref.load %scores[%slot] : memref<{{BLOCK_SIZE}}xf32>
        %srow = arith.muli %slot, %kvd : index
        %iv = arith.addi %vb, %srow : index
        %v = func.call @{{NAME}}_kv_row(%kv, %iv) : (memref<?xf32>, index) -> vector<{{HEAD_DIM}}xf32>
        %p_v = vector.broadcast %p : f32 to vector<{{HEAD_DIM}}xf32>
        %pv = arith.mulf %p_v, %v : vector<{{HEAD_DIM}}xf32>
        %acc_next = arith.addf %acc, %pv : vector<{{HEAD_DIM}}xf32>
        scf.yield %acc_next : vector<{{HEAD_DIM}}xf32>
      }
      scf.yield %m_new, %l_new, %acc_new : f32, f32, vector<{{HEAD_DIM}}xf32>
    }
    %inv_l = arith.divf %one, %res#1 : f32
    %inv_v = vector.broadcast %inv_l : f32 to vector<{{HEAD_DIM}}xf32>
    %out = arith.mulf %res#2, %inv_v : vector<{{HEAD_DIM}}xf32>
    %o_row = arith.addi %o_off, %t_row : index
    %o_at = arith.addi %o_row, %h_col : index
    vector.store %out, %act[%o_at] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  }
  return
}
