"""The progress bar of every long command, on stderr so that stdout (tables, JSON) stays clean.

On a terminal it redraws one line about ten times a second::

    evaluating [##########--------------] 97/233  8.1 img/s  ETA 0:17

Elsewhere (a log file, CI) it prints a plain line at every tenth of the work, so logs stay short.
`ProgressBar` is also the `progress(done, total)` callback that core functions take.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

WIDTH = 24
INTERVAL_S = 0.1


class ProgressBar:
    """Count, rate and ETA of `total` steps named `label`; call it with (done, total), then `close()`."""

    def __init__(
        self, label: str, total: int | None = None, unit: str = "img", stream: TextIO | None = None
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _is_terminal(self.stream)
        self.done = 0
        self.suffix = ""
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._last_tenth = -1
        self._shown = False

    def __call__(self, done: int, total: int | None = None, suffix: str | None = None) -> None:
        """Report that `done` steps of `total` (or of the total given at the start) are finished;
        `suffix` (e.g. "loss 0.4321") is shown after the ETA until it is replaced."""
        self.done = done
        if suffix is not None:
            self.suffix = suffix
        if total is not None:
            self.total = total
        finished = self.total is not None and done >= self.total
        if self.tty:
            now = time.monotonic()
            if finished or now - self._last_draw >= INTERVAL_S:
                self._last_draw = now
                self.stream.write("\r\033[K" + self.line())
                self.stream.flush()
                self._shown = True
            return
        tenth = 10 * done // self.total if self.total else done // 100
        if tenth != self._last_tenth or finished:
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def advance(self, steps: int = 1) -> None:
        self(self.done + steps)

    def line(self) -> str:
        """The text of the bar now: label, bar, count, rate and ETA."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        parts = [self.label]
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            parts.append(f"[{'#' * filled}{'-' * (WIDTH - filled)}] {self.done}/{self.total}")
        else:
            parts.append(str(self.done))
        parts.append(f"{rate:.1f} {self.unit}/s")
        if self.total and self.done < self.total and rate > 0:
            parts.append(f"ETA {format_duration((self.total - self.done) / rate)}")
        elif self.total and self.done >= self.total:
            parts.append(f"in {format_duration(elapsed)}")
        if self.suffix:
            parts.append(self.suffix)
        return "  ".join(parts)

    def note(self, text: str) -> None:
        """Print a line (a warning) without tearing the bar; the bar redraws on the next update."""
        if self._shown:
            self.stream.write("\r\033[K")
            self._shown = False
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_draw = float("-inf")

    def close(self) -> None:
        """End the bar's line on a terminal (the last state stays visible)."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def format_duration(seconds: float) -> str:
    """'0:07', '12:30' or '1:02:03'."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"
