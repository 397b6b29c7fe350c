/* Row kernels of ember's native layer: layer norm (forward and backward) and softmax over
 * the last axis of a contiguous (rows, n) array, in float32 and float64.
 *
 * NumPy needs one pass over memory per operation (a layer norm forward is four, its
 * backward eight); these kernels keep each row in L1 and touch memory once per array read
 * or written. Sums run in LANES independent accumulators: without -ffast-math the compiler
 * may not reorder one running sum, but it vectorizes the lanes.
 *
 * Built and loaded by ember/native/build.py; ember/native/__init__.py declares every entry
 * point's ctypes signature.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define LANES 16

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

#define T float
#define S f32
#define SQRT sqrtf
#define LOG logf
#define EXP_NONPOSITIVE exp_nonpositive_f32
#include "rows_impl.h"
#undef T
#undef S
#undef SQRT
#undef LOG
#undef EXP_NONPOSITIVE

#define T double
#define S f64
#define SQRT sqrt
#define LOG log
#define EXP_NONPOSITIVE exp
#include "rows_impl.h"

/* The float32 exp above over an array, so that its accuracy can be tested. */
void ember_exp_nonpositive_f32(const float *x, float *y, long n) {
    for (long j = 0; j < n; j++) y[j] = exp_nonpositive_f32(x[j]);
}
