"""Data in: generated toys, the shipped 8x8 digits, and readers for files a user has.

Every reader returns a 2-D array (rows = samples) and raises ``ValueError`` naming the
file and what is wrong with it, rather than letting a parser's traceback through.
:func:`load` picks the reader from the file's suffix.
"""
from __future__ import annotations

import gzip
import itertools
import os
import zipfile
from typing import Optional, Sequence, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]

#: IDX type codes (LeCun's MNIST format) -> big-endian NumPy dtypes.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: Image suffixes :func:`load_image_folder` reads.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".pgm")


def bars_and_stripes(size: int = 4, dtype="float64") -> np.ndarray:
    """Every distinct bars-and-stripes image of ``size`` x ``size`` pixels, flattened.

    Rows are each either all on or all off (stripes), or likewise columns (bars); the
    all-off and all-on images are both, so there are ``2 * 2**size - 2`` distinct
    patterns (30 for 4x4). A model that puts equal mass on each has average
    log-likelihood ``-log(30) = -3.40`` nats; the uniform model ``-16 log 2 = -11.09``.
    """
    if not isinstance(size, int) or size < 1 or size > 12:
        raise ValueError(f"size must be an int in [1, 12]; got {size!r}")
    patterns = set()
    for bits in itertools.product((0, 1), repeat=size):
        col = np.array(bits)[:, None]
        patterns.add(tuple(np.repeat(col, size, axis=1).ravel()))      # stripes (rows)
        patterns.add(tuple(np.repeat(col.T, size, axis=0).ravel()))    # bars (columns)
    return np.array(sorted(patterns), dtype=dtype)


def gaussian_mixture(n_samples: int = 1000, n_features: int = 8, n_components: int = 3,
                     separation: float = 4.0, random_state=0, dtype="float64"):
    """Samples of an isotropic Gaussian mixture with well separated means.

    Returns ``(X, labels, means)``; component means are ``separation`` times random
    unit vectors, each component has identity covariance, weights are equal.
    """
    rng = np.random.default_rng(random_state)
    means = rng.normal(size=(n_components, n_features))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    labels = rng.integers(0, n_components, size=n_samples)
    X = means[labels] + rng.normal(size=(n_samples, n_features))
    return X.astype(dtype), labels, means


def load_digits(return_labels: bool = False, scale: bool = True):
    """The 8x8 UCI optical digits shipped inside fastrbm: 1797 images, 64 pixels each.

    Alpaydin & Kaynak (1998), UCI Machine Learning Repository, CC BY 4.0; the licence
    and citation are in ``fastrbm/data/DIGITS_LICENSE.txt``.

    Parameters
    ----------
    return_labels : bool, default=False
        Also return the digit (0..9) of each image.
    scale : bool, default=True
        Divide the pixel counts (0..16) by 16, giving float64 in [0, 1]; False keeps
        the uint8 counts.

    Returns
    -------
    X : ndarray (1797, 64)
    y : ndarray of uint8 (1797,)
        Only when ``return_labels``.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")
    with np.load(path) as f:
        X, y = f["images"], f["labels"]
    if scale:
        X = X / 16.0
    return (X, y) if return_labels else X


def load(path: PathLike, *, key: Optional[str] = None,
         image_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Read a data file as a 2-D array, the reader chosen by the file's suffix.

    Parameters
    ----------
    path : str or path-like
        ``.npy``, ``.npz``, ``.csv``, ``.tsv``, ``.txt`` (whitespace), an IDX file
        (``*-ubyte``, ``.idx*``, optionally ``.gz``) or a folder of images.
    key : str, optional
        The array of an ``.npz`` file (needed when it holds several).
    image_shape : (height, width), optional
        For a folder of images: the size each image is resized to.

    Returns
    -------
    ndarray (n_samples, n_features)
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return load_image_folder(path, image_shape)
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file")
    name = path.lower().removesuffix(".gz")
    if name.endswith(".npy"):
        return load_npy(path)
    if name.endswith(".npz"):
        return load_npz(path, key)
    if name.endswith((".csv", ".tsv", ".txt")):
        return load_csv(path)
    if "ubyte" in name or ".idx" in name:
        return load_idx(path)
    raise ValueError(f"{path}: unknown data format (expected .npy, .npz, .csv, .tsv, "
                     f".txt, an IDX file or a folder of images)")


def _as_rows(X: np.ndarray, path: str) -> np.ndarray:
    """``X`` as 2-D rows of numbers: images are flattened, a vector is one column."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: holds {X.dtype} data, not numbers")
    if X.ndim == 0 or X.size == 0:
        raise ValueError(f"{path}: holds no samples (shape {X.shape})")
    if X.ndim == 1:
        X = X[:, None]
    return X.reshape(X.shape[0], -1)


def load_npy(path: PathLike) -> np.ndarray:
    """Read a ``.npy`` file of numbers (object arrays are refused, never unpickled).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray (n_samples, n_features)
        Arrays of more than two dimensions are flattened per row.
    """
    path = os.fspath(path)
    try:
        X = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npy file ({_first_line(exc)})") from None
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{path}: an .npz archive, not an .npy file")
    return _as_rows(X, path)


