"""The training pane, end to end on a tiny demo data set: what a user sees while a model trains."""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

import pytest

if sys.version_info < (3, 12):  # PySide6 6.12 on CPython 3.11 drops a reference to None per void call
    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from segviewer.core import events as ev  # noqa: E402
from segviewer.core.training.config import defaults as train_defaults  # noqa: E402

TINY = {"model_options": {"widths": [4, 8, 16, 32]}, "num_workers": 0, "seed": 0, "threads": 1}
WAIT_MS = 60_000


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("SEGVIEWER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("SEGVIEWER_TRAINING_RUNNER", raising=False)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    demo = pytest.importorskip("segviewer.core.demo")
    return demo.generate_demo(tmp_path_factory.mktemp("demo") / "demo", count=8, size=(36, 64), seed=0)


def make_pane(qtbot, demo_root, **kwargs):
    from segviewer.gui.panes.training_pane import TrainingPane

    widget = TrainingPane(**kwargs)
    qtbot.addWidget(widget)
    widget.set_dataset(demo_root, None)
    widget.config_overrides = dict(TINY)
    form = widget.form
    form.height_spin.setValue(32)
    form.width_spin.setValue(48)
    form.batch_size.setValue(2)
    form.epochs.setValue(2)
    form.patience.setValue(0)
    widget.events = []
    widget.event_received.connect(widget.events.append)
    return widget


@pytest.fixture
def pane(qtbot, demo_root):
    pytest.importorskip("segviewer.core.training")
    widget = make_pane(qtbot, demo_root)
    yield widget
    widget.shutdown()
    assert not widget.is_training()


@pytest.fixture
def fake_pane(qtbot, demo_root):
    """A pane whose Start runs the endless stand-in trainer."""
    widget = make_pane(qtbot, demo_root, command=fake_trainer("endless"))
    yield widget
    widget.shutdown()
    assert not widget.is_training()


def fake_trainer(mode: str):
    """A `command` for the pane that starts tests/gui/fake_trainer.py instead of real training."""
    return lambda cfg: [sys.executable, "-m", "tests.gui.fake_trainer", mode, cfg["out"]]


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_idle(qtbot, pane) -> None:
    qtbot.waitUntil(lambda: not pane.is_training() and pane.start_button.isEnabled(), timeout=WAIT_MS)


def data_points(plot) -> list[int]:
    counts = []
    for item in plot.getPlotItem().listDataItems():
        x, _ = item.getData()
        counts.append(0 if x is None else len(x))
    return counts


def last_of(pane, kind):
    found = [e for e in pane.events if isinstance(e, kind)]
    return found[-1] if found else None


def test_tiny_run_shows_progress_curves_checkpoint_and_past_run(qtbot, pane):
    seen = []
    pane.view.progress.valueChanged.connect(seen.append)
    saved = []
    pane.best_checkpoint_saved.connect(saved.append)
    click(qtbot, pane.start_button)
    assert not pane.start_button.isEnabled() and pane.stop_button.isEnabled()
    wait_idle(qtbot, pane)

    finished = last_of(pane, ev.Finished)
    assert finished is not None, pane.view.log_view.toPlainText()
    assert seen and max(seen) > 0
    assert pane.view.progress.value() == pane.view.progress.maximum()
    assert min(data_points(pane.view.loss_plot)) >= 1 and min(data_points(pane.view.miou_plot)) >= 1
    assert Path(finished.best_checkpoint).is_file() and saved and Path(saved[-1]).is_file()
    assert "Finished" in pane.view.status_label.text()
    assert pane.view.iou_table.table.rowCount() == 19  # bdd100k training classes

    def listed_row() -> list[str]:
        rows = [i for i, r in enumerate(pane.runs.runs()) if r.path == Path(finished.run_dir)]
        table = pane.runs.table
        return [table.item(rows[0], c).text() for c in range(table.columnCount())] if rows else []

    # the list refreshes in the background after the run ends
    qtbot.waitUntil(lambda: listed_row()[-1:] == ["finished"], timeout=WAIT_MS)
    assert listed_row()[1:4] == ["U-Lite (paper)", f"{finished.epochs_run} of 2", f"{finished.best_miou:.3f}"]


def test_stop_ends_a_longer_run_and_keeps_the_best_checkpoint(qtbot, pane):
    pane.form.epochs.setValue(200)
    click(qtbot, pane.start_button)
    qtbot.waitUntil(lambda: last_of(pane, ev.Epoch) is not None, timeout=WAIT_MS)
    click(qtbot, pane.stop_button)
    assert not pane.stop_button.isEnabled()  # no second stop while the current batch finishes
    wait_idle(qtbot, pane)
    finished = last_of(pane, ev.Finished)
    assert finished is not None and finished.stopped_by_user
    assert finished.epochs_run < 200
    assert Path(finished.run_dir, "best.pt").is_file()
    assert pane.start_button.isEnabled() and not pane.pause_button.isEnabled()
    assert "Stopped" in pane.view.status_label.text()


def test_pause_holds_training_between_batches_until_resume(qtbot, fake_pane):
    pane = fake_pane
    click(qtbot, pane.start_button)
    qtbot.waitUntil(lambda: last_of(pane, ev.Batch) is not None, timeout=WAIT_MS)
    click(qtbot, pane.pause_button)
    assert pane.pause_button.text() == "Resume"
    qtbot.wait(300)  # the batch in flight may still arrive
    paused_at = len(pane.events)
    qtbot.wait(400)
    assert len(pane.events) == paused_at
    click(qtbot, pane.pause_button)
    qtbot.waitUntil(lambda: len(pane.events) > paused_at, timeout=WAIT_MS)
    click(qtbot, pane.stop_button)
    wait_idle(qtbot, pane)
    assert last_of(pane, ev.Finished).stopped_by_user


def test_a_folder_that_is_not_a_data_set_shows_an_error_and_the_pane_keeps_working(qtbot, pane, tmp_path):
    empty = tmp_path / "not-a-dataset"
    empty.mkdir()
    pane.set_dataset(empty, None)
    click(qtbot, pane.start_button)
    wait_idle(qtbot, pane)
    failed = last_of(pane, ev.Failed)
    assert failed is not None and str(empty) in failed.message
    assert pane.view.status_label.text().startswith("Training failed")
    assert "Training failed" in pane.view.log_view.toPlainText()
    assert pane.start_button.isEnabled()


def test_a_crashed_training_process_becomes_a_message_and_the_pane_keeps_working(qtbot, demo_root):
    pane = make_pane(qtbot, demo_root, command=fake_trainer("crash"))
    click(qtbot, pane.start_button)
    wait_idle(qtbot, pane)
    assert "RuntimeError: boom in the training process" in pane.view.status_label.text()
    assert "ended unexpectedly" in pane.view.log_view.toPlainText()
    assert pane.view.progress.format() == "Failed"
    assert pane.start_button.isEnabled() and not pane.stop_button.isEnabled()


def test_start_scrolls_a_short_pane_from_the_form_to_the_buttons_and_curves(qtbot, fake_pane):
    from PySide6.QtWidgets import QScrollArea

    pane = fake_pane
    scroll = QScrollArea()  # as the window docks it, on a screen shorter than the pane
    scroll.setWidgetResizable(True)
    scroll.setWidget(pane)
    qtbot.addWidget(scroll)
    scroll.resize(500, 420)
    scroll.show()
    pane.tabs.setCurrentIndex(pane.tabs.count() - 1)  # Past runs, as for Fine-tune
    assert scroll.verticalScrollBar().value() == 0
    click(qtbot, pane.start_button)
    bar = scroll.verticalScrollBar().value()
    assert bar > 0  # the form scrolled away
    stop_top = pane.stop_button.mapTo(pane, pane.stop_button.rect().topLeft()).y() - bar
    tabs_top = pane.tabs.mapTo(pane, pane.tabs.rect().topLeft()).y() - bar
    assert 0 <= stop_top and tabs_top < scroll.viewport().height()  # Stop and the curves are in view
    assert pane.tabs.currentWidget() is pane.view.curves
    click(qtbot, pane.stop_button)
    wait_idle(qtbot, pane)
    scroll.takeWidget()  # the pane stays the fixture's to shut down


def test_start_without_a_data_set_says_what_to_do(qtbot, pane):
    pane.set_dataset(None)
    click(qtbot, pane.start_button)
    assert not pane.is_training()
    assert "Open a data set" in pane.view.status_label.text()


def test_confirm_close_when_idle_asks_nothing(qtbot, pane, monkeypatch):
    import segviewer.gui.panes.training_pane as module

    monkeypatch.setattr(module, "ask_stop_training", lambda parent: pytest.fail("asked while idle"))
    assert pane.confirm_close(None) is True


def test_closing_while_training_cancel_keeps_it_stop_closes_once_stopped(qtbot, fake_pane, monkeypatch):
    from PySide6.QtWidgets import QWidget

    import segviewer.gui.panes.training_pane as module

    pane = fake_pane
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    click(qtbot, pane.start_button)
    qtbot.waitUntil(lambda: last_of(pane, ev.Batch) is not None, timeout=WAIT_MS)
    monkeypatch.setattr(module, "ask_stop_training", lambda parent: False)
    assert pane.confirm_close(window) is False and pane.is_training()
    monkeypatch.setattr(module, "ask_stop_training", lambda parent: True)
    assert pane.confirm_close(window) is False  # the window closes once the run has ended
    assert not pane.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert not pane.is_training() and last_of(pane, ev.Finished).stopped_by_user


def test_resume_from_past_runs_continues_at_the_next_epoch(qtbot, pane):
    pane.form.epochs.setValue(200)  # long enough that Stop always lands mid-run
    click(qtbot, pane.start_button)
    qtbot.waitUntil(lambda: last_of(pane, ev.Epoch) is not None, timeout=WAIT_MS)
    click(qtbot, pane.stop_button)
    wait_idle(qtbot, pane)
    stopped = last_of(pane, ev.Finished)
    run_dir = Path(stopped.run_dir)
    listed = lambda: any(r.path == run_dir and r.status == "incomplete" for r in pane.runs.runs())  # noqa: E731
    qtbot.waitUntil(listed, timeout=WAIT_MS)  # the list refreshes in the background
    pane.runs.table.selectRow(next(i for i, r in enumerate(pane.runs.runs()) if r.path == run_dir))
    pane.events.clear()
    click(qtbot, pane.runs.resume_button)
    qtbot.waitUntil(lambda: last_of(pane, ev.Epoch) is not None, timeout=WAIT_MS)
    click(qtbot, pane.stop_button)
    wait_idle(qtbot, pane)
    started = last_of(pane, ev.Started)
    assert started is not None and Path(started.run_dir) == run_dir
    assert started.start_epoch == stopped.epochs_run + 1 >= 2
    assert last_of(pane, ev.Epoch).epoch >= started.start_epoch


def test_device_choices_explain_what_is_unavailable(qtbot, pane):
    qtbot.waitUntil(lambda: pane.form.device.count() > 1, timeout=WAIT_MS)
    model = pane.form.device.model()
    rows = [(model.item(i).data(Qt.ItemDataRole.UserRole), model.item(i)) for i in range(model.rowCount())]
    assert {"auto", "cpu"} <= {device for device, _ in rows}
    for _device, item in rows:
        if not item.isEnabled():
            assert item.toolTip() and item.toolTip() in item.text()


def test_past_runs_buttons_load_and_open(qtbot, tmp_path, monkeypatch):
    from segviewer.gui.panes.runs_pane import RunsPane

    run = tmp_path / "ulite-20240101-100000"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "ulite", "epochs": 1, "root": "x"}))
    (run / "metrics.csv").write_text("epoch,val_miou\n1,0.25\n")
    (run / "best.pt").write_bytes(b"x")
    runs = RunsPane()
    qtbot.addWidget(runs)
    runs.set_folder(tmp_path)
    qtbot.waitUntil(lambda: runs.table.rowCount() == 1, timeout=WAIT_MS)
    assert runs.table.item(0, 3).text() == "0.250" and runs.table.item(0, 0).text() == "2024-01-01 10:00"
    assert not runs.load_button.isEnabled()
    runs.table.selectRow(0)
    assert runs.load_button.isEnabled() and not runs.resume_button.isEnabled()  # no last.pt
    opened = []
    monkeypatch.setattr(
        "segviewer.gui.panes.runs_pane.QDesktopServices.openUrl", lambda url: opened.append(url)
    )
    with qtbot.waitSignal(runs.load_checkpoint_requested, timeout=WAIT_MS) as blocker:
        click(qtbot, runs.load_button)
    assert blocker.args == [str(run / "best.pt")]
    click(qtbot, runs.open_button)
    assert opened and Path(opened[0].toLocalFile()) == run
    runs.shutdown()


