"""Past training runs on disk: where they live and what each one achieved.

A run folder (core/training/run_folder.py, which also reads its files) holds config.json,
metrics.csv, events.jsonl, status.json, last.pt and best.pt. The GUI lists them so a user can reload or resume one; folders a crash or a user left half-written are
listed with a status saying so instead of breaking the list.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from segviewer.core.training.run_folder import RunFolder

_STAMP = re.compile(r"(\d{8}-\d{6})$")


@dataclass(frozen=True)
class RunInfo:
    """One run folder as the runs list shows it.

    `status` is "finished" (all configured epochs done, or early stopping ended it), "incomplete"
    (stopped or interrupted; resumable from last.pt), "failed" (the engine recorded an error, in
    `message`), "no checkpoint" (nothing saved yet) or "broken" (config.json unreadable).
    """

    path: Path
    model: str
    date: datetime | None
    epochs: int
    best_miou: float | None
    status: str
    planned_epochs: int | None = None
    best_epoch: int | None = None
    config: dict = field(default_factory=dict, compare=False, repr=False)
    message: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def best_checkpoint(self) -> Path | None:
        best = self.path / "best.pt"
        return best if best.is_file() else None

    @property
    def last_checkpoint(self) -> Path | None:
        last = self.path / "last.pt"
        return last if last.is_file() else None


def new_run_name(model: str, now: datetime | None = None) -> str:
    """<model>-<YYYYmmdd-HHMMSS>: sorts by date and says what was trained."""
    return f"{model}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def new_run_dir(folder: Path, model: str, now: datetime | None = None) -> Path:
    """A run folder name in `folder` that does not exist yet (suffix -2, -3… on a clash)."""
    base = new_run_name(model, now)
    candidate = Path(folder) / base
    n = 2
    while candidate.exists():
        candidate = Path(folder) / f"{base}-{n}"
        n += 1
    return candidate


def read_run(path: Path) -> RunInfo | None:
    """Describe one folder; None when it does not look like a run at all (no config, no metrics)."""
    folder = RunFolder(path, writes=False)
    path, cfg_file = folder.path, folder.config_path
    if not (cfg_file.exists() or folder.metrics_path.exists() or folder.checkpoint_path("best").exists()):
        return None
    config, broken = folder.read_config()
    rows = folder.read_metrics()
    scored = [(r["val_miou"], int(r["epoch"])) for r in rows if _finite(r.get("val_miou"))]
    best_miou, best_epoch = max(scored, key=lambda t: t[0]) if scored else (None, None)
    epochs = max((int(r["epoch"]) for r in rows), default=0)
    planned = config.get("epochs") if isinstance(config.get("epochs"), int) else None
    model = str(config.get("model") or _model_from_name(path.name) or "?")
    ended, message = folder.read_status()
    if broken:
        status = "broken"
    elif ended == "failed":
        status = "failed"
    elif not folder.has_checkpoint("best"):
        status = "no checkpoint"
    elif _finished(ended, config, epochs, planned, rows):
        status = "finished"
    else:
        status = "incomplete"
    date = _run_date(path, cfg_file)
    return RunInfo(path, model, date, epochs, best_miou, status, planned, best_epoch, config, message)


def list_runs(folder: Path) -> list[RunInfo]:
    """Runs directly inside `folder`, newest first; unreadable entries never raise."""
    try:
        entries = [Path(e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return []
    runs = []
    for entry in entries:
        try:
            info = read_run(entry)
        except OSError:
            continue
        if info is not None:
            runs.append(info)
    oldest = datetime.min
    return sorted(runs, key=lambda r: (r.date or oldest, r.name), reverse=True)


def _finite(value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _finished(ended: str | None, config: dict, epochs: int, planned: int | None, rows: list[dict]) -> bool:
    """All epochs done, or early stopping ended it (no improvement for `patience` epochs)."""
    if ended in ("finished", "early_stopped"):
        return True
    if ended in ("stopped", "running"):  # "running" left behind by a crash: resumable
        return False
    if planned is not None and epochs >= planned:
        return True
    patience = config.get("patience")
    if isinstance(patience, int) and patience > 0 and rows:
        scores = [r.get("val_miou", math.nan) for r in rows]
        best_at = max(range(len(scores)), key=lambda i: scores[i] if math.isfinite(scores[i]) else -1.0)
        return len(scores) - 1 - best_at >= patience
    return False


def _model_from_name(name: str) -> str | None:
    match = _STAMP.search(re.sub(r"-\d{1,3}$", "", name))
    return (name[: match.start()].rstrip("-") or None) if match else None


def _run_date(path: Path, cfg_file: Path) -> datetime | None:
    match = _STAMP.search(re.sub(r"-\d{1,3}$", "", path.name))
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
        except ValueError:
            pass
    for candidate in (cfg_file, path):
        try:
            return datetime.fromtimestamp(candidate.stat().st_mtime)
        except OSError:
            continue
    return None
