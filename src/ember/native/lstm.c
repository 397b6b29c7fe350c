/* The gate arithmetic of one LSTM time step, forward and backward, for ember.ops.lstm.
 *
 * ember.ops.lstm runs the recurrence: per step one GEMM (NumPy's BLAS) and then everything
 * else here, in one pass over the step's (N, 4H) pre-activations. In NumPy the same step is
 * eleven passes, with a float32 exp and tanh that are scalar code on AVX2 machines; it was
 * two thirds of an LSTM training step. Float32 uses the vectorizable sigmoid and tanh of
 * fastmath.h (within 3 ulp), float64 the C library's exp and tanh.
 *
 * Layout (ember.ops.lstm's output): a step's block holds SLOTS = 7 (rows, h) arrays, `slot`
 * elements apart: h, c, tanh(c), and the activated gates i, f, g, o (PyTorch's order).
 * Pre-activations and their gradients are (rows, 4h), gate-major within a row. Rows are
 * independent, so a caller may split them over threads (pointers offset to the first row,
 * `slot` unchanged).
 */
#include "fastmath.h"

/* The arrays a step reads and writes never overlap, and every loop touches element j of
 * each: more pointers than GCC will check for overlap at run time, so it is told. */
#define IVDEP _Pragma("GCC ivdep")

static inline double sigmoid_f64(double x) {
    double e = exp(-fabs(x)); /* never overflows: see sigmoid_f32 */
    double s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

#define DEFINE_LSTM(T, S, SIGMOID, TANH)                                                    \
    /* gates = sigmoid/tanh(mm + proj); c = f c_prev + i g; h = o tanh(c) */              \
    void ember_lstm_step_##S(const T *mm, const T *proj, const T *c_prev, T *out,         \
                             long rows, long h, long slot) {                               \
        for (long r = 0; r < rows; r++) {                                                  \
            const T *m = mm + r * 4 * h, *p = proj + r * 4 * h, *cp = c_prev + r * h;      \
            T *hs = out + r * h, *cs = hs + slot, *tc = cs + slot;                          \
            T *gi = tc + slot, *gf = gi + slot, *gg = gf + slot, *go = gg + slot;          \
            for (long j = 0; j < h; j++) gi[j] = SIGMOID(m[j] + p[j]);                     \
            for (long j = 0; j < h; j++) gf[j] = SIGMOID(m[h + j] + p[h + j]);             \
            for (long j = 0; j < h; j++) gg[j] = TANH(m[2 * h + j] + p[2 * h + j]);        \
            for (long j = 0; j < h; j++) go[j] = SIGMOID(m[3 * h + j] + p[3 * h + j]);     \
            IVDEP for (long j = 0; j < h; j++) {                                            \
                T c = gf[j] * cp[j] + gi[j] * gg[j];                                        \
                T t = TANH(c);                                                              \
                cs[j] = c;                                                                  \
                tc[j] = t;                                                                  \
                hs[j] = go[j] * t;                                                          \
            }                                                                               \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    /* One step back: dh (the recurrent gradient, read) plus gh, dc (read and written)     \
     * plus gc (gh, gc: the step's outside gradients; zeros for none, since a NULL test    \
     * in the loop kept it scalar) give the pre-activations' gradient dproj (rows, 4h);    \
     * dc leaves as the previous step's. */                                                \
    void ember_lstm_step_grad_##S(const T *out, const T *c_prev, const T *gh, const T *gc, \
                                  const T *dh, T *dc, T *dproj, long rows, long h,         \
                                  long slot) {                                              \
        for (long r = 0; r < rows; r++) {                                                  \
            const T *tc = out + r * h + 2 * slot, *gi = tc + slot, *gf = gi + slot;         \
            const T *gg = gf + slot, *go = gg + slot, *cp = c_prev + r * h;                 \
            const T *dhr = dh + r * h, *ghr = gh + r * h, *gcr = gc + r * h;               \
            T *dcr = dc + r * h, *d = dproj + r * 4 * h;                                    \
            IVDEP for (long j = 0; j < h; j++) {                                            \
                T dhj = dhr[j] + ghr[j];                                                    \
                T dcj = dcr[j] + gcr[j];                                                    \
                T t = tc[j], i = gi[j], f = gf[j], g = gg[j], o = go[j];                    \
                dcj += dhj * ((1 - t * t) * o);                                             \
                d[j] = dcj * (((1 - i) * i) * g);                                           \
                d[h + j] = dcj * (((1 - f) * f) * cp[j]);                                   \
                d[2 * h + j] = dcj * ((1 - g * g) * i);                                     \
                d[3 * h + j] = dhj * (((1 - o) * o) * t);                                   \
                dcr[j] = dcj * f;                                                           \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_LSTM(float, f32, sigmoid_f32, tanh_f32)
DEFINE_LSTM(double, f64, sigmoid_f64, tanh)

/* The float32 tanh above over an array, so that its accuracy can be tested (the sigmoid
 * is ember_sigmoid_f32 in pointwise.c). */
void ember_tanh_f32(const float *x, float *y, long n) {
    for (long j = 0; j < n; j++) y[j] = tanh_f32(x[j]);
}
