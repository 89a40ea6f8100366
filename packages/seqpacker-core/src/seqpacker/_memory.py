"""Large fresh arrays placed where the kernel can back them with huge pages.

First touching fresh memory costs a page fault and the zeroing of the page; on the 2-core
development VM that is most of the time of the fastest strategies. numpy asks for transparent
huge pages on allocations of 4 MiB and more (madvise), but the kernel uses them only for whole,
2 MiB-aligned ranges, which malloc's addresses rarely give: three fresh 8 MiB arrays, filled,
took 10.5 ms; the same arrays started on a 2 MiB boundary took 5.3 ms (min of 30).
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
from numpy.typing import DTypeLike

HUGE_PAGE = 1 << 21
# From one huge page of data on; the allocation is then >= 4 MiB, numpy's own threshold for
# asking for huge pages.
ALIGN_FROM = HUGE_PAGE
STAGGER_STEP = 17 * 64
STAGGER_STEPS = 32
STAGGER_SPAN = STAGGER_STEP * STAGGER_STEPS
_stagger = itertools.count()


def empty_array(count: int, dtype: DTypeLike) -> np.ndarray:
    """An uninitialised 1-D array of ``count`` items; from 2 MiB on, a view into a slightly
    larger allocation that starts a few cache lines past a 2 MiB boundary (the slack is never
    used). The few lines differ from one array to the next: huge pages make physical addresses
    as aligned as virtual ones, and arrays walked side by side would otherwise map the same
    index to the same cache set."""
    dtype = np.dtype(dtype)
    nbytes = count * dtype.itemsize
    if nbytes < ALIGN_FROM:
        return np.empty(count, dtype)
    return _carve(np.empty(_raw_size(nbytes), np.uint8), nbytes, dtype)


def _raw_size(nbytes: int) -> int:
    # Room for whole huge pages up to the array's end, so that its last, partial one is a huge
    # page too (otherwise up to 2 MiB of 4 KiB faults), and for the alignment.
    return -(-(nbytes + STAGGER_SPAN) // HUGE_PAGE) * HUGE_PAGE + HUGE_PAGE


def _carve(raw: np.ndarray, nbytes: int, dtype: np.dtype) -> np.ndarray:
    """The array of ``nbytes`` in ``raw`` (from _raw_size), a few lines past a 2 MiB boundary."""
    start = -raw.ctypes.data % HUGE_PAGE + next(_stagger) % STAGGER_STEPS * STAGGER_STEP
    return raw[start : start + nbytes].view(dtype)


class ScratchPool:
    """Large scratch arrays kept from one packing call for the next.

    A packing kernel needs a few arrays of n entries that it drops when it returns. Fresh ones
    cost a page fault and the zeroing of every page they touch: for 1M lengths, 16 MiB of
    scratch, about a sixth of obfd's time. The blocks of the last calls stay here, up to
    ``keep_bytes`` in all, and an array that fits one reuses it. Outputs never come from here.
    """

    def __init__(self, keep_bytes: int, min_bytes: int = ALIGN_FROM) -> None:
        self.keep_bytes = keep_bytes
        self.min_bytes = min_bytes  # smaller arrays come from numpy (its own cache)
        self._spare: list[np.ndarray] = []  # raw uint8 blocks, none in use
        self._lock = threading.Lock()  # packing calls may run on several threads

    def array(self, count: int, dtype: DTypeLike) -> np.ndarray:
        """An uninitialised 1-D array of ``count`` items (as empty_array), in a kept block when
        one is large enough (the smallest such), else a fresh one. Hand it to give_back when
        done."""
        dtype = np.dtype(dtype)
        nbytes = count * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(count, dtype)
        needed = _raw_size(nbytes)
        with self._lock:
            fitting = [i for i, block in enumerate(self._spare) if block.size >= needed]
            if fitting:
                raw = self._spare.pop(min(fitting, key=lambda i: self._spare[i].size))
            else:
                raw = np.empty(needed, np.uint8)
        return _carve(raw, nbytes, dtype)

    def give_back(self, arrays: list[np.ndarray]) -> None:
        """Keep the blocks of these arrays (made by ``array``, no longer used), dropping the
        blocks kept longest when all of them exceed ``keep_bytes``: the next call most likely
        looks like this one (blocks sized for another strategy would only crowd it out)."""
        with self._lock:
            for array in arrays:
                raw = array.base
                if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8:
                    continue  # a small array, not from a block
                while raw.base is not None:  # a view of a view: the block itself
                    raw = raw.base
                self._spare.append(raw)
            kept = sum(block.size for block in self._spare)
            while kept > self.keep_bytes:
                kept -= self._spare.pop(0).size

    def clear(self) -> None:
        with self._lock:
            self._spare.clear()


# Up to 64 MiB of scratch stays between calls: 42 MiB of blocks after obfd on 1M lengths.
scratch = ScratchPool(64 << 20)


def leading(array: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` items of an array allocated for more: a view while it uses at least a
    quarter of the allocation, else a compact copy (so a small result holds no large buffer)."""
    if 4 * count >= len(array):
        return array[:count]
    return array[:count].copy()
