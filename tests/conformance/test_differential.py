"""Differential tests: the Cython and pure-Python backends give identical results.

Every test here switches backends itself (``_backend.use``), so it is not parametrized by the
``backend`` fixture: it needs the extension (``both_backends`` fails loudly without it) and
``--no-cython`` deselects it through the ``requires_cython`` marker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqpacker import Packer, StreamPacker, _backend
from seqpacker._strategies import MAX_CAPACITY, STRATEGIES

pytestmark = pytest.mark.requires_cython

NAMES = [short for short, _ in STRATEGIES]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
TIMING_FIELDS = {"packing_time_ms", "throughput"}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _every_backend(both_backends: None) -> None:
    """Overrides the folder's per-backend fixture: these tests compare both backends."""


def on_both(call: Callable[[], Any]) -> tuple[Any, Any]:
    """``call()`` under the Python backend, then under the Cython backend."""
    with _backend.use("python"):
        expected = call()
    with _backend.use("cython"):
        actual = call()
    return expected, actual


def outcome(call: Callable[[], Any]) -> Any:
    """The value, or the error as (type, message), so that errors can be compared too."""
    try:
        return call()
    except (TypeError, ValueError) as exc:
        return (type(exc), str(exc))


def assert_same_packing(expected: Any, actual: Any) -> None:
    for result in (expected, actual):
        assert result.items_flat.dtype == np.int64
        assert result.bin_bounds.dtype == np.int64
    assert_same_bins(actual, expected)
    np.testing.assert_array_equal(actual.lengths, expected.lengths)
    for name in expected.metrics.__dataclass_fields__:
        if name not in TIMING_FIELDS:
            assert getattr(actual.metrics, name) == getattr(expected.metrics, name), name


def assert_same_bins(result: Any, other: Any) -> None:
    np.testing.assert_array_equal(result.items_flat, other.items_flat)
    np.testing.assert_array_equal(result.bin_bounds, other.bin_bounds)


def assert_valid(result: Any, lengths: list[int], capacity: int) -> None:
    assert sorted(result.items_flat.tolist()) == list(range(len(lengths)))
    assert all(load <= capacity for load in result.bin_loads.tolist())
    assert int(result.bin_loads.sum()) == sum(lengths)


