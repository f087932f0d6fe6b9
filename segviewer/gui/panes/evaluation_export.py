"""Saving the evaluation pane's results: the class table as CSV / Markdown and the confusion matrix as PNG.

Files are written atomically (no half-written file or temporary left behind); the save dialogs and the
message a failed save shows live here too, so the pane only wires buttons to them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError
from segviewer.gui.panes.evaluation_table import _csv, _markdown


def write_table(path: str | Path, rows: list[list[str]], fmt: str | None = None) -> Path:
    """Write the rows as CSV or Markdown (by `fmt` or the file suffix), atomically."""
    path = Path(path)
    fmt = fmt or ("markdown" if path.suffix.lower() in (".md", ".markdown") else "csv")
    text = _markdown(rows) if fmt == "markdown" else _csv(rows)
    _export_atomic(path, text.encode("utf-8"))
    return path


def write_png(path: str | Path, image: QImage, what: str = "the confusion matrix") -> Path:
    """Encode the image as PNG and write it atomically."""
    path = Path(path)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise UserError(f"{path}: {what} could not be encoded as PNG")
    _export_atomic(path, bytes(data))
    return path


def export_table_dialog(
    parent: QWidget, export: Callable[[str, str], object], show_message: Callable[..., None]
) -> None:
    """Ask where to save the table (CSV or Markdown), then `export(path, fmt)` and report the outcome."""
    path, chosen = QFileDialog.getSaveFileName(
        parent, "Export table", "class_iou.csv", "CSV (*.csv);;Markdown (*.md)"
    )
    if path:
        fmt = "markdown" if chosen.startswith("Markdown") or path.lower().endswith(".md") else "csv"
        save_and_report(lambda: export(path, fmt), path, show_message)


def export_matrix_dialog(
    parent: QWidget, export: Callable[[str], object], show_message: Callable[..., None]
) -> None:
    """Ask where to save the confusion matrix picture, then `export(path)` and report the outcome."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save confusion matrix", "confusion_matrix.png", "PNG (*.png)"
    )
    if path:
        save_and_report(lambda: export(path), path, show_message)


def save_and_report(write: Callable[[], object], path: str, show_message: Callable[..., None]) -> None:
    """Run `write`; tell the user where it saved, or why not and what to do (never a traceback)."""
    try:
        write()
    except UserError as exc:
        show_message(str(exc), error=True)
    except OSError as exc:
        show_message(
            f"{path}: could not be saved ({exc.strerror or exc}); choose another folder.", error=True
        )
    else:
        show_message(f"Saved {path}")


def _export_atomic(path: Path, data: bytes) -> None:
    atomic_write(
        path,
        lambda f: f.write(data),
        what="could not be saved",
        fix="choose another folder",
        create_folder=False,
    )
