"""Training engine: event order, reproducibility, resume, early stopping, stop requests, failures.

All runs use the demo generator at 36x64 with 8 samples and a U-Lite of tiny widths; each takes well
under a second of compute.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from segviewer.core import events as ev
from segviewer.core.checkpoint import load_checkpoint
from segviewer.core.demo import generate_demo
from segviewer.core.models import build_model
from segviewer.core.pipeline import median_frequency_weights
from segviewer.core.training import TrainConfig, train
from segviewer.core.training.trainer import Trainer

TINY_OPTIONS = {
    "ulite": {"widths": (4, 8, 8, 16)},
    "unet": {"widths": (4, 8, 8, 16, 16)},
    "segnet": {},  # fixed VGG-16 widths; one step at 32x48 still takes a fraction of a second
    "segnet-basic": {"width": 8},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo") / "demo", count=8, size=(36, 64), seed=0)


def config(root, out, **overrides) -> TrainConfig:
    base = dict(
        root=str(root),
        model="ulite",
        epochs=2,
        batch_size=2,
        lr=1e-2,
        input_size=(36, 64),
        patience=0,
        device="cpu",
        out=str(out),
        threads=1,
        num_workers=0,
        seed=0,
        model_options=TINY_OPTIONS["ulite"],
        cache_dir=str(out.parent / "cache"),
    )
    base.update(overrides)
    return TrainConfig(**base)


def run(cfg, should_stop=None) -> list:
    return list(train(cfg, should_stop))


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


def test_events_come_in_order_and_run_folder_is_complete(demo, tmp_path):
    events = run(config(demo, tmp_path / "run"))
    names = kinds(events)
    assert names[0] == "Started" and names[-1] == "Finished"
    started = events[0]
    assert (started.num_train, started.num_val, started.steps_per_epoch) == (6, 1, 3)
    assert names[1:-1] == (["Batch"] * 3 + ["Epoch", "CheckpointSaved", "CheckpointSaved"]) + (
        ["Batch"] * 3 + ["Epoch", "CheckpointSaved"] + ["CheckpointSaved"] * events[-2].best
    )
    epochs = [e for e in events if isinstance(e, ev.Epoch)]
    assert [e.epoch for e in epochs] == [1, 2] and epochs[0].is_best
    assert len(epochs[0].per_class_iou) == len(epochs[0].class_names) == 19
    finished = events[-1]
    assert finished.best_checkpoint.endswith("best.pt") and finished.epochs_run == 2
    assert finished.best_miou == max(e.val_miou for e in epochs)
    for event in events:
        pickle.loads(pickle.dumps(event))  # the GUI may run training in another process
    run_dir = tmp_path / "run"
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,train_loss,val_loss,val_miou,val_pixel_accuracy,seconds,lr" and len(rows) == 3
    assert json.loads((run_dir / "config.json").read_text())["model"] == "ulite"
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 2
    logged = ev.EventFollower(run_dir / "events.jsonl").poll()
    assert [ev.to_json_line(e) for e in logged] == [ev.to_json_line(e) for e in events]


def test_same_seed_gives_same_losses(demo, tmp_path):
    def losses(out, **kw):
        return [e.loss for e in run(config(demo, out, epochs=1, **kw)) if isinstance(e, ev.Batch)]

    first = losses(tmp_path / "a")
    assert first == losses(tmp_path / "b")
    assert first != losses(tmp_path / "c", seed=1)


def test_resume_continues_at_the_next_epoch(demo, tmp_path):
    out = tmp_path / "run"
    first = run(config(demo, out, epochs=1))
    events = run(config(demo, out, epochs=2, resume=True))
    assert events[0].start_epoch == 2
    assert [e.epoch for e in events if isinstance(e, ev.Epoch)] == [2]
    assert len((out / "metrics.csv").read_text().splitlines()) == 3
    again = run(config(demo, out, epochs=2))  # without --resume: never overwrite a run
    assert kinds(again) == ["Failed"] and "--resume" in again[0].message
    logged = kinds(ev.EventFollower(out / "events.jsonl").poll())  # both runs, not the refused one
    assert logged == kinds(first) + kinds(events)


def test_early_stopping_ends_with_the_best_weights(demo, tmp_path, monkeypatch):
    mious = iter([0.5, 0.4, 0.6, 0.55, 0.5, 0.9])
    original = Trainer._validate

    def fake_validate(self, should_stop):
        loss, metrics = yield from original(self, should_stop)
        metrics.miou = next(mious)
        return loss, metrics

    monkeypatch.setattr(Trainer, "_validate", fake_validate)
    events = run(config(demo, tmp_path / "run", epochs=6, patience=2, max_train_batches=1))
    stop = next(e for e in events if isinstance(e, ev.EarlyStopped))
    assert (stop.epoch, stop.best_epoch, stop.best_miou) == (5, 3, 0.6)
    finished = events[-1]
    assert finished.best_epoch == 3 and finished.epochs_run == 5
    assert load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == 3


def test_stop_request_is_honoured_within_one_batch(demo, tmp_path):
    seen = []

    def stop_after_first_batch():
        return len(seen) >= 1

    events = []
    for event in train(config(demo, tmp_path / "run", epochs=3), stop_after_first_batch):
        events.append(event)
        if isinstance(event, ev.Batch):
            seen.append(event)
    assert kinds(events) == ["Started", "Batch", "CheckpointSaved", "Finished"]
    assert events[-1].stopped_by_user and events[-1].best_checkpoint is None
    assert (tmp_path / "run" / "last.pt").is_file()
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "stopped"
    resumed = run(config(demo, tmp_path / "run", epochs=1, resume=True))
    assert [e.epoch for e in resumed if isinstance(e, ev.Epoch)] == [1]  # the unfinished epoch again


def test_nan_loss_fails_and_keeps_the_best_checkpoint(demo, tmp_path, monkeypatch):
    original = Trainer._step
    calls = []

    def step(self, x, y):
        calls.append(1)
        loss = original(self, x, y)
        return float("nan") if len(calls) > 3 else loss

    monkeypatch.setattr(Trainer, "_step", step)
    out = tmp_path / "run"
    events = run(config(demo, out, epochs=3))
    failed = events[-1]
    assert isinstance(failed, ev.Failed)
    assert "diverged" in failed.message and "epoch 2 step 1" in failed.message and "--lr" in failed.message
    assert load_checkpoint(out / "best.pt")["epoch"] == 1
    assert json.loads((out / "status.json").read_text())["status"] == "failed"


def test_user_errors_become_failed_events(tmp_path):
    events = run(config(tmp_path / "missing", tmp_path / "run"))
    assert kinds(events) == ["Failed"] and "missing" in events[0].message


def test_bad_sample_is_skipped_with_a_warning(demo, tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(demo, root)
    broken = root / "images" / "10k" / "train" / "demo_0001.jpg"
    broken.write_bytes(b"not a jpeg")
    events = run(config(root, tmp_path / "run", epochs=2))
    warnings = [e.message for e in events if isinstance(e, ev.Warning)]
    assert len(warnings) == 1 and "demo_0001.jpg" in warnings[0]  # reported once, not every epoch
    assert isinstance(events[-1], ev.Finished)


def test_class_weights_median_frequency():
    weights = median_frequency_weights(np.array([100, 10, 0]), np.array([200, 100, 0]))
    assert np.allclose(weights, [0.6, 3.0, 1.0])


def test_training_with_class_weights_and_workers(demo, tmp_path):
    events = run(config(demo, tmp_path / "run", epochs=1, class_weights=True, num_workers=1))
    assert isinstance(events[-1], ev.Finished), events[-1]
    weights = load_checkpoint(tmp_path / "run" / "last.pt")["train_state"]["class_weights"]
    assert len(weights) == 19 and max(weights) > min(weights)


@pytest.mark.parametrize("name", ["segnet", "segnet-basic", "unet", "ulite"])
def test_each_model_trains_one_step(name):
    torch.manual_seed(0)
    model = build_model(name, 19, **TINY_OPTIONS[name])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(2, 3, 32, 48), torch.randint(0, 19, (2, 32, 48))
    y[:, :4] = 255
    logits = model(x)
    assert logits.shape == (2, 19, 32, 48)
    loss = torch.nn.functional.cross_entropy(logits, y, ignore_index=255)
    loss.backward()
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_decode_cache_skips_decoding_and_notices_changed_files(demo, tmp_path, monkeypatch):
    from segviewer.core.datasets import open_dataset
    from segviewer.core.pipeline import SegmentationSet

    dataset = open_dataset(demo)
    samples = dataset.split("train")[:2]
    data = SegmentationSet(dataset, samples, (18, 32), tmp_path / "cache")
    first = [data[i] for i in range(2)]
    decoded = []
    monkeypatch.setattr(
        SegmentationSet, "_decode", lambda self, s: decoded.append(s) or np.zeros((18, 32, 4), np.uint8)
    )
    again = [data[i] for i in range(2)]
    assert decoded == []  # served from the cache
    for (im1, m1, _), (im2, m2, _) in zip(first, again, strict=True):
        assert torch.equal(im1, im2) and torch.equal(m1, m2) and im1.shape == (18, 32, 3)
    os.utime(samples[0].mask, ns=(1, 1))  # the mask file changed: decode again
    data[0]
    assert decoded == [samples[0]]


def test_mask_values_outside_the_scheme_are_ignored_with_a_warning(tmp_path):
    from segviewer.core.datasets import open_dataset
    from segviewer.core.imageio import write_png
    from segviewer.core.pipeline import SegmentationSet

    root = generate_demo(tmp_path / "demo", count=3, size=(36, 64), seed=5)
    dataset = open_dataset(root)
    sample = dataset.split("train")[0]
    mask = dataset.load_mask(sample).copy()
    mask[:4] = 40  # not one of the 19 classes
    write_png(sample.mask, mask)
    image, fixed, problem = SegmentationSet(dataset, [sample], (36, 64))[0]
    assert problem and sample.mask.name in problem and "[40]" in problem
    assert (fixed[:4] == 255).all() and fixed.max() == 255


def test_cosine_schedule_decays_the_learning_rate(demo, tmp_path):
    run(config(demo, tmp_path / "run", epochs=2, lr_schedule="cosine"))
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]
    lrs = [float(r.split(",")[-1]) for r in rows]
    assert 0 < lrs[1] < lrs[0] < 1e-2


def test_resuming_an_early_stopped_run_does_not_train_on(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(Trainer, "_validate", _constant_validation)
    out = tmp_path / "run"
    first = run(config(demo, out, epochs=5, patience=1, max_train_batches=1))
    assert any(isinstance(e, ev.EarlyStopped) for e in first)
    again = run(config(demo, out, epochs=5, patience=1, resume=True))
    assert kinds(again) == ["Started", "Finished"]


def _constant_validation(self, should_stop):
    from segviewer.core.metrics import ConfusionMatrix

    cm = ConfusionMatrix(19, 255)
    cm.update(np.zeros((2, 2), np.uint8), np.array([[0, 1], [0, 0]], np.uint8))
    return 1.0, cm.compute()
    yield  # a generator, like the real one


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (torch.OutOfMemoryError("CUDA out of memory"), "lower --batch-size or --input-size"),
        (OSError(28, "No space left on device"), "No space left on device"),
        (RuntimeError("boom"), "training failed: RuntimeError: boom"),
    ],
)
def test_errors_end_the_run_with_a_message(demo, tmp_path, monkeypatch, error, expected):
    out = tmp_path / "run"
    if isinstance(error, OSError):  # the disk fills up while saving the first checkpoint

        def save(*args, **kwargs):
            raise error

        monkeypatch.setattr(torch, "save", save)
    else:

        def step(self, x, y):
            raise error

        monkeypatch.setattr(Trainer, "_step", step)
    events = run(config(demo, out, epochs=1))
    assert isinstance(events[-1], ev.Failed) and expected in events[-1].message
    assert json.loads((out / "status.json").read_text())["status"] == "failed"
    if isinstance(error, RuntimeError) and not isinstance(error, torch.OutOfMemoryError):
        assert "Traceback" in (out / "error.log").read_text() and "error.log" in events[-1].details[0]


@pytest.mark.parametrize("loss", ["ce+dice", "focal", "ce+ohem"])
def test_other_losses_with_square_root_weights_train(demo, tmp_path, loss):
    events = run(config(demo, tmp_path / "run", epochs=1, loss=loss, class_weights="sqrt"))
    assert isinstance(events[-1], ev.Finished), events[-1]
    assert all(np.isfinite(e.train_loss) for e in events if isinstance(e, ev.Epoch))


@pytest.mark.parametrize(
    ("overrides", "expected"), [({"loss": "lovasz"}, "unknown loss"), ({"class_weights": "log"}, "weighting")]
)
def test_unknown_loss_or_weighting_is_a_user_error(demo, tmp_path, overrides, expected):
    events = run(config(demo, tmp_path / "run", **overrides))
    assert kinds(events) == ["Failed"] and expected in events[0].message


def test_adamw_and_onecycle_train_and_reach_the_config(demo, tmp_path):
    out = tmp_path / "run"
    events = run(
        config(
            demo,
            out,
            epochs=2,
            optimizer="adamw",
            weight_decay=0.05,
            lr_schedule="onecycle",
            warmup_fraction=0.5,
        )
    )
    assert isinstance(events[-1], ev.Finished), events[-1]
    saved = json.loads((out / "config.json").read_text())
    assert (saved["optimizer"], saved["weight_decay"], saved["lr_schedule"]) == ("adamw", 0.05, "onecycle")
    assert (saved["world_size"], saved["global_batch_size"]) == (1, 2)
    optimizer = load_checkpoint(out / "last.pt")["optimizer"]
    assert optimizer["param_groups"][0]["weight_decay"] == 0.05
    lrs = [float(r.split(",")[-1]) for r in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert lrs[0] == pytest.approx(1e-2)  # the end of the warm-up, at the end of epoch 1
    assert 0 < lrs[1] < lrs[0]


def test_train_crop_needs_the_pipeline_to_crop(demo, tmp_path):
    import inspect

    from segviewer.core.pipeline import SegmentationSet

    events = run(config(demo, tmp_path / "run", epochs=1, train_crop=(32, 48)))
    if "crop_size" in inspect.signature(SegmentationSet).parameters:
        assert isinstance(events[-1], ev.Finished), events[-1]
    else:
        assert kinds(events) == ["Failed"] and "--train-crop" in events[0].message


def test_init_from_starts_a_new_run_from_the_weights_with_a_fresh_optimiser(demo, tmp_path):
    source = tmp_path / "source"
    run(config(demo, source, epochs=1))
    out = tmp_path / "tuned"
    events = run(config(demo, out, epochs=1, lr=0.0, lr_schedule="constant", init_from=str(source)))
    assert isinstance(events[-1], ev.Finished), events[-1]
    before, after = load_checkpoint(source / "best.pt"), load_checkpoint(out / "last.pt")
    trained = {name for name, _ in build_model("ulite", 19, **TINY_OPTIONS["ulite"]).named_parameters()}
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in trained)
    steps = {int(s["step"]) for s in after["optimizer"]["state"].values()}
    assert steps == {3}  # this run's 3 steps only: the source's optimiser state was not carried over
    assert json.loads((out / "config.json").read_text())["init_from"] == str((source / "best.pt").resolve())
    wrong = run(config(demo, tmp_path / "other", model="unet", init_from=str(source / "best.pt")))
    assert kinds(wrong) == ["Failed"] and "pass --model ulite" in wrong[0].message


def test_checkpoints_of_earlier_versions_resume(demo, tmp_path):
    """A last.pt without the keys this version adds (world_size) and a config with a bool weighting."""
    out = tmp_path / "run"
    run(config(demo, out, epochs=1))
    ckpt = torch.load(out / "last.pt", weights_only=True)
    del ckpt["train_state"]["world_size"]
    ckpt["config"]["class_weights"] = False
    torch.save(ckpt, out / "last.pt")
    events = run(config(demo, out, epochs=2, resume=True))
    assert events[0].start_epoch == 2 and isinstance(events[-1], ev.Finished), events[-1]


def test_a_refused_resume_leaves_the_run_as_it_was(demo, tmp_path):
    out = tmp_path / "run"
    run(config(demo, out, epochs=1))
    before = {name: (out / name).read_bytes() for name in ("status.json", "events.jsonl", "metrics.csv")}
    refused = run(config(demo, out, epochs=2, resume=True, input_size=(32, 48)))
    assert kinds(refused) == ["Failed"] and "resume with --input-size 36x64" in refused[0].message
    assert {name: (out / name).read_bytes() for name in before} == before
