"""seqpacker_hf.pack_dataset end to end, next to TRL's pack_dataset(strategy="bfd").

    python benchmarks/bench_hf.py                 # 20,000 sequences, then 1,000,000
    python benchmarks/bench_hf.py --skip-large    # only the 20,000-sequence runs

Data: lognormal lengths (mean ~360 tokens, 20,000 sequences = ~7.2M tokens, fixed seed),
capacity 2048, random token ids below 32,000. Inputs: a list of Python int lists and a
``datasets.Dataset`` (int32 ids in Arrow). Each case runs in a fresh forked process; time is
the best of ``--repeats`` runs, peak memory is the growth of the process's peak RSS during one
run, compared with the size of the dataset produced (target: at most 3x). Throughput is input
tokens per second. Ratios are against TRL measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

CAPACITY = 2048
VOCAB = 32_000


def lognormal_lengths(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sigma = 0.8
    mu = np.log(360.0) - sigma**2 / 2  # mean of the lognormal = 360
    return np.clip(rng.lognormal(mu, sigma, count).round(), 1, CAPACITY).astype(np.int64)


def flat_tokens(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    lengths = lognormal_lengths(count, seed)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.random.default_rng(seed + 1).integers(1, VOCAB, offsets[-1], dtype=np.int32)
    return values, offsets


def as_dataset(values: np.ndarray, offsets: np.ndarray):  # type: ignore[no-untyped-def]
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    column = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    return datasets.Dataset(InMemoryTable(pa.table({"input_ids": column})))


def as_lists(values: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    return [values[a:b].tolist() for a, b in itertools.pairwise(offsets)]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def dataset_bytes(dataset: Any) -> int:
    return int(dataset.data.nbytes)


# Case bodies run in a forked child: the input is built there, outside the timed region.
def run_case(name: str, count: int, repeats: int, queue: Any) -> None:
    import datasets

    datasets.disable_progress_bars()
    values, offsets = flat_tokens(count)
    source: Any = as_lists(values, offsets) if name.endswith("list") else None
    if source is None:
        source = as_dataset(values, offsets)
    job: Callable[[], Any]
    if name.startswith("seqpacker"):
        from seqpacker_hf import pack_dataset

        def job() -> Any:
            return pack_dataset(source, CAPACITY)
    else:
        from trl.data_utils import pack_dataset as trl_pack_dataset

        def job() -> Any:
            return trl_pack_dataset(source, CAPACITY, strategy="bfd")

    before = rss_bytes()
    peak_before = peak_rss_bytes()
    start = time.perf_counter()
    produced = job()
    times = [time.perf_counter() - start]
    peak = max(peak_rss_bytes(), peak_before) - before
    size = dataset_bytes(produced)
    rows = len(produced)
    del produced
    for _ in range(repeats - 1):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    queue.put((min(times), max(peak, 0), size, rows, int(offsets[-1])))


def measure(name: str, count: int, repeats: int) -> tuple[float, int, int, int, int]:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=run_case, args=(name, count, repeats, queue))
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def report(count: int, cases: list[str], repeats: int) -> None:
    import seqpacker

    print(f"\n{count:,} lognormal sequences, capacity {CAPACITY}, backend {seqpacker.BACKEND}")
    header = f"{'case':<22}{'time s':>9}{'M tok/s':>10}{'rows':>9}{'dataset MB':>12}"
    header += f"{'peak MB':>10}{'peak/ds':>9}"
    print(header)
    throughput: dict[str, float] = {}
    for name in cases:
        seconds, peak, size, rows, tokens = measure(name, count, repeats)
        throughput[name] = tokens / seconds / 1e6
        print(
            f"{name:<22}{seconds:>9.3f}{throughput[name]:>10.1f}{rows:>9,}{size / 1e6:>12.1f}"
            f"{peak / 1e6:>10.1f}{peak / size:>9.2f}"
        )
    for name in cases:
        if name.startswith("seqpacker") and "trl-dataset" in throughput:
            ratio = throughput[name] / throughput["trl-dataset"]
            print(f"ratio {name} / trl-dataset (bfd): {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true", help="skip 1,000,000 sequences")
    parser.add_argument("--skip-trl", action="store_true", help="do not run TRL's pack_dataset")
    args = parser.parse_args()
    cases = ["seqpacker-list", "seqpacker-dataset"]
    if not args.skip_trl:
        cases.append("trl-dataset")
    report(args.sequences, cases, args.repeats)
    if not args.skip_large:
        # One run each: the list-of-lists input alone would take several GB at this size.
        report(1_000_000, ["seqpacker-dataset"], repeats=1)


if __name__ == "__main__":
    main()
