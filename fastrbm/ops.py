"""fastrbm.ops: the functional kernel API, for libraries that bring their own arrays.

Arrays in, arrays out. Every function takes the model's parameters as arrays (``W`` of
shape (n_hidden, n_visible), the biases, ``sigma`` for Gaussian visible units), unit
types by name, the random-stream coordinates ``(seed, stream, step)`` of
:mod:`fastrbm.streams`, ``n_threads`` and ``backend`` ("cython": the compiled kernels;
"numpy": :mod:`fastrbm.reference`, their NumPy twin drawing the same random numbers).
The estimators are built on these functions alone.

Contract (checked once, where the call enters the backend; a violation raises
TypeError or ValueError naming the argument, and nothing is written):

* ``W`` is a C-contiguous float32 or float64 array; every other parameter, output and
  training-state array is a C-contiguous array of ``W``'s dtype (nothing is converted:
  a conversion would hide a copy, or write the results into one). Data rows (``V``,
  ``H``, ``X``) have ``W``'s dtype and any strides.
* ``sigma`` is None for Bernoulli visible units and positive for Gaussian ones.
* Outputs (``out=``, ``mean_out=``) are written in place and returned; they must not
  overlap the inputs.

See ``docs/api.md`` for the compatibility promise (which signatures and random streams
stay stable across minor versions).
"""
from __future__ import annotations

import contextlib
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from . import streams
from ._constants import OPTIMIZER_CODES
from ._blas_runtime import blas_threads, resolve_n_threads
from .state import Hyper, TrainState
from .units import VISIBLE_GAUSSIAN, hidden_code, visible_code

__all__ = ["BACKENDS", "check_backend", "hidden_mean", "hidden_sample", "visible_mean",
           "visible_sample", "gibbs", "free_energy", "pseudo_likelihood", "training_settings",
           "training_state", "make_workspace", "fit_epoch", "cd_update", "ais", "reverse_ais",
           "uniforms", "normals"]

#: The backends, by name.
BACKENDS = ("cython", "numpy")
#: The negative phases of training (training_settings).
SAMPLERS = ("cd", "pcd", "pt", "fpcd")

_MODULES: dict = {}


def check_backend(backend) -> str:
    """``backend`` if it names a backend, else ValueError."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'cython' or 'numpy'; got {backend!r}")
    return backend


def _modules(backend: str):
    """(row and epoch kernels, AIS) of ``backend``: the backend switch is this lookup."""
    mods = _MODULES.get(backend)
    if mods is None:
        if backend == "cython":
            from . import _ais, _kernels

            mods = (_kernels, _ais)
        elif backend == "numpy":
            from . import reference

            mods = (reference, reference)
        else:
            check_backend(backend)
        _MODULES[backend] = mods
    return mods


def _check(backend: str, family: str, *args) -> None:
    """The compiled functions check their arguments themselves; the NumPy twins get the
    very same checks here, so both backends refuse the same calls."""
    if backend == "numpy":
        from . import _kernel_args

        getattr(_kernel_args, family)(*args)


def _threads_and_blas(backend: str, n_threads):
    """(the thread count for the call, the BLAS context around it). The kernels hold
    BLAS at one thread themselves; NumPy's products run at ``n_threads`` (None: the
    caller's setting)."""
    count = resolve_n_threads(n_threads)
    if backend == "numpy":
        return count, blas_threads(n_threads)
    return count, contextlib.nullcontext()


#: The functions of the AIS module.
_AIS_NAMES = ("ais", "reverse_ais")

#: Stands for the call's thread count in the arguments given to :func:`_run`.
_THREADS = object()


def _run(backend: str, name: str, n_threads, *args):
    """``name(*args)`` of ``backend`` (AIS from its AIS module), with ``_THREADS`` replaced
    by the resolved thread count, the arguments checked once, and BLAS as the backend
    needs it."""
    kernels, ais_module = _modules(backend)
    count, blas = _threads_and_blas(backend, n_threads)
    args = tuple(count if a is _THREADS else a for a in args)
    _check(backend, name, *args)
    with blas:
        return getattr(ais_module if name in _AIS_NAMES else kernels, name)(*args)


