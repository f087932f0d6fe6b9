"""`segviewer train`: train a model on a data set folder, printing progress and one line per epoch.

Ctrl-C once asks the trainer to stop after the current batch (last.pt is saved, resume with
--resume); a second Ctrl-C aborts at once. With `--events jsonl` stdout carries only the training
events, one JSON line each (core/events.py), human progress goes to stderr, and the lines `stop`,
`pause` and `resume` on stdin control the run: the way the GUI and other programs drive it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

from segviewer.core import model_registry
from segviewer.core.training import config as train_config

DEFAULTS = train_config.defaults()


def parse_size(text: str) -> tuple[int, int]:
    """'144x256' -> (144, 256): height x width, like the paper's 360x640."""
    try:
        h, w = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not HEIGHTxWIDTH, e.g. 144x256") from None
    if h < 16 or w < 16:
        raise argparse.ArgumentTypeError(f"'{text}' is too small; use at least 16x16")
    return h, w


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a comma-separated list of widths, e.g. 8,16,32,64"
        ) from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': widths must be positive")
    return widths


def model_options(model: str, widths: list[int] | None) -> dict:
    """The --widths flag as the model's own option (SegNet has fixed VGG-16 widths)."""
    from segviewer.core.errors import UserError

    if widths is None:
        return {}
    if model == "segnet-basic":
        if len(widths) != 1:
            raise UserError("--widths for segnet-basic takes one number (the width of every layer), e.g. 64")
        return {"width": widths[0]}
    if model == "segnet":
        raise UserError(
            "segnet has the fixed widths of VGG-16; --widths applies to ulite, unet and segnet-basic"
        )
    return {"widths": widths}


