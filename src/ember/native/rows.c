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

/* With AVX the row max is vectorized by hand (rows_impl.h, under VMAX): GCC will not turn
 * `x > m ? x : m` into vmaxps without -ffinite-math-only, and the scalar loop was a fifth of
 * a 64-wide softmax. Each type below names its vector type and intrinsics. */
#ifdef __AVX__
#include <immintrin.h>
#endif

#define T float
#define S f32
#define SQRT sqrtf
#define LOG logf
#define EXP_NONPOSITIVE exp_nonpositive_f32
#ifdef __AVX__
#define VEC __m256
#define VLANES 8
#define VSET1 _mm256_set1_ps
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VMAX _mm256_max_ps
#endif
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
#ifdef __AVX__
#define VEC __m256d
#define VLANES 4
#define VSET1 _mm256_set1_pd
#define VLOAD _mm256_loadu_pd
#define VSTORE _mm256_storeu_pd
#define VMAX _mm256_max_pd
#endif
#include "rows_impl.h"

/* The float32 exp above over an array, so that its accuracy can be tested. */
void ember_exp_nonpositive_f32(const float *x, float *y, long n) {
    for (long j = 0; j < n; j++) y[j] = exp_nonpositive_f32(x[j]);
}
