/* llmc_gpu_emulation.h: testing GPU kernels without a GPU (test
 * infrastructure; the product does not link it).
 *
 * The kernels are compiled as llmc_gpu_compile would for GPU target t,
 * through the same NVVM, ROCDL or LLVM-SPV lowering, but the LLVM module is
 * finished as host code (gpu_emulation.c): an ELF shared object for this CPU
 * exporting `void KERNEL(void **kernelParams)` per kernel, whose target
 * intrinsics are calls to llmc_emu_nvvm_* / llmc_emu_amdgcn_* or OpenCL
 * builtins and whose NVIDIA math calls __nv_* functions, all supplied by an
 * emulating driver (tests/unit/runtime/fake_gpu_emu.c). No CUDA toolkit is
 * needed. A real driver rejects the image.
 *
 * `llmc-emu` (built with the tests) is llmc with `compile --gpu-emulation`,
 * which passes this finisher to the artifact writer. */
#ifndef LLMC_GPU_EMULATION_H
#define LLMC_GPU_EMULATION_H

#include "llmc_codegen.h"

llmc_gpu_finisher_t llmc_gpu_emulation_finisher(void);

LLMC_MUST_USE llmc_status_t *llmc_gpu_compile_emulation(const char *kernels_text, const llmc_target_t *t,
                                                        int opt_level, llmc_buf_t *out_image,
                                                        llmc_gpu_image_info_t *out_info);

#endif
