/* artifact.c: turns a planned graph into the artifact the runtime loads.
 *
 * The kernel plan (kplan.c) has decided, per node and target, the variant
 * and its configuration; this file only encodes it: one launch per graph
 * node with the op's runtime arguments, one kernel per distinct set of
 * instances (identical instances are shared).
 * Runtime arguments (buffer offsets, T) go into the plan as a + b*T pairs, so
 * one plan serves every step size up to max_step_tokens (see llmc_abi.h).
 * The plan, the kernel table and the model struct are added to the lowered
 * LLVM module as constants, so model.so carries everything but the weights.
 *
 * Weights are written converted to f32 in plan order (the host kernels'
 * layout); f32 weights are streamed straight from the input mmap. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llmc_abi.h"
#include "llmc_artifact.h"
#include "artifact_impl.h"
#include "llmc_safetensors.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

llmc_status_t *llmc_artifact_oom(void) { return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory"); }

/* ---- launches ---- */

/* An argument a + per_token*T of the given kind; for the offset kinds, the
 * kernel touches [value, value + ext_a + ext_b*T) of that buffer. The
 * runtime checks every such range at load (llmc_abi.h). */
static void arg_kind(launch_t *l, llmc_arg_kind_t kind, int64_t a, int64_t per_token, int64_t ext_a, int64_t ext_b) {
  l->args[l->n_args][0] = a;
  l->args[l->n_args][1] = per_token;
  l->kinds[l->n_args][0] = kind;
  l->kinds[l->n_args][1] = ext_a;
  l->kinds[l->n_args][2] = ext_b;
  l->n_args++;
}

/* A value that is not an offset (a placeholder, a constant). */
static void arg(launch_t *l, int64_t a, int64_t per_token) { arg_kind(l, LLMC_ARG_SCALAR, a, per_token, 0, 0); }

/* The activation buffer of v: its elements for T tokens (shapes are
 * linear in T: at most one dimension is T). */
static void arg_act(builder_t *b, launch_t *l, const llmc_value_t *v) {
  uint64_t n0 = 0, n1 = 0;
  llmc_shape_numel(&v->shape, 0, &n0);
  llmc_shape_numel(&v->shape, 1, &n1);
  arg_kind(l, LLMC_ARG_ACT, b->plan->offsets[v->id], 0, (int64_t)n0, (int64_t)(n1 - n0));
}

/* The stored weight w: its elements in the stored dtype, as f32 slots. */
static void arg_weight(builder_t *b, launch_t *l, const llmc_value_t *w) {
  uint64_t bytes = llmc_kplan_stored_bytes(b->kplan, w);
  arg_kind(l, LLMC_ARG_WEIGHTS, b->weight_offsets[w->id], 0, (int64_t)((bytes + 3) / 4), 0);
}

/* A per-token meta array (tokens, positions, seq_of_token): T ints. */
static void arg_meta_tokens(launch_t *l, int64_t off) { arg_kind(l, LLMC_ARG_META, off, 0, 0, 1); }

static llmc_status_t *meta_offset(builder_t *b, const llmc_value_t *v, int64_t *out) {
  if (v->kind == LLMC_VALUE_INPUT && strcmp(v->name, "tokens") == 0) {
    *out = b->header[LLMC_PLAN_META_TOKENS];
  } else if (v->kind == LLMC_VALUE_INPUT && strcmp(v->name, "positions") == 0) {
    *out = b->header[LLMC_PLAN_META_POSITIONS];
  } else {
    return LLMC_ERROR(LLMC_UNIMPLEMENTED, b->g->name, "i32 operand %%%d is not the tokens or positions input", v->id);
  }
  return NULL;
}

/* Weight bytes a decode step reads (report.json's
 * decode_weight_bytes_per_token): counted for the kcall that runs at T = 1
 * only, since a matmul has a second kcall for wider steps. */
static void decode_reads(builder_t *b, const llmc_kcall_t *c, uint64_t bytes) {
  if (c->t_min <= 1) b->decode_bytes += bytes;
}

/* A launch's runtime arguments and parallel extent: the op's, the same for
 * every variant and target (the kernel ABI in kernels_templates/). */

