/* file.c: read-only mmaps of inputs and atomic writes of outputs. Outputs go
 * to "<path>.tmp.<pid>" and are renamed into place, so a failed compile never
 * leaves a half-written artifact. */
#include "llmc_support.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static llmc_code_t open_error_code(int err) {
  return (err == ENOENT || err == ENOTDIR) ? LLMC_NOT_FOUND : LLMC_IO_ERROR;
}

llmc_status_t *llmc_file_map_open(const char *path, llmc_file_map_t *out_map) {
  *out_map = (llmc_file_map_t){0};
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
   * forever; it is refused below as not a regular file. (Reads of regular
   * files ignore the flag, and the file is only mmapped.) */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return LLMC_ERROR(open_error_code(errno), path, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot stat: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return LLMC_ERROR(LLMC_NOT_FOUND, path, "not a regular file");
  }
  if (st.st_size > 0) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot mmap: %s", strerror(e));
    }
    out_map->data = p;
    out_map->size = (uint64_t)st.st_size;
  }
  close(fd);
  return NULL;
}

void llmc_file_map_prefault(const llmc_file_map_t *map) {
  if (!map->data) return;
#ifdef MADV_POPULATE_READ
  if (madvise((void *)map->data, (size_t)map->size, MADV_POPULATE_READ) == 0) return;
#endif
  (void)madvise((void *)map->data, (size_t)map->size, MADV_WILLNEED); /* older kernels: read-ahead only */
}

void llmc_file_map_close(llmc_file_map_t *map) {
  if (map->data) munmap((void *)map->data, (size_t)map->size);
  *map = (llmc_file_map_t){0};
}

llmc_status_t *llmc_file_read_text(const char *path, uint64_t limit, char **out_text,
                                   size_t *out_len) {
  *out_text = NULL;
  if (out_len) *out_len = 0;
  llmc_file_map_t m;
  LLMC_RETURN_IF_ERROR(llmc_file_map_open(path, &m));
  if (m.size > limit) {
    uint64_t size = m.size;
    llmc_file_map_close(&m);
    return LLMC_ERROR(LLMC_DATA_LOSS, path, "file is %llu bytes, more than the %llu allowed",
                      (unsigned long long)size, (unsigned long long)limit);
  }
  char *t = malloc((size_t)m.size + 1);
  if (!t) {
    llmc_file_map_close(&m);
    return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, path, "out of memory");
  }
  if (m.size) memcpy(t, m.data, (size_t)m.size);
  t[m.size] = '\0';
  if (out_len) *out_len = (size_t)m.size;
  llmc_file_map_close(&m);
  *out_text = t;
  return NULL;
}

llmc_status_t *llmc_file_write_atomic(const char *path, const void *data, size_t size) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) return LLMC_ERROR(LLMC_CANT_CREATE, path, "path too long");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return LLMC_ERROR(LLMC_CANT_CREATE, path, "cannot create: %s", strerror(errno));
  const uint8_t *p = data;
  size_t left = size;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return LLMC_ERROR(LLMC_IO_ERROR, path, "write failed: %s", strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return LLMC_ERROR(LLMC_IO_ERROR, path, "cannot finish writing: %s", strerror(e));
  }
  return NULL;
}

/* The directory whose files an input may name: the model directory itself,
 * or for a Hugging Face hub cache snapshot (.../models--org--name/snapshots/
 * REV, whose files are symlinks into ../../blobs) the models--* directory. */
static void confinement_root(const char *real_dir, char *root, size_t cap) {
  snprintf(root, cap, "%s", real_dir);
  char *last = strrchr(root, '/');
  if (!last || last == root) return;
  *last = '\0';
  char *parent = strrchr(root, '/');
  if (parent && strcmp(parent + 1, "snapshots") == 0 && parent != root) {
    *parent = '\0';
    char *repo = strrchr(root, '/');
    if (repo && strncmp(repo + 1, "models--", 8) == 0) return;
  }
  snprintf(root, cap, "%s", real_dir);
}

llmc_status_t *llmc_path_confine(llmc_arena_t *a, const char *dir, const char *rel, const char **out_path) {
  *out_path = NULL;
  if (!rel[0] || rel[0] == '/')
    return LLMC_ERROR(LLMC_DATA_LOSS, rel, "this path leaves the model directory (absolute paths are refused)");
  for (const char *p = rel; *p;) { /* no ".." component, even one a symlink would make harmless */
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return LLMC_ERROR(LLMC_DATA_LOSS, rel, "this path leaves the model directory");
    p += n + (p[n] == '/');
  }
  const char *path = llmc_path_join(a, dir, rel);
  if (!path) return LLMC_ERROR(LLMC_RESOURCE_EXHAUSTED, NULL, "out of memory");
  char real_dir[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
  if (!realpath(dir, real_dir))
    return LLMC_ERROR(open_error_code(errno), path, "cannot open: %s", strerror(errno));
  if (!realpath(path, real))
    return LLMC_ERROR(open_error_code(errno), path, "cannot open: %s", strerror(errno));
  /* Symlinks are followed, but where they lead must stay inside. */
  confinement_root(real_dir, root, sizeof root);
  size_t n = strlen(root);
  bool inside = strncmp(real, root, n) == 0 && (real[n] == '/' || (n == 1 && root[0] == '/'));
  if (!inside)
    return LLMC_ERROR(LLMC_DATA_LOSS, path, "leaves the model directory %s through a symlink", root);
  *out_path = path;
  return NULL;
}
