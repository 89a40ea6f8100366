"""The Cython backend: the kernel interface of ``seqpacker._reference``, compiled.

Each extension module serves part of the interface; this package gathers them.
"""

from ._builder import fill_packed_rows, flatten_token_lists
from ._kernels import first_invalid_length, make_stream, pack, prng_values, shuffled_order

NAME = "cython"

__all__ = [
    "NAME",
    "fill_packed_rows",
    "first_invalid_length",
    "flatten_token_lists",
    "make_stream",
    "pack",
    "prng_values",
    "shuffled_order",
]
