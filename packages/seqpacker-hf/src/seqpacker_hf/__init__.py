"""seqpacker-hf: packed Hugging Face datasets and a Trainer collator on top of seqpacker.

>>> from seqpacker_hf import pack_dataset
>>> ds = pack_dataset([[5, 6, 7], [8, 9], [10, 11, 12, 13]], capacity=5)
>>> ds.column_names
['input_ids', 'attention_mask', 'labels', 'position_ids', 'seq_lengths']
"""

from __future__ import annotations

from ._collator import PackedDataCollator
from ._dataset import COLUMNS, pack_dataset, pack_dataset_from_result

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "PackedDataCollator",
    "__version__",
    "pack_dataset",
    "pack_dataset_from_result",
]
