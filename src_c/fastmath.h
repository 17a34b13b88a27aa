/*
 * Vectorisable elementwise maths for fastrbm's row passes.
 *
 * libm's exp cannot be vectorised by the compiler without -ffast-math (which would also
 * change every other result), so the hot passes use these instead: branch-free, no
 * calls, plain arithmetic and integer bit moves that GCC/Clang turn into SIMD code.
 * Accuracy: frbm_exp_f32 within 2 ulp of expf, frbm_exp_f64 within 2 ulp of exp, over
 * the clamped range; tests compare against NumPy with tolerances of that order.
 *
 * frbm_philox_fill writes words first..first+n-1 of one (seed, stream, step) sequence
 * (the mapping of philox.h) with a loop over independent blocks that vectorises.
 */
#ifndef FASTRBM_FASTMATH_H
#define FASTRBM_FASTMATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>
#include "philox.h"

static inline float frbm_exp_f32(float x)
{
    /* clamp so that 2^n stays a normal float */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float magic = 12582912.0f;                       /* 1.5 * 2^23: round to int */
    float n = (x * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693145751953125f;                  /* ln2 split: hi + lo */
    r = r - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline double frbm_exp_f64(double x)
{
    x = x < -708.0 ? -708.0 : x;
    x = x > 709.0 ? 709.0 : x;
    const double magic = 6755399441055744.0;               /* 1.5 * 2^52 */
    double t = x * 1.4426950408889634 + magic;
    double n = t - magic;
    double r = x - n * 6.93147180369123816490e-01;         /* ln2 hi */
    r = r - n * 1.90821492927058770002e-10;                /* ln2 lo */
    /* degree 11, interpolating exp at the Chebyshev points of [-ln2/2, ln2/2] (50-digit
     * solve): within 1 ulp of libm's exp like the degree-13 Taylor it replaced */
    double p = 2.51100376059637769e-08;
    p = p * r + 2.76326396390410286e-07;
    p = p * r + 2.75572409185789696e-06;
    p = p * r + 2.48014854823284939e-05;
    p = p * r + 1.98412698900471131e-04;
    p = p * r + 1.38888889523147751e-03;
    p = p * r + 8.33333333331960115e-03;
    p = p * r + 4.16666666664880989e-02;
    p = p * r + 1.66666666666666796e-01;
    p = p * r + 5.00000000000001887e-01;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* the low bits of t hold n; shifting them into the exponent field builds 2^n */
    uint64_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint64_t sb = (tb + 1023u) << 52;
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

static inline float frbm_sigmoid_f32(float x) { return 1.0f / (1.0f + frbm_exp_f32(-x)); }
static inline double frbm_sigmoid_f64(double x) { return 1.0 / (1.0 + frbm_exp_f64(-x)); }

/*
 * Chunk loops, one source for float and double (FRBM_CHUNK_LOOPS is instantiated
 * twice below). restrict and plain counted loops let the compiler vectorise them, and
 * on x86-64 with GCC each is also compiled for AVX2 and AVX-512 (x86-64-v4) and picked
 * at load time (target_clones; no FMA contraction, -ffp-contract=off, so every path
 * rounds exactly as the baseline SSE2 one).
 *   sigmoid_chunk: p[j] = sigmoid(bias[j] + (scale ? scale[j] * x[j] : x[j]))
 *   bernoulli_chunk: s[j] = uniform(w[j]) < p[j]   (the documented word -> uniform map)
 *   stepped_chunk: for every copy k: p = sigmoid(x[j] - k - 1/2); acc[j] += p;
 *                  cnt[j] += uniform(w[j * n_copies + k]) < p
 *   column_sums: out[j] = sum over rows r (in order) of a[r * ld + j], j in [lo, hi)
 *   nrelu_sample_chunk: s[j] = max(0, x[j] + sqrt(sigmoid(x[j])) * z[j])
 *   update_row: n weights (a row of W, or whole rows when vsum is NULL): m = scale mW
 *               + lr (pj vsum - l2 W - l1 sign W) (vsum may be NULL); W += m; mW = m
 *               (scale: the momentum when the gradient gemm left it out, else 1)
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FASTRBM_NO_MULTIVERSION)
#if __GNUC__ >= 12
/* x86-64-v4 (AVX-512) doubles the lanes of the Philox, exp and normal loops; it has
 * FMA, so setup.py builds with -ffp-contract=off to keep every clone's rounding equal */
#define FRBM_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define FRBM_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#endif
#else
#define FRBM_MULTIVERSION
#endif

#define FRBM_CHUNK_LOOPS(T, SUF, UNIFORM, SQRT)                                           \
static FRBM_MULTIVERSION void frbm_sigmoid_chunk_##SUF(                                  \
    const T *restrict x, const T *restrict scale, const T *restrict bias,                \
    T *restrict p, int m)                                                                \
{                                                                                         \
    if (scale) {                                                                          \
        for (int j = 0; j < m; j++) p[j] = frbm_sigmoid_##SUF(x[j] * scale[j] + bias[j]); \
    } else {                                                                              \
        for (int j = 0; j < m; j++) p[j] = frbm_sigmoid_##SUF(x[j] + bias[j]);            \
    }                                                                                     \
}                                                                                         \
static FRBM_MULTIVERSION void frbm_bernoulli_chunk_##SUF(                                \
    const uint32_t *restrict w, const T *restrict p, T *restrict s, int m)               \
{                                                                                         \
    for (int j = 0; j < m; j++) s[j] = UNIFORM(w[j]) < p[j] ? (T)1 : (T)0;                \
}                                                                                         \
static FRBM_MULTIVERSION void frbm_stepped_chunk_##SUF(                                  \
    const T *restrict x, int n_copies, const uint32_t *restrict w, T *restrict acc,      \
    T *restrict cnt, int m, int sample)                                                  \
{                                                                                         \
    for (int k = 0; k < n_copies; k++) {                                                  \
        T off = (T)k + (T)0.5;                                                            \
        if (sample) {                                                                     \
            for (int j = 0; j < m; j++) {                                                 \
                T pk = frbm_sigmoid_##SUF(x[j] - off);                                    \
                acc[j] += pk;                                                             \
                cnt[j] += UNIFORM(w[j * n_copies + k]) < pk ? (T)1 : (T)0;                \
            }                                                                             \
        } else {                                                                          \
            for (int j = 0; j < m; j++) acc[j] += frbm_sigmoid_##SUF(x[j] - off);         \
        }                                                                                 \
    }                                                                                     \
}                                                                                         \
/* The per-row terms of a weight row's gradient besides the gemm's: sparsity
   (pj vsum[i]) and centering (-(hj mu[i] + lj vs[i]), Melchior et al. 2016: the
   centered gradient <(v - mu)(h - lambda)> of the stacked rows, whose weights sum to
   0); NULL vectors are absent terms. */                                                \
