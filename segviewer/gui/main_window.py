"""The main window: wires the data set pane, the viewer and the model together; no domain logic here.

Hooks for panes added later (training, augmentation, evaluation):
- `add_pane(title, widget, area)` docks a widget and lists it in the View menu (right-side panes tab).
- `dataset`, `dataset_opened(Dataset)`, `current_sample()`, `sample_changed(Sample)`, `viewer`
  (`viewer.current_image()`, `viewer.current_mask()`), `open_sample(split, name, mode)`.
- `load_checkpoint(path)`, `model_loaded(str)`, `refresh_prediction()`.
- `add_close_check(fn)`: `fn(window) -> bool` runs before closing; False keeps the window open.
- `show_status(text)`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QThreadPool, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QWidget,
)

from segviewer import __version__
from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.gui import settings as prefs
from segviewer.gui.menus import build_menus
from segviewer.gui.panes.dataset_pane import DatasetPane
from segviewer.gui.panes.viewer_pane import ViewerPane
from segviewer.gui.prediction import PredictionService
from segviewer.gui.shortcuts import ShortcutsDialog
from segviewer.gui.workers import run_in_background

log = logging.getLogger(__name__)
Area = Qt.DockWidgetArea


class MainWindow(QMainWindow):
    dataset_opened = Signal(object)  # Dataset
    dataset_failed = Signal(str)
    sample_changed = Signal(object)  # Sample
    model_loaded = Signal(str)  # checkpoint path
    _demo_progress = Signal(int, int)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or prefs.make_settings()
        self.dataset: Dataset | None = None
        self.scheme_name: str | None = None
        self._open_request = 0
        self._close_checks: list[Callable[[QWidget], bool]] = []
        self._restored = False
        self._stopping = threading.Event()
        self.training_pane: Any = None
        self.augment_pane: Any = None
        self.evaluation_pane: Any = None
        self.setWindowTitle("segviewer")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.predictions = PredictionService(parent=self)
        self.viewer = ViewerPane(self.predictions)
        self.setCentralWidget(self.viewer)
        self.dataset_pane = DatasetPane()
        self.dataset_pane.setMinimumWidth(250)
        self._build_status_bar()
        build_menus(self)
        self.dataset_dock = self.add_pane("Data set", self.dataset_pane, Area.LeftDockWidgetArea)

        self.dataset_pane.sample_selected.connect(self._on_sample_selected)
        self.viewer.status_message.connect(self.show_status)
        self.viewer.sample_shown.connect(self._prefetch_neighbours)
        self.viewer.hover_text_changed.connect(self.hover_label.setText)
        self.viewer.mode_changed.connect(self._on_mode_changed)
        self.viewer.legend.colorblind_toggled.connect(self.colorblind_action.setChecked)
        self.predictions.model_changed.connect(self._on_model_changed)
        self.predictions.load_failed.connect(lambda msg: self._warn("Cannot load checkpoint", msg))
        self.predictions.loading_changed.connect(
            lambda busy: self._set_busy("Loading the model…" if busy else None)
        )
        self._demo_progress.connect(self._on_demo_progress)
        self._apply_view_settings()

    # --- building ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.hover_label = QLabel("")
        self.hover_label.setObjectName("hoverReadout")
        self.model_label = QLabel("Model: none")
        self.busy_label = QLabel("")
        self.busy_bar = QProgressBar()
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setMaximumHeight(16)
        self.hover_label.setMinimumWidth(420)  # room left of it for temporary messages
        bar.addPermanentWidget(self.hover_label)
        bar.addPermanentWidget(self.busy_label)
        bar.addPermanentWidget(self.busy_bar)
        bar.addPermanentWidget(self.model_label)
        self._set_busy(None)

    # --- panes ---------------------------------------------------------------------------------
    def add_pane(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea = Area.RightDockWidgetArea
    ) -> QDockWidget:
        """Dock `widget`; View › Panes gets a toggle. Right-side panes share one tabbed dock area."""
        dock = QDockWidget(title, self)
        dock.setObjectName("dock_" + "".join(c if c.isalnum() else "_" for c in title.lower()))
        dock.setWidget(widget)
        existing = [
            d
            for d in self.findChildren(QDockWidget)
            if d is not dock and self.dockWidgetArea(d) == area and not d.isFloating()
        ]
        self.addDockWidget(area, dock)
        if area == Area.RightDockWidgetArea and existing:
            self.tabifyDockWidget(existing[0], dock)
            existing[0].raise_()  # the first right-side pane stays in front
        self.panes_menu.addAction(dock.toggleViewAction())
        return dock

    def install_panes(self) -> None:
        """Dock the training, augmentation and evaluation panes and connect them to each other.

        Called once the window is on screen (they take about a second to build: torch, pyqtgraph).
        """
        if getattr(self, "training_pane", None) is not None:
            return
        from segviewer.gui.panes.augment_pane import install_augment_pane
        from segviewer.gui.panes.evaluation_pane import install_evaluation_pane
        from segviewer.gui.panes.player import install_player_pane
        from segviewer.gui.panes.training_pane import install_training_pane

        self.training_pane = install_training_pane(self)
        self.augment_pane = install_augment_pane(self)
        self.evaluation_pane = install_evaluation_pane(self)
        self.player_pane = install_player_pane(self)
        form = self.training_pane.form
        self.augment_pane.preset_saved.connect(form.add_augment_preset)
        form.runs_folder_changed.connect(self.evaluation_pane.set_runs_folder)
        self.evaluation_pane.set_runs_folder(form.runs_folder())
        self.training_pane.training_finished.connect(
            lambda _event: self.evaluation_pane.set_runs_folder(form.runs_folder())
        )
        state = self.settings.value("window/state")
        if state is None or not self.restoreState(state):  # the saved layout, now that these docks exist
            docks = [d for d in self.findChildren(QDockWidget) if d.windowTitle() == "Training"]
            if docks:
                docks[0].raise_()

    def add_close_check(self, check: Callable[[QWidget], bool]) -> None:
        self._close_checks.append(check)

    # --- data sets -----------------------------------------------------------------------------
    def choose_dataset(self) -> None:
        start = str(self.dataset.root.parent) if self.dataset else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open data set folder", start)
        if folder:
            self.open_dataset(Path(folder))

    def open_dataset(self, root: Path | str, scheme: str | None = None) -> None:
        """List the data set in the background; `dataset_opened` or a message box follows."""
        from segviewer.core.datasets import open_dataset

        root = Path(root)
        self._open_request += 1
        request = self._open_request
        self._set_busy(f"Opening {root.name}…")
        run_in_background(
            lambda: open_dataset(root, scheme),
            lambda ds: self._on_dataset_listed(request, ds, scheme),
            lambda exc: self._on_dataset_failed(request, root, exc),
        )

    def open_demo(self) -> None:
        """Open the built-in demo set, generating it first (once) with progress in the status bar."""
        try:
            from segviewer.core import demo
        except ModuleNotFoundError:
            self.show_status(
                "The built-in demo data set is not part of this installation; use File › Open data set."
            )
            return
        self._set_busy("Creating the demo data set (first run only)…", maximum=0)
        if self.dataset is None:
            self.viewer.show_message(
                "Creating the demo data set of street scenes…\n(only the first time; it takes a few seconds)"
            )
        stop = self._stopping.is_set
        run_in_background(
            lambda: demo.ensure_demo(progress=self._demo_progress.emit, should_stop=stop),
            self.open_dataset,
            self._on_demo_failed,
        )

    def current_sample(self) -> Sample | None:
        return self.viewer.current_sample()

    def current_split(self) -> str | None:
        return self.dataset_pane.current_split()

    def open_sample(self, split: str, name: str, mode: str | None = None) -> bool:
        """Show the sample `name` of `split` (e.g. from the evaluation pane); `mode` e.g. "error"."""
        if self.dataset is None or (split != self.current_split() and not self.dataset_pane.set_split(split)):
            return False
        if mode is not None:
            self.viewer.set_mode(mode)
        return self.dataset_pane.select_sample(name)

    def _on_dataset_listed(self, request: int, dataset: Dataset, scheme: str | None) -> None:
        if request != self._open_request:
            return  # a newer request superseded this one
        self._set_busy(None)
        self.dataset, self.scheme_name = dataset, scheme
        prefs.add_recent_dataset(self.settings, dataset.root, scheme)
        self.setWindowTitle(f"{dataset.root.name} — segviewer")
        self.viewer.set_scheme(dataset.scheme)
        self.dataset_pane.set_dataset(dataset)
        total = sum(len(s) for s in dataset.splits.values())
        note = (
            f"; {len(dataset.problems)} problem(s) found, see the data set's tooltip"
            if dataset.problems
            else ""
        )
        self.show_status(f"Opened {dataset.root} ({dataset.format}, {total:,} samples){note}")
        self._check_scheme()
        self.dataset_opened.emit(dataset)

    def _on_dataset_failed(self, request: int, root: Path, exc: BaseException) -> None:
        if request != self._open_request:
            return
        self._set_busy(None)
        message = _message(exc, root)
        self.dataset_failed.emit(message)
        self._warn("Cannot open data set", message)

    def _on_sample_selected(self, sample: Sample) -> None:
        if self.dataset is not None:
            self.viewer.show_sample(self.dataset, sample)
            self.sample_changed.emit(sample)

    def _prefetch_neighbours(self, _sample: Sample) -> None:
        for step in (1, -1):
            neighbour = self.dataset_pane.neighbour(step)
            if neighbour is not None and self.dataset is not None:
                self.viewer.prefetch(self.dataset, neighbour)

    def _on_demo_failed(self, exc: BaseException) -> None:
        self._set_busy(None)
        if not self._stopping.is_set():
            self._warn("Cannot create the demo data set", _message(exc, "demo data"))

    def _on_demo_progress(self, done: int, total: int) -> None:
        self.busy_bar.setRange(0, total)
        self.busy_bar.setValue(done)

    # --- model ---------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load checkpoint", str(Path.home()), "Checkpoints (*.pt);;All files (*)"
        )
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Load a model in the background; a bad file gets a message box naming it."""
        self.predictions.load_checkpoint(path)

    def refresh_prediction(self) -> None:
        self.viewer.refresh_prediction()

    def _on_model_changed(self, predictor: Any) -> None:
        self.unload_action.setEnabled(predictor is not None)
        if predictor is None:
            self.model_label.setText("Model: none")
            return
        path = self.predictions.checkpoint
        self.model_label.setText(f"Model: {_model_title(predictor)} ({path.name if path else ''})")
        self.model_label.setToolTip(str(path))
        self.show_status(f"Loaded {path}; predictions are computed in the background")
        self._check_scheme()
        self.model_loaded.emit(str(path))

    def _check_scheme(self) -> None:
        predictor, dataset = self.predictions.predictor, self.dataset
        theirs = getattr(predictor, "scheme", None)
        if theirs is None or dataset is None or theirs.names == dataset.scheme.names:
            return
        path = self.predictions.checkpoint
        self._warn(
            "Checkpoint for other classes",
            f"{path}: this model was trained for the '{theirs.name}' label scheme ({theirs.num_classes} classes), "
            f"but the data set {dataset.root.name} uses '{dataset.scheme.name}' ({dataset.scheme.num_classes} classes). "
            "Predictions are drawn with the model's own colours; the error map compares different classes. "
            "Load a checkpoint trained on this kind of data for meaningful comparisons.",
        )

    # --- misc ----------------------------------------------------------------------------------
    def show_status(self, text: str, msecs: int = 10000) -> None:
        self.statusBar().showMessage(text, msecs)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.actions(), self)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About segviewer",
            f"<b>segviewer {__version__}</b><p>Browse driving-scene data sets with their pixel labels, train "
            "segmentation models, overlay predictions and compare per-class IoU.</p>",
        )

    def _warn(self, title: str, text: str) -> None:
        self.show_status(text.splitlines()[0] if text else title)
        QMessageBox.warning(self, title, text)

    def _set_busy(self, text: str | None, maximum: int = 0) -> None:
        self.busy_label.setText(text or "")
        self.busy_label.setVisible(bool(text))
        self.busy_bar.setVisible(bool(text))
        self.busy_bar.setRange(0, maximum)

    def focus_filter(self) -> None:
        self.dataset_dock.show()
        self.dataset_pane.filter_edit.setFocus()
        self.dataset_pane.filter_edit.selectAll()

    def _on_mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)

    def _apply_view_settings(self) -> None:
        s = self.settings
        self.viewer.set_opacity(prefs.read_int(s, "view/opacity", 50) / 100)
        self.colorblind_action.setChecked(prefs.read_bool(s, "view/colorblind", False))
        self.mode_actions[self.viewer.mode()].setChecked(True)

    def showEvent(self, event: QShowEvent) -> None:
        if not self._restored:  # after every pane is docked, so their places come back too
            self._restored = True
            geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
            if geometry is None or not self.restoreGeometry(geometry):
                self.resize(1400, 900)
            if state is not None:
                self.restoreState(state)
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(check(self) for check in self._close_checks):
            event.ignore()
            return
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/opacity", round(100 * self.viewer.opacity()))
        s.setValue("view/colorblind", self.viewer.colorblind())
        s.sync()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop background work and wait for it, so no thread outlives the window."""
        self._stopping.set()
        self.dataset_pane.shutdown()
        self.viewer.shutdown()
        self.predictions.wait(10000)
        QThreadPool.globalInstance().waitForDone(30000)  # listing a data set, loading a model, the demo


def _model_title(predictor: Any) -> str:
    name = str(getattr(predictor, "model_name", "model"))
    try:
        from segviewer.core.models import MODEL_TITLES  # torch is loaded already when a model is

        return MODEL_TITLES.get(name, name)
    except ImportError:
        return name


def _message(exc: BaseException, what: Any) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    log.error("unexpected error with %s: %r", what, exc)
    return f"{what}: something went wrong ({type(exc).__name__}: {exc}). Details are in the log file."
