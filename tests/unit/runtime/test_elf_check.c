/* Unit tests for the ELF check before dlopen (runtime/elf_check.c): a
 * model.so cut short or otherwise malformed must be refused with a status,
 * before dlopen maps pages the file does not have (SIGBUS). Each case is a
 * hand-made 64-bit ELF header and program header table, damaged one way. */
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rt_check.h"
#include "expect_status.h"

enum { FILE_SIZE = 4096 };

typedef struct {
  Elf64_Ehdr eh;
  Elf64_Phdr ph[2];
} image_t;

/* A well-formed shared object header: two PT_LOAD segments inside a
 * FILE_SIZE-byte file, section headers at its end. */
static image_t good(void) {
  image_t im;
  memset(&im, 0, sizeof im);
  memcpy(im.eh.e_ident, ELFMAG, SELFMAG);
  im.eh.e_ident[EI_CLASS] = ELFCLASS64;
  im.eh.e_ident[EI_DATA] = ELFDATA2LSB;
  im.eh.e_ident[EI_VERSION] = EV_CURRENT;
  im.eh.e_type = ET_DYN;
  im.eh.e_machine = EM_X86_64;
  im.eh.e_version = EV_CURRENT;
  im.eh.e_phoff = sizeof im.eh;
  im.eh.e_ehsize = sizeof im.eh;
  im.eh.e_phentsize = sizeof(Elf64_Phdr);
  im.eh.e_phnum = 2;
  im.eh.e_shentsize = sizeof(Elf64_Shdr);
  im.eh.e_shnum = 4;
  im.eh.e_shoff = FILE_SIZE - 4 * sizeof(Elf64_Shdr);
  im.ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 0, .p_filesz = 1024, .p_memsz = 1024};
  im.ph[1] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = 1024, .p_filesz = 2048, .p_memsz = 8192};
  return im;
}

/* Writes the header into a FILE_SIZE-byte temporary file (size bytes of it
 * kept) and runs the check on it. */
static llmc_status_t *check(const image_t *im, size_t size) {
  char path[] = "/tmp/llmc_elf_test_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  uint8_t *buf = calloc(1, FILE_SIZE);
  assert_non_null(buf);
  memcpy(buf, im, sizeof *im);
  assert_int_equal(write(fd, buf, size), (ssize_t)size);
  free(buf);
  llmc_status_t *s = llmc_rt_elf_check_fd(fd, "model.so");
  close(fd);
  return s;
}

static void test_good(void **state) {
  (void)state;
  image_t im = good();
  assert_null(check(&im, FILE_SIZE));
  im.eh.e_shoff = 0; /* no section headers: nothing to check there */
  assert_null(check(&im, FILE_SIZE));
}

static void test_truncated(void **state) {
  (void)state;
  image_t im = good();
  expect_error(check(&im, 0), LLMC_DATA_LOSS, "less than an ELF header");
  expect_error(check(&im, 63), LLMC_DATA_LOSS, "less than an ELF header");
  expect_error(check(&im, 100), LLMC_DATA_LOSS, "program headers end at byte 176");
  /* Section headers cut off, then a segment: the file ends mid-way. */
  expect_error(check(&im, FILE_SIZE - 1), LLMC_DATA_LOSS, "section headers");
  im.eh.e_shoff = 0;
  expect_error(check(&im, 3000), LLMC_DATA_LOSS, "segment 1 ends at byte 3072 of a 3000-byte file");
  assert_null(check(&im, 3072));
}

static void test_malformed(void **state) {
  (void)state;
  image_t im = good();
  im.eh.e_ident[1] = 'X';
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "not an ELF file");
  im = good();
  im.eh.e_ident[EI_CLASS] = ELFCLASS32;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "64-bit");
  im = good();
  im.eh.e_type = ET_REL;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "shared object");
  im = good();
  im.eh.e_phnum = 0;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "program header table");
  im = good();
  im.eh.e_phentsize = 40;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "program header table");
  im = good();
  im.eh.e_phoff = UINT64_MAX - 8; /* offset + size wraps */
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "program headers");
  im = good();
  im.ph[1].p_offset = UINT64_MAX - 100; /* wraps past 0 */
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "segment 1");
  im = good();
  im.eh.e_shnum = 0xffff;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "section headers");
  im = good();
  im.ph[0].p_type = PT_NOTE;
  im.ph[1].p_type = PT_DYNAMIC;
  expect_error(check(&im, FILE_SIZE), LLMC_DATA_LOSS, "no loadable segment");
}

static void test_not_regular(void **state) {
  (void)state;
  int fd = open("/tmp", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  expect_error(llmc_rt_elf_check_fd(fd, "model.so"), LLMC_DATA_LOSS, "not a regular file");
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_not_regular),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
