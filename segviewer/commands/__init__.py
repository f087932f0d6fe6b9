"""One module per `segviewer` sub-command: `add_parser(subparsers)` registers it and sets `func`."""
