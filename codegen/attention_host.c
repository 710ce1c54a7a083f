/* attention_host.c: the CPU attention kernel (kernels_templates/attention.host.mlir)
 * and the two helpers it calls that depend on its lane count L, written in C
 * because their length does:
 *
 *   @NAME_qk(kv, q, kb, kvd, c, s0, s1) -> vector<L>: lane j holds q . k of
 *     the block's slot c + j (the K row at kb + slot * kvd, read by
 *     @NAME_kv_row), the slot clamped into [s0, s1) so every row read is one
 *     the block holds (lanes outside are masked by the kernel);
 *   @NAME_qk_full(kv, q, base): the same for a chunk wholly inside them,
 *     rows at base + j * KVD (KVD = N_KV_HEADS * HEAD_DIM, a constant: no
 *     clamping, each row an immediate offset);
 *   @NAME_in(c, s0, s1) -> vector<L x i1>: which lanes' slots c + j lie in
 *     [s0, s1);
 *   @NAME_hmax(v) -> f32: the largest of v's L lanes.
 *
 * A score was a horizontal sum of HEAD_DIM products: log2(L) shuffles and
 * adds for one value. Here each of L positions sums its products into one
 * vector of L lanes (HEAD_DIM / L FMAs), and the L vectors are reduced
 * together by a tree (as in BLAS dot-product kernels and ggml's
 * hsum of several rows): each level pairs two vectors, takes the first half
 * of every chunk of each into one vector and the second halves into another
 * (two shuffles), and adds them, halving the chunks; after log2(L) levels
 * vector lane j holds one position's whole sum. 2(L-1) shuffles and L-1
 * adds for L scores. The lanes come out in bit-reversed order of the inputs,
 * so position bitrev(i) goes in as input i and the result is in order. */
#include <stdio.h>
#include <string.h>

#include "kplan_impl.h"

static int bitrev(int i, int bits) {
  int r = 0;
  for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
  return r;
}

/* "%<p>" sliced from vector<hd> at `off`, `n` lanes, named %<out>. */
static void emit_slice(llmc_buf_t *o, const char *out, const char *p, int64_t off, int64_t n, int64_t hd) {
  llmc_buf_printf(o,
                  "  %%%s = vector.extract_strided_slice %%%s {offsets = [%lld], sizes = [%lld], strides = [1]} : "
                  "vector<%lldxf32> to vector<%lldxf32>\n",
                  out, p, (long long)off, (long long)n, (long long)hd, (long long)n);
}

/* kvd > 0: @NAME_qk_full(kv, q, base), the chunk wholly inside the
 * attended slots, rows at base + j * kvd (constant offsets); else @NAME_qk,
 * slots clamped. */
