/* Direct 2-D convolution (stride 1, no dilation, no groups) over NCHW arrays that the caller
 * has already padded: the forward and the weight gradient, in float32 and float64. (The
 * input gradient is the forward of the padded output gradient with the flipped kernel:
 * ember/native/conv.py.)
 *
 * For few channels (LeNet-5's 1 -> 6 and 6 -> 16, 5x5) im2col + GEMM is mostly memory
 * traffic: the column buffer is C*kh*kw times the input, and a GEMM with 6 or 16 rows runs
 * far below the BLAS peak. Here a tile of OB output channels x NV vectors of an output plane
 * lives in registers while every kernel tap multiplies input vectors into it.
 *
 * An output plane is covered by "positions": vectors of `lanes` consecutive columns of one
 * row, the row's last one ending at its end (overlapping the one before when ow % lanes is
 * not 0: the forward computes those columns twice, with the same bits; the weight gradient
 * masks the repeated lanes). A tile takes NV positions, from any rows, so narrow planes
 * (LeNet-5's 8x8) still fill the registers.
 *
 * Shapes: x (n, c, hp, wp), w (o, c, kh, kw), out / g (n, o, oh, ow) with oh = hp - kh + 1
 * and ow = wp - kw + 1, ow >= lanes (callers check `ember_conv2d_direct_lanes`). Every sum
 * runs in a fixed order, so results do not depend on how a caller splits the work (samples
 * for the forward, rows of the weight gradient).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX__)
#include <immintrin.h>
#define VBYTES 32
#else
#define VBYTES 16
#endif
typedef float v_f32 __attribute__((vector_size(VBYTES)));
typedef double v_f64 __attribute__((vector_size(VBYTES)));
typedef int32_t m_f32 __attribute__((vector_size(VBYTES)));
typedef int64_t m_f64 __attribute__((vector_size(VBYTES)));

/* fused multiply-adds where the CPU has them (the build turns off implicit contraction) */
#if defined(__FMA__) && VBYTES == 32
#define VFMA_f32(a, b, c) ((v_f32)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define VFMA_f64(a, b, c) ((v_f64)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#else
#define VFMA_f32(a, b, c) ((a) * (b) + (c))
#define VFMA_f64(a, b, c) ((a) * (b) + (c))
#endif

/* unaligned loads and stores by value and a broadcast, so that tiles stay in registers */
#define DEFINE_VECTOR_HELPERS(T, S)                                                        \
    static inline v_##S load_##S(const T *p) {                                             \
        v_##S v;                                                                           \
        memcpy(&v, p, sizeof v);                                                           \
        return v;                                                                          \
    }                                                                                      \
    static inline void store_##S(T *p, v_##S v) { memcpy(p, &v, sizeof v); }              \
    static inline v_##S broadcast_##S(T x) {                                               \
        v_##S v;                                                                           \
        for (unsigned j = 0; j < VBYTES / sizeof(T); j++) v[j] = x;                        \
        return v;                                                                          \
    }
DEFINE_VECTOR_HELPERS(float, f32)
DEFINE_VECTOR_HELPERS(double, f64)
#if VBYTES == 32 /* GCC builds the loop's broadcast element by element */
#define splat_f32(x) ((v_f32)_mm256_set1_ps(x))
#define splat_f64(x) ((v_f64)_mm256_set1_pd(x))
#else
#define splat_f32 broadcast_f32
#define splat_f64 broadcast_f64
#endif

#define OB_MAX 4 /* output channels per tile */
#define NV_MAX 3 /* positions per tile: OB_MAX * NV_MAX accumulators */

/* The positions of an (oh, ow) plane read from a (.., wp) one: offsets into the input plane
 * (px) and the output plane (po), and each one's mask of lanes not covered before. */
