"""The training pane: choose a model and its settings, train, watch it learn, fine-tune on corrections.

Training runs as a child process, `segviewer train ... --events jsonl --low-priority`, that prints
one JSON event per line (core/events.py) and takes `stop`, `pause` and `resume` on stdin. A crash or
an out-of-memory there ends the run, never the window; the run uses every core below the window's
priority. The events are shown by a RunView (run_view.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segviewer.core import events as ev
from segviewer.core.corrections import Corrections
from segviewer.core.errors import UserError
from segviewer.core.fine_tune import LR_FACTOR, fine_tune_config
from segviewer.core.runs import RunInfo, new_run_dir
from segviewer.core.train_command import child_command
from segviewer.gui import background
from segviewer.gui import settings as prefs
from segviewer.gui.menus import add_action
from segviewer.gui.panes.export_command import ExportCommandDialog
from segviewer.gui.panes.run_view import ERROR_COLOR, RunView
from segviewer.gui.panes.runs_pane import RunsPane
from segviewer.gui.panes.training_form import SettingsForm

FOLLOW_INTERVAL_S = 0.5  # how often a followed run folder's events.jsonl is read
EVENTS_PER_STEP = 2000  # a long finished run replays in steps, painting in between
CHOICES_DELAY_MS = 300  # let the window paint before the form lists presets and asks for devices
STOP_WAIT_S = 30  # closing the window: how long a stopped run may take to save before it is killed


def ask_stop_training(parent: QWidget | None) -> bool:
    """Ask before closing the window during a run; True means stop (keeping the best checkpoint)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Training in progress")
    box.setText("Stop training and keep the best checkpoint?")
    box.setInformativeText(
        "Training ends after the current batch and the window closes then. The best model so far "
        "stays in the run folder, and the run can be resumed later from the Past runs tab."
    )
    stop = box.addButton("Stop", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is stop


class TrainingPane(QWidget):
    """Settings form, Start / Pause / Stop, progress with ETA, live curves, class IoU, log, past runs."""

    event_received = Signal(object)  # every event of the run, in order
    best_checkpoint_saved = Signal(str)  # only while "Auto-refresh viewer" is checked
    load_checkpoint_requested = Signal(str)
    training_started = Signal(str)  # run folder
    training_finished = Signal(object)  # the Finished or Failed event
    run_ended = Signal()  # the child process has exited and every event was shown

    def __init__(
        self,
        parent: QWidget | None = None,
        command: Callable[[dict], list[str]] = child_command,
    ) -> None:
        super().__init__(parent)
        self._command = command  # run settings -> the child's command line
        self._root: Path | None = None
        self._scheme_name: str | None = None
        self._child: background.ChildProcess | None = None
        self._task: asyncio.Task | None = None
        self._following: asyncio.Task | None = None
        self._paused = False
        self._stopping = False
        self.config_overrides: dict = {}  # TrainConfig fields the form does not show (tests, experts)
        # corrected samples of the open data set; None: not counted yet; a str: why they cannot be read
        self._corrected: int | str | None = None
        self._counting = background.Latest()

        self.form = SettingsForm()
        self.form.runs_folder_changed.connect(self._on_runs_folder_changed)
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train the chosen model on the open data set")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End after the current batch; the best checkpoint is kept")
        self.export_button = QPushButton("Export as command…")
        self.export_button.setToolTip(
            "The segviewer train (or torchrun) line for these settings, or a SLURM script, to run elsewhere"
        )
        self.export_button.clicked.connect(self.export_command)
        self.auto_refresh = QCheckBox("Auto-refresh viewer with best model")
        self.auto_refresh.setToolTip(
            "Whenever training saves a better model, show its prediction in the viewer"
        )
        self.auto_refresh.setChecked(True)
        self.start_button.clicked.connect(lambda: self.start_training())
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)

        self.view = RunView(self)
        self.view.best_checkpoint_saved.connect(self._on_best_saved)
        self.view.run_ended.connect(self.training_finished)
        self.runs = RunsPane()
        self.runs.load_checkpoint_requested.connect(self.load_checkpoint_requested)
        self.runs.resume_requested.connect(self.resume_run)
        self.runs.table.itemSelectionChanged.connect(self._update_buttons)
        self.fine_tune_button = QPushButton("Fine-tune on corrected labels")
        self.fine_tune_button.clicked.connect(lambda: self.fine_tune())
        past_runs = QWidget()
        past_layout = QVBoxLayout(past_runs)
        past_layout.setContentsMargins(0, 0, 0, 0)
        past_layout.addWidget(self.runs, 1)
        past_layout.addWidget(self.fine_tune_button)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.view.curves, "Curves")
        self.tabs.addTab(self.view.iou_table, "Class IoU")
        self.tabs.addTab(self.view.log_view, "Log")
        self.tabs.addTab(past_runs, "Past runs")

        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        options = QHBoxLayout()  # a row of its own: the pane fits a laptop screen's 36%
        options.addWidget(self.auto_refresh, 1)
        options.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addLayout(options)
        layout.addWidget(self.view.progress)
        layout.addWidget(self.view.status_label)
        layout.addWidget(self.tabs, 1)

        self._update_buttons()
        self.runs.set_folder(self.form.runs_folder())
        self._shut_down = False
        QTimer.singleShot(CHOICES_DELAY_MS, self._load_choices)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Room for the form's two fields to a row, and no more: the viewer keeps most of the window."""
        margins = self.layout().contentsMargins()
        return QSize(self.form.sizeHint().width() + margins.left() + margins.right(), 820)

    # --- public API -------------------------------------------------------------------------
    def set_dataset(self, root: Path | None, scheme_name: str | None = None, scheme=None) -> None:
        """The data set Start trains on (the window calls this when the user opens one).

        `scheme_name` is passed to training (needed for plain folders); `scheme`, the data set's
        LabelScheme of training ids, only colours the class IoU table and sizes the models.
        """
        self._root = Path(root) if root else None
        self._scheme_name = scheme_name
        self.form.set_dataset(self._root, scheme_name, scheme)
        self.view.iou_table.set_scheme(scheme, scheme_name)
        self.corrections_changed()

    def corrections_changed(self) -> None:
        """Count the open data set's corrections again (the editor saved one); off the UI thread."""
        self._corrected = None
        self._update_buttons()
        if self._root is not None:
            self._counting.start(self._count_corrections(self._root))

    def is_training(self) -> bool:
        return self._child is not None

    def is_paused(self) -> bool:
        return self._paused

    def start_training(self, resume_run: RunInfo | None = None) -> bool:
        """Start a new run from the form (or continue `resume_run`); False with a status message if not."""
        if self.is_training():
            return False
        try:
            cfg = self._build_config(resume_run)
        except ValueError as exc:  # a bad form value or a hand-edited config.json
            self.view.show_status(str(exc), ERROR_COLOR)
            return False
        what = f"{'Resuming' if resume_run else 'Starting'} {self.form.model_title(cfg['model'])}"
        return self._launch(cfg, f"{what} in {cfg['out']}")

    def fine_tune(self) -> bool:
        """Fine-tune the selected past run on the open data set's corrected labels, as a new run.

        The same child process as Start training, with core/fine_tune.py's settings: the run's own,
        its checkpoint's weights with a fresh optimiser, a lower learning rate, `--labels corrected`
        and a new run folder whose config.json records the corrections used. False (with a status
        message) when it cannot start.
        """
        blocker = self._fine_tune_blocker()
        run = self.runs.selected_run()
        if blocker or run is None or self._root is None:
            self.view.show_status(blocker or "Select a past run first.", ERROR_COLOR)
            return False
        checkpoint = run.best_checkpoint or run.last_checkpoint
        out = new_run_dir(self.form.runs_folder(), run.model)
        try:
            cfg = fine_tune_config(checkpoint, self._root, out=str(out)).to_json()
        except (UserError, ValueError, TypeError) as exc:  # an unreadable or hand-edited config.json
            self.view.show_status(str(exc), ERROR_COLOR)
            return False
        what = f"Fine-tuning {self.form.model_title(cfg['model'])} from {checkpoint}"
        return self._launch(cfg, f"{what} on the corrected labels (learning rate {cfg['lr']:g}) in {out}")

    def _launch(self, cfg: dict[str, Any], message: str) -> bool:
        """Start the training child process for `cfg` and follow its events."""
        try:
            argv = self._command(cfg)
        except ValueError as exc:  # settings no command line can carry
            self.view.show_status(str(exc), ERROR_COLOR)
            return False
        self.stop_following()
        self.view.reset()
        self._paused = self._stopping = False
        self.view.log(message)
        self.view.show_status("Preparing data and model…")
        self._child = background.ChildProcess(argv)
        self._task = background.spawn(self._follow(self._child))
        self.runs.set_running(Path(cfg["out"]))
        self._update_buttons()
        self._show_progress()
        self.training_started.emit(str(cfg["out"]))
        return True

    def _show_progress(self) -> None:
        """The curves in front and, where the pane scrolls (a laptop screen), Pause / Stop, the progress
        and as much of the curves as fit in view instead of the form that was just used."""
        self.tabs.setCurrentWidget(self.view.curves)
        scroll = self.parentWidget()
        while scroll is not None and not isinstance(scroll, QScrollArea):
            scroll = scroll.parentWidget()
        if scroll is not None:
            scroll.ensureWidgetVisible(self.tabs, 0, 0)
            scroll.ensureWidgetVisible(self.start_button, 0, 4)  # then up to the buttons' row if needed

    def export_command(self) -> ExportCommandDialog | None:
        """Show the command line for the form's settings (None, with a message, when they are incomplete)."""
        try:
            cfg = self._build_config(None)
            dialog = ExportCommandDialog(cfg, self)
        except ValueError as exc:
            self.view.show_status(str(exc), ERROR_COLOR)
            return None
        dialog.show()
        return dialog

    def resume_run(self, run: RunInfo) -> None:
        self.form.set_values(run.config)
        self.start_training(resume_run=run)

    def stop_training(self) -> None:
        if self._child is not None and not self._stopping:
            self._stopping = True
            self._paused = False
            self._child.send("stop")
            self.view.show_status("Stopping after the current batch…")
            self._update_buttons()

    def confirm_close(self, window: QWidget | None = None) -> bool:
        """For the window's close check: True when it may close now. During a run, asks; on Stop
        the run is asked to end and `window` closes once it has (no waiting inside the close)."""
        if not self.is_training():
            return True
        if ask_stop_training(window or self):
            self.stop_training()
            if window is not None:
                self.run_ended.connect(window.close, Qt.ConnectionType.SingleShotConnection)
        return False

    def follow_run(self, run_dir: str | Path) -> bool:
        """Show a run written elsewhere (a terminal, torchrun, a cluster) from its events.jsonl as it
        grows: the same curves, class IoU and log as a local run. False while training here."""
        if self.is_training():
            self.view.show_status("Stop the run in progress first, then open another run.", ERROR_COLOR)
            return False
        run_dir = Path(run_dir)
        self.stop_following()
        self.view.reset("Reading the run…")
        self.view.log(f"Following {run_dir} (its events.jsonl)")
        self.view.show_status(f"Following {run_dir.name}: updates as the run writes events")
        self.runs.add_followed(run_dir)
        self._following = background.spawn(self._follow_folder(run_dir))
        return True

    def stop_following(self) -> None:
        if self._following is not None:
            self._following.cancel()
            self._following = None
            self.view.end()

    def shutdown(self) -> None:
        """The window is closing: a run still going is stopped (and killed if it does not end)."""
        self._shut_down = True
        self.stop_following()
        self._counting.shutdown()
        child = self._child
        if child is not None:
            child.send("stop")
            if not child.wait(STOP_WAIT_S):
                child.kill()
                child.wait(5)
        self.runs.shutdown()

    # --- the child process ------------------------------------------------------------------
    async def _follow(self, child: background.ChildProcess) -> None:
        ended = False
        async for line in child.lines():
            try:
                event = ev.from_json_line(line)
            except ev.EventFormatError:
                event = None
            if event is None:
                continue
            ended = ended or isinstance(event, ev.Finished | ev.Failed)
            self.view.show_event(event)
            if isinstance(event, ev.Started):
                self.runs.refresh()
            self.event_received.emit(event)
        if not ended:  # a crash, a kill or an error before training began: say so, with its words
            said = [line for line in child.stderr_tail if line.strip()]
            reason = said[-1].strip() if said else f"exit code {child.exit_code}"
            event = ev.Failed(f"The training process ended unexpectedly: {reason}")
            self.view.show_event(event)
            self.event_received.emit(event)
        self._child = None
        self.view.end()
        self._stopping = self._paused = False
        self.runs.set_running(None)
        self.runs.refresh()
        self._update_buttons()
        self.run_ended.emit()

    async def _follow_folder(self, run_dir: Path) -> None:
        follower = ev.EventFollower(run_dir / "events.jsonl")
        while True:
            events = await background.call(follower.poll)
            if follower.restarted:  # the file was replaced (a new run there): start over
                self.view.reset("Reading the run…")
            for start in range(0, len(events), EVENTS_PER_STEP):
                for event in events[start : start + EVENTS_PER_STEP]:
                    self.view.show_event(event)
                    self.event_received.emit(event)
                await asyncio.sleep(0)  # paint between steps of a long replay
            await asyncio.sleep(FOLLOW_INTERVAL_S)

    # --- building the run -------------------------------------------------------------------
    def _build_config(self, resume_run: RunInfo | None) -> dict[str, Any]:
        values = self.form.values()
        values.update(self.config_overrides)
        if resume_run is not None:
            base = dict(resume_run.config)
            base.update(values)
            base.update(root=resume_run.config.get("root"), out=str(resume_run.path), resume=True)
            if not base.get("root"):
                raise ValueError(f"{resume_run.path}: config.json does not say which data set it used")
            return base
        if self._root is None:
            raise ValueError("Open a data set first (File > Open data set), then press Start training.")
        out = new_run_dir(self.form.runs_folder(), values["model"])
        values.update(root=str(self._root), out=str(out), resume=False, scheme=self._scheme_name)
        return values

    async def _count_corrections(self, root: Path) -> None:
        try:
            count: int | str = await self._counting.run(_corrected_samples, root)
        except UserError as exc:  # a corrections folder that cannot be read: say which and why
            count = str(exc)
        if root == self._root:
            self._corrected = count
            self._update_buttons()

    def _fine_tune_blocker(self) -> str:
        """Why Fine-tune cannot start now ('' when it can): said in the button's tooltip."""
        run = self.runs.selected_run()
        if self.is_training():
            return "Wait for the current training to end."
        if self._root is None:
            return "Open a data set first: fine-tuning uses its corrected masks."
        if run is None or (run.best_checkpoint or run.last_checkpoint) is None:
            return "Select a run with a saved checkpoint in the list above."
        if self._corrected is None:
            return f"Looking for corrections of {self._root}…"
        if isinstance(self._corrected, str):
            return self._corrected
        if self._corrected == 0:
            return (
                f"{self._root} has no corrections yet: correct some masks in the viewer's edit mode "
                "(or in the Review pane's suspects) first."
            )
        return ""

    def _load_choices(self) -> None:
        if not self._shut_down:  # closed before the timer fired: nothing to fill in
            self.form.load_choices()

    def _on_best_saved(self, path: str) -> None:
        if self.auto_refresh.isChecked():
            self.best_checkpoint_saved.emit(path)

    def _toggle_pause(self) -> None:
        if self._child is None:
            return
        self._paused = not self._paused
        self._child.send("pause" if self._paused else "resume")
        if self._paused:
            self.view.log("Paused (after the current batch)")
            self.view.show_status("Paused — press Resume to continue.")
        else:
            self.view.log("Resumed")
            started = self.view.started
            self.view.show_status(f"Training on {started.device}" if started else "Resumed")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.is_training()
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not self._stopping)
        self.pause_button.setText("Resume" if running and self._paused else "Pause")
        self.stop_button.setEnabled(running and not self._stopping)
        self.form.setEnabled(not running)
        blocker = self._fine_tune_blocker()
        self.fine_tune_button.setEnabled(not blocker)
        self.fine_tune_button.setToolTip(
            blocker
            or f"A new run from this run's checkpoint on the {self._corrected} corrected masks of "
            f"{self._root}: its settings, a fresh optimiser, the learning rate x{LR_FACTOR:g}"
        )

    def _on_runs_folder_changed(self, folder: Path) -> None:
        self.runs.set_folder(folder)


def _corrected_samples(root: Path) -> int:
    store = Corrections(root)
    return sum(len(store.samples(split)) for split in store.splits())


def install_training_pane(window) -> TrainingPane:
    """Dock the pane into the main window and connect it to the window's public hooks."""
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
    editor = getattr(window, "mask_editor", None)
    if editor is not None:
        editor.correction_saved.connect(lambda _path: pane.corrections_changed())
    window.add_shutdown(pane.shutdown)
    for folder in prefs.followed_runs(window.settings):
        pane.runs.add_followed(Path(folder))

    def open_run() -> None:
        start = str(pane.form.runs_folder())
        folder = QFileDialog.getExistingDirectory(window, "Open a run folder (with events.jsonl)", start)
        if folder and pane.follow_run(folder):
            prefs.add_followed_run(window.settings, Path(folder))
            window.show_pane(pane)

    add_action(window, window.menus.file, "Open &run…", open_run)
    return pane
