"""`segviewer train`, `predict`, `compare` and `evaluate CHECKPOINT ROOT` end to end on a tiny demo set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segviewer.cli import main
from segviewer.core.checkpoint import load_checkpoint
from segviewer.core.demo import generate_demo
from segviewer.core.imageio import read_image, read_label, write_jpeg

FAST = [
    "--input-size",
    "36x64",
    "--batch-size",
    "3",
    "--widths",
    "4,8,8,16",
    "--workers",
    "0",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A demo set and two finished runs on it (one epoch each)."""
    base = tmp_path_factory.mktemp("cli")
    root = generate_demo(base / "demo", count=8, size=(36, 64), seed=0)
    mp = pytest.MonkeyPatch()
    mp.setenv("SEGVIEWER_CACHE_DIR", str(base / "cache"))
    codes = [
        main(
            [
                "train",
                str(root),
                "--model",
                "ulite",
                "--epochs",
                "1",
                "--out",
                str(base / name),
                *FAST,
                *extra,
            ]
        )
        for name, extra in (("run-a", []), ("run-b", ["--loss", "focal", "--class-weights", "sqrt"]))
    ]
    mp.undo()
    assert codes == [0, 0]
    return root, base / "run-a", base / "run-b"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_prints_one_line_per_epoch(tmp_path, capsys, monkeypatch, trained):
    root = trained[0]
    monkeypatch.setenv("SEGVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run_cli(capsys, "train", root, "--epochs", "2", "--out", tmp_path / "run", *FAST)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training ulite on cpu") and "6 train / 1 val images" in lines[0]
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert (
        len(epoch_lines) == 2
        and epoch_lines[0].startswith("epoch   1/2  train loss")
        and epoch_lines[0].endswith("*")
    )
    assert "\r" not in out  # not a terminal: no progress bar redraws
    assert lines[-1].startswith("best checkpoint: ") and (tmp_path / "run" / "best.pt").is_file()
    assert load_checkpoint(tmp_path / "run" / "best.pt")["model_options"]["widths"] == [4, 8, 8, 16]


def test_widths_that_do_not_fit_the_model_are_a_message(tmp_path, capsys, trained):
    code, _, err = run_cli(
        capsys, "train", trained[0], "--model", "segnet", "--widths", "8", "--out", tmp_path / "r"
    )
    assert code == 2 and "fixed widths" in err


def test_train_failure_exits_1_with_the_message(tmp_path, capsys, trained):
    code, _, err = run_cli(capsys, "train", trained[0], "--out", trained[1], *FAST)
    assert code == 1 and "already holds a run; pass --resume" in err and "Traceback" not in err


def test_predict_writes_masks_colours_and_overlays(tmp_path, capsys, trained):
    root, run_a, _ = trained
    inputs = tmp_path / "in"
    write_jpeg(inputs / "street.jpg", read_image(next((root / "images" / "10k" / "test").iterdir())))
    big = np.random.default_rng(0).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    write_jpeg(inputs / "big.jpg", big)
    (inputs / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "predict", run_a, inputs, "--out", out, "--colormap", "--overlay")
    assert code == 1 and "broken.jpg" in err  # reported, the others still written
    assert "wrote 2 mask(s)" in stdout
    mask, kind = read_label(out / "big.png")
    assert kind == "index" and mask.shape == (45, 80) and mask.max() < 19
    assert read_image(out / "big_color.png").shape == (45, 80, 3)
    assert read_image(out / "street_overlay.png").shape == (36, 64, 3)
    assert not (out / "broken.png").exists()


def test_predict_never_overwrites_an_input(tmp_path, capsys, trained):
    folder = tmp_path / "pngs"
    from segviewer.core.imageio import write_png

    write_png(folder / "scene.png", np.zeros((36, 64, 3), np.uint8))
    before = (folder / "scene.png").read_bytes()
    code, _, err = run_cli(capsys, "predict", trained[1] / "best.pt", folder, "--out", folder)
    assert code == 1 and "would overwrite an input" in err
    assert (folder / "scene.png").read_bytes() == before


