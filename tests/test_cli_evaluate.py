"""`segviewer evaluate`: folders of masks paired by name, JSON output, and messages for user mistakes."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from segviewer.cli import main
from segviewer.core.imageio import write_png
from segviewer.core.labels import get_scheme
from segviewer.core.metrics import ConfusionMatrix

BDD = get_scheme("bdd100k")


@pytest.fixture
def folders(tmp_path):
    """gt: a (8-bit ids), b (palette PNG), no prediction for b; pred: a (colour PNG) and an orphan d."""
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    write_png(gt / "a.png", np.array([[0, 0, 1, 1], [0, 0, 255, 255]], np.uint8))
    write_png(gt / "b.png", np.full((2, 4), 2, np.uint8), palette=BDD.palette)
    write_png(pred / "a.png", BDD.colorize(np.array([[0, 0, 1, 0], [0, 1, 1, 1]], np.uint8)))
    write_png(pred / "d.png", np.zeros((2, 4), np.uint8))
    return gt, pred


def run_cli(capsys, *argv):
    code = main(["evaluate", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_values_and_missing_prediction(folders, capsys):
    gt, pred = folders
    code, out, err = run_cli(capsys, "--gt", gt, "--pred", pred, "--json")
    assert code == 0, err
    data = json.loads(out)
    # class 0: TP 3, FN 1, FP 1; class 1: TP 1, FN 1, FP 1; class 2 (b.png, no prediction): 8 FN.
    assert data["per_class"][0]["iou"] == pytest.approx(3 / 5)
    assert data["per_class"][0]["accuracy"] == pytest.approx(3 / 4)
    assert data["per_class"][1]["iou"] == pytest.approx(1 / 3)
    assert data["per_class"][2] == {"id": 2, "name": "building", "iou": 0.0, "accuracy": 0.0}
    assert data["per_class"][3]["iou"] is None
    assert data["miou"] == pytest.approx((3 / 5 + 1 / 3) / 3)
    assert data["pixel_accuracy"] == pytest.approx(4 / 14)
    assert data["mean_class_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 3)
    assert data["fwiou"] == pytest.approx((4 * 3 / 5 + 2 / 3) / 14)
    assert data["missing_predictions"] == ["b.png"]
    assert "d.png" in err and "b.png" in err  # orphan prediction and missing one are both reported


def test_table_output(folders, capsys):
    gt, pred = folders
    code, out, _ = run_cli(capsys, "--gt", gt, "--pred", pred)
    assert code == 0
    road = next(line for line in out.splitlines() if " road " in line)
    assert "60.00" in road and "75.00" in road
    assert "NaN" in out and "missing predictions" in out


def test_size_mismatch_names_both_files(folders, capsys):
    gt, pred = folders
    write_png(pred / "a.png", np.zeros((3, 4), np.uint8))
    code, _, err = run_cli(capsys, "--gt", gt, "--pred", pred)
    assert code == 2
    assert str(pred / "a.png") in err and str(gt / "a.png") in err and "4x3" in err
    assert "Traceback" not in err


def test_unknown_ground_truth_ids_name_the_file(folders, capsys):
    gt, pred = folders
    write_png(gt / "a.png", np.full((2, 4), 40, np.uint8))
    code, _, err = run_cli(capsys, "--gt", gt, "--pred", pred)
    assert code == 2 and str(gt / "a.png") in err and "40" in err and "--scheme" in err


def test_mapped_scheme_maps_ids_to_training_ids(tmp_path, capsys):
    ids = np.array([[7, 7, 26], [0, 26, 7]], np.uint8)  # cityscapes road, car, unlabeled
    write_png(tmp_path / "gt" / "x.png", ids)
    write_png(tmp_path / "pred" / "x.png", ids)
    code, out, _ = run_cli(
        capsys, "--gt", tmp_path / "gt", "--pred", tmp_path / "pred", "--scheme", "cityscapes", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["miou"] == 1.0 and data["pixel_accuracy"] == 1.0
    assert data["per_class"][13] == {"id": 13, "name": "car", "iou": 1.0, "accuracy": 1.0}


def test_bdd100k_convention_reproduces_toolkit(shared_data, capsys):
    case = shared_data / "bdd100k-eval-testcases"
    code, out, _ = run_cli(
        capsys, "--gt", case / "gt+", "--pred", case / "pred", "--convention", "bdd100k", "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert abs(100 * data["miou"] - 31.911057692307693) < 1e-9
    assert abs(100 * data["fwiou"] - 46.45432692307692) < 1e-9
    assert abs(100 * data["pixel_accuracy"] - 47.5) < 1e-9
    assert abs(100 * data["mean_class_accuracy"] - 81.27147766323024) < 1e-9
    assert data["missing_predictions"] == ["b.png"]


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], ["--gt DIR --pred DIR", "CHECKPOINT ROOT"]),
        (["--gt", "somewhere"], ["--pred"]),
        (["model.pt", "root", "--gt", "g", "--pred", "p"], ["not both"]),
        (["model.pt"], ["data set folder"]),
    ],
)
def test_usage_errors_name_both_forms(capsys, argv, words):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    for word in words:
        assert word in err


def test_missing_folder_and_no_matching_names(tmp_path, folders, capsys):
    gt, pred = folders
    code, _, err = run_cli(capsys, "--gt", tmp_path / "nope", "--pred", pred)
    assert code == 2 and "nope" in err and "folder not found" in err
    other = tmp_path / "other"
    write_png(other / "zzz.png", np.zeros((2, 4), np.uint8))
    code, _, err = run_cli(capsys, "--gt", gt, "--pred", other)
    assert code == 2 and "a.png" in err and str(other) in err


def test_checkpoint_form_without_training_module(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "segviewer.core.evaluation", None)  # import fails as if absent
    code, _, err = run_cli(capsys, "model.pt", "data")
    assert code == 2 and "needs the training module" in err


def test_checkpoint_form_prints_same_json(monkeypatch, capsys):
    calls = []

    def evaluate_checkpoint(checkpoint, root, split, progress=None, labels="auto"):
        calls.append((checkpoint, root, split, labels))
        cm = ConfusionMatrix(19)
        cm.update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
        return cm.compute(), BDD, {"missing_predictions": []}

    fake = types.ModuleType("segviewer.core.evaluation")
    fake.evaluate_checkpoint = evaluate_checkpoint
    monkeypatch.setitem(sys.modules, "segviewer.core.evaluation", fake)
    code, out, _ = run_cli(capsys, "model.pt", "data", "--json")
    assert code == 0 and calls == [("model.pt", "data", "val", "auto")]
    data = json.loads(out)
    assert data["miou"] == 1.0 and data["per_class"][0]["iou"] == 1.0 and data["missing_predictions"] == []


def test_checkpoint_form_shows_progress_on_stderr_and_keeps_stdout_json(tmp_path, capsys):
    from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
    from segviewer.core.demo import generate_demo
    from segviewer.core.models import build_model

    root = generate_demo(tmp_path / "demo", count=8, size=(36, 64), seed=1)
    model = build_model("ulite", 19, widths=(4, 8, 8, 16))
    ckpt = save_checkpoint(tmp_path / "run" / "best.pt", make_checkpoint(model, BDD, (36, 64), 1, 0.1))
    code, out, err = run_cli(capsys, ckpt, root, "--json")
    assert code == 0, err
    assert json.loads(out)["per_class"][0]["name"] == "road"  # stdout is the JSON alone
    last = err.strip().splitlines()[-1]
    assert last.startswith("evaluating") and "img/s" in last and "/" in last


def test_threads_and_one_worker_give_identical_counts(tmp_path):
    from segviewer.core.evaluation import MaskPair, evaluate_mask_pairs

    rng = np.random.default_rng(3)
    pairs = []
    for i in range(21):  # more than one task of pairs, the last one short
        gt = np.repeat(rng.integers(0, 19, (6, 1), dtype=np.uint8), 9, axis=1)
        gt[0, :4] = 255
        write_png(tmp_path / "gt" / f"{i}.png", gt)
        pred = tmp_path / "pred" / f"{i}.png"
        write_png(pred, rng.integers(0, 21, (6, 9), dtype=np.uint8))
        pairs.append(MaskPair(tmp_path / "gt" / f"{i}.png", None if i == 5 else pred))
    one = evaluate_mask_pairs(pairs, BDD, workers=1)
    two = evaluate_mask_pairs(pairs, BDD, workers=2)
    expected = ConfusionMatrix(19)
    from segviewer.core.imageio import read_label

    for pair in pairs:
        gt = read_label(pair.gt)[0]
        if pair.pred is None:
            expected.update_missing(gt)
        else:
            expected.update(gt, read_label(pair.pred)[0])
    assert (one.matrix == expected.matrix).all() and (two.matrix == expected.matrix).all()
    assert (two.invalid_predictions == expected.invalid_predictions).all()
