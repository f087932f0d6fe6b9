"""Every folder segviewer keeps for the user, in one place, on platformdirs.

The user's data home holds separate folders, so that regenerating one never touches another:

- `demo/`: the built-in demo data set, the only folder segviewer ever replaces (and only when it is a
  demo set it wrote itself);
- `runs/`: training runs started from the window;
- `corrections/`: mask corrections of data sets whose own folder is read-only, one folder per data set.

Environment overrides, for tests, portable installs and servers:
`SEGVIEWER_DATA_HOME` (the data home itself; the folders above are made inside it),
`SEGVIEWER_RUNS_DIR` (runs only), `SEGVIEWER_CACHE_DIR` (the cache: decoded images, logs) and
`SEGVIEWER_SETTINGS_DIR` (an INI file there instead of the platform's settings store).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

APP = "segviewer"


def _env_dir(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_home() -> Path:
    """The user's segviewer data folder (Linux: ~/.local/share/segviewer)."""
    return _env_dir("SEGVIEWER_DATA_HOME") or Path(platformdirs.user_data_dir(APP, appauthor=False))


def demo_dir() -> Path:
    """Where the built-in demo data set is written."""
    return data_home() / "demo"


def runs_dir() -> Path:
    """Where the window saves runs unless told otherwise."""
    return _env_dir("SEGVIEWER_RUNS_DIR") or data_home() / "runs"


def corrections_home() -> Path:
    """Corrections of data sets that cannot hold their own `.segviewer/` folder."""
    return data_home() / "corrections"


def dataset_key(root: Path) -> str:
    """A folder name for a data set root: readable stem plus a hash of the absolute path."""
    resolved = str(Path(root).expanduser().resolve())
    digest = hashlib.sha1(resolved.encode("utf-8")).hexdigest()[:10]
    return f"{Path(resolved).name or 'root'}-{digest}"


def cache_dir() -> Path:
    """The user's cache folder (Linux: ~/.cache/segviewer, macOS: ~/Library/Caches/segviewer)."""
    return _env_dir("SEGVIEWER_CACHE_DIR") or Path(platformdirs.user_cache_dir(APP, appauthor=False))


def decoded_cache_dir() -> Path:
    """Decoded, resized training images (trimmed to a size bound by the pipeline)."""
    return cache_dir() / "decoded"


def log_path() -> Path:
    return cache_dir() / "segviewer.log"


def settings_dir() -> Path | None:
    """A folder for an INI settings file, or None for the platform's own settings store."""
    return _env_dir("SEGVIEWER_SETTINGS_DIR")


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity and cgroup-pinned sets respected)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def background_cores() -> int:
    """Threads for work beside a live window: every core but one, at least one."""
    return max(1, usable_cores() - 1)
