"""Smoke test of the benchmark suite: ``benchmarks/run.py --quick`` runs every
benchmark once at small sizes and writes a complete JSON. Asserts structure only,
never a time (the machine running the tests is not a benchmark machine)."""

import pytest
from conftest import run_quick_benchmark

CONFIGS = {"a", "b", "c", "d", "e", "a_pcd1", "a_cd10", "a_adam", "a_centered", "a_pt10",
           "a_fpcd"}
DTYPES = {"float32", "float64"}
TIMED = ("floor_step", "kernel_step", "reference_step", "sklearn_step", "torch_step",
         "kernel_epoch", "fit_epoch", "reference_epoch", "sklearn_epoch", "torch_epoch")
ALWAYS = ("floor_step", "kernel_step", "reference_step", "kernel_epoch", "fit_epoch",
          "reference_epoch")
TIMING_FIELDS = {"median", "min", "max", "repeats", "inner"}


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    return run_quick_benchmark("run.py", tmp_path_factory.mktemp("bench") / "quick.json",
                               'Ratios', timeout=600)


def _timing(t):
    assert set(t) >= TIMING_FIELDS
    assert 0 < t["min"] <= t["median"] <= t["max"]


def test_every_configuration_and_dtype_present(quick_result):
    result, _ = quick_result
    assert result["quick"] is True
    assert {c["name"] for c in result["configs"]} == CONFIGS
    for cfg in result["configs"]:
        assert set(cfg["results"]) == DTYPES
        for key in ("n_visible", "n_hidden", "batch_size", "n_batches", "basis"):
            assert key in cfg


def test_every_field_of_every_configuration(quick_result):
    result, _ = quick_result
    for cfg in result["configs"]:
        for dt, r in cfg["results"].items():
            assert set(r["timings"]) == set(TIMED)
            for name in TIMED:
                t = r["timings"][name]
                if name in ALWAYS:
                    _timing(t)
                elif t is None:
                    assert r["skipped"][name], f"{cfg['name']} {dt} {name}: no reason"
                else:
                    _timing(t)
            for basis in ("step", "epoch"):
                assert set(r["ratios"][basis]) == {"floor", "reference", "sklearn", "torch"}
                assert r["ratios"][basis]["floor"] > 0
                assert r["ratios"][basis]["reference"] > 0
            assert r["ratios"]["epoch_overhead"] > 0
            assert set(r["per_batch"]) == {"kernel_epoch", "fit_epoch", "reference_epoch",
                                           "sklearn_epoch", "torch_epoch"}


def test_peers_only_skipped_with_a_reason(quick_result):
    result, _ = quick_result
    for cfg in result["configs"]:
        bernoulli = cfg["visible"] == "bernoulli" and cfg["hidden"] == "bernoulli"
        for r in cfg["results"].values():
            if not bernoulli:
                assert r["timings"]["sklearn_step"] is None
                assert r["timings"]["torch_step"] is None


def test_units_ais_threads_memory_sections(quick_result):
    result, _ = quick_result
    units = result["units"]
    assert [u["unit"] for u in units["units"]] == [
        "stepped N=1", "stepped N=5", "stepped N=10", "stepped N=20", "stepped N=50", "nrelu"]
    for u in units["units"]:
        _timing(u["sample"])
        for key in ("mean_vs_softplus", "mean_vs_nrelu", "var_vs_sigmoid", "var_vs_nrelu"):
            assert set(u[key]) == {"mean_abs", "max_abs"}
        assert u["time_vs_nrelu"] > 0
    ais = result["ais"]
    assert "available" in ais
    if ais["available"]:
        _timing(ais["kernel"])
        _timing(ais["floor"])
        assert ais["ratio_floor"] > 0
    else:
        assert ais["reason"]
    threads = result["threads"]
    assert {(t["config"], t["dtype"]) for t in threads} == {
        (c, d) for c in ("a", "d") for d in DTYPES}
    for t in threads:
        for key in ("kernel_1", "kernel_all", "floor_1", "floor_all"):
            _timing(t[key])
        assert t["kernel_speedup"] > 0
    mem = result["memory"]
    assert mem["peak_traced_bytes"] > 0 and mem["param_bytes"] > 0 and mem["data_bytes"] > 0
    assert len(mem["per_epoch"]) == mem["n_epochs"]
    assert mem["traced_growth_after_epoch1"] is not None


def test_machine_record(quick_result):
    result, stdout = quick_result
    m = result["machine"]
    for key in ("cpu", "cores_available", "python", "fastrbm", "numpy", "scipy", "peers",
                "openmp", "n_threads", "small_gemm", "threadpools", "env_unset_for_this_run",
                "git_commit"):
        assert key in m
    assert any(lib.get("user_api") == "blas" for lib in m["threadpools"])
    assert result["floor_blas"]["library"], "the floor's BLAS was not identified"
    # the runner may drop the slow OpenBLAS variables for itself, and must then say so
    if m["env_unset_for_this_run"]:
        assert "Note: unset" in stdout
        assert not m["env_still_set"]
