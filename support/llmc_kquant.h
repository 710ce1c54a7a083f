/* llmc_kquant.h: llmc's K-quant weight layouts, ggml's Q4_K, Q5_K and Q6_K
 * values in a form its integer-dot kernels read directly (LLMC_DT_I4K,
 * LLMC_DT_I5K, LLMC_DT_I6K: bits = 4, 5, 6).
 *
 * A row of K values (K a multiple of 256) is stored as two parts, all rows'
 * values before all rows' headers, each row's contiguous:
 *   values: each value an unsigned u of `bits` bits (int4-k, int5-k: u = q
 *           in 0..15 / 0..31; int6-k: u = q + 32, q in -32..31), 64 values
 *           (two groups of 32) at a time in 32 + nb bytes, h = bits - 4
 *           high bits a value, nb = 8 h: the two groups' low nibbles (a
 *           group's 16 bytes hold element j in the low nibble of byte j,
 *           j + 16 in the high one, as int4-g32), then the high bits of the
 *           64 values e = 0..63 (first group's j = e) at byte e % nb, bits
 *           h (e / nb) .. h (e / nb) + h - 1 — so a kernel replicating the
 *           nb bytes over 32 finds each value's high bits in its own byte,
 *           at a shift that is constant across every 8 bytes;
 *   header: five 32-bit words (20 bytes) a super-block of 256 values:
 *     int4-k, int5-k: word 0 = f16 d, f16 dmin; word 1 + p (p = 0..3, the
 *           p-th 64 values) = u8 sc[2p], sc[2p+1], m[2p], m[2p+1] (6-bit);
 *           value = (d * sc[g]) * q - dmin * m[g] for group g of 32;
 *     int6-k: word 0 = f16 d, 0; word 1 + p = int8 sc[4p .. 4p+3];
 *           value = (d * sc[g]) * q for group g of 16.
 * Those are ggml's Q4_K, Q5_K and Q6_K dequantizations operation for
 * operation, so a GGUF tensor converted here (llmc_kquant_from_ggml)
 * dequantizes to exactly the floats ggml gives (d * sc is exact in f32; so
 * is the int6 product). ggml's 12-byte scale packing is unpacked once, at
 * compile time: 4.625, 5.625 and 6.625 bits a value against ggml's 4.5,
 * 5.5 and 6.5625. */
#ifndef LLMC_KQUANT_H
#define LLMC_KQUANT_H

#include <stdbool.h>
#include <stdint.h>

#define LLMC_KQUANT_BLOCK 256
#define LLMC_KQUANT_HEADER_BYTES 20 /* a super-block's header */

/* Bytes of a row's values (bits 4, 5 or 6) and of its header; k % 256 == 0. */
uint64_t llmc_kquant_value_bytes(int bits, uint64_t k);
uint64_t llmc_kquant_header_bytes(uint64_t k);

/* A row's values into out[k]. */
void llmc_kquant_dequant_row(int bits, const uint8_t *values, const uint8_t *header, uint64_t k, float *out);

/* Quantizes x[k] into the layout by llmc's own rule (not ggml's search):
 * int4-k, int5-k: per group of 32, min = -min(0, min x), scale = (max x +
 * min) / (2^bits - 1); int6-k: per group of 16, scale = max |x| / 31; then
 * per super-block d (and dmin) = the largest group scale (min) / 63 (int6-k:
 * / 127) in f16, each group's 6-bit (8-bit) multiple rounded, and every
 * value rounded to the nearest level of its group's stored scale. */
void llmc_kquant_quantize_row(int bits, const float *x, uint64_t k, uint8_t *values, uint8_t *header);

/* Converts one row of ggml blocks exactly: Q4_K, Q5_K, Q6_K for bits 4, 5,
 * 6 (k/256 blocks of 144, 176, 210 bytes, llmc_kquant_ggml_block_bytes). */
void llmc_kquant_from_ggml(int bits, const uint8_t *blocks, uint64_t k, uint8_t *values, uint8_t *header);
uint64_t llmc_kquant_ggml_block_bytes(int bits);

#endif
