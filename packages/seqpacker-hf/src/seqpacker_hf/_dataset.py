"""Packed ``datasets.Dataset`` objects, built from Arrow buffers by the core builder.

The per-token work is the core's ``build_packed_arrays`` (Cython or pure Python); this module
only moves buffers: it reads token ids as Arrow's flat ``values`` + ``offsets``, packs by
length once, then builds the rows a bounded chunk of packs at a time and narrows each chunk
into the output buffers, so the int64 working arrays never exist for the whole dataset.

Output columns (one row per pack, ``capacity`` slots per row):

=================  =============================  ==========================================
column             Arrow type                      content
=================  =============================  ==========================================
``input_ids``      fixed_size_list<int32|int64>    ids, ``padding_value`` in the tail
``attention_mask`` fixed_size_list<int8>           1 real token, 0 padding
``labels``         fixed_size_list<int32|int64>    aligned (HF): ids, ``label_padding_value``
                                                   at each sequence's first token and padding
``position_ids``   fixed_size_list<int32>          restart at 0 for every sequence and the tail
``seq_lengths``    list<int32>                     sequence lengths, then the padding tail
                                                   (if any): each row's lengths sum to capacity
=================  =============================  ==========================================

``input_ids`` and ``labels`` are int32 when every token id, ``padding_value`` and
``label_padding_value`` fit in int32 (any real vocabulary), else int64.
"""

from __future__ import annotations

import functools
import itertools
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import datasets
import numpy as np
import pyarrow as pa
from datasets.fingerprint import generate_random_fingerprint
from datasets.table import InMemoryTable
from datasets.utils import tqdm as hf_tqdm
from seqpacker import (
    FlatTokens,
    PackedArrays,
    PackResult,
    RowBuffers,
    build_packed_arrays,
    build_packed_arrays_at,
    pack_sequences,
)

# The core's own flattening of Python lists and its overflow policies: one place for each.
from seqpacker._builder import (
    OVERFLOW_POLICIES,
    apply_overflow,
    flatten_token_ids,
    kernel_token_values,
)

COLUMNS = ("input_ids", "attention_mask", "labels", "position_ids", "seq_lengths")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Token slots built per call of the core builder: its int64 working arrays (~40 B/slot) stay
# cache-sized and small next to the output.
CHUNK_SLOTS = 1 << 16
# num_proc never makes shards smaller than this many sequences.
MIN_SEQUENCES_PER_SHARD = 1024
# IterableDataset input: sequences packed together per window.
DEFAULT_WINDOW_SIZE = 10_000
# IterableDataset input: packs filled below this fraction are carried into the next window.
CARRY_FILL = 0.95


# ---------------------------------------------------------------------------------------------
# reading token ids


