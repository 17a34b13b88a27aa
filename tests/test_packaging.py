"""Packaging and the source tree.

* The sdist is a whole source tree (its own ``pip install ".[test]" && pytest`` needs
  the tests, benchmarks, docs and C headers), without build products; the wheel's files
  carry no Cython-generated C and no .pyx/.pxd sources (no C-level API). Both are
  checked on a copy of this tree that also holds the leftovers of an earlier build, the
  case in which generated files used to leak.
* At the root of a source tree that was installed rather than built in place, importing
  fastrbm stops with one sentence saying what to do, ``python -m fastrbm`` prints just
  that sentence, and ``python -m pytest`` tests the installed package.
* ``import fastrbm`` prints nothing and imports its heavier submodules only on access.

Every child Python runs in a folder of its own (or of the copied tree), never at this
repository's root, so it imports the installed fastrbm (or the copy under test).
"""
from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap

import pytest

import fastrbm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: What a source tree is made of: these folders, whole, and these files at the root.
TREE_DIRS = ("fastrbm", "src_c", "tests", "benchmarks", "docs")
TREE_FILES = ("README.md", "LICENSE", "conftest.py", "setup.py", "pyproject.toml",
              "MANIFEST.in")

#: Left in the package folder by a build (cythonize, an in-place compile).
GENERATED_SUFFIXES = (".c", ".html", ".so", ".pyd", ".pyc")


def _is_generated(name: str) -> bool:
    return name.endswith(GENERATED_SUFFIXES) or "__pycache__" in name.split("/")


def _tree_files(top: str) -> set:
    """Relative paths (with "/") of a source tree's own files, build products left out."""
    found = {name for name in TREE_FILES if os.path.isfile(os.path.join(top, name))}
    for folder in TREE_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(top, folder)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, top).replace(os.sep, "/")
            found.update(f"{rel}/{f}" for f in filenames if not _is_generated(f"{rel}/{f}"))
    return found


def _copy_tree(dst: str) -> set:
    """Copy this source tree's own files to ``dst``; return their relative paths."""
    files = _tree_files(ROOT)
    for rel in files:
        target = os.path.join(dst, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, *rel.split("/")), target)
    return files


