/* weights.c: a set of weight files (safetensors, or GGUF renamed to the
 * descriptions' names) searched by name. Shard indexes
 * (model.safetensors.index.json) are read with jansson and every shard path
 * is checked to stay inside the model directory: a hostile index must not
 * make llmc map /etc/shadow. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_impl.h"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A weight file: safetensors, or GGUF through its renaming table. */
typedef struct {
  llmc_safetensors_t *st;
  llmc_gguf_weights_t *gguf;
} weight_file_t;

struct llmc_weight_set {
  int n;
  weight_file_t *files;
  char **paths;
  /* Tensors made from others (llmc_weight_set_add_gptq), searched first;
   * each one's data and source_data owned. */
  int n_made;
  llmc_st_tensor_t *made;
};

static int file_count(const weight_file_t *f) {
  return f->st ? llmc_safetensors_count(f->st) : llmc_gguf_weights_count(f->gguf);
}
static const llmc_st_tensor_t *file_at(const weight_file_t *f, int i) {
  return f->st ? llmc_safetensors_at(f->st, i) : llmc_gguf_weights_at(f->gguf, i);
}
static const llmc_st_tensor_t *file_find(const weight_file_t *f, const char *name) {
  return f->st ? llmc_safetensors_find(f->st, name) : llmc_gguf_weights_find(f->gguf, name);
}
static void file_close(weight_file_t *f) {
  llmc_safetensors_close(f->st);
  llmc_gguf_weights_close(f->gguf);
}


static llmc_status_t *refuse_pickle(const char *path) {
  static const char *const pickles[] = {".bin", ".pt", ".pth", ".pkl", ".ckpt"};
  for (size_t i = 0; i < sizeof pickles / sizeof pickles[0]; i++)
    if (ends_with(path, pickles[i]))
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, path,
                        "pickle checkpoints are never loaded (unpickling runs arbitrary code); "
                        "convert it to safetensors first, e.g. with transformers' "
                        "save_pretrained(..., safe_serialization=True)");
  return NULL;
}

static llmc_status_t *add_file(llmc_weight_set_t *ws, const char *path) {
  for (int i = 0; i < ws->n; i++)
    if (strcmp(ws->paths[i], path) == 0) return NULL;
  LLMC_RETURN_IF_ERROR(refuse_pickle(path));
  weight_file_t *files = realloc(ws->files, sizeof *files * (size_t)(ws->n + 1));
  if (files) ws->files = files;
  char **paths = realloc(ws->paths, sizeof(char *) * (size_t)(ws->n + 1));
  if (paths) ws->paths = paths;
  if (!files || !paths) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  if (!(ws->paths[ws->n] = strdup(path))) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  weight_file_t *added = &ws->files[ws->n];
  *added = (weight_file_t){0};
  llmc_status_t *s = ends_with(path, ".gguf") ? llmc_gguf_weights_open(path, &added->gguf)
                                              : llmc_safetensors_open(path, &added->st);
  if (s) {
    free(ws->paths[ws->n]);
    return s;
  }
  /* A name in two files would silently resolve to the first: refused. */
  for (int i = 0; i < file_count(added); i++) {
    const char *name = file_at(added, i)->name;
    for (int f = 0; f < ws->n; f++)
      if (file_find(&ws->files[f], name)) {
        s = LLMC_ERROR(LLMC_DATA_LOSS, path, "tensor '%s' is also in %s: which one is meant is ambiguous", name,
                       ws->paths[f]);
        file_close(added);
        free(ws->paths[ws->n]);
        return s;
      }
  }
  ws->n++;
  return NULL;
}

static llmc_status_t *add_index(llmc_weight_set_t *ws, const char *dir, const char *path) {
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, 64u << 20, &text, &len));
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!root) {
    char where[4096];
    snprintf(where, sizeof where, "%s:%d", path, err.line);
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "%s", err.text);
  }
  llmc_status_t *s = NULL;
  json_t *map = json_object_get(root, "weight_map");
  if (!json_is_object(map) || json_object_size(map) == 0) {
    s = LLMC_ERROR(LLMC_DATA_LOSS, path, "\"weight_map\" must be a non-empty object");
    goto done;
  }
  const char *name;
  json_t *shard;
  llmc_arena_t *a = llmc_arena_create();
  json_object_foreach(map, name, shard) {
    if (!json_is_string(shard)) {
      s = LLMC_ERROR(LLMC_DATA_LOSS, path, "shard of '%s' is not a string", name);
      break;
    }
    const char *rel = json_string_value(shard), *shard_path;
    if ((s = refuse_pickle(rel))) break;
    if ((s = llmc_path_confine(a, dir, rel, &shard_path))) {
      s = llmc_status_wrap(s, path, "shard of '%s'", name);
      break;
    }
    if ((s = add_file(ws, shard_path))) break;
  }
  /* Every indexed tensor must be in the shard the index names. */
  json_object_foreach(map, name, shard) {
    if (s) break;
    if (!llmc_weight_set_find(ws, name))
      s = LLMC_ERROR(LLMC_DATA_LOSS, path, "tensor '%s' is listed in the index but not in '%s'",
                     name, json_string_value(shard));
  }
  llmc_arena_destroy(a);
