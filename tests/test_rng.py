"""Philox4x32-10 and the word -> uniform / normal mappings, kernel and reference."""
from fractions import Fraction
import math

import numpy as np
import pytest
from scipy import stats

from fastrbm import _kernels, reference

# Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 R=10):
# (counter, key, output)
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers_kernel(counter, key, expected):
    assert _kernels.philox_block(*counter, *key) == expected


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers_reference(counter, key, expected):
    out = reference.philox4x32_10(np.array([counter], dtype=np.uint32), key)
    assert out.dtype == np.uint32
    assert tuple(int(w) for w in out[0]) == expected


def test_reference_vectorised_blocks_match_kernel():
    # Many random counters/keys at once: the vectorised twin equals the C block function.
    rng = np.random.default_rng(1)
    ctr = rng.integers(0, 2**32, (64, 4), dtype=np.uint64).astype(np.uint32)
    key = (int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32)))
    ref = reference.philox4x32_10(ctr, key)
    for row, out in zip(ctr, ref):
        assert _kernels.philox_block(*(int(x) for x in row), *key) == tuple(int(w) for w in out)


def test_random_words_counter_layout():
    # word i = philox((i>>2 low, i>>2 high, step, stream), (seed low, seed high))[i & 3]
    seed, stream, step = (7 << 32) | 12345, 9, 4
    words = reference.random_words(seed, stream, step, 10)
    for i, w in enumerate(words):
        blk = _kernels.philox_block(i >> 2, 0, step, stream, 12345, 7)
        assert int(w) == blk[i & 3]


def test_words_depend_on_every_coordinate():
    base = reference.random_words(3, 1, 2, 64)
    for args in [((1 << 32) | 3, 1, 2), (4, 1, 2), (3, 2, 2), (3, 1, 3)]:
        other = reference.random_words(*args, 64)
        assert np.count_nonzero(other == base) <= 1


def _exact_f32(w):
    return Fraction(2 * (w >> 9) + 1, 2**24)


def _exact_f64(w):
    return Fraction(2 * w + 1, 2**33)


@pytest.mark.parametrize("dtype,exact", [(np.float32, _exact_f32), (np.float64, _exact_f64)])
def test_uniform_bit_mapping_and_open_interval(dtype, exact):
    words = np.array([0, 1, 511, 512, 2**31, 2**32 - 512, 2**32 - 1, 0x9E3779B9],
                     dtype=np.uint32)
    u = reference.words_to_uniform(words, dtype)
    assert u.dtype == dtype
    for w, x in zip(words, u):
        assert Fraction(float(x)) == exact(int(w))      # the mapping is exact, no rounding
    assert np.all(u > 0) and np.all(u < 1)
    if dtype == np.float32:
        assert u[0] == np.float32(2.0**-24) and u[-2] == np.float32(1 - 2.0**-24)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_uniforms_follow_documented_mapping(dtype):
    """Pin the kernel's uniform u_j between two probabilities a hair either side of it.

    With W = 0 the hidden input is exactly c_j, and sample_j = [u_j < sigmoid(c_j)].
    Placing sigmoid(c_j) at u_j +- delta (delta below the spacing of the uniforms, above
    sigmoid's rounding) makes the samples reveal every u_j: a wrong bit mapping, offset
    or element index changes them.
    """
    n, seed, stream, step = 4096, 2024, 5, 11
    dt = np.dtype(dtype)
    u = reference.uniforms(seed, stream, step, (1, n), np.float64)[0]
    if dt == np.float32:
        # float32 uniforms are (k + 0.5) 2^-23; stay where sigmoid's float32 rounding
        # is far below the margin
        u = reference.uniforms(seed, stream, step, (1, n), np.float32)[0].astype(np.float64)
        delta, keep = 2.0**-26, u < 1 / 16
    else:
        delta, keep = 2.0**-35, (u > 1e-3) & (u < 1 - 1e-3)
    W = np.zeros((n, 3), dtype=dt)
    V = np.zeros((1, 3), dtype=dt)
    for sign, expect in [(+1, 1), (-1, 0)]:
        p = u + sign * delta
        c = np.log(p / (1 - p)).astype(dt)
        out = np.empty((1, n), dtype=dt)
        _kernels.hidden_conditional(V, W, c, None, 0, 1, seed, stream, step, None, out)
        assert keep.sum() > 200
        assert np.all(out[0, keep] == expect)


