"""The trainer's bookkeeping: best-so-far and early-stopping state, and the run folder that keeps it.

`RunBookkeeping` is the base class of `trainer._Trainer`. After each epoch it updates the best mIoU and
the early-stopping count and writes metrics.csv, last.pt and best.pt; it writes status.json, ends a run
(`Finished`, or `Failed` when the loss diverged), and on --resume restores all of it from last.pt.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from segviewer.core import events as ev
from segviewer.core.checkpoint import read_metrics_csv, write_json, write_metrics_csv
from segviewer.core.errors import UserError

if TYPE_CHECKING:
    from segviewer.core.labels import LabelScheme
    from segviewer.core.training import TrainConfig


def nan_to_none(values) -> list[float | None]:
    return [None if v is None or not np.isfinite(v) else float(v) for v in values]


class RunBookkeeping:
    """Run folder and best-so-far state of one run; `_Trainer` sets the attributes below in its set-up."""

    scheme: LabelScheme
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.run_dir: Path | None = None
        self.rows: list[dict] = []
        self.start_epoch = 1
        self.best_miou: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.since_best = 0
        self.early_stopped = False
        self.class_weights: list[float] | None = None

    # --- resuming ----------------------------------------------------------------------------------
    def _load_resume_checkpoint(self) -> dict:
        from segviewer.core.checkpoint import check_compatible, load_checkpoint

        ckpt = load_checkpoint(self.run_dir / "last.pt")
        if ckpt["model"] != self.cfg.model:
            raise UserError(
                f"{self.run_dir}: this run trains model '{ckpt['model']}', not '{self.cfg.model}'; "
                f"resume with --model {ckpt['model']} or start a new run with another --out"
            )
        if tuple(ckpt["input_size"]) != tuple(self.cfg.input_size):
            h, w = ckpt["input_size"]
            raise UserError(
                f"{self.run_dir}: this run uses input size {h}x{w}; resume with --input-size {h}x{w}"
            )
        check_compatible(ckpt, self.scheme)
        return ckpt

    def _restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["state_dict"])
        if "optimizer" in ckpt:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            for group in self.optimizer.param_groups:
                group["lr"] = self.cfg.lr
        state = ckpt.get("train_state") or {}
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.best_miou = state.get("best_miou")
        self.best_epoch = state.get("best_epoch")
        self.since_best = int(state.get("since_best", 0))
        self.early_stopped = bool(state.get("early_stopped", False))
        self.class_weights = state.get("class_weights")
        if isinstance(state.get("torch_rng"), torch.Tensor):
            torch.set_rng_state(state["torch_rng"])
        best = self.run_dir / "best.pt"
        if best.is_file():
            from segviewer.core.checkpoint import load_checkpoint

            self.best_state = load_checkpoint(best)["state_dict"]
        rows = read_metrics_csv(self.run_dir / "metrics.csv")
        self.rows = [r for r in rows if r["epoch"] < self.start_epoch]

    # --- after each epoch --------------------------------------------------------------------------
    def _end_epoch(self, epoch: int, train_loss: float, val, seconds: float) -> Iterator[ev.Event]:
        val_loss, metrics = val
        miou = float(metrics.miou)
        is_best = math.isfinite(miou) and (self.best_miou is None or miou > self.best_miou)
        if is_best:
            self.best_miou, self.best_epoch, self.since_best = miou, epoch, 0
        else:
            self.since_best += 1
        # Decided before saving last.pt, so that resuming an early-stopped run does not train on.
        self.early_stopped = self.cfg.patience > 0 and self.since_best >= self.cfg.patience
        saved = []
        if is_best:
            saved.append(self._save("best", epoch, miou))
        saved.insert(0, self._save("last", epoch, miou))
        self.rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_miou": miou,
                "val_pixel_accuracy": float(metrics.pixel_accuracy),
                "seconds": seconds,
                "lr": self.optimizer.param_groups[0]["lr"],
            }
        )
        write_metrics_csv(self.run_dir / "metrics.csv", self.rows)
        yield ev.Epoch(
            epoch,
            self.cfg.epochs,
            train_loss,
            val_loss,
            miou,
            float(metrics.pixel_accuracy),
            nan_to_none(metrics.per_class_iou),
            self.scheme.names,
            seconds,
            is_best,
        )
        yield from saved

    # --- checkpoints, status and endings -----------------------------------------------------------
    def _save(self, which: str, epoch: int, miou: float | None = None) -> ev.CheckpointSaved:
        from segviewer.core.checkpoint import make_checkpoint, save_checkpoint

        last = which == "last"
        ckpt = make_checkpoint(
            self.model,
            self.scheme,
            self.cfg.input_size,
            epoch,
            miou,
            optimizer=self.optimizer if last else None,
            train_state=self._train_state() if last else None,
            config=self.cfg.to_json(),
        )
        path = save_checkpoint(self.run_dir / f"{which}.pt", ckpt)
        if not last:
            self.best_state = ckpt["state_dict"]
        return ev.CheckpointSaved(str(path), epoch, miou, not last)

    def _train_state(self) -> dict:
        return {
            "best_miou": self.best_miou,
            "best_epoch": self.best_epoch,
            "since_best": self.since_best,
            "early_stopped": self.early_stopped,
            "class_weights": self.class_weights,
            "torch_rng": torch.get_rng_state(),
        }

    def _stop(self, completed: int) -> Iterator[ev.Event]:
        """A user's stop: keep the current weights in last.pt (resuming repeats the unfinished epoch)."""
        yield self._save("last", completed, self.best_miou)
        yield from self._finish(stopped=True)

    def _diverged(self, epoch: int, step: int) -> ev.Failed:
        best = self.run_dir / "best.pt"
        from segviewer.core.losses import class_weighting

        kept = f"; the best checkpoint so far is kept ({best})" if best.is_file() else ""
        weighted = class_weighting(self.cfg.class_weights) != "none"
        message = (
            f"training diverged: loss became NaN at epoch {epoch} step {step}; lower --lr (now {self.cfg.lr:g})"
            f"{' or turn off --class-weights' if weighted else ''}{kept}"
        )
        self.write_status("failed", message)
        return ev.Failed(message)

    def _finish(self, stopped: bool = False, status: str = "finished") -> Iterator[ev.Event]:
        if self.best_state is not None:  # as the paper: end with the best weights, not the last
            self.model.load_state_dict(self.best_state)
        self.write_status("stopped" if stopped else status)
        best = self.run_dir / "best.pt"
        yield ev.Finished(
            str(self.run_dir),
            str(best) if best.is_file() else None,
            self.best_miou,
            self.best_epoch,
            int(self.rows[-1]["epoch"]) if self.rows else 0,
            stopped,
        )

    def write_status(self, status: str, message: str = "") -> None:
        if self.run_dir is None or not self.run_dir.is_dir():
            return
        try:
            write_json(self.run_dir / "status.json", {"status": status, "message": message})
        except UserError:
            pass  # the disk is full; the Failed event says so already
