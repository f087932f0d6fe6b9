import sys

from segviewer.cli import main

if __name__ == "__main__":
    if getattr(sys, "frozen", False):  # a frozen (PyInstaller) build's worker processes start here
        import multiprocessing

        multiprocessing.freeze_support()
    raise SystemExit(main())
