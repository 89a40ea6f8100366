"""Reference kernels of the packed-array builder (DESIGN.md §5), in plain Python.

Everything here works on Python lists; the numpy conversion happens at the boundary in
``_reference/__init__.py``. The Cython kernels in ``seqpacker._cython._builder`` must produce
the same values for every input.
"""

from __future__ import annotations

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def flatten_token_lists(
    sequences: list[object] | tuple[object, ...],
) -> tuple[list[int], list[int], int]:
    """Concatenate sequences of plain ints: ``(values, offsets, bad_index)``.

    Only the fast, common form is accepted: each sequence a ``list`` or ``tuple`` (exact types)
    of exact ``int`` values in the int64 range. At the first sequence that is anything else the
    scan stops and ``bad_index`` names it (the shared layer then takes its general path, which
    either accepts the input or raises the error); otherwise ``bad_index`` is -1.
    """
    values: list[int] = []
    offsets = [0]
    for index, sequence in enumerate(sequences):
        if type(sequence) is not list and type(sequence) is not tuple:
            return [], [], index
        for token in sequence:
            if type(token) is not int or not INT64_MIN <= token <= INT64_MAX:
                return [], [], index
        values.extend(sequence)
        offsets.append(len(values))
    return values, offsets, -1


def fill_packed_rows(
    values: list[int],
    starts: list[int],
    lengths: list[int],
    items: list[int],
    bounds: list[int],
    capacity: int,
    padding_value: int,
    label_padding_value: int,
) -> tuple[list[int], list[int], list[int], list[int]]:
    """The row-major arrays of ``len(bounds) - 1`` rows of ``capacity`` slots.

    Sequence ``s`` is ``values[starts[s] : starts[s] + lengths[s]]``; pack ``p`` holds the
    sequences ``items[bounds[p] : bounds[p + 1]]`` in that order, then a padding tail.
    Returns ``(input_ids, attention_mask, position_ids, label_buffer)``:

    - position_ids restart at 0 for every sequence and for the padding tail;
    - label_buffer: the aligned labels (the Hugging Face convention: the token itself, except
      ``label_padding_value`` at each sequence's first token and on padding), row after row,
      then one more ``label_padding_value``.

    The pre-shifted labels (the next token of the same sequence, ``label_padding_value`` at
    each sequence's last token and on padding) are ``label_buffer[1:]``: the slot after a
    sequence's last token is the next sequence's first token, padding, or the next row's
    first slot (a first token or padding), all masked, and the buffer's extra last slot
    masks the last row's end.
    """
    input_ids: list[int] = []
    attention_mask: list[int] = []
    position_ids: list[int] = []
    labels: list[int] = []
    for pack in range(len(bounds) - 1):
        used = 0
        for sequence in items[bounds[pack] : bounds[pack + 1]]:
            length = lengths[sequence]
            start = starts[sequence]
            tokens = values[start : start + length]
            input_ids.extend(tokens)
            attention_mask.extend([1] * length)
            position_ids.extend(range(length))
            labels.append(label_padding_value)
            labels.extend(tokens[1:])
            used += length
        tail = capacity - used
        input_ids.extend([padding_value] * tail)
        attention_mask.extend([0] * tail)
        position_ids.extend(range(tail))
        labels.extend([label_padding_value] * tail)
    labels.append(label_padding_value)
    return input_ids, attention_mask, position_ids, labels
