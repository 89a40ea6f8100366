"""Packed training arrays (DESIGN.md §5): from a packing and the token ids to one row per pack.

Written once for both backends: input validation, overflow handling, the metadata
(``cu_seqlens`` and friends) and the result object. The per-token work runs in the active
backend's kernels ``flatten_token_lists`` and ``fill_packed_rows``.

Order of checks (lowest index first in each step): the container of ``token_ids``, the number
of sequences, each sequence's form and token types, then each sequence's length.
"""

from __future__ import annotations

import itertools
import numbers
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

import numpy as np

from . import _backend
from ._packer import pack_sequences
from ._result import PackResult
from ._strategies import DEFAULT_STRATEGY, check_capacity
from ._validation import EMPTY_INPUT, INT64_MAX, INT64_MIN, _describe

OverflowPolicy = Literal["error", "truncate", "split", "drop"]
OVERFLOW_POLICIES: tuple[str, ...] = ("error", "truncate", "split", "drop")
INT32_MAX = 2**31 - 1


class FlatTokens(NamedTuple):
    """Token ids in Arrow's list layout: sequence ``i`` is ``values[offsets[i]:offsets[i + 1]]``.

    ``offsets`` has ``num_sequences + 1`` entries and may start above 0 (a slice of an Arrow
    array keeps the offsets of the whole buffer).
    """

    values: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class OverflowReport:
    """What ``pack_and_build`` did with sequences longer than the capacity.

    Indices are positions in the original ``token_ids``. ``tokens_removed`` counts the tokens
    that are in no pack (cut by truncation or dropped); split sequences lose no tokens but
    their pieces no longer see each other.
    """

    policy: str
    capacity: int
    truncated: tuple[int, ...] = ()
    split: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()
    tokens_removed: int = 0
    pieces_added: int = 0  # extra sequences created by splitting

    @property
    def affected(self) -> int:
        """Number of original sequences that were truncated, split or dropped."""
        return len(self.truncated) + len(self.split) + len(self.dropped)

    def summary(self) -> str:
        parts = []
        if self.truncated:
            parts.append(f"truncated {len(self.truncated)} sequence(s)")
        if self.split:
            parts.append(
                f"split {len(self.split)} sequence(s) into {len(self.split) + self.pieces_added}"
                " pieces"
            )
        if self.dropped:
            parts.append(f"dropped {len(self.dropped)} sequence(s)")
        if not parts:
            return f"no sequence longer than the capacity {self.capacity}"
        first = (self.truncated + self.split + self.dropped)[:5]
        return (
            f"{', '.join(parts)} longer than the capacity {self.capacity} "
            f"(overflow={self.policy!r}; {self.tokens_removed} token(s) removed; "
            f"first indices: {sorted(first)})"
        )


