# cython: language_level=3
"""Annealed importance sampling (Salakhutdinov & Murray 2008) in the kernels.

All runs move as one batch: per intermediate distribution one gemm to the hidden
side, one tempered hidden pass (log-weight update from the free-energy terms, then
the hidden sample), one gemm to the visible side and one tempered visible pass. The
loop runs without the GIL; fused types give one source for float32 and float64.
Threads split the runs for the tempered passes and, on large models, the units for
the products (see ``_ais_worker``).

The path and the random streams are documented in :func:`fastrbm.reference.ais`,
whose arithmetic this module repeats expression for expression, so that the kernel
and the reference draw the very same samples.
"""
import numpy as np

from fastrbm import _kernel_args
from fastrbm._blas_runtime import blas_held_at_one

from cython cimport floating
from cython.parallel cimport parallel
from libc.math cimport sqrt, floor, expm1, log1p
from libc.stdint cimport uint32_t, uint64_t, int64_t

from fastrbm._blas cimport gemm, NO_TRANS, TRANS
from fastrbm._omp cimport (frbm_openmp_enabled, frbm_thread_num, frbm_num_threads,
                           frbm_barrier, _part)
from fastrbm._segments cimport frbm_seconds, next_segment, PyErr_CheckSignals
from fastrbm._rng cimport frbm_stream, frbm_stream_init, frbm_normal
from fastrbm._unitmath cimport sigmoid, uniform, nrelu_phi
from fastrbm._constants cimport (VIS_BERNOULLI, VIS_GAUSSIAN, HID_BERNOULLI, HID_STEPPED,
                                HID_NRELU, NRELU_CUTOFF, NRELU_AIS_STRIDE,
                                NRELU_WINDOW_FLOAT32, NRELU_WINDOW_FLOAT64,
                                PARALLEL_MIN_ELEMENTS, MIN_UNITS_PER_THREAD,
                                MIN_ROWS_PER_THREAD, AIS_UNIT_SPLIT_MIN)
from fastrbm._passes cimport (CHUNK, stream_hidden, stream_visible, _hidden_row,
                              _visible_row_at)


cdef struct AisConfig:
    int nv
    int nh
    int n_runs
    int visible
    int hidden
    int n_copies
    uint64_t seed
    uint32_t stream_h
    uint32_t stream_v
    bint unit_split
    # RAISE: V starts at the data and transition 0 is a sweep at betas[0] (no weight);
    # AIS: transition 0 draws the base sample
    bint from_data


cdef inline double _phi_increment(double a, double beta_prev, double beta, int hidden,
                                  int n_copies) noexcept nogil:
    """phi(beta a) - phi(beta_prev a) (fastrbm.reference.ais_phi_increment)."""
    cdef double x0, em, total
    cdef int k
    if hidden == HID_NRELU:
        return nrelu_phi(beta * a, NRELU_CUTOFF) - nrelu_phi(beta_prev * a, NRELU_CUTOFF)
    x0 = beta_prev * a
    em = expm1((beta - beta_prev) * a)
    if hidden == HID_BERNOULLI:
        return log1p(sigmoid(x0) * em)
    total = 0
    for k in range(1, n_copies + 1):
        total = total + log1p(sigmoid(x0 - (k - 0.5)) * em)
    return total


cdef inline floating _nrelu_exact(floating x, frbm_stream *st, uint64_t index) noexcept nogil:
    """Exact sample of the infinite stepped sum (fastrbm.reference.nrelu_exact_sample).

    Outside a window of half-width T the copies are decided whatever the uniform:
    sigmoid(T) rounds to 1 and sigmoid(-T) is below the smallest uniform.
    """
    cdef int T = NRELU_WINDOW_FLOAT32 if floating is float else NRELU_WINDOW_FLOAT64
    cdef double m = floor(<double>x + 0.5 - T)
    cdef double count
    cdef floating a
    cdef int j
    if m < 0:
        m = 0
    count = m
    for j in range(2 * T):
        a = x - <floating>(m + 1 + j - 0.5)
        if a > -T and uniform(st, index * NRELU_AIS_STRIDE + j, a) < sigmoid(a):
            count = count + 1
    return <floating>count