static inline T frbm_row_terms_##SUF(T g, int64_t i, T pj, const T *restrict vsum, T hj,  \
                                     const T *restrict mu, T lj, const T *restrict vs)    \
{                                                                                         \
    if (vsum) g = g + pj * vsum[i];                                                       \
    if (mu) g = g - (hj * mu[i] + lj * vs[i]);                                            \
    return g;                                                                             \
}                                                                                         \
/* Momentum SGD on n weights: m = scale mW + lr (row terms - l2 W - l1 sign W); W += m;   \
   mW = m (scale is the momentum when the gradient gemm folded it out). Returns          \
   sum_i m[i] mu[i] (the hidden bias's centering correction), 0 without mu. */           \
static FRBM_MULTIVERSION T frbm_update_row_##SUF(                                        \
    T *restrict W, T *restrict mW, int64_t n, T lr, T l2, T l1, T pj,                     \
    const T *restrict vsum, T hj, const T *restrict mu, T lj, const T *restrict vs,       \
    T scale)                                                                              \
{                                                                                         \
    T dot = 0;                                                                            \
    if (l2 == 0 && l1 == 0 && !vsum && !mu) {   /* plain momentum */                      \
        if (scale == (T)1) {                                                              \
            for (int64_t i = 0; i < n; i++) W[i] += mW[i];                                \
        } else {                                                                          \
            for (int64_t i = 0; i < n; i++) { T m = scale * mW[i]; mW[i] = m; W[i] += m; }\
        }                                                                                 \
        return dot;                                                                       \
    }                                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                     \
        T w = W[i];                                                                       \
        T sgn = (w > 0 ? (T)1 : (T)0) - (w < 0 ? (T)1 : (T)0);                            \
        T g = frbm_row_terms_##SUF(-l2 * w - l1 * sgn, i, pj, vsum, hj, mu, lj, vs);      \
        T m = scale * mW[i] + lr * g;                                                     \
        mW[i] = m;                                                                        \
        W[i] = w + m;                                                                     \
        if (mu) dot = dot + m * mu[i];                                                    \
    }                                                                                     \
    return dot;                                                                           \
}                                                                                         \
/* Adam on n weights: g = (G + row terms) - l2 W - l1 sign W; m = b1 m + (1 - b1) g;      \
   v = b2 v + (1 - b2) g^2; W += alpha m / (sqrt(v) + eps), where alpha and eps carry     \
   the bias correction (fastrbm/_kernels.pyx, _batch).  fastrbm/reference.py does the     \
   same operations, so the two agree to the rounding of G. With centering (mu given)     \
   each step is left in G (the visible biases' correction needs them) and the function   \
   returns sum_i step[i] mu[i]. */                                                        \
