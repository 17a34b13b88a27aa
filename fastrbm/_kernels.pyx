# cython: language_level=3
"""fastrbm's compiled kernels: nogil, fused float32/float64, BLAS for the products.

The training epoch splits *units* over OpenMP threads (each thread owns a block of
hidden and of visible units and computes them for every row, calling single-threaded
BLAS on its share of W); the inference kernels split *rows* (each thread multiplies
its rows by all of W). See ``_epoch_worker`` for why.

Every ``def`` function here trusts its caller (the estimators validate): arrays are
C-contiguous, of one dtype, with consistent shapes. Each has a twin of the same name
and meaning in :mod:`fastrbm.reference`.

Layout of a training step (see ``_epoch_worker``): a workspace made once per fit holds
``vstack`` (n_pos + n_neg, n_visible) and ``hstack`` (n_pos + n_neg, n_hidden).
Positive rows come first, weighted +1/n_pos; negative rows follow, weighted -1/n_neg,
so one gemm ``hstack.T @ vstack`` gives the whole weight gradient and column sums give
the bias gradients. Gaussian visible units live in scaled space ``v / sigma`` there.
"""
import numpy as np

from fastrbm._blasinfo import has_small_gemm_kernels
from fastrbm._threads import single_blas_thread

from cython cimport floating
from cython.parallel cimport parallel
from libc.math cimport exp, log
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memcpy

from fastrbm._blas cimport gemm
from fastrbm._rng cimport frbm_stream, frbm_stream_init, frbm_normal, frbm_philox4x32_10
from fastrbm._unitmath cimport uniform, softplus, nrelu_phi
from fastrbm._passes cimport (VIS_BERNOULLI, VIS_GAUSSIAN, HID_BERNOULLI, HID_STEPPED,
                              HID_NRELU, PARALLEL_MIN_ELEMENTS, stream_hidden, stream_visible,
                              _hidden_rows, _visible_rows)

from fastrbm._omp cimport (frbm_openmp_enabled, frbm_omp_max_threads, frbm_thread_num,
                           frbm_num_threads, frbm_barrier, _part)

DEF NRELU_CUTOFF = 40.0

def openmp_enabled():
    """True when the extension was built with OpenMP."""
    return bool(frbm_openmp_enabled())


def openmp_max_threads():
    """OpenMP's default thread count (1 without OpenMP)."""
    return frbm_omp_max_threads()


def philox_block(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1):
    """The raw Philox4x32-10 block function (for known-answer tests)."""
    cdef uint32_t ctr[4]
    cdef uint32_t out[4]
    ctr[0] = c0; ctr[1] = c1; ctr[2] = c2; ctr[3] = c3
    frbm_philox4x32_10(ctr, k0, k1, out)
    return (out[0], out[1], out[2], out[3])


# ------------------------------------------------------------------- CD step
cdef struct StepConfig:
    int nv
    int nh
    int visible
    int hidden
    int n_copies
    int k
    bint persistent
    bint sample_visible
    bint learn_sigma
    double learning_rate
    double momentum
    double weight_decay
    double l1
    double sparsity_target
    double sparsity_cost
    double sparsity_decay
    double sigma_learning_rate
    double min_sigma
    uint64_t seed
    int n_threads
    int n_chains
    bint small_gemm


cdef extern from "fastmath.h" nogil:
    void frbm_update_row_f32(float *W, float *mW, int64_t n, float lr, float l2, float l1,
                             float pj, const float *vsum, float scale)
    void frbm_update_row_f64(double *W, double *mW, int64_t n, double lr, double l2,
                             double l1, double pj, const double *vsum, double scale)
    void frbm_column_sums_f32(const float *a, int n_rows, int ld, int lo, int hi, float *out)
    void frbm_column_sums_f64(const double *a, int n_rows, int ld, int lo, int hi,
                              double *out)


cdef inline void _update_row(floating *W, floating *mW, int64_t n, floating lr, floating l2,
                             floating l1, floating pj, const floating *vsum,
                             floating scale) noexcept nogil:
    """n weights: m = scale mW + lr (pj vsum - l2 W - l1 sign W); W += m; mW = m
    (vectorised, C; scale is the momentum when the gradient gemm folded it out)."""
    if floating is float:
        frbm_update_row_f32(W, mW, n, lr, l2, l1, pj, vsum, scale)
    else:
        frbm_update_row_f64(W, mW, n, lr, l2, l1, pj, vsum, scale)


cdef inline void _column_sums(const floating *a, int n_rows, int ld, int lo, int hi,
                              floating *out) noexcept nogil:
    """out[j] = sum_r a[r, j] for j in [lo, hi), rows added in order (any thread count)."""
    if floating is float:
        frbm_column_sums_f32(a, n_rows, ld, lo, hi, out)
    else:
        frbm_column_sums_f64(a, n_rows, ld, lo, hi, out)


