/* fake_gpu_emu.h: the fake driver's GPU emulator. It loads the images
 * `llmc compile --gpu-emulation` makes (host ELF shared objects holding the
 * NVVM-, ROCDL- or LLVM-SPV-lowered kernels, see codegen/gpu_emulation.c) and runs a launch the
 * way the hardware defines it: every block's threads run, as fibers on one
 * OS thread, until each reaches a barrier; then all go on. Blocks run one
 * after another, so a kernel's shared memory (the image's globals) belongs
 * to one block at a time. */
#ifndef FAKE_GPU_EMU_H
#define FAKE_GPU_EMU_H

#include <stddef.h>
#include <stdint.h>

/* `void KERNEL(void **kernelParams)` in an emulation image. */
typedef void (*emu_kernel_fn)(void **params);

/* True when image starts like an ELF object (an emulation image). */
int emu_is_image(const void *image);
/* dlopens the image; NULL with err filled on failure. */
void *emu_module_load(const void *image, char *err, size_t err_size);
void emu_module_unload(void *module);
emu_kernel_fn emu_module_function(void *module, const char *name);
/* Runs the grid (gx, gy) of blocks of `threads` threads. 0 on success; on a
 * barrier that not every thread of a block reaches, -1 with err filled. */
int emu_run_grid(emu_kernel_fn fn, void **params, uint32_t gx, uint32_t gy, uint32_t threads,
                 char *err, size_t err_size);

#endif
