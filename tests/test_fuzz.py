"""Nothing a caller passes may crash the process.

Each family of entry points (the compiled kernels' Python functions, the epoch, AIS,
the estimators with parameters set by hand, DBN and the SBN view) is called with
hundreds of bad arguments in a child process (``fuzz_cases.py``): a segmentation
fault there fails the test instead of ending the test run. Every bad call must raise
TypeError or ValueError and leave the model as it was; the valid calls each family
starts from, and the variants the contract allows, must work.
"""
from __future__ import annotations

import json
import os

import pytest
from conftest import run_python

import fuzz_cases

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("family", list(fuzz_cases.FAMILIES))
def test_bad_calls_are_refused_without_crashing(family):
    code = (f"import sys; sys.path.insert(0, {HERE!r}); import fuzz_cases; "
            f"fuzz_cases.main({family!r})")
    result = run_python(code, timeout=600)
    assert result.returncode == 0, (
        f"the child process died (exit {result.returncode}) after "
        f"{len(result.stdout.splitlines())} cases:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 2
    wrong = []
    for label, outcome, detail in records:
        wants = "accepted" if (": valid call" in label or label.endswith("of the fitted model")
                               or "strided V" in label or "F-ordered X" in label) else "refused"
        if outcome != wants:
            wrong.append(f"{label}: {outcome} {detail}")
    assert not wrong, f"{len(wrong)} of {len(records)} cases:\n" + "\n".join(wrong)
