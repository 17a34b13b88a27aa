"""fastrbm's kernel step and epochs, and the same work through ``fastrbm.reference``.

Each ``*_callables`` function prepares everything untimed (model, state, workspace,
data) and returns zero-argument callables; the timing lives in :mod:`timing`.

* kernel step: ``fastrbm.ops.fit_epoch`` (the kernel) on a data set of exactly one minibatch,
  with a workspace made once and a :class:`fastrbm.state.TrainState` -- one CD-k
  update including the parameter update, plus the Python call into the kernel. It
  holds BLAS at one thread itself (each of its OpenMP threads calls BLAS).
* kernel epoch: the same call over ``n_batches`` minibatches (shuffled order).
* fit epoch: ``RBM.partial_fit`` on those rows: one epoch through the estimator
  (validation, epoch order, divergence guard) as a user runs it.
* reference step / epoch: ``fastrbm.reference.cd_step`` on the same minibatch, and
  ``RBM(backend='numpy').partial_fit`` (one ``cd_step`` per minibatch).
"""
from __future__ import annotations

import itertools

import numpy as np

from fastrbm import RBM, ops, reference
from fastrbm.state import TrainState

SEED = 12345


def make_model(cfg, dtype, n_threads, backend="cython") -> RBM:
    """An unfitted RBM for ``cfg``. Small learning rates keep thousands of repeated
    updates on one minibatch finite; the cost of a step does not depend on them."""
    gauss = cfg.visible == "gaussian"
    return RBM(n_components=cfg.n_hidden, visible=cfg.visible, hidden=cfg.hidden,
               k=cfg.k, persistent=cfg.persistent, batch_size=cfg.batch_size,
               learning_rate=0.001 if gauss or cfg.optimizer == "adam" else 0.01,
               momentum=0.5, optimizer=cfg.optimizer, centering=cfg.centering,
               sampler="pt" if cfg.n_temperatures > 1 else "fpcd" if cfg.fast else None,
               n_temperatures=max(2, cfg.n_temperatures),
               dtype=np.dtype(dtype).name, n_threads=n_threads, random_state=SEED,
               backend=backend)


def kernel_blas_threads(cfg, n_threads) -> int:
    """BLAS threads around ``fit_epoch``: 1, the kernels hold BLAS there themselves
    (recorded in the results for the floors' comparison)."""
    return 1


def _fresh_state(model: RBM, hyper) -> TrainState:
    """A TrainState around copies of a fitted model's parameters."""
    W, b, c, s = (np.array(getattr(model, n), copy=True) for n in
                  ("components_", "intercept_visible_", "intercept_hidden_", "sigma_"))
    return TrainState.zeros_like_params(W, b, c, s, n_chains=hyper.batch_size,
                                        sparsity_target=hyper.sparsity_target,
                                        n_temperatures=max(1, len(hyper.betas)))


def step_callables(cfg, X, n_threads) -> dict:
    """``{'kernel_step', 'reference_step'}``: one update on the first minibatch."""
    batch = np.ascontiguousarray(X[:cfg.batch_size])
    model = make_model(cfg, X.dtype, n_threads).partial_fit(batch)
    hyper = model.training_settings()
    kstate, rstate = _fresh_state(model, hyper), _fresh_state(model, hyper)
    ws = ops.make_workspace(hyper, cfg.n_visible, cfg.n_hidden, X.dtype)
    order = np.arange(cfg.batch_size, dtype=np.int64)
    counter = itertools.count(1)   # a new random step per update, as in training

    def kernel_step():
        ops.fit_epoch(kstate, hyper, batch, order=order, seed=SEED,
                      step=next(counter) % 2**32, n_threads=n_threads, workspace=ws)

    def reference_step():
        reference.cd_step(rstate, hyper, batch, SEED, next(counter) % 2**32)

    return {"kernel_step": kernel_step, "reference_step": reference_step}


def epoch_callables(cfg, X, n_threads) -> dict:
    """``{'kernel_epoch', 'fit_epoch', 'reference_epoch'}``: one pass over ``X``."""
    model = make_model(cfg, X.dtype, n_threads).partial_fit(X)
    ref_model = make_model(cfg, X.dtype, n_threads, backend="numpy").partial_fit(X)
    hyper = model.training_settings()
    state = _fresh_state(model, hyper)
    ws = ops.make_workspace(hyper, cfg.n_visible, cfg.n_hidden, X.dtype)
    order = np.random.default_rng(0).permutation(X.shape[0]).astype(np.int64)
    counter = itertools.count(1)

    def kernel_epoch():
        ops.fit_epoch(state, hyper, X, order=order, seed=SEED,
                      step=next(counter) * cfg.n_batches % 2**32, n_threads=n_threads,
                      workspace=ws)

    return {"kernel_epoch": kernel_epoch,
            "fit_epoch": lambda: model.partial_fit(X),
            "reference_epoch": lambda: ref_model.partial_fit(X)}