# OpenBLAS's small-matrix kernels (see fastrbm/_blasinfo.py) take products with
# m * n * k <= SMALL_GEMM_MNK and read them unpacked; its "TN" case (our hidden pass)
# also needs m * n <= SMALL_GEMM_TN_MN. Cutting a pass into calls under these bounds
# pays only while a call keeps at least MIN_CHUNK_UNITS units (measured: 784x500 float32
# and float64, 10 to 100 rows): below that the per-call cost and the re-read of the
# other operand win.
DEF SMALL_GEMM_MNK = 1000000
DEF SMALL_GEMM_TN_MN = 1200
DEF MIN_CHUNK_UNITS = 32

# Smaller momenta (0 above all) are applied by the gradient gemm's beta instead of being
# folded out (lr / momentum would grow without bound).
DEF MIN_FOLDED_MOMENTUM = 0.01


cdef inline int _chunk_units(bint small_gemm, int64_t rows_times_inner,
                             int64_t tn_rows) noexcept nogil:
    """Units per gemm call for one pass; 0: the thread's whole block in one call.

    ``rows_times_inner`` is the product's m n k per unit; ``tn_rows`` the rows of a
    hidden pass (whose call is BLAS's TN case), or 0.
    """
    cdef int64_t units
    if not small_gemm or rows_times_inner <= 0:
        return 0
    units = SMALL_GEMM_MNK // rows_times_inner
    if tn_rows > 0 and SMALL_GEMM_TN_MN // tn_rows < units:
        units = SMALL_GEMM_TN_MN // tn_rows
    return <int>units if units >= MIN_CHUNK_UNITS else 0


# The three products of a step, each on a block of units [u0, u1) (see _products).
cdef enum:
    PRODUCT_HIDDEN = 0      # out[:, u] = X @ W[u].T         X: rows x nv, out: rows x nh
    PRODUCT_VISIBLE = 1     # out[:, u] = X @ W[:, u]        X: rows x nh, out: rows x nv
    PRODUCT_GRADIENT = 2    # out[u] = alpha X[:, u].T @ V + beta out[u]
                            #                                X: rows x nh, V: rows x nv


cdef inline void _products(int kind, int rows, int u0, int u1, int nv, int nh,
                           floating alpha, const floating *X, const floating *V,
                           const floating *W, floating beta, floating *out,
                           int chunk) noexcept nogil:
    """One of the step's products (``kind``) for units [u0, u1), in calls of ``chunk``
    units (0: one call); see _chunk_units."""
    cdef int a = u0, e
    if chunk <= 0:
        chunk = u1 - u0
    while a < u1:
        e = a + chunk if a + chunk < u1 else u1
        if kind == PRODUCT_HIDDEN:
            gemm(False, True, rows, e - a, nv, alpha, X, nv, W + <Py_ssize_t>a * nv, nv,
                 beta, out + a, nh)
        elif kind == PRODUCT_VISIBLE:
            gemm(False, False, rows, e - a, nh, alpha, X, nh, W + a, nv, beta, out + a, nv)
        else:
            gemm(True, False, e - a, nv, rows, alpha, X + a, nh, V, nv, beta,
                 out + <Py_ssize_t>a * nv, nv)
        a = e


