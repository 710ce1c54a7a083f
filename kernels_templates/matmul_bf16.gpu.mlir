// matmul_bf16.gpu.mlir: out[T,N] = a[T,K] x b[N,K]^T with b stored in
// bfloat16, the GPU form of matmul_half.host.mlir with WTYPE bf16
// and otherwise the same kernel as matmul.gpu.mlir (same grid, same
// workgroup reduction).
//
//   params: NAME, K (even), K_WORDS (= K / 2), N, COLS, WG
//   args:   [a_off (act), b_off (weights, f32 units), out_off (act), T, then the epilogue's]
//   extent: N output columns
//   grid:   (ceil(N / COLS), T, 1) x (WG, 1, 1)
// As in matmul.gpu.mlir, thread i keeps four 16-byte loads in flight, one
// per column: words 4i .. 4i + 3 (8 weights) of each row, then 4i + 4 WG,
// ...; consecutive threads read consecutive vectors (coalesced), half the
// bytes of the f32 kernel. A bf16 is the high half of an f32, so the two
// weights of a word widen exactly with integer ops (no bf16 type, which
// SPIR-V only has as an extension): the even-k weights are the words
// shifted left by 16, the odd-k ones the words masked, each multiplied by
// the matching de-interleaved activations; products and sums are f32. That
// path needs K % 8 == 0 and 16-byte aligned rows (checked per launch);
// otherwise thread i reads single words i, i + WG, ...
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
  %t_i = memref.load %args[%c3] : memref<?xi64>
  %a_off = arith.index_cast %a_off_i : i64 to index
  %b_off = arith.index_cast %b_off_i : i64 to index
  %tokens = arith.index_cast %t_i : i64 to index
  %n_cols = arith.index_cast %extent : i64 to index
  %n_end = arith.minui %n_cols, %n_dim : index
  %live = arith.cmpi ult, %t, %tokens : index
  scf.if %live {
    %n0 = arith.muli %cb, %cols : index
    %t_k = arith.muli %t, %k_dim : index
    %a_row = arith.addi %a_off, %t_k : index
    // Row offsets (in words) of the four columns, clamped to the last valid row.
    %n_last = arith.subi %n_end, %c1 : index
    %vn0 = arith.addi %n0, %c0 : index
    %vm0 = arith.minui %vn0, %n_last : index
    %vr0k = arith.muli %vm0, %k_dim : index
    %vr0w = arith.divui %vr0k, %c2 : index
    %vb0 = arith.addi %b_off, %vr0w : index
    %vn1 = arith.addi %n0, %c1 : index
    %vm1 = arith.minui %vn1, %n_last : index
    %vr1k = arith.muli %vm1, %k_dim : index
    %vr1w = arith.divui %vr1k, %c2 : index
    %vb1 = arith.addi %b_off, %vr1w : index
    %vn2 = arith.addi %n0, %c2 : index
    %vm2 = arith.minui %vn2, %n_last : index
    %vr2k = arith.muli %vm2, %k_dim : index
    %vr2w = arith.divui %vr2k, %c2 : index
    %vb2 = arith.addi %b_off, %vr2w : index
    %vn3 = arith.addi %n0, %c3 : index
    %vm3 = arith.minui %vn3, %n_last : index
    %vr3k = arith.muli %vm3, %k_dim : index
    %vr3w = arith.divui %vr3k, %c2 : index
    %vb3 = arith.addi %b_off, %vr3w : index
    // 16-byte vectors of 4 words (8 weights) need K % 8 == 0 and 16-byte
    // aligned rows: a_off, b_off multiples of 4 floats.
    %c7 = arith.constant 7 : index
    %c8 = arith.constant 8 : index
    %offs = arith.ori %a_off, %b_off : index
    %off_bits = arith.andi %offs, %c3 : index
    %k_bits = arith.andi %k_dim, %c7 : index
    %bits = arith.ori %off_bits, %k_bits : index
    %aligned = arith.cmpi eq, %bits, %c0 : index
    %four_cols = arith.cmpi eq, %cols, %c4 : index
    %vec_ok = arith.andi %aligned, %four_cols : i1
    scf.if %vec_ok {
      %j_start = arith.muli %tid, %c4 : index
      %j_step = arith.muli %wg, %c4 : index
      %vzero = arith.constant dense<0.0> : vector<4xf32>
      %v16 = arith.constant dense<16> : vector<4xi32>
      %vmask = arith.constant dense<-65536> : vector<4xi32>
      %acc:4 = scf.for %j = %j_start to %k_words step %j_step iter_args(%s0 = %vzero, %s1 = %vzero, %s2 = %vzero, %s3 = %vzero) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
        %k = arith.muli %j, %c2 : index
        %ia = arith.addi %a_row, %k : index
        %av = vector.load %act[%ia] {alignment = 16} : memref<?xf32>, vector<8xf32>
        %ae = vector.shuffle %av, %av [0, 2, 4, 6] : vector<8xf32>, vector<8xf32>
        %ao = vector.shuffle %av, %av [1, 3, 5, 7] : vector<8xf32>, vector<8xf32>
        %i0 = arith.addi %vb0, %j : index
        %w0 = vector.load %w[%i0] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %wi0 = vector.bitcast %w0 : vector<4xf32> to vector<4xi32>
        %lo0 = arith.shli %wi0, %v16 : vector<4xi32>
        %hi0 = arith.andi %wi0, %vmask : vector<4xi32>
        %we0 = vector.bitcast %lo0 : vector<4xi32> to vector<4xf32>
        %wo0 = vector.bitcast %hi0 : vector<4xi32> to vector<4xf32>
        %pe0 = arith.mulf %ae, %we0 fastmath<contract> : vector<4xf32>
        %u0 = arith.addf %s0, %pe0 fastmath<contract> : vector<4xf32>
        %po0 = arith.mulf %ao, %wo0 fastmath<contract> : vector<4xf32>
        %t0 = arith.addf %u0, %po0 fastmath<contract> : vector<4xf32>
        %i1 = arith.addi %vb1, %j : index
        %w1 = vector.load %w[%i1] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %wi1 = vector.bitcast %w1 : vector<4xf32> to vector<4xi32>
        %lo1 = arith.shli %wi1, %v16 : vector<4xi32>
        %hi1 = arith.andi %wi1, %vmask : vector<4xi32>
        %we1 = vector.bitcast %lo1 : vector<4xi32> to vector<4xf32>
        %wo1 = vector.bitcast %hi1 : vector<4xi32> to vector<4xf32>
        %pe1 = arith.mulf %ae, %we1 fastmath<contract> : vector<4xf32>
        %u1 = arith.addf %s1, %pe1 fastmath<contract> : vector<4xf32>
        %po1 = arith.mulf %ao, %wo1 fastmath<contract> : vector<4xf32>
        %t1 = arith.addf %u1, %po1 fastmath<contract> : vector<4xf32>
        %i2 = arith.addi %vb2, %j : index
        %w2 = vector.load %w[%i2] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %wi2 = vector.bitcast %w2 : vector<4xf32> to vector<4xi32>
        %lo2 = arith.shli %wi2, %v16 : vector<4xi32>
        %hi2 = arith.andi %wi2, %vmask : vector<4xi32>
        %we2 = vector.bitcast %lo2 : vector<4xi32> to vector<4xf32>
        %wo2 = vector.bitcast %hi2 : vector<4xi32> to vector<4xf32>
        %pe2 = arith.mulf %ae, %we2 fastmath<contract> : vector<4xf32>
        %u2 = arith.addf %s2, %pe2 fastmath<contract> : vector<4xf32>
        %po2 = arith.mulf %ao, %wo2 fastmath<contract> : vector<4xf32>
        %t2 = arith.addf %u2, %po2 fastmath<contract> : vector<4xf32>
        %i3 = arith.addi %vb3, %j : index
        %w3 = vector.load %w[%i3] {alignment = 16} : memref<?xf32>, vector<4xf32>
        %wi3 = vector.bitcast %w3 : vector<4xf32> to vector<4xi32>
        %lo3 = arith.shli %wi3, %v16 : vector<4xi32>
        %hi3 = arith.andi %wi3, %vmask : vector<4xi32>
        %we3 = vector.bitcast %lo3 : vector<4xi32> to vector<4xf32>
        %wo3 = vector.bitcast %hi3 : vector<4xi32> to vector<4xf32>
        %pe3 = arith.mulf %ae, %we3 fastmath<contract> : vector<4xf32>
        %u3 = arith.addf %s3, %pe3 fastmath<contract> : vector<4xf32>
        %po3 = arith.mulf %ao, %wo3 fastmath<contract> : vector<4xf32>
        %t3 = arith.addf %u3, %po3 fastmath<contract> : vector<4xf32>
        scf.yield %t0, %t1, %t2, %t3 : vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>
      }
      // Each thread's 4 lanes summed pairwise, per column.
      %e0_0 = vector.extract %acc#0[0] : f32 from vector<4xf32>
      %e0_1 = vector.extract %acc#0[1] : f32 from vector<4xf32>
      %e0_2 = vector.extract %acc#0[2] : f32 from vector<4xf32>
      %e0_3 = vector.extract %acc#0[3] : f32 from vector<4xf32>
      %r0_0_0 = arith.addf %e0_0, %e0_1 : f32
      %r0_0_1 = arith.addf %e0_2, %e0_3 : f32
      %r0_1_0 = arith.addf %r0_0_0, %r0_0_1 : f32
      memref.store %r0_1_0, %red[%c0, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
      %e1_0 = vector.extract %acc#1[0] : f32 from vector<4xf32>
      %e1_1 = vector.extract %acc#1[1] : f32 from vector<4xf32>
      %e1_2 = vector.extract %acc#1[2] : f32 from vector<4xf32>
      %e1_3 = vector.extract %acc#1[3] : f32 from vector<4xf32>
      %r1_0_0 = arith.addf %e1_0, %e1_1 : f32
      %r1_0_1 = arith.addf %e1_2, %e1_3 : f32
      %r1_1_0 = arith.addf %r1_0_0, %r1_0_1 : f32
      memref.store %r1_1_0, %red[%c1, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
      %e2_0 = vector.extract %acc#2[0] : f32 from vector<4xf32>
      %e2_1 = vector.extract %acc#2[1] : f32 from vector<4xf32>
      %e2_2 = vector.extract %acc#2[2] : f32 from vector<4xf32>
      %e2_3 = vector.extract %acc#2[3] : f32 from vector<4xf32>
      %r2_0_0 = arith.addf %e2_0, %e2_1 : f32
      %r2_0_1 = arith.addf %e2_2, %e2_3 : f32
      %r2_1_0 = arith.addf %r2_0_0, %r2_0_1 : f32
      memref.store %r2_1_0, %red[%c2, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
      %e3_0 = vector.extract %acc#3[0] : f32 from vector<4xf32>
      %e3_1 = vector.extract %acc#3[1] : f32 from vector<4xf32>
      %e3_2 = vector.extract %acc#3[2] : f32 from vector<4xf32>
      %e3_3 = vector.extract %acc#3[3] : f32 from vector<4xf32>
      %r3_0_0 = arith.addf %e3_0, %e3_1 : f32
      %r3_0_1 = arith.addf %e3_2, %e3_3 : f32
      %r3_1_0 = arith.addf %r3_0_0, %r3_0_1 : f32
      memref.store %r3_1_0, %red[%c3, %tid] : memref<{{COLS}}x{{WG}}xf32, 3>
    } else {
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
