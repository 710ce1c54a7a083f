/* gen_model.c: writes a random-weight Llama-family model with a fixed seed, as
 * Hugging Face would lay it out (config.json + model.safetensors, or N shards
 * with model.safetensors.index.json), plus a hand-written model.json of the
 * same network, so tests can check that both import paths agree.
 *
 * Usage: gen_model OUT_DIR [--dim N] [--layers N] [--heads N] [--kv-heads N]
 *          [--hidden N] [--vocab N] [--max-context N] [--seed N] [--tied]
 *          [--shards N] [--dtype f32|f16|bf16] [--arch llama|qwen2|qwen3|mistral|gemma2|gemma3|phi3]
 *          [--head-dim N]  (default dim / heads; q_proj then has heads * N rows)
 *          [--rope-theta F]  (config.json's rope_theta, default 10000)
 *          [--rope-style half|interleaved]   (interleaved: model.json only)
 *          [--graph written-ops]  (model.json written with concat, slice,
 *                                  matmul_add and fused RoPE; needs hidden > dim)
 *          [--config-extra 'JSON members']  (added to config.json as they
 *                                  are, e.g. '"rope_scaling": {...}'; the
 *                                  hand-written model.json ignores them)
 * qwen2 adds biases to the q, k and v projections (Qwen2ForCausalLM);
 * qwen3 has per-head RMSNorms of q and k (self_attn.q_norm / k_norm) and
 * no biases (Qwen3ForCausalLM); gemma2 and gemma3 have four zero-centred
 * norms a layer (Gemma's (1 + w)), gemma3 q/k norms too, and no hand-written
 * model.json (the Gemma graphs come from the importer's descriptions);
 * phi3 has q, k and v in one qkv_proj and gate and up in one gate_up_proj
 * (no hand-written model.json either); mistral is the Llama layout named MistralForCausalLM (its sliding_window
 * goes in with --config-extra; the hand-written model.json has none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>

#include "llmc_safetensors.h"

typedef struct {
  int dim, layers, heads, kv_heads, hidden, vocab, max_context, shards;
  unsigned long long seed;
  int head_dim;
  double rope_theta;
  bool tied, qwen2, qwen3, mistral, gemma2, gemma3, phi3, rope_interleaved, written_ops;
  llmc_st_dtype_t dtype;
  const char *config_extra;
} config_t;

typedef struct {
  char name[128];
  int rank;
  int64_t shape[2];
  void *data;
} tensor_t;

static tensor_t tensors[1024];
static int n_tensors;

static void add(const config_t *c, uint64_t *rng, const char *name, int64_t rows, int64_t cols,
                float center, float spread) {
  tensor_t *t = &tensors[n_tensors++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->rank = cols ? 2 : 1;
  t->shape[0] = rows;
  t->shape[1] = cols;
  int64_t n = rows * (cols ? cols : 1);
  size_t esize = (size_t)llmc_st_dtype_size(c->dtype);
  t->data = malloc((size_t)n * esize);
  for (int64_t i = 0; i < n; i++) {
    float v = center + spread * (2.0f * llmc_rng_uniform(rng) - 1.0f);
    if (c->dtype == LLMC_ST_F32)
      ((float *)t->data)[i] = v;
    else if (c->dtype == LLMC_ST_F16)
      ((uint16_t *)t->data)[i] = llmc_f32_to_f16(v);
    else
      ((uint16_t *)t->data)[i] = llmc_f32_to_bf16(v);
  }
}

static int write_text(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "gen_model: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

static int fail(llmc_status_t *s) {
  char msg[2048];
  llmc_status_format(s, msg, sizeof msg);
  fprintf(stderr, "gen_model: %s\n", msg);
  llmc_status_free(s);
  return 1;
}

int main(int argc, char **argv) {
  config_t c = {.dim = 64, .layers = 2, .heads = 4, .kv_heads = 2, .hidden = 160, .vocab = 97,
                .max_context = 256, .shards = 1, .seed = 1, .dtype = LLMC_ST_F32};
  if (argc < 2 || argv[1][0] == '-') { /* an option is not a directory to write ("--help") */
    fprintf(stderr, "usage: gen_model OUT_DIR [options]\n");
    return 64;
  }
  const char *dir = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--tied") == 0) { c.tied = true; continue; }
    i++;
    if (strcmp(a, "--dim") == 0) c.dim = atoi(v);
    else if (strcmp(a, "--layers") == 0) c.layers = atoi(v);
    else if (strcmp(a, "--heads") == 0) c.heads = atoi(v);
    else if (strcmp(a, "--kv-heads") == 0) c.kv_heads = atoi(v);
    else if (strcmp(a, "--hidden") == 0) c.hidden = atoi(v);
    else if (strcmp(a, "--vocab") == 0) c.vocab = atoi(v);
    else if (strcmp(a, "--max-context") == 0) c.max_context = atoi(v);
    else if (strcmp(a, "--shards") == 0) c.shards = atoi(v);
    else if (strcmp(a, "--seed") == 0) c.seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--arch") == 0) {
      c.qwen2 = strcmp(v, "qwen2") == 0;
      c.qwen3 = strcmp(v, "qwen3") == 0;
      c.gemma2 = strcmp(v, "gemma2") == 0;
      c.gemma3 = strcmp(v, "gemma3") == 0;
      c.phi3 = strcmp(v, "phi3") == 0;
      c.mistral = strcmp(v, "mistral") == 0;
    }
    else if (strcmp(a, "--rope-style") == 0) c.rope_interleaved = strcmp(v, "interleaved") == 0;
    else if (strcmp(a, "--graph") == 0) c.written_ops = strcmp(v, "written-ops") == 0;
    else if (strcmp(a, "--config-extra") == 0) c.config_extra = v;
    else if (strcmp(a, "--head-dim") == 0) c.head_dim = atoi(v);
    else if (strcmp(a, "--rope-theta") == 0) c.rope_theta = atof(v);
    else if (strcmp(a, "--dtype") == 0) {
      if (!llmc_st_dtype_from_name(strcmp(v, "f32") == 0 ? "F32" : strcmp(v, "f16") == 0 ? "F16" : "BF16", &c.dtype)) return 64;
    } else {
      fprintf(stderr, "gen_model: unknown option %s\n", a);
      return 64;
    }
  }
  mkdir(dir, 0755);
  uint64_t rng = c.seed;
  int hd = c.head_dim ? c.head_dim : c.dim / c.heads, kvd = c.kv_heads * hd, qd = c.heads * hd;
  float sd = 1.0f / sqrtf((float)c.dim), sh = 1.0f / sqrtf((float)c.hidden);
  char name[128];
  add(&c, &rng, "model.embed_tokens.weight", c.vocab, c.dim, 0, 1.0f);
  for (int l = 0; l < c.layers; l++) {
#define W(suffix, rows, cols, center, spread)                        \
  snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix); \
  add(&c, &rng, name, rows, cols, center, spread)
    bool gemma = c.gemma2 || c.gemma3;
    W("input_layernorm.weight", c.dim, 0, gemma ? 0.0f : 1.0f, 0.1f);
    if (c.phi3) {
      W("self_attn.qkv_proj.weight", qd + 2 * kvd, c.dim, 0, sd * 1.7f);
    } else {
      W("self_attn.q_proj.weight", qd, c.dim, 0, sd * 1.7f);
      W("self_attn.k_proj.weight", kvd, c.dim, 0, sd * 1.7f);
      W("self_attn.v_proj.weight", kvd, c.dim, 0, sd * 1.7f);
    }
    if (c.qwen2) {
      W("self_attn.q_proj.bias", qd, 0, 0, 0.1f);
      W("self_attn.k_proj.bias", kvd, 0, 0, 0.1f);
      W("self_attn.v_proj.bias", kvd, 0, 0, 0.1f);
    }
    if (c.qwen3 || c.gemma3) {
      W("self_attn.q_norm.weight", hd, 0, c.gemma3 ? 0.0f : 1.0f, 0.2f);
      W("self_attn.k_norm.weight", hd, 0, c.gemma3 ? 0.0f : 1.0f, 0.2f);
    }
    W("self_attn.o_proj.weight", c.dim, qd, 0, 1.0f / sqrtf((float)qd));
    W("post_attention_layernorm.weight", c.dim, 0, gemma ? 0.0f : 1.0f, 0.1f);
    if (gemma) {
      W("pre_feedforward_layernorm.weight", c.dim, 0, 0.0f, 0.1f);
      W("post_feedforward_layernorm.weight", c.dim, 0, 0.0f, 0.1f);
    }
    if (c.phi3) {
      W("mlp.gate_up_proj.weight", 2 * c.hidden, c.dim, 0, sd * 1.7f);
    } else {
      W("mlp.gate_proj.weight", c.hidden, c.dim, 0, sd * 1.7f);
      W("mlp.up_proj.weight", c.hidden, c.dim, 0, sd * 1.7f);
    }
    W("mlp.down_proj.weight", c.dim, c.hidden, 0, sh * 1.7f);
