# Elementwise row passes shared by every kernel module: bias + mean + sample for a
# block of units of one row (or for groups of whole rows), in chunks the compiler
# vectorises; the kernels split units or rows over OpenMP threads. All functions are
# inline so that each extension compiles its own copy.
from cython cimport floating
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memcpy

from fastrbm._constants cimport (VIS_BERNOULLI, VIS_GAUSSIAN, HID_BERNOULLI, HID_STEPPED,
                                STEPPED_WORDS)



cdef extern from "fastmath.h" nogil:
    void frbm_philox_fill(uint64_t seed, uint32_t stream, uint32_t step, uint64_t first,
                          int64_t n, uint32_t *out)
    void frbm_sigmoid_chunk_f32(const float *x, const float *scale, const float *bias,
                                float *p, int m)
    void frbm_sigmoid_chunk_f64(const double *x, const double *scale, const double *bias,
                                double *p, int m)
    void frbm_bernoulli_chunk_f32(const uint32_t *w, const float *p, float *s, int m)
    void frbm_bernoulli_chunk_f64(const uint32_t *w, const double *p, double *s, int m)
    void frbm_normals_fill(uint64_t seed, uint32_t stream, uint32_t step, uint64_t first,
                           int m, double *z)
    void frbm_stepped_chunk_f32(const float *x, int n_copies, const uint32_t *w, float *acc,
                                float *cnt, int m, int sample)
    void frbm_stepped_chunk_f64(const double *x, int n_copies, const uint32_t *w, double *acc,
                                double *cnt, int m, int sample)
    void frbm_nrelu_sample_chunk_f32(const float *x, const double *z, float *s, int m)
    void frbm_nrelu_sample_chunk_f64(const double *x, const double *z, double *s, int m)
    void frbm_nrelu_mean_chunk_f32(const float *x, float *out, int m, float scale)
    void frbm_nrelu_mean_chunk_f64(const double *x, double *out, int m, double scale)


cdef inline void sigmoid_chunk(const floating *x, const floating *scale, const floating *bias,
                               floating *p, int m) noexcept nogil:
    if floating is float:
        frbm_sigmoid_chunk_f32(x, scale, bias, p, m)
    else:
        frbm_sigmoid_chunk_f64(x, scale, bias, p, m)


cdef inline void bernoulli_chunk(const uint32_t *w, const floating *p, floating *s,
                                 int m) noexcept nogil:
    if floating is float:
        frbm_bernoulli_chunk_f32(w, p, s, m)
    else:
        frbm_bernoulli_chunk_f64(w, p, s, m)


# Streams: keep in step with fastrbm/streams.py.
cdef inline uint32_t stream_hidden(int t, uint32_t purpose) noexcept nogil:
    return purpose + 2 * t

cdef inline uint32_t stream_visible(int t, uint32_t purpose) noexcept nogil:
    return purpose + 2 * t - 1


# ----------------------------------------------------------------- row passes
# Rows are processed in chunks held in stack buffers (no allocation, private to the
# thread): first the probabilities of the whole chunk, then its random words in bulk,
# then the comparisons -- three simple loops the compiler vectorises.
cdef enum:
    CHUNK = 256


cdef inline void _bernoulli_row(const floating *x, const floating *bias,
                                const floating *scale, int n, floating mean_scale,
                                floating *mean_out, floating *sample_out, uint64_t seed,
                                uint32_t stream, uint32_t step, uint64_t first) noexcept nogil:
    """Binary units: p = sigmoid(bias + scale * x); sample = uniform(first + j) < p.

    Outputs may alias ``x`` (each chunk's probabilities are computed before writing).
    """
    cdef floating p[CHUNK]
    cdef uint32_t w[CHUNK]
    cdef int j0 = 0, j, m
    while j0 < n:
        m = n - j0 if n - j0 < CHUNK else CHUNK
        sigmoid_chunk(x + j0, scale + j0 if scale != NULL else NULL, bias + j0, p, m)
        if sample_out != NULL:
            frbm_philox_fill(seed, stream, step, first + j0, m, w)
            bernoulli_chunk(w, p, sample_out + j0, m)
        if mean_out != NULL:
            for j in range(m):
                mean_out[j0 + j] = p[j] * mean_scale
        j0 += m


