"""The ``seqpacker`` command: every command, every input format, and every error path.

Commands run in-process through ``seqpacker.cli.main`` (fast, exact output capture); one test
runs the installed entry point and ``python -m seqpacker`` in a subprocess.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from seqpacker import Packer, cli, pack_sequences

LENGTHS = [700, 300, 512, 1024, 100, 900, 50, 400, 620, 1000, 3, 77]
CAPACITY = 1024


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main([*argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fail(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must fail on its input: status 1, one error line, no traceback."""
    code, out, err = run(capsys, *argv)
    assert code == 1, (out, err)
    assert err.startswith("seqpacker: error: ")
    assert "Traceback" not in err
    assert err.count("\n") == 1
    return err


def write_text(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def lengths_txt(tmp_path: Path) -> str:
    return write_text(tmp_path / "lengths.txt", [str(n) for n in LENGTHS])


# ---------------------------------------------------------------------------------------------
# pack


def test_pack_text_prints_the_metrics_table(capsys, lengths_txt):
    code, out, _ = run(capsys, "pack", lengths_txt, "--capacity", str(CAPACITY))
    expected = pack_sequences(LENGTHS, CAPACITY)
    assert code == 0
    rows = {line[:20].strip(): line[20:].strip() for line in out.splitlines()}
    assert rows["strategy"] == "obfd"
    assert rows["capacity"] == f"{CAPACITY:,}"
    assert rows["packs"] == str(expected.num_bins)
    assert rows["sequences"] == str(len(LENGTHS))
    assert rows["tokens"] == f"{sum(LENGTHS):,}"
    assert rows["lower bound (packs)"] == str(expected.metrics.lower_bound)
    assert rows["efficiency"] == f"{expected.efficiency:.2%}"


def test_pack_json_metrics_match_the_api(capsys, lengths_txt):
    code, out, _ = run(capsys, "pack", lengths_txt, "-c", "1024", "-s", "ffd", "--json")
    metrics = json.loads(out)
    expected = pack_sequences(LENGTHS, CAPACITY, "ffd").metrics
    assert code == 0
    assert metrics["strategy"] == "ffd"
    assert metrics["capacity"] == CAPACITY
    assert metrics["num_packs"] == expected.num_packs
    assert metrics["padding_tokens"] == expected.padding_tokens
    assert metrics["efficiency"] == expected.efficiency


def test_text_skips_blank_lines_and_comments(capsys, tmp_path):
    path = write_text(tmp_path / "l.txt", ["# header", "", "5", "  7  ", "# more", "9", ""])
    code, out, _ = run(capsys, "pack", path, "-c", "16", "--json")
    assert code == 0
    assert json.loads(out)["total_tokens"] == 21


def test_pack_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(map(str, LENGTHS)) + "\n"))
    code, out, _ = run(capsys, "pack", "-", "-c", "1024", "--json")
    assert code == 0
    assert json.loads(out)["num_packs"] == pack_sequences(LENGTHS, CAPACITY).num_bins


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint16"])
def test_pack_reads_npy_of_any_integer_dtype(capsys, tmp_path, dtype):
    path = tmp_path / "lengths.npy"
    np.save(path, np.array(LENGTHS, dtype=dtype))
    code, out, _ = run(capsys, "pack", str(path), "-c", "1024", "--json")
    assert code == 0
    assert json.loads(out)["total_tokens"] == sum(LENGTHS)


def test_pack_reads_jsonl_lengths_and_input_ids(capsys, tmp_path):
    by_length = tmp_path / "a.jsonl"
    by_length.write_text("".join(json.dumps({"lengths": n, "x": 1}) + "\n" for n in LENGTHS))
    by_ids = tmp_path / "b.jsonl"
    by_ids.write_text("".join(json.dumps({"input_ids": list(range(n))}) + "\n" for n in LENGTHS))
    custom = tmp_path / "c.ndjson"
    custom.write_text("".join(json.dumps({"tokens": [1] * n}) + "\n" for n in LENGTHS))
    for path, extra in ((by_length, []), (by_ids, []), (custom, ["--column", "tokens"])):
        code, out, _ = run(capsys, "pack", str(path), "-c", "1024", "--json", *extra)
        assert code == 0
        assert json.loads(out)["total_tokens"] == sum(LENGTHS), path


