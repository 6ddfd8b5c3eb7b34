"""Subcommands of `regard` (see viewer/cli/__init__.py for the contract).

``regard info PATH [--json]`` lists patients / studies / series found under
PATH (file, folder or DICOMDIR) — :func:`info_listing`. With ``--series UID``
it describes that series as a volume — :func:`info_series` (volume assembly,
owned with ``regard probe`` by the volume code).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from viewer.cli import CommandError


def register(sub: Any) -> None:
    """Add this module's subcommands to the `regard` parser."""
    info = sub.add_parser(
        "info",
        help="list studies and series under a file, folder or DICOMDIR",
        description="Studies/series found under PATH; with --series UID, that volume's geometry.",
    )
    info.add_argument("path", metavar="PATH", help="DICOM file, folder (recursive) or DICOMDIR")
    info.add_argument("--series", metavar="UID",
                      help="describe this series (a volume, or 2-D images: kind 'image')")
    info.add_argument("--json", action="store_true", help="print one JSON document")
    info.set_defaults(func=cmd_info)
    register_volume_commands(sub)


def register_volume_commands(sub: Any) -> None:
    """Hook for the volume commands (``regard probe``) kept in their own functions."""
    probe = sub.add_parser(
        "probe",
        help="value (modality units, e.g. HU) at patient points of a series",
        description="Value at LPS points (mm) as the viewer's cursor read-out shows it.",
    )
    probe.add_argument("path", metavar="PATH", help="DICOM file, folder (recursive) or DICOMDIR")
    probe.add_argument("--series", metavar="UID", required=True, help="series instance UID")
    probe.add_argument(
        "--point", metavar="X,Y,Z", action="append", required=True,
        help="patient point in LPS mm (repeat for several points)",
    )
    probe.add_argument(
        "--volume", type=int, default=0, metavar="N",
        help="which volume when the series splits into several (0 = largest)",
    )
    probe.add_argument("--json", action="store_true", help="print one JSON document")
    probe.set_defaults(func=cmd_probe)
    # let "--point -12.5,3,40" through: a leading minus followed by a digit is a value
    probe._negative_number_matcher = re.compile(r"^-\d|^-\.\d")


# ---------------------------------------------------------------- regard info


def cmd_info(args: argparse.Namespace) -> int:
    if getattr(args, "series", None):
        return info_series(args)
    return info_listing(args)


def info_series(args: argparse.Namespace) -> int:
    """``regard info PATH --series UID``: the volume branch (dims, spacing, origin, ...)."""
    from viewer.dicom.assemble import AssembleError, assemble, describe
    from viewer.dicom.image2d import volume_possible

    entry = _series_entry(args.path, args.series)
    if not volume_possible(entry):
        return _info_images(args, entry, "")
    try:
        volumes = assemble(entry)
    except AssembleError as exc:  # e.g. multi-frame without per-frame positions
        return _info_images(args, entry, str(exc))
    docs = [describe(v) for v in volumes]
    doc = dict(docs[0])
    if len(docs) > 1:
        doc["volumes"] = docs
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for n, d in enumerate(docs):
        head = f"Volume {n}" + (f" ({d['split']})" if d.get("split") else "")
        print(head)
        print(f"  dims      {d['dims']}  ({d['dtype']})")
        print(f"  spacing   {[round(v, 4) for v in d['spacing']]} mm")
        print(f"  origin    {[round(v, 3) for v in d['origin']]} (LPS mm)")
        for r, row in enumerate(d["direction"]):
            label = "direction" if r == 0 else ""
            print(f"  {label:9} {[round(v, 6) for v in row]}")
        print(f"  axes      i->{d['orientation']['i']} j->{d['orientation']['j']}"
              f" k->{d['orientation']['k']}")
        for w in d["warnings"]:
            print(f"  warning: {w}")
    return 0


