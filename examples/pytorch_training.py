"""A complete packed training loop in plain PyTorch: DataLoader + packed_collate_fn + HF model.

Runs on CPU in well under a minute with no arguments and no downloads: a tiny randomly
initialised LlamaForCausalLM learns a synthetic language (counting sequences: each sequence
starts at a random token and counts up), so the loss visibly goes down.

    python examples/pytorch_training.py [--steps 30] [--capacity 256] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from seqpacker.torch_utils import PackedBatch, packed_collate_fn
from torch.utils.data import DataLoader, Dataset

VOCAB_SIZE = 64


class CountingSequences(Dataset):
    """Variable-length sequences ``start, start+1, ...`` (mod the vocabulary): learnable."""

    def __init__(self, count: int, max_length: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        lengths = np.clip(rng.lognormal(3.0, 0.6, size=count).astype(int), 2, max_length)
        starts = rng.integers(0, VOCAB_SIZE, size=count)
        self.samples = [
            ((start + np.arange(length)) % VOCAB_SIZE).tolist()
            for start, length in zip(starts, lengths, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return {"input_ids": self.samples[index]}


def tiny_llama() -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        use_cache=False,  # packed rows are separated by position_ids only without a cache
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # sdpa: packed sequences are masked from position_ids (there is no 2-D attention_mask).
    model.set_attn_implementation("sdpa")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--capacity", type=int, default=256, help="tokens per packed row")
    parser.add_argument("--batch-size", type=int, default=24, help="samples per batch")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    dataset = CountingSequences(count=args.steps * args.batch_size, max_length=args.capacity)
    loader = DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        collate_fn=packed_collate_fn(capacity=args.capacity, strategy="obfd"),
        pin_memory=args.device.startswith("cuda"),
    )
    model = tiny_llama().to(args.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)

    losses: list[float] = []
    start = time.perf_counter()
    for step, loaded in enumerate(loader, start=1):
        batch: PackedBatch = loaded.to(args.device, non_blocking=True)
        # The seed's call: labels are aligned (the model shifts them inside a sequence).
        output = model(
            input_ids=batch.input_ids,
            position_ids=batch.position_ids,
            labels=batch.labels,
            use_cache=False,
        )
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        optimizer.step()
        losses.append(output.loss.item())
        if step == 1 or step % 10 == 0:
            fill = batch.num_tokens / batch.input_ids.numel()
            print(
                f"step {step:3d}  loss {output.loss.item():.3f}  rows {batch.num_packs}  "
                f"fill {fill:.0%}"
            )
    elapsed = time.perf_counter() - start
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    print(f"loss {first:.3f} -> {last:.3f} in {len(losses)} steps ({elapsed:.1f} s)")
    if not last < first:
        raise SystemExit("the loss did not go down")


if __name__ == "__main__":
    main()
