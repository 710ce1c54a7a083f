// argmax.gpu.mlir: the greedy token of each sampled row of the logits, on
// the device, so a greedy decode step brings back one int32 per sequence
// instead of a row of V logits; the GPU form of argmax.host.mlir (same args).
//
//   params: NAME, V (vocabulary), WG (threads per workgroup, a power of two)
//   args:   [logits_off (act), rows_off (meta), ids_off (meta), n_rows]
//   extent: n_rows
//   grid:   (n_rows, 1, 1) x (WG, 1, 1): workgroup r reduces row
//           meta[rows_off + r] and writes its id to meta[ids_off + r].
// Thread i scans logits i, i + WG, ... (coalesced) keeping the first
// largest (strict >); a tree over workgroup memory then takes the larger
// value, or on equal values the lower id, so the result is the lowest id
// among the largest logits: llmc_sampler_argmax's answer, bit for bit (up
// to NaN logits, where a sequential scan and a tree may differ). Threads
// past the end start from (-inf, V), which any logit ties or beats.
memref.global "private" @{{NAME}}_val : memref<{{WG}}xf32, 3>
memref.global "private" @{{NAME}}_idx : memref<{{WG}}xi32, 3>
gpu.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %extent: i64) kernel attributes {known_block_size = array<i32: {{WG}}, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %v = arith.constant {{V}} : index
  %v_i32 = arith.constant {{V}} : i32
  %wg = arith.constant {{WG}} : index
  %ninf = arith.constant 0xFF800000 : f32
  %tid = gpu.thread_id x
  %r = gpu.block_id x
  %vals = memref.get_global @{{NAME}}_val : memref<{{WG}}xf32, 3>
  %idxs = memref.get_global @{{NAME}}_idx : memref<{{WG}}xi32, 3>
  %rows = arith.index_cast %extent : i64 to index
  %live = arith.cmpi ult, %r, %rows : index
  scf.if %live {
    %l_off_i = memref.load %args[%c0] : memref<?xi64>
    %r_off_i = memref.load %args[%c1] : memref<?xi64>
    %i_off_i = memref.load %args[%c2] : memref<?xi64>
    %l_off = arith.index_cast %l_off_i : i64 to index
    %r_off = arith.index_cast %r_off_i : i64 to index
    %i_off = arith.index_cast %i_off_i : i64 to index
    %ir = arith.addi %r_off, %r : index
    %row_i = memref.load %meta[%ir] : memref<?xi32>
    %row = arith.index_cast %row_i : i32 to index
    %row_v = arith.muli %row, %v : index
    %base = arith.addi %l_off, %row_v : index
    %best:2 = scf.for %j = %tid to %v step %wg iter_args(%bv = %ninf, %bi = %v_i32) -> (f32, i32) {
      %ij = arith.addi %base, %j : index
      %x = memref.load %act[%ij] : memref<?xf32>
      %j_i32 = arith.index_cast %j : index to i32
      // The first logit a thread sees always replaces the (-inf, V) start.
      %first = arith.cmpi eq, %bi, %v_i32 : i32
      %gt = arith.cmpf ogt, %x, %bv : f32
      %take = arith.ori %first, %gt : i1
      %nv = arith.select %take, %x, %bv : f32
      %ni = arith.select %take, %j_i32, %bi : i32
      scf.yield %nv, %ni : f32, i32
    }
    memref.store %best#0, %vals[%tid] : memref<{{WG}}xf32, 3>
    memref.store %best#1, %idxs[%tid] : memref<{{WG}}xi32, 3>
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
        %va = memref.load %vals[%tid] : memref<{{WG}}xf32, 3>
        %ia = memref.load %idxs[%tid] : memref<{{WG}}xi32, 3>
        %vb = memref.load %vals[%other] : memref<{{WG}}xf32, 3>
        %ib = memref.load %idxs[%other] : memref<{{WG}}xi32, 3>
        %gt = arith.cmpf ogt, %vb, %va : f32
        %eq = arith.cmpf oeq, %vb, %va : f32
        %lower = arith.cmpi ult, %ib, %ia : i32
        %tie = arith.andi %eq, %lower : i1
        %b_wins = arith.ori %gt, %tie : i1
        %nv = arith.select %b_wins, %vb, %va : f32
        %ni = arith.select %b_wins, %ib, %ia : i32
        memref.store %nv, %vals[%tid] : memref<{{WG}}xf32, 3>
        memref.store %ni, %idxs[%tid] : memref<{{WG}}xi32, 3>
      }
      gpu.barrier
      %s_next = arith.shrui %s, %c1 : index
      scf.yield %s_next : index
    }
    %writer = arith.cmpi eq, %tid, %c0 : index
    scf.if %writer {
      %id = memref.load %idxs[%c0] : memref<{{WG}}xi32, 3>
      %io = arith.addi %i_off, %r : index
      memref.store %id, %meta[%io] : memref<?xi32>
    }
  }
  gpu.return
}
