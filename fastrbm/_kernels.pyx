# cython: language_level=3
"""fastrbm's compiled kernels: nogil, fused float32/float64, BLAS for the products.

The training epoch cuts each phase of a step into chunks of *units* (boundaries fixed
by the shapes) that the OpenMP threads claim in order, without barriers; a chunk computes
its units for every row, calling single-threaded BLAS on its part of W. The inference
kernels split *rows* (each thread multiplies its rows by all of W). See
``_epoch_worker`` and docs/threads.md.

Every ``def`` function here checks its arguments first (:mod:`fastrbm._kernel_args`:
C-contiguous arrays of one dtype with consistent shapes, scalars in range), so no call
from Python reaches the C code with arrays it would misread. Each has a twin of the
same name and meaning in :mod:`fastrbm.reference`.

Layout of a training step (see ``_epoch_worker``): a workspace made once per fit holds
``vstack`` (n_pos + n_neg, n_visible) and ``hstack`` (n_pos + n_neg, n_hidden).
Positive rows come first, weighted +1/n_pos; negative rows follow, weighted -1/n_neg,
so one gemm ``hstack.T @ vstack`` gives the whole weight gradient and column sums give
the bias gradients. Gaussian visible units live in scaled space ``v / sigma`` there.
"""
import numpy as np

from fastrbm import _kernel_args
from fastrbm._blas_runtime import has_small_gemm_kernels
from fastrbm._blas_runtime import blas_held_at_one
from fastrbm.streams import swap as _swap_stream

#: The stream of parallel tempering's swaps in training (fastrbm.streams).
SWAP_STREAM = _swap_stream()

from cython cimport floating
from cython.parallel cimport parallel
from libc.math cimport exp, log, pow, sqrt, INFINITY
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memcpy

from fastrbm._blas cimport gemm, NO_TRANS, TRANS
from fastrbm._rng cimport (frbm_stream, frbm_stream_init, frbm_normal, frbm_philox4x32_10,
                           frbm_word, frbm_uniform_f64)
from fastrbm._unitmath cimport uniform, softplus, nrelu_phi
from fastrbm._constants cimport (VIS_BERNOULLI, VIS_GAUSSIAN, HID_BERNOULLI, HID_STEPPED,
                                HID_NRELU, NRELU_CUTOFF, PARALLEL_MIN_ELEMENTS,
                                MIN_UNITS_PER_THREAD, MIN_ROWS_PER_THREAD, OPT_ADAM)
from fastrbm._passes cimport stream_hidden, stream_visible, _hidden_rows, _visible_rows

from fastrbm._segments cimport (frbm_sched, frbm_sched_init, frbm_sched_claim,
                               frbm_sched_finish, frbm_sched_wait, frbm_seconds,
                               next_segment, PyErr_CheckSignals, CHOICE_SIZE,
                               PROBE_SHARE, faster_threads, choose_threads,
                               record_segment)
from fastrbm._omp cimport frbm_openmp_enabled, frbm_omp_max_threads

def openmp_enabled():
    """True when the extension was built with OpenMP."""
    return bool(frbm_openmp_enabled())


def openmp_max_threads():
    """OpenMP's default thread count (1 without OpenMP)."""
    return frbm_omp_max_threads()


def philox_block(c0, c1, c2, c3, k0, k1):
    """The raw Philox4x32-10 block function (for known-answer tests)."""
    _kernel_args.philox_block(c0, c1, c2, c3, k0, k1)
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
    bint centering
    double centering_rate
    int n_temperatures      # parallel tempering: chain sets (1: PCD / CD)
    const double *betas     # their inverse temperatures, betas[0] = 1
    uint32_t swap_stream
    bint fast               # fast PCD: the chains sample W + fast_W (Tieleman & Hinton 2009)
    double fast_learning_rate
    double fast_decay
    int optimizer
    double beta_1
    double beta_2
    double epsilon
    int64_t adam_t_first    # Adam's step count t of this call's first minibatch
    int first_batch         # this call's first minibatch
    uint64_t seed
    int n_chains
    bint small_gemm
    int hidden_chunk        # units per chunk of a hidden / visible pass (_unit_chunk)
    int visible_chunk
    int n_hidden_chunks
    int n_visible_chunks


cdef extern from "fastmath.h" nogil:
    float frbm_update_row_f32(float *W, float *mW, int64_t n, float lr, float l2, float l1,
                              float pj, const float *vsum, float hj, const float *mu,
                              float lj, const float *vs, float scale)
    double frbm_update_row_f64(double *W, double *mW, int64_t n, double lr, double l2,
                               double l1, double pj, const double *vsum, double hj,
                               const double *mu, double lj, const double *vs, double scale)
    float frbm_adam_row_f32(float *W, float *m, float *v, float *G, int64_t n, float alpha,
                            float eps, float b1, float b2, float l2, float l1, float pj,
                            const float *vsum, float hj, const float *mu, float lj,
                            const float *vs)
    double frbm_adam_row_f64(double *W, double *m, double *v, double *G, int64_t n,
                             double alpha, double eps, double b1, double b2, double l2,
                             double l1, double pj, const double *vsum, double hj,
                             const double *mu, double lj, const double *vs)
    void frbm_fast_row_f32(float *Wf, float *mW, const float *G, int64_t n, float decay,
                           float flr, float mom, float lr)
    void frbm_fast_row_f64(double *Wf, double *mW, const double *G, int64_t n,
                           double decay, double flr, double mom, double lr)
    void frbm_add_row_f32(float *out, const float *a, const float *b, int64_t n)
    void frbm_add_row_f64(double *out, const double *a, const double *b, int64_t n)
    double frbm_softplus_shift_sum(const double *x, const double *w, double d, double off,
                                   int m)
    double frbm_softplus_scaled_sum(const double *E, const double *P, const double *x,
                                    const double *w, double d, double off, double exp_off,
                                    int m)
    void frbm_column_sums_f32(const float *a, int n_rows, int ld, int lo, int hi, float *out)
    void frbm_column_sums_f64(const double *a, int n_rows, int ld, int lo, int hi,
                              double *out)


cdef inline floating _update_row(floating *W, floating *mW, int64_t n, floating lr,
                                 floating l2, floating l1, floating pj, const floating *vsum,
                                 floating hj, const floating *mu, floating lj,
                                 const floating *vs, floating scale) noexcept nogil:
    """n weights: m = scale mW + lr (pj vsum - (hj mu + lj vs) - l2 W - l1 sign W);
    W += m; mW = m (vectorised, C; scale is the momentum when the gradient gemm folded it
    out; NULL vectors are absent terms). Returns sum m mu (0 without mu)."""
    if floating is float:
        return frbm_update_row_f32(W, mW, n, lr, l2, l1, pj, vsum, hj, mu, lj, vs, scale)
    else:
        return frbm_update_row_f64(W, mW, n, lr, l2, l1, pj, vsum, hj, mu, lj, vs, scale)


cdef inline void _fast_rows(const StepConfig *cfg, floating *Wf, floating *mW,
                            const floating *G, int64_t n) noexcept nogil:
    """Fast PCD's fast weights on n weights from their gradient G (and, for momentum SGD,
    mW = momentum mW + lr G; see fastmath.h)."""
    if floating is float:
        frbm_fast_row_f32(Wf, mW, G, n, <float>cfg.fast_decay, <float>cfg.fast_learning_rate,
                          <float>cfg.momentum, <float>cfg.learning_rate)
    else:
        frbm_fast_row_f64(Wf, mW, G, n, cfg.fast_decay, cfg.fast_learning_rate, cfg.momentum,
                          cfg.learning_rate)


cdef inline void _add_rows(floating *out, const floating *a, const floating *b,
                           int64_t n) noexcept nogil:
    if floating is float:
        frbm_add_row_f32(out, a, b, n)
    else:
        frbm_add_row_f64(out, a, b, n)


cdef inline floating _adam_rows(const StepConfig *cfg, const Batch *bt, floating *W,
                                floating *m, floating *v, floating *G, int64_t n,
                                floating pj, const floating *vsum, floating hj,
                                const floating *mu, floating lj,
                                const floating *vs) noexcept nogil:
    """Adam on n weights from their gradient G (C, vectorised; see fastmath.h); with
    centering (mu given) the steps are left in G and sum step mu is returned."""
    if floating is float:
        return frbm_adam_row_f32(W, m, v, G, n, <float>bt.adam_alpha, <float>bt.adam_eps,
                                 <float>cfg.beta_1, <float>cfg.beta_2,
                                 <float>cfg.weight_decay, <float>cfg.l1, pj, vsum, hj, mu,
                                 lj, vs)
    else:
        return frbm_adam_row_f64(W, m, v, G, n, bt.adam_alpha, bt.adam_eps, cfg.beta_1,
                                 cfg.beta_2, cfg.weight_decay, cfg.l1, pj, vsum, hj, mu, lj,
                                 vs)


cdef inline floating _adam_step(floating *m, floating *v, floating g, floating alpha,
                                const StepConfig *cfg, const Batch *bt) noexcept nogil:
    """One Adam moment update of a scalar parameter; returns its change (the same
    operations as frbm_adam_row)."""
    cdef floating b1 = <floating>cfg.beta_1, b2 = <floating>cfg.beta_2
    m[0] = b1 * m[0] + (1 - b1) * g
    v[0] = b2 * v[0] + (1 - b2) * (g * g)
    return alpha * m[0] / (<floating>sqrt(v[0]) + <floating>bt.adam_eps)


cdef inline void _column_sums(const floating *a, int n_rows, int ld, int lo, int hi,
                              floating *out) noexcept nogil:
    """out[j] = sum_r a[r, j] for j in [lo, hi), rows added in order (any thread count)."""
    if floating is float:
        frbm_column_sums_f32(a, n_rows, ld, lo, hi, out)
    else:
        frbm_column_sums_f64(a, n_rows, ld, lo, hi, out)


# OpenBLAS's small-matrix kernels (see fastrbm/_blas_runtime.py) take products with
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
            gemm(NO_TRANS, TRANS, rows, e - a, nv, alpha, X, nv, W + <Py_ssize_t>a * nv, nv,
                 beta, out + a, nh)
        elif kind == PRODUCT_VISIBLE:
            gemm(NO_TRANS, NO_TRANS, rows, e - a, nh, alpha, X, nh, W + a, nv, beta, out + a, nv)
        else:
            gemm(TRANS, NO_TRANS, e - a, nv, rows, alpha, X + a, nh, V, nv, beta,
                 out + <Py_ssize_t>a * nv, nv)
        a = e


# ------------------------------------------------------------- the epoch's work plan
# A training step is a fixed sequence of phases, each cut into chunks of rows or of
# units whose boundaries depend on the shapes only; threads claim chunks in order and
# wait only for the phases a chunk depends on (src_c/sched.h). Phases of one step:
#   0           gather the minibatch's rows (chunks of GATHER_ROWS rows)
#   1           positive hidden pass (hidden-unit chunks)
#   2t, 2t + 1  Gibbs step t = 1..k: visible pass, hidden pass (unit chunks); step k's
#               chunks also take their units' statistics and, without a learned sigma,
#               their updates (a hidden chunk reads and writes only its own rows of W,
#               a visible chunk only its own biases)
#   2k + 2      learned sigma only: (h W) of every row, before W moves
#   2k + 3      learned sigma only: the updates (hidden chunks, then visible chunks)
#   2k + 2      centering only: the visible updates, which need the change of every row
#               of W (the hidden chunks of 2k + 1 make it)
#   last        parallel tempering only: the swaps between neighbouring temperatures
#               (one chunk), once every energy of the last hidden pass is in
DEF GATHER_ROWS = 32
DEF CHUNKS_PER_PASS = 4     # two per thread on 2 cores: balance, yet long gemm calls
DEF MIN_UNIT_CHUNK = 32     # each gemm call long (BLAS re-packs its other operand)


