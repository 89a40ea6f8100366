"""packed_collate_fn: a DataLoader collate function that packs each batch of samples."""

from __future__ import annotations

from seqpacker import Packer, pack_and_build
from seqpacker._builder import check_int_option, check_overflow_policy

from ._batch import PackedBatch
from ._inputs import sample_token_ids


class PackedCollator:
    """Packs a list of samples into a :class:`PackedBatch` (picklable: works in workers).

    Samples are token id lists, 1-D numpy arrays or tensors, or mappings with ``"input_ids"``.
    """

    def __init__(
        self,
        capacity: int,
        *,
        strategy: str = "obfd",
        seed: int | None = None,
        padding_value: int = 0,
        label_padding_value: int = -100,
        overflow: str = "error",
    ) -> None:
        # Validate now, so a bad option fails where it is written, not inside a worker.
        packer = Packer(capacity, strategy, seed)
        self.capacity = packer.capacity
        self.strategy = packer.strategy
        self.seed = seed
        self.padding_value = check_int_option("padding_value", padding_value)
        self.label_padding_value = check_int_option("label_padding_value", label_padding_value)
        self.overflow = check_overflow_policy(overflow)

    def __call__(self, samples: list[object]) -> PackedBatch:
        token_ids = [sample_token_ids(sample, index) for index, sample in enumerate(samples)]
        arrays = pack_and_build(
            token_ids,
            self.capacity,
            strategy=self.strategy,
            seed=self.seed,
            padding_value=self.padding_value,
            label_padding_value=self.label_padding_value,
            overflow=self.overflow,  # type: ignore[arg-type]
        )
        return PackedBatch.from_arrays(arrays)

    def __repr__(self) -> str:
        return (
            f"PackedCollator(capacity={self.capacity}, strategy={self.strategy!r}, "
            f"seed={self.seed!r}, overflow={self.overflow!r})"
        )


def packed_collate_fn(
    capacity: int,
    *,
    strategy: str = "obfd",
    seed: int | None = None,
    padding_value: int = 0,
    label_padding_value: int = -100,
    overflow: str = "error",
) -> PackedCollator:
    """A collate function for ``DataLoader(collate_fn=...)`` that packs every batch.

    ``overflow`` handles samples longer than ``capacity`` as in ``seqpacker.pack_and_build``.
    """
    return PackedCollator(
        capacity,
        strategy=strategy,
        seed=seed,
        padding_value=padding_value,
        label_padding_value=label_padding_value,
        overflow=overflow,
    )
