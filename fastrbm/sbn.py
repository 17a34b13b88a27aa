"""An RBM seen as an infinitely deep sigmoid belief net with tied weights.

Hinton, Osindero & Teh (2006): the directed net whose layers, from the bottom, are
``v0 <- h0 <- v1 <- h1 <- v2 ...`` with generative weights ``W`` (hidden -> visible,
visible biases ``b``) and ``W^T`` (visible -> hidden, hidden biases ``c``) alternately
defines the same distribution over ``v0`` as the RBM, once it is deep enough:

* ancestral sampling top-down through ``depth`` tied layers from a random top state is
  ``depth`` half-steps of block Gibbs sampling, so the bottom layer's distribution
  tends to the RBM's equilibrium marginal (:func:`ancestral_sample`,
  :func:`layer_distribution`);
* the prior the layers above give a hidden layer is *complementary*: it cancels the
  explaining away of the likelihood, so the exact posterior is factorial and equals the
  up pass ``sigmoid(c + W v)`` (:func:`posterior_exact` checks it by enumeration);
* the sigmoid-belief-net learning rule summed over the tied layers telescopes to the
  RBM's rule ``<v h>_data - <v h>_model`` (:func:`learning_rule`).

Samples go through the fast kernels (:func:`sample_hidden`, :func:`sample_visible`);
the exact functions enumerate states and are for tiny Bernoulli models only.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from . import ops, streams
from ._validation import (check_data, check_int, check_param_array, check_positive_int,
                          data_checked, seed_from)

#: Largest number of states a layer may have in the exact (enumerating) functions.
MAX_ENUMERATED_UNITS = 16

# Stream offsets inside streams.PURPOSE_SBN: layer / term k uses offset + k.
_STREAM_ANCESTRAL = 0
_STREAM_RULE = 1 << 16


# ----------------------------------------------------------------- sampling
def _fitted_args(rbm):
    """The fitted RBM's :class:`fastrbm.rbm.ModelArrays`, validated."""
    from .rbm import RBM

    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be a fastrbm RBM; got {type(rbm).__name__}")
    return rbm.model_arrays()


def _check_stream(seed, stream, step):
    """The random-stream coordinates of a draw: a 64-bit seed, 32-bit stream and step."""
    return (check_int(seed, "seed", 0, 2**64 - 1), check_int(stream, "stream", 0, 2**32 - 1),
            check_int(step, "step", 0, 2**32 - 1))


def sample_hidden(rbm, V: np.ndarray, seed: int, stream: int, step: int) -> np.ndarray:
    """A sample of ``h | v`` for each row of ``V``, drawn by the kernels.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM (any unit types).
    V : ndarray (n_rows, n_features)
        Visible states, in the model's dtype (converted otherwise).
    seed, stream, step : int
        The random draw is a pure function of ``(seed, stream, step, index)``.

    Returns
    -------
    ndarray (n_rows, n_components) of the model's dtype.
    """
    m = _fitted_args(rbm)
    seed, stream, step = _check_stream(seed, stream, step)
    V = rbm.validate_rows(V, "V")
    return ops.hidden_sample(V, m.W, m.c, m.sigma, hidden=m.hidden, n_copies=m.n_copies,
                             seed=seed, stream=stream, step=step, n_threads=m.n_threads,
                             backend=m.backend)


def sample_visible(rbm, H: np.ndarray, seed: int, stream: int, step: int) -> np.ndarray:
    """A sample of ``v | h`` for each row of ``H``, drawn by the kernels.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM.
    H : ndarray (n_rows, n_components)
        Hidden states.
    seed, stream, step : int
        Random-stream coordinates (see :mod:`fastrbm.streams`).

    Returns
    -------
    ndarray (n_rows, n_features) of the model's dtype.
    """
    m = _fitted_args(rbm)
    seed, stream, step = _check_stream(seed, stream, step)
    H = check_data(H, "H", dtype=m.W.dtype, n_features=m.W.shape[0],
                   estimator=type(rbm).__name__)
    return ops.visible_sample(H, m.W, m.b, m.sigma, visible=m.visible, seed=seed,
                              stream=stream, step=step, n_threads=m.n_threads,
                              backend=m.backend)


