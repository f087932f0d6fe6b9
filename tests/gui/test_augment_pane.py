"""The augmentations pane: a repeatable grid of previews, reshuffling, single transforms and presets."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from segviewer.core.augment import TRANSFORM_NAMES, load_preset  # noqa: E402
from segviewer.core.labels import get_scheme  # noqa: E402
from segviewer.gui.image_utils import qimage_to_array  # noqa: E402
from segviewer.gui.panes.augment_pane import AugmentPane  # noqa: E402

WAIT_MS = 20_000
BDD = get_scheme("bdd100k")


def sample() -> tuple[np.ndarray, np.ndarray]:
    """32x48: a left/right asymmetric picture (so a flip shows) with a mask of three classes."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (32, 48, 3), dtype=np.uint8)
    image[:, :12] = (250, 20, 20)
    mask = np.zeros((32, 48), np.uint8)
    mask[:10] = 10  # sky
    mask[:, 30:] = 13  # car
    return image, mask


@pytest.fixture
def pane(qtbot):
    widget = AugmentPane(count=4, columns=2)
    qtbot.addWidget(widget)
    widget.resize(700, 700)
    widget.show()
    image, mask = sample()
    with qtbot.waitSignal(widget.previews_updated, timeout=WAIT_MS):
        widget.set_sample(image, mask, BDD.palette, BDD.ignore_index, name="tiny")
    yield widget
    widget.shutdown()


def wait_previews(qtbot, pane, action) -> list[tuple[np.ndarray, np.ndarray]]:
    with qtbot.waitSignal(pane.previews_updated, timeout=WAIT_MS):
        action()
    return pane.preview_results()


def test_grid_fills_with_one_preview_per_seed(pane):
    assert pane.grid.tile_count() == 4
    results = pane.preview_results()
    assert len(results) == 4
    assert all(im.shape == (32, 48, 3) and m.shape == (32, 48) for im, m in results)
    grabbed = qimage_to_array(pane.grid.grab().toImage())
    assert len(np.unique(grabbed.reshape(-1, 3), axis=0)) > 50  # pictures drawn, not an empty background
    assert "4 random versions of tiny" in pane.caption.text()


def test_same_seed_gives_identical_pixels_and_reshuffle_changes_them(qtbot, pane):
    first = wait_previews(qtbot, pane, lambda: pane.set_seed(7))
    wait_previews(qtbot, pane, lambda: pane.set_seed(8))
    again = wait_previews(qtbot, pane, lambda: pane.set_seed(7))
    for (a_im, a_m), (b_im, b_m) in zip(first, again, strict=True):
        assert np.array_equal(a_im, b_im) and np.array_equal(a_m, b_m)
    shuffled = wait_previews(qtbot, pane, pane.reshuffle)
    assert pane.seed() == 7 + 4
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, shuffled, strict=True))


def test_changing_a_control_updates_the_grid(qtbot, pane):
    before = pane.preview_results()
    for name in TRANSFORM_NAMES:  # everything off except a flip that always happens
        pane.rows[name].enabled.setChecked(name == "hflip")
    with qtbot.waitSignal(pane.previews_updated, timeout=WAIT_MS):
        pane.rows["hflip"].p_spin.setValue(100)
    image, mask = sample()
    for im, m in pane.preview_results():
        assert np.array_equal(im, np.fliplr(image)) and np.array_equal(m, np.fliplr(mask))
    assert pane.preset_combo.currentText() == "custom (edited)"
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(before, pane.preview_results(), strict=True))


def test_alone_shows_one_transform_always_applied(qtbot, pane):
    image, mask = sample()
    for name in TRANSFORM_NAMES:
        pane.rows[name].enabled.setChecked(False)  # the preset does not matter in this mode
    results = wait_previews(qtbot, pane, pane.rows["hflip"].solo.click)
    assert all(np.array_equal(im, np.fliplr(image)) for im, _m in results)
    assert "Horizontal flip" in pane.caption.text() and "alone" in pane.caption.text()
    results = wait_previews(qtbot, pane, pane.rows["snow"].solo.click)
    assert not pane.rows["hflip"].solo.isChecked()
    assert all(np.array_equal(m, mask) for _im, m in results)  # weather never moves the mask
    assert all(not np.array_equal(im, image) for im, _m in results)
    results = wait_previews(qtbot, pane, pane.rows["snow"].solo.click)  # off again: back to the preset
    assert all(np.array_equal(im, image) for im, _m in results)


