"""The main window: wires the data set pane, the viewer and the model together; no domain logic here.

What the user looks at lives in `window.session` (core/session.py): subscribe to its events
(`window.session.events.mode.connect(...)`) and change it through its methods, never through a widget.

Adding to the window:
- a pane: `window.add_pane(title, widget, area)` docks it and lists it in View › Panes (right-side
  panes share one tabbed area); `window.add_shutdown(pane.shutdown)` ends its background work.
- a menu action: `menus.add_action(window, window.menus.file, "Text…", slot, "Ctrl+K")`.
- a layer over the picture: `window.viewer.view.add_layer(item)` (a QGraphicsItem in image pixels).
Other hooks: `dataset`, `dataset_opened(Dataset)`, `current_sample()`, `sample_changed(Sample)`,
`viewer` (`current_image()`, `current_mask()`), `open_sample(split, name, mode)`,
`load_checkpoint(path)`, `model_loaded(str)`, `refresh_prediction()`, `show_status(text)`, and
`add_close_check(fn)`: `fn(window) -> bool` asks before closing; False keeps the window open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QStyle,
    QWidget,
)

from segviewer import __version__
from segviewer.core import paths
from segviewer.core.datasets import Dataset, Sample
from segviewer.core.errors import UserError
from segviewer.core.session import Session
from segviewer.gui import background
from segviewer.gui import settings as prefs
from segviewer.gui.mask_editor import install_mask_editor
from segviewer.gui.menus import build_menus
from segviewer.gui.panes.dataset_pane import DatasetPane
from segviewer.gui.panes.viewer_pane import ViewerPane
from segviewer.gui.prediction import PredictionService
from segviewer.gui.shortcuts import ShortcutsDialog

log = logging.getLogger(__name__)
Area = Qt.DockWidgetArea
FIRST_START_SHARE = 0.9  # of the screen, on first start
# of the window on first start: the data set list + legend, and at most the right-side panes (which
# take what their contents need without scrolling, up to that share)
LEFT_SHARE, RIGHT_SHARE = 0.18, 0.36


class MainWindow(QMainWindow):
    dataset_opened = Signal(object)  # Dataset
    dataset_failed = Signal(str)
    sample_changed = Signal(object)  # Sample
    model_loaded = Signal(str)  # checkpoint path

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or prefs.make_settings()
        self.session = Session(
            opacity=prefs.read_int(self.settings, "view/opacity", 50) / 100,
            colorblind=prefs.read_bool(self.settings, "view/colorblind", False),
        )
        self._opening = background.Latest()
        self._growing = background.Latest()  # listings of the demo set while it is drawn
        self._close_checks: list[Callable[[QWidget], bool]] = []
        self._shutdowns: list[Callable[[], None]] = []
        self._restored = False
        self._closed = False
        self.training_pane: Any = None
        self.augment_pane: Any = None
        self.evaluation_pane: Any = None
        self.setWindowTitle("segviewer")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.predictions = PredictionService(parent=self)
        self.viewer = ViewerPane(self.predictions, self.session)
        self.setCentralWidget(self.viewer)
        self.dataset_pane = DatasetPane()
        self.dataset_pane.setMinimumWidth(220)
        self._build_status_bar()
        self.menus = build_menus(self)
        self.dataset_dock = self.add_pane("Data set", self.dataset_pane, Area.LeftDockWidgetArea)
        self.legend_dock = self.add_pane("Classes", self.viewer.legend, Area.LeftDockWidgetArea)
        self.splitDockWidget(self.dataset_dock, self.legend_dock, Qt.Orientation.Vertical)
        self.mask_editor = install_mask_editor(self)

        self.dataset_pane.sample_selected.connect(self._on_sample_selected)
        self.dataset_pane.split_changed.connect(lambda split: setattr(self.session, "split", split or None))
        self.viewer.status_message.connect(self.show_status)
        self.viewer.sample_shown.connect(self._prefetch_neighbours)
        self.viewer.hover_text_changed.connect(self.hover_label.setText)
        self.predictions.model_changed.connect(self._on_model_changed)
        self.predictions.load_failed.connect(lambda msg: self._warn("Cannot load checkpoint", msg))
        self.predictions.loading_changed.connect(
            lambda busy: self._set_busy("Loading the model…" if busy else None)
        )

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
        if area == Area.RightDockWidgetArea:
            # in a scroll area: a right-side pane's own minimum width (the training form's ~480 px) must
            # not push the window past a laptop screen
            scroll = QScrollArea(dock)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            dock.setWidget(scroll)
        else:
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
        self.menus.panes.addAction(dock.toggleViewAction())
        return dock

    def show_pane(self, widget: QWidget) -> None:
        """Bring the dock holding `widget` to the front (and back on screen if it was closed)."""
        for dock in self.findChildren(QDockWidget):
            if _pane_of(dock) is widget:
                dock.show()
                dock.raise_()

    def install_panes(self) -> None:
        """Dock the training, augmentation and evaluation panes and connect them to each other.

        Called once the window is on screen (they take about a second to build: torch, pyqtgraph).
        """
        if getattr(self, "training_pane", None) is not None:
            return
        from segviewer.gui.panes.augment_pane import install_augment_pane
        from segviewer.gui.panes.evaluation_pane import install_evaluation_pane
        from segviewer.gui.panes.player import install_player_pane
        from segviewer.gui.panes.review_pane import install_review_pane
        from segviewer.gui.panes.training_pane import install_training_pane

        self.training_pane = install_training_pane(self)
        self.augment_pane = install_augment_pane(self)
        self.evaluation_pane = install_evaluation_pane(self)
        self.player_pane = install_player_pane(self)
        self.review_pane = install_review_pane(self)
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
                self.resizeDocks(
                    docks, [self._fitting_width(docks[0], RIGHT_SHARE)], Qt.Orientation.Horizontal
                )

    def add_close_check(self, check: Callable[[QWidget], bool]) -> None:
        """`check(window) -> bool` asks the user before closing (e.g. during training); False keeps it open."""
        self._close_checks.append(check)

    def add_shutdown(self, stop: Callable[[], None]) -> None:
        """`stop()` ends a pane's background work when the window closes (after every close check)."""
        self._shutdowns.append(stop)

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
        self._set_busy(f"Opening {root.name}…")
        self._opening.start(self._open(root, scheme, open_dataset))

    async def _open(self, root: Path, scheme: str | None, open_dataset: Callable[..., Dataset]) -> None:
        try:
            dataset = await self._opening.run(open_dataset, root, scheme)
        except Exception as exc:  # noqa: BLE001 - a message box naming the folder
            self._on_dataset_failed(root, exc)
        else:
            self._on_dataset_listed(dataset, scheme)

    def open_demo(self) -> None:
        """Open the built-in demo set, generating it first (once) with progress in the status bar."""
        try:
            from segviewer.core import demo
        except ModuleNotFoundError:
            self.show_status(
                "The built-in demo data set is not part of this installation; use File › Open data set."
            )
            return
        self._set_busy("Drawing the demo data set (first start only)…", maximum=0)
        if self.dataset is None:
            self.viewer.show_message(
                "Drawing the demo data set of street scenes (first start only)…\n"
                "The first samples appear in a few seconds; the rest join the list as they are drawn."
            )
        background.spawn(self._create_demo(demo.ensure_demo, paths.demo_dir()))

    async def _create_demo(self, ensure_demo: Callable[..., Path], target: Path) -> None:
        """Draw the demo set into `target`, listing what is there while it grows, then open it."""
        from segviewer.core.datasets import open_dataset

        listed = [0]

        def progress(done: int, total: int) -> None:
            self._on_demo_progress(done, total)
            growing = self.dataset is None or self.dataset.root == target
            if growing and done > listed[0] and not self._growing.busy:
                listed[0] = done
                self._growing.start(self._list_growing(open_dataset, target))

        try:
            root = await background.call_with_progress(
                lambda report, stop: ensure_demo(target, progress=report, should_stop=stop), progress
            )
        except Exception as exc:  # noqa: BLE001 - a message box, never a crash
            self._set_busy(None)
            self._warn("Cannot create the demo data set", _message(exc, "demo data"))
        else:
            self._growing.cancel()
            self.open_dataset(root)

    async def _list_growing(self, open_dataset: Callable[..., Dataset], target: Path) -> None:
        try:
            dataset = await self._growing.run(open_dataset, target, None)
        except Exception:  # noqa: BLE001 - nothing listable yet: the next scene tries again
            return
        if self.dataset is None or self.dataset.root == target:
            self._on_dataset_listed(dataset, None, announce=False)

    @property
    def dataset(self) -> Dataset | None:
        return self.session.dataset

    @property
    def scheme_name(self) -> str | None:
        return self.session.scheme_name

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

    def _on_dataset_listed(self, dataset: Dataset, scheme: str | None, announce: bool = True) -> None:
        """Show a listed data set; the same folder again keeps the split and sample (it grew).

        `announce=False` while the demo set is still being drawn: no status, no `dataset_opened` yet.
        """
        old = self.dataset
        if old is not None and old.root == dataset.root and scheme == self.scheme_name:
            self.session.dataset = dataset
            self.dataset_pane.grow(dataset)
        else:
            self.session.open(dataset, scheme)
            self.setWindowTitle(f"{dataset.root.name} — segviewer")
            self.viewer.set_scheme(dataset.scheme)
            self.dataset_pane.set_dataset(dataset)
        if not announce:
            return
        self._set_busy(None)
        prefs.add_recent_dataset(self.settings, dataset.root, scheme)
        total = sum(len(s) for s in dataset.splits.values())
        note = (
            f"; {len(dataset.problems)} problem(s) found, see the data set's tooltip"
            if dataset.problems
            else ""
        )
        self.show_status(f"Opened {dataset.root} ({dataset.format}, {total:,} samples){note}")
        self._check_scheme()
        self.dataset_opened.emit(dataset)

    def _on_dataset_failed(self, root: Path, exc: BaseException) -> None:
        self._set_busy(None)
        message = _message(exc, root)
        self.dataset_failed.emit(message)
        self._warn("Cannot open data set", message)

    def _on_sample_selected(self, sample: Sample) -> None:
        if self.dataset is not None:
            self.session.sample = sample
            self.viewer.show_sample(self.dataset, sample)
            self.sample_changed.emit(sample)

    def _prefetch_neighbours(self, _sample: Sample) -> None:
        neighbours = [self.dataset_pane.neighbour(step) for step in (1, -1)]
        if self.dataset is not None:
            self.viewer.prefetch(self.dataset, [n for n in neighbours if n is not None])

    def _on_demo_progress(self, done: int, total: int) -> None:
        self.busy_bar.setRange(0, total)
        self.busy_bar.setValue(done)

    # --- model ---------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load checkpoint", str(Path.home()), "Models (*.pt *.onnx);;All files (*)"
        )
        if path:
            self.load_checkpoint(path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Load a model in the background; a bad file gets a message box naming it."""
        self.predictions.load_checkpoint(path)

    def refresh_prediction(self) -> None:
        self.viewer.refresh_prediction()

    def _on_model_changed(self, predictor: Any) -> None:
        self.session.checkpoint = self.predictions.checkpoint if predictor is not None else None
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

    def showEvent(self, event: QShowEvent) -> None:
        if not self._restored:  # after every pane is docked, so their places come back too
            self._restored = True
            geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
            if geometry is None or not self.restoreGeometry(geometry):
                self._first_start_size()
            if state is not None:
                self.restoreState(state)
        super().showEvent(event)

    def _first_start_size(self) -> None:
        """Large on first start (90% of the screen, centred), the picture the widest thing on it."""
        screen = self.screen().availableGeometry()
        width, height = round(FIRST_START_SHARE * screen.width()), round(FIRST_START_SHARE * screen.height())
        self.setGeometry(
            screen.x() + (screen.width() - width) // 2,
            screen.y() + (screen.height() - height) // 2,
            width,
            height,
        )
        self.resizeDocks([self.dataset_dock], [round(LEFT_SHARE * width)], Qt.Orientation.Horizontal)

    def _fitting_width(self, dock: QDockWidget, share: float) -> int:
        """The width `dock`'s pane prefers (at least what it needs without a horizontal scroll bar), at
        most `share` of the window."""
        scroll_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        pane = _pane_of(dock)
        needed = max(pane.minimumSizeHint().width(), pane.sizeHint().width())
        return min(needed + scroll_bar + 16, round(share * self.width()))  # + the dock's own frame

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        if not all(check(self) for check in self._close_checks):
            event.ignore()
            return
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/opacity", round(100 * self.session.opacity))
        s.setValue("view/colorblind", self.session.colorblind)
        s.sync()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop background work and wait for it, so no thread outlives the window."""
        if self._closed:
            return
        self._closed = True
        for stop in self._shutdowns:
            stop()
        self.dataset_pane.shutdown()
        self.viewer.shutdown()
        self.predictions.shutdown()
        self._opening.shutdown()
        self._growing.shutdown()
        background.shutdown()


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


def _pane_of(dock: QDockWidget) -> QWidget:
    """The pane a dock shows (right-side panes sit in a scroll area)."""
    inner = dock.widget()
    return inner.widget() if isinstance(inner, QScrollArea) else inner
