/* artifact_files.c: the artifact's files other than model.so:
 * weights.safetensors (each weight in the dtype the kernel plan chose: those
 * already in it streamed straight from the input mmap, the others and the
 * concats the passes made converted chunk by chunk as the file is written, so
 * no converted copy of the model is ever held), model.h (the plan header as
 * macros) and report.json (what was compiled and why: passes, memory, the
 * kernel plan with each call's variant, configuration and its source, the
 * kernel table, GPU images). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_impl.h"
#include "llmc_kquant.h"
#include "llmc_safetensors.h"

/* ---- weights ---- */

static float weight_at(const llmc_weight_view_t *view, uint64_t j) {
  const uint16_t *h = view->data;
  switch (view->dtype) {
    case LLMC_DT_F16: return llmc_f16_to_f32(h[j]);
    case LLMC_DT_BF16: return llmc_bf16_to_f32(h[j]);
    default: {
      float f;
      memcpy(&f, (const char *)view->data + 4 * j, 4);
      return f;
    }
  }
}

/* Element j of a buffer in stored dtype dt (f32, f16 or bf16). */
static void store_as(llmc_dtype_t dt, float f, void *dst, uint64_t j) {
  if (dt == LLMC_DT_F32) ((float *)dst)[j] = f;
  else ((uint16_t *)dst)[j] = dt == LLMC_DT_F16 ? llmc_f32_to_f16(f) : llmc_f32_to_bf16(f);
}

/* A stored weight, for the producer that writes it at finish time: its
 * value (a weight or a concat of weights), its stored dtype and where the
 * input tensors are found. Arena-allocated; lives until the file is written. */
typedef struct {
  const llmc_ir_graph_t *g;
  const llmc_value_t *v;
  llmc_dtype_t dt;
  llmc_weight_lookup_fn lookup;
  void *lookup_ctx;
} source_t;

static llmc_status_t *find_view(const source_t *src, const llmc_value_t *v, llmc_weight_view_t *out) {
  if (!src->lookup(src->lookup_ctx, v->name, out))
    return LLMC_ERROR(LLMC_NOT_FOUND, src->g->name, "weight '%s' not found", v->name);
  return NULL;
}

/* Every input tensor constant v reads is there (so a missing one fails before
 * the file is begun). */
static llmc_status_t *check_sources(const source_t *src, const llmc_value_t *v) {
  llmc_weight_view_t view;
  if (v->kind == LLMC_VALUE_WEIGHT) return find_view(src, v, &view);
  for (int i = 0; i < v->n_inputs; i++) LLMC_RETURN_IF_ERROR(check_sources(src, v->inputs[i]));
  return NULL;
}

/* Elements [first, first + n) of constant v in stored dtype src->dt, into
 * elements [at, at + n) of dst: a weight's converted from its file, a
 * concat's (of rows, dim 0) taken from the operands that hold them,
 * recursively. Each element goes through f32 once, as it always has, so the
 * bytes do not depend on how the tensor is cut into chunks. */
static llmc_status_t *const_elems(const source_t *src, const llmc_value_t *v, uint64_t first, uint64_t n,
                                  void *dst, uint64_t at) {
  if (v->kind == LLMC_VALUE_WEIGHT) {
    llmc_weight_view_t view;
    LLMC_RETURN_IF_ERROR(find_view(src, v, &view));
    if (view.decode) { /* decoded a chunk at a time */
      float chunk[1024];
      for (uint64_t j = 0; j < n; j += 1024) {
        uint64_t m = n - j < 1024 ? n - j : 1024;
        view.decode(view.decode_ctx, first + j, m, chunk);
        for (uint64_t i = 0; i < m; i++) store_as(src->dt, chunk[i], dst, at + j + i);
      }
      return NULL;
    }
    for (uint64_t j = 0; j < n; j++) store_as(src->dt, weight_at(&view, first + j), dst, at + j);
    return NULL;
  }
  uint64_t k = (uint64_t)v->shape.dims[1], begin = 0;
  for (int i = 0; i < v->n_inputs && n > 0; i++) {
    uint64_t end = begin + (uint64_t)v->inputs[i]->shape.dims[0] * k;
    if (first < end) {
      uint64_t take = end - first < n ? end - first : n;
      LLMC_RETURN_IF_ERROR(const_elems(src, v->inputs[i], first - begin, take, dst, at));
      first += take;
      n -= take;
      at += take;
    }
    begin = end;
  }
  return NULL;
}

