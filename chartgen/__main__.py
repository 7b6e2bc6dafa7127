"""The console entry point. It imports nothing heavy itself, so that a Ctrl-C while the CLI is still
loading (typer, jsonschema, the Helm engine) ends like one during a command: "interrupted", exit 130,
no traceback."""

from __future__ import annotations

import sys


def _interrupted() -> None:
    try:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    except (OSError, KeyboardInterrupt):
        pass
    sys.exit(130)


def main() -> None:
    try:
        from .cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        _interrupted()


if __name__ == "__main__":
    main()