def test_pack_reads_parquet_lengths_and_input_ids(capsys, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    by_length = tmp_path / "a.parquet"
    pq.write_table(pa.table({"lengths": pa.array(LENGTHS, pa.int32())}), by_length)
    by_ids = tmp_path / "b.parquet"
    pq.write_table(pa.table({"input_ids": [list(range(n)) for n in LENGTHS]}), by_ids)
    large = tmp_path / "c.parquet"
    ids = pa.array([[7] * n for n in LENGTHS], pa.large_list(pa.int64()))
    pq.write_table(pa.table({"text": ["t"] * len(LENGTHS), "ids": ids}), large)
    for path, extra in ((by_length, []), (by_ids, []), (large, ["--column", "ids"])):
        code, out, _ = run(capsys, "pack", str(path), "-c", "1024", "--json", *extra)
        assert code == 0
        assert json.loads(out)["total_tokens"] == sum(LENGTHS), path


def test_output_jsonl_has_one_line_per_bin(capsys, tmp_path, lengths_txt):
    output = tmp_path / "bins.jsonl"
    code, out, _ = run(capsys, "pack", lengths_txt, "-c", "1024", "-o", str(output))
    expected = pack_sequences(LENGTHS, CAPACITY)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert code == 0
    assert f"bins written to {output}" in out
    assert [r["bin"] for r in records] == list(range(expected.num_bins))
    assert [r["sequence_ids"] for r in records] == expected.bins
    assert [r["lengths"] for r in records] == [p.lengths for p in expected.packs]
    assert [r["used"] for r in records] == [p.used for p in expected.packs]


def test_output_npz_holds_the_flat_arrays(capsys, tmp_path, lengths_txt):
    output = tmp_path / "bins.npz"
    code, _, _ = run(capsys, "pack", lengths_txt, "-c", "1024", "-s", "bfd", "-o", str(output))
    items_flat, bin_offsets = Packer(CAPACITY, "bfd").pack_flat(LENGTHS)
    assert code == 0
    with np.load(output) as saved:
        np.testing.assert_array_equal(saved["items_flat"], items_flat)
        np.testing.assert_array_equal(saved["bin_offsets"], bin_offsets)
        np.testing.assert_array_equal(saved["lengths"], LENGTHS)
        assert int(saved["capacity"]) == CAPACITY
        assert str(saved["strategy"]) == "bfd"
        bins = [b.tolist() for b in np.split(saved["items_flat"], saved["bin_offsets"])]
    assert bins == pack_sequences(LENGTHS, CAPACITY, "bfd").bins


def test_seed_and_k_reach_the_packer(capsys, tmp_path, lengths_txt):
    for argv, expected in (
        (["-s", "ffs", "--seed", "7"], pack_sequences(LENGTHS, CAPACITY, "ffs", seed=7)),
        (["-s", "harmonic_k", "--k", "3"], pack_sequences(LENGTHS, CAPACITY, "hk", k=3)),
    ):
        output = tmp_path / "bins.jsonl"
        code, _, _ = run(capsys, "pack", lengths_txt, "-c", "1024", "-o", str(output), *argv)
        bins = [json.loads(line)["sequence_ids"] for line in output.read_text().splitlines()]
        assert code == 0
        assert bins == expected.bins


# ---------------------------------------------------------------------------------------------
# compare and demo


def test_compare_table_lists_every_strategy(capsys, lengths_txt):
    code, out, _ = run(capsys, "compare", lengths_txt, "-c", "1024")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split()[:3] == ["strategy", "name", "bins"]
    for short, full in Packer.strategies():
        bins = pack_sequences(LENGTHS, CAPACITY, short).num_bins
        row = next(line for line in lines if line.split()[0] == short)
        assert full in row
        assert f" {bins} " in row
    assert lines[-1].startswith(
        f"lower bound: {pack_sequences(LENGTHS, CAPACITY).metrics.lower_bound}"
    )


def test_compare_json_rows_match_the_api(capsys, lengths_txt):
    code, out, _ = run(capsys, "compare", lengths_txt, "-c", "1024", "--seed", "3", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [row["strategy"] for row in rows] == [short for short, _ in Packer.strategies()]
    for row in rows:
        expected = pack_sequences(LENGTHS, CAPACITY, row["strategy"], seed=3)
        assert row["bins"] == expected.num_bins
        assert row["gap"] == expected.num_bins - expected.metrics.lower_bound
        assert row["efficiency"] == expected.efficiency
        assert row["time_ms"] >= 0


def test_compare_a_chosen_subset(capsys, lengths_txt):
    code, out, _ = run(
        capsys, "compare", lengths_txt, "-c", "1024", "--strategies", "nf, FFD,best_fit", "--json"
    )
    assert code == 0
    assert [row["strategy"] for row in json.loads(out)] == ["nf", "ffd", "bf"]


def test_compare_plot_writes_a_png(capsys, tmp_path, lengths_txt):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "compare.png"
    code, out, _ = run(capsys, "compare", lengths_txt, "-c", "1024", "--plot", str(plot))
    assert code == 0
    assert f"plot written to {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000


def test_demo_compares_on_the_embedded_lengths(capsys):
    code, out, _ = run(capsys, "demo")
    lengths, description = cli.demo_data()
    assert code == 0
    assert "standard library" in out
    assert f"{lengths.values.size:,} sequences" in out
    for short, _ in Packer.strategies():
        assert any(line.split()[0] == short for line in out.splitlines() if line.strip())
    assert any("tokenizer" in line.lower() for line in description)


def test_demo_data_is_real_and_fits_the_default_capacity(capsys):
    lengths, _ = cli.demo_data()
    assert lengths.values.size > 500
    assert lengths.values.min() >= 1
    assert lengths.values.max() == cli.DEMO_CAPACITY  # long files are split at the capacity
    code, out, _ = run(capsys, "demo", "--json", "--strategies", "obfd")
    assert code == 0
    assert json.loads(out)[0]["bins"] == pack_sequences(lengths.values, cli.DEMO_CAPACITY).num_bins


def test_demo_data_regenerates_identically():
    script = Path(__file__).parents[2] / "scripts" / "make_demo_lengths.py"
    _, description = cli.demo_data()
    made_with = re.search(r"CPython (\d+\.\d+\.\d+)", " ".join(description)).group(1)
    if made_with != ".".join(map(str, sys.version_info[:3])):
        pytest.skip(f"the demo data was made with Python {made_with}")
    if not script.exists():
        pytest.skip("run from the repository to check the generator")
    data = Path(cli.__file__).parent / "data" / cli.DEMO_DATA
    done = subprocess.run(
        [sys.executable, str(script), "--check", "--output", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# help, version, entry points, progress


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("pack", ["--capacity", "--strategy", "--seed", "--k", "--output", "--column", "--json"]),
        ("compare", ["--capacity", "--strategies", "--seed", "--plot", "--column", "--json"]),
        ("demo", ["--capacity", "--strategies", "--seed", "--plot", "--json"]),
    ],
)
def test_help_explains_every_option(capsys, command, options):
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for option in [*options, "--no-progress"]:
        assert option in out
    if command != "demo":
        assert ".parquet" in out
        assert "optimized_best_fit_decreasing" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip().startswith("seqpacker 0.")


def test_entry_points_run_the_demo():
    commands = [[sys.executable, "-m", "seqpacker", "demo", "--json", "--strategies", "nf"]]
    installed = shutil.which("seqpacker", path=str(Path(sys.executable).parent))
    if installed:
        commands.append([installed, "demo", "--json", "--strategies", "nf"])
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[0]["strategy"] == "nf"


def test_error_exit_status_from_a_subprocess(tmp_path):
    path = write_text(tmp_path / "l.txt", ["5", "x"])
    done = subprocess.run(
        [sys.executable, "-m", "seqpacker", "pack", path, "-c", "8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == f"seqpacker: error: {path} line 2: expected one integer length per line, got 'x'\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the fallback, even where tqdm is installed
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(cli.progress(range(5), 5, "packing", enabled=True)) == list(range(5))
    shown = terminal.getvalue()
    assert "\rpacking: 0/5" in shown
    assert "\rpacking: 4/5" in shown
    assert shown.endswith("\r")  # the line is erased at the end
    terminal.truncate(0)
    assert list(cli.progress(range(3), 3, "packing", enabled=False)) == [0, 1, 2]
    assert terminal.getvalue() == ""


def test_progress_uses_tqdm_when_installed(monkeypatch):
    pytest.importorskip("tqdm")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(cli.progress(range(4), 4, "packing", enabled=True)) == list(range(4))
    assert "packing" in terminal.getvalue()


def test_no_progress_when_stderr_is_redirected(monkeypatch):
    redirected = io.StringIO()
    monkeypatch.setattr(sys, "stderr", redirected)
    assert list(cli.progress(range(4), 4, "packing", enabled=True)) == list(range(4))
    assert redirected.getvalue() == ""


def test_commands_show_progress_on_a_terminal(capsys, monkeypatch, lengths_txt):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "compare", lengths_txt, "-c", "1024")
    assert code == 0
    assert "packing: 0/11" in err
    code, _, err = run(capsys, "compare", lengths_txt, "-c", "1024", "--no-progress")
    assert code == 0
    assert err == ""


# ---------------------------------------------------------------------------------------------
# error paths: each names the file and the line, row, index or value that is wrong


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["5", "abc"], " line 2: expected one integer length per line, got 'abc'"),
        (["# c", "5", "3.5"], " line 3: expected one integer length per line, got '3.5'"),
        (["5", "6 7"], " line 2: expected one integer length per line, got '6 7'"),
        (["5", "", "0"], " line 3: length 0 must be >= 1"),
        (["-4"], " line 1: length -4 must be >= 1"),
        (["5", "17"], " line 2: length 17 is larger than the capacity 16"),
        (["5", str(2**64)], f" line 2: {2**64} is beyond the int64 range"),
        (["# only a comment", ""], ": no lengths found"),
    ],
)
def test_bad_text_input(capsys, tmp_path, lines, message):
    path = write_text(tmp_path / "l.txt", lines)
    assert fail(capsys, "pack", path, "-c", "16") == f"seqpacker: error: {path}{message}\n"


