"""The mask-edit session: each tool's pixels and dirty rect, only-overwrite, per-stroke undo and redo."""

from __future__ import annotations

import numpy as np
import pytest

from segviewer.core.editing import TILE, EditSession, Rect

IGNORE = 255
ROAD, CAR, SKY, PERSON = 0, 13, 10, 11


def mask_with_two_regions(h: int = 100, w: int = 160) -> np.ndarray:
    """Road everywhere, a car block at x 100..140, y 40..80, an ignored bottom row band."""
    mask = np.full((h, w), ROAD, np.uint8)
    mask[40:80, 100:140] = CAR
    mask[-5:] = IGNORE
    return mask


def changed_rect(before: np.ndarray, after: np.ndarray) -> Rect:
    ys, xs = np.nonzero(before != after)
    return Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def test_the_callers_mask_is_never_changed():
    original = mask_with_two_regions()
    copy = original.copy()
    session = EditSession(original, IGNORE)
    session.brush((10, 10), (50, 20), 9, PERSON)
    session.flood_fill(120, 60, SKY)
    assert np.array_equal(original, copy)
    assert not np.array_equal(session.mask, copy)


def test_brush_paints_a_disk_and_reports_exactly_the_changed_rect():
    session = EditSession(mask_with_two_regions(), IGNORE)
    before = session.mask.copy()
    dirty = session.brush((30, 30), (30, 30), 11, PERSON)
    painted = session.mask == PERSON
    assert painted.sum() == pytest.approx(np.pi * 5.5**2, rel=0.25)  # a disk of diameter ~11
    assert painted[30, 30] and painted[30, 25] and painted[30, 35] and not painted[30, 37]
    assert dirty == changed_rect(before, session.mask) == Rect(25, 25, 36, 36)


def test_brush_segment_covers_the_path_between_two_mouse_positions():
    session = EditSession(mask_with_two_regions(), IGNORE)
    session.brush((10, 20), (70, 20), 5, PERSON)
    row = session.mask[20, :]
    assert (row[10:71] == PERSON).all() and row[5] == ROAD and row[75] == ROAD
    assert (session.mask[18:23, 40] == PERSON).all() and session.mask[24, 40] == ROAD


def test_brush_outside_the_image_is_clipped_and_changes_nothing_outside():
    session = EditSession(mask_with_two_regions(), IGNORE)
    dirty = session.brush((-20, -20), (-2, -2), 9, PERSON)
    assert dirty.x0 == 0 and dirty.y0 == 0
    assert session.mask[0, 0] == PERSON and session.mask[10, 10] == ROAD
    assert session.brush((-50, -50), (-40, -40), 5, PERSON).empty


def test_eraser_paints_the_ignore_index():
    session = EditSession(mask_with_two_regions(), IGNORE)
    session.erase((120, 60), (120, 60), 5)
    assert session.mask[60, 120] == IGNORE and session.mask[60, 110] == CAR


def test_flood_fill_replaces_only_the_connected_region():
    mask = mask_with_two_regions()
    mask[10:20, 10:20] = CAR  # a second car, not connected to the first
    session = EditSession(mask, IGNORE)
    dirty = session.flood_fill(120, 60, SKY)
    assert dirty == Rect(100, 40, 140, 80)
    assert (session.mask[40:80, 100:140] == SKY).all()
    assert (session.mask[10:20, 10:20] == CAR).all()
    assert session.flood_fill(-1, 5, SKY).empty


def test_flood_fill_with_the_same_class_changes_nothing_and_adds_no_undo_step():
    session = EditSession(mask_with_two_regions(), IGNORE)
    assert session.flood_fill(120, 60, CAR).empty
    assert not session.can_undo() and not session.modified


def test_polygon_fills_its_inside():
    session = EditSession(mask_with_two_regions(), IGNORE)
    dirty = session.polygon([(10, 10), (50, 10), (50, 30), (10, 30)], PERSON)
    assert dirty == Rect(10, 10, 51, 31)
    assert (session.mask[10:31, 10:51] == PERSON).all()
    assert session.mask[9, 30] == ROAD and session.mask[32, 30] == ROAD
    assert session.polygon([(1, 1), (5, 5)], PERSON).empty  # two points are no polygon


def test_only_overwrite_protects_every_other_class():
    session = EditSession(mask_with_two_regions(), IGNORE)
    session.set_only_overwrite([ROAD])  # e.g. never paint over ignored pixels or cars
    session.brush((120, 90), (120, 90), 41, PERSON)  # covers car, road and the ignored band
    assert (session.mask[40:80, 100:140] == CAR).all()
    assert (session.mask[-5:] == IGNORE).all()
    assert session.mask[85, 120] == PERSON
    session.set_only_overwrite(None)
    session.brush((120, 60), (120, 60), 3, PERSON)
    assert session.mask[60, 120] == PERSON