def _info_images(args: argparse.Namespace, entry: Any, not_volume: str) -> int:
    """``regard info --series`` of a 2-D series (radiographs, cine, colour): headers only.

    ``{"kind": "image", "frames", "rows", "columns", "pixel_spacing", "spacing_kind"
    (PS3.3 10.7.1.3: calibrated | detector | magnification | scanned | unknown | none),
    "photometric", "warnings", ...}``.
    """
    from viewer.dicom.errors import DicomReadError
    from viewer.dicom.image2d import ImageSeries

    try:
        doc = ImageSeries.from_entry(entry).describe()
    except DicomReadError as exc:
        raise CommandError(str(exc)) from exc
    if not_volume:
        doc["warnings"].append(f"not a volume: {not_volume}")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    spacing = doc["pixel_spacing"]
    print(f"Images ({doc['modality']}, {doc['photometric']})")
    print(f"  frames    {doc['frames']} in {doc['instances']} instance(s)")
    print(f"  size      {doc['columns']} x {doc['rows']} (columns x rows)")
    shown = f"{[round(v, 4) for v in spacing]} mm" if spacing else "none"
    print(f"  spacing   {shown} ({doc['spacing_label']})")
    if doc["patient_orientation"]:
        print(f"  orient.   row {doc['patient_orientation'][0]}"
              f"  column {doc['patient_orientation'][1]}")
    if doc["frame_time_ms"]:
        print(f"  frame     {doc['frame_time_ms']:g} ms")
    for w in doc["warnings"]:
        print(f"  warning: {w}")
    return 0


def _views(series: Any) -> list[str]:
    """Distinct laterality + view position of a series' images ("L CC", "R MLO", "PA"),
    what hanging protocols place projection images by."""
    views = {" ".join(p for p in (i.laterality, i.view_position) if p)
             for i in series.instances}
    return sorted(v for v in views if v)


def index_to_dict(index: Any, root: Path) -> dict[str, Any]:
    """The listing of ``regard info`` as a JSON-ready dict (see docs/architecture.md)."""
    from viewer.dicom.codecs import syntax_name

    patients = []
    for patient in index.patients.values():
        studies = []
        for study_uid in patient.study_uids:
            study = index.studies[study_uid]
            series_list = []
            for series_uid in study.series_uids:
                s = index.series[series_uid]
                series_list.append(
                    {
                        "series_uid": s.series_uid,
                        "number": s.number,
                        "modality": s.modality,
                        "description": s.description,
                        "frame_of_reference_uid": s.frame_of_reference_uid,
                        "instances": len(s.instances),
                        "frames": s.number_of_frames,
                        "rows": s.instances[0].rows if s.instances else 0,
                        "columns": s.instances[0].columns if s.instances else 0,
                        "transfer_syntaxes": [
                            {"uid": ts, "name": syntax_name(ts)} for ts in s.transfer_syntaxes
                        ],
                        "lossy": s.lossy,
                        "body_part": s.body_part or "",
                        "views": _views(s),
                    }
                )
            series_list.sort(key=lambda d: (d["number"] is None, d["number"] or 0))
            studies.append(
                {
                    "study_uid": study.study_uid,
                    "date": study.date,
                    "time": study.time,
                    "description": study.description,
                    "accession": study.accession,
                    "series": series_list,
                }
            )
        studies.sort(key=lambda d: (d["date"], d["time"]))
        patients.append(
            {
                "name": patient.name,
                "patient_id": patient.patient_id,
                "issuer": patient.issuer,
                "birth_date": patient.birth_date,
                "sex": patient.sex,
                "ins": patient.ins,
                "ins_oid": patient.ins_oid,
                "studies": studies,
            }
        )
    documents = [
        {
            "path": str(d.path),
            "sop_class_uid": d.sop_class_uid,
            "modality": d.modality,
            "study_uid": d.study_uid,
            "series_uid": d.series_uid,
        }
        for d in index.documents
    ]
    return {
        "path": str(root),
        "patients": patients,
        "documents": documents,
        "errors": list(index.errors),
        "warnings": list(index.warnings),
        "skipped": len(index.skipped),
        "cancelled": index.cancelled,
    }


def _print_listing(doc: dict[str, Any]) -> None:
    out = sys.stdout
    for p in doc["patients"]:
        ins = f"  INS {p['ins']}" if p["ins"] else ""
        print(f"Patient {p['name']}  ID {p['patient_id']}{ins}  {p['birth_date']} {p['sex']}",
              file=out)
        for st in p["studies"]:
            print(f"  Study {st['study_uid']}  {st['date']}  {st['description']}"
                  f"  acc {st['accession']}", file=out)
            for s in st["series"]:
                syntaxes = ", ".join(t["name"] for t in s["transfer_syntaxes"])
                lossy = "  LOSSY" if s["lossy"] else ""
                print(f"    Series {s['series_uid']}  #{s['number']} {s['modality']}"
                      f"  {s['description']!r}  {s['instances']} instance(s),"
                      f" {s['frames']} frame(s)  [{syntaxes}]{lossy}", file=out)
    if doc["documents"]:
        print(f"{len(doc['documents'])} non-image object(s) (SR, KOS, PR, PDF...)", file=out)
    for w in doc["warnings"]:
        print(f"warning: {w}", file=out)
    for e in doc["errors"]:
        print(f"error: {e}", file=out)


