"""The .desktop and AppStream files pass their validators; the icon set is complete."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO

PACKAGING = REPO / "packaging"


def _validate(tool: list[str], path) -> subprocess.CompletedProcess:
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} is not installed (Debian package: desktop-file-utils / appstream)")
    return subprocess.run([*tool, str(path)], capture_output=True, text=True, timeout=60)


def test_desktop_file_validates():
    out = _validate(["desktop-file-validate"], PACKAGING / "org.segviewer.SegViewer.desktop")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower()


def test_metainfo_validates():
    out = _validate(
        ["appstreamcli", "validate", "--no-net"], PACKAGING / "org.segviewer.SegViewer.metainfo.xml"
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_icon_sizes_present():
    icons = REPO / "resources" / "icons"
    assert (icons / "segviewer.svg").is_file()
    for size in (16, 32, 48, 64, 128, 256):
        assert (icons / f"segviewer-{size}.png").is_file()


def test_resources_dir_found():
    from segviewer.resources import app_icon_path

    assert app_icon_path().is_file()
