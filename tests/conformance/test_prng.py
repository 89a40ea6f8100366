"""Known-answer vectors of the project's PRNG (SplitMix64) and of the ffs shuffle, per backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seqpacker import Packer, _backend

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "prng_vectors.json").read_text())
NEXT_CASES = VECTORS["next"]
SHUFFLE_CASES = VECTORS["shuffled_order"]


def test_seed_zero_gives_the_published_splitmix64_output() -> None:
    assert _backend.active.prng_values(0, 1) == [0xE220A8397B1DCDAF]


@pytest.mark.parametrize("case", NEXT_CASES, ids=lambda case: f"seed={case['seed']}")
def test_next_matches_the_vectors(case: dict) -> None:
    expected = [int(value, 16) for value in case["values"]]
    assert _backend.active.prng_values(case["seed"], len(expected)) == expected


@pytest.mark.parametrize(
    "case", SHUFFLE_CASES, ids=lambda case: f"n={case['n']}-seed={case['seed']}"
)
def test_shuffled_order_matches_the_vectors(case: dict) -> None:
    order = _backend.active.shuffled_order(case["n"], case["seed"])
    assert order.dtype.name == "int64"
    assert order.tolist() == case["order"]


def test_ffs_runs_first_fit_over_the_shuffled_order() -> None:
    # With capacity 1, every item (length 1) gets its own bin in processing order, so the
    # bins spell out the shuffle.
    case = next(c for c in SHUFFLE_CASES if c["n"] == 16)
    result = Packer(1, "ffs", seed=case["seed"]).pack([1] * case["n"])
    assert [ids for ids in result.bins] == [[i] for i in case["order"]]


def test_seed_none_is_seed_zero_and_seeds_wrap_modulo_2_64() -> None:
    lengths = [5, 3, 8, 2, 7, 1, 4, 6, 9, 2]
    default = Packer(10, "ffs").pack(lengths).bins
    assert default == Packer(10, "ffs", seed=0).pack(lengths).bins
    assert Packer(10, "ffs", seed=-1).pack(lengths).bins == (
        Packer(10, "ffs", seed=2**64 - 1).pack(lengths).bins
    )
