"""ruff (configured in pyproject.toml) is clean on the whole tree: lint and format."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _ruff() -> list[str]:
    beside = Path(sys.executable).parent / "ruff"  # the environment's own ruff, not another on PATH
    exe = str(beside) if beside.is_file() else shutil.which("ruff")
    if exe is None:
        try:
            import ruff  # noqa: F401
        except ImportError:
            pytest.skip("ruff is not installed (pip install -e '.[dev]')")
        return [sys.executable, "-m", "ruff"]
    return [exe]


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_clean(args):
    out = subprocess.run([*_ruff(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
