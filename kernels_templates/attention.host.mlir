// attention.host.mlir: causal paged attention with grouped-query heads,
// reading K and V through the block table, a tile of tokens x a GQA group's
// heads at a time.
//
//   params: NAME, N_HEADS, N_KV_HEADS, HEAD_DIM, BLOCK_SIZE, BLOCK_FLOATS,
//           MAX_BLOCKS, SCALE (f32 literal, usually 1/sqrt(HEAD_DIM)),
//           ROPE (1: q is rotated first, fuse-rope, into a stack copy),
//           SOFTCAP (f32 literal: scores
//           become tanh(s / SOFTCAP) * SOFTCAP, Gemma 2; 0.0: none),
//           WINDOW (sliding window: the
//           token at p attends to max(0, p-WINDOW+1)..p; 0: no window),
//           L (the scores' lanes: 4, 8 or 16), BLOCK_PAD (BLOCK_SIZE
//           rounded up to a multiple of L), TQ (token slots a tile: even),
//           ROWS (TQ/2 x the GQA group's heads: a segment's rows), T_ARG
//           (where the step's token count T is in args), READ_KVD and
//           STAGE_FLOATS (where a block's rows are read: the pool, KVD
//           apart, and 1; or a stack stage of 2 x BLOCK_SIZE rows HEAD_DIM
//           apart its kv helper fills, kv_i8)
//   helpers: the rotation (@NAME_cs, _pair, _apply: rope_rot.host.mlir),
//           the pool's rows (@NAME_kv_block, @NAME_kv_row: kv_f32 / kv_f16 /
//           kv_bf16 / kv_i8), the
//           exp (@NAME_exp: exp_vec.host.mlir, W = L), the scores of L
//           positions (@NAME_qk, _qk_full, _in, _hmax: attention_host.c)
//   args:   [q_off (act), out_off (act), positions_off, seq_off,
//            block_tables_off (all three in meta), layer, ..., T at T_ARG]
//   extent: T * N_HEADS items (as the GPU kernels'; the plan's launch is
//           shared): one per (tile of TQ tokens, KV head) does that tile's
//           rows, see @NAME below. Query head h reads KV head
//           g = h / (N_HEADS / N_KV_HEADS) (GQA: Ainslie et al. 2023).
// The token at position p of sequence s attends to cache positions lo..p of s
// (lo = 0, or p-WINDOW+1 with a window; kv_write for this step has already
// run, so p itself is in the cache);
// position j lives in block block_tables[s * MAX_BLOCKS + j / BLOCK_SIZE],
// slot j % BLOCK_SIZE, at the offsets llmc_abi.h gives for kind 0 (K) / 1 (V),
// in KV elements (BLOCK_FLOATS counts elements: f32 words, or 16-bit values
// with --kv-cache-dtype=f16|bf16), each row read and widened to f32 by
// @NAME_kv_row (the kv_f32, kv_f16 or kv_bf16 helper); an int8 pool's block
// is first converted into the stage (kv_i8's @NAME_kv_block) and its rows
// read from there.
//
//   out[t*N_HEADS*HEAD_DIM + h*HEAD_DIM + d] = sum_j softmax_j(SCALE * q.k_j) v_j[d]
//
// One pass with the online softmax (Milakov & Gimelshein 2018, "Online
// normalizer calculation for softmax"; as in FlashAttention-2, Dao 2023):
// a running max m, running sum l and accumulator acc (a vector<HEAD_DIM>
// loop-carried value) are rescaled by exp(m_old - m_new) when the max grows,
// so the score row is never materialised and K/V are read once. The update
// is done per KV block, as FlashAttention-2 does per key tile: the block's
// scores (in a stack scratch), its max, one rescale of (l, acc), then the
// exp of every score and the weighted sum of V.
// Scores come L positions at a time as one vector (@NAME_qk): each
// position's products summed to L lanes, then the L vectors reduced
// together by a tree of shuffles (2(L-1) shuffles and L-1 adds for L
// scores, where a horizontal sum each cost 2 log2(L)). Lanes outside the
// attended slots [s0, n_slots) of the block become -inf (their rows, read
// at a clamped slot, are never used) and their exps 0; the max and the sum
// of a chunk are one vector reduction each. Blocks are walked in position
// order, chunks and slots in order within a block, so there is no division
// per position and the summation order is fixed: a (token, head)'s bits do
// not depend on the step, batch or thread that computed it.

