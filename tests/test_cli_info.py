"""`segviewer info`: human and JSON summaries, --check problems, and errors as messages."""

from __future__ import annotations

import json

import numpy as np

from segviewer.cli import main
from segviewer.core.imageio import write_png
from tests.core import layout_fixtures as fx


def test_info_human_output(tmp_path, capsys):
    fx.write_bdd10k(tmp_path)
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "format     bdd100k-10k" in out
    assert "bdd100k (19 classes, ignore 255)" in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["train"] == ["3", "3", "48x32"]
    assert lines["val"] == ["2", "2", "48x32"]
    assert lines["test"] == ["2", "0", "48x32"]
    assert "none found" in out


def test_info_json_output(tmp_path, capsys):
    fx.write_cityscapes(tmp_path, train_ids=False)
    assert main(["info", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "cityscapes" and data["scheme"] == "cityscapes"
    assert data["num_classes"] == 19 and data["mask_kind"] == "ids"
    assert data["splits"] == {"train": {"images": 3, "masks": 3}, "val": {"images": 2, "masks": 2}}
    assert data["image_size"] == [48, 32]
    assert data["problems"] == []


def test_info_folder_with_scheme_option(tmp_path, capsys):
    fx.write_folder(tmp_path, count=20, values=(0, 3, 11))
    assert main(["info", str(tmp_path), "--scheme", "camvid", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "folder" and data["scheme"] == "camvid" and data["num_classes"] == 11
    assert {k: v["images"] for k, v in data["splits"].items()} == {"train": 14, "val": 3, "test": 3}


def test_info_check_lists_problems_and_exits_0(tmp_path, capsys):
    fx.write_camvid(tmp_path)
    (tmp_path / "train" / "train000.png").write_bytes(b"garbage")
    write_png(tmp_path / "valannot" / "val001.png", np.full((fx.H, fx.W), 40, np.uint8))
    (tmp_path / "testannot" / "test001.png").unlink()

    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 found while listing" in out and "test001.png: image has no mask" in out

    assert main(["info", str(tmp_path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "3 found after opening every file" in out
    assert "train000.png: not a readable image" in out
    assert "val001.png: values 40 are not classes of the 'camvid' scheme" in out

    assert main(["info", str(tmp_path), "--check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = sorted((p["path"].rsplit("/", 1)[-1], p["kind"]) for p in data["problems"])
    assert kinds == [
        ("test001.png", "pairing"),
        ("train000.png", "unreadable-image"),
        ("val001.png", "invalid-values"),
    ]


def test_info_errors_are_messages(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("segviewer: error: ") and "bdd100k-10k" in err and "Traceback" not in err
    fx.write_folder(tmp_path, count=3)
    assert main(["info", str(tmp_path), "--scheme", "no-such-scheme"]) == 2
    assert "unknown label scheme 'no-such-scheme'" in capsys.readouterr().err


def test_info_counts_corrected_samples(tmp_path, capsys, monkeypatch):
    from segviewer.core.corrections import Corrections

    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    root = fx.write_bdd10k(tmp_path / "bdd")
    assert main(["info", str(root)]) == 0
    assert "corrected  none" in capsys.readouterr().out
    store = Corrections(root)
    store.write("train", "train001", np.zeros((fx.H, fx.W), np.uint8))
    store.write("test", "test000", np.zeros((fx.H, fx.W), np.uint8))
    assert main(["info", str(root)]) == 0
    assert f"corrected  2 samples (1 train, 1 test) in {store.folder}" in capsys.readouterr().out
    assert main(["info", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["corrections"] == {
        "samples": 2,
        "splits": {"train": 1, "test": 1},
        "folder": str(store.folder),
    }
    assert data["splits"]["test"] == {"images": 2, "masks": 1}  # labelled from scratch


def test_info_reports_a_folder_of_images_without_masks(tmp_path, capsys):
    import numpy as np

    from segviewer.core.imageio import write_jpeg

    write_jpeg(tmp_path / "drive" / "day1" / "0001.jpg", np.zeros((20, 30, 3), np.uint8))
    write_jpeg(tmp_path / "drive" / "0002.jpg", np.zeros((20, 30, 3), np.uint8))
    assert main(["info", str(tmp_path / "drive"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "images" and data["splits"] == {"all": {"images": 2, "masks": 0}}
    assert data["image_size"] == [30, 20]
