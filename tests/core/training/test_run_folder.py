"""RunFolder: the one metrics.csv reader, status and config files, events, and folders never reused."""

from __future__ import annotations

import math

import pytest

from segviewer.core import events as ev
from segviewer.core.training.run_folder import RunFolder, RunFolderError, read_metrics


def test_metrics_round_trip_and_the_one_reader_keeps_rows_with_empty_cells(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    rows = [
        {"epoch": 1, "train_loss": 1.5, "val_loss": math.nan, "val_miou": 0.25, "lr": 0.001},
        {"epoch": 2, "train_loss": 1.25, "val_loss": 0.5, "val_miou": None, "seconds": 3.0},
    ]
    folder.write_metrics(rows)
    back = folder.read_metrics()
    assert [r["epoch"] for r in back] == [1, 2] and isinstance(back[0]["epoch"], int)
    assert math.isnan(back[0]["val_loss"]) and back[0]["val_miou"] == 0.25
    assert math.isnan(back[1]["val_miou"]) and math.isnan(back[1]["lr"])  # empty cells are NaN, kept
    with folder.metrics_path.open("a") as fh:
        fh.write("3,0.9,")  # a half-written line of a crashed foreign writer: still epoch 3
        fh.write("\nnot-a-number,1,2\n")
    assert [r["epoch"] for r in read_metrics(folder.metrics_path)] == [1, 2, 3]
    assert read_metrics(tmp_path / "missing.csv") == []


def test_status_config_and_events(tmp_path):
    folder = RunFolder.create(tmp_path / "run", "ulite", resume=False)
    assert folder.read_status() == (None, "") and folder.read_config() == ({}, False)
    folder.write_status("failed", "disk full")
    folder.write_config({"model": "ulite"})
    assert folder.read_status() == ("failed", "disk full") and folder.read_config() == (
        {"model": "ulite"},
        False,
    )
    folder.config_path.write_text("{broken")
    assert folder.read_config() == ({}, True)
    folder.append_events([ev.Warning("a")])
    folder.append_events([ev.Warning("b"), ev.EarlyStopped(3, 1, 0.5)])
    assert ev.EventFollower(folder.events_path).poll() == [
        ev.Warning("a"),
        ev.Warning("b"),
        ev.EarlyStopped(3, 1, 0.5),
    ]


def test_a_reading_folder_writes_nothing(tmp_path):
    folder = RunFolder(tmp_path / "run", writes=False)
    RunFolder.create(folder.path, "ulite", resume=False, writes=False)
    assert not folder.path.exists()
    folder.path.mkdir()
    folder.write_metrics([{"epoch": 1}])
    folder.write_status("running")
    folder.write_config({"a": 1})
    folder.append_events([ev.Warning("x")])
    assert folder.write_error_log("trace") is None
    folder.save_checkpoint("last", {"format": "x"})
    assert list(folder.path.iterdir()) == []  # the other ranks of a distributed run


def test_create_never_reuses_a_run_and_resume_needs_last_pt(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(RunFolderError, match="no last.pt to resume from"):
        RunFolder.create(run, "ulite", resume=True)
    run.mkdir()
    (run / "best.pt").write_bytes(b"x")
    with pytest.raises(RunFolderError, match="already holds a run; pass --resume"):
        RunFolder.create(run, "ulite", resume=False)
    (run / "last.pt").write_bytes(b"x")
    assert RunFolder.create(run, "ulite", resume=True).path == run
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RunFolderError, match="cannot create the run folder"):
        RunFolder.create(blocker / "run", "ulite", resume=False)
