"""`segviewer --self-test` on the real platform plugins: xcb under Xvfb, wayland under a headless Weston.

Offscreen needs none of the xcb or wayland libraries, so only these runs catch a window that cannot
open on a real display. The xcb run skips where Xvfb is not installed, except in CI (.ci/run installs
it and sets SEGVIEWER_REQUIRE_XVFB=1), where a skip would hide exactly that bug; the wayland run skips
where Weston is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def xvfb_display():
    """A private Xvfb server; its display name (it picks a free number and writes it to a pipe)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("SEGVIEWER_REQUIRE_XVFB") == "1":
            pytest.fail("Xvfb is not installed, but SEGVIEWER_REQUIRE_XVFB=1 (CI) needs this test to run")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def weston_socket(tmp_path):
    """A private headless Weston compositor: (XDG_RUNTIME_DIR, WAYLAND_DISPLAY)."""
    weston = shutil.which("weston")
    if weston is None:
        pytest.skip("Weston is not installed (apt-get install weston)")
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    server = subprocess.Popen(
        [weston, "--backend=headless-backend.so", "--socket=segviewer-test", "--idle-time=0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its shell helpers go with it
    )
    try:
        deadline = time.monotonic() + 60  # a readiness wait, not a timing assertion
        while not (runtime / "segviewer-test").exists() and server.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if not (runtime / "segviewer-test").exists():
            pytest.fail("Weston did not open its socket")
        yield runtime, "segviewer-test"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _self_test(tmp_path: Path, **platform_env: str) -> None:
    shot = tmp_path / "window.png"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QT_", "WAYLAND_", "XDG_SESSION", "XDG_RUNTIME")) and k != "DISPLAY"
    }
    env.update(
        SEGVIEWER_CACHE_DIR=str(tmp_path / "cache"),
        SEGVIEWER_DATA_HOME=str(tmp_path / "home"),
        PYTHONPATH=str(REPO),
        **platform_env,  # QT_QPA_PLATFORM names exactly one plugin, with no fallback: it loads or fails
    )
    done = subprocess.run(
        [sys.executable, "-m", "segviewer", "--self-test", "--self-test-out", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] is True
    assert "could not load the qt platform plugin" not in done.stderr.lower()

    from segviewer.core.imageio import read_image

    pixels = read_image(shot)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500  # the whole window was drawn
    assert len({tuple(p) for p in pixels[::17, ::17].reshape(-1, 3)}) > 50  # not a blank grab


def test_self_test_passes_on_the_xcb_platform_under_xvfb(xvfb_display, tmp_path):
    _self_test(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=xvfb_display)


def test_self_test_passes_on_the_wayland_platform_under_weston(weston_socket, tmp_path):
    runtime, socket = weston_socket
    _self_test(tmp_path, QT_QPA_PLATFORM="wayland", XDG_RUNTIME_DIR=str(runtime), WAYLAND_DISPLAY=socket)
