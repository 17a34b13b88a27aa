"""The command line: both demos run, print per-epoch progress and an exact figure;
every bad argument is a one-line argparse error with exit status 2; ``--version``;
``info`` prints only what it knows."""
import re
import subprocess
import sys

import numpy as np
import pytest

import fastrbm
from fastrbm._config import config_info, describe_pool
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


def test_mixture_demo_honours_an_explicit_report_every(capsys):
    # 25 is the bars default; given for the mixture it must not turn into the mixture's 5
    assert main(["demo", "--data", "mixture", "--epochs", "26", "--report-every", "25",
                 "--n-threads", "1"]) == 0
    assert [int(r[0]) for r in _rows(capsys.readouterr().out)] == [1, 25, 26]


BAD_ARGUMENTS = [
    (["demo", "--data", "mnist"], "--data", "invalid choice"),
    (["demo", "--epochs", "0"], "--epochs", "integer >= 1"),
    (["demo", "--epochs", "-3"], "--epochs", "integer >= 1"),
    (["demo", "--epochs", "2.5"], "--epochs", "integer >= 1"),
    (["demo", "--report-every", "0"], "--report-every", "integer >= 1"),
    (["demo", "--repeats", "0"], "--repeats", "integer >= 1"),
    (["demo", "--n-threads", "0"], "--n-threads", "integer in [1,"),
    (["demo", "--n-threads", "two"], "--n-threads", "integer in [1,"),
    (["demo", "--hidden", "0"], "--hidden", "integer in [1,"),
    (["demo", "--hidden", str(2**31)], "--hidden", "integer in [1,"),
    (["demo", "--k", "0"], "--k", "integer in [1,"),
    (["demo", "--seed", "-1"], "--seed", "integer in [0,"),
    (["demo", "--seed", str(2**64)], "--seed", "integer in [0,"),
    (["demo", "--learning-rate", "0"], "--learning-rate", "finite number > 0"),
    (["demo", "--learning-rate", "-0.1"], "--learning-rate", "finite number > 0"),
    (["demo", "--learning-rate", "nan"], "--learning-rate", "finite number > 0"),
    (["demo", "--learning-rate", "inf"], "--learning-rate", "finite number > 0"),
    (["demo", "--learning-rate", "1e999"], "--learning-rate", "finite number > 0"),
    (["demo", "--learning-rate", "fast"], "--learning-rate", "finite number > 0"),
    (["demo", "--dtype", "float16"], "--dtype", "invalid choice"),
    (["demo", "--backend", "torch"], "--backend", "invalid choice"),
    (["demo", "--data", "mixture", "--hidden", "26"], "--hidden", "at most 25"),
    (["demo", "--no-such-option"], "unrecognized arguments", "--no-such-option"),
    (["train"], "invalid choice", "'train'"),
    ([], "required", "demo,info"),
]


@pytest.mark.parametrize("argv, names, says", BAD_ARGUMENTS,
                         ids=[" ".join(a[0]) or "nothing" for a in BAD_ARGUMENTS])
def test_bad_arguments_are_one_line_errors_with_status_2(capsys, argv, names, says):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("fastrbm") and ": error: " in err
    assert names in err and says in err


def test_version_prints_name_and_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"fastrbm {fastrbm.__version__}\n"


