"""The trainer behind `segviewer.core.training.train`: set-up, epochs, validation, checkpoints.

`_Trainer` runs one training run as a generator of events; `train` wraps it so that nothing escapes
as an exception. Its run-folder bookkeeping (checkpoints, metrics.csv, status.json, resuming) is in
trainer_bookkeeping.py. See training.py for the run folder's contents.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from segviewer.core import events as ev
from segviewer.core import paths
from segviewer.core.checkpoint import prepare_run_dir, write_json
from segviewer.core.errors import UserError
from segviewer.core.pipeline import split_for_training
from segviewer.core.trainer_bookkeeping import RunBookkeeping
from segviewer.core.trainer_bookkeeping import nan_to_none as nan_to_none  # re-exported: training.py

if TYPE_CHECKING:
    from segviewer.core.training import TrainConfig


class _Trainer(RunBookkeeping):
    """One run: set-up, epochs, checkpoints. `train` wraps it so that nothing escapes as an exception.

    The bookkeeping (best so far, early stopping, checkpoints, status, resuming) is in the base class.
    """

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.loaders: list = []
        self.seen_warnings: set[str] = set()

    # --- set-up ------------------------------------------------------------------------------------
    def _setup(self) -> Iterator[ev.Event]:
        from segviewer.core.corrections import corrections_used, labels_note
        from segviewer.core.datasets import open_dataset
        from segviewer.core.devices import autocast_dtype, resolve_device, set_threads
        from segviewer.core.models import build_model

        cfg = self.cfg
        _check_config(cfg)
        set_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        self.amp_dtype = autocast_dtype(self.device, cfg.amp)
        self.channels_last = self.device.type in ("cuda", "cpu")  # measured faster on both (README)
        dataset = open_dataset(cfg.root, cfg.scheme, labels=cfg.labels)
        if labels_note(dataset, cfg.labels):
            yield ev.Warning(labels_note(dataset, cfg.labels))
        self.scheme = dataset.scheme
        train_samples, val_samples, notes = split_for_training(
            dataset, cfg.train_split, cfg.val_split, cfg.seed
        )
        for note in notes:
            yield ev.Warning(note)
        self.run_dir = prepare_run_dir(cfg.out, cfg.model, cfg.resume)
        resume = self._load_resume_checkpoint() if cfg.resume else None
        options = dict(resume["model_options"]) if resume else dict(cfg.model_options)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        self.model = build_model(cfg.model, self.scheme.num_classes, **options).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        if resume:
            self._restore(resume)
        self._build_loaders(dataset, train_samples, val_samples)
        used = {"scheme_name": self.scheme.name, "corrections": corrections_used(dataset)}
        write_json(self.run_dir / "config.json", cfg.to_json() | used)
        self.write_status("running")

    def _build_loaders(self, dataset, train_samples, val_samples) -> None:
        from segviewer.core.pipeline import SegmentationSet, build_loader, prune_cache

        cfg = self.cfg
        cache = (
            None
            if cfg.cache_dir == ""
            else Path(cfg.cache_dir)
            if cfg.cache_dir
            else paths.decoded_cache_dir()
        )
        if cache is not None:
            prune_cache(cache)
        augmenter = None
        if cfg.augment:
            from segviewer.core.augment import Augmenter, load_preset

            augmenter = Augmenter(load_preset(cfg.augment), self.scheme.ignore_index)
        pin = self.device.type == "cuda"
        self.train_set = SegmentationSet(dataset, train_samples, cfg.input_size, cache, augmenter)
        self.val_set = SegmentationSet(dataset, val_samples, cfg.input_size, cache)
        self.train_loader = build_loader(self.train_set, cfg.batch_size, True, cfg.seed, cfg.num_workers, pin)
        self.val_loader = build_loader(self.val_set, cfg.batch_size, False, cfg.seed, cfg.num_workers, pin)
        self.loaders = [self.train_loader, self.val_loader]

    # --- the run -----------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool]) -> Iterator[ev.Event]:
        from segviewer.core.losses import build_criterion, class_weighting, loss_weights
        from segviewer.core.models import count_parameters

        yield from self._setup()
        cfg = self.cfg
        steps = len(self.train_loader)
        if cfg.max_train_batches:
            steps = min(steps, cfg.max_train_batches)
        yield ev.Started(
            str(self.run_dir),
            cfg.to_json(),
            self._device_label(),
            len(self.train_set),
            len(self.val_set),
            steps,
            count_parameters(self.model),
            self.start_epoch,
        )
        weighting = class_weighting(cfg.class_weights)
        if weighting != "none" and self.class_weights is None:
            weights = yield from self._compute_class_weights(should_stop)
            if weights is None:
                yield from self._finish(stopped=True)
                return
            self.class_weights = weights
        weights = loss_weights(self.class_weights, weighting)
        weight = torch.tensor(weights, device=self.device) if weights is not None else None
        self.criterion = build_criterion(cfg.loss, weight, self.scheme.ignore_index)
        if self.early_stopped:
            yield from self._finish(status="early_stopped")
            return
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            t0 = time.perf_counter()
            outcome = yield from self._train_epoch(epoch, steps, should_stop)
            if outcome != "ok":
                if outcome == "stopped":
                    yield from self._stop(epoch - 1)
                return
            val = yield from self._validate(should_stop)
            if val is None:
                yield from self._stop(epoch - 1)
                return
            yield from self._end_epoch(epoch, self._epoch_loss, val, time.perf_counter() - t0)
            if self.early_stopped:
                yield ev.EarlyStopped(epoch, self.best_epoch or epoch, float(self.best_miou or 0.0))
                yield from self._finish(status="early_stopped")
                return
        yield from self._finish()

    def _train_epoch(self, epoch: int, steps: int, should_stop) -> Iterator[ev.Event]:
        """Yields Batch events; returns 'ok', 'stopped' or 'failed' (after yielding Failed)."""
        from segviewer.core.pipeline import normalize_tf

        self.model.train()
        self.train_loader.sampler.set_epoch(epoch)
        t0, images, loss_sum, batches = time.perf_counter(), 0, 0.0, 0
        for step, (imgs, masks, problems) in enumerate(self.train_loader, 1):
            yield from self._warn(problems)
            if step > steps:
                break
            if imgs is not None and bool((masks != self.scheme.ignore_index).any()):
                x = normalize_tf(imgs.to(self.device, non_blocking=True), self.channels_last)
                y = masks.to(self.device, non_blocking=True).long()
                self._set_lr(epoch - 1 + (step - 1) / steps)
                loss = self._step(x, y)
                if not math.isfinite(loss):
                    yield self._diverged(epoch, step)
                    return "failed"
                images += len(imgs)
                loss_sum += loss
                batches += 1
                yield ev.Batch(epoch, step, steps, loss, images / max(time.perf_counter() - t0, 1e-9))
            if should_stop():
                return "stopped"
        if batches == 0:
            message = (
                f"no usable training batch in epoch {epoch}: every sample was skipped or fully unlabelled "
                "(see the warnings); fix or remove the files named there"
            )
            self.write_status("failed", message)
            yield ev.Failed(message)
            return "failed"
        self._epoch_loss = loss_sum / batches
        return "ok"

    def _set_lr(self, epochs_done: float) -> None:
        """Stateless schedule (a function of progress), so resuming needs no scheduler state."""
        lr = self.cfg.lr
        if self.cfg.lr_schedule == "cosine":
            lr *= 0.5 * (1 + math.cos(math.pi * min(1.0, epochs_done / self.cfg.epochs)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits = self.model(x)
        loss = self.criterion(logits.float(), y)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())

    def _validate(self, should_stop) -> Iterator[ev.Event]:
        """Returns (val_loss, Metrics), or None when a stop was requested."""
        from segviewer.core.metrics import ConfusionMatrix
        from segviewer.core.pipeline import normalize_tf

        self.model.eval()
        cm = ConfusionMatrix(self.scheme.num_classes, self.scheme.ignore_index)
        loss_sum, batches = 0.0, 0
        with torch.inference_mode():
            for step, (imgs, masks, problems) in enumerate(self.val_loader, 1):
                yield from self._warn(problems)
                if self.cfg.max_val_batches and step > self.cfg.max_val_batches:
                    break
                if imgs is not None:
                    x = normalize_tf(imgs.to(self.device, non_blocking=True), self.channels_last)
                    y = masks.to(self.device, non_blocking=True).long()
                    with torch.autocast(
                        self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
                    ):
                        logits = self.model(x)
                    if bool((masks != self.scheme.ignore_index).any()):
                        loss_sum += float(self.criterion(logits.float(), y))
                        batches += 1
                    pred = logits.argmax(1).to("cpu", torch.uint8).numpy()
                    cm.update(masks.numpy(), pred)
                if should_stop():
                    return None
        return (loss_sum / batches if batches else float("nan")), cm.compute()

    # --- helpers -----------------------------------------------------------------------------------
    def _compute_class_weights(self, should_stop) -> Iterator[ev.Event]:
        """Median frequency balancing over the training masks (this also fills the decode cache)."""
        from segviewer.core.pipeline import SegmentationSet, build_loader, median_frequency_weights

        plain = SegmentationSet(
            self.train_set.dataset, self.train_set.samples, self.cfg.input_size, self.train_set.cache_dir
        )
        loader = build_loader(
            plain, self.cfg.batch_size, False, self.cfg.seed, self.cfg.num_workers, persistent=False
        )
        n = self.scheme.num_classes
        counts, present_in = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for _, masks, problems in loader:
            yield from self._warn(problems)
            for mask in masks if masks is not None else []:
                hist = np.bincount(mask.numpy().ravel(), minlength=256)[:n]
                counts += hist
                present_in += (hist > 0) * mask.numel()
            if should_stop():
                return None
        return median_frequency_weights(counts, present_in).tolist()

    def _warn(self, problems: list[str]) -> Iterator[ev.Event]:
        for message in problems:
            if message not in self.seen_warnings:
                self.seen_warnings.add(message)
                yield ev.Warning(message)

    def _device_label(self) -> str:
        from segviewer.core.devices import device_label

        return device_label(self.device, self.amp_dtype)

    def close(self) -> None:
        """Shut persistent DataLoader workers down now rather than at garbage collection."""
        for loader in self.loaders:
            iterator = getattr(loader, "_iterator", None)
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                try:
                    iterator._shutdown_workers()
                except Exception:
                    pass
        self.loaders.clear()


def _check_config(cfg: TrainConfig) -> None:
    from segviewer.core.losses import LOSSES, class_weighting
    from segviewer.core.models import MODELS

    if cfg.model not in MODELS:
        raise UserError(f"unknown model '{cfg.model}'; use one of {', '.join(MODELS)}")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UserError("--epochs and --batch-size must be at least 1")
    if cfg.loss not in LOSSES:
        raise UserError(f"unknown loss '{cfg.loss}'; use one of {', '.join(LOSSES)}")
    try:
        class_weighting(cfg.class_weights)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if cfg.lr_schedule not in ("constant", "cosine"):
        raise UserError(f"unknown learning rate schedule '{cfg.lr_schedule}'; use constant or cosine")
    if not (cfg.lr >= 0 and math.isfinite(cfg.lr)):
        raise UserError(f"--lr must be a non-negative number, got {cfg.lr}")
    h, w = cfg.input_size
    if h < 16 or w < 16:
        raise UserError(f"--input-size {h}x{w} is too small; use at least 16x16 (e.g. 144x256)")
