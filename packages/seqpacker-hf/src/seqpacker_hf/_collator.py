"""A ``transformers.Trainer`` collator for packed rows that keeps sequences apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REQUIRED = ("input_ids", "labels", "position_ids")


class PackedDataCollator:
    """Stack packed rows (from :func:`pack_dataset`) into ``LlamaForCausalLM``-style inputs.

    Returns int64 ``input_ids``, ``labels`` (aligned, the model shifts them) and
    ``position_ids`` of shape ``(batch, capacity)``, and, with ``flash_attention_kwargs``,
    int32 ``cu_seq_lens_q``/``cu_seq_lens_k`` over the flattened batch plus Python-int
    ``max_length_q``/``max_length_k``. It never returns an ``attention_mask``:

    - flash attention reads ``cu_seq_lens_*`` (transformers only infers them from
      ``position_ids`` for a one-row batch);
    - sdpa, eager and flex mask packed sequences from ``position_ids`` only when
      ``attention_mask is None``: any 2-D mask, even all ones, lets the sequences of a row
      attend to each other.

    Boundaries come from the ``seq_lengths`` column when present (the padding tail is its own
    segment) and otherwise from ``position_ids`` (a sequence starts where the position is 0),
    so the collator also works after ``Trainer`` removed the columns the model does not take.
    A picklable plain object: usable with ``dataloader_num_workers > 0``.
    """

    def __init__(self, *, flash_attention_kwargs: bool = True) -> None:
        self.flash_attention_kwargs = flash_attention_kwargs

    def __repr__(self) -> str:
        return f"PackedDataCollator(flash_attention_kwargs={self.flash_attention_kwargs})"

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        if not features:
            raise ValueError("PackedDataCollator got an empty batch")
        for name in REQUIRED:
            if name not in features[0]:
                raise ValueError(
                    f"packed rows need the column {name!r} (rows from seqpacker_hf.pack_dataset "
                    f"have it); got columns {sorted(features[0])}"
                )
        batch = {name: _stack([row[name] for row in features], name) for name in REQUIRED}
        if not self.flash_attention_kwargs:
            return {name: torch.from_numpy(array) for name, array in batch.items()}
        row_length = batch["input_ids"].shape[1]
        if "seq_lengths" in features[0]:
            segments = np.concatenate(
                [np.asarray(row["seq_lengths"], dtype=np.int64) for row in features]
            )
            if segments.sum() != batch["input_ids"].size:
                raise ValueError(
                    f"seq_lengths sum to {int(segments.sum())} but the batch has "
                    f"{batch['input_ids'].size} slots (rows of {row_length}); each row's "
                    "seq_lengths must include its padding tail"
                )
            boundaries = np.zeros(len(segments) + 1, dtype=np.int64)
            np.cumsum(segments, out=boundaries[1:])
        else:
            flat_positions = batch["position_ids"].reshape(-1)
            starts = np.flatnonzero(flat_positions == 0)
            boundaries = np.append(starts, flat_positions.size)
        cu_seq_lens = torch.from_numpy(boundaries.astype(np.int32))
        max_length = int(np.diff(boundaries).max())
        output: dict[str, Any] = {name: torch.from_numpy(array) for name, array in batch.items()}
        output["cu_seq_lens_q"] = output["cu_seq_lens_k"] = cu_seq_lens
        output["max_length_q"] = output["max_length_k"] = max_length
        return output


def _stack(rows: list[Any], name: str) -> np.ndarray:
    """Rows (lists, numpy arrays or tensors) of one length as an int64 array."""
    arrays = [np.asarray(row.numpy() if hasattr(row, "numpy") else row) for row in rows]
    lengths = {len(array) for array in arrays}
    if len(lengths) != 1:
        raise ValueError(
            f"packed rows must all have the same length; column {name!r} has lengths "
            f"{sorted(lengths)}"
        )
    stacked = np.stack(arrays)
    if stacked.dtype.kind not in "iu":
        raise TypeError(f"column {name!r} must hold integers, got dtype {stacked.dtype}")
    return stacked.astype(np.int64)
