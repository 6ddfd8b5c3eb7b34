"""Subcommands of `regard` (see viewer/cli/__init__.py for the contract).

``regard info PATH [--json]`` lists patients / studies / series found under
PATH (file, folder or DICOMDIR) — :func:`info_listing`. With ``--series UID``
it describes that series as a volume — :func:`info_series` (volume assembly,
owned with ``regard probe`` by the volume code).
"""

from __future__ import annotations

import argparse
import json
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
    info.add_argument("--series", metavar="UID", help="describe this series as a volume")
    info.add_argument("--json", action="store_true", help="print one JSON document")
    info.set_defaults(func=cmd_info)
    register_volume_commands(sub)


def register_volume_commands(sub: Any) -> None:
    """Hook for the volume commands (``regard probe``) kept in their own functions."""


# ---------------------------------------------------------------- regard info


def cmd_info(args: argparse.Namespace) -> int:
    if getattr(args, "series", None):
        return info_series(args)
    return info_listing(args)


def info_series(args: argparse.Namespace) -> int:
    """``regard info PATH --series UID``: the volume branch (dims, spacing, origin, ...)."""
    try:
        from viewer.dicom import assemble  # noqa: F401
    except ImportError as exc:
        raise CommandError("volume description (--series) is not available yet") from exc
    raise CommandError("volume description (--series) is not available yet")


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


def info_listing(args: argparse.Namespace) -> int:
    """``regard info PATH [--json]``: patients, studies and series with UIDs and errors."""
    from viewer.dicom.index import scan

    root = Path(args.path)
    if not root.exists():
        raise CommandError(f"{root}: no such file or folder")
    index = scan(root)
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
