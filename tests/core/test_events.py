"""The `--events jsonl` format: every event survives a round trip; bad lines are refused clearly."""

from __future__ import annotations

import json
import math

import pytest

from segviewer.core import events as ev

SAMPLES = [
    ev.Started("runs/a", {"model": "ulite", "input_size": [128, 224]}, "cpu", 10, 4, 3, 1234, 1),
    ev.Batch(1, 2, 3, 0.5, 12.5),
    ev.Epoch(1, 2, 0.9, float("nan"), 0.4, 0.8, [0.5, None, 0.25], ["road", "car", "sky"], 3.5, True),
    ev.CheckpointSaved("runs/a/best.pt", 1, 0.4, True),
    ev.EarlyStopped(5, 2, 0.41),
    ev.Warning("skipped a.jpg"),
    ev.Finished("runs/a", "runs/a/best.pt", 0.41, 2, 5, False),
    ev.Failed("out of memory", ["traceback saved in x"]),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip(event):
    line = ev.to_json_line(event)
    assert "\n" not in line and "NaN" not in line
    data = json.loads(line)
    assert data["v"] == ev.EVENTS_VERSION and data["type"] in ev.TYPES
    back = ev.from_json_line(line)
    assert type(back) is type(event)
    for key, value in vars(event).items():
        got = getattr(back, key)
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got)
        else:
            assert got == value


def test_unknown_types_and_fields_are_skipped():
    assert ev.from_dict({"v": 1, "type": "something_new", "x": 1}) is None
    back = ev.from_dict({"v": 1, "type": "warning", "message": "m", "extra": 3})
    assert back == ev.Warning("m")


@pytest.mark.parametrize(
    "line, words",
    [
        ("not json", "not JSON"),
        ('{"v": 1}', 'no "type"'),
        ('{"v": 2, "type": "warning", "message": "m"}', "version 2"),
        ('{"v": 1, "type": "batch", "epoch": 1}', "missing fields"),
    ],
)
def test_bad_lines_are_refused_with_a_reason(line, words):
    with pytest.raises(ev.EventFormatError, match=words):
        ev.from_json_line(line)