static llmc_status_t *launch_args(builder_t *b, const llmc_kcall_t *c, launch_t *l) {
  const llmc_value_t *v = c->node;
  llmc_value_t *const *in = v->inputs;
  int64_t cols = v->dtype == LLMC_DT_KV ? 0 : v->shape.dims[1];
  l->extent_a = 0;
  l->extent_b = 1; /* row-wise: one item per token */
  const llmc_kplan_t *p = b->kplan;
  int64_t seq = b->header[LLMC_PLAN_META_SEQ];
  int64_t tables = b->header[LLMC_PLAN_META_BLOCK_TABLES];
  switch (v->op) {
    case LLMC_OP_EMBEDDING: {
      int64_t tok = 0;
      LLMC_RETURN_IF_ERROR(meta_offset(b, in[0], &tok));
      /* The runtime accepts token ids below the logits' vocabulary, so a
       * smaller table would be read past its end by valid ids. */
      if (in[1]->shape.dims[0] < b->header[LLMC_PLAN_VOCAB])
        return LLMC_ERROR(LLMC_DATA_LOSS, b->g->name,
                          "embedding '%s' has %lld rows, fewer than the logits' vocabulary of %lld",
                          in[1]->name ? in[1]->name : "?", (long long)in[1]->shape.dims[0],
                          (long long)b->header[LLMC_PLAN_VOCAB]);
      arg_act(b, l, v);
      arg_weight(b, l, in[1]);
      arg_meta_tokens(l, tok);
      arg_kind(l, LLMC_ARG_ROWS, in[1]->shape.dims[0], 0, 0, 0);
      decode_reads(b, c, (uint64_t)cols * 4);
      return NULL;
    }
    case LLMC_OP_MATMUL:
    case LLMC_OP_MATMUL_ADD: {
      /* [a, b, out, T] then the epilogue's (see matmul_epilogue in kvariants.c). */
      arg_act(b, l, in[0]);
      arg_weight(b, l, in[1]);
      arg_act(b, l, c->epilogue == LLMC_EPILOGUE_SPLIT ? c->parts[0] : v);
      arg_kind(l, LLMC_ARG_TOKENS, 0, 1, 0, 0);
      if (c->epilogue == LLMC_EPILOGUE_ADD) arg_act(b, l, in[2]);
      for (int i = 1; c->epilogue == LLMC_EPILOGUE_SPLIT && i < c->n_parts; i++) arg_act(b, l, c->parts[i]);
      /* Where a target fuses the candidates (kplan.c, absorb), the kernel
       * reads the norm's input and weight at args[7], [8] and writes the
       * silu_mul's output at args[9]; the other targets ignore them. */
      if (c->norm || c->glu) {
        while (l->n_args < 7) arg(l, 0, 0);
        if (c->norm) {
          arg_act(b, l, c->norm->inputs[0]);
          arg_weight(b, l, c->norm->inputs[1]);
        } else {
          arg(l, 0, 0);
          arg(l, 0, 0);
        }
        if (c->glu)
          arg_act(b, l, c->glu);
        else
          arg(l, 0, 0);
      }
      /* The logits' matmul: where the step lists the rows it must compute. */
      if (c->sampled_rows) {
        while (l->n_args < LLMC_MATMUL_ROWS_ARG) arg(l, 0, 0);
        int64_t rows = b->header[LLMC_PLAN_META_LOGIT_ROWS];
        arg_kind(l, LLMC_ARG_META, rows, 0, 1, 1);
      }
      l->extent_a = cols; /* split output columns so one token's GEMV uses every core */
      l->extent_b = 0;
      decode_reads(b, c, llmc_kplan_stored_bytes(p, in[1]) * (uint64_t)cols / (uint64_t)in[1]->shape.dims[0]);
      return NULL;
    }
    case LLMC_OP_SLICE:
      arg_act(b, l, in[0]);
      arg_act(b, l, v);
      return NULL;
    case LLMC_OP_CONCAT: break; /* constants have no launch */
    /* Elementwise ops run over T * N elements, not T rows, so one token's
     * row spreads over threads and workgroups. */
    case LLMC_OP_ADD:
    case LLMC_OP_MUL:
    case LLMC_OP_GELU_MUL:
    case LLMC_OP_SILU_MUL:
      arg_act(b, l, in[0]);
      arg_act(b, l, in[1]);
      arg_act(b, l, v);
      l->extent_b = cols;
      return NULL;
    case LLMC_OP_BIAS_ADD:
      arg_act(b, l, in[0]);
      arg_weight(b, l, in[1]);
      arg_act(b, l, v);
      l->extent_b = cols;
      decode_reads(b, c, (uint64_t)cols * 4);
      return NULL;
    case LLMC_OP_SILU:
    case LLMC_OP_GELU:
    case LLMC_OP_SOFTCAP:
      arg_act(b, l, in[0]);
      arg_act(b, l, v);
      l->extent_b = cols;
      return NULL;
    case LLMC_OP_SOFTMAX:
      arg_act(b, l, in[0]);
      arg_act(b, l, v);
      return NULL;
    case LLMC_OP_RMS_NORM_ADD:
      arg_act(b, l, in[0]);
      arg_weight(b, l, in[1]);
      decode_reads(b, c, (uint64_t)cols * 4);
      arg_act(b, l, v);
      arg_act(b, l, in[2]);
      return NULL;
    case LLMC_OP_RMS_NORM:
    case LLMC_OP_LAYER_NORM:
      arg_act(b, l, in[0]);
      l->extent_b = cols / llmc_ir_norm_group(v); /* an item per normalised run */
      for (int i = 1; i < v->n_inputs; i++) {
        arg_weight(b, l, in[i]);
        decode_reads(b, c, (uint64_t)llmc_ir_norm_group(v) * 4);
      }
      arg_act(b, l, v);
      return NULL;
    case LLMC_OP_ROPE: {
      int64_t pos = 0;
      LLMC_RETURN_IF_ERROR(meta_offset(b, in[1], &pos));
      arg_act(b, l, in[0]);
      arg_act(b, l, v);
      arg_meta_tokens(l, pos);
      return NULL;
    }
    case LLMC_OP_KV_WRITE:
    case LLMC_OP_ATTENTION: {
      bool write = v->op == LLMC_OP_KV_WRITE;
      const llmc_value_t *kv = write ? v : in[1];
      int64_t pos = 0;
      LLMC_RETURN_IF_ERROR(meta_offset(b, in[2], &pos));
      if (!write) l->extent_b = llmc_ir_attr_int(v, "n_heads", 0); /* one item per (token, head) */
      arg_act(b, l, in[0]);
      arg_act(b, l, write ? in[1] : v);
      arg_meta_tokens(l, pos);
      arg_meta_tokens(l, seq);
      arg_kind(l, LLMC_ARG_META, tables, 0, b->header[LLMC_PLAN_META_INTS] - tables, 0);
      arg_kind(l, LLMC_ARG_LAYER, llmc_ir_attr_int(kv, "layer", 0), 0, 0, 0);
      /* Where a target fuses the kv_write (kplan.c, absorb), the attention
       * kernel reads k and v at args[6] and [7]; the others ignore them. */
      if (!write && c->kvw) {
        arg_act(b, l, c->kvw->inputs[0]);
        arg_act(b, l, c->kvw->inputs[1]);
      }
      /* The step's token count, last (args[6], or [8] after those): the
       * host kernel orders its items by it (attention.host.mlir). */
      if (!write) arg_kind(l, LLMC_ARG_TOKENS, 0, 1, 0, 0);
      return NULL;
    }
    case LLMC_OP_COUNT: break;
  }
  return LLMC_ERROR(LLMC_INTERNAL, b->g->name, "no launch for op %s", llmc_op_name(v->op));
}

