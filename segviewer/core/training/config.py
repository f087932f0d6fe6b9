"""What a training run depends on: `TrainConfig`, its one set of defaults, and the valid names.

Torch-free on purpose: the CLI's argparse defaults and choices and the GUI's training form read
them from here without paying for a torch import. `check_config` refuses a config a run could not
use, with a message that names the option and the fix, before anything is loaded.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

from segviewer.core import model_registry
from segviewer.core.errors import UserError

LOSSES = ("ce", "ce+dice", "focal", "ce+ohem")  # built by core/losses.py
CLASS_WEIGHTINGS = ("none", "median", "sqrt")
LR_SCHEDULES = ("cosine", "onecycle", "constant")
OPTIMIZERS = ("adam", "adamw")
DEVICES = ("auto", "cpu", "cuda", "mps")
# which masks a training, an evaluation or a review reads (core/corrections.py resolves them)
LABELS = ("auto", "corrected", "original")


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as the run's config.json."""

    root: str
    model: str = model_registry.DEFAULT_MODEL
    epochs: int = 15
    batch_size: int = 4  # per process; a distributed run's global batch is this x world size
    lr: float = 2e-3
    # "cosine": decays to 0 over `epochs`, per step; "onecycle": linear warm-up over `warmup_fraction`
    # of the run, then cosine; "constant" (Keras-like)
    lr_schedule: str = "cosine"
    warmup_fraction: float = 0.1  # of all steps; "onecycle" only
    optimizer: str = "adam"  # "adam" (the paper) or "adamw" (decoupled weight decay)
    weight_decay: float = 0.0
    input_size: tuple[int, int] = (128, 224)  # the paper used 360x640; see the README for CPU figures
    train_crop: tuple[int, int] | None = None  # random crops of this size from the resized images
    patience: int = 5  # epochs without a better validation mIoU before stopping; 0 = never stop early
    # "none", "median" (SegNet's median frequency balancing) or "sqrt" (gentler); older runs' config.json
    # holds a bool (True: "median"), which `class_weighting` reads
    class_weights: str | bool = "median"  # the paper: "none"; median sees the small classes (README)
    loss: str = "ce+dice"  # "ce" (the paper), "ce+dice", "focal" or "ce+ohem" (see losses.py)
    augment: str | None = None  # preset name or JSON path
    device: str = "auto"
    out: str | None = None  # run folder; None: runs/<model>-<YYYYmmdd-HHMMSS> in the current folder
    resume: bool = False
    init_from: str | None = None  # a checkpoint (or run folder) whose weights a new run starts from
    threads: int | None = None  # None: all cores (the GUI passes cores - 1)
    num_workers: int | None = None  # None: min(2, cores)
    seed: int = 0
    scheme: str | None = None  # label scheme of a plain folder data set
    model_options: dict = field(default_factory=dict)
    amp: bool | None = None  # None: mixed precision on CUDA only
    sync_bn: bool = False  # distributed runs: batch norm statistics over all ranks
    max_train_batches: int | None = None
    max_val_batches: int | None = None
    train_split: str = "train"
    val_split: str = "val"
    cache_dir: str | None = None  # decode cache; None: the default location, "": no cache
    labels: str = (
        "auto"  # "corrected" (saved corrections win), "original", or "auto": corrected when any exist
    )

    def to_json(self) -> dict:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        data["train_crop"] = list(self.train_crop) if self.train_crop else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        """A config from config.json; unknown keys (a newer segviewer's) are left out.

        A key an older segviewer did not write means what that version did, not today's default.
        """
        known = {f.name for f in fields(cls)}
        values = {**BEFORE_THE_KEY_EXISTED, **{k: v for k, v in data.items() if k in known}}
        for key in ("input_size", "train_crop"):
            if values.get(key) is not None:
                values[key] = tuple(int(v) for v in values[key])
        return cls(**values)


# What a run whose config.json lacks the key was trained with: these defaults changed after runs existed.
BEFORE_THE_KEY_EXISTED = {"class_weights": "none", "loss": "ce"}


def defaults() -> dict:
    """Every field's default value, by name (what `segviewer train` and the GUI form start from)."""
    out = {}
    for f in fields(TrainConfig):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def class_weighting(value: bool | str | None) -> str:
    """A config's `class_weights` as one of CLASS_WEIGHTINGS (config.json of older runs holds a bool)."""
    if value is True:
        return "median"
    if value is False or value is None:
        return "none"
    if value not in CLASS_WEIGHTINGS:
        raise ValueError(f"unknown class weighting '{value}'; use one of {', '.join(CLASS_WEIGHTINGS)}")
    return value


def check_config(cfg: TrainConfig) -> None:
    """Raise UserError for a config no run could use (checked before the data set is opened)."""
    names = model_registry.model_names()
    if cfg.model not in names:
        raise UserError(f"unknown model '{cfg.model}'; use one of {', '.join(names)}")
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UserError("--epochs and --batch-size must be at least 1")
    _check_choice("loss", cfg.loss, LOSSES)
    try:
        class_weighting(cfg.class_weights)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    _check_choice("learning rate schedule", cfg.lr_schedule, LR_SCHEDULES)
    _check_choice("optimizer", cfg.optimizer, OPTIMIZERS)
    for flag, value in (("--lr", cfg.lr), ("--weight-decay", cfg.weight_decay)):
        if not (isinstance(value, int | float) and value >= 0 and math.isfinite(value)):
            raise UserError(f"{flag} must be a non-negative number, got {value}")
    if not 0 <= cfg.warmup_fraction < 1:
        raise UserError(f"--warmup-fraction must be at least 0 and below 1, got {cfg.warmup_fraction}")
    h, w = cfg.input_size
    if h < 16 or w < 16:
        raise UserError(f"--input-size {h}x{w} is too small; use at least 16x16 (e.g. 144x256)")
    if cfg.train_crop is not None:
        ch, cw = cfg.train_crop
        if not (16 <= ch <= h and 16 <= cw <= w):
            raise UserError(f"--train-crop {ch}x{cw} must be at least 16x16 and fit in --input-size {h}x{w}")
    if cfg.init_from and cfg.resume:
        raise UserError(
            "--init-from starts a new run from a checkpoint's weights; --resume continues a run: use one"
        )


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"unknown {what} '{value}'; use one of {', '.join(choices)}")
