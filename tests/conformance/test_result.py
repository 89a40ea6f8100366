"""PackResult, Pack and PackMetrics: laziness, views, pickling, equality, reprs."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import seqpacker
from seqpacker import Pack, Packer, PackMetrics, PackResult, pack_sequences

LENGTHS = [1000, 800, 600, 500, 400, 300, 200, 100]


def test_public_names_and_version() -> None:
    assert seqpacker.__version__ == "0.1.0"
    assert seqpacker.BACKEND in ("cython", "python")
    for name in seqpacker.__all__:
        assert getattr(seqpacker, name) is not None


def test_backend_attribute_follows_the_active_backend(backend: str) -> None:
    assert backend == seqpacker.BACKEND


def test_views_agree() -> None:
    result = pack_sequences(LENGTHS, 1024, "ff")
    assert result.bins == [[0], [1, 6], [2, 4], [3, 5, 7]]
    assert [p.sequence_ids for p in result.packs] == result.bins
    assert [p.lengths for p in result] == [[1000], [800, 200], [600, 400], [500, 300, 100]]
    assert [p.used for p in result] == [1000, 1000, 1000, 900]
    assert result.bin_loads.tolist() == [1000, 1000, 1000, 900]
    assert result[1] == Pack([1, 6], [800, 200])
    assert result[-1] == result.packs[-1]
    assert result[1:3] == result.packs[1:3]
    with pytest.raises(IndexError, match="pack index 4 out of range for 4 packs"):
        result[4]
    assert len(result) == result.num_bins == 4
    assert result.items_flat.tolist() == [0, 1, 6, 2, 4, 3, 5, 7]
    assert result.bin_bounds.tolist() == [0, 1, 3, 5, 8]
    assert result.bin_offsets.tolist() == [1, 3, 5]
    items, offsets = result.pack_flat()
    assert [a.tolist() for a in np.split(items, offsets)] == result.bins
    assert result.capacity == 1024
    assert result.strategy == "ff"
    assert result.time_ms >= 0


def test_materialisation_is_lazy() -> None:
    result = pack_sequences(list(range(1, 2001)), 4096, "obfd")
    assert result._packs is None and result._bins is None and result._metrics is None
    _ = result.num_bins, result.efficiency, result[3]
    assert result._packs is None and result._bins is None and result._metrics is None
    _ = result.metrics
    assert result._packs is None
    assert result.packs is result.packs  # built once


def test_flat_arrays_are_read_only() -> None:
    result = pack_sequences(LENGTHS, 1024)
    with pytest.raises(ValueError):
        result.items_flat[0] = 5


def test_metrics_values() -> None:
    result = pack_sequences(LENGTHS, 1024, "ff")
    m = result.metrics
    assert isinstance(m, PackMetrics)
    assert (m.num_sequences, m.total_tokens, m.num_packs) == (8, 3900, 4)
    assert m.padding_tokens == 4 * 1024 - 3900
    assert m.efficiency == pytest.approx(3900 / 4096)
    assert m.padding_ratio == pytest.approx(196 / 4096)
    utilisation = np.array([1000, 1000, 1000, 900]) / 1024
    assert m.avg_utilisation == pytest.approx(utilisation.mean())
    assert m.utilisation_std == pytest.approx(utilisation.std())
    assert m.min_utilisation == pytest.approx(900 / 1024)
    assert m.max_utilisation == pytest.approx(1000 / 1024)
    assert m.avg_sequences_per_pack == 2.0
    assert m.lower_bound == 4
    assert m.packing_time_ms == result.time_ms
    assert m.throughput == (math.inf if result.time_ms == 0 else 8 / (result.time_ms / 1000))


def test_equality_ignores_time_and_pickling_round_trips() -> None:
    first = pack_sequences(LENGTHS, 1024, "bfd")
    second = pack_sequences(LENGTHS, 1024, "bfd")
    assert first == second
    assert first != pack_sequences(LENGTHS, 1024, "nf")
    assert first != pack_sequences(LENGTHS, 2048, "bfd")
    clone = pickle.loads(pickle.dumps(first))
    assert clone == first
    assert clone.time_ms == first.time_ms
    assert clone.bins == first.bins
    assert clone.metrics == first.metrics
    pack = first[0]
    assert pickle.loads(pickle.dumps(pack)) == pack


def test_reprs_show_bins_efficiency_and_time() -> None:
    result = pack_sequences(LENGTHS, 1024, "bfd")
    text = repr(result)
    assert text.startswith("PackResult(strategy='bfd', capacity=1024, sequences=8, bins=4, ")
    assert "efficiency=95.21%" in text
    assert " ms)" in text
    assert repr(result[0]) == "Pack(sequence_ids=[0], lengths=[1000], used=1000)"
    assert repr(Packer(64, "FFS", seed=3)) == "Packer(capacity=64, strategy='ffs', seed=3)"


def test_packer_attributes() -> None:
    packer = Packer(2048, "Best_Fit_Decreasing", seed=9)
    assert (packer.capacity, packer.strategy, packer.seed) == (2048, "bfd", 9)
    assert Packer(2048).strategy == "obfd"
    assert Packer(2048, "hk", k=4).k == 4


def test_result_is_a_value_not_a_view_of_kernel_state() -> None:
    result = pack_sequences(LENGTHS, 1024)
    assert isinstance(result, PackResult)
    assert result.lengths.dtype == result.items_flat.dtype == result.bin_bounds.dtype == np.int64