cdef inline void _stepped_row(const floating *x, const floating *c, int n, int n_copies,
                              floating mean_scale, floating *mean_out, floating *sample_out,
                              uint64_t seed, uint32_t stream, uint32_t step,
                              uint64_t first) noexcept nogil:
    """Stepped sigmoid units: copy k of unit j has input x_j - k + 0.5 and word
    ``(first + j) * n_copies + k``; mean and sample are sums over the copies."""
    cdef floating xb[CHUNK]
    cdef floating acc[CHUNK]
    cdef floating cnt[CHUNK]
    cdef uint32_t w[STEPPED_WORDS]
    cdef int j0 = 0, j, m
    cdef int per_chunk = STEPPED_WORDS // n_copies
    if per_chunk > CHUNK:
        per_chunk = CHUNK
    while j0 < n:
        m = n - j0 if n - j0 < per_chunk else per_chunk
        for j in range(m):
            xb[j] = x[j0 + j] + c[j0 + j]
            acc[j] = 0
            cnt[j] = 0
        if sample_out != NULL:
            frbm_philox_fill(seed, stream, step, (first + j0) * n_copies, m * n_copies, w)
        if floating is float:
            frbm_stepped_chunk_f32(xb, n_copies, w, acc, cnt, m, sample_out != NULL)
        else:
            frbm_stepped_chunk_f64(xb, n_copies, w, acc, cnt, m, sample_out != NULL)
        if sample_out != NULL:
            for j in range(m):
                sample_out[j0 + j] = cnt[j]
        if mean_out != NULL:
            for j in range(m):
                mean_out[j0 + j] = acc[j] * mean_scale
        j0 += m


cdef inline void _nrelu_row(const floating *x, const floating *c, int n, floating mean_scale,
                            floating *mean_out, floating *sample_out, uint64_t seed,
                            uint32_t stream, uint32_t step, uint64_t first) noexcept nogil:
    """NReLU units: sample max(0, x + sqrt(sigmoid(x)) * normal(first + j)); the mean is
    the rectified normal's (vectorised; the normal tail from fastmath.h's erfc series)."""
    cdef floating xb[CHUNK]
    cdef double z[CHUNK]
    cdef int j0 = 0, j, m
    while j0 < n:
        m = n - j0 if n - j0 < CHUNK else CHUNK
        for j in range(m):
            xb[j] = x[j0 + j] + c[j0 + j]
        if sample_out != NULL:
            frbm_normals_fill(seed, stream, step, first + j0, m, z)
            if floating is float:
                frbm_nrelu_sample_chunk_f32(xb, z, sample_out + j0, m)
            else:
                frbm_nrelu_sample_chunk_f64(xb, z, sample_out + j0, m)
        if mean_out != NULL:
            if floating is float:
                frbm_nrelu_mean_chunk_f32(xb, mean_out + j0, m, mean_scale)
            else:
                frbm_nrelu_mean_chunk_f64(xb, mean_out + j0, m, mean_scale)
        j0 += m


cdef inline void _hidden_row(floating *x, const floating *c, int nh, int hidden,
                             int n_copies, floating mean_scale, floating *mean_out,
                             floating *sample_out, uint64_t seed, uint32_t stream,
                             uint32_t step, uint64_t first) noexcept nogil:
    """One row: x (products without bias) -> mean (times mean_scale) and sample.

    ``mean_out`` may alias ``x``; either output may be NULL. ``first`` is the index of
    the row's first element in the C-ordered matrix (for the random stream).
    """
    if hidden == HID_BERNOULLI:
        _bernoulli_row(x, c, <const floating *>NULL, nh, mean_scale, mean_out, sample_out,
                       seed, stream, step, first)
    elif hidden == HID_STEPPED:
        _stepped_row(x, c, nh, n_copies, mean_scale, mean_out, sample_out, seed, stream,
                     step, first)
    else:
        _nrelu_row(x, c, nh, mean_scale, mean_out, sample_out, seed, stream, step, first)


