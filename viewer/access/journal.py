"""The audit journal: append-only, hash-chained SQLite under REGARD_HOME (fail closed).

Each record is committed (WAL, ``synchronous=FULL``) before the action it
describes proceeds. Record *n* carries ``prev_hash`` = the hash of record
*n-1* and ``hash`` = SHA-256 over the canonical encoding of all its other
fields (UTF-8 JSON, keys sorted, no whitespace), so altering, deleting or
reordering any record breaks the chain at that record. A ``head`` row (last
sequence number and hash, updated in the same transaction) catches truncation
of the tail. Rolling retention prunes the oldest records behind a checkpoint
(the hash of the last pruned record), itself recorded in the chain; head and
checkpoints are signed (Ed25519) when a key can be kept in the system keyring.

Triggers refuse UPDATE and DELETE: they stop mistakes, not a determined
attacker, which is what :meth:`AuditJournal.verify` is for (and the copy of
every record sent to the Audit Record Repository).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from viewer.config import regard_home

log = logging.getLogger(__name__)

GENESIS = "0" * 64
MAX_RECORD_BYTES = 16384
SCHEMA_VERSION = "1"

# Order of the columns; every column but ``hash`` is covered by the hash.
FIELDS = (
    "seq", "message_id", "time", "user_id", "user_name", "professional_id", "role",
    "workstation", "action", "outcome", "mode", "patient_id", "patient_issuer", "ins",
    "ins_oid", "identity_status", "study_uids", "series_uids", "archive", "reason",
    "screen_fitness", "detail", "prev_hash", "hash",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL, time TEXT NOT NULL,
    user_id TEXT NOT NULL, user_name TEXT NOT NULL, professional_id TEXT NOT NULL,
    role TEXT NOT NULL, workstation TEXT NOT NULL, action TEXT NOT NULL,
    outcome TEXT NOT NULL, mode TEXT NOT NULL, patient_id TEXT NOT NULL,
    patient_issuer TEXT NOT NULL, ins TEXT NOT NULL, ins_oid TEXT NOT NULL,
    identity_status TEXT NOT NULL, study_uids TEXT NOT NULL, series_uids TEXT NOT NULL,
    archive TEXT NOT NULL, reason TEXT NOT NULL, screen_fitness TEXT NOT NULL,
    detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_patient ON records(patient_id);
CREATE INDEX IF NOT EXISTS records_ins ON records(ins);
CREATE INDEX IF NOT EXISTS records_action ON records(action, user_id);
CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY, pruned_through INTEGER NOT NULL,
    anchor TEXT NOT NULL, time TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivery (repository TEXT PRIMARY KEY, sent_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pruning (flag INTEGER);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"""


class AuditUnavailable(Exception):
    """The trail cannot be written: the action must not proceed (fail closed)."""