def _quiet_scan(root: Path, verbose: bool) -> Any:
    """Scan without pydicom's per-value validation chatter on stderr (kept with -v)."""
    import logging
    import warnings

    from viewer.dicom.index import scan

    if verbose:
        return scan(root)
    pydicom_log = logging.getLogger("pydicom")
    level = pydicom_log.level
    pydicom_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return scan(root)
    finally:
        pydicom_log.setLevel(level)


def info_listing(args: argparse.Namespace) -> int:
    """``regard info PATH [--json]``: patients, studies and series with UIDs and errors."""

    root = Path(args.path)
    if not root.exists():
        raise CommandError(f"{root}: no such file or folder")
    index = _quiet_scan(root, verbose=bool(getattr(args, "verbose", False)))
    doc = index_to_dict(index, root)
    if not index.series and not index.documents:
        first = f" ({index.errors[0]})" if index.errors else ""
        if args.json:
            print(json.dumps(doc, indent=2))
        raise CommandError(f"{root}: no readable DICOM object found{first}")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_listing(doc)
    return 0


# ------------------------------------------------------- volume commands (probe)


def _series_volumes(path: str, series_uid: str) -> list[Any]:
    """Index PATH, find the series and assemble its volumes, or a one-line error."""
    from viewer.dicom.assemble import AssembleError, assemble

    entry = _series_entry(path, series_uid)
    try:
        return assemble(entry)
    except AssembleError as exc:
        raise CommandError(f"series {series_uid}: {exc}") from exc


def _series_entry(path: str, series_uid: str) -> Any:
    """Index PATH and find the series, or a one-line error."""
    from viewer.dicom.index import scan

    root = Path(path)
    if not root.exists():
        raise CommandError(f"{root}: no such file or folder")
    index = scan(root)
    entry = index.series.get(series_uid)
    if entry is None:
        uids = sorted(index.series)
        known = ", ".join(uids[:5]) or "none"
        if len(uids) > 5:
            known += f" and {len(uids) - 5} more; see regard info {root}"
        raise CommandError(f"{root}: no series {series_uid} (series found: {known})")
    return entry


def _parse_point(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise CommandError(f"--point {text!r}: expected X,Y,Z in mm (LPS)")
    return values  # type: ignore[return-value]


def probe_points(volume: Any, points: list[tuple[float, float, float]]) -> list[dict[str, Any]]:
    """``{"value", "voxel", "inside"}`` per LPS point (nearest voxel, exact slice positions)."""
    out = []
    integral = volume.array.dtype.kind in "iu"
    for p in points:
        value, ijk = volume.value_at(p)
        if value is not None and integral:
            value = int(value)
        out.append({"value": value, "voxel": [int(v) for v in ijk], "inside": value is not None})
    return out


def cmd_probe(args: argparse.Namespace) -> int:
    """``regard probe PATH --series UID --point X,Y,Z [...]``: values in modality units."""
    points = [_parse_point(p) for p in args.point]
    volumes = _series_volumes(args.path, args.series)
    if not 0 <= args.volume < len(volumes):
        raise CommandError(f"--volume {args.volume}: the series has {len(volumes)} volume(s)")
    from viewer.cli.audit_cmds import authorize_view  # recorded before any value is printed

    authorize_view(volumes[args.volume], via="regard probe")
    results = probe_points(volumes[args.volume], points)
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return 0
    unit = volumes[args.volume].rescale_type
    for p, r in zip(points, results, strict=True):
        where = ",".join(f"{v:g}" for v in p)
        shown = "outside the volume" if r["value"] is None else f"{r['value']:g} {unit}".rstrip()
        print(f"{where}: {shown}  voxel {r['voxel']}")
    return 0
