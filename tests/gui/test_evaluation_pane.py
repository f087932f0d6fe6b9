"""The evaluation pane on a tiny demo data set with an untrained U-Lite: what a user sees and can click."""

from __future__ import annotations

import csv
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from segviewer.cli import main  # noqa: E402
from segviewer.core.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from segviewer.core.datasets import open_dataset  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.gui.panes.evaluation_pane import EvaluationPane  # noqa: E402

WAIT_MS = 60_000
SPLIT = "train"  # 4 labelled images in a 6-sample demo set (val has 1, test none)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    demo = pytest.importorskip("segviewer.core.demo")
    return demo.generate_demo(tmp_path_factory.mktemp("demo") / "demo", count=6, size=(36, 64), seed=0)


def tiny_checkpoint(path: Path, seed: int, scheme: str = "bdd100k") -> Path:
    from segviewer.core.models import build_model

    torch.manual_seed(seed)
    labels = get_scheme(scheme)
    model = build_model("ulite", labels.num_classes, widths=[4, 8, 16, 32])
    return save_checkpoint(path, make_checkpoint(model, labels, (32, 48), epoch=1, val_miou=None))


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """Two run folders, each with a best.pt (as the runs list offers them)."""
    base = tmp_path_factory.mktemp("runs")
    tiny_checkpoint(base / "ulite-a" / "best.pt", seed=0)
    tiny_checkpoint(base / "ulite-b" / "best.pt", seed=1)
    return base / "ulite-a", base / "ulite-b"


@pytest.fixture
def pane(qtbot, demo_root):
    widget = EvaluationPane()
    qtbot.addWidget(widget)
    widget.resize(1000, 800)
    widget.show()
    widget.set_dataset(open_dataset(demo_root))
    assert widget.set_split(SPLIT)
    yield widget
    widget.shutdown()


def evaluate(qtbot, pane, *checkpoints) -> list:
    for slot, path in enumerate(checkpoints):
        pane.set_checkpoint(slot, path)
    with qtbot.waitSignal(pane.evaluation_finished, timeout=WAIT_MS) as signal:
        assert pane.start_evaluation()
    return signal.args[0]