done:
  json_decref(root);
  return s;
}

llmc_status_t *llmc_weight_set_open(const char *dir, const char *const *files, int n_files,
                                    llmc_weight_set_t **out) {
  *out = NULL;
  llmc_weight_set_t *ws = calloc(1, sizeof *ws);
  llmc_arena_t *a = llmc_arena_create();
  llmc_status_t *s = (!ws || !a) ? LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory") : NULL;
  for (int i = 0; i < n_files && !s; i++) {
    const char *path;
    if ((s = refuse_pickle(files[i])) || (s = llmc_path_confine(a, dir, files[i], &path))) break;
    s = ends_with(path, ".index.json") ? add_index(ws, dir, path) : add_file(ws, path);
  }
  llmc_arena_destroy(a);
  if (s) {
    llmc_weight_set_close(ws);
    return s;
  }
  *out = ws;
  return NULL;
}

void llmc_weight_set_close(llmc_weight_set_t *ws) {
  if (!ws) return;
  for (int i = 0; i < ws->n; i++) {
    file_close(&ws->files[i]);
    free(ws->paths[i]);
  }
  for (int i = 0; i < ws->n_made; i++) {
    free((void *)ws->made[i].name);
    free((void *)ws->made[i].decode_ctx);
    free((void *)ws->made[i].source_data);
  }
  free(ws->made);
  free(ws->files);
  free(ws->paths);
  free(ws);
}

const llmc_st_tensor_t *llmc_weight_set_find(const llmc_weight_set_t *ws, const char *name) {
  for (int i = 0; i < ws->n_made; i++)
    if (strcmp(ws->made[i].name, name) == 0) return &ws->made[i];
  for (int i = 0; i < ws->n; i++) {
    const llmc_st_tensor_t *t = file_find(&ws->files[i], name);
    if (t) return t;
  }
  return NULL;
}

bool llmc_weight_view_of(const llmc_st_tensor_t *t, llmc_weight_view_t *out) {
  out->name = t->name;
  out->data = t->data;
  out->scales = NULL;
  out->source = t->source;
  out->source_data = t->source_data;
  out->source_bytes = t->source_bytes;
  out->decode = t->decode;
  out->decode_ctx = t->decode_ctx;
  out->shape.rank = t->rank;
  for (int i = 0; i < t->rank && i < LLMC_MAX_RANK; i++) out->shape.dims[i] = t->shape[i];
  switch (t->dtype) {
    case LLMC_ST_F32: out->dtype = LLMC_DT_F32; return true;
    case LLMC_ST_F16: out->dtype = LLMC_DT_F16; return true;
    case LLMC_ST_BF16: out->dtype = LLMC_DT_BF16; return true;
    default: return false;
  }
}

bool llmc_weight_set_lookup(void *ctx, const char *name, llmc_weight_view_t *out) {
  const llmc_st_tensor_t *t = llmc_weight_set_find(ctx, name);
  return t && llmc_weight_view_of(t, out);
}

int llmc_weight_set_count(const llmc_weight_set_t *ws) {
  int n = 0;
  for (int i = 0; i < ws->n; i++) n += file_count(&ws->files[i]);
  return n;
}

const llmc_st_tensor_t *llmc_weight_set_at(const llmc_weight_set_t *ws, int i) {
  for (int f = 0; f < ws->n; f++) {
    int n = file_count(&ws->files[f]);
    if (i < n) return file_at(&ws->files[f], i);
    i -= n;
  }
  return NULL;
}

/* ---- GPTQ and AWQ checkpoints (llmc_weight_set_add_packed_int4) ---- */

