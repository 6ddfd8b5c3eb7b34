"""The ``regard`` command: no arguments opens the GUI, subcommands expose each layer headless.

Contract (docs/architecture.md): exit 0 on success, non-zero with a one-line
message on stderr otherwise; ``--json`` prints one JSON document on stdout.
Heavy modules (VTK, Qt, pynetdicom) are imported inside the handlers so that
``regard --version`` and ``regard --help`` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from viewer import __version__
from viewer.config import ConfigError

# Each module exposes ``register(subparsers)`` adding its subcommands; a
# subcommand sets ``func`` (args -> exit code).
COMMAND_MODULES = (
    "viewer.cli.dicom_cmds",
    "viewer.cli.render_cmds",
    "viewer.cli.archive_cmds",
    "viewer.cli.audit_cmds",
    "viewer.cli.display_cmds",
    "viewer.cli.view_cmds",
    "viewer.cli.demo_cmds",
    "viewer.cli.doctor_cmds",
    "viewer.cli.hanging_cmds",
)


class CommandError(Exception):
    """An expected failure: printed as one line on stderr, exit code 1 (or ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="regard", description="Regard DICOM viewer")
    parser.add_argument("--version", action="version", version=f"regard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return int(func(args) or 0)
    except CommandError as exc:
        print(f"regard: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:  # names the file and what is wrong with it
        print(f"regard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("regard: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", None)
    if func is None:
        from viewer.cli.view_cmds import open_gui

        return _run(open_gui, args)
    return _run(func, args)


if __name__ == "__main__":
    sys.exit(main())
