"""PyTorch helpers (``seqpacker.torch_utils``): a re-export of the seqpacker-torch package.

Install with ``pip install 'seqpacker-core[torch]'``.
"""

from __future__ import annotations

try:
    import seqpacker_torch as _seqpacker_torch
except ImportError as exc:  # torch or seqpacker-torch missing
    raise ImportError(
        f"seqpacker.torch_utils needs the seqpacker-torch package and torch ({exc}); "
        "install them with: pip install 'seqpacker-core[torch]'"
    ) from exc

from seqpacker_torch import *  # noqa: F403

__all__ = list(_seqpacker_torch.__all__)
