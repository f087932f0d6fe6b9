"""Which splits the evaluation pane can score: labelled-image counts, the split box's entries, and the
message that says what is missing before an evaluation can start."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

PREFERRED_SPLITS = ("val", "test", "train")


def labelled_count(dataset, split: str) -> int:
    """Images of the split that have a mask (only those can be scored); 0 for no data set or split."""
    if dataset is None or split not in dataset.splits:
        return 0
    return sum(1 for s in dataset.splits[split] if s.mask is not None)


def fill_split_combo(combo: QComboBox, dataset) -> None:
    """List the data set's splits with their labelled counts; keep the choice, else prefer val, test, train."""
    previous = combo.currentData()
    combo.clear()
    splits = dataset.splits if dataset is not None else {}
    for name, samples in splits.items():
        labelled = sum(1 for s in samples if s.mask is not None)
        text = f"{name} ({labelled} labelled images)" if labelled else f"{name} (no masks: cannot be scored)"
        combo.addItem(text, name)
    for name in (previous, *PREFERRED_SPLITS):
        index = combo.findData(name)
        if name and index >= 0 and labelled_count(dataset, name):
            combo.setCurrentIndex(index)
            break


def evaluation_problem(dataset, checkpoints: list[str], split: str | None) -> str | None:
    """Why an evaluation cannot start yet, with what to do about it; None when it can."""
    if dataset is None:
        return "Open a data set first (File > Open data set)."
    if not checkpoints:
        return "Choose a model to evaluate: a past run or a checkpoint file (Browse…)."
    if split is None:
        return "This data set has no splits to evaluate."
    if not labelled_count(dataset, split):
        others = [n for n in dataset.splits if n != split and labelled_count(dataset, n)]
        hint = f" Choose {others[0]!r} instead." if others else ""
        return f"The '{split}' split has no masks, so there is nothing to compare the predictions with.{hint}"
    return None
