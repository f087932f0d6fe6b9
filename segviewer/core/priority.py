"""This process's CPU scheduling priority: training yields the cores to a window beside it.

Torch-free, so the CLI can lower the priority before torch starts its thread pools: on Linux the
nice value and the scheduling policy belong to a thread and are inherited by the threads and
processes it starts afterwards.
"""

from __future__ import annotations

import os
import sys


def lower_priority() -> str:
    """Lower this process's CPU priority so a window beside it stays smooth; says what was done.

    Linux/macOS: nice +10, plus SCHED_BATCH where the kernel has it (no wake-up preemption of
    interactive threads). Windows: BELOW_NORMAL_PRIORITY_CLASS. Best effort: never raises. Child
    processes (data loader workers) inherit it. Training still uses every core; it only yields them.
    """
    done = []
    if sys.platform == "win32":
        try:
            import ctypes

            below_normal = 0x4000
            kernel32 = ctypes.windll.kernel32
            if kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal):
                done.append("below-normal priority class")
        except (AttributeError, OSError):
            pass
        return ", ".join(done) or "unchanged"
    try:
        os.nice(10)
        done.append("nice +10")
    except OSError:
        pass
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
            done.append("SCHED_BATCH")
        except OSError:
            pass
    return ", ".join(done) or "unchanged"