def cli_json(capsys, checkpoint: Path, root: Path) -> dict:
    assert main(["evaluate", str(checkpoint), str(root), "--split", SPLIT, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def shown(value) -> str:
    return "NaN" if value is None else f"{value:.3f}"


def test_table_shows_exactly_what_segviewer_evaluate_computes(qtbot, pane, run_dirs, demo_root, capsys):
    evaluate(qtbot, pane, *run_dirs)
    expected = [cli_json(capsys, run / "best.pt", demo_root) for run in run_dirs]
    rows = pane.table_rows()
    assert rows[0] == ["Class", "IoU A", "IoU B", "Accuracy A", "Accuracy B"]
    classes = rows[1:-4]
    assert [r[0] for r in classes] == [c["name"] for c in expected[0]["per_class"]]
    for i, row in enumerate(classes):
        a, b = expected[0]["per_class"][i], expected[1]["per_class"][i]
        assert row[1:] == [shown(a["iou"]), shown(b["iou"]), shown(a["accuracy"]), shown(b["accuracy"])]
    assert any("NaN" in r for r in classes) and any(r[1] not in ("NaN", "0.000") for r in classes)
    summary = {r[0]: r[1:3] for r in rows[-4:]}
    for title, key in [
        ("Mean IoU", "miou"),
        ("Pixel accuracy", "pixel_accuracy"),
        ("Frequency-weighted IoU", "fwiou"),
    ]:
        assert summary[title] == [shown(expected[0][key]), shown(expected[1][key])]

    model = pane.class_model
    nan_row = next(r for r in range(model.rowCount()) if model.data(model.index(r, 1)) == "NaN")
    tip = model.data(model.index(nan_row, 1), Qt.ItemDataRole.ToolTipRole)
    assert "absent from both the ground truth and the predictions" in tip
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None  # colour swatch


def test_sorting_keeps_nan_last_and_the_summary_in_place(qtbot, pane, run_dirs):
    evaluate(qtbot, pane, run_dirs[0])
    summary_before = pane.table_rows()[-4:]
    for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
        pane.class_table.sortByColumn(1, order)
        values = [row[1] for row in pane.table_rows()[1:-4]]
        numbers = [float(v) for v in values if v != "NaN"]
        assert values == [f"{v:.3f}" for v in numbers] + ["NaN"] * (len(values) - len(numbers))
        assert numbers == sorted(numbers, reverse=order == Qt.SortOrder.DescendingOrder)
        assert pane.table_rows()[-4:] == summary_before


def test_cancel_stops_an_evaluation(qtbot, pane, run_dirs, monkeypatch):
    from segviewer.core.predict import Predictor

    started, gate = threading.Event(), threading.Event()
    original = Predictor.predict

    def slow_predict(self, image):
        started.set()
        gate.wait(10)
        return original(self, image)

    monkeypatch.setattr(Predictor, "predict", slow_predict)
    pane.set_checkpoint(0, run_dirs[0])
    assert pane.start_evaluation()
    assert pane.cancel_button.isEnabled() and not pane.evaluate_button.isEnabled()
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: pane.evaluate_button.isEnabled(), timeout=WAIT_MS)
    assert not pane.is_running()
    assert "cancelled" in pane.message_label.text().lower()
    assert pane.results() == [] and pane.class_model.rowCount() == 0
    assert pane.evaluate_button.isEnabled() and not pane.cancel_button.isEnabled()


@pytest.mark.parametrize("kind", ["foreign", "corrupt", "other scheme"])
def test_bad_checkpoint_shows_a_message(qtbot, pane, tmp_path, kind):
    path = tmp_path / f"{kind.replace(' ', '_')}.pt"
    if kind == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
        expected = "not a segviewer checkpoint"
    elif kind == "corrupt":
        path.write_bytes(b"this is no checkpoint" * 10)
        expected = "not a readable PyTorch checkpoint"
    else:
        tiny_checkpoint(path, seed=0, scheme="camvid")
        expected = "label scheme 'camvid'"
    pane.set_checkpoint(0, path)
    assert pane.start_evaluation()
    qtbot.waitUntil(lambda: pane.evaluate_button.isEnabled(), timeout=WAIT_MS)
    text = pane.message_label.text()
    assert str(path) in text and expected in text
    assert pane.evaluate_button.isEnabled() and pane.results() == []


def test_unlabelled_split_and_missing_model_explain_themselves(pane, run_dirs):
    assert not pane.start_evaluation()
    assert "Choose a model" in pane.message_label.text()
    pane.set_checkpoint(0, run_dirs[0])
    assert pane.set_split("test")
    assert "no masks" in pane.split_combo.currentText()
    assert not pane.start_evaluation()
    assert "'test' split has no masks" in pane.message_label.text() and "'train'" in pane.message_label.text()
    assert not pane.is_running()


def test_clicking_a_confusion_cell_lists_images_that_open_in_the_viewer(qtbot, pane, run_dirs):
    results = evaluate(qtbot, pane, run_dirs[0])
    top = results[0].result.top_confusions
    (gt_id, pred_id), entries = max(top.items(), key=lambda kv: kv[1][0][0])
    pane.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: pane.matrix_view.isVisible())
    view = pane.matrix_view
    assert gt_id in view.shown_classes() and pred_id in view.shown_classes()
    rect = view.cell_rect(gt_id, pred_id)
    assert "predicted as" in view.cell_tooltip(gt_id, pred_id)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=rect.center())
    listed = [pane.confusion_list.item(i).text() for i in range(pane.confusion_list.count())]
    assert listed == [f"{name} — {pixels:,} pixels" for pixels, name in entries]
    item = pane.confusion_list.item(0)
    with qtbot.waitSignal(pane.open_sample_requested) as signal:
        qtbot.mouseClick(
            pane.confusion_list.viewport(),
            Qt.MouseButton.LeftButton,
            pos=pane.confusion_list.visualItemRect(item).center(),
        )
    assert signal.args == [SPLIT, entries[0][1], "error"]


def test_images_are_listed_worst_first_and_open_in_the_viewer(qtbot, pane, run_dirs):
    results = evaluate(qtbot, pane, run_dirs[0])
    table = pane.image_table
    assert table.rowCount() == len(results[0].result.per_image) == 4
    scores = [float(table.item(r, 1).text()) for r in range(table.rowCount())]
    assert scores == sorted(scores)
    pane.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: table.isVisible())
    with qtbot.waitSignal(pane.open_sample_requested) as signal:
        qtbot.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(1, 0)).center()
        )
    assert signal.args == [SPLIT, table.item(1, 0).text(), "error"]


