"""``seqpacker-hf pack-dataset``: pack a tokenized dataset on disk into a packed one.

Exit status: 0 on success, 1 for a bad input (unreadable file, missing column, bad values),
2 for bad command-line usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

EPILOG = """\
INPUT is one of:
  a folder written by datasets' save_to_disk (a Dataset, or a DatasetDict with --split),
  a .parquet file, or a .jsonl / .json file with one tokenized example per line.
The output folder is written with save_to_disk; load it with datasets.load_from_disk(OUTPUT).
Its columns: input_ids, attention_mask, labels, position_ids (capacity slots per row) and
seq_lengths (the sequence lengths of each row, padding tail last), ready for transformers'
Trainer with seqpacker_hf.PackedDataCollator or TRL's SFTTrainer(padding_free=True).

example:
  seqpacker-hf pack-dataset tokenized.parquet packed/ --capacity 2048 --num-proc 4
"""


def build_parser() -> argparse.ArgumentParser:
    from seqpacker import Packer

    strategies = [short for short, _full in Packer.strategies()]
    parser = argparse.ArgumentParser(
        prog="seqpacker-hf",
        description="Hugging Face tools of seqpacker.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pack = commands.add_parser(
        "pack-dataset",
        help="pack a tokenized dataset on disk into fixed-length rows",
        description="Pack the token sequences of a tokenized dataset into rows of CAPACITY "
        "tokens (several sequences per row, kept apart by position_ids and seq_lengths) and "
        "save the packed dataset.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pack.add_argument("input", metavar="INPUT", help="tokenized dataset (see below)")
    pack.add_argument("output", metavar="OUTPUT", help="folder to write the packed dataset to")
    pack.add_argument(
        "--capacity", type=int, required=True, help="tokens per packed row (e.g. 2048)"
    )
    pack.add_argument(
        "--column", default="input_ids", help="column holding the token ids (default: input_ids)"
    )
    pack.add_argument(
        "--num-proc",
        type=int,
        default=None,
        help="pack contiguous shards in this many processes and join them in order "
        "(deterministic; default: one process, one global packing)",
    )
    pack.add_argument(
        "--strategy",
        default="obfd",
        choices=strategies,
        metavar="S",
        help=f"packing strategy, one of {', '.join(strategies)} (default: obfd)",
    )
    pack.add_argument("--seed", type=int, default=None, help="seed for the shuffling strategy ffs")
    pack.add_argument(
        "--overflow",
        default="error",
        choices=["error", "truncate", "split", "drop"],
        help="what to do with a sequence longer than CAPACITY (default: error)",
    )
    pack.add_argument(
        "--padding-value", type=int, default=0, help="input_ids value of padding (default: 0)"
    )
    pack.add_argument(
        "--label-padding-value",
        type=int,
        default=-100,
        help="labels value where no loss is taken (default: -100)",
    )
    pack.add_argument("--split", default=None, help="split to pack when INPUT is a DatasetDict")
    pack.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT if it already exists"
    )
    return parser


READERS = {".parquet": "from_parquet", ".jsonl": "from_json", ".json": "from_json"}


class InputError(Exception):
    """A problem with the user's files or data: reported on one line, exit status 1."""


def load_input(path: Path, split: str | None):  # type: ignore[no-untyped-def]
    import datasets

    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path), keep_in_memory=True)
        elif path.suffix in READERS:
            # Read into memory through a throwaway cache: nothing is left in the user's cache.
            with tempfile.TemporaryDirectory(prefix="seqpacker-hf-") as cache:
                reader = getattr(datasets.Dataset, READERS[path.suffix])
                loaded = reader(str(path), keep_in_memory=True, cache_dir=cache)
        else:
            raise InputError(
                f"{path}: unsupported input; give a save_to_disk folder, a .parquet file or a "
                ".jsonl file"
            )
    except InputError:
        raise
    except Exception as error:  # every reader has its own exceptions: report them all alike
        cause = error.__cause__ or error
        raise InputError(f"{path}: cannot read it: {type(cause).__name__}: {cause}") from error
    if isinstance(loaded, datasets.DatasetDict):
        if split is None:
            raise InputError(
                f"{path} holds several splits ({', '.join(loaded)}); choose one with --split"
            )
        if split not in loaded:
            raise InputError(f"{path} has no split {split!r}; its splits: {', '.join(loaded)}")
        loaded = loaded[split]
    return loaded


def pack_command(args: argparse.Namespace) -> int:
    import warnings

    from seqpacker_hf import pack_dataset

    output = Path(args.output)
    if args.capacity <= 0:
        raise InputError(f"--capacity must be positive, got {args.capacity}")
    if args.num_proc is not None and args.num_proc < 1:
        raise InputError(f"--num-proc must be at least 1, got {args.num_proc}")
    if output.exists() and any(output.iterdir()) and not args.overwrite:
        raise InputError(f"{output} exists and is not empty; pass --overwrite to replace it")
    source = load_input(Path(args.input), args.split)
    if args.column not in source.column_names:
        raise InputError(
            f"{args.input} has no column {args.column!r}; its columns: "
            f"{', '.join(source.column_names)} (choose one with --column)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            packed = pack_dataset(
                source.select_columns([args.column]),
                args.capacity,
                strategy=args.strategy,
                seed=args.seed,
                padding_value=args.padding_value,
                label_padding_value=args.label_padding_value,
                overflow=args.overflow,
                column=args.column,
                num_proc=args.num_proc,
            )
        except (ValueError, TypeError) as error:
            raise InputError(f"{args.input}: {error}") from error
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    packed.save_to_disk(str(output))
    slots = len(packed) * args.capacity
    used = int(_sum_int_column(packed, "attention_mask"))
    fill = used / slots if slots else 0.0
    print(
        f"packed {len(source)} sequences ({used} tokens) into {len(packed)} rows of "
        f"{args.capacity} tokens ({fill:.2%} filled) -> {output}"
    )
    return 0


def _sum_int_column(dataset, column: str) -> int:  # type: ignore[no-untyped-def]
    import pyarrow.compute as pc

    flat = pc.list_flatten(dataset.data.column(column))
    total = pc.sum(flat).as_py()
    return int(total or 0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return pack_command(args)
    except InputError as error:
        print(f"seqpacker-hf {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
