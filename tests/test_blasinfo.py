"""Detection of OpenBLAS's small-matrix kernels (fastrbm._blas_runtime)."""
import pytest

from fastrbm import _blas_runtime


@pytest.fixture
def fresh_detection():
    _blas_runtime.has_small_gemm_kernels.cache_clear()
    yield
    _blas_runtime.has_small_gemm_kernels.cache_clear()


@pytest.mark.parametrize("value,expected", [("0", False), ("1", True)])
def test_environment_overrides_detection(monkeypatch, fresh_detection, value, expected):
    monkeypatch.setenv("FASTRBM_SMALL_GEMM", value)
    assert _blas_runtime.has_small_gemm_kernels() is expected


@pytest.mark.parametrize("info,expected", [
    ({"internal_api": "openblas", "architecture": "SkylakeX", "version": "0.3.30"}, True),
    ({"internal_api": "openblas", "architecture": "SapphireRapids", "version": "0.3.21"},
     True),
    ({"internal_api": "openblas", "architecture": "SkylakeX", "version": "0.3.13"}, False),
    ({"internal_api": "openblas", "architecture": "Haswell", "version": "0.3.30"}, False),
    ({"internal_api": "openblas", "architecture": "Zen", "version": "0.3.30"}, False),
    ({"internal_api": "mkl", "architecture": None, "version": "2024.1"}, False),
    ({}, False),
])
def test_detection_reads_core_and_version(monkeypatch, fresh_detection, info, expected):
    monkeypatch.delenv("FASTRBM_SMALL_GEMM", raising=False)
    monkeypatch.setattr(_blas_runtime, "kernels_blas_info", lambda: info)
    assert _blas_runtime.has_small_gemm_kernels() is expected


def test_kernels_blas_is_found():
    """scipy's BLAS is visible to threadpoolctl; the record names its library."""
    info = _blas_runtime.kernels_blas_info()
    assert info.get("user_api") == "blas" and info.get("filepath")


def test_version_parsing():
    assert _blas_runtime._version_tuple("0.3.31.188.0") == (0, 3, 31)
    assert _blas_runtime._version_tuple("0.3.17.dev") == (0, 3, 17)
    assert _blas_runtime._version_tuple(None) == ()