def test_fill_normals_equals_reference_and_box_muller():
    seed, stream, step = 99, 3, 17
    for n in (1, 7, 1000):
        ref = reference.normals(seed, stream, step, (n,))
        ker = _kernels.fill_normals(np.empty(n, dtype=np.float64), seed, stream, step)
        # libm vs NumPy's log/sin/cos may differ in the last bit
        np.testing.assert_allclose(ker, ref, rtol=1e-13, atol=1e-13)
        k32 = _kernels.fill_normals(np.empty(n, dtype=np.float32), seed, stream, step)
        np.testing.assert_allclose(k32, ref.astype(np.float32), rtol=1e-6, atol=1e-6)
    # the documented transform, written out element by element
    w = reference.random_words(seed, stream, step, 8)
    ref = reference.normals(seed, stream, step, (8,))
    for i in range(8):
        u1 = (int(w[2 * (i // 2)]) + 0.5) * 2.0**-32
        u2 = (int(w[2 * (i // 2) + 1]) + 0.5) * 2.0**-32
        r, t = math.sqrt(-2 * math.log(u1)), 2 * math.pi * u2
        assert ref[i] == pytest.approx(r * math.sin(t) if i % 2 else r * math.cos(t), rel=1e-13,
                                       abs=1e-13)


def test_normals_shape_and_index_independent_of_shape():
    a = reference.normals(5, 1, 2, (3, 5))
    b = reference.normals(5, 1, 2, (15,))
    np.testing.assert_array_equal(a.reshape(-1), b)
    out = _kernels.fill_normals(np.empty((3, 5)), 5, 1, 2)
    np.testing.assert_allclose(out, a, rtol=1e-13, atol=1e-13)


N_DIST = 400_000


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_distribution(dtype):
    u = reference.uniforms(31337, 2, 0, (N_DIST,), dtype).astype(np.float64)
    se_mean = math.sqrt(1 / 12 / N_DIST)
    se_var = math.sqrt(1 / 180 / N_DIST)          # Var((U - 1/2)^2) = 1/80 - 1/144
    assert abs(u.mean() - 0.5) < 5 * se_mean
    assert abs(u.var() - 1 / 12) < 5 * se_var
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # successive words are not correlated (lag-1 and lag-4, the block boundary)
    for lag in (1, 4):
        r = np.corrcoef(u[:-lag], u[lag:])[0, 1]
        assert abs(r) < 5 / math.sqrt(N_DIST)


def test_normal_distribution():
    z = _kernels.fill_normals(np.empty(N_DIST), 31337, 4, 0)
    assert abs(z.mean()) < 5 / math.sqrt(N_DIST)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / N_DIST)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # the two members of a Box-Muller pair are independent
    r = np.corrcoef(z[0::2], z[1::2])[0, 1]
    assert abs(r) < 5 / math.sqrt(N_DIST / 2)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / N_DIST)


def test_distribution_checks_have_power():
    # The checks above reject a slightly wrong distribution at this sample size.
    z = _kernels.fill_normals(np.empty(N_DIST), 31337, 4, 0)
    assert abs((1.02 * z).var() - 1) > 5 * math.sqrt(2 / N_DIST)
    assert stats.kstest(z + 0.01, "norm").pvalue < 1e-4
    u = reference.uniforms(31337, 2, 0, (N_DIST,), np.float64)
    assert stats.kstest(u ** 1.02, "uniform").pvalue < 1e-4
