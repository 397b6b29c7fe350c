/* Branch-free selects over contiguous arrays, on the bit patterns of 2-, 4- or 8-byte
 * elements (so exact for every float: NaN, inf, -0.0). A NumPy select needs two or three
 * passes (mask, and, or) or np.where's mispredicted branches; these take one.
 *
 * cond is a NumPy bool array (bytes 0 or 1). */
#include <stdint.h>

#define DEFINE_SELECTS(U, S)                                                                \
    /* out = cond ? a : b */                                                                \
    void ember_select_##S(const uint8_t *restrict cond, const U *restrict a,               \
                          const U *restrict b, U *out, long n) {                            \
        for (long i = 0; i < n; i++) {                                                      \
            U m = (U)0 - (U)(cond[i] != 0);                                                 \
            out[i] = (a[i] & m) | (b[i] & ~m);                                              \
        }                                                                                   \
    }                                                                                       \
    /* out = cond == keep ? v : 0 (keep is 0 or 1) */                                       \
    void ember_select_zero_##S(const uint8_t *restrict cond, const U *v, U *out, long n,   \
                               long keep) {                                                 \
        for (long i = 0; i < n; i++) {                                                      \
            U m = (U)0 - (U)((cond[i] != 0) == (keep != 0));                                \
            out[i] = v[i] & m;                                                              \
        }                                                                                   \
    }

/* the same, called through ember.native.call: d = (rows, cols[, keep]) */
#define DEFINE_PACKED_SELECTS(U, S)                                                         \
    int ember_select_packed_##S(const long *d, void *const *p) {                            \
        ember_select_##S(p[0], p[1], p[2], p[3], d[0] * d[1]);                              \
        return 0;                                                                           \
    }                                                                                       \
    int ember_select_zero_packed_##S(const long *d, void *const *p) {                       \
        ember_select_zero_##S(p[0], p[1], p[2], d[0] * d[1], d[2]);                         \
        return 0;                                                                           \
    }

DEFINE_SELECTS(uint16_t, u16)
DEFINE_SELECTS(uint32_t, u32)
DEFINE_SELECTS(uint64_t, u64)
DEFINE_PACKED_SELECTS(uint16_t, u16)
DEFINE_PACKED_SELECTS(uint32_t, u32)
DEFINE_PACKED_SELECTS(uint64_t, u64)