static FRBM_MULTIVERSION T frbm_adam_row_##SUF(                                          \
    T *restrict W, T *restrict m, T *restrict v, T *restrict G, int64_t n,                \
    T alpha, T eps, T b1, T b2, T l2, T l1, T pj, const T *restrict vsum, T hj,           \
    const T *restrict mu, T lj, const T *restrict vs)                                     \
{                                                                                         \
    const T c1 = (T)1 - b1, c2 = (T)1 - b2;                                               \
    T dot = 0;                                                                            \
    for (int64_t i = 0; i < n; i++) {                                                     \
        T w = W[i];                                                                       \
        T sgn = (w > 0 ? (T)1 : (T)0) - (w < 0 ? (T)1 : (T)0);                            \
        T g = frbm_row_terms_##SUF(G[i], i, pj, vsum, hj, mu, lj, vs);                    \
        g = g - l2 * w - l1 * sgn;                                                        \
        T mi = b1 * m[i] + c1 * g;                                                        \
        T vi = b2 * v[i] + c2 * (g * g);                                                  \
        T step = alpha * mi / (SQRT(vi) + eps);                                           \
        m[i] = mi;                                                                        \
        v[i] = vi;                                                                        \
        W[i] = w + step;                                                                  \
        if (mu) { G[i] = step; dot = dot + step * mu[i]; }                                \
    }                                                                                     \
    return dot;                                                                           \
}                                                                                         \
/* Fast PCD (Tieleman & Hinton 2009) on n weights from the gemm's gradient G: the fast   \
   weights Wf = decay Wf + flr G; with mW (momentum SGD) also mW = mom mW + lr G, to      \
   which frbm_update_row (scale 1) then adds the row terms. */                            \