#undef W
  }
  add(&c, &rng, "model.norm.weight", c.dim, 0, c.gemma2 || c.gemma3 ? 0.0f : 1.0f, 0.1f);
  if (!c.tied) add(&c, &rng, "lm_head.weight", c.vocab, c.dim, 0, sd * 1.7f);

  /* Shards: tensors split in order into c.shards files. */
  char index[1 << 16];
  size_t used = (size_t)snprintf(index, sizeof index, "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {\n");
  for (int s = 0; s < c.shards; s++) {
    llmc_st_writer_t *w;
    llmc_status_t *st = llmc_st_writer_create(&w);
    if (st) return fail(st);
    char file[256];
    if (c.shards == 1)
      snprintf(file, sizeof file, "model.safetensors");
    else
      snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, c.shards);
    for (int i = s * n_tensors / c.shards; i < (s + 1) * n_tensors / c.shards; i++) {
      if ((st = llmc_st_writer_add(w, tensors[i].name, c.dtype, tensors[i].rank, tensors[i].shape, tensors[i].data)))
        return fail(st);
      used += (size_t)snprintf(index + used, sizeof index - used, "    \"%s\": \"%s\"%s\n", tensors[i].name, file,
                               i == n_tensors - 1 ? "" : ",");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if ((st = llmc_st_writer_finish(w, path))) return fail(st);
    llmc_st_writer_destroy(w);
  }
  snprintf(index + used, sizeof index - used, "  }\n}\n");
  if (c.shards > 1 && write_text(dir, "model.safetensors.index.json", index)) return 1;

  char config[8192];
  snprintf(config, sizeof config,
           "{\n  \"architectures\": [\"%s\"],\n  \"model_type\": \"%s\",\n"
           "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n  \"num_hidden_layers\": %d,\n"
           "  \"num_attention_heads\": %d,\n  \"num_key_value_heads\": %d,\n  \"head_dim\": %d,\n  \"rms_norm_eps\": 1e-05,\n"
           "  \"rope_theta\": %.1f,\n  \"vocab_size\": %d,\n  \"max_position_embeddings\": %d,\n"
           "  \"tie_word_embeddings\": %s,\n  \"torch_dtype\": \"%s\"%s%s\n}\n",
           c.qwen2 ? "Qwen2ForCausalLM" : c.qwen3 ? "Qwen3ForCausalLM" : c.mistral ? "MistralForCausalLM"
           : c.gemma2 ? "Gemma2ForCausalLM" : c.gemma3 ? "Gemma3ForCausalLM" : c.phi3 ? "Phi3ForCausalLM" : "LlamaForCausalLM",
           c.qwen2 ? "qwen2" : c.qwen3 ? "qwen3" : c.mistral ? "mistral" : c.gemma2 ? "gemma2" : c.gemma3 ? "gemma3_text"
           : c.phi3 ? "phi3" : "llama",
           c.dim, c.hidden, c.layers, c.heads, c.kv_heads, hd, c.rope_theta ? c.rope_theta : 10000.0, c.vocab, c.max_context, c.tied ? "true" : "false",
           c.dtype == LLMC_ST_F32 ? "float32" : c.dtype == LLMC_ST_F16 ? "float16" : "bfloat16",
           c.config_extra ? ",\n  " : "", c.config_extra ? c.config_extra : "");
  if (write_text(dir, "config.json", config)) return 1;

  /* The same network written by hand in llmc's own format. */
  char mj[8192];
  snprintf(mj, sizeof mj,
           "{\n  \"format\": \"llmc.model/1\",\n  \"name\": \"random-llama\",\n"
           "  \"weights\": [\"%s\"],\n  \"max_context\": %d,\n%s"
           "  \"params\": {\"n_layers\": %d, \"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, \"eps\": 1e-05},\n"
           "  \"graph\": [\n"
           "    {\"op\": \"embedding\", \"in\": [\"tokens\", \"model.embed_tokens.weight\"], \"out\": \"x\"},\n"
           "    {\"repeat\": \"n_layers\", \"as\": \"layer\", \"body\": [\n"
           "      {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.layers.{layer}.input_layernorm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"n\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.self_attn.q_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"q\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.self_attn.k_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"k\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.self_attn.v_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"v\"},\n"
           "%s"
           "      {\"op\": \"rope\", \"in\": [\"q\", \"positions\"], \"attrs\": {\"head_dim\": \"$head_dim\", \"theta\": 10000.0}, \"out\": \"qr\"},\n"
           "      {\"op\": \"rope\", \"in\": [\"k\", \"positions\"], \"attrs\": {\"head_dim\": \"$head_dim\", \"theta\": 10000.0}, \"out\": \"kr\"},\n"
           "      {\"op\": \"kv_write\", \"in\": [\"kr\", \"v\", \"positions\"], \"attrs\": {\"layer\": \"$layer\", \"n_kv_heads\": \"$n_kv_heads\", \"head_dim\": \"$head_dim\"}, \"out\": \"cache\"},\n"
           "      {\"op\": \"attention\", \"in\": [\"qr\", \"cache\", \"positions\"], \"attrs\": {\"n_heads\": \"$n_heads\", \"n_kv_heads\": \"$n_kv_heads\", \"head_dim\": \"$head_dim\"}, \"out\": \"att\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"att\", \"model.layers.{layer}.self_attn.o_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"o\"},\n"
           "      {\"op\": \"add\", \"in\": [\"x\", \"o\"], \"out\": \"x\"},\n"
           "      {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.layers.{layer}.post_attention_layernorm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"n\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.mlp.gate_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"gate\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.mlp.up_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"up\"},\n"
           "      {\"op\": \"silu\", \"in\": [\"gate\"], \"out\": \"act\"},\n"
           "      {\"op\": \"mul\", \"in\": [\"act\", \"up\"], \"out\": \"prod\"},\n"
           "      {\"op\": \"matmul\", \"in\": [\"prod\", \"model.layers.{layer}.mlp.down_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"down\"},\n"
           "      {\"op\": \"add\", \"in\": [\"x\", \"down\"], \"out\": \"x\"}\n"
           "    ]},\n"
           "    {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.norm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"final\"},\n"
           "    {\"op\": \"matmul\", \"in\": [\"final\", \"%s\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"logits\"}\n"
           "  ]\n}\n",
           c.shards > 1 ? "model.safetensors.index.json" : "model.safetensors", c.max_context, "",
           c.layers, c.heads, c.kv_heads, hd,
           c.qwen2 ? "      {\"op\": \"bias_add\", \"in\": [\"q\", \"model.layers.{layer}.self_attn.q_proj.bias\"], \"out\": \"q\"},\n"
                     "      {\"op\": \"bias_add\", \"in\": [\"k\", \"model.layers.{layer}.self_attn.k_proj.bias\"], \"out\": \"k\"},\n"
                     "      {\"op\": \"bias_add\", \"in\": [\"v\", \"model.layers.{layer}.self_attn.v_proj.bias\"], \"out\": \"v\"},\n"
           : c.qwen3 ? "      {\"op\": \"rms_norm\", \"in\": [\"q\", \"model.layers.{layer}.self_attn.q_norm.weight\"], \"attrs\": {\"eps\": \"$eps\", \"group\": \"$head_dim\"}, \"out\": \"q\"},\n"
                       "      {\"op\": \"rms_norm\", \"in\": [\"k\", \"model.layers.{layer}.self_attn.k_norm.weight\"], \"attrs\": {\"eps\": \"$eps\", \"group\": \"$head_dim\"}, \"out\": \"k\"},\n"
                     : "",
           c.tied ? "model.embed_tokens.weight" : "lm_head.weight");
  /* --written-ops: the same network written with the ops the fusion passes
   * make (concat, slice, matmul_add, kv_write/attention with rope_theta),
   * plus a slice no matmul splits into (a slice kernel): model.json only. */
  if (c.written_ops)
    snprintf(mj, sizeof mj,
             "{\n  \"format\": \"llmc.model/1\",\n  \"name\": \"written-ops\",\n"
             "  \"weights\": [\"%s\"],\n  \"max_context\": %d,\n"
             "  \"ignore_weights\": [\"model.layers.*.mlp.up_proj.weight\", \"model.layers.*.mlp.down_proj.weight\"],\n"
             "  \"params\": {\"n_layers\": %d, \"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, \"eps\": 1e-05, "
             "\"qd\": %d, \"kvd\": %d},\n"
             "  \"graph\": [\n"
             "    {\"op\": \"embedding\", \"in\": [\"tokens\", \"model.embed_tokens.weight\"], \"out\": \"x\"},\n"
             "    {\"repeat\": \"n_layers\", \"as\": \"layer\", \"body\": [\n"
             "      {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.layers.{layer}.input_layernorm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"n\"},\n"
             "      {\"op\": \"concat\", \"in\": [\"model.layers.{layer}.self_attn.q_proj.weight\", \"model.layers.{layer}.self_attn.k_proj.weight\", \"model.layers.{layer}.self_attn.v_proj.weight\"], \"out\": \"wqkv\"},\n"
             "      {\"op\": \"matmul\", \"in\": [\"n\", \"wqkv\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"qkv\"},\n"
             "      {\"op\": \"slice\", \"in\": [\"qkv\"], \"attrs\": {\"begin\": 0, \"size\": \"$qd\"}, \"out\": \"q\"},\n"
             "      {\"op\": \"slice\", \"in\": [\"qkv\"], \"attrs\": {\"begin\": \"$qd\", \"size\": \"$kvd\"}, \"out\": \"k\"},\n"
             "      {\"op\": \"slice\", \"in\": [\"qkv\"], \"attrs\": {\"begin\": %d, \"size\": \"$kvd\"}, \"out\": \"v\"},\n"
             "      {\"op\": \"kv_write\", \"in\": [\"k\", \"v\", \"positions\"], \"attrs\": {\"layer\": \"$layer\", \"n_kv_heads\": \"$n_kv_heads\", \"head_dim\": \"$head_dim\", \"rope_theta\": 10000.0}, \"out\": \"cache\"},\n"
             "      {\"op\": \"attention\", \"in\": [\"q\", \"cache\", \"positions\"], \"attrs\": {\"n_heads\": \"$n_heads\", \"n_kv_heads\": \"$n_kv_heads\", \"head_dim\": \"$head_dim\", \"rope_theta\": 10000.0, \"rope_style\": \"half\"}, \"out\": \"att\"},\n"
             "      {\"op\": \"matmul_add\", \"in\": [\"att\", \"model.layers.{layer}.self_attn.o_proj.weight\", \"x\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"x\"},\n"
             "      {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.layers.{layer}.post_attention_layernorm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"n\"},\n"
             "      {\"op\": \"matmul\", \"in\": [\"n\", \"model.layers.{layer}.mlp.gate_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"gate\"},\n"
             "      {\"op\": \"slice\", \"in\": [\"gate\"], \"attrs\": {\"begin\": 1, \"size\": %d}, \"out\": \"part\"},\n"
             "      {\"op\": \"add\", \"in\": [\"x\", \"part\"], \"out\": \"x\"}\n"
             "    ]},\n"
             "    {\"op\": \"rms_norm\", \"in\": [\"x\", \"model.norm.weight\"], \"attrs\": {\"eps\": \"$eps\"}, \"out\": \"final\"},\n"
             "    {\"op\": \"matmul\", \"in\": [\"final\", \"%s\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"logits\"}\n"
             "  ]\n}\n",
             c.shards > 1 ? "model.safetensors.index.json" : "model.safetensors", c.max_context, c.layers, c.heads,
             c.kv_heads, hd, c.heads * hd, c.kv_heads * hd, c.heads * hd + c.kv_heads * hd, c.dim,
             c.tied ? "model.embed_tokens.weight" : "lm_head.weight");
  /* --rope-style interleaved (GPT-J pairs): model.json only, which HF's
   * Llama config cannot express. */
  for (char *r = mj; c.rope_interleaved && (r = strstr(r, "\"theta\": 10000.0}"));) {
    static const char il[] = "\"theta\": 10000.0, \"style\": \"interleaved\"}";
    size_t old = strlen("\"theta\": 10000.0}"), add = strlen(il) - old, len = strlen(r);
    if (strlen(mj) + add + 1 > sizeof mj) return 1;
    memmove(r + add, r, len + 1);
    memcpy(r, il, strlen(il));
    r += strlen(il);
  }
  if (!c.gemma2 && !c.gemma3 && !c.phi3 && write_text(dir, "model.json", mj)) return 1;
  for (int i = 0; i < n_tensors; i++) free(tensors[i].data);
  return 0;
}