/* ---- plan ---- */

/* The kernel a kcall runs: an existing one when every target's instance
 * (family and parameters) is the same, else a new one. */
static llmc_status_t *kernel_for(builder_t *b, const llmc_kcall_t *c, int launch, int *out_kernel) {
  llmc_buf_t key = {0};
  const char *family = NULL;
  for (int t = 0; t < b->n_targets; t++) {
    llmc_kinstance_t inst;
    llmc_status_t *s = llmc_kplan_instance(b->kplan, c, t, &inst);
    if (s) {
      llmc_buf_free(&key);
      return s;
    }
    if (!family) family = inst.family;
    llmc_buf_printf(&key, "%s%s.%s", t ? " | " : "", b->targets[t].is_gpu ? "gpu" : "host", inst.family);
    for (int p = 0; p < inst.n; p++) llmc_buf_printf(&key, " %s=%s", inst.params[p].key, inst.params[p].value);
    for (int h = 0; h < LLMC_KINSTANCE_HELPERS; h++) {
      if (!inst.helper[h]) continue;
      llmc_buf_printf(&key, " +%s", inst.helper[h]);
      for (int p = 0; p < inst.n_helper[h]; p++)
        llmc_buf_printf(&key, " %s=%s", inst.helper_params[h][p].key, inst.helper_params[h][p].value);
    }
  }
  if (key.failed) return llmc_artifact_oom();
  int k = 0;
  while (k < b->n_kernels && strcmp(b->kernels[k].key, key.data)) k++;
  if (k == b->n_kernels) {
    kernel_t *kn = &b->kernels[b->n_kernels++];
    *kn = (kernel_t){.call = c, .family = family, .key = llmc_arena_strdup(b->a, key.data),
                     .name = llmc_arena_printf(b->a, "llmc_k%d_%s", k, family), .first_launch = launch};
  }
  llmc_buf_free(&key);
  b->kernels[k].n_launches++;
  *out_kernel = k;
  return NULL;
}

