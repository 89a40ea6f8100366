"""Strategy names, defaults, and the checks on capacity, seed and k (shared by both backends)."""

from __future__ import annotations

import numbers
import operator

# (short, full) in the order users see them; docs/algorithms.md has the rules of each.
STRATEGIES: tuple[tuple[str, str], ...] = (
    ("nf", "next_fit"),
    ("ff", "first_fit"),
    ("bf", "best_fit"),
    ("wf", "worst_fit"),
    ("ffd", "first_fit_decreasing"),
    ("bfd", "best_fit_decreasing"),
    ("ffs", "first_fit_shuffle"),
    ("mffd", "modified_first_fit_decreasing"),
    ("obfd", "optimized_best_fit_decreasing"),
    ("obfdp", "optimized_best_fit_decreasing_parallel"),
    ("hk", "harmonic_k"),
)
STREAM_STRATEGIES = ("nf", "hk")
DEFAULT_STRATEGY = "obfd"
DEFAULT_SEED = 0
DEFAULT_HK_K = 10
# Kernels work in int64; this bound keeps every sum of lengths far from overflowing.
MAX_CAPACITY = 2**40

_ALIASES = {short: short for short, _ in STRATEGIES} | {full: short for short, full in STRATEGIES}


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_strategy(name: object, allowed: tuple[str, ...] | None = None) -> str:
    """The short name for ``name`` (short or full, any case), or a ValueError listing them."""
    valid = allowed or tuple(short for short, _ in STRATEGIES)
    if not isinstance(name, str):
        raise TypeError(f"strategy must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    short = _ALIASES.get(key)
    if short is None or short not in valid:
        names = ", ".join(valid)
        raise ValueError(f"unknown strategy {name!r}; valid strategies: {names}")
    return short


def check_capacity(capacity: object) -> int:
    if not _is_int(capacity):
        raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
    value = operator.index(capacity)  # type: ignore[arg-type]
    if value <= 0:
        raise ValueError(f"capacity must be a positive int, got {value}")
    if value > MAX_CAPACITY:
        raise ValueError(f"capacity {value} is larger than the supported maximum {MAX_CAPACITY}")
    return value


def check_seed(seed: object) -> int:
    """The seed the kernels use: None is the documented default; any int, modulo 2**64."""
    if seed is None:
        return DEFAULT_SEED
    if not _is_int(seed):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    return operator.index(seed) % 2**64  # type: ignore[arg-type]


def check_k(k: object, strategy: str) -> int:
    if k is None:
        return DEFAULT_HK_K
    if strategy != "hk":
        raise ValueError(f"k applies to the 'hk' strategy only, not {strategy!r}")
    if not _is_int(k):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    value = operator.index(k)  # type: ignore[arg-type]
    if value < 2:
        raise ValueError(f"k must be >= 2 for Harmonic-K, got {value}")
    return value