static FRBM_MULTIVERSION void frbm_fast_row_##SUF(                                       \
    T *restrict Wf, T *restrict mW, const T *restrict G, int64_t n, T decay, T flr,       \
    T mom, T lr)                                                                          \
{                                                                                         \
    if (mW) for (int64_t i = 0; i < n; i++) mW[i] = mom * mW[i] + lr * G[i];               \
    for (int64_t i = 0; i < n; i++) Wf[i] = decay * Wf[i] + flr * G[i];                   \
}                                                                                         \
/* out = a + b on n entries (the chains' weights of fast PCD, W + Wf). */                 \
static FRBM_MULTIVERSION void frbm_add_row_##SUF(                                        \
    T *restrict out, const T *restrict a, const T *restrict b, int64_t n)                 \
{                                                                                         \
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];                                 \
}                                                                                         \
static FRBM_MULTIVERSION void frbm_column_sums_##SUF(                                    \
    const T *restrict a, int n_rows, int ld, int lo, int hi, T *restrict out)             \
{                                                                                         \
    for (int j = lo; j < hi; j++) out[j] = 0;                                             \
    for (int r = 0; r < n_rows; r++) {                                                    \
        const T *restrict row = a + (size_t)r * (size_t)ld;                               \
        for (int j = lo; j < hi; j++) out[j] += row[j];                                   \
    }                                                                                     \
}                                                                                         \
static FRBM_MULTIVERSION void frbm_nrelu_sample_chunk_##SUF(                             \
    const T *restrict x, const double *restrict z, T *restrict s, int m)                 \
{                                                                                         \
    for (int j = 0; j < m; j++) {                                                         \
        T v = x[j] + SQRT(frbm_sigmoid_##SUF(x[j])) * (T)z[j];                            \
        s[j] = v > 0 ? v : (T)0;                                                          \
    }                                                                                     \
}

#define FRBM_U32(w) (((float)((w) >> 9) + 0.5f) * (1.0f / 8388608.0f))
#define FRBM_U64(w) (((double)(w) + 0.5) * (1.0 / 4294967296.0))
FRBM_CHUNK_LOOPS(float, f32, FRBM_U32, sqrtf)
FRBM_CHUNK_LOOPS(double, f64, FRBM_U64, sqrt)

/* Words first .. first+n-1 of the (seed, stream, step) sequence into out[0..n-1]. */
#define FRBM_FILL_BLOCKS 64
static FRBM_MULTIVERSION void frbm_philox_fill(uint64_t seed, uint32_t stream, uint32_t step,
                                                uint64_t first, int64_t n, uint32_t *out)
{
    uint32_t k0 = (uint32_t)(seed & 0xffffffffu), k1 = (uint32_t)(seed >> 32);
    uint32_t buf[4 * FRBM_FILL_BLOCKS];
    uint32_t a0[FRBM_FILL_BLOCKS], a1[FRBM_FILL_BLOCKS], a2[FRBM_FILL_BLOCKS], a3[FRBM_FILL_BLOCKS];
    uint64_t block = first >> 2;
    int64_t skip = (int64_t)(first & 3u);
    int64_t done = 0;
    while (done < n) {
        int64_t want = n - done + skip;
        int nb = (int)((want + 3) >> 2);
        if (nb > FRBM_FILL_BLOCKS) nb = FRBM_FILL_BLOCKS;
        for (int i = 0; i < nb; i++) {
            uint64_t b = block + (uint64_t)i;
            a0[i] = (uint32_t)(b & 0xffffffffu);
            a1[i] = (uint32_t)(b >> 32);
            a2[i] = step;
            a3[i] = stream;
        }
        /* rounds outside, blocks inside: each round is one loop over independent
         * blocks, structure-of-arrays, which the compiler turns into SIMD */
        uint32_t kk0 = k0, kk1 = k1;
        for (int r = 0; r < 10; r++) {
            for (int i = 0; i < nb; i++) {
                uint64_t p0 = (uint64_t)FRBM_PHILOX_M0 * a0[i];
                uint64_t p1 = (uint64_t)FRBM_PHILOX_M1 * a2[i];
                uint32_t n0 = (uint32_t)(p1 >> 32) ^ a1[i] ^ kk0;
                uint32_t n2 = (uint32_t)(p0 >> 32) ^ a3[i] ^ kk1;
                a1[i] = (uint32_t)p1;
                a3[i] = (uint32_t)p0;
                a0[i] = n0;
                a2[i] = n2;
            }
            kk0 += FRBM_PHILOX_W0;
            kk1 += FRBM_PHILOX_W1;
        }
        for (int i = 0; i < nb; i++) {
            buf[4 * i] = a0[i]; buf[4 * i + 1] = a1[i]; buf[4 * i + 2] = a2[i]; buf[4 * i + 3] = a3[i];
        }
        int64_t avail = 4 * (int64_t)nb - skip;
        int64_t take = avail < n - done ? avail : n - done;
        memcpy(out + done, buf + skip, (size_t)take * sizeof(uint32_t));
        done += take;
        block += (uint64_t)nb;
        skip = 0;
    }
}


/* Normals first..first+m-1 (m <= FRBM_NORMAL_CHUNK) of one (seed, stream, step)
 * sequence: pair p uses words 2p, 2p+1; normal 2p is r cos, 2p + 1 is r sin. */
#define FRBM_NORMAL_CHUNK 256
static FRBM_MULTIVERSION void frbm_normals_fill(uint64_t seed, uint32_t stream, uint32_t step,
                                     uint64_t first, int m, double *restrict z)
{
    uint32_t w[FRBM_NORMAL_CHUNK + 4];
    double zc[FRBM_NORMAL_CHUNK / 2 + 2], zs[FRBM_NORMAL_CHUNK / 2 + 2];
    if (m <= 0) return;
    uint64_t p0 = first >> 1;
    int np = (int)(((first + (uint64_t)m - 1) >> 1) - p0 + 1);
    frbm_philox_fill(seed, stream, step, 2 * p0, 2 * (int64_t)np, w);
    for (int i = 0; i < np; i++) {
        double u = ((double)w[2 * i] + 0.5) * (1.0 / 4294967296.0);
        double v = ((double)w[2 * i + 1] + 0.5) * (1.0 / 4294967296.0);
        double r = sqrt(-2.0 * frbm_log_f64(u));
        double sn, cs;
        frbm_sincos2pi(v, &sn, &cs);
        zc[i] = r * cs;
        zs[i] = r * sn;
    }
    int off = (int)(first & 1u);
    for (int j = 0; j < m; j++) {
        int idx = j + off;
        z[j] = (idx & 1) ? zs[idx >> 1] : zc[idx >> 1];
    }
}

/* The normal tail through erfc(z) = u Q(u) exp(-z^2), z >= 0, u = 1 / (1 + z/2) in
 * (0, 1]: Q = erfcx(z) / u is smooth in u, and a Chebyshev series on [0.2, 1] (z <= 8;
 * src_c/erfcx_fit.py computes it) has relative error 3e-16 at degree 20 and ~1e-8 at
 * degree 10, the float cut. Past z = 8 the tail is below 2e-29 and u is clamped. */
#define FRBM_ERFCX_U_MIN 0.2
static const double FRBM_ERFCX_CHEB[21] = {
    6.30680910181248722e-01, 3.24086136017469661e-01, 4.48572095713211383e-02,
    9.75653383445081071e-04, -5.86918262547707391e-04, -2.47532030031843970e-05,
    1.19977049338307254e-05, 2.55817807904145119e-08, -2.89156556520325064e-07,
    2.40201549614499151e-08, 5.45759395407480459e-09, -1.34240917031241986e-09,
    1.27638815605498030e-11, 4.06305841260915552e-11, -6.83395787903573997e-12,
    -2.28307156784214119e-13, 2.80918369561051798e-13, -4.47727813487137725e-14,
    -1.57440752289949921e-15, 2.03199645020265021e-15, -3.70840621392753713e-16,
};

/* Mean of an NReLU unit, E[max(0, x + sqrt(sigmoid(x)) eps)] = x Phi(t) + sd phi(t)
 * with sd = sqrt(sigmoid(x)) = 1 / sqrt(1 + e^-x), t = x / sd = x sqrt(1 + e^-x);
 * chunks, vectorisable. exp(-t^2 / 2) serves both phi(t) and the normal tail
 * Phi(-|t|) = erfc(|t| / sqrt 2) / 2, so a unit costs two exps and two divisions. */
#define FRBM_NRELU_MEAN(T, SUF, SQRT, DEGREE)                                             \
static inline T frbm_erfcx_q_##SUF(T u)                                                   \
{                                                                                         \
    u = u < (T)FRBM_ERFCX_U_MIN ? (T)FRBM_ERFCX_U_MIN : u;                                \
    T s = ((T)2 * u - (T)(1 + FRBM_ERFCX_U_MIN)) * (T)(1 / (1 - FRBM_ERFCX_U_MIN));       \
    T b1 = 0, b2 = 0;                                                                     \
    _Pragma("GCC unroll 32")               /* unrolled, the caller's loop vectorises */   \
    for (int k = DEGREE; k >= 1; k--) {    /* Clenshaw */                                 \
        T b0 = (T)2 * s * b1 - b2 + (T)FRBM_ERFCX_CHEB[k];                                \
        b2 = b1;                                                                          \
        b1 = b0;                                                                          \
    }                                                                                     \
    return s * b1 - b2 + (T)FRBM_ERFCX_CHEB[0];                                           \
}                                                                                         \
static FRBM_MULTIVERSION void frbm_nrelu_mean_chunk_##SUF(                               \
    const T *restrict x, T *restrict out, int m, T scale)                                \
{                                                                                         \
    for (int j = 0; j < m; j++) {                                                         \
        T xj = x[j];                                                                      \
        T r = SQRT((T)1 + frbm_exp_##SUF(-xj));                /* 1 / sd */               \
        T sd = (T)1 / r;                                                                  \
        T t = xj * r;                                                                     \
        T z = (t < 0 ? -t : t) * (T)0.70710678118654752440;                               \
        T u = (T)1 / ((T)1 + (T)0.5 * z);                                                 \
        T g = frbm_exp_##SUF((T)-0.5 * t * t);                 /* exp(-z^2) */            \
        T half_tail = (T)0.5 * u * frbm_erfcx_q_##SUF(u) * g;                             \
        T cdf = t < 0 ? half_tail : (T)1 - half_tail;                                     \
        out[j] = (xj * cdf + sd * (g * (T)0.39894228040143267794)) * scale;              \
    }                                                                                     \
}
FRBM_NRELU_MEAN(float, f32, sqrtf, 10)
FRBM_NRELU_MEAN(double, f64, sqrt, 20)

/* log for float, the same construction as frbm_log_f64 (philox.h) in float. */
static inline float frbm_log_f32(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)(bits >> 23) - 127;
    uint32_t mb = (bits & 0x007fffffu) | 0x3f800000u;
    float m;
    memcpy(&m, &mb, sizeof m);
    int32_t big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    float ed = (float)(e + big);
    float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
    float p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 * s;
    return ed * 0.693145751953125f + ((ed * 1.42860682030941723212e-6f + 2.0f * p) + 2.0f * s);
}