cdef extern from "fastmath.h" nogil:
    double frbm_ais_phi_increment_f32(const float *a, int m, int n_copies, float beta_prev,
                                      float beta, float *buf)
    double frbm_ais_phi_increment_f64(const double *a, int m, int n_copies, double beta_prev,
                                      double beta, double *buf)
    double frbm_dot_f32(const float *x, const double *y, int n)
    double frbm_dot_f64(const double *x, const double *y, int n)


cdef void _tempered_hidden_row(const AisConfig *cfg, Py_ssize_t r, floating *P, const floating *c,
                               const floating *zero_h, const floating *V, const double *b64,
                               const double *bA, const double *b_delta, const double *s64,
                               const double *sA,
                               double beta_prev, double beta, bint weigh, bint sample,
                               floating *H, double *log_w, uint32_t step) noexcept nogil:
    """Run r: log w += -F_beta(v) + F_beta_prev(v) if ``weigh``; then h ~ p_beta(h | v)
    if ``sample``. (RAISE runs the betas downwards: the same expression is then minus
    the forward increment, the reverse chain's weight.)

    Binary and stepped units go through the vectorised chunk loops (fastmath.h) and the
    shared row pass; NReLU units through the exact stepped-sum sampler.
    """
    cdef int nv = cfg.nv, nh = cfg.nh, j
    cdef const floating *v = V + r * nv
    cdef floating *p = P + r * nh
    cdef frbm_stream st
    for j in range(nh):
        p[j] = p[j] + c[j]
    if weigh:
        log_w[r] = log_w[r] + _log_weight_increment(cfg, v, p, b64, bA, b_delta, s64, sA,
                                                    beta_prev, beta)
    for j in range(nh):
        p[j] = p[j] * <floating>beta
    if not sample:
        return
    if cfg.hidden == HID_NRELU:
        frbm_stream_init(&st, cfg.seed, cfg.stream_h, step)
        for j in range(nh):
            H[r * nh + j] = _nrelu_exact(p[j], &st, <uint64_t>(r * nh + j))
    else:
        # the shared row pass with a zero bias: p holds beta * (input + bias)
        _hidden_row(p, zero_h, nh, cfg.hidden, cfg.n_copies, <floating>1, <floating *>NULL,
                    H + r * nh, cfg.seed, cfg.stream_h, step, <uint64_t>(r * nh))


cdef double _log_weight_increment(const AisConfig *cfg, const floating *v, const floating *p,
                                  const double *b64, const double *bA, const double *b_delta,
                                  const double *s64, const double *sA, double beta_prev,
                                  double beta) noexcept nogil:
    """-F_beta(v) + F_beta_prev(v) of one run, ``p`` its hidden input (bias included).

    Binary and stepped units go through the vectorised chunk loops (fastmath.h); NReLU
    units through the scalar free-energy term.
    """
    cdef int nv = cfg.nv, nh = cfg.nh, i, j, j0, m
    cdef double vis = 0, hid = 0, d, e
    cdef floating buf[CHUNK]
    if cfg.visible == VIS_BERNOULLI:
        # b_delta = b - b_base, precomputed once per run of the kernel
        if floating is float:
            vis = frbm_dot_f32(v, b_delta, nv)
        else:
            vis = frbm_dot_f64(v, b_delta, nv)
    else:
        for i in range(nv):
            d = (v[i] - bA[i]) / sA[i]
            e = (v[i] - b64[i]) / s64[i]
            vis = vis + (0.5 * (d * d) - 0.5 * (e * e))
    if cfg.hidden == HID_NRELU:
        for j in range(nh):
            hid = hid + _phi_increment(<double>p[j], beta_prev, beta, cfg.hidden, cfg.n_copies)
    else:
        j0 = 0
        while j0 < nh:
            m = nh - j0 if nh - j0 < CHUNK else CHUNK
            if floating is float:
                hid = hid + frbm_ais_phi_increment_f32(
                    p + j0, m, cfg.n_copies if cfg.hidden == HID_STEPPED else 0,
                    <float>beta_prev, <float>beta, buf)
            else:
                hid = hid + frbm_ais_phi_increment_f64(
                    p + j0, m, cfg.n_copies if cfg.hidden == HID_STEPPED else 0,
                    beta_prev, beta, buf)
            j0 += m
    return (beta - beta_prev) * vis + hid


