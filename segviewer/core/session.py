"""What the user is looking at, in one Qt-free evented object (napari's model/view split).

The open data set, split and sample, the viewer's mode and overlay opacity, the hidden classes, the
palette and the loaded model live here and nowhere else. Views subscribe to a field's event
(`session.events.opacity.connect(view.set_opacity)`) and send intents back through the methods
below (`session.set_opacity(0.7)`); an event fires only when a value really changes, so a view that
both shows and edits a value never loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import evented

from segviewer.core.overlay import MODES


@evented
@dataclass(eq=False)
class Session:
    dataset: Any = None  # segviewer.core.datasets.Dataset, or None before one is opened
    scheme_name: str | None = None  # the label scheme asked for when opening (plain folders)
    split: str | None = None
    sample: Any = None  # the Sample being shown
    mode: str = "gt"  # one of overlay.MODES
    opacity: float = 0.5  # of the overlay, 0..1
    hidden_classes: frozenset[int] = field(default_factory=frozenset)
    colorblind: bool = False  # the colour-blind-safe palette instead of the scheme's own
    checkpoint: Path | None = None  # the loaded model's file, or None

    # --- intents -----------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown viewer mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode

    def set_opacity(self, value: float) -> None:
        """Clamped to 0..1 and rounded to whole percent (what the slider can show)."""
        self.opacity = round(max(0.0, min(1.0, float(value))), 2)

    def nudge_opacity(self, step: float) -> None:
        self.set_opacity(self.opacity + step)

    def set_class_visible(self, class_id: int, visible: bool) -> None:
        hidden = set(self.hidden_classes)
        (hidden.discard if visible else hidden.add)(int(class_id))
        self.hidden_classes = frozenset(hidden)

    def show_all_classes(self) -> None:
        self.hidden_classes = frozenset()

    def hide_classes(self, class_ids: list[int]) -> None:
        self.hidden_classes = frozenset(int(c) for c in class_ids)

    def open(self, dataset: Any, scheme_name: str | None = None) -> None:
        """A newly opened data set: nothing of the old one stays selected or hidden."""
        self.sample = None
        self.split = None
        self.hidden_classes = frozenset()
        self.scheme_name = scheme_name
        self.dataset = dataset
