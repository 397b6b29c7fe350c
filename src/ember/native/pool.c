/* 2x2 max pooling with stride 2 (MaxPool2d(2), most of the max pooling there is), forward
 * and backward, over contiguous (planes, h, w) arrays in float32 and float64. NumPy needs
 * a pass per window offset (three per offset for the gradient); these read the input once,
 * branch-free. Selection only: every result is one of the inputs' values. Rows and columns
 * past 2 * (oh, ow) are not read (gradient: zero).
 *
 * With AVX2, float32 rows go four windows (eight input columns) per step in explicit
 * 256-bit code. Left to the auto-vectorizer, GCC 12's -march=native on this Zen CPU makes
 * 16-window AVX-512 loops: rows of LeNet's 12 or 4 windows never reach them and ran the
 * branchy scalar remainder: 600 us for a (64, 6, 24, 24) gradient that takes 40 us here.
 * The scalar code below handles float64, row tails and machines without AVX2, with the
 * same rules, so the two paths give the same bits.
 */
#include <string.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* One row of windows, from window j0 on: m = the maximum of each window (NaN wins, as with
 * np.maximum); and the gradient, g at the first position (row-major) of each window equal
 * to its maximum, zero elsewhere. */
#define DEFINE_POOL_ROWS(T, S)                                                              \
    static void pool_row_##S(const T *r0, const T *r1, T *mr, long j0, long ow) {          \
        for (long oj = j0; oj < ow; oj++) {                                                 \
            T a0 = r0[2 * oj], a1 = r0[2 * oj + 1];                                         \
            T b0 = r1[2 * oj], b1 = r1[2 * oj + 1];                                         \
            T a = a1 > a0 ? a1 : a0, b = b1 > b0 ? b1 : b0;                                 \
            int nan = (a0 != a0) | (a1 != a1) | (b0 != b0) | (b1 != b1);                    \
            /* a sum with a NaN in it is NaN (a branch-free NaN rule) */                    \
            mr[oj] = nan ? a0 + a1 + b0 + b1 : (b > a ? b : a);                             \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    static void grad_row_##S(const T *r0, const T *r1, const T *mr, const T *gr, T *q0,    \
                             T *q1, long j0, long ow) {                                     \
        for (long oj = j0; oj < ow; oj++) {                                                 \
            T best = mr[oj], v = gr[oj];                                                    \
            int h0 = r0[2 * oj] == best;                                                    \
            int h1 = !h0 & (r0[2 * oj + 1] == best);                                        \
            int h2 = !(h0 | h1) & (r1[2 * oj] == best);                                     \
            int h3 = !(h0 | h1 | h2) & (r1[2 * oj + 1] == best);                            \
            q0[2 * oj] = h0 ? v : (T)0;                                                     \
            q0[2 * oj + 1] = h1 ? v : (T)0;                                                 \
            q1[2 * oj] = h2 ? v : (T)0;                                                     \
            q1[2 * oj + 1] = h3 ? v : (T)0;                                                 \
        }                                                                                   \
    }

DEFINE_POOL_ROWS(float, f32)
DEFINE_POOL_ROWS(double, f64)

#ifdef __AVX2__
/* Four windows per step. Lanes hold input columns 2j, 2j+1 of windows j..j+3; a window's
 * maximum and gradient are spread over its two lanes. */
static long pool_row4_f32(const float *r0, const float *r1, float *mr, long ow) {
    const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    long oj = 0;
    for (; oj + 4 <= ow; oj += 4) {
        __m256 x0 = _mm256_loadu_ps(r0 + 2 * oj), x1 = _mm256_loadu_ps(r1 + 2 * oj);
        __m256 s0 = _mm256_permute_ps(x0, 0xB1), s1 = _mm256_permute_ps(x1, 0xB1);
        /* even lanes: a = a1 > a0 ? a1 : a0 (maxps returns its second operand unless the
         * first is greater), b likewise, then b > a ? b : a */
        __m256 best = _mm256_max_ps(_mm256_max_ps(s1, x1), _mm256_max_ps(s0, x0));
        __m256 nan = _mm256_or_ps(_mm256_cmp_ps(x0, s0, _CMP_UNORD_Q),
                                  _mm256_cmp_ps(x1, s1, _CMP_UNORD_Q));
        __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, s0), x1), s1);
        __m256 m = _mm256_permutevar8x32_ps(_mm256_blendv_ps(best, sum, nan), evens);
        _mm_storeu_ps(mr + oj, _mm256_castps256_ps128(m));
    }
    return oj;
}

