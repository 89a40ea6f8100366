"""Build seqpacker-core, with the Cython extension when it can be built.

Switches (environment variables):
- SEQPACKER_NO_EXTENSIONS=1: skip the extension; install the pure-Python package.
- SEQPACKER_REQUIRE_EXTENSIONS=1: a failed extension build is an error (CI uses it).
Otherwise a failed build (no compiler, no Cython) falls back to pure Python with a warning.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
CYTHON_DIR = Path("src", "seqpacker", "_cython")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


NO_EXTENSIONS = _flag("SEQPACKER_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("SEQPACKER_REQUIRE_EXTENSIONS")
if NO_EXTENSIONS and REQUIRE_EXTENSIONS:
    sys.exit("SEQPACKER_NO_EXTENSIONS and SEQPACKER_REQUIRE_EXTENSIONS contradict each other")


class OptionalBuildExt(build_ext):
    """build_ext that degrades to pure Python unless extensions are required."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            self._give_up(exc)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        if REQUIRE_EXTENSIONS:
            raise exc
        print(f"WARNING: seqpacker Cython extension not built ({exc}); using pure Python")


def extensions() -> list:
    if NO_EXTENSIONS:
        return []
    sources = sorted(str(p) for p in (HERE / CYTHON_DIR).glob("*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        if REQUIRE_EXTENSIONS:
            raise
        print(f"WARNING: Cython unavailable ({exc}); using pure Python")
        return []
    from setuptools import Extension

    # The one place where Cython directives and compiler flags are set.
    directives = {
        "language_level": "3",
        "boundscheck": False,
        "wraparound": False,
        "initializedcheck": False,
        "nonecheck": False,
        "cdivision": True,
        "embedsignature": True,
        "freethreading_compatible": True,
    }
    if os.name == "nt":
        compile_args, link_args = ["/O2", "/std:c++17"], []
    else:
        compile_args, link_args = ["-O3", "-std=c++17"], []
    if sys.platform.startswith("linux"):
        # obfdp's prange blocks; without OpenMP they run on one thread (same results).
        compile_args.append("-fopenmp")
        link_args.append("-fopenmp")
    modules = [
        Extension(
            f"seqpacker._cython.{Path(src).stem}",
            [os.path.relpath(src, HERE)],
            language="c++",
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            optional=not REQUIRE_EXTENSIONS,
        )
        for src in sources
    ]
    return cythonize(modules, compiler_directives=directives, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