def test_bad_stdin_names_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("4\n\nfour\n"))
    assert "<stdin> line 3: expected one integer" in fail(capsys, "pack", "-", "-c", "8")


def test_missing_file_and_non_utf8_text(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    assert f"{missing}: no such file" in fail(capsys, "pack", str(missing), "-c", "8")
    assert f"{tmp_path}: not a file" in fail(capsys, "pack", str(tmp_path), "-c", "8")
    binary = tmp_path / "l.txt"
    binary.write_bytes(b"4\n5\n\xff\xfe\n")
    assert f"{binary} line 3: not UTF-8 text" in fail(capsys, "pack", str(binary), "-c", "8")


@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        (['{"lengths": 3}', "{oops"], [], " line 2: invalid JSON"),
        (['{"lengths": 3}', "[1, 2]"], [], " line 2: expected a JSON object"),
        (['{"text": "a", "n": 3}'], [], " line 1: no 'lengths' or 'input_ids' column"),
        (['{"lengths": 3}', '{"input_ids": [1]}'], [], " line 2: no 'lengths' field"),
        (
            ['{"lengths": 3}', '{"lengths": "4"}'],
            [],
            ' line 2: lengths must be an integer or a list, got "4"',
        ),
        (['{"lengths": true}'], [], " line 1: lengths must be an integer or a list, got true"),
        (['{"lengths": 2.5}'], [], " line 1: lengths must be an integer or a list, got 2.5"),
        (['{"lengths": 3}', '{"lengths": 0}'], [], " line 2: length 0 must be >= 1"),
        (['{"input_ids": [1]}', "", '{"input_ids": []}'], [], " line 3: length 0 must be >= 1"),
        (['{"ids": [1, 2]}'], ["--column", "tokens"], " line 1: no 'tokens' field"),
        ([""], [], ": no lengths found"),
    ],
)
def test_bad_jsonl_input(capsys, tmp_path, lines, extra, message):
    path = write_text(tmp_path / "l.jsonl", lines)
    assert f"seqpacker: error: {path}{message}" in fail(capsys, "pack", path, "-c", "16", *extra)


