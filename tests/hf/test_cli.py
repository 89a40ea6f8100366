"""``seqpacker-hf pack-dataset``: success on every input format and every error path."""

from __future__ import annotations

import json

import datasets
import pytest
from seqpacker_hf import pack_dataset
from seqpacker_hf.cli import build_parser, main

SEQUENCES = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]


@pytest.fixture
def source() -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {"input_ids": SEQUENCES, "text": ["a", "b", "c", "d"], "score": [0.5, 1.5, 2.5, 3.5]}
    )


def written(source: datasets.Dataset, tmp_path, kind: str) -> str:  # type: ignore[no-untyped-def]
    if kind == "parquet":
        path = tmp_path / "tokens.parquet"
        source.to_parquet(str(path))
    elif kind == "jsonl":
        path = tmp_path / "tokens.jsonl"
        source.to_json(str(path))
    else:
        path = tmp_path / "tokens_disk"
        source.save_to_disk(str(path))
    return str(path)


def run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "disk"])
def test_packs_every_input_format(kind, source, tmp_path, capsys):
    output = tmp_path / "packed"
    code, out, _ = run(
        [
            "pack-dataset",
            written(source, tmp_path, kind),
            str(output),
            "--capacity",
            "5",
            "--padding-value",
            "99",
        ],
        capsys,
    )
    assert code == 0
    assert "packed 4 sequences (10 tokens) into" in out
    packed = datasets.load_from_disk(str(output))
    assert packed.to_dict() == pack_dataset(SEQUENCES, 5, padding_value=99).to_dict()


def test_options_reach_pack_dataset(source, tmp_path, capsys):
    source = source.rename_column("input_ids", "ids")
    output = tmp_path / "packed"
    argv = ["pack-dataset", written(source, tmp_path, "disk"), str(output), "--capacity", "3"]
    argv += ["--column", "ids", "--strategy", "ffd", "--overflow", "split", "--num-proc", "2"]
    code, _, err = run(argv, capsys)
    assert code == 0
    assert "warning: pack_dataset: split 1 sequence(s)" in err
    with pytest.warns(UserWarning):
        expected = pack_dataset(SEQUENCES, 3, strategy="ffd", overflow="split")
    assert datasets.load_from_disk(str(output)).to_dict() == expected.to_dict()


def test_dataset_dict_needs_a_split(source, tmp_path, capsys):
    path = tmp_path / "dict"
    datasets.DatasetDict({"train": source, "test": source}).save_to_disk(str(path))
    code, _, err = run(["pack-dataset", str(path), str(tmp_path / "o"), "--capacity", "5"], capsys)
    assert code == 1 and "choose one with --split" in err
    argv = ["pack-dataset", str(path), str(tmp_path / "o"), "--capacity", "5", "--split", "dev"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "no split 'dev'" in err
    argv[-1] = "test"
    assert run(argv, capsys)[0] == 0


def bad_file(tmp_path, name: str, content: str) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(content)
    return str(path)


@pytest.mark.parametrize(
    "case",
    [
        (lambda tmp, src: str(tmp / "missing.parquet"), [], "no such file or folder"),
        (lambda tmp, src: bad_file(tmp, "tokens.csv", "a,b\n"), [], "unsupported input"),
        (lambda tmp, src: bad_file(tmp, "tokens.parquet", "not parquet"), [], "cannot read it"),
        (lambda tmp, src: bad_file(tmp, "tokens.jsonl", '{"input_ids": [1,\n'), [], "cannot read"),
        (lambda tmp, src: written(src, tmp, "disk"), ["--column", "ids"], "no column 'ids'"),
        (
            lambda tmp, src: written(src, tmp, "disk"),
            ["--column", "text"],
            "must hold lists of token ids",
        ),
        (
            lambda tmp, src: bad_file(
                tmp, "floats.jsonl", json.dumps({"input_ids": [1.5, 2.5]}) + "\n"
            ),
            [],
            "integer token ids",
        ),
        (
            lambda tmp, src: bad_file(
                tmp, "empty_seq.jsonl", '{"input_ids": [1]}\n{"input_ids": []}\n'
            ),
            [],
            r"token_ids[1] is empty",
        ),
        (lambda tmp, src: written(src, tmp, "disk"), ["--capacity", "3"], "more than the capacity"),
        (lambda tmp, src: written(src, tmp, "disk"), ["--capacity", "0"], "must be positive"),
        (lambda tmp, src: written(src, tmp, "disk"), ["--num-proc", "0"], "at least 1"),
    ],
    ids=[
        "missing",
        "unsupported",
        "bad-parquet",
        "bad-jsonl",
        "missing-column",
        "not-lists",
        "float-ids",
        "empty-sequence",
        "too-long",
        "capacity",
        "num-proc",
    ],
)
def test_input_errors_exit_1_with_a_message(case, source, tmp_path, capsys):
    make_input, extra, message = case
    argv = ["pack-dataset", make_input(tmp_path, source), str(tmp_path / "out"), "--capacity", "5"]
    code, _, err = run([*argv, *extra], capsys)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("seqpacker-hf pack-dataset: error:")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(source, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("x")
    argv = ["pack-dataset", written(source, tmp_path, "disk"), str(output), "--capacity", "5"]
    code, _, err = run(argv, capsys)
    assert code == 1 and "--overwrite" in err
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert len(datasets.load_from_disk(str(output))) == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["pack-dataset", "in", "out"],  # no --capacity
        ["pack-dataset", "in", "out", "--capacity", "many"],
        ["pack-dataset", "in", "out", "--capacity", "8", "--strategy", "best"],
        ["pack-dataset", "in", "out", "--capacity", "8", "--overflow", "wrap"],
        ["unpack"],
        [],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pack-dataset", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    subparser = build_parser()._subparsers._group_actions[0].choices["pack-dataset"]  # type: ignore[union-attr]
    for action in subparser._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, action.dest
    for fact in ("save_to_disk", ".parquet", ".jsonl", "seq_lengths", "load_from_disk"):
        assert fact in text