cdef inline int _unit_chunk(int n_units) noexcept nogil:
    """Units per chunk of a pass over ``n_units``: about CHUNKS_PER_PASS chunks of a
    multiple of 16 units (whole SIMD vectors), at least MIN_UNIT_CHUNK."""
    cdef int u = (n_units + CHUNKS_PER_PASS - 1) // CHUNKS_PER_PASS
    u = ((u + 15) // 16) * 16
    return u if u > MIN_UNIT_CHUNK else MIN_UNIT_CHUNK


cdef inline int _n_chunks(int n, int per) noexcept nogil:
    return (n + per - 1) // per


cdef inline void _chunk_range(int chunk, int per, int n, int *lo, int *hi) noexcept nogil:
    lo[0] = chunk * per
    hi[0] = lo[0] + per if lo[0] + per < n else n


# One minibatch (training step) of an epoch: its rows and weights.
cdef struct Batch:
    Py_ssize_t start        # first position in ``order``
    int n_pos               # data rows
    int n_neg               # chain rows of the statistics (PT: those at beta = 1)
    int n_sweep             # chain rows of the Gibbs passes (PT: every temperature's)
    int n_tot
    double wp               # +1 / n_pos
    double wn               # 1 / n_neg
    uint32_t step           # random-stream step
    int pos_chunk           # small-gemm cuts of the passes (see _chunk_units)
    int neg_chunk
    int vis_chunk
    int grad_chunk
    double adam_alpha       # Adam's step size and epsilon with the bias correction of
    double adam_alpha_z     # this step folded in (lr sqrt(1 - b2^t) / (1 - b1^t), ...)
    double adam_eps


# The arrays of an epoch (one float type; see _fit_epoch_typed for the shapes).
cdef struct EpochBuffers:
    const int64_t *order
    void *W
    void *b
    void *c
    void *sigma
    void *mW
    void *mb
    void *mc
    void *mz
    void *vW                # Adam's second moments
    void *vb
    void *vc
    void *vz
    void *gradient          # (nh, nv): Adam's weight gradient (the gemm's output)
    void *offset_v          # centering: the visible offset mu (nv) ...
    void *offset_h          # ... and the hidden offset lambda (nh)
    void *vsum_c            # centering: sum_r w_r v_r (weights +1/n_pos, -1/n_neg)
    void *dw_lambda         # centering: (change of W)^T lambda, per visible unit
    void *dot_mu            # centering: (change of row j of W) . mu, per hidden unit
    void *chains
    void *fast_W            # fast PCD: the fast weights and biases (state) ...
    void *fast_b
    void *fast_c
    void *chain_W           # ... and the chains' parameters W + fast_W, (b + fast_b) (/ sigma
    void *chain_bias_v      # for Gaussian units), c + fast_c (workspace); W, bias_vis, c
    void *chain_c           # without fast weights
    void *q
    void *vstack            # (n_pos + n_neg, nv): data rows (scaled), then chain rows
    void *hstack            # (n_pos + n_neg, nh): weighted hidden statistics
    void *hsample           # (batch_size, nh): CD's hidden sample of the data
    void *scratch           # (n_pos + n_neg, nv): (h W) for the learned sigma
    void *bias_vis          # b, or b / sigma for Gaussian units
    void *inv_sigma         # 1 / sigma (Gaussian units)
    void *col_a             # column sums of the data rows
    void *col_b             # column sums of the chain rows
    void *hcol_a            # column sums of the positive hidden statistics
    void *hcol_b            # column sums of the negative hidden statistics
    void *penalty           # sparsity term per hidden unit
    void *pt_input          # PT: (n_sweep, nh) the last hidden pass's product v W^T
    double *pt_energy       # PT: (n_sweep, hidden + visible chunks): shares of -E
    int64_t *swap_attempts  # PT: per neighbour pair (m, m + 1)
    int64_t *swap_accepts


cdef inline void _batch(const StepConfig *cfg, int n, int batch_size, int s, uint32_t step0,
                        Batch *bt) noexcept nogil:
    bt.start = <Py_ssize_t>s * batch_size
    bt.n_pos = batch_size if bt.start + batch_size <= n else <int>(n - bt.start)
    bt.n_sweep = cfg.n_chains if cfg.persistent else bt.n_pos
    bt.n_neg = bt.n_sweep // cfg.n_temperatures
    bt.n_tot = bt.n_pos + bt.n_neg
    bt.wp = 1.0 / bt.n_pos
    bt.wn = 1.0 / bt.n_neg
    bt.step = <uint32_t>(step0 + <uint32_t>s)
    bt.pos_chunk = _chunk_units(cfg.small_gemm, <int64_t>bt.n_pos * cfg.nv, bt.n_pos)
    bt.neg_chunk = _chunk_units(cfg.small_gemm, <int64_t>bt.n_sweep * cfg.nv, bt.n_sweep)
    bt.vis_chunk = _chunk_units(cfg.small_gemm, <int64_t>bt.n_sweep * cfg.nh, 0)
    bt.grad_chunk = _chunk_units(cfg.small_gemm, <int64_t>bt.n_tot * cfg.nv, 0)
    cdef double t, c1, c2
    if cfg.optimizer == OPT_ADAM:
        # alpha m / (sqrt(v) + eps) with these is Adam's alpha m^ / (sqrt(v^) + eps)
        t = <double>(cfg.adam_t_first + (s - cfg.first_batch))
        c1 = 1 - pow(cfg.beta_1, t)
        c2 = sqrt(1 - pow(cfg.beta_2, t))
        bt.adam_alpha = cfg.learning_rate * c2 / c1
        bt.adam_alpha_z = cfg.sigma_learning_rate * c2 / c1
        bt.adam_eps = cfg.epsilon * c2


cdef inline int _n_phases(const StepConfig *cfg) noexcept nogil:
    return (2 * cfg.k + (4 if cfg.learn_sigma else 3 if cfg.centering else 2)
            + (1 if cfg.n_temperatures > 1 else 0))


cdef inline int _phase_chunks(const StepConfig *cfg, const Batch *bt, int phase) noexcept nogil:
    """Chunks of ``phase`` in a step (see the plan above)."""
    if cfg.n_temperatures > 1 and phase == _n_phases(cfg) - 1:
        return 1
    if phase == 0:
        return _n_chunks(bt.n_pos, GATHER_ROWS)
    if phase == 1:
        return cfg.n_hidden_chunks
    if phase < 2 * cfg.k + 2:
        return cfg.n_visible_chunks if phase % 2 == 0 else cfg.n_hidden_chunks
    if phase == 2 * cfg.k + 2:
        return cfg.n_visible_chunks
    return cfg.n_hidden_chunks + cfg.n_visible_chunks


cdef inline floating *_chain(const StepConfig *cfg, EpochBuffers *buf,
                             floating *W) noexcept nogil:
    """The chain's hidden states: the persistent chains (PCD) or the data's sample (CD)."""
    return <floating *>buf.chains if cfg.persistent else <floating *>buf.hsample


cdef inline void _gather(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                         const floating[:, :] X, int r0, int r1) noexcept nogil:
    """Data rows r0..r1-1 of the minibatch into ``vstack`` (divided by sigma: Gaussian)."""
    cdef floating *vstack = <floating *>buf.vstack
    cdef const floating *inv_sigma = <floating *>buf.inv_sigma
    cdef int nv = cfg.nv, r
    cdef Py_ssize_t i, src
    for r in range(r0, r1):
        src = buf.order[bt.start + r]
        if cfg.visible == VIS_GAUSSIAN:
            for i in range(nv):
                vstack[r * nv + i] = X[src, i] * inv_sigma[i]
        elif X.strides[1] == sizeof(floating):
            memcpy(vstack + <Py_ssize_t>r * nv, &X[src, 0], nv * sizeof(floating))
        else:
            for i in range(nv):
                vstack[r * nv + i] = X[src, i]


cdef inline void _positive_hidden(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                  floating *W, int j0, int j1) noexcept nogil:
    """Hidden units j0..j1-1 for every data row: means weighted +1/n_pos into hstack
    (and, for CD, the sample the chain starts from)."""
    cdef floating *hstack = <floating *>buf.hstack
    _products(PRODUCT_HIDDEN, bt.n_pos, j0, j1, cfg.nv, cfg.nh, <floating>1,
              <floating *>buf.vstack, NULL, W, <floating>0, hstack, bt.pos_chunk)
    _hidden_rows(0, bt.n_pos, j0, j1, cfg.nh, hstack, <floating *>buf.c, cfg.hidden,
                 cfg.n_copies, <floating>bt.wp, hstack,
                 NULL if cfg.persistent else <floating *>buf.hsample, cfg.seed,
                 stream_hidden(0, 0), bt.step)


cdef inline void _negative_visible(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                   floating *W, int t, int i0, int i1) noexcept nogil:
    """Gibbs step t, visible units i0..i1-1 of every chain row (sampled but at the last
    step, unless ``sample_visible``)."""
    cdef floating *vneg = <floating *>buf.vstack + <Py_ssize_t>bt.n_pos * cfg.nv
    _products(PRODUCT_VISIBLE, bt.n_sweep, i0, i1, cfg.nv, cfg.nh, <floating>1,
              _chain(cfg, buf, W), NULL, <floating *>buf.chain_W, <floating>0, vneg,
              bt.vis_chunk)
    if cfg.n_temperatures > 1:      # beta (h W + b); Gaussian units: b + beta (h W)
        _temper(cfg, bt, vneg, vneg, cfg.nv, i0, i1,
                <floating *>buf.bias_vis if cfg.visible == VIS_BERNOULLI else NULL)
    _visible_rows(0, bt.n_sweep, i0, i1, vneg, <floating *>buf.chain_bias_v, <floating *>NULL,
                  cfg.nv, cfg.visible, t < cfg.k or cfg.sample_visible, cfg.seed,
                  stream_visible(t, 0), bt.step)
    if cfg.n_temperatures > 1 and t == cfg.k:
        _visible_energy(cfg, bt, buf, W, i0, i1)


cdef inline void _negative_hidden(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                  floating *W, int t, int j0, int j1) noexcept nogil:
    """Gibbs step t, hidden units j0..j1-1 of every chain row: the sample the chain goes
    on from and, at the last step, the means weighted -1/n_neg into hstack."""
    cdef floating *vneg = <floating *>buf.vstack + <Py_ssize_t>bt.n_pos * cfg.nv
    cdef floating *hneg = <floating *>buf.hstack + <Py_ssize_t>bt.n_pos * cfg.nh
    cdef floating *x = <floating *>buf.pt_input if cfg.n_temperatures > 1 else hneg
    _products(PRODUCT_HIDDEN, bt.n_sweep, j0, j1, cfg.nv, cfg.nh, <floating>1, vneg, NULL,
              <floating *>buf.chain_W, <floating>0, x, bt.neg_chunk)
    if cfg.n_temperatures > 1:      # beta (v W^T + c); the product is kept for the swaps
        _temper(cfg, bt, x, hneg, cfg.nh, j0, j1, <floating *>buf.c)
    _hidden_rows(0, bt.n_sweep, j0, j1, cfg.nh, hneg, <floating *>buf.chain_c, cfg.hidden,
                 cfg.n_copies, <floating>(-bt.wn), hneg if t == cfg.k else NULL,
                 _chain(cfg, buf, W) if (t < cfg.k or cfg.persistent) else NULL,
                 cfg.seed, stream_hidden(t, 0), bt.step)
    if cfg.n_temperatures > 1 and t == cfg.k:
        _interaction_energy(cfg, bt, buf, W, j0, j1)


cdef inline void _temper(const StepConfig *cfg, const Batch *bt, const floating *src,
                         floating *dst, int ld, int u0, int u1,
                         const floating *bias) noexcept nogil:
    """Units [u0, u1) of the chain rows of temperature m: dst = beta_m src
    + (beta_m - 1) bias, so that the row pass, which adds the bias, computes
    beta_m (src + bias) (bias NULL: beta_m src + bias). The rows at beta = 1 are copied,
    or left when src is dst."""
    cdef int per = bt.n_neg, m, r
    cdef Py_ssize_t at, u
    cdef floating beta, shift
    for r in range(bt.n_sweep):
        m = r // per
        at = <Py_ssize_t>r * ld
        if m == 0:
            if src != dst:
                for u in range(u0, u1):
                    dst[at + u] = src[at + u]
            continue
        beta = <floating>cfg.betas[m]
        shift = beta - 1
        if bias == NULL:
            for u in range(u0, u1):
                dst[at + u] = beta * src[at + u]
        else:
            for u in range(u0, u1):
                dst[at + u] = beta * src[at + u] + shift * bias[u]


cdef inline void _interaction_energy(const StepConfig *cfg, const Batch *bt,
                                     EpochBuffers *buf, floating *W, int j0,
                                     int j1) noexcept nogil:
    """This hidden chunk's share of the tempered part of -E, h . (W v + c), for every
    chain row (energy columns 0 .. n_hidden_chunks - 1; the swaps add the columns in
    order, so the sum does not depend on who ran which chunk)."""
    cdef const floating *x = <floating *>buf.pt_input
    cdef const floating *h = <floating *>buf.chains
    cdef const floating *c = <floating *>buf.c
    cdef double *energy = buf.pt_energy
    cdef int nh = cfg.nh, chunk = j0 // cfg.hidden_chunk, r
    cdef int n_cols = cfg.n_hidden_chunks + cfg.n_visible_chunks
    cdef Py_ssize_t at, j
    cdef double acc
    for r in range(bt.n_sweep):
        at = <Py_ssize_t>r * nh
        acc = 0
        for j in range(j0, j1):
            acc = acc + <double>h[at + j] * (<double>x[at + j] + <double>c[j])
        energy[<Py_ssize_t>r * n_cols + chunk] = acc


cdef inline void _visible_energy(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                 floating *W, int i0, int i1) noexcept nogil:
    """This visible chunk's share of the tempered part of -E of Bernoulli visible units,
    b . v, for every chain row, before b moves (energy column n_hidden_chunks + chunk)."""
    cdef const floating *v = <floating *>buf.vstack + <Py_ssize_t>bt.n_pos * cfg.nv
    cdef const floating *bias = <floating *>buf.bias_vis
    cdef double *energy = buf.pt_energy
    cdef int nv = cfg.nv, r, col = cfg.n_hidden_chunks + i0 // cfg.visible_chunk
    cdef int n_cols = cfg.n_hidden_chunks + cfg.n_visible_chunks
    cdef Py_ssize_t at, i
    cdef double acc
    for r in range(bt.n_sweep):
        at = <Py_ssize_t>r * nv
        acc = 0
        if cfg.visible == VIS_BERNOULLI:
            for i in range(i0, i1):
                acc = acc + <double>bias[i] * <double>v[at + i]
        energy[<Py_ssize_t>r * n_cols + col] = acc


cdef inline void _swaps(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                        floating *W) noexcept nogil:
    """Metropolis swaps of neighbouring temperatures (m, m + 1), m of this step's parity,
    for each of the n_neg ladders: accept with min(1, exp((beta_m - beta_m+1)(T_m+1 - T_m))),
    T the tempered part of a chain state's -E (_interaction_energy); an accepted swap
    exchanges the two chains' hidden states. Uniform i = ladder * n_temperatures + m of
    the swap stream."""
    cdef const double *energy = buf.pt_energy
    cdef floating *h = <floating *>buf.chains
    cdef floating tmp
    cdef int per = bt.n_neg, n_temps = cfg.n_temperatures, nh = cfg.nh
    cdef int nc = cfg.n_hidden_chunks + cfg.n_visible_chunks, m, b, q
    cdef Py_ssize_t lo, hi, j
    cdef double e_lo, e_hi, log_r, u
    cdef frbm_stream st
    frbm_stream_init(&st, cfg.seed, cfg.swap_stream, bt.step)
    for b in range(per):
        for m in range(<int>(bt.step % 2), n_temps - 1, 2):
            lo = <Py_ssize_t>(m * per + b)
            hi = <Py_ssize_t>((m + 1) * per + b)
            e_lo = 0
            e_hi = 0
            for q in range(nc):
                e_lo = e_lo + energy[lo * nc + q]
                e_hi = e_hi + energy[hi * nc + q]
            log_r = (cfg.betas[m] - cfg.betas[m + 1]) * (e_hi - e_lo)
            u = frbm_uniform_f64(frbm_word(&st, <uint64_t>b * n_temps + m))
            buf.swap_attempts[m] += 1
            if log_r >= 0 or u < exp(log_r):
                buf.swap_accepts[m] += 1
                for j in range(nh):
                    tmp = h[lo * nh + j]
                    h[lo * nh + j] = h[hi * nh + j]
                    h[hi * nh + j] = tmp


cdef inline void _visible_statistics(const StepConfig *cfg, const Batch *bt,
                                     EpochBuffers *buf, floating *W, int i0,
                                     int i1) noexcept nogil:
    """Column sums of the data and chain rows for visible units i0..i1-1 (rows added in
    order, whoever runs the chunk)."""
    cdef floating *vstack = <floating *>buf.vstack
    cdef floating *col_a = <floating *>buf.col_a
    cdef floating *col_b = <floating *>buf.col_b
    cdef floating *vsum_c = <floating *>buf.vsum_c
    cdef floating wp = <floating>bt.wp, wn = <floating>bt.wn
    cdef Py_ssize_t i
    _column_sums(vstack, bt.n_pos, cfg.nv, i0, i1, col_a)
    _column_sums(vstack + <Py_ssize_t>bt.n_pos * cfg.nv, bt.n_neg, cfg.nv, i0, i1, col_b)
    if cfg.centering:
        for i in range(i0, i1):
            vsum_c[i] = col_a[i] * wp - col_b[i] * wn


cdef inline void _sigma_products(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                 floating *W, int i0, int i1) noexcept nogil:
    """(h W) of every stacked row for visible units i0..i1-1: the learned sigma's
    gradient needs it from the weights before this step's update."""
    gemm(NO_TRANS, NO_TRANS, bt.n_tot, i1 - i0, cfg.nh, <floating>1, <floating *>buf.hstack,
         cfg.nh, W + i0, cfg.nv, <floating>0, <floating *>buf.scratch + i0, cfg.nv)


cdef inline void _update_visible(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                 floating *W, int i0, int i1) noexcept nogil:
    """b (and the learned sigma) of visible units i0..i1-1, then their scalings for the
    next step."""
    cdef floating *vstack = <floating *>buf.vstack
    cdef floating *scratch = <floating *>buf.scratch
    cdef floating *b = <floating *>buf.b
    cdef floating *sigma = <floating *>buf.sigma
    cdef floating *mb = <floating *>buf.mb
    cdef floating *mz = <floating *>buf.mz
    cdef floating *vb = <floating *>buf.vb
    cdef floating *vz = <floating *>buf.vz
    cdef bint adam = cfg.optimizer == OPT_ADAM
    cdef floating step_z = 0, step_b
    cdef floating *dw_lambda = <floating *>buf.dw_lambda
    cdef floating *bias_vis = <floating *>buf.bias_vis
    cdef floating *inv_sigma = <floating *>buf.inv_sigma
    cdef floating *col_a = <floating *>buf.col_a
    cdef floating *col_b = <floating *>buf.col_b
    cdef floating *fast_b = <floating *>buf.fast_b
    cdef floating *chain_bias_v = <floating *>buf.chain_bias_v
    cdef floating wp = <floating>bt.wp, wn = <floating>bt.wn
    cdef floating lr = cfg.learning_rate, mom = cfg.momentum, g, d, w, zi, si
    cdef bint gauss = cfg.visible == VIS_GAUSSIAN
    cdef int nv = cfg.nv, r
    cdef Py_ssize_t i
    if cfg.centering:
        # sum_j (change of W)_ji lambda_j: the changes are the new momenta (SGD) or the
        # steps Adam left in the gradient buffer
        _products(PRODUCT_VISIBLE, 1, i0, i1, nv, cfg.nh, 1, <floating *>buf.offset_h, NULL,
                  <floating *>buf.gradient if adam else <floating *>buf.mW, 0, dw_lambda, 0)
    for i in range(i0, i1):
        if cfg.learn_sigma:
            # d(-E)/dz_i, z = log sigma^2: (vt - b/s)^2 / 2 - vt (h W)_i / 2; the signed
            # row weights are already in hstack, hence in scratch
            g = 0
            for r in range(bt.n_tot):
                d = vstack[<Py_ssize_t>r * nv + i] - bias_vis[i]
                w = wp if r < bt.n_pos else -wn
                g = g + 0.5 * (w * d * d - vstack[<Py_ssize_t>r * nv + i]
                               * scratch[<Py_ssize_t>r * nv + i])
            if not cfg.sample_visible:
                # a mean reconstruction leaves out the unit noise: E[eps^2] / 2 per row
                g = g - <floating>0.5
            if adam:
                step_z = _adam_step(&mz[i], &vz[i], g, <floating>bt.adam_alpha_z, cfg, bt)
            else:
                mz[i] = mom * mz[i] + <floating>cfg.sigma_learning_rate * g
                step_z = mz[i]
        g = col_a[i] * wp - col_b[i] * wn
        if gauss:
            g = g / sigma[i]
        if adam:
            step_b = _adam_step(&mb[i], &vb[i], g, <floating>bt.adam_alpha, cfg, bt)
        else:
            mb[i] = mom * mb[i] + lr * g
            step_b = mb[i]
        b[i] = b[i] + step_b
        if cfg.centering:
            # the ordinary bias b' = b_centered - s W lambda follows the centered one
            b[i] = b[i] - (sigma[i] if gauss else <floating>1) * dw_lambda[i]
        if cfg.learn_sigma:
            zi = 2 * log(sigma[i]) + step_z
            si = exp(zi / 2)
            sigma[i] = si if si > cfg.min_sigma else cfg.min_sigma
        if gauss:
            inv_sigma[i] = 1 / sigma[i]
            bias_vis[i] = b[i] / sigma[i]
        else:
            bias_vis[i] = b[i]
        if cfg.fast:    # the fast bias follows the sampling gradient alone
            fast_b[i] = <floating>cfg.fast_decay * fast_b[i] + <floating>cfg.fast_learning_rate * g
            chain_bias_v[i] = (b[i] + fast_b[i]) / sigma[i] if gauss else b[i] + fast_b[i]


cdef inline void _weight_rows(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                  floating *W, int j0, int j1) noexcept nogil:
    """Rows j0..j1-1 of W from their gradient (the gemm's, already made) and their row
    terms; the sums of each row's change times the visible offset go to ``dot``."""
    cdef bint adam = cfg.optimizer == OPT_ADAM
    cdef bint sparse = cfg.sparsity_cost > 0
    cdef bint fold = not cfg.fast and cfg.momentum >= MIN_FOLDED_MOMENTUM
    cdef floating lr = cfg.learning_rate, l2 = cfg.weight_decay, l1 = cfg.l1
    cdef floating scale = <floating>cfg.momentum if fold else 1
    cdef floating *mW = <floating *>buf.mW
    cdef floating *G = <floating *>buf.gradient
    cdef floating *fast_W = <floating *>buf.fast_W
    cdef floating *chain_W = <floating *>buf.chain_W
    cdef floating *penalty = <floating *>buf.penalty
    cdef floating *hcol_a = <floating *>buf.hcol_a
    cdef floating *hcol_b = <floating *>buf.hcol_b
    cdef floating *lam = <floating *>buf.offset_h
    cdef floating *dot = <floating *>buf.dot_mu
    cdef const floating *vsum = <floating *>buf.col_a if sparse else NULL
    cdef const floating *mu = <floating *>buf.offset_v if cfg.centering else NULL
    cdef const floating *vs = <floating *>buf.vsum_c
    cdef floating wp = <floating>bt.wp, pj, hj, lj
    cdef int nv = cfg.nv
    cdef Py_ssize_t j, row
    cdef int64_t n = nv
    if not (sparse or cfg.centering):    # no per-row term: one call for the chunk's rows
        j1, n = j0 + 1, <int64_t>(j1 - j0) * nv
    for j in range(j0, j1):
        row = j * nv
        pj, hj, lj = penalty[j] * wp, hcol_a[j] + hcol_b[j], lam[j]
        if cfg.fast:    # before Adam, which may overwrite G (not with fast weights: no
                        # centering), and before the row terms join momentum SGD's mW
            _fast_rows(cfg, fast_W + row, NULL if adam else mW + row, G + row, n)
        if adam:
            dot[j] = _adam_rows(cfg, bt, W + row, mW + row, <floating *>buf.vW + row,
                                G + row, n, pj, vsum, hj, mu, lj, vs)
        else:
            dot[j] = _update_row(W + row, mW + row, n, lr, l2, l1, pj, vsum, hj, mu, lj, vs,
                                 scale)
        if cfg.fast:
            _add_rows(chain_W + row, W + row, fast_W + row, n)


cdef inline void _update_hidden(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                                floating *W, int j0, int j1) noexcept nogil:
    """Hidden units j0..j1-1: statistics, sparsity, the hidden offset (centering), the
    gradient gemm, then their rows of W and c.

    Momentum: with ``momentum >= MIN_FOLDED_MOMENTUM`` the gemm adds
    ``(lr / momentum) * gradient`` to ``mW`` with beta = 1 (BLAS then skips its separate
    pass scaling mW by beta) and the update pass, which reads mW anyway, multiplies the
    sum by the momentum: ``momentum * mW + lr * gradient`` in one pass. Adam needs the
    gradient itself (for both moments): the gemm writes it into ``gradient`` and one
    pass updates both moments and the weights. So does fast PCD (for its fast weights,
    which follow the gradient without the penalties): per row, the fast weights and
    momentum SGD's mW from it, the row terms and the weights, then the chains' W + fast_W.

    Centering (Melchior et al. 2016) keeps the ordinary parameters: the weight gradient
    is the centered one, and c' = c_centered - W mu follows the centered bias's update
    by subtracting (change of the row) . mu.
    """
    cdef floating *hstack = <floating *>buf.hstack
    cdef floating *c = <floating *>buf.c
    cdef floating *mc = <floating *>buf.mc
    cdef floating *vc = <floating *>buf.vc
    cdef floating *q = <floating *>buf.q
    cdef floating *lam = <floating *>buf.offset_h
    cdef floating *dot = <floating *>buf.dot_mu
    cdef floating *penalty = <floating *>buf.penalty
    cdef floating *hcol_a = <floating *>buf.hcol_a
    cdef floating *hcol_b = <floating *>buf.hcol_b
    cdef bint adam = cfg.optimizer == OPT_ADAM
    cdef bint fold = not adam and not cfg.fast and cfg.momentum >= MIN_FOLDED_MOMENTUM
    cdef bint sparse = cfg.sparsity_cost > 0
    cdef floating *fast_c = <floating *>buf.fast_c
    cdef floating *chain_c = <floating *>buf.chain_c
    cdef floating lr = cfg.learning_rate, mom = cfg.momentum, d, g
    cdef floating rate = <floating>cfg.centering_rate
    cdef int nv = cfg.nv, nh = cfg.nh
    cdef Py_ssize_t j
    _column_sums(hstack, bt.n_pos, nh, j0, j1, hcol_a)
    _column_sums(hstack + <Py_ssize_t>bt.n_pos * nh, bt.n_neg, nh, j0, j1, hcol_b)
    for j in range(j0, j1):
        if sparse:
            d = cfg.sparsity_decay
            q[j] = d * q[j] + (1 - d) * hcol_a[j]
            penalty[j] = <floating>cfg.sparsity_cost * (<floating>cfg.sparsity_target - q[j])
        else:
            penalty[j] = 0
        if cfg.centering:   # the offset moves first; the model does not change with it
            lam[j] = (1 - rate) * lam[j] + rate * hcol_a[j]
    if adam or cfg.fast:    # the gradient itself (Adam's moments, the fast weights)
        _products(PRODUCT_GRADIENT, bt.n_tot, j0, j1, nv, nh, 1, hstack,
                  <floating *>buf.vstack, NULL, 0, <floating *>buf.gradient, bt.grad_chunk)
    else:
        _products(PRODUCT_GRADIENT, bt.n_tot, j0, j1, nv, nh, lr / mom if fold else lr,
                  hstack, <floating *>buf.vstack, NULL, <floating>1 if fold else mom,
                  <floating *>buf.mW, bt.grad_chunk)
    _weight_rows(cfg, bt, buf, W, j0, j1)
    for j in range(j0, j1):
        # hcol_a / hcol_b are sums of rows already weighted +1/n_pos, -1/n_neg
        g = hcol_a[j] + hcol_b[j] + penalty[j]
        if adam:
            c[j] = c[j] + _adam_step(&mc[j], &vc[j], g, <floating>bt.adam_alpha, cfg, bt)
        else:
            mc[j] = mom * mc[j] + lr * g
            c[j] = c[j] + mc[j]
        if cfg.centering:
            c[j] = c[j] - dot[j]
        if cfg.fast:
            g = hcol_a[j] + hcol_b[j]
            fast_c[j] = <floating>cfg.fast_decay * fast_c[j] + <floating>cfg.fast_learning_rate * g
            chain_c[j] = c[j] + fast_c[j]


cdef inline void _run_chunk(const StepConfig *cfg, const Batch *bt, EpochBuffers *buf,
                            const floating[:, :] X, floating *W, int phase,
                            int chunk) noexcept nogil:
    """Chunk ``chunk`` of ``phase`` of the step ``bt`` (see the plan above)."""
    cdef int k = cfg.k, lo, hi, t
    cdef int hc = cfg.hidden_chunk, vc = cfg.visible_chunk
    if cfg.n_temperatures > 1 and phase == _n_phases(cfg) - 1:
        _swaps(cfg, bt, buf, W)
    elif phase == 0:
        _chunk_range(chunk, GATHER_ROWS, bt.n_pos, &lo, &hi)
        _gather(cfg, bt, buf, X, lo, hi)
    elif phase == 1:
        _chunk_range(chunk, hc, cfg.nh, &lo, &hi)
        _positive_hidden(cfg, bt, buf, W, lo, hi)
    elif phase < 2 * k + 2:
        t = phase // 2
        if phase % 2 == 0:
            _chunk_range(chunk, vc, cfg.nv, &lo, &hi)
            _negative_visible(cfg, bt, buf, W, t, lo, hi)
            if t == k:
                _visible_statistics(cfg, bt, buf, W, lo, hi)
                if not cfg.learn_sigma and not cfg.centering:
                    _update_visible(cfg, bt, buf, W, lo, hi)
        else:
            _chunk_range(chunk, hc, cfg.nh, &lo, &hi)
            _negative_hidden(cfg, bt, buf, W, t, lo, hi)
            if t == k and not cfg.learn_sigma:
                _update_hidden(cfg, bt, buf, W, lo, hi)
    elif phase == 2 * k + 2:
        _chunk_range(chunk, vc, cfg.nv, &lo, &hi)
        if cfg.learn_sigma:
            _sigma_products(cfg, bt, buf, W, lo, hi)
        else:       # centering
            _update_visible(cfg, bt, buf, W, lo, hi)
    elif chunk < cfg.n_hidden_chunks:
        _chunk_range(chunk, hc, cfg.nh, &lo, &hi)
        _update_hidden(cfg, bt, buf, W, lo, hi)
    else:
        _chunk_range(chunk - cfg.n_hidden_chunks, vc, cfg.nv, &lo, &hi)
        _update_visible(cfg, bt, buf, W, lo, hi)


cdef void _epoch_worker(const StepConfig *cfg, EpochBuffers *buf, const floating[:, :] X,
                        floating *W, int n, int batch_size, int first_batch, int n_batches,
                        uint32_t step0, frbm_sched *sched) noexcept nogil:
    """One thread's part of minibatches first_batch .. first_batch + n_batches - 1.

    Every thread of the parallel region runs this: it claims the next chunk of the
    epoch's plan, waits until the phases before that chunk's phase are done, runs it,
    and claims again; a thread that falls behind finds its phases done and skips them.
    """
    cdef Batch bt
    cdef int64_t base = 0, g = frbm_sched_claim(sched)
    cdef int s, phase, n_chunks
    for s in range(first_batch, first_batch + n_batches):
        _batch(cfg, n, batch_size, s, step0, &bt)
        for phase in range(_n_phases(cfg)):
            n_chunks = _phase_chunks(cfg, &bt, phase)
            while g < base + n_chunks:
                frbm_sched_wait(sched, base)
                _run_chunk(cfg, &bt, buf, X, W, phase, <int>(g - base))
                frbm_sched_finish(sched)
                g = frbm_sched_claim(sched)
            base += n_chunks


# Rows of the workspace's per-unit vectors: vec_v (VEC_V_ROWS x n_visible) and vec_h
# (VEC_H_ROWS x n_hidden); see EpochBuffers.
cdef enum:
    VEC_V_COL_A = 0         # column sums of the data rows
    VEC_V_COL_B = 1         # column sums of the chain rows
    VEC_V_INV_SIGMA = 2     # 1 / sigma (Gaussian units)
    VEC_V_BIAS = 3          # b, or b / sigma for Gaussian units
    VEC_V_CENTERED_SUM = 4  # centering: col_a / n_pos - col_b / n_neg
    VEC_V_DW_LAMBDA = 5     # centering: (change of W)^T lambda
    VEC_V_CHAIN_BIAS = 6    # fast PCD: the chains' visible bias (b + fast_b) (/ sigma)
    VEC_V_ROWS = 7
    VEC_H_COL_A = 0         # column sums of the positive hidden statistics
    VEC_H_COL_B = 1         # column sums of the negative hidden statistics
    VEC_H_PENALTY = 2       # sparsity term per hidden unit
    VEC_H_DOT_MU = 3        # centering: (change of row j of W) . mu
    VEC_H_CHAIN_BIAS = 4    # fast PCD: the chains' hidden bias c + fast_c
    VEC_H_ROWS = 5


def make_workspace(hyper, n_visible, n_hidden, dtype):
    """Buffers for one fit: made once, reused by every step (no allocation in a step)."""
    _kernel_args.make_workspace(hyper, n_visible, n_hidden, dtype)
    n_temps = max(1, len(hyper.betas))
    n_sweep = hyper.batch_size * n_temps     # PT: every temperature's chains
    n_tot = hyper.batch_size + n_sweep
    pt = n_temps > 1
    return {
        # PT: the last hidden pass's product and its chunks' energies; placeholders else
        "pt_input": np.empty((n_sweep if pt else 1, n_hidden if pt else 1), dtype=dtype),
        "pt_energy": np.empty((n_sweep if pt else 1,
                               _n_chunks(n_hidden, _unit_chunk(n_hidden))
                               + _n_chunks(n_visible, _unit_chunk(n_visible)) if pt else 1),
                              dtype=np.float64),
        "vstack": np.empty((n_tot, n_visible), dtype=dtype),
        "hstack": np.empty((n_tot, n_hidden), dtype=dtype),
        "hsample": np.empty((hyper.batch_size, n_hidden), dtype=dtype),
        "scratch": np.empty((n_tot if hyper.learn_sigma else 1, n_visible), dtype=dtype),
        "vec_v": np.empty((VEC_V_ROWS, n_visible), dtype=dtype),
        "vec_h": np.empty((VEC_H_ROWS, n_hidden), dtype=dtype),
        # the weight gradient of Adam and fast PCD; a placeholder row for momentum SGD
        "gradient": np.empty((n_hidden if hyper.optimizer == OPT_ADAM or hyper.fast_weights
                              else 1, n_visible), dtype=dtype),
        # fast PCD: the chains' weights W + fast_W; a placeholder row otherwise
        "chain_W": np.empty((n_hidden if hyper.fast_weights else 1, n_visible), dtype=dtype),
    }


def _fit_epoch_typed(const floating[:, :] X, const int64_t[::1] order, floating[:, ::1] W,
                     floating[::1] b, floating[::1] c, floating[::1] sigma,
                     floating[:, ::1] mW, floating[::1] mb, floating[::1] mc,
                     floating[::1] mz, floating[:, ::1] vW, floating[::1] vb,
                     floating[::1] vc, floating[::1] vz, floating[:, ::1] chains,
                     floating[::1] q, floating[:, ::1] vstack, floating[:, ::1] hstack,
                     floating[:, ::1] hsample, floating[:, ::1] scratch,
                     floating[:, ::1] vec_v, floating[:, ::1] vec_h,
                     floating[:, ::1] gradient, floating[::1] offset_v,
                     floating[::1] offset_h, floating[:, ::1] pt_input,
                     double[:, ::1] pt_energy, int64_t[::1] swap_attempts,
                     int64_t[::1] swap_accepts, floating[:, ::1] fast_W,
                     floating[::1] fast_b, floating[::1] fast_c, floating[:, ::1] chain_W,
                     hyper, uint64_t seed, int n_threads, uint32_t step0, bint small_gemm,
                     int first_batch, int n_batches, int64_t adam_t_first,
                     uint32_t swap_stream):
    """Minibatches first_batch .. first_batch + n_batches - 1 of the epoch ``order``.

    The first call of an epoch (first_batch 0) sets the visible scalings its first step
    starts from; later calls go on from the ones the previous call left in ``vec_v``.
    Fast PCD's chain parameters (W + fast_W and the biases) are made from the state at
    every call, with the operations the steps make them with.
    """
    _kernel_args.fit_epoch_typed(hyper, n_threads)
    cdef StepConfig cfg = _make_config(hyper, W.shape[1], W.shape[0], seed, small_gemm)
    cdef int batch_size = hyper.batch_size
    cdef int n = order.shape[0], nv = W.shape[1], nh = W.shape[0]
    cdef int i, nt
    cdef bint gauss = cfg.visible == VIS_GAUSSIAN
    cdef EpochBuffers buf
    cdef frbm_sched sched
    _check_epoch_shapes(X, order, W, b, c, sigma, mW, mb, mc, mz, vW, vb, vc, vz, chains, q,
                        vstack, hstack, hsample, scratch, vec_v, vec_h, gradient, offset_v,
                        offset_h, batch_size, cfg, first_batch, n_batches)
    _check_tempering(cfg, chains, pt_input, pt_energy, swap_attempts, swap_accepts)
    _check_fast(cfg, W, fast_W, fast_b, fast_c, chain_W,
                (X, order, W, b, c, sigma, mW, mb, mc, mz, vW, vb, vc, vz, chains, q, vstack,
                 hstack, hsample, scratch, vec_v, vec_h, gradient, offset_v, offset_h))
    cdef double[::1] betas = np.ascontiguousarray(hyper.betas if cfg.n_temperatures > 1
                                                  else (1.0,), dtype=np.float64)
    cfg.betas = &betas[0]
    cfg.swap_stream = swap_stream
    cfg.n_chains = chains.shape[0]
    cfg.first_batch = first_batch
    cfg.adam_t_first = adam_t_first
    nt = epoch_threads(batch_size, nv, nh, n_threads)
    if n == 0 or n_batches <= 0:
        return
    if first_batch == 0:
        for i in range(nv):
            vec_v[VEC_V_INV_SIGMA, i] = 1 / sigma[i] if gauss else 1
            vec_v[VEC_V_BIAS, i] = b[i] / sigma[i] if gauss else b[i]
    if cfg.fast:
        _add_rows(&chain_W[0, 0], &W[0, 0], &fast_W[0, 0], <int64_t>nh * nv)
        for i in range(nv):
            vec_v[VEC_V_CHAIN_BIAS, i] = ((b[i] + fast_b[i]) / sigma[i] if gauss
                                          else b[i] + fast_b[i])
        for i in range(nh):
            vec_h[VEC_H_CHAIN_BIAS, i] = c[i] + fast_c[i]
    buf.order = &order[0]
    buf.W = &W[0, 0]
    buf.b = &b[0]
    buf.c = &c[0]
    buf.sigma = &sigma[0]
    buf.mW = &mW[0, 0]
    buf.mb = &mb[0]
    buf.mc = &mc[0]
    buf.mz = &mz[0]
    buf.vW = &vW[0, 0]
    buf.vb = &vb[0]
    buf.vc = &vc[0]
    buf.vz = &vz[0]
    buf.gradient = &gradient[0, 0]
    buf.offset_v = &offset_v[0]
    buf.offset_h = &offset_h[0]
    buf.vsum_c = &vec_v[VEC_V_CENTERED_SUM, 0]
    buf.dw_lambda = &vec_v[VEC_V_DW_LAMBDA, 0]
    buf.dot_mu = &vec_h[VEC_H_DOT_MU, 0]
    buf.pt_input = &pt_input[0, 0]
    buf.pt_energy = &pt_energy[0, 0]
    buf.swap_attempts = &swap_attempts[0]
    buf.swap_accepts = &swap_accepts[0]
    buf.chains = &chains[0, 0]
    buf.fast_W = &fast_W[0, 0]
    buf.fast_b = &fast_b[0]
    buf.fast_c = &fast_c[0]
    buf.chain_W = &chain_W[0, 0] if cfg.fast else &W[0, 0]
    buf.chain_bias_v = &vec_v[VEC_V_CHAIN_BIAS, 0] if cfg.fast else &vec_v[VEC_V_BIAS, 0]
    buf.chain_c = &vec_h[VEC_H_CHAIN_BIAS, 0] if cfg.fast else &c[0]
    buf.q = &q[0]
    buf.vstack = &vstack[0, 0]
    buf.hstack = &hstack[0, 0]
    buf.hsample = &hsample[0, 0]
    buf.scratch = &scratch[0, 0]
    buf.col_a = &vec_v[VEC_V_COL_A, 0]
    buf.col_b = &vec_v[VEC_V_COL_B, 0]
    buf.inv_sigma = &vec_v[VEC_V_INV_SIGMA, 0]
    buf.bias_vis = &vec_v[VEC_V_BIAS, 0]
    buf.hcol_a = &vec_h[VEC_H_COL_A, 0]
    buf.hcol_b = &vec_h[VEC_H_COL_B, 0]
    buf.penalty = &vec_h[VEC_H_PENALTY, 0]
    frbm_sched_init(&sched)
    with nogil, parallel(num_threads=nt):
        _epoch_worker(&cfg, &buf, X, &W[0, 0], n, batch_size, first_batch, n_batches,
                      step0, &sched)


cpdef int epoch_threads(batch_size, n_visible, n_hidden, n_threads):
    """Threads a training epoch runs on: ``n_threads`` when there are at least 16
    visible and 16 hidden units per thread and a step is big enough to pay for the
    parallel region, else 1.

    With more than one, each thread calls single-threaded BLAS on the chunks of units it
    claims, so the caller must keep BLAS at one thread meanwhile (the estimators do).
    """
    _kernel_args.thread_counts(batch_size=batch_size, n_visible=n_visible,
                               n_hidden=n_hidden, n_threads=n_threads)
    if frbm_openmp_enabled() and n_threads > 1 and \
            min(n_visible, n_hidden) >= MIN_UNITS_PER_THREAD * n_threads and \
            <int64_t>batch_size * (n_visible + n_hidden) >= PARALLEL_MIN_ELEMENTS:
        return n_threads
    return 1


cdef _span(const char *first, Py_ssize_t n0, Py_ssize_t n1, Py_ssize_t s0, Py_ssize_t s1,
           Py_ssize_t itemsize):
    """(low, high) byte addresses of a 2-D buffer; None when it is empty."""
    cdef Py_ssize_t lo = 0, hi = 0
    if n0 <= 0 or n1 <= 0:
        return None
    for extent, stride in ((n0, s0), (n1, s1)):
        if stride > 0:
            hi += (extent - 1) * stride
        else:
            lo += (extent - 1) * stride
    return (<size_t>first + lo, <size_t>first + hi + itemsize)


cdef _check_epoch_shapes(const floating[:, :] X, const int64_t[::1] order, floating[:, ::1] W,
                         floating[::1] b, floating[::1] c, floating[::1] sigma,
                         floating[:, ::1] mW, floating[::1] mb, floating[::1] mc,
                         floating[::1] mz, floating[:, ::1] vW, floating[::1] vb,
                         floating[::1] vc, floating[::1] vz, floating[:, ::1] chains,
                         floating[::1] q, floating[:, ::1] vstack, floating[:, ::1] hstack,
                         floating[:, ::1] hsample, floating[:, ::1] scratch,
                         floating[:, ::1] vec_v, floating[:, ::1] vec_h,
                         floating[:, ::1] gradient, floating[::1] offset_v,
                         floating[::1] offset_h, int batch_size, StepConfig cfg,
                         int first_batch, int n_batches):
    """The arrays of ``_fit_epoch_typed``, which Python can call directly: refuse
    inconsistent buffers instead of reading or writing past them.

    The fused signature already gives every float array one dtype (X's included) and
    ``order`` int64, each C-contiguous except X: Cython refuses other arrays with a
    ValueError before this runs (but lets None through). Checked here: no None; the
    lengths of b, c, sigma, mW, mb, mc, mz, q and chains against W; the workspace; the
    minibatches of this call inside ``order`` and their entries of ``order`` inside X;
    a finite positive sigma where the kernel divides by it; no buffer the epoch writes
    sharing memory with another one or with X or order. Only this call's share of
    ``order`` is scanned, so a paced epoch scans it once in all.
    """
    cdef Py_ssize_t nh, nv, n, n_neg, n_rows, total, lo, hi, i, isz = sizeof(floating)
    for name, missing in (("X", X is None), ("order", order is None), ("W", W is None),
                          ("b", b is None), ("c", c is None), ("sigma", sigma is None),
                          ("mW", mW is None), ("mb", mb is None), ("mc", mc is None),
                          ("mz", mz is None), ("vW", vW is None), ("vb", vb is None),
                          ("vc", vc is None), ("vz", vz is None), ("gradient", gradient is None),
                          ("offset_v", offset_v is None), ("offset_h", offset_h is None),
                          ("chains", chains is None), ("q", q is None),
                          ("vstack", vstack is None), ("hstack", hstack is None),
                          ("hsample", hsample is None), ("scratch", scratch is None),
                          ("vec_v", vec_v is None), ("vec_h", vec_h is None)):
        if missing:
            raise TypeError(f"{name} must be an array; got None")
    nh, nv = W.shape[0], W.shape[1]
    if nh < 1 or nv < 1:
        raise ValueError(f"W must have at least one row and one column; got ({nh}, {nv})")
    if X.shape[1] != nv:
        raise ValueError(f"X has {X.shape[1]} columns, the weights {nv}")
    for name, length, want in (("b", b.shape[0], nv), ("sigma", sigma.shape[0], nv),
                               ("mb", mb.shape[0], nv), ("mz", mz.shape[0], nv),
                               ("vb", vb.shape[0], nv), ("vz", vz.shape[0], nv),
                               ("c", c.shape[0], nh), ("mc", mc.shape[0], nh),
                               ("vc", vc.shape[0], nh), ("offset_v", offset_v.shape[0], nv),
                               ("offset_h", offset_h.shape[0], nh),
                               ("q", q.shape[0], nh), ("chains", chains.shape[1], nh)):
        if length != want:
            raise ValueError(f"{name} must have {want} entries (W is {nh} x {nv}); got "
                             f"{length}")
    for name, rows, cols in (("mW", mW.shape[0], mW.shape[1]),
                             ("vW", vW.shape[0], vW.shape[1])):
        if rows != nh or cols != nv:
            raise ValueError(f"{name} must have W's shape ({nh}, {nv}); got ({rows}, {cols})")
    if cfg.persistent and chains.shape[0] < 1:
        raise ValueError("chains must have at least one row for persistent CD")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    n_neg = chains.shape[0] if cfg.persistent else batch_size
    if (vstack.shape[0] < batch_size + n_neg or vstack.shape[1] != nv
            or hstack.shape[0] < batch_size + n_neg or hstack.shape[1] != nh
            or hsample.shape[0] < batch_size or hsample.shape[1] != nh
            or vec_v.shape[0] < VEC_V_ROWS or vec_v.shape[1] != nv
            or vec_h.shape[0] < VEC_H_ROWS or vec_h.shape[1] != nh
            or gradient.shape[1] != nv
            or ((cfg.optimizer == OPT_ADAM or cfg.fast) and gradient.shape[0] < nh)
            or (cfg.learn_sigma and (scratch.shape[0] < batch_size + n_neg
                                     or scratch.shape[1] != nv))):
        raise ValueError("workspace does not fit this model and batch_size: make it with "
                         "make_workspace(hyper, n_visible, n_hidden, dtype)")
    n = order.shape[0]
    total = (n + batch_size - 1) // batch_size
    if first_batch < 0 or n_batches < 0 or (
            n_batches > 0 and <Py_ssize_t>first_batch + n_batches > total):
        raise ValueError(f"minibatches {first_batch} .. {first_batch + n_batches - 1} are "
                         f"not all among the epoch's {total}")
    n_rows = X.shape[0]
    if n_batches > 0:
        lo = <Py_ssize_t>first_batch * batch_size
        hi = min(n, (<Py_ssize_t>first_batch + n_batches) * batch_size)
        for i in range(lo, hi):
            if order[i] < 0 or order[i] >= n_rows:
                raise ValueError(f"order[{i}] = {order[i]} is not a row of X (it has "
                                 f"{n_rows})")
    # the epoch's first segment only: a later one may meet a diverged sigma, which the
    # estimators detect after the epoch (DivergenceError) and undo
    if first_batch == 0 and (cfg.visible == VIS_GAUSSIAN or cfg.learn_sigma):
        for i in range(nv):
            # the negated test also refuses NaN
            if not (sigma[i] > 0 and sigma[i] < INFINITY):
                raise ValueError(f"sigma must be finite and positive; sigma[{i}] = {sigma[i]}")
    spans = []
    for name, span, written in (
            ("X", _span(<const char *>&X[0, 0] if X.shape[0] else NULL, X.shape[0],
                        X.shape[1], X.strides[0], X.strides[1], isz), False),
            ("order", _span(<const char *>&order[0] if n else NULL, n, 1, 8, 8, 8), False),
            ("W", _span(<const char *>&W[0, 0], nh, nv, nv * isz, isz, isz), True),
            ("mW", _span(<const char *>&mW[0, 0], nh, nv, nv * isz, isz, isz), True),
            ("b", _span(<const char *>&b[0], 1, nv, 0, isz, isz), True),
            ("c", _span(<const char *>&c[0], 1, nh, 0, isz, isz), True),
            ("sigma", _span(<const char *>&sigma[0], 1, nv, 0, isz, isz), True),
            ("mb", _span(<const char *>&mb[0], 1, nv, 0, isz, isz), True),
            ("mc", _span(<const char *>&mc[0], 1, nh, 0, isz, isz), True),
            ("mz", _span(<const char *>&mz[0], 1, nv, 0, isz, isz), True),
            ("vW", _span(<const char *>&vW[0, 0], nh, nv, nv * isz, isz, isz), True),
            ("vb", _span(<const char *>&vb[0], 1, nv, 0, isz, isz), True),
            ("vc", _span(<const char *>&vc[0], 1, nh, 0, isz, isz), True),
            ("vz", _span(<const char *>&vz[0], 1, nv, 0, isz, isz), True),
            ("gradient", _span(<const char *>&gradient[0, 0], gradient.shape[0], nv,
                               nv * isz, isz, isz), True),
            ("offset_v", _span(<const char *>&offset_v[0], 1, nv, 0, isz, isz), False),
            ("offset_h", _span(<const char *>&offset_h[0], 1, nh, 0, isz, isz), True),
            ("q", _span(<const char *>&q[0], 1, nh, 0, isz, isz), True),
            ("chains", _span(<const char *>&chains[0, 0] if chains.shape[0] else NULL,
                             chains.shape[0], nh, nh * isz, isz, isz), True),
            ("vstack", _span(<const char *>&vstack[0, 0], vstack.shape[0], nv, nv * isz,
                             isz, isz), True),
            ("hstack", _span(<const char *>&hstack[0, 0], hstack.shape[0], nh, nh * isz,
                             isz, isz), True),
            ("hsample", _span(<const char *>&hsample[0, 0], hsample.shape[0], nh, nh * isz,
                              isz, isz), True),
            ("scratch", _span(<const char *>&scratch[0, 0] if scratch.shape[0] else NULL,
                              scratch.shape[0], scratch.shape[1], scratch.shape[1] * isz,
                              isz, isz), True),
            ("vec_v", _span(<const char *>&vec_v[0, 0], vec_v.shape[0], nv, nv * isz, isz,
                            isz), True),
            ("vec_h", _span(<const char *>&vec_h[0, 0], vec_h.shape[0], nh, nh * isz, isz,
                            isz), True)):
        if span is not None:
            spans.append((span[0], span[1], name, written))
    spans.sort()
    open_spans = []
    for lo_addr, hi_addr, name, written in spans:
        open_spans = [s for s in open_spans if s[1] > lo_addr]
        for other in open_spans:
            if written or other[3]:
                raise ValueError(f"{other[2]} and {name} overlap in memory; the epoch writes "
                                 f"one while using the other: pass separate arrays")
        open_spans.append((lo_addr, hi_addr, name, written))


cdef _check_tempering(StepConfig cfg, floating[:, ::1] chains, floating[:, ::1] pt_input,
                      double[:, ::1] pt_energy, int64_t[::1] swap_attempts,
                      int64_t[::1] swap_accepts):
    """PT's arrays against the chains (the shared checks of _check_epoch_shapes ran)."""
    cdef int m = cfg.n_temperatures
    for name, a in (("pt_input", pt_input), ("pt_energy", pt_energy)):
        if a is None:
            raise TypeError(f"workspace[{name!r}] must be an array; got None")
        for other_name, other in (("chains", chains), ("swap_attempts", swap_attempts),
                                  ("swap_accepts", swap_accepts)):
            if other is not None and np.shares_memory(np.asarray(a), np.asarray(other)):
                raise ValueError(f"workspace[{name!r}] and {other_name} overlap in memory")
    if np.shares_memory(np.asarray(pt_input), np.asarray(pt_energy)) or (
            swap_attempts is not None and swap_accepts is not None
            and np.shares_memory(np.asarray(swap_attempts), np.asarray(swap_accepts))):
        raise ValueError("parallel tempering's buffers overlap in memory")
    for name, a in (("swap_attempts", swap_attempts), ("swap_accepts", swap_accepts)):
        if a is None or a.shape[0] < m:
            raise ValueError(f"state.{name} must have {m} entries (one per temperature)")
    if m == 1:
        return
    if chains.shape[0] % m or chains.shape[0] == 0:
        raise ValueError(f"parallel tempering needs chains of n_temperatures x n_chains rows "
                         f"({m} temperatures); got {chains.shape[0]} rows")
    if (pt_input.shape[0] < chains.shape[0] or pt_input.shape[1] != cfg.nh
            or pt_energy.shape[0] < chains.shape[0]
            or pt_energy.shape[1] != cfg.n_hidden_chunks + cfg.n_visible_chunks):
        raise ValueError("workspace does not fit this model and its temperatures: make it "
                         "with make_workspace(hyper, n_visible, n_hidden, dtype)")


cdef _check_fast(StepConfig cfg, floating[:, ::1] W, floating[:, ::1] fast_W,
                 floating[::1] fast_b, floating[::1] fast_c, floating[:, ::1] chain_W,
                 tuple others):
    """Fast PCD's arrays (the shared checks of _check_epoch_shapes ran); ``others`` the
    epoch's other arrays, which the ones fast PCD writes must not overlap."""
    cdef Py_ssize_t nh = W.shape[0], nv = W.shape[1]
    for name, a in (("fast_W", fast_W), ("fast_b", fast_b), ("fast_c", fast_c),
                    ("chain_W", chain_W)):
        if a is None:
            raise TypeError(f"{name} must be an array; got None")
    if (fast_W.shape[0] != nh or fast_W.shape[1] != nv or fast_b.shape[0] != nv
            or fast_c.shape[0] != nh):
        raise ValueError(f"fast_W, fast_b, fast_c must have the shapes of W, b, c "
                         f"({nh} x {nv}, {nv}, {nh})")
    if not cfg.fast:
        return
    if chain_W.shape[0] != nh or chain_W.shape[1] != nv:
        raise ValueError("workspace does not fit fast PCD: make it with "
                         "make_workspace(hyper, n_visible, n_hidden, dtype)")
    written = [np.asarray(fast_W), np.asarray(fast_b), np.asarray(fast_c),
               np.asarray(chain_W)]
    read = []
    for o in others:
        if o is not None:
            read.append(np.asarray(o))
    for i in range(len(written)):
        for other in written[i + 1:] + read:
            if np.shares_memory(written[i], other):
                raise ValueError("fast PCD's arrays (fast_W, fast_b, fast_c, workspace "
                                 "['chain_W']) must not overlap each other or the epoch's "
                                 "other arrays")


def _check_copies(n_copies):
    _kernel_args.n_copies(n_copies)


cdef StepConfig _make_config(hyper, int nv, int nh, uint64_t seed,
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
    cfg.optimizer = hyper.optimizer
    cfg.centering = hyper.centering
    cfg.centering_rate = hyper.centering_rate
    cfg.n_temperatures = max(1, len(hyper.betas))
    cfg.fast = hyper.fast_weights
    cfg.fast_learning_rate = hyper.fast_learning_rate
    cfg.fast_decay = hyper.fast_decay
    cfg.beta_1 = hyper.beta_1
    cfg.beta_2 = hyper.beta_2
    cfg.epsilon = hyper.epsilon
    cfg.adam_t_first = 1
    cfg.first_batch = 0
    cfg.seed = seed
    cfg.small_gemm = small_gemm
    cfg.hidden_chunk = _unit_chunk(nh)
    cfg.visible_chunk = _unit_chunk(nv)
    cfg.n_hidden_chunks = _n_chunks(nh, cfg.hidden_chunk)
    cfg.n_visible_chunks = _n_chunks(nv, cfg.visible_chunk)
    return cfg


def fit_epoch(state, hyper, X, order, seed, step0, n_threads=None, workspace=None,
              small_gemm=None):
    """One epoch of CD-k / PCD-k over ``X[order]``; updates ``state`` in place.

    Same contract as :func:`fastrbm.reference.fit_epoch`; returns the number of updates.
    The epoch runs in segments of about 20 ms with a check for signals between them: on
    Ctrl-C it raises KeyboardInterrupt with ``state`` part-way through the epoch (the
    estimators restore the state the epoch started from). Chunks of work have the same
    boundaries on any number of threads, so the result does not depend on ``n_threads``,
    and each segment runs on the thread count (``n_threads`` or 1) that has been faster
    so far (see _segments.pxd; the measurements are kept in ``workspace["threads"]``):
    under load, one thread can beat two.
    ``X`` may have any memory order; it must have the state's dtype. ``small_gemm``
    cuts small-minibatch products into calls OpenBLAS runs unpacked (None: when
    :func:`fastrbm._blas_runtime.has_small_gemm_kernels` says the BLAS has such kernels).
    """
    _kernel_args.fit_epoch(state, hyper, X, order, seed, step0, n_threads, workspace,
                           small_gemm)
    if small_gemm is None:
        small_gemm = has_small_gemm_kernels()
    if workspace is None:
        workspace = make_workspace(hyper, state.W.shape[1], state.W.shape[0], state.W.dtype)
    ws = workspace
    cdef int64_t n_batches = (len(order) + hyper.batch_size - 1) // hyper.batch_size
    cdef int64_t done = 0, m, per = 1
    cdef double t0, seconds
    cdef int nt, n_max = epoch_threads(hyper.batch_size, state.W.shape[1], state.W.shape[0],
                                       n_threads or 1)
    choice_array = ws.setdefault("threads", np.zeros(CHOICE_SIZE))
    if not (isinstance(choice_array, np.ndarray) and choice_array.dtype == np.float64
            and choice_array.shape == (CHOICE_SIZE,) and choice_array.flags.writeable):
        raise ValueError(f"workspace['threads'] must be a writeable float64 array of "
                         f"shape ({CHOICE_SIZE},), as fit_epoch makes it; got "
                         f"{type(choice_array).__name__}")
    cdef double[::1] choice = choice_array
    cdef int64_t[::1] adam_steps = state.adam_steps
    cdef bint adam = hyper.optimizer == OPT_ADAM
    with blas_held_at_one():
        while done < n_batches:
            # a call's first segment wakes the thread team and warms the caches: slower
            # than what follows, it is neither a probe nor measured
            nt = choose_threads(&choice[0], n_max) if done > 0 else \
                faster_threads(&choice[0], n_max)
            m = min(per if nt == faster_threads(&choice[0], n_max) else
                    max(1, per // PROBE_SHARE), n_batches - done)
            t0 = frbm_seconds()
            _fit_epoch_typed(X, order, state.W, state.b, state.c, state.sigma, state.mW,
                             state.mb, state.mc, state.mz, state.vW, state.vb, state.vc,
                             state.vz, state.chains, state.q, ws["vstack"], ws["hstack"],
                             ws["hsample"], ws["scratch"], ws["vec_v"], ws["vec_h"],
                             ws["gradient"], state.visible_offset, state.hidden_offset,
                             ws["pt_input"], ws["pt_energy"], state.swap_attempts,
                             state.swap_accepts, state.fast_W, state.fast_b, state.fast_c,
                             ws["chain_W"], hyper, seed, nt, step0, small_gemm, done, m,
                             adam_steps[0] + 1, SWAP_STREAM)
            if adam:
                adam_steps[0] += m
            seconds = frbm_seconds() - t0
            if done > 0 or m == n_batches:
                record_segment(&choice[0], n_max, nt, m, seconds)
            done += m
            per = next_segment(m, seconds)
            PyErr_CheckSignals()
    return n_batches


cpdef int row_threads(n_rows, n_cols, n_threads):
    """Threads a row-split kernel runs on: ``n_threads`` when each thread gets at least 4
    rows and the work is big enough to pay for the parallel region, else 1."""
    _kernel_args.thread_counts(n_rows=n_rows, n_cols=n_cols, n_threads=n_threads)
    if frbm_openmp_enabled() and n_threads > 1 and n_rows >= MIN_ROWS_PER_THREAD * n_threads and \
            <int64_t>n_rows * n_cols >= PARALLEL_MIN_ELEMENTS:
        return n_threads
    return 1


# ------------------------------------------------------------ row-split kernels
# The inference kernels cut the rows into chunks that threads claim (src_c/frbm_sched.h:
# a descheduled thread holds up only the chunk it is in), each multiplying its rows by
# all of W with single-threaded BLAS. A chunk is at most ROW_CHUNK_MACS multiply-adds,
# so that segments between checks for signals stay short, and has at least
# MIN_ROW_CHUNK rows where that allows (BLAS packs W once per call). A pseudo-likelihood
# row costs one softplus per weight, some hundred times a multiply-add, so its chunks
# are capped at PL_CHUNK_TERMS of those instead (about 30 ms on one core).
DEF ROW_CHUNK_MACS = 50000000
DEF PL_CHUNK_TERMS = 10000000
DEF MIN_ROW_CHUNK = 16

cdef enum:
    JOB_HIDDEN = 0          # x = V W^T; hidden means and/or samples
    JOB_VISIBLE = 1         # out = H W; visible means or samples, in place
    JOB_FREE_ENERGY = 2     # x = V W^T; F(v) per row
    JOB_PSEUDO_LIKELIHOOD = 3   # x = V W^T (float64); sum_i log p(v_i | v_-i) per row


# One row-split kernel call (pointers to one float type).
cdef struct RowJob:
    int kind
    int n                   # rows
    int n_in                # columns of the input rows
    int n_out               # columns of the products
    int units               # unit type of the layer computed
    int n_copies
    bint sample
    int visible             # free energy: the visible unit type
    uint64_t seed
    uint32_t stream
    uint32_t step
    int rows_per_chunk
    const void *rows        # V (n x nv) or H (n x nh), C order
    const void *W           # (nh x nv)
    const void *bias        # c (hidden), b / sigma or b (visible), c (free energy)
    const void *scale       # visible: sigma or NULL; free energy: sigma or NULL
    const void *b           # free energy, pseudo-likelihood: visible biases
    const void *WT          # pseudo-likelihood: W^T (nv x nh), float64, and its exp(+-W^T)
    const void *exp_WT
    const void *exp_neg_WT
    void *x                 # products (n x n_out)
    void *mean_out
    void *sample_out
    double *energy          # free energy per row


cdef inline int _rows_per_chunk(int n, int n_in, int n_out, bint per_term) noexcept nogil:
    cdef int64_t per = (n + CHUNKS_PER_PASS - 1) // CHUNKS_PER_PASS
    cdef int64_t work = <int64_t>n_in * n_out if n_in * n_out > 0 else 1
    cdef int64_t cap = (PL_CHUNK_TERMS if per_term else ROW_CHUNK_MACS) // work
    if per < MIN_ROW_CHUNK and not per_term:
        per = MIN_ROW_CHUNK
    if per > cap:
        per = cap
    return <int>per if per >= 1 else 1


cdef void _row_chunk(const RowJob *job, int r0, int r1, floating *dtype_tag) noexcept nogil:
    """Rows r0..r1-1 of ``job``."""
    cdef const floating *rows = <const floating *>job.rows
    cdef const floating *W = <const floating *>job.W
    cdef floating *x = <floating *>job.x
    cdef int n_in = job.n_in, n_out = job.n_out, r
    if job.kind == JOB_VISIBLE:
        gemm(NO_TRANS, NO_TRANS, r1 - r0, n_out, n_in, <floating>1, rows + <Py_ssize_t>r0 * n_in,
             n_in, W, n_out, <floating>0, x + <Py_ssize_t>r0 * n_out, n_out)
        _visible_rows(r0, r1, 0, n_out, x, <const floating *>job.bias,
                      <const floating *>job.scale, n_out, job.units, job.sample, job.seed,
                      job.stream, job.step)
        return
    gemm(NO_TRANS, TRANS, r1 - r0, n_out, n_in, <floating>1, rows + <Py_ssize_t>r0 * n_in, n_in,
         W, n_in, <floating>0, x + <Py_ssize_t>r0 * n_out, n_out)
    if job.kind == JOB_HIDDEN:
        _hidden_rows(r0, r1, 0, n_out, n_out, x, <const floating *>job.bias, job.units,
                     job.n_copies, <floating>1, <floating *>job.mean_out,
                     <floating *>job.sample_out, job.seed, job.stream, job.step)
    elif job.kind == JOB_PSEUDO_LIKELIHOOD:
        if floating is double:      # the wrapper passes float64 arrays only
            _pseudo_likelihood_rows(job, r0, r1)
    else:
        for r in range(r0, r1):
            job.energy[r] = _free_energy_row(rows + <Py_ssize_t>r * n_in,
                                             x + <Py_ssize_t>r * n_out,
                                             <const floating *>job.b,
                                             <const floating *>job.bias,
                                             <const floating *>job.scale, n_in, n_out,
                                             job.visible, job.units, job.n_copies)


cdef void _row_worker(const RowJob *job, int64_t first_chunk, int64_t n_chunks,
                      frbm_sched *sched, floating *dtype_tag) noexcept nogil:
    """Claim chunks first_chunk .. first_chunk + n_chunks - 1 until none is left."""
    cdef int64_t g = frbm_sched_claim(sched)
    cdef int r0, r1
    while g < n_chunks:
        _chunk_range(<int>(first_chunk + g), job.rows_per_chunk, job.n, &r0, &r1)
        _row_chunk(job, r0, r1, dtype_tag)
        g = frbm_sched_claim(sched)


cdef void _row_segment(const RowJob *job, int64_t first_chunk, int64_t n_chunks, int nt,
                       bint double_precision) noexcept nogil:
    cdef frbm_sched sched
    frbm_sched_init(&sched)
    with parallel(num_threads=nt):
        if double_precision:
            _row_worker(job, first_chunk, n_chunks, &sched, <double *>NULL)
        else:
            _row_worker(job, first_chunk, n_chunks, &sched, <float *>NULL)


cdef _run_rows(RowJob *job, bint double_precision, int n_threads):
    """Run ``job`` in paced segments of chunks, checking for signals between them, with
    BLAS held at one thread (each thread calls it on its own rows)."""
    cdef int nt = row_threads(job.n, job.n_in + job.n_out, n_threads)
    cdef int64_t n_chunks, done = 0, m, per = 1
    cdef double t0
    if job.n == 0:
        return
    job.rows_per_chunk = _rows_per_chunk(job.n, job.n_in, job.n_out,
                                         job.kind == JOB_PSEUDO_LIKELIHOOD)
    n_chunks = _n_chunks(job.n, job.rows_per_chunk)
    with blas_held_at_one():
        while done < n_chunks:
            # at least a chunk per thread, or a segment of slow chunks leaves threads idle
            m = min(per if per >= nt else nt, n_chunks - done)
            t0 = frbm_seconds()
            with nogil:
                _row_segment(job, done, m, nt, double_precision)
            done += m
            per = next_segment(m, frbm_seconds() - t0)
            PyErr_CheckSignals()


cdef const void *_ptr(a, dtype, str name, bint writes=False) except? NULL:
    """Address of the first element of ``a`` (NULL for None), which must be a
    C-contiguous ndarray of ``dtype`` (and writeable when the kernel ``writes`` to it):
    the kernels index it as such."""
    if a is None:
        return NULL
    if not isinstance(a, np.ndarray) or a.dtype != dtype or not a.flags.c_contiguous:
        raise TypeError(f"{name} must be a C-contiguous {np.dtype(dtype).name} ndarray")
    if writes and not a.flags.writeable:
        raise ValueError(f"{name} is read-only")
    if a.size == 0:
        return NULL
    return <const void *><size_t>a.ctypes.data


def hidden_conditional(V, W, c, sigma, hidden, n_copies, seed, stream, step,
                       mean_out=None, sample_out=None, n_threads=None):
    """Hidden means and/or samples given visible rows ``V`` (data space).

    Twin of :func:`fastrbm.reference.hidden_conditional`; writes into ``mean_out`` /
    ``sample_out`` (either may be None) and returns them. Rows are cut into chunks that
    OpenMP threads claim, each multiplying its rows with single-threaded BLAS.
    """
    _kernel_args.hidden_conditional(V, W, c, sigma, hidden, n_copies, seed, stream, step,
                                    mean_out, sample_out, n_threads)
    cdef RowJob job
    _check_copies(n_copies)
    Vt = np.ascontiguousarray(V if sigma is None else V / sigma, dtype=W.dtype)
    x = mean_out if mean_out is not None else np.empty((V.shape[0], W.shape[0]), W.dtype)
    job.kind = JOB_HIDDEN
    job.n, job.n_in, job.n_out = V.shape[0], W.shape[1], W.shape[0]
    job.units, job.n_copies, job.sample = hidden, n_copies, sample_out is not None
    job.seed, job.stream, job.step = seed, stream, step
    dt = W.dtype
    job.rows, job.W, job.bias = _ptr(Vt, dt, "V"), _ptr(W, dt, "W"), _ptr(c, dt, "c")
    job.scale, job.b = NULL, NULL
    job.x = <void *>_ptr(x, dt, "mean_out", True)
    job.mean_out = <void *>_ptr(mean_out, dt, "mean_out", True)
    job.sample_out = <void *>_ptr(sample_out, dt, "sample_out", True)
    job.energy = NULL
    _run_rows(&job, W.dtype == np.float64, n_threads or 1)
    return mean_out, sample_out


def visible_conditional(H, W, b, sigma, visible, seed, stream, step, out, sample,
                        n_threads=None):
    """Visible means (``sample=False``) or samples given hidden rows, in data space.

    Twin of :func:`fastrbm.reference.visible_conditional`; writes into ``out``.
    """
    _kernel_args.visible_conditional(H, W, b, sigma, visible, seed, stream, step, out, sample,
                                     n_threads)
    cdef RowJob job
    H = np.ascontiguousarray(H, dtype=W.dtype)
    job.kind = JOB_VISIBLE
    job.n, job.n_in, job.n_out = H.shape[0], W.shape[0], W.shape[1]
    job.units, job.n_copies, job.sample = visible, 1, bool(sample)
    job.seed, job.stream, job.step = seed, stream, step
    dt = W.dtype
    job.rows, job.W, job.bias = _ptr(H, dt, "H"), _ptr(W, dt, "W"), _ptr(b, dt, "b")
    job.scale, job.b = _ptr(sigma, dt, "sigma"), NULL
    job.x, job.mean_out, job.sample_out = <void *>_ptr(out, dt, "out", True), NULL, NULL
    job.energy = NULL
    _run_rows(&job, W.dtype == np.float64, n_threads or 1)
    return out


def gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step, purpose,
          sample_last=True, n_threads=None, progress=None):
    """``n_steps`` of v -> h -> v from ``V``; twin of :func:`fastrbm.reference.gibbs`;
    ``progress(t, n_steps)`` after each step."""
    _kernel_args.gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
                       purpose, sample_last, n_threads, progress)
    n, nh = V.shape[0], W.shape[0]
    H = np.empty((n, nh), dtype=V.dtype)
    v = np.array(V, dtype=V.dtype, order="C", copy=True)
    with blas_held_at_one():
        for t in range(1, n_steps + 1):
            hidden_conditional(v, W, c, sigma, hidden, n_copies, seed,
                               stream_hidden(t, purpose), step, None, H, n_threads)
            visible_conditional(H, W, b, sigma, visible, seed, stream_visible(t, purpose),
                                step, v, t < n_steps or sample_last, n_threads)
            if progress is not None:
                progress(t, n_steps)
    return v


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


cdef inline double _phi_shift_sum(const double *x, const double *E, const double *w,
                                  const double *P, double d, int m, int hidden,
                                  int n_copies) noexcept nogil:
    """sum_j phi(x_j + d w_j) of the hidden units' free-energy terms phi; E = exp(x) and
    P = exp(d w) (NULL: d is not +-1) spare the binary and stepped terms their exp."""
    cdef double total = 0, off
    cdef int k, j
    if hidden == HID_BERNOULLI or hidden == HID_STEPPED:
        for k in range(1 if hidden == HID_STEPPED else 0,
                       n_copies + 1 if hidden == HID_STEPPED else 1):
            off = k - 0.5 if hidden == HID_STEPPED else 0.0
            if P != NULL:
                total += frbm_softplus_scaled_sum(E, P, x, w, d, off, exp(-off), m)
            else:
                total += frbm_softplus_shift_sum(x, w, d, off, m)
        return total
    for j in range(m):
        total += nrelu_phi(x[j] + d * w[j], NRELU_CUTOFF)
    return total


cdef void _pseudo_likelihood_rows(const RowJob *job, int r0, int r1) noexcept nogil:
    """Rows r0..r1-1: flipping site i (d_i = 1 - 2 v_i) moves every hidden input by
    d_i W_ji, so F(v flipped) - F(v) = -b_i d_i - sum_j [phi(x_j + d_i W_ji) - phi(x_j)],
    all sites of a row from its one hidden input; log p(v_i | v_-i) = -softplus(-delta).
    Sites are the outer loop, so that each site's weights are read once per chunk of rows
    rather than once per row (the weights and their exps are megabytes: read per row,
    memory and not the arithmetic would set the pace). ``job.energy`` holds phi0 of each
    row until its sum replaces it."""
    cdef const double *V = <const double *>job.rows
    cdef const double *WT = <const double *>job.WT
    cdef const double *expW = <const double *>job.exp_WT
    cdef const double *exp_negW = <const double *>job.exp_neg_WT
    cdef const double *b = <const double *>job.b
    cdef const double *c = <const double *>job.bias
    cdef const double *P
    cdef double *x = <double *>job.x
    cdef double *xr
    cdef double *E
    cdef double phi0, d, delta, total
    cdef int nv = job.n_in, nh = job.n_out, r, i, j
    cdef Py_ssize_t at
    cdef double *sums = <double *>job.sample_out      # per row: the sum over the sites
    for r in range(r0, r1):
        xr = x + <Py_ssize_t>r * nh
        E = <double *>job.mean_out + <Py_ssize_t>r * nh
        for j in range(nh):
            xr[j] += c[j]
            E[j] = exp(xr[j])
        job.energy[r] = _phi_shift_sum(xr, E, xr, NULL, 0.0, nh, job.units, job.n_copies)
        sums[r] = 0
    for i in range(nv):
        at = <Py_ssize_t>i * nh
        for r in range(r0, r1):
            d = 1 - 2 * V[<Py_ssize_t>r * nv + i]
            P = expW + at if d == 1 else exp_negW + at if d == -1 else NULL
            delta = -b[i] * d - (_phi_shift_sum(x + <Py_ssize_t>r * nh,
                                                <double *>job.mean_out + <Py_ssize_t>r * nh,
                                                WT + at, P, d, nh, job.units, job.n_copies)
                                 - job.energy[r])
            sums[r] -= softplus(-delta)
    for r in range(r0, r1):
        job.energy[r] = sums[r]


def pseudo_likelihood(V, W, b, c, hidden, n_copies=1, n_threads=None):
    """Exact pseudo-log-likelihood sum_i log p(v_i | v_-i) of each row (Bernoulli visible
    units), in float64 whatever the model's dtype; twin of
    :func:`fastrbm.reference.pseudo_likelihood`. One hidden input per row serves all its
    sites; the rows are split between the threads."""
    _kernel_args.pseudo_likelihood(V, W, b, c, hidden, n_copies, n_threads)
    cdef RowJob job
    f64 = np.dtype(np.float64)
    V64 = np.ascontiguousarray(V, dtype=f64)
    W64 = np.ascontiguousarray(W, dtype=f64)
    WT = np.ascontiguousarray(W64.T)
    with np.errstate(over="ignore"):    # an infinite exp is handled (fastmath.h)
        exp_WT, exp_neg_WT = np.exp(WT), np.exp(-WT)
    b64, c64 = np.ascontiguousarray(b, dtype=f64), np.ascontiguousarray(c, dtype=f64)
    out = np.empty(V.shape[0], dtype=f64)
    x = np.empty((V.shape[0], W.shape[0]), dtype=f64)
    E = np.empty((V.shape[0], W.shape[0]), dtype=f64)     # exp(x), row by row
    job.kind = JOB_PSEUDO_LIKELIHOOD
    job.n, job.n_in, job.n_out = V.shape[0], W.shape[1], W.shape[0]
    job.units, job.n_copies, job.sample, job.visible = hidden, n_copies, False, VIS_BERNOULLI
    job.seed, job.stream, job.step = 0, 0, 0
    job.rows, job.W, job.WT = _ptr(V64, f64, "V"), _ptr(W64, f64, "W"), _ptr(WT, f64, "W")
    job.bias, job.b, job.scale = _ptr(c64, f64, "c"), _ptr(b64, f64, "b"), NULL
    job.exp_WT, job.exp_neg_WT = _ptr(exp_WT, f64, "W"), _ptr(exp_neg_WT, f64, "W")
    sums = np.empty(V.shape[0], dtype=f64)
    job.x, job.sample_out = <void *>_ptr(x, f64, "x", True), <void *>_ptr(sums, f64, "s", True)
    job.mean_out = <void *>_ptr(E, f64, "E", True)
    job.energy = <double *><size_t>out.ctypes.data
    _run_rows(&job, True, n_threads or 1)
    return out


def free_energy(V, W, b, c, sigma, visible, hidden, n_copies=1, n_threads=None):
    """F(v) per row as float64; twin of :func:`fastrbm.reference.free_energy`."""
    _kernel_args.free_energy(V, W, b, c, sigma, visible, hidden, n_copies, n_threads)
    cdef RowJob job
    Vt = np.ascontiguousarray(V if sigma is None else V / sigma, dtype=W.dtype)
    out = np.empty(V.shape[0], dtype=np.float64)
    x = np.empty((V.shape[0], W.shape[0]), dtype=W.dtype)
    job.kind = JOB_FREE_ENERGY
    job.n, job.n_in, job.n_out = V.shape[0], W.shape[1], W.shape[0]
    job.units, job.n_copies, job.sample, job.visible = hidden, n_copies, False, visible
    job.seed, job.stream, job.step = 0, 0, 0
    dt = W.dtype
    job.rows, job.W, job.bias = _ptr(Vt, dt, "V"), _ptr(W, dt, "W"), _ptr(c, dt, "c")
    job.scale, job.b = _ptr(sigma, dt, "sigma"), _ptr(b, dt, "b")
    job.x, job.mean_out, job.sample_out = <void *>_ptr(x, dt, "x", True), NULL, NULL
    job.energy = <double *><size_t>out.ctypes.data
    _run_rows(&job, W.dtype == np.float64, n_threads or 1)
    return out


def _fill_normals_typed(floating[::1] out, uint64_t seed, uint32_t stream, uint32_t step):
    _kernel_args.fill_typed(out)
    cdef Py_ssize_t i, n = out.shape[0]
    cdef frbm_stream st
    with nogil:
        frbm_stream_init(&st, seed, stream, step)
        for i in range(n):
            out[i] = <floating>frbm_normal(&st, i)


def _fill_uniforms_typed(floating[::1] out, uint64_t seed, uint32_t stream, uint32_t step):
    _kernel_args.fill_typed(out)
    cdef Py_ssize_t i, n = out.shape[0]
    cdef frbm_stream st
    with nogil:
        frbm_stream_init(&st, seed, stream, step)
        for i in range(n):
            out[i] = uniform(&st, i, out[0])


def fill_uniforms(out, seed, stream, step):
    """Fill a C-contiguous array with the uniforms of :func:`fastrbm.reference.uniforms`."""
    _kernel_args.fill(out, seed, stream, step)
    if out.size:
        _fill_uniforms_typed(out.reshape(-1), seed, stream, step)
    return out


def fill_normals(out, seed, stream, step):
    """Fill a C-contiguous array with the normals of :func:`fastrbm.reference.normals`."""
    _kernel_args.fill(out, seed, stream, step)
    _fill_normals_typed(out.reshape(-1), seed, stream, step)
    return out
