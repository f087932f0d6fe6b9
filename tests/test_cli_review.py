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


def _swap_road_and_sky(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[mask == ROAD], out[mask == SKY] = SKY, ROAD
    return out


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A U-Lite briefly trained on one tiny demo set, and a second set with road and sky swapped in 6 masks.

    The planted masks are every third of the training masks where road and sky cover at least 40% of
    the pixels, so that each planted error is a large one. Reviewing the second set's training split is
    honest: the model never saw it.
    """
    base = tmp_path_factory.mktemp("review")
    seen = generate_demo(base / "seen", count=40, size=(48, 80), seed=3)
    root = generate_demo(base / "unseen", count=60, size=(48, 80), seed=1003)
    masks = sorted((root / "labels" / "sem_seg" / "masks" / "train").glob("*.png"))
    large = [p for p in masks if np.isin(read_label(p)[0], (ROAD, SKY)).mean() >= 0.4]
    stems = []
    for path in large[1::3][:6]:
        write_png(path, _swap_road_and_sky(read_label(path)[0]))
        stems.append(path.stem)
    # one correction of a training mask (identical to the original), so training reads corrected labels
    first = sorted((seen / "labels" / "sem_seg" / "masks" / "train").glob("*.png"))[0]
    Corrections(seen).write("train", first.stem, read_label(first)[0])
    run = base / "run"
    args = ["train", str(seen), "--epochs", "10", "--input-size", "48x80", "--widths", "8,16,32,64"]
    args += ["--batch-size", "6", "--lr", "0.01", "--patience", "0", "--workers", "0", "--threads", "1"]
    # plain cross-entropy: its confidences are what the score reads; the default's Dice term and class
    # weights sharpen rare classes and rank the planted six 1-3 of 6 here (README, "Label review")
    args += ["--loss", "ce", "--class-weights", "none"]
    return seen, root, run, stems, args + ["--out", str(run)]


def test_review_puts_the_planted_labels_on_top(planted, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    seen, root, run, stems, train_args = planted
    assert len(stems) == 6
    assert main(train_args) == 0
    err = capsys.readouterr().err
    assert "using corrected labels: 1 corrected samples" in err  # said, since it is the default
    config = json.loads((run / "config.json").read_text())
    assert config["labels"] == "auto" and config["corrections"]["splits"]["train"]["samples"] == 1

    review = ["review", str(run / "best.pt"), str(root), "--split", "train", "--top", "0", "--json"]
    assert main(review) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err  # another data set than the training one
    images = json.loads(captured.out)["images"]
    assert len(images) == 42 and set(images[0]) >= {"sample", "score", "suspect_pixels", "pairs"}
    ranked = [im["sample"] for im in images]
    assert set(ranked[:3]) <= set(stems)  # a random order does this once in 500 tries
    assert len(set(ranked[:6]) & set(stems)) >= 5 and set(stems) <= set(ranked[:9])
    scores = [im["score"] for im in images]
    assert scores == sorted(scores, reverse=True)
    for im in images[:3]:
        pairs = {(p["given"], p["predicted"]) for p in im["pairs"]}
        assert ("sky", "road") in pairs or ("road", "sky") in pairs
        pixels = [p["pixels"] for p in im["pairs"]]
        assert pixels == sorted(pixels, reverse=True) and sum(pixels) == im["suspect_pixels"]

    # the model's own training split: reviewed, with a warning that the scores are biased
    assert main(["review", str(run / "best.pt"), str(seen), "--split", "train", "--top", "1"]) == 0
    assert "trained on the 'train' split it is reviewing" in capsys.readouterr().err

    # correcting the worst image (putting its true labels back) takes it off the top
    worst = images[0]["sample"]
    path = root / "labels" / "sem_seg" / "masks" / "train" / f"{worst}.png"
    wrong, _ = read_label(path)
    fixed = _swap_road_and_sky(wrong)
    Corrections(root).write("train", worst, fixed)
    assert main(["review", str(run / "best.pt"), str(root), "--split", "train", "--top", "3", "--json"]) == 0
    captured = capsys.readouterr()
    again = json.loads(captured.out)
    assert worst not in {im["sample"] for im in again["images"]} and again["labels"] == "corrected"
    assert "using corrected labels" in captured.err
    assert np.array_equal(read_label(path)[0], wrong)  # the original mask was not touched

    # evaluate takes --labels; original and corrected ground truth differ on the corrected image
    evaluate = ["evaluate", str(run / "best.pt"), str(root), "--split", "train", "--json", "--labels"]
    assert main([*evaluate, "original"]) == 0
    original = json.loads(capsys.readouterr().out)
    assert main([*evaluate, "corrected"]) == 0
    corrected = json.loads(capsys.readouterr().out)
    assert original != corrected

    out = tmp_path / "export"
    assert main(["export-corrections", str(root), str(out)]) == 0
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.png")] == [f"train/{worst}.png"]
    assert np.array_equal(read_label(out / "train" / f"{worst}.png")[0], fixed)
    assert main(["export-corrections", str(root), str(out)]) == 2  # never over an existing export
    assert "not an empty folder" in capsys.readouterr().err


def test_review_errors_are_messages(planted, capsys, tmp_path):
    _, root, _, _, _ = planted
    assert main(["review", str(tmp_path / "missing.pt"), str(root)]) == 2
    assert "segviewer: error:" in capsys.readouterr().err