def _flat_from_arrow(column: pa.ChunkedArray | pa.Array, name: str) -> FlatTokens:
    """A list column as FlatTokens, zero-copy when the column is one chunk without nulls."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    kind = column.type
    if len(column) == 0 and pa.types.is_null(kind):  # an empty column whose type was never set
        return FlatTokens(np.zeros(0, np.int64), np.zeros(1, np.int64))
    if pa.types.is_fixed_size_list(kind):
        size = kind.list_size
        values = column.values.slice(column.offset * size, len(column) * size)
        offsets = np.arange(len(column) + 1, dtype=np.int64) * size
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = column.values
        offsets = column.offsets.to_numpy()
    else:
        raise TypeError(f"column {name!r} must hold lists of token ids, got Arrow type {kind}")
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"column {name!r} row {row} is null; every row needs token ids")
    if not pa.types.is_integer(values.type):
        raise TypeError(f"column {name!r} must hold integer token ids, got lists of {values.type}")
    if values.null_count:
        raise ValueError(f"column {name!r} has null token ids")
    return FlatTokens(values.to_numpy(zero_copy_only=False), offsets)


def _read_token_ids(token_ids: object, column: str) -> FlatTokens:
    """FlatTokens for a list of sequences or a ``datasets.Dataset`` column."""
    if isinstance(token_ids, datasets.Dataset):
        if column not in token_ids.column_names:
            raise ValueError(
                f"the dataset has no column {column!r}; its columns are {token_ids.column_names}"
            )
        if "labels" in token_ids.column_names and column != "labels":
            warnings.warn(
                "the dataset's 'labels' column is dropped: pack_dataset builds labels from "
                f"{column!r} (a packed row mixes several input rows)",
                UserWarning,
                stacklevel=3,
            )
        # with_format("arrow")[:] applies any select/shuffle indices; without them it is a slice.
        table = token_ids.select_columns([column]).with_format("arrow")[:]
        return _flat_from_arrow(table.column(column), column)
    if isinstance(token_ids, FlatTokens):
        return token_ids
    values, offsets = flatten_token_ids(token_ids)
    return FlatTokens(values, offsets)


def _plain_list_lengths(token_ids: object, capacity: int) -> np.ndarray | None:
    """The lengths of a list of plain lists the core builder can read in place, else None.

    None sends the input down the general path (flattened first), which takes every other
    accepted form and raises each error with its index: numpy arrays, empty sequences,
    sequences longer than ``capacity`` (the overflow policies), an empty input.
    """
    if not isinstance(token_ids, (list, tuple)) or isinstance(token_ids, FlatTokens):
        return None
    if not token_ids or not set(map(type, token_ids)) <= {list, tuple}:
        return None
    lengths = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    if lengths.min() < 1 or lengths.max() > capacity:
        return None
    return lengths


def _columns_from_lists(
    token_ids: object, result: PackResult, padding_value: int, label_padding_value: int
) -> _Columns:
    """Columns read straight from plain lists (``_plain_list_lengths`` said so): no flat int64
    copy of every token first."""
    try:
        return _build_columns(
            _ListSource(cast("Sequence[Any]", token_ids)),
            result,
            padding_value=padding_value,
            label_padding_value=label_padding_value,
            # Only the padding values are known up front; the ids are checked chunk by chunk.
            token_dtype=_token_dtype(np.zeros(0, np.int32), padding_value, label_padding_value),
        )
    except (TypeError, ValueError):
        # A chunk's error names the sequence by its place in the chunk: check the whole
        # input, which raises the same error with the index in token_ids.
        flatten_token_ids(token_ids)
        raise


# ---------------------------------------------------------------------------------------------
# building the columns


@dataclass
class _Columns:
    """Output buffers of a packed dataset, already in their final dtypes."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    labels: np.ndarray
    position_ids: np.ndarray
    seq_lengths_values: np.ndarray
    seq_lengths_offsets: np.ndarray
    capacity: int

    @property
    def num_rows(self) -> int:
        return len(self.input_ids) // self.capacity if self.capacity else 0

    def widen_tokens(self) -> None:
        """int64 ``input_ids`` and ``labels`` (a token id turned out not to fit int32)."""
        self.input_ids = self.input_ids.astype(np.int64)
        self.labels = self.labels.astype(np.int64)

    def to_table(self) -> pa.Table:
        def fixed(values: np.ndarray) -> pa.Array:
            return pa.FixedSizeListArray.from_arrays(pa.array(values), self.capacity)

        return pa.table(
            {
                "input_ids": fixed(self.input_ids),
                "attention_mask": fixed(self.attention_mask),
                "labels": fixed(self.labels),
                "position_ids": fixed(self.position_ids),
                "seq_lengths": pa.ListArray.from_arrays(
                    pa.array(self.seq_lengths_offsets), pa.array(self.seq_lengths_values)
                ),
            }
        )


def _token_dtype(values: np.ndarray, padding_value: int, label_padding_value: int) -> np.dtype:
    """int32 when every id and both padding values fit in it, else int64."""
    extremes = [padding_value, label_padding_value]
    narrow_dtype = values.dtype.kind == "i" and values.dtype.itemsize <= 4
    narrow_dtype |= values.dtype.kind == "u" and values.dtype.itemsize <= 2
    if values.size and not narrow_dtype:  # e.g. int32 from Arrow fits without a scan
        extremes += [int(values.min()), int(values.max())]
    fits = min(extremes) >= INT32_MIN and max(extremes) <= INT32_MAX
    return np.dtype(np.int32 if fits else np.int64)


def _empty_columns(capacity: int, token_dtype: np.dtype) -> _Columns:
    return _Columns(
        input_ids=np.zeros(0, token_dtype),
        attention_mask=np.zeros(0, np.int8),
        labels=np.zeros(0, token_dtype),
        position_ids=np.zeros(0, np.int32),
        seq_lengths_values=np.zeros(0, np.int32),
        seq_lengths_offsets=np.zeros(1, np.int32),
        capacity=capacity,
    )


