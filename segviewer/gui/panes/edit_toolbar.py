"""The mask-editing tool bar: edit mode, tools, brush size, paint class, only-overwrite, undo and redo.

Widgets and actions only; what a click on the image does with them is `segviewer.gui.mask_editor`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QSpinBox, QToolBar, QToolButton, QWidget

from segviewer.core.labels import LabelScheme
from segviewer.gui.image_utils import swatch_icon

# name: (title, key, tip); the tool bar shows SHORT titles where the full one is long
SHORT = {"accept_rect": "Accept box", "accept_lasso": "Accept lasso", "fill_prediction": "Predicted fill"}
TOOLS = {
    "brush": ("Brush", "B", "Paint the chosen class (drag)"),
    "eraser": ("Eraser", "E", "Mark pixels as ignored, i.e. unlabelled (drag)"),
    "fill": ("Fill", "G", "Give the connected region under the cursor the chosen class (click)"),
    "polygon": ("Polygon", "O", "Click the corners; double-click or Enter closes it, Esc cancels"),
    "picker": ("Pick class", "I", "Take the class under the cursor as the paint class (click)"),
    "accept_rect": ("Accept prediction (box)", "R", "Copy the model's prediction inside a dragged box"),
    "accept_lasso": ("Accept prediction (lasso)", "A", "Copy the model's prediction inside a drawn outline"),
    "fill_prediction": (
        "Fill from prediction",
        "Shift+G",
        "Give the connected region of the predicted class under the cursor that class (click)",
    ),
}
NEEDS_PREDICTION = ("accept_rect", "accept_lasso", "fill_prediction")
SIZED_TOOLS = ("brush", "eraser")
MIN_SIZE, MAX_SIZE = 1, 255


class EditToolbar(QToolBar):
    """Emits what the user chose; holds no mask and no session."""

    edit_toggled = Signal(bool)
    tool_changed = Signal(str)
    size_changed = Signal(int)
    class_changed = Signal(int)
    only_overwrite_changed = Signal(object)  # list of class ids that may be replaced, or None for all
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Edit mask", parent)
        self.setObjectName("editToolbar")
        self._scheme: LabelScheme | None = None
        self.edit_action = QAction("&Edit mask", self, checkable=True)
        self.edit_action.setShortcut(QKeySequence("Ctrl+E"))
        self.edit_action.setToolTip(
            "Edit the ground truth of this sample (Ctrl+E); the original file is kept"
        )
        self.edit_action.toggled.connect(self.edit_toggled)
        self.addAction(self.edit_action)
        self.addSeparator()

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, (title, key, tip) in TOOLS.items():
            action = QAction(title, self, checkable=True)
            action.setIconText(SHORT.get(name, title))
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{tip} ({key})")
            action.triggered.connect(lambda _=False, n=name: self.tool_changed.emit(n))
            self.tool_group.addAction(action)
            self.tool_actions[name] = action
            self.addAction(action)
        self.tool_actions["brush"].setChecked(True)
        self.addSeparator()

        self.addWidget(QLabel(" Size "))
        self.size_box = QSpinBox()
        self.size_box.setRange(MIN_SIZE, MAX_SIZE)
        self.size_box.setValue(15)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush diameter in image pixels ([ and ], or Ctrl + mouse wheel)")
        self.size_box.valueChanged.connect(self.size_changed)
        self.addWidget(self.size_box)
        self.smaller_action = QAction("Smaller brush", self)
        self.smaller_action.setShortcut(QKeySequence("["))
        self.smaller_action.triggered.connect(lambda: self.step_size(-1))
        self.larger_action = QAction("Larger brush", self)
        self.larger_action.setShortcut(QKeySequence("]"))
        self.larger_action.triggered.connect(lambda: self.step_size(1))

        self.addWidget(QLabel(" Class "))
        self.class_box = QComboBox()
        self.class_box.setToolTip(
            "The class the brush, fill and polygon paint (or double-click it in the legend)"
        )
        self.class_box.setMinimumContentsLength(12)
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_box.currentIndexChanged.connect(self._on_class_index)
        self.addWidget(self.class_box)

        self.only_button = QToolButton(text="Only overwrite: all")
        self.only_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.only_button.setToolTip("Tools replace only pixels of the ticked classes (e.g. untick 'ignored')")
        self.only_menu = QMenu(self.only_button)
        self.only_button.setMenu(self.only_menu)
        self.addWidget(self.only_button)
        self.addSeparator()

        self.undo_action = QAction("&Undo stroke", self)
        self.undo_action.setIconText("Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.undo_action.triggered.connect(self.undo_requested)
        self.redo_action = QAction("&Redo stroke", self)
        self.redo_action.setIconText("Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.triggered.connect(self.redo_requested)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.set_editing(False)
        self.set_history(False, False)

    # --- what the controller sets --------------------------------------------------------------
    def scheme(self) -> LabelScheme | None:
        return self._scheme

    def set_scheme(self, scheme: LabelScheme, palette: np.ndarray) -> None:
        """Offer `scheme`'s classes (and 'ignored') as paint and only-overwrite choices."""
        self._scheme = scheme
        ids = [c.id for c in scheme.classes] + [scheme.ignore_index]
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.only_menu.clear()
        for class_id in ids:
            icon = swatch_icon(tuple(int(v) for v in palette[class_id]))
            name = scheme.name_of(class_id)
            self.class_box.addItem(icon, name, class_id)
            action = self.only_menu.addAction(icon, name)
            action.setCheckable(True)
            action.setChecked(True)
            action.setData(class_id)
            action.toggled.connect(self._on_only_toggled)
        self.class_box.blockSignals(False)
        self.only_button.setText("Only overwrite: all")
        self._on_class_index(self.class_box.currentIndex())

    def set_paint_class(self, class_id: int) -> None:
        index = self.class_box.findData(int(class_id))
        if index >= 0:
            self.class_box.setCurrentIndex(index)

    def paint_class(self) -> int:
        value = self.class_box.currentData()
        return int(value) if value is not None else 0

    def set_only_overwrite(self, classes: list[int] | None) -> None:
        for action in self.only_menu.actions():
            action.setChecked(classes is None or int(action.data()) in classes)

    def tool(self) -> str:
        checked = self.tool_group.checkedAction()
        return next((n for n, a in self.tool_actions.items() if a is checked), "brush")

    def set_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.tool_changed.emit(name)

    def size(self) -> int:
        return self.size_box.value()

    def step_size(self, steps: int) -> None:
        """Grow or shrink the brush by about 15% per step (at least one pixel)."""
        size = self.size_box.value()
        change = max(1, round(size * 0.15))
        self.size_box.setValue(size + steps * change)

    def set_editing(self, on: bool) -> None:
        """Tools are usable only in edit mode."""
        if self.edit_action.isChecked() != on:
            self.edit_action.setChecked(on)
        for action in (*self.tool_actions.values(), self.smaller_action, self.larger_action):
            action.setEnabled(on)
        for widget in (self.size_box, self.class_box, self.only_button):
            widget.setEnabled(on)

    def set_prediction_available(
        self, available: bool, why: str = "load a checkpoint first (Model menu)"
    ) -> None:
        for name in NEEDS_PREDICTION:
            action = self.tool_actions[name]
            title, key, tip = TOOLS[name]
            action.setEnabled(available and self.edit_action.isChecked())
            action.setToolTip(f"{tip} ({key})" if available else f"{title}: {why}")

    def set_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)

    def only_overwrite(self) -> list[int] | None:
        actions = self.only_menu.actions()
        ticked = [int(a.data()) for a in actions if a.isChecked()]
        return None if len(ticked) == len(actions) else ticked

    # --- internals -----------------------------------------------------------------------------
    def _on_class_index(self, index: int) -> None:
        if index >= 0:
            self.class_changed.emit(self.paint_class())

    def _on_only_toggled(self, _checked: bool) -> None:
        classes = self.only_overwrite()
        if classes is None:
            self.only_button.setText("Only overwrite: all")
        else:
            self.only_button.setText(f"Only overwrite: {len(classes)} of {len(self.only_menu.actions())}")
        self.only_overwrite_changed.emit(classes)