@dataclass(frozen=True, eq=False)
class PackedArrays:
    """Training arrays of one packing: one row per pack, ``capacity`` slots per row.

    ``input_ids``, ``attention_mask``, ``position_ids``, ``labels`` and ``shift_labels`` are
    int64 arrays of shape ``(num_packs, capacity)``; see docs/torch.md for the label contract.
    ``labels`` and ``shift_labels`` are two views of one buffer, ``shift_labels`` one slot
    later (the masked slots line up exactly, see ``shift_labels``): the pre-shifted form costs
    no memory, and masking more tokens in ``labels`` (a prompt, say) masks them in
    ``shift_labels`` too.
    ``seq_lengths_flat`` (int32) lists the real sequence lengths in pack order and pack ``p``
    holds ``seq_lengths_flat[pack_bounds[p]:pack_bounds[p + 1]]``. ``source_index[i]`` is the
    position in the caller's ``token_ids`` of sequence ``i`` of ``result`` (they differ only
    after ``pack_and_build`` truncated, split or dropped something).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    position_ids: np.ndarray
    label_buffer: np.ndarray  # 1-D: the aligned labels row after row, then one masked slot
    seq_lengths_flat: np.ndarray
    pack_bounds: np.ndarray
    result: PackResult
    source_index: np.ndarray
    overflow: OverflowReport | None = field(default=None)

    @property
    def labels(self) -> np.ndarray:
        """Aligned labels (Hugging Face): a view of ``label_buffer``."""
        return self.label_buffer[:-1].reshape(self.input_ids.shape)

    @property
    def shift_labels(self) -> np.ndarray:
        """Pre-shifted labels: ``label_buffer`` read one slot later.

        After a sequence's last token comes the next sequence's first token, padding, or the
        next row's first slot (a first token or padding), all masked in ``labels``, and the
        buffer's extra last slot masks the last row's end.
        """
        return self.label_buffer[1:].reshape(self.input_ids.shape)

    @property
    def num_packs(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def capacity(self) -> int:
        return int(self.input_ids.shape[1])

    @cached_property
    def seq_lengths(self) -> list[np.ndarray]:
        """Real sequence lengths of each pack (int32 arrays, in placement order)."""
        return _slices(self.seq_lengths_flat, self.pack_bounds)

    @cached_property
    def cu_seqlens_concat(self) -> np.ndarray:
        """Every pack's ``cu_seqlens`` one after another (int32, ``num_sequences + num_packs``).

        Pack ``p`` owns ``[pack_bounds[p] + p, pack_bounds[p + 1] + p + 1)``.
        """
        lengths = self.seq_lengths_flat.astype(np.int64)
        running = np.cumsum(lengths)
        pack_of_sequence = np.repeat(np.arange(self.num_packs), np.diff(self.pack_bounds))
        tokens_before_pack = (running - lengths)[self.pack_bounds[:-1]]
        out = np.zeros(len(lengths) + self.num_packs, dtype=np.int32)
        slots = np.arange(len(lengths)) + pack_of_sequence + 1
        out[slots] = running - tokens_before_pack[pack_of_sequence]
        return out

    @cached_property
    def cu_seqlens(self) -> list[np.ndarray]:
        """Per pack: int32 ``[0, l0, l0 + l1, ..., used]`` (Flash Attention varlen layout)."""
        return _slices(self.cu_seqlens_concat, self.cu_seqlens_bounds)

    @property
    def cu_seqlens_bounds(self) -> np.ndarray:
        """Where each pack's ``cu_seqlens`` lies in ``cu_seqlens_concat`` (``num_packs + 1``)."""
        return self.pack_bounds + np.arange(self.num_packs + 1)

    @cached_property
    def max_seqlen(self) -> int:
        """The longest real sequence of the batch."""
        return int(self.seq_lengths_flat.max()) if self.seq_lengths_flat.size else 0

    @cached_property
    def _flat_segments(self) -> np.ndarray:
        # Segments of input_ids.reshape(-1): the real sequences of each pack, then its padding
        # tail as a segment of its own (so padding attends only to padding); empty tails vanish.
        used = np.add.reduceat(self.seq_lengths_flat.astype(np.int64), self.pack_bounds[:-1])
        segments = np.empty(len(self.seq_lengths_flat) + self.num_packs, dtype=np.int64)
        is_tail = np.zeros(len(segments), dtype=bool)
        is_tail[self.pack_bounds[1:] + np.arange(self.num_packs)] = True
        segments[~is_tail] = self.seq_lengths_flat
        segments[is_tail] = self.capacity - used
        return segments[segments > 0]

    @cached_property
    def cu_seqlens_flat(self) -> np.ndarray:
        """int32 boundaries for ONE varlen call over ``input_ids.reshape(-1)``.

        Each pack's padding tail is a segment of its own, so the last value is
        ``num_packs * capacity``.
        """
        total = self.num_packs * self.capacity
        if total > INT32_MAX:
            raise ValueError(
                f"the flattened batch has {total} tokens, more than int32 cu_seqlens can address"
            )
        return _cumulative_with_zero(self._flat_segments)

    @cached_property
    def max_seqlen_flat(self) -> int:
        """The longest segment of ``cu_seqlens_flat`` (padding tails included)."""
        return int(self._flat_segments.max()) if self._flat_segments.size else 0


def _slices(flat: np.ndarray, bounds: np.ndarray) -> list[np.ndarray]:
    # Views of flat[bounds[i]:bounds[i + 1]]; much faster than np.split for many pieces.
    edges = bounds.tolist()
    return [flat[start:end] for start, end in itertools.pairwise(edges)]


def _cumulative_with_zero(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=out[1:])
    return out


# ---------------------------------------------------------------------------------------------
# token ids -> (values, starts, lengths)