cdef void _tempered_visible_row(const AisConfig *cfg, Py_ssize_t r, floating *Y, const floating *bias,
                       const floating *scale, const floating *sd, uint32_t step) noexcept nogil:
    """Run r in place: products h W -> v ~ p_beta(v | h) (reference.ais_visible_sample)."""
    cdef int nv = cfg.nv, i
    cdef floating *y = Y + r * nv
    cdef floating yi
    cdef frbm_stream st
    cdef uint64_t first = <uint64_t>(r * nv)
    if cfg.visible == VIS_BERNOULLI:
        _visible_row_at(r, Y, bias, scale, nv, VIS_BERNOULLI, True, cfg.seed, cfg.stream_v,
                        step)
        return
    frbm_stream_init(&st, cfg.seed, cfg.stream_v, step)
    for i in range(nv):
        yi = y[i] * scale[i] + bias[i]
        y[i] = yi + sd[i] * <floating>frbm_normal(&st, first + i)


cdef void _coefficients(const AisConfig *cfg, double beta, const double *b64,
                        const double *bA, const double *s64, const double *sA,
                        floating *bias, floating *scale, floating *sd) noexcept nogil:
    """Tempered visible conditional at beta (reference.ais_visible_coefficients)."""
    cdef int i
    cdef double lam, mu
    for i in range(cfg.nv):
        if cfg.visible == VIS_BERNOULLI:
            bias[i] = <floating>((1 - beta) * bA[i] + beta * b64[i])
            scale[i] = <floating>beta
        else:
            lam = (1 - beta) / (sA[i] * sA[i]) + beta / (s64[i] * s64[i])
            mu = ((1 - beta) * bA[i] / (sA[i] * sA[i]) + beta * b64[i] / (s64[i] * s64[i])) / lam
            bias[i] = <floating>mu
            scale[i] = <floating>(beta / (s64[i] * lam))
            sd[i] = <floating>(1 / sqrt(lam))




