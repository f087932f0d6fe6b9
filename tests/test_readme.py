"""The README's two commands are the contract; .ci/run must call the test command verbatim and install
the README's system packages."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _command_after(marker: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```\s*\n(.+?)\n```", text, re.S)
    assert match, f"README has no command block after <!-- {marker} -->"
    return match.group(1).strip()


def readme_system_packages() -> list[str]:
    """The Debian packages of the README's `apt-get install` line."""
    command = _command_after("system-packages")
    match = re.fullmatch(r"sudo apt-get update && sudo apt-get install -y ([a-z0-9.+\- ]+)", command)
    assert match, f"unexpected system-package command: {command!r}"
    return match.group(1).split()


def test_ci_installs_exactly_the_readme_system_packages():
    readme = readme_system_packages()
    assert len(readme) == len(set(readme)), "a package is listed twice"
    match = re.search(r'^SYSTEM_PACKAGES="([^"]*)"', (REPO / ".ci" / "run").read_text(), re.M)
    assert match, ".ci/run has no SYSTEM_PACKAGES line"
    assert sorted(match.group(1).split()) == sorted(readme)
    ci_only = re.search(r'^CI_PACKAGES="([^"]*)"', (REPO / ".ci" / "run").read_text(), re.M)
    assert ci_only and "xvfb" in ci_only.group(1).split()  # the real-display test runs in CI


def test_ci_runs_the_readme_test_command_verbatim():
    command = _command_after("test-command")
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def test_run_command_launches_segviewer():
    command = _command_after("run-command")
    assert command.startswith("python3 -m venv .venv") and command.endswith(".venv/bin/segviewer")


def test_cli_entry_point_declared():
    text = (REPO / "pyproject.toml").read_text()
    assert 'segviewer = "segviewer.cli:main"' in text
    assert "opencv-python-headless" in text and 'opencv-python"' not in text
