"""Learning works: exact log-likelihood on bars-and-stripes rises far above uniform.

Bars-and-stripes 4x4 has 30 patterns: the uniform model scores -16 log 2 = -11.09
nats per pattern, the best possible model -log 30 = -3.40. The settings are those of
``python -m fastrbm demo``: 16 hidden units, CD-1, learning rate 0.05, momentum 0.5,
minibatches of 10, each pattern repeated 10 times, 300 epochs (under a second).

Measured with these settings (12 seeds, float64): the best log-likelihood seen every
25 epochs is -4.6 to -5.25 (reached around epoch 100-150; CD-1 then drifts down a
little, as CD is known to), the final one -4.95 to -6.36. The bounds below hold for
all of them, so they test learning, not one lucky seed.
"""
from __future__ import annotations

import numpy as np
import pytest

from fastrbm import RBM, GaussianRBM
from fastrbm.datasets import bars_and_stripes, gaussian_mixture
from fastrbm.evaluation import log_likelihood_exact

UNIFORM = -16 * np.log(2)
OPTIMUM = -np.log(30)


def demo_rbm(dtype, n_iter=300, seed=0):
    return RBM(16, k=1, learning_rate=0.05, momentum=0.5, batch_size=10, n_iter=n_iter,
               dtype=dtype, random_state=seed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cd1_learns_bars_and_stripes(dtype):
    patterns = bars_and_stripes(4)
    assert patterns.shape == (30, 16)
    data = np.repeat(patterns, 10, axis=0)

    start = demo_rbm(dtype, n_iter=0).fit(data)       # the initial parameters
    ll_start = log_likelihood_exact(start, patterns).mean()
    assert abs(ll_start - UNIFORM) < 0.01            # N(0, 0.01^2) weights: nearly uniform
    err_start = start.reconstruction_error(patterns)

    history = []

    def record(model, info):
        if info["epoch"] % 25 == 0:
            history.append(log_likelihood_exact(model, patterns).mean())

    model = demo_rbm(dtype).fit(data, callback=record)
    assert model.n_iter_ == 300 and len(history) == 12
    assert max(history) > -5.5                       # within ~2 nats of the optimum
    assert history[-1] > -6.5                        # and stays far above uniform
    assert max(history) < OPTIMUM                    # a bound no model can beat
    assert history[3] > history[0] + 2               # epoch 100 well above epoch 25
    # the model reconstructs every pattern almost perfectly
    assert err_start > 0.2
    assert model.reconstruction_error(patterns) < 1e-3


def test_gaussian_rbm_learns_standardised_mixture():
    X, _, _ = gaussian_mixture(1000, 8, 3, random_state=0)
    Z = (X - X.mean(0)) / X.std(0)
    start = GaussianRBM(32, n_iter=0, learning_rate=0.01, random_state=0).fit(Z)
    # tiny weights reconstruct the mean: error ~ the unit variance of standardised data
    assert start.reconstruction_error(Z) == pytest.approx(1.0, abs=0.02)
    model = GaussianRBM(32, n_iter=30, learning_rate=0.01, random_state=0).fit(Z)
    # measured 0.33: the model captures two thirds of the variance
    assert model.reconstruction_error(Z) < 0.5
