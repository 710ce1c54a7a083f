/* link.c: one object -> one shared library, with ld.lld run as a child.
 *
 * The flags make the output a pure function of the object: no build id, no
 * timestamps (lld writes none), GNU hash only, non-executable stack. lld has
 * no default library search path, so nothing from the machine is pulled in;
 * undefined symbols (libm) are allowed in a shared object and resolve at
 * dlopen time. The child's stderr is captured into the status. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen_impl.h"

#ifndef LLMC_LLD_PATH
#define LLMC_LLD_PATH "ld.lld"
#endif

extern char **environ;

/* Runs argv[0] (a path or a name on PATH) with stdout and stderr captured;
 * a nonzero exit is an error naming what, with the tool's output. */
llmc_status_t *llmc_codegen_run_tool(const char *what, char *const argv[]) {
  const char *tool = argv[0];
  if (strchr(tool, '/') && access(tool, X_OK) != 0)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "cannot run %s (%s): %s", tool, what,
                      strerror(errno));
  int fds[2];
  if (pipe(fds) != 0) return LLMC_ERROR(LLMC_INTERNAL, NULL, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = strchr(tool, '/') ? posix_spawn(&pid, tool, &fa, NULL, argv, environ)
                             : posix_spawnp(&pid, tool, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "cannot run %s (%s): %s", tool, what, strerror(rc));
  }
  llmc_buf_t log = {0};
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n > 0) {
      if (log.len < 16384) llmc_buf_append(&log, chunk, (size_t)n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  llmc_status_t *st = NULL;
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
    st = LLMC_ERROR(LLMC_INTERNAL, NULL, "%s with %s failed (%s %d)%s%s", what, tool,
                    WIFEXITED(ws) ? "exit status" : "signal",
                    WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws), log.len ? ":\n" : "",
                    log.len ? log.data : "");
  llmc_buf_free(&log);
  return st;
}

llmc_status_t *llmc_link_shared(const char *obj_path, const char *so_path) {
  if (!obj_path || !so_path) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no object or output");
  const char *lld = getenv("LLMC_LLD");
  if (!lld || !*lld) lld = LLMC_LLD_PATH;
  char *argv[] = {(char *)lld,        "-shared",     "--build-id=none", "-z",
                  "noexecstack",      "--hash-style=gnu", "-o",     (char *)so_path,
                  (char *)obj_path,   NULL};

  llmc_status_t *st = llmc_codegen_run_tool("linking the model", argv);
  return st ? llmc_status_wrap(st, NULL, "cannot link model.so (LLMC_LLD selects the linker)") : NULL;
}

/* --- scratch files for the external tools --- */

llmc_status_t *llmc_codegen_write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return LLMC_ERROR(LLMC_CANT_CREATE, path, "cannot create: %s", strerror(errno));
  bool ok = fwrite(data, 1, n, f) == n;
  ok = (fclose(f) == 0) && ok;
  return ok ? NULL : LLMC_ERROR(LLMC_IO_ERROR, path, "write failed");
}

llmc_status_t *llmc_codegen_read_file(const char *path, llmc_buf_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot read: %s", strerror(errno));
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) llmc_buf_append(out, chunk, n);
  bool err = ferror(f);
  fclose(f);
  if (err) return LLMC_ERROR(LLMC_IO_ERROR, path, "read failed");
  if (out->failed) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, path, "out of memory");
  return NULL;
}

llmc_status_t *llmc_codegen_scratch_open(llmc_codegen_scratch_t *s, const char *in_name,
                                         const char *out_name) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp || strlen(tmp) > 40) tmp = "/tmp";
  snprintf(s->dir, sizeof s->dir, "%s/llmc-gpu-XXXXXX", tmp);
  if (!mkdtemp(s->dir))
    return LLMC_ERROR(LLMC_CANT_CREATE, s->dir, "cannot create a temporary directory: %s",
                      strerror(errno));
  snprintf(s->in, sizeof s->in, "%s/%s", s->dir, in_name);
  snprintf(s->out, sizeof s->out, "%s/%s", s->dir, out_name);
  return NULL;
}

void llmc_codegen_scratch_close(llmc_codegen_scratch_t *s) {
  unlink(s->in);
  unlink(s->out);
  rmdir(s->dir);
}
