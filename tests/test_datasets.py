"""The readers (round trips of every format; IDX headers checked, gzipped or not; a
clear ValueError naming the file for what cannot be read), the shipped digits, and the
scalers' fitted statistics."""
import gzip
import os

import numpy as np
import pytest

from fastrbm import datasets
from fastrbm.scaling import Binarizer, Standardizer, UnitScaler

RNG = np.random.default_rng(0)
X = RNG.random((7, 5))


def _idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(datasets.IDX_DTYPES[code]).tobytes()


def _write(path, data: bytes, gz: bool):
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(data)
    return path


def test_npy_round_trip_and_images_flattened(tmp_path):
    np.save(tmp_path / "x.npy", X)
    assert np.array_equal(datasets.load(tmp_path / "x.npy"), X)
    cube = RNG.random((3, 4, 2))
    np.save(tmp_path / "c.npy", cube)
    assert np.array_equal(datasets.load(tmp_path / "c.npy"), cube.reshape(3, 8))


def test_npz_named_array(tmp_path):
    np.savez(tmp_path / "one.npz", data=X)
    assert np.array_equal(datasets.load(tmp_path / "one.npz"), X)
    np.savez(tmp_path / "two.npz", a=X, b=X[:2])
    assert np.array_equal(datasets.load(tmp_path / "two.npz", key="b"), X[:2])
    with pytest.raises(ValueError, match=r"two.npz: holds arrays \['a', 'b'\]; say which"):
        datasets.load(tmp_path / "two.npz")
    with pytest.raises(ValueError, match="two.npz: has no array 'c'"):
        datasets.load(tmp_path / "two.npz", key="c")


@pytest.mark.parametrize("suffix, delimiter", [(".csv", ","), (".tsv", "\t"), (".txt", " ")])
@pytest.mark.parametrize("header", [False, True])
def test_text_round_trip_with_and_without_header(tmp_path, suffix, delimiter, header):
    path = tmp_path / f"x{suffix}"
    np.savetxt(path, X, delimiter=delimiter, fmt="%.17g",
               header=delimiter.join(f"f{i}" for i in range(5)) if header else "",
               comments="")
    assert np.array_equal(datasets.load(path), X)


def test_gzipped_csv(tmp_path):
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in X).encode()
    assert np.array_equal(datasets.load(_write(tmp_path / "x.csv.gz", text, True)), X)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("code", sorted(datasets.IDX_DTYPES))
def test_idx_round_trip(tmp_path, gz, code):
    images = RNG.integers(0, 100, size=(6, 3, 4))
    path = _write(tmp_path / ("x-ubyte" + (".gz" if gz else "")), _idx_bytes(images, code), gz)
    got = datasets.load(path)
    assert got.shape == (6, 12) and np.array_equal(got, images.reshape(6, 12))
    assert got.dtype == np.dtype(datasets.IDX_DTYPES[code]).newbyteorder("=")


def test_idx_labels_are_one_column(tmp_path):
    labels = np.arange(10)
    got = datasets.load(_write(tmp_path / "l.idx1-ubyte", _idx_bytes(labels, 0x08), False))
    assert np.array_equal(got, labels[:, None])