def _empty(rows: int, cols: int, W: np.ndarray) -> np.ndarray:
    if not isinstance(W, np.ndarray):
        raise TypeError(f"W must be a numpy ndarray; got {type(W).__name__}")
    return np.empty((rows, cols), dtype=W.dtype)


def _n_rows(a, name: str) -> int:
    if not isinstance(a, np.ndarray) or a.ndim != 2:
        raise TypeError(f"{name} must be a 2-D numpy ndarray; got "
                        f"{getattr(a, 'shape', type(a).__name__)}")
    return a.shape[0]


# ------------------------------------------------------------------ conditionals
def hidden_mean(V: np.ndarray, W: np.ndarray, c: np.ndarray, sigma: Optional[np.ndarray] = None,
                *, hidden: str = "bernoulli", n_copies: int = 1,
                out: Optional[np.ndarray] = None, n_threads: Optional[int] = None,
                backend: str = "cython") -> np.ndarray:
    """Hidden means E[h | v] for visible rows ``V``.

    Parameters
    ----------
    V : ndarray (n, n_visible)
        Visible rows in data space (any strides).
    W : ndarray (n_hidden, n_visible)
    c : ndarray (n_hidden,)
        Hidden biases.
    sigma : ndarray (n_visible,) or None
        Standard deviations of Gaussian visible units (the input is ``V / sigma``).
    hidden : {'bernoulli', 'stepped', 'nrelu'}
    n_copies : int
        Copies of a stepped unit.
    out : ndarray (n, n_hidden) or None
        Written in place when given.
    n_threads : int or None
        None: what the process is allowed (see docs/threads.md).
    backend : {'cython', 'numpy'}

    Returns
    -------
    ndarray (n, n_hidden)
    """
    if out is None:
        out = _empty(_n_rows(V, "V"), W.shape[0], W)
    _run(backend, "hidden_conditional", n_threads, V, W, c, sigma, hidden_code(hidden),
         n_copies, 0, 0, 0, out, None, _THREADS)
    return out


def hidden_sample(V: np.ndarray, W: np.ndarray, c: np.ndarray, sigma: Optional[np.ndarray] = None,
                  *, hidden: str = "bernoulli", n_copies: int = 1, seed: int, stream: int,
                  step: int = 0, out: Optional[np.ndarray] = None,
                  mean_out: Optional[np.ndarray] = None, n_threads: Optional[int] = None,
                  backend: str = "cython") -> np.ndarray:
    """A sample of h | v, drawn from the stream ``(seed, stream, step)``.

    Element (r, j) uses random word ``r * n_hidden + j`` of the stream (stepped units:
    ``n_copies`` words each, NReLU units a normal), whatever the thread count. The
    other parameters are those of :func:`hidden_mean`; ``mean_out``, when given, also
    receives the means.

    Returns
    -------
    ndarray (n, n_hidden)
    """
    if out is None:
        out = _empty(_n_rows(V, "V"), W.shape[0], W)
    _run(backend, "hidden_conditional", n_threads, V, W, c, sigma, hidden_code(hidden),
         n_copies, seed, stream, step, mean_out, out, _THREADS)
    return out


def _visible(H, W, b, sigma, visible, seed, stream, step, out, sample, n_threads, backend):
    if out is None:
        out = _empty(_n_rows(H, "H"), W.shape[1], W)
    _run(backend, "visible_conditional", n_threads, H, W, b, sigma, visible_code(visible),
         seed, stream, step, out, sample, _THREADS)
    return out


def visible_mean(H: np.ndarray, W: np.ndarray, b: np.ndarray, sigma: Optional[np.ndarray] = None,
                 *, visible: str = "bernoulli", out: Optional[np.ndarray] = None,
                 n_threads: Optional[int] = None, backend: str = "cython") -> np.ndarray:
    """Visible means E[v | h] in data space: sigmoid(b + h W) for Bernoulli units,
    b + sigma * (h W) for Gaussian ones.

    Parameters
    ----------
    H : ndarray (n, n_hidden)
        Hidden rows (any strides).
    W : ndarray (n_hidden, n_visible)
    b : ndarray (n_visible,)
    sigma : ndarray (n_visible,) or None
        Required for Gaussian visible units.
    visible : {'bernoulli', 'gaussian'}
    out : ndarray (n, n_visible) or None
    n_threads : int or None
    backend : {'cython', 'numpy'}

    Returns
    -------
    ndarray (n, n_visible)
    """
    return _visible(H, W, b, sigma, visible, 0, 0, 0, out, False, n_threads, backend)


