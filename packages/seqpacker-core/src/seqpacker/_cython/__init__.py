"""The Cython backend: the kernel interface of ``seqpacker._reference`` (see its docstring),
compiled. Importing this package raises ImportError when the extension is not built."""

from ._kernels import (
    NAME,
    first_invalid_length,
    make_stream,
    pack,
    prng_values,
    shuffled_order,
)

__all__ = [
    "NAME",
    "first_invalid_length",
    "make_stream",
    "pack",
    "prng_values",
    "shuffled_order",
]
