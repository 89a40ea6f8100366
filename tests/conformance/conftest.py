"""Every test in this folder runs once per core backend ([cython] and [python])."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _every_backend(backend: str) -> str:
    return backend
