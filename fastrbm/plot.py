"""Pictures out: filters, samples, reconstructions and training curves (matplotlib).

Needs the ``plot`` extra (``pip install fastrbm[plot]``). Figures are made with
``matplotlib.figure.Figure`` directly, never through pyplot, so no window opens and no
backend is switched.

Tiled pictures have an exact pixel layout, built here and placed with
``Figure.figimage`` (no resampling): tile ``i`` is at grid row ``i // n_cols`` and
column ``i % n_cols``, its top-left pixel at ``(pad + row * (height * zoom + pad),
pad + col * (width * zoom + pad))``, each image pixel repeated ``zoom`` x ``zoom`` times,
grey level ``round(255 * (value - lo) / (hi - lo))`` with ``lo, hi`` the tile's own range
(``scale='tile'``), the range of all tiles (``'global'``) or 0 and 1 (``'none'``,
values clipped). The padding is white. :func:`tile_array` returns that picture as an
array, and :func:`tile_box` where a tile is.
"""
from __future__ import annotations

import math
import os
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from .datasets import check_image_shape

PathLike = Union[str, "os.PathLike[str]"]

#: Formats ``save`` writes (matplotlib's names).
FORMATS = ("png", "svg", "pdf")

#: Tiles a picture shows at most by default.
MAX_TILES = 100

_SCALES = ("tile", "global", "none")


def _matplotlib():
    """matplotlib's ``Figure``, or an ImportError saying how to install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("fastrbm.plot needs matplotlib: pip install fastrbm[plot]"
                          ) from None
    return Figure


def _grid(n: int, n_cols: Optional[int]) -> tuple:
    if n_cols is None:
        n_cols = math.ceil(math.sqrt(n))
    if not (isinstance(n_cols, int) and n_cols >= 1):
        raise ValueError(f"n_cols must be a positive int; got {n_cols!r}")
    return math.ceil(n / n_cols), n_cols


def default_zoom(image_shape: Sequence[int]) -> int:
    """The default magnification: tiles of at least 28 pixels a side.

    Parameters
    ----------
    image_shape : (height, width)

    Returns
    -------
    int
    """
    return max(1, 28 // max(image_shape))


def tile_box(i: int, image_shape: Sequence[int], n_cols: int, zoom: int, pad: int = 1,
             ) -> tuple:
    """Where tile ``i`` lies in a picture of :func:`tile_array`: ``(top, left)``.

    Parameters
    ----------
    i : int
    image_shape : (height, width)
    n_cols : int
    zoom : int
    pad : int, default=1

    Returns
    -------
    (int, int)
    """
    h, w = image_shape
    row, col = divmod(i, n_cols)
    return pad + row * (h * zoom + pad), pad + col * (w * zoom + pad)


def tile_array(images, image_shape, *, n_cols: Optional[int] = None,
               zoom: Optional[int] = None, pad: int = 1, scale: str = "tile",
               ) -> np.ndarray:
    """The images tiled on a grid as one grey-level array in [0, 1] (see module doc).

    Parameters
    ----------
    images : array-like (n_images, height * width)
    image_shape : (height, width) or str such as ``"28x28"``
    n_cols : int, optional
        Default ``ceil(sqrt(n_images))``.
    zoom : int, optional
        Default :func:`default_zoom`.
    pad : int, default=1
        White pixels between and around tiles.
    scale : {'tile', 'global', 'none'}, default='tile'

    Returns
    -------
    ndarray of float64 (rows * (height * zoom + pad) + pad, cols * (width * zoom + pad) + pad)
    """
    shape = check_image_shape(image_shape)
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty 2-D array; got shape {images.shape}")
    if images.shape[1] != shape[0] * shape[1]:
        raise ValueError(f"image_shape {shape[0]}x{shape[1]} needs {shape[0] * shape[1]} "
                         f"values per image; the images have {images.shape[1]}")
    if not np.isfinite(images).all():
        raise ValueError("images hold NaN or infinite values")
    if scale not in _SCALES:
        raise ValueError(f"scale must be one of {list(_SCALES)}; got {scale!r}")
    zoom = default_zoom(shape) if zoom is None else zoom
    if not (isinstance(zoom, int) and zoom >= 1):
        raise ValueError(f"zoom must be a positive int; got {zoom!r}")
    if not (isinstance(pad, int) and pad >= 0):
        raise ValueError(f"pad must be an int >= 0; got {pad!r}")
    n_rows, n_cols = _grid(len(images), n_cols)
    h, w = shape
    canvas = np.ones((n_rows * (h * zoom + pad) + pad, n_cols * (w * zoom + pad) + pad))
    scaled = _scale(images, scale)
    block = np.ones((zoom, zoom))
    for i, image in enumerate(scaled):
        top, left = tile_box(i, shape, n_cols, zoom, pad)
        canvas[top:top + h * zoom, left:left + w * zoom] = np.kron(image.reshape(h, w), block)
    return canvas


def _scale(images: np.ndarray, scale: str) -> np.ndarray:
    if scale == "none":
        return np.clip(images, 0.0, 1.0)
    axis = 1 if scale == "tile" else None
    lo = images.min(axis=axis, keepdims=True)
    span = images.max(axis=axis, keepdims=True) - lo
    return (images - lo) / np.where(span > 0, span, 1.0)


def _image_figure(canvas: np.ndarray, path: Optional[PathLike], dpi: int = 100):
    """A figure exactly the canvas's size in pixels, holding it unresampled."""
    Figure = _matplotlib()
    fig = Figure(figsize=(canvas.shape[1] / dpi, canvas.shape[0] / dpi), dpi=dpi)
    # 8-bit RGB made here rather than a colormap's lookup table: the file then holds
    # exactly round(255 * value) in every channel
    grey = np.round(canvas * 255.0).astype(np.uint8)
    fig.figimage(np.repeat(grey[:, :, None], 3, axis=2), xo=0, yo=0, origin="upper",
                 resize=False)
    if path is not None:
        save(fig, path, dpi=dpi)
    return fig