def visible_sample(H: np.ndarray, W: np.ndarray, b: np.ndarray, sigma: Optional[np.ndarray] = None,
                   *, visible: str = "bernoulli", seed: int, stream: int, step: int = 0,
                   out: Optional[np.ndarray] = None, n_threads: Optional[int] = None,
                   backend: str = "cython") -> np.ndarray:
    """A sample of v | h from the stream ``(seed, stream, step)``: element (r, i) uses
    uniform (Bernoulli) or normal (Gaussian) ``r * n_visible + i``. Parameters as
    :func:`visible_mean`.

    Returns
    -------
    ndarray (n, n_visible)
    """
    return _visible(H, W, b, sigma, visible, seed, stream, step, out, True, n_threads, backend)


# ------------------------------------------------------------------ chains, energies
def gibbs(V: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
          sigma: Optional[np.ndarray] = None, *, visible: str = "bernoulli",
          hidden: str = "bernoulli", n_copies: int = 1, n_steps: int = 1, seed: int,
          step: int = 0, purpose: int = streams.PURPOSE_GIBBS, sample_last: bool = True,
          n_threads: Optional[int] = None, backend: str = "cython",
          progress: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """``n_steps`` of v -> h -> v Gibbs sampling from the rows ``V``.

    Step t (1-based) draws h from stream ``streams.hidden(t, purpose)`` and v from
    ``streams.visible(t, purpose)``, both at ``step``.

    Parameters
    ----------
    V : ndarray (n, n_visible)
        Start states (not modified).
    W, b, c, sigma
        The model (``sigma`` for Gaussian visible units).
    visible, hidden : str
        Unit types.
    n_copies : int
    n_steps : int
    seed, step, purpose : int
        Random-stream coordinates.
    sample_last : bool
        False: the last visible state is its mean (smoother pictures).
    n_threads : int or None
    backend : {'cython', 'numpy'}
    progress : callable(t, n_steps) or None
        Called after each step (Ctrl-C is also seen between steps).

    Returns
    -------
    ndarray (n, n_visible)
        The final visible states.
    """
    return _run(backend, "gibbs", n_threads, V, W, b, c, sigma, visible_code(visible),
                hidden_code(hidden), n_copies, n_steps, seed, step, purpose, sample_last,
                _THREADS, progress)


def free_energy(V: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                sigma: Optional[np.ndarray] = None, *, visible: str = "bernoulli",
                hidden: str = "bernoulli", n_copies: int = 1,
                n_threads: Optional[int] = None, backend: str = "cython") -> np.ndarray:
    """Free energy F(v) = -log sum_h exp(-E(v, h)) of each row, in float64.

    Parameters as :func:`gibbs`.

    Returns
    -------
    ndarray (n,) of float64
    """
    return _run(backend, "free_energy", n_threads, V, W, b, c, sigma, visible_code(visible),
                hidden_code(hidden), n_copies, _THREADS)


def pseudo_likelihood(V: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray, *,
                      hidden: str = "bernoulli", n_copies: int = 1,
                      n_threads: Optional[int] = None, backend: str = "cython") -> np.ndarray:
    """Exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)`` of each row, in float64,
    for Bernoulli visible units.

    Parameters
    ----------
    V : ndarray (n, n_visible)
        Rows in [0, 1], W's dtype.
    W, b, c : ndarray
        Weights (n_hidden, n_visible), visible and hidden biases.
    hidden, n_copies, n_threads, backend
        As :func:`gibbs`.

    Returns
    -------
    ndarray (n,) of float64
    """
    return _run(backend, "pseudo_likelihood", n_threads, V, W, b, c, hidden_code(hidden),
                n_copies, _THREADS)


# ------------------------------------------------------------------ training
def training_settings(*, visible: str = "bernoulli", hidden: str = "bernoulli",
                      n_copies: int = 1, k: int = 1, persistent: bool = False,
                      batch_size: int = 100, learning_rate: float = 0.1,
                      momentum: float = 0.0, weight_decay: float = 0.0, l1: float = 0.0,
                      sparsity_target: float = 0.1, sparsity_cost: float = 0.0,
                      sparsity_decay: float = 0.95, learn_sigma: bool = False,
                      sigma_learning_rate: Optional[float] = None, min_sigma: float = 0.1,
                      sample_visible: Optional[bool] = None, optimizer: str = "sgd",
                      beta_1: float = 0.9, beta_2: float = 0.999,
                      epsilon: float = 1e-8, centering: bool = False,
                      centering_rate: float = 0.01, sampler: Optional[str] = None,
                      n_temperatures: int = 10,
                      betas: Optional[Sequence[float]] = None,
                      fast_learning_rate: Optional[float] = None,
                      fast_decay: float = 0.95) -> Hyper:
    """The settings of a training step, validated, for :func:`fit_epoch`.

    Parameters
    ----------
    visible, hidden : str
        Unit types.
    n_copies : int
        Copies of a stepped hidden unit.
    k : int
        Gibbs steps of the negative phase (CD-k / PCD-k).
    persistent : bool
        PCD: the negative chains (``state.chains``) carry over between updates.
    batch_size : int
    learning_rate, momentum, weight_decay, l1 : float
        ``m = momentum * m + learning_rate * gradient; theta += m``; weight decay (L2)
        and L1 act on W only.
    sparsity_target, sparsity_cost, sparsity_decay : float
        Sparsity penalty on the hidden means' running average ``state.q``.
    learn_sigma : bool
        Learn the Gaussian visible units' sigma (as z = log sigma^2).
    sigma_learning_rate : float or None
        None: ``learning_rate / 10``.
    min_sigma : float
        Floor of a learned sigma.
    sample_visible : bool or None
        Sample the last reconstruction (True) or use its mean. None: sample, except
        for Gaussian visible units with a fixed sigma.
    optimizer : {'sgd', 'adam'}
        'sgd': momentum SGD as above. 'adam': Adam (Kingma & Ba 2015) on the same
        gradient (weight decay, L1 and sparsity included), ``momentum`` unused:
        ``m = beta_1 m + (1 - beta_1) g``, ``v = beta_2 v + (1 - beta_2) g^2``,
        ``theta += learning_rate m^ / (sqrt(v^) + epsilon)`` with the bias-corrected
        moments of update t = ``state.adam_steps + 1``; z = log sigma^2 of a learned
        sigma with ``sigma_learning_rate``.
    beta_1, beta_2 : float in [0, 1)
    epsilon : float > 0
    centering : bool
        Centered training (Melchior, Wang & Wiskott 2016): the gradient of the energy
        written in ``v - mu`` and ``h - lambda``, with the offsets in
        ``state.visible_offset`` (mu; of ``v / sigma`` for Gaussian units) and
        ``state.hidden_offset`` (lambda). The parameters stay those of the equivalent
        ordinary RBM: after each update the biases are re-parametrised
        (``c -= dW mu``, ``b -= sigma dW^T lambda``). Not with ``learn_sigma``.
    centering_rate : float in [0, 1]
        lambda moves toward the minibatch's mean hidden activation by this share per
        update (mu stays what the caller set, e.g. the data mean).
    sampler : {'cd', 'pcd', 'pt', 'fpcd'} or None
        The negative phase: 'cd' (chains restart at the data), 'pcd' (persistent chains,
        what ``persistent=True`` means), 'fpcd': fast persistent CD (Tieleman & Hinton
        2009), persistent chains that sample the model with fast parameters added
        (``state.fast_W``, ``fast_b``, ``fast_c``; not with ``centering`` or
        ``learn_sigma``), or 'pt': parallel tempering, ``n_temperatures``
        persistent chain sets at inverse temperatures ``betas`` (1 = beta_0 > ... >= 0;
        beta scales b.v + c.h + v^T W h, see docs/training.md), ``k`` Gibbs sweeps at each,
        then Metropolis swaps of neighbours (even pairs on even steps, odd pairs on odd
        ones); the beta = 1 set gives the statistics. None: from ``persistent``.
    n_temperatures : int >= 2
        Chain sets of 'pt' when ``betas`` is None: betas evenly spaced from 1 to 0.
    betas : sequence of float or None
        The ladder of 'pt', given.
    fast_learning_rate : float >= 0 or None
        'fpcd': the fast parameters' learning rate; None: ``learning_rate`` (the paper
        keeps it at the initial learning rate while that one decays).
    fast_decay : float in [0, 1]
        'fpcd': after each update ``fast = fast_decay * fast + fast_learning_rate * g``,
        g the gradient of the sampling terms (without weight decay, L1, sparsity);
        Tieleman & Hinton's 19/20.

    Returns
    -------
    fastrbm.state.Hyper
    """
    from ._validation import check_float, check_positive_int

    vis, hid = visible_code(visible), hidden_code(hidden)
    gauss = vis == VISIBLE_GAUSSIAN
    for name, flag in (("persistent", persistent), ("learn_sigma", learn_sigma),
                       ("centering", centering)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool; got {flag!r}")
    persistent, ladder = _sampler(sampler, bool(persistent), n_temperatures, betas)
    fast = sampler == "fpcd"
    if fast and (centering or learn_sigma):
        raise ValueError("sampler='fpcd' cannot be combined with centering=True or "
                         "learn_sigma=True")
    if ladder and sample_visible is False:
        raise ValueError("sampler='pt' needs sampled reconstructions (sample_visible=None "
                         "or True): the swaps weigh the chains' sampled states")
    if ladder and sample_visible is None:
        sample_visible = True
    if learn_sigma and not gauss:
        raise ValueError("learn_sigma=True needs visible='gaussian'")
    if centering and learn_sigma:
        raise ValueError("centering=True cannot be combined with learn_sigma=True (the "
                         "visible offset is measured in units of sigma)")
    if sample_visible is None:
        # learned sigma needs the noise of sampled reconstructions: with means, the
        # correlation between the noise and the hidden statistic is lost and sigma
        # shrinks well below the data's scale (measured in tests/test_gaussian.py)
        sample_visible = not gauss or bool(learn_sigma)
    elif not isinstance(sample_visible, (bool, np.bool_)):
        raise TypeError(f"sample_visible must be None or a bool; got {sample_visible!r}")
    lr = check_float(learning_rate, "learning_rate", low=0.0, low_open=True)
    flr = lr if fast_learning_rate is None else check_float(
        fast_learning_rate, "fast_learning_rate", low=0.0)
    slr = lr / 10 if sigma_learning_rate is None else check_float(
        sigma_learning_rate, "sigma_learning_rate", low=0.0)
    from ._kernel_args import n_copies as check_copies

    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZER_CODES:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZER_CODES)}; got "
                         f"{optimizer!r}")
    betas = [check_float(v, name, low=0.0, high=1.0) for name, v in
             (("beta_1", beta_1), ("beta_2", beta_2))]
    for name, value in zip(("beta_1", "beta_2"), betas):
        if value >= 1:
            raise ValueError(f"{name} must be in [0, 1); got {value!r}")

    check_copies(n_copies)
    return Hyper(
        visible=vis, hidden=hid, n_copies=int(n_copies), k=check_positive_int(k, "k"),
        persistent=bool(persistent), batch_size=check_positive_int(batch_size, "batch_size"),
        learning_rate=lr,
        momentum=check_float(momentum, "momentum", low=0.0, high=1.0),
        weight_decay=check_float(weight_decay, "weight_decay", low=0.0),
        l1=check_float(l1, "l1", low=0.0),
        sparsity_target=check_float(sparsity_target, "sparsity_target", low=0.0),
        sparsity_cost=check_float(sparsity_cost, "sparsity_cost", low=0.0),
        sparsity_decay=check_float(sparsity_decay, "sparsity_decay", low=0.0, high=1.0),
        learn_sigma=bool(learn_sigma), sigma_learning_rate=slr,
        min_sigma=check_float(min_sigma, "min_sigma", low=0.0, low_open=True),
        sample_visible=bool(sample_visible), optimizer=OPTIMIZER_CODES[optimizer.lower()],
        beta_1=betas[0], beta_2=betas[1],
        epsilon=check_float(epsilon, "epsilon", low=0.0, low_open=True),
        centering=bool(centering), betas=ladder, fast_weights=fast,
        fast_learning_rate=flr if fast else 0.0,
        fast_decay=check_float(fast_decay, "fast_decay", low=0.0, high=1.0),
        centering_rate=check_float(centering_rate, "centering_rate", low=0.0, high=1.0))


