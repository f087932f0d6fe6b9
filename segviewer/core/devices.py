"""Choosing where to compute: CUDA, Apple MPS or CPU, and the few settings that depend on it.

Mixed precision pays off on CUDA only (bf16 autocast is ~8x slower on CPUs without bf16 hardware);
channels_last is used on CUDA and on the CPU, where it measured ~20% faster for U-Lite training. Both
are decided here once instead of being options a user must get right.
"""

from __future__ import annotations

import torch

from segviewer.core import paths
from segviewer.core.errors import UserError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(UserError):
    """A device that was asked for but is not available."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def describe_devices() -> list[tuple[str, str, bool, str]]:
    """(id, label, available, reason) per device, for the GUI's device menu."""
    rows = [("auto", "Automatic (CUDA, then Apple MPS, then CPU)", True, "")]
    if torch.cuda.is_available():
        rows.append(("cuda", f"CUDA: {torch.cuda.get_device_name(0)}", True, ""))
    else:
        why = (
            "this PyTorch build has no CUDA support"
            if torch.version.cuda is None
            else "no NVIDIA GPU/driver found"
        )
        rows.append(("cuda", "CUDA: not available", False, why))
    if _mps_available():
        rows.append(("mps", "Apple MPS (Metal)", True, ""))
    else:
        rows.append(("mps", "Apple MPS: not available", False, "only on Apple silicon Macs"))
    rows.append(("cpu", f"CPU ({paths.usable_cores()} cores)", True, ""))
    return rows


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for a user's choice; an unavailable explicit choice is a user error."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            reason = next(r[3] for r in describe_devices() if r[0] == "cuda")
            raise DeviceError(f"--device {name}: CUDA is not available ({reason}); use --device cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise DeviceError(
                "--device mps: Apple MPS is not available on this machine; use --device cpu or auto"
            )
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"--device {name}: unknown device; use one of {', '.join(DEVICE_CHOICES)}")


def autocast_dtype(device: torch.device, amp: bool | None = None) -> torch.dtype | None:
    """The autocast dtype to train with, or None for fp32. `amp=None` means: on CUDA only."""
    if device.type != "cuda" or amp is False:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def device_label(device: torch.device, amp_dtype: torch.dtype | None = None) -> str:
    """Human-readable description, e.g. 'cuda:0 (NVIDIA H100, bf16 autocast)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        extra = {torch.bfloat16: ", bf16 autocast", torch.float16: ", fp16 autocast"}.get(amp_dtype, "")
        return f"cuda:{index} ({torch.cuda.get_device_name(index)}{extra})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def set_threads(threads: int | None) -> int:
    """Intra-op threads for torch (None: all cores). Returns the number set."""
    n = max(1, int(threads)) if threads else paths.usable_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
