"""Events yielded by `training.train`: small plain dataclasses, cheap to pickle across processes.

The GUI may run training in a spawned process and forward these through a queue, so they hold only
strings, numbers, lists and dicts (never tensors, paths or models).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
