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


def _line(event) -> bytes:
    return (ev.to_json_line(event) + "\n").encode()


def test_follower_returns_complete_events_and_keeps_a_partial_line(tmp_path):
    path = tmp_path / "events.jsonl"
    follower = ev.EventFollower(path)
    assert follower.poll() == []  # not written yet: no error
    first, second = _line(SAMPLES[1]), _line(SAMPLES[5])
    path.write_bytes(first + second[:7])
    assert follower.poll() == [SAMPLES[1]] and not follower.restarted
    assert follower.poll() == []
    with path.open("ab") as fh:
        fh.write(second[7:] + _line(SAMPLES[3]))
    assert follower.poll() == [SAMPLES[5], SAMPLES[3]]


def test_follower_starts_over_on_a_replaced_or_shrunk_file(tmp_path):
    path = tmp_path / "events.jsonl"
    follower = ev.EventFollower(path)
    path.write_bytes(_line(SAMPLES[0]) + _line(SAMPLES[1]))
    assert len(follower.poll()) == 2
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(_line(SAMPLES[5]) + _line(SAMPLES[6]) + _line(SAMPLES[1]))  # longer
    replacement.replace(path)  # a new inode, as a restarted run (or an rsync) leaves it
    assert follower.poll() == [SAMPLES[5], SAMPLES[6], SAMPLES[1]] and follower.restarted
    assert follower.poll() == [] and not follower.restarted
    path.write_bytes(_line(SAMPLES[7]))  # truncated and rewritten in place: same inode, smaller
    assert follower.poll() == [SAMPLES[7]] and follower.restarted


def test_follower_skips_bad_lines_and_survives_deletion(tmp_path):
    path = tmp_path / "events.jsonl"
    follower = ev.EventFollower(path)
    unknown = b'{"v":1,"type":"something_new"}\n'
    path.write_bytes(b"garbage\n" + unknown + b"\xff\xfe\n" + _line(SAMPLES[4]))
    assert follower.poll() == [SAMPLES[4]] and follower.bad_lines == 2
    path.unlink()
    assert follower.poll() == [] and follower.restarted  # what a viewer shows is gone
    path.write_bytes(_line(SAMPLES[4]))  # a new run's file, shorter than the offset reached before
    assert follower.poll() == [SAMPLES[4]]