cdef void _epoch_worker(const StepConfig *cfg, const floating[:, :] X, const int64_t *order,
                        int n, int batch_size, floating *W, floating *b, floating *c,
                        floating *sigma, floating *mW, floating *mb, floating *mc,
                        floating *mz, floating *chains, floating *q, floating *vstack,
                        floating *hstack, floating *hsample, floating *scratch,
                        floating *bias_vis, floating *inv_sigma, floating *col_a,
                        floating *col_b, floating *hcol_a, floating *hcol_b,
                        floating *pen_buf, uint32_t step) noexcept nogil:
    """One thread's share of a whole epoch of CD-k / PCD-k updates.

    Every thread of the parallel region runs this. Each thread owns a block of hidden
    units (rows of W) and a block of visible units (columns of W) for the whole epoch
    and computes every pass for all rows of the minibatch but only its own units:
    the positive and negative hidden passes on its hidden block, the reconstruction on
    its visible block. Its products therefore read (and BLAS packs) only its share of
    W, as one multithreaded gemm would, where a split by rows would have every thread
    pack all of W for every product. Barriers separate the passes (a pass needs the
    whole previous layer). The gradient gemm of the hidden block goes straight into
    the momentum buffer, then that block of W and c is updated; the visible block's
    statistics give the b (and sigma) updates. Element (r, j) always draws the same
    random words, so the split does not change the draws.

    Stacked layout: ``vstack`` (n_pos + n_neg, nv) holds the data rows then the chain's
    last visible states; ``hstack`` the positive hidden means weighted +1/n_pos then the
    negative ones weighted -1/n_neg, so ``hstack.T @ vstack`` is the weight gradient.

    Momentum: the gradient gemm adds ``(lr / momentum) * gradient`` to ``mW`` with
    beta = 1 and the update pass multiplies the sum by the momentum, which gives
    ``momentum * mW + lr * gradient`` without BLAS's separate pass over ``mW`` for
    beta != 1 (momentum below MIN_FOLDED_MOMENTUM, e.g. 0, takes the plain gemm).
    """
    cdef int n_threads = frbm_num_threads(), tid = frbm_thread_num()
    cdef int nv = cfg.nv, nh = cfg.nh
    cdef int start = 0, n_pos, n_neg, n_tot, r0, r1, i0, i1, j0, j1, t, r
    cdef Py_ssize_t i, j, src
    cdef bint gauss = cfg.visible == VIS_GAUSSIAN
    cdef bint sparse = cfg.sparsity_cost > 0
    # momentum folded out of the gradient gemm: it adds (lr / momentum) * gradient to mW
    # with beta = 1, so BLAS skips its separate pass scaling mW by beta, and the update
    # pass (which reads mW anyway) multiplies by the momentum
    cdef bint fold = cfg.momentum >= MIN_FOLDED_MOMENTUM
    cdef bint rows_contiguous = X.strides[1] == sizeof(floating)
    cdef int pos_chunk, neg_chunk, vis_chunk, grad_chunk
    cdef floating wp, wn, g, d, w, zi, si
    cdef floating lr = cfg.learning_rate, mom = cfg.momentum
    cdef floating grad_alpha = lr / mom if fold else lr
    cdef floating grad_beta = 1 if fold else mom
    cdef floating scale = mom if fold else 1
    cdef floating l2 = cfg.weight_decay, l1 = cfg.l1
    cdef floating *vneg
    cdef floating *hneg
    cdef floating *chain = chains if cfg.persistent else hsample
    _part(nv, tid, n_threads, &i0, &i1)
    _part(nh, tid, n_threads, &j0, &j1)
    while start < n:
        n_pos = batch_size if start + batch_size <= n else n - start
        n_neg = cfg.n_chains if cfg.persistent else n_pos
        n_tot = n_pos + n_neg
        wp = 1.0 / n_pos
        wn = 1.0 / n_neg
        vneg = vstack + <Py_ssize_t>n_pos * nv
        hneg = hstack + <Py_ssize_t>n_pos * nh
        pos_chunk = _chunk_units(cfg.small_gemm, <int64_t>n_pos * nv, n_pos)
        neg_chunk = _chunk_units(cfg.small_gemm, <int64_t>n_neg * nv, n_neg)
        vis_chunk = _chunk_units(cfg.small_gemm, <int64_t>n_neg * nh, 0)
        grad_chunk = _chunk_units(cfg.small_gemm, <int64_t>n_tot * nv, 0)

        # ---- gather this minibatch's rows (split by rows), scaled for Gaussian units
        _part(n_pos, tid, n_threads, &r0, &r1)
        for r in range(r0, r1):
            src = order[start + r]
            if gauss:
                for i in range(nv):
                    vstack[r * nv + i] = X[src, i] * inv_sigma[i]
            elif rows_contiguous:
                memcpy(vstack + <Py_ssize_t>r * nv, &X[src, 0], nv * sizeof(floating))
            else:
                for i in range(nv):
                    vstack[r * nv + i] = X[src, i]
        frbm_barrier()

        # ---- positive phase: this thread's hidden units for every data row
        if j1 > j0:
            _products(PRODUCT_HIDDEN, n_pos, j0, j1, nv, nh, <floating>1, vstack, NULL, W,
                      <floating>0, hstack, pos_chunk)
            _hidden_rows(0, n_pos, j0, j1, nh, hstack, c, cfg.hidden, cfg.n_copies, wp,
                         hstack, NULL if cfg.persistent else hsample, cfg.seed,
                         stream_hidden(0, 0), step)
        # ---- Gibbs chain: visible block, barrier, hidden block (every chain row)
        for t in range(1, cfg.k + 1):
            frbm_barrier()      # the chain's hidden states are complete; vneg is free
            if i1 > i0:
                _products(PRODUCT_VISIBLE, n_neg, i0, i1, nv, nh, <floating>1, chain, NULL,
                          W, <floating>0, vneg, vis_chunk)
                _visible_rows(0, n_neg, i0, i1, vneg, bias_vis, <floating *>NULL, nv,
                              cfg.visible, t < cfg.k or cfg.sample_visible, cfg.seed,
                              stream_visible(t, 0), step)
            frbm_barrier()      # the visible states are complete
            if j1 > j0:
                _products(PRODUCT_HIDDEN, n_neg, j0, j1, nv, nh, <floating>1, vneg, NULL, W,
                          <floating>0, hneg, neg_chunk)
                _hidden_rows(0, n_neg, j0, j1, nh, hneg, c, cfg.hidden, cfg.n_copies, -wn,
                             hneg if t == cfg.k else NULL,
                             chain if (t < cfg.k or cfg.persistent) else NULL,
                             cfg.seed, stream_hidden(t, 0), step)

        # ---- learned sigma: s-gradient needs (h W) of every row before W moves
        if cfg.learn_sigma:
            frbm_barrier()      # hstack is complete
            if i1 > i0:
                gemm(False, False, n_tot, i1 - i0, nh, <floating>1, hstack, nh, W + i0, nv,
                     <floating>0, scratch + i0, nv)
            frbm_barrier()      # nobody reads W any more this step

        # ---- visible block: bias statistics (rows added in order: any thread count)
        _column_sums(vstack, n_pos, nv, i0, i1, col_a)
        _column_sums(vneg, n_neg, nv, i0, i1, col_b)
        if cfg.learn_sigma:
            # d(-E)/dz_i, z = log sigma^2: (vt - b/s)^2 / 2 - vt (h W)_i / 2; the signed
            # row weights are already in hstack, hence in scratch
            for i in range(i0, i1):
                g = 0
                for r in range(n_tot):
                    d = vstack[<Py_ssize_t>r * nv + i] - bias_vis[i]
                    w = wp if r < n_pos else -wn
                    g = g + 0.5 * (w * d * d - vstack[<Py_ssize_t>r * nv + i]
                                   * scratch[<Py_ssize_t>r * nv + i])
                if not cfg.sample_visible:
                    # a mean reconstruction leaves out the unit noise: E[eps^2] / 2 per row
                    g = g - <floating>0.5
                mz[i] = mom * mz[i] + <floating>cfg.sigma_learning_rate * g
        if sparse:
            frbm_barrier()      # the sparsity term on W needs every visible mean

        # ---- hidden block: statistics, sparsity, gradient gemm, W and c updates
        _column_sums(hstack, n_pos, nh, j0, j1, hcol_a)
        _column_sums(hneg, n_neg, nh, j0, j1, hcol_b)
        for j in range(j0, j1):
            if sparse:
                d = cfg.sparsity_decay
                q[j] = d * q[j] + (1 - d) * hcol_a[j]
                pen_buf[j] = <floating>cfg.sparsity_cost * (<floating>cfg.sparsity_target - q[j])
            else:
                pen_buf[j] = 0
        if j1 > j0:
            _products(PRODUCT_GRADIENT, n_tot, j0, j1, nv, nh, grad_alpha, hstack, vstack, NULL,
                      grad_beta, mW, grad_chunk)
        if sparse:      # the sparsity term scales each row's visible means differently
            for j in range(j0, j1):
                _update_row(W + j * nv, mW + j * nv, nv, lr, l2, l1, pen_buf[j] * wp, col_a,
                            scale)
        elif j1 > j0:   # one call for the block's rows (contiguous)
            _update_row(W + <Py_ssize_t>j0 * nv, mW + <Py_ssize_t>j0 * nv,
                        <int64_t>(j1 - j0) * nv, lr, l2, l1, 0, NULL, scale)
        for j in range(j0, j1):
            # hcol_a / hcol_b are sums of rows already weighted +1/n_pos, -1/n_neg
            mc[j] = mom * mc[j] + lr * (hcol_a[j] + hcol_b[j] + pen_buf[j])
            c[j] = c[j] + mc[j]

        # ---- visible block: b (and sigma) updates, then the next step's scalings
        for i in range(i0, i1):
            g = col_a[i] * wp - col_b[i] * wn
            if gauss:
                g = g / sigma[i]
            mb[i] = mom * mb[i] + lr * g
            b[i] = b[i] + mb[i]
            if cfg.learn_sigma:
                zi = 2 * log(sigma[i]) + mz[i]
                si = exp(zi / 2)
                sigma[i] = si if si > cfg.min_sigma else cfg.min_sigma
            if gauss:
                inv_sigma[i] = 1 / sigma[i]
                bias_vis[i] = b[i] / sigma[i]
            else:
                bias_vis[i] = b[i]
        frbm_barrier()      # W, b, c complete; vstack may be overwritten
        step += 1
        start += batch_size


