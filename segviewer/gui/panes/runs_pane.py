"""The list of past training runs: reload a best checkpoint, resume a run, open its folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.model_registry import model_title
from segviewer.core.runs import RunInfo, list_runs, read_run
from segviewer.gui import background

COLUMNS = ("Date", "Model", "Epochs", "Best mIoU", "Status")
STATUS_TEXT = {
    "finished": "finished",
    "incomplete": "stopped early — can resume",
    "failed": "failed",
    "no checkpoint": "no checkpoint saved",
    "broken": "unreadable config.json",
}


class RunsPane(QWidget):
    """Table of the runs in one folder, newest first; listing runs on a helper thread."""

    load_checkpoint_requested = Signal(str)  # path of a best.pt
    resume_requested = Signal(object)  # RunInfo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folder: Path | None = None
        self._runs: list[RunInfo] = []
        self._running_dir: Path | None = None
        self._listing = background.Latest()
        self._followed: list[Path] = []  # run folders from elsewhere (Open run…), listed too

        self.folder_label = QLabel("No runs folder")
        self.folder_label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._load_best())

        self.load_button = QPushButton("Show in viewer")
        self.load_button.setToolTip("Load this run's best checkpoint into the viewer to see its predictions")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue training this run from its last checkpoint with its settings")
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Show the run's files (config, metrics.csv, checkpoints)")
        self.refresh_button = QPushButton("Refresh")
        self.load_button.clicked.connect(self._load_best)
        self.resume_button.clicked.connect(self._resume)
        self.open_button.clicked.connect(self._open_folder)
        self.refresh_button.clicked.connect(self.refresh)

        buttons = QHBoxLayout()
        for button in (self.load_button, self.resume_button, self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # --- public -----------------------------------------------------------------------------
    def set_folder(self, folder: Path) -> None:
        self._folder = Path(folder)
        self.folder_label.setText(f"Runs in {self._folder}")
        self.refresh()

    def set_running(self, run_dir: Path | None) -> None:
        """Mark the run being trained now (its row cannot be resumed meanwhile)."""
        self._running_dir = Path(run_dir) if run_dir else None
        self._update_buttons()

    def refresh(self) -> None:
        if self._folder is None and not self._followed:
            return
        self._listing.start(self._list(self._folder))

    def add_followed(self, run_dir: Path) -> None:
        """List `run_dir` (a run written elsewhere, e.g. on a cluster) next to the local runs."""
        run_dir = Path(run_dir)
        if run_dir not in self._followed:
            self._followed.insert(0, run_dir)
        self.refresh()

    async def _list(self, folder: Path) -> None:
        self._on_listed(await self._listing.run(_list_with, folder, list(self._followed)))

    def runs(self) -> list[RunInfo]:
        return list(self._runs)

    def selected_run(self) -> RunInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self._runs[rows[0].row()] if rows else None

    def shutdown(self) -> None:
        self._listing.shutdown()

    # --- slots ------------------------------------------------------------------------------
    def _on_listed(self, result: list[RunInfo]) -> None:
        selected = self.selected_run()
        self._runs = list(result)
        self.table.setRowCount(len(self._runs))
        for row, run in enumerate(self._runs):
            miou = "—" if run.best_miou is None else f"{run.best_miou:.3f}"
            epochs = f"{run.epochs} of {run.planned_epochs}" if run.planned_epochs else str(run.epochs)
            date = run.date.strftime("%Y-%m-%d %H:%M") if run.date else "—"
            status = STATUS_TEXT.get(run.status, run.status)
            if self._running_dir is not None and run.path == self._running_dir:
                status = "training now"
            cells = (date, model_title(run.model), epochs, miou, status)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{run.path}\n{run.message}" if run.message else str(run.path))
                self.table.setItem(row, col, item)
            if selected is not None and run.path == selected.path:
                self.table.selectRow(row)
        if self.empty_hint():
            self.table.setToolTip(self.empty_hint())
        self._update_buttons()

    def empty_hint(self) -> str:
        return "" if self._runs else "No runs yet: press Start to train a model; its run appears here."

    def _update_buttons(self) -> None:
        run = self.selected_run()
        self.load_button.setEnabled(run is not None and run.best_checkpoint is not None)
        resumable = (
            run is not None
            and run.last_checkpoint is not None
            and run.status in ("incomplete", "failed")
            and self._running_dir is None
        )
        self.resume_button.setEnabled(resumable)
        if run is not None and run.status == "finished":
            self.resume_button.setToolTip("This run already finished all its epochs")
        elif self._running_dir is not None:
            self.resume_button.setToolTip("Wait for the current training to end")
        else:
            self.resume_button.setToolTip(
                "Continue training this run from its last checkpoint with its settings"
            )
        self.open_button.setEnabled(run is not None)

    def _load_best(self) -> None:
        run = self.selected_run()
        if run is not None and run.best_checkpoint is not None:
            self.load_checkpoint_requested.emit(str(run.best_checkpoint))

    def _resume(self) -> None:
        run = self.selected_run()
        if run is not None:
            self.resume_requested.emit(run)

    def _open_folder(self) -> None:
        run = self.selected_run()
        if run is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))


def _list_with(folder: Path | None, followed: list[Path]) -> list[RunInfo]:
    """The runs in `folder`, then the followed run folders that are not among them."""
    runs = list_runs(folder) if folder is not None else []
    known = {r.path for r in runs}
    for path in followed:
        info = read_run(path) if path not in known else None
        if info is not None:
            runs.append(info)
    return runs