static llmc_status_t *build_plan(builder_t *b) {
  const llmc_ir_graph_t *g = b->g;
  const llmc_artifact_options_t *o = b->opts;
  const llmc_kplan_t *kp = b->kplan;
  const llmc_value_t *logits = llmc_ir_graph_find_output(g, "logits");
  if (!logits || b->plan->offsets[logits->id] < 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, g->name, "the graph has no computed 'logits' output");
  int64_t t_max = b->plan->max_tokens;
  if (o->max_seqs <= 0 || o->max_seqs > 4096)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "bad sequence count");
  int64_t max_blocks = kp->max_blocks;
  int64_t *h = b->header;
  h[LLMC_PLAN_VOCAB] = logits->shape.dims[1];
  h[LLMC_PLAN_MAX_STEP_TOKENS] = t_max;
  h[LLMC_PLAN_MAX_CONTEXT] = o->max_context;
  h[LLMC_PLAN_MAX_SEQS] = o->max_seqs;
  h[LLMC_PLAN_ACT_FLOATS] = b->plan->arena_floats;
  h[LLMC_PLAN_LOGITS_OFFSET] = b->plan->offsets[logits->id];
  h[LLMC_PLAN_N_LAYERS] = kp->n_layers;
  h[LLMC_PLAN_N_KV_HEADS] = kp->n_kv_heads;
  h[LLMC_PLAN_HEAD_DIM] = kp->head_dim;
  h[LLMC_PLAN_BLOCK_SIZE] = kp->block_size;
  h[LLMC_PLAN_BLOCK_FLOATS] = kp->block_floats;
  h[LLMC_PLAN_KV_DTYPE] = kp->kv_dtype == LLMC_DT_F16    ? LLMC_PLAN_KV_F16
                          : kp->kv_dtype == LLMC_DT_BF16 ? LLMC_PLAN_KV_BF16
                          : kp->kv_dtype == LLMC_DT_I8   ? LLMC_PLAN_KV_I8
                                                         : LLMC_PLAN_KV_F32;
  h[LLMC_PLAN_MAX_BLOCKS_PER_SEQ] = max_blocks;
  h[LLMC_PLAN_META_TOKENS] = 0;
  h[LLMC_PLAN_META_POSITIONS] = t_max;
  h[LLMC_PLAN_META_SEQ] = 2 * t_max;
  h[LLMC_PLAN_META_BLOCK_TABLES] = 3 * t_max;
  h[LLMC_PLAN_META_LOGIT_ROWS] = 3 * t_max + o->max_seqs * max_blocks;
  h[LLMC_PLAN_META_INTS] = h[LLMC_PLAN_META_LOGIT_ROWS] + 1 + t_max;
  h[LLMC_PLAN_KV_WINDOW] = kp->kv_window;

  b->launches = llmc_arena_alloc(b->a, sizeof(launch_t) * (size_t)(kp->n_calls + 1));
  b->kernels = llmc_arena_alloc(b->a, sizeof(kernel_t) * (size_t)(kp->n_calls + 1));
  if (!b->launches || !b->kernels) return llmc_artifact_oom();
  /* Graph kcalls become plan launches; the argmax kcall (last, no node)
   * gets a kernel and a launch record just past the plan's, which only
   * carries its GPU launch shape: the runtime runs it on the greedy rows of
   * a step and finds it by its name's `_argmax` suffix. */
  for (int i = 0; i < kp->n_calls; i++) {
    const llmc_kcall_t *c = &kp->calls[i];
    launch_t *l = &b->launches[b->n_launches];
    *l = (launch_t){.call = c};
    if (c->node) LLMC_RETURN_IF_ERROR(launch_args(b, c, l));
    LLMC_RETURN_IF_ERROR(kernel_for(b, c, b->n_launches, &l->kernel));
    if (c->node) b->n_launches++;
  }
  h[LLMC_PLAN_N_LAUNCHES] = b->n_launches;
  return NULL;
}

/* The plan (llmc_abi.h) and its argument kind table. */
static llmc_status_t *plan_array(builder_t *b, int64_t **out, int64_t *out_len, int64_t **out_kinds,
                                 int64_t *out_kinds_len) {
  int64_t n = LLMC_PLAN_HEADER_LEN, n_args = 0;
  for (int i = 0; i < b->n_launches; i++) {
    n += LLMC_PLAN_LAUNCH_FIXED + 2 * b->launches[i].n_args;
    n_args += b->launches[i].n_args;
  }
  int64_t *p = llmc_arena_alloc(b->a, sizeof(int64_t) * (size_t)n);
  int64_t *k = llmc_arena_alloc(b->a, sizeof(int64_t) * (size_t)(n_args * LLMC_ARG_RECORD + 1));
  if (!p || !k) return llmc_artifact_oom();
  int64_t kat = 0;
  memcpy(p, b->header, sizeof b->header);
  int64_t at = LLMC_PLAN_HEADER_LEN;
  for (int i = 0; i < b->n_launches; i++) {
    const launch_t *l = &b->launches[i];
    p[at++] = l->kernel;
    p[at++] = l->extent_a;
    p[at++] = l->extent_b;
    p[at++] = l->call->t_min;
    p[at++] = l->call->t_max;
    p[at++] = l->n_args;
    for (int j = 0; j < l->n_args; j++) {
      p[at++] = l->args[j][0];
      p[at++] = l->args[j][1];
      for (int r = 0; r < LLMC_ARG_RECORD; r++) k[kat++] = l->kinds[j][r];
    }
  }
  *out = p;
  *out_len = n;
  *out_kinds = k;
  *out_kinds_len = kat;
  return NULL;
}

/* ---- kernels ---- */

static llmc_status_t *kernel_module(builder_t *b, llmc_buf_t *out) {
  /* The model's name comes from a file: quoted, never pasted. */
  llmc_buf_printf(out, "// Kernels of model ");
  llmc_buf_put_quoted(out, b->g->name);
  llmc_buf_printf(out, ", instantiated by llmc %s.\nmodule {\n", LLMC_VERSION_STRING);
  for (int k = 0; k < b->n_kernels; k++) {
    const kernel_t *kn = &b->kernels[k];
    llmc_kinstance_t inst;
    LLMC_RETURN_IF_ERROR(llmc_kplan_instance(b->kplan, kn->call, b->host_target, &inst));
    llmc_status_t *s = llmc_kinstance_render(&inst, "host", kn->name, out);
    if (s) return llmc_status_wrap(s, NULL, "instantiating kernel %s", kn->name);
  }
  llmc_buf_printf(out, "}\n");
  return out->failed ? llmc_artifact_oom() : NULL;
}

