"""scikit-learn's own tests for its BernoulliRBM, run against fastrbm's drop-in.

The module shipped with the installed scikit-learn
(``sklearn/neural_network/tests/test_rbm.py``) is copied into a temporary folder, its
import of ``BernoulliRBM`` swapped for ``fastrbm.BernoulliRBM``, and run by pytest in
a subprocess, with scikit-learn's own conftest (its fixtures, markers and warning
filters). Every test must pass except the ones listed in ``PINNED``, which assert
scikit-learn's exact random numbers and are deselected by name.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import fastrbm

sklearn = pytest.importorskip("sklearn")

SUITE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_rbm.py"

#: Tests (function names) that pin scikit-learn's random numbers, with the reason.
PINNED = {
    "test_fit_gibbs": (
        "asserts components_ == [[0.02649814], [0.02009084]] (4 decimals) after 42 "
        "epochs from RandomState(42), and that one Gibbs step from that model gives back "
        "X exactly: scikit-learn's own draws (it says 'this test is very seed-dependent'; "
        "with other seeds one step gives back X for about 1 seed in 5, for scikit-learn's "
        "model and fastrbm's alike)"),
}

_IMPORT = re.compile(r"^from sklearn\.neural_network import BernoulliRBM$", re.MULTILINE)

_CONFTEST = '''\
import json
from pathlib import Path

# scikit-learn's fixtures, markers (thread_unsafe) and warning filters, as its suite has
pytest_plugins = ["sklearn.conftest"]

PINNED = set(json.loads(Path(__file__).with_name("pinned.json").read_text()))


def pytest_collection_modifyitems(config, items):
    drop = [item for item in items if getattr(item, "originalname", item.name) in PINNED]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]
    Path(__file__).with_name("deselected.json").write_text(
        json.dumps([item.name for item in drop]))
'''


@pytest.mark.skipif(not SUITE.is_file(), reason="scikit-learn's tests are not installed")
def test_scikit_learn_bernoulli_rbm_suite_passes(tmp_path):
    source = SUITE.read_text()
    module, n = _IMPORT.subn("from fastrbm import BernoulliRBM", source)
    # one import swapped and no other way to reach scikit-learn's class: otherwise
    # this would test scikit-learn's model, and pass
    assert n == 1, "scikit-learn's test module imports BernoulliRBM differently now"
    assert "neural_network" not in module
    defined = set(re.findall(r"^def (test_\w+)\(", module, re.MULTILINE))
    assert set(PINNED) <= defined, "a pinned test was renamed or removed"

    (tmp_path / "test_rbm_fastrbm.py").write_text(module)
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "pinned.json").write_text(json.dumps(sorted(PINNED)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")     # not this project's settings
    report = tmp_path / "report.xml"
    env = dict(os.environ)
    # the fastrbm under test here, wherever it was imported from
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(fastrbm.__file__).parent.parent)] + env.get("PYTHONPATH", "").split(os.pathsep))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), f"--junitxml={report}",
         "test_rbm_fastrbm.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert report.is_file(), output

    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    not_passed = {name: kind for name, kind in outcomes.items() if kind != "passed"}
    assert not not_passed, f"{not_passed}\n{output}"
    assert proc.returncode == 0, output

    deselected = json.loads((tmp_path / "deselected.json").read_text())
    assert {re.sub(r"\[.*\]$", "", name) for name in deselected} == set(PINNED)
    # every other test of the module ran (and passed, above)
    ran = {re.sub(r"\[.*\]$", "", name) for name in outcomes}
    assert ran == defined - set(PINNED)