/* llmc_st_produce_fn: one chunk of a converted weight or a joined concat. */
static llmc_status_t *produce_weight(void *ctx, uint64_t offset, void *buf, size_t len) {
  const source_t *src = ctx;
  uint64_t esize = llmc_dtype_size(src->dt);
  return const_elems(src, src->v, offset / esize, len / esize, buf, 0);
}

/* ---- the int8 row layout (LLMC_DT_I8; llmc_kplan_stored_bytes) ----
 * Row r of an [N, K] weight becomes q[r][k] = round(x / scale[r]) in
 * [-127, 127] with scale[r] = max |x[r][k]| / 127 (symmetric, per output
 * channel; 1 for an all-zero row). The tensor is N*K int8 bytes then the N
 * f32 scales, produced chunk by chunk like any converted weight: each row
 * is read (as f32) when a chunk needs its values or its scale. */

/* Row r of constant v as f32 into row (K floats), and its scale. */
static llmc_status_t *int8_row(const source_t *src, int64_t r, float *row, float *out_scale) {
  source_t f32 = *src;
  f32.dt = LLMC_DT_F32;
  int64_t k = src->v->shape.dims[1];
  LLMC_RETURN_IF_ERROR(const_elems(&f32, src->v, (uint64_t)(r * k), (uint64_t)k, row, 0));
  float amax = 0;
  for (int64_t j = 0; j < k; j++) amax = fabsf(row[j]) > amax ? fabsf(row[j]) : amax;
  *out_scale = amax > 0 ? amax / 127.0f : 1.0f;
  return NULL;
}

static int8_t quantize(float x, float scale) {
  float q = roundf(x / scale);
  return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* llmc_st_produce_fn for an LLMC_DT_I8 tensor: bytes [offset, offset + len). */
static llmc_status_t *produce_int8(void *ctx, uint64_t offset, void *buf, size_t len) {
  const source_t *src = ctx;
  uint64_t n = (uint64_t)src->v->shape.dims[0], k = (uint64_t)src->v->shape.dims[1], q_bytes = n * k;
  float *row = malloc(sizeof(float) * (size_t)k);
  if (!row) return llmc_artifact_oom();
  llmc_status_t *s = NULL;
  uint8_t *out = buf;
  for (uint64_t at = offset, end = offset + len; at < end && !s;) {
    float scale;
    if (at < q_bytes) { /* quantized values of row at / k, from column at % k */
      uint64_t r = at / k, c = at % k, take = k - c < end - at ? k - c : end - at;
      if (!(s = int8_row(src, (int64_t)r, row, &scale)))
        for (uint64_t j = 0; j < take; j++) out[at - offset + j] = (uint8_t)quantize(row[c + j], scale);
      at += take;
    } else { /* the scales: bytes of row (at - q_bytes) / 4's f32 */
      uint64_t r = (at - q_bytes) / 4, b = (at - q_bytes) % 4, take = 4 - b < end - at ? 4 - b : end - at;
      if (!(s = int8_row(src, (int64_t)r, row, &scale))) memcpy(out + (at - offset), (const char *)&scale + b, take);
      at += take;
    }
  }
  free(row);
  return s;
}

/* The weight holding row r of constant v, and the row's index in it. */
static llmc_status_t *row_source(const source_t *src, const llmc_value_t *v, int64_t r, llmc_weight_view_t *out,
                                 int64_t *out_row) {
  if (v->kind == LLMC_VALUE_WEIGHT) {
    *out_row = r;
    return find_view(src, v, out);
  }
  for (int i = 0; i < v->n_inputs; i++) {
    if (r < v->inputs[i]->shape.dims[0]) return row_source(src, v->inputs[i], r, out, out_row);
    r -= v->inputs[i]->shape.dims[0];
  }
  return LLMC_ERROR(LLMC_INTERNAL, src->g->name, "row %lld is outside '%s'", (long long)r, v->name);
}

/* ---- the group layouts (LLMC_DT_I4, LLMC_DT_I8G, LLMC_DT_I4Z; llmc_kplan_stored_bytes) ----
 * Row r of an [N, K] weight is K/32 groups, each with an f16 scale d:
 *   int4-g32 (ggml's Q4_0 rule): nibbles q = min(15, trunc(x / d + 8.5)) with
 *     d = m / -8, m the group's element of largest magnitude (it lands on -8
 *     exactly), read back as (q - 8) * f16(d); a group's 16 bytes hold
 *     element j in the low nibble and j + 16 in the high one;
 *   int8-g32 (ggml's Q8_0 rule): q = round(x / d) with d = max|x| / 127,
 *     read back as q * f16(d).
 *   int4-g32-zp: d = (max - min) / 15 over the group's values and 0, zero
 *     point z = round(-min / d), q = clamp(round(x / d) + z, 0, 15), read
 *     back as (q - z) * f16(d) (GPTQ's and AWQ's values, copied from their
 *     tensors rather than re-quantized).
 * The first two rules give a GGUF's Q4_0 / Q8_0 tensor, dequantized, back
 * bit for bit. The tensor is the N*K/2 (int4) or N*K (int8) bytes, then
 * each row's K/32 f16 scales (and, for int4-g32-zp, its K/32 zero points). */

/* One row of a layout stored in two parts — every row's values, then every
 * row's header (the group layouts' scales and zero points; the K-quants'
 * super-block headers) — as a row filler makes it (group_row, kquant_row). */
typedef struct {
  int64_t row;     /* the row held, -1 for none */
  float *x;        /* [K] */
  uint8_t *values; /* the row's values */
  uint8_t *header; /* its header */
} layout_row_t;

typedef llmc_status_t *(*fill_row_fn)(const source_t *src, int64_t r, layout_row_t *out);

/* llmc_st_produce_fn's work for a two-part layout of row_v value bytes and
 * row_h header bytes a row: bytes [offset, offset + len) of the tensor. */
static llmc_status_t *produce_rows(const source_t *src, uint64_t row_v, uint64_t row_h, fill_row_fn fill,
                                   uint64_t offset, void *buf, size_t len) {
  uint64_t n = (uint64_t)src->v->shape.dims[0], k = (uint64_t)src->v->shape.dims[1], v_bytes = n * row_v;
  layout_row_t row = {.row = -1, .x = malloc(sizeof(float) * k), .values = malloc(row_v), .header = malloc(row_h)};
  llmc_status_t *s = row.x && row.values && row.header ? NULL : llmc_artifact_oom();
  uint8_t *out = buf;
  for (uint64_t at = offset, end = offset + len; at < end && !s;) {
    uint64_t per_row = at < v_bytes ? row_v : row_h, base = at < v_bytes ? 0 : v_bytes;
    uint64_t r = (at - base) / per_row, c = (at - base) % per_row, take = per_row - c < end - at ? per_row - c : end - at;
    if (!(s = fill(src, (int64_t)r, &row))) memcpy(out + (at - offset), (at < v_bytes ? row.values : row.header) + c, take);
    at += take;
  }
  free(row.x);
  free(row.values);
  free(row.header);
  return s;
}

static void put_f16(uint8_t *p, float f) {
  uint16_t h = llmc_f32_to_f16(f);
  memcpy(p, &h, 2);
}

static float f16_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return llmc_f16_to_f32(h);
}

