# Per-element unit maths shared by every kernel, one fused source for float32/float64.
# fastrbm.reference computes the same expressions in the same order.
from cython cimport floating
from libc.math cimport exp, expf, log, log1p, sqrt, fabs, floor
from libc.stdint cimport uint32_t, uint64_t

from fastrbm._rng cimport frbm_stream, frbm_word, frbm_uniform_f32, frbm_uniform_f64


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    cdef floating e
    if x >= 0:
        e = f_exp(-x)
        return 1 / (1 + e)
    e = f_exp(x)
    return e / (1 + e)


cdef inline floating uniform(frbm_stream *st, uint64_t index, floating dummy) noexcept nogil:
    """Uniform number ``index`` of the stream, in the precision of ``dummy``."""
    if floating is float:
        return frbm_uniform_f32(frbm_word(st, index))
    else:
        return frbm_uniform_f64(frbm_word(st, index))


cdef inline double softplus(double x) noexcept nogil:
    return (x if x > 0 else 0.0) + log1p(exp(-fabs(x)))


cdef inline double nrelu_phi(double x, double cutoff) noexcept nogil:
    """Free-energy term of an NReLU unit: sum_{k>=1} softplus(x - k + 0.5).

    Terms whose input is >= cutoff equal their input (closed form); terms below
    -cutoff vanish. Same terms, same order as fastrbm.reference.hidden_phi.
    """
    cdef double m = floor(x + 0.5 - cutoff)
    cdef double total, a
    cdef int j
    if m < 0:
        m = 0.0
    total = m * (x + 0.5) - m * (m + 1) / 2
    for j in range(1, <int>(2 * cutoff) + 2):
        a = x - (m + j) + 0.5
        if a > -cutoff:
            total += softplus(a)
    return total
