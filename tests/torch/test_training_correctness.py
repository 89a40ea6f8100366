"""Packed batches train exactly like the sequences run one by one (DESIGN.md §7).

A tiny randomly initialised LlamaForCausalLM (float32, CPU, no cache). For every attention
path the seed's call ``model(input_ids=..., position_ids=..., labels=...)`` on packed rows
must give the loss and the per-token logits of each sequence run alone. Guard tests show that
the two classic mistakes (pre-shifted labels passed as ``labels=``, a 2-D attention mask) do
change the result, so the equality above is not an accident of the setup.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import build_model, make_token_ids
from seqpacker import pack_sequences
from seqpacker_torch import PackedBatch, pack_result_to_tensors, varlen_attention_reference

transformers = pytest.importorskip("transformers")

# Several rows, several sequences per row, padding in every row, one full-length sequence.
LENGTHS = [7, 12, 5, 20, 9, 3, 15, 32, 2, 11]
CAPACITY = 32
REFERENCE_VARLEN = "seqpacker_varlen_reference"


@pytest.fixture(scope="module")
def token_ids() -> list[list[int]]:
    return make_token_ids(LENGTHS, seed=1)


@pytest.fixture(scope="module")
def batch(token_ids: list[list[int]]) -> PackedBatch:
    result = pack_sequences(LENGTHS, CAPACITY, "ffd")
    packed = pack_result_to_tensors(result, token_ids)
    assert packed.num_packs >= 3 and (packed.attention_mask == 0).any()
    assert max(len(s) for s in packed.seq_lengths) >= 2
    return packed


@pytest.fixture(scope="module")
def alone(tiny_llama_config: Any, token_ids: list[list[int]]) -> dict[str, Any]:
    """Each sequence run by itself (eager attention): its logits and its summed token loss."""
    model = build_model(tiny_llama_config, "eager")
    logits, loss_sum, count = [], 0.0, 0
    with torch.no_grad():
        for sequence in token_ids:
            ids = torch.tensor([sequence])
            out = model(input_ids=ids, labels=ids)
            logits.append(out.logits[0])
            loss_sum += out.loss.double().item() * (len(sequence) - 1)
            count += len(sequence) - 1
    return {"logits": logits, "loss": loss_sum / count}


def packed_logits_per_sequence(batch: PackedBatch, logits: torch.Tensor) -> dict[int, torch.Tensor]:
    """Logits of each original sequence, cut out of the packed rows."""
    out: dict[int, torch.Tensor] = {}
    order = iter(batch.sequence_ids.tolist())
    for pack, bounds in enumerate(batch.cu_seqlens):
        edges = bounds.tolist()
        for start, end in itertools.pairwise(edges):
            out[next(order)] = logits[pack, start:end]
    return out


def assert_matches_alone(batch: PackedBatch, output: Any, alone: dict[str, Any]) -> None:
    assert output.loss.item() == pytest.approx(alone["loss"], rel=1e-5)
    per_sequence = packed_logits_per_sequence(batch, output.logits)
    assert sorted(per_sequence) == list(range(len(LENGTHS)))
    for index, logits in per_sequence.items():
        torch.testing.assert_close(logits, alone["logits"][index], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa", "flex_attention"])
def test_packed_equals_alone(
    attn_implementation: str, tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    model = build_model(tiny_llama_config, attn_implementation)
    with torch.no_grad():
        output = model(
            input_ids=batch.input_ids, position_ids=batch.position_ids, labels=batch.labels
        )
    assert_matches_alone(batch, output, alone)


def _reference_varlen_attention(  # noqa: PLR0917 - HF's attention function signature
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """An HF attention function that, like flash-attn, only sees cu_seq_lens (no mask)."""
    cu_seqlens = kwargs["cu_seq_lens_q"]
    assert cu_seqlens.dtype == torch.int32 and torch.equal(cu_seqlens, kwargs["cu_seq_lens_k"])
    assert isinstance(kwargs["max_length_q"], int)
    rows, heads, length, dim = query.shape
    flat = [t.transpose(1, 2).reshape(rows * length, t.shape[1], dim) for t in (query, key, value)]
    out = varlen_attention_reference(*flat, cu_seqlens, cu_seqlens, softmax_scale=scaling)
    return out.view(rows, length, heads, dim), None


def test_reference_varlen_attention_driven_by_cu_seqlens(
    tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import sdpa_mask

    AttentionInterface.register(REFERENCE_VARLEN, _reference_varlen_attention)
    AttentionMaskInterface.register(REFERENCE_VARLEN, sdpa_mask)
    model = build_model(tiny_llama_config, REFERENCE_VARLEN)
    kwargs = batch.hf_kwargs(flash_attention=True)
    assert "attention_mask" not in kwargs
    with torch.no_grad():
        output = model(**kwargs)
    assert_matches_alone(batch, output, alone)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_hf_kwargs_equal_the_seed_call(
    attn_implementation: str, tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    model = build_model(tiny_llama_config, attn_implementation)
    with torch.no_grad():
        output = model(**batch.hf_kwargs())
    assert_matches_alone(batch, output, alone)


def test_shift_labels_give_the_same_loss_without_shifting(
    tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    model = build_model(tiny_llama_config, "sdpa")
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, position_ids=batch.position_ids).logits
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), batch.shift_labels.reshape(-1), ignore_index=-100
    )
    assert loss.item() == pytest.approx(alone["loss"], rel=1e-5)


# ---- guards: the classic mistakes change the result


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_guard_pre_shifted_labels_as_labels_are_wrong(
    attn_implementation: str, tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    model = build_model(tiny_llama_config, attn_implementation)
    with torch.no_grad():
        output = model(
            input_ids=batch.input_ids, position_ids=batch.position_ids, labels=batch.shift_labels
        )
    # The model shifts again: it would train token t+2 from token t.
    assert output.loss.item() != pytest.approx(alone["loss"], rel=1e-2)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_guard_a_2d_attention_mask_lets_sequences_see_each_other(
    attn_implementation: str, tiny_llama_config: Any, batch: PackedBatch, alone: dict[str, Any]
) -> None:
    model = build_model(tiny_llama_config, attn_implementation)
    with torch.no_grad():
        output = model(
            input_ids=batch.input_ids,
            position_ids=batch.position_ids,
            labels=batch.labels,
            attention_mask=batch.attention_mask,
        )
    assert output.loss.item() != pytest.approx(alone["loss"], rel=1e-3)
    per_sequence = packed_logits_per_sequence(batch, output.logits)
    # A sequence placed after another one in its row now attends across the boundary.
    differs = [
        not torch.allclose(logits, alone["logits"][index], rtol=1e-4, atol=1e-4)
        for index, logits in per_sequence.items()
    ]
    assert any(differs)
