"""How the training pane shows a run: core events from its runner become log lines, status text,
curves, class IoU rows and the progress bar.

`TrainingEventsMixin` is mixed into `TrainingPane` (training_pane.py) and uses its widgets (`curves`,
`iou_table`, `progress`, `status_label`, `log_view`, `runs`, `auto_refresh`), its signals, its run
state (`_eta`, `_started`, `_last_batch`, `_best`, `_dirty`, `_stopping`, `_timer`) and its
`is_training()` / `_update_buttons()`. Batch events only mark the view dirty; `_refresh` draws at most
~10 times a second.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path

from PySide6.QtGui import QColor

from segviewer.core import events as ev
from segviewer.core.runs import RunInfo
from segviewer.gui.training_eta import format_duration

ERROR_COLOR = "#c62828"
WARNING_COLOR = "#b26a00"
GOOD_COLOR = "#2e7d32"


class TrainingEventsMixin:
    """TrainingPane's `_on_<event>` handlers, end-of-run bookkeeping, coalesced redraw, status and log."""

    # --- events from the runner -------------------------------------------------------------
    def _on_event(self, event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__.lower()}", None)
        if handler is not None:
            handler(event)

    def _on_started(self, event: ev.Started) -> None:
        self._started = event
        self._eta.reset(int(event.config.get("epochs", 1)), event.steps_per_epoch, event.start_epoch)
        if event.start_epoch > 1:
            self.curves.load_history(Path(event.run_dir) / "metrics.csv", event.start_epoch)
        self._log(
            f"Training on {event.device}: {event.num_train} training and {event.num_val} validation images, "
            f"{event.steps_per_epoch} batches per epoch, {event.parameters:,} parameters"
        )
        self._show_status(f"Training on {event.device}")
        self.runs.refresh()

    def _on_batch(self, event: ev.Batch) -> None:
        self._last_batch = event
        self._eta.on_batch(event.epoch, event.step, event.steps)
        self.curves.add_batch(event.epoch - 1 + event.step / max(1, event.steps), event.loss)
        self._dirty = True

    def _on_epoch(self, event: ev.Epoch) -> None:
        self._eta.on_epoch(event.epoch, event.seconds)
        self.curves.add_epoch(event)
        self.iou_table.show_epoch(event)
        if event.is_best and _finite(event.val_miou):
            self._best = (event.val_miou, event.epoch)
        best = " — new best" if event.is_best else ""
        self._log(
            f"Epoch {event.epoch} of {event.epochs}: training loss {event.train_loss:.3f}, validation loss "
            f"{event.val_loss:.3f}, validation mIoU {_fmt(event.val_miou)}{best} ({format_duration(event.seconds)})",
            GOOD_COLOR if event.is_best else None,
        )
        self._dirty = True

    def _on_checkpointsaved(self, event: ev.CheckpointSaved) -> None:
        if not event.best:
            return
        self._log(f"Saved best model (mIoU {_fmt(event.val_miou)}) to {event.path}")
        if self.auto_refresh.isChecked():
            self.best_checkpoint_saved.emit(event.path)

    def _on_earlystopped(self, event: ev.EarlyStopped) -> None:
        self._log(
            f"Early stopping after epoch {event.epoch}: no better validation mIoU since epoch "
            f"{event.best_epoch} ({_fmt(event.best_miou)})"
        )

    def _on_warning(self, event: ev.Warning) -> None:
        self._log(f"Warning: {event.message}", WARNING_COLOR)

    def _on_finished(self, event: ev.Finished) -> None:
        how = "Stopped" if event.stopped_by_user else "Finished"
        best = (
            f"best validation mIoU {_fmt(event.best_miou)} at epoch {event.best_epoch}"
            if event.best_epoch
            else "no checkpoint yet"
        )
        self._log(f"{how} after {event.epochs_run} epoch(s): {best}. Run folder: {event.run_dir}", GOOD_COLOR)
        self._show_status(f"{how}: {best}.", None if event.stopped_by_user else GOOD_COLOR)
        if not event.stopped_by_user:
            self.progress.setValue(self.progress.maximum())
            self.progress.setFormat("Done")
        self.training_finished.emit(event)

    def _on_failed(self, event: ev.Failed) -> None:
        details = "".join(f"\n  {d}" for d in event.details)
        self._log(f"Training failed: {event.message}{details}", ERROR_COLOR)
        self._show_status(f"Training failed: {event.message}", ERROR_COLOR)
        self.progress.setFormat("Failed")
        self.training_finished.emit(event)

    def _on_runner_finished(self) -> None:
        self._refresh(force=True)
        self._timer.stop()
        self._stopping = False
        self.runs.set_running(None)
        self.runs.refresh()
        self._update_buttons()

    # --- view updates -----------------------------------------------------------------------
    def _reset_views(self, resume_run: RunInfo | None) -> None:
        self._started, self._last_batch, self._best, self._dirty = None, None, None, False
        self.curves.clear()
        self.iou_table.clear_rows()
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")

    def _refresh(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        self.curves.flush()
        batch = self._last_batch
        if batch is not None and self.is_training():
            epochs = self._eta.epochs
            eta = self._eta.eta_seconds()
            self.progress.setValue(int(self._eta.fraction_done() * self.progress.maximum()))
            self.progress.setFormat(
                f"Epoch {batch.epoch} of {epochs} · batch {batch.step} of {batch.steps} · "
                f"{format_duration(eta)} left · {batch.images_per_s:.1f} images/s"
            )

    def _show_status(self, text: str, color: str | None = None) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {color};" if color else "")

    def _log(self, text: str, color: str | None = None) -> None:
        stamp = time.strftime("%H:%M:%S")
        body = html.escape(text).replace("\n", "<br>")
        if color:
            body = f'<span style="color:{QColor(color).name()}">{body}</span>'
        self.log_view.appendHtml(f'<span style="color:#777">[{stamp}]</span> {body}')


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value) -> str:
    return f"{value:.3f}" if _finite(value) else "—"