def _plant_build_leftovers(tree: str) -> list:
    """Make ``tree`` look built before: generated C, a compiled module, a stale manifest.

    The stale ``SOURCES.txt`` lists the C files, as one written by the old setup.py
    (which cythonized on load) did; setuptools reads it back into later manifests.
    """
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    leftovers = ["fastrbm/_kernels.c", "fastrbm/_ais.c", "fastrbm/_kernels.html",
                 f"fastrbm/_kernels{suffix}"]
    for rel in leftovers:
        with open(os.path.join(tree, *rel.split("/")), "w") as f:
            f.write("/* left by an earlier build */\n")
    os.makedirs(os.path.join(tree, "fastrbm.egg-info"))
    with open(os.path.join(tree, "fastrbm.egg-info", "SOURCES.txt"), "w") as f:
        f.write("\n".join(sorted(_tree_files(tree)) + leftovers) + "\n")
    return leftovers


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the sdist, and run the wheel's ``build_py``, from a copied tree.

    ``build_py`` puts in place every file of the wheel but the compiled modules, at a
    fraction of a full wheel build's cost (which compiles the kernels for a minute).
    Returns (tree files, planted leftovers, sdist path, sdist members, wheel files).
    """
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv

    tmp = tmp_path_factory.mktemp("packaging")
    tree = str(tmp / "tree")
    files = _copy_tree(tree)
    leftovers = _plant_build_leftovers(tree)
    with DefaultIsolatedEnv() as env:
        builder = ProjectBuilder.from_isolated_env(env, tree)
        env.install(builder.build_system_requires)
        env.install(builder.get_requires_for_build("sdist"))
        sdist = builder.build("sdist", str(tmp / "dist"))
        lib = str(tmp / "lib")
        proc = subprocess.run([env.python_executable, "setup.py", "-q", "build_py",
                               "--build-lib", lib],
                              cwd=tree, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    prefix = f"fastrbm-{fastrbm.__version__}/"
    assert all(n.startswith(prefix) for n in names), names[:5]
    members = {n[len(prefix):] for n in names}
    wheel = {os.path.relpath(os.path.join(d, f), lib).replace(os.sep, "/")
             for d, _, fs in os.walk(lib) for f in fs}
    return files, leftovers, sdist, members, wheel


def test_sdist_holds_the_whole_source_tree(built):
    files, _, sdist, members, _ = built
    assert os.path.basename(sdist) == f"fastrbm-{fastrbm.__version__}.tar.gz"
    # the pieces the sdist's own test run needs, named so that a tree missing them fails
    for needed in ("tests/conftest.py", "conftest.py", "benchmarks/run.py",
                   "docs/units.md", "src_c/philox.h", "fastrbm/_kernels.pyx", "README.md"):
        assert needed in files
    assert sorted(files - members) == []


def test_sdist_leaves_out_build_products(built):
    _, leftovers, _, members, _ = built
    assert not set(leftovers) & members
    assert [m for m in members if _is_generated(m)] == []


#: Cython and C sources: in the sdist, never in the wheel (fastrbm has no C-level API;
#: its .pxd files would need headers from src_c/, which the package does not carry).
CYTHON_SOURCES = (".pyx", ".pxd", ".c")


def test_wheel_carries_no_generated_c_and_no_cython_sources(built):
    files, _, _, members, wheel = built
    package = {f for f in files if f.startswith("fastrbm/")}
    python = {f for f in package if not f.endswith(CYTHON_SOURCES)}
    assert python and python <= wheel              # every .py file of the package
    assert [f for f in wheel if _is_generated(f)] == []
    assert sorted(f for f in wheel if f.endswith(CYTHON_SOURCES)) == []
    # the sdist still builds the extensions: it carries every .pyx/.pxd
    sources = {f for f in package if f.endswith((".pyx", ".pxd"))}
    assert {"fastrbm/_kernels.pyx", "fastrbm/_constants.pxd"} <= sources <= members


# ----------------------------------------------------- an installed, unbuilt source tree
@pytest.fixture
def unbuilt_tree(tmp_path):
    """A source tree as after ``pip install .``: the package's sources, no compiled module."""
    tree = tmp_path / "clone"
    shutil.copytree(os.path.join(ROOT, "fastrbm"), tree / "fastrbm",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    shutil.copy2(os.path.join(ROOT, "pyproject.toml"), tree / "pyproject.toml")
    (tree / "tests").mkdir()
    (tree / "tests" / "test_where.py").write_text(textwrap.dedent("""
        import os
        import fastrbm
        from fastrbm import _kernels

        def test_the_installed_package_is_imported():
            tree = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))
            used = os.path.realpath(os.path.dirname(fastrbm.__file__))
            assert used != os.path.join(tree, "fastrbm")
            assert _kernels.openmp_max_threads() >= 1
        """))
    return tree


def _run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _assert_one_clear_sentence(text):
    assert "cannot import name" not in text and "Traceback" not in text
    assert "holds no compiled extension" in text
    assert "`fastrbm` command" in text and "`pip install -e .`" in text
    assert text.strip().count("\n") == 0 and text.strip().count(". ") == 0


def test_import_from_unbuilt_tree_stops_with_one_sentence(unbuilt_tree):
    proc = _run(["-c", "import fastrbm"], unbuilt_tree)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fastrbm cannot run from ")
    assert str(unbuilt_tree) in last
    _assert_one_clear_sentence(last[len("ImportError: "):])


def test_python_m_fastrbm_in_unbuilt_tree_prints_only_the_sentence(unbuilt_tree):
    proc = _run(["-m", "fastrbm", "demo"], unbuilt_tree)
    assert proc.returncode == 1 and proc.stdout == ""
    _assert_one_clear_sentence(proc.stderr)


def test_python_m_pytest_in_unbuilt_tree_tests_the_installed_package(unbuilt_tree):
    # without the root conftest, the unbuilt folder shadows the installed package
    proc = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], unbuilt_tree)
    assert proc.returncode != 0
    assert "holds no compiled extension" in proc.stdout + proc.stderr
    shutil.copy2(os.path.join(ROOT, "conftest.py"), unbuilt_tree / "conftest.py")
    proc = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], unbuilt_tree)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 passed" in proc.stdout


# ------------------------------------------------------------------ lazy submodules
LAZY = ("datasets", "dbn", "evaluation", "io", "sbn")


def test_import_prints_nothing_and_loads_no_lazy_submodule(tmp_path):
    code = ("import sys, json, fastrbm; "
            f"sys.__stdout__.write('\\n' + json.dumps([m for m in {LAZY!r} "
            "if 'fastrbm.' + m in sys.modules]))")
    proc = _run(["-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    printed, loaded = proc.stdout.rsplit("\n", 1)
    assert printed == "" and json.loads(loaded) == []


def test_lazy_submodules_and_names_are_reachable(tmp_path):
    code = textwrap.dedent(f"""
        import fastrbm
        assert set({LAZY!r}) <= set(dir(fastrbm)) and "DBN" in dir(fastrbm)
        for name in {LAZY!r}:
            module = getattr(fastrbm, name)
            assert module.__name__ == "fastrbm." + name
        assert callable(fastrbm.io.save) and callable(fastrbm.datasets.bars_and_stripes)
        assert fastrbm.DBN is fastrbm.dbn.DBN
        from fastrbm import DBN, evaluation
        assert evaluation is fastrbm.evaluation
        try:
            fastrbm.no_such_name
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        else:
            raise AssertionError("no AttributeError")
        print("ok")
        """)
    proc = _run(["-c", code], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_no_merge_conflict_markers_in_the_sources():
    # a merge resolved by committing both sides once left these in the README
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    suffixes = (".py", ".pyx", ".pxd", ".h", ".md", ".toml", ".cfg", ".txt", ".in")
    found = []
    for folder in ("", "fastrbm", "src_c", "tests", "benchmarks", "docs", ".ci"):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        for name in os.listdir(path):
            full = os.path.join(path, name)
            if not (os.path.isfile(full) and (name.endswith(suffixes) or folder == ".ci")):
                continue
            with open(full, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======\n":
                        found.append(f"{os.path.join(folder, name)}:{number}")
    assert not found, found
