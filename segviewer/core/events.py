"""Events yielded by `training.train`: small plain dataclasses, and their JSON-lines form.

They hold only strings, numbers, lists and dicts (never tensors, paths or models), so they cross
processes and machines as text. `segviewer train --events jsonl` writes one JSON object per line
(`to_json_line`), and a run folder keeps the same stream as `events.jsonl`; `from_dict` reads it back.

The format, version 1: every line is an object with `"v": 1`, `"type"` (one of `TYPES`: "started",
"batch", "epoch", "checkpoint_saved", "early_stopped", "warning", "finished", "failed") and the fields
of that event's dataclass below. Non-finite numbers are written as null. Readers ignore unknown types
and unknown fields, so a newer writer stays readable; a higher major `v` is refused. `EventFollower`
tails a run folder's events.jsonl while the run writes it.
"""

from __future__ import annotations

import json
import math
import os
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class Started:
    run_dir: str
    config: dict
    device: str  # e.g. "cpu" or "cuda:0 (NVIDIA H100, bf16 autocast)"
    num_train: int
    num_val: int
    steps_per_epoch: int
    parameters: int
    start_epoch: int = 1  # > 1 when resuming


@dataclass
class Batch:
    epoch: int
    step: int  # 1-based
    steps: int
    loss: float
    images_per_s: float


@dataclass
class Epoch:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_miou: float
    val_pixel_accuracy: float
    per_class_iou: list[float | None]  # None where a class is absent from both ground truth and prediction
    class_names: list[str]
    seconds: float
    is_best: bool


@dataclass
class CheckpointSaved:
    path: str
    epoch: int
    val_miou: float | None
    best: bool


@dataclass
class EarlyStopped:
    epoch: int
    best_epoch: int
    best_miou: float


@dataclass
class Warning:  # noqa: A001 - the name the GUI and CLI match on; it never raises
    message: str


@dataclass
class Finished:
    run_dir: str
    best_checkpoint: str | None
    best_miou: float | None
    best_epoch: int | None
    epochs_run: int
    stopped_by_user: bool = False


@dataclass
class Failed:
    message: str
    details: list[str] = field(default_factory=list)  # e.g. the path of a saved traceback


TrainWarning = Warning  # alias for code that must not shadow the builtin

Event = Started | Batch | Epoch | CheckpointSaved | EarlyStopped | Warning | Finished | Failed

EVENTS_VERSION = 1
TYPES: dict[str, type] = {
    "started": Started,
    "batch": Batch,
    "epoch": Epoch,
    "checkpoint_saved": CheckpointSaved,
    "early_stopped": EarlyStopped,
    "warning": Warning,
    "finished": Finished,
    "failed": Failed,
}
_TYPE_NAMES = {cls: name for name, cls in TYPES.items()}


class EventFormatError(ValueError):
    """A line that is not a segviewer event (or one of a newer, incompatible version)."""


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def to_dict(event: Event) -> dict:
    return {"v": EVENTS_VERSION, "type": _TYPE_NAMES[type(event)], **_finite(asdict(event))}


def to_json_line(event: Event) -> str:
    """One line of the `--events jsonl` stream (no newline at the end)."""
    return json.dumps(to_dict(event), separators=(",", ":"), allow_nan=False)


def from_dict(data: dict) -> Event | None:
    """The event a stream line describes; None for a type this version does not know."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise EventFormatError('not a segviewer event: no "type"')
    version = data.get("v", 1)
    if not isinstance(version, int) or version > EVENTS_VERSION:
        raise EventFormatError(
            f"event stream version {version!r}; this segviewer reads version {EVENTS_VERSION}"
        )
    cls = TYPES.get(data["type"])
    if cls is None:
        return None
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if value is None and hints.get(f.name) is float:
            value = math.nan  # written as null because JSON has no NaN
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise EventFormatError(f"{data['type']} event with missing fields: {exc}") from None


def from_json_line(line: str) -> Event | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventFormatError(f"not JSON: {exc}") from None
    return from_dict(data)


class EventFollower:
    """Tails a growing events.jsonl (a run folder's stream) for a viewer that polls it, e.g. at 10 Hz.

    `poll()` returns the events completed since the last poll. A partly written last line is kept for
    the next poll; a file that was replaced (another inode) or shrank is read again from its start,
    with `restarted` set for that poll so a viewer can clear what it showed (also set when the file
    disappears). A missing file is no error (the run has not written it yet). Lines that are not events are skipped and counted in
    `bad_lines`; unknown event types are skipped silently (a newer writer).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.restarted = False
        self.bad_lines = 0
        self._offset = 0
        self._inode: int | None = None
        self._partial = b""

    def poll(self) -> list[Event]:
        """New complete events (possibly none); never raises for a missing or changing file."""
        self.restarted = False
        try:
            with self.path.open("rb") as fh:
                st = os.fstat(fh.fileno())
                if self._inode is not None and (st.st_ino != self._inode or st.st_size < self._offset):
                    self._start_over()
                self._inode = st.st_ino
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:  # not there (yet, or any more): the next file that appears is read afresh
            if self._inode is not None:
                self._start_over()
                self._inode = None
            return []
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        events = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                event = from_json_line(raw.decode("utf-8"))
            except (UnicodeDecodeError, EventFormatError):
                self.bad_lines += 1
                continue
            if event is not None:
                events.append(event)
        return events

    def _start_over(self) -> None:
        self._offset, self._partial, self.restarted = 0, b"", True
