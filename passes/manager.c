/* manager.c: runs named passes in order, verifying after each one, with
 * --print-after dumps and per-pass timing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llmc_passes.h"

static const struct {
  const char *name;
  llmc_pass_fn run; /* NULL: plan-memory, an analysis that fills the result */
} passes[] = {
    {"canonicalize", llmc_pass_canonicalize},
    {"cse", llmc_pass_cse},
    {"dce", llmc_pass_dce},
    {"fuse-silu-mul", llmc_pass_fuse_silu_mul},
    {"fuse-norm-add", llmc_pass_fuse_norm_add},
    {"fuse-sibling-matmuls", llmc_pass_fuse_sibling_matmuls},
    {"fuse-matmul-add", llmc_pass_fuse_matmul_add},
    {"fuse-rope", llmc_pass_fuse_rope},
    {"plan-memory", NULL},
};

/* -O0 runs no fusion (the kill switch for all of them at once; --passes
 * picks any subset). */
const char *llmc_passes_default_pipeline(int opt_level) {
  return opt_level <= 0 ? "dce,plan-memory"
                        : "canonicalize,cse,dce,fuse-silu-mul,fuse-norm-add,fuse-sibling-matmuls,fuse-matmul-add,fuse-rope,plan-memory";
}

void llmc_pass_remark(llmc_pass_remarks_t *r, const char *pass, bool fused, const char *fmt, ...) {
  if (r->n == r->cap) {
    int cap = r->cap ? 2 * r->cap : 16;
    llmc_pass_remark_t *items = realloc(r->items, sizeof *items * (size_t)cap);
    if (!items) {
      r->failed = true;
      return;
    }
    r->items = items;
    r->cap = cap;
  }
  llmc_pass_remark_t *m = &r->items[r->n++];
  m->pass = pass;
  m->fused = fused;
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(m->what, sizeof m->what, fmt, ap);
  va_end(ap);
  if (len >= (int)sizeof m->what) {
    /* Truncated: never leave half a UTF-8 sequence (weight names are UTF-8). */
    size_t end = sizeof m->what - 1;
    while (end > 0 && ((unsigned char)m->what[end - 1] & 0xC0) == 0x80) end--;
    if (end > 0 && ((unsigned char)m->what[end - 1] & 0xC0) == 0xC0) end--;
    m->what[end] = '\0';
  }
}

bool llmc_pass_exists(const char *name) {
  if (strcmp(name, "all") == 0) return true;
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
    if (strcmp(passes[i].name, name) == 0) return true;
  return false;
}

static int count_nodes(const llmc_ir_graph_t *g) {
  int n = 0;
  for (int i = 0; i < g->n_values; i++) n += g->values[i]->kind == LLMC_VALUE_NODE;
  return n;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static llmc_status_t *run_passes(llmc_ir_graph_t *g, const llmc_pass_options_t *opts,
                                 llmc_pass_result_t *out) {
  const char *pipeline = opts->pipeline ? opts->pipeline : llmc_passes_default_pipeline(opts->opt_level);
  if (opts->print_after && !llmc_pass_exists(opts->print_after))
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--print-after", "unknown pass '%s'", opts->print_after);
  const char *p = pipeline;
  while (*p) {
    size_t len = strcspn(p, ",");
    char name[64];
    if (len == 0 || len >= sizeof name)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--passes", "bad pipeline '%s'", pipeline);
    memcpy(name, p, len);
    name[len] = '\0';
    p += len + (p[len] == ',');
    size_t k = 0;
    while (k < sizeof passes / sizeof passes[0] && strcmp(passes[k].name, name)) k++;
    if (k == sizeof passes / sizeof passes[0])
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--passes", "unknown pass '%s'", name);
    if (out->n_passes == LLMC_MAX_PASSES)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "--passes", "more than %d passes", LLMC_MAX_PASSES);
    llmc_pass_stat_t *st = &out->stats[out->n_passes++];
    st->name = passes[k].name;
    st->nodes_before = count_nodes(g);
    double t0 = now_seconds();
    if (passes[k].run) {
      int changed = 0;
      LLMC_RETURN_IF_ERROR(passes[k].run(g, &out->remarks, &changed));
      llmc_ir_graph_compact(g);
    } else {
      if (out->planned) llmc_memory_plan_free(&out->plan);
      LLMC_RETURN_IF_ERROR(llmc_plan_memory(g, opts->max_tokens, &out->plan));
      out->planned = true;
    }
    st->seconds = now_seconds() - t0;
    st->nodes_after = count_nodes(g);
    llmc_status_t *s = llmc_ir_verify(g);
    if (s) return llmc_status_wrap(s, NULL, "internal error: the IR is invalid after pass '%s'", name);
    if (opts->log && opts->print_after &&
        (strcmp(opts->print_after, "all") == 0 || strcmp(opts->print_after, name) == 0)) {
      llmc_buf_printf(opts->log, "// ----- IR after %s -----\n", name);
      llmc_ir_print(g, opts->log);
    }
  }
  return NULL;
}

llmc_status_t *llmc_passes_run(llmc_ir_graph_t *g, const llmc_pass_options_t *opts,
                               llmc_pass_result_t *out) {
  memset(out, 0, sizeof *out);
  llmc_status_t *s = run_passes(g, opts, out);
  if (s) llmc_pass_result_free(out); /* on failure the caller owns nothing */
  return s;
}

void llmc_pass_result_free(llmc_pass_result_t *r) {
  if (r->planned) llmc_memory_plan_free(&r->plan);
  r->planned = false;
  free(r->remarks.items);
  r->remarks = (llmc_pass_remarks_t){0};
}
