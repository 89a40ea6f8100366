"""GPU check: packed batches give the outputs of unpacked ones with real varlen kernels, in bf16.

On a CUDA machine (well under 3 minutes):
0. a CPU batch moved with ``to("cuda")`` and ``pin_memory()`` keeps every value, and labels
   and shift_labels stay one buffer (shift_labels one slot on);
1. varlen attention (flash-attn's ``flash_attn_varlen_func`` if installed, else torch's
   ``varlen_attn``) over packed rows, per pack and over the flattened batch, against causal
   SDPA on each sequence alone;
2. a tiny randomly initialised Llama in bf16 (``flash_attention_2`` when flash-attn is
   installed, else ``sdpa``): loss and logits of a packed batch against each sequence alone,
   through ``PackedBatch.hf_kwargs``.
Prints one PASS/FAIL line per check and a summary; exits 1 on any failure. Without CUDA it
says so and exits 0.

    python benchmarks/gpu_check.py [--sequences 96] [--capacity 2048]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from seqpacker import pack_sequences
from seqpacker_torch import PackedBatch, pack_result_to_tensors, pick_varlen_attention

# bf16 keeps 8 bits of mantissa: outputs of unit size differ by a few 1e-3 between kernels
# that sum in different orders. Compare against float32 math on the same bf16 inputs.
ATTENTION_ATOL = 3e-2
LOSS_RTOL = 2e-2
LOGITS_RTOL = 3e-2  # max |diff| relative to the largest |logit| (bf16 through 2 layers)


def packed_batch(sequences: int, capacity: int) -> tuple[PackedBatch, list]:
    """A CPU batch (the checks move it, as a training loop does)."""
    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(5.5, 0.8, sequences).astype(int), 2, capacity)
    token_ids = [rng.integers(1, 1000, size=n).tolist() for n in lengths]
    result = pack_sequences(lengths, capacity, "obfd")
    return pack_result_to_tensors(result, token_ids), token_ids


def check_moving(cpu_batch: PackedBatch, batch: PackedBatch) -> tuple[bool, str]:
    """``to(cuda)`` and ``pin_memory()`` keep every value, and labels/shift_labels one buffer."""
    problems = []
    for name in ("input_ids", "position_ids", "labels", "shift_labels", "attention_mask"):
        if not torch.equal(getattr(batch, name).cpu(), getattr(cpu_batch, name)):
            problems.append(f"{name} differs after to()")
    for name in ("cu_seqlens", "seq_lengths"):
        moved, original = getattr(batch, name), getattr(cpu_batch, name)
        if [t.cpu().tolist() for t in moved] != [t.tolist() for t in original]:
            problems.append(f"{name} differs after to()")
    for label, moved in (("to()", batch), ("pin_memory()", cpu_batch.pin_memory())):
        labels, shifted = moved.labels, moved.shift_labels
        if labels.untyped_storage().data_ptr() != shifted.untyped_storage().data_ptr():
            problems.append(f"labels and shift_labels no longer share memory after {label}")
        if not torch.equal(shifted[:, :-1], labels[:, 1:]):
            problems.append(f"shift_labels are not labels one slot on after {label}")
    if not cpu_batch.pin_memory().input_ids.is_pinned():
        problems.append("pin_memory() did not pin")
    if batch.cu_seqlens[0].device.type != "cuda":
        problems.append("cu_seqlens stayed on the CPU")
    return not problems, "; ".join(problems) or (
        "to(cuda) and pin_memory(): same values, labels and shift_labels still one buffer"
    )


def check_varlen_attention(batch: PackedBatch, device: torch.device) -> tuple[bool, str]:
    name, attention = pick_varlen_attention(device)
    heads, kv_heads, dim = 8, 2, 64
    generator = torch.Generator(device="cpu").manual_seed(0)
    shape = (batch.num_packs, batch.capacity)
    q, k, v = (
        torch.randn(*shape, h, dim, generator=generator).to(device, torch.bfloat16)
        for h in (heads, kv_heads, kv_heads)
    )
    flat_kwargs = batch.flash_attn_kwargs()
    flat = attention(
        q.flatten(0, 1),
        k.flatten(0, 1),
        v.flatten(0, 1),
        flat_kwargs["cu_seqlens_q"],
        flat_kwargs["max_seqlen_q"],
    ).view_as(q)
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
        for start, end in itertools.pairwise(kwargs["cu_seqlens_q"].tolist()):
            alone = F.scaled_dot_product_attention(
                *(t[pack, start:end].transpose(0, 1).float() for t in (q, k, v)),
                is_causal=True,
                enable_gqa=True,
            ).transpose(0, 1)
            for got in (per_pack[start:end], flat[pack, start:end]):
                worst = max(worst, (got.float() - alone).abs().max().item())
    ok = worst <= ATTENTION_ATOL
    return ok, f"{name}: per pack and flattened vs alone, max |diff| {worst:.3g}"


def check_llama(batch: PackedBatch, token_ids: list, device: torch.device) -> tuple[bool, str]:
    from transformers import LlamaConfig, LlamaForCausalLM

    flash = importlib.util.find_spec("flash_attn") is not None
    implementation = "flash_attention_2" if flash else "sdpa"
    config = LlamaConfig(
        vocab_size=1000,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=8,
        num_key_value_heads=2,
        max_position_embeddings=batch.capacity,
        initializer_range=0.2,
        use_cache=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(device, torch.bfloat16).eval()
    model.set_attn_implementation(implementation)
    with torch.no_grad():
        packed = model(**batch.hf_kwargs(flash_attention=flash))
        loss_sum, count, worst, scale = 0.0, 0, 0.0, 0.0
        order = iter(batch.sequence_ids.tolist())
        for pack, bounds in enumerate(batch.cu_seqlens):
            for start, end in itertools.pairwise(bounds.tolist()):
                sequence = torch.tensor([token_ids[next(order)]], device=device)
                alone = model(input_ids=sequence, labels=sequence, use_cache=False)
                loss_sum += alone.loss.float().item() * (end - start - 1)
                count += end - start - 1
                diff = (packed.logits[pack, start:end].float() - alone.logits[0].float()).abs()
                worst = max(worst, diff.max().item())
                scale = max(scale, alone.logits.float().abs().max().item())
    expected = loss_sum / count
    loss = packed.loss.float().item()
    ok = abs(loss - expected) <= LOSS_RTOL * abs(expected) and worst <= LOGITS_RTOL * scale
    return ok, (
        f"Llama bf16 ({implementation}): packed loss {loss:.5f} vs alone {expected:.5f}, "
        f"logits max |diff| {worst:.3g} (largest |logit| {scale:.3g})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=96)
    parser.add_argument("--capacity", type=int, default=2048)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; nothing to check (run it on a GPU machine).")
        return 0
    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(device)}; torch {torch.__version__}")
    print(f"flash-attn installed: {importlib.util.find_spec('flash_attn') is not None}")
    start = time.perf_counter()
    cpu_batch, token_ids = packed_batch(args.sequences, args.capacity)
    batch = cpu_batch.to(device)
    print(f"{args.sequences} sequences -> {batch.num_packs} packed rows of {args.capacity}")
    results = []
    for check in (
        lambda: check_moving(cpu_batch, batch),
        lambda: check_varlen_attention(batch, device),
        lambda: check_llama(batch, token_ids, device),
    ):
        try:
            results.append(check())
        except Exception as exc:  # a kernel that cannot run is a failed check, reported
            results.append((False, f"error: {type(exc).__name__}: {exc}"))
        ok, message = results[-1]
        print(f"{'PASS' if ok else 'FAIL'}  {message}")
    passed = sum(ok for ok, _ in results)
    elapsed = time.perf_counter() - start
    print(f"SUMMARY: {passed}/{len(results)} checks passed in {elapsed:.1f} s")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
