// matmul_bf16.gpu.mlir: out[T,N] = a[T,K] x b[N,K]^T with b stored in
// bfloat16, the GPU form of matmul_half.host.mlir with WTYPE bf16
// and otherwise the same kernel as matmul.gpu.mlir (same grid, same
// workgroup reduction).
//
//   params: NAME, K (even), K_WORDS (= K / 2), N, COLS, WG
//   args:   [a_off (act), b_off (weights, f32 units), out_off (act), T]
//   extent: N output columns
//   grid:   (ceil(N / COLS), T, 1) x (WG, 1, 1)
// Thread i reads 32-bit words i, i + WG, ... of each weight row: two
// weights per load, consecutive threads on consecutive words (coalesced),
// half the bytes of the f32 kernel. A bf16 is the high half of an f32, so
// the two weights of a word widen exactly with integer ops (no bf16 type,
// which SPIR-V only has as an extension); products and sums are f32.
memref.global "private" @{{NAME}}_red : memref<{{COLS}}x{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %k_dim = arith.constant {{K}} : index
  %k_words = arith.constant {{K_WORDS}} : index
  %c16_i32 = arith.constant 16 : i32
  %mask_hi = arith.constant -65536 : i32
  %n_dim = arith.constant {{N}} : index
  %cols = arith.constant {{COLS}} : index
  %wg = arith.constant {{WG}} : index
  %zero = arith.constant 0.0 : f32
  %tid = gpu.thread_id x
  %cb = gpu.block_id x
  %t = gpu.block_id y
  %red = memref.get_global @{{NAME}}_red : memref<{{COLS}}x{{WG}}xf32, 3>
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %o_off_i = memref.load %args[%c2] : memref<?xi64>
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %o_off = arith.index_cast %o_off_i : i64 to index
  %tokens = arith.index_cast %t_i : i64 to index
  %n_cols = arith.index_cast %extent : i64 to index
  %n_end = arith.minui %n_cols, %n_dim : index
  %live = arith.cmpi ult, %t, %tokens : index
  scf.if %live {
    %n0 = arith.muli %cb, %cols : index
    %t_k = arith.muli %t, %k_dim : index
    %a_row = arith.addi %a_off, %t_k : index
    scf.for %c = %c0 to %cols step %c1 {
      %n = arith.addi %n0, %c : index
      %in = arith.cmpi ult, %n, %n_end : index
      %part = scf.if %in -> (f32) {
        // Word j of the row holds weights 2j and 2j+1 (K is even).
        %n_k = arith.muli %n, %k_dim : index
        %n_words = arith.divui %n_k, %c2 : index
        %b_row = arith.addi %b_off, %n_words : index
        %s = scf.for %j = %tid to %k_words step %wg iter_args(%acc = %zero) -> (f32) {
          %k = arith.muli %j, %c2 : index
          %ia = arith.addi %a_row, %k : index
          %ia1 = arith.addi %ia, %c1 : index
          %ib = arith.addi %b_row, %j : index
          %av = memref.load %act[%ia] : memref<?xf32>
          %av1 = memref.load %act[%ia1] : memref<?xf32>
          %word = memref.load %w[%ib] : memref<?xf32>
          // bf16 is the top half of an f32: widening is a shift or a mask.
          %wi = arith.bitcast %word : f32 to i32
          %lo = arith.shli %wi, %c16_i32 : i32
          %hi = arith.andi %wi, %mask_hi : i32
          %b0 = arith.bitcast %lo : i32 to f32
          %b1 = arith.bitcast %hi : i32 to f32
          %p0 = arith.mulf %av, %b0 fastmath<contract> : f32
          %s0 = arith.addf %acc, %p0 fastmath<contract> : f32
          %p1 = arith.mulf %av1, %b1 fastmath<contract> : f32
          %next = arith.addf %s0, %p1 fastmath<contract> : f32
          scf.yield %next : f32
        }
        scf.yield %s : f32
      } else {
        scf.yield %zero : f32
      }
      memref.store %part, %red[%c, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
    }
    gpu.barrier
    %s0 = arith.shrui %wg, %c1 : index
    %done = scf.while (%s = %s0) : (index) -> index {
      %more = arith.cmpi ugt, %s, %c0 : index
      scf.condition(%more) %s : index
    } do {
    ^bb0(%s: index):
      %lo = arith.cmpi ult, %tid, %s : index
      scf.if %lo {
        %other = arith.addi %tid, %s : index
        scf.for %c = %c0 to %cols step %c1 {
          %ra = memref.load %red[%c, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
          %rb = memref.load %red[%c, %other] : memref<{{COLS}}x{{WG}}xf32, 3>
          %rc = arith.addf %ra, %rb : f32
          memref.store %rc, %red[%c, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
        }
      }
      gpu.barrier
      %s_next = arith.shrui %s, %c1 : index
      scf.yield %s_next : index
    }
    %n_me = arith.addi %n0, %tid : index
    %writer = arith.cmpi ult, %tid, %cols : index
    %in_range = arith.cmpi ult, %n_me, %n_end : index
    %store = arith.andi %writer, %in_range : i1
    scf.if %store {
      %y = memref.load %red[%tid, %c0] : memref<{{COLS}}x{{WG}}xf32, 3>
      %t_n = arith.muli %t, %n_dim : index
      %o_row = arith.addi %o_off, %t_n : index
      %io = arith.addi %o_row, %n_me : index
      memref.store %y, %act[%io] : memref<?xf32>
    }
  }
  gpu.return
}