static llmc_status_t *group_row(const source_t *src, int64_t r, layout_row_t *out) {
  if (out->row == r) return NULL;
  /* A GPTQ or AWQ weight (frontend's llmc_weight_set_add_packed_int4) is in
   * this layout already: its row is copied, not re-quantized. */
  llmc_weight_view_t view;
  int64_t in_row = 0, k = src->v->shape.dims[1];
  LLMC_RETURN_IF_ERROR(row_source(src, src->v, r, &view, &in_row));
  uint64_t row_v = 0, row_h = 0;
  llmc_layout_row_bytes(src->dt, k, &row_v, &row_h);
  bool gptq = src->dt == LLMC_DT_I4 && view.source && (!strcmp(view.source, "GPTQ") || !strcmp(view.source, "AWQ"));
  bool zp = src->dt == LLMC_DT_I4Z && view.source && (!strcmp(view.source, "GPTQ-zp") || !strcmp(view.source, "AWQ-zp"));
  if ((gptq || zp) && view.source_data && view.shape.rank == 2 && view.shape.dims[1] == k &&
      in_row < view.shape.dims[0] && view.source_bytes == (uint64_t)view.shape.dims[0] * (row_v + row_h)) {
    const uint8_t *base = view.source_data;
    memcpy(out->values, base + (uint64_t)in_row * row_v, row_v);
    memcpy(out->header, base + (uint64_t)view.shape.dims[0] * row_v + (uint64_t)in_row * row_h, row_h);
    out->row = r;
    return NULL;
  }
  source_t f32 = *src;
  f32.dt = LLMC_DT_F32;
  LLMC_RETURN_IF_ERROR(const_elems(&f32, src->v, (uint64_t)(r * k), (uint64_t)k, out->x, 0));
  for (int64_t g = 0; g < k / 32; g++) {
    const float *x = out->x + 32 * g;
    float amax = 0, m = 0;
    for (int j = 0; j < 32; j++)
      if (fabsf(x[j]) > amax) amax = fabsf(x[j]), m = x[j];
    if (src->dt == LLMC_DT_I4Z) { /* asymmetric: the group's [min, max] (with 0) over 15 levels */
      float lo = 0, hi = 0;
      for (int j = 0; j < 32; j++) lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
      put_f16(out->header + 2 * g, (hi - lo) / 15);
      float d = f16_at(out->header + 2 * g), id = d > 0 ? 1.0f / d : 0.0f;
      int z = d > 0 ? (int)lrintf(-lo * id) : 8;
      z = z < 0 ? 0 : z > 15 ? 15 : z;
      out->header[k / 16 + g] = (uint8_t)z;
      for (int j = 0; j < 16; j++) {
        int lq = (int)lrintf(x[j] * id) + z, hq = (int)lrintf(x[j + 16] * id) + z;
        lq = lq < 0 ? 0 : lq > 15 ? 15 : lq, hq = hq < 0 ? 0 : hq > 15 ? 15 : hq;
        out->values[16 * g + j] = (uint8_t)(lq | hq << 4);
      }
    } else if (src->dt == LLMC_DT_I4) {
      float d = m / -8, id = d != 0 ? 1.0f / d : 0.0f;
      for (int j = 0; j < 16; j++) {
        int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + 16] * id + 8.5f);
        out->values[16 * g + j] = (uint8_t)((lo > 15 ? 15 : lo) | (hi > 15 ? 15 : hi) << 4);
      }
      put_f16(out->header + 2 * g, d);
    } else {
      float d = amax / 127, id = d != 0 ? 1.0f / d : 0.0f;
      for (int j = 0; j < 32; j++) {
        float q = roundf(x[j] * id);
        out->values[32 * g + j] = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
      }
      put_f16(out->header + 2 * g, d);
    }
  }
  out->row = r;
  return NULL;
}

