"""The `segviewer` command: argparse sub-commands, each in segviewer/commands/<name>.py.

Each command module exposes `add_parser(subparsers)` (which sets `func`) and never imports Qt at
module level; only the GUI commands import Qt, and only when they run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from segviewer import __version__

# Order shown in --help.
COMMANDS = [
    "gui",
    "info",
    "demo_data",
    "evaluate",
    "models",
    "train",
    "predict",
    "compare",
    "review",
    "export_corrections",
    "export",
]

COMMAND_WORDS = {name.replace("_", "-") for name in COMMANDS}
TOP_LEVEL_FLAGS = {"-h", "--help", "--version", "--self-test", "--self-test-out"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segviewer",
        description="Semantic segmentation of driving scenes: browse, train, overlay, augment, evaluate. "
        "Without a command, opens the desktop application (`segviewer [ROOT] [--model FILE]` is `segviewer gui ...`), "
        "on the built-in demo data set when no ROOT is given.",
    )
    parser.add_argument("--version", action="version", version=f"segviewer {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen on a small demo set, predict once with a fresh U-Lite, save a "
        "screenshot, exit 0 when everything works",
    )
    parser.add_argument("--self-test-out", metavar="PNG", help="where --self-test saves its screenshot")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"segviewer.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from segviewer.core.errors import UserError

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMAND_WORDS and argv[0] not in TOP_LEVEL_FLAGS:
        argv = ["gui", *argv]  # `segviewer drive.mp4`, `segviewer --model best.pt`: the launcher's `%f` too
    args = parser.parse_args(argv)
    if args.self_test:
        from segviewer.gui.selftest import run_self_test

        return run_self_test(args.self_test_out)
    if args.command is None:
        args = parser.parse_args(["gui", *argv])
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"segviewer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("segviewer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
