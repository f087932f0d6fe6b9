"""A run folder and the one reader and writer of each of its files.

config.json (the TrainConfig, plus scheme_name, world_size and global_batch_size), metrics.csv (one
row per epoch), events.jsonl (every event, the `--events jsonl` stream, appended), status.json (how
the run ended: running / finished / early_stopped / stopped / failed), last.pt and best.pt, and
error.log after an unexpected error. Everything except events.jsonl is written atomically, so a
crash, a stop or a full disk never leaves half a file. In a distributed run only rank 0 writes: the
other ranks hold a `RunFolder(path, writes=False)`, whose writing methods do nothing.

Torch-free at import (checkpoints import torch when they are saved or loaded), so the runs list can
read folders cheaply.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError

METRICS_HEADER = ["epoch", "train_loss", "val_loss", "val_miou", "val_pixel_accuracy", "seconds", "lr"]
CHECKPOINTS = ("last", "best")


class RunFolderError(UserError):
    """A run folder that cannot be created, written or continued."""


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a metrics.csv: `epoch` an int, every other cell a float, NaN where empty or unreadable.

    A row without a readable epoch (a half-written line of a foreign tool) is left out; an unreadable
    file gives no rows. This is the one reader: the trainer resumes from it and the runs list and the
    charts show it.
    """
    try:
        with Path(path).open(newline="", encoding="utf-8") as fh:
            raw = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    rows = []
    for row in raw:
        try:
            epoch = int(float(row.get("epoch") or ""))
        except (TypeError, ValueError):
            continue
        parsed: dict = {"epoch": epoch}
        for key, value in row.items():
            if key and key != "epoch":
                try:
                    parsed[key] = float(value) if value not in (None, "") else math.nan
                except (TypeError, ValueError):
                    parsed[key] = math.nan
        rows.append(parsed)
    return rows


class RunFolder:
    """One run's folder: where each file is, and reading and writing it."""

    def __init__(self, path: str | Path, writes: bool = True) -> None:
        self.path = Path(path)
        self.writes = writes

    @classmethod
    def create(cls, out: str | Path | None, model: str, resume: bool, writes: bool = True) -> RunFolder:
        """The folder of a new run (default runs/<model>-<date-time>), or the run `--resume` continues.

        Never another run's folder unless resuming it. Only a writing folder is created on disk.
        """
        from segviewer.core.runs import new_run_dir

        folder = cls(Path(out).expanduser() if out else new_run_dir(Path("runs"), model), writes)
        if resume:
            if not folder.checkpoint_path("last").is_file():
                raise RunFolderError(
                    f"{folder.path}: no last.pt to resume from; start without --resume, or give the "
                    "run's folder as --out"
                )
        elif any(folder.checkpoint_path(which).exists() for which in CHECKPOINTS):
            raise RunFolderError(
                f"{folder.path}: already holds a run; pass --resume to continue it or choose another --out"
            )
        if writes:
            try:
                folder.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RunFolderError(
                    f"{folder.path}: cannot create the run folder ({exc.strerror}); choose another --out"
                ) from None
        return folder

    # --- where things are ---------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    def checkpoint_path(self, which: str) -> Path:
        """last.pt (resumable: optimiser and training state) or best.pt (the weights to use)."""
        return self.path / f"{which}.pt"

    def has_checkpoint(self, which: str) -> bool:
        return self.checkpoint_path(which).is_file()

    # --- config.json, metrics.csv, status.json ------------------------------------------------------
    def write_config(self, config: dict) -> None:
        self._write_json(self.config_path, config)

    def read_config(self) -> tuple[dict, bool]:
        """(config, broken): ({}, False) when there is none, ({}, True) when it cannot be read."""
        if not self.config_path.exists():
            return {}, False
        data = _read_json(self.config_path)
        return (data, False) if isinstance(data, dict) else ({}, True)

    def write_metrics(self, rows: list[dict]) -> None:
        """Rewrite the whole file (a few hundred bytes per epoch): never a half line after a crash."""
        if not self.writes:
            return
        lines = [",".join(METRICS_HEADER)]
        lines += [",".join(_cell(row.get(k)) for k in METRICS_HEADER) for row in rows]
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        self._atomic(self.metrics_path, lambda f: f.write(payload))

    def read_metrics(self) -> list[dict]:
        return read_metrics(self.metrics_path)

    def write_status(self, status: str, message: str = "") -> None:
        """Best effort: a full disk is reported by the Failed event that follows, not here."""
        if not self.writes or not self.path.is_dir():
            return
        try:
            self._write_json(self.status_path, {"status": status, "message": message})
        except UserError:
            pass

    def read_status(self) -> tuple[str | None, str]:
        """(status, message) as the trainer wrote them; (None, "") when there is no readable status."""
        data = _read_json(self.status_path)
        if not isinstance(data, dict):
            return None, ""
        return (str(data["status"]) if data.get("status") else None), str(data.get("message") or "")

    # --- events.jsonl and error.log -----------------------------------------------------------------
    def append_events(self, events: Iterable) -> None:
        """Append events as lines of the `--events jsonl` stream, flushed, for followers to tail."""
        from segviewer.core.events import to_json_line

        if not self.writes:
            return
        lines = "".join(to_json_line(e) + "\n" for e in events)
        try:
            with self.events_path.open("a", encoding="utf-8") as fh:
                fh.write(lines)
        except OSError:
            pass  # a full disk: the checkpoints report it; the live stream still reaches the caller

    def write_error_log(self, text: str) -> Path | None:
        """Keep a traceback for a bug report; the path, or None when it could not be written."""
        if not self.writes:
            return None
        path = self.path / "error.log"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError:
            return None
        return path

    # --- checkpoints --------------------------------------------------------------------------------
    def save_checkpoint(self, which: str, checkpoint: dict) -> Path:
        """Atomically; the previous file survives any failure, a full disk included."""
        from segviewer.core.checkpoint import save_checkpoint

        path = self.checkpoint_path(which)
        if self.writes:
            save_checkpoint(path, checkpoint)
        return path

    def load_checkpoint(self, which: str) -> dict:
        from segviewer.core.checkpoint import load_checkpoint

        return load_checkpoint(self.checkpoint_path(which))

    # --- helpers ------------------------------------------------------------------------------------
    def _write_json(self, path: Path, data: dict) -> None:
        if not self.writes:
            return
        payload = json.dumps(data, indent=2, default=str).encode("utf-8")
        self._atomic(path, lambda f: f.write(payload))

    @staticmethod
    def _atomic(path: Path, write) -> None:
        atomic_write(
            path, write, error=RunFolderError, fix="free some disk space or choose another --out folder"
        )


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return "nan" if math.isnan(value) else f"{value:.6g}"