// acc + p[slot] * v[slot]: the V row of a block's slot, weighted.
func.func private @{{NAME}}_pv(%kv: memref<?xf32>, %scores: memref<{{BLOCK_PAD}}xf32>, %vb: index, %kvd: index, %slot: index, %acc: vector<{{HEAD_DIM}}xf32>) -> vector<{{HEAD_DIM}}xf32> {
  %p = memref.load %scores[%slot] : memref<{{BLOCK_PAD}}xf32>
  %srow = arith.muli %slot, %kvd : index
  %iv = arith.addi %vb, %srow : index
  %v = func.call @{{NAME}}_kv_row(%kv, %iv) : (memref<?xf32>, index) -> vector<{{HEAD_DIM}}xf32>
  %p_v = vector.broadcast %p : f32 to vector<{{HEAD_DIM}}xf32>
  %acc_next = vector.fma %p_v, %v, %acc : vector<{{HEAD_DIM}}xf32>
  return %acc_next : vector<{{HEAD_DIM}}xf32>
}

// @NAME_seg: the rows of one segment, n tokens t0.. of one sequence x the
// GROUP query heads of KV head g, against the cache block by block: each
// block's K and V rows (a few KiB) are read from memory once and from L1 by
// the segment's other rows. A row's running max, sum and accumulator wait
// in stack scratch between blocks.
func.func private @{{NAME}}_seg(%act: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %q_off: index, %o_off: index, %p_off: index, %s_off: index, %bt_off: index, %k_layer: index, %g: index, %t0: index, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n_heads = arith.constant {{N_HEADS}} : index
  %n_kv_heads = arith.constant {{N_KV_HEADS}} : index
  %hd = arith.constant {{HEAD_DIM}} : index
  %bs = arith.constant {{BLOCK_SIZE}} : index
  %bf = arith.constant {{BLOCK_FLOATS}} : index
  %max_blocks = arith.constant {{MAX_BLOCKS}} : index
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
  %kind_stride = arith.muli %bs, %kvd : index
  %rope = arith.constant {{ROPE}} : index
  %rotate = arith.cmpi ne, %rope, %c0 : index
  %half_hd = arith.divui %hd, %c2 : index
  %lanes = arith.constant {{L}} : index
  %scale_l = arith.constant dense<{{SCALE}}> : vector<{{L}}xf32>
  %softcap_l = arith.constant dense<{{SOFTCAP}}> : vector<{{L}}xf32>
  %ninf_l = arith.constant dense<0xFF800000> : vector<{{L}}xf32>
  %zero_l = arith.constant dense<0.0> : vector<{{L}}xf32>
  // Per row: q (rotated: fuse-rope), the running max m, sum l and
  // accumulator, the first attended position lo and the row's position.
  %qs = memref.alloca() : memref<{{ROWS}}x{{HEAD_DIM}}xf32>
  %accs = memref.alloca() : memref<{{ROWS}}x{{HEAD_DIM}}xf32>
  %ms = memref.alloca() : memref<{{ROWS}}xf32>
  %ls = memref.alloca() : memref<{{ROWS}}xf32>
  %los = memref.alloca() : memref<{{ROWS}}xindex>
  %poss = memref.alloca() : memref<{{ROWS}}xindex>
  // The RoPE cos and sin of the token being rotated (its heads share them).
  %cos = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  %sin = memref.alloca() : memref<{{HEAD_DIM}}xf32>
  // One block's scores of a row, then their exponentials.
  %scores = memref.alloca() : memref<{{BLOCK_PAD}}xf32>
  // Where a block's rows are read from: the pool, or this stage.
  %stage0 = memref.alloca() : memref<{{STAGE_FLOATS}}xf32>
  %stage = memref.cast %stage0 : memref<{{STAGE_FLOATS}}xf32> to memref<?xf32>
  %read_kvd = arith.constant {{READ_KVD}} : index
  %rows = arith.muli %n, %group : index
  %it0 = arith.addi %s_off, %t0 : index
  %seq_i = memref.load %meta[%it0] : memref<?xi32>
  %seq = arith.index_cast %seq_i : i32 to index
  %bt_row0 = arith.muli %seq, %max_blocks : index
  %bt_row = arith.addi %bt_off, %bt_row0 : index
  %h0 = arith.muli %g, %group : index
  %g_col = arith.muli %g, %hd : index
  // The rows' set-up, and the blocks any of them attends: [jb_lo, jb_hi).
  %big = arith.constant 0x7FFFFFFF : index
  %range:2 = scf.for %tr = %c0 to %n step %c1 iter_args(%jlo = %big, %jhi = %c0) -> (index, index) {
    %t = arith.addi %t0, %tr : index
    %ip = arith.addi %p_off, %t : index
    %pos_i = memref.load %meta[%ip] : memref<?xi32>
    %pos = arith.index_cast %pos_i : i32 to index
    %n_ctx = arith.addi %pos, %c1 : index
    %in_win = arith.cmpi ult, %pos, %window : index
    %lo_w = arith.subi %n_ctx, %window : index
    %lo = arith.select %in_win, %c0, %lo_w : index
    %lo_eff = arith.select %windowed, %lo, %c0 : index
    scf.if %rotate {
      %pos_f = arith.sitofp %pos_i : i32 to f32
      scf.for %i = %c0 to %half_hd step %c1 {
        %c, %s = func.call @{{NAME}}_cs(%pos_f, %i) : (f32, index) -> (f32, f32)
        memref.store %c, %cos[%i] : memref<{{HEAD_DIM}}xf32>
        memref.store %s, %sin[%i] : memref<{{HEAD_DIM}}xf32>
      }
    }
    %t_row = arith.muli %t, %row_len : index
    %q_row = arith.addi %q_off, %t_row : index
    scf.for %hr = %c0 to %group step %c1 {
      %r0 = arith.muli %tr, %group : index
      %r = arith.addi %r0, %hr : index
      %h = arith.addi %h0, %hr : index
      %h_col = arith.muli %h, %hd : index
      %q_at = arith.addi %q_row, %h_col : index
      scf.if %rotate {
        scf.for %i = %c0 to %half_hd step %c1 {
          %e0, %e1 = func.call @{{NAME}}_pair(%i) : (index) -> (index, index)
          %iq0 = arith.addi %q_at, %e0 : index
          %iq1 = arith.addi %q_at, %e1 : index
          %x0 = memref.load %act[%iq0] : memref<?xf32>
          %x1 = memref.load %act[%iq1] : memref<?xf32>
          %c = memref.load %cos[%i] : memref<{{HEAD_DIM}}xf32>
          %s = memref.load %sin[%i] : memref<{{HEAD_DIM}}xf32>
          %y:2 = func.call @{{NAME}}_apply(%x0, %x1, %c, %s) : (f32, f32, f32, f32) -> (f32, f32)
          memref.store %y#0, %qs[%r, %e0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>
          memref.store %y#1, %qs[%r, %e1] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>
        }
      } else {
        %qa = vector.load %act[%q_at] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
        vector.store %qa, %qs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
      }
      vector.store %zero_v, %accs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
      memref.store %ninf, %ms[%r] : memref<{{ROWS}}xf32>
      memref.store %zero, %ls[%r] : memref<{{ROWS}}xf32>
      memref.store %lo_eff, %los[%r] : memref<{{ROWS}}xindex>
      memref.store %pos, %poss[%r] : memref<{{ROWS}}xindex>
    }
    %jb_first = arith.divui %lo_eff, %bs : index
    %jb_last = arith.divui %pos, %bs : index
    %jb_end = arith.addi %jb_last, %c1 : index
    %jlo2 = arith.minui %jlo, %jb_first : index
    %jhi2 = arith.maxui %jhi, %jb_end : index
    scf.yield %jlo2, %jhi2 : index, index
  }
  scf.for %jb = %range#0 to %range#1 step %c1 {
    %ibt = arith.addi %bt_row, %jb : index
    %blk_i = memref.load %meta[%ibt] : memref<?xi32>
    %blk = arith.index_cast %blk_i : i32 to index
    %blk_base = arith.muli %blk, %bf : index
    %kb0 = arith.addi %blk_base, %k_layer : index
    %kb = arith.addi %kb0, %g_col : index
    %vb = arith.addi %kb, %kind_stride : index
    %src:3 = func.call @{{NAME}}_kv_block(%kv, %kb, %vb, %kvd, %bs, %stage) : (memref<?xf32>, index, index, index, index, memref<?xf32>) -> (memref<?xf32>, index, index)
    %first = arith.muli %jb, %bs : index
    %first_end = arith.addi %first, %bs : index
    scf.for %r = %c0 to %rows step %c1 {
      %pos = memref.load %poss[%r] : memref<{{ROWS}}xindex>
      %lo_eff = memref.load %los[%r] : memref<{{ROWS}}xindex>
      %n_ctx = arith.addi %pos, %c1 : index
      // Does the block hold any of the row's positions lo..pos?
      %starts = arith.cmpi ult, %first, %n_ctx : index
      %reaches = arith.cmpi ugt, %first_end, %lo_eff : index
      %hit = arith.andi %starts, %reaches : i1
      scf.if %hit {
        %q = vector.load %qs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
        %m0 = memref.load %ms[%r] : memref<{{ROWS}}xf32>
        %l0 = memref.load %ls[%r] : memref<{{ROWS}}xf32>
        %acc0 = vector.load %accs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
        %left = arith.subi %n_ctx, %first : index
        %n_slots = arith.minui %left, %bs : index
        %before = arith.cmpi ugt, %lo_eff, %first : index
        %skip = arith.subi %lo_eff, %first : index
        %s0 = arith.select %before, %skip, %c0 : index
        // Scores of this block's positions, L at a time from the chunk
        // holding s0, and their max.
        %c_lo0 = arith.divui %s0, %lanes : index
        %c_lo = arith.muli %c_lo0, %lanes : index
        %bm = scf.for %c = %c_lo to %n_slots step %lanes iter_args(%mx = %ninf) -> (f32) {
          %c_end = arith.addi %c, %lanes : index
          %c_in = arith.cmpi uge, %c, %s0 : index
          %c_end_in = arith.cmpi ule, %c_end, %n_slots : index
          %c_full = arith.andi %c_in, %c_end_in : i1
          %dots = scf.if %c_full -> (vector<{{L}}xf32>) {
            %c_row = arith.muli %c, %read_kvd : index
            %c_base = arith.addi %src#1, %c_row : index
            %df = func.call @{{NAME}}_qk_full(%src#0, %q, %c_base) : (memref<?xf32>, vector<{{HEAD_DIM}}xf32>, index) -> vector<{{L}}xf32>
            scf.yield %df : vector<{{L}}xf32>
          } else {
            %dc = func.call @{{NAME}}_qk(%src#0, %q, %src#1, %read_kvd, %c, %s0, %n_slots) : (memref<?xf32>, vector<{{HEAD_DIM}}xf32>, index, index, index, index, index) -> vector<{{L}}xf32>
            scf.yield %dc : vector<{{L}}xf32>
          }
          %raw = arith.mulf %dots, %scale_l : vector<{{L}}xf32>
          %sc = scf.if %softcapped -> (vector<{{L}}xf32>) {
            %sd = arith.divf %raw, %softcap_l : vector<{{L}}xf32>
            %th = math.tanh %sd : vector<{{L}}xf32>
            %capped = arith.mulf %th, %softcap_l : vector<{{L}}xf32>
            scf.yield %capped : vector<{{L}}xf32>
          } else {
            scf.yield %raw : vector<{{L}}xf32>
          }
          %in = func.call @{{NAME}}_in(%c, %s0, %n_slots) : (index, index, index) -> vector<{{L}}xi1>
          %masked = arith.select %in, %sc, %ninf_l : vector<{{L}}xi1>, vector<{{L}}xf32>
          vector.store %masked, %scores[%c] : memref<{{BLOCK_PAD}}xf32>, vector<{{L}}xf32>
          %cmx = func.call @{{NAME}}_hmax(%masked) : (vector<{{L}}xf32>) -> f32
          %gt = arith.cmpf ogt, %cmx, %mx : f32
          %mx_new = arith.select %gt, %cmx, %mx : f32
          scf.yield %mx_new : f32
        }
        // Online softmax update: rescale what came before by exp(m_old - m_new).
        %m_new = arith.maximumf %m0, %bm : f32
        %dm = arith.subf %m0, %m_new : f32
        // (Most blocks leave the max as it is: exp(0) = 1 without libm.)
        %same_m = arith.cmpf oeq, %dm, %zero : f32
        %corr = scf.if %same_m -> (f32) {
          scf.yield %one : f32
        } else {
          %e = math.exp %dm : f32
          scf.yield %e : f32
        }
        // exp(score - m_new), L at a time; the lanes outside the attended
        // slots are 0 (exp_vec clamps -inf to exp(-87), not 0).
        %mv = vector.broadcast %m_new : f32 to vector<{{L}}xf32>
        %bsum = scf.for %c = %c_lo to %n_slots step %lanes iter_args(%ps = %zero) -> (f32) {
          %sv = vector.load %scores[%c] : memref<{{BLOCK_PAD}}xf32>, vector<{{L}}xf32>
          %dv = arith.subf %sv, %mv : vector<{{L}}xf32>
          %ev = func.call @{{NAME}}_exp(%dv) : (vector<{{L}}xf32>) -> vector<{{L}}xf32>
          %in = func.call @{{NAME}}_in(%c, %s0, %n_slots) : (index, index, index) -> vector<{{L}}xi1>
          %ez = arith.select %in, %ev, %zero_l : vector<{{L}}xi1>, vector<{{L}}xf32>
          vector.store %ez, %scores[%c] : memref<{{BLOCK_PAD}}xf32>, vector<{{L}}xf32>
          %cs = vector.reduction <add>, %ez fastmath<reassoc> : vector<{{L}}xf32> into f32
          %ps_new = arith.addf %ps, %cs : f32
          scf.yield %ps_new : f32
        }
        %l_corr = arith.mulf %l0, %corr : f32
        %l_new = arith.addf %l_corr, %bsum : f32
        %corr_v = vector.broadcast %corr : f32 to vector<{{HEAD_DIM}}xf32>
        %acc_c = arith.mulf %acc0, %corr_v : vector<{{HEAD_DIM}}xf32>
        // The weighted sum of V, slots in pairs into two accumulators (one
        // chain of dependent FMAs per slot held a head dim of 64 to one FMA
        // every 4 cycles), then the odd slot left, then their sum.
        %n_att = arith.subi %n_slots, %s0 : index
        %n_pairs = arith.divui %n_att, %c2 : index
        %pairs_end0 = arith.muli %n_pairs, %c2 : index
        %pairs_end = arith.addi %s0, %pairs_end0 : index
        %pv2:2 = scf.for %slot = %s0 to %pairs_end step %c2 iter_args(%acc_a = %acc_c, %acc_b = %zero_v) -> (vector<{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>) {
          %slot1 = arith.addi %slot, %c1 : index
          %acc_a1 = func.call @{{NAME}}_pv(%src#0, %scores, %src#2, %read_kvd, %slot, %acc_a) : (memref<?xf32>, memref<{{BLOCK_PAD}}xf32>, index, index, index, vector<{{HEAD_DIM}}xf32>) -> vector<{{HEAD_DIM}}xf32>
          %acc_b1 = func.call @{{NAME}}_pv(%src#0, %scores, %src#2, %read_kvd, %slot1, %acc_b) : (memref<?xf32>, memref<{{BLOCK_PAD}}xf32>, index, index, index, vector<{{HEAD_DIM}}xf32>) -> vector<{{HEAD_DIM}}xf32>
          scf.yield %acc_a1, %acc_b1 : vector<{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
        }
        %odd_left = arith.cmpi ult, %pairs_end, %n_slots : index
        %acc_odd = scf.if %odd_left -> (vector<{{HEAD_DIM}}xf32>) {
          %acc_o = func.call @{{NAME}}_pv(%src#0, %scores, %src#2, %read_kvd, %pairs_end, %pv2#0) : (memref<?xf32>, memref<{{BLOCK_PAD}}xf32>, index, index, index, vector<{{HEAD_DIM}}xf32>) -> vector<{{HEAD_DIM}}xf32>
          scf.yield %acc_o : vector<{{HEAD_DIM}}xf32>
        } else {
          scf.yield %pv2#0 : vector<{{HEAD_DIM}}xf32>
        }
        %acc_new = arith.addf %acc_odd, %pv2#1 : vector<{{HEAD_DIM}}xf32>
        memref.store %m_new, %ms[%r] : memref<{{ROWS}}xf32>
        memref.store %l_new, %ls[%r] : memref<{{ROWS}}xf32>
        vector.store %acc_new, %accs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
      }
    }
  }
  scf.for %r = %c0 to %rows step %c1 {
    %tr = arith.divui %r, %group : index
    %hr = arith.remui %r, %group : index
    %t = arith.addi %t0, %tr : index
    %h = arith.addi %h0, %hr : index
    %l = memref.load %ls[%r] : memref<{{ROWS}}xf32>
    %acc = vector.load %accs[%r, %c0] : memref<{{ROWS}}x{{HEAD_DIM}}xf32>, vector<{{HEAD_DIM}}xf32>
    %inv_l = arith.divf %one, %l : f32
    %inv_v = vector.broadcast %inv_l : f32 to vector<{{HEAD_DIM}}xf32>
    %out = arith.mulf %acc, %inv_v : vector<{{HEAD_DIM}}xf32>
    %t_row = arith.muli %t, %row_len : index
    %o_row = arith.addi %o_off, %t_row : index
    %h_col = arith.muli %h, %hd : index
    %o_at = arith.addi %o_row, %h_col : index
    vector.store %out, %act[%o_at] : memref<?xf32>, vector<{{HEAD_DIM}}xf32>
  }
  return
}

// @NAME_run: tokens [t, t + n) x KV head g, in segments of one sequence each
// (a step's tokens may come from several: a prompt chunk and decode tokens)
// of at most TQ/2 tokens.
func.func private @{{NAME}}_run(%act: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %q_off: index, %o_off: index, %p_off: index, %s_off: index, %bt_off: index, %k_layer: index, %g: index, %t: index, %n: index) {
  %c1 = arith.constant 1 : index
  %t_end = arith.addi %t, %n : index
  %done = scf.while (%a = %t) : (index) -> index {
    %more = arith.cmpi ult, %a, %t_end : index
    scf.condition(%more) %a : index
  } do {
  ^bb0(%a: index):
    %ia = arith.addi %s_off, %a : index
    %seq = memref.load %meta[%ia] : memref<?xi32>
    %a1 = arith.addi %a, %c1 : index
    %e = scf.while (%b = %a1) : (index) -> index {
      %inside = arith.cmpi ult, %b, %t_end : index
      %same = scf.if %inside -> (i1) {
        %ib = arith.addi %s_off, %b : index
        %seq_b = memref.load %meta[%ib] : memref<?xi32>
        %eq = arith.cmpi eq, %seq_b, %seq : i32
        scf.yield %eq : i1
      } else {
        %no = arith.constant false
        scf.yield %no : i1
      }
      scf.condition(%same) %b : index
    } do {
    ^bb0(%b: index):
      %b1 = arith.addi %b, %c1 : index
      scf.yield %b1 : index
    }
    %len = arith.subi %e, %a : index
    func.call @{{NAME}}_seg(%act, %kv, %meta, %q_off, %o_off, %p_off, %s_off, %bt_off, %k_layer, %g, %a, %len) : (memref<?xf32>, memref<?xf32>, memref<?xi32>, index, index, index, index, index, index, index, index, index) -> ()
    scf.yield %e : index
  }
  return
}

// Items: T * N_HEADS, of which one per (tile of TQ token slots, KV head g)
// does the work (the others return at once): the first head of g's group,
// at the tile's slot g * (its slots) / N_KV_HEADS. Token slots u are tokens
// in the order 0, T-1, 1, T-2, ..., so the tile of slots u0 .. u0+TQ-1 (u0
// a multiple of TQ) is a run from the front (u0/2, u0/2+1, ...) and one
// from the back (T-1-u0/2 downwards).
// A prompt's token at position p costs p+1 positions' work and threads take
// contiguous slices of the items: in token order the last of two threads
// had three quarters of a prefill; in this order each slice has its share.
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
  %tq = arith.constant {{TQ}} : index
  %group = arith.divui %n_heads, %n_kv_heads : index
  %kvd = arith.muli %n_kv_heads, %hd : index
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
  %t_arg = arith.constant {{T_ARG}} : index
  %n_tok_i = memref.load %args[%t_arg] : memref<?xi64>
  %n_tok = arith.index_cast %n_tok_i : i64 to index
  scf.for %item = %begin to %end step %c1 {
    %u = arith.divui %item, %n_heads : index
    %h = arith.remui %item, %n_heads : index
    %g = arith.divui %h, %group : index
    %tiles = arith.divui %u, %tq : index
    %u0 = arith.muli %tiles, %tq : index
    %u_end0 = arith.addi %u0, %tq : index
    %u_end = arith.minui %u_end0, %n_tok : index
    %cnt = arith.subi %u_end, %u0 : index
    // The tile's slot that does KV head g's work: spread over the tile, so
    // a decode batch (T < TQ: one tile) still splits between threads.
    %gc = arith.muli %g, %cnt : index
    %owner = arith.divui %gc, %n_kv_heads : index
    %u_off = arith.subi %u, %u0 : index
    %h_grp = arith.remui %h, %group : index
    %u_first = arith.cmpi eq, %u_off, %owner : index
    %h_first = arith.cmpi eq, %h_grp, %c0 : index
    %active = arith.andi %u_first, %h_first : i1
    scf.if %active {
      %cnt1 = arith.addi %cnt, %c1 : index
      %n_front = arith.divui %cnt1, %c2 : index
      %n_back = arith.divui %cnt, %c2 : index
      %front = arith.divui %u0, %c2 : index
      %back_end = arith.subi %n_tok, %front : index
      %back = arith.subi %back_end, %n_back : index
      func.call @{{NAME}}_run(%act, %kv, %meta, %q_off, %o_off, %p_off, %s_off, %bt_off, %k_layer, %g, %front, %n_front) : (memref<?xf32>, memref<?xf32>, memref<?xi32>, index, index, index, index, index, index, index, index, index) -> ()
      func.call @{{NAME}}_run(%act, %kv, %meta, %q_off, %o_off, %p_off, %s_off, %bt_off, %k_layer, %g, %back, %n_back) : (memref<?xf32>, memref<?xf32>, memref<?xi32>, index, index, index, index, index, index, index, index, index) -> ()
    }
  }
  return
}
