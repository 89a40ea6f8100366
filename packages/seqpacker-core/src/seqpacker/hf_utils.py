"""Hugging Face helpers (the seed's import path): a re-export of the ``seqpacker-hf`` package.

>>> from seqpacker.hf_utils import pack_dataset  # doctest: +SKIP
"""

from __future__ import annotations

try:
    from seqpacker_hf import *  # noqa: F403
    from seqpacker_hf import __all__  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised by tests with the package hidden
    if error.name not in {"seqpacker_hf", "datasets", "pyarrow"}:
        raise
    raise ImportError(
        "seqpacker.hf_utils needs the Hugging Face integration: pip install 'seqpacker-core[hf]'"
        f" (missing module: {error.name})"
    ) from error