def check_int_option(name: str, value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    if not INT64_MIN <= int(value) <= INT64_MAX:
        raise ValueError(f"{name} is {int(value)}, beyond the int64 range")
    return int(value)


def check_overflow_policy(overflow: object) -> str:
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(
            f"unknown overflow policy {overflow!r}; choose one of: {', '.join(OVERFLOW_POLICIES)}"
        )
    return str(overflow)


def _integer_array(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` as contiguous int64, or the TypeError naming ``what``."""
    if array.ndim != 1:
        raise TypeError(f"{what} must be 1-D, got an array of shape {array.shape}")
    kind = array.dtype.kind
    if kind == "O":
        values = array.tolist()
        _check_token_values(values, what)
        return np.array(values, dtype=np.int64)
    if kind not in "iu":
        raise TypeError(f"{what} must have an integer dtype, got dtype {array.dtype}")
    if kind == "u" and array.dtype.itemsize == 8 and array.size and array.max() > INT64_MAX:
        position = int(np.argmax(array > INT64_MAX))
        raise TypeError(
            f"{what} position {position}: token id {int(array[position])} is beyond the int64 range"
        )
    return np.ascontiguousarray(array, dtype=np.int64)


def _check_token_values(values: list[Any] | tuple[Any, ...], what: str) -> None:
    """TypeError at the first value that is not an int in the int64 range."""
    for position, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{what} position {position}: token ids must be integers, got a bool")
        if not isinstance(value, numbers.Integral):
            raise TypeError(
                f"{what} position {position}: token ids must be integers, got {_describe(value)}"
            )
        if not INT64_MIN <= int(value) <= INT64_MAX:
            raise TypeError(
                f"{what} position {position}: token id {int(value)} is beyond the int64 range"
            )


def kernel_token_values(values: np.ndarray) -> np.ndarray:
    """``values`` as the fill kernels read them: int32 or int64 as they are, else int64.

    Shared with seqpacker-hf, which converts a dataset's token buffer once, not per chunk.
    """
    if values.ndim == 1 and values.dtype in (np.int32, np.int64) and values.flags.c_contiguous:
        return values
    return _integer_array(values, "values")


def _sequence_array(sequence: object, index: int) -> np.ndarray:
    what = f"token_ids[{index}]"
    if isinstance(sequence, np.ndarray):
        return _integer_array(sequence, what)
    if isinstance(sequence, (list, tuple)):
        _check_token_values(sequence, what)
        return np.array(sequence, dtype=np.int64).reshape(len(sequence))
    raise TypeError(
        f"{what} must be a list or tuple of ints or a 1-D integer numpy array, "
        f"got {type(sequence).__name__}"
    )


def flatten_token_ids(token_ids: object) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)`` as int64 arrays for any accepted form of ``token_ids``.

    ``offsets`` starts at 0 only for lists; for :class:`FlatTokens` it is the caller's offsets
    (validated), so ``values`` is never copied beyond a dtype conversion.
    """
    if isinstance(token_ids, FlatTokens):
        return _flat_tokens_arrays(token_ids)
    if isinstance(token_ids, np.ndarray):
        raise TypeError(
            "token_ids must be a list of sequences or a FlatTokens(values, offsets), got a "
            f"numpy array of shape {token_ids.shape}; pass list(array) for equal-length rows"
        )
    if not isinstance(token_ids, (list, tuple)):
        raise TypeError(
            "token_ids must be a list/tuple of sequences (lists of ints or 1-D integer numpy "
            f"arrays) or a FlatTokens(values, offsets), got {type(token_ids).__name__}"
        )
    values, offsets, bad_index = _backend.active.flatten_token_lists(token_ids)
    if bad_index < 0:
        return values, offsets
    # General path (numpy arrays, numpy scalars, or an error): one array per sequence.
    arrays = [_sequence_array(sequence, index) for index, sequence in enumerate(token_ids)]
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(array) for array in arrays], out=offsets[1:])
    values = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    return values, offsets


def _flat_tokens_arrays(tokens: FlatTokens) -> tuple[np.ndarray, np.ndarray]:
    values, offsets = tokens
    if not isinstance(values, np.ndarray) or not isinstance(offsets, np.ndarray):
        raise TypeError(
            "FlatTokens needs numpy arrays, got "
            f"values={type(values).__name__}, offsets={type(offsets).__name__}"
        )
    values = _integer_array(values, "FlatTokens.values")
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu":
        raise TypeError(
            f"FlatTokens.offsets must be a 1-D integer array, got dtype {offsets.dtype} "
            f"and shape {offsets.shape}"
        )
    if len(offsets) == 0:
        raise ValueError("FlatTokens.offsets must have num_sequences + 1 entries, got 0")
    offsets = offsets.astype(np.int64)
    steps = np.diff(offsets)
    if offsets[0] < 0 or (steps < 0).any() or offsets[-1] > len(values):
        raise ValueError(
            "FlatTokens.offsets must be non-decreasing within [0, len(values)] "
            f"(len(values)={len(values)}, offsets[0]={int(offsets[0])}, "
            f"offsets[-1]={int(offsets[-1])})"
        )
    return values, offsets


def _check_lengths(token_lengths: np.ndarray, expected: np.ndarray) -> None:
    if len(token_lengths) != len(expected):
        raise ValueError(
            f"token_ids has {len(token_lengths)} sequences but the packing has {len(expected)}"
        )
    mismatch = np.flatnonzero(token_lengths != expected)
    if mismatch.size:
        index = int(mismatch[0])
        raise ValueError(
            f"token_ids[{index}] has {int(token_lengths[index])} tokens but the packing says "
            f"{int(expected[index])}"
        )


def _check_count(token_ids: object, expected: int) -> None:
    # Lists are counted before their contents are checked; FlatTokens after its offsets are.
    if isinstance(token_ids, FlatTokens) or not isinstance(token_ids, (list, tuple)):
        return
    if len(token_ids) != expected:
        raise ValueError(f"token_ids has {len(token_ids)} sequences but the packing has {expected}")


# ---------------------------------------------------------------------------------------------
# public entry points


def _check_packing(result: PackResult) -> None:
    """The kernels write rows without bounds checks: refuse a PackResult that is not a packing."""
    items, bounds, lengths = result.items_flat, result.bin_bounds, result.lengths
    valid = (
        len(bounds) >= 1
        and bounds[0] == 0
        and bounds[-1] == len(items)
        and bool((np.diff(bounds) > 0).all())
        and (len(items) == 0 or (int(items.min()) >= 0 and int(items.max()) < len(lengths)))
        and bool((lengths >= 1).all())
    )
    if valid and len(items):
        valid = bool((result.bin_loads <= result.capacity).all())
    if not valid:
        raise ValueError("result is not a valid packing (bins out of range or over capacity)")


class RowBuffers(NamedTuple):
    """Reusable int64 outputs for up to ``rows`` rows, for a caller that builds many batches.

    Building into the same buffers again and again (``out=`` of :func:`build_packed_arrays`)
    skips the page faults of fresh memory and keeps the buffers in cache; seqpacker-hf builds
    a whole dataset this way, a chunk of rows at a time. The arrays of a build made with
    ``out`` are views of these buffers: valid until the next build into them.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    position_ids: np.ndarray
    label_buffer: np.ndarray

    @classmethod
    def allocate(cls, rows: int, capacity: int) -> RowBuffers:
        def rows_array() -> np.ndarray:
            return np.empty((rows, capacity), dtype=np.int64)

        label_buffer = np.empty(rows * capacity + 1, dtype=np.int64)
        return cls(rows_array(), rows_array(), rows_array(), label_buffer)

    def first(self, result: PackResult) -> RowBuffers:
        """Views for the rows of ``result``, or a ValueError when they do not fit."""
        rows, capacity = self.input_ids.shape
        if capacity != result.capacity or rows < result.num_bins:
            raise ValueError(
                f"out holds {rows} rows of {capacity} slots; the packing needs "
                f"{result.num_bins} rows of {result.capacity}"
            )
        used = result.num_bins
        return RowBuffers(
            self.input_ids[:used],
            self.attention_mask[:used],
            self.position_ids[:used],
            self.label_buffer[: used * capacity + 1],
        )


def _fill_from_flat(
    result: PackResult,
    values: np.ndarray,
    starts: np.ndarray,
    padding_value: int,
    label_padding_value: int,
    out: RowBuffers | None = None,
) -> tuple[np.ndarray, ...]:
    return tuple(
        _backend.active.fill_packed_rows(
            values,
            starts,
            *_packing_args(result),
            padding_value,
            label_padding_value,
            out.first(result) if out is not None else None,
        )
    )


def _packing_args(result: PackResult) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The packing as the fill kernels take it: lengths, items, bounds, capacity."""
    return result.lengths, result.items_flat, result.bin_bounds, result.capacity


def _packed_arrays(
    result: PackResult,
    rows: tuple[np.ndarray, ...],
    source_index: np.ndarray,
    overflow: OverflowReport | None,
) -> PackedArrays:
    input_ids, attention_mask, position_ids, label_buffer = rows
    return PackedArrays(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        label_buffer=label_buffer,
        seq_lengths_flat=result.lengths[result.items_flat].astype(np.int32),
        pack_bounds=np.array(result.bin_bounds, dtype=np.int64),
        result=result,
        source_index=source_index,
        overflow=overflow,
    )


def build_packed_arrays(
    result: PackResult,
    token_ids: object,
    *,
    padding_value: int = 0,
    label_padding_value: int = -100,
    out: RowBuffers | None = None,
) -> PackedArrays:
    """The training arrays of ``result`` for ``token_ids`` (sequence ``i`` = ``result`` id ``i``).

    ``token_ids``: a list/tuple of lists of ints or of 1-D integer numpy arrays, or a
    :class:`FlatTokens`. Their count and every length must match the packing. ``out``: build
    into these :class:`RowBuffers` instead of new arrays.
    """
    if not isinstance(result, PackResult):
        raise TypeError(f"result must be a PackResult, got {type(result).__name__}")
    padding_value = check_int_option("padding_value", padding_value)
    label_padding_value = check_int_option("label_padding_value", label_padding_value)
    _check_count(token_ids, len(result.lengths))
    _check_packing(result)
    source_index = np.arange(len(result.lengths), dtype=np.int64)
    if isinstance(token_ids, (list, tuple)) and not isinstance(token_ids, FlatTokens):
        # Fast path: plain int lists read in place, no flat copy. None means "some sequence
        # is of another form or length": the general path below accepts it or raises.
        rows = _backend.active.fill_packed_rows_from_lists(
            token_ids,
            *_packing_args(result),
            padding_value,
            label_padding_value,
            out.first(result) if out is not None else None,
        )
        if rows is not None:
            return _packed_arrays(result, tuple(rows), source_index, None)
    values, offsets = flatten_token_ids(token_ids)
    _check_lengths(np.diff(offsets), result.lengths)
    starts = np.ascontiguousarray(offsets[:-1])
    rows = _fill_from_flat(result, values, starts, padding_value, label_padding_value, out)
    return _packed_arrays(result, rows, source_index, None)


def build_packed_arrays_at(
    result: PackResult,
    values: np.ndarray,
    starts: np.ndarray,
    *,
    padding_value: int = 0,
    label_padding_value: int = -100,
    out: RowBuffers | None = None,
) -> PackedArrays:
    """The training arrays of ``result`` for sequences read where they start in ``values``.

    Sequence ``i`` of ``result`` is ``values[starts[i] : starts[i] + result.lengths[i]]``:
    any layout of one flat token array (sequences in any order, overlapping, or with tokens
    between them, as Arrow slices or truncated sequences leave them), without gathering the
    tokens first. int32 and int64 ``values`` are read as they are; other integer dtypes are
    converted. ``out`` as for :func:`build_packed_arrays`.
    """
    if not isinstance(result, PackResult):
        raise TypeError(f"result must be a PackResult, got {type(result).__name__}")
    padding_value = check_int_option("padding_value", padding_value)
    label_padding_value = check_int_option("label_padding_value", label_padding_value)
    if not isinstance(values, np.ndarray) or not isinstance(starts, np.ndarray):
        raise TypeError(
            f"values and starts must be numpy arrays, got {type(values).__name__} and "
            f"{type(starts).__name__}"
        )
    values = kernel_token_values(values)
    if starts.ndim != 1 or starts.dtype.kind not in "iu":
        raise TypeError(f"starts must be a 1-D integer array, got dtype {starts.dtype}")
    if len(starts) != len(result.lengths):
        raise ValueError(
            f"starts has {len(starts)} entries but the packing has {len(result.lengths)}"
        )
    _check_packing(result)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    if len(starts) and (starts.min() < 0 or (starts + result.lengths).max() > len(values)):
        raise ValueError(f"a sequence of {len(values)} values starts or ends outside them")
    rows = _fill_from_flat(result, values, starts, padding_value, label_padding_value, out)
    return _packed_arrays(result, rows, np.arange(len(starts), dtype=np.int64), None)


def apply_overflow(
    lengths: np.ndarray, starts: np.ndarray, capacity: int, policy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, OverflowReport]:
    """``(starts, lengths, source_index, report)`` after the overflow policy.

    Shared with seqpacker-hf (a lockstep sibling), which packs datasets in windows and must
    apply exactly the same rules.
    """
    too_long = np.flatnonzero(lengths > capacity)
    source = np.arange(len(lengths), dtype=np.int64)
    if too_long.size == 0:
        return starts, lengths, source, OverflowReport(policy=policy, capacity=capacity)
    if policy == "error":
        index = int(too_long[0])
        raise ValueError(
            f"token_ids[{index}] has {int(lengths[index])} tokens, more than the capacity "
            f"{capacity}; pass overflow='truncate', 'split' or 'drop' to pack it anyway"
        )
    indices = tuple(too_long.tolist())
    excess = int((lengths[too_long] - capacity).sum())
    if policy == "truncate":
        return (
            starts,
            np.minimum(lengths, capacity),
            source,
            OverflowReport(policy, capacity, truncated=indices, tokens_removed=excess),
        )
    if policy == "drop":
        keep = lengths <= capacity
        removed = int(lengths[too_long].sum())
        return (
            starts[keep],
            lengths[keep],
            source[keep],
            OverflowReport(policy, capacity, dropped=indices, tokens_removed=removed),
        )
    # split: sequence i becomes ceil(length / capacity) consecutive pieces, in order.
    pieces = -(-lengths // capacity)
    source = np.repeat(source, pieces)
    first_piece = np.repeat(np.cumsum(pieces) - pieces, pieces)
    piece_number = np.arange(len(source), dtype=np.int64) - first_piece
    piece_starts = starts[source] + piece_number * capacity
    piece_lengths = np.minimum(lengths[source] - piece_number * capacity, capacity)
    report = OverflowReport(
        policy, capacity, split=indices, pieces_added=int(pieces.sum()) - len(lengths)
    )
    return piece_starts, piece_lengths, source, report


def pack_and_build(
    token_ids: object,
    capacity: int,
    *,
    strategy: str = DEFAULT_STRATEGY,
    seed: int | None = None,
    padding_value: int = 0,
    label_padding_value: int = -100,
    overflow: OverflowPolicy = "error",
) -> PackedArrays:
    """Pack ``token_ids`` by length and build the training arrays in one call.

    ``overflow`` decides what happens to a sequence longer than ``capacity``: ``"error"``
    (ValueError), ``"truncate"`` (keep its first ``capacity`` tokens), ``"split"`` (consecutive
    pieces of at most ``capacity`` tokens, each packed as a sequence of its own) or ``"drop"``.
    Anything cut or dropped is listed in ``PackedArrays.overflow`` and summarised in a warning;
    ``PackedArrays.source_index`` maps each packed sequence back to its index in ``token_ids``.
    """
    check_overflow_policy(overflow)
    padding_value = check_int_option("padding_value", padding_value)
    label_padding_value = check_int_option("label_padding_value", label_padding_value)
    values, offsets = flatten_token_ids(token_ids)
    capacity = check_capacity(capacity)
    lengths = np.diff(offsets)
    if lengths.size == 0:
        raise ValueError(EMPTY_INPUT)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(f"token_ids[{int(empty[0])}] is empty; every sequence needs a token")
    starts, lengths, source_index, report = apply_overflow(
        lengths, offsets[:-1], capacity, overflow
    )
    if report.affected:
        warnings.warn(f"pack_and_build: {report.summary()}", UserWarning, stacklevel=2)
    result = pack_sequences(lengths, capacity, strategy, seed)
    _check_packing(result)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    rows = _fill_from_flat(result, values, starts, padding_value, label_padding_value)
    return _packed_arrays(result, rows, source_index, report)
