"""The command dispatcher: help is fast (no torch, no Qt), errors are messages, not tracebacks."""

from __future__ import annotations

import subprocess
import sys

from segviewer.cli import main


def test_help_lists_commands_without_heavy_imports():
    code = (
        "import sys\n"
        "from segviewer.cli import build_parser\n"
        "text = build_parser().format_help()\n"
        "heavy = sorted(m for m in ('torch', 'PySide6', 'pyqtgraph', 'albumentations') if m in sys.modules)\n"
        "print(heavy)\n"
        "print(text)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, help_text = out.stdout.split("\n", 1)
    assert first == "[]", f"`segviewer --help` imported {first}"
    for command in ("info", "evaluate", "demo-data"):
        assert command in help_text


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "segviewer", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.startswith("segviewer ")


def test_user_error_is_a_message_not_a_traceback(tmp_path, capsys):
    code = main(["info", str(tmp_path / "does-not-exist")])
    err = capsys.readouterr().err
    assert code == 2
    assert "segviewer: error:" in err and "does-not-exist" in err
    assert "Traceback" not in err


def test_gui_refuses_a_missing_model_file_before_qt_starts(tmp_path, capsys):
    from segviewer.cli import main

    assert main(["gui", str(tmp_path), "--model", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert "nope.pt: model file not found" in err and "Traceback" not in err
