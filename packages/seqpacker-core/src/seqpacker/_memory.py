"""Large fresh arrays placed where the kernel can back them with huge pages.

First touching fresh memory costs a page fault and the zeroing of the page; on the 2-core
development VM that is most of the time of the fastest strategies. numpy asks for transparent
huge pages on allocations of 4 MiB and more (madvise), but the kernel uses them only for whole,
2 MiB-aligned ranges, which malloc's addresses rarely give: three fresh 8 MiB arrays, filled,
took 10.5 ms; the same arrays started on a 2 MiB boundary took 5.3 ms (min of 30).
"""

from __future__ import annotations

import itertools

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
    # Room for whole huge pages up to the array's end, so that its last, partial one is a huge
    # page too (otherwise up to 2 MiB of 4 KiB faults).
    whole_pages = -(-(nbytes + STAGGER_SPAN) // HUGE_PAGE) * HUGE_PAGE
    raw = np.empty(whole_pages + HUGE_PAGE, np.uint8)
    start = -raw.ctypes.data % HUGE_PAGE + next(_stagger) % STAGGER_STEPS * STAGGER_STEP
    return raw[start : start + nbytes].view(dtype)


def leading(array: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` items of an array allocated for more: a view while it uses at least a
    quarter of the allocation, else a compact copy (so a small result holds no large buffer)."""
    if 4 * count >= len(array):
        return array[:count]
    return array[:count].copy()
