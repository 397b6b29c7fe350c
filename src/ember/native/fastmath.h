/* Vectorizable float32 transcendentals shared by ember's C kernels (rows.c, lstm.c).
 *
 * Written branch-free (ternaries the compiler turns into blends) so that loops calling them
 * vectorize without -ffast-math, which would also let the compiler reorder sums.
 */
#ifndef EMBER_FASTMATH_H
#define EMBER_FASTMATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The build turns off implicit contraction (-ffp-contract=off), so the polynomial asks for
 * fused multiply-adds where the CPU has them: one rounding per step keeps the exp within
 * an ulp (1.17 ulp with separate roundings). */
#ifdef __FMA__
#define MULADD(a, b, c) fmaf(a, b, c)
#else
#define MULADD(a, b, c) ((a) * (b) + (c))
#endif

/* exp(x) for x <= 0 (and -inf, NaN) in float32, vectorizable: x = k ln2 + r with
 * |r| <= ln2 / 2, e^r by its Taylor series to degree 7 (truncation below 6e-9 relative, a
 * tenth of an ulp), times 2^k made from the exponent bits. Results below FLT_MIN flush to
 * zero. The max-shifted softmax only needs x <= 0. */
static inline float exp_nonpositive_f32(float x) {
    const float lo = -87.33654f; /* ln(FLT_MIN) */
    float xc = x < lo ? lo : x;
    xc = xc == xc ? xc : 0.0f;                                 /* NaN: keep k defined */
    float kf = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln2) */
    float r = (xc - kf * 0.693359375f) - kf * -2.12194440e-4f; /* ln2 in two parts */
    float p = 1.0f / 5040.0f;
    p = MULADD(p, r, 1.0f / 720.0f);
    p = MULADD(p, r, 1.0f / 120.0f);
    p = MULADD(p, r, 1.0f / 24.0f);
    p = MULADD(p, r, 1.0f / 6.0f);
    p = MULADD(p, r, 0.5f);
    p = MULADD(p, r, 1.0f);
    p = MULADD(p, r, 1.0f);
    int32_t bits = ((int32_t)kf + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < lo ? 0.0f : y;
    return x == x ? y : x;
}

/* sigmoid(x) = 1 / (1 + e^-x) from e = exp(-|x|) <= 1, which never overflows: 1 / (1 + e)
 * for x >= 0, e / (1 + e) below. Within 3 ulp; saturates to 0 and 1; NaN stays NaN. */
static inline float sigmoid_f32(float x) {
    float e = exp_nonpositive_f32(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|). Below |x| = 0.25 the difference
 * 1 - e cancels, so there the odd Taylor polynomial to degree 9 takes over (its first
 * omitted term is under 1e-8 relative there). Within 3 ulp; tanh(+-inf) = +-1. */
static inline float tanh_f32(float x) {
    float a = fabsf(x);
    float e = exp_nonpositive_f32(-2.0f * a);
    float t = copysignf((1.0f - e) / (1.0f + e), x);
    float x2 = x * x;
    float p = MULADD(x2, 62.0f / 2835.0f, -17.0f / 315.0f);
    p = MULADD(p, x2, 2.0f / 15.0f);
    p = MULADD(p, x2, -1.0f / 3.0f);
    p = MULADD(p * x2, x, x);
    return a < 0.25f ? copysignf(p, x) : t; /* copysign: tanh(-0) = -0 */
}

#endif
