"""Training: `train(cfg, should_stop)`, a generator of events (core/events.py), is the entry point.

The package, by responsibility: config.py (`TrainConfig`, its defaults and the valid names;
torch-free), trainer.py (`Trainer`: set-up, epochs, validation, checkpoints), run_folder.py
(`RunFolder`: every file of a run folder and its one reader), early_stopping.py, schedule.py (learning
rates) and distributed.py (ranks and their collective steps).

`train` never raises into its caller: problems end the run with a `Failed` event whose message says
what to change, and every event also goes to the run folder's events.jsonl. Importing this package
does not import torch (the runs list and the GUI form use its torch-free parts).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from segviewer.core import events as ev
from segviewer.core.errors import UserError
from segviewer.core.training.config import TrainConfig

if TYPE_CHECKING:
    from segviewer.core.training.distributed import ProcessGroup
    from segviewer.core.training.trainer import Trainer


def train(
    cfg: TrainConfig, should_stop: Callable[[], bool] | None = None, group: ProcessGroup | None = None
) -> Iterator[ev.Event]:
    """Run training, yielding events; ends with exactly one Finished or Failed.

    `should_stop` is called after every batch (it may block to pause the run). `group` is the
    distributed job this process is a rank of; None reads it from the environment (torchrun's).
    """
    import torch

    from segviewer.core.training.distributed import ProcessGroup, ranks_from_environment
    from segviewer.core.training.trainer import Trainer

    pending: list[ev.Event] = []
    try:
        trainer = Trainer(cfg, group or ProcessGroup(ranks_from_environment()))
    except UserError as exc:
        yield ev.Failed(str(exc))
        return

    def logged(event: ev.Event) -> ev.Event:
        """Append to events.jsonl once the folder exists (events before it are kept until then)."""
        pending.append(event)
        folder = trainer.folder
        if folder is not None and folder.path.is_dir():
            folder.append_events(pending)
            pending.clear()
        return event

    try:
        for event in trainer.run(should_stop or (lambda: False)):
            yield logged(event)
    except UserError as exc:
        yield logged(_failed(trainer, str(exc)))
    except torch.OutOfMemoryError:
        h, w = cfg.input_size
        message = (
            f"out of GPU memory with batch size {cfg.batch_size} at input size {h}x{w}; "
            "lower --batch-size or --input-size"
        )
        yield logged(_failed(trainer, message))
    except MemoryError:
        yield logged(_failed(trainer, "out of memory; lower --batch-size, --input-size or --workers"))
    except Exception as exc:  # never raise into the GUI: report, keep the traceback for a bug report
        log = trainer.folder.write_error_log(traceback.format_exc()) if trainer.folder else None
        details = [f"traceback saved in {log}"] if log else []
        yield logged(_failed(trainer, f"training failed: {type(exc).__name__}: {exc}", details))
    finally:
        trainer.close()


def _failed(trainer: Trainer, message: str, details: list[str] | None = None) -> ev.Failed:
    trainer.write_status("failed", message)
    return ev.Failed(message, details or [])
