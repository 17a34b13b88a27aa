# Counter-based random numbers (Philox4x32-10); the mapping is documented in
# src_c/philox.h and mirrored by fastrbm.reference.
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "philox.h" nogil:
    ctypedef struct frbm_stream:
        uint32_t key0
        uint32_t key1
        uint32_t step
        uint32_t stream
        uint64_t block
        int valid
        uint32_t out[4]
    void frbm_philox4x32_10(const uint32_t *ctr, uint32_t k0, uint32_t k1, uint32_t *out)
    void frbm_stream_init(frbm_stream *s, uint64_t seed, uint32_t stream, uint32_t step)
    uint32_t frbm_word(frbm_stream *s, uint64_t index)
    float frbm_uniform_f32(uint32_t w)
    double frbm_uniform_f64(uint32_t w)
    double frbm_normal(frbm_stream *s, uint64_t n)
