"""``regard archive echo|query|retrieve|prefetch|cache`` (contract: viewer/cli/__init__.py).

NODE is a configured archive name (``[archives.NAME]`` in config.toml) or an address:
``dicom://AET@host:port``, ``dicoms://AET@host:port``, ``http(s)://host:port/dicom-web``.
Progress goes to stderr; ``--json`` prints one JSON document on stdout.

Audit hook: every query and retrieve goes through :func:`audit_event` before its
result is printed. It does nothing until the access layer (``viewer.access``)
installs a recorder with :func:`set_audit_recorder`; the recorder receives the
action ("query" or "retrieve"), the archive name and the details (query keys, or
study/series UIDs and the instance count) and may raise to refuse.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from viewer.cli import CommandError

AuditRecorder = Callable[[str, str, dict[str, Any]], None]
_audit_recorder: AuditRecorder | None = None


def set_audit_recorder(recorder: AuditRecorder | None) -> None:
    """Install the access layer's recorder of archive queries and retrieves."""
    global _audit_recorder
    _audit_recorder = recorder


def audit_event(action: str, archive: str, details: dict[str, Any]) -> None:
    """Hook point for the audit trail (PS3.15 A.5: Query 110112, Begin Transferring 110102)."""
    if _audit_recorder is not None:
        _audit_recorder(action, archive, details)


# Options mapped to DICOM matching keys (PS3.4 C.6.1.1, C.6.2.1).
_KEY_OPTIONS = (
    ("patient_id", "PatientID"),
    ("issuer", "IssuerOfPatientID"),
    ("patient_name", "PatientName"),
    ("birth_date", "PatientBirthDate"),
    ("study", "StudyInstanceUID"),
    ("series", "SeriesInstanceUID"),
    ("accession", "AccessionNumber"),
    ("date", "StudyDate"),
    ("description", "StudyDescription"),
)


