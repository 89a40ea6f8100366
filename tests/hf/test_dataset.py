"""pack_dataset / pack_dataset_from_result: columns, dtypes, inputs, num_proc, overflow, errors."""

from __future__ import annotations

import random
import warnings

import datasets
import numpy as np
import pyarrow as pa
import pytest
import seqpacker
from seqpacker import pack_and_build, pack_sequences
from seqpacker_hf import COLUMNS, PackedDataCollator, pack_dataset, pack_dataset_from_result
from seqpacker_hf import _dataset as dataset_module


def random_sequences(count: int, seed: int = 0, max_length: int = 60, vocab: int = 500):
    rng = random.Random(seed)
    return [
        [rng.randrange(1, vocab) for _ in range(rng.randint(1, max_length))] for _ in range(count)
    ]


def unpacked_sequences(dataset) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """The real sequences of every row, cut by seq_lengths (padding tails skipped)."""
    found = []
    for row in dataset:
        start = 0
        for length in row["seq_lengths"]:
            if row["attention_mask"][start] == 1:
                found.append(list(row["input_ids"][start : start + length]))
            start += length
    return found


def as_array(dataset, column: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array(dataset.with_format("numpy")[column]) if len(dataset) else np.zeros((0,))


def assert_matches_core(dataset, arrays) -> None:  # type: ignore[no-untyped-def]
    for column in ("input_ids", "attention_mask", "labels", "position_ids"):
        np.testing.assert_array_equal(as_array(dataset, column), getattr(arrays, column))
    expected_segments = np.diff(arrays.cu_seqlens_flat).tolist()
    got_segments = [length for row in dataset["seq_lengths"] for length in row]
    assert got_segments == expected_segments


def test_columns_dtypes_and_content_match_the_core_builder():
    sequences = random_sequences(40)
    dataset = pack_dataset(sequences, 128, padding_value=7)
    assert dataset.column_names == list(COLUMNS)
    schema = dataset.data.schema
    assert schema.field("input_ids").type == pa.list_(pa.int32(), 128)
    assert schema.field("attention_mask").type == pa.list_(pa.int8(), 128)
    assert schema.field("labels").type == pa.list_(pa.int32(), 128)
    assert schema.field("position_ids").type == pa.list_(pa.int32(), 128)
    assert schema.field("seq_lengths").type == pa.list_(pa.int32())
    assert_matches_core(dataset, pack_and_build(sequences, 128, padding_value=7))
    for row in dataset:
        assert sum(row["seq_lengths"]) == 128  # TRL's layout: the tail is a final segment
        assert row["labels"][0] == -100
    assert sorted(map(tuple, unpacked_sequences(dataset))) == sorted(map(tuple, sequences))


def test_seed_example_columns():
    dataset = pack_dataset([[5, 6, 7], [8, 9], [10, 11, 12, 13]], capacity=5)
    rows = dataset.to_list()
    assert rows[0] == {
        "input_ids": [10, 11, 12, 13, 0],
        "attention_mask": [1, 1, 1, 1, 0],
        "labels": [-100, 11, 12, 13, -100],
        "position_ids": [0, 1, 2, 3, 0],
        "seq_lengths": [4, 1],
    }
    assert rows[1]["labels"] == [-100, 6, 7, -100, 9]
    assert rows[1]["seq_lengths"] == [3, 2]


def test_many_build_chunks_give_the_same_rows(monkeypatch):
    sequences = random_sequences(300, seed=1)
    whole = pack_dataset(sequences, 64)
    monkeypatch.setattr(dataset_module, "CHUNK_SLOTS", 64 * 3)  # three rows per builder call
    chunked = pack_dataset(sequences, 64)
    assert chunked.to_dict() == whole.to_dict()
    assert_matches_core(chunked, pack_and_build(sequences, 64))


def test_ids_beyond_int32_use_int64():
    dataset = pack_dataset([[2**40, 1], [3]], 4)
    assert dataset.data.schema.field("input_ids").type == pa.list_(pa.int64(), 4)
    assert dataset.data.schema.field("labels").type == pa.list_(pa.int64(), 4)
    assert dataset[0]["input_ids"][0] == 2**40
    wide_padding = pack_dataset([[1, 2]], 4, label_padding_value=-(2**40))
    assert wide_padding.data.schema.field("labels").type == pa.list_(pa.int64(), 4)


def test_list_input_widens_to_int64_at_a_late_chunk(monkeypatch):
    # Lists are read in place, chunk by chunk: an id beyond int32 found late still widens the
    # whole column, and the rows equal the core builder's.
    monkeypatch.setattr(dataset_module, "CHUNK_SLOTS", 64 * 2)
    sequences = random_sequences(200, seed=11)
    sequences[150] = [*sequences[150][:-1], 2**40]
    dataset = pack_dataset(sequences, 64)
    assert dataset.data.schema.field("input_ids").type == pa.list_(pa.int64(), 64)
    assert dataset.data.schema.field("labels").type == pa.list_(pa.int64(), 64)
    assert_matches_core(dataset, pack_and_build(sequences, 64))


def test_list_input_errors_name_the_index_in_the_whole_list(monkeypatch):
    monkeypatch.setattr(dataset_module, "CHUNK_SLOTS", 64 * 2)
    sequences = random_sequences(200, seed=12)
    sequences[170] = [*sequences[170][:-1], 1.5]
    with pytest.raises(TypeError, match=r"token_ids\[170\] position"):
        pack_dataset(sequences, 64)
    result = pack_sequences([len(s) for s in sequences], 64)
    with pytest.raises(TypeError, match=r"token_ids\[170\] position"):
        pack_dataset_from_result(result, sequences)


def test_lists_of_numpy_values_equal_plain_lists():
    sequences = random_sequences(80, seed=13)
    plain = pack_dataset(sequences, 64).to_dict()
    arrays = [np.array(sequence, dtype=np.int16) for sequence in sequences]
    assert pack_dataset(arrays, 64).to_dict() == plain
    scalars = [[np.int64(token) for token in sequence] for sequence in sequences]
    assert pack_dataset(scalars, 64).to_dict() == plain


EMPTY_TYPED = datasets.Features({"input_ids": datasets.List(datasets.Value("int64"))})


@pytest.mark.parametrize(
    "empty",
    [
        [],
        datasets.Dataset.from_dict({"input_ids": []}),
        datasets.Dataset.from_dict({"input_ids": []}, features=EMPTY_TYPED),
    ],
    ids=["list", "dataset", "typed-dataset"],
)
def test_empty_input_gives_an_empty_dataset_with_the_columns(empty):
    dataset = pack_dataset(empty, 16)
    assert len(dataset) == 0
    assert dataset.column_names == list(COLUMNS)
    assert dataset.features["input_ids"] == datasets.List(datasets.Value("int32"), length=16)


def test_dataset_input_equals_list_input_and_drops_other_columns():
    sequences = random_sequences(50, seed=2)
    source = datasets.Dataset.from_dict(
        {"input_ids": sequences, "text": [str(i) for i in range(50)]},
        features=datasets.Features(
            {"input_ids": datasets.List(datasets.Value("int32")), "text": datasets.Value("string")}
        ),
    )
    packed = pack_dataset(source, 96)
    assert packed.column_names == list(COLUMNS)
    assert packed.to_dict() == pack_dataset(sequences, 96).to_dict()


def test_dataset_with_indices_slices_and_chunks_is_read_as_seen():
    sequences = random_sequences(60, seed=3)
    source = datasets.Dataset.from_dict({"input_ids": sequences})
    shuffled = source.shuffle(seed=0).select(range(10, 50))
    expected = [sequences[i] for i in shuffled._indices.column(0).to_pylist()]
    assert pack_dataset(shuffled, 80).to_dict() == pack_dataset(expected, 80).to_dict()
    chunked = datasets.concatenate_datasets(
        [source.select(range(30)), source.select(range(30, 60))]
    )
    assert pack_dataset(chunked, 80).to_dict() == pack_dataset(sequences, 80).to_dict()


def test_dataset_other_column_name_and_labels_warning():
    sequences = random_sequences(10, seed=4)
    source = datasets.Dataset.from_dict({"ids": sequences, "labels": sequences})
    with pytest.warns(UserWarning, match="'labels' column is dropped"):
        packed = pack_dataset(source, 64, column="ids")
    assert packed.to_dict() == pack_dataset(sequences, 64).to_dict()


def test_dataset_errors():
    with pytest.raises(ValueError, match="no column 'input_ids'"):
        pack_dataset(datasets.Dataset.from_dict({"ids": [[1]]}), 8)
    with pytest.raises(TypeError, match="integer token ids"):
        pack_dataset(datasets.Dataset.from_dict({"input_ids": [[1.5, 2.0]]}), 8)
    with pytest.raises(TypeError, match="lists of token ids"):
        pack_dataset(datasets.Dataset.from_dict({"input_ids": [1, 2]}), 8)
    with pytest.raises(ValueError, match="row 1 is null"):
        pack_dataset(datasets.Dataset.from_dict({"input_ids": [[1], None, [2]]}), 8)


def test_iterable_dataset_is_packed_lazily_and_loses_nothing():
    sequences = random_sequences(230, seed=5, max_length=50)
    source = datasets.Dataset.from_dict({"input_ids": sequences}).to_iterable_dataset(num_shards=3)
    packed = pack_dataset(source, 64, window_size=40)
    assert isinstance(packed, datasets.IterableDataset)
    rows = list(packed)
    assert sorted(map(tuple, unpacked_sequences(rows))) == sorted(map(tuple, sequences))
    for row in rows:
        assert len(row["input_ids"]) == 64
        assert sum(row["seq_lengths"]) == 64
    assert type(rows[0]["input_ids"][0]) is int
    # Carrying sparse packs forward keeps the rows nearly as full as one global packing.
    assert len(rows) <= 1.1 * pack_sequences([len(s) for s in sequences], 64).num_bins


def test_iterable_dataset_errors_name_the_stream_index():
    sequences = [[1, 2]] * 5 + [list(range(1, 20))]
    source = datasets.Dataset.from_dict({"input_ids": sequences}).to_iterable_dataset()
    with pytest.raises(ValueError, match="window starting at 4"):
        list(pack_dataset(source, 8, window_size=4))
    with pytest.raises(ValueError, match="window_size"):
        pack_dataset(source, 8, window_size=0)
    with pytest.raises(ValueError, match="packed lazily"):
        pack_dataset(source, 8, num_proc=2)
    with pytest.raises(ValueError, match="no column 'ids'"):
        pack_dataset(source, 8, column="ids")


def test_num_proc_is_deterministic_and_keeps_every_sequence():
    sequences = random_sequences(3000, seed=6, max_length=40)
    first = pack_dataset(sequences, 128, num_proc=2)
    second = pack_dataset(sequences, 128, num_proc=2)
    assert first.to_dict() == second.to_dict()
    assert sorted(map(tuple, unpacked_sequences(first))) == sorted(map(tuple, sequences))
    # Small inputs are not split (fewer than MIN_SEQUENCES_PER_SHARD per shard).
    small = random_sequences(100, seed=7)
    assert pack_dataset(small, 64, num_proc=4).to_dict() == pack_dataset(small, 64).to_dict()


def test_overflow_policies():
    sequences = [[1] * 3, list(range(1, 11)), [2] * 4]
    with pytest.raises(ValueError, match=r"token_ids\[1\] has 10 tokens"):
        pack_dataset(sequences, 6)
    with pytest.warns(UserWarning, match="truncated 1"):
        truncated = pack_dataset(sequences, 6, overflow="truncate")
    assert sum(map(sum, truncated["attention_mask"])) == 3 + 6 + 4
    with pytest.warns(UserWarning, match="split 1"):
        split = pack_dataset(sequences, 6, overflow="split")
    assert sorted(map(tuple, unpacked_sequences(split))) == sorted(
        [(1,) * 3, (1, 2, 3, 4, 5, 6), (7, 8, 9, 10), (2,) * 4]
    )
    with pytest.warns(UserWarning, match="dropped 1"):
        dropped = pack_dataset(sequences, 6, overflow="drop")
    assert sorted(map(tuple, unpacked_sequences(dropped))) == [(1,) * 3, (2,) * 4]
    with pytest.warns(UserWarning, match="dropped 1"):
        nothing_left = pack_dataset([list(range(9))], 6, overflow="drop")
    assert len(nothing_left) == 0 and nothing_left.column_names == list(COLUMNS)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"capacity": 0}, ValueError, "capacity must be positive"),
        ({"capacity": 2.5}, TypeError, "capacity must be an int"),
        ({"capacity": 8, "overflow": "wrap"}, ValueError, "unknown overflow policy"),
        ({"capacity": 8, "num_proc": 0}, ValueError, "num_proc"),
        ({"capacity": 8, "strategy": "nope"}, ValueError, "strateg"),
    ],
)
def test_option_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        pack_dataset([[1, 2]], **kwargs)


