/* publish.c: an artifact replaces the directory at -o as a whole.
 *
 * A compile writes its complete artifact into a staging directory beside -o
 * (the same parent, so moving it is a rename, never a copy):
 *
 *     <parent>/.<base>.llmc-tmp.<pid>
 *
 * and publishes it with one rename: rename(2) onto a missing -o, or
 * renameat2(RENAME_EXCHANGE) with an existing one, after which the old tree,
 * now at the staging name, is removed. A reader of -o sees the complete old
 * artifact or the complete new one, never a mix, and nothing of the old one
 * survives (no other model's tokenizer.json is left to be picked up).
 *
 * Left out: catching signals (the CLI's business, tools/llmc.c); a process
 * killed by SIGKILL or a crash leaves its staging directory, which the next
 * llmc_publish_begin for the same -o sweeps when its process is gone (with
 * the `<out>.tmp.<pid>` directories llmc versions before this one left).
 * File systems without RENAME_EXCHANGE get an error, not a non-atomic
 * two-rename fallback.
 *
 * Invariants: an existing -o is replaced only when it is a directory holding
 * nothing but names a compile writes (or nothing), so `-o ~` cannot delete a
 * user's files; -o never is, contains or lies inside an input directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmc_artifact.h"

static const char STAGING_TAG[] = ".llmc-tmp.";

/* Removes dir's entries (a staging directory or an artifact: flat, but an
 * empty subdirectory is removed too) and dir itself. Best effort: what
 * cannot be removed stays for the next sweep. */
static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  int fd = dirfd(d);
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (unlinkat(fd, e->d_name, 0) != 0 && (errno == EISDIR || errno == EPERM))
      (void)unlinkat(fd, e->d_name, AT_REMOVEDIR);
  }
  closedir(d);
  (void)rmdir(dir);
}

/* The names a compile writes (artifact.c's write_outputs, every --emit). */
static bool is_artifact_name(const char *name) {
  static const char *const exact[] = {"model.so",       "model.h",         "weights.safetensors", "report.json",
                                      "tokenizer.json", "generation.json", "model.ir",            "model.plan",
                                      "model.mlir",     "model.ll",        "model.o",
                                      "tokenizer_config.json"};
  for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(name, exact[i]) == 0) return true;
  /* model.<target>.ptx / .hsaco / .spv */
  static const char *const gpu_ext[] = {".ptx", ".hsaco", ".spv"};
  size_t n = strlen(name);
  if (strncmp(name, "model.", 6) != 0 || n <= 6) return false;
  for (size_t i = 0; i < sizeof gpu_ext / sizeof gpu_ext[0]; i++) {
    size_t k = strlen(gpu_ext[i]);
    if (n > 6 + k && strcmp(name + n - k, gpu_ext[i]) == 0) return true;
  }
  return false;
}

/* An existing -o may be replaced: a directory whose entries are all names a
 * compile writes. `where` is -o as the user gave it. */
