"""Build fastrbm's Cython kernels.

OpenMP is probed by compiling, linking *and running* a tiny program; without it the
package builds serially with a warning (``fastrbm.show_config()`` reports it).
``FASTRBM_REQUIRE_OPENMP=1`` turns a missing OpenMP into a build error (CI sets it).
``FASTRBM_NATIVE=1`` adds ``-march=native`` (off by default: wheels must run anywhere).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d\n", n > 0 && omp_get_max_threads() > 0);
    return 0;
}
"""


def _probe_openmp(compiler):
    """Return the compile/link flags that give a working OpenMP, or None."""
    candidates = [["-fopenmp"], ["-Xpreprocessor", "-fopenmp"], ["/openmp"]]
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        for flags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=flags)
                exe = os.path.join(tmp, "probe")
                link = flags + (["-lomp"] if "-Xpreprocessor" in flags else [])
                compiler.link_executable(objs, exe, output_dir=tmp, extra_postargs=link)
                out = subprocess.run([exe], capture_output=True, text=True, timeout=30)
                if out.returncode == 0 and out.stdout.strip() == "1":
                    return flags, link
            except Exception:  # noqa: BLE001 - any failure means "not this flag"
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: Cython's compiler directives for every kernel module.
CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


class BuildExt(build_ext):
    """Cythonize, probe OpenMP and set the compile flags, only when extensions are built.

    Doing this here rather than when setup.py is loaded keeps ``sdist`` and metadata
    builds from generating the multi-megabyte ``.c`` files (and from needing NumPy).
    """

    def run(self):
        import numpy as np
        from Cython.Build import cythonize

        for ext in self.extensions:
            if np.get_include() not in ext.include_dirs:
                ext.include_dirs.append(np.get_include())
            # only the sources change: setuptools has already annotated these objects
            ext.sources = cythonize([ext], compiler_directives=CYTHON_DIRECTIVES)[0].sources
        super().run()

    def build_extensions(self):
        probe = _probe_openmp(self.compiler)
        openmp = probe is not None
        if not openmp:
            msg = "OpenMP not found: fastrbm builds single-threaded elementwise passes."
            if os.environ.get("FASTRBM_REQUIRE_OPENMP", "0") not in ("", "0"):
                raise RuntimeError(msg + " (FASTRBM_REQUIRE_OPENMP is set)")
            warnings.warn(msg)
        # -ffp-contract=off: no fused multiply-adds, so the AVX-512 / native code paths
        # round exactly as the baseline ones and as the NumPy reference
        compile_flags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
                         "-Wno-unused-function"]
        if os.environ.get("FASTRBM_NATIVE", "0") not in ("", "0"):
            compile_flags.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = compile_flags + (probe[0] if openmp else [])
            ext.extra_link_args = probe[1] if openmp else []
            ext.define_macros.append(("FASTRBM_OPENMP", "1" if openmp else "0"))
        super().build_extensions()


def _extensions():
    """The kernel modules, from their ``.pyx`` sources (cythonized by ``BuildExt``)."""
    return [
        Extension(f"fastrbm.{name}", [f"fastrbm/{name}.pyx"], include_dirs=["src_c"],
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
        for name in ("_constants", "_kernels", "_ais")
    ]


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