def test_compare_prints_one_column_per_model(capsys, trained):
    root, run_a, run_b = trained
    code, out, err = run_cli(capsys, "compare", run_a, run_b, root)
    assert code == 0, err
    assert (
        "'test' split" in err and "no masks" in err and "comparing on 'val'" in err
    )  # the demo's test images are unlabelled
    header = out.splitlines()[0]
    assert header.split("|")[1].strip() == "Category"
    assert "U-Lite (paper) (run-a)" in header and "U-Lite (paper) (run-b)" in header
    assert any(line.startswith("| mIoU") for line in out.splitlines())
    code, out, _ = run_cli(capsys, "compare", run_a, run_b, root, "--split", "val", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "Category,U-Lite (paper) (run-a),U-Lite (paper) (run-b)"
    code, _, err = run_cli(capsys, "compare", run_a, run_b, root, "--split", "test")
    assert code == 2 and "no masks" in err and "--split" in err


def test_evaluate_checkpoint_json(capsys, trained):
    root, run_a, _ = trained
    code, out, err = run_cli(capsys, "evaluate", run_a / "best.pt", root, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert 0.0 <= data["pixel_accuracy"] <= 1.0 and len(data["per_class"]) == 19


def test_foreign_checkpoint_is_a_clear_error(tmp_path, capsys, trained):
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"\x80\x04not torch")
    image = next((trained[0] / "images" / "10k" / "test").iterdir())
    code, _, err = run_cli(capsys, "predict", bogus, image, "--out", tmp_path / "o")
    assert code == 2 and "model.pt: not a readable PyTorch checkpoint" in err and "Traceback" not in err


def test_cli_defaults_are_the_engine_defaults():
    from segviewer.cli import build_parser
    from segviewer.commands.train import config_from_args
    from segviewer.core.training.config import TrainConfig

    assert config_from_args(build_parser().parse_args(["train", "ROOT"])) == TrainConfig(root="ROOT")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "model": "segnet-basic",
            "model_options": {"width": 8},
            "epochs": 3,
            "batch_size": 2,
            "lr": 3e-4,
            "lr_schedule": "onecycle",
            "warmup_fraction": 0.25,
            "optimizer": "adamw",
            "weight_decay": 0.01,
            "input_size": (64, 96),
            "train_crop": (32, 48),
            "patience": 0,
            "class_weights": "sqrt",
            "loss": "focal",
            "augment": "light",
            "device": "cpu",
            "out": "runs/x",
            "init_from": "runs/a/best.pt",
            "threads": 3,
            "num_workers": 0,
            "seed": 7,
            "scheme": "camvid",
            "amp": False,
            "sync_bn": True,
            "max_train_batches": 2,
            "max_val_batches": 1,
            "train_split": "trainval",
            "val_split": "test",
            "cache_dir": "",
            "labels": "original",
        },
        {"model_options": {"widths": [4, 8, 8, 16]}, "resume": True, "out": "r", "amp": True},
    ],
)
def test_command_args_give_the_config_back(overrides):
    """What --nproc hands every rank (and what a program shows as the run's command) loses nothing."""
    from dataclasses import fields

    from segviewer.cli import build_parser
    from segviewer.commands.train import config_from_args
    from segviewer.core.train_command import command_args
    from segviewer.core.training.config import TrainConfig

    cfg = TrainConfig(root="data/demo", **overrides)
    back = config_from_args(build_parser().parse_args(["train", *command_args(cfg)]))
    assert back == cfg
    changed = {f.name for f in fields(TrainConfig) if getattr(cfg, f.name) != f.default}
    assert len(overrides) < 5 or changed >= set(overrides) - {"model_options"}  # every field was tried


def test_loss_and_class_weighting_reach_the_run_config(trained):
    _, run_a, run_b = trained
    a = json.loads((run_a / "config.json").read_text())
    b = json.loads((run_b / "config.json").read_text())
    assert (a["loss"], a["class_weights"]) == ("ce+dice", "median")  # the defaults
    assert (b["loss"], b["class_weights"]) == ("focal", "sqrt")
    weights = load_checkpoint(run_b / "last.pt")["train_state"]["class_weights"]
    assert len(weights) == 19 and max(weights) > min(weights)  # the median weights, kept for resume


