"""Training state and hyper-parameters handed to a backend's ``fit_epoch``.

Both backends (:mod:`fastrbm._kernels` and :mod:`fastrbm.reference`) update a
:class:`TrainState` in place, so an estimator can switch backends between epochs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import numpy as np

from ._constants import OPTIMIZER_CODES


@dataclass
class Hyper:
    """Everything a training step needs besides the parameters (plain Python scalars)."""

    visible: int
    hidden: int
    n_copies: int
    k: int
    persistent: bool
    batch_size: int
    learning_rate: float
    momentum: float
    weight_decay: float
    l1: float
    sparsity_target: float
    sparsity_cost: float
    sparsity_decay: float
    learn_sigma: bool
    sigma_learning_rate: float
    min_sigma: float
    sample_visible: bool
    #: 0: momentum SGD; 1: Adam (codes: fastrbm._constants.OPTIMIZER_CODES). Adam uses
    #: ``beta_1``, ``beta_2``, ``epsilon`` and ignores ``momentum``.
    optimizer: int = 0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    #: Centering (Melchior et al. 2016): the gradient of the centered energy, with the
    #: offsets in TrainState.visible_offset / hidden_offset; the latter slides toward the
    #: data's hidden means at ``centering_rate`` per update.
    centering: bool = False
    centering_rate: float = 0.01
    #: Parallel tempering: the inverse temperatures of the chain sets, betas[0] = 1 > ...
    #: >= 0 (empty: no tempering). TrainState.chains then holds len(betas) sets of
    #: chains, the beta = 1 set first; beta scales b.v + c.h + v^T W h (docs/training.md).
    betas: tuple = ()
    #: Fast PCD (Tieleman & Hinton 2009; ``persistent`` too): the chains sample the model
    #: with W + fast_W, b + fast_b, c + fast_c; after each update the fast parameters
    #: become ``fast_decay * fast + fast_learning_rate * gradient``, the gradient of the
    #: sampling terms alone (no weight decay, L1 or sparsity).
    fast_weights: bool = False
    fast_learning_rate: float = 0.0
    fast_decay: float = 0.95


@dataclass
class TrainState:
    """Parameters, momentum buffers and persistent chains (all C-contiguous, one dtype).

    ``W`` has shape (n_hidden, n_visible) and is the estimator's ``components_``.
    ``mW``, ``mb``, ``mc``, ``mz`` are the momentum buffers of SGD, or Adam's first
    moments; ``vW``, ``vb``, ``vc``, ``vz`` Adam's second moments (zeros when not given)
    and ``adam_steps`` (int64, shape (1,)) the number of Adam updates made so far, which
    Adam's bias correction needs. ``chains`` holds the PCD chains' hidden states
    (batch_size, n_hidden). ``q`` is the running estimate of the hidden means used by
    the sparsity penalty. ``visible_offset`` (mu, n_visible) and ``hidden_offset``
    (lambda, n_hidden) are the offsets of centered training (zeros when not given).
    With parallel tempering ``chains`` holds one set of chains per temperature (the
    beta = 1 set first) and ``swap_attempts`` / ``swap_accepts`` (int64, one entry per
    temperature: entry m counts the pair (m, m + 1)) the swap statistics. ``fast_W``,
    ``fast_b``, ``fast_c`` are fast PCD's fast parameters (zeros when not given).
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    sigma: np.ndarray
    mW: np.ndarray
    mb: np.ndarray
    mc: np.ndarray
    mz: np.ndarray
    chains: np.ndarray
    q: np.ndarray
    vW: Optional[np.ndarray] = None
    vb: Optional[np.ndarray] = None
    vc: Optional[np.ndarray] = None
    vz: Optional[np.ndarray] = None
    adam_steps: Optional[np.ndarray] = None
    visible_offset: Optional[np.ndarray] = None
    hidden_offset: Optional[np.ndarray] = None
    swap_attempts: Optional[np.ndarray] = None
    swap_accepts: Optional[np.ndarray] = None
    fast_W: Optional[np.ndarray] = None
    fast_b: Optional[np.ndarray] = None
    fast_c: Optional[np.ndarray] = None

    def __post_init__(self):
        # a state made without Adam's buffers (older code, older files) gets zeros
        for name, like in (("vW", self.mW), ("vb", self.mb), ("vc", self.mc),
                           ("vz", self.mz), ("fast_W", self.W), ("fast_b", self.b),
                           ("fast_c", self.c)):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros_like(like))
        if self.adam_steps is None:
            self.adam_steps = np.zeros(1, dtype=np.int64)
        if self.visible_offset is None:
            self.visible_offset = np.zeros_like(self.b)
        if self.hidden_offset is None:
            self.hidden_offset = np.zeros_like(self.c)
        for name in ("swap_attempts", "swap_accepts"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(1, dtype=np.int64))

    @classmethod
    def zeros_like_params(cls, W, b, c, sigma, n_chains, sparsity_target=0.0,
                          n_temperatures=1):
        """A state around existing parameters with zero momentum and zero chains
        (``n_chains`` per temperature)."""
        dt = W.dtype
        m = max(1, int(n_temperatures))
        return cls(
            W=W, b=b, c=c, sigma=sigma,
            mW=np.zeros_like(W), mb=np.zeros_like(b), mc=np.zeros_like(c),
            mz=np.zeros_like(sigma), chains=np.zeros((n_chains * m, W.shape[0]), dtype=dt),
            q=np.full(W.shape[0], sparsity_target, dtype=dt),
            swap_attempts=np.zeros(m, dtype=np.int64), swap_accepts=np.zeros(m, dtype=np.int64),
        )

    def match_optimizer(self, optimizer: int) -> None:
        """Zero the moment buffers when another optimizer made them.

        SGD's momentum is not Adam's first moment: Adam starts (``adam_steps == 0``)
        from zero moments, and SGD after Adam starts from zero momentum (and resets
        ``adam_steps``).
        """
        adam = optimizer == OPTIMIZER_CODES["adam"]
        if adam == bool(self.adam_steps[0]):
            return      # Adam going on, or SGD going on
        for name in ("mW", "mb", "mc", "mz", "vW", "vb", "vc", "vz"):
            getattr(self, name)[...] = 0
        self.adam_steps[0] = 0

    def copy(self) -> "TrainState":
        """A deep copy (used to roll back an epoch that diverged)."""
        return TrainState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def restore(self, other: "TrainState") -> None:
        """Copy ``other``'s values into this state's arrays (keeps array identity)."""
        for f in fields(self):
            getattr(self, f.name)[...] = getattr(other, f.name)

    def is_finite(self) -> bool:
        """True when every parameter is finite."""
        return all(np.isfinite(a).all() for a in (self.W, self.b, self.c, self.sigma))
