"""Bad calls to every entry point, run in a child process by ``test_fuzz.py``.

Each family builds one valid call, then replaces one argument at a time with a value
the entry point must refuse (wrong type, dtype, shape, layout, range, NaN, aliasing).
A few replacements the contract allows (strided data rows, optional outputs left out)
are run too and must work. The child prints one JSON record per case:
``[label, outcome, detail]`` with outcome "refused" (TypeError or ValueError, which
includes scikit-learn's NotFittedError), "accepted", "other" (any other exception),
or "changed" (refused, but the model was changed by the refused call). A crash of the
child is what the parent is there to catch.
"""
from __future__ import annotations

import json
import sys

import numpy as np

N_HID, N_VIS, N_ROWS = 5, 7, 5          # N_ROWS == N_HID lets an output alias W


# ----------------------------------------------------------------- bad values by kind
def _other_float(a):
    return a.astype(np.float64 if a.dtype == np.float32 else np.float32)


def _strided(a):
    """Same shape and values, not C-contiguous."""
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    view = big[..., ::2]
    view[...] = a
    return view


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _longer(a):
    """One more column (2-D) or entry (1-D)."""
    pad = [(0, 0)] * (a.ndim - 1) + [(0, 1)]
    return np.pad(a, pad)


def _bad_arrays(a, *, contiguous=True, writeable=False, optional=False, rows=False):
    """Replacements for an ndarray argument ``a`` that must be refused."""
    out = {
        "other float dtype": _other_float(a),
        "int64 dtype": a.astype(np.int64),
        "one more column": _longer(a),
        "extra dimension": a[None],
        "a list": a.tolist(),
        "a string": "W",
    }
    if a.ndim == 2:
        out["flattened"] = a.ravel()
        if not rows:
            out["transposed"] = np.ascontiguousarray(a.T) if a.shape[0] != a.shape[1] \
                else a[:-1]
    if a.ndim == 1:
        out["empty"] = a[:0]
    if contiguous:
        out["not C-contiguous"] = _strided(a)
    if writeable:
        out["read-only"] = _read_only(a)
    if not optional:
        out["None"] = None
    return out


def _bad_sigma(s, *, optional=True):
    out = _bad_arrays(s, optional=optional)
    for label, value in (("a zero", 0.0), ("a negative entry", -1.0), ("NaN", np.nan),
                         ("infinity", np.inf)):
        bad = s.copy()
        bad[1] = value
        out[label] = bad
    return out


_BAD_INTS = {
    "seed": {"-1": -1, "2**64": 2**64, "True": True, "1.5": 1.5, "'1'": "1", "None": None},
    "u32": {"-1": -1, "2**32": 2**32, "True": True, "0.5": 0.5, "None": None},
    "visible": {"-1": -1, "2": 2, "True": True, "'gaussian'": "gaussian", "1.0": 1.0},
    "hidden": {"-1": -1, "3": 3, "False": False, "'binary'": "binary", "None": None},
    "n_copies": {"0": 0, "1025": 1025, "2.0": 2.0, "True": True},
    "n_threads": {"0": 0, "-1": -1, "10**6": 10**6, "True": True, "1.5": 1.5, "'2'": "2"},
    "bool": {"1": 1, "'yes'": "yes", "None": None},
    "count": {"0": 0, "-1": -1, "2**31": 2**31, "1.5": 1.5, "None": None},
}


# ----------------------------------------------------------------- running cases
class Runner:
    def __init__(self):
        self.records = []

    def expect_refused(self, label, call, snapshot=None):
        before = snapshot() if snapshot else None
        try:
            call()
        except (TypeError, ValueError) as exc:
            if snapshot is not None and not _same(before, snapshot()):
                self.records.append([label, "changed", str(exc)[:200]])
            else:
                self.records.append([label, "refused", f"{type(exc).__name__}: {exc}"[:300]])
            return
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            self.records.append([label, "other", f"{type(exc).__name__}: {exc}"[:300]])
            return
        self.records.append([label, "accepted", ""])

    def expect_accepted(self, label, call):
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            self.records.append([label, "other", f"{type(exc).__name__}: {exc}"[:300]])
            return
        self.records.append([label, "accepted", ""])

    def mutate(self, family, fn, make_kwargs, kinds, bad_for=None):
        """The valid call (must be accepted), then one argument replaced at a time."""
        self.expect_accepted(f"{family}: valid call", lambda: fn(**make_kwargs()))
        for arg, kind in kinds.items():
            valid = make_kwargs()[arg]
            for label, bad in _bad_values(kind, valid).items():
                def call(arg=arg, bad=bad):
                    kwargs = make_kwargs()
                    kwargs[arg] = bad
                    fn(**kwargs)
                self.expect_refused(f"{family}: {arg} {label}", call)


