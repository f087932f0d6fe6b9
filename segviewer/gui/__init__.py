"""The desktop application: a thin Qt layer over segviewer.core.

pyqtgraph and qasync pick their Qt binding from environment variables at import time, so they are set
here, before any GUI module can import them.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from segviewer.gui.pyside_guard import protect_singletons  # noqa: E402

PYSIDE_GUARD_APPLIED = protect_singletons()