def make_workspace(hyper, int n_visible, int n_hidden, dtype):
    """Buffers for one fit: made once, reused by every step (no allocation in a step)."""
    cdef int n_neg = hyper.batch_size
    n_tot = hyper.batch_size + n_neg
    return {
        "vstack": np.empty((n_tot, n_visible), dtype=dtype),
        "hstack": np.empty((n_tot, n_hidden), dtype=dtype),
        "hsample": np.empty((hyper.batch_size, n_hidden), dtype=dtype),
        "scratch": np.empty((n_tot if hyper.learn_sigma else 1, n_visible), dtype=dtype),
        "vec_v": np.empty((4, n_visible), dtype=dtype),
        "vec_h": np.empty((3, n_hidden), dtype=dtype),
    }


def _fit_epoch_typed(const floating[:, :] X, const int64_t[::1] order, floating[:, ::1] W,
                     floating[::1] b, floating[::1] c, floating[::1] sigma,
                     floating[:, ::1] mW, floating[::1] mb, floating[::1] mc,
                     floating[::1] mz, floating[:, ::1] chains, floating[::1] q,
                     floating[:, ::1] vstack, floating[:, ::1] hstack,
                     floating[:, ::1] hsample, floating[:, ::1] scratch,
                     floating[:, ::1] vec_v, floating[:, ::1] vec_h,
                     hyper, uint64_t seed, int n_threads, uint32_t step0, bint small_gemm):
    cdef StepConfig cfg = _make_config(hyper, W.shape[1], W.shape[0], seed, n_threads,
                                       small_gemm)
    cdef int batch_size = hyper.batch_size
    cdef int n = order.shape[0], nv = W.shape[1], nh = W.shape[0]
    cdef int i, nt
    cdef bint gauss = cfg.visible == VIS_GAUSSIAN
    _check_epoch_shapes(X, order, W, chains, vstack, hstack, hsample, scratch, vec_v, vec_h,
                        batch_size, cfg)
    cfg.n_chains = chains.shape[0]
    nt = epoch_threads(batch_size, nv, nh, n_threads)
    if n == 0:
        return 0
    for i in range(nv):     # the scalings the first step starts from
        vec_v[2, i] = 1 / sigma[i] if gauss else 1
        vec_v[3, i] = b[i] / sigma[i] if gauss else b[i]
    with nogil, parallel(num_threads=nt):
        _epoch_worker(&cfg, X, &order[0], n, batch_size, &W[0, 0], &b[0], &c[0], &sigma[0],
                      &mW[0, 0], &mb[0], &mc[0], &mz[0], &chains[0, 0], &q[0],
                      &vstack[0, 0], &hstack[0, 0], &hsample[0, 0], &scratch[0, 0],
                      &vec_v[3, 0], &vec_v[2, 0], &vec_v[0, 0], &vec_v[1, 0],
                      &vec_h[0, 0], &vec_h[1, 0], &vec_h[2, 0], step0)
    return (n + batch_size - 1) // batch_size


