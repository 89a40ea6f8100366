"""Fixtures of the torch tests. The core backend comes from SEQPACKER_BACKEND (the nox
``torch`` session runs both)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_llama_config():  # type: ignore[no-untyped-def]
    transformers = pytest.importorskip("transformers")
    from torch_helpers import VOCAB_SIZE

    return transformers.LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        # Large weights make attention across a sequence boundary change the loss visibly.
        initializer_range=0.2,
        use_cache=False,
    )
