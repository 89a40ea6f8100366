"""Packed-tensor building speed: pack_result_to_tensors and packed_collate_fn, both backends.

Workload (issue 4): 20,000 lognormal sequence lengths (mean ~360 tokens, ~7.2M tokens),
capacity 2048, token ids given as a list of Python int lists and as flat values + offsets
(Arrow's layout). Each build is timed next to a ``numpy.copy`` of the same output size (the
three int64 row arrays and the label buffer behind labels and shift_labels) measured in the
same run, the memory-bandwidth bound; the ratio is the number to compare across machines.
Targets with the Cython backend: >= 70 M tokens/s and within 2x of the copy;
packed_collate_fn on 256 sequences <= 2 ms per batch.

    python benchmarks/bench_tensors.py [--sequences 20000] [--repeats 5] [--backends cython python]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
from seqpacker import FlatTokens, _backend, build_packed_arrays, pack_sequences
from seqpacker_torch import pack_result_to_tensors, packed_collate_fn

CAPACITY = 2048
MEAN_LENGTH = 360
SIGMA = 0.7


def lognormal_token_ids(count: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    mu = np.log(MEAN_LENGTH) - SIGMA**2 / 2  # so that the mean is MEAN_LENGTH
    lengths = np.clip(rng.lognormal(mu, SIGMA, count).astype(np.int64), 1, CAPACITY)
    values = rng.integers(0, 128_000, size=int(lengths.sum()), dtype=np.int64)
    return [chunk.tolist() for chunk in np.split(values, np.cumsum(lengths)[:-1])]


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs (after one warm-up that also faults the memory in)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mib(run: Callable[[], object]) -> float:
    """Peak traced memory of one run (numpy and torch CPU buffers are traced), in MiB."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_build(token_ids: list[list[int]], backends: list[str], repeats: int) -> None:
    lengths = [len(sequence) for sequence in token_ids]
    tokens = sum(lengths)
    result = pack_sequences(lengths, CAPACITY, "obfd")
    values = np.concatenate([np.asarray(s, dtype=np.int64) for s in token_ids])
    flat = FlatTokens(values, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    # The memory the builder writes: three row arrays and the label buffer that labels and
    # shift_labels view (one slot apart).
    built = build_packed_arrays(result, flat)
    written = (built.input_ids, built.attention_mask, built.position_ids, built.label_buffer)
    output = np.ones(sum(array.size for array in written), dtype=np.int64)
    copy_seconds = best_seconds(lambda: np.copy(output), repeats)
    print(
        f"\n{len(token_ids):,} sequences, {tokens / 1e6:.2f}M tokens -> {result.num_bins} packs of "
        f"{CAPACITY} ({result.efficiency:.2%} full); output {output.nbytes / 2**20:.0f} MiB"
    )
    print(f"numpy.copy of the output size: {copy_seconds * 1e3:8.1f} ms")
    print(
        f"{'backend':8} {'token ids':14} {'ms':>8} {'M tokens/s':>11} {'x numpy.copy':>13} "
        f"{'peak MiB':>9}"
    )
    for backend in backends:
        with _backend.use(backend):
            # The pure-Python reference is the specification, not a fast path: one run.
            runs = repeats if backend == "cython" else 1
            for label, form in (("list of lists", token_ids), ("flat+offsets", flat)):

                def build(form: object = form) -> object:
                    return pack_result_to_tensors(result, form)

                seconds = best_seconds(build, runs)
                peak = peak_mib(build) if backend == "cython" else float("nan")
                print(
                    f"{backend:8} {label:14} {seconds * 1e3:8.1f} {tokens / seconds / 1e6:11.1f} "
                    f"{seconds / copy_seconds:13.2f} {peak:9.0f}"
                )


def bench_collate(token_ids: list[list[int]], backends: list[str], batches: int) -> None:
    batch_size = 256
    samples = [token_ids[i * batch_size : (i + 1) * batch_size] for i in range(batches)]
    collate = packed_collate_fn(CAPACITY)
    print(f"\npacked_collate_fn, {batch_size} sequences per batch ({batches} batches)")
    for backend in backends:
        with _backend.use(backend):
            collate(samples[0])  # warm-up
            times = []
            for batch in samples:
                start = time.perf_counter()
                collate(batch)
                times.append(time.perf_counter() - start)
        print(
            f"{backend:8} median {statistics.median(times) * 1e3:6.2f} ms  "
            f"best {min(times) * 1e3:6.2f} ms per batch"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--collate-batches", type=int, default=50)
    parser.add_argument(
        "--backends",
        nargs="+",
        default=[name for name in ("cython", "python") if _backend.is_available(name)],
        choices=["cython", "python"],
    )
    args = parser.parse_args()
    print(f"backends: {', '.join(args.backends)}")
    token_ids = lognormal_token_ids(args.sequences, seed=0)
    bench_build(token_ids, args.backends, args.repeats)
    bench_collate(token_ids, args.backends, min(args.collate_batches, len(token_ids) // 256))


if __name__ == "__main__":
    main()
