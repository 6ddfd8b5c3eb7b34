"""``regard hanging``: which layout and series a study opens with; check protocol files.

``show PATH`` reads headers only (no pixels): the studies under PATH, each
with the other studies of the same patient there as its priors, and the
stages of the protocol that matches (:mod:`viewer.hanging`). ``check``
validates the default and the user's protocol files and names the file and
the protocol at fault.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from viewer.cli import CommandError


def register(sub: Any) -> None:
    """Add ``regard hanging ...`` to the `regard` parser."""
    hanging = sub.add_parser("hanging", help="hanging protocols: layout and series per viewport")
    hsub = hanging.add_subparsers(dest="hanging_command", metavar="SUBCOMMAND", required=True)

    p = hsub.add_parser("show", help="the hanging of each study under PATH")
    p.add_argument("path", type=Path, help="file, folder or DICOMDIR")
    p.add_argument("--study", help="only this Study Instance UID")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_show)

    p = hsub.add_parser("check", help="validate the default and the user's protocol files")
    p.add_argument("--file", type=Path, help="user file (default: REGARD_HOME's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)


def _describe(hanging: Any) -> dict[str, Any]:
    cells = []
    for c in hanging.cells:
        d = c.display_set
        cells.append({
            "row": c.row, "col": c.col,
            "series_uid": d.series_uid if d else None,
            "sop_instance_uid": (d.sop_instance_uid or None) if d else None,
            "study_uid": d.study_uid if d else None,
            "description": d.description if d else None,
            "prior": c.prior, "flip_horizontal": c.flip_horizontal,
            "flip_vertical": c.flip_vertical,
        })
    return {"protocol": hanging.protocol, "stage": hanging.stage, "layout": hanging.layout,
            "rows": hanging.rows, "cols": hanging.cols, "cells": cells}


def cmd_show(args: argparse.Namespace) -> int:
    from viewer.dicom.index import scan
    from viewer.hanging import hang, load_protocols, studies_for

    if not args.path.exists():
        raise CommandError(f"{args.path}: no such file or folder")
    protocols = load_protocols()
    index = scan(args.path)
    uids = [args.study] if args.study else sorted(index.studies)
    if args.study and args.study not in index.studies:
        raise CommandError(f"{args.path}: no study {args.study}")
    if not uids:
        raise CommandError(f"{args.path}: no DICOM study found")
    out = []
    for uid in uids:
        current, priors = studies_for(index, uid)
        stages = hang(current, priors, protocols)
        out.append({"study_uid": uid, "priors": [p.study_uid for p in priors],
                    "stages": [_describe(h) for h in stages]})
    if args.json:
        print(json.dumps({"studies": out}, indent=1))
        return 0
    for study in out:
        print(f"study {study['study_uid']} ({len(study['priors'])} prior(s))")
        for stage in study["stages"]:
            print(f"  {stage['protocol']} / {stage['stage']}: {stage['layout']}")
            for c in stage["cells"]:
                what = c["description"] if c["series_uid"] else "(empty)"
                flags = (" prior" * c["prior"] + " flipped left-right" * c["flip_horizontal"]
                         + " flipped top-bottom" * c["flip_vertical"])
                print(f"    [{c['row']},{c['col']}] {what}{flags}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from viewer.hanging import load_protocols, user_protocols_path

    user = args.file or user_protocols_path()
    if args.file is not None and not args.file.is_file():
        raise CommandError(f"{args.file}: no such file")
    protocols = load_protocols(user=user)  # HangingError is a ConfigError: named, exit 2
    names = [p.name for p in protocols]
    if args.json:
        print(json.dumps({"ok": True, "user_file": str(user) if user.is_file() else None,
                          "protocols": names}))
    else:
        print(f"{len(names)} hanging protocols OK: {', '.join(names)}")
    return 0
