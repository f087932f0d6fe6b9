"""The training pane: choose a model and its settings, train in the background, watch it learn.

Widgets only: the training itself is core/training.py's generator, run by gui/training_runner.py;
its events arrive here as queued signals and are handled in training_pane_events.py. Batch events are
coalesced and drawn at most 10 times a second so a fast run never floods the event loop.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segviewer.core import events as ev
from segviewer.core.runs import RunInfo, new_run_dir
from segviewer.gui.panes.runs_pane import RunsPane
from segviewer.gui.panes.training_charts import ClassIouTable, TrainingCurves
from segviewer.gui.panes.training_form import SettingsForm
from segviewer.gui.panes.training_pane_events import ERROR_COLOR, TrainingEventsMixin
from segviewer.gui.training_eta import EtaEstimator
from segviewer.gui.training_runner import create_runner, preload_training_modules

REFRESH_MS = 100  # coalesced redraws: at most ~10 per second
HEAVY_IMPORT_DELAY_MS = 300  # let the window paint before torch & co. are imported on the UI thread
# One dark text colour over a light fill and a light groove: the default style paints the text white
# over the fill and black over the groove, so "Epoch 4 of 15 · batch 31 of 53" changed colour mid-word.
PROGRESS_STYLE = (
    "QProgressBar { color: #111111; background: #ececec; border: 1px solid #a0a0a0; border-radius: 3px;"
    " text-align: center; min-height: 18px; }"
    " QProgressBar::chunk { background: #a9cdf2; border-radius: 2px; }"
)


def ask_stop_training(parent: QWidget | None) -> bool:
    """Ask before closing the window during a run; True means stop (keeping the best checkpoint)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Training in progress")
    box.setText("Stop training and keep the best checkpoint?")
    box.setInformativeText(
        "Training ends after the current batch. The best model so far stays in the run folder, "
        "and the run can be resumed later from the Past runs tab."
    )
    stop = box.addButton("Stop", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is stop


class TrainingPane(TrainingEventsMixin, QWidget):
    """Settings form, Start / Pause / Stop, progress with ETA, live curves, class IoU, log, past runs."""

    best_checkpoint_saved = Signal(str)  # only while "Auto-refresh viewer" is checked
    load_checkpoint_requested = Signal(str)
    training_started = Signal(str)  # run folder
    training_finished = Signal(object)  # the Finished or Failed event

    def __init__(self, parent: QWidget | None = None, runner_kind: str | None = None) -> None:
        super().__init__(parent)
        self._root: Path | None = None
        self._scheme_name: str | None = None
        self._run_dir: Path | None = None
        self._started: ev.Started | None = None
        self._last_batch: ev.Batch | None = None
        self._best: tuple[float, int] | None = None
        self._stopping = False
        self._dirty = False
        self._eta = EtaEstimator()
        self.config_overrides: dict = {}  # TrainConfig fields the form does not show (tests, experts)

        self.runner = create_runner(runner_kind, parent=self)
        self.runner.event_received.connect(self._on_event)
        self.runner.finished.connect(self._on_runner_finished)

        self.form = SettingsForm()
        self.form.runs_folder_changed.connect(self._on_runs_folder_changed)
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train the chosen model on the open data set")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End after the current batch; the best checkpoint is kept")
        self.auto_refresh = QCheckBox("Auto-refresh viewer with best model")
        self.auto_refresh.setToolTip(
            "Whenever training saves a better model, show its prediction in the viewer"
        )
        self.auto_refresh.setChecked(True)
        self.start_button.clicked.connect(lambda: self.start_training())
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)

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
        self.runs = RunsPane()
        self.runs.load_checkpoint_requested.connect(self.load_checkpoint_requested)
        self.runs.resume_requested.connect(self.resume_run)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.iou_table, "Class IoU")
        self.tabs.addTab(self.log_view, "Log")
        self.tabs.addTab(self.runs, "Past runs")

        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.auto_refresh)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.tabs, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh)
        self._update_buttons()
        self.runs.set_folder(self.form.runs_folder())
        self._shut_down = False
        QTimer.singleShot(HEAVY_IMPORT_DELAY_MS, self._load_heavy_parts)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(480, 820)  # leaves the viewer most of a 1400 px window

    # --- public API -------------------------------------------------------------------------
    def set_dataset(self, root: Path | None, scheme_name: str | None = None, scheme=None) -> None:
        """The data set Start trains on (the window calls this when the user opens one).

        `scheme_name` is passed to training (needed for plain folders); `scheme`, the data set's
        LabelScheme of training ids, only colours the class IoU table and sizes the models.
        """
        self._root = Path(root) if root else None
        self._scheme_name = scheme_name
        self.form.set_dataset(self._root, scheme_name, scheme)
        self.iou_table.set_scheme(scheme, scheme_name)

    def is_training(self) -> bool:
        return self.runner.is_running()

    def confirm_close(self, parent: QWidget | None = None) -> bool:
        """For the window's closeEvent: True when it may close (nothing running, or stopped now)."""
        if not self.is_training():
            return True
        if not ask_stop_training(parent or self):
            return False
        self.stop_training()
        self.runner.wait(600.0)
        return not self.is_training()

    def start_training(self, resume_run: RunInfo | None = None) -> bool:
        """Start a new run from the form (or continue `resume_run`); False with a status message if not."""
        if self.is_training():
            return False
        try:
            cfg = self._build_config(resume_run)
        except (ValueError, TypeError) as exc:  # a bad form value or a hand-edited config.json
            self._show_status(str(exc), ERROR_COLOR)
            return False
        self._reset_views(resume_run)
        self._run_dir = Path(cfg.out)
        self._stopping = False
        self._log(
            f"{'Resuming' if resume_run else 'Starting'} {self.form.model_title(cfg.model)} in {cfg.out}"
        )
        self._show_status("Preparing data and model…")
        self.runner.start(cfg)
        self.runs.set_running(self._run_dir)
        self._timer.start()
        self._update_buttons()
        self.training_started.emit(str(cfg.out))
        return True

    def resume_run(self, run: RunInfo) -> None:
        self.form.set_values(run.config)
        self.start_training(resume_run=run)

    def stop_training(self) -> None:
        if self.is_training() and not self._stopping:
            self._stopping = True
            self.runner.stop()
            self._show_status("Stopping after the current batch…")
            self._update_buttons()

    def shutdown(self) -> None:
        """Stop any run and wait for every helper thread (tests; the window's close)."""
        self._shut_down = True
        if self.is_training():
            self.runner.stop()
            if not self.runner.wait(600.0):
                self.runner.kill()
        self._timer.stop()
        self.runs.shutdown()

    # --- building the run -------------------------------------------------------------------
    def _build_config(self, resume_run: RunInfo | None):
        from segviewer.core.training import TrainConfig

        values = self.form.values()
        values.update(self.config_overrides)
        if resume_run is not None:
            base = dict(resume_run.config)
            base.update(values)
            base.update(root=resume_run.config.get("root"), out=str(resume_run.path), resume=True)
            if not base.get("root"):
                raise ValueError(f"{resume_run.path}: config.json does not say which data set it used")
            return TrainConfig.from_json(base)
        if self._root is None:
            raise ValueError("Open a data set first (File > Open data set), then press Start training.")
        folder = self.form.runs_folder()
        out = new_run_dir(folder, values["model"])
        values.update(root=str(self._root), out=str(out), resume=False, scheme=self._scheme_name)
        return TrainConfig.from_json(values)

    def _load_heavy_parts(self) -> None:
        if self._shut_down:  # closed before the timer fired: start no helper thread any more
            return
        preload_training_modules()  # torch & co. on the UI thread, before any worker needs them
        self.form.load_choices()

    def _toggle_pause(self) -> None:
        if not self.is_training():
            return
        if self.runner.is_paused():
            self.runner.resume()
            self._log("Resumed")
            self._show_status(f"Training on {self._started.device}" if self._started else "Resumed")
        else:
            self.runner.pause()
            self._log("Paused (after the current batch)")
            self._show_status("Paused — press Resume to continue.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.is_training()
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not self._stopping)
        self.pause_button.setText("Resume" if running and self.runner.is_paused() else "Pause")
        self.stop_button.setEnabled(running and not self._stopping)
        self.form.setEnabled(not running)

    def _on_runs_folder_changed(self, folder: Path) -> None:
        self.runs.set_folder(folder)


def install_training_pane(window) -> TrainingPane:
    """Dock the pane into the main window and connect it to the window's public hooks."""
    from PySide6.QtWidgets import QApplication

    pane = TrainingPane()
    window.add_pane("Training", pane, Qt.DockWidgetArea.RightDockWidgetArea)

    def follow(dataset) -> None:
        pane.set_dataset(dataset.root, getattr(window, "scheme_name", None), dataset.scheme)

    window.dataset_opened.connect(follow)
    if getattr(window, "dataset", None) is not None:
        follow(window.dataset)
    pane.best_checkpoint_saved.connect(window.load_checkpoint)
    pane.load_checkpoint_requested.connect(window.load_checkpoint)
    window.add_close_check(pane.confirm_close)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(pane.shutdown)
    return pane