static uint32_t u32_at(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* A packed tensor of base's, checked for dtype and shape [d0, d1] ([d0] when d1 < 0). */
static llmc_status_t *packed_part(const llmc_weight_set_t *ws, const char *base, const char *suffix,
                                  llmc_st_dtype_t dt, int64_t d0, int64_t d1, bool optional,
                                  const llmc_st_tensor_t **out) {
  char name[1024];
  if ((size_t)snprintf(name, sizeof name, "%s.%s", base, suffix) >= sizeof name)
    return LLMC_ERROR(LLMC_DATA_LOSS, base, "tensor name too long");
  *out = llmc_weight_set_find(ws, name);
  if (!*out) return optional ? NULL : LLMC_ERROR(LLMC_DATA_LOSS, name, "tensor missing (%s.qweight is there)", base);
  const llmc_st_tensor_t *t = *out;
  bool shape_ok = d1 < 0 ? t->rank == 1 && t->shape[0] == d0 : t->rank == 2 && t->shape[0] == d0 && t->shape[1] == d1;
  if (t->dtype != dt || !shape_ok) {
    if (d1 < 0)
      return LLMC_ERROR(LLMC_DATA_LOSS, name, "must be %s [%lld]", dt == LLMC_ST_F16 ? "F16" : "I32", (long long)d0);
    return LLMC_ERROR(LLMC_DATA_LOSS, name, "must be %s [%lld, %lld]", dt == LLMC_ST_F16 ? "F16" : "I32",
                      (long long)d0, (long long)d1);
  }
  return NULL;
}

/* A packed linear's values, decoded from llmc's layout on demand (the
 * weight view's decode): no f32 copy is held. */
typedef struct {
  const uint8_t *layout; /* the made tensor's source_data */
  int64_t n, k;
  bool zp; /* int4-g32-zp (else int4-g32, zero points 8) */
} packed_decode_t;

static void packed_decode(const void *ctx, uint64_t first, uint64_t count, float *out) {
  const packed_decode_t *d = ctx;
  uint64_t k = (uint64_t)d->k, row_h = d->zp ? 3 * k / 32 : k / 16;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t r = (first + i) / k, kk = (first + i) % k, b = kk / 32, j = kk % 32;
    uint8_t byte = d->layout[r * (k / 2) + b * 16 + j % 16];
    const uint8_t *h = d->layout + (uint64_t)d->n * (k / 2) + r * row_h;
    uint16_t s;
    memcpy(&s, h + 2 * b, 2);
    int u = j < 16 ? byte & 15 : byte >> 4, z = d->zp ? h[k / 16 + b] : 8;
    out[i] = (float)(u - z) * llmc_f16_to_f32(s);
  }
}

/* AWQ packs 8 columns an int32 in the order 0, 2, 4, 6, 1, 3, 5, 7: column
 * c % 8 is nibble awq_nibble[c % 8]. */
static const int awq_nibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};

