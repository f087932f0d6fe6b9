"""`segviewer demo-data`: writes a set, refuses folders holding the user's files, explains a bad --size."""

from __future__ import annotations

from segviewer.cli import main


def test_writes_the_set_and_reports_the_splits(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo-data", str(out), "--count", "4", "--size", "36x64", "--seed", "2"]) == 0
    captured = capsys.readouterr()
    assert str(out) in captured.out and "train 3, val 1, test 0" in captured.out
    assert "4/4" in captured.err  # progress goes to stderr
    assert len(list((out / "images" / "10k" / "train").glob("*.jpg"))) == 3
    assert len(list((out / "labels" / "sem_seg" / "masks" / "val").glob("*.png"))) == 1
    assert (out / ".segviewer-demo.json").is_file()


def test_rerun_replaces_a_previous_demo_set(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo-data", str(out), "--count", "4", "--size", "36x64"]) == 0
    assert main(["demo-data", str(out), "--count", "4", "--size", "36x64"]) == 0
    assert "already there" in capsys.readouterr().out
    assert main(["demo-data", str(out), "--count", "10", "--size", "36x64"]) == 0
    assert len(list((out / "images" / "10k" / "train").glob("*.jpg"))) == 7


def test_refuses_a_non_empty_folder_that_is_not_a_demo_set(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["demo-data", str(tmp_path), "--count", "2", "--size", "36x64"]) == 2
    err = capsys.readouterr().err
    assert "segviewer: error:" in err and str(tmp_path) in err and "empty" in err
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_bad_size_is_a_clear_message(tmp_path, capsys):
    for bad in ("360", "360x", "axb", "360x640x3", "0x64", "-36x64", "36,64"):
        assert main(["demo-data", str(tmp_path / "x"), f"--size={bad}"]) == 2, bad
        err = capsys.readouterr().err
        assert "--size" in err and f"'{bad}'" in err, err
    assert not (tmp_path / "x").exists()


def test_bad_count_or_seed_is_a_clear_message(tmp_path, capsys):
    assert main(["demo-data", str(tmp_path / "x"), "--count", "0"]) == 2
    assert "--count" in capsys.readouterr().err
    assert main(["demo-data", str(tmp_path / "x"), "--seed=-1"]) == 2
    assert "--seed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