def save(fig, path: PathLike, dpi: int = 100) -> None:
    """Write ``fig`` as PNG, SVG or PDF, chosen by the suffix of ``path``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
    dpi : int, default=100
        Keep the figure's own dpi for tiled pictures: one array pixel per image pixel.
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"path must end in one of {', '.join('.' + f for f in FORMATS)}; "
                         f"got {path!r}")
    fig.savefig(path, format=fmt, dpi=dpi)


def _first_layer(model):
    """The RBM whose weights face the data: the model, or a DBN's bottom layer."""
    return model.rbms_[0] if hasattr(model, "rbms_") else model


def filters(model, image_shape, path: Optional[PathLike] = None, *,
            n: Optional[int] = MAX_TILES, n_cols: Optional[int] = None,
            zoom: Optional[int] = None, scale: str = "tile"):
    """The receptive fields (rows of ``components_``) tiled as images.

    Parameters
    ----------
    model : fitted RBM or DBN (its first layer)
    image_shape : (height, width) or str such as ``"28x28"``
    path : str or path-like, optional
        Also save the figure there (.png, .svg or .pdf).
    n : int or None, default=100
        Show the first ``n`` filters (None: all).
    n_cols, zoom, scale
        As in :func:`tile_array`; each filter is scaled to its own range by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    W = np.asarray(_first_layer(model).components_)
    return _image_figure(tile_array(W[:n], image_shape, n_cols=n_cols, zoom=zoom,
                                    scale=scale), path)


def samples(images, image_shape, path: Optional[PathLike] = None, *,
            n_cols: Optional[int] = None, zoom: Optional[int] = None, scale: str = "none"):
    """Images (samples, data) tiled; values in [0, 1] are shown as they are.

    Parameters
    ----------
    images : array-like (n_images, height * width)
    image_shape : (height, width) or str such as ``"28x28"``
    path : str or path-like, optional
    n_cols, zoom, scale
        As in :func:`tile_array`; use ``scale='global'`` for real-valued data.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _image_figure(tile_array(images, image_shape, n_cols=n_cols, zoom=zoom,
                                    scale=scale), path)


