"""Choosing the kernel backend: ``SEQPACKER_BACKEND=auto|cython|python``.

``auto`` (the default) takes the Cython extension when it is built and the pure-Python
reference otherwise; ``cython`` raises ImportError when the extension is missing (no silent
fallback). The test suite switches backends with :func:`use`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

ENV_VAR = "SEQPACKER_BACKEND"
_MODULES = {"cython": "seqpacker._cython", "python": "seqpacker._reference"}
_loaded: dict[str, ModuleType] = {}


def load(name: str) -> ModuleType:
    """The kernel module of backend ``name`` (ImportError if it cannot be imported)."""
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of: auto, cython, python")
    module = _loaded.get(name)
    if module is None:
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError as exc:
            if name == "cython":
                raise ImportError(
                    "the seqpacker Cython extension is not built; reinstall seqpacker-core with "
                    "a C++ compiler available (and without SEQPACKER_NO_EXTENSIONS), or set "
                    "SEQPACKER_BACKEND=python"
                ) from exc
            raise
        _loaded[name] = module
    return module


def is_available(name: str) -> bool:
    try:
        load(name)
    except ImportError:
        return False
    return True


def _select() -> ModuleType:
    requested = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if requested == "auto":
        return load("cython") if is_available("cython") else load("python")
    return load(requested)


active: ModuleType = _select()


def name() -> str:
    return str(active.NAME)


@contextlib.contextmanager
def use(backend: str) -> Iterator[ModuleType]:
    """Run a block with another backend active (for tests and benchmarks)."""
    global active
    previous = active
    active = load(backend)
    try:
        yield active
    finally:
        active = previous
