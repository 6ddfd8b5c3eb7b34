"""``regard render``: an offscreen VTK render of one slice of a series to a PNG.

Contract (docs/architecture.md)::

    regard render PATH [--series UID] --plane axial|coronal|sagittal|acquisition
        [--point X,Y,Z] [--window W --level L] [--slab MM --mode mip|minip|mean]
        [--size WxH] [--overlay] -o OUT.png

Radiological convention: axial shows patient left on the image right and
anterior up; coronal left on the right and head up; sagittal anterior on the
left and head up; the acquisition plane shows the slices as stored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from viewer.cli import CommandError

PLANES = ("axial", "coronal", "sagittal", "acquisition")
MODES = ("mip", "minip", "mean")

EPILOG = """\
oblique planes: --normal X,Y,Z (LPS) tilts the --plane onto that normal by the
smallest rotation, so an almost-axial oblique keeps the axial screen axes
(e.g. --plane axial --normal 0,0.2,1 tilts the axial plane 11.3 degrees about
the left-right axis). The slice passes through --point (default: the volume
centre) and the whole volume is framed, centred on the volume centre.
--slab MM makes a thick slab centred on the plane (--mode mip|minip|mean).
The default window is the series' own (Window Center/Width), else a modality
default (CT 400/40), else the 0.5-99.5 percentile range of the voxels.
Without --overlay the PNG holds only the image; with it: orientation letters
on each side, the four corners, a scale bar and a LOSSY mark when relevant.
2-D series (radiographs CR/DX/MG, cine US/XA/RF/NM, colour photos, images
without Image Position/Orientation) render one frame as stored: --frame N
(0 = first), --true-pixel for 1:1; --window/--level, --size, --zoom and
--overlay apply; --plane, --point, --normal and --slab are refused.
"""


def register(sub: Any) -> None:
    """Add ``regard render`` to the parser."""
    p = sub.add_parser(
        "render",
        help="render a slice of a series to a PNG (offscreen VTK)",
        description="Offscreen render of the slice through a point, radiological convention.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="DICOM file, folder (recursive) or DICOMDIR")
    p.add_argument("--series", metavar="UID",
                   help="series instance UID (default: the series with the most images)")
    p.add_argument("--volume", type=int, default=0, metavar="N",
                   help="which volume when the series splits into several (0 = largest)")
    p.add_argument("--plane", choices=PLANES, default=None,
                   help="slice orientation (volumes; default axial)")
    p.add_argument("--point", metavar="X,Y,Z", help="LPS point (mm) the slice passes through")
    p.add_argument("--normal", metavar="X,Y,Z", help="oblique: tilt --plane onto this normal (LPS)")
    p.add_argument("--window", type=float, metavar="W", help="window width (needs --level)")
    p.add_argument("--level", type=float, metavar="L", help="window centre (needs --window)")
    p.add_argument("--slab", type=float, default=0.0, metavar="MM", help="thick slab (mm)")
    p.add_argument("--mode", choices=MODES, default="mip", help="slab projection (default mip)")
    p.add_argument("--size", default="512x512", metavar="WxH", help="PNG size in pixels")
    p.add_argument("--zoom", type=float, default=1.0, help="magnification (1 = whole volume)")
    p.add_argument("--interpolation", choices=("linear", "cubic", "nearest"), default="linear")
    p.add_argument("--frame", type=int, default=None, metavar="N",
                   help="2-D series (radiographs, cine, colour): frame to render, 0 = first")
    p.add_argument("--true-pixel", action="store_true",
                   help="2-D series: one image pixel per PNG pixel (1:1), centred")
    p.add_argument("--overlay", action="store_true", help="draw labels, corners and scale bar")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG to write")
    p.add_argument("--json", action="store_true", help="print a JSON description of the render")
    p.set_defaults(func=cmd_render)
    # let "--point -12.5,3,40" through: a leading minus followed by a digit is a value
    p._negative_number_matcher = re.compile(r"^-\d|^-\.\d")


def _triple(option: str, text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(map(_finite, values)):
        raise CommandError(f"{option} {text!r}: expected X,Y,Z in mm (LPS)")
    return values  # type: ignore[return-value]


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or not (16 <= int(m[1]) <= 8192 and 16 <= int(m[2]) <= 8192):
        raise CommandError(f"--size {text!r}: expected WxH, 16 to 8192 pixels each")
    return int(m[1]), int(m[2])


def _request(args: argparse.Namespace) -> Any:
    from viewer.render.snapshot import SnapshotRequest

    if (args.window is None) != (args.level is None):
        raise CommandError("--window and --level go together")
    if args.window is not None and args.window < 1:
        raise CommandError(f"--window {args.window:g}: the width must be >= 1 (PS3.3 C.11.2.1.2)")
    if args.slab < 0:
        raise CommandError("--slab must be >= 0 mm")
    if args.zoom <= 0:
        raise CommandError("--zoom must be > 0")
    normal = _triple("--normal", args.normal)
    if normal is not None and not any(normal):
        raise CommandError("--normal must not be 0,0,0")
    return SnapshotRequest(
        plane=args.plane or "axial",
        point=_triple("--point", args.point),
        normal=normal,
        window=None if args.window is None else (args.window, args.level),
        slab_mm=args.slab,
        slab_mode=args.mode,
        size=_size(args.size),
        overlay=args.overlay,
        zoom=args.zoom,
        interpolation=args.interpolation,
    )


def _pick_series(index: Any, root: Path, uid: str | None) -> Any:
    if uid:
        entry = index.series.get(uid)
        if entry is None:
            known = ", ".join(sorted(index.series)[:5]) or "none"
            raise CommandError(f"{root}: no series {uid} (series found: {known})")
        return entry
    if not index.series:
        detail = f" ({index.errors[0]})" if getattr(index, "errors", None) else ""
        raise CommandError(f"{root}: no DICOM image series found{detail}")
    entries = sorted(index.series.values(), key=lambda s: -len(s.instances))
    if len(entries) > 1:
        print(f"regard: {len(entries)} series under {root}; rendering {entries[0].series_uid} "
              f"({len(entries[0].instances)} files); choose one with --series", file=sys.stderr)
    return entries[0]


def _authorize(entry: Any) -> None:
    """Record the viewing in the audit trail before any pixel is written (fail closed)."""
    from viewer.access.gate import (
        AccessDenied,
        AccessGate,
        Action,
        AuditUnavailable,
        IdentityError,
        PatientRef,
        PolicyError,
    )

    try:
        from viewer.dicom.index import read_header  # also files without a Part 10 preamble

        ds = read_header(Path(entry.instances[0].path))
        patient = PatientRef.from_dataset(ds)
    except Exception as exc:  # any unreadable header: refuse and say why
        raise CommandError(f"{entry.instances[0].path}: cannot read the patient: {exc}") from exc
    try:
        AccessGate().authorize_and_record(
            Action.VIEW, patient=patient, study_uids=[entry.study_uid],
            series_uids=[entry.series_uid], archive="local", detail={"via": "regard render"},
        )
    except (AccessDenied, AuditUnavailable, IdentityError, PolicyError) as exc:
        raise CommandError(str(exc)) from exc


def cmd_render(args: argparse.Namespace) -> int:
    from viewer.dicom.assemble import AssembleError, assemble
    from viewer.dicom.index import scan
    from viewer.render.backend import BackendError, ensure_backend

    request = _request(args)
    out = Path(args.output)
    if not out.parent.is_dir():
        raise CommandError(f"{out}: folder {out.parent} does not exist")
    root = Path(args.path)
    if not root.exists():
        raise CommandError(f"{root}: no such file or folder")
    try:
        ensure_backend()
    except BackendError as exc:
        raise CommandError(str(exc)) from exc
    entry = _pick_series(scan(root), root, args.series)
    from viewer.dicom.image2d import volume_possible

    if not volume_possible(entry):
        return _render_images(args, request, entry, out, "")
    try:
        volumes = assemble(entry)
    except AssembleError as exc:  # e.g. multi-frame without per-frame positions: 2-D frames
        return _render_images(args, request, entry, out, str(exc))
    if args.frame is not None or args.true_pixel:
        raise CommandError(f"series {entry.series_uid} is a volume: --frame and --true-pixel "
                           "are for 2-D series; use --plane and --point")
    if not 0 <= args.volume < len(volumes):
        raise CommandError(f"--volume {args.volume}: the series has {len(volumes)} volume(s)")
    volume = volumes[args.volume]
    _authorize(entry)

    from viewer.render.snapshot import render_snapshot

    try:
        doc = render_snapshot(volume, request, out)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    if doc["misses_volume"]:
        print("regard: warning: that plane does not cut the volume (the image is empty)",
              file=sys.stderr)
    doc["series_uid"] = entry.series_uid
    doc["warnings"] = list(volume.warnings)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(out)
    return 0


# ---------------------------------------------- 2-D series (radiographs, cine, colour)

_VOLUME_ONLY = (("plane", "--plane"), ("point", "--point"), ("normal", "--normal"))


def _render_images(
    args: argparse.Namespace, request: Any, entry: Any, out: Path, not_volume: str
) -> int:
    """``regard render`` of a series that is not a volume: one frame, as stored.

    Plane, point, normal and slab describe a slice through a volume and are
    refused; window/level, size, zoom, overlay apply (PS3.3 C.11 display chain).
    """
    from viewer.dicom.errors import DicomReadError
    from viewer.dicom.image2d import ImageSeries
    from viewer.render.image_view import render_image_snapshot

    given = [flag for attr, flag in _VOLUME_ONLY if getattr(args, attr) is not None]
    why = f" ({not_volume})" if not_volume else ""
    if args.slab > 0:
        given.append("--slab")
    if args.volume:
        given.append("--volume")
    if given:
        raise CommandError(
            f"series {entry.series_uid} is 2-D images ({entry.modality or 'no modality'}, no "
            f"volume geometry{why}): {', '.join(given)} do(es) not apply; use --frame N"
        )
    try:
        series = ImageSeries.from_entry(entry)
    except DicomReadError as exc:
        raise CommandError(str(exc)) from exc
    frame = 0 if args.frame is None else args.frame
    if not 0 <= frame < len(series):
        raise CommandError(f"--frame {frame}: the series has {len(series)} frame(s) (0-based)")
    _authorize(entry)  # recorded before any pixel is decoded
    interpolation = "linear" if request.interpolation == "cubic" else request.interpolation
    try:
        doc = render_image_snapshot(
            series, out, frame=frame, window=request.window, size=request.size,
            overlay=request.overlay, zoom=request.zoom, true_pixel=args.true_pixel,
            interpolation=interpolation,
        )
    except (ValueError, OSError, DicomReadError) as exc:
        raise CommandError(str(exc)) from exc
    doc["series_uid"] = entry.series_uid
    doc["warnings"] = list(series.warnings) + ([f"not a volume: {not_volume}"] if not_volume
                                               else [])
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(out)
    return 0
