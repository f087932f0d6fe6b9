"""Training: `TrainConfig` and `train(cfg)`, a generator of events (see events.py).

Each `yield` is a progress report and a cancel point; `should_stop()` is checked after every batch.
Checkpoints are written inside the loop (never in a `finally` an abort may skip), atomically, so a
crash, a stop or a full disk never leaves a broken `last.pt`/`best.pt`. The generator never raises
into its caller: problems end the run with a `Failed` event whose message says what to change.

Run folder: config.json, metrics.csv (one row per epoch), last.pt, best.pt, status.json (how the run
ended: running / finished / early_stopped / stopped / failed), error.log after an unexpected error.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields

import torch

from segviewer.core import events as ev
from segviewer.core.errors import UserError
from segviewer.core.trainer import _check_config as _check_config
from segviewer.core.trainer import _Trainer, nan_to_none

__all__ = ["TrainConfig", "nan_to_none", "train"]


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as the run's config.json."""

    root: str
    model: str = "ulite"
    epochs: int = 15
    batch_size: int = 4
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # decays to 0 over `epochs`, per step; or "constant" (Keras-like)
    input_size: tuple[int, int] = (128, 224)  # the paper used 360x640; see the README for CPU figures
    patience: int = 5  # epochs without a better validation mIoU before stopping; 0 = never stop early
    class_weights: bool | str = False  # "median" (SegNet; True), "sqrt" (gentler) or "none" (False)
    loss: str = "ce"  # "ce" (the paper) or "ce+dice" (see losses.py)
    augment: str | None = None  # preset name or JSON path
    device: str = "auto"
    out: str | None = None  # run folder; None: runs/<model>-<YYYYmmdd-HHMMSS> in the current folder
    resume: bool = False
    threads: int | None = None  # None: all cores (the GUI passes cores - 1)
    num_workers: int | None = None  # None: min(2, cores)
    seed: int = 0
    scheme: str | None = None  # label scheme of a plain folder data set
    model_options: dict = field(default_factory=dict)
    amp: bool | None = None  # None: mixed precision on CUDA only
    max_train_batches: int | None = None
    max_val_batches: int | None = None
    train_split: str = "train"
    val_split: str = "val"
    cache_dir: str | None = None  # decode cache; None: the default location, "": no cache
    labels: str = (
        "auto"  # "corrected" (saved corrections win), "original", or "auto": corrected when any exist
    )

    def to_json(self) -> dict:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        return data

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "input_size" in values:
            values["input_size"] = tuple(int(v) for v in values["input_size"])
        return cls(**values)


def train(cfg: TrainConfig, should_stop: Callable[[], bool] | None = None) -> Iterator[ev.Event]:
    """Run training, yielding events; ends with exactly one Finished or Failed."""
    trainer = _Trainer(cfg)
    try:
        yield from trainer.run(should_stop or (lambda: False))
    except UserError as exc:
        yield _failed(trainer, str(exc))
    except torch.OutOfMemoryError:
        h, w = cfg.input_size
        yield _failed(
            trainer,
            f"out of GPU memory with batch size {cfg.batch_size} at input size {h}x{w}; "
            "lower --batch-size or --input-size",
        )
    except MemoryError:
        yield _failed(trainer, "out of memory; lower --batch-size, --input-size or --workers")
    except Exception as exc:  # never raise into the GUI: report, keep the traceback for a bug report
        details = []
        if trainer.run_dir is not None:
            log = trainer.run_dir / "error.log"
            try:
                log.write_text(traceback.format_exc(), encoding="utf-8")
                details.append(f"traceback saved in {log}")
            except OSError:
                pass
        yield _failed(trainer, f"training failed: {type(exc).__name__}: {exc}", details)
    finally:
        trainer.close()


def _failed(trainer: _Trainer, message: str, details: list[str] | None = None) -> ev.Failed:
    trainer.write_status("failed", message)
    return ev.Failed(message, details or [])
