"""The pictures: files of the expected pixel size whose tiles equal what they show
(read back with matplotlib), every format, and the layout arithmetic."""
import numpy as np
import pytest

from fastrbm import RBM, DBN
from fastrbm import evaluation as ev
from fastrbm.datasets import load_digits

mpimg = pytest.importorskip("matplotlib.image", reason="the plot extra is not installed")
from fastrbm import plot  # noqa: E402

X = load_digits()[:300]


@pytest.fixture(scope="module")
def rbm():
    return RBM(12, n_iter=2, random_state=0, batch_size=20).fit(X)


def _grey(path):
    """The PNG as 0..255 grey levels, checking the three channels agree."""
    rgba = mpimg.imread(path)
    assert rgba.dtype == np.float32 and rgba.shape[2] in (3, 4)
    assert np.array_equal(rgba[..., 0], rgba[..., 1]) and np.array_equal(rgba[..., 0], rgba[..., 2])
    return np.round(rgba[..., 0] * 255).astype(int)


def _tile(picture, i, shape, n_cols, zoom, pad=1):
    top, left = plot.tile_box(i, shape, n_cols, zoom, pad)
    block = picture[top:top + shape[0] * zoom, left:left + shape[1] * zoom]
    # every zoom x zoom block is one image pixel
    assert (block == np.repeat(np.repeat(block[::zoom, ::zoom], zoom, 0), zoom, 1)).all()
    return block[::zoom, ::zoom]


def _expected(image, lo=None, hi=None):
    lo = image.min() if lo is None else lo
    hi = image.max() if hi is None else hi
    return np.round(255 * (image - lo) / (hi - lo)).astype(int)


def test_filters_png_size_and_tiles_equal_the_filters(tmp_path, rbm):
    path = tmp_path / "f.png"
    fig = plot.filters(rbm, (8, 8), path, zoom=3, n_cols=5)
    assert fig.get_size_inches() * fig.dpi == pytest.approx([5 * 25 + 1, 3 * 25 + 1])
    picture = _grey(path)
    assert picture.shape == (3 * (8 * 3 + 1) + 1, 5 * (8 * 3 + 1) + 1)
    W = rbm.components_.astype(np.float64)
    for i in range(12):
        assert np.array_equal(_tile(picture, i, (8, 8), 5, 3), _expected(W[i].reshape(8, 8)))
    # padding and the unused grid cells are white
    assert (picture[0] == 255).all() and (picture[:, 0] == 255).all()
    top, left = plot.tile_box(12, (8, 8), 5, 3)
    assert (picture[top:top + 24, left:left + 24] == 255).all()


def test_default_layout_and_dbn_first_layer(tmp_path):
    dbn = DBN([9, 4], rbm_params=dict(n_iter=1), random_state=0).fit(X)
    path = tmp_path / "d.png"
    plot.filters(dbn, "8x8", path)
    zoom = plot.default_zoom((8, 8))
    assert zoom == 3
    picture = _grey(path)
    assert picture.shape == (3 * 25 + 1, 3 * 25 + 1)
    W = dbn.rbms_[0].components_.astype(np.float64)
    for i in range(9):
        assert np.array_equal(_tile(picture, i, (8, 8), 3, zoom), _expected(W[i].reshape(8, 8)))


def test_samples_show_values_as_they_are_and_global_scale(tmp_path):
    images = np.random.default_rng(1).random((6, 12))
    path = tmp_path / "s.png"
    plot.samples(images, (3, 4), path, n_cols=3, zoom=2)
    picture = _grey(path)
    assert picture.shape == (2 * 7 + 1, 3 * 9 + 1)
    for i in range(6):
        assert np.array_equal(_tile(picture, i, (3, 4), 3, 2), _expected(images[i].reshape(3, 4), 0, 1))
    plot.samples(images * 10 - 3, (3, 4), path, n_cols=3, zoom=2, scale="global")
    picture, Z = _grey(path), images * 10 - 3
    for i in range(6):
        assert np.array_equal(_tile(picture, i, (3, 4), 3, 2),
                              _expected(Z[i].reshape(3, 4), Z.min(), Z.max()))


def test_reconstructions_alternate_rows_of_originals_and_reconstructions(tmp_path, rbm):
    path = tmp_path / "r.png"
    plot.reconstructions(rbm, X, (8, 8), path, n=6, n_cols=4, zoom=1)
    picture = _grey(path)
    assert picture.shape == (4 * 9 + 1, 4 * 9 + 1)
    R = rbm.inverse_transform(rbm.transform(X[:6])).astype(np.float64)
    for i in range(6):
        row, col = divmod(i, 4)
        original = _tile(picture, 8 * row + col, (8, 8), 4, 1)
        recon = _tile(picture, 8 * row + 4 + col, (8, 8), 4, 1)
        assert np.array_equal(original, _expected(X[i].reshape(8, 8), 0, 1))
        assert np.array_equal(recon, _expected(R[i].reshape(8, 8), 0, 1))
    top, left = plot.tile_box(10, (8, 8), 4, 1)        # the gap after originals 4, 5
    assert (picture[top:top + 8, left:left + 8] == 255).all()


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_every_format_is_written(tmp_path, rbm, fmt, magic):
    path = tmp_path / f"f.{fmt}"
    plot.filters(rbm, (8, 8), path)
    assert path.read_bytes().startswith(magic)


def test_history_of_monitors_and_of_mappings(tmp_path):
    monitor = ev.Monitor(X[:50], metric="reconstruction_error")
    pl = ev.Monitor(X[:50], metric="pseudo_likelihood")
    RBM(8, n_iter=3, random_state=0).fit(X, callback=lambda m, i: (monitor(m, i), pl(m, i)))
    assert len(monitor.history) == 3
    fig = plot.history([monitor, pl], tmp_path / "h.png")
    axes = fig.get_axes()
    assert [a.get_ylabel() for a in axes] == ["reconstruction error", "pseudo likelihood"]
    assert np.array_equal(axes[0].lines[0].get_ydata(), monitor.values)
    assert mpimg.imread(tmp_path / "h.png").shape[:2] == (480, 500)
    fig = plot.history({"gap": [3.0, 2.0, 1.5]})
    assert list(fig.get_axes()[0].lines[0].get_xdata()) == [1, 2, 3]


BAD = [
    (lambda m: plot.filters(m, (8, 7)), ValueError, "needs 56 values per image"),
    (lambda m: plot.filters(m, "8x8", "f.gif"), ValueError, "path must end in one of"),
    (lambda m: plot.filters(m, (8, 8), zoom=0), ValueError, "zoom must be a positive int"),
    (lambda m: plot.filters(m, (8, 8), scale="log"), ValueError, "scale must be one of"),
    (lambda m: plot.samples(np.full((2, 4), np.nan), (2, 2)), ValueError, "NaN"),
    (lambda m: plot.history(3), TypeError, "curves must be a Monitor"),
    (lambda m: plot.history({"x": []}), ValueError, "non-empty sequence"),
]


@pytest.mark.parametrize("call, error, says", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments_are_refused(rbm, call, error, says):
    with pytest.raises(error, match=says):
        call(rbm)
