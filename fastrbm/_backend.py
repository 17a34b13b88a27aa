"""The two interchangeable compute backends behind the estimators.

``"cython"`` runs :mod:`fastrbm._kernels`; ``"numpy"`` runs the same algorithm through
:mod:`fastrbm.reference`. Both draw the same random numbers, so a model trained with
either has the same parameters up to float rounding.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import reference, streams
from ._blas_runtime import blas_threads


class NumpyBackend:
    """The pure-NumPy reference, one vectorised call per minibatch."""

    name = "numpy"

    def fit_epoch(self, state, hyper, X, order, seed, step, n_threads, workspace):
        return reference.fit_epoch(state, hyper, X, order, seed, step, n_threads)

    def make_workspace(self, hyper, n_visible, n_hidden, dtype):
        return None

    def blas_context(self, n_threads):
        """BLAS at ``n_threads`` (at most the caller's setting) around NumPy's products."""
        return blas_threads(n_threads)

    def hidden_mean(self, V, W, c, sigma, hidden, n_copies, n_threads):
        return reference.hidden_mean(reference.hidden_input(V, W, c, sigma), hidden, n_copies)

    def visible_mean(self, H, W, b, sigma, visible, n_threads):
        return reference.visible_mean(reference.visible_input(H, W, b, sigma), visible)

    def hidden_sample(self, V, W, c, sigma, hidden, n_copies, seed, stream, step, n_threads):
        x = reference.hidden_input(V, W, c, sigma)
        return reference.hidden_sample(x, hidden, n_copies, seed, stream, step)

    def visible_sample(self, H, W, b, sigma, visible, seed, stream, step, n_threads):
        y = reference.visible_input(H, W, b, sigma)
        return reference.visible_sample(y, visible, sigma, seed, stream, step)

    def gibbs(self, V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
              purpose, sample_last, n_threads):
        return reference.gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed,
                               step, purpose, sample_last)

    def free_energy(self, V, W, b, c, sigma, visible, hidden, n_copies, n_threads):
        return reference.free_energy(V, W, b, c, sigma, visible, hidden, n_copies)

    def normals(self, shape, dtype, seed, stream, step):
        return reference.normals(seed, stream, step, shape).astype(dtype)

    def uniforms(self, shape, dtype, seed, stream, step):
        return reference.uniforms(seed, stream, step, shape, dtype)


class CythonBackend:
    """The compiled kernels: nogil, fused float32/float64, BLAS and OpenMP."""

    name = "cython"

    def __init__(self):
        from . import _kernels

        self.k = _kernels

    def fit_epoch(self, state, hyper, X, order, seed, step, n_threads, workspace):
        return self.k.fit_epoch(state, hyper, X, order, seed, step, n_threads, workspace)

    def make_workspace(self, hyper, n_visible, n_hidden, dtype):
        return self.k.make_workspace(hyper, n_visible, n_hidden, dtype)

    def blas_context(self, n_threads):
        """Nothing: the kernels hold BLAS at one thread themselves while they run."""
        return contextlib.nullcontext()

    def hidden_mean(self, V, W, c, sigma, hidden, n_copies, n_threads):
        out = np.empty((V.shape[0], W.shape[0]), dtype=W.dtype)
        self.k.hidden_conditional(_c(V), W, c, sigma, hidden, n_copies, 0, 0, 0, out, None,
                                  n_threads)
        return out

    def visible_mean(self, H, W, b, sigma, visible, n_threads):
        out = np.empty((H.shape[0], W.shape[1]), dtype=W.dtype)
        return self.k.visible_conditional(_c(H), W, b, sigma, visible, 0, 0, 0, out, False,
                                          n_threads)

    def hidden_sample(self, V, W, c, sigma, hidden, n_copies, seed, stream, step, n_threads):
        out = np.empty((V.shape[0], W.shape[0]), dtype=W.dtype)
        self.k.hidden_conditional(_c(V), W, c, sigma, hidden, n_copies, seed, stream, step,
                                  None, out, n_threads)
        return out

    def visible_sample(self, H, W, b, sigma, visible, seed, stream, step, n_threads):
        out = np.empty((H.shape[0], W.shape[1]), dtype=W.dtype)
        return self.k.visible_conditional(_c(H), W, b, sigma, visible, seed, stream, step, out,
                                          True, n_threads)

    def gibbs(self, V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
              purpose, sample_last, n_threads):
        return self.k.gibbs(V, W, b, c, sigma, visible, hidden, n_copies, n_steps, seed, step,
                            purpose, sample_last, n_threads)

    def free_energy(self, V, W, b, c, sigma, visible, hidden, n_copies, n_threads):
        return self.k.free_energy(_c(V), W, b, c, sigma, visible, hidden, n_copies, n_threads)

    def normals(self, shape, dtype, seed, stream, step):
        return self.k.fill_normals(np.empty(shape, dtype=dtype), seed, stream, step)

    def uniforms(self, shape, dtype, seed, stream, step):
        return self.k.fill_uniforms(np.empty(shape, dtype=dtype), seed, stream, step)


def _c(a):
    return np.ascontiguousarray(a)


_BACKENDS = {}


def get_backend(name: str):
    """The backend object for ``name`` ('cython' or 'numpy')."""
    if name not in ("cython", "numpy"):
        raise ValueError(f"backend must be 'cython' or 'numpy'; got {name!r}")
    if name not in _BACKENDS:
        _BACKENDS[name] = CythonBackend() if name == "cython" else NumpyBackend()
    return _BACKENDS[name]


__all__ = ["get_backend", "streams"]
