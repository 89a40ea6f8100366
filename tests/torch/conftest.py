"""Shared pieces of the torch tests: a tiny Llama built from a config, tiny token data.

The core backend comes from SEQPACKER_BACKEND (the nox ``torch`` session runs both).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

VOCAB_SIZE = 96


def make_token_ids(lengths: list[int], seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB_SIZE, size=n).tolist() for n in lengths]


@pytest.fixture(scope="session")
def tiny_llama_config():  # type: ignore[no-untyped-def]
    transformers = pytest.importorskip("transformers")
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
        torch_dtype="float32",
    )


def build_model(config, attn_implementation: str):  # type: ignore[no-untyped-def]
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.set_attn_implementation(attn_implementation)
    return model.eval()
