/* expect_status.h: cmocka helper shared by unit tests: a call must fail with
 * a given code and a message containing a given text. Include after
 * <cmocka.h> and llmc_support.h. */
#ifndef LLMC_TEST_EXPECT_STATUS_H
#define LLMC_TEST_EXPECT_STATUS_H

#include <string.h>

static inline void expect_error(llmc_status_t *st, llmc_code_t code, const char *text) {
  assert_non_null(st);
  if (llmc_status_code(st) != code || !strstr(llmc_status_message(st), text)) {
    print_error("status %d '%s', wanted %d with '%s'\n", (int)llmc_status_code(st),
                llmc_status_message(st), (int)code, text);
    fail();
  }
  llmc_status_free(st);
}

#endif
