"""segviewer/core must never import Qt: import every core module in a fresh interpreter and look."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import segviewer.core

FORBIDDEN = ("PySide6", "pyqtgraph", "qasync", "PyQt5", "PyQt6", "shiboken6")


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(segviewer.core.__path__, "segviewer.core."))


def test_core_has_modules():
    names = core_modules()
    assert "segviewer.core.labels" in names and "segviewer.core.datasets" in names


def test_core_imports_no_qt():
    code = (
        "import importlib, json, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"core modules pulled in Qt: {loaded}"
