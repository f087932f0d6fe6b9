"""A stand-in for `segviewer train --events jsonl` where only the protocol matters (pause, stop, crash).

`python -m tests.gui.fake_trainer endless RUN_DIR`: Started, then batches every 10 ms until `stop` on
stdin (Finished, stopped by the user); `pause` holds it, `resume` goes on.
`python -m tests.gui.fake_trainer crash RUN_DIR`: one batch, then a traceback on stderr and exit 1.
"""

from __future__ import annotations

import sys
import threading
import time

from segviewer.core import events as ev


def main(mode: str, run_dir: str) -> int:
    control = {"stop": False, "pause": False}

    def read() -> None:
        for line in sys.stdin:
            word = line.strip()
            if word == "stop":
                control["stop"] = True
            elif word in ("pause", "resume"):
                control["pause"] = word == "pause"

    threading.Thread(target=read, daemon=True).start()

    def emit(event) -> None:
        print(ev.to_json_line(event), flush=True)

    emit(ev.Started(run_dir, {"epochs": 1000}, "cpu (fake)", 8, 2, 4, 10))
    if mode == "crash":
        emit(ev.Batch(1, 1, 4, 1.0, 1.0))
        raise RuntimeError("boom in the training process")
    epoch = 0
    while True:
        epoch += 1
        for step in range(1, 5):
            time.sleep(0.01)
            while control["pause"] and not control["stop"]:
                time.sleep(0.01)
            emit(ev.Batch(epoch, step, 4, 1.0 / epoch, 100.0))
            if control["stop"]:
                emit(ev.Finished(run_dir, None, None, None, epoch - 1, True))
                return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
