"""The project's only task runner.

    nox                      # the default sessions: what CI runs
    nox -s tests-3.12        # core conformance tests (both backends) on one Python
    nox -s tests_pure        # pure-Python build, [cython] leg deselected
    nox -s bench             # benchmarks (not part of the default run)
    nox -s demo              # install seqpacker-core and pack the embedded demo set

Arguments after ``--`` go to pytest (or to the benchmark script).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CORE = "packages/seqpacker-core"
TORCH = "packages/seqpacker-torch"
HF = "packages/seqpacker-hf"
CONSTRAINTS = "tests/constraints.txt"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
INTEGRATION_PYTHON = "3.11"  # the CPU torch build on these machines is for 3.11
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100"]

nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "tests_pure",
    "torch",
    "hf",
    "examples",
    "cli",
    "docs",
]
nox.options.error_on_missing_interpreters = True
nox.needs_version = ">=2024.3.2"


def _add_pyenv_interpreters() -> None:
    """Make pyenv's 3.10-3.13 visible to nox even where the shims do not expose them."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    versions = sorted((root / "versions").glob("3.1[0-3]*/bin")) if root.exists() else []
    extra = [str(path) for path in versions]
    if extra:
        os.environ["PATH"] = os.pathsep.join([*extra, os.environ.get("PATH", "")])


_add_pyenv_interpreters()


def _core_source_digest() -> str:
    """A hash of everything that goes into the core's build, to key the wheel cache."""
    digest = hashlib.sha256()
    core = ROOT / CORE
    for path in sorted(core.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".pyx", ".pxd", ".pyi", ".h", ".toml", ".txt"}:
            if "build" in path.relative_to(core).parts or path.name.endswith(".egg-info"):
                continue
            digest.update(str(path.relative_to(core)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def install_core(session: nox.Session, *, extension: bool = True) -> None:
    """Install seqpacker-core, with the Cython extension required or disabled.

    The wheel is built once per interpreter version and source state and reused by every
    later session (compiling the extension is the slowest step of a session).
    """
    env = {"SEQPACKER_REQUIRE_EXTENSIONS": "1"} if extension else {"SEQPACKER_NO_EXTENSIONS": "1"}
    session.install("--no-build-isolation", "setuptools>=68", "wheel", "Cython>=3.0.10", "numpy")
    version = session.run(
        "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])", silent=True
    )
    flavour = "ext" if extension else "pure"
    cache = ROOT / ".nox" / "_wheels" / f"{str(version).strip()}-{flavour}-{_core_source_digest()}"
    wheels = sorted(cache.glob("seqpacker_core-*.whl"))
    if not wheels:
        session.run(
            "python", "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
            "--wheel-dir", str(cache), CORE, env=env,
        )  # fmt: skip
        wheels = sorted(cache.glob("seqpacker_core-*.whl"))
    session.install("--force-reinstall", "--no-deps", str(wheels[-1]))
    expected = "cython" if extension else "python"
    session.run(
        "python",
        "-c",
        f"import seqpacker; assert seqpacker.BACKEND == {expected!r}, seqpacker.BACKEND; "
        "print('seqpacker', seqpacker.__version__, 'backend', seqpacker.BACKEND)",
        env={"SEQPACKER_BACKEND": "auto"},
    )


def pytest_args(session: nox.Session, *default: str) -> list[str]:
    return list(session.posargs) or list(default)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Core conformance tests, every test on both backends ([cython] and [python])."""
    install_core(session, extension=True)
    session.install(*TEST_DEPS)
    session.run("pytest", *pytest_args(session, "tests/conformance"))


@nox.session(python=INTEGRATION_PYTHON)
def tests_pure(session: nox.Session) -> None:
    """The pure-Python build (no compiler needed): [cython] deselected explicitly."""
    install_core(session, extension=False)
    session.install(*TEST_DEPS)
    session.run("pytest", "--no-cython", *pytest_args(session, "tests/conformance"))


@nox.session(python=INTEGRATION_PYTHON)
@nox.parametrize("backend", ["cython", "python"])
def torch(session: nox.Session, backend: str) -> None:
    """seqpacker-torch and training-correctness tests on one core backend."""
    install_core(session, extension=True)
    session.install("-c", CONSTRAINTS, *TEST_DEPS, "torch", "transformers")
    session.install("-c", CONSTRAINTS, "--no-deps", TORCH)
    session.run("pytest", *pytest_args(session, "tests/torch"), env={"SEQPACKER_BACKEND": backend})


@nox.session(python=INTEGRATION_PYTHON)
@nox.parametrize("backend", ["cython", "python"])
def hf(session: nox.Session, backend: str) -> None:
    """seqpacker-hf: datasets, Trainer and SFTTrainer end to end, on one core backend."""
    install_core(session, extension=True)
    session.install("-c", CONSTRAINTS, *TEST_DEPS, "torch", "transformers", "datasets", "trl")
    session.install("-c", CONSTRAINTS, "--no-deps", TORCH, HF)
    session.run("pytest", *pytest_args(session, "tests/hf"), env={"SEQPACKER_BACKEND": backend})


@nox.session(python=INTEGRATION_PYTHON)
def examples(session: nox.Session) -> None:
    """Every script in examples/ with its tiny CPU defaults."""
    install_core(session, extension=True)
    session.install("-c", CONSTRAINTS, "torch", "transformers", "datasets", "trl")
    session.install("-c", CONSTRAINTS, "--no-deps", TORCH, HF)
    for script in sorted((ROOT / "examples").glob("*.py")):
        session.run("python", str(script.relative_to(ROOT)))


@nox.session(python=INTEGRATION_PYTHON)
def cli(session: nox.Session) -> None:
    """The command-line tools and every error path."""
    install_core(session, extension=True)
    session.install("-c", CONSTRAINTS, *TEST_DEPS, "pyarrow", "matplotlib", "datasets")
    session.install("-c", CONSTRAINTS, "--no-deps", HF)
    session.run("pytest", *pytest_args(session, "tests/cli"))


@nox.session(python=INTEGRATION_PYTHON, reuse_venv=True)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=INTEGRATION_PYTHON, reuse_venv=True)
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=1.10", "numpy")
    session.run("mypy")


@nox.session(python=INTEGRATION_PYTHON, reuse_venv=True)
def docs(session: nox.Session) -> None:
    """Build the docs strictly (broken links fail)."""
    session.install("mkdocs>=1.6")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "build" / "site"))


@nox.session(python=INTEGRATION_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (both backends, ratios in one run); not part of the default run.

    Without arguments: strategies, tensor building and dataset building. Arguments go to
    benchmarks/bench_strategies.py alone.
    """
    install_core(session, extension=True)
    session.install("-c", CONSTRAINTS, "torch", "datasets", "trl")
    session.install("-c", CONSTRAINTS, "--no-deps", TORCH, HF)
    session.run("python", "benchmarks/bench_strategies.py", *session.posargs)
    if not session.posargs:
        session.run("python", "benchmarks/bench_tensors.py")
        session.run("python", "benchmarks/bench_hf.py", "--skip-large")


@nox.session(python=INTEGRATION_PYTHON)
def demo(session: nox.Session) -> None:
    """Set up seqpacker-core and pack the embedded real document lengths."""
    install_core(session, extension=True)
    session.run("seqpacker", "demo")