def _sampler(sampler, persistent, n_temperatures, betas) -> Tuple[bool, tuple]:
    """(persistent, betas) of a sampler name; betas empty unless 'pt'."""
    from ._validation import check_positive_int

    if sampler is None:
        sampler = "pcd" if persistent is True else "cd"
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(map(repr, SAMPLERS))}; got "
                         f"{sampler!r}")
    if sampler == "cd" and persistent is True:
        raise ValueError("persistent=True means sampler='pcd'; got sampler='cd'")
    if sampler != "pt":
        return sampler in ("pcd", "fpcd"), ()
    if betas is None:
        m = check_positive_int(n_temperatures, "n_temperatures", minimum=2)
        return True, tuple(float(b) for b in np.linspace(1.0, 0.0, m))
    try:
        ladder = tuple(float(b) for b in betas)
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a sequence of numbers; got {betas!r}") from None
    if (len(ladder) < 2 or ladder[0] != 1 or ladder[-1] < 0 or not np.all(np.isfinite(ladder))
            or any(a <= b for a, b in zip(ladder, ladder[1:]))):
        raise ValueError(f"betas must hold at least 2 values, start at 1 and decrease "
                         f"strictly to a value >= 0; got {betas!r}")
    return True, ladder


def training_state(W: np.ndarray, b: np.ndarray, c: np.ndarray,
                   sigma: Optional[np.ndarray] = None, *, n_chains: int = 0,
                   sparsity_target: float = 0.0, n_temperatures: int = 1) -> TrainState:
    """A training state around the caller's parameter arrays (updated in place by
    :func:`fit_epoch`), with zero momentum buffers, ``n_chains`` zero PCD chains and the
    sparsity average at ``sparsity_target``.

    Parameters
    ----------
    W, b, c : ndarray
        Weights (n_hidden, n_visible), visible and hidden biases; C-contiguous, one dtype.
    sigma : ndarray (n_visible,) or None
        None: ones (Bernoulli visible units ignore it).
    n_chains : int
        Chains per temperature: ``batch_size`` for persistent CD and PT, else any (0 is
        fine).
    sparsity_target : float
    n_temperatures : int
        ``len(hyper.betas)`` for parallel tempering (``chains`` then has
        ``n_temperatures * n_chains`` rows, the beta = 1 set first), else 1.

    Returns
    -------
    fastrbm.state.TrainState
        Its arrays are attributes; ``W``, ``b``, ``c``, ``sigma`` are the given arrays.
    """
    if not isinstance(W, np.ndarray) or W.ndim != 2:
        raise TypeError("W must be a 2-D numpy ndarray")
    if sigma is None:
        sigma = np.ones(W.shape[1], dtype=W.dtype)
    return TrainState.zeros_like_params(W, b, c, sigma, int(n_chains), sparsity_target,
                                        int(n_temperatures))


