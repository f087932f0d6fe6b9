"""Remembered state: window layout, recent data sets, view options (folders: core/paths.py).

`SEGVIEWER_SETTINGS_DIR` puts the settings in an INI file in that folder instead of the platform's
store, so tests (and portable installs) never touch the user's real settings.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

from segviewer.core import paths

ORGANISATION = "segviewer"
APPLICATION = "segviewer"
MAX_RECENT = 8


def make_settings() -> QSettings:
    folder = paths.settings_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return QSettings(str(folder / "segviewer.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def recent_datasets(settings: QSettings) -> list[dict]:
    """Most recent first: [{"root": str, "scheme": str | None}]; unreadable entries are dropped."""
    raw = settings.value("recent/datasets", "[]")
    try:
        items = json.loads(raw if isinstance(raw, str) else "[]")
    except json.JSONDecodeError:
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("root"), str)][:MAX_RECENT]


def add_recent_dataset(settings: QSettings, root: Path, scheme: str | None) -> None:
    entry = {"root": str(root), "scheme": scheme}
    items = [i for i in recent_datasets(settings) if i["root"] != entry["root"]]
    settings.setValue("recent/datasets", json.dumps([entry, *items][:MAX_RECENT]))


def clear_recent_datasets(settings: QSettings) -> None:
    settings.setValue("recent/datasets", "[]")


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):  # INI files give strings back
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def read_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def followed_runs(settings: QSettings) -> list[str]:
    """Run folders opened with Open run… (written elsewhere), most recent first."""
    raw = settings.value("runs/followed", "[]")
    try:
        items = json.loads(raw if isinstance(raw, str) else "[]")
    except json.JSONDecodeError:
        return []
    return [i for i in items if isinstance(i, str)][:MAX_RECENT]


def add_followed_run(settings: QSettings, folder: Path) -> None:
    items = [i for i in followed_runs(settings) if i != str(folder)]
    settings.setValue("runs/followed", json.dumps([str(folder), *items][:MAX_RECENT]))
