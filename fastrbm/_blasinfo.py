"""What the BLAS behind ``scipy.linalg.cython_blas`` (the kernels' BLAS) can do.

OpenBLAS builds for AVX-512 cores (its SkylakeX, Cooperlake and SapphireRapids kernels,
since 0.3.17) multiply small products -- ``m * n * k`` up to 10^6 -- with kernels that
read the operands in place instead of packing them first. A training step on a small
minibatch multiplies a few rows by all of W, and packing W then costs more than the
multiplication itself: cut into calls under that bound, the products of a 784x500 step
with 10 rows run 2-4 times faster (see ``_kernels._chunk_units``). Elsewhere the same
cut only adds calls, so the kernels cut only when this module says the BLAS has them.

``FASTRBM_SMALL_GEMM=0`` / ``=1`` in the environment overrides the detection.
"""
from __future__ import annotations

import functools
import os

#: OpenBLAS core names whose sgemm/dgemm have the small-matrix kernels.
SMALL_KERNEL_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})
SMALL_KERNEL_SINCE = (0, 3, 17)


def _version_tuple(version) -> tuple:
    """``"0.3.31.188.0"`` -> ``(0, 3, 31)``; unknown -> ``()`` (older than anything)."""
    if not version:
        return ()
    parts = []
    for piece in str(version).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def kernels_blas_info() -> dict:
    """threadpoolctl's record of the BLAS the kernels call, or ``{}`` if unknown.

    scipy's wheels bundle their own OpenBLAS (under ``scipy.libs``); a scipy built
    against a shared BLAS uses the single OpenBLAS loaded in the process.
    """
    from ._threads import controller

    import scipy.linalg.cython_blas  # noqa: F401  (loads the library if not yet loaded)

    libs = [lib for lib in controller().info() if lib.get("user_api") == "blas"]
    vendored = [lib for lib in libs if "scipy" in os.path.basename(
        os.path.dirname(lib.get("filepath") or ""))]
    if len(vendored) == 1:
        return vendored[0]
    return libs[0] if len(libs) == 1 else {}


@functools.lru_cache(maxsize=None)
def has_small_gemm_kernels() -> bool:
    """True when the kernels' BLAS multiplies small products without packing them."""
    override = os.environ.get("FASTRBM_SMALL_GEMM", "").strip()
    if override in ("0", "1"):
        return override == "1"
    try:
        info = kernels_blas_info()
    except Exception:  # threadpoolctl cannot inspect this process: assume the plain path
        return False
    return (info.get("internal_api") == "openblas"
            and str(info.get("architecture") or "").lower() in SMALL_KERNEL_CORES
            and _version_tuple(info.get("version")) >= SMALL_KERNEL_SINCE)
