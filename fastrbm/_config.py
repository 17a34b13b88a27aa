"""``fastrbm.show_config()``: what this installation runs on."""
from __future__ import annotations

import platform
import sys


def config_info(n_threads=None) -> dict:
    """Version, OpenMP, thread counts and the BLAS libraries threadpoolctl sees."""
    import numpy
    import scipy

    from . import __version__, _kernels
    from ._blasinfo import has_small_gemm_kernels
    from ._threads import controller, resolve_n_threads

    libs = [
        {k: info.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                  "num_threads", "threading_layer", "architecture", "filepath")}
        for info in controller().info()
    ]
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


def show_config(n_threads=None) -> None:
    """Print the version, OpenMP on/off, thread counts and BLAS libraries in use."""
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
        print(f"{lib['user_api']}: {lib['internal_api']} {lib['version']} "
              f"({lib['architecture']}, {lib['num_threads']} threads, "
              f"{lib['threading_layer']}) {lib['filepath']}")
