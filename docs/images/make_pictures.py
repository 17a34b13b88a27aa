"""Make the pictures shown in the README and docs/ from the digits shipped in fastrbm.

Run from anywhere: ``python docs/images/make_pictures.py`` (needs the ``plot`` extra).
It trains an RBM on the 1,797 8x8 UCI digits (PCD-1, 100 hidden units, 60 epochs,
seed 0: a few seconds) with a validation monitor, and writes, next to this file,

* ``digits_filters.png``: the 100 receptive fields;
* ``digits_samples.png``: 64 chains started at random, 1,000 Gibbs steps, last means;
* ``digits_reconstructions.png``: held-out digits above their reconstructions;
* ``digits_history.png``: the training curves.

The pictures are a function of the seed on one machine (docs/rng.md), so rerunning
the script redraws the same images there.
"""
from __future__ import annotations

import os

import numpy as np

from fastrbm import RBM, plot
from fastrbm.datasets import load_digits
from fastrbm.evaluation import Monitor

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    X = load_digits()
    order = np.random.default_rng(0).permutation(X.shape[0])
    train, valid = X[order[:1500]], X[order[1500:]]
    monitor = Monitor(valid, metric="pseudo_likelihood", X_train=train)
    rbm = RBM(100, sampler="pcd", learning_rate=0.05, batch_size=20, n_iter=60,
              random_state=0)
    rbm.fit(train, callback=monitor)
    out = {name: os.path.join(HERE, f"digits_{name}.png")
           for name in ("filters", "samples", "reconstructions", "history")}
    plot.filters(rbm, (8, 8), out["filters"])
    plot.samples(rbm.sample(64, n_steps=1000, return_mean=True), (8, 8), out["samples"])
    plot.reconstructions(rbm, valid, (8, 8), out["reconstructions"], n=32)
    plot.history(monitor, out["history"], title="RBM on the 8x8 digits (PCD-1)")
    for path in out.values():
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()
