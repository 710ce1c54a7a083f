// matmul.gpu.mlir: out[T,N] = a[T,K] x b[N,K]^T, the projection of every
// linear layer (b stored [N,K] as nn.Linear keeps it); the GPU form of
// matmul.host.mlir:  out[t*N + n] = sum_k a[t*K + k] * b[n*K + k]
//
//   params: NAME, K, N, COLS (output columns per workgroup, <= WG),
//           WG (threads per workgroup, a power of two)
//   args:   [a_off (act), b_off (weights), out_off (act), T]
//   extent: N output columns
//   grid:   (ceil(N / COLS), T, 1) x (WG, 1, 1): workgroup (c, t) computes
//           columns c*COLS .. c*COLS + COLS - 1 of token t.
// A GEMV per token, written for decode, which is memory-bound: for each of
// its COLS weight rows the workgroup reads b[n*K + k] at k = i, i + WG, ...
// (thread i), so consecutive threads read consecutive floats (coalesced) and
// every weight of the row is read by exactly one thread, once per token.
// Each thread keeps one partial sum per column in k order, stores the COLS
// partials into workgroup memory (address space 3: NVVM shared, AMDGPU LDS,
// SPIR-V Workgroup) and a tree halves all COLS rows of partials together,
// log2(WG) steps with one barrier each. Thread c < COLS then writes column c.
// The summation order is fixed by WG; it differs from the host kernel's
// (vector lanes), so results agree to rounding, not bit for bit.
// Not yet: tiling over tokens for prefill (each workgroup rereads its rows
// of b for every token, from L2), tensor cores, split-K.
memref.global "private" @{{NAME}}_red : memref<{{COLS}}x{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %k_dim = arith.constant {{K}} : index
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
        %n_k = arith.muli %n, %k_dim : index
        %b_row = arith.addi %b_off, %n_k : index
        %s = scf.for %k = %tid to %k_dim step %wg iter_args(%acc = %zero) -> (f32) {
          %ia = arith.addi %a_row, %k : index
          %ib = arith.addi %b_row, %k : index
          %av = memref.load %act[%ia] : memref<?xf32>
          %bv = memref.load %w[%ib] : memref<?xf32>
          %p = arith.mulf %av, %bv fastmath<contract> : f32
          %next = arith.addf %acc, %p fastmath<contract> : f32
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
