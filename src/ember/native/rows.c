/* Row kernels of ember's native layer: layer norm (forward and backward) and softmax over
 * the last axis of a contiguous (rows, n) array, and the softmax cross entropy of class-index
 * targets, in float32 and float64.
 *
 * NumPy needs one pass over memory per operation (a layer norm forward is four, its
 * backward eight); these kernels keep each row in L1 and touch memory once per array read
 * or written. Sums run in LANES independent accumulators: without -ffast-math the compiler
 * may not reorder one running sum, but it vectorizes the lanes.
 *
 * Built and loaded by ember/native/build.py; ember/native/__init__.py declares every entry
 * point's ctypes signature.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fastmath.h"

#define LANES 16

/* The row max, vectorized by hand: GCC will not turn `x > m ? x : m` into vmaxps without
 * -ffinite-math-only, and the scalar loop was a fifth of a 64-wide softmax. vmaxps(x, m)
 * returns m when x is NaN, so NaNs are skipped as in the portable loop of rows_impl.h. */
#ifdef __AVX__
#include <immintrin.h>

static inline float max_row_f32(const float *x, long n) {
    __m256 a = _mm256_set1_ps(-INFINITY), b = a;
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        a = _mm256_max_ps(_mm256_loadu_ps(x + j), a);
        b = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), b);
    }
    for (; j + 8 <= n; j += 8) a = _mm256_max_ps(_mm256_loadu_ps(x + j), a);
    float lanes[8], m = -INFINITY;
    _mm256_storeu_ps(lanes, _mm256_max_ps(a, b));
    for (int k = 0; k < 8; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

static inline double max_row_f64(const double *x, long n) {
    __m256d a = _mm256_set1_pd(-INFINITY), b = a;
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        a = _mm256_max_pd(_mm256_loadu_pd(x + j), a);
        b = _mm256_max_pd(_mm256_loadu_pd(x + j + 4), b);
    }
    for (; j + 4 <= n; j += 4) a = _mm256_max_pd(_mm256_loadu_pd(x + j), a);
    double lanes[4], m = -INFINITY;
    _mm256_storeu_pd(lanes, _mm256_max_pd(a, b));
    for (int k = 0; k < 4; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}
#define ROW_MAX_F32 max_row_f32
#define ROW_MAX_F64 max_row_f64
#endif

#define T float
#define S f32
#define SQRT sqrtf
#define LOG logf
#define EXP_NONPOSITIVE exp_nonpositive_f32
#ifdef ROW_MAX_F32
#define ROW_MAX ROW_MAX_F32
#endif
#include "rows_impl.h"
#undef ROW_MAX
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
#ifdef ROW_MAX_F64
#define ROW_MAX ROW_MAX_F64
#endif
#include "rows_impl.h"
#undef ROW_MAX

/* The float32 exp above over an array, so that its accuracy can be tested. */
void ember_exp_nonpositive_f32(const float *x, float *y, long n) {
    for (long j = 0; j < n; j++) y[j] = exp_nonpositive_f32(x[j]);
}