/* ---- the K-quant layouts (LLMC_DT_I4K, _I5K, _I6K; support/llmc_kquant.h) ----
 * A row whose weight came from a GGUF tensor of the same K-quant (Q4_K for
 * int4-k, Q5_K for int5-k, Q6_K for int6-k) is converted from the file's blocks exactly; any
 * other row (another source, or the other K-quant's rows in a joined
 * constant) is quantized from its f32 values by llmc's rule. The tensor is
 * every row's values, then every row's headers. */

static llmc_status_t *kquant_row(const source_t *src, int64_t r, layout_row_t *out) {
  if (out->row == r) return NULL;
  int bits = llmc_dtype_kquant_bits(src->dt);
  uint64_t k = (uint64_t)src->v->shape.dims[1], block_bytes = llmc_kquant_ggml_block_bytes(bits);
  static const char *const ggml_name[] = {"Q4_K", "Q5_K", "Q6_K"};
  llmc_weight_view_t view;
  int64_t in_row = 0;
  LLMC_RETURN_IF_ERROR(row_source(src, src->v, r, &view, &in_row));
  if (view.source && view.source_data && !strcmp(view.source, ggml_name[bits - 4]) &&
      view.shape.rank == 2 && (uint64_t)view.shape.dims[1] == k &&
      view.source_bytes / block_bytes * LLMC_KQUANT_BLOCK / k > (uint64_t)in_row) {
    llmc_kquant_from_ggml(bits, (const uint8_t *)view.source_data + (uint64_t)in_row * (k / LLMC_KQUANT_BLOCK) * block_bytes, k,
                          out->values, out->header);
  } else {
    source_t f32 = *src;
    f32.dt = LLMC_DT_F32;
    LLMC_RETURN_IF_ERROR(const_elems(&f32, src->v, (uint64_t)r * k, k, out->x, 0));
    llmc_kquant_quantize_row(bits, out->x, k, out->values, out->header);
  }
  out->row = r;
  return NULL;
}

/* llmc_st_produce_fn for a group-layout or K-quant tensor: bytes [offset,
 * offset + len), rows filled by group_row or kquant_row. */
static llmc_status_t *produce_layout(void *ctx, uint64_t offset, void *buf, size_t len) {
  const source_t *src = ctx;
  uint64_t row_v = 0, row_h = 0;
  llmc_layout_row_bytes(src->dt, src->v->shape.dims[1], &row_v, &row_h);
  return produce_rows(src, row_v, row_h, llmc_dtype_kquant_bits(src->dt) ? kquant_row : group_row, offset, buf, len);
}