@dataclass(frozen=True)
class AuditEntry:
    """What the caller tells the journal; time, sequence and hashes are added by it."""

    user_id: str
    user_name: str
    action: str
    outcome: str = "success"  # success | denied | failure
    mode: str = "normal"  # normal | break_glass
    professional_id: str = ""
    role: str = ""
    workstation: str = ""
    patient_id: str = ""
    patient_issuer: str = ""
    ins: str = ""
    ins_oid: str = ""
    identity_status: str = ""
    study_uids: Sequence[str] = ()
    series_uids: Sequence[str] = ()
    archive: str = ""
    reason: str = ""
    screen_fitness: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    message_id: str
    time: str
    user_id: str
    user_name: str
    professional_id: str
    role: str
    workstation: str
    action: str
    outcome: str
    mode: str
    patient_id: str
    patient_issuer: str
    ins: str
    ins_oid: str
    identity_status: str
    study_uids: tuple[str, ...]
    series_uids: tuple[str, ...]
    archive: str
    reason: str
    screen_fitness: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AuditRecord:
        values = dict(zip(FIELDS, row, strict=True))
        values["study_uids"] = tuple(json.loads(values["study_uids"]))
        values["series_uids"] = tuple(json.loads(values["series_uids"]))
        values["detail"] = json.loads(values["detail"])
        return cls(**values)

    @property
    def datetime(self) -> datetime:
        return datetime.fromisoformat(self.time)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["study_uids"] = list(self.study_uids)
        out["series_uids"] = list(self.series_uids)
        return out


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad: int | None = None
    problem: str = ""


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes hashed for a record: every field but ``hash``, as stored, sorted JSON."""
    body = {k: row[k] for k in FIELDS if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_journal_path() -> Path:
    return regard_home() / "audit" / "journal.sqlite"


class _Signer:
    """Ed25519 key kept in the system keyring; ``None``-safe when no keyring exists."""

    SERVICE = "regard-audit"

    def __init__(self, path: Path) -> None:
        self.account = "journal:" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        self._key: Any = None
        self._loaded = False

    def key(self, create: bool) -> Any:
        if self._loaded:
            return self._key
        self._loaded = True
        try:
            import keyring
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            stored = keyring.get_password(self.SERVICE, self.account)
            if stored:
                self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(stored))
            elif create:
                key = Ed25519PrivateKey.generate()
                from cryptography.hazmat.primitives import serialization as ser

                raw = key.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw,
                                        ser.NoEncryption())
                keyring.set_password(self.SERVICE, self.account, raw.hex())
                self._key = key
        except Exception as exc:  # no keyring backend: run unsigned, say so once
            log.info("audit journal signatures disabled (no keyring): %s", exc)
            self._key = None
        return self._key

    def public_hex(self, create: bool = False) -> str:
        key = self.key(create)
        if key is None:
            return ""
        from cryptography.hazmat.primitives import serialization as ser

        return key.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw).hex()

    def sign(self, text: str) -> str:
        key = self.key(False)
        return key.sign(text.encode()).hex() if key is not None else ""


def _check_signature(public_hex: str, signature: str, text: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature), text.encode()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _clean_detail(detail: dict[str, Any]) -> str:
    def check(value: Any) -> None:
        if isinstance(value, bytes | bytearray | memoryview):
            raise ValueError("audit records carry no binary data (pixel data never goes here)")
        if isinstance(value, dict):
            for v in value.values():
                check(v)
        elif isinstance(value, list | tuple):
            for v in value:
                check(v)

    check(detail)
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("audit journal rollback failed: %s", exc)


class AuditJournal:
    """Append-only hash-chained journal in ``$REGARD_HOME/audit/journal.sqlite``."""

    def __init__(self, path: Path | None = None, *, sign: bool = True) -> None:
        self.path = Path(path) if path else default_journal_path()
        self._signer = _Signer(self.path) if sign else None
        self._local = threading.local()  # one SQLite connection per thread

    # -- connection ----------------------------------------------------------------
    def _fail(self, exc: BaseException, doing: str) -> AuditUnavailable:
        reason = str(exc) or type(exc).__name__
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            primary = code & 0xFF
            reason = {
                sqlite3.SQLITE_FULL: "the disk is full",
                sqlite3.SQLITE_READONLY: "the journal is read-only",
                sqlite3.SQLITE_CANTOPEN: "the journal file cannot be opened (read-only folder?)",
                sqlite3.SQLITE_IOERR: "the disk refused the write (full or read-only?)",
                sqlite3.SQLITE_PERM: "permission denied",
                sqlite3.SQLITE_BUSY: "the journal stayed locked by another process",
            }.get(primary, reason) + f" ({exc})"
        elif isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        return AuditUnavailable(
            f"cannot {doing} the audit journal {self.path}: {reason}; "
            "nothing is opened until the access can be recorded"
        )

    def prepare(self) -> None:
        """Open the journal and load its signing key now (keyring's backend detection
        costs ~0.1 s), so that the first record made before pixels are shown is fast."""
        self.connect()
        if self._signer is not None:
            self._signer.key(False)

    def connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is not None:
            return db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=15, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            if db.execute("SELECT 1 FROM meta WHERE key='schema'").fetchone() is None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                pub = self._signer.public_hex(create=True) if self._signer else ""
                if pub:
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('public_key', ?)", (pub,))
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(exc, "open") from exc
        self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def __enter__(self) -> AuditJournal:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------
    def append(self, entry: AuditEntry, *, now: datetime | None = None) -> AuditRecord:
        """Write and commit one record; raise :class:`AuditUnavailable` if it cannot be."""
        detail = _clean_detail(entry.detail)  # ValueError for binary data: a caller bug
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = self._append_in_tx(db, entry, detail, now or utc_now())
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)  # SQLite may already have rolled back (e.g. disk full)
                raise
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(exc, "write to") from exc
        return AuditRecord.from_row([row[k] for k in FIELDS])

    def _append_in_tx(
        self, db: sqlite3.Connection, entry: AuditEntry, detail: str, now: datetime
    ) -> dict[str, Any]:
        head = db.execute("SELECT seq, hash FROM head WHERE id = 1").fetchone()
        if head is None:
            last = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            head = last or (0, GENESIS)
        row: dict[str, Any] = {
            "seq": head[0] + 1,
            "message_id": str(uuid.uuid4()),
            "time": now.astimezone(UTC).isoformat(timespec="microseconds"),
            "user_id": entry.user_id,
            "user_name": entry.user_name,
            "professional_id": entry.professional_id,
            "role": entry.role,
            "workstation": entry.workstation,
            "action": entry.action,
            "outcome": entry.outcome,
            "mode": entry.mode,
            "patient_id": entry.patient_id,
            "patient_issuer": entry.patient_issuer,
            "ins": entry.ins,
            "ins_oid": entry.ins_oid,
            "identity_status": entry.identity_status or "",
            "study_uids": json.dumps(list(entry.study_uids)),
            "series_uids": json.dumps(list(entry.series_uids)),
            "archive": entry.archive,
            "reason": entry.reason,
            "screen_fitness": entry.screen_fitness,
            "detail": detail,
            "prev_hash": head[1],
        }
        row["hash"] = record_hash(row)
        if len(canonical(row)) > MAX_RECORD_BYTES:
            raise ValueError(f"audit record larger than {MAX_RECORD_BYTES} bytes")
        db.execute(
            f"INSERT INTO records ({','.join(FIELDS)}) VALUES ({','.join('?' * len(FIELDS))})",
            [row[k] for k in FIELDS],
        )
        sig = self._signer.sign(f"head:{row['seq']}:{row['hash']}") if self._signer else ""
        db.execute(
            "INSERT INTO head (id, seq, hash, signature) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET seq=excluded.seq, hash=excluded.hash, "
            "signature=excluded.signature",
            (row["seq"], row["hash"], sig),
        )
        return row

    # -- reading -------------------------------------------------------------------
    def records(
        self,
        *,
        patient: str | None = None,
        user: str | None = None,
        after_seq: int = 0,
        limit: int | None = None,
        actions: Sequence[str] = (),
    ) -> Iterator[AuditRecord]:
        """Records in chain order; ``patient`` matches the patient ID or the INS."""
        db = self.connect()
        sql = f"SELECT {','.join(FIELDS)} FROM records WHERE seq > ?"
        args: list[Any] = [after_seq]
        if patient:
            sql += " AND (patient_id = ? OR ins = ?)"
            args += [patient, patient]
        if user:
            sql += " AND (user_id = ? OR user_id LIKE ?)"
            args += [user, f"{user}@%"]
        if actions:
            sql += f" AND action IN ({','.join('?' * len(actions))})"
            args += list(actions)
        sql += " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        try:
            rows = db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc, "read") from exc
        for row in rows:
            yield AuditRecord.from_row(row)

    def count(self) -> int:
        return int(self.connect().execute("SELECT count(*) FROM records").fetchone()[0])

    def head(self) -> tuple[int, str] | None:
        row = self.connect().execute("SELECT seq, hash FROM head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    # -- verification --------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Check the chain from the last checkpoint to the head; name the first bad record."""
        try:
            db = self.connect()
            return self._verify(db)
        except sqlite3.Error as exc:
            return VerifyResult(False, 0, None, f"cannot read the journal: {exc}")

    def _verify(self, db: sqlite3.Connection) -> VerifyResult:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        pub = meta.get("public_key", "")
        cp = db.execute(
            "SELECT pruned_through, anchor, signature FROM checkpoints ORDER BY id DESC LIMIT 1"
        ).fetchone()
        expected_seq, prev = (cp[0] + 1, cp[1]) if cp else (1, GENESIS)
        if cp and pub and not _check_signature(pub, cp[2], f"checkpoint:{cp[0]}:{cp[1]}"):
            return VerifyResult(False, 0, cp[0] + 1, "the last checkpoint's signature is invalid")
        count = 0
        prune_seen = cp is None
        for raw in db.execute(f"SELECT {','.join(FIELDS)} FROM records ORDER BY seq"):
            row = dict(zip(FIELDS, raw, strict=True))
            seq = row["seq"]
            if seq < expected_seq:
                return VerifyResult(False, count, seq,
                                    f"record {seq} lies before the last checkpoint")
            if seq != expected_seq:
                return VerifyResult(False, count, expected_seq,
                                    f"record {expected_seq} is missing (next is {seq})")
            if record_hash(row) != row["hash"]:
                return VerifyResult(False, count, seq, f"record {seq} was altered (hash mismatch)")
            if row["prev_hash"] != prev:
                return VerifyResult(False, count, seq,
                                    f"record {seq} does not follow the previous record's hash")
            if cp and row["action"] == "audit_prune":
                d = json.loads(row["detail"])
                prune_seen = prune_seen or (
                    d.get("pruned_through") == cp[0] and d.get("anchor") == cp[1]
                )
            prev = row["hash"]
            expected_seq = seq + 1
            count += 1
        last = expected_seq - 1
        head = db.execute("SELECT seq, hash, signature FROM head WHERE id = 1").fetchone()
        if head is None:
            if count:
                return VerifyResult(False, count, last, "the journal's head marker is missing")
            return VerifyResult(True, 0)
        if head[0] > last:
            return VerifyResult(False, count, last + 1,
                                f"record {last + 1} is missing: the journal was truncated "
                                f"(head says {head[0]} records)")
        if head[0] < last or head[1] != prev:
            return VerifyResult(False, count, head[0] + 1 if head[0] < last else last,
                                "the journal's head marker does not match its last record")
        if pub and not _check_signature(pub, head[2], f"head:{head[0]}:{head[1]}"):
            return VerifyResult(False, count, last, "the head marker's signature is invalid")
        if not prune_seen:
            return VerifyResult(False, count, expected_seq - count,
                                "the last checkpoint is not recorded in the chain")
        return VerifyResult(True, count)

    # -- retention -----------------------------------------------------------------
    def prune(self, retention_days: int, entry: AuditEntry, *,
              now: datetime | None = None) -> int:
        """Delete records older than ``retention_days`` behind a checkpoint.

        Records not yet delivered to an Audit Record Repository are kept. The
        checkpoint (hash of the last pruned record) is itself written into the
        chain as an ``audit_prune`` record, so the chain stays verifiable.
        """
        now = now or utc_now()
        cutoff = (now - timedelta(days=retention_days)).isoformat(timespec="microseconds")
        db = self.connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                n = self._prune_in_tx(db, cutoff, entry, now)
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)  # SQLite may already have rolled back (e.g. disk full)
                raise
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(exc, "prune") from exc
        return n

    def _prune_in_tx(self, db: sqlite3.Connection, cutoff: str, entry: AuditEntry,
                     now: datetime) -> int:
        row = db.execute("SELECT max(seq) FROM records WHERE time < ?", (cutoff,)).fetchone()
        through = row[0] if row and row[0] is not None else 0
        undelivered = db.execute("SELECT min(sent_seq) FROM delivery").fetchone()[0]
        if undelivered is not None:
            through = min(through, int(undelivered))
        first = db.execute("SELECT min(seq) FROM records").fetchone()[0]
        if not through or first is None or through < first:
            return 0
        anchor = db.execute("SELECT hash FROM records WHERE seq = ?", (through,)).fetchone()[0]
        db.execute("INSERT INTO pruning VALUES (1)")
        n = db.execute("DELETE FROM records WHERE seq <= ?", (through,)).rowcount
        db.execute("DELETE FROM pruning")
        sig = self._signer.sign(f"checkpoint:{through}:{anchor}") if self._signer else ""
        db.execute("INSERT INTO checkpoints (pruned_through, anchor, time, signature) "
                   "VALUES (?, ?, ?, ?)", (through, anchor, now.isoformat(), sig))
        detail = dict(entry.detail) | {"pruned_through": through, "anchor": anchor, "pruned": n}
        self._append_in_tx(db, entry, _clean_detail(detail), now)
        return n

    # -- delivery cursor (the journal is the syslog spool) --------------------------
    def sent_seq(self, repository: str) -> int:
        row = self.connect().execute(
            "SELECT sent_seq FROM delivery WHERE repository = ?", (repository,)
        ).fetchone()
        if row is not None:
            return int(row[0])
        # A newly configured repository starts with what the journal still holds.
        first = self.connect().execute("SELECT min(seq) FROM records").fetchone()[0]
        return int(first) - 1 if first else 0

    def mark_sent(self, repository: str, seq: int) -> None:
        self.connect().execute(
            "INSERT INTO delivery VALUES (?, ?) ON CONFLICT(repository) "
            "DO UPDATE SET sent_seq = max(sent_seq, excluded.sent_seq)",
            (repository, seq),
        )
