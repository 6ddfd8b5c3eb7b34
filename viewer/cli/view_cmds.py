"""``regard view`` and ``regard`` with no subcommand: the reading station (viewer/ui)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

LAYOUT_CHOICES = ("1x1", "1x2", "2x2", "mpr")


def register(sub: Any) -> None:
    """Add ``view`` to the `regard` parser."""
    p = sub.add_parser(
        "view",
        help="open the viewer on a folder, file or DICOMDIR",
        description="Open the reading station on PATH with the default hanging protocol. "
        "With --screenshot, wait until every viewport has rendered, save the viewport grid "
        "(images and overlays, no toolbars) as PNG and exit.",
    )
    # optional: desktop entries and file associations run `regard view %f`, with no
    # argument when started from the menu (then it is `regard` with no subcommand)
    p.add_argument("path", metavar="PATH_OR_STUDY", nargs="?",
                   help="DICOM file, folder or DICOMDIR (none: open the main window)")
    p.add_argument("--layout", choices=LAYOUT_CHOICES, default=None)
    p.add_argument("--screenshot", metavar="OUT.png", default=None)
    p.add_argument("--timeout", type=float, default=180.0, help=argparse.SUPPRESS)
    p.set_defaults(func=view)


def view(args: argparse.Namespace) -> int:
    from viewer.cli import CommandError

    if not args.path:
        return open_gui(args)
    path = Path(args.path)
    if not path.exists():
        raise CommandError(f"{args.path}: no such file or folder (study UIDs from the cache "
                           "are not supported yet)")
    if args.screenshot:
        out = Path(args.screenshot)
        if not out.parent.exists():
            raise CommandError(f"{out.parent}: folder does not exist (for --screenshot)")
    from viewer.ui.app import run

    return run(str(path), layout=args.layout, screenshot=args.screenshot, timeout=args.timeout)


def open_gui(args: argparse.Namespace) -> int:
    """Open the main window (``regard`` with no subcommand)."""
    from viewer.cli import CommandError

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM") or os.name == "nt"):
        raise CommandError("no display: set DISPLAY (or use `regard view PATH --screenshot`)")
    from viewer.ui.app import run

    return run()
