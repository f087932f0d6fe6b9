"""`Trainer`: one training run as a generator of events: set-up, epochs, validation, checkpoints.

`segviewer.core.training.train` wraps it so that nothing escapes as an exception. The run folder's
files are `RunFolder`'s, the stopping rule is `EarlyStopping`'s, the learning rate is schedule.py's,
and in a distributed run the collective steps are `ProcessGroup`'s (no-ops in one process).

Each `yield` is a progress report and a cancel point: `should_stop()` is called after every batch.
Checkpoints are written inside the loop (never in a `finally` an abort may skip).
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from segviewer.core import events as ev
from segviewer.core import paths
from segviewer.core.errors import UserError
from segviewer.core.training.config import TrainConfig, check_config, class_weighting
from segviewer.core.training.distributed import ProcessGroup, epoch_sampler
from segviewer.core.training.early_stopping import EarlyStopping
from segviewer.core.training.run_folder import RunFolder
from segviewer.core.training.schedule import learning_rate


def nan_to_none(values) -> list[float | None]:
    """Per-class figures for an event: NaN (a class absent from truth and prediction) as None."""
    return [None if v is None or not np.isfinite(v) else float(v) for v in values]


class Trainer:
    """One run. `run(should_stop)` yields its events; `close()` releases its workers and ranks."""

    def __init__(self, cfg: TrainConfig, group: ProcessGroup | None = None) -> None:
        self.cfg = cfg
        self.group = group or ProcessGroup()
        self.folder: RunFolder | None = None
        # Set once the run folder is this run's: before, a refusal (say, a --resume that does not fit)
        # leaves the folder, its status and its events.jsonl as they were.
        self.started = False
        self.stopping = EarlyStopping(cfg.patience)
        self.rows: list[dict] = []
        self.start_epoch = 1
        self.best_state: dict | None = None
        self.class_weights: list[float] | None = None
        self.loaders: list = []
        self.seen_warnings: set[str] = set()

    # --- set-up ------------------------------------------------------------------------------------
    def _setup(self) -> Iterator[ev.Event]:
        from segviewer.core.corrections import corrections_used, labels_note
        from segviewer.core.datasets import open_dataset
        from segviewer.core.devices import autocast_dtype, set_threads
        from segviewer.core.pipeline import split_for_training

        cfg = self.cfg
        ranks = self.group.ranks
        self.group.start(_backend_device(cfg.device))
        error = None
        try:  # what each rank checks alone; then the ranks agree, so one of them reports it
            check_config(cfg)
            if cfg.train_crop is not None and not _pipeline_crops():
                raise UserError(
                    "--train-crop needs random crops in the input pipeline, which this segviewer does not "
                    "have yet; train without --train-crop"
                )
            self.device = self._device()
            dataset = open_dataset(cfg.root, cfg.scheme, labels=cfg.labels)
            train_samples, val_samples, notes = split_for_training(
                dataset, cfg.train_split, cfg.val_split, cfg.seed
            )
        except UserError as exc:
            error = str(exc)
        self.group.agree(error)
        set_threads(cfg.threads or ranks.default_threads())
        self.amp_dtype = autocast_dtype(self.device, cfg.amp)
        self.channels_last = self.device.type in ("cuda", "cpu")  # measured faster on both (README)
        note = labels_note(dataset, cfg.labels)
        if note:
            yield ev.Warning(note)
        self.scheme = dataset.scheme
        for note in notes:
            yield ev.Warning(note)
        start = self.group.share(self._load_init_checkpoint) if cfg.init_from else None
        path = self.group.share(lambda: str(RunFolder.create(cfg.out, cfg.model, cfg.resume).path))
        self.folder = RunFolder(path, writes=ranks.is_main)
        resume = self.group.share(self._load_resume_checkpoint) if cfg.resume else None
        self._build_model(resume or start)
        if resume:
            self._restore(resume)
        self._build_loaders(dataset, train_samples, val_samples)
        world = ranks.world_size
        record = {
            "scheme_name": self.scheme.name,
            "world_size": world,
            "global_batch_size": cfg.batch_size * world,
            "corrections": corrections_used(dataset),
        }
        if start:
            record["init_from"] = start["path"]
        self.folder.write_config(cfg.to_json() | record)
        self.folder.write_status("running")
        self.started = True

    def _device(self) -> torch.device:
        from segviewer.core.devices import resolve_device

        device = resolve_device(self.cfg.device)
        if not self.group.distributed:
            return device
        if device.type == "cuda":
            return torch.device("cuda", self.group.ranks.local_rank)
        if device.type != "cpu":
            raise UserError(
                f"distributed training runs on CUDA or the CPU, not {device.type}; use --device cpu"
            )
        if self.cfg.sync_bn:
            raise UserError("--sync-bn needs CUDA (SyncBatchNorm runs on GPUs only); drop it on the CPU")
        return device

    def _build_model(self, source: dict | None) -> None:
        """The model (weights of `source`, a checkpoint, if any), its DDP wrapper and its optimiser."""
        from segviewer.core.models import build_model

        cfg = self.cfg
        options = dict(source["model_options"]) if source else dict(cfg.model_options)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        model = build_model(cfg.model, self.scheme.num_classes, **options)
        if source:
            model.load_state_dict(source["state_dict"])
        if cfg.sync_bn and self.group.distributed:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model  # what is saved: never wrapped, so no `module.` prefixes
        self.net = model  # what trains
        if self.group.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(model, device_ids=ids)
        kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = kind(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

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
        if cache is not None and self.group.ranks.is_main:
            prune_cache(cache)
        augmenter = None
        if cfg.augment:
            from segviewer.core.augment import Augmenter, load_preset

            augmenter = Augmenter(load_preset(cfg.augment), self.scheme.ignore_index)
        crop = {"crop_size": tuple(cfg.train_crop)} if cfg.train_crop else {}
        pin = self.device.type == "cuda"
        ranks = self.group.ranks
        self.train_set = SegmentationSet(dataset, train_samples, cfg.input_size, cache, augmenter, **crop)
        self.num_val = len(val_samples)
        self.val_set = SegmentationSet(dataset, self.group.shard(val_samples), cfg.input_size, cache)
        sampler = epoch_sampler(len(self.train_set), True, cfg.seed, ranks) if ranks.distributed else None
        self.train_loader = build_loader(
            self.train_set, cfg.batch_size, True, cfg.seed, cfg.num_workers, pin, sampler=sampler
        )
        self.val_loader = build_loader(self.val_set, cfg.batch_size, False, cfg.seed, cfg.num_workers, pin)
        self.loaders = [self.train_loader, self.val_loader]

    # --- resuming and starting from a checkpoint ----------------------------------------------------
    def _load_resume_checkpoint(self) -> dict:
        from segviewer.core.checkpoint import check_compatible

        ckpt = self.folder.load_checkpoint("last")
        where = self.folder.path
        if ckpt["model"] != self.cfg.model:
            raise UserError(
                f"{where}: this run trains model '{ckpt['model']}', not '{self.cfg.model}'; "
                f"resume with --model {ckpt['model']} or start a new run with another --out"
            )
        if tuple(ckpt["input_size"]) != tuple(self.cfg.input_size):
            h, w = ckpt["input_size"]
            raise UserError(f"{where}: this run uses input size {h}x{w}; resume with --input-size {h}x{w}")
        check_compatible(ckpt, self.scheme)
        saved_world = (ckpt.get("train_state") or {}).get("world_size", 1)
        if saved_world != self.group.ranks.world_size:
            raise UserError(
                f"{where}: this run was trained on {saved_world} process(es); resume it with the same "
                f"number (--nproc {saved_world}), or start a new run from its weights with --init-from"
            )
        return ckpt

    def _load_init_checkpoint(self) -> dict:
        """The checkpoint --init-from names (a run folder means its best.pt, else its last.pt)."""
        from segviewer.core.checkpoint import check_compatible, load_checkpoint

        path = Path(self.cfg.init_from).expanduser()
        if path.is_dir():
            folder = RunFolder(path, writes=False)
            path = folder.checkpoint_path("best" if folder.has_checkpoint("best") else "last")
        ckpt = load_checkpoint(path)
        if ckpt["model"] != self.cfg.model:
            raise UserError(
                f"{path}: holds a '{ckpt['model']}' model; pass --model {ckpt['model']} to start from it"
            )
        check_compatible(ckpt, self.scheme)
        ckpt["path"] = str(path.resolve())
        return ckpt

    def _restore(self, ckpt: dict) -> None:
        if "optimizer" in ckpt:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            for group in self.optimizer.param_groups:
                group["lr"] = self.cfg.lr
        state = ckpt.get("train_state") or {}
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.stopping = EarlyStopping.from_state(self.cfg.patience, state)
        self.class_weights = state.get("class_weights")
        if isinstance(state.get("torch_rng"), torch.Tensor):
            torch.set_rng_state(state["torch_rng"])
        folder = self.folder
        self.best_state = self.group.share(
            lambda: folder.load_checkpoint("best")["state_dict"] if folder.has_checkpoint("best") else None
        )
        rows = self.group.share(self.folder.read_metrics)
        self.rows = [r for r in rows if r["epoch"] < self.start_epoch]

    # --- the run -----------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool]) -> Iterator[ev.Event]:
        from segviewer.core.losses import build_criterion, loss_weights
        from segviewer.core.models import count_parameters

        yield from self._setup()
        cfg = self.cfg
        steps = len(self.train_loader)
        if cfg.max_train_batches:
            steps = min(steps, cfg.max_train_batches)
        yield ev.Started(
            str(self.folder.path),
            cfg.to_json(),
            self._device_label(),
            len(self.train_set),
            self.num_val,
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
        if self.stopping.stopped:
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
            if self.stopping.stopped:
                s = self.stopping
                yield ev.EarlyStopped(epoch, s.best_epoch or epoch, float(s.best_miou or 0.0))
                yield from self._finish(status="early_stopped")
                return
        yield from self._finish()

    def _train_epoch(self, epoch: int, steps: int, should_stop) -> Iterator[ev.Event]:
        """Yields Batch events; returns 'ok', 'stopped' or 'failed' (after yielding Failed)."""
        from segviewer.core.pipeline import normalize_tf

        self.net.train()
        self.train_loader.sampler.set_epoch(epoch)
        world = self.group.ranks.world_size
        t0, images, loss_sum, batches = time.perf_counter(), 0, 0.0, 0
        for step, (imgs, masks, problems) in enumerate(self.train_loader, 1):
            yield from self._warn(problems)
            if step > steps:
                break
            usable = imgs is not None and bool((masks != self.scheme.ignore_index).any())
            if self.group.distributed:  # every rank steps, or none: DDP needs all of them
                usable = self.group.sum([0.0 if usable else 1.0])[0] == 0
            if usable:
                x = normalize_tf(imgs.to(self.device, non_blocking=True), self.channels_last)
                y = masks.to(self.device, non_blocking=True).long()
                self._set_lr(epoch - 1 + (step - 1) / steps, 1 / steps)
                loss = self._step(x, y)
                if self.group.distributed:  # the mean over the ranks, the loss of the global batch
                    loss = self.group.sum([loss])[0] / world
                if not math.isfinite(loss):
                    yield self._diverged(epoch, step)
                    return "failed"
                images += len(imgs) * world
                loss_sum += loss
                batches += 1
                yield ev.Batch(epoch, step, steps, loss, images / max(time.perf_counter() - t0, 1e-9))
            if self.group.any(should_stop()):  # rank 0's stdin, or a signal to any rank: all stop
                return "stopped"
        if batches == 0:
            message = (
                f"no usable training batch in epoch {epoch}: every sample was skipped or fully unlabelled "
                "(see the warnings); fix or remove the files named there"
            )
            self.folder.write_status("failed", message)
            yield ev.Failed(message)
            return "failed"
        self._epoch_loss = loss_sum / batches
        return "ok"

    def _set_lr(self, epochs_done: float, step_epochs: float) -> None:
        cfg = self.cfg
        lr = learning_rate(
            cfg.lr_schedule, cfg.lr, epochs_done / cfg.epochs, step_epochs / cfg.epochs, cfg.warmup_fraction
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            logits = self.net(x)
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
        """Returns (val_loss, Metrics) over every rank's share, or None when a stop was requested."""
        self.group.sync_buffers(self.model)
        stopped = [False]

        def stop_now() -> bool:
            stopped[0] = stopped[0] or should_stop()
            return stopped[0]

        result = yield from validate(
            self.model,
            self.val_loader,
            self.scheme,
            self.criterion,
            self.device,
            amp_dtype=self.amp_dtype,
            channels_last=self.channels_last,
            max_batches=self.cfg.max_val_batches,
            should_stop=stop_now,
            warn=self._warn,
        )
        if self.group.any(stopped[0]):  # one collective after each rank's own (uneven) share
            return None
        loss_sum, batches, cm = result
        loss_sum, batches = self.group.sum([loss_sum, batches])
        cm = self.group.merge(cm)
        return (loss_sum / batches if batches else float("nan")), cm.compute()

    # --- after each epoch --------------------------------------------------------------------------
    def _end_epoch(self, epoch: int, train_loss: float, val, seconds: float) -> Iterator[ev.Event]:
        val_loss, metrics = val
        miou = float(metrics.miou)
        # Decided before saving last.pt, so that resuming an early-stopped run does not train on.
        is_best = self.stopping.update(epoch, miou)
        saved = [self._save("last", epoch, miou)]
        if is_best:
            saved.append(self._save("best", epoch, miou))
        self.rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_miou": miou,
                "val_pixel_accuracy": float(metrics.pixel_accuracy),
                "seconds": seconds,
                "lr": self.optimizer.param_groups[0]["lr"],
            }
        )
        self.folder.write_metrics(self.rows)
        yield ev.Epoch(
            epoch,
            self.cfg.epochs,
            train_loss,
            val_loss,
            miou,
            float(metrics.pixel_accuracy),
            nan_to_none(metrics.per_class_iou),
            self.scheme.names,
            seconds,
            is_best,
        )
        yield from saved

    # --- checkpoints and endings -------------------------------------------------------------------
    def _save(self, which: str, epoch: int, miou: float | None = None) -> ev.CheckpointSaved:
        from segviewer.core.checkpoint import make_checkpoint

        last = which == "last"
        ckpt = make_checkpoint(
            self.model,
            self.scheme,
            self.cfg.input_size,
            epoch,
            miou,
            optimizer=self.optimizer if last else None,
            train_state=self._train_state() if last else None,
            config=self.cfg.to_json(),
        )
        path = self.folder.save_checkpoint(which, ckpt)
        if not last:
            self.best_state = ckpt["state_dict"]
        return ev.CheckpointSaved(str(path), epoch, miou, not last)

    def _train_state(self) -> dict:
        return self.stopping.state() | {
            "class_weights": self.class_weights,
            "torch_rng": torch.get_rng_state(),
            "world_size": self.group.ranks.world_size,
        }

    def _stop(self, completed: int) -> Iterator[ev.Event]:
        """A user's stop: keep the current weights in last.pt (resuming repeats the unfinished epoch)."""
        yield self._save("last", completed, self.stopping.best_miou)
        yield from self._finish(stopped=True)

    def _diverged(self, epoch: int, step: int) -> ev.Failed:
        best = self.folder.checkpoint_path("best")
        kept = f"; the best checkpoint so far is kept ({best})" if best.is_file() else ""
        weighted = class_weighting(self.cfg.class_weights) != "none"
        message = (
            f"training diverged: loss became NaN at epoch {epoch} step {step}; lower --lr (now {self.cfg.lr:g})"
            f"{' or turn off --class-weights' if weighted else ''}{kept}"
        )
        self.folder.write_status("failed", message)
        return ev.Failed(message)

    def _finish(self, stopped: bool = False, status: str = "finished") -> Iterator[ev.Event]:
        if self.best_state is not None:  # as the paper: end with the best weights, not the last
            self.model.load_state_dict(self.best_state)
        self.folder.write_status("stopped" if stopped else status)
        best = self.folder.checkpoint_path("best")
        yield ev.Finished(
            str(self.folder.path),
            str(best) if best.is_file() or self.best_state is not None else None,
            self.stopping.best_miou,
            self.stopping.best_epoch,
            int(self.rows[-1]["epoch"]) if self.rows else 0,
            stopped,
        )
        self.group.close()

    def write_status(self, status: str, message: str = "") -> None:
        if self.started:
            self.folder.write_status(status, message)

    # --- helpers -----------------------------------------------------------------------------------
    def _compute_class_weights(self, should_stop) -> Iterator[ev.Event]:
        """Median frequency balancing over the training masks, counted over every rank's share.

        This also fills the decode cache. Returns None when a stop was requested.
        """
        from segviewer.core.pipeline import SegmentationSet, build_loader, median_frequency_weights

        samples = self.group.shard(self.train_set.samples)
        plain = SegmentationSet(
            self.train_set.dataset, samples, self.cfg.input_size, self.train_set.cache_dir
        )
        loader = build_loader(
            plain, self.cfg.batch_size, False, self.cfg.seed, self.cfg.num_workers, persistent=False
        )
        n = self.scheme.num_classes
        counts, present_in = np.zeros(n, np.int64), np.zeros(n, np.int64)
        stopped = False
        for _, masks, problems in loader:
            yield from self._warn(problems)
            for mask in masks if masks is not None else []:
                hist = np.bincount(mask.numpy().ravel(), minlength=256)[:n]
                counts += hist
                present_in += (hist > 0) * mask.numel()
            if should_stop():
                stopped = True
                break
        if self.group.any(stopped):
            return None
        summed = self.group.sum([float(v) for v in (*counts, *present_in)])
        counts, present_in = np.array(summed[:n], np.int64), np.array(summed[n:], np.int64)
        return median_frequency_weights(counts, present_in).tolist()

    def _warn(self, problems: list[str]) -> Iterator[ev.Event]:
        for message in problems:
            if message not in self.seen_warnings:
                self.seen_warnings.add(message)
                yield ev.Warning(message)

    def _device_label(self) -> str:
        from segviewer.core.devices import device_label

        label = device_label(self.device, self.amp_dtype)
        world = self.group.ranks.world_size
        return f"{label} x {world} processes" if world > 1 else label

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