def _bad_values(kind, valid):
    if kind in _BAD_INTS:
        return _BAD_INTS[kind]
    return {
        "param": lambda: _bad_arrays(valid),
        "weights": lambda: dict(_bad_arrays(valid), **{"no rows": valid[:0],
                                                       "float16": valid.astype(np.float16)}),
        "rows": lambda: _bad_arrays(valid, contiguous=False, rows=True),
        "out": lambda: _bad_arrays(valid, writeable=True),
        # a fill takes any shape of either float type
        "fill_out": lambda: {k: v for k, v in _bad_arrays(valid, writeable=True).items()
                             if k in ("int64 dtype", "a list", "a string", "None",
                                      "not C-contiguous", "read-only")},
        "out_optional": lambda: _bad_arrays(valid, writeable=True, optional=True),
        "sigma_optional": lambda: _bad_sigma(valid),
        "sigma": lambda: _bad_sigma(valid, optional=False),
        "vector64": lambda: {"a list": valid.tolist(), "one more entry": _longer(valid),
                             "NaN": np.where(np.arange(valid.size) == 1, np.nan, valid),
                             "None": None, "2-D": valid[None]},
        "betas": lambda: {"float32": valid.astype(np.float32), "not from 0": valid[1:],
                          "not to 1": valid[:-1], "decreasing": valid[::-1].copy(),
                          "NaN": np.where(np.arange(valid.size) == 2, np.nan, valid),
                          "one value": valid[:1], "2-D": valid[None], "None": None},
    }[kind]()


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and \
            np.array_equal(a, b, equal_nan=True)
    return a == b