cdef void _ais_worker(const AisConfig *cfg, const floating *W, const floating *W_hid,
                      const floating *c, const floating *zero_h, const double *b64,
                      const double *bA, const double *b_delta, const double *s64,
                      const double *sA, const double *betas, int K, floating *V,
                      floating *P, floating *H, floating *coef_all, double *log_w,
                      int k_start, int k_stop) noexcept nogil:
    """One thread's share of transitions k_start .. k_stop - 1.

    The tempered passes (log weights, samples) are per run: each thread takes a
    contiguous block of runs. The products either follow the runs (each thread
    multiplies its runs by all of W: no synchronisation at all, best for small models)
    or, with ``cfg.unit_split``, are split by units like the training epoch's (each
    thread computes its block of hidden, then visible units for every run, so BLAS packs
    only its share of W), with barriers between products and passes. ``coef_all`` holds
    three rows of tempered visible coefficients per thread.
    """
    cdef int n_threads = frbm_num_threads(), tid = frbm_thread_num()
    cdef int nv = cfg.nv, nh = cfg.nh, n = cfg.n_runs, k, r, r0, r1, m, j0, j1, i0, i1
    cdef bint units = cfg.unit_split
    cdef Py_ssize_t i
    cdef floating *coef = coef_all + <Py_ssize_t>tid * 3 * nv
    _part(n, tid, n_threads, &r0, &r1)
    _part(nh, tid, n_threads, &j0, &j1)
    _part(nv, tid, n_threads, &i0, &i1)
    m = r1 - r0
    if m <= 0 and not units:
        return
    if k_start == 0 and not cfg.from_data:
        # AIS: the base sample (betas[0] = 0) is transition 0
        _coefficients(cfg, 0.0, b64, bA, s64, sA, coef, coef + nv, coef + 2 * nv)
        for i in range(<Py_ssize_t>r0 * nv, <Py_ssize_t>r1 * nv):
            V[i] = 0
        for r in range(r0, r1):
            _tempered_visible_row(cfg, r, V, coef, coef + nv, coef + 2 * nv, 0)
        k_start = 1
    for k in range(k_start, k_stop):
        # RAISE's transition 0 is a sweep at betas[0] = 1 from the data, without weight
        if units:
            frbm_barrier()      # every run's visible state is complete
            if j1 > j0:
                gemm(NO_TRANS, TRANS, n, j1 - j0, nv, <floating>1, V, nv,
                     W_hid + <Py_ssize_t>j0 * nv, nv, <floating>0, P + j0, nh)
            frbm_barrier()      # every run's hidden input is complete
        elif m > 0:
            gemm(NO_TRANS, TRANS, m, nh, nv, <floating>1, V + <Py_ssize_t>r0 * nv, nv, W_hid, nv,
                 <floating>0, P + <Py_ssize_t>r0 * nh, nh)
        for r in range(r0, r1):
            _tempered_hidden_row(cfg, r, P, c, zero_h, V, b64, bA, b_delta, s64, sA,
                                 betas[k - 1 if k > 0 else 0], betas[k], k > 0, k < K, H,
                                 log_w, <uint32_t>k)
        if k == K:
            break
        _coefficients(cfg, betas[k], b64, bA, s64, sA, coef, coef + nv, coef + 2 * nv)
        if units:
            frbm_barrier()      # every run's hidden state is complete
            if i1 > i0:
                gemm(NO_TRANS, NO_TRANS, n, i1 - i0, nh, <floating>1, H, nh, W + i0, nv,
                     <floating>0, V + i0, nv)
            frbm_barrier()      # every run's visible products are complete
        elif m > 0:
            gemm(NO_TRANS, NO_TRANS, m, nv, nh, <floating>1, H + <Py_ssize_t>r0 * nh, nh, W, nv,
                 <floating>0, V + <Py_ssize_t>r0 * nv, nv)
        for r in range(r0, r1):
            _tempered_visible_row(cfg, r, V, coef, coef + nv, coef + 2 * nv, <uint32_t>k)


# Products of at least AIS_UNIT_SPLIT_MIN multiply-adds are split by units (_constants.pxd).
cpdef bint ais_unit_split(n_runs, n_visible, n_hidden, n_threads):
    """Whether AIS on ``n_threads`` threads splits its products by units (large models)
    rather than by runs (small ones, where barriers would cost more than packing)."""
    _kernel_args.thread_counts(n_runs=n_runs, n_visible=n_visible, n_hidden=n_hidden,
                               n_threads=n_threads)
    return n_threads > 1 and min(n_visible, n_hidden) >= MIN_UNITS_PER_THREAD * n_threads and \
        <int64_t>n_runs * n_visible * n_hidden >= AIS_UNIT_SPLIT_MIN


cpdef int ais_threads(n_runs, n_visible, n_hidden, n_threads):
    """Threads AIS runs on: ``n_threads`` when each gets 4 runs or more and the products
    are big enough, else 1. With more than one, BLAS must stay at one thread meanwhile."""
    _kernel_args.thread_counts(n_runs=n_runs, n_visible=n_visible, n_hidden=n_hidden,
                               n_threads=n_threads)
    if frbm_openmp_enabled() and n_threads > 1 and n_runs >= MIN_ROWS_PER_THREAD * n_threads and \
            <int64_t>n_runs * (n_visible + n_hidden) >= PARALLEL_MIN_ELEMENTS:
        return n_threads
    return 1


