"""The review's suspect pixels over the picture: magenta stripes where suspect, gone on the next sample."""

from __future__ import annotations

import numpy as np

from segviewer.gui.suspect_layer import suspect_rgba
from tests.gui.conftest import H, W, open_and_wait
from tests.gui.test_mask_editor import screen_colour

INSIDE, OUTSIDE = (12, 22), (48, 22)  # (x, y) image pixels: in the suspect block, far from it
NEXT_STRIPE = (15, 22)  # in the block too, half a stripe period (6 px here) to the right of INSIDE


def suspect_block() -> np.ndarray:
    suspect = np.zeros((H, W), bool)
    suspect[14:31, 4:21] = True
    return suspect


def shown(window, name: str) -> bool:
    return getattr(window.current_sample(), "name", None) == name and window.viewer.picture() is not None


def close(a, b, tol: int = 3) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


def test_chosen_sample_shows_its_suspect_pixels_until_another_is_shown(qtbot, window, tiny_bdd):
    from segviewer.gui.panes.review_pane import install_review_pane

    pane = install_review_pane(window)
    open_and_wait(qtbot, window, tiny_bdd)
    pane.open_sample_requested.emit("train", "train_001", suspect_block())
    qtbot.waitUntil(lambda: shown(window, "train_001"), timeout=10000)
    qtbot.wait(50)
    picture = window.viewer.picture()
    inside = []
    for x, y in (INSIDE, NEXT_STRIPE):
        alpha = suspect_rgba(suspect_block())[y, x, 3] / 255
        blended = picture[y, x].astype(float) * (1 - alpha) + np.array([255, 0, 255]) * alpha
        inside.append(screen_colour(window, x, y))
        assert alpha > 0 and close(inside[-1], blended)
    assert not close(*inside, tol=20)  # stripes: a texture no class colour has
    x, y = OUTSIDE
    assert close(screen_colour(window, x, y), picture[y, x])

    window.dataset_pane.select_sample("train_002")
    qtbot.waitUntil(lambda: shown(window, "train_002"), timeout=10000)
    qtbot.wait(50)
    x, y = INSIDE
    assert close(screen_colour(window, x, y), window.viewer.picture()[y, x])

    window.dataset_pane.select_sample("train_001")  # back again: the overlay was for that one visit
    qtbot.waitUntil(lambda: shown(window, "train_001"), timeout=10000)
    qtbot.wait(50)
    assert close(screen_colour(window, x, y), window.viewer.picture()[y, x])


def test_the_suspect_pixels_stay_visible_over_the_mask_being_edited(qtbot, window, tiny_bdd):
    from segviewer.gui.panes.review_pane import install_review_pane
    from tests.gui.conftest import ROAD
    from tests.gui.test_mask_editor import colour

    pane = install_review_pane(window)
    open_and_wait(qtbot, window, tiny_bdd)
    with qtbot.waitSignal(window.viewer.frame_shown):
        window.session.set_opacity(1.0)  # the edited mask hides the picture: only its colours show
    pane.open_sample_requested.emit("train", "train_001", suspect_block())
    qtbot.waitUntil(lambda: shown(window, "train_001"), timeout=10000)
    window.mask_editor.toolbar.edit_action.trigger()
    assert window.mask_editor.editing()
    qtbot.wait(50)
    for x, y in (INSIDE, NEXT_STRIPE):  # road in the mask, under the stripes
        alpha = suspect_rgba(suspect_block())[y, x, 3] / 255
        blended = np.array(colour(ROAD), float) * (1 - alpha) + np.array([255, 0, 255]) * alpha
        assert close(screen_colour(window, x, y), blended)
    x, y = OUTSIDE
    assert close(screen_colour(window, x, y), colour(window.mask_editor.session().mask[y, x]))
