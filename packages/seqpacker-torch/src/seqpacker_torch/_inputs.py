"""Turning the token ids users hand us (lists, numpy arrays, tensors, dicts) into core input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from seqpacker import FlatTokens


def _tensor_as_numpy(tensor: torch.Tensor) -> Any:
    # The core checks the dtype and the number of dimensions and names the index.
    return tensor.detach().cpu().numpy()


def as_token_sequences(token_ids: object) -> object:
    """``token_ids`` with every torch tensor turned into a numpy array (others unchanged)."""
    if isinstance(token_ids, FlatTokens):
        values, offsets = token_ids
        if isinstance(values, torch.Tensor) or isinstance(offsets, torch.Tensor):
            return FlatTokens(
                _tensor_as_numpy(values) if isinstance(values, torch.Tensor) else values,
                _tensor_as_numpy(offsets) if isinstance(offsets, torch.Tensor) else offsets,
            )
        return token_ids
    if isinstance(token_ids, (list, tuple)) and any(
        isinstance(sequence, torch.Tensor) for sequence in token_ids
    ):
        return [
            _tensor_as_numpy(sequence) if isinstance(sequence, torch.Tensor) else sequence
            for sequence in token_ids
        ]
    return token_ids


def sample_token_ids(sample: object, index: int) -> object:
    """The token ids of one dataset sample: the sample itself, or its ``"input_ids"``."""
    if isinstance(sample, Mapping):
        if "input_ids" not in sample:
            raise KeyError(
                f"sample {index} is a mapping without an 'input_ids' key "
                f"(keys: {sorted(map(str, sample))[:8]})"
            )
        sample = sample["input_ids"]
    if isinstance(sample, torch.Tensor):
        return _tensor_as_numpy(sample)
    return sample
