"""Training on CUDA: mixed precision and channels_last, a checkpoint that loads on the CPU, and a
2-GPU NCCL run. Skipped (with the reason) on machines without an NVIDIA GPU; benchmarks/gpu_check.sh
runs them where there is one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from segviewer.core import events as ev
from segviewer.core.demo import generate_demo
from segviewer.core.training import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (an NVIDIA GPU)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("cuda") / "demo", count=20, size=(72, 128), seed=0)


def test_training_on_cuda_uses_mixed_precision_and_saves_a_cpu_checkpoint(demo, tmp_path):
    from segviewer.core.checkpoint import load_checkpoint

    cfg = TrainConfig(
        root=str(demo), epochs=2, batch_size=4, input_size=(72, 128), device="cuda", out=str(tmp_path / "run"),
        num_workers=0, cache_dir=str(tmp_path / "cache"), patience=0,
    )  # fmt: skip
    events = list(train(cfg))
    assert isinstance(events[-1], ev.Finished), events[-1]
    assert events[0].device.startswith("cuda:0") and "autocast" in events[0].device
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert all(t.device.type == "cpu" for t in ckpt["state_dict"].values())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_two_gpus_train_one_run_with_nccl(demo, tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, SEGVIEWER_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "segviewer", "train", str(demo), "--nproc", "2", "--device", "cuda"]
    cmd += ["--epochs", "1", "--input-size", "72x128", "--workers", "0", "--sync-bn", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
