"""Attention over packed rows without Flash Attention: a reference and a FlexAttention mask.

``varlen_attention_reference`` computes exactly what ``flash_attn_varlen_func`` computes (each
``cu_seqlens`` segment attends only to itself), one segment at a time with
``scaled_dot_product_attention``: the CPU stand-in for tests and for machines without
flash-attn. ``document_causal_block_mask`` builds the FlexAttention equivalent.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F


def varlen_attention_reference(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens_q: torch.Tensor,
    cu_seqlens_k: torch.Tensor | None = None,
    *,
    causal: bool = True,
    softmax_scale: float | None = None,
) -> torch.Tensor:
    """Attention of ``(total, heads, dim)`` q/k/v split into segments by ``cu_seqlens``.

    Same layout and semantics as ``flash_attn_varlen_func`` with equal q/k segments:
    grouped-query attention is supported (``key`` may have fewer heads that divide
    ``query``'s). Tokens past ``cu_seqlens_q[-1]`` are left as zeros.
    """
    if cu_seqlens_k is not None and not torch.equal(cu_seqlens_q, cu_seqlens_k):
        raise ValueError("varlen_attention_reference needs the same q and k segments")
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError("query, key and value must be (total_tokens, heads, head_dim)")
    heads, kv_heads = query.shape[1], key.shape[1]
    if heads % kv_heads:
        raise ValueError(f"{heads} query heads cannot share {kv_heads} key/value heads")
    out = query.new_zeros(query.shape)
    bounds = cu_seqlens_q.tolist()
    for start, end in itertools.pairwise(bounds):
        if end == start:
            continue
        # (heads, length, dim) for SDPA; repeat shared k/v heads for grouped-query attention.
        q = query[start:end].transpose(0, 1)
        k = key[start:end].transpose(0, 1).repeat_interleave(heads // kv_heads, dim=0)
        v = value[start:end].transpose(0, 1).repeat_interleave(heads // kv_heads, dim=0)
        segment = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=softmax_scale)
        out[start:end] = segment.transpose(0, 1)
    return out


def document_causal_block_mask(
    document_ids: torch.Tensor, *, device: torch.device | str | None = None
) -> Any:
    """A FlexAttention ``BlockMask``: slot q sees slot k of its row iff same document, k <= q.

    ``document_ids`` is ``(rows, length)`` (see ``PackedBatch.document_ids``).
    """
    from torch.nn.attention.flex_attention import create_block_mask

    if document_ids.dim() != 2:
        raise ValueError(
            f"document_ids must be (rows, length), got shape {tuple(document_ids.shape)}"
        )
    target = document_ids.device if device is None else torch.device(device)
    documents = document_ids.to(target)
    rows, length = documents.shape

    def same_document_causal(batch: Any, head: Any, q_index: Any, kv_index: Any) -> Any:
        return (documents[batch, q_index] == documents[batch, kv_index]) & (q_index >= kv_index)

    return create_block_mask(
        same_document_causal, B=rows, H=None, Q_LEN=length, KV_LEN=length, device=target
    )


VarlenAttention = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor
]


def _flash_attn_varlen(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
) -> torch.Tensor:
    from flash_attn import flash_attn_varlen_func

    out: torch.Tensor = flash_attn_varlen_func(
        query, key, value, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen, causal=True
    )
    return out


def _torch_varlen_attn(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
) -> torch.Tensor:
    from torch.nn.attention.varlen import varlen_attn

    # varlen_attn's keywords changed between torch releases: 2.11 has `is_causal` and no
    # grouped-query support; later releases take `window_size=(-1, 0)` and `enable_gqa`.
    accepted = inspect.signature(varlen_attn).parameters
    options: dict[str, object] = {}
    if "window_size" in accepted:
        options["window_size"] = (-1, 0)  # causal
    else:
        options["is_causal"] = True
    if key.shape[1] != query.shape[1]:
        if "enable_gqa" in accepted:
            options["enable_gqa"] = True
        else:
            groups = query.shape[1] // key.shape[1]
            key = key.repeat_interleave(groups, dim=1)
            value = value.repeat_interleave(groups, dim=1)
    out = varlen_attn(query, key, value, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen, **options)
    assert isinstance(out, torch.Tensor)  # a tuple only when return_aux is asked for
    return out


def _reference_varlen(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    cu_seqlens: torch.Tensor,
    max_seqlen: int,
) -> torch.Tensor:
    return varlen_attention_reference(query, key, value, cu_seqlens)


def pick_varlen_attention(device: torch.device | str) -> tuple[str, VarlenAttention]:
    """The best causal varlen attention available on ``device``: ``(name, function)``.

    ``function(q, k, v, cu_seqlens, max_seqlen)`` takes ``(total, heads, dim)`` tensors.
    Order: flash-attn's ``flash_attn_varlen_func`` (CUDA), torch's ``varlen_attn`` (CUDA),
    then :func:`varlen_attention_reference` (anywhere).
    """
    if torch.device(device).type == "cuda":
        if importlib.util.find_spec("flash_attn") is not None:
            return "flash_attn.flash_attn_varlen_func", _flash_attn_varlen
        if importlib.util.find_spec("torch.nn.attention.varlen") is not None:
            return "torch.nn.attention.varlen.varlen_attn", _torch_varlen_attn
    return "seqpacker_torch.varlen_attention_reference", _reference_varlen
