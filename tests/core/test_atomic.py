from __future__ import annotations

import os
import stat

import pytest

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_written_file_gets_the_usual_mode_not_owner_only(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write(path, lambda f: f.write(b"data"))
    assert path.read_bytes() == b"data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match=r"keep\.bin: could not be written \(No space left on device\)"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.bin"]


def test_missing_folder_is_an_error_when_not_created(tmp_path):
    target = tmp_path / "missing" / "x.json"
    with pytest.raises(UserError, match="x.json: could not save it .*choose another folder"):
        atomic_write(
            target,
            lambda f: f.write(b"{}"),
            what="could not save it",
            fix="choose another folder",
            create_folder=False,
        )
    assert not target.parent.exists()
    atomic_write(target, lambda f: f.write(b"{}"))
    assert target.read_bytes() == b"{}"
