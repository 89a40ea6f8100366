"""PackedBatch, pack_result_to_tensors and packed_collate_fn: contents, forms, workers, devices."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
import seqpacker
import torch
from seqpacker import FlatTokens, build_packed_arrays, pack_and_build, pack_sequences
from seqpacker_torch import (
    PackedBatch,
    PackedCollator,
    PerPack,
    document_causal_block_mask,
    pack_result_to_tensors,
    packed_collate_fn,
    varlen_attention_reference,
)
from torch.utils.data import DataLoader
from torch_helpers import make_token_ids

ROW_FIELDS = ("input_ids", "position_ids", "labels", "shift_labels", "attention_mask")
LENGTHS = [5, 9, 3, 14, 7, 2, 11, 6]


def assert_batches_equal(a: PackedBatch, b: PackedBatch) -> None:
    for name in (*ROW_FIELDS, "cu_seqlens_flat", "sequence_ids"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    for name in ("cu_seqlens", "seq_lengths"):
        assert len(getattr(a, name)) == len(getattr(b, name))
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            assert torch.equal(x, y), name
    assert (a.max_seqlen, a.max_seqlen_flat) == (b.max_seqlen, b.max_seqlen_flat)


def test_tensors_match_the_core_arrays_without_copying() -> None:
    tokens = make_token_ids(LENGTHS)
    result = pack_sequences(LENGTHS, 16)
    arrays = build_packed_arrays(result, tokens, padding_value=3)
    batch = PackedBatch.from_arrays(arrays)
    for name in ROW_FIELDS:
        tensor = getattr(batch, name)
        assert tensor.dtype == torch.int64 and tensor.shape == (result.num_bins, 16)
        assert tensor.data_ptr() == getattr(arrays, name).ctypes.data  # shares the memory
    assert all(c.dtype == torch.int32 for c in batch.cu_seqlens)
    assert batch.cu_seqlens_flat.dtype == torch.int32
    assert int(batch.cu_seqlens_flat[-1]) == batch.num_packs * batch.capacity
    assert batch.max_seqlen == 14 and isinstance(batch.max_seqlen, int)
    assert isinstance(batch.max_seqlen_flat, int)
    assert batch.num_tokens == sum(LENGTHS)
    np.testing.assert_array_equal(
        batch.sequence_ids.numpy(), result.items_flat
    )  # no overflow: ids in pack order


def test_pack_result_to_tensors_accepts_every_form() -> None:
    tokens = make_token_ids(LENGTHS)
    result = pack_sequences(LENGTHS, 16, "bfd")
    reference = pack_result_to_tensors(result, tokens)
    values = np.concatenate([np.array(t) for t in tokens])
    offsets = np.cumsum([0, *LENGTHS])
    forms = [
        [torch.tensor(t) for t in tokens],
        [np.array(t, dtype=np.int32) for t in tokens],
        FlatTokens(values, offsets),
        FlatTokens(torch.from_numpy(values), torch.from_numpy(offsets)),  # type: ignore[arg-type]
    ]
    for form in forms:
        assert_batches_equal(pack_result_to_tensors(result, form), reference)


def test_pack_result_to_tensors_errors_come_from_the_core() -> None:
    result = pack_sequences([2, 3], 8)
    with pytest.raises(TypeError, match=r"token_ids\[1\] must have an integer dtype"):
        pack_result_to_tensors(result, [torch.tensor([1, 2]), torch.tensor([1.0, 2.0, 3.0])])
    with pytest.raises(ValueError, match=r"token_ids\[0\] has 3 tokens but the packing says 2"):
        pack_result_to_tensors(result, [[1, 2, 3], [4, 5, 6]])


def test_collate_accepts_lists_tensors_arrays_and_dicts() -> None:
    tokens = make_token_ids(LENGTHS)
    collate = packed_collate_fn(16, strategy="ffd", padding_value=0)
    reference = collate(tokens)
    assert_batches_equal(
        reference, PackedBatch.from_arrays(pack_and_build(tokens, 16, strategy="ffd"))
    )
    for samples in (
        [torch.tensor(t) for t in tokens],
        [np.array(t) for t in tokens],
        [{"input_ids": t, "text": "ignored"} for t in tokens],
        [{"input_ids": torch.tensor(t)} for t in tokens],
    ):
        assert_batches_equal(collate(samples), reference)


def test_collate_errors() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        packed_collate_fn(16, strategy="nope")
    with pytest.raises(ValueError, match="capacity must be a positive int"):
        packed_collate_fn(0)
    with pytest.raises(ValueError, match="unknown overflow policy 'cut'"):
        packed_collate_fn(16, overflow="cut")
    with pytest.raises(TypeError, match="padding_value must be an int"):
        packed_collate_fn(16, padding_value=None)  # type: ignore[arg-type]
    collate = packed_collate_fn(4)
    with pytest.raises(KeyError, match="sample 1 is a mapping without an 'input_ids' key"):
        collate([{"input_ids": [1]}, {"ids": [2]}])
    with pytest.raises(ValueError, match=r"token_ids\[0\] has 5 tokens, more than the capacity 4"):
        collate([[1, 2, 3, 4, 5]])


def test_collate_overflow_split_keeps_the_mapping() -> None:
    collate = packed_collate_fn(4, overflow="split")
    with pytest.warns(UserWarning, match="split 1 sequence"):
        batch = collate([[1, 2], [5, 6, 7, 8, 9, 10]])
    assert sorted(batch.sequence_ids.tolist()) == [0, 1, 1]
    assert batch.num_tokens == 8


class _TokenDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, count: int) -> None:
        self.tokens = make_token_ids([(i * 7) % 13 + 1 for i in range(count)], seed=5)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": torch.tensor(self.tokens[index])}


def test_dataloader_with_two_workers_matches_the_main_process() -> None:
    dataset = _TokenDataset(48)
    collate = packed_collate_fn(16, strategy="obfd")
    in_process = list(DataLoader(dataset, batch_size=16, collate_fn=collate))
    workers = list(DataLoader(dataset, batch_size=16, collate_fn=collate, num_workers=2))
    assert len(in_process) == len(workers) == 3
    for a, b in zip(in_process, workers, strict=True):
        assert isinstance(b, PackedBatch)
        assert_batches_equal(a, b)


def test_collator_and_batch_pickle() -> None:
    collate = packed_collate_fn(16, strategy="ffs", seed=3, label_padding_value=-1)
    clone = pickle.loads(pickle.dumps(collate))
    assert isinstance(clone, PackedCollator) and repr(clone) == repr(collate)
    tokens = make_token_ids(LENGTHS)
    batch = collate(tokens)
    assert_batches_equal(clone(tokens), batch)
    assert_batches_equal(pickle.loads(pickle.dumps(batch)), batch)


def _can_pin() -> bool:
    try:
        torch.zeros(1).pin_memory()
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(not _can_pin(), reason="this platform cannot pin memory (no accelerator)")
def test_pin_memory() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    pinned = batch.pin_memory()
    assert pinned.input_ids.is_pinned() and all(c.is_pinned() for c in pinned.cu_seqlens)
    assert_batches_equal(pinned, batch)
    loader = DataLoader(
        _TokenDataset(16), batch_size=8, collate_fn=packed_collate_fn(16), pin_memory=True
    )
    assert all(b.input_ids.is_pinned() for b in loader)


def test_to_device_moves_every_tensor() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    moved = batch.to("cpu")
    assert_batches_equal(moved, batch)
    device = torch.device("meta")
    on_meta = batch.to(device)
    assert on_meta.input_ids.device == device
    assert all(c.device == device for c in [*on_meta.cu_seqlens, *on_meta.seq_lengths])
    assert on_meta.max_seqlen == batch.max_seqlen
    result = pack_sequences(LENGTHS, 16)
    placed = pack_result_to_tensors(result, make_token_ids(LENGTHS), device="meta")
    assert placed.labels.device == device


def test_labels_and_shift_labels_share_one_buffer_after_moving() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    assert batch.shift_labels.storage_offset() == batch.labels.storage_offset() + 1
    assert (
        batch.labels.untyped_storage().data_ptr() == batch.shift_labels.untyped_storage().data_ptr()
    )
    on_meta = batch.to("meta")
    # Moved once, as one buffer: both are views of the same moved tensor.
    assert on_meta.labels._base is not None and on_meta.labels._base is on_meta.shift_labels._base
    assert on_meta.shift_labels.shape == batch.shift_labels.shape
    # Independent tensors (a user's own batch) are moved one by one.
    separate = replace(batch, shift_labels=batch.shift_labels.clone())
    assert separate._shared_label_buffer() is None
    assert_batches_equal(separate.to("cpu"), batch)


def test_per_pack_views_behave_as_a_list() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    arrays = build_packed_arrays(pack_sequences(LENGTHS, 16), make_token_ids(LENGTHS))
    expected = [torch.from_numpy(c) for c in arrays.cu_seqlens]
    views = batch.cu_seqlens
    assert isinstance(views, PerPack) and len(views) == len(expected) == batch.num_packs
    assert torch.equal(views[-1], expected[-1]) and torch.equal(views[0], expected[0])
    with pytest.raises(IndexError):
        views[len(expected)]
    assert [v.tolist() for v in views[1:3]] == [e.tolist() for e in expected[1:3]]
    assert views == expected and views != expected[:-1]
    assert all(v.data_ptr() >= views.flat.data_ptr() for v in views)  # views, not copies
    assert "PerPack" in repr(views)
    restored = pickle.loads(pickle.dumps(batch))
    assert_batches_equal(restored, batch)


def test_hf_kwargs() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    plain = batch.hf_kwargs()
    assert set(plain) == {"input_ids", "position_ids", "labels", "use_cache"}
    assert plain["labels"] is batch.labels and plain["use_cache"] is False
    flash = batch.hf_kwargs(flash_attention=True)
    assert "attention_mask" not in flash
    assert flash["cu_seq_lens_q"].dtype == torch.int32
    assert flash["cu_seq_lens_q"] is flash["cu_seq_lens_k"] is batch.cu_seqlens_flat
    assert flash["max_length_q"] == flash["max_length_k"] == batch.max_seqlen_flat
    assert isinstance(flash["max_length_q"], int)


def _random_qkv(rows: int, length: int, heads: int = 4, kv_heads: int = 2, dim: int = 8):  # type: ignore[no-untyped-def]
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(rows * length, heads, dim, generator=generator)
    k = torch.randn(rows * length, kv_heads, dim, generator=generator)
    v = torch.randn(rows * length, kv_heads, dim, generator=generator)
    return q, k, v


def test_flash_kwargs_per_pack_and_flattened_agree() -> None:
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    q, k, v = _random_qkv(batch.num_packs, batch.capacity)
    flat = varlen_attention_reference(q, k, v, **_qk(batch.flash_attn_kwargs()))
    rows = [t.view(batch.num_packs, batch.capacity, *t.shape[1:]) for t in (q, k, v)]
    flat_rows = flat.view(batch.num_packs, batch.capacity, *flat.shape[1:])
    for pack in range(batch.num_packs):
        kwargs = batch.flash_attn_kwargs(pack)
        used = int(kwargs["cu_seqlens_q"][-1])
        assert kwargs["max_seqlen_q"] == int(batch.seq_lengths[pack].max())
        per_pack = varlen_attention_reference(*(t[pack, :used] for t in rows), **_qk(kwargs))
        torch.testing.assert_close(per_pack, flat_rows[pack, :used])


def _qk(kwargs: dict[str, object]) -> dict[str, object]:
    # varlen_attention_reference takes the cu_seqlens only (max_seqlen is a flash-attn hint).
    return {"cu_seqlens_q": kwargs["cu_seqlens_q"], "cu_seqlens_k": kwargs["cu_seqlens_k"]}


def test_reference_attention_equals_per_sequence_causal_attention() -> None:
    q, k, v = _random_qkv(1, 10, heads=2, kv_heads=2)
    cu = torch.tensor([0, 4, 10], dtype=torch.int32)
    out = varlen_attention_reference(q, k, v, cu)
    for start, end in ((0, 4), (4, 10)):
        expected = torch.nn.functional.scaled_dot_product_attention(
            *(t[start:end].transpose(0, 1) for t in (q, k, v)), is_causal=True
        ).transpose(0, 1)
        torch.testing.assert_close(out[start:end], expected)
    with pytest.raises(ValueError, match="same q and k segments"):
        varlen_attention_reference(q, k, v, cu, torch.tensor([0, 10], dtype=torch.int32))


def test_flex_block_mask_matches_the_reference() -> None:
    flex = pytest.importorskip("torch.nn.attention.flex_attention")
    batch = packed_collate_fn(16)(make_token_ids(LENGTHS))
    assert batch.document_ids.shape == batch.input_ids.shape
    q, k, v = _random_qkv(batch.num_packs, batch.capacity, heads=2, kv_heads=2)
    expected = varlen_attention_reference(q, k, v, batch.cu_seqlens_flat)
    block_mask = batch.flex_block_mask()
    rows = [
        t.view(batch.num_packs, batch.capacity, *t.shape[1:]).transpose(1, 2) for t in (q, k, v)
    ]
    out = flex.flex_attention(*rows, block_mask=block_mask)
    out = out.transpose(1, 2).reshape(expected.shape)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"document_ids must be \(rows, length\)"):
        document_causal_block_mask(torch.zeros(4, dtype=torch.int32))


def test_seed_import_path_reexports_the_package() -> None:
    from seqpacker import torch_utils

    assert torch_utils.packed_collate_fn is packed_collate_fn
    assert "PackedBatch" in torch_utils.__all__
    assert seqpacker.BACKEND in {"cython", "python"}
