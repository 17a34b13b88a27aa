# Elementwise row passes shared by every kernel module: bias + mean + sample for a
# whole matrix of rows, under OpenMP over rows; column sums in a fixed order.
# All functions are inline so that each extension compiles its own copy.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt
from libc.stdint cimport uint32_t, uint64_t, int64_t

from fastrbm._rng cimport frbm_stream, frbm_stream_init, frbm_normal
from fastrbm._unitmath cimport sigmoid, uniform, nrelu_mean


# Elementwise passes smaller than this run on one thread: a parallel region costs
# microseconds, more than the work itself for small minibatches.
cdef enum:
    PARALLEL_MIN_ELEMENTS = 16384

cdef enum:
    VIS_BERNOULLI = 0
    VIS_GAUSSIAN = 1
    HID_BERNOULLI = 0
    HID_STEPPED = 1
    HID_NRELU = 2

# Streams: keep in step with fastrbm/streams.py.
cdef inline uint32_t stream_hidden(int t, uint32_t purpose) noexcept nogil:
    return purpose + 2 * t

cdef inline uint32_t stream_visible(int t, uint32_t purpose) noexcept nogil:
    return purpose + 2 * t - 1


# ----------------------------------------------------------------- row passes
cdef inline void _hidden_row(floating *x, const floating *c, int nh, int hidden,
                             int n_copies, floating mean_scale, floating *mean_out,
                             floating *sample_out, frbm_stream *st,
                             uint64_t first) noexcept nogil:
    """One row: x (products without bias) -> mean (times mean_scale) and sample.

    ``mean_out`` may alias ``x``; either output may be NULL. ``first`` is the index of
    the row's first element in the C-ordered matrix (for the random stream).
    """
    cdef int j, k
    cdef floating xj, p, m, s
    cdef double eps
    if hidden == HID_BERNOULLI:
        for j in range(nh):
            xj = x[j] + c[j]
            p = sigmoid(xj)
            if sample_out != NULL:
                sample_out[j] = 1 if uniform(st, first + j, xj) < p else 0
            if mean_out != NULL:
                mean_out[j] = p * mean_scale
    elif hidden == HID_STEPPED:
        for j in range(nh):
            xj = x[j] + c[j]
            m = 0
            s = 0
            for k in range(n_copies):
                p = sigmoid(xj - <floating>(k + 0.5))
                m = m + p
                if sample_out != NULL and uniform(st, (first + j) * n_copies + k, xj) < p:
                    s = s + 1
            if sample_out != NULL:
                sample_out[j] = s
            if mean_out != NULL:
                mean_out[j] = m * mean_scale
    else:
        for j in range(nh):
            xj = x[j] + c[j]
            if sample_out != NULL:
                p = xj + <floating>sqrt(sigmoid(xj)) * <floating>frbm_normal(st, first + j)
                sample_out[j] = p if p > 0 else 0
            if mean_out != NULL:
                mean_out[j] = (<floating>nrelu_mean(xj)) * mean_scale


cdef inline void _hidden_row_at(Py_ssize_t r, int nh, floating *x, const floating *c,
                                int hidden, int n_copies, floating mean_scale,
                                floating *mean_out, floating *sample_out, uint64_t seed,
                                uint32_t stream, uint32_t step) noexcept nogil:
    cdef frbm_stream st
    frbm_stream_init(&st, seed, stream, step)
    _hidden_row(x + r * nh, c, nh, hidden, n_copies, mean_scale,
                mean_out + r * nh if mean_out != NULL else NULL,
                sample_out + r * nh if sample_out != NULL else NULL,
                &st, <uint64_t>r * nh)


