"""Can Qt's platform plugin load here? Checked before QApplication, so a missing system library is one line.

Without a system library that its xcb (X11) or wayland plugin needs, Qt aborts with "no Qt platform
plugin could be initialized", and names at most one library (libxcb-cursor0, even when the real gap is
another library or no display at all). `startup_problem()` reads the plugin's ELF dependencies the way
the dynamic loader does and says which Debian package to install; `DEBIAN_PACKAGES` is the one map from
a library's soname to its package (the README's system-package line lists them all, a test checks it).

Only Linux is checked, and only the xcb and wayland plugins: offscreen, minimal, vnc and the rest need
nothing beyond what the README's line installs for the test suite.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import struct
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Libraries of the xcb and wayland platform plugins (and their GL and shell integrations) that the
# PySide6 wheel does not bundle, with the Debian/Ubuntu package that ships each.
DEBIAN_PACKAGES: dict[str, str] = {
    # X11 (xcb)
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    # Wayland
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    # both, and Qt itself
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
}

# Part of every Debian system (libc6, libstdc++6, libgcc-s1, zlib1g and libzstd1 are "required"):
# never the missing piece worth naming.
BASE_LIBRARIES = frozenset(
    {
        "libz.so.1",
        "libzstd.so.1",
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    }
)

# Plugin files by platform name: one wayland plugin serves "wayland", "wayland-egl" and "wayland-brcm".
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}

_DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_RPATH, _DT_RUNPATH = 1, 5, 10, 15, 29
_PT_LOAD, _PT_DYNAMIC = 1, 2


@dataclass
class PluginProblem:
    """Why one platform plugin cannot start: libraries it cannot find, or another reason."""

    platform: str
    missing: list[str] = field(default_factory=list)
    reason: str = ""

    def describe(self) -> str:
        if not self.missing:
            return f"Qt's {self.platform} platform plugin cannot start: {self.reason}"
        names = " and ".join(self.missing) if len(self.missing) <= 2 else ", ".join(self.missing)
        verb = "is" if len(self.missing) == 1 else "are"
        packages = list(dict.fromkeys(DEBIAN_PACKAGES[s] for s in self.missing if s in DEBIAN_PACKAGES))
        unknown = [s for s in self.missing if s not in DEBIAN_PACKAGES]
        if packages:
            noun = "package" if len(packages) == 1 else "packages"
            fix = f"install the Debian {noun} {' '.join(packages)}"
            if unknown:
                fix += f" and the package that provides {' '.join(unknown)}"
        else:
            fix = (
                "install the package that provides it"
                if verb == "is"
                else "install the packages providing them"
            )
        return f"Qt's {self.platform} platform plugin cannot load: {names} {verb} missing; {fix} (see the README)"


def elf_dependencies(path: Path) -> tuple[list[str], list[str]]:
    """(DT_NEEDED sonames, DT_RUNPATH or DT_RPATH folders) of an ELF shared library, as `readelf -d` shows."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path}: not an ELF file")
    is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
        ph_fmt, dyn_fmt = order + "IIQQQQQQ", order + "qQ"
    else:
        (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
        ph_fmt, dyn_fmt = order + "IIIIIIII", order + "iI"
    loads, dynamic = [], None
    for i in range(phnum):
        fields = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
        if is64:
            p_type, p_offset, p_vaddr, p_filesz = fields[0], fields[2], fields[3], fields[5]
        else:
            p_type, p_offset, p_vaddr, p_filesz = fields[0], fields[1], fields[2], fields[4]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return [], []
    entries = []
    size = struct.calcsize(dyn_fmt)
    for off in range(dynamic[0], dynamic[0] + dynamic[1] - size + 1, size):
        tag, value = struct.unpack_from(dyn_fmt, data, off)
        if tag == 0:
            break
        entries.append((tag, value))
    strtab = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab is None:
        return [], []
    base = next(
        (off + strtab - vaddr for vaddr, off, size in loads if vaddr <= strtab < vaddr + size), strtab
    )

    def string(index: int) -> str:
        end = data.index(b"\0", base + index)
        return data[base + index : end].decode("utf-8", "replace")

    needed = [string(v) for t, v in entries if t == _DT_NEEDED]
    runpath = [string(v) for t, v in entries if t == _DT_RUNPATH] or [
        string(v) for t, v in entries if t == _DT_RPATH
    ]
    folders = [part for entry in runpath for part in entry.split(":") if part]
    return needed, folders


def _library_folders(path: Path, runpath: Iterable[str]) -> list[Path]:
    origin = str(Path(path).parent)
    return [Path(folder.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)) for folder in runpath]