static llmc_status_t *check_replaceable(const char *path, const char *where) {
  struct stat st;
  if (stat(path, &st) != 0)
    return LLMC_ERROR(LLMC_CANT_CREATE, where, "cannot create the output directory: %s", strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return LLMC_ERROR(LLMC_CANT_CREATE, where, "cannot create the output directory: it exists and is not a directory");
  DIR *d = opendir(path);
  if (!d) return LLMC_ERROR(LLMC_CANT_CREATE, where, "cannot read the output directory: %s", strerror(errno));
  llmc_status_t *s = NULL;
  for (struct dirent *e; !s && (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || is_artifact_name(e->d_name)) continue;
    s = LLMC_ERROR(LLMC_CANT_CREATE, where,
                   "the output directory exists and holds '%.255s', which is not part of an llmc artifact; "
                   "refusing to replace it (remove it, or choose another -o)", e->d_name);
  }
  closedir(d);
  return s;
}

/* True when `inner` is `outer` or lies below it (both canonical). */
static bool path_within(const char *inner, const char *outer) {
  size_t n = strlen(outer);
  if (strncmp(inner, outer, n) != 0) return false;
  return inner[n] == '\0' || inner[n] == '/' || (n == 1 && outer[0] == '/');
}

/* The pid a name ends with after `prefix`, or 0 when it is not prefix<pid>
 * of a process that is gone (kill(pid, 0) fails with ESRCH). A live
 * process's, or one we may not signal (EPERM: alive, another user's), is 0. */
static long dead_pid(const char *name, const char *prefix) {
  size_t np = strlen(prefix);
  if (strncmp(name, prefix, np) != 0) return 0;
  const char *digits = name + np;
  char *end;
  errno = 0;
  long pid = strtol(digits, &end, 10);
  if (errno || end == digits || *end || digits[0] == '+' || digits[0] == '-' || pid <= 0 || pid > INT_MAX ||
      pid == (long)getpid())
    return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH ? pid : 0;
}

/* Removes the staging directories of -o (same parent and base) whose
 * process is gone, and the `<base>.tmp.<pid>` directories earlier llmc
 * versions left (those only when they hold nothing but artifact names, the
 * pattern being less distinctive). */
static void sweep_stale(const char *parent, const char *base) {
  DIR *d = opendir(parent);
  if (!d) return;
  char ours[NAME_MAX + 32], legacy[NAME_MAX + 32], path[PATH_MAX + NAME_MAX + 2];
  /* A base too long for these names has no staging directories either. */
  if (snprintf(ours, sizeof ours, ".%s%s", base, STAGING_TAG) >= (int)sizeof ours ||
      snprintf(legacy, sizeof legacy, "%s.tmp.", base) >= (int)sizeof legacy) {
    closedir(d);
    return;
  }
  for (struct dirent *e; (e = readdir(d));) {
    bool mine = dead_pid(e->d_name, ours) != 0, old = !mine && dead_pid(e->d_name, legacy) != 0;
    if (!mine && !old) continue;
    snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    llmc_status_t *foreign = old ? check_replaceable(path, path) : NULL;
    if (foreign) {
      llmc_status_free(foreign);
      continue;
    }
    remove_tree(path);
  }
  closedir(d);
}

llmc_status_t *llmc_publish_begin(const char *out_dir, const char *const *input_dirs, int n_inputs,
                                  llmc_publish_t *out) {
  memset(out, 0, sizeof *out);
  /* "out/" and "out" name the same directory. */
  char given[PATH_MAX];
  if (!out_dir || !*out_dir) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "-o", "the output directory is empty");
  if (snprintf(given, sizeof given, "%s", out_dir) >= (int)sizeof given)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, "-o", "the output path is too long");
  for (size_t n = strlen(given); n > 1 && given[n - 1] == '/'; n--) given[n - 1] = '\0';

  /* The canonical -o: realpath of it when it exists (through a symbolic
   * link to the directory it names; `-o .` becomes a name), else of its
   * parent plus its last component. A parent that does not exist is left for
   * mkdir to report. */
  char canon[PATH_MAX], parent[PATH_MAX];
  const char *base;
  struct stat st;
  bool exists = stat(given, &st) == 0;
  if (exists) {
    if (!realpath(given, canon))
      return LLMC_ERROR(LLMC_CANT_CREATE, out_dir, "cannot resolve the output directory: %s", strerror(errno));
    if (strcmp(canon, "/") == 0)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, out_dir, "refusing to replace the root directory");
    char *slash = strrchr(canon, '/');
    snprintf(parent, sizeof parent, "%.*s", slash == canon ? 1 : (int)(slash - canon), canon);
    base = slash + 1;
  } else {
    char *slash = strrchr(given, '/');
    const char *lex_parent = slash ? (slash == given ? "/" : given) : ".";
    if (slash) *slash = '\0';
    const char *leaf = slash ? slash + 1 : given;
    if (strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0)
      return LLMC_ERROR(LLMC_CANT_CREATE, out_dir, "cannot create the output directory: %s", strerror(ENOENT));
    if (!realpath(lex_parent, parent)) snprintf(parent, sizeof parent, "%s", lex_parent);
    if (snprintf(canon, sizeof canon, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", leaf) >= (int)sizeof canon)
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, out_dir, "the output path is too long");
    base = strrchr(canon, '/') ? strrchr(canon, '/') + 1 : canon;
  }

  /* The swap removes whatever -o held, and inputs beside or below -o could
   * share its names: -o must lie apart from every input directory. */
  for (int i = 0; i < n_inputs; i++) {
    char in[PATH_MAX];
    if (!input_dirs[i] || !realpath(input_dirs[i], in)) continue;
    if (path_within(canon, in) || path_within(in, canon))
      return LLMC_ERROR(LLMC_INVALID_ARGUMENT, out_dir,
                        "%s the model's directory '%s'; choose an output directory outside it",
                        strcmp(canon, in) == 0 ? "the output directory is" :
                        path_within(canon, in) ? "the output directory lies inside" : "the output directory contains",
                        input_dirs[i]);
  }
  if (exists) LLMC_RETURN_IF_ERROR(check_replaceable(canon, out_dir));

  sweep_stale(parent, base);
  if (snprintf(out->out, sizeof out->out, "%s", canon) >= (int)sizeof out->out ||
      snprintf(out->tmp, sizeof out->tmp, "%s/.%s%s%ld", strcmp(parent, "/") ? parent : "", base, STAGING_TAG,
               (long)getpid()) >= (int)sizeof out->tmp)
    return LLMC_ERROR(LLMC_INVALID_ARGUMENT, out_dir, "the output path is too long");
  snprintf(out->where, sizeof out->where, "%s", out_dir);
  /* A directory of ours left by an earlier run of this very pid (pid reuse
   * after a SIGKILL) is stale too. */
  remove_tree(out->tmp);
  if (mkdir(out->tmp, 0755) != 0)
    return LLMC_ERROR(LLMC_CANT_CREATE, out_dir, "cannot create the output directory: %s", strerror(errno));
  out->begun = true;
  return NULL;
}

llmc_status_t *llmc_publish_commit(llmc_publish_t *p) {
  if (!p->begun) return LLMC_ERROR(LLMC_INTERNAL, NULL, "llmc_publish_commit without llmc_publish_begin");
  struct stat st;
  llmc_status_t *s = NULL;
  if (lstat(p->out, &st) != 0 && errno == ENOENT) {
    if (rename(p->tmp, p->out) != 0)
      s = LLMC_ERROR(LLMC_CANT_CREATE, p->where, "cannot publish the artifact: %s", strerror(errno));
  } else {
    /* The compile took a while: -o is checked again just before the swap. */
    s = check_replaceable(p->out, p->where);
    if (!s && renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->out, RENAME_EXCHANGE) != 0)
      s = errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP
              ? LLMC_ERROR(LLMC_CANT_CREATE, p->where,
                           "the file system cannot exchange two directories atomically (%s); remove the old "
                           "output directory first", strerror(errno))
              : LLMC_ERROR(LLMC_CANT_CREATE, p->where, "cannot publish the artifact: %s", strerror(errno));
  }
  /* Success: the staging name holds the old artifact now (or nothing).
   * Failure: it still holds the new one, which is not published. */
  remove_tree(p->tmp);
  p->begun = false;
  return s;
}

void llmc_publish_abort(llmc_publish_t *p) {
  if (!p->begun) return;
  remove_tree(p->tmp);
  p->begun = false;
}