def test_python_m_fastrbm_version_and_a_bad_argument(tmp_path):
    # a child process in a folder of its own imports the installed package
    run = [sys.executable, "-m", "fastrbm"]
    proc = subprocess.run(run + ["--version"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout == f"fastrbm {fastrbm.__version__}\n"
    proc = subprocess.run(run + ["demo", "--epochs", "0"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_divergence_is_a_one_line_error_with_status_1(capsys):
    status = main(["demo", "--data", "mixture", "--learning-rate", "1e300", "--epochs", "2",
                   "--n-threads", "1"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged" in err and "Traceback" not in err


def test_describe_pool_names_only_known_fields():
    # threadpoolctl's record for libgomp, as it comes: version, layer, architecture None
    gomp = {"user_api": "openmp", "internal_api": "openmp", "prefix": "libgomp",
            "version": None, "num_threads": 2, "threading_layer": None,
            "architecture": None, "filepath": "/usr/lib/libgomp.so.1"}
    assert describe_pool(gomp) == "openmp: libgomp (2 threads) /usr/lib/libgomp.so.1"
    blas = {"user_api": "blas", "internal_api": "openblas", "prefix": "libopenblas",
            "version": "0.3.30", "num_threads": 1, "threading_layer": "pthreads",
            "architecture": "Haswell", "filepath": "/x/libopenblas.so"}
    assert (describe_pool(blas)
            == "blas: openblas 0.3.30 (Haswell, 1 thread, pthreads) /x/libopenblas.so")
    bare = {"user_api": "blas", "internal_api": "mkl", "version": None,
            "num_threads": None, "threading_layer": "unknown", "filepath": None}
    assert describe_pool(bare) == "blas: mkl"


def test_info_prints_no_unknowns(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and "unknown" not in out and "()" not in out
    assert out.startswith(f"fastrbm {fastrbm.__version__} ") and "OpenMP:" in out
    pools = config_info()["threadpools"]
    assert all(v is not None for lib in pools for v in lib.values())
    for lib in pools:
        assert describe_pool(lib) in out.splitlines()


def _cli(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "fastrbm", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_fit_evaluate_transform_sample_show_end_to_end(tmp_path):
    X = (fastrbm.datasets.load_digits()[:200] > 0.5).astype(float)
    np.save(tmp_path / "d.npy", X)
    assert _cli("fit", "d.npy", "--out", "m.npz", "--n-components", 8, "--epochs", 2,
                "--seed", 0, cwd=tmp_path).returncode == 0
    proc = _cli("evaluate", "m.npz", "d.npy", "--json", cwd=tmp_path)
    import json
    got = json.loads(proc.stdout)
    assert got["log_z_method"] == "exact" and got["rows"] == 200
    assert _cli("transform", "m.npz", "d.npy", "--out", "f.npy", cwd=tmp_path).returncode == 0
    assert np.load(tmp_path / "f.npy").shape == (200, 8)
    assert _cli("sample", "m.npz", "-n", 4, "--steps", 2, "--out", "s.npy",
                cwd=tmp_path).returncode == 0
    assert _cli("show", "m.npz", "--out", "f.png", cwd=tmp_path).returncode == 0


def test_bad_file_is_one_line_error_status_1(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"junk")
    proc = _cli("fit", "bad.npy", "--out", "m.npz", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "bad.npy: not a readable .npy file" in proc.stderr and "Traceback" not in proc.stderr


def test_progress_goes_to_stderr_and_keeps_stdout_clean(tmp_path):
    X = fastrbm.datasets.load_digits()[:300]
    np.save(tmp_path / "d.npy", X)
    fit = _cli("fit", "d.npy", "--out", "m.npz", "--n-components", 20, "--epochs", 3,
               "--seed", 0, "--progress", cwd=tmp_path)
    assert fit.returncode == 0 and fit.stdout == ""
    epochs = [line for line in fit.stderr.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3 and "reconstruction error" in epochs[0]
    # AIS's progress is on stderr (a line at each tenth its segments cross, the last at
    # the end); stdout stays one JSON object
    ev = _cli("evaluate", "m.npz", "d.npy", "--json", "--log-z", "ais", "--ais-runs", 4,
              "--progress", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    import json
    assert json.loads(ev.stdout)["log_z_method"] == "ais"
    lines = [line for line in ev.stderr.splitlines() if line.startswith("[AIS]")]
    assert len(lines) >= 2 and "left" in lines[0]
    assert "14500/14500" in lines[-1] and "left" not in lines[-1]
    quiet = _cli("evaluate", "m.npz", "d.npy", "--json", "--log-z", "ais", "--ais-runs", 4,
                 "--no-progress", cwd=tmp_path)
    assert quiet.stderr == "" and json.loads(quiet.stdout) == json.loads(ev.stdout)
    smp = _cli("sample", "m.npz", "-n", 3, "--steps", 30, "--out", "s.npy", "--progress",
               cwd=tmp_path)
    assert smp.returncode == 0 and "[sample]     30/30 Gibbs steps" in smp.stderr


def test_epoch_bar_with_tqdm(tmp_path, capsys):
    pytest.importorskip("tqdm")
    from fastrbm._commands import EpochProgress

    X = fastrbm.datasets.load_digits()[:100]
    seen = EpochProgress(X, enabled=True, bar=True)
    model = fastrbm.RBM(n_components=5, n_iter=4, random_state=0).fit(X, callback=seen)
    seen.done("finished")
    err = capsys.readouterr().err
    assert "4/4" in err and "reconstruction error" in err and err.endswith("finished\n")
    assert model.n_iter_ == 4


def _idx_file(path, images):
    """An IDX file of unsigned bytes as MNIST ships them (big-endian dimensions)."""
    import struct

    header = struct.pack(">BBBB", 0, 0, 0x08, images.ndim)
    header += struct.pack(f">{images.ndim}I", *images.shape)
    path.write_bytes(header + images.astype(np.uint8).tobytes())


def test_every_reader_gives_the_same_model_through_fit(tmp_path):
    """The same 8-bit images as .npy, .npz (named), .csv and IDX read with --scale 255,
    and as a folder of PNGs (read into [0, 1] already), train bitwise the same model."""
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 4, 5)).astype(np.uint8)
    flat = images.reshape(40, 20)
    np.save(tmp_path / "d.npy", flat)
    np.savez(tmp_path / "d.npz", labels=np.arange(40), images=flat)
    np.savetxt(tmp_path / "d.csv", flat, fmt="%d", delimiter=",",
               header=",".join(f"p{i}" for i in range(20)), comments="")
    _idx_file(tmp_path / "d-idx3-ubyte", images)
    (tmp_path / "imgs").mkdir()
    for i, im in enumerate(images):
        Image.fromarray(im, mode="L").save(tmp_path / "imgs" / f"{i:03d}.png")
    scaled = ["--scale", 255]
    sources = {"npy": ["d.npy", *scaled], "npz": ["d.npz", "--key", "images", *scaled],
               "csv": ["d.csv", *scaled], "idx": ["d-idx3-ubyte", *scaled],
               "folder": ["imgs"]}
    models = {}
    for name, src in sources.items():
        out = f"m_{name}.npz"
        proc = _cli("fit", *src, "--out", out, "--n-components", 6,
                    "--epochs", 3, "--batch-size", 10, "--seed", 1, cwd=tmp_path)
        assert proc.returncode == 0, (name, proc.stderr)
        models[name] = fastrbm.io.load(tmp_path / out)
    W = models["npy"].components_
    assert np.all(np.isfinite(W))
    for name, model in models.items():
        np.testing.assert_array_equal(model.components_, W, err_msg=name)


def test_dbn_through_the_cli(tmp_path):
    X = (fastrbm.datasets.load_digits()[:300] > 0.5).astype(float)
    np.save(tmp_path / "d.npy", X)
    proc = _cli("fit", "d.npy", "--out", "dbn.npz", "--layers", "12,6", "--epochs", 2,
                "--seed", 0, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    dbn = fastrbm.io.load(tmp_path / "dbn.npz")
    assert isinstance(dbn, fastrbm.DBN) and [r.n_components for r in dbn.rbms_] == [12, 6]
    import json
    ev = _cli("evaluate", "dbn.npz", "d.npy", "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    got = json.loads(ev.stdout)
    # the bound is a log-probability of 64 binary pixels: below 0, above 64 log(1/2)
    assert 64 * np.log(0.5) * 3 < got["log_likelihood_bound"] < 0
    assert _cli("sample", "dbn.npz", "-n", 3, "--steps", 5, "--out", "s.npy",
                cwd=tmp_path).returncode == 0
    assert np.load(tmp_path / "s.npy").shape == (3, 64)
    bad = _cli("fit", "d.npy", "--out", "x.npz", "--layers", "12,6", "--n-components", 3,
               cwd=tmp_path)
    assert bad.returncode != 0 and "exclude" in bad.stderr


def test_resume_through_the_cli_is_bitwise_the_uninterrupted_run(tmp_path):
    X = fastrbm.datasets.load_digits()[:200]
    np.save(tmp_path / "d.npy", X)
    common = ["--n-components", 8, "--sampler", "pcd", "--batch-size", 20, "--seed", 3]
    whole = _cli("fit", "d.npy", "--out", "whole.npz", "--epochs", 6, *common, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    part = _cli("fit", "d.npy", "--out", "part.npz", "--epochs", 3, *common, cwd=tmp_path)
    assert part.returncode == 0, part.stderr
    resumed = _cli("fit", "d.npy", "--out", "resumed.npz", "--resume", "part.npz",
                   "--epochs", 6, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    a = fastrbm.io.load(tmp_path / "whole.npz")
    b = fastrbm.io.load(tmp_path / "resumed.npz")
    assert b.n_iter_ == 6
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # the 3-epoch model differs: resuming did train
    assert not np.array_equal(fastrbm.io.load(tmp_path / "part.npz").components_,
                              a.components_)


def test_a_missing_plot_extra_is_a_one_line_error(tmp_path):
    X = fastrbm.datasets.load_digits()[:50]
    np.save(tmp_path / "d.npy", X)
    assert _cli("fit", "d.npy", "--out", "m.npz", "--n-components", 4, "--epochs", 1,
                cwd=tmp_path).returncode == 0
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from fastrbm.cli import main\n"
            "sys.exit(main(['show', 'm.npz', '--out', 'f.png', '--image-shape', '8x8']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "matplotlib" in lines[0] and "pip install" in lines[0]
    assert not (tmp_path / "f.png").exists()


def test_schedules_as_the_cli_manual_writes_them(tmp_path):
    np.save(tmp_path / "d.npy", fastrbm.datasets.load_digits()[:100])
    for flags in (["--momentum-schedule", "practical"],
                  ["--learning-rate-schedule", '["exponential", {"decay": 0.98}]']):
        proc = _cli("fit", "d.npy", "--out", "m.npz", "--epochs", 2, "--seed", 0, *flags,
                    cwd=tmp_path)
        assert proc.returncode == 0, (flags, proc.stderr)
    proc = _cli("fit", "d.npy", "--out", "m.npz", "--learning-rate-schedule",
                "exponential", cwd=tmp_path)
    assert proc.returncode == 1 and "decay" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
