from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

from segviewer.core import paths
from segviewer.core.runs import list_runs, new_run_dir, new_run_name, read_run

HEADER = "epoch,train_loss,val_loss,val_miou,val_pixel_accuracy,seconds,lr\n"


def make_run(
    folder: Path, name: str, mious: list[float], epochs: int = 3, patience: int = 5, best=True
) -> Path:
    run = folder / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "ulite", "epochs": epochs, "patience": patience}))
    lines = [f"{i + 1},1.0,1.1,{m},0.5,2.0,0.001\n" for i, m in enumerate(mious)]
    (run / "metrics.csv").write_text(HEADER + "".join(lines))
    if best:
        (run / "best.pt").write_bytes(b"x")
    return run


def test_lists_runs_newest_first_with_best_miou(tmp_path):
    make_run(tmp_path, "ulite-20240101-100000", [0.2, 0.4, 0.3])
    make_run(tmp_path, "unet-20240301-100000", [0.1])
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["unet-20240301-100000", "ulite-20240101-100000"]
    old = runs[1]
    assert old.model == "ulite" and old.epochs == 3 and old.status == "finished"
    assert math.isclose(old.best_miou, 0.4) and old.best_epoch == 2
    assert old.date == datetime(2024, 1, 1, 10, 0, 0)
    assert old.best_checkpoint == old.path / "best.pt"
    assert runs[0].status == "incomplete"  # 1 of 3 epochs, no early stop


def test_early_stopped_run_counts_as_finished(tmp_path):
    make_run(tmp_path, "ulite-20240101-100000", [0.5, 0.4, 0.4], epochs=10, patience=2)
    assert read_run(tmp_path / "ulite-20240101-100000").status == "finished"


def test_broken_folders_do_not_break_the_list(tmp_path):
    bad = tmp_path / "segnet-20240101-100000"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    (bad / "metrics.csv").write_bytes(b"\xff\xfe garbage")
    half = make_run(tmp_path, "ulite-20240102-100000", [0.3], best=False)
    with (half / "metrics.csv").open("a") as fh:
        fh.write("2,0.9,1.")  # a line cut by a crash
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("hi")
    runs = {r.name: r for r in list_runs(tmp_path)}
    assert set(runs) == {"segnet-20240101-100000", "ulite-20240102-100000"}
    assert runs["segnet-20240101-100000"].status == "broken"
    assert runs["segnet-20240101-100000"].model == "segnet"  # from the folder name
    assert runs["segnet-20240101-100000"].best_miou is None
    assert runs["ulite-20240102-100000"].status == "no checkpoint"
    assert runs["ulite-20240102-100000"].epochs == 2  # the cut line still has its epoch


def test_missing_folder_gives_empty_list(tmp_path):
    assert list_runs(tmp_path / "nowhere") == []


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    now = datetime(2024, 5, 6, 7, 8, 9)
    assert new_run_name("ulite", now) == "ulite-20240506-070809"
    first = new_run_dir(tmp_path, "ulite", now)
    first.mkdir()
    second = new_run_dir(tmp_path, "ulite", now)
    assert second.name == "ulite-20240506-070809-2"
    second.mkdir()
    assert read_run(second) is None  # empty folder: not a run yet


def test_default_runs_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_RUNS_DIR", str(tmp_path / "r"))
    assert paths.runs_dir() == tmp_path / "r"
    monkeypatch.delenv("SEGVIEWER_RUNS_DIR")
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "d"))
    assert paths.runs_dir() == tmp_path / "d" / "runs"


def test_status_json_written_by_the_engine_wins(tmp_path):
    stopped = make_run(tmp_path, "ulite-20240101-100000", [0.2, 0.3, 0.1], epochs=3)
    (stopped / "status.json").write_text(json.dumps({"status": "stopped", "message": ""}))
    failed = make_run(tmp_path, "ulite-20240102-100000", [0.2], epochs=3)
    (failed / "status.json").write_text(json.dumps({"status": "failed", "message": "training diverged"}))
    early = make_run(tmp_path, "ulite-20240103-100000", [0.2], epochs=30, patience=9)
    (early / "status.json").write_text(json.dumps({"status": "early_stopped"}))
    (early / "last.pt").write_bytes(b"x")
    runs = {r.name: r for r in list_runs(tmp_path)}
    assert runs["ulite-20240101-100000"].status == "incomplete"
    assert runs["ulite-20240102-100000"].status == "failed"
    assert runs["ulite-20240102-100000"].message == "training diverged"
    assert runs["ulite-20240103-100000"].status == "finished"
    assert runs["ulite-20240103-100000"].last_checkpoint == early / "last.pt"
