"""SEQPACKER_BACKEND picks the kernels at import; asking for a missing extension is an error."""

from __future__ import annotations

import os
import subprocess
import sys

BLOCK_EXTENSION = "import sys; sys.modules['seqpacker._cython'] = None; "


def run_python(code: str, backend: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEQPACKER_BACKEND=backend)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_environment_variable_selects_the_backend(backend: str) -> None:
    done = run_python("import seqpacker; print(seqpacker.BACKEND)", backend)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == backend


def test_auto_falls_back_to_python_without_the_extension() -> None:
    done = run_python(BLOCK_EXTENSION + "import seqpacker; print(seqpacker.BACKEND)", "auto")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "python"


def test_asking_for_cython_without_the_extension_raises_import_error() -> None:
    done = run_python(BLOCK_EXTENSION + "import seqpacker", "cython")
    assert done.returncode != 0
    assert "ImportError: the seqpacker Cython extension is not built" in done.stderr


def test_unknown_backend_name_is_rejected() -> None:
    done = run_python("import seqpacker", "rust")
    assert done.returncode != 0
    assert "unknown backend 'rust'; choose one of: auto, cython, python" in done.stderr