cpdef int epoch_threads(int batch_size, int n_visible, int n_hidden, int n_threads):
    """Threads a training epoch runs on: ``n_threads`` when every thread gets a block of
    at least 16 visible and 16 hidden units and a step is big enough to pay for the
    barriers, else 1.

    With more than one, each thread calls single-threaded BLAS on its own units, so the
    caller must keep BLAS at one thread meanwhile (the estimators do).
    """
    if frbm_openmp_enabled() and n_threads > 1 and \
            min(n_visible, n_hidden) >= 16 * n_threads and \
            <int64_t>batch_size * (n_visible + n_hidden) >= PARALLEL_MIN_ELEMENTS:
        return n_threads
    return 1


cdef _check_epoch_shapes(X, order, W, chains, vstack, hstack, hsample, scratch, vec_v, vec_h,
                         int batch_size, StepConfig cfg):
    """The def entry point is public-ish: refuse inconsistent buffers instead of crashing."""
    nh, nv = W.shape[0], W.shape[1]
    n_neg = chains.shape[0] if cfg.persistent else batch_size
    if X.shape[1] != nv:
        raise ValueError(f"X has {X.shape[1]} columns, the weights {nv}")
    o = np.asarray(order)
    if o.size and (o.min() < 0 or o.max() >= X.shape[0]):
        raise ValueError("order holds row indices outside X")
    if cfg.persistent and chains.shape[1] != nh:
        raise ValueError(f"chains must have {nh} columns")
    if (vstack.shape[0] < batch_size + n_neg or vstack.shape[1] != nv
            or hstack.shape[0] < batch_size + n_neg or hstack.shape[1] != nh
            or hsample.shape[0] < batch_size or hsample.shape[1] != nh
            or vec_v.shape[0] < 4 or vec_v.shape[1] != nv
            or vec_h.shape[0] < 3 or vec_h.shape[1] != nh
            or (cfg.learn_sigma and (scratch.shape[0] < batch_size + n_neg
                                     or scratch.shape[1] != nv))):
        raise ValueError("workspace does not fit this model and batch_size: make it with "
                         "make_workspace(hyper, n_visible, n_hidden, dtype)")