/* expm1 and log1p accurate near 0 (Taylor / atanh series there, exp - 1 and
 * log(1 + y) away from 0), branch-free: what AIS needs for free-energy increments. */
static inline float frbm_expm1_series_f32(float d)
{
    float p = 1.0f / 40320.0f;
    p = p * d + 1.0f / 5040.0f;
    p = p * d + 1.0f / 720.0f;
    p = p * d + 1.0f / 120.0f;
    p = p * d + 1.0f / 24.0f;
    p = p * d + 1.0f / 6.0f;
    p = p * d + 0.5f;
    p = p * d * d + d;
    return p;
}

static inline float frbm_expm1_f32(float d)
{
    float q = frbm_exp_f32(d) - 1;
    return (d > -0.5f && d < 0.5f) ? frbm_expm1_series_f32(d) : q;
}

static inline double frbm_expm1_series_f64(double d)
{
    double p = 1.0 / 6227020800.0;
    p = p * d + 1.0 / 479001600.0;
    p = p * d + 1.0 / 39916800.0;
    p = p * d + 1.0 / 3628800.0;
    p = p * d + 1.0 / 362880.0;
    p = p * d + 1.0 / 40320.0;
    p = p * d + 1.0 / 5040.0;
    p = p * d + 1.0 / 720.0;
    p = p * d + 1.0 / 120.0;
    p = p * d + 1.0 / 24.0;
    p = p * d + 1.0 / 6.0;
    p = p * d + 0.5;
    p = p * d * d + d;
    return p;
}

