"""`segviewer review` finds planted label errors; train/evaluate/export-corrections use corrections."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segviewer.cli import main
from segviewer.core.corrections import Corrections
from segviewer.core.demo import generate_demo
from segviewer.core.imageio import read_label, write_png

ROAD, SKY = 0, 10  # bdd100k training ids


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A tiny demo set whose val masks 1, 4 and 7 have road and sky swapped, and a briefly trained U-Lite."""
    base = tmp_path_factory.mktemp("review")
    root = generate_demo(base / "demo", count=60, size=(48, 80), seed=3)
    masks = sorted((root / "labels" / "sem_seg" / "masks" / "val").glob("*.png"))
    planted = []
    for path in masks[1::3]:
        mask, _ = read_label(path)
        swapped = mask.copy()
        swapped[mask == ROAD], swapped[mask == SKY] = SKY, ROAD
        write_png(path, swapped)
        planted.append(path.stem)
    # one correction of a training mask (identical to the original) so training reads corrected labels
    first = sorted((root / "labels" / "sem_seg" / "masks" / "train").glob("*.png"))[0]
    Corrections(root).write("train", first.stem, read_label(first)[0])
    run = base / "run"
    args = ["train", str(root), "--epochs", "4", "--input-size", "48x80", "--widths", "8,16,32,64"]
    args += ["--batch-size", "6", "--lr", "0.01", "--patience", "0", "--workers", "0", "--out", str(run)]
    return root, run, planted, args


def test_review_puts_the_planted_labels_on_top(planted, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    root, run, stems, train_args = planted
    assert main(train_args) == 0
    err = capsys.readouterr().err
    assert "using corrected labels: 1 corrected samples" in err  # said, since it is the default
    config = json.loads((run / "config.json").read_text())
    assert config["labels"] == "auto" and config["corrections"]["splits"]["train"]["samples"] == 1

    assert main(["review", str(run / "best.pt"), str(root), "--split", "val", "--top", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    images = data["images"]
    assert len(images) == 9 and set(images[0]) >= {"sample", "score", "suspect_pixels", "pairs"}
    assert {im["sample"] for im in images[:3]} == set(stems)
    scores = [im["score"] for im in images]
    assert scores == sorted(scores, reverse=True)
    for im in images[:3]:
        pairs = {(p["given"], p["predicted"]) for p in im["pairs"]}
        assert ("sky", "road") in pairs or ("road", "sky") in pairs
        pixels = [p["pixels"] for p in im["pairs"]]
        assert pixels == sorted(pixels, reverse=True) and sum(pixels) == im["suspect_pixels"]

    # correcting the worst image (putting its true labels back) takes it off the top
    worst = images[0]["sample"]
    path = root / "labels" / "sem_seg" / "masks" / "val" / f"{worst}.png"
    wrong, _ = read_label(path)
    fixed = wrong.copy()
    fixed[wrong == ROAD], fixed[wrong == SKY] = SKY, ROAD
    Corrections(root).write("val", worst, fixed)
    assert main(["review", str(run / "best.pt"), str(root), "--top", "3", "--json"]) == 0
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert worst not in {im["sample"] for im in again["images"]} and again["labels"] == "corrected"
    assert "using corrected labels" in captured.err
    assert np.array_equal(read_label(path)[0], wrong)  # the original mask was not touched

    # evaluate takes --labels; original and corrected ground truth differ on the corrected image
    assert main(["evaluate", str(run / "best.pt"), str(root), "--json", "--labels", "original"]) == 0
    original = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run / "best.pt"), str(root), "--json", "--labels", "corrected"]) == 0
    corrected = json.loads(capsys.readouterr().out)
    assert original != corrected

    out = tmp_path / "export"
    assert main(["export-corrections", str(root), str(out)]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == sorted(
        [f"val/{worst}.png", f"train/{sorted(Corrections(root).samples('train'))[0]}.png"]
    )
    assert np.array_equal(read_label(out / "val" / f"{worst}.png")[0], fixed)
    assert main(["export-corrections", str(root), str(out)]) == 2  # never over an existing export
    assert "not an empty folder" in capsys.readouterr().err


def test_review_errors_are_messages(planted, capsys, tmp_path):
    root, _, _, _ = planted
    assert main(["review", str(tmp_path / "missing.pt"), str(root)]) == 2
    assert "segviewer: error:" in capsys.readouterr().err