def test_undo_and_redo_work_per_stroke():
    session = EditSession(mask_with_two_regions(), IGNORE)
    start = session.mask.copy()
    session.begin_stroke()
    for x in range(10, 90, 4):  # one drag made of many segments
        session.brush((x, 20), (x + 4, 20), 5, PERSON)
    session.end_stroke()
    after_drag = session.mask.copy()
    session.flood_fill(120, 60, SKY)
    assert session.can_undo() and not session.can_redo()

    dirty = session.undo()
    assert np.array_equal(session.mask, after_drag)
    assert not dirty.empty and dirty.x0 <= 100 and dirty.x1 >= 140
    session.undo()
    assert np.array_equal(session.mask, start) and not session.can_undo() and not session.modified
    session.redo()
    assert np.array_equal(session.mask, after_drag)
    session.redo()
    assert (session.mask[40:80, 100:140] == SKY).all() and not session.can_redo()


def test_a_new_edit_after_undo_drops_the_redo_steps():
    session = EditSession(mask_with_two_regions(), IGNORE)
    session.flood_fill(120, 60, SKY)
    session.undo()
    session.brush((5, 5), (5, 5), 3, PERSON)
    assert not session.can_redo()
    assert session.redo().empty


def test_history_stores_only_the_changed_tiles():
    mask = np.zeros((1024, 2048), np.uint8)
    session = EditSession(mask, IGNORE)
    session.brush((100, 100), (110, 100), 9, PERSON)  # within one or two 64x64 tiles
    assert session.history_nbytes() <= 2 * TILE * TILE
    assert session.history_nbytes() < mask.nbytes / 100


def test_history_is_bounded_in_bytes_dropping_the_oldest_steps():
    bound = 10 * TILE * TILE
    session = EditSession(np.zeros((512, 512), np.uint8), IGNORE, history_bytes=bound)
    for i in range(30):  # each dab touches one tile
        session.brush((32 + (i % 8) * 64, 32), (32 + (i % 8) * 64, 32), 3, 1 + i)
    assert session.history_nbytes() <= bound
    undone = 0
    while session.can_undo():
        session.undo()
        undone += 1
    assert 0 < undone < 30


def test_model_assisted_tools_copy_the_prediction():
    mask = mask_with_two_regions()
    pred = np.full(mask.shape, ROAD, np.uint8)
    pred[10:30, 10:60] = PERSON
    pred[50:60, 20:30] = PERSON  # a separate predicted region
    session = EditSession(mask, IGNORE)
    dirty = session.accept_prediction_rect(pred, Rect(0, 0, 40, 40))
    assert dirty == Rect(10, 10, 40, 30)
    assert (session.mask[10:30, 10:40] == PERSON).all() and (session.mask[10:30, 40:60] == ROAD).all()
    session.undo()
    session.accept_prediction_lasso(pred, [(0, 0), (80, 0), (0, 80)])  # a triangle
    assert session.mask[15, 15] == PERSON and session.mask[55, 25] == PERSON
    assert session.mask[28, 58] == ROAD  # outside the triangle
    session.undo()
    session.fill_from_prediction(pred, 55, 25)
    assert (session.mask[10:30, 10:60] == PERSON).all() and (session.mask[50:60, 20:30] == ROAD).all()


def test_a_prediction_of_another_size_is_refused():
    session = EditSession(mask_with_two_regions(), IGNORE)
    with pytest.raises(ValueError, match="prediction is 10x10"):
        session.fill_from_prediction(np.zeros((10, 10), np.uint8), 1, 1)


def test_pick_and_modified():
    session = EditSession(mask_with_two_regions(), IGNORE)
    assert session.pick(120, 60) == CAR and session.pick(0, 99) == IGNORE
    session.brush((5, 5), (5, 5), 3, PERSON)
    assert session.modified
    session.mark_saved()
    assert not session.modified


def test_class_shares_follow_every_change_and_undo():
    session = EditSession(mask_with_two_regions(), IGNORE)

    def exact() -> np.ndarray:
        return np.bincount(session.mask.ravel(), minlength=256) / session.mask.size

    assert np.array_equal(session.class_shares(), exact())
    session.begin_stroke()
    session.brush((10, 10), (60, 30), 7, PERSON)
    session.brush((60, 30), (130, 60), 7, PERSON)  # across the car too
    session.end_stroke()
    session.flood_fill(120, 50, SKY)
    session.accept_prediction_rect(np.full(session.mask.shape, CAR, np.uint8), Rect(0, 0, 20, 20))
    assert np.array_equal(session.class_shares(), exact())
    session.undo()
    session.undo()
    assert np.array_equal(session.class_shares(), exact())
    session.redo()
    assert np.array_equal(session.class_shares(), exact())
    assert session.class_shares()[PERSON] > 0
