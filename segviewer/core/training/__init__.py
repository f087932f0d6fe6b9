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

from segviewer.core.errors import UserError
from segviewer.core.training.config import TrainConfig

if TYPE_CHECKING:  # events are imported when a run starts: the CLI's parser reads config.py alone
    from segviewer.core import events as ev
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

    from segviewer.core import events as ev
    from segviewer.core.training.distributed import (
        REPORTED_BY_RANK_0,
        ProcessGroup,
        RankZeroError,
        ranks_from_environment,
    )
    from segviewer.core.training.trainer import Trainer

    pending: list[ev.Event] = []
    try:
        trainer = Trainer(cfg, group or ProcessGroup(ranks_from_environment()))
    except UserError as exc:
        yield ev.Failed(str(exc))
        return

    def logged(event: ev.Event) -> ev.Event:
        """Append to events.jsonl once the run has its folder (events before are kept until then)."""
        pending.append(event)
        if trainer.started:
            trainer.folder.append_events(pending)
            pending.clear()
        return event

    try:
        for event in trainer.run(should_stop or (lambda: False)):
            yield logged(event)
    except RankZeroError as exc:
        yield ev.Failed(str(exc), [REPORTED_BY_RANK_0])
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
        message = f"training failed: {type(exc).__name__}: {exc}"
        if trainer.group.distributed and _lost_a_rank(exc):
            message = f"training stopped: another rank of this job ended (its message says why): {str(exc).splitlines()[0][:200]}"
        yield logged(_failed(trainer, message, details))
    finally:
        trainer.close()


def _lost_a_rank(exc: Exception) -> bool:
    """A collective that failed because another process of the job is gone (NCCL or gloo)."""
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, dist.DistError) or "gloo" in text or "Connection reset by peer" in text


def _failed(trainer: Trainer, message: str, details: list[str] | None = None) -> ev.Failed:
    from segviewer.core import events as ev

    trainer.write_status("failed", message)
    return ev.Failed(message, details or [])