@st.composite
def packing_inputs(draw: st.DrawFn) -> tuple[list[int], int]:
    """Lengths in 1..capacity; small capacities make bins fill, caps on the item size make
    many tiny items, and a few repeated values make many equal remaining spaces."""
    capacity = draw(
        st.one_of(
            st.integers(1, 12),
            st.integers(1, 3000),
            st.integers(1, 2**31 - 1),
            st.integers(2**31, MAX_CAPACITY),  # the kernels' int64-only paths
        )
    )
    largest = draw(st.sampled_from([capacity, max(1, capacity // 3), max(1, capacity // 10)]))
    values = st.integers(1, largest)
    if draw(st.booleans()):
        values = st.sampled_from(draw(st.lists(values, min_size=1, max_size=3)))
    lengths = draw(st.lists(values, min_size=1, max_size=120))
    return lengths, capacity


def as_input(lengths: list[int], form: str, dtype: Any) -> Any:
    """``lengths`` as a list, a numpy array of ``dtype``, or a non-contiguous slice of one."""
    if form == "list":
        return list(lengths)
    if form == "tuple":
        return tuple(lengths)
    if form == "array":
        return np.array(lengths, dtype=dtype)
    padded = np.zeros(2 * len(lengths), dtype=dtype)
    padded[::2] = lengths
    view = padded[::2]
    assert len(lengths) == 1 or not view.flags.c_contiguous
    return view


def fitting_dtypes(lengths: list[int]) -> list[Any]:
    top = max(lengths)
    return [dtype for dtype in INT_DTYPES if np.iinfo(dtype).max >= top]


@SETTINGS
@given(
    inputs=packing_inputs(),
    strategy=st.sampled_from(NAMES),
    seed=st.one_of(st.none(), st.integers(-(2**70), 2**70)),
    k=st.one_of(st.none(), st.integers(2, 12), st.integers(2, 2**70)),
    form=st.sampled_from(["list", "tuple", "array", "strided"]),
    data=st.data(),
)
def test_every_strategy_packs_identically(
    *,
    inputs: tuple[list[int], int],
    strategy: str,
    seed: int | None,
    k: int | None,
    form: str,
    data: st.DataObject,
) -> None:
    lengths, capacity = inputs
    dtype = data.draw(st.sampled_from(fitting_dtypes(lengths)))
    given_lengths = as_input(lengths, form, dtype)
    packer_k = k if strategy == "hk" else None
    expected, actual = on_both(
        lambda: Packer(capacity, strategy, seed, k=packer_k).pack(given_lengths)
    )
    assert_same_packing(expected, actual)
    assert_valid(actual, lengths, capacity)


@SETTINGS
@given(inputs=packing_inputs())
def test_obfd_is_bfd_and_obfdp_is_obfd(inputs: tuple[list[int], int]) -> None:
    lengths, capacity = inputs
    for name in ("python", "cython"):
        with _backend.use(name):
            bfd, obfd, obfdp = (Packer(capacity, s).pack(lengths) for s in ("bfd", "obfd", "obfdp"))
        assert_same_bins(obfd, bfd)
        assert_same_bins(obfdp, obfd)


@pytest.mark.parametrize(
    ("capacity", "high"),
    [(2048, 2048), (300, 300), (2**20, 2**20), (2**31 - 1, 2**31 - 1), (2048, 40)],
    ids=["uniform-2048", "small-capacity", "capacity-2^20", "capacity-2^31", "tiny-items"],
)
def test_large_inputs_pack_identically(capacity: int, high: int) -> None:
    """Beyond one obfdp shard (65536 ids), on the capacity-indexed and the ordered-set paths."""
    lengths = np.random.default_rng(capacity + high).integers(1, high + 1, 140_000)
    for strategy in ("obfdp", "mffd", "ffd", "wf", "hk"):
        expected, actual = on_both(lambda s=strategy: Packer(capacity, s).pack(lengths))
        assert_same_packing(expected, actual)
    with _backend.use("cython"):
        obfd = Packer(capacity, "obfd").pack(lengths)
        assert_same_bins(Packer(capacity, "obfdp").pack(lengths), obfd)
        assert_same_bins(Packer(capacity, "bfd").pack(lengths), obfd)


# Capacities beyond the dense limit of small inputs (65536 + 4n values): the Cython backend's
# sparse radix index over remaining space, with 1 (70_000) up to 4 (2^40) levels of 64 digits.
SPARSE_CAPACITIES = [70_000, 2**20, 2**24 + 5, 2**31 - 1, 2**40]
FIT_BY_REMAINING = ["bf", "wf", "bfd", "obfd", "obfdp"]


@st.composite
def sparse_index_inputs(draw: st.DrawFn) -> tuple[list[int], int]:
    """Remaining spaces that share prefixes and digits, sit on digit boundaries (offsets by
    multiples of powers of 64), repeat (many bins with equal space), or spread out."""
    capacity = draw(st.one_of(st.sampled_from(SPARSE_CAPACITIES), st.integers(70_000, 2**40)))
    step = 64 ** draw(st.integers(0, 3))
    offsets = st.one_of(
        st.integers(0, 200),  # bins left with little space: many values in one leaf
        st.integers(0, 2**14),  # a few hundred values over some prefixes: many small trees
        st.integers(0, 63).map(lambda digit: digit * step),
        st.integers(0, capacity - 1),
    )
    near_full = offsets.map(lambda offset: capacity - min(offset, capacity - 1))
    small = st.integers(1, draw(st.sampled_from([64, 4096, capacity // 3 or 1])))
    values = st.one_of(near_full, small, st.integers(1, capacity))
    if draw(st.booleans()):
        values = st.sampled_from(draw(st.lists(values, min_size=1, max_size=4)))
    return draw(st.lists(values, min_size=1, max_size=300)), capacity


@SETTINGS
@given(inputs=sparse_index_inputs(), strategy=st.sampled_from(FIT_BY_REMAINING))
def test_large_capacities_fit_identically(inputs: tuple[list[int], int], strategy: str) -> None:
    lengths, capacity = inputs
    expected, actual = on_both(lambda: Packer(capacity, strategy).pack(lengths))
    assert_same_packing(expected, actual)
    assert_valid(actual, lengths, capacity)


@pytest.mark.parametrize("capacity", [2**24, 2**31 - 1, 2**40], ids=["2^24", "2^31-1", "2^40"])
def test_many_bins_at_large_capacities_fit_identically(capacity: int) -> None:
    """Thousands of open bins: equal spaces by the hundred (few distinct lengths) next to
    distinct ones, so that radix nodes fill, split into larger blocks and empty again."""
    rng = np.random.default_rng(capacity)
    repeated = rng.choice(capacity - rng.integers(0, 5000, 40), 6000)
    distinct = rng.integers(1, capacity + 1, 6000)
    tiny = rng.integers(1, 100, 3000)
    lengths = np.concatenate([repeated, distinct, tiny])
    rng.shuffle(lengths)
    for strategy in FIT_BY_REMAINING:
        expected, actual = on_both(lambda s=strategy: Packer(capacity, s).pack(lengths))
        assert_same_packing(expected, actual)


@st.composite
def bad_inputs(draw: st.DrawFn) -> tuple[Any, int]:
    capacity = draw(st.integers(1, 1000))
    lengths: list[Any] = draw(st.lists(st.integers(1, capacity), min_size=0, max_size=30))
    for _ in range(draw(st.integers(0, 3))):
        bad = draw(
            st.one_of(
                st.integers(-(2**63), 0),
                st.integers(capacity + 1, 2**63 - 1),
                st.integers(2**63, 2**70),
                st.floats(allow_nan=False, allow_infinity=False),
                st.booleans(),
                st.text(max_size=3),
            )
        )
        lengths.insert(draw(st.integers(0, len(lengths))), bad)
    if draw(st.booleans()):
        try:
            return np.array(lengths), capacity
        except (OverflowError, ValueError):
            pass
    return lengths, capacity


@SETTINGS
@given(inputs=bad_inputs(), strategy=st.sampled_from(NAMES))
def test_errors_are_identical(inputs: tuple[Any, int], strategy: str) -> None:
    lengths, capacity = inputs
    expected, actual = on_both(lambda: outcome(lambda: Packer(capacity, strategy).pack(lengths)))
    if isinstance(expected, tuple):
        assert actual == expected
    else:
        assert_same_packing(expected, actual)


@SETTINGS
@given(
    capacity=st.integers(1, 64),
    strategy=st.sampled_from(["nf", "hk"]),
    k=st.one_of(st.none(), st.integers(2, 8)),
    data=st.data(),
)
def test_streams_emit_identically(
    capacity: int, strategy: str, k: int | None, data: st.DataObject
) -> None:
    lengths = data.draw(st.lists(st.integers(-2, capacity + 2), min_size=0, max_size=80))

    def emissions() -> list[Any]:
        packer = StreamPacker(capacity, strategy, k=k if strategy == "hk" else None)
        emitted: list[Any] = []
        for length in lengths:
            emitted.append(outcome(lambda length=length: packer.add(length)))
        emitted.append(packer.finish())
        emitted.append(outcome(lambda: packer.add(1)))
        return [
            [(p.sequence_ids, p.lengths, p.used) for p in e] if isinstance(e, list) else e
            for e in emitted
        ]

    expected, actual = on_both(emissions)
    assert actual == expected


@pytest.fixture(scope="module")
def int64_ids() -> Any:
    """Make the Cython orders use int64 ids (normally only beyond 2**31 - 1 items)."""
    from seqpacker._cython import _kernels

    previous = _kernels._set_narrow_ids_max(0)
    yield
    _kernels._set_narrow_ids_max(previous)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=packing_inputs(), strategy=st.sampled_from(NAMES))
def test_int64_id_orders_pack_identically(
    int64_ids: None, inputs: tuple[list[int], int], strategy: str
) -> None:
    lengths, capacity = inputs
    expected, actual = on_both(lambda: Packer(capacity, strategy).pack(lengths))
    assert_same_packing(expected, actual)