def make_workspace(hyper: Hyper, n_visible: int, n_hidden: int, dtype,
                   backend: str = "cython"):
    """Buffers for :func:`fit_epoch` (made once, reused by every call with the same
    shapes and settings; None for the NumPy backend). It also keeps the kernel's
    measurements of which thread count is faster (docs/threads.md)."""
    _check(backend, "make_workspace", hyper, n_visible, n_hidden, dtype)
    return _modules(backend)[0].make_workspace(hyper, n_visible, n_hidden, dtype)


def fit_epoch(state: TrainState, hyper: Hyper, X: np.ndarray, *,
              order: Optional[np.ndarray] = None, seed: int, step: int = 0,
              n_threads: Optional[int] = None, workspace=None,
              backend: str = "cython") -> int:
    """One epoch of CD-k / PCD-k over the rows ``X[order]`` in minibatches of
    ``hyper.batch_size``; updates ``state`` in place.

    Update u of the epoch (0-based) draws its random numbers at step ``step + u`` of
    the training streams (:mod:`fastrbm.streams`), so an epoch continues another one
    exactly when ``step`` counts the updates before it. The result does not depend on
    ``n_threads``. Ctrl-C raises KeyboardInterrupt within about 20 ms of work, with the
    state part-way through the epoch (keep a ``state.copy()`` to roll back).

    Parameters
    ----------
    state : fastrbm.state.TrainState
        From :func:`training_state`.
    hyper : fastrbm.state.Hyper
        From :func:`training_settings`.
    X : ndarray (n, n_visible)
        Data of the state's dtype (any strides).
    order : ndarray of int64 or None
        Row order (None: 0 .. n-1).
    seed : int
    step : int
        Random step of the first update.
    n_threads : int or None
    workspace : dict or None
        From :func:`make_workspace` (None: made for this call).
    backend : {'cython', 'numpy'}

    Returns
    -------
    int
        The number of updates made.
    """
    if order is None:
        order = np.arange(_n_rows(X, "X"), dtype=np.int64)
    return _run(backend, "fit_epoch", n_threads, state, hyper, X, order, seed, step, _THREADS,
                workspace, None)


