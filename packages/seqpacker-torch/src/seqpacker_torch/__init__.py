"""seqpacker-torch: packed training batches for PyTorch, Flash Attention varlen and FlexAttention.

>>> from seqpacker_torch import packed_collate_fn
>>> batch = packed_collate_fn(capacity=8)([[1, 2, 3], [4, 5], [6, 7, 8, 9]])
>>> batch.input_ids.shape, batch.labels[0].tolist()
(torch.Size([2, 8]), [-100, 7, 8, 9, -100, 2, 3, -100])
"""

from __future__ import annotations

from ._batch import PackedBatch, PerPack, pack_result_to_tensors
from ._collate import PackedCollator, packed_collate_fn
from .attention import (
    document_causal_block_mask,
    pick_varlen_attention,
    varlen_attention_reference,
)

__version__ = "0.1.0"

__all__ = [
    "PackedBatch",
    "PackedCollator",
    "PerPack",
    "__version__",
    "document_causal_block_mask",
    "pack_result_to_tensors",
    "packed_collate_fn",
    "pick_varlen_attention",
    "varlen_attention_reference",
]
