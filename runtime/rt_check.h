/* rt_check.h: the checks an artifact passes before anything runs it, apart
 * from the runtime object so the unit tests and fuzz targets can feed them
 * bytes directly. Internal to runtime/ (and its tests). */
#ifndef LLMC_RT_CHECK_H
#define LLMC_RT_CHECK_H

#include <stdint.h>

#include "llmc_abi.h"
#include "llmc_support.h"

/* elf_check.c. Checks that the open file fd is a regular file holding a
 * whole 64-bit ELF shared object of this machine: its header, program
 * headers, every PT_LOAD segment and the section header table lie inside
 * the file. A truncated model.so (an interrupted copy) is LLMC_DATA_LOSS
 * here, where dlopen would map past the end of the file and die of SIGBUS
 * on the first touch. where names the file in messages. */
LLMC_MUST_USE llmc_status_t *llmc_rt_elf_check_fd(int fd, const char *where);

/* artifact_check.c. Where each validated launch starts and where its
 * arguments go (malloc'd; free with llmc_rt_plan_index_free). */
typedef struct {
  int64_t n_launches;
  int64_t *launch_pos; /* [n_launches + 1] plan index of each launch */
  int64_t *arg_base;   /* [n_launches + 1] first slot in the resolved args */
  int64_t total_args;  /* args of all launches together */
} llmc_rt_plan_index_t;
void llmc_rt_plan_index_free(llmc_rt_plan_index_t *ix);

/* Validates m's plan completely: the header's values and their consistency,
 * every launch inside plan_len naming a kernel of the n_kernels, every
 * extent and argument a + b*T non-negative for T in [1, T_max], and every
 * argument against its kind (m->arg_kinds): each range an offset argument
 * names lies inside its buffer (act, weights, meta) for every T of its
 * launch's range, the token count is T, layers exist, embedding tables hold
 * the vocabulary. Then, when recorded, the plan digest. LLMC_DATA_LOSS
 * naming the first problem. Reads nothing outside m->plan[0, plan_len) and
 * m->arg_kinds[0, arg_kinds_len). */
LLMC_MUST_USE llmc_status_t *llmc_rt_plan_validate(const char *where, const llmc_model_v1_t *m,
                                                   llmc_rt_plan_index_t *out_index);

/* Checks that weights.safetensors, the size bytes at d, belongs to m and
 * covers its plan: the digest and size model.so recorded (when it recorded
 * them), a JSON header naming tensors inside the data section and, when it
 * names a model, m's name; a 64-byte aligned data section holding at least
 * WEIGHT_FLOATS floats. *out_data_offset: where the data section starts. */
LLMC_MUST_USE llmc_status_t *llmc_rt_weights_check(const char *where, const llmc_model_v1_t *m,
                                                   const uint8_t *d, uint64_t size,
                                                   uint64_t *out_data_offset);

#endif