llmc_status_t *llmc_artifact_write_weights(builder_t *b, llmc_weight_lookup_fn lookup, void *ctx,
                                           const char *path, uint64_t *out_bytes) {
  const llmc_ir_graph_t *g = b->g;
  llmc_st_writer_t *w;
  LLMC_RETURN_IF_ERROR(llmc_st_writer_create(&w));
  llmc_status_t *s = llmc_st_writer_set_metadata(w, "format", "llmc.weights/1");
  /* The model's identity: the runtime refuses the weights of a model of
   * another name, and the header digest model.so records covers it. */
  if (!s) s = llmc_st_writer_set_metadata(w, "model", g->name ? g->name : "");
  uint64_t end = 0;
  *out_bytes = 0;
  for (int i = 0; i < g->n_values && !s; i++) {
    const llmc_value_t *v = g->values[i];
    /* Constants no kernel reads (the operands of concats) are not stored. */
    if (!llmc_ir_value_is_const(v) || !b->kplan->stored[i]) continue;
    llmc_dtype_t dt = b->kplan->weight_dtypes[i];
    uint64_t bytes = llmc_kplan_stored_bytes(b->kplan, v);
    llmc_st_dtype_t st = dt == LLMC_DT_F16 ? LLMC_ST_F16 : dt == LLMC_DT_BF16 ? LLMC_ST_BF16 : LLMC_ST_F32;
    const char *name = v->name;
    source_t *src = llmc_arena_alloc(b->a, sizeof *src);
    if (!src) {
      s = llmc_artifact_oom();
      break;
    }
    *src = (source_t){.g = g, .v = v, .dt = dt, .lookup = lookup, .lookup_ctx = ctx};
    if (v->kind == LLMC_VALUE_NODE) {
      /* A concat: joined while the file is written, chunk by chunk. */
      if ((s = check_sources(src, v))) break;
      name = llmc_arena_printf(b->a, "llmc.concat.%d", v->id);
      if (!name) {
        s = llmc_artifact_oom();
        break;
      }
      /* Where each operand weight's rows are, so `--verify` can run the
       * interpreter on the weights as stored (rounded): "NAME@ROW@ROWS". */
      int64_t row = 0;
      for (int j = 0; j < v->n_inputs && !s; j++) {
        const llmc_value_t *in = v->inputs[j];
        if (in->kind == LLMC_VALUE_WEIGHT) {
          const char *key = llmc_arena_printf(b->a, "llmc.part.%s", in->name);
          const char *val = llmc_arena_printf(b->a, "%s@%lld@%lld", name, (long long)row, (long long)in->shape.dims[0]);
          s = key && val ? llmc_st_writer_set_metadata(w, key, val) : llmc_artifact_oom();
        }
        row += in->shape.dims[0];
      }
      if (s) break;
    }
    if (dt == LLMC_DT_I8 || dt == LLMC_DT_I4 || dt == LLMC_DT_I8G || dt == LLMC_DT_I4Z || llmc_dtype_kquant_bits(dt)) {
      /* A byte tensor in one of llmc's own layouts, named as such for
       * readers (--verify) in the metadata: "llmc.layout.NAME" =
       * "LAYOUT@N@K" (int8-rows, int4-g32, int8-g32, int4-k, int5-k, int6-k). */
      if ((s = check_sources(src, v))) break;
      const char *key = llmc_arena_printf(b->a, "llmc.layout.%s", name);
      const char *val = llmc_arena_printf(b->a, "%s@%lld@%lld", llmc_layout_name(dt), (long long)v->shape.dims[0],
                                          (long long)v->shape.dims[1]);
      s = key && val ? llmc_st_writer_set_metadata(w, key, val) : llmc_artifact_oom();
      int64_t shape[1] = {(int64_t)bytes};
      if (!s)
        s = llmc_st_writer_add_stream(w, name, LLMC_ST_U8, 1, shape, dt == LLMC_DT_I8 ? produce_int8 : produce_layout,
                                      src);
    } else if (v->kind == LLMC_VALUE_NODE) {
      s = llmc_st_writer_add_stream(w, name, st, v->shape.rank, v->shape.dims, produce_weight, src);
    } else {
      /* Weights already in the stored format stream straight from the input
       * mmap; others are converted while the file is written, chunk by chunk. */
      llmc_weight_view_t view;
      if ((s = find_view(src, v, &view))) break;
      s = view.dtype == dt && view.data ? llmc_st_writer_add(w, name, st, v->shape.rank, v->shape.dims, view.data)
                           : llmc_st_writer_add_stream(w, name, st, v->shape.rank, v->shape.dims, produce_weight, src);
    }
    if (s) break;
    uint64_t off = llmc_st_writer_data_offset(w, name); /* 64-byte aligned */
    b->weight_offsets[i] = (int64_t)(off / 4);
    if (off + bytes > end) end = off + bytes;
    *out_bytes += bytes;
  }
  b->header[LLMC_PLAN_WEIGHT_FLOATS] = (int64_t)((end + 3) / 4);
  if (!s && path) s = llmc_st_writer_finish(w, path);
  if (!s && path) {
    /* What model.so records of the file (llmc_abi.h), read back as written. */
    llmc_file_map_t map;
    s = llmc_file_map_open(path, &map);
    if (!s) {
      b->weights_size = map.size;
      if (!llmc_weights_head_digest(map.data, map.size, &b->weights_digest) || b->weights_digest == 0)
        s = LLMC_ERROR(LLMC_INTERNAL, path, "the weights file written has no readable header");
      llmc_file_map_close(&map);
    }
  }
  llmc_st_writer_destroy(w);
  return s;
}

