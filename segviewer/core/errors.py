"""Errors a user can cause. Their message names the file and the fix; the CLI and GUI show it as is."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input (folder, file, checkpoint, option), not a bug."""