def _ais_typed(const floating[:, ::1] W, const floating[:, ::1] W_hid,
               const floating[::1] c, const floating[::1] zero_h, const double[::1] b64,
               const double[::1] bA, const double[::1] b_delta, const double[::1] s64,
               const double[::1] sA, const double[::1] betas,
               floating[:, ::1] V, floating[:, ::1] P, floating[:, ::1] H,
               floating[:, ::1] coef, double[::1] log_w,
               int visible, int hidden, int n_copies, uint64_t seed, uint32_t purpose,
               int n_threads, int k_start, int k_stop, bint from_data=False):
    """Transitions k_start .. k_stop - 1 (k = 0 draws the base sample first; with
    ``from_data``, RAISE's first sweep from the rows V holds)."""
    _kernel_args.ais_typed(W, W_hid, c, zero_h, b64, bA, b_delta, s64, sA, betas, V, P, H,
                           coef, log_w, visible, hidden, n_copies, seed, purpose, n_threads,
                           k_start, k_stop, from_data)
    cdef AisConfig cfg
    cdef int K = betas.shape[0] - 1
    cdef int nv = W.shape[1], nh = W.shape[0], n = V.shape[0]
    cdef int nt = ais_threads(n, nv, nh, n_threads)
    cfg.nv = nv
    cfg.nh = nh
    cfg.n_runs = n
    cfg.visible = visible
    cfg.hidden = hidden
    cfg.n_copies = n_copies
    cfg.seed = seed
    cfg.stream_h = stream_hidden(1, purpose)
    cfg.stream_v = stream_visible(1, purpose)
    cfg.unit_split = ais_unit_split(n, nv, nh, nt)
    cfg.from_data = from_data
    if coef.shape[0] < 3 * nt or coef.shape[1] != nv:
        raise ValueError("coef must have 3 rows per thread")
    with nogil, parallel(num_threads=nt):
        _ais_worker(&cfg, &W[0, 0], &W_hid[0, 0], &c[0], &zero_h[0], &b64[0], &bA[0],
                    &b_delta[0], &s64[0], &sA[0], &betas[0], K, &V[0, 0], &P[0, 0],
                    &H[0, 0], &coef[0, 0], &log_w[0], k_start, k_stop)


def ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, n_runs, seed,
        purpose=None, n_threads=None, progress=None, chunk=None):
    """AIS log-weights and base log Z; twin of :func:`fastrbm.reference.ais`.

    ``W`` (hidden x visible) and ``c`` share a float dtype and are C-contiguous;
    ``betas`` is float64, increasing from 0 to 1. The transitions run in segments of
    about 20 ms without the GIL; between segments pending signals are checked (Ctrl-C
    raises KeyboardInterrupt) and ``progress(k, K)`` is called. ``chunk`` caps the
    transitions of a segment (the result does not depend on how they are cut).
    """
    _kernel_args.ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma,
                     n_runs, seed, purpose, n_threads, progress, chunk)
    from fastrbm import streams

    if purpose is None:
        purpose = streams.PURPOSE_AIS
    V = np.empty((n_runs, W.shape[1]), dtype=W.dtype)
    return _annealed(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, V,
                     seed, purpose, n_threads, progress, chunk, False)


