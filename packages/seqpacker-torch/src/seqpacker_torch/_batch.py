"""PackedBatch and pack_result_to_tensors: the core's packed arrays as torch tensors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, overload

import numpy as np
import torch
from seqpacker import PackedArrays, PackResult, build_packed_arrays

from ._inputs import as_token_sequences


class PerPack(Sequence[torch.Tensor]):
    """One tensor per pack, each a view of one flat tensor: ``flat[bounds[p]:bounds[p + 1]]``.

    Behaves as a read-only list of tensors (``len``, indexing, slicing, iteration). The views
    are made when first read: a batch of thousands of packs would otherwise spend more time
    creating tensor objects (about 2 us each) than filling its rows. Moving a batch moves
    ``flat`` once.
    """

    __slots__ = ("_views", "bounds", "flat")

    def __init__(self, flat: torch.Tensor, bounds: Sequence[int]) -> None:
        self.flat = flat
        self.bounds = list(bounds)
        self._views: list[torch.Tensor] | None = None

    def _all(self) -> list[torch.Tensor]:
        if self._views is None:
            sizes = np.diff(self.bounds).tolist()
            start, end = self.bounds[0], self.bounds[-1]
            self._views = list(torch.split(self.flat[start:end], sizes))
        return self._views

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @overload
    def __getitem__(self, index: int) -> torch.Tensor: ...
    @overload
    def __getitem__(self, index: slice) -> list[torch.Tensor]: ...
    def __getitem__(self, index: int | slice) -> torch.Tensor | list[torch.Tensor]:
        if isinstance(index, slice):
            return self._all()[index]
        if self._views is not None:
            return self._views[index]
        pack = range(len(self))[index]  # IndexError and negative indices as a list has them
        return self.flat[self.bounds[pack] : self.bounds[pack + 1]]

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(
            torch.equal(mine, theirs) for mine, theirs in zip(self, other, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def map(self, move: Callable[[torch.Tensor], torch.Tensor]) -> PerPack:
        """The same views of ``move(flat)`` (to another device, pinned memory, ...)."""
        return PerPack(move(self.flat), self.bounds)

    def __repr__(self) -> str:
        return f"PerPack({len(self)} packs, {self.flat.dtype}, device={self.flat.device})"


def _per_pack(flat: np.ndarray, bounds: np.ndarray) -> PerPack:
    return PerPack(torch.from_numpy(flat), bounds.tolist())


@dataclass
class PackedBatch:
    """One batch of packed sequences: ``num_packs`` rows of ``capacity`` tokens.

    Row tensors (``input_ids``, ``position_ids``, ``labels``, ``shift_labels``,
    ``attention_mask``) are int64 of shape ``(num_packs, capacity)``. ``labels`` follow the
    Hugging Face convention (aligned with ``input_ids``; the model shifts them): pass them as
    ``labels=``. ``shift_labels`` are already shifted, for losses that do not shift; built by
    seqpacker, they view the same memory as ``labels`` one slot later, so masking a token in
    ``labels`` masks it in ``shift_labels`` too (``to()``/``pin_memory()`` keep that).
    ``attention_mask`` marks real tokens (1) and padding (0); it is for loss weighting and
    statistics, never for the model (any 2-D mask lets packed sequences attend to each other).

    ``cu_seqlens``/``seq_lengths`` hold one int32 tensor per pack (a :class:`PerPack`: views
    made when read); ``cu_seqlens_flat`` covers
    ``input_ids.reshape(-1)`` (each padding tail is its own segment) for one varlen call.
    ``sequence_ids`` lists, in pack order, the index of each sequence in the input.
    """

    input_ids: torch.Tensor
    cu_seqlens: Sequence[torch.Tensor]
    max_seqlen: int
    position_ids: torch.Tensor
    labels: torch.Tensor
    attention_mask: torch.Tensor
    shift_labels: torch.Tensor
    seq_lengths: Sequence[torch.Tensor]
    cu_seqlens_flat: torch.Tensor
    max_seqlen_flat: int
    sequence_ids: torch.Tensor

    @classmethod
    def from_arrays(cls, arrays: PackedArrays) -> PackedBatch:
        """Wrap the core's arrays without copying (``torch.from_numpy`` shares the memory)."""
        label_buffer = torch.from_numpy(arrays.label_buffer)
        shape = arrays.input_ids.shape
        return cls(
            input_ids=torch.from_numpy(arrays.input_ids),
            cu_seqlens=_per_pack(arrays.cu_seqlens_concat, arrays.cu_seqlens_bounds),
            max_seqlen=arrays.max_seqlen,
            position_ids=torch.from_numpy(arrays.position_ids),
            labels=label_buffer[:-1].view(shape),
            attention_mask=torch.from_numpy(arrays.attention_mask),
            shift_labels=label_buffer[1:].view(shape),
            seq_lengths=_per_pack(arrays.seq_lengths_flat, arrays.pack_bounds),
            cu_seqlens_flat=torch.from_numpy(arrays.cu_seqlens_flat),
            max_seqlen_flat=arrays.max_seqlen_flat,
            sequence_ids=torch.from_numpy(arrays.source_index[arrays.result.items_flat]),
        )

    # ---- sizes
    @property
    def num_packs(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def capacity(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def num_tokens(self) -> int:
        """Real (non-padding) tokens in the batch."""
        return int(self.attention_mask.sum())

    @property
    def document_ids(self) -> torch.Tensor:
        """``(num_packs, capacity)`` int32: the segment of each slot within its row.

        Sequences are numbered 0, 1, ... in each row; the padding tail is one more segment.
        """
        return ((self.position_ids == 0).cumsum(dim=-1) - 1).to(torch.int32)

    # ---- moving
    def _shared_label_buffer(self) -> torch.Tensor | None:
        """The one buffer behind ``labels`` and ``shift_labels`` (one slot later), if they share it.

        The core builds them so (no memory for the pre-shifted form); moving the buffer once
        keeps them sharing it on the new device, and moves the labels only once.
        """
        labels, shifted = self.labels, self.shift_labels
        shares = (
            labels.is_contiguous()
            and shifted.is_contiguous()
            and labels.shape == shifted.shape
            and labels.untyped_storage().data_ptr() == shifted.untyped_storage().data_ptr()
            and shifted.storage_offset() == labels.storage_offset() + 1
        )
        return labels.as_strided((labels.numel() + 1,), (1,)) if shares else None

    def _map(self, move: Any) -> PackedBatch:
        changes = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, torch.Tensor):
                changes[spec.name] = move(value)
            elif isinstance(value, PerPack):
                changes[spec.name] = value.map(move)
            elif isinstance(value, list):
                changes[spec.name] = [move(tensor) for tensor in value]
        label_buffer = self._shared_label_buffer()
        if label_buffer is not None:
            moved = move(label_buffer)
            changes["labels"] = moved[:-1].view(self.labels.shape)
            changes["shift_labels"] = moved[1:].view(self.labels.shape)
        return replace(self, **changes)

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> PackedBatch:
        """A batch on ``device`` (this one when every tensor is already there)."""
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> PackedBatch:
        """A copy in page-locked memory; DataLoader(pin_memory=True) calls this."""
        return self._map(lambda t: t.pin_memory())

    # ---- model inputs
    def hf_kwargs(self, *, flash_attention: bool = False) -> dict[str, Any]:
        """Keyword arguments for a Hugging Face causal LM: ``model(**batch.hf_kwargs())``.

        ``input_ids``, ``position_ids`` (sequences are separated by their restart at 0),
        ``labels`` (aligned: the model shifts them) and ``use_cache=False`` (with a cache
        the SDPA/eager/flex paths stop detecting packed rows). With ``flash_attention=True``
        also ``cu_seq_lens_q/k`` (int32) and ``max_length_q/k`` (ints) over the flattened
        batch, which the flash path needs when a batch has more than one row.
        Never an ``attention_mask``: a 2-D mask would let packed sequences see each other.
        """
        kwargs: dict[str, Any] = {
            "input_ids": self.input_ids,
            "position_ids": self.position_ids,
            "labels": self.labels,
            "use_cache": False,
        }
        if flash_attention:
            kwargs.update(
                cu_seq_lens_q=self.cu_seqlens_flat,
                cu_seq_lens_k=self.cu_seqlens_flat,
                max_length_q=self.max_seqlen_flat,
                max_length_k=self.max_seqlen_flat,
            )
        return kwargs

    def flash_attn_kwargs(self, pack: int | None = None) -> dict[str, Any]:
        """``cu_seqlens_q/k`` and ``max_seqlen_q/k`` for ``flash_attn_varlen_func``.

        ``pack=None``: for q/k/v of the whole batch flattened to ``(num_packs * capacity,
        heads, dim)``. ``pack=p``: for the real tokens of row ``p`` only,
        ``q[p, :used]`` with ``used = cu_seqlens[p][-1]``.
        """
        if pack is None:
            cu_seqlens, max_seqlen = self.cu_seqlens_flat, self.max_seqlen_flat
        else:
            cu_seqlens = self.cu_seqlens[pack]
            lengths = self.seq_lengths[pack]
            max_seqlen = int(lengths.max()) if lengths.numel() else 0
        return {
            "cu_seqlens_q": cu_seqlens,
            "cu_seqlens_k": cu_seqlens,
            "max_seqlen_q": max_seqlen,
            "max_seqlen_k": max_seqlen,
        }

    def flex_block_mask(self, *, device: torch.device | str | None = None) -> Any:
        """A FlexAttention ``BlockMask``: causal attention within each sequence of a row.

        Use with ``torch.nn.attention.flex_attention.flex_attention(q, k, v, block_mask=...)``
        on q/k/v of shape ``(num_packs, heads, capacity, dim)``.
        """
        from .attention import document_causal_block_mask

        return document_causal_block_mask(self.document_ids, device=device)


def pack_result_to_tensors(
    result: PackResult,
    token_ids: object,
    *,
    padding_value: int = 0,
    label_padding_value: int = -100,
    device: torch.device | str | None = None,
) -> PackedBatch:
    """The :class:`PackedBatch` of ``result`` for ``token_ids`` (indexed by sequence id).

    ``token_ids``: lists of ints, 1-D numpy arrays or tensors, or a ``seqpacker.FlatTokens``.
    The tensors share memory with the arrays the core built; ``device`` moves them.
    """
    arrays = build_packed_arrays(
        result,
        as_token_sequences(token_ids),
        padding_value=padding_value,
        label_padding_value=label_padding_value,
    )
    batch = PackedBatch.from_arrays(arrays)
    return batch if device is None else batch.to(device)
