"""Entry point of the frozen (PyInstaller) application."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # spawned training workers re-enter here when frozen
    from segviewer.cli import main

    raise SystemExit(main())
