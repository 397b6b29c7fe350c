/* Elementwise kernels of ember's native layer that NumPy needs several passes for.
 *
 * ember.sigmoid in float32 is five NumPy passes (negate, clamp, exp, add, divide) and five
 * ufunc calls on a tiny tensor; here it is one loop over the vectorized sigmoid_f32 of
 * fastmath.h (within 3 ulp of float64, the same function the native LSTM step uses).
 *
 * Built and loaded by ember/native/build.py; ember/native/__init__.py declares the ctypes
 * signatures and ember/native/pointwise.py wraps them.
 */
#include "fastmath.h"

void ember_sigmoid_f32(const float *x, float *y, long n) {
    for (long j = 0; j < n; j++) y[j] = sigmoid_f32(x[j]);
}