static inline double frbm_expm1_f64(double d)
{
    double q = frbm_exp_f64(d) - 1;
    return (d > -0.5 && d < 0.5) ? frbm_expm1_series_f64(d) : q;
}

static inline float frbm_log1p_series_f32(float y)
{
    float s = y / (2.0f + y), s2 = s * s;
    float p = 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = 2.0f * (p * s2 * s + s);
    return p;
}

static inline float frbm_log1p_f32(float y)
{
    float q = frbm_log_f32(1 + y);
    return (y > -0.33333334f && y < 0.5f) ? frbm_log1p_series_f32(y) : q;
}

static inline double frbm_log1p_series_f64(double y)
{
    double s = y / (2.0 + y), s2 = s * s;
    double p = 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = 2.0 * (p * s2 * s + s);
    return p;
}

static inline double frbm_log1p_f64(double y)
{
    double q = frbm_log_f64(1 + y);
    return (y > -0.3333333333333333 && y < 0.5) ? frbm_log1p_series_f64(y) : q;
}

/* AIS: sum over the units of a row of phi(beta a) - phi(beta_prev a), for binary
 * (n_copies = 0) or stepped units, as log1p(sigmoid(beta_prev a - offset) *
 * expm1((beta - beta_prev) a)) per copy: no cancellation, one source per precision.
 * The terms are summed with eight partial sums in a fixed order (vectorisable and the
 * same for any thread count). */
