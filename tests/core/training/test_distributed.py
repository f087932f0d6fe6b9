"""Distributed training on the CPU (gloo): 2 ranks give one run folder, the mIoU of one process, a
clean stop on Ctrl-C and one message when a rank fails. Each launch costs a few seconds of start-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from segviewer.core import events as ev
from segviewer.core.demo import generate_demo
from segviewer.core.pipeline import EpochSampler
from segviewer.core.training.distributed import Ranks, epoch_sampler, ranks_from_environment

TINY = ["--input-size", "36x64", "--batch-size", "4", "--widths", "4,8,8,16", "--workers", "0"]
TINY += ["--threads", "1", "--device", "cpu"]


def segviewer_train(root, *args, **popen) -> subprocess.Popen:
    env = dict(os.environ, SEGVIEWER_CACHE_DIR=str(root.parent / "cache"))
    cmd = [sys.executable, "-m", "segviewer", "train", str(root), *map(str, args), *TINY]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """14 train / 3 val images: the validation shares are uneven (2 and 1)."""
    return generate_demo(tmp_path_factory.mktemp("dist") / "demo", count=20, size=(36, 64), seed=0)


@pytest.fixture(scope="module")
def two_rank_run(demo):
    out = demo.parent / "run"
    proc = segviewer_train(demo, "--nproc", 2, "--epochs", 1, "--out", out, "--events", "jsonl")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    return out, [ev.from_json_line(line) for line in stdout.splitlines()], stderr


def test_two_ranks_write_one_run_folder(two_rank_run):
    from segviewer.core.checkpoint import load_checkpoint

    out, events, stderr = two_rank_run
    assert type(events[0]) is ev.Started and "x 2 processes" in events[0].device
    assert type(events[-1]) is ev.Finished and not events[-1].stopped_by_user
    assert stderr.count("training ulite on cpu") == 1  # rank 0 alone reports
    config = json.loads((out / "config.json").read_text())
    assert (config["world_size"], config["global_batch_size"]) == (2, 8)
    assert len((out / "metrics.csv").read_text().splitlines()) == 2  # header + one epoch
    ckpt = load_checkpoint(out / "last.pt")
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])
    assert ckpt["train_state"]["world_size"] == 2
    assert [e.step for e in events if type(e) is ev.Batch] == [1, 2]  # 14 images / 2 ranks / 4 per batch
    logged = ev.EventFollower(out / "events.jsonl").poll()
    assert [ev.to_json_line(e) for e in logged] == [ev.to_json_line(e) for e in events]


def test_validation_on_two_ranks_equals_one_process(demo, two_rank_run):
    from segviewer.core.checkpoint import build_model_from_checkpoint, load_checkpoint
    from segviewer.core.datasets import open_dataset
    from segviewer.core.pipeline import SegmentationSet, build_loader
    from segviewer.core.training.trainer import validate

    out, events, _ = two_rank_run
    (epoch,) = [e for e in events if type(e) is ev.Epoch]
    ckpt = load_checkpoint(out / "last.pt")  # saved right after the validation it reports
    model = build_model_from_checkpoint(ckpt).to(memory_format=torch.channels_last)
    dataset = open_dataset(demo)
    samples = [s for s in dataset.split("val") if s.mask is not None]
    loader = build_loader(SegmentationSet(dataset, samples, (36, 64)), 4, False, num_workers=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the ranks ran
    try:
        gen = validate(
            model,
            loader,
            dataset.scheme,
            torch.nn.CrossEntropyLoss(ignore_index=255),
            torch.device("cpu"),
            channels_last=True,
        )
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            _, _, cm = stop.value
    finally:
        torch.set_num_threads(threads)
    assert len(samples) == 3 and cm.compute().miou == epoch.val_miou


def test_sampler_deals_every_sample_of_an_epoch_to_equal_shares():
    single = EpochSampler(7, True, seed=3)
    single.set_epoch(2)
    shares = []
    for rank in range(3):
        sampler = epoch_sampler(7, True, 3, Ranks(rank, 3, rank, 3))
        sampler.set_epoch(2)
        shares.append(list(sampler))
    assert [len(s) for s in shares] == [3, 3, 3]  # padded: every rank takes as many steps
    dealt = [key for share in zip(*shares, strict=True) for key in share]
    assert dealt[:7] == list(single) and dealt[7:] == list(single)[:2]
    sampler.set_epoch(3)
    assert list(sampler) != shares[2]  # set_epoch reshuffles


def test_ranks_come_from_torchrun_environment():
    assert ranks_from_environment({}) == Ranks()
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    ranks = ranks_from_environment(env)
    assert ranks == Ranks(3, 4, 1, 2) and ranks.distributed and not ranks.is_main
    from segviewer.core.errors import UserError

    with pytest.raises(UserError, match="inconsistent"):
        ranks_from_environment({"RANK": "4", "WORLD_SIZE": "4"})


@pytest.mark.parametrize("case", ["run folder taken", "no data set"])
def test_a_failing_job_ends_with_one_message(demo, two_rank_run, case):
    if case == "run folder taken":  # rank 0 decides the folder for all, refuses it, every rank ends
        proc, expected = segviewer_train(demo, "--nproc", 2, "--out", two_rank_run[0]), "already holds a run"
    else:  # every rank finds the problem alone; they agree, and rank 0 reports it
        proc, expected = segviewer_train(demo / "missing", "--nproc", 2), "missing: folder not found"
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1
    assert stderr.count(expected) == 1 and "Traceback" not in stderr, stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_every_rank_and_keeps_the_checkpoint(demo):
    out = demo.parent / "stopped"
    proc = segviewer_train(demo, "--nproc", 2, "--epochs", 50, "--out", out, "--events", "jsonl")
    events = []
    for line in proc.stdout:
        events.append(ev.from_json_line(line))
        if type(events[-1]) is ev.Batch and len(events) < 3:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does to the launcher
    proc.wait(timeout=600)
    assert type(events[-1]) is ev.Finished and events[-1].stopped_by_user, proc.stderr.read()
    assert proc.returncode == 130 and (out / "last.pt").is_file()
    assert json.loads((out / "status.json").read_text())["status"] == "stopped"
    assert np.isfinite([e.loss for e in events if type(e) is ev.Batch]).all()


def test_resuming_needs_the_same_number_of_ranks(demo, two_rank_run, tmp_path):
    from segviewer.core.training import TrainConfig, train

    cfg = TrainConfig(
        root=str(demo), epochs=2, batch_size=4, input_size=(36, 64), device="cpu", out=str(two_rank_run[0]),
        resume=True, model_options={"widths": [4, 8, 8, 16]}, num_workers=0, cache_dir=str(tmp_path / "c"),
    )  # fmt: skip
    events = list(train(cfg))  # one process
    assert [type(e) for e in events] == [ev.Failed] and "--nproc 2" in events[0].message
