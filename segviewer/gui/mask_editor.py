"""Mask editing in the viewer: mouse input on the image becomes edit-session tools; edits autosave.

The controller between the viewer (what is on screen), `core.editing.EditSession` (the mask and its
history), the `EditLayer` (incremental repaint) and the `EditToolbar` (what the user chose). It needs
from the window only public hooks: `viewer` (with `replace_mask`), `dataset`, `current_split()`,
`add_close_check()`, `show_status()`, `predictions` and the menu bar; `install_mask_editor(window)` is the
one line the window calls.

Edits are saved as corrections through `core.corrections.Corrections` (never over the original mask):
on sample change, on leaving edit mode and on close.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QMouseEvent, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from segviewer.core.corrections import Corrections
from segviewer.core.datasets import Sample
from segviewer.core.editing import EditSession, Rect
from segviewer.core.errors import UserError
from segviewer.gui.edit_layer import EditLayer
from segviewer.gui.panes.edit_toolbar import NEEDS_PREDICTION, SIZED_TOOLS, EditToolbar

BRUSH_KEYS = (QKeySequence("["), QKeySequence("]"))


EDIT_Z = 100  # the editor's items sit at EDIT_Z + 1 (the edited mask), + 2 (a shape drawn), + 3 (cursor)


def _cosmetic_pen(color: QColor, width: float = 1.5, dashed: bool = False) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)  # the same on-screen width at every zoom
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


class MaskEditor(QObject):
    """Edit mode for the ground truth of the sample on screen."""

    correction_saved = Signal(str)  # the file written
    sample_corrected = Signal(object)  # the Sample whose correction was written

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.viewer = window.viewer
        self.view: QGraphicsView = self.viewer.view
        self.toolbar = EditToolbar(window)
        self.layer = EditLayer()
        self.layer.hide()
        self.cursor = QGraphicsEllipseItem()
        self.cursor.setPen(_cosmetic_pen(QColor(255, 255, 255)))
        self.cursor.setZValue(3)
        self.cursor.hide()
        self.outline = QGraphicsPathItem()  # polygon, lasso or box being drawn
        self.outline.setPen(_cosmetic_pen(QColor(255, 230, 0), 1.5, dashed=True))
        self.outline.setZValue(2)
        for item in (self.layer, self.outline, self.cursor):
            self._add_layer(item)

        self._session: EditSession | None = None
        self._target: tuple[Corrections, str, Sample] | None = None  # where the session's correction goes
        self._unsaved: dict[
            Sample, tuple[EditSession, tuple[Corrections, str, Sample]]
        ] = {}  # saves that failed
        self._editing = False
        self._dragging = False
        self._last: tuple[int, int] | None = None
        self._points: list[tuple[float, float]] = []
        self._tool_before_picker = "brush"
        self._cursor_at: QPointF | None = None
        self._pan_from: QPointF | None = None
        self._taken_keys: list[tuple[QAction, list[QKeySequence]]] = []

        self.close_shape_action = QAction("Close the polygon", self)
        self.close_shape_action.setShortcuts([QKeySequence("Return"), QKeySequence("Enter")])
        self.close_shape_action.triggered.connect(self.close_polygon)
        self.cancel_shape_action = QAction("Cancel the polygon", self)
        self.cancel_shape_action.setShortcut(QKeySequence("Escape"))
        self.cancel_shape_action.triggered.connect(self.cancel_shape)
        self._set_shape_in_progress(False)

        self.toolbar.edit_toggled.connect(self.set_editing)
        self.toolbar.tool_changed.connect(self._on_tool_changed)
        self.toolbar.size_changed.connect(lambda _size: self._update_cursor())
        self.toolbar.only_overwrite_changed.connect(self._on_only_overwrite)
        self.toolbar.undo_requested.connect(self.undo)
        self.toolbar.redo_requested.connect(self.redo)
        self.viewer.sample_shown.connect(self._on_sample_shown)
        self.viewer.frame_shown.connect(self._on_frame_shown)
        self._connect_view_state()
        window.dataset_opened.connect(self._on_dataset_opened)
        window.predictions.prediction_ready.connect(lambda *_: self._update_prediction_tools())
        window.predictions.model_changed.connect(lambda *_: self._update_prediction_tools())
        self.view.viewport().installEventFilter(self)
        self._update_prediction_tools()

    # --- public API ----------------------------------------------------------------------------
    def editing(self) -> bool:
        return self._editing

    def session(self) -> EditSession | None:
        return self._session

    def set_editing(self, on: bool) -> None:
        """Enter or leave edit mode; leaving it saves the correction."""
        if on and not self._editing:
            if self.viewer.current_image() is None or self.window.dataset is None:
                self.window.show_status("Open a data set and choose a sample to edit its mask.")
                self.toolbar.set_editing(False)
                return
            self._editing = True
            if self.viewer.mode() != "gt":
                self.viewer.set_mode("gt")
            if self._session is None:
                self._start_session()
            self._take_brush_keys(True)
            self.view.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
            self._show_layer()
            self.window.show_status("Editing the ground truth; the original mask file is never changed.")
        elif not on and self._editing:
            self._editing = False
            self.cancel_shape()
            self._finish_stroke()
            self._take_brush_keys(False)
            self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            self.view.viewport().unsetCursor()
            self.layer.hide()
            self.cursor.hide()
            self.save()
            if self._session is not None and self._target is not None:
                if self._target[2] == self.viewer.current_sample():  # legend shares, side-by-side, error map
                    self.viewer.replace_mask(self._session.mask)
        self.toolbar.set_editing(self._editing)
        self._update_prediction_tools()
        self._update_history()

    def save(self) -> bool:
        """Write the correction if the mask changed since the last save; False (and a message) on failure."""
        return self._save(self._session, self._target)

    def _save(self, session: EditSession | None, target: tuple[Corrections, str, Sample] | None) -> bool:
        if session is None or target is None or not session.modified:
            return True
        store, split, sample = target
        try:
            path = store.write(split, sample.name, session.mask)
        except (UserError, ValueError) as exc:
            QMessageBox.warning(self.window, "Cannot save the corrected mask", str(exc))
            return False
        session.mark_saved()
        where = f" ({store.where()})" if store.uses_data_home else ""
        self.window.show_status(f"Saved the corrected mask to {path}{where}")
        self.correction_saved.emit(str(path))
        self.sample_corrected.emit(sample)
        return True

    def undo(self) -> None:
        self._finish_stroke()  # Ctrl+Z in the middle of a drag undoes that drag, and the drag ends
        if self._session is not None:
            self._changed(self._session.undo())

    def redo(self) -> None:
        self._finish_stroke()
        if self._session is not None:
            self._changed(self._session.redo())

    def close_polygon(self) -> None:
        """Fill the polygon drawn so far (Enter or double-click)."""
        points, self._points = self._points, []
        self._set_shape_in_progress(False)
        if self._session is not None and len(points) >= 3:
            self._changed(self._session.polygon(points, self.toolbar.paint_class()))

    def cancel_shape(self) -> None:
        self._points = []
        self._dragging = False
        self._set_shape_in_progress(False)

    def close_check(self, _window: QWidget) -> bool:
        """Before the window closes: save (again, what could not be saved before), or ask."""
        self._finish_stroke()
        saved = self.save()
        for sample, (session, target) in list(self._unsaved.items()):
            if self._save(session, target):
                del self._unsaved[sample]
        if saved and not self._unsaved:
            return True
        answer = QMessageBox.question(
            self.window,
            "Close without the edits?",
            "The corrected mask could not be saved. Close anyway and lose the unsaved edits?",
        )
        return answer == QMessageBox.StandardButton.Yes

    # --- sessions ------------------------------------------------------------------------------
    def _start_session(self) -> None:
        image, sample, dataset = (
            self.viewer.current_image(),
            self.viewer.current_sample(),
            self.window.dataset,
        )
        split = self.window.current_split()
        if image is None or sample is None or dataset is None or split is None or self.viewer.scheme is None:
            return
        mask = self.viewer.current_mask()
        ignore = self.viewer.scheme.ignore_index
        if mask is None:  # an unlabelled image: start from "nothing labelled"
            mask = np.full(image.shape[:2], ignore, np.uint8)
        self._session = EditSession(mask, ignore)
        self._session.set_only_overwrite(self.toolbar.only_overwrite())
        self._target = (Corrections(dataset.root), split, sample)
        if self.toolbar.scheme() != self.viewer.scheme:  # keep the class choices from sample to sample
            self.toolbar.set_scheme(self.viewer.scheme, self.viewer.palette())
        self.viewer.replace_mask(self._session.mask)  # the viewer reads the live, edited array

    def _on_sample_shown(self, sample: Sample) -> None:
        if self._target is not None and self._target[2] == sample and self._session is not None:
            self.viewer.replace_mask(self._session.mask)  # shown again: keep the edits and their history
            if self._editing:
                self._show_layer()
            return
        self._finish_stroke()
        self.cancel_shape()
        self._leave_session()
        if sample in self._unsaved:  # its correction could not be saved: the edits come back
            self._session, self._target = self._unsaved.pop(sample)
            self.viewer.replace_mask(self._session.mask)
            if self._editing:
                self._show_layer()
            self._update_history()
            return
        dataset, split = self.window.dataset, self.window.current_split()
        if dataset is not None and split is not None and self.viewer.current_image() is not None:
            store = Corrections(dataset.root)
            try:
                corrected = store.read(split, sample.name) if store.has(split, sample.name) else None
            except (UserError, ValueError) as exc:
                self.window.show_status(str(exc))
                corrected = None
            if corrected is not None and corrected.shape == self.viewer.current_image().shape[:2]:
                self.viewer.replace_mask(corrected)
        if self._editing:
            if self.viewer.current_image() is None:
                self.set_editing(False)
            else:
                self._start_session()
                self._show_layer()
        self._update_history()
        self._update_prediction_tools()

    def _leave_session(self) -> None:
        """Save and drop the session; one whose save fails is kept, so its edits are not lost."""
        if not self.save() and self._session is not None and self._target is not None:
            self._unsaved[self._target[2]] = (self._session, self._target)
        self._session, self._target = None, None
        self.layer.hide()

    def _on_dataset_opened(self, _dataset: Any) -> None:
        self._finish_stroke()
        self._leave_session()
        self.set_editing(False)
        if self.viewer.scheme is not None:
            self.toolbar.set_scheme(self.viewer.scheme, self.viewer.palette())
        self._update_history()

    def _on_frame_shown(self) -> None:
        if self._editing:
            self._show_layer()

    def _on_mode_changed(self, mode: str) -> None:
        if self._editing and mode != "gt":
            self.set_editing(False)
            self.window.show_status("Left edit mode: masks are edited in the ground-truth view (key 2).")

    def _show_layer(self) -> None:
        image, session, scheme = self.viewer.current_image(), self._session, self.viewer.scheme
        if image is None or session is None or scheme is None or session.mask.shape != image.shape[:2]:
            self.layer.hide()
            return
        opacity, drawn = self._overlay_look(scheme.ignore_index)
        self.layer.set_content(image, session.mask, self.viewer.palette(), opacity, drawn)
        self.layer.show()

    # --- the window's view state: window.session, viewer.drawn_classes(), viewer.view.add_layer ---
    def _add_layer(self, item: QGraphicsItem) -> None:
        z = item.zValue()
        self.view.add_layer(item)
        item.setZValue(EDIT_Z + z)  # above the picture and other layers, in this order

    def _connect_view_state(self) -> None:
        self.window.session.events.mode.connect(self._on_mode_changed)
        self.viewer.legend.table.cellDoubleClicked.connect(self._on_legend_double_clicked)

    def _overlay_look(self, ignore_index: int) -> tuple[float, np.ndarray]:
        """(opacity, (256,) bool of the classes drawn), as the viewer draws them."""
        return self.window.session.opacity, self.viewer.drawn_classes()

    # --- mouse and keys ------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._editing or self._session is None:
            return False
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            if self._pan(kind, event):
                return True
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._on_press(self._image_pos(event))
            return True
        if kind == QEvent.Type.MouseMove:
            pos = self._image_pos(event)
            self._update_cursor(pos)
            if self._dragging:
                self._on_drag(pos)
            return False  # the hover readout keeps working
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            self._on_release(self._image_pos(event))
            return True
        if kind == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.LeftButton:
            if self.toolbar.tool() == "polygon":
                pos = self._image_pos(event)
                last = self._points[-1] if self._points else None
                if last is None or abs(last[0] - pos.x()) + abs(last[1] - pos.y()) > 1:
                    self._points.append((pos.x(), pos.y()))  # no press came before this double-click
                self.close_polygon()
            return True
        if kind == QEvent.Type.Wheel and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120.0 if isinstance(event, QWheelEvent) else 0
            if steps:
                self.toolbar.step_size(1 if steps > 0 else -1)
            return True
        if kind == QEvent.Type.Leave:
            self.cursor.hide()
        return False

    def _pan(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        """The middle button drags the image while the left one paints."""
        pos = event.position()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = pos
            return True
        if self._pan_from is None:
            return False
        if kind == QEvent.Type.MouseMove:
            delta = pos - self._pan_from
            self._pan_from = pos
            h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
            h.setValue(h.value() - round(delta.x()))
            v.setValue(v.value() - round(delta.y()))
            return True
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            return True
        return False

    def _image_pos(self, event: QMouseEvent) -> QPointF:
        return self.view.mapToScene(event.position().toPoint())

    def _on_press(self, pos: QPointF) -> None:
        session, tool = self._session, self.toolbar.tool()
        x, y = math.floor(pos.x()), math.floor(pos.y())
        if tool in SIZED_TOOLS:
            session.begin_stroke()
            self._dragging, self._last = True, (x, y)
            self._paint_segment((x, y), (x, y))
        elif tool == "fill":
            self._changed(session.flood_fill(x, y, self.toolbar.paint_class()))
        elif tool == "picker":
            if 0 <= x < session.width and 0 <= y < session.height:
                self.toolbar.set_paint_class(session.pick(x, y))
            self.toolbar.set_tool(self._tool_before_picker)
        elif tool == "polygon":
            self._points.append((pos.x(), pos.y()))
            self._set_shape_in_progress(True)
            self._draw_outline(closed=False)
        elif tool in NEEDS_PREDICTION:
            prediction = self._prediction()
            if prediction is None:
                self.window.show_status("The model's prediction for this image is not ready yet.")
            elif tool == "fill_prediction":
                self._changed(session.fill_from_prediction(prediction, x, y))
            else:
                self._dragging, self._points = True, [(pos.x(), pos.y())]
                self._draw_outline(closed=True)

    def _on_drag(self, pos: QPointF) -> None:
        tool = self.toolbar.tool()
        if tool in SIZED_TOOLS:
            here = (math.floor(pos.x()), math.floor(pos.y()))
            if here != self._last:
                self._paint_segment(self._last, here)
                self._last = here
        elif tool == "accept_rect":
            self._points = self._points[:1] + [(pos.x(), pos.y())]
            self._draw_outline(closed=True)
        elif tool == "accept_lasso":
            self._points.append((pos.x(), pos.y()))
            self._draw_outline(closed=True)

    def _on_release(self, pos: QPointF) -> None:
        if not self._dragging:
            return
        tool = self.toolbar.tool()
        if tool in SIZED_TOOLS:
            self._finish_stroke()
            return
        self._dragging = False
        points, self._points = self._points, []
        self.outline.setPath(QPainterPath())
        prediction = self._prediction()
        if prediction is None:
            return
        if tool == "accept_rect" and points:
            (x0, y0), (x1, y1) = points[0], (pos.x(), pos.y())
            rect = Rect(
                math.floor(min(x0, x1)),
                math.floor(min(y0, y1)),
                math.ceil(max(x0, x1)),
                math.ceil(max(y0, y1)),
            )
            self._changed(self._session.accept_prediction_rect(prediction, rect))
        elif tool == "accept_lasso" and len(points) >= 3:
            self._changed(self._session.accept_prediction_lasso(prediction, points))

    def _paint_segment(self, p0: tuple[int, int], p1: tuple[int, int]) -> None:
        session, size = self._session, self.toolbar.size()
        if self.toolbar.tool() == "eraser":
            rect = session.erase(p0, p1, size)
        else:
            rect = session.brush(p0, p1, size, self.toolbar.paint_class())
        self.layer.refresh(rect)

    def _finish_stroke(self) -> None:
        painting = self._dragging and self.toolbar.tool() in SIZED_TOOLS
        if self._session is not None:
            self._session.end_stroke()
        self._dragging = False
        self._update_history()
        if painting:
            self._update_shares()

    def _changed(self, rect: Rect) -> None:
        self.layer.refresh(rect)
        self._update_history()
        if not rect.empty:
            self._update_shares()

    def _update_shares(self) -> None:
        """The legend's ground-truth column after an edit, from the session's running counts."""
        session = self._session
        if (
            session is not None
            and self._target is not None
            and self._target[2] == self.viewer.current_sample()
        ):
            self.viewer.replace_mask(session.mask, session.class_shares(), redraw=not self._editing)

    # --- small helpers -------------------------------------------------------------------------
    def _prediction(self) -> np.ndarray | None:
        """The model's mask for this image, when it is in this data set's classes and the image's size."""
        pred, scheme = self.viewer.current_prediction(), self.viewer.scheme
        theirs = getattr(self.window.predictions.predictor, "scheme", None)
        if pred is None or scheme is None or theirs is None or theirs.names != scheme.names:
            return None
        if self._session is None or pred[0].shape != self._session.mask.shape:
            return None
        return pred[0]

    def _update_prediction_tools(self) -> None:
        if self.window.predictions.predictor is None:
            self.toolbar.set_prediction_available(False)
        elif self._prediction() is None and self._session is not None:
            self.toolbar.set_prediction_available(
                False, "wait for the prediction of a model for these classes"
            )
        else:
            self.toolbar.set_prediction_available(True)

    def _update_history(self) -> None:
        session = self._session
        self.toolbar.set_history(
            session is not None and session.can_undo(), session is not None and session.can_redo()
        )

    def _update_cursor(self, pos: QPointF | None = None) -> None:
        """The brush outline at the cursor, as large as the brush paints."""
        if pos is not None:
            self._cursor_at = pos
        pos = self._cursor_at
        if not self._editing or pos is None or self.toolbar.tool() not in SIZED_TOOLS:
            self.cursor.hide()
            return
        size = self.toolbar.size() // 2 * 2 + 1  # the disk the brush paints is 2 * (size // 2) + 1 wide
        cx, cy = math.floor(pos.x()) + 0.5, math.floor(pos.y()) + 0.5
        self.cursor.setRect(QRectF(cx - size / 2, cy - size / 2, size, size))
        self.cursor.show()

    def _draw_outline(self, closed: bool) -> None:
        path = QPainterPath()
        points = self._points
        if self.toolbar.tool() == "accept_rect" and len(points) == 2:
            (x0, y0), (x1, y1) = points
            path.addRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        elif points:
            path.moveTo(*points[0])
            for point in points[1:]:
                path.lineTo(*point)
            if closed:
                path.closeSubpath()
        self.outline.setPath(path)

    def _set_shape_in_progress(self, on: bool) -> None:
        self.close_shape_action.setEnabled(on)
        self.cancel_shape_action.setEnabled(on)
        if not on:
            self.outline.setPath(QPainterPath())

    def _on_tool_changed(self, tool: str) -> None:
        if tool != "picker":
            self._tool_before_picker = tool
        self.cancel_shape()
        self._update_cursor()

    def _on_only_overwrite(self, classes: list[int] | None) -> None:
        if self._session is not None:
            self._session.set_only_overwrite(classes)

    def _on_legend_double_clicked(self, row: int, _column: int) -> None:
        scheme = self.viewer.scheme
        if scheme is not None and 0 <= row < len(scheme.classes):
            self.toolbar.set_paint_class(scheme.classes[row].id)
            if self._editing and self.toolbar.tool() in ("eraser", "picker"):
                self.toolbar.set_tool("brush")

    def _take_brush_keys(self, take: bool) -> None:
        """While editing, [ and ] size the brush: other actions on those keys lend them and get them back."""
        if take:
            mine = {self.toolbar.smaller_action, self.toolbar.larger_action}
            for action in self.window.actions():
                keys = action.shortcuts()
                if action not in mine and any(k in BRUSH_KEYS for k in keys):
                    self._taken_keys.append((action, keys))
                    action.setShortcuts([k for k in keys if k not in BRUSH_KEYS])
        else:
            for action, keys in self._taken_keys:
                action.setShortcuts(keys)
            self._taken_keys = []


def install_mask_editor(window: QMainWindow) -> MaskEditor:
    """Add edit mode to `window`: the tool bar, an Edit menu with the shortcuts, autosave on close."""
    editor = MaskEditor(window)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, editor.toolbar)
    bar = window.menuBar()
    edit_menu = QMenu("&Edit", bar)
    bar.insertMenu(window.menus.view.menuAction(), edit_menu)  # between File and View
    toolbar = editor.toolbar
    groups = [
        [toolbar.edit_action],
        [toolbar.undo_action, toolbar.redo_action],
        list(toolbar.tool_actions.values()),
        [
            toolbar.smaller_action,
            toolbar.larger_action,
            editor.close_shape_action,
            editor.cancel_shape_action,
        ],
    ]
    for number, group in enumerate(groups):
        if number:
            edit_menu.addSeparator()
        for action in group:
            edit_menu.addAction(action)
            window.addAction(action)
    window.add_close_check(editor.close_check)
    editor.sample_corrected.connect(window.dataset_pane.mark_edited)  # the "edited" mark and filter
    return editor
