"""The Review pane with an untrained U-Lite: progress, Cancel, the list worst first, overlays, reviewed marks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from segviewer.core.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from segviewer.core.corrections import Corrections  # noqa: E402
from segviewer.core.datasets import open_dataset  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.gui.panes.review_pane import ReviewPane  # noqa: E402
from tests.gui.conftest import H, W, write_bdd10k  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture
def root(tmp_path) -> Path:
    return write_bdd10k(tmp_path / "bdd", {"train": 2, "val": 5, "test": 1})


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    from segviewer.core.models import build_model

    torch.manual_seed(0)
    model = build_model("ulite", 19, widths=[4, 8, 16, 32])
    return save_checkpoint(
        tmp_path / "tiny.pt", make_checkpoint(model, get_scheme("bdd100k"), (32, 48), 1, None)
    )


@pytest.fixture
def pane(qtbot):
    widget = ReviewPane()
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    yield widget
    widget.shutdown()


def cells(pane, col: int) -> list[str]:
    return [pane.table.item(r, col).text() for r in range(pane.table.rowCount())]


def test_needs_a_data_set_and_a_model(pane, root, checkpoint):
    assert not pane.run_button.isEnabled() and not pane.cancel_button.isEnabled()
    pane.set_dataset(open_dataset(root))
    assert not pane.run_button.isEnabled() and "load a checkpoint" in pane.run_button.toolTip()
    pane.set_checkpoint(checkpoint)
    assert pane.run_button.isEnabled() and "Rank the split" in pane.run_button.toolTip()
    # labelled splits only, val first; test has no masks
    assert [pane.split_combo.itemText(i) for i in range(pane.split_combo.count())] == ["val", "train"]


def test_review_lists_worst_first_opens_with_an_overlay_and_remembers_marks(qtbot, pane, root, checkpoint):
    pane.set_dataset(open_dataset(root))
    pane.set_checkpoint(checkpoint)
    assert pane.progress.text() == ""  # nothing counted yet
    with qtbot.waitSignal(pane.review_finished, timeout=WAIT_MS):
        pane.run_button.click()
        assert pane.cancel_button.isEnabled() and not pane.run_button.isEnabled()
    assert pane.run_button.isEnabled() and not pane.cancel_button.isEnabled()
    assert pane.progress.value() == pane.progress.maximum() == 10  # two passes over 5 images
    assert pane.progress.text() == "100%"
    assert sorted(cells(pane, 0)) == [f"val_{i:03d}" for i in range(5)]
    scores = [float(s) for s in cells(pane, 1)]
    assert scores == sorted(scores, reverse=True)
    assert cells(pane, 4) == [""] * 5
    top_pairs = pane.table.item(0, 3)
    listed = top_pairs.text().split(", ")  # the top three (given → predicted: pixels)
    assert " → " in listed[0] and top_pairs.toolTip().splitlines()[: len(listed)] == [
        f"{p} px" for p in listed
    ]
    assert not pane.reviewed_button.isEnabled()

    with qtbot.waitSignal(pane.open_sample_requested, timeout=WAIT_MS) as opened:
        pane.table.selectRow(1)
    split, name, overlay = opened.args
    assert (split, name) == ("val", cells(pane, 0)[1])
    assert overlay.shape == (H, W) and overlay.dtype == bool
    ds = open_dataset(root)
    ignored = ds.load_mask(next(s for s in ds.splits["val"] if s.name == name)) == 255
    assert ignored.any() and not overlay[ignored].any()  # ignored pixels are never suspect

    assert pane.reviewed_button.isEnabled() and pane.reviewed_button.text() == "Mark as reviewed"
    pane.reviewed_button.click()
    assert cells(pane, 4)[1] == "✓" and pane.reviewed_button.text() == "Mark as not reviewed"
    assert Corrections(root).reviewed("val") == {name}

    # a new pane (a restarted app) shows the mark after reviewing again
    pane.set_dataset(open_dataset(root))
    assert pane.table.rowCount() == 0
    with qtbot.waitSignal(pane.review_finished, timeout=WAIT_MS):
        pane.run_button.click()
    marked = dict(zip(cells(pane, 0), cells(pane, 4), strict=True))
    assert marked[name] == "✓" and list(marked.values()).count("✓") == 1


def test_cancel_stops_the_review(qtbot, pane, root, checkpoint, monkeypatch):
    import segviewer.core.review as review

    pane.set_dataset(open_dataset(root))
    pane.set_checkpoint(checkpoint)
    real = review.probabilities
    started, release = threading.Event(), threading.Event()

    def slow(predictor, images):  # hold the first batch until Cancel was pressed
        started.set()
        release.wait(WAIT_MS / 1000)
        return real(predictor, images)

    monkeypatch.setattr(review, "probabilities", slow)
    pane.run_button.click()
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    pane.cancel_button.click()
    release.set()
    qtbot.waitUntil(lambda: pane.run_button.isEnabled(), timeout=WAIT_MS)
    assert pane.status.text() == "Review cancelled." and pane.table.rowCount() == 0
    assert not pane.cancel_button.isEnabled()


def test_a_bad_checkpoint_is_a_message(qtbot, pane, root, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    pane.set_dataset(open_dataset(root))
    pane.set_checkpoint(bad)
    pane.run_button.click()
    qtbot.waitUntil(lambda: pane.run_button.isEnabled(), timeout=WAIT_MS)
    assert str(bad) in pane.status.text() and pane.table.rowCount() == 0


def test_installed_in_the_window_it_opens_the_chosen_sample(qtbot, window, root, checkpoint):
    from PySide6.QtWidgets import QDockWidget

    from segviewer.gui.panes.review_pane import install_review_pane
    from tests.gui.conftest import open_and_wait

    pane = install_review_pane(window)
    assert "Review" in [d.windowTitle() for d in window.findChildren(QDockWidget)]
    open_and_wait(qtbot, window, root)
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT_MS):
        window.load_checkpoint(checkpoint)
    assert pane.run_button.isEnabled() and pane.split_combo.currentText() == "val"
    with qtbot.waitSignal(pane.review_finished, timeout=WAIT_MS):
        pane.run_button.click()
    chosen = cells(pane, 0)[2]
    with qtbot.waitSignal(pane.open_sample_requested, timeout=WAIT_MS):
        pane.table.selectRow(2)
    qtbot.waitUntil(lambda: getattr(window.current_sample(), "name", None) == chosen, timeout=WAIT_MS)
