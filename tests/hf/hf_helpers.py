"""Helpers for the Hugging Face tests: tiny data, a tiny Llama, the unpacked reference loss.

Nothing is downloaded: the model is a randomly initialised ``LlamaForCausalLM`` from a config.
``initializer_range=0.2`` makes attention weights large enough that any leak between packed
sequences moves the loss.
"""

from __future__ import annotations

import random

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "log",
    "sun",
    "moon",
    "red",
    "blue",
    "quick",
    "slow",
    "jumps",
    "sleeps",
    "over",
    "near",
    "far",
    "river",
    "tree",
    "house",
    "bird",
    "sings",
    "loud",
    "softly",
    "morning",
    "night",
]


def make_texts(count: int = 24, seed: int = 0) -> list[str]:
    """Sentences of 2 to 40 words (so packs mix short and long sequences)."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 40))) for _ in range(count)]


def tiny_llama(vocab_size: int, attention: str, seed: int = 0):  # type: ignore[no-untyped-def]
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.2,
        use_cache=False,
        attn_implementation=attention,
    )
    return LlamaForCausalLM(config).float()


def unpacked_loss(model, sequences: list[list[int]]) -> float:  # type: ignore[no-untyped-def]
    """Mean next-token loss over every sequence run alone (the ground truth for packing)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for sequence in sequences:
            ids = torch.tensor([sequence])
            loss = model(input_ids=ids, labels=ids).loss
            total += float(loss) * (len(sequence) - 1)
            count += len(sequence) - 1
    return total / count
