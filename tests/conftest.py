"""Test-wide options. ``--no-cython`` deselects the ``[cython]`` leg of backend tests.

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-cython"):
        return
    kept, deselected = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "cython":
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
        pytest.fail(
            "the seqpacker Cython extension is not built: install seqpacker-core with "
            "SEQPACKER_REQUIRE_EXTENSIONS=1 (nox -s tests), or run pytest with --no-cython",
            pytrace=False,
        )
    with _backend.use(name):
        yield name
