/* llmc_kquant.h: llmc's K-quant weight layouts, ggml's Q4_K and Q6_K values
 * in a form its integer-dot kernels read directly (LLMC_DT_I4K, LLMC_DT_I6K).
 *
 * A row of K values (K a multiple of 256) is stored as two parts, each
 * row's parts contiguous, all rows' values before all rows' headers:
 *   values: int4 (bits 4): K/2 bytes, groups of 32 as llmc's int4-g32
 *           (a group's 16 bytes hold element j in the low nibble, j + 16 in
 *           the high one), unsigned q in 0..15;
 *           int6 (bits 6): K bytes, one signed q in -32..31 a byte;
 *   header: five 32-bit words (20 bytes) a super-block of 256 values:
 *     int4: word 0 = f16 d, f16 dmin; word 1 + p (p = 0..3, the p-th 64
 *           values) = u8 sc[2p], sc[2p+1], m[2p], m[2p+1] (6-bit each);
 *           value = (d * sc[g]) * q - dmin * m[g] for group g of 32;
 *     int6: word 0 = f16 d, 0; word 1 + p = int8 sc[4p .. 4p+3];
 *           value = (d * sc[g]) * q for group g of 16.
 * Those are ggml's Q4_K and Q6_K dequantizations operation for operation,
 * so a GGUF's Q4_K / Q6_K tensor converted here (llmc_kquant_from_ggml)
 * dequantizes to exactly the floats ggml gives (d * sc is exact in f32; so
 * is the int6 product). The bits are unpacked from ggml's 12-byte and
 * 2-bit-plane packings once, at compile time; 4.625 (int4) and 8.625
 * (int6) bits a value against ggml's 4.5 and 6.5625. */
#ifndef LLMC_KQUANT_H
#define LLMC_KQUANT_H

#include <stdbool.h>
#include <stdint.h>

#define LLMC_KQUANT_BLOCK 256
#define LLMC_KQUANT_HEADER_BYTES 20 /* a super-block's header */

/* Bytes of a row's values and of its header (bits 4 or 6; k % 256 == 0). */
uint64_t llmc_kquant_value_bytes(int bits, uint64_t k);
uint64_t llmc_kquant_header_bytes(uint64_t k);

/* A row's values into out[k]. */
void llmc_kquant_dequant_row(int bits, const uint8_t *values, const uint8_t *header, uint64_t k, float *out);

/* Quantizes x[k] into the layout by llmc's own rule (not ggml's search):
 * int4: per group of 32, min = -min(0, min x), scale = (max x + min) / 15;
 * int6: per group of 16, scale = max |x| / 31; then per super-block d (and
 * dmin) = the largest group scale (min) / 63 (int6: / 127) in f16, each
 * group's 6-bit (8-bit) multiple rounded, and every value rounded to the
 * nearest level of its group's stored scale. */
void llmc_kquant_quantize_row(int bits, const float *x, uint64_t k, uint8_t *values, uint8_t *header);

/* Converts one row of ggml blocks (Q4_K for bits 4, Q6_K for bits 6;
 * k/256 blocks of 144 or 210 bytes) exactly. */
void llmc_kquant_from_ggml(int bits, const uint8_t *blocks, uint64_t k, uint8_t *values, uint8_t *header);

/* Q4_K's and Q5_K's j-th (scale, min) pair from their 12 packed bytes. */
void llmc_kquant_ggml_scale_min(int j, const uint8_t *packed, int *scale, int *min);

#endif
