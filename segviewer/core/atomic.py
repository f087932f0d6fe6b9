"""Atomic file writes: a crash or a full disk never leaves half a file or loses the previous one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from segviewer.core.errors import UserError


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes owner-only files; what we write should get the mode any new file gets. The umask is
# read once, at import: setting it is process-wide, so doing it per write would race other threads.
FILE_MODE = 0o666 & ~_process_umask()


def atomic_write(
    path: str | Path,
    write: Callable[[BinaryIO], object],
    *,
    error: type[UserError] = UserError,
    what: str = "could not be written",
    fix: str = "free some disk space or choose another folder",
    kept: str = "the previous file, if any, is unchanged",
    create_folder: bool = True,
) -> None:
    """Write through `write(f)` to a temp file beside `path`, fsync, then rename over `path`.

    Errors raise `error` with "<path>: <what> (<reason>); <fix>".
    """
    path = Path(path)
    try:
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise error(f"{path}: {what} ({exc.strerror or exc}); {fix}") from None
    try:
        os.chmod(tmp, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch.save reports some write errors as RuntimeError
        Path(tmp).unlink(missing_ok=True)
        why = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise error(f"{path}: {what} ({why}); {fix}; {kept}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
