"""Every packing strategy on both core backends: ms (median), bins, efficiency, lower bound.

    python benchmarks/bench_strategies.py                 # 10k, 100k, 1M; pathological inputs
    python benchmarks/bench_strategies.py --quick         # 10k and 100k, fewer repeats
    python benchmarks/bench_strategies.py --strategies obfd,nf --sizes 1000000

Timings are of the whole public call, ``Packer(capacity, strategy).pack(lengths)`` on an int64
numpy array (validation and the PackResult included). The ``cy/py`` column is the Cython time
divided by the pure-Python time of the same input, measured in the same run; the pure-Python
backend runs only up to ``--python-max`` items. Data come from numpy's generator with fixed
seeds (generating data only: the packers use no numpy randomness).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from seqpacker import Packer, _backend
from seqpacker._strategies import STRATEGIES

CAPACITY = 2048
ALL_STRATEGIES = [short for short, _ in STRATEGIES]


def uniform(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(1, CAPACITY + 1, n, dtype=np.int64)


def lognormal(n: int, rng: np.random.Generator) -> np.ndarray:
    # Chat-like lengths: median ~400 tokens, a long tail clipped to the capacity.
    values = rng.lognormal(mean=6.0, sigma=0.9, size=n).astype(np.int64)
    return np.clip(values, 1, CAPACITY)


def bimodal(n: int, rng: np.random.Generator) -> np.ndarray:
    short = rng.integers(20, 300, n, dtype=np.int64)
    long = rng.integers(1200, CAPACITY + 1, n, dtype=np.int64)
    return np.where(rng.random(n) < 0.7, short, long)


DISTRIBUTIONS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "uniform": uniform,
    "lognormal": lognormal,
    "bimodal": bimodal,
}


def median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first-touch of memory, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(backend: str, lengths: np.ndarray, capacity: int, strategy: str, repeats: int):
    packer = Packer(capacity, strategy)
    with _backend.use(backend):
        result = packer.pack(lengths)
        ms = median_ms(lambda: packer.pack(lengths), repeats)
    return ms, result


def row(cells: list[object], widths: list[int]) -> str:
    return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths, strict=True))


HEADER = ["input", "n", "strategy", "cython ms", "python ms", "cy/py", "bins", "lower", "eff %"]
WIDTHS = [24, 8, 8, 10, 10, 8, 8, 8, 7]


def report(label: str, lengths: np.ndarray, capacity: int, strategy: str, args) -> float:
    """Print one line; returns the Cython median (ms)."""
    cython_ms, result = measure("cython", lengths, capacity, strategy, args.repeats)
    python_ms: float | None = None
    if len(lengths) <= args.python_max and not args.cython_only:
        python_ms, python_result = measure("python", lengths, capacity, strategy, 1)
        if python_result != result:  # the parity rule, checked on every benchmark input
            sys.exit(f"backends disagree on {label} / {strategy}")
    metrics = result.metrics
    cells: list[object] = [
        label,
        len(lengths),
        strategy,
        f"{cython_ms:.2f}",
        "-" if python_ms is None else f"{python_ms:.1f}",
        "-" if python_ms is None else f"{cython_ms / python_ms:.4f}",
        result.num_bins,
        metrics.lower_bound,
        f"{100 * metrics.efficiency:.2f}",
    ]
    print(row(cells, WIDTHS), flush=True)
    return cython_ms


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k, 3 repeats")
    parser.add_argument("--strategies", default=",".join(ALL_STRATEGIES))
    parser.add_argument("--sizes", default=None, help="comma-separated (default 10k,100k,1M)")
    parser.add_argument("--distributions", default=",".join(DISTRIBUTIONS))
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per cell (7)")
    parser.add_argument("--python-max", type=int, default=100_000)
    parser.add_argument("--cython-only", action="store_true")
    parser.add_argument("--no-pathological", action="store_true")
    args = parser.parse_args(argv)
    strategies = [s.strip().lower() for s in args.strategies.split(",") if s.strip()]
    unknown = sorted(set(strategies) - set(ALL_STRATEGIES))
    if unknown:
        parser.error(f"unknown strategies {unknown}; valid: {', '.join(ALL_STRATEGIES)}")
    default_sizes = "10000,100000" if args.quick else "10000,100000,1000000"
    sizes = [int(s) for s in (args.sizes or default_sizes).split(",")]
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if not _backend.is_available("cython"):
        sys.exit("the Cython extension is not built (pip install with a compiler)")

    print(f"seqpacker strategies, capacity {CAPACITY}, median of {args.repeats} runs")
    print(row(HEADER, WIDTHS))
    for name in args.distributions.split(","):
        for n in sizes:
            lengths = DISTRIBUTIONS[name](n, np.random.default_rng(n))
            for strategy in strategies:
                report(name, lengths, CAPACITY, strategy, args)

    if not args.no_pathological:
        print("\npathological inputs")
        print(row(HEADER, WIDTHS))
        sweep = (CAPACITY, 2**17, 2**20, 2**24, 2**31 - 1)
        ms_at: dict[int, dict[str, float]] = {capacity: {} for capacity in sweep}
        for capacity in sweep:
            lengths = np.random.default_rng(capacity).integers(1, capacity + 1, 10_000)
            power = capacity & (capacity - 1) == 0
            label = f"uniform cap {f'2^{capacity.bit_length() - 1}' if power else capacity}"
            for strategy in strategies:
                ms_at[capacity][strategy] = report(label, lengths, capacity, strategy, args)
        # Best/worst fit's sparse index with many bins (the 10k rows above hold few).
        for n in [size for size in sizes if size > 10_000]:
            lengths = np.random.default_rng(n).integers(1, 2**24 + 1, n)
            for strategy in [s for s in ("bf", "wf", "bfd", "obfd", "obfdp") if s in strategies]:
                report("uniform cap 2^24", lengths, 2**24, strategy, args)
        twins = np.array([1500] * 80_000 + [500] * 80_000, dtype=np.int64)
        for strategy in [s for s in ("bf", "wf", "bfd") if s in strategies]:
            report("[1500]*80k+[500]*80k", twins, CAPACITY, strategy, args)
        if "hk" in strategies:
            report("100k x 204", np.full(100_000, 204, dtype=np.int64), CAPACITY, "hk", args)
        print("\ncapacity 2^24 and 2^31-1 vs 2048 (10k items, cython):")
        for strategy in strategies:
            base = ms_at[CAPACITY][strategy]
            print(
                f"  {strategy:6} {ms_at[2**24][strategy] / base:.2f}x"
                f"  {ms_at[2**31 - 1][strategy] / base:.2f}x"
            )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak RSS of this process: {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