def cd_update(state: TrainState, hyper: Hyper, V: np.ndarray, *, seed: int, step: int = 0,
              n_threads: Optional[int] = None, workspace=None,
              backend: str = "cython") -> None:
    """One CD-k / PCD-k update on the minibatch ``V`` (at most ``hyper.batch_size``
    rows), with the random numbers of step ``step``; updates ``state`` in place.
    Parameters as :func:`fit_epoch`."""
    n = _n_rows(V, "V")
    if not 1 <= n <= hyper.batch_size:
        raise ValueError(f"V must hold 1 to hyper.batch_size={hyper.batch_size} rows; "
                         f"got {n}")
    fit_epoch(state, hyper, V, seed=seed, step=step, n_threads=n_threads,
              workspace=workspace, backend=backend)


# ------------------------------------------------------------------ AIS
def ais(W: np.ndarray, b: np.ndarray, c: np.ndarray, sigma: Optional[np.ndarray] = None, *,
        visible: str = "bernoulli", hidden: str = "bernoulli", n_copies: int = 1,
        betas: np.ndarray, base_b: np.ndarray, base_sigma: Optional[np.ndarray] = None,
        n_runs: int, seed: int, purpose: int = streams.PURPOSE_AIS,
        n_threads: Optional[int] = None, progress: Optional[Callable[[int, int], None]] = None,
        backend: str = "cython") -> Tuple[np.ndarray, float]:
    """Annealed importance sampling from a base model to the model (all runs as one
    batch): the log importance weights of the runs and the base model's log Z.

    ``log Z ~ log_z_base + logsumexp(log_w) - log(n_runs)``; :func:`fastrbm.evaluation.ais`
    adds the base models, schedules and intervals around this.

    Parameters
    ----------
    W, b, c, sigma
        The model; ``b`` and ``sigma`` may be float64 whatever W's dtype.
    visible, hidden : str
    n_copies : int
    betas : ndarray of float64
        Inverse temperatures, non-decreasing from exactly 0 to exactly 1.
    base_b, base_sigma : ndarray (n_visible,)
        The base model's visible biases (and sigma for Gaussian units).
    n_runs : int
    seed, purpose : int
        Random-stream coordinates (the base sample is step 0 of
        ``streams.visible(1, purpose)``, transition k uses step k).
    n_threads : int or None
    progress : callable(k, K) or None
        Called between segments of work.
    backend : {'cython', 'numpy'}

    Returns
    -------
    log_w : ndarray (n_runs,) of float64
    log_z_base : float
    """
    return _run(backend, "ais", n_threads, W, b, c, sigma, visible_code(visible),
                hidden_code(hidden), n_copies, betas, base_b, base_sigma, n_runs, seed, purpose,
                _THREADS, progress, None)


