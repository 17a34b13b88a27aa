/*
 * Counter-based random numbers for fastrbm: Philox4x32-10 (Salmon et al., SC'11).
 *
 * Every 32-bit word is a pure function of (seed, stream, step, word index):
 *     block = index >> 2, lane = index & 3
 *     counter = (block & 0xffffffff, block >> 32, step, stream)
 *     key     = (seed & 0xffffffff, seed >> 32)
 *     word    = philox4x32_10(counter, key)[lane]
 * so a sample never depends on which thread drew it or in which order.
 * fastrbm/reference.py implements the same mapping in vectorised NumPy.
 *
 * Word -> number:
 *     float32 uniform: ((w >> 9) + 0.5) * 2^-23        exact, in [2^-24, 1 - 2^-24]
 *     float64 uniform: (w + 0.5) * 2^-32               exact, in (0, 1)
 *     normal n (Box-Muller, computed in double): pair p = n >> 1 uses words 2p, 2p+1;
 *         r = sqrt(-2 log u64(w_2p)), t = 2 pi u64(w_2p+1);
 *         n even -> r cos t, n odd -> r sin t.
 *     log and cos/sin are the branch-free polynomials below (within 1e-15 of libm's), so
 *     the scalar and the vectorised (fastmath.h) paths give identical normals.
 */
#ifndef FASTRBM_PHILOX_H
#define FASTRBM_PHILOX_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#define FRBM_PHILOX_M0 0xD2511F53u
#define FRBM_PHILOX_M1 0xCD9E8D57u
#define FRBM_PHILOX_W0 0x9E3779B9u
#define FRBM_PHILOX_W1 0xBB67AE85u

static inline void frbm_philox4x32_10(const uint32_t ctr[4], uint32_t k0, uint32_t k1,
                                      uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)FRBM_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)FRBM_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += FRBM_PHILOX_W0;
        k1 += FRBM_PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* One (seed, stream, step) sequence of words, read through a one-block cache:
 * sequential reads cost one Philox call per four words.  Lives on the stack. */
typedef struct {
    uint32_t key0, key1, step, stream;
    uint64_t block;
    int valid;
    uint32_t out[4];
} frbm_stream;

static inline void frbm_stream_init(frbm_stream *s, uint64_t seed, uint32_t stream, uint32_t step)
{
    s->key0 = (uint32_t)(seed & 0xffffffffu);
    s->key1 = (uint32_t)(seed >> 32);
    s->step = step;
    s->stream = stream;
    s->block = 0;
    s->valid = 0;
}

static inline uint32_t frbm_word(frbm_stream *s, uint64_t index)
{
    uint64_t block = index >> 2;
    if (!s->valid || block != s->block) {
        uint32_t ctr[4];
        ctr[0] = (uint32_t)(block & 0xffffffffu);
        ctr[1] = (uint32_t)(block >> 32);
        ctr[2] = s->step;
        ctr[3] = s->stream;
        frbm_philox4x32_10(ctr, s->key0, s->key1, s->out);
        s->block = block;
        s->valid = 1;
    }
    return s->out[index & 3u];
}

static inline float frbm_uniform_f32(uint32_t w)
{
    return ((float)(w >> 9) + 0.5f) * (1.0f / 8388608.0f);
}

static inline double frbm_uniform_f64(uint32_t w)
{
    return ((double)w + 0.5) * (1.0 / 4294967296.0);
}

/* log(x) for normal x > 0: exponent from the bits, log of the mantissa in
 * [sqrt(1/2), sqrt(2)) by the atanh series in s = (m - 1) / (m + 1), |s| < 0.172. */
static inline double frbm_log_f64(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)(bits >> 52) - 1023;
    uint64_t mb = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &mb, sizeof m);
    int32_t big = m > 1.4142135623730951;
    m = big ? 0.5 * m : m;
    double ed = (double)(e + big);
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
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
    p = p * s2 * s;
    return ed * 6.93147180369123816490e-01 + ((ed * 1.90821492927058770002e-10 + 2.0 * p) + 2.0 * s);
}

/* cos(2 pi t) and sin(2 pi t) for t in [0, 1]: the quadrant comes from t itself (exact
 * in binary), the remaining angle |a| <= pi/4 goes through Taylor polynomials. */
static inline void frbm_sincos2pi(double t, double *sn, double *cs)
{
    double q = (t * 4.0 + 6755399441055744.0) - 6755399441055744.0;   /* round(4 t) */
    double a = 6.283185307179586 * (t - 0.25 * q);
    double a2 = a * a;
    double c = -1.0 / 20922789888000.0;                                 /* -1/16! */
    c = c * a2 + 1.0 / 87178291200.0;
    c = c * a2 - 1.0 / 479001600.0;
    c = c * a2 + 1.0 / 3628800.0;
    c = c * a2 - 1.0 / 40320.0;
    c = c * a2 + 1.0 / 720.0;
    c = c * a2 - 1.0 / 24.0;
    c = c * a2 + 0.5;
    c = 1.0 - c * a2;
    double s = 1.0 / 355687428096000.0;                                 /* 1/17! */
    s = s * a2 - 1.0 / 1307674368000.0;
    s = s * a2 + 1.0 / 6227020800.0;
    s = s * a2 - 1.0 / 39916800.0;
    s = s * a2 + 1.0 / 362880.0;
    s = s * a2 - 1.0 / 5040.0;
    s = s * a2 + 1.0 / 120.0;
    s = s * a2 - 1.0 / 6.0;
    s = a + a * a2 * s;
    int32_t k = (int32_t)q & 3;
    double c1 = (k & 1) ? -s : c;       /* rotate (c, s) by k quarter turns */
    double s1 = (k & 1) ? c : s;
    *cs = (k & 2) ? -c1 : c1;
    *sn = (k & 2) ? -s1 : s1;
}

static inline double frbm_normal(frbm_stream *s, uint64_t n)
{
    uint64_t pair = n >> 1;
    double u = frbm_uniform_f64(frbm_word(s, 2 * pair));
    double v = frbm_uniform_f64(frbm_word(s, 2 * pair + 1));
    double r = sqrt(-2.0 * frbm_log_f64(u));
    double sn, cs;
    frbm_sincos2pi(v, &sn, &cs);
    return (n & 1u) ? r * sn : r * cs;
}

#endif