def load_npz(path: PathLike, key: Optional[str] = None) -> np.ndarray:
    """Read one named array of an ``.npz`` file.

    Parameters
    ----------
    path : str or path-like
    key : str, optional
        The array's name; may be omitted when the file holds one array only.

    Returns
    -------
    ndarray (n_samples, n_features)
    """
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            if key is None:
                if len(names) != 1:
                    raise ValueError(f"{path}: holds arrays {names}; say which one (key)")
                key = names[0]
            if key not in names:
                raise ValueError(f"{path}: has no array {key!r} (it holds {names})")
            X = f[key]
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({_first_line(exc)})") from None
    except ValueError as exc:
        if str(exc).startswith(path):
            raise
        raise ValueError(f"{path}: not a readable .npz file ({_first_line(exc)})") from None
    return _as_rows(X, f"{path}[{key}]")


def load_csv(path: PathLike, delimiter: Optional[str] = None) -> np.ndarray:
    """Read a numeric ``.csv`` / ``.tsv`` / whitespace text file; a header line is skipped.

    Parameters
    ----------
    path : str or path-like
        Optionally gzipped (``.csv.gz``).
    delimiter : str, optional
        Default: tab for ``.tsv``, a comma for ``.csv``, whitespace otherwise.

    Returns
    -------
    ndarray of float64 (n_samples, n_features)
    """
    path = os.fspath(path)
    name = path.lower().removesuffix(".gz")
    if delimiter is None:
        delimiter = "\t" if name.endswith(".tsv") else "," if name.endswith(".csv") else None
    try:
        with _open(path) as f:
            lines = f.read().decode("utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable text file ({_first_line(exc)})") from None
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f"{path}: is empty")
    # a header is a first line with a field that is not a number while the next is numeric
    start = 1 if len(lines) > 1 and not _numeric(lines[0], delimiter) else 0
    rows = []
    for number, line in enumerate(lines[start:], start + 1):
        try:
            rows.append([float(field) for field in line.split(delimiter)])
        except ValueError:
            raise ValueError(f"{path}: line {number} is not all numbers: "
                             f"{line[:60]!r}") from None
        if len(rows[-1]) != len(rows[0]):
            raise ValueError(f"{path}: line {number} has {len(rows[-1])} fields, the first "
                             f"data line {len(rows[0])}")
    if not rows:
        raise ValueError(f"{path}: has a header but no data")
    return np.array(rows, dtype=np.float64)


def _numeric(line: str, delimiter: Optional[str]) -> bool:
    try:
        [float(field) for field in line.split(delimiter)]
    except ValueError:
        return False
    return True


def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzipped; the header is checked.

    The header is two zero bytes, a type code (0x08 uint8 ... 0x0E float64), the number
    of dimensions, then each dimension as a big-endian uint32; the data must fill the
    rest of the file exactly.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray (n_samples, n_features)
        In the file's type (native byte order); images are flattened per row, a label
        file is one column.
    """
    path = os.fspath(path)
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({_first_line(exc)})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (its magic number does not start with "
                         f"two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if ndim < 1:
        raise ValueError(f"{path}: IDX header gives 0 dimensions")
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header cut short ({ndim} dimensions announced)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = 4 + 4 * ndim + int(np.prod(dims, dtype=object)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header gives shape {dims} of {dtype.name}, "
                         f"{expected} bytes in all, but the file has {len(raw)}")
    X = np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(dims)
    return _as_rows(X.astype(dtype.newbyteorder("=")), path)


def load_image_folder(path: PathLike, image_shape: Optional[Sequence[int]] = None,
                      ) -> np.ndarray:
    """Read every image of a folder (sorted by name) as greyscale rows in [0, 1].

    Needs Pillow (``pip install pillow``).

    Parameters
    ----------
    path : str or path-like
    image_shape : (height, width), optional
        Each image is resized to it (bilinear); default the first image's size, which
        every image must then have.

    Returns
    -------
    ndarray of float64 (n_images, height * width)
    """
    path = os.fspath(path)
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError("reading a folder of images needs Pillow: pip install pillow"
                          ) from None
    if image_shape is not None:
        image_shape = check_image_shape(image_shape)
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise ValueError(f"{path}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    rows = []
    for name in names:
        file = os.path.join(path, name)
        try:
            with Image.open(file) as im:
                im = im.convert("L")
                if image_shape is None:
                    image_shape = (im.height, im.width)
                if (im.height, im.width) != tuple(image_shape):
                    im = im.resize((image_shape[1], image_shape[0]), Image.BILINEAR)
                rows.append(np.asarray(im, dtype=np.float64).ravel() / 255.0)
        except (OSError, UnidentifiedImageError) as exc:
            raise ValueError(f"{file}: not a readable image ({_first_line(exc)})") from None
    return np.stack(rows)


def check_image_shape(image_shape) -> tuple:
    """``image_shape`` as ``(height, width)`` of positive ints; ``"28x28"`` is accepted.

    Parameters
    ----------
    image_shape : str or sequence of two ints

    Returns
    -------
    tuple of int
    """
    if isinstance(image_shape, str):
        parts = image_shape.lower().split("x")
        try:
            image_shape = tuple(int(p) for p in parts)
        except ValueError:
            image_shape = ()
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"image_shape must be two positive ints (height, width), e.g. "
                         f"28x28; got {image_shape!r}")
    return shape


def _open(path: str):
    """The file as bytes, decompressed when it starts with gzip's magic number."""
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