def _seed_and_step(rbm, random_state):
    """(seed, step): from ``random_state`` if given, else the RBM's own sample counter."""
    if random_state is not None:
        return seed_from(random_state), 0
    return rbm.next_sample_stream()


def ancestral_sample(rbm, n_samples: int = 1, depth: int = 100, *, random_state=None,
                     return_layers: bool = False):
    """Sample the bottom layer of the tied-weight sigmoid belief net of depth ``depth``.

    The top layer (index ``depth``; visible when ``depth`` is even, hidden otherwise)
    starts random: uniform random bits, or ``N(b, sigma^2)`` for Gaussian visible units.
    Each layer below is sampled from its parent through ``W`` (hidden -> visible) or
    ``W^T`` (visible -> hidden) with the fast kernels.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM (any unit types).
    n_samples : int, default=1
    depth : int, default=100
        Number of tied weight layers between the random top and the bottom.
    random_state : None, int, RandomState or Generator
        None draws with the RBM's seed and its sample counter (like ``RBM.sample``).
    return_layers : bool, default=False
        Also return every layer's states, bottom first.

    Returns
    -------
    ndarray (n_samples, n_features), or a list of ``depth + 1`` arrays when
    ``return_layers``.
    """
    m = _fitted_args(rbm)
    W, b, s = m.W, m.b, m.sigma
    n_samples = check_positive_int(n_samples, "n_samples")
    depth = check_positive_int(depth, "depth", minimum=0)
    if not isinstance(return_layers, (bool, np.bool_)):
        raise TypeError(f"return_layers must be a bool; got {return_layers!r}")
    seed, step = _seed_and_step(rbm, random_state)
    dt = W.dtype
    top_visible = depth % 2 == 0
    top_stream = streams.PURPOSE_SBN + _STREAM_ANCESTRAL
    if top_visible and m.visible == "gaussian":
        z = ops.normals((n_samples, W.shape[1]), dt, seed=seed, stream=top_stream, step=step,
                        backend=m.backend)
        state = (b + s * z).astype(dt)
    else:
        shape = (n_samples, W.shape[1] if top_visible else W.shape[0])
        state = (ops.uniforms(shape, dt, seed=seed, stream=top_stream, step=step,
                              backend=m.backend) < 0.5).astype(dt)
    layers = [state]
    for k in range(depth - 1, -1, -1):     # layer k is visible when k is even
        stream = streams.PURPOSE_SBN + _STREAM_ANCESTRAL + 1 + k
        draw = sample_visible if k % 2 == 0 else sample_hidden
        state = draw(rbm, state, seed, stream, step)
        layers.append(state)
    return layers[::-1] if return_layers else state