def add_parser(subparsers) -> None:
    d = DEFAULTS
    size = "x".join(map(str, d["input_size"]))
    p = subparsers.add_parser(
        "train",
        help="train a segmentation model on a data set folder",
        description="Train SegNet, SegNet Basic, U-Net or U-Lite, validating "
        "after every epoch and stopping early when validation mIoU stops improving. The run folder "
        "gets config.json, metrics.csv, events.jsonl, last.pt and best.pt.",
        epilog="Defaults finish in a few minutes on a laptop CPU for the demo data set "
        "(segviewer demo-data). Ctrl-C stops after the current batch; continue with --resume. "
        "Distributed: --nproc N, or torchrun --nproc-per-node N -m segviewer train ...",
    )
    p.add_argument("root", help="data set folder (BDD100K, Cityscapes, CamVid or images/ + masks/)")
    p.add_argument(
        "--model",
        choices=model_registry.model_names(),
        default=d["model"],
        help="architecture (default: %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=d["epochs"], help="maximum epochs (default: %(default)s)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=d["batch_size"],
        help="images per step and process (default: %(default)s)",
    )
    p.add_argument("--lr", type=float, default=d["lr"], help="learning rate (default: %(default)s)")
    p.add_argument(
        "--lr-schedule",
        choices=train_config.LR_SCHEDULES,
        default=d["lr_schedule"],
        help="cosine: decay to 0 over --epochs; onecycle: linear warm-up over --warmup-fraction of the "
        "run, then cosine; constant (default: %(default)s)",
    )
    p.add_argument(
        "--warmup-fraction",
        type=float,
        default=d["warmup_fraction"],
        help="share of the run the onecycle schedule warms up over (default: %(default)s)",
    )
    p.add_argument(
        "--optimizer",
        choices=train_config.OPTIMIZERS,
        default=d["optimizer"],
        help="adam (the paper) or adamw (decoupled weight decay) (default: %(default)s)",
    )
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="(default: %(default)s)")
    p.add_argument(
        "--input-size",
        type=parse_size,
        default=d["input_size"],
        metavar="HxW",
        help=f"size images are resized to (default: {size}; the paper used 360x640)",
    )
    p.add_argument(
        "--train-crop",
        type=parse_size,
        metavar="HxW",
        help="train on random crops of this size from the resized images (validation sees them whole)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=d["patience"],
        help="stop after this many epochs without a better validation mIoU; 0 never (default: %(default)s)",
    )
    p.add_argument(
        "--widths",
        type=parse_widths,
        metavar="W1,W2,...",
        help="channel widths: U-Lite takes 4 (default 16,32,64,128), U-Net 5, SegNet Basic 1",
    )
    p.add_argument(
        "--class-weights",
        nargs="?",
        const="median",
        default=d["class_weights"],
        choices=train_config.CLASS_WEIGHTINGS,
        help="weight rare classes up: median (median frequency balancing, as SegNet; the bare flag) or "
        "sqrt (its square root, gentler: fewer false positives on rare classes)",
    )
    p.add_argument(
        "--loss",
        choices=train_config.LOSSES,
        default=d["loss"],
        help="ce: cross-entropy (the paper); ce+dice: plus a soft Dice term that weighs every class "
        "alike (default: %(default)s)",
    )
    p.add_argument("--augment", metavar="PRESET", help="augmentation preset name or JSON file")
    p.add_argument(
        "--device", default=d["device"], choices=train_config.DEVICES, help="(default: %(default)s)"
    )
    p.add_argument(
        "--amp",
        choices=("auto", "on", "off"),
        default="auto",
        help="mixed precision: auto uses it on CUDA only (default: %(default)s)",
    )
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<model>-<date-time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument(
        "--init-from",
        metavar="CHECKPOINT",
        help="start a new run from this checkpoint's (or run folder's best) weights, with a fresh "
        "optimiser: fine-tuning, e.g. on corrected labels",
    )
    p.add_argument("--threads", type=int, help="CPU threads for the model (default: all cores)")
    p.add_argument("--workers", type=int, help="data loading processes (default: min(2, cores))")
    p.add_argument("--seed", type=int, default=d["seed"], help="random seed (default: %(default)s)")
    p.add_argument("--scheme", help="label scheme of a plain images/ + masks/ folder (name or JSON)")
    p.add_argument(
        "--labels",
        choices=train_config.LABELS,
        default="auto",
        help="masks to train on: corrected (saved corrections win), original, or auto: corrected when "
        "corrections exist (default)",
    )
    p.add_argument("--train-split", default=d["train_split"], help="(default: %(default)s)")
    p.add_argument("--val-split", default=d["val_split"], help="(default: %(default)s)")
    p.add_argument(
        "--max-train-batches", type=int, metavar="N", help="at most N steps per epoch (smoke runs)"
    )
    p.add_argument("--max-val-batches", type=int, metavar="N", help="validate on at most N batches")
    p.add_argument(
        "--cache-dir", metavar="DIR", help="decode cache folder ('' for none; default: the user cache)"
    )
    p.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train with N processes on this machine (one per GPU, or sharing the CPU cores), through "
        "torch.distributed.run",
    )
    p.add_argument(
        "--sync-bn", action="store_true", help="distributed on CUDA: batch norm statistics over all ranks"
    )
    p.add_argument(
        "--events",
        choices=("jsonl",),
        help="jsonl: stdout carries only the training events, one JSON object per line (progress goes "
        "to stderr); stdin takes the lines stop, pause and resume",
    )
    p.add_argument(
        "--low-priority",
        action="store_true",
        help="lower this process's CPU priority (nice 10 and SCHED_BATCH; Windows: below normal) so a "
        "window beside it stays smooth; training still uses every core",
    )
    p.set_defaults(func=run)


_AMP = {"auto": None, "on": True, "off": False}


def config_from_args(args: argparse.Namespace) -> train_config.TrainConfig:
    """The TrainConfig a parsed `segviewer train` command line describes."""
    from segviewer.core.errors import UserError

    if args.resume and not args.out:
        raise UserError("--resume needs --out RUN_DIR, the folder of the run to continue")
    return train_config.TrainConfig(
        root=args.root,
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        warmup_fraction=args.warmup_fraction,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        input_size=tuple(args.input_size),
        train_crop=tuple(args.train_crop) if args.train_crop else None,
        patience=args.patience,
        class_weights=args.class_weights,
        loss=args.loss,
        augment=args.augment,
        device=args.device,
        out=args.out,
        resume=args.resume,
        init_from=args.init_from,
        threads=args.threads,
        num_workers=args.workers,
        seed=args.seed,
        scheme=args.scheme,
        model_options=model_options(args.model, args.widths),
        amp=_AMP[args.amp],
        sync_bn=args.sync_bn,
        max_train_batches=args.max_train_batches,
        max_val_batches=args.max_val_batches,
        train_split=args.train_split,
        val_split=args.val_split,
        cache_dir=args.cache_dir,
        labels=args.labels,
    )


