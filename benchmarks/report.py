"""Markdown tables from a benchmark result dict (printed by run.py, quoted in benchmarks/README.md)."""
from __future__ import annotations

TIMED = ("floor_step", "kernel_step", "reference_step", "sklearn_step", "torch_step",
         "kernel_epoch", "fit_epoch", "reference_epoch", "sklearn_epoch", "torch_epoch")
COMPARED = ("reference", "sklearn", "torch")


def fmt_time(seconds) -> str:
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_span(r) -> str:
    """``median [min-max]`` of a timing dict."""
    if not r:
        return "—"
    return f"{fmt_time(r['median'])} [{fmt_time(r['min'])}–{fmt_time(r['max'])}]"


def _x(v, digits=2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def timings_table(result) -> str:
    """Median [min-max] per minibatch of every timed subject."""
    header = ["config", "dtype", "GEMM floor", "fastrbm step", "reference step",
              "sklearn step", "torch step", "fastrbm epoch/batch", "reference epoch/batch",
              "sklearn epoch/batch", "torch epoch/batch"]
    rows = []
    for cfg in result["configs"]:
        for dt, r in cfg["results"].items():
            pb = r["per_batch"]
            t = r["timings"]
            rows.append([f"{cfg['name']} ({cfg['describe']})", dt, fmt_span(t["floor_step"]),
                         fmt_span(t["kernel_step"]), fmt_span(t["reference_step"]),
                         fmt_span(t["sklearn_step"]), fmt_span(t["torch_step"]),
                         fmt_span(pb["fit_epoch"]), fmt_span(pb["reference_epoch"]),
                         fmt_span(pb["sklearn_epoch"]), fmt_span(pb["torch_epoch"])])
    return _table(header, rows)


def _busy(quiet) -> str:
    """Share of the cores other processes used just before a block was timed."""
    if not quiet or quiet.get("busy") is None:
        return "—"
    return f"{100 * quiet['busy']:.0f}%"


def ratios_table(result) -> str:
    """Ratios against fastrbm (same run) on each config's basis."""
    header = ["config", "dtype", "basis", "fastrbm / floor", "x reference", "x sklearn",
              "x torch", "epoch / step", "others' CPU"]
    rows = []
    for cfg in result["configs"]:
        for dt, r in cfg["results"].items():
            basis = cfg["basis"]
            ra = r["ratios"][basis]
            rows.append([cfg["name"], dt, basis, _x(ra.get("floor")), _x(ra.get("reference")),
                         _x(ra.get("sklearn")), _x(ra.get("torch")),
                         _x(r["ratios"]["epoch_overhead"]), _busy(r.get("others_cpu_before"))])
    return _table(header, rows)


def units_table(units) -> str:
    header = ["unit", "hidden sample, 1 thread", "elementwise part", "time / NReLU",
              "hidden sample, all threads",
              "|mean − softplus| avg / max", "|mean − NReLU mean| avg / max",
              "|var − sigmoid| avg / max", "|var − NReLU var| avg / max",
              "kernel samples: max z (mean)"]
    rows = []
    for u in units["units"]:
        g = lambda k: f"{u[k]['mean_abs']:.3g} / {u[k]['max_abs']:.3g}"  # noqa: E731
        rows.append([u["unit"], fmt_span(u["sample"]), fmt_time(u["elementwise_seconds"]),
                     _x(u["time_vs_nrelu"]), fmt_span(u.get("sample_all_threads")),
                     g("mean_vs_softplus"), g("mean_vs_nrelu"),
                     g("var_vs_sigmoid"), g("var_vs_nrelu"),
                     _x(u["kernel_samples_max_z_mean"], 1)])
    s = units["sizes"]
    lo, hi, step = units["x_range"]
    caption = (f"Hidden-layer sample {s['n_visible']}x{s['n_hidden']}, batch "
               f"{s['batch_size']}, {units['dtype']} (GEMM alone, 1 thread, "
               f"{fmt_time(units['gemm_only']['median'])}); moments over x in "
               f"[{lo:g}, {hi:g}] step {step:g}.")
    return caption + "\n\n" + _table(header, rows)


def other_table(result) -> str:
    """AIS, thread scaling and memory in one small table each."""
    out = []
    a = result.get("ais")
    if a is not None:
        if a["available"]:
            what = (f"{a['sizes']['n_visible']}x{a['sizes']['n_hidden']}, {a['n_runs']} runs, "
                    f"{a['n_intermediate']} distributions, {a['dtype']}")
            out.append(_table(["AIS", "threads", "kernel", "GEMM floor", "kernel / floor"], [
                [what, a["n_threads"], fmt_span(a["kernel"]), fmt_span(a["floor"]),
                 f"{a['ratio_floor']:.2f}"],
                [what, 1, fmt_span(a["kernel_1thread"]), fmt_span(a["floor_1thread"]),
                 f"{a['ratio_floor_1thread']:.2f}"]]))
        else:
            out.append(f"AIS: {a['reason']}")
    th = result.get("threads") or []
    if th:
        out.append(_table(["threads", "kernel 1 thread", f"kernel all", "kernel speed-up",
                           "floor speed-up"],
                          [[f"{t['config']} {t['dtype']} (1 vs {t['n_threads']})",
                            fmt_span(t["kernel_1"]), fmt_span(t["kernel_all"]),
                            f"{t['kernel_speedup']:.2f}",
                            f"{t['floor_speedup']:.2f}"] for t in th]))
    m = result.get("memory")
    if m is not None:
        mb = 2.0 ** 20
        g = m["rss_growth_after_epoch1"]
        out.append(_table(
            ["memory", "data", "parameters", "peak NumPy allocations in fit",
             "peak / params", "traced growth epochs 1→last", "RSS growth epochs 1→last"],
            [[f"{m['config']} {m['dtype']}, {m['n_epochs']} epochs", f"{m['data_bytes'] / mb:.2f} MiB",
              f"{m['param_bytes'] / mb:.2f} MiB", f"{m['peak_traced_bytes'] / mb:.2f} MiB",
              f"{m['peak_over_params']:.2f}",
              f"{m['traced_growth_after_epoch1'] / 1024:.1f} KiB",
              "—" if g is None else f"{g / 1024:.0f} KiB"]]))
    return "\n\n".join(out)


def render(result) -> str:
    """Everything, in the order run.py prints it."""
    parts = ["### Time per minibatch: median [min–max] over repeats",
             timings_table(result),
             "### Ratios (same run; fastrbm / floor, then how many times faster fastrbm is)",
             ratios_table(result)]
    if result.get("units"):
        parts += ["### Stepped sigmoid vs NReLU", units_table(result["units"])]
    other = other_table(result)
    if other:
        parts += ["### AIS, threads, memory", other]
    return "\n\n".join(parts)
