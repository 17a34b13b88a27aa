"""fastrbm: Restricted Boltzmann Machines and Deep Belief Nets, fast on the CPU.

The estimators (``RBM``, ``BernoulliRBM``, ``GaussianRBM``, ``DBN``) and ``show_config``
are attributes of the package; the submodules ``ops`` (the functional kernel API),
``io``, ``evaluation``, ``datasets``, ``dbn``, ``sbn`` and ``streams`` are imported on
first access (``fastrbm.io.save(...)`` works after
``import fastrbm``), so that ``import fastrbm`` loads only what an RBM needs.
"""
__version__ = "0.1.0"  # a literal: pyproject.toml reads it without importing the package

#: The compiled extension modules; without them nothing in the package can run.
_COMPILED = ("_constants", "_kernels", "_ais")

#: Submodules imported on first attribute access.
_LAZY_SUBMODULES = ("datasets", "dbn", "evaluation", "io", "ops", "sbn", "streams")

#: Public names that live in a lazily imported submodule.
_LAZY_ATTRIBUTES = {"DBN": "dbn"}


def _require_compiled() -> None:
    """Stop with one sentence saying what to do when the compiled extension is absent.

    That happens when Python starts in the root of a source tree that was installed
    with ``pip install .`` (the extension went to site-packages, not here): the current
    folder comes first on ``sys.path``, so this unbuilt copy shadows the installed one.
    A built but unloadable extension is left to fail on its own, with its own reason.
    """
    import importlib.machinery
    import os
    import sys

    # Searched in this package's own folder only: an editable install's finder would
    # otherwise supply the modules of another tree, to run with these Python files.
    missing = [name for name in _COMPILED if importlib.machinery.PathFinder.find_spec(
        f"{__name__}.{name}", __path__) is None]
    if not missing:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    message = (f"fastrbm cannot run from {here}, a source folder that holds no compiled "
               f"extension for this Python (missing: {', '.join(missing)}): after "
               f"`pip install .` use the `fastrbm` command or start Python in another "
               f"folder, or build the extension in place with `pip install -e .`")
    # While `python -m fastrbm ...` locates its module, sys.argv[0] is "-m": the import
    # is the command itself, so the sentence alone is the answer, without a traceback.
    if getattr(sys, "argv", None) and sys.argv[0] == "-m":
        raise SystemExit(message)
    raise ImportError(message)


_require_compiled()

from ._config import show_config  # noqa: E402
from .rbm import RBM, BernoulliRBM, DivergenceError, GaussianRBM  # noqa: E402

__all__ = ["RBM", "BernoulliRBM", "GaussianRBM", "DivergenceError", "DBN", "show_config",
           "__version__"]


def __getattr__(name: str):
    """Import a lazy submodule, or the submodule holding a lazy name, on first access."""
    import importlib

    if name in _LAZY_SUBMODULES:
        # import_module also binds the submodule as an attribute of the package
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_ATTRIBUTES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_ATTRIBUTES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    """The package's names, the lazy ones included."""
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_ATTRIBUTES))
