"""Subcommands of `regard` (see viewer/cli/__init__.py for the contract)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands to the `regard` parser."""


def open_gui(args: argparse.Namespace) -> int:
    """Open the main window (``regard`` with no subcommand)."""
    from viewer.cli import CommandError

    raise CommandError("the graphical interface is not available yet")
