"""Subcommands of `regard` (see viewer/cli/__init__.py for the contract)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands to the `regard` parser."""
