"""``regard doctor``: one line per check, OK/FAIL/SKIP with the fix (see viewer/doctor.py).

Exit 0 when no line is FAIL, 1 otherwise; ``--json`` prints
``{"version": ..., "ok": bool, "checks": [{"name", "status", "what", "fix"}, ...]}``.
``--probe NAME`` (hidden) is the child side of the checks that may crash the
process (VTK, Qt screens): it prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from viewer.cli import CommandError


def register(sub: Any) -> None:
    """Add ``regard doctor`` to the ``regard`` parser."""
    from viewer.doctor import CHECKS, PROBES

    parser = sub.add_parser(
        "doctor",
        help="check this installation: codecs, rendering, screens, keyring, archives, audit",
        description="Check this installation, one line per check: OK, FAIL (with the fix) "
        "or SKIP. Exit 1 when a check fails.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in CHECKS],
        metavar="CHECK",
        help="run only this check (repeatable): " + ", ".join(name for name, _ in CHECKS),
    )
    parser.add_argument("--probe", choices=sorted(PROBES), help=argparse.SUPPRESS)
    parser.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    from viewer import __version__
    from viewer.doctor import PROBES, run_checks

    if args.probe:
        try:
            result = PROBES[args.probe]()
        except Exception as exc:
            raise CommandError(f"probe {args.probe}: {type(exc).__name__}: {exc}") from exc
        print(json.dumps(result), flush=True)
        return 0
    if args.json:
        lines = run_checks(args.only)
    else:
        lines = []
        for name in _names(args.only):
            for line in run_checks([name]):
                print(line.format(), flush=True)
                lines.append(line)
    ok = not any(line.check.ok is False for line in lines)
    if args.json:
        doc = {"version": __version__, "ok": ok, "checks": [line.to_dict() for line in lines]}
        json.dump(doc, sys.stdout, indent=2)
        print()
    return 0 if ok else 1


def _names(only: list[str] | None) -> list[str]:
    from viewer.doctor import CHECKS

    return [name for name, _ in CHECKS if not only or name in only]
