"""Online, bounded-space packers: next fit and Harmonic-K (docs/algorithms.md).

``add`` returns the bins that the new item closed, each as the list of its sequence ids;
``finish`` returns the bins still open, in opening order. The ``*_numbered`` variants also give
each bin's opening number, which ``pack_hk`` uses to list bins in creation order.
"""

from __future__ import annotations

from typing import Any

Numbered = list[tuple[int, list[int]]]


class NextFitStream:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.sequences_added = 0
        self.opened = 0
        self.current: list[int] = []
        self.current_number = -1
        self.remaining = 0

    def add_numbered(self, length: int) -> Numbered:
        closed: Numbered = []
        if self.current and length > self.remaining:
            closed.append((self.current_number, self.current))
            self.current = []
        if not self.current:
            self.current_number = self.opened
            self.opened += 1
            self.remaining = self.capacity
        self.current.append(self.sequences_added)
        self.sequences_added += 1
        self.remaining -= length
        if self.remaining == 0:
            closed.append((self.current_number, self.current))
            self.current = []
        return closed

    def finish_numbered(self) -> Numbered:
        closed: Numbered = [(self.current_number, self.current)] if self.current else []
        self.current = []
        return closed

    def add(self, length: int) -> list[list[int]]:
        return [content for _, content in self.add_numbered(length)]

    def finish(self) -> list[list[int]]:
        return [content for _, content in self.finish_numbered()]


class HarmonicKStream:
    """At most ``k`` open bins: one per class 1..k-1 (i items of class i) and one next-fit bin
    for class k (lengths <= capacity / k)."""

    def __init__(self, capacity: int, k: int) -> None:
        self.capacity = capacity
        self.k = k
        self.sequences_added = 0
        self.opened = 0
        # class -> [opening number, ids, remaining space]
        self.open_bins: dict[int, list[Any]] = {}

    def size_class(self, length: int) -> int:
        return min(self.capacity // length, self.k)

    def add_numbered(self, length: int) -> Numbered:
        closed: Numbered = []
        size_class = self.size_class(length)
        open_bin = self.open_bins.get(size_class)
        if open_bin is not None and length > open_bin[2]:
            # only a class-k bin can be too full: a class-i bin closes at i items
            closed.append((open_bin[0], open_bin[1]))
            open_bin = None
        if open_bin is None:
            open_bin = [self.opened, [], self.capacity]
            self.opened += 1
            self.open_bins[size_class] = open_bin
        open_bin[1].append(self.sequences_added)
        open_bin[2] -= length
        self.sequences_added += 1
        full = len(open_bin[1]) == size_class if size_class < self.k else open_bin[2] == 0
        if full:
            closed.append((open_bin[0], open_bin[1]))
            del self.open_bins[size_class]
        else:
            self.open_bins[size_class] = open_bin
        return closed

    def finish_numbered(self) -> Numbered:
        closed = sorted((number, ids) for number, ids, _ in self.open_bins.values())
        self.open_bins = {}
        return closed

    def add(self, length: int) -> list[list[int]]:
        return [content for _, content in self.add_numbered(length)]

    def finish(self) -> list[list[int]]:
        return [content for _, content in self.finish_numbered()]
