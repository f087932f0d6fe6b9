"""Device choice: what is offered, what is refused, and where mixed precision is used."""

from __future__ import annotations

import pytest
import torch


def test_devices_are_described_and_unavailable_ones_refused(monkeypatch):
    from segviewer.core import devices

    rows = {row[0]: row for row in devices.describe_devices()}
    assert set(rows) == {"auto", "cpu", "cuda", "mps"} and rows["cpu"][2]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.resolve_device("auto").type in ("cpu", "mps")
    with pytest.raises(devices.DeviceError, match="CUDA is not available.*--device cpu"):
        devices.resolve_device("cuda")
    assert devices.autocast_dtype(torch.device("cpu")) is None  # mixed precision on CUDA only
