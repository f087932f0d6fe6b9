"""core/paths.py: one place for every folder; the demo set never shares a folder with the user's work."""

from __future__ import annotations

import sys

from segviewer.core import demo, paths
from segviewer.core.runs import list_runs

SMALL = (36, 64)


def test_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "mine"))
    monkeypatch.delenv("SEGVIEWER_RUNS_DIR", raising=False)
    assert paths.data_home() == tmp_path / "mine"
    assert paths.demo_dir() == tmp_path / "mine" / "demo"
    assert paths.runs_dir() == tmp_path / "mine" / "runs"
    assert paths.corrections_home() == tmp_path / "mine" / "corrections"
    monkeypatch.setenv("SEGVIEWER_RUNS_DIR", str(tmp_path / "r"))
    assert paths.runs_dir() == tmp_path / "r"
    monkeypatch.setenv("SEGVIEWER_CACHE_DIR", str(tmp_path / "c"))
    assert paths.decoded_cache_dir() == tmp_path / "c" / "decoded"
    assert paths.log_path() == tmp_path / "c" / "segviewer.log"
    monkeypatch.delenv("SEGVIEWER_SETTINGS_DIR", raising=False)
    assert paths.settings_dir() is None


def test_platform_defaults_on_linux(monkeypatch, tmp_path):
    if not sys.platform.startswith("linux"):
        return
    for name in ("SEGVIEWER_DATA_HOME", "SEGVIEWER_RUNS_DIR", "SEGVIEWER_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdgc"))
    assert paths.demo_dir() == tmp_path / "xdg" / "segviewer" / "demo"
    assert paths.runs_dir() == tmp_path / "xdg" / "segviewer" / "runs"
    assert paths.decoded_cache_dir() == tmp_path / "xdgc" / "segviewer" / "decoded"


def test_dataset_key_is_stable_and_distinct(tmp_path):
    a, b = tmp_path / "a" / "city", tmp_path / "b" / "city"
    assert paths.dataset_key(a) == paths.dataset_key(a)
    assert paths.dataset_key(a) != paths.dataset_key(b)
    assert paths.dataset_key(a).startswith("city-")


def test_usable_cores_respects_affinity():
    n = paths.usable_cores()
    assert n >= 1
    if hasattr(__import__("os"), "sched_getaffinity"):
        assert n == len(__import__("os").sched_getaffinity(0))
    assert paths.background_cores() == max(1, n - 1)


def test_a_run_survives_regenerating_the_demo_set(monkeypatch, tmp_path):
    """The data-loss regression: runs lived inside the demo folder and went when it was regenerated."""
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEGVIEWER_RUNS_DIR", raising=False)
    first = demo.ensure_demo(count=3, size=SMALL)
    run = paths.runs_dir() / "ulite-20260101-000000"
    run.mkdir(parents=True)
    (run / "config.json").write_text('{"model": "ulite"}', encoding="utf-8")
    (run / "best.pt").write_bytes(b"weights")
    corrections = paths.corrections_home() / "x" / "train" / "a.png"
    corrections.parent.mkdir(parents=True)
    corrections.write_bytes(b"png")
    second = demo.ensure_demo(count=4, size=SMALL)  # another count: the demo set is regenerated
    assert first == second == paths.demo_dir()
    assert len(list((second / "images" / "10k").rglob("*.jpg"))) == 4
    assert (run / "best.pt").read_bytes() == b"weights"
    assert corrections.read_bytes() == b"png"
    assert [r.path for r in list_runs(paths.runs_dir())] == [run]