#: Stepped units draw their copies' words in one stack buffer (see _passes.pxd).
MAX_COPIES = 1024


def _check_copies(int n_copies):
    if not 1 <= n_copies <= MAX_COPIES:
        raise ValueError(f"n_copies must be in [1, {MAX_COPIES}]; got {n_copies}")


cdef StepConfig _make_config(hyper, int nv, int nh, uint64_t seed, int n_threads,
                             bint small_gemm) except *:
    cdef StepConfig cfg
    _check_copies(hyper.n_copies)
    cfg.nv = nv
    cfg.nh = nh
    cfg.visible = hyper.visible
    cfg.hidden = hyper.hidden
    cfg.n_copies = hyper.n_copies
    cfg.k = hyper.k
    cfg.persistent = hyper.persistent
    cfg.sample_visible = hyper.sample_visible
    cfg.learn_sigma = hyper.learn_sigma
    cfg.learning_rate = hyper.learning_rate
    cfg.momentum = hyper.momentum
    cfg.weight_decay = hyper.weight_decay
    cfg.l1 = hyper.l1
    cfg.sparsity_target = hyper.sparsity_target
    cfg.sparsity_cost = hyper.sparsity_cost
    cfg.sparsity_decay = hyper.sparsity_decay
    cfg.sigma_learning_rate = hyper.sigma_learning_rate
    cfg.min_sigma = hyper.min_sigma
    cfg.seed = seed
    cfg.n_threads = n_threads
    cfg.small_gemm = small_gemm
    return cfg


def fit_epoch(state, hyper, X, order, seed, step0, n_threads=None, workspace=None,
              small_gemm=None):
    """One epoch of CD-k / PCD-k over ``X[order]``; updates ``state`` in place.

    Same contract as :func:`fastrbm.reference.fit_epoch`; returns the number of updates.
    ``X`` may have any memory order; it must have the state's dtype. ``small_gemm``
    cuts small-minibatch products into calls OpenBLAS runs unpacked (None: when
    :func:`fastrbm._blasinfo.has_small_gemm_kernels` says the BLAS has such kernels).
    """
    if small_gemm is None:
        small_gemm = has_small_gemm_kernels()
    if workspace is None:
        workspace = make_workspace(hyper, state.W.shape[1], state.W.shape[0], state.W.dtype)
    ws = workspace
    nt = epoch_threads(hyper.batch_size, state.W.shape[1], state.W.shape[0], n_threads or 1)
    with single_blas_thread(nt > 1):
        return _fit_epoch_typed(X, order, state.W, state.b, state.c, state.sigma, state.mW,
                                state.mb, state.mc, state.mz, state.chains, state.q,
                                ws["vstack"], ws["hstack"], ws["hsample"], ws["scratch"],
                                ws["vec_v"], ws["vec_h"], hyper, seed, n_threads or 1, step0,
                                small_gemm)


cpdef int row_threads(int n_rows, int n_cols, int n_threads):
    """Threads a row-split kernel runs on: ``n_threads`` when each thread gets at least 4
    rows and the work is big enough to pay for the parallel region, else 1."""
    if frbm_openmp_enabled() and n_threads > 1 and n_rows >= 4 * n_threads and \
            <int64_t>n_rows * n_cols >= PARALLEL_MIN_ELEMENTS:
        return n_threads
    return 1


cdef inline void _my_rows(int n, int *r0, int *r1) noexcept nogil:
    """This thread's contiguous block of ``n`` rows inside a parallel region."""
    _part(n, frbm_thread_num(), frbm_num_threads(), r0, r1)


cdef void _hidden_worker(int n, int nv, int nh, const floating *V, const floating *W,
                         const floating *c, int hidden, int n_copies, floating *x,
                         floating *mean_out, floating *sample_out, uint64_t seed,
                         uint32_t stream, uint32_t step) noexcept nogil:
    """This thread's rows: x = V W^T (single-threaded BLAS), then the hidden row pass."""
    cdef int r0, r1
    _my_rows(n, &r0, &r1)
    if r1 <= r0:
        return
    gemm(False, True, r1 - r0, nh, nv, <floating>1, V + <Py_ssize_t>r0 * nv, nv, W, nv,
         <floating>0, x + <Py_ssize_t>r0 * nh, nh)
    _hidden_rows(r0, r1, 0, nh, nh, x, c, hidden, n_copies, <floating>1, mean_out,
                 sample_out, seed, stream, step)


