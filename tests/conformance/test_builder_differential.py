"""Differential property test of the packed-array builder: both backends, identical output.

Random token ids (every input form, ids across the whole int64 range), capacities,
strategies and overflow policies; the Cython and pure-Python backends must build the same
arrays bit for bit, raise the same errors, and every build must keep the contract.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqpacker import (
    FlatTokens,
    PackedArrays,
    Packer,
    PackResult,
    _backend,
    build_packed_arrays,
    pack_and_build,
    pack_sequences,
)

FIELDS = (
    "input_ids",
    "attention_mask",
    "position_ids",
    "labels",
    "shift_labels",
    "seq_lengths_flat",
    "pack_bounds",
    "source_index",
    "cu_seqlens_flat",
)


pytestmark = pytest.mark.requires_cython


@pytest.fixture(autouse=True, scope="module")
def _every_backend(both_backends: None) -> None:
    """Overrides the folder's per-backend fixture: these tests compare both backends."""


token = st.integers(min_value=-(2**63), max_value=2**63 - 1)
small_token = st.integers(min_value=0, max_value=300)
sequences = st.lists(
    st.lists(st.one_of(small_token, token), min_size=1, max_size=40), min_size=1, max_size=30
)


def as_form(token_ids: list[list[int]], form: str) -> object:
    if form == "lists":
        return token_ids
    if form == "tuples":
        return tuple(tuple(seq) for seq in token_ids)
    if form == "arrays":
        return [np.array(seq, dtype=np.int64) for seq in token_ids]
    values = np.array([t for seq in token_ids for t in seq], dtype=np.int64)
    offsets = np.cumsum([0] + [len(seq) for seq in token_ids]).astype(np.int64)
    return FlatTokens(values, offsets)


def build_with(
    backend: str, token_ids: object, result: PackResult | None = None, **options: object
) -> PackedArrays | str:
    """The arrays (of ``result`` if given, else packed by pack_and_build), or the error as
    'TypeName: message' so that errors can be compared too."""
    with _backend.use(backend), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if result is not None:
                return build_packed_arrays(result, token_ids, **options)  # type: ignore[arg-type]
            return pack_and_build(token_ids, **options)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"


def assert_same(compiled: PackedArrays | str, reference: PackedArrays | str) -> None:
    if isinstance(reference, str):
        assert compiled == reference
        return
    assert isinstance(compiled, PackedArrays)
    for name in FIELDS:
        left, right = getattr(compiled, name), getattr(reference, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name
    assert compiled.overflow == reference.overflow


def assert_valid(arrays: PackedArrays) -> None:
    capacity = arrays.capacity
    mask = arrays.attention_mask
    assert mask.sum() == arrays.seq_lengths_flat.sum()
    assert arrays.cu_seqlens_flat[-1] == arrays.num_packs * capacity
    # Positions restart at every segment boundary of the flattened batch.
    starts = np.zeros(arrays.num_packs * capacity, dtype=bool)
    starts[arrays.cu_seqlens_flat[:-1]] = True
    assert np.array_equal(starts, arrays.position_ids.reshape(-1) == 0)
    assert all(cu[-1] <= capacity for cu in arrays.cu_seqlens)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    token_ids=sequences,
    capacity=st.integers(min_value=1, max_value=64),
    strategy=st.sampled_from([short for short, _ in Packer.strategies()]),
    seed=st.integers(min_value=0, max_value=2**32),
    overflow=st.sampled_from(["error", "truncate", "split", "drop"]),
    form=st.sampled_from(["lists", "tuples", "arrays", "flat"]),
    padding_value=st.integers(min_value=-5, max_value=5),
)
def test_backends_build_identical_arrays(
    token_ids: list[list[int]],
    capacity: int,
    strategy: str,
    seed: int,
    overflow: str,
    form: str,
    padding_value: int,
) -> None:
    options = {
        "capacity": capacity,
        "strategy": strategy,
        "seed": seed,
        "overflow": overflow,
        "padding_value": padding_value,
    }
    compiled = build_with("cython", as_form(token_ids, form), **options)
    reference = build_with("python", as_form(token_ids, form), **options)
    assert_same(compiled, reference)
    if isinstance(reference, PackedArrays):
        assert_valid(reference)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    token_ids=sequences,
    capacity=st.integers(min_value=40, max_value=100),
    strategy=st.sampled_from([short for short, _ in Packer.strategies()]),
    form=st.sampled_from(["lists", "tuples", "arrays", "flat"]),
    change=st.sampled_from(["none", "shorter", "array", "float", "bool", "big"]),
    where=st.integers(min_value=0),
)
def test_backends_build_identical_arrays_from_a_packing(
    token_ids: list[list[int]],
    capacity: int,
    strategy: str,
    form: str,
    change: str,
    where: int,
) -> None:
    # build_packed_arrays reads plain int lists in place; any other form or a wrong length
    # must fall back to the general path and give the same arrays or the same error.
    result = pack_sequences([len(t) for t in token_ids], capacity, strategy)
    given_ids = as_form(token_ids, form)
    if change != "none" and isinstance(given_ids, list):
        index = where % len(given_ids)
        sequence = list(given_ids[index])
        replacement = {"shorter": sequence[1:], "array": np.array(sequence)}.get(change)
        if replacement is None:
            value = {"float": 1.5, "bool": True, "big": 2**64}[change]
            replacement = [*sequence[:-1], value]
        given_ids[index] = replacement
    compiled = build_with("cython", given_ids, result, padding_value=-7)
    reference = build_with("python", given_ids, result, padding_value=-7)
    assert_same(compiled, reference)


@settings(max_examples=60, deadline=None)
@given(
    token_ids=st.lists(
        st.lists(
            st.one_of(
                small_token,
                st.integers(min_value=2**63, max_value=2**65),
                st.floats(allow_nan=False),
                st.booleans(),
                st.text(max_size=2),
            ),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_backends_raise_identical_errors(token_ids: list[list[object]]) -> None:
    compiled = build_with("cython", token_ids, capacity=8, overflow="split")
    reference = build_with("python", token_ids, capacity=8, overflow="split")
    if isinstance(reference, str):
        assert compiled == reference
    else:
        assert isinstance(compiled, PackedArrays)
        assert np.array_equal(compiled.input_ids, reference.input_ids)


@pytest.mark.parametrize("change", ["none", "wide ids", "float late"])
def test_large_batches_built_in_blocks_match_the_reference(change: str) -> None:
    # Over 2**20 slots the Cython builder fills blocks of rows on several threads, and the
    # list reader leaves ints beyond one digit (>= 2**30) to a second, GIL-holding pass.
    rng = np.random.default_rng(5)
    lengths = np.clip(rng.lognormal(5.6, 0.7, 4_000).astype(np.int64), 1, 2048)
    values = rng.integers(0, 128_000, size=int(lengths.sum()))
    token_ids = [chunk.tolist() for chunk in np.split(values, np.cumsum(lengths)[:-1])]
    if change == "wide ids":
        for index in range(0, len(token_ids), 97):
            token_ids[index][-1] = -(2**62) + index
    if change == "float late":
        token_ids[-10][0] = 2.5
    result = pack_sequences(lengths, 2048, "obfd")
    assert result.num_bins * 2048 >= 2**20 + 2**18  # several blocks
    for form in ("lists", "flat"):
        given_ids = as_form(token_ids, form) if change != "float late" or form == "lists" else None
        if given_ids is None:
            continue
        compiled = build_with("cython", given_ids, result)
        reference = build_with("python", given_ids, result)
        assert_same(compiled, reference)
