"""Flash Attention varlen on packed rows: per pack, and over the whole flattened batch.

With flash-attn and a GPU this calls ``flash_attn_varlen_func``; on a GPU without flash-attn,
torch's ``varlen_attn``; otherwise (CPU) the pure-torch reference with the same semantics.
Each result is checked against every sequence run through attention on its own.

    python examples/flash_attn_varlen.py [--device cuda] [--sequences 64] [--capacity 1024]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch
import torch.nn.functional as F
from seqpacker import pack_sequences
from seqpacker.torch_utils import pack_result_to_tensors, pick_varlen_attention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--capacity", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=64)
    args = parser.parse_args()
    device = torch.device(args.device)
    # flash-attn needs half precision; the CPU reference runs in float32.
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(5.0, 0.8, args.sequences).astype(int), 1, args.capacity)
    token_ids = [rng.integers(0, 32_000, size=n).tolist() for n in lengths]
    result = pack_sequences(lengths, args.capacity, "obfd")
    batch = pack_result_to_tensors(result, token_ids, device=device)
    name, attention = pick_varlen_attention(device)
    print(f"{args.sequences} sequences -> {batch.num_packs} rows of {args.capacity} ({name})")

    # Stand-ins for one layer's projections: q/k/v for every slot of the packed rows.
    generator = torch.Generator(device="cpu").manual_seed(0)
    shape = (batch.num_packs, args.capacity)
    q = torch.randn(*shape, args.heads, args.head_dim, generator=generator).to(device, dtype)
    k = torch.randn(*shape, args.kv_heads, args.head_dim, generator=generator).to(device, dtype)
    v = torch.randn(*shape, args.kv_heads, args.head_dim, generator=generator).to(device, dtype)

    # 1) One call over the flattened batch: cu_seqlens_flat covers input_ids.view(-1), each
    #    padding tail being a segment of its own.
    flat_kwargs = batch.flash_attn_kwargs()
    flat = attention(
        q.flatten(0, 1),
        k.flatten(0, 1),
        v.flatten(0, 1),
        flat_kwargs["cu_seqlens_q"],
        flat_kwargs["max_seqlen_q"],
    ).view_as(q)

    # 2) One call per pack over its real tokens only.
    worst = 0.0
    for pack in range(batch.num_packs):
        kwargs = batch.flash_attn_kwargs(pack)
        used = int(kwargs["cu_seqlens_q"][-1])
        per_pack = attention(
            q[pack, :used],
            k[pack, :used],
            v[pack, :used],
            kwargs["cu_seqlens_q"],
            kwargs["max_seqlen_q"],
        )
        # Both must equal each sequence attended alone (causal SDPA on that sequence).
        edges = kwargs["cu_seqlens_q"].tolist()
        for start, end in itertools.pairwise(edges):
            alone = F.scaled_dot_product_attention(
                *(t[pack, start:end].transpose(0, 1) for t in (q, k, v)),
                is_causal=True,
                enable_gqa=args.kv_heads != args.heads,
            ).transpose(0, 1)
            for got in (per_pack[start:end], flat[pack, start:end]):
                worst = max(worst, (got.float() - alone.float()).abs().max().item())
    tolerance = 2e-2 if dtype == torch.bfloat16 else 1e-5
    verdict = "OK" if worst <= tolerance else "MISMATCH"
    print(f"per-pack and flattened outputs vs. sequences alone: max |diff| {worst:.2e} ({verdict})")
    if verdict != "OK":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