#define DEFINE_POSITIONS(T, S)                                                             \
    static long positions_##S(long oh, long ow, long wp, long *px, long *po, m_##S *mask) { \
        enum { L = VBYTES / sizeof(T) };                                                    \
        long per_row = (ow + L - 1) / L, p = 0;                                             \
        for (long oy = 0; oy < oh; oy++)                                                    \
            for (long v = 0; v < per_row; v++, p++) {                                       \
                long ox = v * L < ow - L ? v * L : ow - L;                                  \
                long fresh = v * L - ox; /* lanes that the previous position covered */     \
                px[p] = oy * wp + ox;                                                       \
                po[p] = oy * ow + ox;                                                       \
                for (int j = 0; j < L; j++) mask[p][j] = j >= fresh ? -1 : 0;               \
            }                                                                               \
        return p;                                                                           \
    }

/* One forward tile: out[ob, position v] for ob < OB, v < NV. x points at the sample, w and
 * b at the tile's first output channel, out at its plane. */
#define DEFINE_FORWARD_TILE(T, S, OB, NV)                                                  \
    static void fwd_##S##_##OB##_##NV(const T *x, const T *w, const T *b, T *out, long c,  \
                                      long hp, long wp, long kh, long kw, long plane,       \
                                      const long *px, const long *po) {                     \
        v_##S acc[OB][NV];                                                                  \
        long wstride = c * kh * kw;                                                         \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int v = 0; v < NV; v++) acc[ob][v] = splat_##S(b ? b[ob] : (T)0);          \
        for (long ci = 0; ci < c; ci++)                                                     \
            for (long ky = 0; ky < kh; ky++) {                                              \
                const T *src = x + (ci * hp + ky) * wp;                                     \
                const T *wr = w + (ci * kh + ky) * kw;                                      \
                for (long kx = 0; kx < kw; kx++) {                                          \
                    v_##S xv[NV];                                                           \
                    for (int v = 0; v < NV; v++) xv[v] = load_##S(src + px[v] + kx);        \
                    for (int ob = 0; ob < OB; ob++) {                                       \
                        v_##S wv = splat_##S(wr[ob * wstride + kx]);                        \
                        for (int v = 0; v < NV; v++)                                        \
                            acc[ob][v] = VFMA_##S(wv, xv[v], acc[ob][v]);                   \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int v = 0; v < NV; v++) store_##S(out + ob * plane + po[v], acc[ob][v]);   \
    }

/* One weight-gradient tile of one sample: acc[ob][v] (OB_MAX x NV_MAX vectors in memory,
 * the tap's running sums) += g[ob] * x over the positions [0, np), NV at a time, then one
 * at a time. g points at the tile's first output channel; x at input channel ci, row ky,
 * column kx. */
#define DEFINE_WEIGHT_TILE(T, S, OB, NV)                                                   \
    static void wgt_##S##_##OB##_##NV(const T *x, const T *g, v_##S *sums, long plane,     \
                                      long np, const long *px, const long *po,              \
                                      const m_##S *mask) {                                  \
        v_##S acc[OB][NV];                                                                  \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int v = 0; v < NV; v++) acc[ob][v] = sums[ob * NV_MAX + v];                \
        long groups = np / NV;                                                              \
        for (long p = 0; p < groups * NV; p += NV) {                                        \
            v_##S xv[NV];                                                                   \
            for (int v = 0; v < NV; v++) /* masked: no 0 * inf from repeated lanes */       \
                xv[v] = (v_##S)((m_##S)load_##S(x + px[p + v]) & mask[p + v]);             \
            for (int ob = 0; ob < OB; ob++)                                                 \
                for (int v = 0; v < NV; v++) {                                              \
                    v_##S gv =                                                              \
                        (v_##S)((m_##S)load_##S(g + ob * plane + po[p + v]) & mask[p + v]); \
                    acc[ob][v] = VFMA_##S(gv, xv[v], acc[ob][v]);                           \
                }                                                                           \
        }                                                                                   \
        for (long p = groups * NV; p < np; p++) {                                           \
            v_##S xv = (v_##S)((m_##S)load_##S(x + px[p]) & mask[p]);                      \
            for (int ob = 0; ob < OB; ob++) {                                               \
                v_##S gv = (v_##S)((m_##S)load_##S(g + ob * plane + po[p]) & mask[p]);     \
                acc[ob][0] = VFMA_##S(gv, xv, acc[ob][0]);                                  \
            }                                                                               \
        }                                                                                   \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int v = 0; v < NV; v++) sums[ob * NV_MAX + v] = acc[ob][v];                \
    }

/* The weight gradient of a whole kernel row at once for kernels 3, 5 or 7 wide: OB output
 * channels x KW taps of accumulators, so that each position's gradient vectors are loaded
 * once for all KW taps (the tap tile above loads them once per tap). sums points at the
 * row's tap kx = 0 block of the first channel; tap kx's is TAP vectors further. */
#define DEFINE_WEIGHT_ROW_TILE(T, S, OB, KW)                                               \
    static void wrow_##S##_##OB##_##KW(const T *x, const T *g, v_##S *sums, long plane,    \
                                       long np, const long *px, const long *po,             \
                                       const m_##S *mask) {                                 \
        enum { TAP = OB_MAX * NV_MAX };                                                     \
        v_##S acc[OB][KW];                                                                  \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int kx = 0; kx < KW; kx++) acc[ob][kx] = sums[kx * TAP + ob * NV_MAX];     \
        for (long p = 0; p < np; p++) {                                                     \
            m_##S m = mask[p];                                                              \
            v_##S xv[KW];                                                                   \
            for (int kx = 0; kx < KW; kx++)                                                 \
                xv[kx] = (v_##S)((m_##S)load_##S(x + px[p] + kx) & m);                     \
            for (int ob = 0; ob < OB; ob++) {                                               \
                v_##S gv = (v_##S)((m_##S)load_##S(g + ob * plane + po[p]) & m);           \
                for (int kx = 0; kx < KW; kx++)                                             \
                    acc[ob][kx] = VFMA_##S(gv, xv[kx], acc[ob][kx]);                        \
            }                                                                               \
        }                                                                                   \
        for (int ob = 0; ob < OB; ob++)                                                     \
            for (int kx = 0; kx < KW; kx++) sums[kx * TAP + ob * NV_MAX] = acc[ob][kx];     \
    }

/* channels per row tile by kernel width: at most 12 accumulators (0: no row tile) */
static const int WROW_CHANNELS[8] = {[3] = 4, [5] = 2, [7] = 1};

#define DEFINE_TILES(T, S, OB)                                                             \
    DEFINE_FORWARD_TILE(T, S, OB, 1)                                                       \
    DEFINE_FORWARD_TILE(T, S, OB, 2)                                                       \
    DEFINE_FORWARD_TILE(T, S, OB, 3)                                                       \
    DEFINE_WEIGHT_TILE(T, S, OB, 3)

#define DEFINE_CONV(T, S)                                                                  \
    DEFINE_POSITIONS(T, S)                                                                 \
    DEFINE_TILES(T, S, 1)                                                                  \
    DEFINE_TILES(T, S, 2)                                                                  \
    DEFINE_TILES(T, S, 3)                                                                  \
    DEFINE_TILES(T, S, 4)                                                                  \
    DEFINE_WEIGHT_ROW_TILE(T, S, 1, 3)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 2, 3)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 3, 3)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 4, 3)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 1, 5)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 2, 5)                                                     \
    DEFINE_WEIGHT_ROW_TILE(T, S, 1, 7)                                                     \
    typedef void (*fwd_tile_##S)(const T *, const T *, const T *, T *, long, long, long,   \
                                 long, long, long, const long *, const long *);            \
    typedef void (*wgt_tile_##S)(const T *, const T *, v_##S *, long, long, const long *,  \
                                 const long *, const m_##S *);                             \
    static const fwd_tile_##S FWD_##S[OB_MAX][NV_MAX] = {                                  \
        {fwd_##S##_1_1, fwd_##S##_1_2, fwd_##S##_1_3},                                     \
        {fwd_##S##_2_1, fwd_##S##_2_2, fwd_##S##_2_3},                                     \
        {fwd_##S##_3_1, fwd_##S##_3_2, fwd_##S##_3_3},                                     \
        {fwd_##S##_4_1, fwd_##S##_4_2, fwd_##S##_4_3}};                                    \
    static const wgt_tile_##S WGT_##S[OB_MAX] = {wgt_##S##_1_3, wgt_##S##_2_3,             \
                                                 wgt_##S##_3_3, wgt_##S##_4_3};            \
    /* row tiles by kernel width (3, 5, 7) and channel count */                            \
    static const wgt_tile_##S WROW_##S[8][OB_MAX] = {                                      \
        [3] = {wrow_##S##_1_3, wrow_##S##_2_3, wrow_##S##_3_3, wrow_##S##_4_3},            \
        [5] = {wrow_##S##_1_5, wrow_##S##_2_5},                                            \
        [7] = {wrow_##S##_1_7}};                                                           \
                                                                                            \
    /* out = b + the cross-correlation of x with w, for samples [0, n); returns -1 when     \
     * out of memory for the positions (nothing written) */                                 \
    int ember_conv2d_direct_##S(const T *x, const T *w, const T *b, T *out, long n, long c, \
                                long hp, long wp, long o, long kh, long kw) {               \
        long oh = hp - kh + 1, ow = wp - kw + 1, k = c * kh * kw, plane = oh * ow;          \
        long cap = oh * ((ow + VBYTES / sizeof(T) - 1) / (VBYTES / sizeof(T)));             \
        long *px = malloc(2 * cap * sizeof(long));                                          \
        m_##S *mask = aligned_alloc(VBYTES, cap * sizeof(m_##S)); /* vector alignment */  \
        if (!px || !mask) {                                                                 \
            free(px);                                                                       \
            free(mask);                                                                     \
            return -1;                                                                      \
        }                                                                                   \
        long *po = px + cap, np = positions_##S(oh, ow, wp, px, po, mask);                  \
        for (long s = 0; s < n; s++) {                                                      \
            const T *xs = x + s * c * hp * wp;                                              \
            for (long oc = 0; oc < o; oc += OB_MAX) {                                       \
                long ob = o - oc < OB_MAX ? o - oc : OB_MAX;                                \
                T *os = out + (s * o + oc) * plane;                                         \
                for (long p = 0; p < np; p += NV_MAX) {                                     \
                    long nv = np - p < NV_MAX ? np - p : NV_MAX;                            \
                    FWD_##S[ob - 1][nv - 1](xs, w + oc * k, b ? b + oc : 0, os, c, hp, wp,  \
                                            kh, kw, plane, px + p, po + p);                 \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        free(px);                                                                           \
        free(mask);                                                                         \
        return 0;                                                                           \
    }                                                                                       \
                                                                                            \
    /* gw[oc, ci, ky, kx] = sum over samples and output positions of g[oc] * x[ci] at the  \
     * tap, for the weight rows r = (oc / OB_MAX, ci, ky) in [r0, r1): whole rows of gw    \
     * per OB_MAX output channels, so callers split them across threads. Chunks of samples \
     * are the outer loop, so each is read once while its planes are in cache; a chunk's   \
     * positions span its samples (small planes: fewer, longer tile calls). -1: no memory */ \
    int ember_conv2d_direct_weight_grad_##S(const T *x, const T *g, T *gw, long n, long c, \
                                            long hp, long wp, long o, long kh, long kw,    \
                                            long r0, long r1) {                             \
        enum { L = VBYTES / sizeof(T), TAP = OB_MAX * NV_MAX, CHUNK_POSITIONS = 96 };       \
        long oh = hp - kh + 1, ow = wp - kw + 1, k = c * kh * kw, plane = oh * ow;          \
        long per_plane = oh * ((ow + L - 1) / L), taps = (r1 - r0) * kw;                    \
        long chunk = CHUNK_POSITIONS / per_plane;                                           \
        chunk = chunk < 1 ? 1 : chunk > n ? (n ? n : 1) : chunk;                            \
        long cap = chunk * per_plane;                                                       \
        long *px = malloc(2 * cap * sizeof(long));                                          \
        m_##S *mask = aligned_alloc(VBYTES, cap * sizeof(m_##S)); /* vector alignment */  \
        v_##S *sums = aligned_alloc(VBYTES, (taps ? taps : 1) * TAP * sizeof(v_##S));      \
        if (!px || !mask || !sums) {                                                        \
            free(px);                                                                       \
            free(mask);                                                                     \
            free(sums);                                                                     \
            return -1;                                                                      \
        }                                                                                   \
        memset(sums, 0, taps * TAP * sizeof(v_##S));                                        \
        long *po = px + cap;                                                                \
        positions_##S(oh, ow, wp, px, po, mask);                                            \
        for (long m = 1; m < chunk; m++) /* the next samples' positions: offset copies */  \
            for (long p = 0; p < per_plane; p++) {                                          \
                px[m * per_plane + p] = px[p] + m * c * hp * wp;                            \
                po[m * per_plane + p] = po[p] + m * o * plane;                              \
                mask[m * per_plane + p] = mask[p];                                          \
            }                                                                               \
        for (long s = 0; s < n; s += chunk) {                                               \
            long np = (n - s < chunk ? n - s : chunk) * per_plane;                          \
            for (long r = r0; r < r1; r++) {                                                \
                long oc = r / (c * kh) * OB_MAX, ci = r / kh % c, ky = r % kh;              \
                long ob = o - oc < OB_MAX ? o - oc : OB_MAX;                                \
                const T *xr = x + ((s * c + ci) * hp + ky) * wp;                            \
                const T *gr = g + (s * o + oc) * plane;                                     \
                v_##S *row = sums + (r - r0) * kw * TAP;                                    \
                int per = kw < 8 ? WROW_CHANNELS[kw] : 0;                                   \
                if (per) /* the whole kernel row, per channels at a time */                 \
                    for (long q = 0; q < ob; q += per)                                      \
                        WROW_##S[kw][(ob - q < per ? ob - q : per) - 1](                    \
                            xr, gr + q * plane, row + q * NV_MAX, plane, np, px, po, mask); \
                else                                                                        \
                    for (long kx = 0; kx < kw; kx++)                                        \
                        WGT_##S[ob - 1](xr + kx, gr, row + kx * TAP, plane, np, px, po,     \
                                        mask);                                              \
            }                                                                               \
        }                                                                                   \
        for (long r = r0; r < r1; r++) {                                                    \
            long oc = r / (c * kh) * OB_MAX, ci = r / kh % c, ky = r % kh;                  \
            long ob = o - oc < OB_MAX ? o - oc : OB_MAX;                                    \
            for (long kx = 0; kx < kw; kx++)                                                \
                for (long q = 0; q < ob; q++) {                                             \
                    const v_##S *acc = sums + ((r - r0) * kw + kx) * TAP + q * NV_MAX;      \
                    T sum = 0;                                                              \
                    for (int v = 0; v < NV_MAX; v++)                                        \
                        for (int j = 0; j < L; j++) sum += acc[v][j];                       \
                    gw[(oc + q) * k + (ci * kh + ky) * kw + kx] = sum;                      \
                }                                                                           \
        }                                                                                   \
        free(px);                                                                           \
        free(mask);                                                                         \
        free(sums);                                                                         \
        return 0;                                                                           \
    }

DEFINE_CONV(float, f32)
DEFINE_CONV(double, f64)

/* Elements per vector: the narrowest output row the kernels take. */
long ember_conv2d_direct_lanes(long itemsize) { return VBYTES / itemsize; }
