"""Regenerate ``seqpacker/data/demo_lengths.txt``: token counts of real texts, offline.

The texts: every ``.py`` file of the running interpreter's standard library (``Lib/``), in
sorted path order, leaving out test suites (any folder named ``test``, ``tests`` or
``idle_test``), ``site-packages`` and files with no tokens. Each file is one document.

The tokenizer: the regular expression ``\\w+|[^\\w\\s]`` (Unicode-aware) over the file's text;
one token per run of word characters and one per other non-space character. It is simple,
deterministic and needs nothing but Python (it is not a model's BPE tokenizer).

Long documents are split the way pretraining pipelines split them: a file of more than
``--max-tokens`` tokens (default 8192, the demo's capacity) becomes consecutive chunks of
``--max-tokens`` tokens and a shorter remainder. Only the lengths are written.

The counts depend on the exact Python version (the header records it); the shipped file was
made with the interpreter named in its header:

    python scripts/make_demo_lengths.py            # rewrite the shipped file
    python scripts/make_demo_lengths.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import sysconfig
from pathlib import Path

TOKEN = re.compile(r"\w+|[^\w\s]")
SKIPPED_FOLDERS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1]
    / "packages/seqpacker-core/src/seqpacker/data/demo_lengths.txt"
)


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def stdlib_documents(stdlib: Path) -> list[Path]:
    return [
        path
        for path in sorted(stdlib.rglob("*.py"))
        if SKIPPED_FOLDERS.isdisjoint(path.relative_to(stdlib).parts)
    ]


def chunked(length: int, max_tokens: int) -> list[int]:
    """``length`` as full chunks of ``max_tokens`` and the remainder (if any)."""
    full, rest = divmod(length, max_tokens)
    return [max_tokens] * full + ([rest] if rest else [])


def render(max_tokens: int) -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    documents = 0
    lengths: list[int] = []
    for path in stdlib_documents(stdlib):
        tokens = count_tokens(path.read_text(encoding="utf-8", errors="replace"))
        if tokens:
            documents += 1
            lengths.extend(chunked(tokens, max_tokens))
    header = [
        "seqpacker demo lengths: token counts of real texts (one length per line).",
        f"Texts: the {documents} non-empty .py files of the CPython "
        f"{platform.python_version()} standard library, sorted by path, without test suites",
        "(folders test, tests, idle_test) and site-packages; one file is one document.",
        r"Tokenizer: regex \w+|[^\w\s] (one token per word run or other non-space character).",
        f"Documents longer than {max_tokens} tokens are split into {max_tokens}-token chunks "
        "and a remainder.",
        "Made by scripts/make_demo_lengths.py in the seqpacker repository; do not edit by hand.",
    ]
    lines = [f"# {line}" for line in header] + [str(length) for length in lengths]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--max-tokens", type=int, default=8192)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = parser.parse_args(argv)
    text = render(args.max_tokens)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date for Python {platform.python_version()}")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
