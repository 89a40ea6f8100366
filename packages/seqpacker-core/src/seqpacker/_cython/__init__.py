"""The Cython backend: the kernel interface of ``seqpacker._reference`` (see its docstring),
compiled. Importing this package raises ImportError when the extension is not built."""

from ._builder import fill_packed_rows, fill_packed_rows_from_lists, flatten_token_lists
from ._kernels import (
    NAME,
    copy_valid_lengths,
    first_invalid_length,
    make_stream,
    pack,
    prng_values,
    shuffled_order,
)

__all__ = [
    "NAME",
    "copy_valid_lengths",
    "fill_packed_rows",
    "fill_packed_rows_from_lists",
    "first_invalid_length",
    "flatten_token_lists",
    "make_stream",
    "pack",
    "prng_values",
    "shuffled_order",
]
