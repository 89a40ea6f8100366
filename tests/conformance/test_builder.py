"""The packed-array builder (DESIGN.md §5) on each core backend: contents, forms, errors."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from seqpacker import (
    FlatTokens,
    OverflowReport,
    PackedArrays,
    PackResult,
    RowBuffers,
    build_packed_arrays,
    build_packed_arrays_at,
    pack_and_build,
    pack_sequences,
)

ROW_FIELDS = ("input_ids", "attention_mask", "position_ids", "labels", "shift_labels")


def random_tokens(count: int, max_length: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_length + 1, size=count)
    return [rng.integers(0, 50_000, size=int(n)).tolist() for n in lengths]


def assert_same_arrays(a: PackedArrays, b: PackedArrays) -> None:
    for name in (*ROW_FIELDS, "seq_lengths_flat", "pack_bounds", "source_index"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype, name
        np.testing.assert_array_equal(left, right, err_msg=name)


def test_known_answer() -> None:
    # nf, capacity 4: pack 0 = [seq 0], pack 1 = [seq 1, seq 2].
    tokens = [[11, 12, 13], [21, 22], [31]]
    result = pack_sequences([3, 2, 1], 4, "nf")
    assert result.bins == [[0], [1, 2]]
    arrays = build_packed_arrays(result, tokens, padding_value=7, label_padding_value=-1)
    expected = {
        "input_ids": [[11, 12, 13, 7], [21, 22, 31, 7]],
        "attention_mask": [[1, 1, 1, 0], [1, 1, 1, 0]],
        "position_ids": [[0, 1, 2, 0], [0, 1, 0, 0]],
        "labels": [[-1, 12, 13, -1], [-1, 22, -1, -1]],
        "shift_labels": [[12, 13, -1, -1], [22, -1, -1, -1]],
    }
    for name, rows in expected.items():
        array = getattr(arrays, name)
        assert array.dtype == np.int64 and array.shape == (2, 4), name
        assert array.tolist() == rows, name
    assert arrays.seq_lengths_flat.dtype == np.int32
    assert arrays.seq_lengths_flat.tolist() == [3, 2, 1]
    assert arrays.pack_bounds.tolist() == [0, 1, 3]
    assert [s.tolist() for s in arrays.seq_lengths] == [[3], [2, 1]]
    assert [c.tolist() for c in arrays.cu_seqlens] == [[0, 3], [0, 2, 3]]
    assert all(c.dtype == np.int32 for c in arrays.cu_seqlens)
    assert arrays.max_seqlen == 3 and isinstance(arrays.max_seqlen, int)
    # Flattened: seq 0, tail of pack 0, seq 1, seq 2, tail of pack 1.
    assert arrays.cu_seqlens_flat.tolist() == [0, 3, 4, 6, 7, 8]
    assert arrays.cu_seqlens_flat.dtype == np.int32
    assert arrays.max_seqlen_flat == 3
    assert arrays.source_index.tolist() == [0, 1, 2]
    assert arrays.result is result and arrays.overflow is None
    assert arrays.num_packs == 2 and arrays.capacity == 4


def test_full_pack_has_no_tail_segment() -> None:
    arrays = build_packed_arrays(pack_sequences([2, 2], 4, "nf"), [[1, 2], [3, 4]])
    assert arrays.cu_seqlens_flat.tolist() == [0, 2, 4]
    assert arrays.attention_mask.tolist() == [[1, 1, 1, 1]]
    # A full last row: its last shifted label is the buffer's extra masked slot.
    assert arrays.shift_labels.tolist() == [[2, -100, 4, -100]]


def test_shift_labels_view_the_labels_one_slot_later() -> None:
    # Two full rows, so each row's last shifted label comes from past the row's end.
    result = pack_sequences([2, 2, 3, 1], 4, "nf")
    arrays = build_packed_arrays(result, [[1, 2], [3, 4], [5, 6, 7], [8]])
    assert arrays.shift_labels.tolist() == [[2, -100, 4, -100], [6, 7, -100, -100]]
    assert np.shares_memory(arrays.labels, arrays.shift_labels)
    assert arrays.labels.flags.c_contiguous and arrays.shift_labels.flags.c_contiguous
    # Masking a token in the aligned labels (a prompt token, say) masks the same token in
    # the pre-shifted form, one slot earlier.
    arrays.labels[1, 2] = -100
    assert arrays.shift_labels[1].tolist() == [6, -100, -100, -100]


def test_contract_on_random_packings() -> None:
    tokens = random_tokens(300, 90, seed=1)
    capacity = 128
    result = pack_sequences([len(t) for t in tokens], capacity, "obfd")
    arrays = build_packed_arrays(result, tokens, padding_value=-5, label_padding_value=-100)
    flat_boundaries = arrays.cu_seqlens_flat.tolist()
    assert flat_boundaries[-1] == arrays.num_packs * capacity
    flat_position = 0
    for pack, ids in enumerate(result.bins):
        row = {name: getattr(arrays, name)[pack].tolist() for name in ROW_FIELDS}
        offset = 0
        for seq in ids:
            seq_tokens = tokens[seq]
            n = len(seq_tokens)
            window = slice(offset, offset + n)
            assert row["input_ids"][window] == seq_tokens
            assert row["attention_mask"][window] == [1] * n
            assert row["position_ids"][window] == list(range(n))
            assert row["labels"][window] == [-100, *seq_tokens[1:]]
            assert row["shift_labels"][window] == [*seq_tokens[1:], -100]
            assert flat_position + offset in flat_boundaries
            offset += n
        tail = capacity - offset
        assert arrays.cu_seqlens[pack][-1] == offset
        assert row["input_ids"][offset:] == [-5] * tail
        assert row["attention_mask"][offset:] == [0] * tail
        assert row["position_ids"][offset:] == list(range(tail))
        assert row["labels"][offset:] == [-100] * tail
        assert row["shift_labels"][offset:] == [-100] * tail
        flat_position += capacity
    assert arrays.max_seqlen == max(len(t) for t in tokens)
    assert arrays.max_seqlen_flat == int(np.diff(arrays.cu_seqlens_flat).max())


def test_every_input_form_gives_the_same_arrays() -> None:
    tokens = random_tokens(60, 40, seed=2)
    result = pack_sequences([len(t) for t in tokens], 64, "ffd")
    reference = build_packed_arrays(result, tokens)
    values = np.array([t for seq in tokens for t in seq], dtype=np.int32)
    offsets = np.cumsum([0] + [len(t) for t in tokens]).astype(np.int32)
    forms = [
        tuple(tuple(t) for t in tokens),
        [np.array(t, dtype=np.int16 if max(t) < 2**15 else np.int64) for t in tokens],
        [np.array(t, dtype=np.uint32) for t in tokens],
        [np.array(t)[::1] if i % 2 else t for i, t in enumerate(tokens)],  # mixed forms
        [[np.int64(x) for x in t] for t in tokens],  # numpy scalars
        FlatTokens(values, offsets),
        FlatTokens(values.astype(np.uint16), offsets.astype(np.int64)),
    ]
    for form in forms:
        assert_same_arrays(build_packed_arrays(result, form), reference)


def test_flat_tokens_sliced_from_a_larger_buffer() -> None:
    tokens = random_tokens(20, 30, seed=3)
    result = pack_sequences([len(t) for t in tokens[5:15]], 64)
    values = np.array([t for seq in tokens for t in seq], dtype=np.int64)
    offsets = np.cumsum([0] + [len(t) for t in tokens]).astype(np.int64)
    sliced = FlatTokens(values, offsets[5:16])  # Arrow keeps the whole buffer's offsets
    assert sliced.offsets[0] > 0
    assert_same_arrays(
        build_packed_arrays(result, sliced), build_packed_arrays(result, tokens[5:15])
    )


def test_large_and_negative_token_ids_survive() -> None:
    tokens = [[2**63 - 1, -(2**63), 0], [-1]]
    arrays = build_packed_arrays(pack_sequences([3, 1], 8), tokens)
    assert arrays.input_ids[0, :3].tolist() == [2**63 - 1, -(2**63), 0]


@pytest.mark.parametrize(
    ("token_ids", "error", "message"),
    [
        ([[1, 2, 3]], ValueError, "token_ids has 1 sequences but the packing has 2"),
        ([[1, 2, 3], [4], [5]], ValueError, "token_ids has 3 sequences but the packing has 2"),
        ([[1, 2], [4, 5]], ValueError, r"token_ids\[0\] has 2 tokens but the packing says 3"),
        ([[1, 2, 3], [4]], ValueError, r"token_ids\[1\] has 1 tokens but the packing says 2"),
        ([[1, 2.0, 3], [4, 5]], TypeError, r"token_ids\[0\] position 1: .*integers.*float"),
        ([[1, 2, 3], [4, True]], TypeError, r"token_ids\[1\] position 1: .*got a bool"),
        ([[1, 2, 3], ["a", 5]], TypeError, r"token_ids\[1\] position 0: .*str"),
        ([[1, 2, 2**63], [4, 5]], TypeError, r"token_ids\[0\] position 2: .*int64 range"),
        ([[1, 2, 3], "ab"], TypeError, r"token_ids\[1\] must be a list or tuple"),
        ([[1, 2, 3], [[4], [5]]], TypeError, r"token_ids\[1\] position 0"),
        ([[1, 2, 3], np.array([4.0, 5.0])], TypeError, r"token_ids\[1\] must have an integer"),
        ([[1, 2, 3], np.array([True, False])], TypeError, r"token_ids\[1\] must have an integer"),
        ([[1, 2, 3], np.ones((1, 2), np.int64)], TypeError, r"token_ids\[1\] must be 1-D"),
        (
            [[1, 2, 3], np.array([1, 2**64 - 1], np.uint64)],
            TypeError,
            r"token_ids\[1\] position 1: token id 18446744073709551615",
        ),
        (np.ones((2, 3), np.int64), TypeError, "list\\(array\\)"),
        ({"input_ids": []}, TypeError, "got dict"),
        # Type errors come before length errors: the bad sequence 1 beats short sequence 0.
        ([[1], [4, 5.5]], TypeError, r"token_ids\[1\] position 1"),
    ],
)
def test_bad_token_ids(token_ids: object, error: type, message: str) -> None:
    result = pack_sequences([3, 2], 8, "nf")
    with pytest.raises(error, match=message):
        build_packed_arrays(result, token_ids)


@pytest.mark.parametrize(
    ("tokens", "error", "message"),
    [
        (FlatTokens([1, 2], np.array([0, 2])), TypeError, "FlatTokens needs numpy arrays"),
        (FlatTokens(np.array([1.0, 2.0]), np.array([0, 2])), TypeError, "FlatTokens.values"),
        (FlatTokens(np.arange(3), np.array([0.0, 2.0])), TypeError, "FlatTokens.offsets"),
        (FlatTokens(np.arange(3), np.array([0, 4])), ValueError, "non-decreasing"),
        (FlatTokens(np.arange(3), np.array([2, 1])), ValueError, "non-decreasing"),
        (FlatTokens(np.arange(3), np.array([], np.int64)), ValueError, "got 0"),
        (FlatTokens(np.arange(3), np.array([0, 1, 3])), ValueError, "2 sequences"),
    ],
)
def test_bad_flat_tokens(tokens: FlatTokens, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build_packed_arrays(pack_sequences([2], 8), tokens)


def test_bad_options() -> None:
    result = pack_sequences([1], 8)
    with pytest.raises(TypeError, match=r"padding_value must be an int, got 0\.5"):
        build_packed_arrays(result, [[1]], padding_value=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="label_padding_value must be an int, got True"):
        build_packed_arrays(result, [[1]], label_padding_value=True)
    with pytest.raises(ValueError, match="padding_value is 9223372036854775808"):
        build_packed_arrays(result, [[1]], padding_value=2**63)
    with pytest.raises(TypeError, match="result must be a PackResult"):
        build_packed_arrays([[0]], [[1]])  # type: ignore[arg-type]


def test_corrupt_packing_is_refused() -> None:
    def packing(capacity: int, items: list[int]) -> PackResult:
        return PackResult(
            capacity=capacity,
            strategy="nf",
            seed=None,
            lengths=np.array([3, 2]),
            items_flat=np.array(items),
            bin_bounds=np.array([0, 2]),
            time_ms=0.0,
        )

    for bad in (packing(4, [0, 1]), packing(8, [0, 5])):  # over capacity, id out of range
        with pytest.raises(ValueError, match="not a valid packing"):
            build_packed_arrays(bad, [[1, 2, 3], [4, 5]])
    assert build_packed_arrays(packing(8, [0, 1]), [[1, 2, 3], [4, 5]]).num_packs == 1


# ---- pack_and_build


def test_pack_and_build_matches_the_two_steps() -> None:
    tokens = random_tokens(100, 60, seed=4)
    arrays = pack_and_build(tokens, 64, strategy="ffs", seed=9, padding_value=3)
    result = pack_sequences([len(t) for t in tokens], 64, "ffs", 9)
    assert arrays.result == result
    assert_same_arrays(arrays, build_packed_arrays(result, tokens, padding_value=3))
    assert arrays.overflow == OverflowReport(policy="error", capacity=64)


def test_overflow_error_names_the_sequence() -> None:
    with pytest.raises(ValueError, match=r"token_ids\[1\] has 9 tokens, more than the capacity 8"):
        pack_and_build([[1] * 3, [2] * 9, [3] * 10], 8)


def test_overflow_truncate() -> None:
    tokens = [[1, 2, 3], list(range(100, 110)), [4, 5]]
    with pytest.warns(UserWarning, match=r"truncated 1 sequence.*2 token\(s\) removed"):
        arrays = pack_and_build(tokens, 8, strategy="nf", overflow="truncate")
    assert arrays.overflow is not None
    assert arrays.overflow.truncated == (1,) and arrays.overflow.tokens_removed == 2
    assert arrays.result.lengths.tolist() == [3, 8, 2]
    assert arrays.input_ids[1].tolist() == list(range(100, 108))
    assert arrays.source_index.tolist() == [0, 1, 2]


def test_overflow_split_keeps_every_token() -> None:
    tokens = [[1, 2], list(range(100, 119)), [4]]
    with pytest.warns(UserWarning, match=r"split 1 sequence\(s\) into 3 pieces"):
        arrays = pack_and_build(tokens, 8, strategy="nf", overflow="split")
    report = arrays.overflow
    assert report is not None and report.split == (1,) and report.tokens_removed == 0
    assert report.pieces_added == 2
    assert arrays.result.lengths.tolist() == [2, 8, 8, 3, 1]
    assert arrays.source_index.tolist() == [0, 1, 1, 1, 2]
    # Each piece is a sequence of its own: positions and labels restart.
    real = arrays.input_ids[arrays.attention_mask == 1].tolist()
    assert sorted(real) == sorted(t for seq in tokens for t in seq)
    assert arrays.input_ids[1].tolist() == list(range(100, 108))
    assert arrays.labels[2, 0] == -100 and arrays.position_ids[2, 0] == 0


def test_overflow_drop() -> None:
    tokens = [[1, 2], [9] * 20, [4], [8] * 9]
    with pytest.warns(UserWarning, match=r"dropped 2 sequence.*29 token\(s\) removed"):
        arrays = pack_and_build(tokens, 8, overflow="drop")
    assert arrays.overflow is not None and arrays.overflow.dropped == (1, 3)
    assert arrays.source_index.tolist() == [0, 2]
    assert arrays.result.lengths.tolist() == [2, 1]


def test_no_warning_when_nothing_overflows() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pack_and_build([[1, 2], [3]], 8, overflow="truncate")


def test_pack_and_build_errors() -> None:
    with pytest.raises(ValueError, match="unknown overflow policy 'clip'"):
        pack_and_build([[1]], 8, overflow="clip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"token_ids\[1\] is empty"):
        pack_and_build([[1], [], [2]], 8)
    with pytest.raises(ValueError, match="empty input"):
        pack_and_build([], 8)
    with pytest.raises(TypeError, match="capacity must be an int"):
        pack_and_build([[1]], 8.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown strategy"):
        pack_and_build([[1]], 8, strategy="nope")
    with pytest.raises(TypeError, match=r"token_ids\[0\] position 0"):
        pack_and_build([[1.5]], 8)


def test_packed_arrays_pickle() -> None:
    arrays = pack_and_build(random_tokens(20, 10, seed=5), 16)
    clone = pickle.loads(pickle.dumps(arrays))
    assert_same_arrays(clone, arrays)
    assert clone.result == arrays.result


def test_build_at_starts_reads_any_layout_of_int32_or_int64_values() -> None:
    tokens = random_tokens(40, 30, seed=21)
    result = pack_sequences([len(t) for t in tokens], 64, "obfd")
    expected = build_packed_arrays(result, tokens, padding_value=3)
    # The sequences in reverse order with a gap of junk tokens before each one.
    values, starts = [], []
    for sequence in reversed(tokens):
        values += [9_999] * 3
        starts.append(len(values))
        values += sequence
    starts = np.array(starts[::-1], dtype=np.int32)
    for dtype in (np.int32, np.int64, np.uint16):
        built = build_packed_arrays_at(
            result, np.array(values, dtype=dtype), starts, padding_value=3
        )
        assert_same_arrays(built, expected)


def test_build_at_starts_errors() -> None:
    result = pack_sequences([2, 3], 8, "nf")
    values = np.arange(10, dtype=np.int64)
    with pytest.raises(ValueError, match="starts has 1 entries but the packing has 2"):
        build_packed_arrays_at(result, values, np.array([0]))
    with pytest.raises(ValueError, match="starts or ends outside"):
        build_packed_arrays_at(result, values, np.array([0, 8]))
    with pytest.raises(ValueError, match="starts or ends outside"):
        build_packed_arrays_at(result, values, np.array([-1, 2]))
    with pytest.raises(TypeError, match="must have an integer dtype"):
        build_packed_arrays_at(result, values.astype(float), np.array([0, 2]))
    with pytest.raises(TypeError, match="numpy arrays"):
        build_packed_arrays_at(result, list(range(10)), np.array([0, 2]))  # type: ignore[arg-type]


def test_building_into_reused_buffers() -> None:
    buffers = RowBuffers.allocate(rows=12, capacity=64)
    for seed in (31, 32):
        tokens = random_tokens(30, 40, seed=seed)
        result = pack_sequences([len(t) for t in tokens], 64, "bfd")
        assert result.num_bins <= 12
        for form in (tokens, FlatTokens(*_flat(tokens))):
            built = build_packed_arrays(result, form, out=buffers)
            assert_same_arrays(built, build_packed_arrays(result, tokens))
            assert np.shares_memory(built.input_ids, buffers.input_ids)
            assert np.shares_memory(built.shift_labels, buffers.label_buffer)
    too_many = pack_sequences([60] * 13, 64, "nf")
    with pytest.raises(ValueError, match="out holds 12 rows of 64 slots"):
        build_packed_arrays(too_many, [[1] * 60] * 13, out=buffers)


def _flat(tokens: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([t for sequence in tokens for t in sequence], dtype=np.int64)
    offsets = np.cumsum([0] + [len(sequence) for sequence in tokens]).astype(np.int64)
    return values, offsets