def test_bare_class_weights_flag_means_median_frequency():
    from segviewer.cli import build_parser

    args = build_parser().parse_args(["train", "ROOT", "--class-weights", "--patience", "0"])
    assert args.class_weights == "median" and args.patience == 0
    paper = build_parser().parse_args(["train", "ROOT", "--class-weights", "none", "--loss", "ce"])
    assert (paper.class_weights, paper.loss) == ("none", "ce")  # the paper's recipe, two flags away


def test_events_jsonl_puts_only_events_on_stdout_and_keeps_them_in_the_run(
    tmp_path, capsys, monkeypatch, trained
):
    import io

    from segviewer.core import events as ev

    monkeypatch.setenv("SEGVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # EOF at once: means nothing, the run goes on
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", trained[0], "--epochs", "1", "--out", out, "--events", "jsonl", *FAST
    )
    assert code == 0, err
    lines = stdout.splitlines()
    events = [ev.from_json_line(line) for line in lines]
    assert type(events[0]) is ev.Started and type(events[-1]) is ev.Finished
    assert not events[-1].stopped_by_user and sum(type(e) is ev.Batch for e in events) == 2
    assert "training ulite on cpu" in err  # the human summary went to stderr
    assert (out / "events.jsonl").read_text().splitlines() == lines


def test_events_jsonl_obeys_pause_and_stop_on_stdin(tmp_path, trained):
    import os
    import subprocess
    import sys

    from segviewer.core import events as ev

    env = dict(os.environ, SEGVIEWER_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "segviewer", "train", str(trained[0]), "--out", str(out)]
    cmd += ["--epochs", "3", "--events", "jsonl", "--low-priority", *FAST[:2], "--batch-size", "1"]
    cmd += [*FAST[4:], "--class-weights", "none"]  # else the first cancel point is in the weights pass
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        proc.stdin.write("pause\n")  # read long before the first batch ends (torch still imports)
        proc.stdin.flush()
        events = []
        for line in proc.stdout:
            events.append(ev.from_json_line(line))
            if type(events[-1]) is ev.Batch:  # held at the cancel point after this batch
                proc.stdin.write("stop\n")
                proc.stdin.flush()
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
    assert code == 0, proc.stderr.read()
    assert [type(e) for e in events].count(ev.Batch) == 1
    assert type(events[-1]) is ev.Finished and events[-1].stopped_by_user
    assert (out / "last.pt").is_file() and len((out / "events.jsonl").read_text().splitlines()) == len(events)


def test_run_control_holds_a_paused_run_until_resumed_or_stopped():
    import threading

    from segviewer.commands.train import RunControl

    control = RunControl()
    assert control.command("pause\n") and not control.command("faster")
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(control()))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and answers == []  # paused: the trainer's cancel point does not return
    control.command("resume")
    waiter.join(10)
    assert answers == [False]
    control.command("pause")
    waiter = threading.Thread(target=lambda: answers.append(control()))
    waiter.start()
    control.command("stop")
    waiter.join(10)
    assert answers == [False, True]


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getscheduler"), reason="Linux scheduling API")
def test_low_priority_lowers_nice_and_sets_batch_scheduling():
    import os
    import subprocess
    import sys

    code = (
        "import os; from segviewer.core.priority import lower_priority; lower_priority(); "
        "print(os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0) == os.SCHED_BATCH)"
    )
    before = os.getpriority(os.PRIO_PROCESS, 0)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    nice, batch = result.stdout.split()
    assert int(nice) == min(19, before + 10) and batch == "True"


def test_nproc_is_refused_inside_torchrun_and_below_one(capsys, monkeypatch):
    code, _, err = run_cli(capsys, "train", "ROOT", "--nproc", "0")
    assert code == 2 and "--nproc must be at least 1" in err
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = run_cli(capsys, "train", "ROOT", "--nproc", "2")
    assert code == 2 and "under torchrun" in err