/* ---- side files ---- */

void llmc_artifact_model_h(builder_t *b, const llmc_target_t *t, llmc_buf_t *out) {
  const int64_t *h = b->header;
  /* The model's name comes from a file: quoted (no newline, no comment end). */
  llmc_buf_printf(out, "/* model.h: generated by llmc %s for model ", LLMC_VERSION_STRING);
  llmc_buf_put_quoted(out, b->g->name);
  llmc_buf_printf(out,
                  ", target %s (%s). Do not edit.\n"
                  " * model.so exports llmc_model_v1; load it with libllmc_rt (llmc_rt_open). */\n"
                  "#ifndef LLMC_MODEL_H\n#define LLMC_MODEL_H\n\n#include \"llmc_abi.h\"\n\n",
                  t->name, t->triple);
  static const char *const names[] = {
      "VOCAB", "MAX_STEP_TOKENS", "MAX_CONTEXT", "MAX_SEQS", "ACT_FLOATS", "LOGITS_OFFSET",
      "N_LAYERS", "N_KV_HEADS", "HEAD_DIM", "BLOCK_SIZE", "BLOCK_FLOATS", "MAX_BLOCKS_PER_SEQ",
      "META_TOKENS", "META_POSITIONS", "META_SEQ", "META_BLOCK_TABLES", "META_INTS",
      "WEIGHT_FLOATS", "N_LAUNCHES", "KV_DTYPE", "META_LOGIT_ROWS", "KV_WINDOW"};
  _Static_assert(sizeof names / sizeof names[0] == LLMC_PLAN_HEADER_LEN, "a name for every plan header field");
  for (int i = 0; i < LLMC_PLAN_HEADER_LEN; i++)
    llmc_buf_printf(out, "#define LLMC_MODEL_%s %lldLL\n", names[i], (long long)h[i]);
  llmc_buf_printf(out, "\nextern const llmc_model_v1_t llmc_model_v1;\n\n#endif\n");
}

/* {"variant": ..., "config": {...}, "source": "heuristic"|"tuning-db"|"override"[, "tuning_db_line": N]
 *  [, "activations": "int8-b32" (rounded to int8 in blocks of 32)][, "fuses": [...]]} */
static json_t *choice_json(const llmc_kplan_t *p, const llmc_kcall_t *c, int t) {
  (void)p;
  const llmc_kchoice_t *ch = &c->choice[t];
  if (ch->fused_into) return json_pack("{s:s, s:i}", "variant", "fused", "into", ch->fused_into->node->id);
  json_t *cfg = json_object();
  for (int i = 0; i < llmc_kvariant_n_params(ch->variant); i++)
    json_object_set_new(cfg, llmc_kvariant_param_name(ch->variant, i), json_integer(ch->config.values[i]));
  json_t *o = json_pack("{s:s, s:o, s:s}", "variant", llmc_kvariant_name(ch->variant), "config", cfg, "source",
                        llmc_ksource_name(ch->source));
  if (ch->source == LLMC_KSOURCE_TUNING_DB) json_object_set_new(o, "tuning_db_line", json_integer(ch->db_line));
  if (llmc_kvariant_int8_activations(ch->variant)) json_object_set_new(o, "activations", json_string("int8-b32"));
  if (ch->fused_norm || ch->fused_glu || ch->fused_kvw) {
    json_t *f = json_array();
    if (ch->fused_norm) json_array_append_new(f, json_string("rms_norm"));
    if (ch->fused_glu) json_array_append_new(f, json_string(c->glu ? llmc_op_name(c->glu->op) : "silu_mul"));
    if (ch->fused_kvw) json_array_append_new(f, json_string("kv_write"));
    json_object_set_new(o, "fuses", f);
  }
  return o;
}

