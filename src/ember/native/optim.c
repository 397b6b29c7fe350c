/* Optimizer updates in one pass over memory: SGD (momentum, dampening, Nesterov) and Adam
 * (with amsgrad), for contiguous float32/float64 parameters.
 *
 * NumPy runs PyTorch's update formula as one pass per operation (Adam is eleven); these
 * loops do the same IEEE operations, in the same order and in the same precision, per
 * element, so their results are the NumPy path's bit for bit. That needs the build's
 * -ffp-contract=off: a fused multiply-add would round once where NumPy rounds twice. The
 * hyper-parameters arrive as doubles (Python floats) and are rounded to T first, as NumPy
 * does with a Python scalar in an operation with a float32 array.
 *
 * Weight decay and maximize are applied to the gradient by the caller (ember/optim), which
 * then calls these on the result.
 */
#include <math.h>
#include <string.h>

#define SGD_MOMENTUM 1 /* keep a momentum buffer */
#define SGD_FIRST 2    /* the buffer starts as a copy of the gradient */
#define SGD_DAMPENING 4
#define SGD_NESTEROV 8

#define DEFINE_OPTIM(T, S)                                                                  \
    /* buf = momentum * buf + (1 - dampening) * g (or g itself on the first step);          \
     * d = g + momentum * buf (Nesterov) or buf; p -= lr * d. Without SGD_MOMENTUM,          \
     * p -= lr * g and buf is unused. */                                                    \
    void ember_sgd_step_##S(T *restrict p, const T *restrict g, T *restrict buf, long n,    \
                            double lr_, double momentum_, double one_minus_damp_,          \
                            long flags) {                                                   \
        const T lr = (T)lr_, mom = (T)momentum_, keep = (T)one_minus_damp_;                 \
        if (!(flags & SGD_MOMENTUM)) {                                                      \
            for (long i = 0; i < n; i++) p[i] -= lr * g[i];                                 \
            return;                                                                         \
        }                                                                                   \
        for (long i = 0; i < n; i++) {                                                      \
            T b;                                                                            \
            if (flags & SGD_FIRST)                                                          \
                b = g[i];                                                                   \
            else if (flags & SGD_DAMPENING)                                                 \
                b = buf[i] * mom + keep * g[i];                                             \
            else                                                                            \
                b = buf[i] * mom + g[i];                                                    \
            buf[i] = b;                                                                     \
            T d = (flags & SGD_NESTEROV) ? g[i] + mom * b : b;                              \
            p[i] -= lr * d;                                                                 \
        }                                                                                   \
    }                                                                                       \
    /* m += (1 - b1) * (g - m); v = b2 * v + (1 - b2) * g * g; with vmax (amsgrad)          \
     * vmax = max(vmax, v) and v := vmax below; p -= step_size * (m / (sqrt(v) / bc2 + eps)). \
     * max propagates NaN, as np.maximum does. */                                           \
    void ember_adam_step_##S(T *restrict p, const T *restrict g, T *restrict m,             \
                             T *restrict v, T *restrict vmax, long n, double one_minus_b1_, \
                             double b2_, double one_minus_b2_, double bc2_sqrt_,            \
                             double eps_, double step_size_) {                              \
        const T c1 = (T)one_minus_b1_, b2 = (T)b2_, c2 = (T)one_minus_b2_;                  \
        const T bc2 = (T)bc2_sqrt_, eps = (T)eps_, step = (T)step_size_;                    \
        for (long i = 0; i < n; i++) {                                                      \
            T gi = g[i];                                                                    \
            T mi = m[i] + (gi - m[i]) * c1;                                                 \
            T vi = v[i] * b2 + (gi * gi) * c2;                                              \
            m[i] = mi;                                                                      \
            v[i] = vi;                                                                      \
            if (vmax) {                                                                     \
                T x = vmax[i];                                                              \
                vi = (x >= vi || x != x) ? x : vi;                                          \
                vmax[i] = vi;                                                               \
            }                                                                               \
            T denom = SQRT(vi) / bc2 + eps;                                                 \
            p[i] -= (mi / denom) * step;                                                    \
        }                                                                                   \
    }

/* The same updates called through ember.native.call (call.c): d = (1, n, then the scalar
 * arguments, doubles as their bits), p = (param, grad, buf) or (param, grad, m, v[, vmax]).
 * They decline (return 1) a gradient that shares memory with the parameter: the loops
 * above assume it does not (restrict). */
#define SHARES(a, b, n, T)                                                                     \
    ((const char *)(a) < (const char *)((const T *)(b) + (n)) &&                               \
     (const char *)(b) < (const char *)((const T *)(a) + (n)))
static double slot_double(const long *slot) {
    double x;
    memcpy(&x, slot, sizeof x);
    return x;
}

#define DEFINE_PACKED(T, S)                                                                    \
    int ember_sgd_step_packed_##S(const long *d, void *const *p) {                             \
        if (SHARES(p[0], p[1], d[1], T)) return 1;                                             \
        T *buf = (d[5] & SGD_MOMENTUM) ? p[2] : NULL; /* (no buffer passed without) */      \
        ember_sgd_step_##S(p[0], p[1], buf, d[1], slot_double(d + 2), slot_double(d + 3),      \
                           slot_double(d + 4), d[5]);                                           \
        return 0;                                                                              \
    }                                                                                          \
    int ember_adam_step_packed_##S(const long *d, void *const *p) {                            \
        if (SHARES(p[0], p[1], d[1], T)) return 1;                                             \
        ember_adam_step_##S(p[0], p[1], p[2], p[3], NULL, d[1], slot_double(d + 2),             \
                            slot_double(d + 3), slot_double(d + 4), slot_double(d + 5),         \
                            slot_double(d + 6), slot_double(d + 7));                            \
        return 0;                                                                              \
    }                                                                                          \
    int ember_amsgrad_step_packed_##S(const long *d, void *const *p) {                         \
        if (SHARES(p[0], p[1], d[1], T)) return 1;                                             \
        ember_adam_step_##S(p[0], p[1], p[2], p[3], p[4], d[1], slot_double(d + 2),             \
                            slot_double(d + 3), slot_double(d + 4), slot_double(d + 5),         \
                            slot_double(d + 6), slot_double(d + 7));                            \
        return 0;                                                                              \
    }

#define SQRT sqrtf
DEFINE_OPTIM(float, f32)
#undef SQRT
#define SQRT sqrt
DEFINE_OPTIM(double, f64)
#undef SQRT
DEFINE_PACKED(float, f32)
DEFINE_PACKED(double, f64)