def reverse_ais(W: np.ndarray, b: np.ndarray, c: np.ndarray, sigma: Optional[np.ndarray] = None,
                *, X: np.ndarray, visible: str = "bernoulli", hidden: str = "bernoulli",
                n_copies: int = 1, betas: np.ndarray, base_b: np.ndarray,
                base_sigma: Optional[np.ndarray] = None, n_runs: int, seed: int,
                purpose: int = streams.PURPOSE_RAISE, n_threads: Optional[int] = None,
                progress: Optional[Callable[[int, int], None]] = None,
                backend: str = "cython") -> Tuple[np.ndarray, float]:
    """RAISE's reverse chains (Burda, Grosse & Salakhutdinov 2015): ``n_runs`` chains per
    row of ``X``, each from its row down the betas to the base model, all as one batch.

    Returns the sum ``S`` of each chain's log-weight increments; the chain's log weight,
    a stochastic lower bound on log p(x) (in expectation; see
    :func:`fastrbm.reference.reverse_ais`), is ``-F(x) - log_z_base + S``.
    :func:`fastrbm.evaluation.reverse_ais` adds the base models, schedules and
    intervals around this.

    Parameters
    ----------
    W, b, c, sigma
        The model, as :func:`ais`.
    X : ndarray (n_rows, n_visible)
        Rows of W's dtype (any strides).
    visible, hidden : str
    n_copies : int
    betas : ndarray of float64
        Inverse temperatures, non-decreasing from exactly 0 to exactly 1 (the chains run
        them downwards).
    base_b, base_sigma : ndarray (n_visible,)
        The base model, as :func:`ais`.
    n_runs : int
        Chains per row; chain ``i * n_runs + q`` is run q of row i (its random draws).
    seed, purpose : int
        Random-stream coordinates (transition t, from the top, uses step t).
    n_threads : int or None
    progress : callable(k, K) or None
    backend : {'cython', 'numpy'}

    Returns
    -------
    S : ndarray (n_rows, n_runs) of float64
    log_z_base : float
    """
    return _run(backend, "reverse_ais", n_threads, W, b, c, sigma, visible_code(visible),
                hidden_code(hidden), n_copies, betas, base_b, base_sigma, X, n_runs, seed,
                purpose, _THREADS, progress, None)


