"""Thousands of Qt calls must not crash the app.

PySide6 6.12 on Python 3.11 loses a reference to None on every void call and to True on every signal
emit; segviewer.gui guards against it (segviewer/gui/pyside_guard.py).
"""

from __future__ import annotations

import subprocess
import sys


def test_many_qt_calls_and_signal_emits_do_not_crash():
    code = (
        "import sys\n"
        "import segviewer.gui\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class Probe(QObject):\n"
        "    fired = Signal(int)\n"
        "o = Probe()\n"
        "o.fired.connect(lambda value: None)\n"
        "for i in range(20000):\n"
        "    o.setObjectName('x')\n"
        "    o.fired.emit(i)\n"
        "import gc; gc.collect()\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok"]