static void emit_qk(llmc_buf_t *o, const char *name, int L, int64_t hd, int64_t kvd) {
  int64_t slices = hd / L, rem = hd % L; /* whole L-lane slices of the head dim, and what is left */
  int bits = 0;
  while ((1 << bits) < L) bits++;
  if (kvd > 0)
    llmc_buf_printf(o,
                    "func.func private @%s_qk_full(%%kv: memref<?xf32>, %%q: vector<%lldxf32>, %%base: index) -> "
                    "vector<%dxf32> {\n",
                    name, (long long)hd, L);
  else
    llmc_buf_printf(o,
                    "func.func private @%s_qk(%%kv: memref<?xf32>, %%q: vector<%lldxf32>, %%kb: index, %%kvd: index, "
                    "%%c: index, %%s0: index, %%s1: index) -> vector<%dxf32> {\n"
                    "  %%one = arith.constant 1 : index\n"
                    "  %%last = arith.subi %%s1, %%one : index\n",
                    name, (long long)hd, L);
  if (rem) llmc_buf_printf(o, "  %%zero = arith.constant dense<0.0> : vector<%dxf32>\n", L); /* pads the leftover */
  char a[32], b[32], in[16][32];
  for (int64_t i = 0; i < slices; i++) {
    snprintf(a, sizeof a, "q%lld", (long long)i);
    emit_slice(o, a, "q", i * L, L, hd);
  }
  if (rem) emit_slice(o, "qr", "q", slices * L, rem, hd);
  /* Input i of the tree is position bitrev(i): its K row, products summed
   * to L lanes (the head dim's leftover lanes, if any, padded with 0). */
  for (int i = 0; i < L; i++) {
    int j = bitrev(i, bits);
    if (kvd > 0)
      llmc_buf_printf(o,
                      "  %%o%d = arith.constant %lld : index\n"
                      "  %%r%d = arith.addi %%base, %%o%d : index\n"
                      "  %%k%d = func.call @%s_kv_row(%%kv, %%r%d) : (memref<?xf32>, index) -> vector<%lldxf32>\n",
                      j, (long long)(j * kvd), j, j, j, name, j, (long long)hd);
    else
      llmc_buf_printf(o,
                    "  %%c%d = arith.constant %d : index\n"
                    "  %%u%d = arith.addi %%c, %%c%d : index\n"
                    "  %%m%d = arith.maxui %%u%d, %%s0 : index\n"
                    "  %%sl%d = arith.minui %%m%d, %%last : index\n"
                    "  %%o%d = arith.muli %%sl%d, %%kvd : index\n"
                    "  %%r%d = arith.addi %%kb, %%o%d : index\n"
                    "  %%k%d = func.call @%s_kv_row(%%kv, %%r%d) : (memref<?xf32>, index) -> vector<%lldxf32>\n",
                    j, j, j, j, j, j, j, j, j, j, j, j, j, name, j, (long long)hd);
    for (int64_t d = 0; d < slices; d++) {
      snprintf(a, sizeof a, "k%d_%lld", j, (long long)d);
      snprintf(b, sizeof b, "k%d", j);
      emit_slice(o, a, b, d * L, L, hd);
      if (d == 0)
        llmc_buf_printf(o, "  %%a%d_0 = arith.mulf %%q0, %%k%d_0 : vector<%dxf32>\n", j, j, L);
      else
        llmc_buf_printf(o, "  %%a%d_%lld = vector.fma %%q%lld, %%k%d_%lld, %%a%d_%lld : vector<%dxf32>\n", j,
                        (long long)d, (long long)d, j, (long long)d, j, (long long)(d - 1), L);
    }
    if (rem) {
      snprintf(a, sizeof a, "k%d_r", j);
      snprintf(b, sizeof b, "k%d", j);
      emit_slice(o, a, b, slices * L, rem, hd);
      llmc_buf_printf(o,
                      "  %%p%d_r = arith.mulf %%qr, %%k%d_r : vector<%lldxf32>\n"
                      "  %%z%d_r = vector.insert_strided_slice %%p%d_r, %%zero {offsets = [0], strides = [1]} : "
                      "vector<%lldxf32> into vector<%dxf32>\n",
                      j, j, (long long)rem, j, j, (long long)rem, L);
      if (slices)
        llmc_buf_printf(o, "  %%a%d_%lld = arith.addf %%a%d_%lld, %%z%d_r : vector<%dxf32>\n", j, (long long)slices, j,
                        (long long)(slices - 1), j, L);
    }
    if (slices)
      snprintf(in[i], sizeof in[i], "a%d_%lld", j, (long long)(rem ? slices : slices - 1));
    else /* a head dim below L: its padded products alone */
      snprintf(in[i], sizeof in[i], "z%d_r", j);
  }
  /* The tree: level v pairs its inputs 2i and 2i+1 (the products' sums,
   * then %v<v>_*); chunks of c lanes become chunks of c/2. */
  int n = L, level = 0;
  for (int c = L; c >= 2; c /= 2, level++, n /= 2) {
    for (int i = 0; i < n / 2; i++) {
      for (int half = 0; half < 2; half++) {
        if (level == 0)
          llmc_buf_printf(o, "  %%%c0_%d = vector.shuffle %%%s, %%%s [", half ? 'h' : 'l', i, in[2 * i], in[2 * i + 1]);
        else
          llmc_buf_printf(o, "  %%%c%d_%d = vector.shuffle %%v%d_%d, %%v%d_%d [", half ? 'h' : 'l', level, i, level,
                          2 * i, level, 2 * i + 1);
        for (int lane = 0; lane < L; lane++) {
          int g = lane / c, k = lane % c, from_b = k >= c / 2, idx = g * c + (k % (c / 2)) + half * (c / 2);
          llmc_buf_printf(o, "%s%d", lane ? ", " : "", idx + (from_b ? L : 0));
        }
        llmc_buf_printf(o, "] : vector<%dxf32>, vector<%dxf32>\n", L, L);
      }
      llmc_buf_printf(o, "  %%v%d_%d = arith.addf %%l%d_%d, %%h%d_%d : vector<%dxf32>\n", level + 1, i, level, i,
                      level, i, L);
    }
  }
  llmc_buf_printf(o, "  return %%v%d_0 : vector<%dxf32>\n}\n", level, L);
}

