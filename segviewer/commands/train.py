"""`segviewer train`: train a model on a data set folder, printing progress and one line per epoch.

Ctrl-C once asks the trainer to stop after the current batch (last.pt is saved, resume with
--resume); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from segviewer.core import model_registry

DEFAULTS = {
    "epochs": 15,
    "batch_size": 4,
    "lr": 2e-3,
    "lr_schedule": "cosine",
    "input_size": (128, 224),
    "patience": 5,
}


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
    p = subparsers.add_parser(
        "train",
        help="train a segmentation model on a data set folder",
        description="Train SegNet, SegNet Basic, U-Net or U-Lite with Adam and cross-entropy, validating "
        "after every epoch and stopping early when validation mIoU stops improving. The run folder "
        "gets config.json, metrics.csv, last.pt and best.pt.",
        epilog="Defaults finish in a few minutes on a laptop CPU for the demo data set "
        "(segviewer demo-data). Ctrl-C stops after the current batch; continue with --resume.",
    )
    p.add_argument("root", help="data set folder (BDD100K, Cityscapes, CamVid or images/ + masks/)")
    p.add_argument(
        "--model",
        choices=model_registry.model_names(),
        default=model_registry.DEFAULT_MODEL,
        help=f"architecture (default: {model_registry.DEFAULT_MODEL})",
    )
    p.add_argument(
        "--epochs", type=int, default=DEFAULTS["epochs"], help="maximum epochs (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULTS["batch_size"],
        help="images per step (default: %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=DEFAULTS["lr"], help="Adam learning rate (default: %(default)s)"
    )
    p.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default=DEFAULTS["lr_schedule"],
        help="constant, or cosine decay to 0 over --epochs (default: %(default)s)",
    )
    p.add_argument(
        "--input-size",
        type=parse_size,
        default=DEFAULTS["input_size"],
        metavar="HxW",
        help="size images are resized to (default: 128x224; the paper used 360x640)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=DEFAULTS["patience"],
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
        default="none",
        choices=("none", "median", "sqrt"),
        help="weight rare classes up: median (median frequency balancing, as SegNet; the bare flag) or "
        "sqrt (its square root, gentler: fewer false positives on rare classes)",
    )
    p.add_argument(
        "--loss",
        choices=("ce", "ce+dice"),
        default="ce",
        help="ce: cross-entropy (the paper); ce+dice: plus a soft Dice term that weighs every class "
        "alike (default: %(default)s)",
    )
    p.add_argument("--augment", metavar="PRESET", help="augmentation preset name or JSON file")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"), help="(default: auto)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<model>-<date-time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--threads", type=int, help="CPU threads for the model (default: all cores)")
    p.add_argument("--workers", type=int, help="data loading processes (default: min(2, cores))")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--scheme", help="label scheme of a plain images/ + masks/ folder (name or JSON)")
    p.add_argument(
        "--labels",
        choices=("auto", "corrected", "original"),
        default="auto",
        help="masks to train on: corrected (saved corrections win), original, or auto: corrected when "
        "corrections exist (default)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from segviewer.core.errors import UserError
    from segviewer.core.training import TrainConfig, train

    if args.resume and not args.out:
        raise UserError("--resume needs --out RUN_DIR, the folder of the run to continue")
    cfg = TrainConfig(
        root=args.root,
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        input_size=tuple(args.input_size),
        patience=args.patience,
        class_weights=args.class_weights,
        loss=args.loss,
        augment=args.augment,
        device=args.device,
        out=args.out,
        resume=args.resume,
        threads=args.threads,
        num_workers=args.workers,
        seed=args.seed,
        scheme=args.scheme,
        model_options=model_options(args.model, args.widths),
        labels=args.labels,
    )
    stop = _StopOnInterrupt()
    printer = ProgressPrinter(sys.stdout, sys.stderr)
    with stop:
        for event in train(cfg, should_stop=stop):
            printer.show(event)
    return printer.exit_code


class _StopOnInterrupt:
    """First Ctrl-C: ask for a clean stop; second: abort."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
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
    """Turns training events into terminal output: a \\r progress bar on a TTY, summary lines always."""

    def __init__(self, out, err, interval: float = 0.1) -> None:
        self.out, self.err = out, err
        self.tty = hasattr(out, "isatty") and out.isatty() and os.environ.get("TERM") != "dumb"
        self.interval = interval
        self._last_draw = 0.0
        self._bar_shown = False
        self.exit_code = 0
        self._run_dir = ""

    def show(self, event) -> None:
        getattr(self, f"_on_{type(event).__name__.lower()}", lambda e: None)(event)

    def _line(self, text: str, stream=None) -> None:
        stream = stream or self.out
        if self._bar_shown:
            self.out.write("\r\033[K")
            self._bar_shown = False
        stream.write(text + "\n")
        stream.flush()

    def _on_started(self, e) -> None:
        self._run_dir = e.run_dir
        where = f"resuming at epoch {e.start_epoch}" if e.start_epoch > 1 else "run folder"
        self._line(
            f"training {e.config['model']} on {e.device}: {e.num_train} train / {e.num_val} val images, "
            f"{e.steps_per_epoch} steps per epoch, {e.parameters:,} parameters; {where}: {e.run_dir}"
        )

    def _on_batch(self, e) -> None:
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

    def _on_epoch(self, e) -> None:
        star = " *" if e.is_best else ""
        self._line(
            f"epoch {e.epoch:>3}/{e.epochs}  train loss {e.train_loss:.4f}  val loss {e.val_loss:.4f}  "
            f"val mIoU {e.val_miou:.3f}  pixel acc {e.val_pixel_accuracy:.3f}  {e.seconds:.1f}s{star}"
        )

    def _on_warning(self, e) -> None:
        self._line(f"segviewer: warning: {e.message}", self.err)

    def _on_earlystopped(self, e) -> None:
        self._line(
            f"early stopping after epoch {e.epoch}: no better validation mIoU since epoch {e.best_epoch} "
            f"({e.best_miou:.3f})"
        )

    def _on_finished(self, e) -> None:
        if e.best_checkpoint:
            self._line(
                f"best checkpoint: {e.best_checkpoint} (epoch {e.best_epoch}, val mIoU {e.best_miou:.3f})"
            )
        if e.stopped_by_user:
            self._line(f"stopped; continue with: segviewer train ... --out {e.run_dir} --resume")

    def _on_failed(self, e) -> None:
        self._line(f"segviewer: error: {e.message}", self.err)
        for detail in e.details:
            self._line(f"  {detail}", self.err)
        self.exit_code = 1
