"""Distributed training: the ranks torchrun starts, and the few collective steps a run needs.

`torchrun --nproc-per-node N -m segviewer train ...` (or `segviewer train ... --nproc N`) starts N
processes with RANK, WORLD_SIZE and LOCAL_RANK in their environment, as torchvision's segmentation
reference reads them. Each rank trains a DistributedDataParallel copy of the model on its share of
every epoch (NCCL on CUDA, one rank per GPU; gloo on the CPU), validates its share of the validation
set, and the confusion matrices are summed over the ranks, so the validation mIoU is exactly that of
a single process. Rank 0 decides what every rank must agree on (the run folder, a checkpoint to
resume or start from) and alone writes the run folder.

In one process every operation here is a no-op and torch.distributed is never started. Torch is
imported only when a process group is started, so the CLI can read the ranks cheaply.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from segviewer.core import paths
from segviewer.core.errors import UserError

# The detail of the Failed event the other ranks end with when rank 0 reports the error for the job.
REPORTED_BY_RANK_0 = "rank 0 reports this error for the whole job"

# A paused run holds every rank in a collective: this bounds how long, and how long a lost rank
# can keep the others waiting when no launcher notices it.
COLLECTIVE_TIMEOUT = timedelta(hours=1)


class RankZeroError(UserError):
    """An error rank 0 ran into while deciding for every rank; the other ranks end with it too."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def default_threads(self) -> int:
        """CPU threads per rank: the machine's usable cores shared by the ranks on it."""
        return max(1, paths.usable_cores() // max(1, self.local_world_size))


def ranks_from_environment(environ: dict | None = None) -> Ranks:
    """The ranks torchrun (or SLURM through torchrun) set; a single process without them."""
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env and "RANK" not in env:
        return Ranks()
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", "0"))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError:
        raise UserError(
            "RANK, WORLD_SIZE, LOCAL_RANK must be whole numbers; start distributed runs with torchrun "
            "or `segviewer train ... --nproc N`"
        ) from None
    if not (world >= 1 and 0 <= rank < world and 0 <= local_rank < max(local_world, 1)):
        raise UserError(f"inconsistent ranks RANK={rank} WORLD_SIZE={world} LOCAL_RANK={local_rank}")
    return Ranks(rank, world, local_rank, local_world)


class ProcessGroup:
    """The collective steps of a run, for one rank; every one of them a no-op in a single process."""

    def __init__(self, ranks: Ranks | None = None) -> None:
        self.ranks = ranks or Ranks()
        self._started = False

    @property
    def distributed(self) -> bool:
        return self.ranks.distributed

    def start(self, device_type: str) -> None:
        """Join the job's process group: NCCL for CUDA, gloo for the CPU."""
        if not self.distributed or self._started:
            return
        import torch
        import torch.distributed as dist

        if device_type == "cuda":
            torch.cuda.set_device(self.ranks.local_rank)
        if not dist.is_initialized():
            backend = "nccl" if device_type == "cuda" else "gloo"
            dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
        self._started = True

    def close(self) -> None:
        """Leave the process group (after a clean end; a failing rank just exits)."""
        if self._started:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self._started = False

    def share(self, compute: Callable[[], Any]) -> Any:
        """`compute()` on rank 0, its result on every rank; a UserError there is raised on every rank
        (as RankZeroError on the others, which leave reporting it to rank 0)."""
        if not self.distributed:
            return compute()
        import torch.distributed as dist

        box: list = [None]
        if self.ranks.is_main:
            try:
                box[0] = ("ok", compute())
            except UserError as exc:
                box[0] = ("error", str(exc))
        dist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise UserError(value) if self.ranks.is_main else RankZeroError(value)
        return value

    def agree(self, error: str | None) -> None:
        """Raise the first rank's error, if any rank had one, on every rank (rank 0 reports it)."""
        if not self.distributed:
            if error is not None:
                raise UserError(error)
            return
        import torch.distributed as dist

        errors: list = [None] * self.ranks.world_size
        dist.all_gather_object(errors, error)
        for rank, message in enumerate(errors):
            if message is not None:
                if not self.ranks.is_main:
                    raise RankZeroError(message)
                raise UserError(message if rank == 0 else f"rank {rank}: {message}")

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of a few numbers over the ranks (float64)."""
        if not self.distributed:
            return list(values)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on any."""
        return bool(self.sum([1.0 if flag else 0.0])[0] > 0) if self.distributed else bool(flag)

    def merge(self, matrix):
        """A ConfusionMatrix holding the counts of every rank's matrix."""
        if not self.distributed:
            return matrix
        import torch.distributed as dist

        parts: list = [None] * self.ranks.world_size
        dist.all_gather_object(parts, matrix)
        total = parts[0]
        for part in parts[1:]:
            total.merge(part)
        return total

    def sync_buffers(self, model) -> None:
        """Rank 0's batch-norm statistics on every rank (each rank updated its own on its batches)."""
        if not self.distributed:
            return
        import torch.distributed as dist

        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)

    def shard(self, items: list) -> list:
        """This rank's share of a list (no padding: each item is on exactly one rank)."""
        return list(items)[self.ranks.rank :: self.ranks.world_size]

    def _device(self):
        import torch
        import torch.distributed as dist

        if dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def epoch_sampler(size: int, shuffle: bool, seed: int, ranks: Ranks):
    """The training sampler of a rank: `EpochSampler`'s epoch order, dealt out like DistributedSampler.

    torch's DistributedSampler yields bare indices; this keeps the `(index, augmentation seed)` keys
    of EpochSampler, so the samples and augmentations of an epoch are the same for any world size,
    and, as DistributedSampler does, pads the epoch to equal shares (every rank takes as many steps)
    and follows `set_epoch`.
    """
    from segviewer.core.pipeline import EpochSampler

    class DistributedEpochSampler(EpochSampler):
        def __len__(self) -> int:
            return math.ceil(self.size / ranks.world_size)

        def __iter__(self):
            keys = list(super().__iter__())
            total = len(self) * ranks.world_size
            while keys and len(keys) < total:
                keys += keys[: total - len(keys)]
            return iter(keys[ranks.rank : total : ranks.world_size])

    return DistributedEpochSampler(size, shuffle, seed)