def reconstruct(model, X) -> np.ndarray:
    """The deterministic reconstruction E[v | h = E[h | v]] of each row of ``X``.

    Parameters
    ----------
    model : fitted RBM or DBN (up the whole stack and down again)
    X : array-like (n_samples, n_features)

    Returns
    -------
    ndarray (n_samples, n_features)
    """
    if hasattr(model, "reconstruct"):
        return model.reconstruct(X)
    return model.inverse_transform(model.transform(X))


def reconstructions(model, X, image_shape, path: Optional[PathLike] = None, *,
                    n: int = 32, n_cols: int = 8, zoom: Optional[int] = None,
                    scale: str = "none"):
    """Rows of ``X`` and their reconstructions: each grid row of originals is followed by
    a grid row of their reconstructions.

    Parameters
    ----------
    model : fitted RBM or DBN
    X : array-like (n_samples, n_features)
    image_shape : (height, width) or str such as ``"28x28"``
    path : str or path-like, optional
    n : int, default=32
        The first ``n`` rows of ``X``.
    n_cols : int, default=8
    zoom, scale
        As in :func:`tile_array`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = np.asarray(X)[:n]
    R = np.asarray(reconstruct(model, X), dtype=np.float64)
    pairs = []
    for start in range(0, len(X), n_cols):
        originals, recons = X[start:start + n_cols], R[start:start + n_cols]
        fill = np.full((n_cols - len(originals), X.shape[1]), 1.0)   # a white gap
        pairs += [originals, fill, recons, fill]
    return _image_figure(tile_array(np.concatenate(pairs), image_shape, n_cols=n_cols,
                                    zoom=zoom, scale=scale), path)


def history(curves, path: Optional[PathLike] = None, *, title: Optional[str] = None):
    """Training curves, one panel per metric.

    Parameters
    ----------
    curves : Monitor, sequence of Monitor, or mapping name -> values
        A :class:`fastrbm.evaluation.Monitor` (its ``history`` of epochs and values,
        labelled by its metric), several of them, or ``{"name": values}`` with one value
        per epoch from 1, or ``{"name": (epochs, values)}``.
    path : str or path-like, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    series = _series(curves)
    Figure = _matplotlib()
    fig = Figure(figsize=(5.0, 2.4 * len(series)), layout="constrained")
    axes = fig.subplots(len(series), 1, squeeze=False)[:, 0]
    for ax, (name, (epochs, values)) in zip(axes, series.items()):
        ax.plot(epochs, values, marker="o" if len(values) < 30 else None)
        ax.set_ylabel(name.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def _series(curves) -> dict:
    """``{name: (epochs, values)}`` from a Monitor, Monitors or a mapping."""
    if hasattr(curves, "history") and hasattr(curves, "metric"):
        curves = [curves]
    if isinstance(curves, Mapping):
        items = list(curves.items())
    elif isinstance(curves, Sequence) and all(hasattr(m, "history") for m in curves):
        items = [(m.metric, ([h["epoch"] for h in m.history], [h["value"] for h in m.history]))
                 for m in curves]
    else:
        raise TypeError(f"curves must be a Monitor, a sequence of Monitors or a mapping of "
                        f"name to values; got {type(curves).__name__}")
    series = {}
    for name, value in items:
        if isinstance(value, tuple) and len(value) == 2:
            epochs, values = np.asarray(value[0]), np.asarray(value[1], dtype=np.float64)
        else:
            values = np.asarray(value, dtype=np.float64)
            epochs = np.arange(1, len(values) + 1)
        if values.ndim != 1 or len(values) == 0 or epochs.shape != values.shape:
            raise ValueError(f"curves[{name!r}] must be a non-empty sequence of numbers "
                             f"(and as many epochs)")
        series[str(name)] = (epochs, values)
    if not series:
        raise ValueError("curves holds no curve")
    return series
