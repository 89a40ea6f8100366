"""The project's PRNG: SplitMix64, written with plain integer arithmetic.

The Cython backend implements the same recurrence on ``uint64_t``; the known-answer vectors in
``tests/data/prng_vectors.json`` pin both. See docs/algorithms.md ("ffs").
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MIX_MULTIPLIER_1 = 0xBF58476D1CE4E5B9
MIX_MULTIPLIER_2 = 0x94D049BB133111EB


class SplitMix64:
    """A 64-bit generator whose whole state is one integer."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + GOLDEN_GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * MIX_MULTIPLIER_1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_MULTIPLIER_2) & MASK64
        return z ^ (z >> 31)

    def below(self, bound: int) -> int:
        """A value in ``[0, bound)``: the high 64 bits of ``next() * bound``."""
        return (self.next() * bound) >> 64


def prng_values(seed: int, count: int) -> list[int]:
    """The first ``count`` outputs for ``seed`` (the known-answer vectors)."""
    rng = SplitMix64(seed)
    return [rng.next() for _ in range(count)]


def shuffled_order(n: int, seed: int) -> list[int]:
    """Fisher-Yates from the top over ``[0, n)``, as ``ffs`` uses it."""
    order = list(range(n))
    rng = SplitMix64(seed)
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return order
