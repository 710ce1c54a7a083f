// matmul.gpu.mlir: out[T,N] = a[T,K] x b[N,K]^T, the projection of every
// linear layer (b stored [N,K] as nn.Linear keeps it); the GPU form of
// matmul.host.mlir:  out[t*N + n] = sum_k a[t*K + k] * b[n*K + k]
//
//   params: NAME, K, N, COLS (output columns per workgroup; the vector path
//           below needs 4), WG (threads per workgroup, a power of two)
//   args:   [a_off (act), b_off (weights), out_off (act), T, then the epilogue's]
//   extent: N output columns
//   grid:   (ceil(N / COLS), T, 1) x (WG, 1, 1): workgroup (c, t) computes
//           columns c*COLS .. c*COLS + COLS - 1 of token t.
// A GEMV per token, written for decode, which is memory-bound: what matters
// is how many weight bytes each thread has in flight. Thread i reads 16-byte
// vectors (4 floats) at k = 4i, 4i + 4 WG, ... of all four weight rows in
// the same iteration, so consecutive threads read consecutive vectors (a
// warp moves 512 contiguous bytes per row per load) and four independent
// 16-byte loads are outstanding per thread, instead of one 4-byte load
// whose product the next iteration waits for (what a scalar loop compiles
// to: NVPTX does not unroll a loop whose start is the thread id). Each
// weight is read by exactly one thread, once per token. That path needs
// K % 4 == 0 and 16-byte aligned rows (a_off, b_off multiples of 4 floats,
// which the memory plan and the weight layout give; checked here, uniformly
// per launch); otherwise the scalar loop of the same order runs. Then each
// thread stores its COLS partial sums into workgroup memory (address space
// 3: NVVM shared, AMDGPU LDS, SPIR-V Workgroup) and a tree halves all COLS
// rows of partials together, log2(WG) steps with one barrier each; thread
// c < COLS writes column c. Columns past N are computed on row N - 1 (a
// valid row) and not written. The summation order is fixed by WG; it
// differs from the host kernel's, so results agree to rounding.
// Not yet: tiling over tokens for prefill (each workgroup rereads its rows
// of b for every token, from L2), tensor cores, split-K.
// The epilogue: what happens to each output value y of token t, column n
// (a plain store, a residual add, or a split into several results), one
// function the kernel calls where it would store (codegen/kvariants.c
// writes its body; LLVM inlines it).
func.func private @{{NAME}}_out(%act: memref<?xf32>, %args: memref<?xi64>, %t: index, %n: index, %y: f32) {
{{EPILOGUE}}
  return
}
memref.global "private" @{{NAME}}_red : memref<{{COLS}}x{{WG}}xf32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %k_dim = arith.constant {{K}} : index
  %n_dim = arith.constant {{N}} : index
  %cols = arith.constant {{COLS}} : index
  %wg = arith.constant {{WG}} : index
  %zero = arith.constant 0.0 : f32
  %zero4 = arith.constant dense<0.0> : vector<4xf32>
  %tid = gpu.thread_id x
  %cb = gpu.block_id x
  %t = gpu.block_id y
  %red = memref.get_global @{{NAME}}_red : memref<{{COLS}}x{{WG}}xf32, 3>
  %a_off_i = memref.load %args[%c0] : memref<?xi64>
  %b_off_i = memref.load %args[%c1] : memref<?xi64>
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %tokens = arith.index_cast %t_i : i64 to index
  %n_cols = arith.index_cast %extent : i64 to index
  %n_end = arith.minui %n_cols, %n_dim : index
  %n_last = arith.subi %n_end, %c1 : index
  %live = arith.cmpi ult, %t, %tokens : index
  scf.if %live {
    %n0 = arith.muli %cb, %cols : index
    %t_k = arith.muli %t, %k_dim : index
    %a_row = arith.addi %a_off, %t_k : index
    // Row offsets of the four columns, clamped to the last valid row.
    %n1 = arith.addi %n0, %c1 : index
    %n2 = arith.addi %n0, %c2 : index
    %n3 = arith.addi %n0, %c3 : index
    %m0 = arith.minui %n0, %n_last : index
    %m1 = arith.minui %n1, %n_last : index
    %m2 = arith.minui %n2, %n_last : index
    %m3 = arith.minui %n3, %n_last : index
    %r0k = arith.muli %m0, %k_dim : index
    %r1k = arith.muli %m1, %k_dim : index
    %r2k = arith.muli %m2, %k_dim : index
    %r3k = arith.muli %m3, %k_dim : index
    %b0 = arith.addi %b_off, %r0k : index
    %b1 = arith.addi %b_off, %r1k : index
    %b2 = arith.addi %b_off, %r2k : index
    %b3 = arith.addi %b_off, %r3k : index
    %offs = arith.ori %a_off, %b_off : index
    %k_offs = arith.ori %offs, %k_dim : index
    %misaligned = arith.andi %k_offs, %c3 : index
    %aligned = arith.cmpi eq, %misaligned, %c0 : index
    %four_cols = arith.cmpi eq, %cols, %c4 : index
    %vec_ok = arith.andi %aligned, %four_cols : i1
    scf.if %vec_ok {
      %k_start = arith.muli %tid, %c4 : index
      %k_step = arith.muli %wg, %c4 : index
      %acc:4 = scf.for %k = %k_start to %k_dim step %k_step iter_args(%s0 = %zero4, %s1 = %zero4, %s2 = %zero4, %s3 = %zero4) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
        %ia = arith.addi %a_row, %k : index
        %i0 = arith.addi %b0, %k : index
        %i1 = arith.addi %b1, %k : index
        %i2 = arith.addi %b2, %k : index
        %i3 = arith.addi %b3, %k : index
        %av = vector.load %act[%ia] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %w0 = vector.load %w[%i0] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %w1 = vector.load %w[%i1] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %w2 = vector.load %w[%i2] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %w3 = vector.load %w[%i3] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %p0 = arith.mulf %av, %w0 fastmath<contract> : vector<4xf32>
        %p1 = arith.mulf %av, %w1 fastmath<contract> : vector<4xf32>
        %p2 = arith.mulf %av, %w2 fastmath<contract> : vector<4xf32>
        %p3 = arith.mulf %av, %w3 fastmath<contract> : vector<4xf32>
        %t0 = arith.addf %s0, %p0 fastmath<contract> : vector<4xf32>
        %t1 = arith.addf %s1, %p1 fastmath<contract> : vector<4xf32>
        %t2 = arith.addf %s2, %p2 fastmath<contract> : vector<4xf32>
        %t3 = arith.addf %s3, %p3 fastmath<contract> : vector<4xf32>
        scf.yield %t0, %t1, %t2, %t3 : vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>
      }
      // Each thread's four lanes: (l0 + l1) + (l2 + l3), per column.
      scf.for %c = %c0 to %c4 step %c1 {
        %is0 = arith.cmpi eq, %c, %c0 : index
        %is1 = arith.cmpi eq, %c, %c1 : index
        %is2 = arith.cmpi eq, %c, %c2 : index
        %v01 = arith.select %is0, %acc#0, %acc#1 : vector<4xf32>
        %v23 = arith.select %is2, %acc#2, %acc#3 : vector<4xf32>
        %lo = arith.ori %is0, %is1 : i1
        %v = arith.select %lo, %v01, %v23 : vector<4xf32>
        %e0 = vector.extract %v[0] : f32 from vector<4xf32>
        %e1 = vector.extract %v[1] : f32 from vector<4xf32>
        %e2 = vector.extract %v[2] : f32 from vector<4xf32>
        %e3 = vector.extract %v[3] : f32 from vector<4xf32>
        %h0 = arith.addf %e0, %e1 : f32
        %h1 = arith.addf %e2, %e3 : f32
        %sum = arith.addf %h0, %h1 : f32
        memref.store %sum, %red[%c, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
      }
    } else {
      scf.for %c = %c0 to %cols step %c1 {
        %n = arith.addi %n0, %c : index
        %m = arith.minui %n, %n_last : index
        %n_k = arith.muli %m, %k_dim : index
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
        memref.store %s, %red[%c, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
      }
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
      func.call @{{NAME}}_out(%act, %args, %t, %n_me, %y) : (memref<?xf32>, memref<?xi64>, index, index, f32) -> ()
    }
  }
  gpu.return
}
