"""StreamPacker: online packing that emits each pack as soon as it closes."""

from __future__ import annotations

from typing import Any

from . import _backend
from ._result import Pack
from ._strategies import STREAM_STRATEGIES, check_capacity, check_k, normalize_strategy
from ._validation import check_stream_length


class StreamPacker:
    """Packs lengths one at a time with a bounded-space strategy (``nf`` or ``hk``).

    ``add(length)`` returns the packs that this length closed (often none); ``finish()`` returns
    the packs still open. Sequence ids count the lengths added so far, from 0.
    """

    def __init__(self, capacity: int, strategy: str = "nf", k: int | None = None) -> None:
        self.capacity = check_capacity(capacity)
        self.strategy = normalize_strategy(strategy, STREAM_STRATEGIES)
        self.k = check_k(k, self.strategy)
        self._kernel: Any = _backend.active.make_stream(self.strategy, self.capacity, self.k)
        self._pending_lengths: dict[int, int] = {}
        self._added = 0
        self._finished = False

    @property
    def sequences_added(self) -> int:
        return self._added

    @property
    def finished(self) -> bool:
        return self._finished

    def _check_open(self) -> None:
        if self._finished:
            raise ValueError("StreamPacker already finished")

    def _to_packs(self, bins: list[list[int]]) -> list[Pack]:
        packs = []
        for ids in bins:
            lengths = [self._pending_lengths.pop(i) for i in ids]
            packs.append(Pack(ids, lengths))
        return packs

    def add(self, length: int) -> list[Pack]:
        self._check_open()
        value = check_stream_length(length, self._added, self.capacity)
        closed = self._kernel.add(value)
        self._pending_lengths[self._added] = value
        self._added += 1
        return self._to_packs(closed)

    def finish(self) -> list[Pack]:
        self._check_open()
        self._finished = True
        return self._to_packs(self._kernel.finish())

    def __repr__(self) -> str:
        state = "finished" if self._finished else f"{len(self._pending_lengths)} pending"
        return (
            f"StreamPacker(capacity={self.capacity}, strategy={self.strategy!r}, "
            f"added={self._added}, {state})"
        )
