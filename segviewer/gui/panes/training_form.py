"""The training settings form: model, sizes, schedule, augmentation, device and where runs go.

Defaults come from `TrainConfig` itself (the engine documents them as CPU-friendly), so the GUI and
`segviewer train` start from the same settings. The devices torch sees are asked of a short child
process (the window never imports torch for training); model sizes come from the registry.
"""

from __future__ import annotations

import html
import json
import math
import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDoubleValidator, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from segviewer.core import model_registry, paths
from segviewer.core.runs import new_run_name
from segviewer.core.training import config as training_config
from segviewer.gui import background

DEVICES_SCRIPT = (
    "import json; from segviewer.core.devices import describe_devices; print(json.dumps(describe_devices()))"
)

MODEL_ORDER = tuple(model_registry.model_names())
LEARNING_RATES = ("0.01", "0.003", "0.001", "0.0003", "0.0001")
CLASS_WEIGHTINGS = (("Off", "none"), ("Gentle", "sqrt"), ("Strong", "median"))
LOSS_CHOICES = (
    ("Cross-entropy", "ce"),
    ("Cross-entropy + Dice", "ce+dice"),
    ("Focal", "focal"),
    ("Cross-entropy, hard pixels (OHEM)", "ce+ohem"),
)


class SettingsForm(QGroupBox):
    runs_folder_changed = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Settings", parent)
        defaults = training_config.defaults()
        self._num_classes = 19
        self._choices_loaded = False  # filled in just after the window has painted
        self._saved_device: str | None = None

        self.dataset_label = QLabel("Data set: none open")
        self.dataset_label.setWordWrap(True)
        self.model = _choices([(model_registry.model_title(name), name) for name in MODEL_ORDER])
        self.model.setToolTip(
            "U-Lite is small and fast (the paper's model); SegNet and U-Net are large and need a GPU"
        )
        self.model.currentIndexChanged.connect(self._update_run_hint)
        self.height_spin, self.width_spin = _spin(32, 2048, 16), _spin(32, 4096, 16)
        self.height_spin.setToolTip("Images and masks are resized to this height before training")
        self.width_spin.setToolTip("Images and masks are resized to this width before training")
        self.batch_size = _spin(1, 512, 1)
        self.batch_size.setToolTip("Images per training step; lower it if memory runs out")
        self.epochs = _spin(1, 10000, 1)
        self.epochs.setToolTip("Passes over the training images")
        self.lr = QComboBox()
        self.lr.setEditable(True)
        self.lr.addItems(LEARNING_RATES)
        self.lr.setValidator(QDoubleValidator(1e-8, 10.0, 8))
        self.lr.setToolTip("Adam learning rate")
        self.patience = _spin(0, 1000, 1)
        self.patience.setSpecialValueText("never")
        self.patience.setSuffix(" epochs")
        self.patience.setToolTip(
            "Stop when validation mIoU has not improved for this many epochs (0 = never)"
        )
        self.class_weights = _choices(CLASS_WEIGHTINGS)
        self.class_weights.setToolTip(
            "Weight the loss so that small classes such as poles count more. Strong: median "
            "frequency balancing (SegNet), which over-predicts rare classes; Gentle: its square root"
        )
        self.loss = _choices(LOSS_CHOICES)
        self.loss.setToolTip(
            "Cross-entropy is the paper's loss; adding Dice counts every class alike, "
            "so small classes get more say"
        )
        self.augment = QComboBox()
        self.augment.addItem("none", None)
        self.augment.setToolTip("Random changes applied to training images (flips, crops, colour, weather)")
        self.device = QComboBox()
        self.device.setModel(QStandardItemModel(self.device))
        self._add_device("auto", "Automatic", True, "")
        self.device.setToolTip("Where the model trains; CUDA uses the GPU with mixed precision")
        self.folder = QLineEdit(str(paths.runs_dir()))
        self.folder.setToolTip("Each run gets its own folder in here (config, metrics.csv, best.pt, last.pt)")
        self.folder.editingFinished.connect(self._folder_edited)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.run_hint = QLabel()
        self.run_hint.setStyleSheet("color: palette(mid);")

        for combo in (self.model, self.lr, self.augment, self.device, self.class_weights, self.loss):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        size = _row_of(self.height_spin, QLabel("×"), self.width_spin, stretch=0)
        folder = _row_of(self.folder, self.browse)
        # (label, field, full row): paired fields sit two to a row when the pane is wide enough for
        # that, one to a row when not (a laptop screen), so no field is cut off or scrolled to
        self._fields = [
            (QLabel("Model"), self.model, True),
            (QLabel("Input size"), size, False),
            (QLabel("Batch size"), self.batch_size, False),
            (QLabel("Epochs"), self.epochs, False),
            (QLabel("Learning rate"), self.lr, False),
            (QLabel("Stop early after"), self.patience, False),
            (QLabel("Augmentation"), self.augment, False),
            (QLabel("Loss"), self.loss, True),  # the longest names ("Cross-entropy + Dice"), read whole
            (QLabel("Device"), self.device, False),
            (QLabel("Rare classes"), self.class_weights, False),
            (QLabel("Save runs in"), folder, True),
        ]
        for label, _field, _full in self._fields:
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        QGridLayout(self)
        self._columns = 0
        self._arrange(1)
        self._narrow_width = self.layout().totalMinimumSize().width()
        self._arrange(2)
        self._wide_width = self.layout().totalMinimumSize().width()
        self.set_values(defaults)
        self._restore()

    # --- layout -----------------------------------------------------------------------------
    def _arrange(self, columns: int) -> None:
        """Lay the fields out `columns` (1 or 2) label-and-field pairs to a row."""
        if columns == self._columns:
            return
        self._columns = columns
        grid: QGridLayout = self.layout()
        for widget in (self.dataset_label, self.run_hint, *(w for row in self._fields for w in row[:2])):
            grid.removeWidget(widget)
        span = 2 * columns - 1
        grid.addWidget(self.dataset_label, 0, 0, 1, span + 1)
        row, col = 1, 0
        for label, field, full in self._fields:
            if full and col:
                row, col = row + 1, 0
            grid.addWidget(label, row, col)
            grid.addWidget(field, row, col + 1, 1, span if full else 1)
            col = 2 * columns if full else col + 2
            if col >= 2 * columns:
                row, col = row + 1, 0
        grid.addWidget(self.run_hint, row + (1 if col else 0), 1, 1, span)
        for column in range(4):
            grid.setColumnStretch(column, 1 if column in (1, 3) and column < 2 * columns else 0)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """As narrow as one field to a row: the pane's scroll area may give the form that little."""
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._narrow_width), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802
        """Wide enough for two fields to a row, the layout the form prefers."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._wide_width), hint.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._arrange(2 if event.size().width() >= self._wide_width else 1)
        super().resizeEvent(event)

    # --- values -----------------------------------------------------------------------------
    def values(self) -> dict:
        """The TrainConfig fields this form sets. Raises ValueError with a readable message."""
        try:
            lr = float(self.lr.currentText().replace(",", "."))
        except ValueError:
            lr = math.nan
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"Learning rate {self.lr.currentText()!r} is not a positive number; try 0.001.")
        values = {
            "model": self.model.currentData(),
            "input_size": (self.height_spin.value(), self.width_spin.value()),
            "batch_size": self.batch_size.value(),
            "epochs": self.epochs.value(),
            "lr": lr,
            "patience": self.patience.value(),
            "class_weights": self.class_weights.currentData(),
            "loss": self.loss.currentData(),
            "augment": self.augment.currentData(),
            "device": self.device.currentData() or "auto",
        }
        self._remember(values)
        return values

    def set_values(self, config: dict) -> None:
        """Fill the form from a config dict (TrainConfig defaults or a past run's config.json)."""
        if "model" in config:
            _select(self.model, config["model"])
        if "input_size" in config:
            h, w = config["input_size"]
            self.height_spin.setValue(int(h))
            self.width_spin.setValue(int(w))
        for key, spin in (
            ("batch_size", self.batch_size),
            ("epochs", self.epochs),
            ("patience", self.patience),
        ):
            if isinstance(config.get(key), int):
                spin.setValue(config[key])
        if "lr" in config:
            self.lr.setCurrentText(f"{float(config['lr']):g}")
        if "class_weights" in config:
            from segviewer.core.training.config import class_weighting

            try:
                _select(self.class_weights, class_weighting(config["class_weights"]))
            except ValueError:
                pass  # a config.json edited by hand: keep the current choice
        if "loss" in config:
            _select(self.loss, config["loss"])
        if "augment" in config:
            if config["augment"] and self.augment.findData(config["augment"]) < 0:
                self.augment.addItem(Path(str(config["augment"])).stem, config["augment"])
            _select(self.augment, config["augment"])
        if "device" in config:
            _select(self.device, config["device"])
        self._update_run_hint()

    def runs_folder(self) -> Path:
        return Path(self.folder.text().strip() or str(paths.runs_dir())).expanduser()

    def model_title(self, name: str) -> str:
        return model_registry.model_title(name)

    def set_dataset(self, root: Path | None, scheme_name: str | None, scheme=None) -> None:
        if root is None:
            self.dataset_label.setText("Data set: none open")
            return
        shown = scheme_name or getattr(scheme, "name", None)
        self.dataset_label.setText(
            f"Data set: <b>{html.escape(root.name)}</b>" + (f" ({shown})" if shown else "")
        )
        self.dataset_label.setToolTip(str(root))
        classes = getattr(scheme, "num_classes", None)
        if classes is None and scheme_name:
            try:
                from segviewer.core.labels import get_scheme

                classes = get_scheme(scheme_name).training_scheme().num_classes
            except Exception:  # noqa: BLE001 - only the size shown next to the model depends on it
                classes = None
        if classes and classes != self._num_classes:
            self._num_classes = classes
            self._request_parameters()

    # --- choices filled in after the first paint -------------------------------------------
    def load_choices(self) -> None:
        """Augmentation presets and model sizes now; the devices when a helper process has listed them."""
        background.spawn(self._load_devices())
        try:
            from segviewer.core.augment import builtin_presets

            names = [n for n in builtin_presets() if n != "none"]
        except Exception:  # noqa: BLE001
            names = []
        for name in names:
            if self.augment.findData(name) < 0:
                self.augment.addItem(name, name)
        self._restore()
        self._choices_loaded = True
        self._request_parameters()

    async def _load_devices(self) -> None:
        """Which devices torch sees, asked of a child process: importing torch here would stall the
        window for seconds, and training (a child process too) is what uses the answer."""
        child = background.ChildProcess([sys.executable, "-c", DEVICES_SCRIPT])
        lines = [line async for line in child.lines()]
        try:
            rows = json.loads(lines[-1]) if child.exit_code == 0 and lines else []
        except json.JSONDecodeError:
            rows = []
        wanted = self._saved_device or self.device.currentData() or "auto"
        self.device.model().clear()
        for device_id, label, available, reason in rows or [("auto", "Automatic", True, "")]:
            self._add_device(device_id, label if device_id != "auto" else "Automatic", available, reason)
        _select(self.device, wanted)

    def add_augment_preset(self, path: str) -> None:
        """Offer a preset file saved by the augmentation pane, and select it."""
        if self.augment.findData(path) < 0:
            self.augment.addItem(Path(path).stem, path)
        _select(self.augment, path)

    def _request_parameters(self) -> None:
        """Model titles with their parameter counts for this data set's classes (from the registry)."""
        if not self._choices_loaded:
            return
        for index in range(self.model.count()):
            name = self.model.itemData(index)
            info = model_registry.MODELS.get(name)
            if info is not None:
                count = model_registry.format_parameters(info.parameters(self._num_classes))
                self.model.setItemText(index, f"{info.title} — {count}")

    def _add_device(self, device_id: str, label: str, available: bool, reason: str) -> None:
        item = QStandardItem(label if available else f"{label} ({reason})" if reason else label)
        item.setData(device_id, Qt.ItemDataRole.UserRole)
        item.setEnabled(available)
        if reason:
            item.setToolTip(reason)
        self.device.model().appendRow(item)

    # --- runs folder ------------------------------------------------------------------------
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for training runs", str(self.runs_folder()))
        if folder:
            self.folder.setText(folder)
            self._folder_edited()

    def _folder_edited(self) -> None:
        self._update_run_hint()
        self._remember_folder()
        self.runs_folder_changed.emit(self.runs_folder())

    def _update_run_hint(self) -> None:
        self.run_hint.setText(f"New run folder: {new_run_name(self.model.currentData() or 'model')}")

    # --- remembered between sessions ------------------------------------------------------
    def _restore(self) -> None:
        try:
            from segviewer.gui.settings import make_settings

            settings = make_settings()
            saved = json.loads(str(settings.value("training/form", "{}")))
            folder = settings.value("training/runs_folder", "")
        except Exception:  # noqa: BLE001 - remembered values are a convenience only
            return
        if isinstance(saved, dict):
            self.set_values(saved)
            self._saved_device = saved.get("device") if isinstance(saved.get("device"), str) else None
        if folder:
            self.folder.setText(str(folder))

    def _remember(self, values: dict) -> None:
        try:
            from segviewer.gui.settings import make_settings

            make_settings().setValue("training/form", json.dumps(values))
        except Exception:  # noqa: BLE001
            pass
        self._remember_folder()

    def _remember_folder(self) -> None:
        try:
            from segviewer.gui.settings import make_settings

            make_settings().setValue("training/runs_folder", str(self.runs_folder()))
        except Exception:  # noqa: BLE001
            pass


def _spin(low: int, high: int, step: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    return spin


def _choices(items) -> QComboBox:
    """A combo box of (text shown, value stored) pairs."""
    combo = QComboBox()
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _row_of(*widgets: QWidget, stretch: int = 1) -> QWidget:
    """Widgets side by side in one widget, to place as one field: the first one stretching, or with
    `stretch=0` all at their own width and the space after them."""
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    for index, widget in enumerate(widgets):
        row.addWidget(widget, stretch if index == 0 else 0)
    if stretch == 0:
        row.addStretch(1)
    return holder


def _select(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
