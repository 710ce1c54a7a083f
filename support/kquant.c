/* kquant.c: llmc's K-quant layouts (see llmc_kquant.h). */
#include "llmc_kquant.h"

#include <math.h>
#include <string.h>

#include "llmc_support.h"

uint64_t llmc_kquant_value_bytes(int bits, uint64_t k) { return k / 64 * (uint64_t)(32 + 8 * (bits - 4)); }
uint64_t llmc_kquant_header_bytes(uint64_t k) { return k / LLMC_KQUANT_BLOCK * LLMC_KQUANT_HEADER_BYTES; }
uint64_t llmc_kquant_ggml_block_bytes(int bits) { return bits == 4 ? 144 : bits == 5 ? 176 : 210; }

static float half_at(const uint8_t *p) {
  uint16_t h;
  memcpy(&h, p, 2);
  return llmc_f16_to_f32(h);
}

static void put_half(uint8_t *p, float f) {
  uint16_t h = llmc_f32_to_f16(f);
  memcpy(p, &h, 2);
}

/* Value i of a row's values: its 64-value unit (32 bytes of nibbles, then
 * nb = 8 h bytes of high bits, h = bits - 4), element e of the unit: the
 * high bits at byte e % nb, field e / nb (h bits each). */
static int get_u(const uint8_t *values, int bits, uint64_t i) {
  int h = bits - 4, nb = 8 * h;
  const uint8_t *unit = values + i / 64 * (uint64_t)(32 + nb);
  int e = (int)(i % 64), g = e / 32, j = e % 32;
  int u = j < 16 ? unit[16 * g + j] & 15 : unit[16 * g + j - 16] >> 4;
  if (h) u |= ((unit[32 + e % nb] >> (h * (e / nb))) & ((1 << h) - 1)) << 4;
  return u;
}

/* Sets value i (the row's bytes start zeroed). */
static void put_u(uint8_t *values, int bits, uint64_t i, int u) {
  int h = bits - 4, nb = 8 * h;
  uint8_t *unit = values + i / 64 * (uint64_t)(32 + nb);
  int e = (int)(i % 64), g = e / 32, j = e % 32;
  if (j < 16) unit[16 * g + j] |= (uint8_t)(u & 15);
  else unit[16 * g + j - 16] |= (uint8_t)((u & 15) << 4);
  if (h) unit[32 + e % nb] |= (uint8_t)((u >> 4) << (h * (e / nb)));
}

void llmc_kquant_dequant_row(int bits, const uint8_t *values, const uint8_t *header, uint64_t k, float *out) {
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    const uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    float d = half_at(h), dmin = half_at(h + 2);
    for (int i = 0; i < LLMC_KQUANT_BLOCK; i++) {
      uint64_t at = b * LLMC_KQUANT_BLOCK + (uint64_t)i;
      int u = get_u(values, bits, at);
      if (bits == 6) { /* as ggml's dequantize_row_q6_K: d * sc * q */
        float d1 = d * (float)(int8_t)h[4 + i / 16];
        out[at] = d1 * (float)(u - 32);
      } else { /* as dequantize_row_q4_K / q5_K: d1 = d * sc, m1 = dmin * m, d1 * q - m1 */
        const uint8_t *pair = h + 4 + 4 * (i / 64);
        int g = i / 32 % 2;
        float d1 = d * (float)pair[g], m1 = dmin * (float)pair[2 + g];
        out[at] = d1 * (float)u - m1;
      }
    }
  }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void llmc_kquant_quantize_row(int bits, const float *x, uint64_t k, uint8_t *values, uint8_t *header) {
  memset(values, 0, llmc_kquant_value_bytes(bits, k));
  int top = (1 << bits) - 1;
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    const float *xb = x + b * LLMC_KQUANT_BLOCK;
    uint64_t at = b * LLMC_KQUANT_BLOCK;
    uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    memset(h, 0, LLMC_KQUANT_HEADER_BYTES);
    if (bits != 6) {
      float scale[8], min[8], smax = 0, mmax = 0;
      for (int g = 0; g < 8; g++) {
        float lo = 0, hi = 0;
        for (int j = 0; j < 32; j++) lo = fminf(lo, xb[32 * g + j]), hi = fmaxf(hi, xb[32 * g + j]);
        scale[g] = (hi - lo) / (float)top, min[g] = -lo;
        smax = fmaxf(smax, scale[g]), mmax = fmaxf(mmax, min[g]);
      }
      put_half(h, smax / 63), put_half(h + 2, mmax / 63);
      float d = half_at(h), dmin = half_at(h + 2);
      for (int g = 0; g < 8; g++) {
        int sc = d > 0 ? clampi((int)lrintf(scale[g] / d), 0, 63) : 0;
        int m = dmin > 0 ? clampi((int)lrintf(min[g] / dmin), 0, 63) : 0;
        uint8_t *pair = h + 4 + 4 * (g / 2);
        pair[g % 2] = (uint8_t)sc, pair[2 + g % 2] = (uint8_t)m;
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        for (int j = 0; j < 32; j++)
          put_u(values, bits, at + (uint64_t)(32 * g + j),
                d1 > 0 ? clampi((int)lrintf((xb[32 * g + j] + m1) / d1), 0, top) : 0);
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
      for (int g = 0; g < 16; g++) {
        int sc = d > 0 ? clampi((int)lrintf(scale[g] / d), 0, 127) : 0;
        h[4 + g] = (uint8_t)sc;
        float d1 = d * (float)sc;
        for (int j = 0; j < 16; j++)
          put_u(values, 6, at + (uint64_t)(16 * g + j),
                32 + (d1 > 0 ? clampi((int)lrintf(xb[16 * g + j] / d1), -32, 31) : 0));
      }
    }
  }
}

