"""seqpacker: pack variable-length sequences into fixed-capacity bins for LLM training.

>>> from seqpacker import pack_sequences
>>> result = pack_sequences([1000, 800, 600, 500, 400, 300, 200, 100], capacity=1024)
>>> result.num_bins, round(result.efficiency, 4)
(4, 0.9521)
"""

from __future__ import annotations

from typing import Any

from . import _backend
from ._builder import (
    FlatTokens,
    OverflowReport,
    PackedArrays,
    RowBuffers,
    build_packed_arrays,
    build_packed_arrays_at,
    pack_and_build,
)
from ._packer import Packer, pack_sequences
from ._result import Pack, PackMetrics, PackResult
from ._stream import StreamPacker

__version__ = "0.1.0"

__all__ = [
    "BACKEND",
    "FlatTokens",
    "OverflowReport",
    "Pack",
    "PackMetrics",
    "PackResult",
    "PackedArrays",
    "Packer",
    "RowBuffers",
    "StreamPacker",
    "__version__",
    "build_packed_arrays",
    "build_packed_arrays_at",
    "pack_and_build",
    "pack_sequences",
]


def __getattr__(name: str) -> Any:
    # BACKEND follows the active backend ("cython" or "python").
    if name == "BACKEND":
        return _backend.name()
    raise AttributeError(f"module 'seqpacker' has no attribute {name!r}")