def validate(
    model: torch.nn.Module,
    loader,
    scheme,
    criterion,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
    max_batches: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    warn=None,
) -> Iterator[ev.Event]:
    """Validate `model` on `loader` (this process's share); returns (loss sum, batches, ConfusionMatrix).

    Yields Warning events for skipped samples (through `warn`). Stops early, with what it has, when
    `should_stop()` is True. A distributed run sums the three over its ranks.
    """
    from segviewer.core.metrics import ConfusionMatrix
    from segviewer.core.pipeline import normalize_tf

    model.eval()
    cm = ConfusionMatrix(scheme.num_classes, scheme.ignore_index)
    loss_sum, batches = 0.0, 0
    with torch.inference_mode():
        for step, (imgs, masks, problems) in enumerate(loader, 1):
            if warn is not None:
                yield from warn(problems)
            if max_batches and step > max_batches:
                break
            if imgs is not None:
                x = normalize_tf(imgs.to(device, non_blocking=True), channels_last)
                y = masks.to(device, non_blocking=True).long()
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    logits = model(x)
                if bool((masks != scheme.ignore_index).any()):
                    loss_sum += float(criterion(logits.float(), y))
                    batches += 1
                pred = logits.argmax(1).to("cpu", torch.uint8).numpy()
                cm.update(masks.numpy(), pred)
            if should_stop():
                break
    return loss_sum, batches, cm


def _backend_device(choice: str) -> str:
    """The device type a distributed job communicates on ("cuda": NCCL, else gloo), decided before
    the device itself is checked, so that every rank can report a problem with it in the same way."""
    wants_cuda = (choice or "auto").lower() == "auto" or choice.lower().startswith("cuda")
    return "cuda" if wants_cuda and torch.cuda.is_available() else "cpu"


def _pipeline_crops() -> bool:
    """Whether pipeline.SegmentationSet takes `crop_size` (random training crops)."""
    from segviewer.core.pipeline import SegmentationSet

    return "crop_size" in inspect.signature(SegmentationSet).parameters