def test_bad_npy_input(capsys, tmp_path):
    two_d = tmp_path / "a.npy"
    np.save(two_d, np.ones((2, 3), dtype=np.int64))
    assert "expected a 1-D array of lengths, got shape (2, 3)" in fail(
        capsys, "pack", str(two_d), "-c", "8"
    )
    floats = tmp_path / "b.npy"
    np.save(floats, np.array([1.0, 2.0]))
    assert "expected integer lengths, got dtype float64" in fail(
        capsys, "pack", str(floats), "-c", "8"
    )
    objects = tmp_path / "c.npy"
    np.save(objects, np.array([1, "x"], dtype=object), allow_pickle=True)
    assert f"{objects}: not a readable .npy file" in fail(capsys, "pack", str(objects), "-c", "8")
    corrupt = tmp_path / "d.npy"
    corrupt.write_bytes(b"not numpy at all")
    assert f"{corrupt}: not a readable .npy file" in fail(capsys, "pack", str(corrupt), "-c", "8")
    too_long = tmp_path / "e.npy"
    np.save(too_long, np.array([3, 4, 9], dtype=np.int16))
    assert f"{too_long} index 2: length 9 is larger than the capacity 8" in fail(
        capsys, "pack", str(too_long), "-c", "8"
    )
    huge = tmp_path / "f.npy"
    np.save(huge, np.array([1, 2**64 - 1], dtype=np.uint64))
    assert f"{huge} index 1: {2**64 - 1} is beyond the int64 range" in fail(
        capsys, "pack", str(huge), "-c", "8"
    )
    empty = tmp_path / "g.npy"
    np.save(empty, np.zeros(0, dtype=np.int64))
    assert f"{empty}: no lengths found" in fail(capsys, "pack", str(empty), "-c", "8")