#define FRBM_AIS_LOOPS(T, SUF)                                                            \
static FRBM_MULTIVERSION double frbm_ais_phi_increment_##SUF(                            \
    const T *restrict a, int m, int n_copies, T beta_prev, T beta, T *restrict buf)       \
{                                                                                         \
    T db = beta - beta_prev;                                                              \
    for (int j = 0; j < m; j++) buf[j] = 0;                                               \
    int copies = n_copies > 0 ? n_copies : 1;                                             \
    /* |db a| < 0.4 everywhere (the usual case: small steps in beta) keeps both expm1 and \
     * log1p on their series branch, so the other branch need not be computed */          \
    int outside = 0;                                                                      \
    for (int j = 0; j < m; j++) outside += (db * a[j] >= (T)0.4) | (db * a[j] <= (T)-0.4); \
    for (int k = 0; k < copies; k++) {                                                    \
        T off = n_copies > 0 ? (T)k + (T)0.5 : (T)0;                                      \
        if (outside) {                                                                    \
            for (int j = 0; j < m; j++)                                                   \
                buf[j] += frbm_log1p_##SUF(frbm_sigmoid_##SUF(beta_prev * a[j] - off)     \
                                           * frbm_expm1_##SUF(db * a[j]));                \
        } else {                                                                          \
            for (int j = 0; j < m; j++)                                                   \
                buf[j] += frbm_log1p_series_##SUF(                                        \
                    frbm_sigmoid_##SUF(beta_prev * a[j] - off)                            \
                    * frbm_expm1_series_##SUF(db * a[j]));                                \
        }                                                                                 \
    }                                                                                     \
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                             \
    int j = 0;                                                                            \
    for (; j + 8 <= m; j += 8)                                                            \
        for (int l = 0; l < 8; l++) acc[l] += (double)buf[j + l];                         \
    double total = 0;                                                                     \
    for (; j < m; j++) total += (double)buf[j];                                           \
    for (int l = 0; l < 8; l++) total += acc[l];                                          \
    return total;                                                                         \
}
FRBM_AIS_LOOPS(float, f32)
FRBM_AIS_LOOPS(double, f64)

