"""`segviewer --self-test`: prove an installation (or a frozen bundle) works, with no display needed.

Opens the main window offscreen on a small demo data set, runs one prediction with a freshly
initialised U-Lite, renders the window to a PNG and exits 0; any failure prints what broke and exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _wait(app, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def run_self_test(out_png: Path | None = None) -> int:
    start = time.monotonic()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="segviewer-selftest-") as tmp:
        tmp_path = Path(tmp)
        os.environ.setdefault("SEGVIEWER_SETTINGS_DIR", str(tmp_path / "settings"))
        try:
            from segviewer.core.demo import generate_demo

            root = generate_demo(tmp_path / "demo", count=8, size=(180, 320), seed=0)
            steps["demo_data_s"] = time.monotonic() - start

            from segviewer.gui.app import create_main_window, ensure_app

            app = ensure_app()
            window = create_main_window(root)
            window.resize(1400, 900)
            window.show()
            _wait(
                app,
                lambda: window.current_sample() is not None and window.viewer.current_image() is not None,
                60,
                "the first sample to show",
            )
            steps["window_s"] = time.monotonic() - start

            from segviewer.core.checkpoint import make_checkpoint, save_checkpoint
            from segviewer.core.labels import get_scheme
            from segviewer.core.models import build_model

            scheme = get_scheme("bdd100k")
            model = build_model("ulite", scheme.num_classes)
            ckpt = save_checkpoint(
                tmp_path / "ulite-init.pt", make_checkpoint(model, scheme, (180, 320), 0, None)
            )
            window.load_checkpoint(ckpt)
            _wait(app, lambda: window.viewer.current_prediction() is not None, 120, "the prediction")
            steps["prediction_s"] = time.monotonic() - start

            out = Path(out_png) if out_png else tmp_path / "self-test.png"
            if not window.grab().save(str(out)):
                raise RuntimeError(f"could not write {out}")
            window.close()
            window.shutdown()
        except Exception as exc:  # noqa: BLE001 - the self-test reports every failure the same way
            print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), file=sys.stdout)
            return 1
    steps["total_s"] = time.monotonic() - start
    result = {"ok": True, "screenshot": str(out_png) if out_png else None}
    result.update({k: round(v, 2) for k, v in steps.items()})
    print(json.dumps(result))
    return 0