def run(args: argparse.Namespace) -> int:
    if args.low_priority:  # before torch starts its threads: they inherit the priority
        from segviewer.core.priority import lower_priority

        lower_priority()
    cfg = config_from_args(args)
    if args.nproc is not None:
        return launch(cfg, args.nproc, args.events, args.low_priority)
    from segviewer.core.training import train
    from segviewer.core.training.distributed import REPORTED_BY_RANK_0, ranks_from_environment

    ranks = ranks_from_environment()
    control = RunControl()
    stream = EventLines(sys.stdout, control) if args.events == "jsonl" and ranks.is_main else None
    # The other ranks of a distributed run print nothing: rank 0 reports the run, and a rank's own
    # failure goes to torchrun's error file, which the launcher (or torchrun) prints once.
    printer = ProgressPrinter(sys.stderr if stream else sys.stdout, sys.stderr, quiet=not ranks.is_main)
    if stream:
        threading.Thread(target=read_control_lines, args=(sys.stdin, control), daemon=True).start()
    with _StopOnInterrupt(control, announce=ranks.is_main):
        for event in train(cfg, should_stop=control):
            if stream:
                stream.write(event)
            printer.show(event)
    if printer.failure is not None:
        if REPORTED_BY_RANK_0 in printer.failure.details:
            return 0  # rank 0 ends the job with the error and its exit code
        _record_failure(printer.failure.message)
    return printer.exit_code