IDX_DAMAGE = [
    (lambda b: b"\x01" + b[1:], "magic number"),
    (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX type code 0x07"),
    (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
    (lambda b: b[:6], "header cut short"),
    (lambda b: b[:-1], "but the file has 51"),
    (lambda b: b + b"\x00", "but the file has 53"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("damage, says", IDX_DAMAGE, ids=[d[1] for d in IDX_DAMAGE])
def test_idx_header_checks(tmp_path, gz, damage, says):
    good = _idx_bytes(np.zeros((2, 3, 6)), 0x08)       # 4 + 12 header + 36 data = 52
    path = _write(tmp_path / "bad-ubyte", damage(good), gz)
    with pytest.raises(ValueError, match=says) as exc:
        datasets.load(path)
    assert str(exc.value).startswith(str(path))


BAD_FILES = [
    ("x.npy", b"not numpy", "not a readable .npy file"),
    ("x.npz", b"not a zip", "not a readable .npz file"),
    ("x.csv", b"a,b\n1,2\n3,x\n", "line 3 is not all numbers"),
    ("y.csv", b"1,2\n3\n", "line 2 has 1 fields"),
    ("z.csv", b"", "is empty"),
    ("h.csv", b"a,b\nc,d\n", "line 2 is not all numbers"),
    ("x.bin", b"\x00", "unknown data format"),
]


@pytest.mark.parametrize("name, content, says", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_value_errors_naming_the_file(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=says) as exc:
        datasets.load(path)
    assert str(exc.value).startswith(str(path))


def test_object_and_empty_arrays_are_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="o.npy: not a readable .npy file"):
        datasets.load(tmp_path / "o.npy")
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    with pytest.raises(ValueError, match="holds no samples"):
        datasets.load(tmp_path / "e.npy")
    with pytest.raises(ValueError, match="no such file"):
        datasets.load(tmp_path / "missing.npy")


def test_image_folder_resized_and_in_unit_range(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pixels = RNG.integers(0, 256, size=(3, 4, 6)).astype(np.uint8)
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    assert np.array_equal(datasets.load(tmp_path), pixels.reshape(3, 24) / 255.0)
    small = datasets.load(tmp_path, image_shape="2x3")
    assert small.shape == (3, 6) and small.min() >= 0 and small.max() <= 1
    (tmp_path / "broken.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        datasets.load(tmp_path)


def test_load_digits_is_the_uci_set():
    X, y = datasets.load_digits(return_labels=True)
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 1 and set(np.unique(y)) == set(range(10))
    raw = datasets.load_digits(scale=False)
    assert raw.dtype == np.uint8 and np.array_equal(raw / 16.0, X)
    sklearn = pytest.importorskip("sklearn.datasets")
    ref = sklearn.load_digits()
    assert np.array_equal(raw, ref.data) and np.array_equal(y, ref.target)
    here = os.path.dirname(datasets.__file__)
    assert "CC BY 4.0" in open(os.path.join(here, "data", "DIGITS_LICENSE.txt")).read()


def test_image_shape_parsing():
    assert datasets.check_image_shape("28x28") == (28, 28)
    assert datasets.check_image_shape((8, 4)) == (8, 4)
    for bad in ("28", "0x3", "axb", (1, 2, 3), None):
        with pytest.raises(ValueError, match="image_shape must be two positive ints"):
            datasets.check_image_shape(bad)


def test_unit_scaler_keeps_the_training_range():
    train = np.array([[0.0, 10.0], [5.0, 20.0]])
    s = UnitScaler().fit(train)
    assert np.array_equal(s.transform(train), train / 20.0)
    assert np.array_equal(s.transform([[40.0, -1.0]]), [[1.0, 0.0]])     # clipped
    per = UnitScaler(per_feature=True).fit(train)
    assert np.array_equal(per.transform(train), [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="X has 3 features; this UnitScaler was fitted on 2"):
        s.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        UnitScaler().transform(train)


def test_binarizer_threshold_and_seeded_stochastic():
    train = np.linspace(0, 255, 12).reshape(3, 4)
    assert np.array_equal(Binarizer(0.5).fit_transform(train), (train / 255 > 0.5) * 1.0)
    a = Binarizer(stochastic=True, random_state=3).fit(train)
    b = Binarizer(stochastic=True, random_state=3).fit(train)
    big = np.tile(train, (500, 1))
    A = a.transform(big)
    assert np.array_equal(A, b.transform(big)) and set(np.unique(A)) == {0.0, 1.0}
    # each column's mean is its probability, within 5 sd of 1500 draws
    p = big[:, :].reshape(-1, 3, 4).mean(0) / 255
    got = A.reshape(-1, 3, 4).mean(0)
    assert np.all(np.abs(got - p) <= 5 * np.sqrt(p * (1 - p) / 500) + 1e-12)
    with pytest.raises(ValueError, match="threshold must be a number in"):
        Binarizer(threshold=2)


def test_standardizer_and_its_inverse():
    train = RNG.normal(3.0, 2.0, size=(50, 3))
    train[:, 2] = 7.0                                   # a constant feature
    s = Standardizer().fit(train)
    Z = s.transform(train)
    assert np.allclose(Z[:, :2].mean(0), 0) and np.allclose(Z[:, :2].std(0), 1)
    assert np.array_equal(Z[:, 2], np.zeros(50))
    assert np.allclose(s.inverse_transform(Z), train)
    new = train + 1.0
    assert np.allclose(s.transform(new), Z + 1.0 / s.scale_)     # the training statistics
    with pytest.raises(ValueError, match="NaN or infinite"):
        s.transform(np.full((1, 3), np.nan))