def register(sub: Any) -> None:
    """Add ``regard archive ...`` to the `regard` parser."""
    parser = sub.add_parser("archive", help="query and retrieve from archives (PACS)")
    asub = parser.add_subparsers(dest="archive_command", metavar="ACTION", required=True)

    echo = asub.add_parser("echo", help="check that an archive answers (C-ECHO / QIDO-RS)")
    _archive_arg(echo, multiple=False)
    echo.add_argument("--json", action="store_true")
    echo.set_defaults(func=cmd_echo)

    query = asub.add_parser("query", help="search an archive (C-FIND / QIDO-RS)")
    _archive_arg(query, multiple=True)
    query.add_argument("--level", choices=("patient", "study", "series", "image"), default="study")
    query.add_argument("--patient-id", help="Patient ID (an INS with --issuer)")
    query.add_argument("--issuer", help="Issuer of Patient ID, e.g. ASIP-SANTE-INS-NIR")
    query.add_argument("--patient-name", help="Patient's Name, wildcards * and ? allowed")
    query.add_argument("--birth-date", help="YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
    query.add_argument("--study", help="Study Instance UID")
    query.add_argument("--series", help="Series Instance UID")
    query.add_argument("--accession", help="Accession Number")
    query.add_argument("--modality", help="Modality (series) / Modalities in Study (study)")
    query.add_argument("--date", help="Study Date: YYYYMMDD, YYYYMMDD-, -YYYYMMDD or a range")
    query.add_argument("--description", help="Study Description, wildcards allowed")
    query.add_argument(
        "-k", "--key", action="append", default=[], metavar="KEYWORD=VALUE",
        help="any other matching key by DICOM keyword (repeatable)",
    )  # fmt: skip
    query.add_argument("--json", action="store_true")
    query.set_defaults(func=cmd_query)

    retrieve = asub.add_parser("retrieve", help="fetch a study or series into the cache")
    _archive_arg(retrieve, multiple=False)
    retrieve.add_argument("--study", required=True, help="Study Instance UID")
    retrieve.add_argument("--series", help="Series Instance UID (default: the whole study)")
    retrieve.add_argument("--sop", action="append", help="only these SOP Instance UIDs")
    retrieve.add_argument("--associations", type=int, help="parallel associations / streams")
    retrieve.add_argument("--method", choices=("get", "move"), help="C-GET or C-MOVE (DIMSE)")
    retrieve.add_argument("--json", action="store_true")
    retrieve.set_defaults(func=cmd_retrieve)

    prefetch = asub.add_parser("prefetch", help="fetch and pin several studies (mobile unit)")
    _archive_arg(prefetch, multiple=False)
    prefetch.add_argument("--study", action="append", required=True, help="Study Instance UID")
    prefetch.add_argument("--no-pin", action="store_true", help="do not pin them in the cache")
    prefetch.add_argument("--json", action="store_true")
    prefetch.set_defaults(func=cmd_prefetch)

    cache = asub.add_parser("cache", help="local cache: list, check, evict, pin")
    cache.add_argument("action", choices=("list", "check", "evict", "pin", "unpin"))
    cache.add_argument("--study", help="Study Instance UID (pin / unpin)")
    cache.add_argument("--deep", action="store_true", help="check: parse every file")
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(func=cmd_cache)
    # The access layer records every query and retrieve (issue 6), as the OS user's profile.
    from viewer.cli.audit_cmds import archive_audit_recorder

    set_audit_recorder(archive_audit_recorder)


def _archive_arg(parser: argparse.ArgumentParser, multiple: bool) -> None:
    if multiple:
        parser.add_argument(
            "--archive", action="append", metavar="NODE",
            help="archive name or address (repeat it, or --all, for a federated query)",
        )  # fmt: skip
        parser.add_argument("--all", action="store_true", help="every configured archive")
    else:
        parser.add_argument("--archive", required=True, metavar="NODE", help="name or address")


def _quiet_network_logs() -> None:
    """pynetdicom logs every failure as ERROR; our one-line message says it (unless -v)."""
    import logging

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


def _source(spec: str) -> Any:
    _quiet_network_logs()
    from viewer.archive.errors import ArchiveError
    from viewer.archive.nodes import NodeError
    from viewer.archive.source import open_source
    from viewer.config import ConfigError

    try:
        return open_source(spec)
    except (NodeError, ConfigError, ArchiveError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _fail(exc: Exception) -> CommandError:
    return CommandError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def cmd_echo(args: argparse.Namespace) -> int:
    from viewer.archive.errors import ArchiveError
    from viewer.archive.source import ArchiveSource

    source = _source(args.archive)
    if not isinstance(source, ArchiveSource):
        raise CommandError(f"{args.archive} is not an archive")
    started = time.monotonic()
    try:
        source.echo()
    except ArchiveError as exc:
        raise _fail(exc) from exc
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps({"archive": source.name, "ok": True, "seconds": round(seconds, 3)}))
    else:
        print(f"{source.name}: ok ({seconds * 1000:.0f} ms)")
    return 0


def query_keys(args: argparse.Namespace) -> dict[str, Any]:
    """The matching keys given on the command line, as DICOM keyword -> value."""
    keys: dict[str, Any] = {}
    for option, keyword in _KEY_OPTIONS:
        value = getattr(args, option, None)
        if value is not None:
            keys[keyword] = value
    if args.modality is not None:
        keys["ModalitiesInStudy" if args.level in ("patient", "study") else "Modality"] = (
            args.modality
        )
    for item in args.key:
        keyword, sep, value = item.partition("=")
        if not sep or not keyword:
            raise CommandError(f"-k expects KEYWORD=VALUE, got '{item}'")
        from pydicom.datadict import tag_for_keyword

        if tag_for_keyword(keyword) is None:
            raise CommandError(f"-k {item}: '{keyword}' is not a DICOM keyword")
        keys[keyword] = value
    return keys


def cmd_query(args: argparse.Namespace) -> int:
    from viewer.archive.federated import federated_search
    from viewer.archive.nodes import NodeError, configured_nodes
    from viewer.config import ConfigError

    specs = list(args.archive or [])
    if args.all:
        try:
            specs += [n for n in configured_nodes() if n not in specs]
        except (NodeError, ConfigError) as exc:
            raise CommandError(str(exc)) from exc
    if not specs:
        raise CommandError("give --archive NODE (or --all)")
    keys = query_keys(args)
    sources = [_source(s) for s in specs]
    for source in sources:
        audit_event("query", source.name, {"level": args.level, "keys": keys})
    try:
        result = federated_search(sources, args.level, keys)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if len(result.errors) == len(sources):
        raise CommandError(next(iter(result.errors.values())))
    for error in result.errors.values():  # the others answered: say who did not
        print(f"regard: {error}", file=sys.stderr)
    rows = result.results
    if len(sources) == 1:
        for row in rows:
            row.pop("archives", None)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        _print_table(rows, args.level)
    return 0


_TABLE_COLUMNS = {
    "patient": ("PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate"),
    "study": ("StudyDate", "PatientID", "PatientName", "ModalitiesInStudy", "AccessionNumber",
              "StudyDescription", "StudyInstanceUID"),
    "series": ("SeriesNumber", "Modality", "NumberOfSeriesRelatedInstances", "SeriesDescription",
               "SeriesInstanceUID"),
    "image": ("InstanceNumber", "SOPInstanceUID"),
}  # fmt: skip


def _print_table(rows: list[dict[str, Any]], level: str) -> None:
    columns = (*_TABLE_COLUMNS[level], "archive")
    for row in rows:
        cells = []
        for col in columns:
            value = row.get(col, "")
            cells.append("\\".join(value) if isinstance(value, list) else str(value))
        print("  ".join(cells))
    print(f"{len(rows)} result(s)", file=sys.stderr)


class _ProgressPrinter:
    """Progress on stderr, at most ten lines a second (thread-safe)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._last = 0.0
        self._lock = threading.Lock()
        self._tty = sys.stderr.isatty()

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if p.instances_done < p.instances_total and now - self._last < 0.1:
                return
            self._last = now
            line = (
                f"{self.label}: {p.instances_done}/{p.instances_total} instances, "
                f"{p.bytes_done / 1e6:.1f} MB, {p.mb_per_s:.1f} MB/s"
            )
            print(
                ("\r" + line) if self._tty else line, file=sys.stderr, end="" if self._tty else "\n"
            )
            if self._tty and p.instances_done >= p.instances_total:
                print(file=sys.stderr)


def _retriever_source(args: argparse.Namespace) -> Any:
    from viewer.archive.source import ArchiveSource

    source = _source(args.archive)
    if not isinstance(source, ArchiveSource):
        raise CommandError(f"{args.archive} is not an archive")
    node = source.node
    changes: dict[str, Any] = {}
    if getattr(args, "associations", None):
        changes["associations"] = max(1, args.associations)
    if getattr(args, "method", None):
        changes["retrieve"] = args.method
    if changes:
        source = ArchiveSource(node.with_(**changes))
    return source


def cmd_retrieve(args: argparse.Namespace) -> int:
    from viewer.archive.errors import ArchiveError, RetrieveCancelled

    source = _retriever_source(args)
    audit_event("retrieve", source.name, {"study": args.study, "series": args.series})
    cancel = threading.Event()
    try:
        result = source.fetch(
            args.study, args.series, args.sop, progress=_ProgressPrinter(source.name), cancel=cancel
        )
    except KeyboardInterrupt:
        cancel.set()
        raise
    except RetrieveCancelled as exc:
        raise CommandError(str(exc), code=130) from exc
    except ArchiveError as exc:
        raise _fail(exc) from exc
    audit_event(
        "transferred",
        source.name,
        {"study": args.study, "series": args.series, "instances": result.instances},
    )
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(f"{result.instances} instances in {result.folder} ({result.seconds:.2f} s)")
    return 0


def cmd_prefetch(args: argparse.Namespace) -> int:
    from viewer.archive.errors import ArchiveError

    source = _retriever_source(args)
    for uid in args.study:
        audit_event("retrieve", source.name, {"study": uid, "series": None})
    printer = _ProgressPrinter(source.name)
    try:
        results = source.retriever.prefetch(
            args.study, pin=not args.no_pin, progress=lambda _uid, p: printer(p)
        )
    except ArchiveError as exc:
        raise _fail(exc) from exc
    if args.json:
        print(json.dumps([r.as_json() for r in results]))
    else:
        for r in results:
            print(f"{r.study_uid}: {r.instances} instances in {r.folder}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from viewer.archive.cache import Cache, CacheLimits

    cache = Cache()
    if args.action == "list":
        rows = [
            {"StudyInstanceUID": s.study_uid, "instances": s.instances, "bytes": s.size,
             "pinned": s.pinned, "last_access": s.last_access, "archive": s.info.get("source", "")}
            for s in cache.studies()
        ]  # fmt: skip
        out: Any = rows
    elif args.action == "check":
        report = cache.check(deep=args.deep)
        out = {
            "ok": report.ok,
            "checked": report.checked,
            "missing": report.missing,
            "corrupt": report.corrupt,
            "partial_removed": [str(p) for p in report.partial_removed],
            "reindexed": [str(p) for p in report.reindexed],
        }
    elif args.action == "evict":
        out = {"evicted": cache.evict(CacheLimits.from_config())}
    else:
        if not args.study:
            raise CommandError(f"cache {args.action} needs --study UID")
        cache.pin(args.study, args.action == "pin")
        out = {"study": args.study, "pinned": args.action == "pin"}
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=1))
    return 0
