/* half.c: IEEE 754 binary16 and bfloat16 conversions, round to nearest even; the int8 KV row. */
#include "llmc_support.h"

#include <math.h>
#include <string.h>

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static float float_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float llmc_bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t llmc_f32_to_bf16(float f) {
  uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

float llmc_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return float_of(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return float_of(sign);
    /* subnormal: value = man * 2^-24 */
    float v = (float)man * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return float_of(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t llmc_f32_to_f16(float f) {
  uint32_t u = bits_of(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow to inf */
  if (a < 0x38800000u) {                                    /* subnormal or zero */
    float v = float_of(a) * 16777216.0f;                   /* in units of 2^-24 */
    uint32_t m = (uint32_t)v;
    float rem = v - (float)m;
    if (rem > 0.5f || (rem == 0.5f && (m & 1u))) m++;
    return (uint16_t)(sign | m);
  }
  uint32_t r = a + 0x0fffu + ((a >> 13) & 1u);
  return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

/* The int8 KV cache's row (kv_i8.host.mlir does the same in the kernels,
 * bit for bit): d = max|x| / 127, NaN when an x is NaN; q = x * (1 / d)
 * rounded to nearest even by adding 1.5 * 2^23 and keeping the low byte of
 * the sum's bits (0 where d is 0 or NaN; |x / d| <= 127 keeps the sum's ulp
 * at 1, so the addition is the rounding). */
static float i8_row_scale(const float *x, int64_t n) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    float a = fabsf(x[i]);
    if (a != a) amax = a;
    else if (amax == amax && a > amax) amax = a;
  }
  return amax / 127.0f;
}
static int8_t i8_row_q(float x, float id) {
  /* volatile: one rounding for the product, as the kernel's mulf, never an
   * FMA with the addition (GNU C contracts across statements). */
  volatile float y = x * id;
  float m = y + 12582912.0f;
  uint8_t b = (uint8_t)(bits_of(m) - 0x4B400000u);
  return (int8_t)(b < 128 ? (int)b : (int)b - 256);
}
static float i8_row_inverse(float d) { return (d == d && d != 0.0f) ? 1.0f / d : 0.0f; }

void llmc_i8_row_quantize(const float *x, int64_t n, int8_t *q, float *d) {
  *d = i8_row_scale(x, n);
  float id = i8_row_inverse(*d);
  for (int64_t i = 0; i < n; i++) q[i] = i8_row_q(x[i], id);
}

void llmc_i8_row_round(float *x, int64_t n) {
  float d = i8_row_scale(x, n), id = i8_row_inverse(d);
  for (int64_t i = 0; i < n; i++) x[i] = (float)i8_row_q(x[i], id) * d;
}
