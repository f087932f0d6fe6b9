"""Dockable panes of the main window, one file each."""