def test_export_table_and_matrix(qtbot, pane, run_dirs, tmp_path):
    evaluate(qtbot, pane, *run_dirs)
    rows = pane.table_rows()
    with open(pane.export_table(tmp_path / "table.csv"), newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == rows
    markdown = pane.export_table(tmp_path / "table.md").read_text(encoding="utf-8").splitlines()
    assert markdown[0] == "| Class | IoU A | IoU B | Accuracy A | Accuracy B |"
    assert markdown[2] == "| " + " | ".join(rows[1]) + " |"
    assert len(markdown) == len(rows) + 1
    png = QImage(str(pane.export_matrix_png(tmp_path / "matrix.png")))
    assert not png.isNull() and png.width() >= 200 and png.height() >= 200
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary files left behind


def test_confusion_view_row_shares(qtbot):
    from segviewer.gui.panes.confusion_view import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    counts = np.array([[3, 1, 0], [0, 0, 0], [0, 2, 2]])
    view.set_matrix(counts, ["road", "wall", "car"], [(1, 1, 1)] * 3)
    shares = view.row_fractions()
    assert shares[0].tolist() == [0.75, 0.25, 0.0] and all(math.isnan(v) for v in shares[1])
    assert view.shown_classes() == [0, 1, 2]  # "wall" is predicted, so it stays
    assert "1 pixels = 25.0 %" in view.cell_tooltip(0, 1)


def test_installed_in_the_main_window_opens_images_with_their_error_map(qtbot, window, demo_root, run_dirs):
    from segviewer.gui.panes.evaluation_pane import install_evaluation_pane
    from tests.gui.conftest import open_and_wait

    pane = install_evaluation_pane(window)
    open_and_wait(qtbot, window, demo_root)
    assert pane.split_combo.count() == len(window.dataset.splits)
    pane.set_split(SPLIT)
    evaluate(qtbot, pane, run_dirs[0])
    pane.parentWidget().raise_()
    pane.tabs.setCurrentIndex(2)
    table = pane.image_table
    qtbot.waitUntil(lambda: table.isVisible())
    name = table.item(2, 0).text()
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(2, 0)).center()
    )
    qtbot.waitUntil(lambda: getattr(window.viewer.current_sample(), "name", None) == name, timeout=10_000)
    assert window.viewer.mode() == "error"
    qtbot.waitUntil(lambda: window.predictions.checkpoint is not None, timeout=10_000)
    assert Path(window.predictions.checkpoint) == run_dirs[0] / "best.pt"


def test_past_runs_and_browse_fill_the_model_choices(qtbot, pane, run_dirs, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    pane.set_runs_folder(run_dirs[0].parent)
    combo = pane.model_a_combo
    qtbot.waitUntil(lambda: combo.findData(str(run_dirs[1])) >= 0, timeout=WAIT_MS)
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert any(t.startswith("ulite-a") for t in texts) and any(t.startswith("ulite-b") for t in texts)
    assert texts[0] == "— choose a model —" and texts[-1].startswith("Browse")
    assert not pane.evaluate_button.isEnabled()
    combo.setCurrentIndex(combo.findData(str(run_dirs[1])))
    combo.activated.emit(combo.currentIndex())
    assert pane.checkpoints() == [str(run_dirs[1])] and pane.evaluate_button.isEnabled()

    chosen = tiny_checkpoint(tmp_path / "elsewhere" / "model.pt", seed=2)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(chosen), "")))
    browse = pane.model_b_combo.count() - 1
    pane.model_b_combo.setCurrentIndex(browse)
    pane.model_b_combo.activated.emit(browse)
    assert pane.checkpoints() == [str(run_dirs[1]), str(chosen)]
    assert pane.model_b_combo.currentText() == "elsewhere/model.pt"


def test_another_data_set_clears_old_results(qtbot, pane, run_dirs, demo_root):
    evaluate(qtbot, pane, run_dirs[0])
    assert pane.class_model.rowCount() == 19 and pane.export_table_button.isEnabled()
    pane.set_dataset(open_dataset(demo_root))
    assert pane.results() == [] and pane.class_model.rowCount() == 0 and pane.image_table.rowCount() == 0
    assert not pane.export_table_button.isEnabled()
