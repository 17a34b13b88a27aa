"""Smoke test of the model-quality benchmark: ``benchmarks/quality.py --quick`` trains
every method at tiny sizes and writes a complete JSON. Asserts structure and the
bounds every exact log-likelihood obeys, never a time or a level of quality."""
import math

import pytest
from conftest import run_quick_benchmark

METHODS = ["CD-1", "PCD-1", "CD-1 Adam", "PCD-1 Adam", "CD-1 centered", "PCD-1 centered",
           "PT-1 x 10", "PT-1 x 10 centered", "FPCD-1"]
SUMMARY_FIELDS = {"median", "min", "max"}


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    return run_quick_benchmark("quality.py", tmp_path_factory.mktemp("quality") / "quick.json",
                               '| task | method |', timeout=300)


def _summary(s, low, high):
    assert set(s) == SUMMARY_FIELDS
    assert all(math.isfinite(s[k]) for k in SUMMARY_FIELDS)
    assert low <= s["min"] <= s["median"] <= s["max"] <= high


def _bounds(task):
    """(low, high) for a task's train log-likelihood. On its own training set no model
    beats minus the entropy of the rows' empirical distribution (cross-entropy >=
    entropy). Digits models start at the pixels' marginals, far above the uniform
    model; BAS's marginals are 0.5, so a barely trained BAS model sits at the uniform
    figure and may fall a hair below it: no lower bound there but finiteness."""
    low = -task["n_visible"] * math.log(2) if task["data"] == "digits" else -math.inf
    return low, task["references"]["train_optimum"] + 1e-9


def test_top_level(quick_result):
    result, _ = quick_result
    assert result["quick"] is True and result["benchmark"] == "quality"
    for key in ("seeds", "methods", "grid", "common", "selection", "tasks", "machine",
                "seconds", "split_seed"):
        assert key in result
    assert list(result["methods"]) == METHODS
    assert {t["data"] for t in result["tasks"]} == {"digits", "bas"}


def test_every_task_method_and_grid_point(quick_result):
    result, _ = quick_result
    seeds = result["seeds"]
    for task in result["tasks"]:
        for key in ("name", "n_visible", "n_hidden", "n_epochs", "batch_size", "n_train",
                    "n_test", "references"):
            assert key in task
        if task["data"] == "digits":
            assert task["n_visible"] == 64 and task["n_train"] + task["n_test"] == 1797
        else:
            assert task["n_visible"] == 16 and task["n_train"] == 32
            assert abs(task["references"]["train_optimum"] - (-3.379)) < 1e-3
        low, high = _bounds(task)
        assert [m["method"] for m in task["methods"]] == METHODS
        for m in task["methods"]:
            assert len(m["grid"]) >= 2
            for point in m["grid"]:
                assert [r["seed"] for r in point["runs"]] == seeds
                assert point["settings"]["learning_rate"] == point["learning_rate"]
                assert point["settings"]["n_iter"] == task["n_epochs"]
                for run in point["runs"]:
                    if run["failed"] is None:
                        assert math.isfinite(run["log_z"])
                        assert low <= run["train_ll"] <= high
                        assert low <= run["test_ll"] <= 0
                if point["train"] is not None:
                    _summary(point["train"], low, high)
                    _summary(point["test"], low, 0.0)


def test_selection_is_the_best_train_median(quick_result):
    result, _ = quick_result
    for task in result["tasks"]:
        for m in task["methods"]:
            i = m["selected_index"]
            assert i is not None, f"{task['name']} {m['method']}: every grid point failed"
            medians = [p["train"]["median"] for p in m["grid"] if p["train"] is not None]
            assert m["selected"]["train"]["median"] == max(medians)
            assert m["selected"]["learning_rate"] == m["grid"][i]["learning_rate"]


def test_machine_record(quick_result):
    result, stdout = quick_result
    m = result["machine"]
    assert any(lib.get("user_api") == "blas" for lib in m["threadpools"])
    assert "BLAS:" in stdout
    if m["env_unset_for_this_run"]:
        assert "Note: unset" in stdout
        assert not m["env_still_set"]
