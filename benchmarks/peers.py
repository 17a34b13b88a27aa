"""Peers, when installed: scikit-learn's BernoulliRBM and a plain PyTorch CPU loop.

Both are measured on the same sizes, dtype and minibatches as fastrbm. Each
``*_callables`` returns ``{'<peer>_step': fn, '<peer>_epoch': fn}`` or raises
:class:`PeerUnavailable` with the reason (not installed, not applicable).
"""
from __future__ import annotations

import numpy as np


class PeerUnavailable(RuntimeError):
    """The peer cannot run this configuration; the message says why."""


def sklearn_version():
    try:
        import sklearn
    except ImportError:
        return None
    return sklearn.__version__


def torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def sklearn_callables(cfg, X) -> dict:
    """scikit-learn's BernoulliRBM (always PCD-1, no momentum).

    Step: ``BernoulliRBM._fit(v_pos, rng)``, the private per-minibatch update that
    ``fit`` and ``partial_fit`` call (private API: it may change between versions).
    Epoch: ``fit``'s own loop over its even minibatch slices, without the weight
    initialisation that ``fit`` redoes every call (it would dominate small epochs).
    """
    if not cfg.bernoulli:
        raise PeerUnavailable("scikit-learn has Bernoulli units only")
    if cfg.k != 1:
        raise PeerUnavailable("scikit-learn runs PCD-1 only")
    if cfg.optimizer != "sgd" or cfg.centering or cfg.n_temperatures > 1:
        raise PeerUnavailable("scikit-learn's BernoulliRBM has plain SGD and PCD only")
    try:
        from sklearn.neural_network import BernoulliRBM
        from sklearn.utils import check_random_state, gen_even_slices
    except ImportError as exc:
        raise PeerUnavailable(f"scikit-learn not installed ({exc})") from None
    B = cfg.batch_size
    rbm = BernoulliRBM(n_components=cfg.n_hidden, batch_size=B, n_iter=1,
                       learning_rate=0.01, random_state=0).fit(X[:B])
    if rbm.components_.dtype != X.dtype:
        raise PeerUnavailable(f"scikit-learn computed in {rbm.components_.dtype}")
    rng = check_random_state(0)
    batch = np.ascontiguousarray(X[:B])
    n = X.shape[0]
    slices = list(gen_even_slices(cfg.n_batches * B, cfg.n_batches, n_samples=n))

    def epoch():
        for sl in slices:
            rbm._fit(X[sl], rng)

    return {"sklearn_step": lambda: rbm._fit(batch, rng), "sklearn_epoch": epoch}


def torch_callables(cfg, X, n_threads) -> dict:
    """A straightforward PyTorch CPU CD-k / PCD-k loop with momentum, like fastrbm's.

    ``torch.no_grad``; matmul (addmm), sigmoid, bernoulli; in-place momentum and
    parameter updates; ``torch.set_num_threads(n_threads)``. Hidden means for the
    statistics, samples drive the chain, the last visible state is sampled.
    """
    if not cfg.bernoulli:
        raise PeerUnavailable("the PyTorch loop is written for Bernoulli units")
    if cfg.optimizer != "sgd" or cfg.centering or cfg.n_temperatures > 1:
        raise PeerUnavailable("the PyTorch loop is written for plain momentum SGD, CD/PCD")
    try:
        import torch
    except ImportError as exc:
        raise PeerUnavailable(f"PyTorch not installed ({exc})") from None
    torch.set_num_threads(n_threads)
    tdt = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[X.dtype]
    gen = torch.Generator().manual_seed(0)
    B, k, lr, mom = cfg.batch_size, cfg.k, 0.01, 0.5
    W = (0.01 * torch.randn(cfg.n_hidden, cfg.n_visible, generator=gen)).to(tdt)
    b = torch.zeros(cfg.n_visible, dtype=tdt)
    c = torch.zeros(cfg.n_hidden, dtype=tdt)
    mW, mb, mc = torch.zeros_like(W), torch.zeros_like(b), torch.zeros_like(c)
    chains = torch.zeros(B, cfg.n_hidden, dtype=tdt)
    data = torch.from_numpy(X)
    batches = [data[i * B:(i + 1) * B] for i in range(cfg.n_batches)]

    @torch.no_grad()
    def step(v0):
        ph0 = torch.sigmoid(torch.addmm(c, v0, W.t()))
        h = chains if cfg.persistent else torch.bernoulli(ph0, generator=gen)
        for t in range(k):
            v = torch.bernoulli(torch.sigmoid(torch.addmm(b, h, W)), generator=gen)
            ph = torch.sigmoid(torch.addmm(c, v, W.t()))
            if t < k - 1 or cfg.persistent:
                h = torch.bernoulli(ph, generator=gen)
        if cfg.persistent:
            chains.copy_(h)
        n = v0.shape[0]
        mW.mul_(mom).addmm_(ph0.t(), v0, alpha=lr / n).addmm_(ph.t(), v, alpha=-lr / n)
        mb.mul_(mom).add_(v0.mean(0) - v.mean(0), alpha=lr)
        mc.mul_(mom).add_(ph0.mean(0) - ph.mean(0), alpha=lr)
        W.add_(mW)
        b.add_(mb)
        c.add_(mc)

    def epoch():
        for v0 in batches:
            step(v0)

    return {"torch_step": lambda: step(batches[0]), "torch_epoch": epoch}