def test_token_errors():
    with pytest.raises(ValueError, match=r"token_ids\[1\] is empty"):
        pack_dataset([[1], []], 8)
    with pytest.raises(TypeError, match=r"token_ids\[0\]"):
        pack_dataset([[1.5]], 8)


def test_pack_dataset_from_result():
    sequences = random_sequences(30, seed=8)
    result = pack_sequences([len(s) for s in sequences], 100, strategy="ffd")
    dataset = pack_dataset_from_result(result, sequences, padding_value=3)
    assert_matches_core(dataset, seqpacker.build_packed_arrays(result, sequences, padding_value=3))
    as_dataset = datasets.Dataset.from_dict({"input_ids": sequences})
    assert pack_dataset_from_result(result, as_dataset, padding_value=3).to_dict() == (
        dataset.to_dict()
    )
    with pytest.raises(ValueError, match="has 29 sequences but the packing has 30"):
        pack_dataset_from_result(result, sequences[:-1])
    with pytest.raises(ValueError, match=r"token_ids\[0\] has"):
        pack_dataset_from_result(result, [[*sequences[0], 1], *sequences[1:]])
    with pytest.raises(TypeError, match="PackResult"):
        pack_dataset_from_result([3, 4], sequences)


def test_collator_builds_model_inputs_without_a_2d_mask():
    torch = pytest.importorskip("torch")
    sequences = random_sequences(20, seed=9, max_length=30)
    dataset = pack_dataset(sequences, 64)
    rows = [dataset[i] for i in range(3)]
    batch = PackedDataCollator()(rows)
    assert "attention_mask" not in batch
    for name in ("input_ids", "labels", "position_ids"):
        assert batch[name].dtype == torch.int64 and batch[name].shape == (3, 64)
    expected = np.concatenate([[0], np.cumsum([n for row in rows for n in row["seq_lengths"]])])
    assert batch["cu_seq_lens_q"].dtype == torch.int32
    assert batch["cu_seq_lens_q"].tolist() == expected.tolist()
    assert batch["cu_seq_lens_k"] is batch["cu_seq_lens_q"]
    assert batch["max_length_q"] == batch["max_length_k"] == int(np.diff(expected).max())
    # Trainer drops seq_lengths (not a model argument): boundaries come from position_ids.
    without = PackedDataCollator()(
        [{k: v for k, v in row.items() if k != "seq_lengths"} for row in rows]
    )
    assert without["cu_seq_lens_q"].tolist() == expected.tolist()
    plain = PackedDataCollator(flash_attention_kwargs=False)(rows)
    assert set(plain) == {"input_ids", "labels", "position_ids"}