/* Exact pseudo-likelihood: sum_j softplus(x[j] + d w[j] - off) for one flipped site
 * (x the row's hidden input with its bias, w the site's weights to the hidden units, d
 * in [-1, 1]), softplus(y) = max(y, 0) + log(1 + exp(-|y|)) (log of 1 + e rather than a
 * log1p: e is in (0, 1], where the absolute error of either is ~1e-16, and GCC
 * vectorises this one several times faster). The terms of a block go to a buffer (the
 * loop vectorises), then into eight partial sums in a fixed order (the same for any
 * thread count). */
#define FRBM_SOFTPLUS_BLOCK 256
static FRBM_MULTIVERSION double frbm_softplus_shift_sum(const double *restrict x,
                                                         const double *restrict w,
                                                         double d, double off, int m)
{
    double buf[FRBM_SOFTPLUS_BLOCK];
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    double total = 0;
    for (int j0 = 0; j0 < m; j0 += FRBM_SOFTPLUS_BLOCK) {
        int n = m - j0 < FRBM_SOFTPLUS_BLOCK ? m - j0 : FRBM_SOFTPLUS_BLOCK;
        for (int j = 0; j < n; j++) {
            double y = x[j0 + j] + d * w[j0 + j] - off;
            double a = y < 0 ? -y : y;
            buf[j] = (y > 0 ? y : 0.0) + frbm_log_f64(1.0 + frbm_exp_f64(-a));
        }
        int j = 0;
        for (; j + 8 <= n; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += buf[j + l];
        for (; j < n; j++) total += buf[j];
    }
    for (int l = 0; l < 8; l++) total += acc[l];
    return total;
}

/* The same sum for d = +-1 without an exp per term: with E[j] = exp(x[j]) (per row) and
 * P[j] = exp(d w[j]) (per model), softplus(y) = log(1 + E P exp(-off)); where that
 * product reaches 1e300 (or is not a number, inf * 0) softplus(y) is y to the last bit. */
static FRBM_MULTIVERSION double frbm_softplus_scaled_sum(const double *restrict E,
                                                          const double *restrict P,
                                                          const double *restrict x,
                                                          const double *restrict w,
                                                          double d, double off,
                                                          double exp_off, int m)
{
    double buf[FRBM_SOFTPLUS_BLOCK];
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    double total = 0;
    for (int j0 = 0; j0 < m; j0 += FRBM_SOFTPLUS_BLOCK) {
        int n = m - j0 < FRBM_SOFTPLUS_BLOCK ? m - j0 : FRBM_SOFTPLUS_BLOCK;
        for (int j = 0; j < n; j++) {
            double t = E[j0 + j] * P[j0 + j] * exp_off;
            double y = x[j0 + j] + d * w[j0 + j] - off;
            buf[j] = t < 1e300 ? frbm_log_f64(1.0 + t) : y;
        }
        int j = 0;
        for (; j + 8 <= n; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += buf[j + l];
        for (; j < n; j++) total += buf[j];
    }
    for (int l = 0; l < 8; l++) total += acc[l];
    return total;
}

/* sum_i x[i] * y[i] in double with eight partial sums in a fixed order (vectorisable). */
#define FRBM_DOT(T, SUF)                                                                  \
static FRBM_MULTIVERSION double frbm_dot_##SUF(const T *restrict x,                      \
                                               const double *restrict y, int n)          \
{                                                                                         \
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                             \
    int i = 0;                                                                            \
    for (; i + 8 <= n; i += 8)                                                            \
        for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * y[i + l];                \
    double total = 0;                                                                     \
    for (; i < n; i++) total += (double)x[i] * y[i];                                      \
    for (int l = 0; l < 8; l++) total += acc[l];                                          \
    return total;                                                                         \
}
FRBM_DOT(float, f32)
FRBM_DOT(double, f64)

#endif
