/* link.c: one object -> one shared library, with ld.lld run as a child.
 *
 * The flags make the output a pure function of the object: no build id, no
 * timestamps (lld writes none), GNU hash only, non-executable stack. lld has
 * no default library search path, so nothing from the machine is pulled in;
 * undefined symbols (libm) are allowed in a shared object and resolve at
 * dlopen time. The child's stderr is captured into the status. */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llmc_codegen.h"

#ifndef LLMC_LLD_PATH
#define LLMC_LLD_PATH "ld.lld"
#endif

extern char **environ;

llmc_status_t *llmc_link_shared(const char *obj_path, const char *so_path) {
  if (!obj_path || !so_path) return LLMC_ERROR(LLMC_INVALID_ARGUMENT, NULL, "no object or output");
  const char *lld = getenv("LLMC_LLD");
  if (!lld || !*lld) lld = LLMC_LLD_PATH;
  char *argv[] = {(char *)lld,        "-shared",     "--build-id=none", "-z",
                  "noexecstack",      "--hash-style=gnu", "-o",     (char *)so_path,
                  (char *)obj_path,   NULL};

  /* Checked up front: a failed exec is not always reported by posix_spawn
   * (e.g. under valgrind it becomes the child's exit status 127). */
  if (strchr(lld, '/') && access(lld, X_OK) != 0)
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "cannot run the linker %s: %s (set LLMC_LLD)", lld,
                      strerror(errno));
  int fds[2];
  if (pipe(fds) != 0)
    return LLMC_ERROR(LLMC_INTERNAL, NULL, "cannot run %s: pipe: %s", lld, strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = strchr(lld, '/') ? posix_spawn(&pid, lld, &fa, NULL, argv, environ)
                            : posix_spawnp(&pid, lld, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return LLMC_ERROR(LLMC_UNAVAILABLE, NULL, "cannot run the linker %s: %s (set LLMC_LLD)", lld,
                      strerror(rc));
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
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  llmc_status_t *st = NULL;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    st = LLMC_ERROR(LLMC_INTERNAL, so_path, "linking with %s failed (%s %d)%s%s", lld,
                    WIFEXITED(wstatus) ? "exit status" : "signal",
                    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus),
                    log.len ? ":\n" : "", log.len ? log.data : "");
  llmc_buf_free(&log);
  return st;
}
