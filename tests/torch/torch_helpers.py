"""Helpers of the torch tests: tiny token data and a tiny Llama built from a config."""

from __future__ import annotations

import numpy as np
import torch

VOCAB_SIZE = 96


def make_token_ids(lengths: list[int], seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, VOCAB_SIZE, size=n).tolist() for n in lengths]


def build_model(config, attn_implementation: str):  # type: ignore[no-untyped-def]
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.set_attn_implementation(attn_implementation)
    return model.eval()