# ----------------------------------------------------------------- learning rule
class SBNGradient(NamedTuple):
    """Row means of the summed sigmoid-belief-net learning rule (float64).

    ``W`` has the shape of ``components_`` (n_components, n_features); ``b`` and ``c``
    are the visible and hidden bias terms.
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray


def learning_rule(rbm, V, depth: int = 2, *, random_state=None) -> SBNGradient:
    """The sigmoid-belief-net learning rule summed over ``depth`` tied layers.

    With the data ``V`` at the bottom, the states of the layers above are drawn from the
    exact posterior of the infinite net (``h0 ~ p(h | v0)``, ``v1 ~ p(v | h0)``,
    ``h1 ~ p(h | v1)``, ...). Each directed layer contributes the maximum-likelihood
    rule ``parent * (child - p(child = 1 | parent))``; because the weights are tied the
    contributions telescope in expectation to ``E[v0 h0] - E[v_k h_k]`` (``depth = 2 k``),
    the RBM's learning rule as ``depth`` grows.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM with Bernoulli visible and hidden units.
    V : array-like (n_samples, n_features)
        Binary data.
    depth : int, default=2
        Number of tied weight layers summed over.
    random_state : None, int, RandomState or Generator
        None draws with the RBM's seed and sample counter.

    Returns
    -------
    SBNGradient
    """
    W = _fitted_args(rbm).W
    _check_bernoulli(rbm, "learning_rule")
    depth = check_positive_int(depth, "depth")
    V = rbm.validate_rows(V, "V")
    seed, step = _seed_and_step(rbm, random_state)
    n = V.shape[0]
    dW = np.zeros(W.shape)
    db = np.zeros(W.shape[1])
    dc = np.zeros(W.shape[0])
    base = streams.PURPOSE_SBN + _STREAM_RULE
    v = V
    h = sample_hidden(rbm, v, seed, base, step)
    for t in range(depth):
        if t % 2 == 0:      # parent h_k generates child v_k through W
            err = v.astype(np.float64) - rbm.inverse_transform(h)
            dW += h.T.astype(np.float64) @ err
            db += err.sum(0)
            if t + 1 < depth:
                v = sample_visible(rbm, h, seed, base + t + 1, step)
        else:               # parent v_{k+1} generates child h_k through W^T
            with data_checked():    # V is checked (feature names too): not again
                err = h.astype(np.float64) - rbm.transform(v)
            dW += err.T @ v.astype(np.float64)
            dc += err.sum(0)
            if t + 1 < depth:
                h = sample_hidden(rbm, v, seed, base + t + 1, step)
    return SBNGradient(dW / n, db / n, dc / n)


def _exact_params(rbm, what: str):
    """(W, b, c) in float64 of a fitted Bernoulli RBM small enough to enumerate."""
    W, b, c = _fitted_args(rbm)[:3]
    _check_bernoulli(rbm, what)
    return W.astype(np.float64), b.astype(np.float64), c.astype(np.float64)


def _check_bernoulli(rbm, what: str) -> None:
    m = _fitted_args(rbm)
    if m.visible != "bernoulli" or m.hidden != "bernoulli":
        raise ValueError(f"{what} needs an RBM with Bernoulli visible and hidden units; got "
                         f"visible={rbm.visible!r}, hidden={rbm.hidden!r}")


# ----------------------------------------------------------------- exact (tiny models)
def binary_states(n_units: int) -> np.ndarray:
    """All ``2**n_units`` binary vectors (float64); unit ``i`` is bit ``i`` of the row index."""
    n_units = check_positive_int(n_units, "n_units", minimum=0)
    if not 0 <= n_units <= MAX_ENUMERATED_UNITS:
        raise ValueError(f"enumeration is limited to {MAX_ENUMERATED_UNITS} units per layer; "
                         f"got {n_units}")
    idx = np.arange(2**n_units, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_units)) & 1).astype(np.float64)


def _factorial(states: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """p(states | logits) for every (row of logits, state): shape (n_rows, n_states)."""
    logp1 = -np.logaddexp(0, -logits)      # log sigmoid
    logp0 = -np.logaddexp(0, logits)
    return np.exp(logp1 @ states.T + logp0 @ (1 - states).T)


def conditional_matrices(rbm):
    """Exact conditionals of a tiny Bernoulli RBM as transition matrices.

    Returns
    -------
    p_h_given_v : ndarray (2**n_features, 2**n_components)
    p_v_given_h : ndarray (2**n_components, 2**n_features)
        Rows are indexed by the parent state, columns by the child state, with the
        state ordering of :func:`binary_states`.
    """
    W, b, c = _exact_params(rbm, "conditional_matrices")
    vs, hs = binary_states(W.shape[1]), binary_states(W.shape[0])
    return _factorial(hs, vs @ W.T + c), _factorial(vs, hs @ W + b)


def layer_distribution(rbm, depth: int, bottom: str = "visible") -> np.ndarray:
    """Exact distribution of the bottom layer of a tied net of ``depth`` layers.

    The top layer is uniform over its binary states (as :func:`ancestral_sample` draws
    it); ``bottom`` says whether the bottom layer is a visible or a hidden one.

    Returns
    -------
    ndarray (2**n_units,) of probabilities, states ordered as :func:`binary_states`.
    """
    depth = check_positive_int(depth, "depth", minimum=0)
    if bottom not in ("visible", "hidden"):
        raise ValueError(f"bottom must be 'visible' or 'hidden'; got {bottom!r}")
    p_hv, p_vh = conditional_matrices(rbm)
    at_visible = (bottom == "visible") == (depth % 2 == 0)   # the top layer's kind
    p = np.full(p_vh.shape[1] if at_visible else p_hv.shape[1], 1.0)
    p /= p.size
    for _ in range(depth):
        p = p @ (p_hv if at_visible else p_vh)
        at_visible = not at_visible
    return p


def equilibrium_marginal(rbm, side: str = "visible") -> np.ndarray:
    """The RBM's exact marginal p(v) (or p(h)) by enumeration of the joint states."""
    if side not in ("visible", "hidden"):
        raise ValueError(f"side must be 'visible' or 'hidden'; got {side!r}")
    W, b, c = _exact_params(rbm, "equilibrium_marginal")
    vs, hs = binary_states(W.shape[1]), binary_states(W.shape[0])
    log_joint = (vs @ b)[:, None] + (hs @ c)[None, :] + vs @ W.T @ hs.T
    log_joint -= log_joint.max()
    joint = np.exp(log_joint)
    joint /= joint.sum()
    return joint.sum(1) if side == "visible" else joint.sum(0)


