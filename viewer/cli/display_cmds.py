"""``regard display``: screen fitness per exam type, the DICOM GSDF, calibration QA.

``check`` reads the screens through Qt (QtGui only); the other subcommands
are pure computation. See docs/architecture.md for the CLI contract.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
    p.add_argument("--screen", help="store the result for this screen (its key, see check)")
    p.add_argument("--strict", action="store_true", help="exit 3 when the QA fails")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_qa)

    p = dsub.add_parser("qa-status", help="last QA per screen and reminders when due")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_qa_status)

    p = dsub.add_parser("pattern", help="write a TG18-QC-like or TG18-LN test pattern")
    p.add_argument("--kind", choices=["qc", "ln"], default="qc")
    p.add_argument("--number", type=int, default=1, help="TG18-LN pattern number 1..18")
    p.add_argument("--size", help="native screen size WIDTHxHEIGHT (with --show: checked)")
    p.add_argument(
        "--bits",
        type=int,
        choices=[8, 16],
        default=16,
        help="PNG: 16 = the 12-bit values, 8 = after W 4080/L 2040",
    )
    p.add_argument("-o", "--output", type=Path, help="FILE.png or FILE.dcm")
    p.add_argument(
        "--show",
        action="store_true",
        help="show it full-screen, 1:1 at the screen's native resolution",
    )
    p.add_argument("--screen", help="with --show: screen index or name (default: primary)")
    p.add_argument("--seconds", type=float, help="with --show: close after this many seconds")
    p.add_argument(
        "--no-calibration",
        action="store_true",
        help="with --show: bypass the screen's software GSDF LUT",
    )
    p.set_defaults(func=cmd_pattern)

    p = dsub.add_parser("lut", help="GSDF presentation LUT from a measured characteristic curve")
    p.add_argument(
        "--curve",
        required=True,
        type=Path,
        help="DCMTK monitor file (max/amb/DDL Lum rows) or JSON {ddl, luminance}",
    )
    p.add_argument("--entries", type=int, default=256, choices=[256, 1024])
    p.add_argument("--ambient", type=float, help="ambient luminance cd/m2 (overrides the file)")
    p.add_argument("--screen", help="keep the curve for this screen (software GSDF on)")
    p.add_argument("--disable", action="store_true", help="with --screen: keep it but off")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lut)


def _policy() -> Any:
    from viewer.display.policy import load_policy

    try:
        return load_policy()
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc


def cmd_check(args: argparse.Namespace) -> int:
    from viewer.display.policy import check, required_class, screen_class
    from viewer.display.qa_store import reminder, screen_key
    from viewer.display.screens import display_available, list_screens

    policy = _policy()
    if not display_available():
        shown = os.environ.get("DISPLAY", "")
        raise CommandError(
            f"cannot reach X display {shown}"
            if shown
            else "no display to read screens from: set DISPLAY (or QT_QPA_PLATFORM)"
        )
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
            "key": screen_key(s),
            "qa_reminder": reminder(s, policy),
        }
        if args.modality:
            verdict = check(s, args.modality, policy)
            row.update(fit=verdict.fit, required=need, message=verdict.message_en)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for i, r in enumerate(rows):
        line = (
            f"{r['name'] or f'screen {i}'}: {r['width']}x{r['height']} "
            f"({r['megapixels']:.2f} Mpx), "
            f"class {r['class'] or 'below ' + policy.ordered_classes()[0].name}"
        )
        if args.modality:
            line += f"; {args.modality.upper()} needs {need}: "
            line += "fit" if r["fit"] else r["message"]
        print(line)
        if r["qa_reminder"]:
            print(f"  {r['qa_reminder']}")
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
    from viewer.display import qa_store
    from viewer.display.qa import MeasurementError, evaluate, read_measurements

    policy = _policy()
    try:
        m = read_measurements(args.measurements)
        if args.ambient is not None:
            m.ambient = args.ambient
        result = evaluate(m, args.role, policy)
    except MeasurementError as exc:
        raise CommandError(str(exc)) from exc
    screen = args.screen or m.screen.get("key") or m.screen.get("name")
    stored = None
    if screen:
        stored = qa_store.record(screen, result)
    doc = result.to_json()
    if stored:
        doc["stored"] = str(stored)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        verdict = "PASS" if result.passed else "FAIL"
        print(
            f"{verdict} ({result.role}, {result.guidance}): max deviation "
            f"{result.max_deviation:.1%} (tolerance {result.tolerance:.0%}) worst between levels "
            f"{result.worst_level - 1} and {result.worst_level}; "
            f"Lmax {result.lmax:.4g} cd/m2; ratio {result.ratio:.4g}"
        )
        for failure in result.failures:
            print(f"  - {failure}")
        if stored:
            print(f"stored in {stored}")
    return 3 if (args.strict and not result.passed) else 0


def cmd_qa_status(args: argparse.Namespace) -> int:
    from viewer.display import qa_store

    policy = _policy()
    rows = []
    for entry in qa_store.known_screens():
        entry["reminder"] = qa_store.reminder(entry["key"], policy)
        rows.append(entry)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no display QA recorded yet")
    for r in rows:
        last = r["last"]
        state = (
            "never"
            if last is None
            else (f"{last['date'][:10]} {'pass' if last['pass'] else 'FAIL'}")
        )
        print(f"{r['key']}: last QA {state}" + (f" -- {r['reminder']}" if r["reminder"] else ""))
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise CommandError(f"--size must be WIDTHxHEIGHT, got {text!r}") from exc
    if w < 64 or h < 64 or w > 16384 or h > 16384:
        raise CommandError(f"--size {text}: each side must be 64..16384 pixels")
    return w, h


def _pattern(kind: str, number: int, w: int, h: int) -> tuple[Any, str]:
    from viewer.display import patterns

    if kind == "qc":
        return patterns.tg18_qc(w, h), "TG18-QC-like"
    if not 1 <= number <= 18:
        raise CommandError("--number must be 1..18 for TG18-LN")
    return patterns.tg18_ln(number, w, h), f"TG18-LN12-{number:02d}"


def cmd_pattern(args: argparse.Namespace) -> int:
    from viewer.display import patterns

    if args.show:
        return _show_pattern(args)
    if not args.size or not args.output:
        raise CommandError("--size and -o are needed to write a pattern (or use --show)")
    w, h = _size(args.size)
    img, desc = _pattern(args.kind, args.number, w, h)
    out: Path = args.output
    suffix = out.suffix.lower()
    try:
        if suffix == ".png":
            patterns.save_png(img, out, bits=args.bits)
        elif suffix in (".dcm", ".dicom"):
            patterns.save_dicom(img, out, desc)
        else:
            raise CommandError(f"{out}: output must end in .png or .dcm")
    except OSError as exc:
        raise CommandError(f"{out}: cannot write ({exc.strerror or exc})") from exc
    print(out)
    return 0


def _show_pattern(args: argparse.Namespace) -> int:
    """Full-screen, 1:1 at the screen's native resolution, through its GSDF LUT if enabled."""
    from viewer.display import patterns, qa_store
    from viewer.display.screens import display_available, from_qscreen

    if not display_available():
        shown = os.environ.get("DISPLAY", "")
        raise CommandError(
            f"cannot reach X display {shown}"
            if shown
            else "no display to show the pattern on: set DISPLAY"
        )
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    from viewer.display.fullscreen import physical_size, pick_screen, show_pattern

    app = QGuiApplication.instance() or QGuiApplication(["regard"])
    try:
        screen = pick_screen(args.screen)
    except LookupError as exc:
        raise CommandError(str(exc)) from exc
    w, h = physical_size(screen)
    if args.size and _size(args.size) != (w, h):
        raise CommandError(f"--size {args.size} is not the screen's native {w}x{h}")
    img, desc = _pattern(args.kind, args.number, w, h)
    pixels = patterns.to_display(img, 8)
    lut = None if args.no_calibration else qa_store.presentation_lut_for(from_qscreen(screen))
    if lut is not None and lut.max_ddl != 255:
        print(f"note: the screen's {lut.max_ddl + 1}-level LUT is not applied (8-bit output)")
        lut = None
    if lut is not None:
        pixels = lut.apply(pixels).astype("uint8")
    window = show_pattern(pixels, screen)
    print(
        f"{desc} on {screen.name() or 'screen'} at {w}x{h}"
        f"{' through its GSDF LUT' if lut is not None and not args.no_calibration else ''}"
        "; any key or click closes it"
    )
    if args.seconds:
        QTimer.singleShot(int(args.seconds * 1000), window.close)
    app.setQuitOnLastWindowClosed(True)
    app.exec()
    return 0