LLVMValueRef llmc_artifact_global_const(LLVMModuleRef m, LLVMValueRef init, const char *name) {
  LLVMValueRef gv = LLVMAddGlobal(m, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

LLVMValueRef llmc_artifact_string_const(LLVMContextRef ctx, LLVMModuleRef m, const char *s, const char *name) {
  return llmc_artifact_global_const(m, LLVMConstStringInContext2(ctx, s, strlen(s), 0), name);
}

/* The CPU features the host code may use, for the runtime's check: the
 * "+feature" entries of the target's feature string, plus what an x86-64
 * microarchitecture level implies. Empty for baseline and non-x86 targets. */
static char *cpu_features(builder_t *b) {
  if (b->host_target < 0) return llmc_arena_strdup(b->a, "");
  const llmc_target_t *t = &b->targets[b->host_target];
  llmc_buf_t out = {0};
  if (strncmp(t->triple, "x86_64", 6) == 0) {
    if (strcmp(t->cpu, "x86-64-v3") == 0 || strcmp(t->cpu, "x86-64-v4") == 0)
      llmc_buf_printf(&out, "sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,f16c");
    if (strcmp(t->cpu, "x86-64-v4") == 0) llmc_buf_printf(&out, ",avx512f,avx512bw,avx512dq,avx512vl,avx512cd");
    for (const char *p = t->features ? t->features : ""; *p;) {
      size_t n = strcspn(p, ",");
      if (n > 1 && p[0] == '+') llmc_buf_printf(&out, "%s%.*s", out.len ? "," : "", (int)(n - 1), p + 1);
      p += n + (p[n] == ',');
    }
  }
  char *s = llmc_arena_strdup(b->a, out.data ? out.data : "");
  llmc_buf_free(&out);
  return s;
}

/* Adds llmc_model_v1 (see llmc_abi.h) and the tables it points to. */
static llmc_status_t *add_model_globals(builder_t *b, LLVMContextRef ctx, LLVMModuleRef m) {
  int64_t *plan = NULL, plan_len = 0, *kinds = NULL, kinds_len = 0;
  LLMC_RETURN_IF_ERROR(plan_array(b, &plan, &plan_len, &kinds, &kinds_len));
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  int64_t n_vals = plan_len > kinds_len ? plan_len : kinds_len;
  if (n_vals < b->n_kernels + 1) n_vals = b->n_kernels + 1;
  LLVMValueRef *vals = malloc(sizeof(LLVMValueRef) * (size_t)n_vals);
  LLVMValueRef *names = malloc(sizeof(LLVMValueRef) * (size_t)(b->n_kernels + 1));
  if (!vals || !names) {
    free(vals);
    free(names);
    return llmc_artifact_oom();
  }
  for (int64_t i = 0; i < plan_len; i++) vals[i] = LLVMConstInt(i64, (unsigned long long)plan[i], 1);
  LLVMValueRef plan_g = llmc_artifact_global_const(m, LLVMConstArray2(i64, vals, (uint64_t)plan_len), "llmc_plan");
  for (int64_t i = 0; i < kinds_len; i++) vals[i] = LLVMConstInt(i64, (unsigned long long)kinds[i], 1);
  LLVMValueRef kinds_g = llmc_artifact_global_const(m, LLVMConstArray2(i64, vals, (uint64_t)kinds_len), "llmc_arg_kinds");
  llmc_status_t *s = NULL;
  for (int k = 0; k < b->n_kernels && !s; k++) {
    char sym[256];
    snprintf(sym, sizeof sym, "_mlir_ciface_%s", b->kernels[k].name);
    vals[k] = b->host_target < 0 ? NULL : LLVMGetNamedFunction(m, sym);
    if (b->host_target >= 0 && !vals[k])
      s = LLMC_ERROR(LLMC_INTERNAL, NULL, "kernel entry %s missing after lowering", sym);
    char gname[256];
    snprintf(gname, sizeof gname, "llmc_kname_%d", k);
    names[k] = llmc_artifact_string_const(ctx, m, b->kernels[k].name, gname);
  }
  LLVMValueRef images_g = NULL;
  int64_t n_images = 0;
  if (!s) s = llmc_artifact_gpu_globals(b, ctx, m, &images_g, &n_images);
  if (!s) {
    LLVMValueRef kernels_g = b->host_target < 0
                                 ? LLVMConstNull(ptr)
                                 : llmc_artifact_global_const(m, LLVMConstArray2(ptr, vals, (uint64_t)b->n_kernels), "llmc_kernels");
    LLVMValueRef names_g = llmc_artifact_global_const(m, LLVMConstArray2(ptr, names, (uint64_t)b->n_kernels), "llmc_kernel_names");
    LLVMValueRef fields[] = {
        LLVMConstInt(i32, LLMC_ABI_MAGIC, 0),
        LLVMConstInt(i32, LLMC_ABI_VERSION, 0),
        llmc_artifact_string_const(ctx, m, b->g->name, "llmc_model_name"),
        plan_g,
        LLVMConstInt(i64, (unsigned long long)plan_len, 0),
        kernels_g,
        LLVMConstInt(i64, (unsigned long long)b->n_kernels, 0),
        names_g,
        LLVMConstInt(i64, (unsigned long long)n_images, 0),
        images_g,
        llmc_artifact_string_const(ctx, m, cpu_features(b), "llmc_cpu_features"),
        kinds_g,
        LLVMConstInt(i64, (unsigned long long)kinds_len, 0),
        LLVMConstInt(i64, llmc_plan_digest(plan, plan_len, kinds, kinds_len), 0),
        LLVMConstInt(i64, b->weights_size, 0),
        LLVMConstInt(i64, b->weights_digest, 0),
    };
    LLVMValueRef model = LLVMConstStructInContext(ctx, fields, sizeof fields / sizeof fields[0], 0);
    LLVMValueRef gv = LLVMAddGlobal(m, LLVMTypeOf(model), LLMC_MODEL_SYMBOL);
    LLVMSetInitializer(gv, model);
    LLVMSetGlobalConstant(gv, 1);
  }
  free(vals);
  free(names);
  return s;
}

/* ---- output directory ---- */

static llmc_status_t *write_file(llmc_arena_t *a, const char *dir, const char *name, const void *data, size_t n) {
  return llmc_file_write_atomic(llmc_path_join(a, dir, name), data, n);
}

/* Copies an input file (already loaded and checked by the frontend) into
 * the artifact as `name`, reading at most `limit` bytes. */
static llmc_status_t *copy_input(builder_t *b, const char *dir, const char *path, const char *name, uint64_t limit) {
  char *text;
  size_t len;
  LLMC_RETURN_IF_ERROR(llmc_file_read_text(path, limit, &text, &len));
  llmc_status_t *s = write_file(b->a, dir, name, text, len);
  free(text);
  return s;
}

static const char *gpu_emit_ext(const char *emit, llmc_gpu_vendor_t *out_vendor) {
  static const struct {
    const char *emit, *ext;
    llmc_gpu_vendor_t vendor;
  } kinds[] = {{"ptx", "ptx", LLMC_GPU_VENDOR_NVIDIA},
               {"hsaco", "hsaco", LLMC_GPU_VENDOR_AMD},
               {"spirv", "spv", LLMC_GPU_VENDOR_INTEL}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(emit, kinds[i].emit) == 0) {
      *out_vendor = kinds[i].vendor;
      return kinds[i].ext;
    }
  return NULL;
}

/* --emit=ptx|hsaco|spirv: the device code of every GPU target of that
 * vendor, as model.<target>.<ext> (PTX as text, the others as binaries). */
static llmc_status_t *write_gpu_code(builder_t *b, const char *tmp, const char *emit) {
  llmc_gpu_vendor_t vendor = LLMC_GPU_VENDOR_NONE;
  const char *ext = gpu_emit_ext(emit, &vendor);
  int written = 0;
  for (int t = 0; t < b->n_targets; t++) {
    if (llmc_gpu_vendor(&b->targets[t]) != vendor) continue;
    const llmc_buf_t *code = vendor == LLMC_GPU_VENDOR_NVIDIA ? &b->image_asm[t] : &b->images[t];
    char name[96];
    snprintf(name, sizeof name, "model.%s.%s", b->targets[t].name, ext);
    LLMC_RETURN_IF_ERROR(write_file(b->a, tmp, name, code->data, code->len));
    written++;
  }
  if (!written)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--emit", "--emit=%s needs a %s target in --target", emit,
                      vendor == LLMC_GPU_VENDOR_NVIDIA ? "sm_*" : vendor == LLMC_GPU_VENDOR_AMD ? "gfx*" : "spirv");
  return NULL;
}

/* The target whose object file carries the plan: the host target, or for a
 * GPU-only artifact a generic CPU target of the machine's architecture (the
 * object then holds data only: plan, tables and images). */
static llmc_status_t *object_target(builder_t *b, llmc_target_t *out) {
  if (b->host_target >= 0) {
    *out = b->targets[b->host_target];
    return NULL;
  }
#if defined(__aarch64__)
  return llmc_target_lookup("aarch64", out);
#else
  return llmc_target_lookup("x86-64", out);
#endif
}

static llmc_status_t *write_outputs(builder_t *b, llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                    const char *tmp, llmc_artifact_summary_t *sum) {
  const llmc_artifact_options_t *o = b->opts;
  const char *emit = o->emit ? o->emit : "so";
  llmc_gpu_vendor_t vendor;
  bool full = strcmp(emit, "so") == 0, gpu_emit = gpu_emit_ext(emit, &vendor) != NULL;
  if (o->gpu_finisher && gpu_emit)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--emit",
                      "--emit=%s writes device code, which --gpu-emulation does not make", emit);
  bool plan = strcmp(emit, "plan") == 0;
  if (plan || strcmp(emit, "ir") == 0) {
    llmc_buf_t text = {0};
    if (plan) llmc_kplan_print(b->kplan, &text);
    else llmc_ir_print(b->g, &text);
    llmc_status_t *s = text.failed ? llmc_artifact_oom()
                                   : write_file(b->a, tmp, plan ? "model.plan" : "model.ir", text.data, text.len);
    llmc_buf_free(&text);
    return s;
  }
  llmc_target_t target;
  LLMC_RETURN_IF_ERROR(object_target(b, &target));
  b->lookup = lookup;
  b->lookup_ctx = lookup_ctx;
  LLMC_RETURN_IF_ERROR(llmc_artifact_write_weights(b, lookup, lookup_ctx,
                                     full ? llmc_path_join(b->a, tmp, "weights.safetensors") : NULL,
                                     &sum->weight_bytes));
  LLMC_RETURN_IF_ERROR(build_plan(b));
  sum->n_kernels = b->n_kernels;
  sum->n_launches = b->n_launches;
  sum->arena_bytes = (uint64_t)b->header[LLMC_PLAN_ACT_FLOATS] * 4;
  /* A block's words over its tokens: int8 rows carry their scales. */
  sum->kv_bytes_per_token = (uint64_t)(b->kplan->block_floats * 4 / b->kplan->block_size);
  sum->int8_activation_calls = 0;
  for (int i = 0; i < b->kplan->n_calls; i++) {
    bool q = false;
    for (int t = 0; t < b->kplan->n_targets; t++) {
      const llmc_kvariant_t *v = b->kplan->calls[i].choice[t].variant;
      q |= v && llmc_kvariant_int8_activations(v);
    }
    sum->int8_activation_calls += q;
  }
  if (full || gpu_emit) {
    double t0 = now_seconds();
    LLMC_RETURN_IF_ERROR(llmc_artifact_gpu_compile(b));
    sum->seconds_gpu = now_seconds() - t0;
    if (gpu_emit) return write_gpu_code(b, tmp, emit);
  }
  if (full || strcmp(emit, "report") == 0) {
    char *report = llmc_artifact_report(b, &target, sum->weight_bytes);
    if (!report) return llmc_artifact_oom();
    llmc_status_t *s = write_file(b->a, tmp, "report.json", report, strlen(report));
    free(report);
    LLMC_RETURN_IF_ERROR(s);
    if (!full) return NULL;
  }
  if (b->host_target < 0 && strcmp(emit, "so") && strcmp(emit, "obj"))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--emit", "--emit=%s needs a host target in --target", emit);
  llmc_buf_t mlir = {0};
  llmc_status_t *s = b->host_target >= 0 ? kernel_module(b, &mlir) : NULL;
  if (!s && strcmp(emit, "mlir") == 0) {
    s = write_file(b->a, tmp, "model.mlir", mlir.data, mlir.len);
    llmc_buf_free(&mlir);
    return s;
  }
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = NULL;
  llmc_buf_t obj = {0}, ir = {0};
  double t0 = now_seconds();
  if (!s && b->host_target >= 0) s = llmc_host_lower(mlir.data, ctx, &m, NULL);
  if (!s && b->host_target < 0) m = LLVMModuleCreateWithNameInContext("llmc_model", ctx);
  llmc_buf_free(&mlir);
  double t1 = now_seconds();
  if (!s) s = add_model_globals(b, ctx, m);
  if (!s) s = llmc_llvm_emit_object(m, &target, o->opt_level, &obj, strcmp(emit, "llvm") == 0 ? &ir : NULL);
  double t2 = now_seconds();
  if (m) LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  if (!s && strcmp(emit, "llvm") == 0) s = write_file(b->a, tmp, "model.ll", ir.data, ir.len);
  const char *obj_path = llmc_path_join(b->a, tmp, "model.o");
  if (!s && strcmp(emit, "llvm") != 0) s = write_file(b->a, tmp, "model.o", obj.data, obj.len);
  llmc_buf_free(&obj);
  llmc_buf_free(&ir);
  if (!s && full) {
    s = llmc_link_shared(obj_path, llmc_path_join(b->a, tmp, "model.so"));
    unlink(obj_path);
  }
  sum->seconds_lower = t1 - t0;
  sum->seconds_llvm = t2 - t1;
  sum->seconds_link = now_seconds() - t2;
  if (s || !full) return s;

  llmc_buf_t header = {0};
  llmc_artifact_model_h(b, &target, &header);
  s = header.failed ? llmc_artifact_oom() : write_file(b->a, tmp, "model.h", header.data, header.len);
  llmc_buf_free(&header);
  if (!s && o->tokenizer_text) {
    s = write_file(b->a, tmp, "tokenizer.json", o->tokenizer_text, strlen(o->tokenizer_text));
    if (!s && o->tokenizer_config_text)
      s = write_file(b->a, tmp, "tokenizer_config.json", o->tokenizer_config_text, strlen(o->tokenizer_config_text));
  } else if (!s && o->tokenizer_path) {
    s = copy_input(b, tmp, o->tokenizer_path, "tokenizer.json", 256u << 20);
  }
  if (!s && !o->tokenizer_text && o->tokenizer_path && o->tokenizer_config_path)
    s = copy_input(b, tmp, o->tokenizer_config_path, "tokenizer_config.json", 64u << 20);
  /* One id as an integer (what artifacts have always held), several as a list. */
  if (!s && o->n_eos_tokens > 0) {
    llmc_buf_t cfg = {0};
    llmc_buf_printf(&cfg, "{\"eos_token_id\": %s", o->n_eos_tokens > 1 ? "[" : "");
    for (int i = 0; i < o->n_eos_tokens; i++) llmc_buf_printf(&cfg, "%s%d", i ? ", " : "", o->eos_tokens[i]);
    llmc_buf_printf(&cfg, "%s}\n", o->n_eos_tokens > 1 ? "]" : "");
    s = cfg.failed ? llmc_artifact_oom() : write_file(b->a, tmp, "generation.json", cfg.data, cfg.len);
    llmc_buf_free(&cfg);
  }
  return s;
}