cdef inline void _hidden_pass(int n_rows, int nh, floating *x, const floating *c, int hidden,
                       int n_copies, floating mean_scale, floating *mean_out,
                       floating *sample_out, uint64_t seed, uint32_t stream,
                       uint32_t step, int n_threads) noexcept nogil:
    """Rows of ``x`` -> hidden means/samples; rows are independent (parallel)."""
    cdef Py_ssize_t r
    cdef int nt = n_threads if <int64_t>n_rows * nh * (n_copies if hidden == HID_STEPPED else 1) >= PARALLEL_MIN_ELEMENTS else 1
    if nt > 1:
        for r in prange(n_rows, num_threads=nt, schedule="static"):
            _hidden_row_at(r, nh, x, c, hidden, n_copies, mean_scale, mean_out,
                           sample_out, seed, stream, step)
    else:
        for r in range(n_rows):
            _hidden_row_at(r, nh, x, c, hidden, n_copies, mean_scale, mean_out,
                           sample_out, seed, stream, step)


cdef inline void _visible_row(floating *y, const floating *bias, const floating *scale,
                              int nv, int visible, bint sample, frbm_stream *st,
                              uint64_t first) noexcept nogil:
    """One row in place: products -> mean or sample.

    Input is ``bias + scale * y`` (``scale`` NULL means 1). Bernoulli: sigmoid of it,
    sampled with uniform ``first + i``. Gaussian: the input is the mean, sampled by
    adding ``scale * normal(first + i)``.
    """
    cdef int i
    cdef floating yi, p, s
    if visible == VIS_BERNOULLI:
        for i in range(nv):
            yi = y[i] * scale[i] + bias[i] if scale != NULL else y[i] + bias[i]
            p = sigmoid(yi)
            if sample:
                y[i] = 1 if uniform(st, first + i, yi) < p else 0
            else:
                y[i] = p
    else:
        for i in range(nv):
            s = scale[i] if scale != NULL else 1
            yi = y[i] * s + bias[i] if scale != NULL else y[i] + bias[i]
            if sample:
                yi = yi + s * <floating>frbm_normal(st, first + i)
            y[i] = yi


cdef inline void _visible_row_at(Py_ssize_t r, floating *y, const floating *bias,
                                 const floating *scale, int nv, int visible, bint sample,
                                 uint64_t seed, uint32_t stream, uint32_t step) noexcept nogil:
    cdef frbm_stream st
    frbm_stream_init(&st, seed, stream, step)
    _visible_row(y + r * nv, bias, scale, nv, visible, sample, &st, <uint64_t>r * nv)


cdef inline void _visible_pass(int n_rows, int nv, floating *y, const floating *bias,
                        const floating *scale, int visible, bint sample, uint64_t seed,
                        uint32_t stream, uint32_t step, int n_threads) noexcept nogil:
    cdef Py_ssize_t r
    cdef int nt = n_threads if <int64_t>n_rows * nv >= PARALLEL_MIN_ELEMENTS else 1
    if nt > 1:
        for r in prange(n_rows, num_threads=nt, schedule="static"):
            _visible_row_at(r, y, bias, scale, nv, visible, sample, seed, stream, step)
    else:
        for r in range(n_rows):
            _visible_row_at(r, y, bias, scale, nv, visible, sample, seed, stream, step)


cdef inline void _colsum(int n_rows, int n_cols, const floating *a, floating *out,
                  int n_threads) noexcept nogil:
    """out[j] = sum_r a[r, j], rows added in order: the same for any thread count."""
    cdef Py_ssize_t blk, r, j, j0, j1
    cdef Py_ssize_t n_blk = (n_cols + 63) // 64
    cdef int nt = n_threads if <int64_t>n_rows * n_cols >= PARALLEL_MIN_ELEMENTS else 1
    for blk in prange(n_blk, num_threads=nt, schedule="static"):
        j0 = blk * 64
        j1 = j0 + 64 if j0 + 64 < n_cols else n_cols
        for j in range(j0, j1):
            out[j] = 0
        for r in range(n_rows):
            for j in range(j0, j1):
                out[j] = out[j] + a[r * n_cols + j]


