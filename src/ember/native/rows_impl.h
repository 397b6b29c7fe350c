/* The row kernels for one element type: included by rows.c once per type with T (the C
 * type), S (its name suffix), SQRT and EXP_NONPOSITIVE defined, and with AVX the vector type
 * and intrinsics of the row max (VEC, VLANES, VSET1, VLOAD, VSTORE, VMAX). */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, S)

static inline T FN(sum_)(const T *restrict x, long n) {
    T acc[LANES] = {0};
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[j + k];
    T s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    for (; j < n; j++) s += x[j];
    return s;
}

static inline T FN(dot_)(const T *restrict x, const T *restrict y, long n) {
    T acc[LANES] = {0};
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[j + k] * y[j + k];
    T s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    for (; j < n; j++) s += x[j] * y[j];
    return s;
}

static inline T FN(dot3_)(const T *restrict x, const T *restrict y, const T *restrict z, long n) {
    T acc[LANES] = {0};
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[j + k] * y[j + k] * z[j + k];
    T s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    for (; j < n; j++) s += x[j] * y[j] * z[j];
    return s;
}

static inline T FN(sqdev_)(const T *restrict x, long n, T m) {
    T acc[LANES] = {0};
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) {
            T d = x[j + k] - m;
            acc[k] += d * d;
        }
    T s = 0;
    for (int k = 0; k < LANES; k++) s += acc[k];
    for (; j < n; j++) s += (x[j] - m) * (x[j] - m);
    return s;
}

#ifdef VMAX
/* vmaxps(x, m) returns m when x is NaN: NaNs are skipped as in the portable loop below */
static inline T FN(max_)(const T *restrict x, long n) {
    VEC a = VSET1(-INFINITY), b = a;
    long j = 0;
    for (; j + 2 * VLANES <= n; j += 2 * VLANES) {
        a = VMAX(VLOAD(x + j), a);
        b = VMAX(VLOAD(x + j + VLANES), b);
    }
    for (; j + VLANES <= n; j += VLANES) a = VMAX(VLOAD(x + j), a);
    T lanes[VLANES], m = -INFINITY;
    VSTORE(lanes, VMAX(a, b));
    for (int k = 0; k < VLANES; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}
#else
static inline T FN(max_)(const T *restrict x, long n) {
    T acc[LANES];
    for (int k = 0; k < LANES; k++) acc[k] = -INFINITY;
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
    T m = -INFINITY;
    for (int k = 0; k < LANES; k++) m = acc[k] > m ? acc[k] : m;
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m; /* NaNs are skipped here; they spread through the sums that follow */
}
#endif

/* mean and 1 / sqrt(biased variance + eps) of one row, in two passes */
static inline void FN(moments_)(const T *restrict x, long n, T eps, T *mean, T *rstd) {
    T m = FN(sum_)(x, n) / (T)n;
    *mean = m;
    *rstd = (T)1 / SQRT(FN(sqdev_)(x, n, m) / (T)n + eps);
}

/* y = (x - mean) * rstd [* w] [+ b] per row; w and b (length n) may be NULL */
void FN(ember_layer_norm_)(const T *restrict x, const T *restrict w, const T *restrict b,
                           T *restrict y, long rows, long n, double eps) {
    for (long r = 0; r < rows; r++) {
        const T *restrict xr = x + r * n;
        T *restrict yr = y + r * n;
        T m, s;
        FN(moments_)(xr, n, (T)eps, &m, &s);
        if (w && b)
            for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * s * w[j] + b[j];
        else if (w)
            for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * s * w[j];
        else if (b)
            for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * s + b[j];
        else
            for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) * s;
    }
}

/* The input gradient gx of the layer norm above (w: length n, ones when there is no
 * weight) for output gradient g, and the weight and bias gradients added into gw and gb
 * (float64, length n) when they are not NULL. gx must not overlap g or x. */
