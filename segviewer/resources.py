"""Where the files of resources/ (icons, palettes, style sheets) are, in every way segviewer runs.

A source checkout or editable install reads the repository's resources/; a PyInstaller bundle its
copy under sys._MEIPASS; a wheel install the copy pip put under <prefix>/share/segviewer/resources.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    candidates = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "resources")
    candidates.append(Path(__file__).resolve().parents[1] / "resources")
    candidates.append(Path(sys.prefix) / "share" / "segviewer" / "resources")
    for cand in candidates:
        if (cand / "icons").is_dir():
            return cand
    return candidates[-1]


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def app_icon_path() -> Path:
    return resource_path("icons", "segviewer-256.png")
