"""The ``seqpacker`` command: pack, compare strategies, and a demo on real document lengths.

Built on the public API only (``Packer``, ``PackResult``). Input errors are reported as one
line naming the file and the line, row or index that is wrong, with exit status 1; usage
errors (argparse) exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from . import __version__, _backend
from ._packer import Packer
from ._result import PackResult

PROG = "seqpacker"
DEMO_DATA = "demo_lengths.txt"
DEMO_CAPACITY = 8192
LENGTH_COLUMNS = ("lengths", "input_ids")  # looked for in this order when --column is not given
OUTPUT_FORMATS = (".jsonl", ".npz")
INT64_MAX = 2**63 - 1

T = TypeVar("T")


class CliError(Exception):
    """A problem with the user's input or options: printed as one line, exit status 1."""


# ---------------------------------------------------------------------------------------------
# Progress: tqdm when installed, else a self-erasing line on an interactive stderr.


def progress(items: Iterable[T], total: int, description: str, enabled: bool) -> Iterator[T]:
    """Yield ``items`` while showing progress on stderr, only when stderr is a terminal.

    Logs and pipes stay clean: nothing is written when stderr is redirected.
    """
    if not (enabled and sys.stderr.isatty()):
        yield from items
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        yield from tqdm(items, total=total, desc=description, file=sys.stderr, leave=False)
        return
    step = max(1, total // 100)
    for done, item in enumerate(items):
        if done % step == 0:
            print(f"\r{description}: {done}/{total}", end="", file=sys.stderr, flush=True)
        yield item
    blank = " " * (len(description) + 2 * len(str(total)) + 3)
    print(f"\r{blank}\r", end="", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Reading lengths. Every reader keeps, for each length, where it came from in the file, so that
# an error can name the line (text, jsonl), the row (parquet) or the index (npy).


@dataclass
class Lengths:
    values: np.ndarray  # int64, one per sequence
    source: str  # the file name as the user gave it
    unit: str  # "line", "row" or "index"
    positions: np.ndarray | None = None  # the line/row of each value; None: its index

    def where(self, index: int) -> str:
        position = index if self.positions is None else int(self.positions[index])
        return f"{self.source} {self.unit} {position}"


def read_lengths(path: str, column: str | None) -> Lengths:
    """The lengths in ``path`` ('-' is stdin), chosen by its suffix; see ``seqpacker pack -h``."""
    if path == "-":
        return parse_text(getattr(sys.stdin, "buffer", sys.stdin), "<stdin>")
    file = Path(path)
    if not file.exists():
        raise CliError(f"{path}: no such file")
    if not file.is_file():
        raise CliError(f"{path}: not a file")
    suffix = file.suffix.lower()
    if suffix == ".npy":
        return read_npy(file, path)
    if suffix == ".parquet":
        return read_parquet(file, path, column)
    if suffix in {".jsonl", ".ndjson"}:
        with open_text(file, path) as stream:
            return parse_jsonl(stream, path, column)
    with open_text(file, path) as stream:
        return parse_text(stream, path)


def open_text(file: Path, name: str) -> IO[bytes]:
    """The file in binary: lines are decoded one by one so a bad byte names its line."""
    try:
        return file.open("rb")
    except OSError as error:
        raise CliError(f"{name}: cannot open ({error.strerror})") from None


def _text_lines(stream: Iterable[str | bytes], name: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of every line; a non-UTF-8 line is an error."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise CliError(f"{name} line {number}: not UTF-8 text") from None
        yield number, text.strip()


def parse_text(stream: Iterable[str | bytes], name: str) -> Lengths:
    """One integer per line; blank lines and lines starting with '#' are skipped."""
    values: list[int] = []
    lines: list[int] = []
    for number, text in _text_lines(stream, name):
        if not text or text.startswith("#"):
            continue
        try:
            value = int(text)
        except ValueError:
            raise CliError(
                f"{name} line {number}: expected one integer length per line, got {text[:40]!r}"
            ) from None
        if abs(value) > INT64_MAX:
            raise CliError(f"{name} line {number}: {value} is beyond the int64 range")
        values.append(value)
        lines.append(number)
    return Lengths(np.array(values, dtype=np.int64), name, "line", np.array(lines, np.int64))


def parse_jsonl(stream: Iterable[str | bytes], name: str, column: str | None) -> Lengths:
    """One JSON object per line; the length is the int in ``column`` or the size of its list."""
    values: list[int] = []
    lines: list[int] = []
    for number, text in _text_lines(stream, name):
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise CliError(f"{name} line {number}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise CliError(f"{name} line {number}: expected a JSON object, got {text[:40]!r}")
        if column is None:
            column = _choose_column(list(record), f"{name} line {number}")
        if column not in record:
            raise CliError(f"{name} line {number}: no {column!r} field")
        values.append(_length_of(record[column], column, f"{name} line {number}"))
        lines.append(number)
    return Lengths(np.array(values, dtype=np.int64), name, "line", np.array(lines, np.int64))


def _choose_column(names: Sequence[str], where: str) -> str:
    for candidate in LENGTH_COLUMNS:
        if candidate in names:
            return candidate
    found = ", ".join(map(repr, names)) or "none"
    raise CliError(
        f"{where}: no 'lengths' or 'input_ids' column (found {found}); name one with --column"
    )


def _length_of(value: Any, column: str, where: str) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > INT64_MAX:
            raise CliError(f"{where}: {column} {value} is beyond the int64 range")
        return value
    shown = json.dumps(value)[:40]
    raise CliError(f"{where}: {column} must be an integer or a list, got {shown}")


def read_npy(file: Path, name: str) -> Lengths:
    try:
        array = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CliError(f"{name}: not a readable .npy file ({error})") from None
    if not isinstance(array, np.ndarray) or array.ndim != 1:
        shape = getattr(array, "shape", "?")
        raise CliError(f"{name}: expected a 1-D array of lengths, got shape {shape}")
    if array.dtype.kind not in "iu":
        raise CliError(f"{name}: expected integer lengths, got dtype {array.dtype}")
    if array.dtype.kind == "u" and array.size and array.max() > INT64_MAX:
        index = int(np.argmax(array > INT64_MAX))
        raise CliError(f"{name} index {index}: {array[index]} is beyond the int64 range")
    return Lengths(array.astype(np.int64), name, "index")


def read_parquet(file: Path, name: str, column: str | None) -> Lengths:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise CliError(
            "reading .parquet files needs pyarrow: pip install 'seqpacker-core[parquet]'"
        ) from None
    try:
        names = pq.read_schema(file).names
        chosen = column or _choose_column(names, name)
        if chosen not in names:
            raise CliError(f"{name}: no {chosen!r} column (found {', '.join(map(repr, names))})")
        data = pq.read_table(file, columns=[chosen]).column(chosen)
    except (pa.ArrowException, OSError) as error:
        raise CliError(f"{name}: not a readable parquet file ({error})") from None
    if pa.types.is_list(data.type) or pa.types.is_large_list(data.type):
        data = pc.list_value_length(data)
    elif not pa.types.is_integer(data.type):
        raise CliError(f"{name}: column {chosen!r} must hold integers or lists, got {data.type}")
    if data.null_count:
        row = int(np.argmax(pc.is_null(data).to_numpy(zero_copy_only=False)))
        raise CliError(f"{name} row {row}: {chosen} is null")
    return Lengths(data.to_numpy().astype(np.int64), name, "row")


def check_lengths(lengths: Lengths, capacity: int) -> None:
    """Fail on the first length the core would refuse, naming its line, row or index.

    The core's own error names an index into the array; a file's user needs the line.
    """
    if lengths.values.size == 0:
        raise CliError(f"{lengths.source}: no lengths found")
    # the core's own check (its backend kernel), so the rule lives in one place
    index = _backend.active.first_invalid_length(
        np.ascontiguousarray(lengths.values, dtype=np.int64), capacity
    )
    if index >= 0:
        value = int(lengths.values[index])
        problem = "must be >= 1" if value <= 0 else f"is larger than the capacity {capacity}"
        raise CliError(f"{lengths.where(index)}: length {value} {problem}")


# ---------------------------------------------------------------------------------------------
# Packing and output.


def make_packer(capacity: int, strategy: str, seed: int | None, k: int | None = None) -> Packer:
    try:
        return Packer(capacity, strategy, seed, k=k)
    except (ValueError, TypeError) as error:
        raise CliError(str(error)) from None


def check_output_path(path: str | None) -> None:
    """Refuse an unknown output format before any packing is done."""
    if path is not None and Path(path).suffix.lower() not in OUTPUT_FORMATS:
        raise CliError(f"{path}: the output must end in {' or '.join(OUTPUT_FORMATS)}")


def write_bins(result: PackResult, path: str, show_progress: bool) -> None:
    """jsonl: one object per bin; npz: items_flat and bin_offsets (``np.split`` gives bins)."""
    file = Path(path)
    try:
        if file.suffix.lower() == ".npz":
            items_flat, bin_offsets = result.pack_flat()
            with file.open("wb") as handle:  # a handle: np.savez would append ".npz" to ".NPZ"
                np.savez(
                    handle,
                    items_flat=items_flat,
                    bin_offsets=bin_offsets,
                    lengths=result.lengths,
                    capacity=np.int64(result.capacity),
                    strategy=np.str_(result.strategy),
                )
            return
        ids = result.items_flat.tolist()
        sizes = result.lengths[result.items_flat].tolist()
        bounds = result.bin_bounds.tolist()
        with file.open("w", encoding="utf-8") as out:
            bins = range(result.num_bins)
            for b in progress(bins, result.num_bins, f"writing {path}", show_progress):
                start, end = bounds[b], bounds[b + 1]
                record = {
                    "bin": b,
                    "sequence_ids": ids[start:end],
                    "lengths": sizes[start:end],
                    "used": sum(sizes[start:end]),
                }
                out.write(json.dumps(record) + "\n")
    except OSError as error:
        raise CliError(f"{path}: cannot write ({error.strerror})") from None


METRIC_ROWS = (
    ("sequences", "num_sequences", "{:,}"),
    ("tokens", "total_tokens", "{:,}"),
    ("packs", "num_packs", "{:,}"),
    ("lower bound (packs)", "lower_bound", "{:,}"),
    ("padding tokens", "padding_tokens", "{:,}"),
    ("efficiency", "efficiency", "{:.2%}"),
    ("padding ratio", "padding_ratio", "{:.2%}"),
    ("utilisation mean", "avg_utilisation", "{:.2%}"),
    ("utilisation std", "utilisation_std", "{:.2%}"),
    ("utilisation min", "min_utilisation", "{:.2%}"),
    ("utilisation max", "max_utilisation", "{:.2%}"),
    ("sequences per pack", "avg_sequences_per_pack", "{:.2f}"),
    ("packing time", "packing_time_ms", "{:.2f} ms"),
    ("throughput", "throughput", "{:,.0f} sequences/s"),
)


def metrics_table(result: PackResult) -> str:
    metrics = result.metrics
    rows = [("strategy", result.strategy), ("capacity", f"{result.capacity:,}")]
    rows += [(label, fmt.format(getattr(metrics, field))) for label, field, fmt in METRIC_ROWS]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def run_pack(args: argparse.Namespace) -> int:
    check_output_path(args.output)
    packer = make_packer(args.capacity, args.strategy, args.seed, args.k)
    lengths = read_lengths(args.lengths, args.column)
    check_lengths(lengths, packer.capacity)
    result = packer.pack(lengths.values)
    if args.output:
        write_bins(result, args.output, args.progress)
    if args.json:
        print(
            json.dumps(
                {"strategy": result.strategy, "capacity": result.capacity, **asdict(result.metrics)}
            )
        )
    else:
        print(metrics_table(result))
        if args.output:
            print(f"bins written to {args.output}")
    return 0


# ---------------------------------------------------------------------------------------------
# Comparing strategies.


def parse_strategy_list(text: str | None) -> list[str]:
    if text is None:
        return [short for short, _ in Packer.strategies()]
    names = [name for name in (part.strip() for part in text.split(",")) if name]
    if not names:
        raise CliError("--strategies is empty")
    return names


def compare(
    lengths: np.ndarray,
    capacity: int,
    strategies: Sequence[str],
    seed: int | None,
    show_progress: bool,
) -> list[PackResult]:
    packers = [make_packer(capacity, name, seed) for name in strategies]
    return [
        packer.pack(lengths) for packer in progress(packers, len(packers), "packing", show_progress)
    ]


def comparison_rows(results: Sequence[PackResult]) -> list[dict[str, Any]]:
    full_names = dict(Packer.strategies())
    rows = []
    for result in results:
        lower_bound = result.metrics.lower_bound
        rows.append(
            {
                "strategy": result.strategy,
                "name": full_names[result.strategy],
                "bins": result.num_bins,
                "lower_bound": lower_bound,
                "gap": result.num_bins - lower_bound,
                "gap_percent": 100.0 * (result.num_bins - lower_bound) / lower_bound,
                "efficiency": result.efficiency,
                "time_ms": result.time_ms,
            }
        )
    return rows


def comparison_table(rows: Sequence[dict[str, Any]]) -> str:
    fewest = min(row["bins"] for row in rows)
    header = ("strategy", "name", "bins", "vs lower bound", "efficiency", "time ms")
    body = [
        (
            row["strategy"] + (" *" if row["bins"] == fewest else ""),
            row["name"],
            f"{row['bins']:,}",
            f"+{row['gap']:,} ({row['gap_percent']:.2f}%)",
            f"{row['efficiency']:.2%}",
            f"{row['time_ms']:.2f}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    left_aligned = {0, 1}

    def render(line: Sequence[str]) -> str:
        cells = [
            cell.ljust(width) if i in left_aligned else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [render(header), rule, *map(render, body)]
    lines.append(f"lower bound: {rows[0]['lower_bound']:,} bins; * fewest bins")
    return "\n".join(lines)


def pyplot_for(path: str) -> Any:
    """matplotlib.pyplot drawing to files, after checking that ``path`` is a PNG."""
    if Path(path).suffix.lower() != ".png":
        raise CliError(f"{path}: the plot must be a .png file")
    try:
        import matplotlib

        matplotlib.use("Agg")  # a file, never a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'seqpacker-core[plot]'") from None
    return plt


def plot_comparison(
    results: Sequence[PackResult], lengths: np.ndarray, path: str, title: str
) -> None:
    """A PNG: the length histogram, then each strategy's distribution of bin fill."""
    plt = pyplot_for(path)
    capacity = results[0].capacity
    columns = 4
    rows = -(-(len(results) + 1) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    panels = list(axes.flat)
    first = panels[0]
    first.hist(lengths, bins=50, color="tab:gray")
    first.set_title(f"sequence lengths (n={len(lengths):,})")
    first.set_xlabel("tokens")
    first.set_ylabel("sequences")
    fill_bins = np.linspace(0.0, 1.0, 21)
    for panel, result in zip(panels[1:], results, strict=False):
        fill = result.bin_loads / capacity
        panel.hist(fill, bins=fill_bins, color="tab:blue")
        panel.set_title(f"{result.strategy}: {result.num_bins:,} bins, {result.efficiency:.1%}")
        panel.set_xlabel("bin fill (used / capacity)")
        panel.set_ylabel("bins")
        panel.set_xlim(0.0, 1.0)
    for panel in panels[len(results) + 1 :]:
        panel.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=110)
    except OSError as error:
        raise CliError(f"{path}: cannot write ({error.strerror})") from None
    finally:
        plt.close(figure)


def show_comparison(lengths: Lengths, capacity: int, args: argparse.Namespace, title: str) -> None:
    strategies = parse_strategy_list(args.strategies)
    if args.plot:
        pyplot_for(args.plot)  # a bad plot path or missing matplotlib fails before packing
    check_lengths(lengths, capacity)
    results = compare(lengths.values, capacity, strategies, args.seed, args.progress)
    rows = comparison_rows(results)
    if args.plot:
        plot_comparison(results, lengths.values, args.plot, title)
    if args.json:
        print(json.dumps(rows))
        return
    print(comparison_table(rows))
    if args.plot:
        print(f"plot written to {args.plot}")


def run_compare(args: argparse.Namespace) -> int:
    lengths = read_lengths(args.lengths, args.column)
    title = f"{lengths.source}, capacity {args.capacity:,}"
    show_comparison(lengths, args.capacity, args, title)
    return 0


def demo_data() -> tuple[Lengths, list[str]]:
    """The embedded real document lengths and the description in the data file's header."""
    text = resources.files("seqpacker").joinpath("data", DEMO_DATA).read_text(encoding="utf-8")
    lines = text.splitlines()
    description = [line[2:] for line in lines if line.startswith("# ")]
    return parse_text(lines, DEMO_DATA), description


def run_demo(args: argparse.Namespace) -> int:
    lengths, description = demo_data()
    if not args.json:
        print("\n".join(description))
        total = int(lengths.values.sum())
        print(f"{lengths.values.size:,} sequences, {total:,} tokens, capacity {args.capacity:,}")
        print()
    show_comparison(lengths, args.capacity, args, f"demo: stdlib files, capacity {args.capacity:,}")
    if not args.json:
        print("\nYour own data: seqpacker compare LENGTHS --capacity N --plot compare.png")
    return 0


# ---------------------------------------------------------------------------------------------
# Command line.

INPUT_HELP = """\
LENGTHS is a file of sequence lengths, read by its suffix:
  .npy              a 1-D integer array
  .jsonl, .ndjson   one JSON object per line, with a 'lengths' integer or an 'input_ids' list
                    (its size is the length); --column picks another field
  .parquet          a 'lengths' integer column or an 'input_ids' list column (needs pyarrow)
  anything else     text, one integer per line; blank lines and '#' comments are skipped
  -                 text from stdin
"""


def strategy_help() -> str:
    names = ", ".join(f"{short} ({full})" for short, full in Packer.strategies())
    text = f"Strategies (short or full name): {names}. docs/algorithms.md has the rules of each."
    return textwrap.fill(text, width=90)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lengths", metavar="LENGTHS", help="file of lengths, or - for stdin")
    parser.add_argument(
        "--capacity", "-c", type=positive_int, required=True, help="tokens per bin (required)"
    )
    parser.add_argument(
        "--column", help="field holding the lengths or token ids in .jsonl/.parquet input"
    )


def add_comparison_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strategies", help="comma-separated strategies to compare (default: all of them)"
    )
    parser.add_argument("--seed", type=int, help="seed for the 'ffs' shuffle (default: 0)")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw the comparison to a PNG")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Pack variable-length sequences into fixed-capacity bins for LLM training.",
        epilog="Run 'seqpacker demo' for a first look, 'seqpacker COMMAND -h' for details.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress display (by default shown on stderr when it is a terminal)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pack = commands.add_parser(
        "pack",
        help="pack lengths with one strategy and print the metrics",
        description="Pack the lengths with one strategy; print the metrics, optionally "
        "write the bins.",
        epilog=INPUT_HELP + "\n" + strategy_help(),
        formatter_class=formatter,
        parents=[common],
    )
    add_input_options(pack)
    pack.add_argument("--strategy", "-s", default="obfd", help="strategy (default: obfd)")
    pack.add_argument("--seed", type=int, help="seed for the 'ffs' shuffle (default: 0)")
    pack.add_argument("--k", type=int, help="open bins for 'hk' (Harmonic-K, default: 10)")
    pack.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the bins: .jsonl (one line per bin: sequence_ids, lengths, used) or .npz "
        "(items_flat and bin_offsets, np.split(items_flat, bin_offsets) gives the bins, "
        "plus lengths, capacity and strategy)",
    )
    pack.add_argument("--json", action="store_true", help="print the metrics as JSON")
    pack.set_defaults(handler=run_pack)

    compare_parser = commands.add_parser(
        "compare",
        help="every strategy side by side on the same lengths",
        description="Pack the lengths with every strategy: bins, the gap to the lower bound "
        "ceil(tokens / capacity), efficiency and time.",
        epilog=INPUT_HELP + "\n" + strategy_help(),
        formatter_class=formatter,
        parents=[common],
    )
    add_input_options(compare_parser)
    add_comparison_options(compare_parser)
    compare_parser.set_defaults(handler=run_compare)

    demo = commands.add_parser(
        "demo",
        help="compare the strategies on embedded real document lengths",
        description="Compare every strategy on the token counts of the CPython standard "
        "library's files, shipped with seqpacker (no download).",
        parents=[common],
    )
    demo.add_argument(
        "--capacity",
        "-c",
        type=positive_int,
        default=DEMO_CAPACITY,
        help=f"tokens per bin (default: {DEMO_CAPACITY}, the longest demo length)",
    )
    add_comparison_options(demo)
    demo.set_defaults(handler=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except CliError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