/* --target=a,b,c: each name looked up in the target table; at most one host
 * target; duplicates (sm90 and sm_90 included) rejected. */
static llmc_status_t *parse_targets(builder_t *b, const char *list) {
  b->host_target = -1;
  const char *p = list ? list : "host";
  if (!*p) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "no target given");
  while (*p) {
    size_t len = strcspn(p, ",");
    char name[64];
    if (len == 0 || len >= sizeof name)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "bad target list '%s'", list);
    memcpy(name, p, len);
    name[len] = '\0';
    p += len + (p[len] == ',');
    if (b->n_targets == LLMC_MAX_TARGETS)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "more than %d targets", LLMC_MAX_TARGETS);
    llmc_target_t *t = &b->targets[b->n_targets];
    LLMC_RETURN_IF_ERROR(llmc_target_lookup(name, t));
    for (int i = 0; i < b->n_targets; i++)
      if (strcmp(b->targets[i].name, t->name) == 0)
        return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "target '%s' is given twice", t->name);
    if (!t->is_gpu) {
      if (b->host_target >= 0)
        return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--target", "at most one CPU target ('%s' and '%s' given)",
                          b->targets[b->host_target].name, t->name);
      b->host_target = b->n_targets;
    }
    b->n_targets++;
  }
  return NULL;
}