def test_mask_overlay_toggle(pane):
    image, mask = sample()
    results = pane.preview_results()
    pane.mask_check.setChecked(True)
    with_mask = pane.preview_pictures()
    pane.mask_check.setChecked(False)
    without = pane.preview_pictures()
    assert all(np.array_equal(p, im) for p, (im, _m) in zip(without, results, strict=True))
    assert any(not np.array_equal(p, im) for p, (im, _m) in zip(with_mask, results, strict=True))


def test_preset_save_and_load_round_trip(qtbot, pane, tmp_path):
    pane.rows["snow"].enabled.setChecked(True)
    pane.rows["snow"].p_spin.setValue(70)
    pane.rows["snow"].s_spin.setValue(30)
    pane.rows["blur"].enabled.setChecked(False)
    saved = pane.current_preset()
    path = tmp_path / "my-snow.json"
    with qtbot.waitSignal(pane.preset_saved) as signal:
        assert pane.save_preset_to(path)
    assert signal.args == [str(path)]
    on_disk = load_preset(path)
    assert on_disk.name == "my-snow"
    snow = next(t for t in on_disk.transforms if t.name == "snow")
    assert (snow.enabled, snow.p, snow.strength) == (True, 0.7, 0.3)

    pane.select_preset("none")
    assert not any(t.enabled for t in pane.current_preset().transforms)
    assert pane.load_preset_from(path)
    assert pane.preset_combo.currentText() == "my-snow"
    assert [vars(t) for t in pane.current_preset().transforms] == [vars(t) for t in saved.transforms]


def test_invalid_preset_file_shows_a_message_naming_it(pane, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps({"name": "x", "transforms": [{"name": "sparkles"}]}))
    before = [vars(t) for t in pane.current_preset().transforms]
    assert not pane.load_preset_from(bad)
    assert not pane.message_label.isHidden()
    assert str(bad) in pane.message_label.text() and "sparkles" in pane.message_label.text()
    assert [vars(t) for t in pane.current_preset().transforms] == before


def test_no_sample_shows_a_hint(qtbot):
    widget = AugmentPane(count=2)
    qtbot.addWidget(widget)
    widget.show()
    widget.set_sample(None, None)
    qtbot.wait(50)
    assert widget.grid.tile_count() == 0
    assert widget.preview_results() == []
    widget.shutdown()


def test_installed_in_the_main_window_follows_the_viewer(qtbot, window, tiny_bdd):
    from segviewer.gui.panes.augment_pane import install_augment_pane
    from tests.gui.conftest import open_and_wait

    pane = install_augment_pane(window)
    pane.parentWidget().raise_()
    with qtbot.waitSignal(pane.previews_updated, timeout=WAIT_MS):
        open_and_wait(qtbot, window, tiny_bdd)
    image = window.viewer.current_image()
    assert len(pane.preview_results()) == pane.count
    assert all(im.shape == image.shape for im, _m in pane.preview_results())
    assert window.viewer.current_sample().name in pane.caption.text()


def test_transform_table_drops_its_sliders_rather_than_hide_columns_when_narrow(qtbot):
    from segviewer.gui.panes.augment_transform_rows import build_transform_table

    scroll, rows = build_transform_table(lambda: None, lambda _name, _on: None)
    qtbot.addWidget(scroll)
    table = scroll.widget()
    scroll.resize(700, 300)
    scroll.show()
    qtbot.waitUntil(lambda: rows["blur"].p_slider.isVisible())
    assert not rows["hflip"].s_slider.isVisible()  # a flip has no strength
    scroll.resize(table.minimumSizeHint().width() + 40, 300)  # a laptop screen's right-side pane
    qtbot.waitUntil(lambda: not rows["blur"].p_slider.isVisible())
    assert scroll.horizontalScrollBar().maximum() == 0  # Show alone is in view, not scrolled to
    assert rows["blur"].solo.geometry().right() <= scroll.viewport().width()
    rows["blur"].p_spin.setValue(40)  # the spin box still sets the chance
    assert rows["blur"].spec().p == 0.4
    scroll.resize(700, 300)
    qtbot.waitUntil(lambda: rows["blur"].p_slider.isVisible())
    assert rows["blur"].p_slider.value() == 40 and not rows["hflip"].s_slider.isVisible()
