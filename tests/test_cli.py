"""The command line: both demos run, print per-epoch progress and an exact figure."""
import re

import numpy as np
import pytest

from fastrbm.cli import main


def _rows(text):
    return [line.split() for line in text.splitlines() if re.match(r"^\s+\d+\s+[\d.]+\s+-", line)]


def test_bars_demo_prints_epochs_and_learns(capsys):
    assert main(["demo", "--epochs", "60", "--report-every", "20", "--n-threads", "1"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [int(r[0]) for r in rows] == [1, 20, 40, 60]
    lls = [float(r[2]) for r in rows]
    assert lls[0] < -10.5 and lls[-1] > -8.5          # starts near -11.09 and learns
    final = float(re.search(r"exact log Z\): (-[\d.]+) nats", out).group(1))
    assert final == pytest.approx(lls[-1], abs=1e-3)
    assert "OpenMP:" in out and "blas:" in out           # show_config header


def test_mixture_demo_standardises_and_improves_on_the_gaussian_baseline(capsys):
    assert main(["demo", "--data", "mixture", "--epochs", "30", "--n-threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "standardised" in out
    lls = [float(r[2]) for r in _rows(out)]
    baseline = -np.log(2 * np.pi) - 1
    assert lls[-1] > baseline + 0.15 and lls[-1] > lls[0]


def test_unknown_demo_data_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--data", "mnist"])
    assert "invalid choice" in capsys.readouterr().err
