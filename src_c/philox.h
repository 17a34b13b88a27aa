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
 */
#ifndef FASTRBM_PHILOX_H
#define FASTRBM_PHILOX_H

#include <stdint.h>
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

static inline double frbm_normal(frbm_stream *s, uint64_t n)
{
    uint64_t pair = n >> 1;
    double u = frbm_uniform_f64(frbm_word(s, 2 * pair));
    double t = 6.283185307179586 * frbm_uniform_f64(frbm_word(s, 2 * pair + 1));
    double r = sqrt(-2.0 * log(u));
    return (n & 1u) ? r * sin(t) : r * cos(t);
}

#endif