char *llmc_artifact_report(builder_t *b, const llmc_target_t *t, uint64_t weight_bytes) {
  const int64_t *h = b->header;
  json_t *r = json_object();
  json_object_set_new(r, "llmc_version", json_string(LLMC_VERSION_STRING));
  json_object_set_new(r, "model", json_string(b->g->name));
  json_object_set_new(r, "target", json_pack("{s:s, s:s, s:s}", "name", t->name, "triple", t->triple,
                                             "cpu", t->cpu));
  json_t *passes = json_array();
  const llmc_pass_result_t *pr = b->opts->passes;
  for (int i = 0; pr && i < pr->n_passes; i++)
    json_array_append_new(passes, json_pack("{s:s, s:i, s:i}", "name", pr->stats[i].name, "nodes_before",
                                            pr->stats[i].nodes_before, "nodes_after", pr->stats[i].nodes_after));
  json_object_set_new(r, "passes", passes);
  /* Every fusion made and every candidate refused, with the reason. */
  json_t *fusions = json_array(), *refused = json_array();
  for (int i = 0; pr && i < pr->remarks.n; i++) {
    const llmc_pass_remark_t *m = &pr->remarks.items[i];
    json_array_append_new(m->fused ? fusions : refused, json_pack("{s:s, s:s}", "pass", m->pass, "what", m->what));
  }
  json_object_set_new(r, "fusions", fusions);
  json_object_set_new(r, "fusions_refused", refused);
  int64_t kv_token = h[LLMC_PLAN_BLOCK_FLOATS] * 4 / h[LLMC_PLAN_BLOCK_SIZE]; /* int8 rows carry their scales */
  json_object_set_new(
      r, "memory",
      json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "max_step_tokens", (json_int_t)h[LLMC_PLAN_MAX_STEP_TOKENS],
                "activation_arena_bytes", (json_int_t)(h[LLMC_PLAN_ACT_FLOATS] * 4),
                "activation_bytes_without_reuse", (json_int_t)(b->plan->naive_floats * 4),
                "weight_bytes", (json_int_t)weight_bytes, "decode_weight_bytes_per_token",
                (json_int_t)b->decode_bytes, "kv_bytes_per_token", (json_int_t)kv_token,
                "kv_block_bytes", (json_int_t)(h[LLMC_PLAN_BLOCK_FLOATS] * 4)));
  /* Every stored constant's layout and bytes: the kernel plan's choice
   * (--weight-dtype, --quant), weight by weight. */
  json_t *layouts = json_array();
  for (int i = 0; i < b->g->n_values; i++) {
    const llmc_value_t *v = b->g->values[i];
    if (!llmc_ir_value_is_const(v) || !b->kplan->stored[i]) continue;
    llmc_dtype_t dt = b->kplan->weight_dtypes[i];
    char concat_name[48];
    snprintf(concat_name, sizeof concat_name, "llmc.concat.%d", v->id);
    json_t *e = json_pack("{s:s, s:s, s:I}", "name", v->kind == LLMC_VALUE_WEIGHT ? v->name : concat_name,
                          "layout", llmc_layout_name(dt), "bytes",
                          (json_int_t)llmc_kplan_stored_bytes(b->kplan, v));
    llmc_weight_view_t w;
    /* Converted on import (a GGUF's block-quantized tensors): from what. */
    if (v->kind == LLMC_VALUE_WEIGHT && b->lookup && b->lookup(b->lookup_ctx, v->name, &w) && w.source)
      json_object_set_new(e, "dequantized_from", json_string(w.source));
    if (v->kind == LLMC_VALUE_NODE) {
      json_t *parts = json_array();
      for (int j = 0; j < v->n_inputs; j++)
        if (v->inputs[j]->kind == LLMC_VALUE_WEIGHT) json_array_append_new(parts, json_string(v->inputs[j]->name));
      json_object_set_new(e, "joins", parts);
    }
    json_array_append_new(layouts, e);
  }
  json_object_set_new(r, "weights", layouts);
  json_object_set_new(r, "kv_cache",
                      json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "layers", (json_int_t)h[LLMC_PLAN_N_LAYERS],
                                "kv_heads", (json_int_t)b->kplan->n_kv_heads, "head_dim", (json_int_t)b->kplan->head_dim,
                                "block_size", (json_int_t)h[LLMC_PLAN_BLOCK_SIZE], "max_context",
                                (json_int_t)h[LLMC_PLAN_MAX_CONTEXT], "dtype",
                                b->kplan->kv_dtype == LLMC_DT_I8 ? "int8" : llmc_dtype_name(b->kplan->kv_dtype),
                                /* blocks behind this many positions are freed (0: all kept) */
                                "window", (json_int_t)h[LLMC_PLAN_KV_WINDOW]));
  json_t *kernels = json_array();
  for (int k = 0; k < b->n_kernels; k++) {
    const kernel_t *kn = &b->kernels[k];
    json_t *per_target = json_object();
    for (int t = 0; t < b->n_targets; t++) {
      llmc_kinstance_t inst;
      if (llmc_kplan_instance(b->kplan, kn->call, t, &inst)) continue; /* emitted once already: cannot fail */
      json_t *params = json_object();
      for (int p = 0; p < inst.n; p++)
        if (strcmp(inst.params[p].key, "INV_FREQ") != 0)
          json_object_set_new(params, inst.params[p].key, json_string(inst.params[p].value));
      json_object_set_new(per_target, b->targets[t].name, json_pack("{s:s, s:o, s:o}", "family", inst.family,
                                                                    "params", params, "choice",
                                                                    choice_json(b->kplan, kn->call, t)));
    }
    json_array_append_new(kernels, json_pack("{s:s, s:s, s:s, s:i, s:o}", "name", kn->name, "op", kn->call->op,
                                             "shape", kn->call->shape, "launches", kn->n_launches, "targets",
                                             per_target));
  }
  json_object_set_new(r, "kernels", kernels);
  /* All of the plan's launches: with variants per token range (llmc_abi.h)
   * not all of them run in one step; "launches" and
   * "launches_per_decode_step" count those of a decode step. */
  json_object_set_new(r, "plan_launches", json_integer(b->n_launches));
  /* A decode step (T = 1) runs the launches whose token range holds 1, and
   * on each target those not fused into another there. */
  int decode = 0;
  for (int i = 0; i < b->n_launches; i++) decode += b->launches[i].call->t_min <= 1;
  json_object_set_new(r, "launches", json_integer(decode));
  json_object_set_new(r, "launches_per_decode_step", json_integer(decode));
  json_t *by_target = json_object();
  for (int t = 0; t < b->n_targets; t++) {
    int n = 0;
    for (int i = 0; i < b->n_launches; i++)
      n += b->launches[i].call->t_min <= 1 && b->launches[i].call->choice[t].fused_into == NULL;
    json_object_set_new(by_target, b->targets[t].name, json_integer(n));
  }
  json_object_set_new(r, "launches_per_decode_step_by_target", by_target);
  json_t *calls = json_array();
  for (int i = 0; i < b->kplan->n_calls; i++) {
    const llmc_kcall_t *c = &b->kplan->calls[i];
    json_t *per_target = json_object();
    for (int t = 0; t < b->n_targets; t++) json_object_set_new(per_target, b->targets[t].name, choice_json(b->kplan, c, t));
    json_t *call = json_pack("{s:s, s:s, s:[I,I], s:o}", "op", c->op, "shape", c->shape, "tokens",
                             (json_int_t)c->t_min, (json_int_t)c->t_max, "targets", per_target);
    if (c->node) json_object_set_new(call, "value", json_integer(c->node->id));
    json_array_append_new(calls, call);
  }
  json_object_set_new(r, "kernel_plan", calls);
  json_t *images = json_array();
  for (int t = 0; t < b->n_targets; t++) {
    if (!b->targets[t].is_gpu) continue;
    static const char *const kinds[] = {"ptx", "cubin", "hsaco", "spirv", "host-emulation"};
    json_array_append_new(images, json_pack("{s:s, s:s, s:I}", "target", b->targets[t].name, "kind",
                                            kinds[b->image_info[t].kind], "bytes",
                                            (json_int_t)b->images[t].len));
  }
  json_object_set_new(r, "gpu_images", images);
  char *text = json_dumps(r, JSON_PRESERVE_ORDER | JSON_INDENT(2));
  json_decref(r);
  return text;
}