def test_bad_parquet_input(capsys, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    no_column = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["a"]}), no_column)
    assert "no 'lengths' or 'input_ids' column (found 'text')" in fail(
        capsys, "pack", str(no_column), "-c", "8"
    )
    assert "no 'ids' column (found 'text')" in fail(
        capsys, "pack", str(no_column), "-c", "8", "--column", "ids"
    )
    assert "column 'text' must hold integers or lists, got string" in fail(
        capsys, "pack", str(no_column), "-c", "8", "--column", "text"
    )
    nulls = tmp_path / "b.parquet"
    pq.write_table(pa.table({"lengths": pa.array([3, None, 4], pa.int64())}), nulls)
    assert f"{nulls} row 1: lengths is null" in fail(capsys, "pack", str(nulls), "-c", "8")
    too_long = tmp_path / "c.parquet"
    pq.write_table(pa.table({"input_ids": [[1], [1] * 9]}), too_long)
    assert f"{too_long} row 1: length 9 is larger than the capacity 8" in fail(
        capsys, "pack", str(too_long), "-c", "8"
    )
    corrupt = tmp_path / "d.parquet"
    corrupt.write_bytes(b"PAR1 nonsense")
    assert f"{corrupt}: not a readable parquet file" in fail(
        capsys, "pack", str(corrupt), "-c", "8"
    )


def test_missing_optional_dependencies_are_named(capsys, monkeypatch, tmp_path, lengths_txt):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    parquet = tmp_path / "a.parquet"
    parquet.write_bytes(b"")
    assert "pip install 'seqpacker-core[parquet]'" in fail(capsys, "pack", str(parquet), "-c", "8")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    plot = str(tmp_path / "p.png")
    err = fail(capsys, "compare", lengths_txt, "-c", "1024", "--plot", plot)
    assert "--plot needs matplotlib: pip install 'seqpacker-core[plot]'" in err


def test_bad_options_report_the_value(capsys, tmp_path, lengths_txt):
    err = fail(capsys, "pack", lengths_txt, "-c", "1024", "-s", "greedy")
    assert "unknown strategy 'greedy'; valid strategies: nf, ff" in err
    assert "k applies to the 'hk' strategy only" in fail(
        capsys, "pack", lengths_txt, "-c", "1024", "--k", "3"
    )
    assert "k must be >= 2" in fail(
        capsys, "pack", lengths_txt, "-c", "1024", "-s", "hk", "--k", "1"
    )
    assert "larger than the supported maximum" in fail(
        capsys, "pack", lengths_txt, "-c", str(2**41)
    )
    err = fail(capsys, "compare", lengths_txt, "-c", "1024", "--strategies", "nf,bogus")
    assert "unknown strategy 'bogus'" in err
    assert "--strategies is empty" in fail(
        capsys, "compare", lengths_txt, "-c", "1024", "--strategies", " , "
    )


def test_bad_outputs_are_refused_before_packing(capsys, tmp_path, lengths_txt):
    csv = tmp_path / "bins.csv"
    err = fail(capsys, "pack", lengths_txt, "-c", "1024", "-o", str(csv))
    assert f"{csv}: the output must end in .jsonl or .npz" in err
    assert not csv.exists()
    unwritable = tmp_path / "missing-folder" / "bins.jsonl"
    assert f"{unwritable}: cannot write" in fail(
        capsys, "pack", lengths_txt, "-c", "1024", "-o", str(unwritable)
    )
    jpeg = tmp_path / "plot.jpg"
    assert f"{jpeg}: the plot must be a .png file" in fail(
        capsys, "compare", lengths_txt, "-c", "1024", "--plot", str(jpeg)
    )
    pytest.importorskip("matplotlib")
    hidden = tmp_path / "missing-folder" / "plot.png"
    assert f"{hidden}: cannot write" in fail(
        capsys, "compare", lengths_txt, "-c", "1024", "--plot", str(hidden)
    )


def test_demo_capacity_below_the_longest_length(capsys):
    err = fail(capsys, "demo", "--capacity", "4096")
    assert f"{cli.DEMO_DATA} line " in err
    assert "is larger than the capacity 4096" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pack", "x.txt"], "the following arguments are required: --capacity"),
        (["pack", "x.txt", "-c", "0"], "expected a positive integer, got 0"),
        (["pack", "x.txt", "-c", "ten"], "expected a positive integer, got 'ten'"),
        (["compare", "x.txt", "-c", "-5"], "expected a positive integer, got -5"),
        (["pack", "x.txt", "-c", "8", "--seed", "s"], "invalid int value: 's'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert message in err
    assert "Traceback" not in err