void FN(ember_layer_norm_grad_)(const T *restrict g, const T *restrict x, const T *restrict w,
                                T *restrict gx, double *restrict gw, double *restrict gb,
                                long rows, long n, double eps) {
    for (long r = 0; r < rows; r++) {
        const T *restrict gr = g + r * n, *restrict xr = x + r * n;
        T *restrict xh = gx + r * n; /* x-hat first, then overwritten by the gradient */
        T m, s;
        FN(moments_)(xr, n, (T)eps, &m, &s);
        for (long j = 0; j < n; j++) xh[j] = (xr[j] - m) * s;
        if (gw)
            for (long j = 0; j < n; j++) gw[j] += (double)gr[j] * (double)xh[j];
        if (gb)
            for (long j = 0; j < n; j++) gb[j] += (double)gr[j];
        /* two separate sums: one loop with both accumulators ran 3x slower (gcc 12) */
        T s1 = FN(dot_)(gr, w, n), s2 = FN(dot3_)(gr, w, xh, n);
        T m1 = s1 / (T)n, m2 = s2 / (T)n;
        for (long j = 0; j < n; j++) xh[j] = (gr[j] * w[j] - m1 - xh[j] * m2) * s;
    }
}

/* y = exp(x - max) over one row (y may be x); returns the max */
static inline T FN(exp_shifted_)(const T *x, T *y, long n) {
    T m = FN(max_)(x, n);
    for (long j = 0; j < n; j++) y[j] = EXP_NONPOSITIVE(x[j] - m);
    return m;
}

/* y = exp(x - max) / sum(exp(x - max)) per row; y may be x */
void FN(ember_softmax_)(const T *x, T *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        T *yr = y + r * n;
        FN(exp_shifted_)(x + r * n, yr, n);
        T t = FN(sum_)(yr, n);
        for (long j = 0; j < n; j++) yr[j] = yr[j] / t;
    }
}

/* y = (x - max) - log(sum(exp(x - max))) per row; y must not overlap x */
void FN(ember_log_softmax_)(const T *x, T *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const T *xr = x + r * n;
        T *yr = y + r * n;
        T m = FN(exp_shifted_)(xr, yr, n);
        T ls = LOG(FN(sum_)(yr, n));
        for (long j = 0; j < n; j++) yr[j] = (xr[j] - m) - ls;
    }
}

/* The softmax gradient g * y - y * sum(g * y) per row, for output y */
void FN(ember_softmax_grad_)(const T *restrict g, const T *restrict y, T *restrict gx, long rows,
                             long n) {
    for (long r = 0; r < rows; r++) {
        const T *restrict gr = g + r * n, *restrict yr = y + r * n;
        T *restrict gxr = gx + r * n;
        T t = FN(dot_)(gr, yr, n);
        for (long j = 0; j < n; j++) gxr[j] = gr[j] * yr[j] - yr[j] * t;
    }
}

/* Cross entropy of each row of logits x against its class index: loss[r] =
 * log(sum(exp(x - max))) - (x[t] - max), the negated log_softmax at t with the same bits as
 * ember_log_softmax_ gives it, or 0 where t[r] == ignore. Targets are valid indices or ignore
 * (checked by the caller). Returns the number of rows not ignored, or -1 when out of memory. */
long FN(ember_cross_entropy_)(const T *x, const int64_t *t, T *loss, long rows, long n,
                              int64_t ignore) {
    T *e = malloc((size_t)(n > 0 ? n : 1) * sizeof(T));
    if (e == NULL) return -1;
    long kept = 0;
    for (long r = 0; r < rows; r++) {
        if (t[r] == ignore) {
            loss[r] = 0;
            continue;
        }
        const T *xr = x + r * n;
        T m = FN(exp_shifted_)(xr, e, n);
        loss[r] = LOG(FN(sum_)(e, n)) - (xr[t[r]] - m);
        kept++;
    }
    free(e);
    return kept;
}

/* Its gradient: gx[r] = (softmax(x[r]) - onehot(t[r])) * scale[r * scale_step], and 0 for
 * ignored rows (scale_step 0: one scale for every row, a reduced loss). */
void FN(ember_cross_entropy_grad_)(const T *x, const int64_t *t, const T *scale, long scale_step,
                                   T *gx, long rows, long n, int64_t ignore) {
    for (long r = 0; r < rows; r++) {
        T *gr = gx + r * n;
        if (t[r] == ignore) {
            for (long j = 0; j < n; j++) gr[j] = 0;
            continue;
        }
        T s = scale[r * scale_step];
        FN(exp_shifted_)(x + r * n, gr, n);
        T k = s / FN(sum_)(gr, n);
        for (long j = 0; j < n; j++) gr[j] *= k;
        gr[t[r]] -= s;
    }
}

