"""Guard against a PySide6 bug that would crash the app after a few thousand Qt calls.

PySide6 6.12.0 wheels, run on Python 3.11, give back `None` (every void method) and `True`/`False`
(e.g. `Signal.emit`) without counting a reference to them; Python 3.12+ made these objects immortal, so
there it is harmless. On 3.11 each call lowers a reference count by one until Python aborts with
"none_dealloc: deallocating None" or "bool_dealloc" — after about a thousand signal emits or a few
thousand `widget.update()` calls. PySide6 6.11.2 is not affected.

`protect_singletons()` probes for the bug and, only when it is there, gives None, True and False
reference counts so large that they can never reach zero — what Python 3.12 does for every
interpreter. Pinning a PySide6 without the bug is the real fix; this keeps an installation that got
the bad version from crashing.
"""

from __future__ import annotations

import sys

HEADROOM = 1 << 48  # ~2.8e14 calls
PROBE_CALLS = 64


def leaking_singletons() -> list[object]:
    """The singletons whose reference count PySide6 calls lower (empty on Python 3.12+ and good builds)."""
    if sys.version_info >= (3, 12):
        return []  # immortal there
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    leaks = []
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    if sys.getrefcount(None) < before - PROBE_CALLS // 2:
        leaks.append(None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(PROBE_CALLS):
        probe.fired.emit()
    after = sys.getrefcount(True), sys.getrefcount(False)
    if after[0] < before[0] - PROBE_CALLS // 2 or after[1] < before[1] - PROBE_CALLS // 2:
        leaks += [True, False]
    return leaks


def protect_singletons() -> bool:
    """Apply the guard if needed; True when it was applied."""
    if not leaking_singletons():
        return False
    import ctypes

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM  # ob_refcnt is the first field
    return True