llmc_status_t *llmc_artifact_write(const llmc_ir_graph_t *g, const llmc_memory_plan_t *plan,
                                   llmc_weight_lookup_fn lookup, void *lookup_ctx,
                                   const llmc_artifact_options_t *opts,
                                   llmc_artifact_summary_t *out_summary) {
  memset(out_summary, 0, sizeof *out_summary);
  if (!plan || plan->n_values != g->n_values)
    return LLMC_ERROR(LLMC_INTERNAL, g->name, "the memory plan does not match the graph (run plan-memory last)");
  builder_t b = {.g = g, .plan = plan, .opts = opts, .a = llmc_arena_create()};
  if (!b.a) return llmc_artifact_oom();
  b.weight_offsets = llmc_arena_alloc(b.a, sizeof(int64_t) * (size_t)(g->n_values + 1));
  if (!b.weight_offsets) {
    llmc_arena_destroy(b.a);
    return llmc_artifact_oom();
  }
  llmc_status_t *s = parse_targets(&b, opts->target);
  llmc_dtype_t weight_dtype = opts->weight_dtype;
  for (int t = 0; !s && t < b.n_targets; t++) {
    const llmc_target_t *tg = &b.targets[t];
    if (weight_dtype == LLMC_DT_F16 && !llmc_target_reads_f16(tg)) {
      if (opts->weight_dtype_auto)
        weight_dtype = LLMC_DT_F32; /* exact, where bf16 would round the checkpoint's f16 */
      else
        s = LLMC_ERROR(LLMC_UNIMPLEMENTED, "--weight-dtype",
                       "f16 weights need a target with F16C (e.g. x86-64-v3 or host); use bf16 for '%s'", tg->name);
    }
  }
  if (!s) {
    llmc_kplan_options_t ko = {.weight_dtype = weight_dtype, .quant = opts->quant,
                               .quant_config = opts->quant_config, .act_quant = opts->act_quant,
                               .kv_dtype = opts->kv_dtype, .block_size = opts->block_size,
                               .max_step_tokens = b.plan->max_tokens,
                               .max_context = opts->max_context, .overrides = opts->overrides,
                               .n_overrides = opts->n_overrides, .tuning_db = opts->tuning_db};
    s = llmc_kplan_build(g, b.targets, b.n_targets, &ko, &b.kplan);
  }
  /* Without a caller's staging directory, one of our own, published here. */
  llmc_publish_t pub = {0};
  if (!s && !opts->staging_dir) s = llmc_publish_begin(opts->out_dir, NULL, 0, &pub);
  if (!s) s = write_outputs(&b, lookup, lookup_ctx, opts->staging_dir ? opts->staging_dir : pub.tmp, out_summary);
  if (!s && pub.begun) s = llmc_publish_commit(&pub);
  llmc_publish_abort(&pub);
  for (int t = 0; t < LLMC_MAX_TARGETS; t++) {
    llmc_buf_free(&b.images[t]);
    llmc_buf_free(&b.image_asm[t]);
  }
  llmc_kplan_destroy(b.kplan);
  llmc_arena_destroy(b.a);
  return s;
}