def _not_found_name(error: OSError, soname: str) -> str:
    """The library the loader could not find: `soname` itself, or one of its own dependencies."""
    match = re.match(r"\s*([^:\s]+\.so[^:\s]*): cannot open shared object file", str(error))
    return Path(match.group(1)).name if match else soname


def system_libraries(plugin: Path) -> list[str]:
    """The sonames `plugin` needs from the system: its own and those of the Qt libraries bundled with it."""
    found: list[str] = []
    queue, seen = [Path(plugin)], set()
    while queue:
        library = queue.pop(0)
        if library in seen:
            continue
        seen.add(library)
        try:
            needed, runpath = elf_dependencies(library)
        except (OSError, ValueError, struct.error):
            continue  # not a library we can read: the loader's own error still says what failed
        folders = _library_folders(library, runpath)
        for soname in needed:
            bundled = next((f / soname for f in folders if (f / soname).is_file()), None)
            if bundled is not None:
                queue.append(bundled)
            elif soname not in BASE_LIBRARIES and soname not in found:
                found.append(soname)
    return found


def missing_libraries(plugin: Path) -> tuple[list[str], str]:
    """(sonames the loader cannot find for `plugin`, the loader's error); ([], "") when it loads.

    Loading the plugin is what Qt does a moment later, so the check costs nothing when all is well; only
    on failure are its libraries tried one by one, to name every missing one instead of the first.
    """
    try:
        ctypes.CDLL(str(plugin))
        return [], ""
    except OSError as exc:
        error = str(exc)
    missing: list[str] = []
    for soname in system_libraries(plugin):
        try:
            ctypes.CDLL(soname)
        except OSError as exc:
            name = _not_found_name(exc, soname)
            if name not in missing:
                missing.append(name)
    return missing, error


def platform_candidates(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (QT_QPA_PLATFORM, else Qt's choice for the session)."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return [part.split(":")[0].strip() for part in requested.split(";") if part.strip()]
    if environ.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return ["wayland", "xcb"]
    return ["xcb"]


def plugin_folders(environ: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins: QT_QPA_PLATFORM_PLUGIN_PATH, QT_PLUGIN_PATH, then its own."""
    from PySide6.QtCore import QLibraryInfo

    folders = [Path(p) for p in environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    plugin_paths = environ.get("QT_PLUGIN_PATH", "").split(os.pathsep)
    plugin_paths.append(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    folders += [Path(p) / "platforms" for p in plugin_paths if p]
    return folders


def _plugin_file(platform: str, folders: Iterable[Path]) -> Path | None:
    key = "wayland" if platform.startswith("wayland") else platform
    name = PLUGIN_FILES.get(key)
    if name is None:
        return None
    return next((f / name for f in folders if (f / name).is_file()), None)


def startup_problem(
    environ: Mapping[str, str] | None = None, folders: list[Path] | None = None
) -> str | None:
    """One line saying why no platform plugin Qt would try can start, or None (it can, or we cannot tell)."""
    if not sys.platform.startswith("linux"):
        return None
    environ = os.environ if environ is None else environ
    try:
        return _startup_problem(environ, plugin_folders(environ) if folders is None else folders)
    except Exception:  # noqa: BLE001 - the check must never be what stops the window from opening
        logging.getLogger("segviewer").debug("platform plugin check failed", exc_info=True)
        return None


def _startup_problem(environ: Mapping[str, str], folders: list[Path]) -> str | None:
    problems: list[PluginProblem] = []
    for platform in platform_candidates(environ):
        plugin = _plugin_file(platform, folders)
        if plugin is None:
            return None  # a platform we do not check, or no such file: Qt reports that itself
        missing, error = missing_libraries(plugin)
        if missing:
            problems.append(PluginProblem(platform, missing))
        elif error:
            problems.append(PluginProblem(platform, reason=error))
        elif platform == "xcb" and not environ.get("DISPLAY"):
            problems.append(
                PluginProblem(
                    platform,
                    reason="there is no X display (DISPLAY is not set); "
                    + (
                        "on this Wayland session set QT_QPA_PLATFORM=wayland"
                        if environ.get("WAYLAND_DISPLAY")
                        else "start segviewer from a desktop session (or ssh -X), or check the "
                        "installation with `segviewer --self-test`"
                    ),
                )
            )
        else:
            return None
    return "; and ".join(p.describe() for p in problems) or None