def posterior_exact(rbm, v, prior: Optional[np.ndarray] = None) -> np.ndarray:
    """Exact posterior over the first hidden layer of the directed net given ``v``.

    ``p(h | v) ∝ p(v | h) prior(h)`` with ``p(v | h)`` the sigmoid layer through ``W``.
    With the complementary prior (None: the RBM's equilibrium marginal over h, which the
    infinitely deep net above gives that layer) the result is factorial and equals the
    up pass; with another prior (e.g. uniform: a one-layer sigmoid belief net) it shows
    explaining away.

    Parameters
    ----------
    rbm : RBM
        A tiny fitted Bernoulli RBM.
    v : array-like (n_rows, n_features)
    prior : ndarray (2**n_components,), optional

    Returns
    -------
    ndarray (n_rows, 2**n_components)
    """
    p_hv, p_vh = conditional_matrices(rbm)
    if prior is None:
        prior = equilibrium_marginal(rbm, "hidden")
    prior = check_param_array(prior, "prior", (p_vh.shape[0],), np.float64)
    if (prior < 0).any() or prior.sum() <= 0:
        raise ValueError(f"prior must be {p_vh.shape[0]} non-negative weights, not all zero")
    v = check_data(v, "v", dtype=np.float64, n_features=rbm.n_features_in_, bernoulli=True)
    if not np.isin(v, (0.0, 1.0)).all():
        raise ValueError("v must be binary")
    idx = (v.astype(np.int64) << np.arange(v.shape[1])).sum(1)
    post = p_vh[:, idx].T * prior
    return post / post.sum(1, keepdims=True)


def factorial_distribution(means: np.ndarray) -> np.ndarray:
    """Joint probabilities of independent Bernoulli units with the given means.

    ``means`` (n_rows, n_units) -> (n_rows, 2**n_units), states as :func:`binary_states`.
    """
    means = check_data(means, "means", dtype=np.float64, estimator="factorial_distribution")
    if means.min() < 0 or means.max() > 1:
        raise ValueError("means must lie in [0, 1]")
    states = binary_states(means.shape[1])
    per_unit = np.where(states[None] == 1, means[:, None, :], 1 - means[:, None, :])
    return per_unit.prod(axis=2)