def launch(cfg: train_config.TrainConfig, nproc: int, events: str | None, low_priority: bool) -> int:
    """`--nproc N`: run N ranks of this training on this machine through torch.distributed.run.

    Each rank is `python -m segviewer train` with the same settings; rank 0 prints (and with
    --events jsonl, streams) as a single process would. One failing rank ends the job, and its
    message is printed once.
    """
    from segviewer.core.errors import UserError
    from segviewer.core.train_command import command_args
    from segviewer.core.training.distributed import ranks_from_environment

    if nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {nproc}")
    if ranks_from_environment().distributed:
        raise UserError(
            "--nproc starts the ranks itself; under torchrun (RANK and WORLD_SIZE set) leave it out"
        )
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    from segviewer.core import paths

    # Each rank sets its own thread count; this only keeps torchrun from warning that it chose 1.
    os.environ.setdefault("OMP_NUM_THREADS", str(cfg.threads or max(1, paths.usable_cores() // nproc)))
    child = ["train", *command_args(cfg)]
    if events:
        child += ["--events", events]
    if low_priority:
        child.append("--low-priority")
    launcher = get_args_parser().parse_args(
        ["--standalone", "--nproc-per-node", str(nproc), "--module", "segviewer", *child]
    )
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # one message, ours
    try:
        torchrun(launcher)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if rank != 0 or failure.exitcode < 0:  # rank 0 printed its own error
            reason = failure.message if failure.exitcode > 0 else f"ended by signal {-failure.exitcode}"
            print(f"segviewer: error: rank {rank} of {nproc} failed: {reason}", file=sys.stderr)
        return 1
    except SignalException:  # Ctrl-C: every rank was asked to stop, and rank 0 kept the checkpoints
        return 130
    return 0


def _record_failure(message: str) -> None:
    """Leave a failing rank's message where torchrun reports it (its error file), once per job."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path and message:
        try:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump({"message": message, "timestamp": int(time.time())}, fh)
        except OSError:
            pass


class RunControl:
    """Stop and pause requests of a run; called as the trainer's `should_stop`, it waits while paused.

    Each call is a cancel point of the trainer (after every batch), so a pause holds the run there
    and a stop ends it like Ctrl-C: last.pt and best.pt kept, Finished(stopped_by_user=True).
    """

    def __init__(self) -> None:
        self.stop_requested = False
        self.paused = False

    def __call__(self) -> bool:
        while self.paused and not self.stop_requested:
            time.sleep(0.05)  # plain flags, no lock: a signal handler sets them too
        return self.stop_requested

    def command(self, line: str) -> bool:
        """Apply one control line (stop, pause, resume); False for anything else."""
        word = line.strip().lower()
        if word == "stop":
            self.stop_requested = True
        elif word == "pause":
            self.paused = True
        elif word == "resume":
            self.paused = False
        else:
            return False
        return True


def read_control_lines(stream, control: RunControl) -> None:
    """Feed stdin's lines to `control` until EOF (which means nothing: the run goes on)."""
    try:
        for line in stream:
            if line.strip() and not control.command(line):
                print(
                    f"segviewer: warning: unknown control line {line.strip()!r}; use stop, pause or resume",
                    file=sys.stderr,
                    flush=True,
                )
    except (OSError, ValueError):  # stdin closed or unreadable: nothing to control with
        pass


class EventLines:
    """Writes events to stdout as JSON lines, flushed per line; a closed reader stops the run."""

    def __init__(self, out, control: RunControl) -> None:
        self.out, self.control = out, control
        self.closed = False

    def write(self, event) -> None:
        from segviewer.core.events import to_json_line

        if self.closed:
            return
        try:
            self.out.write(to_json_line(event) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):  # the reader went away: end cleanly, keep the checkpoints
            self.closed = True
            self.control.stop_requested = True
            try:  # and say nothing more there (Python would report the broken pipe again at exit)
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())
            except (OSError, ValueError, AttributeError):
                pass


class _StopOnInterrupt:
    """First Ctrl-C: ask for a clean stop; second: abort."""

    def __init__(self, control: RunControl, announce: bool = True) -> None:
        self.control = control
        self.announce = announce
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.control.stop_requested:
            raise KeyboardInterrupt
        self.control.stop_requested = True
        if self.announce:
            print("\nstopping after this batch (Ctrl-C again to abort)", file=sys.stderr, flush=True)

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class ProgressPrinter:
    """Turns training events into terminal output: a \\r progress bar on a TTY, summary lines always.

    `quiet` prints nothing (the other ranks of a distributed run) but still notes the failure.
    """

    def __init__(self, out, err, interval: float = 0.1, quiet: bool = False) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self.tty = hasattr(out, "isatty") and out.isatty() and os.environ.get("TERM") != "dumb"
        self.interval = interval
        self._last_draw = 0.0
        self._bar_shown = False
        self.exit_code = 0
        self.failure = None  # the Failed event, if the run ended with one

    def show(self, event) -> None:
        from segviewer.core import events as ev

        match event:
            case ev.Failed():
                self._failed(event)
            case _ if self.quiet:
                pass
            case ev.Started():
                self._started(event)
            case ev.Batch():
                self._batch(event)
            case ev.Epoch():
                self._epoch(event)
            case ev.Warning():
                self._line(f"segviewer: warning: {event.message}", self.err)
            case ev.EarlyStopped():
                self._line(
                    f"early stopping after epoch {event.epoch}: no better validation mIoU since epoch "
                    f"{event.best_epoch} ({event.best_miou:.3f})"
                )
            case ev.Finished():
                self._finished(event)

    def _line(self, text: str, stream=None) -> None:
        stream = stream or self.out
        if self._bar_shown:
            self.out.write("\r\033[K")
            self._bar_shown = False
        stream.write(text + "\n")
        stream.flush()

    def _started(self, e) -> None:
        where = f"resuming at epoch {e.start_epoch}" if e.start_epoch > 1 else "run folder"
        self._line(
            f"training {e.config['model']} on {e.device}: {e.num_train} train / {e.num_val} val images, "
            f"{e.steps_per_epoch} steps per epoch, {e.parameters:,} parameters; {where}: {e.run_dir}"
        )

    def _batch(self, e) -> None:
        now = time.monotonic()
        if not self.tty or (now - self._last_draw < self.interval and e.step < e.steps):
            return
        self._last_draw = now
        width = 24
        done = int(width * e.step / max(e.steps, 1))
        bar = "#" * done + "-" * (width - done)
        self.out.write(
            f"\r\033[Kepoch {e.epoch} [{bar}] {e.step}/{e.steps}  loss {e.loss:.4f}  {e.images_per_s:.1f} img/s"
        )
        self.out.flush()
        self._bar_shown = True

    def _epoch(self, e) -> None:
        star = " *" if e.is_best else ""
        self._line(
            f"epoch {e.epoch:>3}/{e.epochs}  train loss {e.train_loss:.4f}  val loss {e.val_loss:.4f}  "
            f"val mIoU {e.val_miou:.3f}  pixel acc {e.val_pixel_accuracy:.3f}  {e.seconds:.1f}s{star}"
        )

    def _finished(self, e) -> None:
        if e.best_checkpoint:
            self._line(
                f"best checkpoint: {e.best_checkpoint} (epoch {e.best_epoch}, val mIoU {e.best_miou:.3f})"
            )
        if e.stopped_by_user:
            self._line(f"stopped; continue with: segviewer train ... --out {e.run_dir} --resume")

    def _failed(self, e) -> None:
        self.exit_code, self.failure = 1, e
        if self.quiet:
            return
        self._line(f"segviewer: error: {e.message}", self.err)
        for detail in e.details:
            self._line(f"  {detail}", self.err)
