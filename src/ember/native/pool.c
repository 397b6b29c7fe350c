/* 2x2 max pooling with stride 2 (MaxPool2d(2), most of the max pooling there is), forward
 * and backward, over contiguous (planes, h, w) arrays in float32 and float64. NumPy needs
 * a pass per window offset (three per offset for the gradient); these read the input once,
 * branch-free, in loops the compiler vectorizes. Selection only: every result is one of
 * the inputs' values. Rows and columns past 2 * (oh, ow) are not read (gradient: zero).
 */
#include <string.h>

#define DEFINE_POOL_2X2(T, S)                                                               \
    /* m = the maximum of each window; NaN wins, as with np.maximum */                      \
    void ember_max_pool_2x2_##S(const T *x, T *m, long planes, long h, long w, long oh,   \
                                long ow) {                                                  \
        for (long p = 0; p < planes; p++)                                                   \
            for (long oi = 0; oi < oh; oi++) {                                              \
                const T *r0 = x + (p * h + 2 * oi) * w, *r1 = r0 + w;                       \
                T *mr = m + (p * oh + oi) * ow;                                             \
                for (long oj = 0; oj < ow; oj++) {                                          \
                    T a0 = r0[2 * oj], a1 = r0[2 * oj + 1];                                 \
                    T b0 = r1[2 * oj], b1 = r1[2 * oj + 1];                                 \
                    T a = a1 > a0 ? a1 : a0, b = b1 > b0 ? b1 : b0;                         \
                    int nan = (a0 != a0) | (a1 != a1) | (b0 != b0) | (b1 != b1);            \
                    /* a sum with a NaN in it is NaN (a branch-free NaN rule) */            \
                    mr[oj] = nan ? a0 + a1 + b0 + b1 : (b > a ? b : a);                     \
                }                                                                           \
            }                                                                               \
    }                                                                                       \
                                                                                            \
    /* gx = g at the first position (row-major) of each window equal to its maximum m,     \
     * zero elsewhere; windows whose maximum is NaN are the caller's to handle */           \
    void ember_max_pool_2x2_grad_##S(const T *g, const T *x, const T *m, T *gx,            \
                                     long planes, long h, long w, long oh, long ow) {      \
        if (2 * oh != h || 2 * ow != w) memset(gx, 0, sizeof(T) * planes * h * w);          \
        for (long p = 0; p < planes; p++)                                                   \
            for (long oi = 0; oi < oh; oi++) {                                              \
                const T *r0 = x + (p * h + 2 * oi) * w, *r1 = r0 + w;                       \
                T *q0 = gx + (p * h + 2 * oi) * w, *q1 = q0 + w;                            \
                const T *mr = m + (p * oh + oi) * ow, *gr = g + (p * oh + oi) * ow;         \
                for (long oj = 0; oj < ow; oj++) {                                          \
                    T best = mr[oj], v = gr[oj];                                            \
                    int h0 = r0[2 * oj] == best;                                            \
                    int h1 = !h0 & (r0[2 * oj + 1] == best);                                \
                    int h2 = !(h0 | h1) & (r1[2 * oj] == best);                             \
                    int h3 = !(h0 | h1 | h2) & (r1[2 * oj + 1] == best);                    \
                    q0[2 * oj] = h0 ? v : (T)0;                                             \
                    q0[2 * oj + 1] = h1 ? v : (T)0;                                         \
                    q1[2 * oj] = h2 ? v : (T)0;                                             \
                    q1[2 * oj + 1] = h3 ? v : (T)0;                                         \
                }                                                                           \
            }                                                                               \
    }

DEFINE_POOL_2X2(float, f32)
DEFINE_POOL_2X2(double, f64)
