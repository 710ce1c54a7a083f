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
  free(ws->files);
  free(ws->paths);
  free(ws);
}

const llmc_st_tensor_t *llmc_weight_set_find(const llmc_weight_set_t *ws, const char *name) {
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
