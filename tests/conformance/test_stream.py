"""StreamPacker: lifecycle, emission as soon as a pack closes, bounded space."""

from __future__ import annotations

import numpy as np
import pytest
from seqpacker import Pack, StreamPacker, pack_sequences


def stream_all(lengths: list[int], capacity: int, strategy: str, k: int | None = None):
    stream = StreamPacker(capacity, strategy, k=k)
    emitted_after = []  # (number of lengths added when the pack came out, pack)
    for count, length in enumerate(lengths, start=1):
        for pack in stream.add(length):
            emitted_after.append((count, pack))
    final = stream.finish()
    return emitted_after, final


def test_next_fit_emits_when_the_next_item_does_not_fit() -> None:
    emitted, final = stream_all([6, 3, 5, 2, 10, 4], 10, "nf")
    # 6+3 (room 1); 5 closes it. 5+2 (room 3); 10 closes it, and 10 fills its own bin exactly,
    # which closes at once. 4 stays open until finish().
    assert [(n, p.sequence_ids) for n, p in emitted] == [(3, [0, 1]), (5, [2, 3]), (5, [4])]
    assert final == [Pack([5], [4])]


def test_stream_packs_carry_lengths_and_used() -> None:
    _, final = stream_all([3, 4], 10, "nf")
    assert final[0].lengths == [3, 4]
    assert final[0].used == 7
    assert len(final[0]) == 2


@pytest.mark.parametrize(("strategy", "k"), [("nf", None), ("hk", None), ("hk", 2), ("hk", 4)])
def test_stream_gives_the_same_bins_as_packer(strategy: str, k: int | None) -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 300, 500).tolist()
    emitted, final = stream_all(lengths, 300, strategy, k)
    streamed = sorted(p.sequence_ids for _, p in emitted) + sorted(p.sequence_ids for p in final)
    offline = pack_sequences(lengths, 300, strategy, k=k).bins
    assert sorted(streamed) == sorted(offline)
    # packs are emitted no earlier than their last sequence arrived
    for count, pack in emitted:
        assert max(pack.sequence_ids) < count


def test_harmonic_k_emits_each_pack_as_soon_as_it_closes() -> None:
    # capacity 12, k=3: 7 is class 1 (closes at once); 5 and 5 are class 2 (close at two);
    # 3s are class 3 = k, next fit: four 3s fill the bin exactly and close it.
    emitted, final = stream_all([7, 5, 3, 3, 5, 3, 3, 1], 12, "hk", k=3)
    assert [(n, p.sequence_ids) for n, p in emitted] == [(1, [0]), (5, [1, 4]), (7, [2, 3, 5, 6])]
    assert [p.sequence_ids for p in final] == [[7]]


def test_harmonic_k_is_bounded_space() -> None:
    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 2048, 20_000).tolist()
    for k in (2, 3, 10):
        stream = StreamPacker(2048, "hk", k=k)
        open_ids: set[int] = set()
        for sequence_id, length in enumerate(lengths):
            open_ids.add(sequence_id)
            for pack in stream.add(length):
                open_ids.difference_update(pack.sequence_ids)
            # every open bin holds at least one pending id, and there is at most one open
            # bin per class: count the open bins from what finish() would return
        final = stream.finish()
        assert len(final) <= k
        assert {i for p in final for i in p.sequence_ids} == open_ids


def test_lifecycle_after_finish() -> None:
    stream = StreamPacker(10)
    assert stream.sequences_added == 0
    assert stream.add(4) == []
    assert stream.sequences_added == 1
    assert [p.sequence_ids for p in stream.finish()] == [[0]]
    assert stream.finished
    with pytest.raises(ValueError, match=r"^StreamPacker already finished$"):
        stream.add(1)
    with pytest.raises(ValueError, match=r"^StreamPacker already finished$"):
        stream.finish()


def test_finish_on_an_empty_stream_returns_nothing() -> None:
    assert StreamPacker(10, "hk").finish() == []


def test_stream_repr() -> None:
    stream = StreamPacker(10, "hk", k=3)
    stream.add(4)
    assert repr(stream) == "StreamPacker(capacity=10, strategy='hk', added=1, 1 pending)"
