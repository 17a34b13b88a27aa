"""The benchmark configurations (issue 6) and the data each one trains on."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Config:
    """One model size and training variant.

    ``basis`` says which measurement the ratios table reports: ``"step"`` (one CD
    update on one minibatch) or ``"epoch"`` (a whole epoch, where per-call overhead
    shows).
    """

    name: str
    n_visible: int
    n_hidden: int
    batch_size: int
    n_batches: int                       # minibatches per timed epoch
    visible: str = "bernoulli"
    hidden: str = "bernoulli"
    k: int = 1
    persistent: bool = False
    optimizer: str = "sgd"
    centering: bool = False
    n_temperatures: int = 1          # > 1: parallel tempering (persistent chains)
    fast: bool = False               # fast PCD (persistent chains with fast weights)
    basis: str = "step"
    label: str = ""

    @property
    def bernoulli(self) -> bool:
        """Bernoulli-Bernoulli model: the peers (scikit-learn, PyTorch) apply."""
        return self.visible == "bernoulli" and self.hidden == "bernoulli"

    @property
    def n_samples(self) -> int:
        return self.batch_size * self.n_batches

    def describe(self) -> str:
        algo = f"{'PCD' if self.persistent else 'CD'}-{self.k}"
        if self.n_temperatures > 1:
            algo = f"PT-{self.k} x {self.n_temperatures}"
        elif self.fast:
            algo = f"FPCD-{self.k}"
        if self.optimizer != "sgd":
            algo += f", {self.optimizer}"
        if self.centering:
            algo += ", centered"
        units = "" if self.bernoulli else f" {self.visible}/{self.hidden}"
        return f"{self.n_visible}x{self.n_hidden}, B={self.batch_size}, {algo}{units}"


FULL = (
    Config("a", 784, 500, 100, 20, basis="step", label="784x500, 100"),
    Config("b", 784, 500, 10, 50, basis="step", label="784x500, 10"),
    Config("c", 64, 100, 10, 100, basis="epoch", label="64x100, 10 (epoch)"),
    Config("d", 4096, 2048, 256, 4, basis="step", label="4096x2048, 256"),
    Config("e", 784, 500, 100, 20, visible="gaussian", hidden="nrelu", basis="step",
           label="Gaussian + NReLU, a"),
    Config("a_pcd1", 784, 500, 100, 20, persistent=True, basis="step", label="PCD-1 at a"),
    Config("a_cd10", 784, 500, 100, 20, k=10, basis="step", label="CD-10 at a"),
    Config("a_adam", 784, 500, 100, 20, optimizer="adam", basis="step", label="Adam at a"),
    Config("a_centered", 784, 500, 100, 20, centering=True, basis="step",
           label="centered at a"),
    Config("a_pt10", 784, 500, 100, 20, n_temperatures=10, persistent=True, basis="step",
           label="PT, 10 temperatures, at a"),
    Config("a_fpcd", 784, 500, 100, 20, persistent=True, fast=True, basis="step",
           label="fast PCD at a"),
)


def _shrink(cfg: Config) -> Config:
    """A small twin of ``cfg`` for ``--quick``: same variant, tiny sizes, 3 batches."""
    nv = min(cfg.n_visible, 96)
    nh = min(cfg.n_hidden, 64)
    return replace(cfg, n_visible=nv, n_hidden=nh, batch_size=min(cfg.batch_size, 16),
                   n_batches=3, k=min(cfg.k, 3))


def configs(quick: bool = False, only: Optional[str] = None):
    """The configurations to run, shrunk for ``--quick``, filtered by name prefixes
    (``only``: one, or several separated by commas)."""
    out = [_shrink(c) if quick else c for c in FULL]
    if only:
        wanted = only.split(",")
        out = [c for c in out if any(c.name.startswith(w) for w in wanted)]
    return out


def make_data(cfg: Config, dtype, n_rows: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """Training data: binary rows with per-feature rates (Bernoulli) or standard normals.

    The rates vary across features (Beta(0.5, 2)), as pixels of real images do, so
    hidden and visible activations are not all near one half.
    """
    rng = np.random.default_rng(seed)
    n = cfg.n_samples if n_rows is None else n_rows
    if cfg.visible == "gaussian":
        return rng.standard_normal((n, cfg.n_visible)).astype(dtype)
    rates = rng.beta(0.5, 2.0, size=cfg.n_visible)
    return (rng.random((n, cfg.n_visible)) < rates).astype(dtype)
