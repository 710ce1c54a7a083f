/* kquant.c: llmc's K-quant layouts (see llmc_kquant.h). */
#include "llmc_kquant.h"

#include <math.h>
#include <string.h>

#include "llmc_support.h"

uint64_t llmc_kquant_value_bytes(int bits, uint64_t k) { return bits == 4 ? k / 2 : k; }
uint64_t llmc_kquant_header_bytes(uint64_t k) { return k / LLMC_KQUANT_BLOCK * LLMC_KQUANT_HEADER_BYTES; }

static float half_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return llmc_f16_to_f32(h);
}

static void put_half(uint8_t *p, float f) {
  uint16_t h = llmc_f32_to_f16(f);
  memcpy(p, &h, 2);
}

/* Element j (0..31) of an int4 group's 16 bytes. */
static int nibble(const uint8_t *group, int j) { return j < 16 ? group[j] & 15 : group[j - 16] >> 4; }

void llmc_kquant_dequant_row(int bits, const uint8_t *values, const uint8_t *header, uint64_t k, float *out) {
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    const uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    float d = half_at(h);
    float *y = out + b * LLMC_KQUANT_BLOCK;
    if (bits == 4) {
      float dmin = half_at(h + 2);
      const uint8_t *q = values + b * (LLMC_KQUANT_BLOCK / 2);
      for (int g = 0; g < 8; g++) {
        const uint8_t *pair = h + 4 + 4 * (g / 2);
        /* As ggml's dequantize_row_q4_K: d1 = d * sc, m1 = dmin * m, d1 * q - m1. */
        float d1 = d * (float)pair[g % 2], m1 = dmin * (float)pair[2 + g % 2];
        for (int j = 0; j < 32; j++) y[32 * g + j] = d1 * (float)nibble(q + 16 * g, j) - m1;
      }
    } else {
      const int8_t *q = (const int8_t *)values + b * LLMC_KQUANT_BLOCK;
      for (int g = 0; g < 16; g++) {
        float d1 = d * (float)(int8_t)h[4 + g]; /* as ggml's dequantize_row_q6_K: d * sc * q */
        for (int j = 0; j < 16; j++) y[16 * g + j] = d1 * (float)q[16 * g + j];
      }
    }
  }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void llmc_kquant_quantize_row(int bits, const float *x, uint64_t k, uint8_t *values, uint8_t *header) {
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    const float *xb = x + b * LLMC_KQUANT_BLOCK;
    uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    memset(h, 0, LLMC_KQUANT_HEADER_BYTES);
    if (bits == 4) {
      float scale[8], min[8], smax = 0, mmax = 0;
      for (int g = 0; g < 8; g++) {
        float lo = 0, hi = 0;
        for (int j = 0; j < 32; j++) lo = fminf(lo, xb[32 * g + j]), hi = fmaxf(hi, xb[32 * g + j]);
        scale[g] = (hi - lo) / 15, min[g] = -lo;
        smax = fmaxf(smax, scale[g]), mmax = fmaxf(mmax, min[g]);
      }
      put_half(h, smax / 63), put_half(h + 2, mmax / 63);
      float d = half_at(h), dmin = half_at(h + 2);
      uint8_t *q = values + b * (LLMC_KQUANT_BLOCK / 2);
      for (int g = 0; g < 8; g++) {
        int sc = d > 0 ? clampi((int)lrintf(scale[g] / d), 0, 63) : 0;
        int m = dmin > 0 ? clampi((int)lrintf(min[g] / dmin), 0, 63) : 0;
        uint8_t *pair = h + 4 + 4 * (g / 2);
        pair[g % 2] = (uint8_t)sc, pair[2 + g % 2] = (uint8_t)m;
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        for (int j = 0; j < 16; j++) {
          int lo = d1 > 0 ? clampi((int)lrintf((xb[32 * g + j] + m1) / d1), 0, 15) : 0;
          int hi = d1 > 0 ? clampi((int)lrintf((xb[32 * g + j + 16] + m1) / d1), 0, 15) : 0;
          q[16 * g + j] = (uint8_t)(lo | hi << 4);
        }
      }
    } else {
      float scale[16], smax = 0;
      for (int g = 0; g < 16; g++) {
        float amax = 0;
        for (int j = 0; j < 16; j++) amax = fmaxf(amax, fabsf(xb[16 * g + j]));
        scale[g] = amax / 31;
        smax = fmaxf(smax, scale[g]);
      }
      put_half(h, smax / 127);
      float d = half_at(h);
      int8_t *q = (int8_t *)values + b * LLMC_KQUANT_BLOCK;
      for (int g = 0; g < 16; g++) {
        int sc = d > 0 ? clampi((int)lrintf(scale[g] / d), 0, 127) : 0;
        h[4 + g] = (uint8_t)sc;
        float d1 = d * (float)sc;
        for (int j = 0; j < 16; j++)
          q[16 * g + j] = (int8_t)(d1 > 0 ? clampi((int)lrintf(xb[16 * g + j] / d1), -32, 31) : 0);
      }
    }
  }
}

void llmc_kquant_ggml_scale_min(int j, const uint8_t *q, int *scale, int *min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/* Q4_K {f16 d, f16 dmin, scales[12], qs[128]}: 64 values per 32 bytes of qs,
 * the first 32 in the low nibbles. Q6_K {ql[128], qh[64], int8 scales[16],
 * f16 d}: per 128 values, value l (0..31) has its low 4 bits in ql[l]'s low
 * nibble (l + 64: high nibble), l + 32 in ql[l + 32] (l + 96: high), and
 * its top 2 bits in qh[l] at bits 0, 2, 4, 6 for l, l + 32, l + 64, l + 96. */
void llmc_kquant_from_ggml(int bits, const uint8_t *blocks, uint64_t k, uint8_t *values, uint8_t *header) {
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    memset(h, 0, LLMC_KQUANT_HEADER_BYTES);
    if (bits == 4) {
      const uint8_t *blk = blocks + b * 144, *qs = blk + 16;
      memcpy(h, blk, 4); /* d, dmin */
      uint8_t *q = values + b * (LLMC_KQUANT_BLOCK / 2);
      for (int g = 0; g < 8; g++) {
        int sc, m;
        llmc_kquant_ggml_scale_min(g, blk + 4, &sc, &m);
        uint8_t *pair = h + 4 + 4 * (g / 2);
        pair[g % 2] = (uint8_t)sc, pair[2 + g % 2] = (uint8_t)m;
        const uint8_t *src = qs + 32 * (g / 2);
        int shift = g % 2 ? 4 : 0;
        for (int j = 0; j < 16; j++)
          q[16 * g + j] = (uint8_t)(((src[j] >> shift) & 15) | ((src[j + 16] >> shift) & 15) << 4);
      }
    } else {
      const uint8_t *blk = blocks + b * 210;
      memcpy(h, blk + 208, 2); /* d */
      memcpy(h + 4, blk + 192, 16);
      int8_t *q = (int8_t *)values + b * LLMC_KQUANT_BLOCK;
      for (int half = 0; half < 2; half++) {
        const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
        int8_t *y = q + 128 * half;
        for (int l = 0; l < 32; l++) {
          y[l] = (int8_t)(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
          y[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
          y[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
          y[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
      }
    }
  }
}