def reverse_ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, X,
                n_runs, seed, purpose=None, n_threads=None, progress=None, chunk=None):
    """RAISE's reverse chains: (sum of their log-weight increments, shape (n_rows,
    n_runs), base log Z); twin of :func:`fastrbm.reference.reverse_ais`.

    ``X`` (rows of W's dtype, any strides) gives ``n_runs`` chains per row, chain
    ``i * n_runs + q`` for run q of row i; ``betas`` increase from 0 to 1 (the chains
    run them downwards). The rest as :func:`ais`.
    """
    _kernel_args.reverse_ais(W, b, c, sigma, visible, hidden, n_copies, betas, base_b,
                             base_sigma, X, n_runs, seed, purpose, n_threads, progress, chunk)
    from fastrbm import streams

    if purpose is None:
        purpose = streams.PURPOSE_RAISE
    V = np.repeat(np.ascontiguousarray(X), n_runs, axis=0)
    down = np.ascontiguousarray(np.asarray(betas, dtype=np.float64)[::-1])
    log_w, log_z_base = _annealed(W, b, c, sigma, visible, hidden, n_copies, down, base_b,
                                  base_sigma, V, seed, purpose, n_threads, progress, chunk,
                                  True)
    return log_w.reshape(X.shape[0], n_runs), log_z_base


def _annealed(W, b, c, sigma, visible, hidden, n_copies, betas, base_b, base_sigma, V, seed,
              purpose, n_threads, progress, chunk, from_data):
    """The buffers around :func:`_ais_segments`: AIS (``V`` filled from the base model)
    or RAISE (``V`` holds the data, ``betas`` run from 1 down to 0)."""
    from fastrbm import _maths

    dt = W.dtype
    nh, nv = W.shape
    n_runs = V.shape[0]
    gauss = visible == VIS_GAUSSIAN
    b64 = np.ascontiguousarray(b, dtype=np.float64)
    bA = np.ascontiguousarray(base_b, dtype=np.float64)
    s64 = np.ascontiguousarray(sigma if gauss else np.ones(nv), dtype=np.float64)
    sA = np.ascontiguousarray(base_sigma if gauss else np.ones(nv), dtype=np.float64)
    W_hid = np.ascontiguousarray((W / np.asarray(sigma, dtype=dt)).astype(dt) if gauss else W)
    betas = np.ascontiguousarray(betas, dtype=np.float64)
    P = np.empty((n_runs, nh), dtype=dt)
    H = np.zeros((n_runs, nh), dtype=dt)
    coef = np.ones((3 * max(1, n_threads or 1), nv), dtype=dt)
    log_w = np.zeros(n_runs, dtype=np.float64)
    zero_h = np.zeros(nh, dtype=dt)
    with blas_held_at_one():
        _ais_segments(W, W_hid, c, zero_h, b64, bA, s64, sA, betas, V, P, H, coef, log_w,
                      visible, hidden, n_copies, seed, purpose, n_threads or 1, progress,
                      chunk or betas.shape[0], from_data)
    return log_w, _maths.ais_log_z_base(visible, hidden, n_copies, nh, bA,
                                        sA if gauss else None)


def _ais_segments(W, W_hid, c, zero_h, b64, bA, s64, sA, betas, V, P, H, coef, log_w,
                  visible, hidden, n_copies, seed, purpose, n_threads, progress,
                  max_segment, from_data=False):
    """All transitions in paced segments (see _segments.pxd), checking for signals and
    calling ``progress`` between them; ``from_data``: RAISE's chains from the rows of V."""
    _kernel_args.ais_segments(W, W_hid, c, zero_h, b64, bA, s64, sA, betas, V, P, H, coef,
                              log_w, visible, hidden, n_copies, seed, purpose, n_threads,
                              progress, max_segment, from_data)
    cdef int64_t K = betas.shape[0] - 1, k = 0, stop, per = 1
    cdef int64_t cap = max_segment     # an int >= 1: converted after the check
    cdef double t0
    b_delta = b64 - bA
    while k <= K:
        stop = min(K + 1, k + per)
        t0 = frbm_seconds()
        _ais_typed(W, W_hid, c, zero_h, b64, bA, b_delta, s64, sA, betas, V, P, H, coef,
                   log_w, visible, hidden, n_copies, seed, purpose, n_threads, k, stop,
                   from_data)
        per = min(next_segment(stop - k, frbm_seconds() - t0), cap)
        k = stop
        PyErr_CheckSignals()
        if progress is not None:
            progress(min(k, K), K)
