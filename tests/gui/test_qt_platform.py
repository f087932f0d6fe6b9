"""The platform-plugin check: a missing system library becomes one line naming its Debian package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segviewer.gui import qt_platform
from tests.conftest import REPO
from tests.test_readme import readme_system_packages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF plugins: Linux only")

REAL_NAME, FAKE_NAME = b"libxcb-cursor.so.0", b"libxcb-cursoX.so.0"  # same length: a byte patch


def _qt_plugins() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))


def _display_plugins() -> list[Path]:
    """The plugins a window on X11 or Wayland loads: platform, GL and shell integrations, decorations."""
    root = _qt_plugins()
    found = [root / "platforms" / "libqxcb.so", root / "platforms" / "libqwayland.so"]
    for folder in ("xcbglintegrations", "wayland-graphics-integration-client", "wayland-shell-integration"):
        found += sorted((root / folder).glob("*.so"))
    found += sorted((root / "wayland-decoration-client").glob("*.so"))
    found = [p for p in found if p.is_file()]
    if len(found) < 2:
        pytest.skip("this PySide6 has no xcb / wayland plugins")
    return found


def fake_xcb_plugin(tmp_path: Path) -> Path:
    """A copy of the real xcb plugin whose libxcb-cursor dependency is renamed to one nobody has.

    It sits in a tree like PySide6's (plugins/platforms/ beside a lib/ link), so that its bundled Qt
    libraries still resolve through its RUNPATH ($ORIGIN/../../lib) and only the renamed one is missing.
    """
    real = _qt_plugins() / "platforms" / "libqxcb.so"
    if not real.is_file():
        pytest.skip("this PySide6 has no xcb plugin")
    data = real.read_bytes()
    assert b"\0" + REAL_NAME + b"\0" in data
    folder = tmp_path / "Qt" / "plugins" / "platforms"
    folder.mkdir(parents=True)
    (tmp_path / "Qt" / "lib").symlink_to(real.parents[2] / "lib", target_is_directory=True)
    fake = folder / "libqxcb.so"
    fake.write_bytes(data.replace(b"\0" + REAL_NAME + b"\0", b"\0" + FAKE_NAME + b"\0"))
    return fake


def test_elf_dependencies_read_the_plugin_like_readelf():
    needed, runpath = qt_platform.elf_dependencies(_qt_plugins() / "platforms" / "libqxcb.so")
    assert "libQt6XcbQpa.so.6" in needed and "libxcb-cursor.so.0" in needed
    assert runpath == ["$ORIGIN/../../lib"]


def test_every_library_of_the_display_plugins_has_a_package_in_the_readme():
    """The README's line must make the window open on X11 and Wayland: checked against this PySide6."""
    readme = set(readme_system_packages())
    for plugin in _display_plugins():
        for soname in qt_platform.system_libraries(plugin):
            assert soname in qt_platform.DEBIAN_PACKAGES, f"{plugin.name} needs {soname}: add its package"
            assert qt_platform.DEBIAN_PACKAGES[soname] in readme, f"README lacks the package of {soname}"
    # and nothing in the map is stale: each entry is needed by some display plugin
    needed = {s for plugin in _display_plugins() for s in qt_platform.system_libraries(plugin)}
    assert set(qt_platform.DEBIAN_PACKAGES) <= needed, set(qt_platform.DEBIAN_PACKAGES) - needed


def test_a_missing_dependency_is_found_and_named(tmp_path):
    fake = fake_xcb_plugin(tmp_path)
    missing, error = qt_platform.missing_libraries(fake)
    assert FAKE_NAME.decode() in missing and FAKE_NAME.decode() in error
    assert "libQt6XcbQpa.so.6" not in missing  # bundled libraries resolve through the RUNPATH
    message = qt_platform.startup_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":9"}, [fake.parent])
    assert message.startswith(f"Qt's xcb platform plugin cannot load: {FAKE_NAME.decode()}")


def test_known_libraries_are_named_with_their_debian_package():
    one = qt_platform.PluginProblem("xcb", ["libxcb-cursor.so.0"]).describe()
    assert one == (
        "Qt's xcb platform plugin cannot load: libxcb-cursor.so.0 is missing; "
        "install the Debian package libxcb-cursor0 (see the README)"
    )
    two = qt_platform.PluginProblem("xcb", ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]).describe()
    assert "are missing; install the Debian packages libxcb-icccm4 libxcb-keysyms1" in two
    other = qt_platform.PluginProblem("wayland", ["libnew.so.1"]).describe()
    assert "libnew.so.1 is missing; install the package that provides it" in other


def test_qt_tries_the_platforms_of_the_session():
    assert qt_platform.platform_candidates({}) == ["xcb"]
    assert qt_platform.platform_candidates({"XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert qt_platform.platform_candidates({"QT_QPA_PLATFORM": "wayland;xcb:dpi=96"}) == ["wayland", "xcb"]
    assert qt_platform.startup_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_xcb_without_a_display_says_so():
    plugin = _qt_plugins() / "platforms" / "libqxcb.so"
    if qt_platform.missing_libraries(plugin)[0]:
        pytest.skip("this machine lacks the xcb libraries themselves")
    assert qt_platform.startup_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":9"}) is None
    message = qt_platform.startup_problem({"QT_QPA_PLATFORM": "xcb"})
    assert "no X display (DISPLAY is not set)" in message
    hint = qt_platform.startup_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"})
    assert "set QT_QPA_PLATFORM=wayland" in hint


def test_the_command_prints_one_line_and_exits_2_instead_of_qts_abort(tmp_path):
    fake = fake_xcb_plugin(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(
        QT_QPA_PLATFORM="xcb",
        QT_QPA_PLATFORM_PLUGIN_PATH=str(fake.parent),
        DISPLAY=":97",
        SEGVIEWER_DATA_HOME=str(tmp_path / "home"),
        SEGVIEWER_SETTINGS_DIR=str(tmp_path / "settings"),
        SEGVIEWER_CACHE_DIR=str(tmp_path / "cache"),
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-m", "segviewer"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"segviewer: error: Qt's xcb platform plugin cannot load: {FAKE_NAME.decode()} is missing; "
        "install the package that provides it (see the README)"
    ]
    assert not (tmp_path / "home").exists()  # stopped before the demo set or anything else was made


def test_a_really_missing_system_library_is_named_with_its_package(tmp_path):
    """End to end on the real plugin: libxcb-icccm.so.4 hidden (in a private mount namespace only)."""
    import shutil

    real = Path("/usr/lib/x86_64-linux-gnu/libxcb-icccm.so.4")
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None or not real.exists():
        pytest.skip("needs root, unshare(1) and libxcb-icccm4 installed (x86_64 Debian layout)")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("mount namespaces are not available here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=":97", PYTHONPATH=str(REPO))
    env.update(SEGVIEWER_DATA_HOME=str(tmp_path / "home"), SEGVIEWER_SETTINGS_DIR=str(tmp_path / "s"))
    script = f'mount --bind /dev/null "{real.resolve()}" && exec "{sys.executable}" -m segviewer'
    done = subprocess.run(
        [unshare, "-m", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "segviewer: error: Qt's xcb platform plugin cannot load: libxcb-icccm.so.4 is missing; "
        "install the Debian package libxcb-icccm4 (see the README)"
    ]
    assert real.stat().st_size > 0  # the host's library was never touched
