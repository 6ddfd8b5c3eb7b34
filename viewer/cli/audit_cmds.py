"""``regard audit``: the access trail (issue 6).

- ``show --patient ID [--json]``: who accessed which study of this patient, when and
  how (normal, break-the-glass) — what a patient may ask to see. ``--user`` for a
  user's trail.
- ``verify``: checks the hash chain; exits 1 naming the first broken record.
- ``export --out DIR``: one DICOM audit message (PS3.15 A.5) XML file per record.
- ``flush``: send what waits in the spool to the configured Audit Record Repository.
- ``prune``: apply the rolling retention now (keeps the chain verifiable).
- ``whoami``: the named user Regard acts for.
- ``break-glass --patient ID --reason TEXT [--minutes N]``: declare an emergency access.

Reading the trail is itself recorded (Audit Log Used) before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from viewer.access.trail import record_row, trail


def register(sub: Any) -> None:
    """Add ``regard audit ...`` to the parser."""
    audit = sub.add_parser("audit", help="the access trail: show, verify, export")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    show = asub.add_parser("show", help="list accesses to a patient's studies (or by a user)")
    who = show.add_mutually_exclusive_group(required=True)
    who.add_argument("--patient", help="patient ID or INS")
    who.add_argument("--user", help="login or login@domain")
    show.add_argument("--json", action="store_true", help="one JSON document on stdout")
    show.set_defaults(func=cmd_show)

    verify = asub.add_parser("verify", help="check the hash chain of the journal")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)

    export = asub.add_parser("export", help="write one DICOM audit message XML per record")
    export.add_argument("--out", required=True, type=Path, help="folder to write into")
    export.add_argument("--patient", help="only this patient's records (ID or INS)")
    export.set_defaults(func=cmd_export)

    flush = asub.add_parser("flush", help="send spooled messages to the audit repository")
    flush.add_argument("--timeout", type=float, default=10.0)
    flush.set_defaults(func=cmd_flush)

    prune = asub.add_parser("prune", help="apply the rolling retention now")
    prune.set_defaults(func=cmd_prune)

    whoami = asub.add_parser("whoami", help="the named user Regard acts for")
    whoami.add_argument("--json", action="store_true")
    whoami.set_defaults(func=cmd_whoami)

    bg = asub.add_parser("break-glass", help="declare an emergency access to a patient")
    bg.add_argument("--patient", required=True, help="patient ID")
    bg.add_argument("--issuer", default="", help="issuer of the patient ID")
    bg.add_argument("--ins", default="", help="the patient's INS")
    bg.add_argument("--reason", required=True)
    bg.add_argument("--minutes", type=int, default=30)
    bg.set_defaults(func=cmd_break_glass)


def _gate() -> Any:
    from viewer.access.gate import AccessGate, AuditUnavailable, IdentityError, PolicyError
    from viewer.cli import CommandError
    from viewer.config import ConfigError

    try:
        return AccessGate()
    except (AuditUnavailable, IdentityError, PolicyError, ConfigError) as exc:
        raise CommandError(str(exc)) from exc


def _record_log_use(gate: Any, **detail: Any) -> None:
    from viewer.access.gate import Action, AuditUnavailable, PatientRef
    from viewer.cli import CommandError

    patient = detail.pop("patient", None)
    try:
        gate.record(
            Action.AUDIT_LOG_USED,
            patient=PatientRef(id=patient) if patient else None,
            detail={"journal": gate.journal.path.as_uri()} | detail,
        )
    except AuditUnavailable as exc:
        raise CommandError(f"{exc}; the trail is not shown") from exc


def cmd_show(args: argparse.Namespace) -> int:
    gate = _gate()
    _record_log_use(gate, patient=args.patient, query={"patient": bool(args.patient),
                                                       "user": args.user or ""})
    rows = [record_row(r) for r in trail(gate.journal, args.patient, args.user)]
    if args.json:
        json.dump({"patient": args.patient, "user": args.user, "accesses": rows}, sys.stdout,
                  indent=1, ensure_ascii=False)
        print()
        return 0
    if not rows:
        print("no access recorded")
        return 0
    for r in rows:
        how = "BREAK-THE-GLASS" if r["mode"] == "break_glass" else "normal"
        if r["outcome"] != "success":
            how += f", {r['outcome'].upper()}"
        studies = ",".join(r["study_uids"]) or "-"
        reason = f" reason: {r['reason']}" if r["reason"] else ""
        print(f"{r['time']}  {r['user']} ({r['user_id']}, {r['role']})  {r['action']}  "
              f"[{how}]  study {studies}  from {r['archive'] or '-'}{reason}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from viewer.access.journal import AuditJournal, AuditUnavailable
    from viewer.cli import CommandError

    journal = AuditJournal()
    if not journal.path.exists():
        raise CommandError(f"no audit journal at {journal.path}")
    try:
        result = journal.verify()
    except AuditUnavailable as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print(json.dumps({"ok": result.ok, "records": result.count,
                          "first_bad": result.first_bad, "problem": result.problem}))
    if not result.ok:
        raise CommandError(f"audit journal {journal.path} is broken at record "
                           f"{result.first_bad}: {result.problem}")
    if not args.json:
        print(f"audit journal intact: {result.count} records verified")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from viewer.access.atna import message_bytes
    from viewer.cli import CommandError

    gate = _gate()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot create the folder: {exc}") from exc
    _record_log_use(gate, patient=args.patient, export=str(args.out))
    n = 0
    for rec in gate.journal.records(patient=args.patient):
        path = args.out / f"{rec.seq:08d}-{rec.action}.xml"
        try:
            path.write_bytes(message_bytes(rec, site_id=gate.policy.site_id))
        except OSError as exc:
            raise CommandError(f"{path}: cannot write: {exc}") from exc
        n += 1
    print(f"{n} audit messages written to {args.out}")
    return 0


def cmd_flush(args: argparse.Namespace) -> int:
    import time

    from viewer.access.syslog import AuditForwarder, RepositoryError
    from viewer.cli import CommandError

    gate = _gate()
    if not gate.policy.repository:
        raise CommandError("no audit repository configured ([audit] repository in config.toml)")
    try:
        fwd = AuditForwarder.from_policy(gate.policy, gate.journal.path)
    except RepositoryError as exc:
        raise CommandError(str(exc)) from exc
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and fwd.pending():
        fwd._next_try = 0.0
        fwd.flush()
        time.sleep(0.1)
    left = fwd.pending()
    fwd.stop()
    if left:
        raise CommandError(f"{left} audit messages still spooled: repository "
                           f"{gate.policy.repository} unreachable")
    print(f"spool empty: every record delivered to {gate.policy.repository}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from viewer.access.gate import Action
    from viewer.access.journal import AuditEntry, AuditUnavailable
    from viewer.cli import CommandError

    gate = _gate()
    user = gate.current_user()
    entry = AuditEntry(user_id=user.user_id, user_name=user.display_name, role=user.role,
                       professional_id=user.professional_id, workstation=gate.workstation,
                       action=str(Action.AUDIT_PRUNE),
                       detail={"journal": gate.journal.path.as_uri(),
                               "retention_days": gate.policy.retention_days})
    try:
        n = gate.journal.prune(gate.policy.retention_days, entry)
    except AuditUnavailable as exc:
        raise CommandError(str(exc)) from exc
    print(f"{n} records older than {gate.policy.retention_days} days pruned")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    user = _gate().current_user()
    if args.json:
        print(json.dumps(user.to_dict(), ensure_ascii=False))
    else:
        ident = f", RPPS {user.rpps}" if user.rpps else ""
        print(f"{user.display_name} ({user.user_id}, {user.role}{ident})")
    return 0


def cmd_break_glass(args: argparse.Namespace) -> int:
    from viewer.access.gate import AccessDenied, AuditUnavailable, PatientRef
    from viewer.cli import CommandError

    gate = _gate()
    patient = PatientRef(id=args.patient, issuer=args.issuer, ins=args.ins)
    try:
        bg = gate.break_glass(args.reason, args.minutes, patient=patient)
    except (AccessDenied, AuditUnavailable, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    print(f"emergency access declared until {bg.until.isoformat(timespec='seconds')} "
          "(recorded in the audit trail)")
    return 0


# -- the CLI's own accesses (render, probe, archive query/retrieve) --------------------


def authorize_view(source: Any, *, via: str, archive: str = "local") -> None:
    """Record that the CLI shows values of a series, before it does.

    ``source`` is a file of the series or a :class:`~viewer.dicom.volume.Volume`
    (its first source file is used). Reads that header (no pixels) for the
    patient, study and series,
    and asks the access gate as the OS user's profile; a refusal or an
    unwritable journal becomes a one-line :class:`~viewer.cli.CommandError`.
    """
    import pydicom

    from viewer.access.gate import Action, PatientRef
    from viewer.cli import CommandError

    files = getattr(source, "source_files", None)
    if files is not None and not files:
        raise CommandError("cannot tell whose images these are: the volume names no source file")
    path = files[0] if files else source
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        patient = PatientRef.from_dataset(ds)
    except Exception as exc:
        raise CommandError(f"{path}: cannot read the patient for the audit trail: {exc}") from exc
    _authorize(Action.VIEW, patient=patient,
               study_uids=[str(ds.get("StudyInstanceUID", ""))],
               series_uids=[str(ds.get("SeriesInstanceUID", ""))], archive=archive,
               referring_physicians=[str(ds.get("ReferringPhysicianName", "") or "")],
               detail={"via": via})


def archive_audit_recorder(action: str, archive: str, details: dict[str, Any]) -> None:
    """Recorder for ``viewer.cli.archive_cmds.set_audit_recorder``: query and retrieve.

    A query is recorded with its matching keys (PS3.15 A.5.3.10 carries them in
    the message); a retrieve with its study and series (Begin Transferring).
    """
    from viewer.access.gate import Action, PatientRef

    if action == "query":
        keys = {k: v for k, v in (details.get("keys") or {}).items() if isinstance(v, str)}
        level = str(details.get("level") or "study").upper()
        pid = keys.get("PatientID", "")
        patient = (PatientRef(id=pid, issuer=keys.get("IssuerOfPatientID", ""))
                   if pid and not any(c in pid for c in "*?") else None)
        _authorize(Action.QUERY, patient=patient, archive=archive,
                   detail={"query": {"QueryRetrieveLevel": level, **keys}, "via": "regard archive"})
    elif action == "retrieve":
        study = details.get("study") or ""
        series = details.get("series") or []
        series = [series] if isinstance(series, str) else list(series)
        _authorize(Action.RETRIEVE, study_uids=[study] if study else [], series_uids=series,
                   archive=archive, detail={"via": "regard archive"})
    elif action == "transferred":  # after the retrieve: DICOM Instances Transferred
        from viewer.access.gate import AuditUnavailable
        from viewer.cli import CommandError

        study = details.get("study") or ""
        series = details.get("series") or []
        try:
            _gate().record(Action.TRANSFERRED, study_uids=[study] if study else [],
                           series_uids=[series] if isinstance(series, str) else list(series),
                           archive=archive,
                           detail={"instances": int(details.get("instances") or 0),
                                   "via": "regard archive"})
        except AuditUnavailable as exc:
            raise CommandError(str(exc)) from exc
    else:
        _authorize(Action(action), archive=archive, detail={"via": "regard archive"})


def _authorize(action: Any, **kwargs: Any) -> None:
    from viewer.access.gate import AccessDenied, AuditUnavailable, IdentityError, PolicyError
    from viewer.cli import CommandError

    gate = _gate()
    try:
        gate.authorize_and_record(action, **kwargs)
    except (AccessDenied, AuditUnavailable, IdentityError, PolicyError) as exc:
        raise CommandError(str(exc)) from exc