cdef inline void _hidden_block_at(Py_ssize_t r, int j0, int j1, int nh, floating *x,
                                  const floating *c, int hidden, int n_copies,
                                  floating mean_scale, floating *mean_out,
                                  floating *sample_out, uint64_t seed, uint32_t stream,
                                  uint32_t step) noexcept nogil:
    """Units [j0, j1) of row ``r`` of (rows x nh) matrices; element (r, j) draws word(s)
    ``r * nh + j`` whatever block it is computed in, so any split gives the same draws."""
    cdef Py_ssize_t at = r * nh + j0
    _hidden_row(x + at, c + j0, j1 - j0, hidden, n_copies, mean_scale,
                mean_out + at if mean_out != NULL else NULL,
                sample_out + at if sample_out != NULL else NULL,
                seed, stream, step, <uint64_t>at)


cdef inline void _gaussian_row(floating *y, const floating *bias, const floating *scale,
                               int nv, bint sample, uint64_t seed, uint32_t stream,
                               uint32_t step, uint64_t first) noexcept nogil:
    """Gaussian units in place: mean = bias + scale * y; a sample adds scale * normal."""
    cdef double z[CHUNK]
    cdef int i0 = 0, i, m
    while i0 < nv:
        m = nv - i0 if nv - i0 < CHUNK else CHUNK
        if scale != NULL:
            for i in range(m):
                y[i0 + i] = y[i0 + i] * scale[i0 + i] + bias[i0 + i]
        else:
            for i in range(m):
                y[i0 + i] = y[i0 + i] + bias[i0 + i]
        if sample:
            frbm_normals_fill(seed, stream, step, first + i0, m, z)
            if scale != NULL:
                for i in range(m):
                    y[i0 + i] = y[i0 + i] + scale[i0 + i] * <floating>z[i]
            else:
                for i in range(m):
                    y[i0 + i] = y[i0 + i] + <floating>z[i]
        i0 += m


cdef inline void _visible_block_at(Py_ssize_t r, int i0, int i1, floating *y,
                                   const floating *bias, const floating *scale, int nv,
                                   int visible, bint sample, uint64_t seed, uint32_t stream,
                                   uint32_t step) noexcept nogil:
    """Units [i0, i1) of row ``r`` in place: products -> mean, or sample (uniform / normal
    ``r*nv + i``, the same whatever the split)."""
    cdef Py_ssize_t at = r * nv + i0
    cdef floating *part = y + at
    cdef const floating *part_scale = scale + i0 if scale != NULL else NULL
    if visible == VIS_BERNOULLI:
        _bernoulli_row(part, bias + i0, part_scale, i1 - i0, <floating>1,
                       NULL if sample else part, part if sample else NULL, seed, stream,
                       step, <uint64_t>at)
    else:
        _gaussian_row(part, bias + i0, part_scale, i1 - i0, sample, seed, stream, step,
                      <uint64_t>at)


cdef inline void _visible_row_at(Py_ssize_t r, floating *y, const floating *bias,
                                 const floating *scale, int nv, int visible, bint sample,
                                 uint64_t seed, uint32_t stream, uint32_t step) noexcept nogil:
    """Row ``r`` in place: products -> mean, or sample (uniform / normal ``r*nv + i``)."""
    _visible_block_at(r, 0, nv, y, bias, scale, nv, visible, sample, seed, stream, step)