def _gather(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> FlatTokens:
    """The tokens of sequences ``(starts[i], lengths[i])`` copied into one contiguous FlatTokens."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    positions = np.repeat(starts - offsets[:-1], lengths)
    positions += np.arange(offsets[-1], dtype=np.int64)
    return FlatTokens(values[positions], offsets)


class _FlatSource(NamedTuple):
    """Sequence ``i`` is ``values[starts[i]:][:length]`` (Arrow buffers, flattened lists)."""

    values: np.ndarray
    starts: np.ndarray

    def build(self, chunk: PackResult, ids: np.ndarray, **options: Any) -> PackedArrays:
        # Read where each sequence lies (int32 Arrow values as they are): no gathered copy.
        return build_packed_arrays_at(chunk, self.values, self.starts[ids], **options)


class _ListSource(NamedTuple):
    """Sequence ``i`` is ``sequences[i]``, a plain list the core builder reads in place."""

    sequences: Sequence[Any]

    def build(self, chunk: PackResult, ids: np.ndarray, **options: Any) -> PackedArrays:
        return build_packed_arrays(
            chunk, list(map(self.sequences.__getitem__, ids.tolist())), **options
        )


def _flat_source(values: np.ndarray, starts: np.ndarray) -> _FlatSource:
    """The kernels read int32 and int64 tokens in place; other types are widened once."""
    return _FlatSource(kernel_token_values(values), starts)


def _build_columns(
    source: _FlatSource | _ListSource,
    result: PackResult,
    *,
    padding_value: int,
    label_padding_value: int,
    token_dtype: np.dtype,
    progress: bool = True,
) -> _Columns:
    """Rows of ``result``, sequence ``i`` read from ``source``.

    The core builder runs on a chunk of packs at a time: its int64 arrays stay small and each
    chunk is narrowed straight into the output buffers. Lists are not scanned up front, so
    with a ``_ListSource`` an int32 ``token_dtype`` is a guess, checked chunk by chunk (and
    widened to int64 at the first id that does not fit).
    """
    check_fit = isinstance(source, _ListSource) and token_dtype != np.int64
    capacity = result.capacity
    num_rows = result.num_bins
    columns = _Columns(
        input_ids=np.empty(num_rows * capacity, token_dtype),
        attention_mask=np.empty(num_rows * capacity, np.int8),
        labels=np.empty(num_rows * capacity, token_dtype),
        position_ids=np.empty(num_rows * capacity, np.int32),
        seq_lengths_values=np.zeros(0, np.int32),
        seq_lengths_offsets=np.zeros(1, np.int32),
        capacity=capacity,
    )
    rows_per_chunk = max(1, CHUNK_SLOTS // capacity)
    # One set of int64 buffers for every chunk: fresh ones would fault in new pages each time.
    buffers = RowBuffers.allocate(min(rows_per_chunk, num_rows), capacity)
    segment_parts: list[np.ndarray] = []
    offset_parts: list[np.ndarray] = [np.zeros(1, np.int64)]
    segments_so_far = 0
    chunk_starts = range(0, num_rows, rows_per_chunk)
    bar = hf_tqdm(
        total=num_rows,
        desc="Building packed rows",
        unit="row",
        disable=not progress or len(chunk_starts) < 8,
    )
    for first_row in chunk_starts:
        last_row = min(first_row + rows_per_chunk, num_rows)
        first_item, last_item = result.bin_bounds[first_row], result.bin_bounds[last_row]
        ids = result.items_flat[first_item:last_item]
        lengths = result.lengths[ids]
        # The chunk's sequences in placement order become sequences 0..k-1 of a sub-result.
        chunk_result = PackResult(
            capacity=capacity,
            strategy=result.strategy,
            seed=result.seed,
            lengths=lengths,
            items_flat=np.arange(len(ids), dtype=np.int64),
            bin_bounds=result.bin_bounds[first_row : last_row + 1] - first_item,
            time_ms=0.0,
        )
        arrays = source.build(
            chunk_result,
            ids,
            padding_value=padding_value,
            label_padding_value=label_padding_value,
            out=buffers,
        )
        if check_fit and not _fits_int32(arrays.input_ids):
            columns.widen_tokens()
            check_fit = False
        slots = slice(first_row * capacity, last_row * capacity)
        columns.input_ids[slots] = arrays.input_ids.reshape(-1)
        columns.attention_mask[slots] = arrays.attention_mask.reshape(-1)
        columns.labels[slots] = arrays.labels.reshape(-1)
        columns.position_ids[slots] = arrays.position_ids.reshape(-1)
        # cu_seqlens_flat cuts each row into its sequences and its padding tail (TRL's layout);
        # row r ends where the boundaries reach (r + 1) * capacity.
        boundaries = arrays.cu_seqlens_flat
        segment_parts.append(np.diff(boundaries))
        row_ends = np.searchsorted(
            boundaries, np.arange(1, last_row - first_row + 1, dtype=np.int64) * capacity
        )
        offset_parts.append(row_ends + segments_so_far)
        segments_so_far += len(boundaries) - 1
        bar.update(last_row - first_row)
    bar.close()
    if segments_so_far > INT32_MAX:
        raise ValueError(f"{segments_so_far} segments are more than an int32 list can index")
    if segment_parts:
        columns.seq_lengths_values = np.concatenate(segment_parts).astype(np.int32)
        columns.seq_lengths_offsets = np.concatenate(offset_parts).astype(np.int32)
    return columns


def _fits_int32(ids: np.ndarray) -> bool:
    return ids.size == 0 or (int(ids.min()) >= INT32_MIN and int(ids.max()) <= INT32_MAX)


def _concat_columns(parts: Sequence[_Columns], capacity: int, token_dtype: np.dtype) -> _Columns:
    """The rows of ``parts`` one after the other (a deterministic merge of shards)."""
    if not parts:
        return _empty_columns(capacity, token_dtype)
    segment_offsets = [parts[0].seq_lengths_offsets]
    shift = int(parts[0].seq_lengths_offsets[-1])
    for part in parts[1:]:
        segment_offsets.append(part.seq_lengths_offsets[1:] + shift)
        shift += int(part.seq_lengths_offsets[-1])
    return _Columns(
        input_ids=np.concatenate([part.input_ids for part in parts]),
        attention_mask=np.concatenate([part.attention_mask for part in parts]),
        labels=np.concatenate([part.labels for part in parts]),
        position_ids=np.concatenate([part.position_ids for part in parts]),
        seq_lengths_values=np.concatenate([part.seq_lengths_values for part in parts]),
        seq_lengths_offsets=np.concatenate(segment_offsets),
        capacity=capacity,
    )


def _to_dataset(columns: _Columns) -> datasets.Dataset:
    # A random fingerprint, as datasets gives tables it cannot hash cheaply: hashing the table
    # would serialise every buffer (3x the dataset's memory, and most of the time).
    return datasets.Dataset(
        InMemoryTable(columns.to_table()), fingerprint=generate_random_fingerprint()
    )


# ---------------------------------------------------------------------------------------------
# validation shared by the entry points


def _check_options(capacity: object, overflow: str, num_proc: object) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)):
        raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
    if capacity <= 0:
        raise ValueError(f"capacity must be positive, got {capacity}")
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(
            f"unknown overflow policy {overflow!r}; choose one of: {', '.join(OVERFLOW_POLICIES)}"
        )
    if num_proc is not None and (
        isinstance(num_proc, bool) or not isinstance(num_proc, int) or num_proc < 1
    ):
        raise ValueError(f"num_proc must be a positive int or None, got {num_proc!r}")


def _sequence_layout(
    tokens: FlatTokens, capacity: int, overflow: str, *, index_base: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, lengths)`` of the sequences to pack, after the overflow policy."""
    offsets = np.asarray(tokens.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(
            f"token_ids[{int(empty[0]) + index_base}] is empty; every sequence needs a token"
        )
    try:
        starts, lengths, _source, report = apply_overflow(lengths, offsets[:-1], capacity, overflow)
    except ValueError as error:
        if index_base:
            raise ValueError(
                f"{error} (index within the window starting at {index_base})"
            ) from None
        raise
    if report.affected:
        warnings.warn(f"pack_dataset: {report.summary()}", UserWarning, stacklevel=4)
    return np.ascontiguousarray(starts, dtype=np.int64), np.ascontiguousarray(lengths)


# ---------------------------------------------------------------------------------------------
# num_proc: shards packed in worker processes, merged in shard order


def _pack_shard(
    tokens: FlatTokens,
    capacity: int,
    *,
    strategy: str,
    seed: int | None,
    padding_value: int,
    label_padding_value: int,
    token_dtype: np.dtype,
) -> _Columns:
    lengths = np.diff(tokens.offsets)
    result = pack_sequences(lengths, capacity, strategy, seed)
    return _build_columns(
        _flat_source(tokens.values, tokens.offsets[:-1]),
        result,
        padding_value=padding_value,
        label_padding_value=label_padding_value,
        token_dtype=token_dtype,
        progress=False,
    )


def _shard_bounds(num_sequences: int, num_proc: int) -> list[int]:
    shards = max(1, min(num_proc, num_sequences // MIN_SEQUENCES_PER_SHARD))
    return [num_sequences * shard // shards for shard in range(shards + 1)]


def _pack_in_shards(
    values: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    capacity: int,
    num_proc: int,
    **options: Any,
) -> _Columns:
    bounds = _shard_bounds(len(lengths), num_proc)
    shards = [
        _gather(values, starts[lo:hi], lengths[lo:hi]) for lo, hi in itertools.pairwise(bounds)
    ]
    if len(shards) == 1:
        return _pack_shard(shards[0], capacity, **options)
    workers = min(len(shards), os.cpu_count() or 1, num_proc)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_pack_shard, shard, capacity, **options) for shard in shards]
        parts = []
        with hf_tqdm(total=len(futures), desc="Packing shards", unit="shard") as bar:
            for future in futures:  # shard order, whatever order they finish in
                parts.append(future.result())
                bar.update(1)
    return _concat_columns(parts, capacity, options["token_dtype"])


# ---------------------------------------------------------------------------------------------
# public entry points


def pack_dataset(
    token_ids: object,
    capacity: int,
    *,
    strategy: str = "obfd",
    seed: int | None = None,
    padding_value: int = 0,
    label_padding_value: int = -100,
    overflow: str = "error",
    column: str = "input_ids",
    num_proc: int | None = None,
    window_size: int = DEFAULT_WINDOW_SIZE,
) -> datasets.Dataset | datasets.IterableDataset:
    """Pack token sequences into a ``datasets.Dataset`` of ``capacity``-token rows.

    ``token_ids``: a list of sequences (lists of ints or 1-D integer arrays), a
    ``datasets.Dataset`` (its ``column`` is read from the Arrow buffers; every other column is
    dropped, since a packed row mixes several input rows), or a ``datasets.IterableDataset``
    (packed lazily, ``window_size`` sequences at a time; returns an IterableDataset).

    ``overflow`` for sequences longer than ``capacity``: ``"error"``, ``"truncate"``,
    ``"split"`` or ``"drop"`` (anything cut is reported in a warning). ``num_proc`` > 1 packs
    contiguous shards of the input in worker processes and concatenates them in shard order:
    deterministic for a given input and ``num_proc``, though the bins differ from one global
    packing. Empty input gives an empty dataset with the same columns.
    """
    _check_options(capacity, overflow, num_proc)
    capacity = int(capacity)
    if isinstance(token_ids, datasets.IterableDataset):
        if num_proc is not None and num_proc > 1:
            raise ValueError(
                "num_proc applies to a Dataset or a list; an IterableDataset is packed lazily, "
                "one window at a time (see window_size)"
            )
        return _pack_iterable(
            token_ids,
            capacity,
            strategy=strategy,
            seed=seed,
            padding_value=padding_value,
            label_padding_value=label_padding_value,
            overflow=overflow,
            column=column,
            window_size=window_size,
        )
    single_process = num_proc is None or num_proc == 1
    plain_lengths = _plain_list_lengths(token_ids, capacity) if single_process else None
    if plain_lengths is not None:
        result = pack_sequences(plain_lengths, capacity, strategy, seed)
        return _to_dataset(
            _columns_from_lists(token_ids, result, padding_value, label_padding_value)
        )
    tokens = _read_token_ids(token_ids, column)
    values = np.asarray(tokens.values)
    token_dtype = _token_dtype(values, padding_value, label_padding_value)
    if len(tokens.offsets) <= 1:
        return _to_dataset(_empty_columns(capacity, token_dtype))
    starts, lengths = _sequence_layout(tokens, capacity, overflow)
    if lengths.size == 0:  # everything dropped (and reported)
        return _to_dataset(_empty_columns(capacity, token_dtype))
    options = {
        "strategy": strategy,
        "seed": seed,
        "padding_value": padding_value,
        "label_padding_value": label_padding_value,
        "token_dtype": token_dtype,
    }
    if num_proc is not None and num_proc > 1:
        columns = _pack_in_shards(values, starts, lengths, capacity, num_proc, **options)
    else:
        result = pack_sequences(lengths, capacity, strategy, seed)
        columns = _build_columns(
            _flat_source(values, starts),
            result,
            padding_value=padding_value,
            label_padding_value=label_padding_value,
            token_dtype=token_dtype,
        )
    return _to_dataset(columns)


def pack_dataset_from_result(
    result: PackResult,
    token_ids: object,
    *,
    padding_value: int = 0,
    label_padding_value: int = -100,
    column: str = "input_ids",
) -> datasets.Dataset:
    """The packed dataset of an existing packing: sequence ``i`` of ``result`` is
    ``token_ids[i]`` (a list of sequences or a ``datasets.Dataset`` column)."""
    if not isinstance(result, PackResult):
        raise TypeError(f"result must be a PackResult, got {type(result).__name__}")
    plain_lengths = _plain_list_lengths(token_ids, result.capacity)
    if plain_lengths is not None and np.array_equal(plain_lengths, result.lengths):
        return _to_dataset(
            _columns_from_lists(token_ids, result, padding_value, label_padding_value)
        )
    tokens = _read_token_ids(token_ids, column)
    values = np.asarray(tokens.values)
    offsets = np.asarray(tokens.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    if len(lengths) != len(result.lengths):
        raise ValueError(
            f"token_ids has {len(lengths)} sequences but the packing has {len(result.lengths)}"
        )
    mismatch = np.flatnonzero(lengths != result.lengths)
    if mismatch.size:
        index = int(mismatch[0])
        raise ValueError(
            f"token_ids[{index}] has {int(lengths[index])} tokens but the packing says "
            f"{int(result.lengths[index])}"
        )
    token_dtype = _token_dtype(values, padding_value, label_padding_value)
    columns = _build_columns(
        _flat_source(values, offsets[:-1]),
        result,
        padding_value=padding_value,
        label_padding_value=label_padding_value,
        token_dtype=token_dtype,
    )
    return _to_dataset(columns)


# ---------------------------------------------------------------------------------------------
# IterableDataset: bounded windows, leftovers carried forward


def _features(capacity: int, token_dtype: np.dtype) -> datasets.Features:
    return datasets.Features.from_arrow_schema(
        _empty_columns(capacity, token_dtype).to_table().schema
    )


def _carried_bins(result: PackResult, limit: int) -> np.ndarray:
    """Bins filled below CARRY_FILL, least full first, holding at most ``limit`` sequences."""
    loads = result.bin_loads
    sparse = np.flatnonzero(loads < CARRY_FILL * result.capacity)
    sparse = sparse[np.argsort(loads[sparse], kind="stable")]
    sizes = np.diff(result.bin_bounds)[sparse]
    return np.sort(sparse[np.cumsum(sizes) <= limit])


def _select_bins(result: PackResult, bins: np.ndarray) -> PackResult:
    """The sub-packing of ``bins`` (same sequence ids, bins in the given order)."""
    sizes = np.diff(result.bin_bounds)[bins]
    bounds = np.zeros(len(bins) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    if len(bins):
        items = np.concatenate(
            [result.items_flat[result.bin_bounds[b] : result.bin_bounds[b + 1]] for b in bins]
        )
    else:
        items = np.zeros(0, dtype=np.int64)
    return PackResult(
        capacity=result.capacity,
        strategy=result.strategy,
        seed=result.seed,
        lengths=result.lengths,
        items_flat=items.astype(np.int64),
        bin_bounds=bounds,
        time_ms=0.0,
    )


def _iterable_rows(
    source: datasets.IterableDataset,
    capacity: int,
    *,
    strategy: str,
    seed: int | None,
    padding_value: int,
    label_padding_value: int,
    overflow: str,
    column: str,
    window_size: int,
    token_dtype: np.dtype,
) -> Iterator[dict[str, list[int]]]:
    carried = FlatTokens(np.zeros(0, np.int64), np.zeros(1, np.int64))
    seen = 0
    batches = source.select_columns([column]).with_format("arrow").iter(batch_size=window_size)
    batch = next(batches, None)
    while batch is not None:
        following = next(batches, None)  # one window ahead: the last one carries nothing
        new = _flat_from_arrow(batch.column(column), column)
        starts, lengths = _sequence_layout(new, capacity, overflow, index_base=seen)
        seen += len(new.offsets) - 1
        fresh = _gather(np.asarray(new.values, dtype=np.int64), starts, lengths)
        window = FlatTokens(
            np.concatenate([carried.values, fresh.values]),
            np.concatenate([carried.offsets, fresh.offsets[1:] + carried.offsets[-1]]),
        )
        if len(window.offsets) > 1:
            result = pack_sequences(np.diff(window.offsets), capacity, strategy, seed)
            keep = np.arange(result.num_bins)
            carry_ids = np.zeros(0, dtype=np.int64)
            if following is not None:
                carry = _carried_bins(result, limit=window_size // 2)
                keep = np.setdiff1d(keep, carry)
                carry_sub = _select_bins(result, carry)
                carry_ids = carry_sub.items_flat
            emitted = _build_columns(
                _flat_source(window.values, window.offsets[:-1]),
                _select_bins(result, keep),
                padding_value=padding_value,
                label_padding_value=label_padding_value,
                token_dtype=token_dtype,
                progress=False,
            )
            carried = _gather(
                window.values, window.offsets[:-1][carry_ids], result.lengths[carry_ids]
            )
            yield from _rows_of(emitted)
        batch = following


def _rows_of(columns: _Columns) -> Iterator[dict[str, list[int]]]:
    # Plain lists, as a Dataset row reads (tolist converts in C, not per token in Python).
    capacity = columns.capacity
    offsets = columns.seq_lengths_offsets
    for row in range(columns.num_rows):
        slots = slice(row * capacity, (row + 1) * capacity)
        yield {
            "input_ids": columns.input_ids[slots].tolist(),
            "attention_mask": columns.attention_mask[slots].tolist(),
            "labels": columns.labels[slots].tolist(),
            "position_ids": columns.position_ids[slots].tolist(),
            "seq_lengths": columns.seq_lengths_values[offsets[row] : offsets[row + 1]].tolist(),
        }


def _pack_iterable(
    source: datasets.IterableDataset,
    capacity: int,
    *,
    window_size: int,
    padding_value: int,
    label_padding_value: int,
    **options: Any,
) -> datasets.IterableDataset:
    """Lazy packing: ``window_size`` new sequences plus the leftovers of the previous window
    are packed together; packs filled below CARRY_FILL (at most ``window_size // 2``
    sequences) wait for the next window; the last window emits everything."""
    if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
        raise ValueError(f"window_size must be a positive int, got {window_size!r}")
    column = options["column"]
    if source.column_names is not None and column not in source.column_names:
        raise ValueError(
            f"the dataset has no column {column!r}; its columns are {source.column_names}"
        )
    # Token ids of a stream are unknown up front: int64 unless the source declares a narrower
    # integer type that (with both padding values) fits int32.
    token_dtype = np.dtype(np.int64)
    feature = (source.features or {}).get(column)
    inner = getattr(feature, "feature", None)
    if getattr(inner, "dtype", None) in {"int8", "int16", "int32", "uint8", "uint16"}:
        token_dtype = _token_dtype(np.zeros(0, np.int32), padding_value, label_padding_value)

    # A partial of a module-level function: datasets fingerprints (pickles) the generator.
    generate = functools.partial(
        _iterable_rows,
        source,
        capacity,
        window_size=window_size,
        padding_value=padding_value,
        label_padding_value=label_padding_value,
        token_dtype=token_dtype,
        **options,
    )
    return datasets.IterableDataset.from_generator(
        generate, features=_features(capacity, token_dtype)
    )
