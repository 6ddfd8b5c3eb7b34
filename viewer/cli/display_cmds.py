"""``regard display``: screen fitness per exam type, the DICOM GSDF, calibration QA.

``check`` reads the screens through Qt (QtGui only); the other subcommands
are pure computation. See docs/architecture.md for the CLI contract.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from viewer.cli import CommandError
from viewer.config import ConfigError


def register(sub: Any) -> None:
    """Add ``regard display ...`` to the `regard` parser."""
    display = sub.add_parser("display", help="screen fitness, GSDF and display QA")
    dsub = display.add_subparsers(dest="display_command", metavar="SUBCOMMAND", required=True)

    p = dsub.add_parser("check", help="each screen's physical resolution, class and fitness")
    p.add_argument("--modality", help="exam type (DICOM Modality, e.g. CT, CR, MG)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_check)

    p = dsub.add_parser("gsdf", help="DICOM PS3.14 GSDF: luminance <-> JND index")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--luminance", type=float, help="luminance in cd/m2 -> JND index")
    g.add_argument("--jnd", type=float, help="JND index (1..1023) -> luminance in cd/m2")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gsdf)

    p = dsub.add_parser("qa", help="evaluate measured luminances (TG18-LN) against the GSDF")
    p.add_argument("--measurements", required=True, type=Path, help="CSV or JSON file")
    p.add_argument(
        "--role",
        choices=["diagnostic", "mammography", "review"],
        help="screen role for tolerances (default: from the file, else diagnostic)",
    )
    p.add_argument("--ambient", type=float, help="ambient luminance cd/m2 (overrides the file)")
    p.add_argument("--screen", help="store the result for this screen (name or key)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_qa)


def _policy() -> Any:
    from viewer.display.policy import load_policy

    try:
        return load_policy()
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc


def cmd_check(args: argparse.Namespace) -> int:
    from viewer.display.policy import check, required_class, screen_class
    from viewer.display.screens import display_available, list_screens

    policy = _policy()
    if not display_available():
        raise CommandError("no display to read screens from: set DISPLAY (or QT_QPA_PLATFORM)")
    screens = list_screens()
    if not screens:
        raise CommandError("Qt reports no screen")
    need = required_class(args.modality, policy) if args.modality else None
    rows: list[dict[str, Any]] = []
    for s in screens:
        row: dict[str, Any] = {
            "name": s.name,
            "width": s.width,
            "height": s.height,
            "megapixels": round(s.megapixels, 3),
            "class": screen_class(s, policy),
            "logical_width": s.logical_width,
            "logical_height": s.logical_height,
            "device_pixel_ratio": s.device_pixel_ratio,
            "x": s.x,
            "y": s.y,
            "manufacturer": s.manufacturer,
            "model": s.model,
            "serial": s.serial,
        }
        if args.modality:
            verdict = check(s, args.modality, policy)
            row.update(fit=verdict.fit, required=need, message=verdict.message_en)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        line = (
            f"{r['name']}: {r['width']}x{r['height']} ({r['megapixels']:.2f} Mpx), "
            f"class {r['class'] or 'below ' + policy.ordered_classes()[0].name}"
        )
        if args.modality:
            line += f"; {args.modality.upper()} needs {need}: "
            line += "fit" if r["fit"] else r["message"]
        print(line)
    return 0


def cmd_gsdf(args: argparse.Namespace) -> int:
    from viewer.display import gsdf

    if args.luminance is not None:
        lum = args.luminance
        if not (math.isfinite(lum) and lum > 0):
            raise CommandError(f"--luminance must be a positive number of cd/m2, got {lum}")
        j = float(gsdf.jnd_index(lum))
    else:
        j = args.jnd
        if not (math.isfinite(j) and j > 0):
            raise CommandError(f"--jnd must be a positive JND index (1..1023), got {j}")
        lum = float(gsdf.luminance(j))
    outside = not (gsdf.JND_MIN - 0.01 <= j <= gsdf.JND_MAX + 0.01)
    if args.json:
        print(json.dumps({"jnd": j, "luminance": lum}))
    else:
        print(f"JND index {j:.4f} <-> {lum:.6g} cd/m2")
    if outside:
        import sys

        print(
            "regard: warning: outside the GSDF range (JND 1..1023, 0.05..3993.4 cd/m2)",
            file=sys.stderr,
        )
    return 0


def cmd_qa(args: argparse.Namespace) -> int:
    raise CommandError("not implemented yet")
