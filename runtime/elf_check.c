/* elf_check.c: is model.so a whole ELF file, before dlopen maps it?
 *
 * dlopen maps each PT_LOAD segment from the file; a segment that runs past
 * the end of a truncated file maps anyway, and the first touch of its
 * missing pages (the dynamic loader's relocations) is SIGBUS, which no
 * status can report. So before dlopen the runtime reads the ELF header and
 * program headers itself (pread, every read bounded by the file size) and
 * requires every segment's file bytes, and the section header table, to be
 * inside the file. It checks only extents against the size, not what the
 * segments hold: a model.so is native code, and a well-formed one can do
 * anything when it is loaded (docs/architecture.md). */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_check.h"

/* Program headers read at most: a linked shared object has about ten. */
#define MAX_PHDRS 256

static bool read_at(int fd, void *buf, size_t n, uint64_t off) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return true;
}

/* off + n bytes inside a file of size bytes, without overflow. */
static bool inside(uint64_t off, uint64_t n, uint64_t size) { return off <= size && n <= size - off; }

llmc_status_t *llmc_rt_elf_check_fd(int fd, const char *where) {
  struct stat st;
  if (fstat(fd, &st) != 0) return LLMC_ERROR(LLMC_IO_ERROR, where, "cannot stat: %s", strerror(errno));
  if (!S_ISREG(st.st_mode)) return LLMC_ERROR(LLMC_DATA_LOSS, where, "not a regular file");
  const uint64_t size = (uint64_t)st.st_size;
  Elf64_Ehdr eh;
  if (size < sizeof eh || !read_at(fd, &eh, sizeof eh, 0))
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "truncated: %llu bytes, less than an ELF header",
                      (unsigned long long)size);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_DYN)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "not a 64-bit little-endian ELF shared object");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
    return LLMC_ERROR(LLMC_DATA_LOSS, where, "ELF program header table of %u entries of %u bytes",
                      (unsigned)eh.e_phnum, (unsigned)eh.e_phentsize);
  const uint64_t ph_bytes = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
  if (!inside(eh.e_phoff, ph_bytes, size))
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "truncated: the program headers end at byte %llu of a %llu-byte file",
                      (unsigned long long)(eh.e_phoff + ph_bytes), (unsigned long long)size);
  if (eh.e_shoff != 0 &&
      (eh.e_shentsize != sizeof(Elf64_Shdr) ||
       !inside(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size)))
    return LLMC_ERROR(LLMC_DATA_LOSS, where,
                      "truncated: the section headers (%u at byte %llu) lie past the end of a %llu-byte file",
                      (unsigned)eh.e_shnum, (unsigned long long)eh.e_shoff, (unsigned long long)size);
  Elf64_Phdr ph[MAX_PHDRS];
  if (!read_at(fd, ph, (size_t)ph_bytes, eh.e_phoff))
    return LLMC_ERROR(LLMC_IO_ERROR, where, "cannot read the program headers");
  int loads = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    loads++;
    if (!inside(ph[i].p_offset, ph[i].p_filesz, size))
      return LLMC_ERROR(LLMC_DATA_LOSS, where,
                        "truncated: segment %u ends at byte %llu of a %llu-byte file (an interrupted copy?)",
                        i, (unsigned long long)(ph[i].p_offset + ph[i].p_filesz),
                        (unsigned long long)size);
  }
  if (loads == 0) return LLMC_ERROR(LLMC_DATA_LOSS, where, "no loadable segment");
  return NULL;
}