static void emit_in(llmc_buf_t *o, const char *name, int L) {
  llmc_buf_printf(o,
                  "func.func private @%s_in(%%c: index, %%s0: index, %%s1: index) -> vector<%dxi1> {\n"
                  "  %%iota = arith.constant dense<[",
                  name, L);
  for (int j = 0; j < L; j++) llmc_buf_printf(o, "%s%d", j ? ", " : "", j);
  /* s0 - c is negative for every chunk after the first: signed compares. */
  llmc_buf_printf(o,
                  "]> : vector<%dxi32>\n"
                  "  %%d0 = arith.subi %%s0, %%c : index\n"
                  "  %%d1 = arith.subi %%s1, %%c : index\n"
                  "  %%i0 = arith.index_cast %%d0 : index to i32\n"
                  "  %%i1 = arith.index_cast %%d1 : index to i32\n"
                  "  %%b0 = vector.broadcast %%i0 : i32 to vector<%dxi32>\n"
                  "  %%b1 = vector.broadcast %%i1 : i32 to vector<%dxi32>\n"
                  "  %%ge = arith.cmpi sge, %%iota, %%b0 : vector<%dxi32>\n"
                  "  %%lt = arith.cmpi slt, %%iota, %%b1 : vector<%dxi32>\n"
                  "  %%in = arith.andi %%ge, %%lt : vector<%dxi1>\n"
                  "  return %%in : vector<%dxi1>\n}\n",
                  L, L, L, L, L, L, L);
}

/* @NAME_hmax(v) -> f32: the largest lane, halving the vector log2(L)
 * times with compare and select (one vmaxps each on x86; the NaN-aware
 * vector.reduction <maxnumf> was a chain of L scalar maxes and NaN checks,
 * a fifth of the kernel). A NaN lane may or may not win; either way it
 * reaches the output through its exp. */
static void emit_hmax(llmc_buf_t *o, const char *name, int L) {
  llmc_buf_printf(o, "func.func private @%s_hmax(%%v%d: vector<%dxf32>) -> f32 {\n", name, L, L);
  for (int w = L / 2; w >= 1; w /= 2)
    llmc_buf_printf(o,
                    "  %%a%d = vector.extract_strided_slice %%v%d {offsets = [0], sizes = [%d], strides = [1]} : "
                    "vector<%dxf32> to vector<%dxf32>\n"
                    "  %%b%d = vector.extract_strided_slice %%v%d {offsets = [%d], sizes = [%d], strides = [1]} : "
                    "vector<%dxf32> to vector<%dxf32>\n"
                    "  %%g%d = arith.cmpf ogt, %%a%d, %%b%d : vector<%dxf32>\n"
                    "  %%v%d = arith.select %%g%d, %%a%d, %%b%d : vector<%dxi1>, vector<%dxf32>\n",
                    w, 2 * w, w, 2 * w, w, w, 2 * w, w, w, 2 * w, w, w, w, w, w, w, w, w, w, w, w);
  llmc_buf_printf(o, "  %%m = vector.extract %%v1[0] : f32 from vector<1xf32>\n  return %%m : f32\n}\n");
}

llmc_status_t *llmc_attention_qk_generate(const char *name, int64_t lanes, int64_t head_dim, int64_t kvd,
                                          llmc_buf_t *out) {
  if ((lanes != 4 && lanes != 8 && lanes != 16) || head_dim < 1 || head_dim > 1024 || kvd < head_dim)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "attention: bad lanes %lld, head dim %lld or KV row %lld", (long long)lanes,
                      (long long)head_dim, (long long)kvd);
  llmc_buf_printf(out, "// %s: scores %lld positions at a time, head dim %lld (codegen/attention_host.c)\n", name,
                  (long long)lanes, (long long)head_dim);
  emit_qk(out, name, (int)lanes, head_dim, 0);
  emit_qk(out, name, (int)lanes, head_dim, kvd);
  emit_in(out, name, (int)lanes);
  emit_hmax(out, name, (int)lanes);
  return NULL;
}

llmc_status_t *llmc_attention_host_generate(const llmc_kinstance_t *inst, const char *name, llmc_buf_t *out) {
  llmc_template_param_t params[LLMC_KPARAMS_MAX + 1];
  params[0] = (llmc_template_param_t){"NAME", name};
  memcpy(params + 1, inst->params, sizeof(llmc_template_param_t) * (size_t)inst->n);
  int64_t hd = llmc_kinstance_int(inst, "HEAD_DIM");
  /* qk_full's rows are READ_KVD apart: the pool's KVD, or a stage's HEAD_DIM. */
  LLMC_RETURN_IF_ERROR(
      llmc_attention_qk_generate(name, llmc_kinstance_int(inst, "L"), hd, llmc_kinstance_int(inst, "READ_KVD"), out));
  return llmc_template_instantiate("attention", "host", params, inst->n + 1, out);
}
