"""GUI test set-up: settings, cache and demo data in tmp_path (never the user's), tiny data sets, a window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segviewer.core.imageio import write_jpeg, write_png

H, W = 48, 64
ROAD, SKY, CAR = 0, 10, 13


def known_mask() -> np.ndarray:
    """Sky on top, road on the left, car on the right, an ignored strip at the bottom."""
    mask = np.full((H, W), ROAD, np.uint8)
    mask[:, W // 2 :] = CAR
    mask[:10] = SKY
    mask[-3:] = 255
    return mask


def write_bdd10k(root: Path, counts: dict[str, int] | None = None, seed: int = 0) -> Path:
    """A tiny BDD100K-10K layout: JPEG images, 8-bit training-id masks (none for test)."""
    rng = np.random.default_rng(seed)
    for split, n in (counts or {"train": 4, "val": 2, "test": 1}).items():
        for i in range(n):
            name = f"{split}_{i:03d}"
            write_jpeg(
                root / "images" / "10k" / split / f"{name}.jpg",
                rng.integers(0, 255, (H, W, 3), dtype=np.uint8),
            )
            if split != "test":
                mask = known_mask()
                if i % 2:  # odd samples have no car, so the class filter has something to filter
                    mask[mask == CAR] = ROAD
                write_png(root / "labels" / "sem_seg" / "masks" / split / f"{name}.png", mask)
    return root


@pytest.fixture(autouse=True)
def private_user_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGVIEWER_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("SEGVIEWER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def tiny_bdd(tmp_path) -> Path:
    return write_bdd10k(tmp_path / "bdd")


@pytest.fixture
def messages(monkeypatch) -> list[tuple[str, str]]:
    """Message boxes shown by the window, captured instead of blocking: [(title, text)]."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str]] = []

    def capture(_parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(capture))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(capture))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(capture))
    return shown


@pytest.fixture
def window(qtbot, messages):
    from segviewer.gui.app import create_main_window

    win = create_main_window(None)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    win.shutdown()


def open_and_wait(qtbot, window, root: Path, scheme: str | None = None) -> None:
    """Open `root` and wait until the first sample is on screen."""
    with qtbot.waitSignal(window.viewer.frame_shown, timeout=10000):
        window.open_dataset(root, scheme)