def _hidden_typed(const floating[:, ::1] V, const floating[:, ::1] W, const floating[::1] c,
                  floating[:, ::1] mean_out, floating[:, ::1] sample_out, int hidden,
                  int n_copies, uint64_t seed, uint32_t stream, uint32_t step, int nt):
    cdef int n = V.shape[0], nv = V.shape[1], nh = W.shape[0]
    cdef floating *mean_ptr = &mean_out[0, 0] if mean_out is not None else NULL
    cdef floating *sample_ptr = &sample_out[0, 0] if sample_out is not None else NULL
    cdef floating *x = mean_ptr
    cdef floating[:, ::1] tmp
    if n == 0:
        return
    if x == NULL:
        tmp = np.empty((n, nh), dtype=np.asarray(V).dtype)
        x = &tmp[0, 0]
    with nogil, parallel(num_threads=nt):
        _hidden_worker(n, nv, nh, &V[0, 0], &W[0, 0], &c[0], hidden, n_copies, x, mean_ptr,
                       sample_ptr, seed, stream, step)


def hidden_conditional(V, W, c, sigma, int hidden, int n_copies, seed, stream, step,
                       mean_out=None, sample_out=None, n_threads=None):
    """Hidden means and/or samples given visible rows ``V`` (data space).

    Twin of :func:`fastrbm.reference.hidden_conditional`; writes into ``mean_out`` /
    ``sample_out`` (either may be None) and returns them. Rows are split over OpenMP
    threads, each multiplying its own rows with single-threaded BLAS.
    """
    _check_copies(n_copies)
    Vt = V if sigma is None else np.ascontiguousarray(V / sigma, dtype=V.dtype)
    nt = row_threads(V.shape[0], V.shape[1] + W.shape[0], n_threads or 1)
    with single_blas_thread(nt > 1):
        _hidden_typed(Vt, W, c, mean_out, sample_out, hidden, n_copies, seed, stream, step, nt)
    return mean_out, sample_out


cdef void _visible_worker(int n, int nh, int nv, const floating *H, const floating *W,
                          const floating *bias, const floating *scale, floating *out,
                          int visible, bint sample, uint64_t seed, uint32_t stream,
                          uint32_t step) noexcept nogil:
    """This thread's rows: out = H W (single-threaded BLAS), then the visible row pass."""
    cdef int r0, r1
    _my_rows(n, &r0, &r1)
    if r1 <= r0:
        return
    gemm(False, False, r1 - r0, nv, nh, <floating>1, H + <Py_ssize_t>r0 * nh, nh, W, nv,
         <floating>0, out + <Py_ssize_t>r0 * nv, nv)
    _visible_rows(r0, r1, 0, nv, out, bias, scale, nv, visible, sample, seed, stream, step)


def _visible_typed(const floating[:, ::1] H, const floating[:, ::1] W, const floating[::1] bias,
                   floating[::1] scale, floating[:, ::1] out, int visible, bint sample,
                   uint64_t seed, uint32_t stream, uint32_t step, int nt):
    cdef int n = H.shape[0], nh = H.shape[1], nv = W.shape[1]
    cdef floating *scale_ptr = &scale[0] if scale is not None else NULL
    if n == 0:
        return
    with nogil, parallel(num_threads=nt):
        _visible_worker(n, nh, nv, &H[0, 0], &W[0, 0], &bias[0], scale_ptr, &out[0, 0],
                        visible, sample, seed, stream, step)


def visible_conditional(H, W, b, sigma, int visible, seed, stream, step, out, sample,
                        n_threads=None):
    """Visible means (``sample=False``) or samples given hidden rows, in data space.

    Twin of :func:`fastrbm.reference.visible_conditional`; writes into ``out``.
    """
    nt = row_threads(H.shape[0], H.shape[1] + W.shape[1], n_threads or 1)
    with single_blas_thread(nt > 1):
        _visible_typed(H, W, b, sigma, out, visible, sample, seed, stream, step, nt)
    return out


def gibbs(V, W, b, c, sigma, int visible, int hidden, int n_copies, int n_steps, seed,
          step, purpose, sample_last=True, n_threads=None):
    """``n_steps`` of v -> h -> v from ``V``; twin of :func:`fastrbm.reference.gibbs`."""
    n, nh = V.shape[0], W.shape[0]
    H = np.empty((n, nh), dtype=V.dtype)
    v = np.array(V, dtype=V.dtype, order="C", copy=True)
    for t in range(1, n_steps + 1):
        hidden_conditional(v, W, c, sigma, hidden, n_copies, seed,
                           stream_hidden(t, purpose), step, None, H, n_threads)
        visible_conditional(H, W, b, sigma, visible, seed, stream_visible(t, purpose), step,
                            v, t < n_steps or sample_last, n_threads)
    return v


