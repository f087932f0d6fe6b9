"""Export as command…: the `segviewer train` (or torchrun) line for the form's settings, and a SLURM
script, for running the same training in a terminal, on a GPU machine or on a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError
from segviewer.core.train_command import shell_command, slurm_script


class ExportCommandDialog(QDialog):
    """Shows the command for `cfg` (run settings); Copy puts it on the clipboard, Save writes a SLURM script."""

    def __init__(self, cfg: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export as command")
        self.cfg = {k: v for k, v in cfg.items() if k not in ("out", "resume")}  # a new run wherever it runs
        self.processes = QSpinBox()
        self.processes.setRange(0, 64)
        self.processes.setSpecialValueText("one process (segviewer train)")
        self.processes.setSuffix(" GPU processes (torchrun)")
        self.processes.setToolTip("0: a plain `segviewer train`; more: `torchrun` with one process per GPU")
        self.hours = QSpinBox()
        self.hours.setRange(1, 240)
        self.hours.setValue(4)
        self.hours.setSuffix(" h")
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command.setMaximumHeight(90)
        copy = QPushButton("Copy")
        save = QPushButton("Save SLURM script…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(save, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.toPlainText()))
        save.clicked.connect(self._save_slurm)
        self.processes.valueChanged.connect(self._update)
        form = QFormLayout()
        form.addRow("Run as", self.processes)
        form.addRow("SLURM time limit", self.hours)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Run this where the data set folder is (the path is this machine's):"))
        layout.addWidget(self.command)
        layout.addWidget(buttons)
        self.resize(720, 260)
        self._update()

    def _update(self) -> None:
        self.command.setPlainText(shell_command(self.cfg, nproc=self.processes.value()))

    def save_slurm_to(self, path: str | Path) -> Path:
        """Write the batch script (atomically) and make it executable."""
        path = Path(path)
        text = slurm_script(self.cfg, gpus=self.processes.value(), hours=self.hours.value())
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
        path.chmod(path.stat().st_mode | 0o111)
        return path

    def _save_slurm(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self,
            "Save SLURM script",
            str(Path.home() / "segviewer-train.sbatch"),
            "Batch scripts (*.sbatch *.sh)",
        )
        if name:
            try:
                self.save_slurm_to(name)
            except UserError as exc:
                QMessageBox.warning(self, "Cannot save the script", str(exc))