/* Both of the above in one pass: loss[r] as ember_cross_entropy_ gives it and gx[r] as
 * ember_cross_entropy_grad_ gives it (the same operations, so the same bits), for a compiled
 * training step that needs the loss and its gradient at once. */
void FN(ember_cross_entropy_with_grad_)(const T *x, const int64_t *t, const T *scale,
                                        long scale_step, T *loss, T *gx, long rows, long n,
                                        int64_t ignore) {
    for (long r = 0; r < rows; r++) {
        T *gr = gx + r * n;
        if (t[r] == ignore) {
            loss[r] = 0;
            for (long j = 0; j < n; j++) gr[j] = 0;
            continue;
        }
        const T *xr = x + r * n;
        T m = FN(exp_shifted_)(xr, gr, n);
        T total = FN(sum_)(gr, n);
        loss[r] = LOG(total) - (xr[t[r]] - m);
        T s = scale[r * scale_step];
        T k = s / total;
        for (long j = 0; j < n; j++) gr[j] *= k;
        gr[t[r]] -= s;
    }
}

/* The sums down the columns of a (rows, cols) array, as NumPy's add.reduce over axis 0 makes
 * them: the first row, then each next row added in order (the same bits). d = (rows, cols),
 * p = (x, out). */
int FN(ember_column_sum_)(const long *d, void *const *p) {
    const long rows = d[0], cols = d[1];
    const T *restrict x = p[0];
    T *restrict out = p[1]; /* the caller checks that it is not x's memory */
    /* NumPy starts from 0 and adds every row: a column of -0.0 sums to +0.0 */
    for (long c = 0; c < cols; c++) out[c] = 0;
    for (long r = 0; r < rows; r++) {
        const T *xr = x + r * cols;
        for (long c = 0; c < cols; c++) out[c] += xr[c];
    }
    return 0;
}

/* NumPy's sum of a contiguous run, bit for bit: its pairwise summation (eight accumulators
 * per block of at most 128 elements, longer runs split in halves that are multiples of 8). */
static T FN(numpy_pairwise_)(const T *a, long n) {
    if (n < 8) {
        T res = 0;
        for (long i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        T r[8];
        for (int k = 0; k < 8; k++) r[k] = a[k];
        long i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + k];
        T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    long half = n / 2;
    half -= half % 8;
    return FN(numpy_pairwise_)(a, half) + FN(numpy_pairwise_)(a + half, n - half);
}

/* A compiled step's whole classifier loss in one call (ember.native.call): gx and the reduced
 * loss of softmax_cross_entropy_with_grad, as loss_with_grad.py computes them with NumPy.
 * The targets are checked first (the kernel reads x[r, t[r]]): an out-of-bounds one makes it
 * return 1 and write nothing. Then kept = the rows not ignored, scale = g / kept for 'mean'
 * (g for 'sum'), the one pass of ember_cross_entropy_with_grad_, and the loss: the per-row
 * losses summed as NumPy sums them, divided by kept for 'mean'. d = (rows, n, ignore, mean),
 * p = (x, t, g, gx, loss, row losses). */
int FN(ember_cross_entropy_loss_grad_)(const long *d, void *const *p) {
    const long rows = d[0], n = d[1], mean = d[3];
    const int64_t ignore = d[2];
    const T *x = p[0], *g = p[2];
    const int64_t *t = p[1];
    T *gx = p[3], *loss = p[4], *losses = p[5];
    long kept = 0;
    for (long r = 0; r < rows; r++) {
        if (t[r] == ignore) continue;
        if (t[r] < 0 || t[r] >= n) return 1;
        kept++;
    }
    T scale = !mean ? *g : kept ? *g / (T)kept : *g * (T)NAN; /* 0/0 is nan, as in PyTorch */
    FN(ember_cross_entropy_with_grad_)(x, t, &scale, 0, losses, gx, rows, n, ignore);
    T total = FN(numpy_pairwise_)(losses, rows);
    *loss = !mean ? total : kept ? total / (T)kept : (T)NAN;
    return 0;
}

#undef FN
#undef CAT
#undef CAT_
#undef VEC
#undef VLANES
#undef VSET1
#undef VLOAD
#undef VSTORE
#undef VMAX
