"""``fastrbm.show_config()``: what this installation runs on."""
from __future__ import annotations

import platform
import sys
from typing import Optional

#: The threadpoolctl record fields reported, in this order.
_POOL_FIELDS = ("user_api", "internal_api", "prefix", "version", "num_threads",
                "threading_layer", "architecture", "filepath")


def config_info(n_threads: Optional[int] = None) -> dict:
    """Version, OpenMP, thread counts and the BLAS libraries threadpoolctl sees.

    Parameters
    ----------
    n_threads : int, optional
        The ``n_threads`` setting whose resolved thread count is reported.

    Returns
    -------
    dict
        Keys ``fastrbm``, ``python``, ``platform``, ``numpy``, ``scipy``, ``openmp``
        (bool), ``openmp_max_threads``, ``n_threads``, ``small_gemm`` (bool) and
        ``threadpools``: one dict per library threadpoolctl finds, with the keys of
        ``_POOL_FIELDS`` whose values it knows (unknown ones are left out).
    """
    import numpy
    import scipy

    from . import __version__, _kernels
    from ._blas_runtime import has_small_gemm_kernels
    from ._blas_runtime import controller, resolve_n_threads

    libs = [{key: info[key] for key in _POOL_FIELDS if _known(info.get(key))}
            for info in controller().info()]
    return {
        "fastrbm": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "openmp": _kernels.openmp_enabled(),
        "openmp_max_threads": _kernels.openmp_max_threads(),
        "n_threads": resolve_n_threads(n_threads),
        "small_gemm": has_small_gemm_kernels(),
        "threadpools": libs,
    }


def _known(value) -> bool:
    # threadpoolctl gives None (and for some layers "unknown") where it cannot tell
    return value is not None and value != "" and value != "unknown"


def describe_pool(lib: dict) -> str:
    """One line for a threadpoolctl library record, naming only the fields it has.

    Parameters
    ----------
    lib : dict
        A record as in ``config_info()["threadpools"]``; missing keys are unknown.

    Returns
    -------
    str
        ``"<user_api>: <library> <version> (<architecture>, <n> threads, <layer>)
        <filepath>"`` with every unknown part (and an empty parenthesis) left out.
    """
    lib = {key: value for key, value in lib.items() if _known(value)}
    # "openmp: openmp" says nothing: name the library by its prefix (libgomp) then
    name = lib.get("internal_api")
    if name is None or name == lib.get("user_api"):
        name = lib.get("prefix", name)
    words = [str(w) for w in (name, lib.get("version")) if w is not None]
    details = [str(lib["architecture"])] if "architecture" in lib else []
    if "num_threads" in lib:
        n = lib["num_threads"]
        details.append(f"{n} thread{'' if n == 1 else 's'}")
    if "threading_layer" in lib:
        details.append(str(lib["threading_layer"]))
    if details:
        words.append(f"({', '.join(details)})")
    if "filepath" in lib:
        words.append(str(lib["filepath"]))
    head = f"{lib['user_api']}:" if "user_api" in lib else "library:"
    return " ".join([head] + words)


def show_config(n_threads: Optional[int] = None) -> None:
    """Print the version, OpenMP on/off, thread counts and BLAS libraries in use.

    Parameters
    ----------
    n_threads : int, optional
        Report the thread count this ``n_threads`` setting resolves to.
    """
    info = config_info(n_threads)
    print(f"fastrbm {info['fastrbm']}  (python {info['python']}, numpy {info['numpy']}, "
          f"scipy {info['scipy']})")
    print(f"platform: {info['platform']}")
    print(f"OpenMP: {'on' if info['openmp'] else 'OFF (serial build)'}; "
          f"max threads {info['openmp_max_threads']}; n_threads in use {info['n_threads']}")
    print("small minibatches: products cut for BLAS's unpacked small-matrix kernels"
          if info["small_gemm"] else
          "small minibatches: BLAS has no small-matrix kernels; products not cut")
    for lib in info["threadpools"]:
        print(describe_pool(lib))