def test_form_sets_loss_and_class_weighting_and_reads_old_configs(pane):
    form = pane.form
    defaults = train_defaults()
    assert (form.values()["class_weights"], form.values()["loss"]) == (
        defaults["class_weights"],
        defaults["loss"],
    )
    form.set_values({"class_weights": False, "loss": "ce"})  # an older run's config.json held a bool
    assert form.class_weights.currentText() == "Off" and form.loss.currentText() == "Cross-entropy"
    form.set_values({"class_weights": True, "loss": "ce+dice"})
    assert form.class_weights.currentText() == "Strong" and form.loss.currentText() == "Cross-entropy + Dice"
    form.set_values({"class_weights": "sqrt"})
    assert form.values()["class_weights"] == "sqrt"
    form.set_values({"class_weights": "bogus"})  # a hand-edited config keeps the current choice
    assert form.values()["class_weights"] == "sqrt"


def test_export_as_command_gives_the_line_for_the_form_and_a_slurm_script(qtbot, pane, demo_root, tmp_path):
    import shlex

    from tests.core.test_train_command import parse

    click(qtbot, pane.export_button)
    dialog = next(w for w in pane.findChildren(QWidget) if w.windowTitle() == "Export as command")
    qtbot.addWidget(dialog)
    words = shlex.split(dialog.command.toPlainText())
    assert words[:2] == ["segviewer", "train"]
    args = parse(words[2:])
    assert Path(args.root) == demo_root and args.epochs == 2 and args.batch_size == 2
    assert tuple(args.input_size) == (32, 48) and args.widths == [4, 8, 16, 32] and args.out is None
    dialog.processes.setValue(2)
    assert dialog.command.toPlainText().startswith("torchrun --nproc-per-node=2 -m segviewer train ")
    script = dialog.save_slurm_to(tmp_path / "train.sbatch")
    text = script.read_text()
    assert (
        "#SBATCH --gpus-per-node=2" in text
        and "\nsrun torchrun --nproc-per-node=2 -m segviewer train " in text
    )
    assert script.stat().st_mode & 0o100


