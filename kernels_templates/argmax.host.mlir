// argmax.host.mlir: the greedy token of each sampled row of the logits; the
// host form of argmax.gpu.mlir, with the same args (the runtime samples on
// the host itself with llmc_sampler_argmax, so this kernel is there for a
// uniform kernel table and for tests).
//
//   params: NAME, V (vocabulary)
//   args:   [logits_off (act), rows_off (meta), ids_off (meta), n_rows]
//   extent: n_rows
// Row r = meta[rows_off + r] of the [T, V] logits at logits_off; the id of
// its largest logit goes to meta[ids_off + r]. Ties keep the lowest id
// (strict >), as llmc_sampler_argmax does.
func.func @{{NAME}}(%act: memref<?xf32>, %w: memref<?xf32>, %kv: memref<?xf32>, %meta: memref<?xi32>, %args: memref<?xi64>, %begin: index, %end: index) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %v = arith.constant {{V}} : index
  %l_off_i = memref.load %args[%c0] : memref<?xi64>
  %r_off_i = memref.load %args[%c1] : memref<?xi64>
  %i_off_i = memref.load %args[%c2] : memref<?xi64>
  %l_off = arith.index_cast %l_off_i : i64 to index
  %r_off = arith.index_cast %r_off_i : i64 to index
  %i_off = arith.index_cast %i_off_i : i64 to index
  scf.for %r = %begin to %end step %c1 {
    %ir = arith.addi %r_off, %r : index
    %row_i = memref.load %meta[%ir] : memref<?xi32>
    %row = arith.index_cast %row_i : i32 to index
    %row_v = arith.muli %row, %v : index
    %base = arith.addi %l_off, %row_v : index
    %x0 = memref.load %act[%base] : memref<?xf32>
    %best:2 = scf.for %j = %c1 to %v step %c1 iter_args(%bv = %x0, %bi = %c0) -> (f32, index) {
      %ij = arith.addi %base, %j : index
      %x = memref.load %act[%ij] : memref<?xf32>
      %gt = arith.cmpf ogt, %x, %bv : f32
      %nv = arith.select %gt, %x, %bv : f32
      %ni = arith.select %gt, %j, %bi : index
      scf.yield %nv, %ni : f32, index
    }
    %id = arith.index_cast %best#1 : index to i32
    %io = arith.addi %i_off, %r : index
    memref.store %id, %meta[%io] : memref<?xi32>
  }
  return
}