static long grad_row4_f32(const float *r0, const float *r1, const float *mr, const float *gr,
                          float *q0, float *q1, long ow) {
    const __m256i pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 odd = _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1));
    long oj = 0;
    for (; oj + 4 <= ow; oj += 4) {
        __m256 best = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(mr + oj)),
                                               pairs);
        __m256 g = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(gr + oj)),
                                            pairs);
        __m256 e0 = _mm256_cmp_ps(_mm256_loadu_ps(r0 + 2 * oj), best, _CMP_EQ_OQ);
        __m256 e1 = _mm256_cmp_ps(_mm256_loadu_ps(r1 + 2 * oj), best, _CMP_EQ_OQ);
        /* a position loses to an earlier hit: in its row's left column, or anywhere in the
         * top row for the bottom one */
        __m256 left0 = _mm256_and_ps(_mm256_moveldup_ps(e0), odd);
        __m256 top = _mm256_or_ps(_mm256_moveldup_ps(e0), _mm256_movehdup_ps(e0));
        __m256 left1 = _mm256_and_ps(_mm256_moveldup_ps(e1), odd);
        __m256 h0 = _mm256_andnot_ps(left0, e0);
        __m256 h1 = _mm256_andnot_ps(_mm256_or_ps(top, left1), e1);
        _mm256_storeu_ps(q0 + 2 * oj, _mm256_and_ps(h0, g));
        _mm256_storeu_ps(q1 + 2 * oj, _mm256_and_ps(h1, g));
    }
    return oj;
}
#define POOL_ROW4_f32 pool_row4_f32
#define GRAD_ROW4_f32 grad_row4_f32
#else
#define POOL_ROW4_f32(...) 0L
#define GRAD_ROW4_f32(...) 0L
#endif
/* float64 rows have no vector part: every window goes through the scalar row */
#define POOL_ROW4_f64(...) 0L
#define GRAD_ROW4_f64(...) 0L

#define DEFINE_POOL_2X2(T, S)                                                               \
    void ember_max_pool_2x2_##S(const T *x, T *m, long planes, long h, long w, long oh,   \
                                long ow) {                                                  \
        for (long p = 0; p < planes; p++)                                                   \
            for (long oi = 0; oi < oh; oi++) {                                              \
                const T *r0 = x + (p * h + 2 * oi) * w, *r1 = r0 + w;                       \
                T *mr = m + (p * oh + oi) * ow;                                             \
                pool_row_##S(r0, r1, mr, POOL_ROW4_##S(r0, r1, mr, ow), ow);                \
            }                                                                               \
    }                                                                                       \
                                                                                            \
    /* windows whose maximum is NaN are the caller's to handle */                          \
    void ember_max_pool_2x2_grad_##S(const T *g, const T *x, const T *m, T *gx,            \
                                     long planes, long h, long w, long oh, long ow) {      \
        if (2 * oh != h || 2 * ow != w) memset(gx, 0, sizeof(T) * planes * h * w);          \
        for (long p = 0; p < planes; p++)                                                   \
            for (long oi = 0; oi < oh; oi++) {                                              \
                const T *r0 = x + (p * h + 2 * oi) * w, *r1 = r0 + w;                       \
                T *q0 = gx + (p * h + 2 * oi) * w, *q1 = q0 + w;                            \
                const T *mr = m + (p * oh + oi) * ow, *gr = g + (p * oh + oi) * ow;         \
                long j0 = GRAD_ROW4_##S(r0, r1, mr, gr, q0, q1, ow);                        \
                grad_row_##S(r0, r1, mr, gr, q0, q1, j0, ow);                               \
            }                                                                               \
    }

DEFINE_POOL_2X2(float, f32)
DEFINE_POOL_2X2(double, f64)