cdef void _free_energy_worker(int n, int nv, int nh, const floating *V, const floating *W,
                              const floating *b, const floating *c, const floating *sigma,
                              floating *X, double *out, int visible, int hidden,
                              int n_copies) noexcept nogil:
    cdef int r0, r1, r
    _my_rows(n, &r0, &r1)
    if r1 <= r0:
        return
    gemm(False, True, r1 - r0, nh, nv, <floating>1, V + <Py_ssize_t>r0 * nv, nv, W, nv,
         <floating>0, X + <Py_ssize_t>r0 * nh, nh)
    for r in range(r0, r1):
        out[r] = _free_energy_row(V + <Py_ssize_t>r * nv, X + <Py_ssize_t>r * nh, b, c, sigma,
                                  nv, nh, visible, hidden, n_copies)


def _free_energy_typed(const floating[:, ::1] V, const floating[:, ::1] W,
                       const floating[::1] b, const floating[::1] c, floating[::1] sigma,
                       int visible, int hidden, int n_copies, double[::1] out, int nt):
    cdef int n = V.shape[0], nv = V.shape[1], nh = W.shape[0]
    cdef floating[:, ::1] X
    if n == 0:
        return
    X = np.empty((n, nh), dtype=np.asarray(V).dtype)
    with nogil, parallel(num_threads=nt):
        _free_energy_worker(n, nv, nh, &V[0, 0], &W[0, 0], &b[0], &c[0],
                            &sigma[0] if sigma is not None else NULL, &X[0, 0], &out[0],
                            visible, hidden, n_copies)


cdef inline double _free_energy_row(const floating *vt, const floating *x, const floating *b,
                                    const floating *c, const floating *sigma, int nv, int nh,
                                    int visible, int hidden, int n_copies) noexcept nogil:
    """F(v) for one row; ``vt`` is v / sigma for Gaussian units, ``x`` lacks the bias."""
    cdef double vis = 0, hid = 0, xj, d
    cdef int i, j, k
    if visible == VIS_BERNOULLI:
        for i in range(nv):
            vis -= <double>vt[i] * b[i]
    else:
        for i in range(nv):
            d = vt[i] - <double>b[i] / sigma[i]
            vis += 0.5 * d * d
    for j in range(nh):
        xj = <double>(x[j] + c[j])
        if hidden == HID_BERNOULLI:
            hid += softplus(xj)
        elif hidden == HID_STEPPED:
            for k in range(1, n_copies + 1):
                hid += softplus(xj - (k - 0.5))
        else:
            hid += nrelu_phi(xj, NRELU_CUTOFF)
    return vis - hid





def free_energy(V, W, b, c, sigma, int visible, int hidden, int n_copies=1, n_threads=None):
    """F(v) per row as float64; twin of :func:`fastrbm.reference.free_energy`."""
    Vt = V if sigma is None else np.ascontiguousarray(V / sigma, dtype=V.dtype)
    out = np.empty(V.shape[0], dtype=np.float64)
    nt = row_threads(V.shape[0], V.shape[1] + W.shape[0], n_threads or 1)
    with single_blas_thread(nt > 1):
        _free_energy_typed(Vt, W, b, c, sigma, visible, hidden, n_copies, out, nt)
    return out


def _fill_normals_typed(floating[::1] out, uint64_t seed, uint32_t stream, uint32_t step):
    cdef Py_ssize_t i, n = out.shape[0]
    cdef frbm_stream st
    with nogil:
        frbm_stream_init(&st, seed, stream, step)
        for i in range(n):
            out[i] = <floating>frbm_normal(&st, i)


def _fill_uniforms_typed(floating[::1] out, uint64_t seed, uint32_t stream, uint32_t step):
    cdef Py_ssize_t i, n = out.shape[0]
    cdef frbm_stream st
    with nogil:
        frbm_stream_init(&st, seed, stream, step)
        for i in range(n):
            out[i] = uniform(&st, i, out[0])


def fill_uniforms(out, seed, stream, step):
    """Fill a C-contiguous array with the uniforms of :func:`fastrbm.reference.uniforms`."""
    if out.size:
        _fill_uniforms_typed(out.reshape(-1), seed, stream, step)
    return out


def fill_normals(out, seed, stream, step):
    """Fill a C-contiguous array with the normals of :func:`fastrbm.reference.normals`."""
    _fill_normals_typed(out.reshape(-1), seed, stream, step)
    return out
