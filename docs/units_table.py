"""Reproduce the measured table of ``docs/units.md``: stepped sigmoid vs softplus vs NReLU.

Run ``python docs/units_table.py``; it prints the Markdown table that the document
quotes. ``tests/test_hidden_units.py`` regenerates it and checks that the document
still holds the same numbers.

All quantities are exact functions of the input ``x`` (no sampling): the stepped
mean ``m_N(x) = sum_{k=1..N} sigmoid(x - k + 0.5)``, its variance
``v_N(x) = sum_k sigma_k (1 - sigma_k)``, ``softplus(x) = log(1 + e^x)``, and the
NReLU mean ``x Phi(x / sd) + sd phi(x / sd)`` with ``sd = sqrt(sigmoid(x))``.
"""
from __future__ import annotations

import numpy as np

from scipy.special import ndtr

from fastrbm import reference

#: The input range the table covers and its grid (step 0.005).
X_GRID = np.linspace(-10.0, 10.0, 4001)
#: Copies per stepped unit; 200 stands for the limit N -> infinity on this range
#: (the truncated tail is below softplus(10 - 200) ~ 1e-82).
COPIES = (1, 2, 3, 5, 10, 15, 20, 50, 200)


def stepped_moments(x: np.ndarray, n_copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of a stepped sigmoid unit with ``n_copies`` copies.

    Parameters
    ----------
    x : ndarray
        Total input of the unit.
    n_copies : int
        Number of tied binary copies.

    Returns
    -------
    mean, variance : ndarray
        ``sum_k sigma_k`` and ``sum_k sigma_k (1 - sigma_k)``, ``sigma_k = sigmoid(x - k + 0.5)``.
    """
    p = reference.sigmoid(np.asarray(x, dtype=np.float64)[..., None] - (np.arange(n_copies) + 0.5))
    return p.sum(-1), (p * (1 - p)).sum(-1)


def nrelu_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the NReLU sample ``max(0, x + sd eps)``, ``sd = sqrt(sigmoid(x))``.

    Parameters
    ----------
    x : ndarray
        Total input of the unit.

    Returns
    -------
    mean, variance : ndarray
        Moments of the rectified normal: ``E[Y] = x Phi(t) + sd phi(t)`` and
        ``E[Y^2] = (x^2 + sd^2) Phi(t) + x sd phi(t)``, ``t = x / sd``.
    """
    x = np.asarray(x, dtype=np.float64)
    sd = np.sqrt(reference.sigmoid(x))
    t = x / sd
    cdf, pdf = ndtr(t), np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
    m1 = x * cdf + sd * pdf
    m2 = (x * x + sd * sd) * cdf + x * sd * pdf
    return m1, m2 - m1 * m1


def table_rows(x: np.ndarray = X_GRID, copies=COPIES) -> list[dict]:
    """One row of measured errors per number of copies.

    Parameters
    ----------
    x : ndarray
        Input grid over which maxima are taken.
    copies : sequence of int
        Numbers of copies to tabulate.

    Returns
    -------
    list of dict
        Keys ``n``, ``err_softplus`` (max |m_N - softplus|), ``x_softplus`` (where),
        ``err_softplus_0`` (at x = 0), ``err_nrelu`` (max |m_N - NReLU mean|),
        ``x_nrelu`` (where), ``err_var`` (max |v_N - sigmoid(x)|, the NReLU noise variance).
    """
    sp = reference.softplus(x)
    nm = reference.nrelu_mean(x)
    sig = reference.sigmoid(x)
    _, nv = nrelu_moments(x)
    rows = []
    for n in copies:
        m, v = stepped_moments(x, n)
        e_sp, e_nr = np.abs(m - sp), np.abs(m - nm)
        rows.append(dict(
            n=n, err_softplus=e_sp.max(), x_softplus=x[e_sp.argmax()],
            err_softplus_0=float(abs(stepped_moments(0.0, n)[0] - np.log(2.0))),
            err_nrelu=e_nr.max(), x_nrelu=x[e_nr.argmax()],
            err_var=np.abs(v - sig).max(), err_var_nrelu=np.abs(v - nv).max()))
    return rows


def format_table(rows: list[dict]) -> str:
    """The Markdown table quoted in ``docs/units.md``.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`table_rows`.

    Returns
    -------
    str
        Markdown table, one line per row, ending with a newline.
    """
    lines = ["| N | max abs(m_N - softplus) | at x | at x = 0 | max abs(m_N - NReLU mean) | at x "
             "| max abs(v_N - sigmoid) | max abs(v_N - NReLU var) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['err_softplus']:.3g} | {r['x_softplus']:.2f} "
                     f"| {r['err_softplus_0']:.3g} | {r['err_nrelu']:.3g} | {r['x_nrelu']:.2f} "
                     f"| {r['err_var']:.3g} | {r['err_var_nrelu']:.3g} |")
    return "\n".join(lines) + "\n"


def nrelu_vs_softplus(x: np.ndarray = X_GRID) -> tuple[float, float]:
    """Largest |NReLU mean - softplus| on the grid and where it occurs.

    Parameters
    ----------
    x : ndarray
        Input grid.

    Returns
    -------
    error, x_at : float
    """
    e = np.abs(reference.nrelu_mean(x) - reference.softplus(x))
    return float(e.max()), float(x[e.argmax()])


if __name__ == "__main__":
    print(format_table(table_rows()))
    err, at = nrelu_vs_softplus()
    print(f"max abs(NReLU mean - softplus) = {err:.3g} at x = {at:.2f}")