def test_form_puts_one_field_to_a_row_when_the_pane_is_narrow(qtbot, pane):
    form = pane.form
    grid = form.layout()

    def cell(widget):
        row, col, _rows, _cols = grid.getItemPosition(grid.indexOf(widget))
        return row, col

    pane.show()
    wide = pane.sizeHint().width()
    assert pane.minimumSizeHint().width() < wide  # a laptop's dock needs no horizontal scroll bar
    pane.resize(wide, 900)
    qtbot.waitUntil(lambda: cell(form.batch_size)[0] == cell(form.height_spin.parentWidget())[0])
    assert cell(form.batch_size)[1] == 3  # beside the input size
    pane.resize(pane.minimumSizeHint().width(), 900)
    qtbot.waitUntil(lambda: cell(form.batch_size)[1] == 1)  # under it, in the one field column
    assert cell(form.batch_size)[0] == cell(form.height_spin.parentWidget())[0] + 1
    assert form.width() >= form.layout().totalMinimumSize().width()  # nothing squeezed or cut off
    assert form.values()["batch_size"] == form.batch_size.value()  # the fields still work


def test_a_run_written_elsewhere_is_followed_as_it_grows(qtbot, pane, tmp_path):
    run = tmp_path / "cluster-run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "ulite", "epochs": 2, "root": "/elsewhere"}))
    names = [f"class{i}" for i in range(19)]

    def append(*events) -> None:
        with (run / "events.jsonl").open("a") as f:
            f.writelines(ev.to_json_line(e) + "\n" for e in events)

    append(ev.Started(str(run), {"epochs": 2}, "cuda:0 (remote)", 80, 20, 4, 1000))
    append(*(ev.Batch(1, step, 4, 2.0 / step, 50.0) for step in range(1, 5)))
    saved = []
    pane.best_checkpoint_saved.connect(saved.append)
    assert pane.follow_run(run)
    qtbot.waitUntil(
        lambda: "Training on cuda:0 (remote)" in pane.view.log_view.toPlainText(), timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: data_points(pane.view.loss_plot) and max(data_points(pane.view.loss_plot)) >= 4)
    assert pane.start_button.isEnabled()  # nothing trains here

    best = run / "best.pt"
    best.write_bytes(b"x")
    append(
        ev.Epoch(1, 2, 0.9, 1.0, 0.25, 0.8, [0.5] * 19, names, 12.0, True),
        ev.CheckpointSaved(str(best), 1, 0.25, True),
    )
    qtbot.waitUntil(lambda: saved == [str(best)], timeout=WAIT_MS)  # the viewer shows the new best
    assert "validation mIoU 0.250 — new best" in pane.view.log_view.toPlainText()
    assert max(data_points(pane.view.miou_plot)) >= 1

    def listed() -> bool:
        return any(r.path == run for r in pane.runs.runs())

    qtbot.waitUntil(listed, timeout=WAIT_MS)  # next to the local runs
    append(ev.Finished(str(run), str(best), 0.25, 1, 2))
    qtbot.waitUntil(lambda: "Finished" in pane.view.status_label.text(), timeout=WAIT_MS)


