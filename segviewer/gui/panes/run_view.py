"""How a training run looks: its events become a progress bar, a status line, live curves, class IoU
rows and a log.

The training pane shows its own child process through a `RunView`; a run followed from a folder
(Open run…) shows through the same view. Batch events only mark the view dirty; a timer draws at
most ~10 times a second so a fast run never floods the event loop.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar

from segviewer.core import events as ev
from segviewer.core.training_eta import EtaEstimator, format_duration
from segviewer.gui.panes.training_charts import ClassIouTable, TrainingCurves

ERROR_COLOR = "#c62828"
WARNING_COLOR = "#b26a00"
GOOD_COLOR = "#2e7d32"
REFRESH_MS = 100  # coalesced redraws: at most ~10 per second
# One dark text colour over a light fill and a light groove: the default style paints the text white
# over the fill and black over the groove, so "Epoch 4 of 15 · batch 31 of 53" changed colour mid-word.
PROGRESS_STYLE = (
    "QProgressBar { color: #111111; background: #ececec; border: 1px solid #a0a0a0; border-radius: 3px;"
    " text-align: center; min-height: 18px; }"
    " QProgressBar::chunk { background: #a9cdf2; border-radius: 2px; }"
)


class RunView(QObject):
    """The widgets of one run (laid out by the pane that shows them) and `show_event(event)`."""

    best_checkpoint_saved = Signal(str)
    run_ended = Signal(object)  # the Finished or Failed event

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setStyleSheet(PROGRESS_STYLE)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        self.status_label = QLabel("Open a data set, choose a model and press Start training.")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = TrainingCurves()
        self.loss_plot, self.miou_plot = self.curves.loss_plot, self.curves.miou_plot
        self.iou_table = ClassIouTable()
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self._eta = EtaEstimator()
        self._last_batch: ev.Batch | None = None
        self.started: ev.Started | None = None
        self.live = False  # progress text is drawn only while the run goes on
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def reset(self, text: str = "Starting…") -> None:
        self.started, self._last_batch, self._dirty = None, None, False
        self.curves.clear()
        self.iou_table.clear_rows()
        self.progress.setValue(0)
        self.progress.setFormat(text)
        self.live = True
        self._timer.start()

    def end(self) -> None:
        """The run's stream has ended: draw what is left, then stop redrawing."""
        self.refresh(force=True)
        self.live = False
        self._timer.stop()

    def show_event(self, event: ev.Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__.lower()}", None)
        if handler is not None:
            handler(event)

    def show_status(self, text: str, color: str | None = None) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"color: {color};" if color else "")

    def log(self, text: str, color: str | None = None) -> None:
        stamp = time.strftime("%H:%M:%S")
        body = html.escape(text).replace("\n", "<br>")
        if color:
            body = f'<span style="color:{QColor(color).name()}">{body}</span>'
        self.log_view.appendHtml(f'<span style="color:#777">[{stamp}]</span> {body}')

    def refresh(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        self.curves.flush()
        batch = self._last_batch
        if batch is not None and self.live:
            eta = self._eta.eta_seconds()
            self.progress.setValue(int(self._eta.fraction_done() * self.progress.maximum()))
            self.progress.setFormat(
                f"Epoch {batch.epoch} of {self._eta.epochs} · batch {batch.step} of {batch.steps} · "
                f"{format_duration(eta)} left · {batch.images_per_s:.1f} images/s"
            )

    # --- one handler per event type -------------------------------------------------------------
    def _on_started(self, event: ev.Started) -> None:
        self.started = event
        self._eta.reset(int(event.config.get("epochs", 1)), event.steps_per_epoch, event.start_epoch)
        if event.start_epoch > 1:
            self.curves.load_history(Path(event.run_dir) / "metrics.csv", event.start_epoch)
        self.log(
            f"Training on {event.device}: {event.num_train} training and {event.num_val} validation images, "
            f"{event.steps_per_epoch} batches per epoch, {event.parameters:,} parameters"
        )
        self.show_status(f"Training on {event.device}")

    def _on_batch(self, event: ev.Batch) -> None:
        self._last_batch = event
        self._eta.on_batch(event.epoch, event.step, event.steps)
        self.curves.add_batch(event.epoch - 1 + event.step / max(1, event.steps), event.loss)
        self._dirty = True

    def _on_epoch(self, event: ev.Epoch) -> None:
        self._eta.on_epoch(event.epoch, event.seconds)
        self.curves.add_epoch(event)
        self.iou_table.show_epoch(event)
        best = " — new best" if event.is_best else ""
        self.log(
            f"Epoch {event.epoch} of {event.epochs}: training loss {event.train_loss:.3f}, validation loss "
            f"{event.val_loss:.3f}, validation mIoU {_fmt(event.val_miou)}{best} ({format_duration(event.seconds)})",
            GOOD_COLOR if event.is_best else None,
        )
        self._dirty = True

    def _on_checkpointsaved(self, event: ev.CheckpointSaved) -> None:
        if event.best:
            self.log(f"Saved best model (mIoU {_fmt(event.val_miou)}) to {event.path}")
            self.best_checkpoint_saved.emit(event.path)

    def _on_earlystopped(self, event: ev.EarlyStopped) -> None:
        self.log(
            f"Early stopping after epoch {event.epoch}: no better validation mIoU since epoch "
            f"{event.best_epoch} ({_fmt(event.best_miou)})"
        )

    def _on_warning(self, event: ev.Warning) -> None:
        self.log(f"Warning: {event.message}", WARNING_COLOR)

    def _on_finished(self, event: ev.Finished) -> None:
        how = "Stopped" if event.stopped_by_user else "Finished"
        best = (
            f"best validation mIoU {_fmt(event.best_miou)} at epoch {event.best_epoch}"
            if event.best_epoch
            else "no checkpoint yet"
        )
        self.log(f"{how} after {event.epochs_run} epoch(s): {best}. Run folder: {event.run_dir}", GOOD_COLOR)
        self.show_status(f"{how}: {best}.", None if event.stopped_by_user else GOOD_COLOR)
        self.refresh(force=True)
        self.live = False
        if not event.stopped_by_user:
            self.progress.setValue(self.progress.maximum())
            self.progress.setFormat("Done")
        self.run_ended.emit(event)

    def _on_failed(self, event: ev.Failed) -> None:
        details = "".join(f"\n  {d}" for d in event.details)
        self.log(f"Training failed: {event.message}{details}", ERROR_COLOR)
        self.show_status(f"Training failed: {event.message}", ERROR_COLOR)
        self.live = False
        self.progress.setFormat("Failed")
        self.run_ended.emit(event)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value) -> str:
    return f"{value:.3f}" if _finite(value) else "—"
