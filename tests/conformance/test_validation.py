"""Bad input gets a clear error naming what is wrong, and nothing is packed (DESIGN.md §3)."""

from __future__ import annotations

import numpy as np
import pytest
from seqpacker import Packer, StreamPacker, pack_sequences

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def as_every_container(values: list[int]) -> list[object]:
    """The same values as a list, a tuple, and arrays of every integer dtype that holds them,
    contiguous and strided."""
    containers: list[object] = [list(values), tuple(values)]
    for dtype in INT_DTYPES:
        info = np.iinfo(dtype)
        if all(info.min <= v <= info.max for v in values):
            containers.append(np.array(values, dtype=dtype))
            strided = np.zeros(2 * len(values), dtype=dtype)
            strided[::2] = values
            containers.append(strided[::2])
    return containers


def test_every_integer_container_gives_the_same_packing() -> None:
    values = [100, 20, 7, 90, 33, 1, 127]
    expected = pack_sequences(values, 128, "bfd")
    for container in as_every_container(values):
        assert pack_sequences(container, 128, "bfd") == expected


def test_input_is_copied_not_aliased() -> None:
    lengths = np.array([5, 6, 7], dtype=np.int64)
    result = pack_sequences(lengths, 10)
    lengths[:] = 1
    assert result.lengths.tolist() == [5, 6, 7]


@pytest.mark.parametrize("empty", [[], (), np.array([], dtype=np.int64)])
def test_empty_input(empty: object) -> None:
    with pytest.raises(ValueError, match=r"^empty input: no sequences to pack$"):
        pack_sequences(empty, 10)


@pytest.mark.parametrize("bad", [0, -3])
def test_non_positive_length_names_index_value_and_capacity(bad: int) -> None:
    for container in as_every_container([4, 5, bad, 6]) if bad >= 0 else [[4, 5, bad, 6]]:
        with pytest.raises(ValueError, match=rf"index 2 is {bad}.*capacity 10"):
            pack_sequences(container, 10)


def test_negative_lengths_in_signed_arrays() -> None:
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        with pytest.raises(ValueError, match=r"index 1 is -1.*>= 1.*capacity 10"):
            pack_sequences(np.array([3, -1, 2], dtype=dtype), 10)


def test_length_over_capacity_names_index_value_and_capacity() -> None:
    for container in as_every_container([4, 11, 5, 12]):
        with pytest.raises(
            ValueError, match=r"^length at index 1 is 11, larger than the capacity 10$"
        ):
            pack_sequences(container, 10)


def test_lowest_offending_index_is_reported() -> None:
    with pytest.raises(ValueError, match="index 1 is 0"):
        pack_sequences([5, 0, 99, -1], 10)
    with pytest.raises(ValueError, match="index 2 is 99"):
        pack_sequences([5, 1, 99, -1], 10)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ([1, 2.0, 3], r"got 2\.0 \(float\) at index 1"),
        ([1, True, 3], r"got a bool at index 1"),
        ([1, "2", 3], r"got '2' \(str\) at index 1"),
        ([1, [2], 3], r"got \[2\] \(list\) at index 1"),
        ([1, 2, 2**63], r"index 2 is 9223372036854775808, beyond the int64 range"),
        ([1, None], r"got None \(NoneType\) at index 1"),
        (np.array([1.0, 2.0]), r"integer dtype, got dtype float64"),
        (np.array([True, False]), r"integer dtype, got dtype bool"),
        (np.array(["1", "2"]), r"integer dtype, got dtype <U1"),
        (np.array([[1, 2], [3, 4]]), r"1-D array, got a 2-D array of shape \(2, 2\)"),
        (np.array([1, 2**64 - 1], dtype=np.uint64), r"index 1 is 18446744073709551615, beyond"),
        (np.array([1, 2.5], dtype=object), r"got 2\.5 \(float\) at index 1"),
        ({1, 2}, r"list or tuple of ints or a 1-D numpy integer array, got set"),
        ("123", r"got str"),
        (5, r"got int"),
    ],
)
def test_type_errors_name_what_was_given(lengths: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        pack_sequences(lengths, 10)


def test_numpy_integer_scalars_in_a_list_are_ints() -> None:
    assert pack_sequences([np.int32(3), np.uint8(4), 5], 10, "nf").bins == [[0, 1], [2]]


@pytest.mark.parametrize(
    ("capacity", "error", "message"),
    [
        (0, ValueError, "capacity must be a positive int, got 0"),
        (-5, ValueError, "capacity must be a positive int, got -5"),
        (2**41, ValueError, "larger than the supported maximum"),
        (10.0, TypeError, "capacity must be an int, got float"),
        (True, TypeError, "capacity must be an int, got bool"),
        ("10", TypeError, "capacity must be an int, got str"),
        (None, TypeError, "capacity must be an int, got NoneType"),
    ],
)
def test_bad_capacity(capacity: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Packer(capacity)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        StreamPacker(capacity)  # type: ignore[arg-type]


def test_numpy_integer_capacity_is_accepted() -> None:
    assert Packer(np.int64(10)).capacity == 10


def test_unknown_strategy_lists_the_valid_ones() -> None:
    valid = "nf, ff, bf, wf, ffd, bfd, ffs, mffd, obfd, obfdp, hk"
    with pytest.raises(
        ValueError, match=rf"unknown strategy 'fastest'; valid strategies: {valid}$"
    ):
        Packer(10, "fastest")
    with pytest.raises(TypeError, match="strategy must be a string, got int"):
        Packer(10, 3)  # type: ignore[arg-type]


def test_stream_strategies_are_the_online_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown strategy 'ffd'; valid strategies: nf, hk"):
        StreamPacker(10, "ffd")


@pytest.mark.parametrize(
    ("k", "error"), [(1, ValueError), (0, ValueError), (-2, ValueError), (2.0, TypeError)]
)
def test_bad_k(k: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="k must be"):
        Packer(10, "hk", k=k)  # type: ignore[arg-type]
    with pytest.raises(error, match="k must be"):
        StreamPacker(10, "hk", k=k)  # type: ignore[arg-type]


def test_k_only_applies_to_harmonic_k() -> None:
    with pytest.raises(ValueError, match="k applies to the 'hk' strategy only"):
        Packer(10, "ffd", k=4)


@pytest.mark.parametrize("seed", [1.5, "1", True])
def test_bad_seed(seed: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int or None"):
        Packer(10, "ffs", seed=seed)  # type: ignore[arg-type]


def test_stream_add_validates_each_length() -> None:
    stream = StreamPacker(10)
    stream.add(3)
    with pytest.raises(ValueError, match=r"^length at index 1 is 11, larger than the capacity 10$"):
        stream.add(11)
    with pytest.raises(ValueError, match=r"index 1 is 0"):
        stream.add(0)
    with pytest.raises(TypeError, match=r"got 2\.0 \(float\) at index 1"):
        stream.add(2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got True \(bool\) at index 1"):
        stream.add(True)
    # the rejected lengths were not added
    assert stream.sequences_added == 1
    assert stream.finish()[0].sequence_ids == [0]