def test_fine_tune_on_corrections_starts_a_new_run_from_the_selected_checkpoint(qtbot, tmp_path):
    pytest.importorskip("segviewer.core.training")
    import numpy as np

    from segviewer.core.corrections import Corrections
    from segviewer.core.demo import generate_demo
    from segviewer.core.fine_tune import LR_FACTOR
    from segviewer.core.imageio import read_label

    root = generate_demo(tmp_path / "demo", count=8, size=(36, 64), seed=0)  # its own: it gets corrections
    pane = make_pane(qtbot, root)
    try:
        pane.form.epochs.setValue(1)
        assert not pane.fine_tune_button.isEnabled()
        assert "Select a run" in pane.fine_tune_button.toolTip()
        click(qtbot, pane.start_button)
        wait_idle(qtbot, pane)
        first = Path(last_of(pane, ev.Finished).run_dir)
        qtbot.waitUntil(lambda: any(r.path == first for r in pane.runs.runs()), timeout=WAIT_MS)
        pane.runs.table.selectRow(next(i for i, r in enumerate(pane.runs.runs()) if r.path == first))
        qtbot.waitUntil(lambda: "no corrections yet" in pane.fine_tune_button.toolTip(), timeout=WAIT_MS)
        assert not pane.fine_tune_button.isEnabled()

        mask = sorted((root / "labels" / "sem_seg" / "masks" / "train").glob("*.png"))[0]
        Corrections(root).write("train", mask.stem, np.zeros_like(read_label(mask)[0]))
        pane.corrections_changed()  # what the mask editor's correction_saved signal calls
        qtbot.waitUntil(pane.fine_tune_button.isEnabled, timeout=WAIT_MS)
        assert "1 corrected masks" in pane.fine_tune_button.toolTip()
        pane.events.clear()
        click(qtbot, pane.fine_tune_button)
        assert not pane.fine_tune_button.isEnabled() and not pane.start_button.isEnabled()
        wait_idle(qtbot, pane)
        finished = last_of(pane, ev.Finished)
        assert finished is not None, pane.view.log_view.toPlainText()
        second = Path(finished.run_dir)
        assert second != first and second.parent == first.parent  # a new run folder beside the first

        before = json.loads((first / "config.json").read_text())
        after = json.loads((second / "config.json").read_text())
        assert after["init_from"] == str((first / "best.pt").resolve()) and not after["resume"]
        assert after["lr"] == pytest.approx(before["lr"] * LR_FACTOR)
        assert after["labels"] == "corrected" and before["corrections"] is None
        assert after["corrections"]["splits"]["train"]["samples"] == 1
        assert after["corrections"]["folder"] == str(Corrections(root).folder)
        assert "Fine-tuning" in pane.view.log_view.toPlainText()
        compare_before_and_after_on_an_unedited_split(qtbot, root, first, second)
    finally:
        pane.shutdown()


def compare_before_and_after_on_an_unedited_split(qtbot, root: Path, before: Path, after: Path) -> None:
    """The evaluation pane scores model A (before) and B (after fine-tuning) side by side on 'val'."""
    from segviewer.core.datasets import open_dataset
    from segviewer.gui.panes.evaluation_pane import EvaluationPane

    dataset = open_dataset(root)
    assert dataset.labels == "corrected" and not any(s.corrected for s in dataset.splits["val"])
    pane = EvaluationPane()
    qtbot.addWidget(pane)
    try:
        pane.set_dataset(dataset)
        assert pane.set_split("val")
        pane.set_checkpoint(0, before / "best.pt")
        pane.set_checkpoint(1, after / "best.pt")
        with qtbot.waitSignal(pane.evaluation_finished, timeout=WAIT_MS) as finished:
            assert pane.start_evaluation()
        assert len(finished.args[0]) == 2
        rows = pane.table_rows()
        assert rows[0] == ["Class", "IoU A", "IoU B", "Accuracy A", "Accuracy B"]
        mean_iou = next(r for r in rows if r[0] == "Mean IoU")
        assert all(0 <= float(v) <= 1 for v in mean_iou[1:3])  # a score for A and one for B
    finally:
        pane.shutdown()
