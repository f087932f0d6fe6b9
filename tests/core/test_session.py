"""The session model: one place for what the user looks at; views hear of every real change once."""

from __future__ import annotations

import pytest

from segviewer.core.session import Session


def test_opacity_is_clamped_and_only_real_changes_are_announced():
    session = Session()
    heard = []
    session.events.opacity.connect(heard.append)
    session.set_opacity(0.7)
    session.set_opacity(0.7)  # no change, no event: a slider that shows it does not loop
    session.nudge_opacity(0.5)
    session.nudge_opacity(-2)
    assert heard == [0.7, 1.0, 0.0]


def test_unknown_mode_is_refused_by_name():
    session = Session()
    with pytest.raises(ValueError, match="'sideways'"):
        session.set_mode("sideways")
    session.set_mode("error")
    assert session.mode == "error"


def test_hidden_classes_and_colour_blind_palette():
    session = Session()
    changes = []
    session.events.hidden_classes.connect(changes.append)
    session.set_class_visible(13, False)
    session.set_class_visible(2, False)
    session.set_class_visible(13, True)
    session.hide_classes([0, 1])
    session.show_all_classes()
    assert changes == [frozenset({13}), frozenset({13, 2}), frozenset({2}), frozenset({0, 1}), frozenset()]
    toggles = []
    session.events.colorblind.connect(toggles.append)
    session.colorblind = True
    session.colorblind = True
    assert toggles == [True]


def test_opening_a_data_set_forgets_the_old_selection():
    session = Session(split="val", sample="s1", hidden_classes=frozenset({3}))
    opened = []
    session.events.dataset.connect(opened.append)
    dataset = object()
    session.open(dataset, "camvid")
    assert opened == [dataset]
    assert (session.split, session.sample, session.hidden_classes) == (None, None, frozenset())
    assert session.scheme_name == "camvid"