# ------------------------------------------------------------------ random numbers
def _fill(kind: str, shape, dtype, seed, stream, step, out, backend):
    kernels = _modules(backend)[0]
    if out is None:
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {dt}")
        out = np.empty(shape, dtype=dt)
    _check(backend, "fill", out, seed, stream, step)
    return getattr(kernels, "fill_" + kind)(out, seed, stream, step)


def uniforms(shape=None, dtype=np.float64, *, seed: int, stream: int, step: int = 0,
             out: Optional[np.ndarray] = None, backend: str = "cython") -> np.ndarray:
    """Uniforms in [0, 1) from Philox4x32-10 stream ``(seed, stream, step)``, element i
    (C order) from word i (docs/rng.md gives the mapping; it is stable).

    Parameters
    ----------
    shape : int or tuple, optional
        Shape of a new array (or give ``out``).
    dtype : float32 or float64
    seed : int
        64-bit key.
    stream, step : int
        32-bit counter words.
    out : ndarray or None
        C-contiguous float array filled in place.
    backend : {'cython', 'numpy'}

    Returns
    -------
    ndarray
    """
    return _fill("uniforms", shape, dtype, seed, stream, step, out, backend)


def normals(shape=None, dtype=np.float64, *, seed: int, stream: int, step: int = 0,
            out: Optional[np.ndarray] = None, backend: str = "cython") -> np.ndarray:
    """Standard normals from stream ``(seed, stream, step)``: Box-Muller on word pairs,
    normals 2i and 2i + 1 from words 2i and 2i + 1, in float64, rounded to ``dtype``.
    Parameters as :func:`uniforms`.

    Returns
    -------
    ndarray
    """
    return _fill("normals", shape, dtype, seed, stream, step, out, backend)