def test_collator_errors():
    pytest.importorskip("torch")
    collator = PackedDataCollator()
    with pytest.raises(ValueError, match="empty batch"):
        collator([])
    with pytest.raises(ValueError, match="'position_ids'"):
        collator([{"input_ids": [1], "labels": [1]}])
    row = {"input_ids": [1, 2], "labels": [1, 2], "position_ids": [0, 1]}
    with pytest.raises(ValueError, match="same length"):
        collator([row, {**row, "input_ids": [1, 2, 3]}])
    with pytest.raises(ValueError, match="padding tail"):
        collator([{**row, "seq_lengths": [1]}])


def test_hf_utils_reexports_the_package():
    from seqpacker import hf_utils

    assert hf_utils.pack_dataset is pack_dataset
    assert hf_utils.PackedDataCollator is PackedDataCollator


def test_hf_utils_names_the_extra_when_the_package_is_missing(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "seqpacker_hf", None)
    monkeypatch.delitem(sys.modules, "seqpacker.hf_utils", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'seqpacker-core\[hf\]'"):
        importlib.import_module("seqpacker.hf_utils")
    monkeypatch.delitem(sys.modules, "seqpacker.hf_utils", raising=False)


def test_no_warning_for_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pack_dataset(random_sequences(10), 64)


def test_collator_takes_numpy_and_torch_rows_and_pickles():
    import pickle

    pytest.importorskip("torch")
    dataset = pack_dataset(random_sequences(20, seed=10, max_length=30), 64)
    collator = pickle.loads(pickle.dumps(PackedDataCollator()))
    expected = collator([dataset[i] for i in range(2)])
    for fmt in ("numpy", "torch"):
        formatted = dataset.with_format(fmt)
        batch = collator([formatted[i] for i in range(2)])
        for name in ("input_ids", "labels", "position_ids", "cu_seq_lens_q"):
            assert batch[name].tolist() == expected[name].tolist()


def test_iterable_dataset_dtypes_follow_the_declared_features():
    sequences = random_sequences(30, seed=11)

    def declared(dtype: str) -> datasets.Features:
        return datasets.Features({"input_ids": datasets.List(datasets.Value(dtype))})

    for features, expected in ((declared("int64"), "int64"), (declared("int32"), "int32")):
        source = datasets.Dataset.from_dict({"input_ids": sequences}, features=features)
        packed = pack_dataset(source.to_iterable_dataset(), 64)
        assert packed.features["input_ids"] == datasets.List(datasets.Value(expected), length=64)
        rows = list(packed)
        assert sorted(map(tuple, unpacked_sequences(rows))) == sorted(map(tuple, sequences))
