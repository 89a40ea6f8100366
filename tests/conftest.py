"""Test-wide options. ``--no-cython`` deselects the ``[cython]`` leg of backend tests and every
test marked ``requires_cython`` (tests that compare the two backends directly).

Without ``--no-cython`` a missing extension makes every ``[cython]`` test FAIL: the pure-Python
nox leg passes the option explicitly, everything else must have the extension built.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-cython",
        action="store_true",
        default=False,
        help="deselect the [cython] leg of backend-parametrized tests (pure-Python builds)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires_cython: compares both backends directly; deselected by --no-cython",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-cython"):
        return
    kept, deselected = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_cython_leg = callspec is not None and callspec.params.get("backend") == "cython"
        if on_cython_leg or item.get_closest_marker("requires_cython") is not None:
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(params=["cython", "python"])
def backend(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Run the test with one core backend active; ids ``[cython]`` / ``[python]``."""
    from seqpacker import _backend

    name = request.param
    if not _backend.is_available(name):
        fail_without_extension()
    with _backend.use(name):
        yield name


def fail_without_extension() -> None:
    pytest.fail(
        "the seqpacker Cython extension is not built: install seqpacker-core with "
        "SEQPACKER_REQUIRE_EXTENSIONS=1 (nox -s tests), or run pytest with --no-cython",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def both_backends() -> None:
    """For tests that compare the two backends directly (marked ``requires_cython``): fails
    loudly when the extension is missing; ``--no-cython`` deselects those tests instead."""
    from seqpacker import _backend

    if not _backend.is_available("cython"):
        fail_without_extension()