def _read_curve(path: Path) -> Any:
    from viewer.display.calibration import CalibrationError, CharacteristicCurve

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        if text.lstrip().startswith("{"):
            return CharacteristicCurve.from_dict(json.loads(text), str(path))
        return CharacteristicCurve.from_dcmtk_file(path)
    except (CalibrationError, json.JSONDecodeError) as exc:
        raise CommandError(
            str(exc) if isinstance(exc, CalibrationError) else f"{path}: invalid JSON ({exc})"
        ) from exc


def cmd_lut(args: argparse.Namespace) -> int:
    from viewer.display import qa_store
    from viewer.display.calibration import presentation_lut

    curve = _read_curve(args.curve)
    if args.ambient is not None:
        from dataclasses import replace

        curve = replace(curve, ambient=args.ambient)
    lut = presentation_lut(curve, args.entries)
    stored = None
    if args.screen:
        stored = qa_store.save_curve(args.screen, curve, enabled=not args.disable)
    if args.json:
        doc = {
            "entries": lut.entries,
            "max_ddl": lut.max_ddl,
            "jnd_range": list(lut.jnd_range),
            "ddl": lut.ddl.tolist(),
            "target": lut.target.tolist(),
            "achieved": lut.achieved.tolist(),
        }
        if stored:
            doc["stored"] = str(stored)
        print(json.dumps(doc))
    else:
        print(
            f"GSDF presentation LUT, {lut.entries} entries, JND {lut.jnd_range[0]:.2f}.."
            f"{lut.jnd_range[1]:.2f}; P-value -> DDL:"
        )
        print(" ".join(str(v) for v in lut.ddl.tolist()))
        if stored:
            print(f"stored in {stored} ({'disabled' if args.disable else 'enabled'})")
    return 0