# ------------------------------------------------------ several rows at a time
# A row pass on short rows (c: 100 hidden, 64 visible units) spends as much in per-call
# and per-chunk overhead as in the sigmoids and Philox rounds. When a block spans whole
# rows of a C-ordered matrix, rows [r0, r1) are one contiguous vector whose element
# indices -- hence random words -- run on from row to row; only the bias repeats. So
# binary units on rows of at most ROW_GROUP / 2 units are run as groups of rows against
# a bias repeated along a stack buffer: the same values, the same words, longer loops.
cdef enum:
    ROW_GROUP = 1024


cdef inline bint _rows_grouped(int n_units, int block, int n_rows) noexcept nogil:
    return block == n_units and 2 * n_units <= ROW_GROUP and n_rows > 1


cdef inline void _bernoulli_rows(Py_ssize_t r0, Py_ssize_t r1, int n, floating *x,
                                 const floating *bias, const floating *scale,
                                 floating mean_scale, floating *mean_out,
                                 floating *sample_out, uint64_t seed, uint32_t stream,
                                 uint32_t step) noexcept nogil:
    """Binary units on whole rows r0..r1-1 of (rows x n) matrices, grouped (see above);
    outputs may alias ``x``, as in _bernoulli_row."""
    cdef floating bias_rep[ROW_GROUP]
    cdef floating scale_rep[ROW_GROUP]
    cdef int per = ROW_GROUP // n, g
    cdef Py_ssize_t r = r0, at
    if per > r1 - r0:
        per = <int>(r1 - r0)
    for g in range(per):
        memcpy(bias_rep + g * n, bias, n * sizeof(floating))
        if scale != NULL:
            memcpy(scale_rep + g * n, scale, n * sizeof(floating))
    while r < r1:
        g = per if r1 - r > per else <int>(r1 - r)
        at = r * n
        _bernoulli_row(x + at, bias_rep, scale_rep if scale != NULL else NULL, g * n,
                       mean_scale, mean_out + at if mean_out != NULL else NULL,
                       sample_out + at if sample_out != NULL else NULL, seed, stream, step,
                       <uint64_t>at)
        r += g


cdef inline void _hidden_rows(Py_ssize_t r0, Py_ssize_t r1, int j0, int j1, int nh,
                              floating *x, const floating *c, int hidden, int n_copies,
                              floating mean_scale, floating *mean_out, floating *sample_out,
                              uint64_t seed, uint32_t stream, uint32_t step) noexcept nogil:
    """Units [j0, j1) of rows [r0, r1): the hidden pass of a block, grouped when it can."""
    cdef Py_ssize_t r
    if hidden == HID_BERNOULLI and _rows_grouped(nh, j1 - j0, <int>(r1 - r0)):
        _bernoulli_rows(r0, r1, nh, x, c, <const floating *>NULL, mean_scale, mean_out,
                        sample_out, seed, stream, step)
        return
    for r in range(r0, r1):
        _hidden_block_at(r, j0, j1, nh, x, c, hidden, n_copies, mean_scale, mean_out,
                         sample_out, seed, stream, step)


cdef inline void _visible_rows(Py_ssize_t r0, Py_ssize_t r1, int i0, int i1, floating *y,
                               const floating *bias, const floating *scale, int nv,
                               int visible, bint sample, uint64_t seed, uint32_t stream,
                               uint32_t step) noexcept nogil:
    """Units [i0, i1) of rows [r0, r1) in place: the visible pass of a block."""
    cdef Py_ssize_t r
    if visible == VIS_BERNOULLI and _rows_grouped(nv, i1 - i0, <int>(r1 - r0)):
        _bernoulli_rows(r0, r1, nv, y, bias, scale, <floating>1, NULL if sample else y,
                        y if sample else NULL, seed, stream, step)
        return
    for r in range(r0, r1):
        _visible_block_at(r, i0, i1, y, bias, scale, nv, visible, sample, seed, stream, step)