def _model_snapshot(model):
    """Every array and scalar the model holds, copied (what a refused call must keep)."""
    def copy(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if hasattr(value, "__dataclass_fields__"):
            return {k: copy(getattr(value, k)) for k in value.__dataclass_fields__}
        if isinstance(value, (int, float, str, bool, type(None), tuple)):
            return value
        return repr(type(value))
    return {k: copy(v) for k, v in vars(model).items() if k != "_workspace"}


# ----------------------------------------------------------------- kernel families
def _arrays(dt, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W": (rng.standard_normal((N_HID, N_VIS)) * 0.1).astype(dt),
        "V": (rng.random((N_ROWS, N_VIS)) < 0.5).astype(dt),
        "H": (rng.random((N_ROWS, N_HID)) < 0.5).astype(dt),
        "b": (rng.standard_normal(N_VIS) * 0.1).astype(dt),
        "c": (rng.standard_normal(N_HID) * 0.1).astype(dt),
        "sigma": np.full(N_VIS, 1.5, dt),
    }


def kernels(run: Runner, dt) -> None:
    from fastrbm import _kernels as K

    name = np.dtype(dt).name

    def hidden_kwargs():
        a = _arrays(dt)
        return dict(V=a["V"], W=a["W"], c=a["c"], sigma=None, hidden=0, n_copies=1, seed=1,
                    stream=2, step=3, mean_out=np.empty((N_ROWS, N_HID), dt),
                    sample_out=np.empty((N_ROWS, N_HID), dt), n_threads=1)

    run.mutate(f"hidden_conditional {name}", K.hidden_conditional, hidden_kwargs, {
        "V": "rows", "W": "weights", "c": "param", "hidden": "hidden",
        "n_copies": "n_copies", "seed": "seed", "stream": "u32", "step": "u32",
        "mean_out": "out_optional", "sample_out": "out_optional", "n_threads": "n_threads"})

    def gaussian_hidden_kwargs():
        return dict(hidden_kwargs(), sigma=_arrays(dt)["sigma"])

    run.mutate(f"hidden_conditional gaussian {name}", K.hidden_conditional,
               gaussian_hidden_kwargs, {"sigma": "sigma_optional"})

    def aliased(kw):
        kw["sample_out"] = kw["mean_out"]
        return kw
    run.expect_refused(f"hidden_conditional {name}: sample_out is mean_out",
                       lambda: K.hidden_conditional(**aliased(hidden_kwargs())))
    run.expect_accepted(f"hidden_conditional {name}: strided V, no outputs but one",
                        lambda: K.hidden_conditional(**dict(
                            hidden_kwargs(), V=np.asfortranarray(_arrays(dt)["V"]),
                            sample_out=None)))

    def visible_kwargs():
        a = _arrays(dt)
        return dict(H=a["H"], W=a["W"], b=a["b"], sigma=a["sigma"], visible=1, seed=1,
                    stream=2, step=3, out=np.empty((N_ROWS, N_VIS), dt), sample=True,
                    n_threads=1)

    run.mutate(f"visible_conditional {name}", K.visible_conditional, visible_kwargs, {
        "H": "rows", "W": "weights", "b": "param", "sigma": "sigma_optional",
        "visible": "visible", "seed": "seed", "stream": "u32", "step": "u32", "out": "out",
        "sample": "bool", "n_threads": "n_threads"})

    def out_is_W():
        kw = visible_kwargs()
        kw["out"] = kw["W"]
        return K.visible_conditional(**kw)
    run.expect_refused(f"visible_conditional {name}: out is W", out_is_W)

    def gibbs_kwargs():
        a = _arrays(dt)
        return dict(V=a["V"], W=a["W"], b=a["b"], c=a["c"], sigma=None, visible=0, hidden=2,
                    n_copies=3, n_steps=2, seed=1, step=0, purpose=4, sample_last=True,
                    n_threads=1)

    run.mutate(f"gibbs {name}", K.gibbs, gibbs_kwargs, {
        "V": "rows", "W": "weights", "b": "param", "c": "param", "visible": "visible",
        "hidden": "hidden", "n_copies": "n_copies", "n_steps": "count", "seed": "seed",
        "step": "u32", "purpose": "u32", "sample_last": "bool", "n_threads": "n_threads"})
    run.mutate(f"gibbs gaussian {name}", K.gibbs,
               lambda: dict(gibbs_kwargs(), visible=1, sigma=_arrays(dt)["sigma"]),
               {"sigma": "sigma_optional"})

    def free_energy_kwargs():
        a = _arrays(dt)
        return dict(V=a["V"], W=a["W"], b=a["b"], c=a["c"], sigma=a["sigma"], visible=1,
                    hidden=1, n_copies=1, n_threads=1)

    run.mutate(f"free_energy {name}", K.free_energy, free_energy_kwargs, {
        "V": "rows", "W": "weights", "b": "param", "c": "param", "sigma": "sigma",
        "visible": "visible", "hidden": "hidden", "n_copies": "n_copies",
        "n_threads": "n_threads"})

    for fill in (K.fill_uniforms, K.fill_normals):
        run.mutate(f"{fill.__name__} {name}", fill,
                   lambda: dict(out=np.empty((3, 4), dt), seed=1, stream=2, step=3),
                   {"out": "fill_out", "seed": "seed", "stream": "u32", "step": "u32"})
        run.expect_refused(f"{fill.__name__} {name}: typed twin given None",
                           lambda fill=fill: getattr(K, "_" + fill.__name__ + "_typed")(
                               None, 1, 2, 3))


def _hyper(**changes):
    from fastrbm.state import Hyper

    base = dict(visible=0, hidden=0, n_copies=1, k=2, persistent=True, batch_size=4,
                learning_rate=0.1, momentum=0.5, weight_decay=1e-4, l1=0.0,
                sparsity_target=0.1, sparsity_cost=0.01, sparsity_decay=0.9,
                learn_sigma=False, sigma_learning_rate=0.01, min_sigma=0.1,
                sample_visible=True)
    base.update(changes)
    return Hyper(**base)


def _state(dt, hyper):
    from fastrbm.state import TrainState

    a = _arrays(dt)
    return TrainState.zeros_like_params(a["W"], a["b"], a["c"], a["sigma"],
                                        hyper.batch_size, 0.1)


def _refuse_state_values(run: Runner, family: str, make_kwargs, field: str, bad: dict) -> None:
    """``fit_epoch`` with ``state.<field>`` replaced by each of ``bad``: all refused."""
    from fastrbm import _kernels as K

    for label, value in bad.items():
        def call(value=value):
            kw = make_kwargs()
            setattr(kw["state"], field, value)
            K.fit_epoch(**kw)
        run.expect_refused(f"{family}: state.{field} {label}", call)


def _tempered_adam_centered(run: Runner, dt, X) -> None:
    """The epoch with Adam, centering and parallel tempering at once: their settings,
    the state's integer arrays, the workspace's tempering buffers."""
    from dataclasses import replace

    from fastrbm import _kernels as K
    from fastrbm.state import TrainState

    name = np.dtype(dt).name
    betas = (1.0, 0.5, 0.0)

    def kwargs(**changes):
        h = _hyper(optimizer=1, centering=True, betas=betas, **changes)
        a = _arrays(dt)
        st = TrainState.zeros_like_params(a["W"], a["b"], a["c"], a["sigma"], h.batch_size,
                                          0.1, n_temperatures=len(betas))
        return dict(state=st, hyper=h, X=X, order=np.arange(10, dtype=np.int64), seed=1,
                    step0=0, n_threads=1, workspace=K.make_workspace(h, N_VIS, N_HID, dt),
                    small_gemm=False)

    run.expect_accepted(f"fit_epoch {name}: Adam, centering, PT: valid call",
                        lambda: K.fit_epoch(**kwargs()))
    for field, value in (("betas", [1.0, 0.5]), ("betas", (1.0, 1.0, 0.5)),
                         ("betas", (0.5, 0.2)), ("betas", (1.0, -0.5)),
                         ("betas", (1.0, float("nan"))), ("centering_rate", 2.0),
                         ("optimizer", 7), ("beta_1", 1.0), ("epsilon", 0.0),
                         ("centering", 1)):
        def call(field=field, value=value):
            kw = kwargs()
            K.fit_epoch(**dict(kw, hyper=replace(kw["hyper"], **{field: value})))
        run.expect_refused(f"fit_epoch {name}: hyper.{field} = {value!r}", call)
    for label, changes in {"betas without persistent": dict(persistent=False),
                           "centering with learn_sigma": dict(visible=1, learn_sigma=True),
                           "2000 temperatures": dict(betas=tuple(np.linspace(1, 0, 2000)))
                           }.items():
        def call(changes=changes):
            kw = kwargs()
            K.fit_epoch(**dict(kw, hyper=replace(kw["hyper"], **changes), workspace=None))
        run.expect_refused(f"fit_epoch {name}: {label}", call)
    for field in ("adam_steps", "swap_attempts", "swap_accepts"):
        valid = getattr(kwargs()["state"], field)
        bad = {"float64": valid.astype(np.float64), "int32": valid.astype(np.int32),
               "one more": np.zeros(valid.shape[0] + 1, np.int64), "None": None,
               "read-only": _read_only(valid), "2-D": valid[None]}
        if field == "adam_steps":
            bad["negative"] = np.array([-1], np.int64)
        _refuse_state_values(run, f"fit_epoch {name}", kwargs, field, bad)
    for key in ("pt_input", "pt_energy", "gradient"):
        valid = kwargs()["workspace"][key]
        bad = _bad_arrays(valid, writeable=True, rows=True)
        bad["one row"] = valid[:1]
        for label, value in bad.items():
            def call(key=key, value=value):
                kw = kwargs()
                kw["workspace"][key] = value
                K.fit_epoch(**kw)
            run.expect_refused(f"fit_epoch {name}: workspace[{key!r}] {label}", call)

    def chains_not_a_ladder():
        kw = kwargs()
        kw["state"].chains = np.zeros((kw["state"].chains.shape[0] - 1, N_HID), dt)
        K.fit_epoch(**kw)
    run.expect_refused(f"fit_epoch {name}: chains not n_temperatures sets", chains_not_a_ladder)


def epochs(run: Runner, dt) -> None:
    from dataclasses import replace

    from fastrbm import _kernels as K

    name = np.dtype(dt).name
    X = (np.random.default_rng(1).random((10, N_VIS)) < 0.5).astype(dt)

    def kwargs():
        h = _hyper()
        return dict(state=_state(dt, h), hyper=h, X=X, order=np.arange(10, dtype=np.int64),
                    seed=1, step0=0, n_threads=1,
                    workspace=K.make_workspace(h, N_VIS, N_HID, dt), small_gemm=False)

    run.mutate(f"fit_epoch {name}", K.fit_epoch, kwargs, {
        "X": "rows", "seed": "seed", "step0": "u32", "n_threads": "n_threads"})
    for label, value in {"1": 1, "'yes'": "yes"}.items():       # None: decided by the BLAS
        run.expect_refused(f"fit_epoch {name}: small_gemm {label}",
                           lambda value=value: K.fit_epoch(**dict(kwargs(), small_gemm=value)))
    run.expect_accepted(f"fit_epoch {name}: F-ordered X, no workspace",
                        lambda: K.fit_epoch(**dict(kwargs(), X=np.asfortranarray(X),
                                                   workspace=None)))

    # every array of the training state
    fields = ("W", "b", "c", "sigma", "mW", "mb", "mc", "mz", "chains", "q", "vW", "vb", "vc",
              "vz", "visible_offset", "hidden_offset")
    for field in fields:
        valid = getattr(_state(dt, _hyper()), field)
        bad = _bad_arrays(valid, writeable=True)
        if field == "chains":
            bad.pop("one more column")
            bad["one more column"] = np.zeros((valid.shape[0], N_HID + 1), dt)
        _refuse_state_values(run, f"fit_epoch {name}", kwargs, field, bad)

    _tempered_adam_centered(run, dt, X)

    def state_aliased():
        kw = kwargs()
        kw["state"].mW = kw["state"].W
        K.fit_epoch(**kw)
    run.expect_refused(f"fit_epoch {name}: state.mW is state.W", state_aliased)

    def no_chains():
        kw = kwargs()
        kw["state"].chains = np.zeros((0, N_HID), dt)
        K.fit_epoch(**kw)
    run.expect_refused(f"fit_epoch {name}: PCD without chains", no_chains)

    def gaussian_sigma(value):
        def call():
            h = _hyper(visible=1, learn_sigma=True)
            kw = dict(kwargs(), hyper=h, workspace=None)
            st = _state(dt, h)
            st.sigma[2] = value
            kw["state"] = st
            K.fit_epoch(**kw)
        return call
    for value in (0.0, -1.0, np.nan):
        run.expect_refused(f"fit_epoch {name}: Gaussian state.sigma holds {value}",
                           gaussian_sigma(value))

    # the order of the rows
    for label, order in {"int32": np.arange(10, dtype=np.int32),
                         "2-D": np.arange(10, dtype=np.int64)[None],
                         "an index past the end": np.array([0, 10], np.int64),
                         "a negative index": np.array([3, -1], np.int64),
                         "not contiguous": (np.arange(20, dtype=np.int64) // 2)[::2],
                         "a list": list(range(10)), "None": None}.items():
        run.expect_refused(f"fit_epoch {name}: order {label}",
                           lambda order=order: K.fit_epoch(**dict(kwargs(), order=order)))

    # hyper-parameters
    for label, change in {"k=0": dict(k=0), "batch_size=0": dict(batch_size=0),
                          "persistent='yes'": dict(persistent="yes"),
                          "learning_rate=NaN": dict(learning_rate=float("nan")),
                          "momentum=inf": dict(momentum=float("inf")),
                          "min_sigma=0": dict(min_sigma=0.0),
                          "learn_sigma for Bernoulli": dict(learn_sigma=True),
                          "hidden=5": dict(hidden=5), "n_copies=0": dict(n_copies=0),
                          "visible=None": dict(visible=None)}.items():
        def call(change=change):
            kw = kwargs()
            kw["hyper"] = replace(kw["hyper"], **change)
            K.fit_epoch(**kw)
        run.expect_refused(f"fit_epoch {name}: hyper {label}", call)
    run.expect_refused(f"fit_epoch {name}: hyper None",
                       lambda: K.fit_epoch(**dict(kwargs(), hyper=None)))
    run.expect_refused(f"fit_epoch {name}: state None",
                       lambda: K.fit_epoch(**dict(kwargs(), state=None)))

    # the workspace
    def workspace(change):
        def call():
            kw = kwargs()
            change(kw["workspace"])
            K.fit_epoch(**kw)
        return call
    run.expect_refused(f"fit_epoch {name}: workspace missing a buffer",
                       workspace(lambda ws: ws.pop("vstack")))
    run.expect_refused(f"fit_epoch {name}: workspace buffer too few rows",
                       workspace(lambda ws: ws.update(hstack=ws["hstack"][:1].copy())))
    run.expect_refused(f"fit_epoch {name}: workspace buffer of another dtype",
                       workspace(lambda ws: ws.update(vec_v=_other_float(ws["vec_v"]))))
    run.expect_refused(f"fit_epoch {name}: workspace buffer is X",
                       workspace(lambda ws: ws.update(scratch=X)))
    run.expect_refused(f"fit_epoch {name}: workspace thread record too short",
                       workspace(lambda ws: ws.update(threads=np.zeros(1))))
    run.expect_refused(f"fit_epoch {name}: workspace thread record of float32",
                       workspace(lambda ws: ws.update(threads=np.zeros(4, np.float32))))
    run.expect_refused(f"fit_epoch {name}: workspace a list",
                       lambda: K.fit_epoch(**dict(kwargs(), workspace=[1, 2])))
    run.expect_refused(f"make_workspace {name}: dtype int32",
                       lambda: K.make_workspace(_hyper(), N_VIS, N_HID, np.int32))
    run.expect_refused(f"make_workspace {name}: n_visible 0",
                       lambda: K.make_workspace(_hyper(), 0, N_HID, dt))

    # the typed epoch itself, called directly with a short buffer
    def typed(short):
        h = _hyper()
        st = _state(dt, h)
        ws = K.make_workspace(h, N_VIS, N_HID, dt)
        ws[short] = ws[short][:1].copy()
        K._fit_epoch_typed(X, np.arange(10, dtype=np.int64), st.W, st.b, st.c, st.sigma,
                           st.mW, st.mb, st.mc, st.mz, st.chains, st.q, ws["vstack"],
                           ws["hstack"], ws["hsample"], ws["scratch"], ws["vec_v"],
                           ws["vec_h"], h, 1, 1, 0, False, 0, 3)
    for short in ("vstack", "hstack", "hsample", "vec_v", "vec_h"):
        run.expect_refused(f"_fit_epoch_typed {name}: {short} one row", lambda s=short: typed(s))


def small_entry_points(run: Runner) -> None:
    from fastrbm import _ais, _kernels as K

    for label, words in {"-1": (-1, 0, 0, 0, 0, 0), "2**32": (0, 0, 0, 2**32, 0, 0),
                         "1.5": (0, 1.5, 0, 0, 0, 0), "None": (0, 0, 0, 0, None, 0)}.items():
        run.expect_refused(f"philox_block: a word {label}",
                           lambda words=words: K.philox_block(*words))
    for fn in (K.epoch_threads, K.row_threads, _ais.ais_threads, _ais.ais_unit_split):
        sizes = (4, 3, 2, 1) if fn is K.epoch_threads else (3, 2, 1)
        for label, value in _BAD_INTS["n_threads"].items():
            run.expect_refused(f"{fn.__name__}: n_threads {label}",
                               lambda fn=fn, value=value, sizes=sizes: fn(*sizes[:-1], value))
        run.expect_refused(f"{fn.__name__}: a size -1",
                           lambda fn=fn, sizes=sizes: fn(-1, *sizes[1:]))
    for label, value in _BAD_INTS["n_copies"].items():
        run.expect_refused(f"_check_copies: {label}", lambda value=value: K._check_copies(value))


def ais(run: Runner, dt) -> None:
    from fastrbm import _ais

    name = np.dtype(dt).name

    def kwargs():
        a = _arrays(dt)
        return dict(W=a["W"], b=a["b"].astype(np.float64), c=a["c"],
                    sigma=a["sigma"].astype(np.float64), visible=1, hidden=0, n_copies=1,
                    betas=np.linspace(0.0, 1.0, 6), base_b=np.zeros(N_VIS),
                    base_sigma=np.ones(N_VIS), n_runs=3, seed=1, purpose=None, n_threads=1,
                    progress=None, chunk=None)

    run.mutate(f"ais {name}", _ais.ais, kwargs, {
        "W": "weights", "b": "vector64", "c": "param", "sigma": "vector64",
        "visible": "visible", "hidden": "hidden", "n_copies": "n_copies", "betas": "betas",
        "base_b": "vector64", "base_sigma": "vector64", "n_runs": "count", "seed": "seed",
        "n_threads": "n_threads"})
    for label, value in {"zero": 0.0, "negative": -2.0}.items():
        def call(value=value):
            kw = kwargs()
            kw["base_sigma"] = np.full(N_VIS, value)
            _ais.ais(**kw)
        run.expect_refused(f"ais {name}: base_sigma {label}", call)
    run.expect_refused(f"ais {name}: progress not callable",
                       lambda: _ais.ais(**dict(kwargs(), progress=3)))
    run.expect_refused(f"ais {name}: chunk 0", lambda: _ais.ais(**dict(kwargs(), chunk=0)))

    def buffers():
        a = _arrays(dt)
        n = 3
        return dict(W=a["W"], W_hid=a["W"].copy(), c=a["c"], zero_h=np.zeros(N_HID, dt),
                    b64=a["b"].astype(np.float64), bA=np.zeros(N_VIS), s64=np.ones(N_VIS),
                    sA=np.ones(N_VIS), betas=np.linspace(0.0, 1.0, 5),
                    V=np.empty((n, N_VIS), dt), P=np.empty((n, N_HID), dt),
                    H=np.zeros((n, N_HID), dt), coef=np.ones((3, N_VIS), dt),
                    log_w=np.zeros(n), visible=0, hidden=0, n_copies=1, seed=1, purpose=2,
                    n_threads=1, progress=None, max_segment=10)

    run.mutate(f"_ais_segments {name}", _ais._ais_segments, buffers, {
        "W_hid": "param", "c": "param", "zero_h": "param", "b64": "param", "betas": "betas",
        "V": "out", "P": "out", "H": "out", "coef": "out", "log_w": "out",
        "purpose": "u32"})
    for label, value in {"0": 0, "-1": -1, "1.5": 1.5, "None": None}.items():
        run.expect_refused(f"_ais_segments {name}: max_segment {label}",
                           lambda value=value: _ais._ais_segments(**dict(buffers(),
                                                                         max_segment=value)))
    for label, change in {"zero_h not zero": dict(zero_h=np.ones(N_HID, dt)),
                          "coef rows for one thread, two threads":
                              dict(n_threads=2, coef=np.ones((3, N_VIS), dt)),
                          "P of another run count": dict(P=np.empty((4, N_HID), dt)),
                          "log_w of another run count": dict(log_w=np.zeros(2)),
                          "no runs": dict(V=np.empty((0, N_VIS), dt),
                                          P=np.empty((0, N_HID), dt),
                                          H=np.empty((0, N_HID), dt), log_w=np.zeros(0))}.items():
        run.expect_refused(f"_ais_segments {name}: {label}",
                           lambda change=change: _ais._ais_segments(**dict(buffers(), **change)))

    def p_is_h():
        kw = buffers()
        kw["P"] = kw["H"]
        _ais._ais_segments(**kw)
    run.expect_refused(f"_ais_segments {name}: P is H", p_is_h)


# ----------------------------------------------------------------- estimator families
def _fitted_models():
    from fastrbm import RBM, BernoulliRBM, GaussianRBM

    rng = np.random.default_rng(0)
    B = (rng.random((40, N_VIS)) < 0.4).astype(np.float32)
    G = rng.standard_normal((40, N_VIS))
    return {
        "RBM binary": (RBM(N_HID, n_iter=2, batch_size=10, random_state=0).fit(B), B),
        "RBM stepped float64": (RBM(N_HID, hidden="stepped", n_copies=4, dtype="float64",
                                    persistent=True, n_iter=2, batch_size=10,
                                    random_state=1).fit(B), B.astype(np.float64)),
        "GaussianRBM learn_sigma": (GaussianRBM(N_HID, learn_sigma=True, n_iter=2,
                                                batch_size=10, random_state=2).fit(G), G),
        "BernoulliRBM": (BernoulliRBM(N_HID, n_iter=2, batch_size=10, random_state=3).fit(B), B),
    }


_METHODS = {
    "transform": lambda m, X: m.transform(X),
    "partial_fit": lambda m, X: m.partial_fit(X),
    "free_energy": lambda m, X: m.free_energy(X),
    "gibbs": lambda m, X: m.gibbs(X),
    "score_samples": lambda m, X: m.score_samples(X),
    "sample": lambda m, X: m.sample(3, n_steps=2),
    "inverse_transform": lambda m, X: m.inverse_transform(np.zeros((2, N_HID), X.dtype)),
    "reconstruction_error": lambda m, X: m.reconstruction_error(X),
}


def _bad_attributes(model):
    W = model.components_
    bad = {
        "components_ with fewer columns": W[:, :3],
        "components_ with fewer rows": W[:2],
        "components_ transposed": W.T,
        "components_ 1-D": W.ravel(),
        "components_ holding NaN": np.where(np.arange(W.size).reshape(W.shape) == 3, np.nan, W),
        "components_ a string": "weights",
        "components_ None": None,
        "components_ complex": W.astype(np.complex64),
        "intercept_hidden_ too long": np.zeros(N_HID + 1, W.dtype),
        "intercept_hidden_ too short": np.zeros(N_HID - 1, W.dtype),
        "intercept_hidden_ 2-D": np.zeros((1, N_HID), W.dtype),
        "intercept_visible_ too short": np.zeros(N_VIS - 1, W.dtype),
        "intercept_visible_ holding inf": np.full(N_VIS, np.inf, W.dtype),
        "sigma_ too short": np.ones(N_VIS - 1, W.dtype),
        "n_features_in_ changed": N_VIS + 1,
        "n_features_in_ a float": float(N_VIS),
        "n_iter_ negative": -1,
        "n_iter_ a float": 1.5,
        "_seed beyond 64 bits": 2**64,
    }
    if model._is_gaussian:
        bad.update({"sigma_ with a zero": np.where(np.arange(N_VIS) == 2, 0.0, model.sigma_),
                    "sigma_ negative": -np.abs(model.sigma_),
                    "sigma_ holding NaN": np.full(N_VIS, np.nan, W.dtype)})
    return bad


def _methods(model):
    """The methods to call on ``model``: score_samples (pseudo-likelihood) exists only
    for Bernoulli visible units (AttributeError otherwise, as scikit-learn's
    ``available_if`` methods)."""
    return {k: v for k, v in _METHODS.items()
            if k != "score_samples" or model.visible == "bernoulli"}


def estimators(run: Runner) -> None:
    import copy

    for family, (model, X) in _fitted_models().items():
        methods = _methods(model)
        for method, call in methods.items():
            run.expect_accepted(f"{family}: {method} of the fitted model",
                                lambda call=call, m=copy.deepcopy(model), X=X: call(m, X))
        for label, value in _bad_attributes(model).items():
            name = label.split(" ")[0]
            for method, call in methods.items():
                m = copy.deepcopy(model)
                setattr(m, name, value)
                run.expect_refused(f"{family}: {label}, then {method}",
                                   lambda call=call, m=m, X=X: call(m, X),
                                   snapshot=lambda m=m: _model_snapshot(m))
        changes = {"n_components": N_HID + 3,
                   "dtype": "float64" if model.components_.dtype == np.float32 else "float32",
                   "hidden": "binary" if model.hidden != "binary" else "nrelu",
                   "visible": "bernoulli" if model._is_gaussian else "gaussian"}
        for setting, value in changes.items():
            if setting not in model.get_params():
                continue                # BernoulliRBM has scikit-learn's parameters only
            changed = copy.deepcopy(model).set_params(**{setting: value})
            # partial_fit too: a structural change is refused, fit starts afresh
            for method, call in _methods(changed).items():
                m = copy.deepcopy(model)
                m.set_params(**{setting: value})
                run.expect_refused(f"{family}: set_params({setting}) after fit, then {method}",
                                   lambda call=call, m=m, X=X: call(m, X),
                                   snapshot=lambda m=m: _model_snapshot(m))

        # bad data to a fitted model (a small sample of the kinds; test_validation has more)
        for label, data in {"wrong width": X[:, :-1], "NaN": np.full_like(X, np.nan),
                            "3-D": X[None], "strings": np.array([["a"] * N_VIS]),
                            "object": np.array([[object()] * N_VIS], dtype=object),
                            "empty": X[:0]}.items():
            for method in [k for k in ("transform", "partial_fit", "free_energy", "gibbs",
                                       "score_samples") if k in methods]:
                m = copy.deepcopy(model)
                run.expect_refused(f"{family}: X {label}, then {method}",
                                   lambda m=m, method=method, data=data: _METHODS[method](m, data),
                                   snapshot=lambda m=m: _model_snapshot(m))


def wide_model(run: Runner) -> None:
    """The case a user met: a 400000-feature model given a (64, 1) components_."""
    from fastrbm import RBM

    X = np.zeros((2, 400_000), np.float32)
    X[0, ::3] = 1
    model = RBM(64, n_iter=1, random_state=0).fit(X)
    model.components_ = np.zeros((64, 1), np.float32)
    run.expect_refused("400000 features: components_ (64, 1), then transform",
                       lambda: model.transform(X))
    model = RBM(64, n_iter=1, random_state=0).fit(X)
    model.intercept_hidden_ = np.zeros(3, np.float32)
    run.expect_refused("400000 features: intercept_hidden_ (3,), then partial_fit",
                       lambda: model.partial_fit(X))


def dbn_and_sbn(run: Runner) -> None:
    import copy

    from fastrbm import evaluation, sbn
    from fastrbm.dbn import DBN

    rng = np.random.default_rng(0)
    B = (rng.random((40, N_VIS)) < 0.4).astype(np.float32)
    dbn = DBN([4, 3], rbm_params=dict(n_iter=1), random_state=0).fit(B)
    for label, change in {"layer 0 components_ too narrow":
                              lambda d: setattr(d.rbms_[0], "components_",
                                                d.rbms_[0].components_[:, :2]),
                          "layer 1 intercept_hidden_ too long":
                              lambda d: setattr(d.rbms_[1], "intercept_hidden_",
                                                np.zeros(9, np.float32)),
                          "layer 1 n_features_in_ changed":
                              lambda d: setattr(d.rbms_[1], "n_features_in_", 9)}.items():
        for method, call in {"transform": lambda d: d.transform(B),
                             "sample": lambda d: d.sample(2, n_gibbs=2),
                             "reconstruct": lambda d: d.reconstruct(B),
                             "log_likelihood_bound": lambda d: d.log_likelihood_bound(
                                 B[:3], n_samples=2)}.items():
            d = copy.deepcopy(dbn)
            change(d)
            run.expect_refused(f"DBN: {label}, then {method}", lambda call=call, d=d: call(d))

    from fastrbm import RBM
    rbm = RBM(N_HID, n_iter=1, random_state=0).fit(B)
    bad = copy.deepcopy(rbm)
    bad.components_ = bad.components_[:, :3]
    for label, call in {
            "sbn.sample_hidden": lambda: sbn.sample_hidden(bad, B, 1, 2, 3),
            "sbn.sample_visible": lambda: sbn.sample_visible(bad, np.zeros((2, N_HID),
                                                                           np.float32), 1, 2, 3),
            "sbn.ancestral_sample": lambda: sbn.ancestral_sample(bad, 2, depth=3),
            "sbn.learning_rule": lambda: sbn.learning_rule(bad, B),
            "sbn.posterior_exact": lambda: sbn.posterior_exact(bad, B[:2]),
            "evaluation.ais": lambda: evaluation.ais(bad, n_runs=2,
                                                     betas=np.linspace(0, 1, 5)),
            "evaluation.log_partition_exact": lambda: evaluation.log_partition_exact(bad),
            "evaluation.pseudo_likelihood": lambda: evaluation.pseudo_likelihood(bad, B),
            "evaluation.free_energy_gap": lambda: evaluation.free_energy_gap(bad, B, B)}.items():
        run.expect_refused(f"{label} of a model with a too-narrow components_", call)
    for label, call in {
            "sbn.sample_hidden V of the wrong width": lambda: sbn.sample_hidden(rbm, B[:, :3],
                                                                                1, 2, 3),
            "sbn.sample_hidden seed -1": lambda: sbn.sample_hidden(rbm, B, -1, 2, 3),
            "sbn.sample_visible stream 2**32": lambda: sbn.sample_visible(
                rbm, np.zeros((2, N_HID), np.float32), 1, 2**32, 3),
            "evaluation.ais betas not ending at 1": lambda: evaluation.ais(
                rbm, n_runs=2, betas=np.linspace(0, 0.5, 5)),
            "evaluation.ais n_runs 0": lambda: evaluation.ais(rbm, n_runs=0),
            "evaluation.log_likelihood X of the wrong width": lambda: evaluation.log_likelihood(
                rbm, B[:, :3], log_z=1.0)}.items():
        run.expect_refused(label, call)


FAMILIES = {
    "kernels float32": lambda run: kernels(run, np.float32),
    "kernels float64": lambda run: kernels(run, np.float64),
    "epochs float32": lambda run: epochs(run, np.float32),
    "epochs float64": lambda run: epochs(run, np.float64),
    "ais float32": lambda run: ais(run, np.float32),
    "ais float64": lambda run: ais(run, np.float64),
    "small entry points": small_entry_points,
    "estimators": estimators,
    "wide model": wide_model,
    "dbn and sbn": dbn_and_sbn,
}


def main(family: str) -> None:
    import warnings

    warnings.simplefilter("ignore")     # capped thread counts warn; not what is tested
    run = Runner()
    FAMILIES[family](run)
    for record in run.records:
        sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