static llmc_status_t *packed_one(llmc_weight_set_t *ws, const llmc_st_tensor_t *qweight, bool awq,
                                 int64_t group_size, int zero_offset) {
  size_t len = strlen(qweight->name) - strlen(".qweight");
  char base[1024];
  if (len >= sizeof base) return LLMC_ERROR(LLMC_DATA_LOSS, qweight->name, "tensor name too long");
  memcpy(base, qweight->name, len);
  base[len] = '\0';
  /* GPTQ: qweight [K/8, N], input rows packed; AWQ: [K, N/8], columns packed. */
  if (qweight->dtype != LLMC_ST_I32 || qweight->rank != 2 || qweight->shape[0] < 1 || qweight->shape[1] < 1 ||
      qweight->shape[0] > (1 << 20) || qweight->shape[1] > (1 << 20) || (!awq && qweight->shape[1] % 8))
    return LLMC_ERROR(LLMC_DATA_LOSS, qweight->name, "%s qweight must be I32 %s", awq ? "AWQ" : "GPTQ",
                      awq ? "[K, N/8]" : "[K/8, N], N a multiple of 8");
  int64_t k = awq ? qweight->shape[0] : qweight->shape[0] * 8, n = awq ? qweight->shape[1] * 8 : qweight->shape[1];
  int64_t g = group_size == -1 ? k : group_size;
  if (g < 1) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, qweight->name, "group size %lld", (long long)group_size);
  if (k % 64 || k % g)
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, qweight->name,
                      "input size %lld must be a multiple of 64 and of the group size %lld", (long long)k, (long long)g);
  const llmc_st_tensor_t *qzeros, *scales, *g_idx = NULL;
  LLMC_RETURN_IF_ERROR(packed_part(ws, base, "qzeros", LLMC_ST_I32, k / g, n / 8, false, &qzeros));
  LLMC_RETURN_IF_ERROR(packed_part(ws, base, "scales", LLMC_ST_F16, k / g, n, false, &scales));
  if (!awq) LLMC_RETURN_IF_ERROR(packed_part(ws, base, "g_idx", LLMC_ST_I32, k, -1, true, &g_idx));
  for (int64_t i = 0; g_idx && i < k; i++)
    if ((int64_t)(int32_t)u32_at(g_idx->data + 4 * i) != i / g)
      return LLMC_ERROR(LLMC_UNIMPLEMENTED, g_idx->name,
                        "g_idx[%lld] is not %lld: groups out of input order (act-order) are not supported yet",
                        (long long)i, (long long)(i / g));
  /* Zero points (GPTQ v1 stores them minus one, so a 0 reads back as 16,
   * which is what GPTQ's own kernels compute with). All 8: symmetric, the
   * int4-g32 layout; otherwise int4-g32-zp. */
  uint8_t *zero = malloc((size_t)(k / g * n));
  if (!zero) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, base, "out of memory");
  bool sym = true;
  for (int64_t i = 0; i < k / g * n; i++) {
    int64_t c = i % n;
    uint32_t word = u32_at(qzeros->data + 4 * (i / n * (n / 8) + c / 8));
    zero[i] = (uint8_t)(((word >> (4 * (awq ? awq_nibble[c % 8] : (int)(c % 8)))) & 15) + (awq ? 0 : zero_offset));
    sym &= zero[i] == 8;
  }
  llmc_st_tensor_t *made = realloc(ws->made, sizeof *made * (size_t)(ws->n_made + 1));
  if (!made) {
    free(zero);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  }
  ws->made = made;
  uint64_t numel = (uint64_t)n * (uint64_t)k, row_h = sym ? (uint64_t)k / 16 : 3 * (uint64_t)k / 32;
  uint64_t layout_bytes = numel / 2 + (uint64_t)n * row_h;
  char *name = malloc(len + sizeof ".weight");
  packed_decode_t *dec = malloc(sizeof *dec);
  uint8_t *layout = calloc(1, layout_bytes);
  if (!name || !dec || !layout) {
    free(zero), free(name), free(dec), free(layout);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, base, "out of memory reading %s tensors", awq ? "AWQ" : "GPTQ");
  }
  *dec = (packed_decode_t){.layout = layout, .n = n, .k = k, .zp = !sym};
  snprintf(name, len + sizeof ".weight", "%s.weight", base);
  /* Row c (output c) in llmc's layout: group b's 16 bytes of nibbles
   * (element j low, j + 16 high; u = q), then every row's header: K/32 f16
   * scales (the checkpoint's group scale repeated per 32), and for
   * int4-g32-zp K/32 zero points. Values (q - zero) * scale, as the
   * checkpoint's dequantization computes them. */
  for (int64_t kk = 0; kk < k; kk++)
    for (int64_t c = 0; c < n; c++) {
      uint32_t word = awq ? u32_at(qweight->data + 4 * (kk * (n / 8) + c / 8))
                          : u32_at(qweight->data + 4 * ((kk / 8) * n + c));
      int q = (int)((word >> (4 * (awq ? awq_nibble[c % 8] : (int)(kk % 8)))) & 15);
      uint16_t s;
      memcpy(&s, scales->data + 2 * ((kk / g) * n + c), 2);
      int z = zero[(kk / g) * n + c];
      int64_t b = kk / 32, j = kk % 32;
      layout[c * (k / 2) + b * 16 + j % 16] |= (uint8_t)(j < 16 ? q : q << 4);
      if (j == 0) {
        uint8_t *h = layout + numel / 2 + (uint64_t)c * row_h;
        memcpy(h + 2 * b, &s, 2);
        if (!sym) h[k / 16 + b] = (uint8_t)z;
      }
    }
  free(zero);
  ws->made[ws->n_made++] = (llmc_st_tensor_t){
      .name = name, .dtype = LLMC_ST_F32, .rank = 2, .shape = {n, k}, .numel = numel, .nbytes = numel * 4,
      .source = awq ? (sym ? "AWQ" : "AWQ-zp") : (sym ? "GPTQ" : "GPTQ-zp"), .source_data = layout,
      .source_bytes = layout_bytes, .decode = packed_decode, .decode_ctx = dec};
  return NULL;
}

llmc_status_t *llmc_weight_set_add_packed_int4(llmc_weight_set_t *ws, const char *method, int64_t group_size,
                                               int zero_offset) {
  bool awq = strcmp(method, "awq") == 0;
  if (!awq && strcmp(method, "gptq") != 0)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, method, "packed int4 checkpoints are \"gptq\" or \"awq\"");
  int found = 0;
  for (int f = 0; f < ws->n; f++)
    for (int i = 0; i < file_count(&ws->files[f]); i++) {
      const llmc_st_tensor_t *t = file_at(&ws->files[f], i);
      if (!ends_with(t->name, ".qweight")) continue;
      LLMC_RETURN_IF_ERROR(packed_one(ws, t, awq, group_size, zero_offset));
      found++;
    }
  if (!found)
    return LLMC_ERROR(LLMC_DATA_LOSS, NULL, "quantization_config says %s, but no tensor is a .qweight", awq ? "AWQ" : "GPTQ");
  return NULL;
}
