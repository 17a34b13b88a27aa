"""Lets ``python -m pytest`` at the repository root test the installed fastrbm.

``python -m pytest`` puts the current folder first on ``sys.path``, and pytest puts this
file's folder there to import it, so ``import fastrbm`` in a test would find the source
folder ``fastrbm/``. After ``pip install .`` that folder holds no compiled extension
(the build went to site-packages) and the package refuses to run from it. So when the
source folder is unbuilt and a fastrbm is installed elsewhere, the root is taken off
``sys.path`` and the tests import the installed package. A tree built in place
(``pip install -e .``) is left alone, and so is one with no other fastrbm to import:
then the package's own message says what to do.
"""
import importlib.machinery
import importlib.util
import os
import sys

ROOT = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))

#: The package's compiled modules (``fastrbm._COMPILED``, not importable from here).
COMPILED = ("_kernels", "_ais")


def _built_in_place() -> bool:
    """Whether the source folder holds every compiled module for this Python."""
    package = os.path.join(ROOT, "fastrbm")
    return all(
        any(os.path.isfile(os.path.join(package, name + suffix))
            for suffix in importlib.machinery.EXTENSION_SUFFIXES)
        for name in COMPILED)


def _is_root(entry: str) -> bool:
    # "" on sys.path means the current folder
    return os.path.realpath(entry or os.curdir) == ROOT


def _prefer_installed_package() -> None:
    if _built_in_place() or "fastrbm" in sys.modules:
        return
    saved = list(sys.path)
    sys.path[:] = [entry for entry in saved if not _is_root(entry)]
    spec = importlib.util.find_spec("fastrbm")
    # compared as folders: a virtual environment may well live inside the clone
    found = os.path.realpath(os.path.dirname(spec.origin)) if spec and spec.origin else None
    if found is None or found == os.path.join(ROOT, "fastrbm"):
        sys.path[:] = saved


_prefer_installed_package()