/* Q4_K's and Q5_K's j-th (scale, min) pair from their 12 packed bytes. */
static void scale_min_k4(int j, const uint8_t *q, int *scale, int *min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/* Q4_K {f16 d, f16 dmin, scales[12], qs[128]}, Q5_K {f16 d, f16 dmin,
 * scales[12], qh[32], qs[128]}: 64 values per 32 bytes of qs, value l
 * (0..31) of the pair's first group in qs[l]'s low nibble, of its second in
 * the high one; Q5_K's fifth bit of group g's value l is qh[l]'s bit g.
 * Q6_K {ql[128], qh[64], int8 scales[16], f16 d}: per 128 values, value l
 * (0..31) has its low 4 bits in ql[l]'s low nibble (l + 64: high nibble),
 * l + 32 in ql[l + 32] (l + 96: high), and its top 2 bits in qh[l] at bits
 * 0, 2, 4, 6 for l, l + 32, l + 64, l + 96. */
void llmc_kquant_from_ggml(int bits, const uint8_t *blocks, uint64_t k, uint8_t *values, uint8_t *header) {
  memset(values, 0, llmc_kquant_value_bytes(bits, k));
  uint64_t block_bytes = llmc_kquant_ggml_block_bytes(bits);
  for (uint64_t b = 0; b < k / LLMC_KQUANT_BLOCK; b++) {
    const uint8_t *blk = blocks + b * block_bytes;
    uint8_t *h = header + b * LLMC_KQUANT_HEADER_BYTES;
    uint64_t at = b * LLMC_KQUANT_BLOCK;
    memset(h, 0, LLMC_KQUANT_HEADER_BYTES);
    if (bits != 6) {
      const uint8_t *qh = blk + 16, *qs = blk + (bits == 5 ? 48 : 16);
      memcpy(h, blk, 4); /* d, dmin */
      for (int g = 0; g < 8; g++) {
        int sc, m;
        scale_min_k4(g, blk + 4, &sc, &m);
        uint8_t *pair = h + 4 + 4 * (g / 2);
        pair[g % 2] = (uint8_t)sc, pair[2 + g % 2] = (uint8_t)m;
        const uint8_t *src = qs + 32 * (g / 2);
        for (int l = 0; l < 32; l++) {
          int u = (src[l] >> (g % 2 ? 4 : 0)) & 15;
          if (bits == 5) u |= ((qh[l] >> g) & 1) << 4;
          put_u(values, bits, at + (uint64_t)(32 * g + l), u);
        }
      }
    } else {
      memcpy(h, blk + 208, 2); /* d */
      memcpy(h + 4, blk + 192, 16);
      for (int half = 0; half < 2; half++) {
        const uint8_t *ql = blk + 64 * half, *qh = blk + 128 + 32 * half;
        uint64_t y = at + 128 * (uint64_t)half;
        for (int l = 0; l < 32; l++) {
          put_u(values, 6, y + (uint64_t)l, (ql[l] & 0xF) | (qh[l] & 3) << 4);
          put_u(values, 6, y + (uint64_t)l + 32, (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4);
          put_u(values, 6, y + (uint64_t)l + 64, (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
          put_u(values, 6, y + (uint64_t)l + 96, (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4);
        }
      }
    }
  }
}
