"""Local cache of retrieved instances: Part 10 files plus an SQLite index under REGARD_HOME.

Layout::

    $REGARD_HOME/cache/index.sqlite
    $REGARD_HOME/cache/studies/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm

Files are written unnamed (Linux ``O_TMPFILE``; elsewhere as ``*.part``) and get
their name only once complete, then are indexed; a file is "in the cache" only
when its index row exists, so a crash or a cancelled retrieve never leaves a
half-written file looking complete. The data set bytes are kept exactly as the
archive sent them (PS3.10 7.1 File Meta Information in front), so SOP Instance
UID, transfer syntax and pixel data are unchanged. Size and age limits evict the
least recently used studies first; pinned studies are never evicted.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viewer.config import Config, load_config, regard_home

log = logging.getLogger(__name__)

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT, issuer TEXT, patient_name TEXT, birth_date TEXT,
    study_date TEXT, accession TEXT, description TEXT, modalities TEXT,
    source TEXT,
    pinned INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    last_access REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    modality TEXT, number TEXT, description TEXT
);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    sop_class_uid TEXT,
    transfer_syntax TEXT,
    instance_number INTEGER,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_study ON instances(study_uid);
CREATE INDEX IF NOT EXISTS instances_series ON instances(series_uid);
CREATE INDEX IF NOT EXISTS series_study ON series(study_uid);
"""


def _safe(uid: str) -> str:
    """A file name for a UID: the UID itself when well formed (PS3.5 9.1), else a hash."""
    uid = uid.strip().rstrip("\x00")
    if _UID_RE.match(uid) and len(uid) <= 64:
        return uid
    return "x" + hashlib.sha1(uid.encode()).hexdigest()


@dataclass(frozen=True)
class CachedInstance:
    sop_uid: str
    study_uid: str
    series_uid: str
    sop_class_uid: str
    transfer_syntax: str
    instance_number: int | None
    path: Path
    size: int


@dataclass(frozen=True)
class CachedStudy:
    study_uid: str
    info: dict[str, str]
    pinned: bool
    last_access: float
    instances: int
    size: int


@dataclass
class IntegrityReport:
    """What :meth:`Cache.check` found and repaired."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)  # indexed, file gone or wrong size
    corrupt: list[str] = field(default_factory=list)  # file unreadable or wrong UID (deep check)
    partial_removed: list[Path] = field(default_factory=list)  # *.part left by a crash
    reindexed: list[Path] = field(default_factory=list)  # complete files missing from the index

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt)


@dataclass(frozen=True)
class CacheLimits:
    """``[cache]`` settings: ``max_gb`` and ``max_age_days`` (0 = no limit)."""

    max_bytes: int = 0
    max_age_days: float = 0.0

    @classmethod
    def from_config(cls, config: Config | None = None) -> CacheLimits:
        section = (config or load_config()).section("cache")
        return cls(
            max_bytes=int(float(section.get("max_gb", 0)) * 1e9),
            max_age_days=float(section.get("max_age_days", 0)),
        )


_STUDY_FIELDS = {
    "PatientID": "patient_id",
    "IssuerOfPatientID": "issuer",
    "PatientName": "patient_name",
    "PatientBirthDate": "birth_date",
    "StudyDate": "study_date",
    "AccessionNumber": "accession",
    "StudyDescription": "description",
    "ModalitiesInStudy": "modalities",
}


class Cache:
    """The instance cache; safe to use from several threads at once."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else regard_home() / "cache"
        self.studies_dir = self.root / "studies"
        self.studies_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # the database connection
        self._rows_lock = threading.Lock()  # _pending, so that a flush blocks no writer
        self._known: set[tuple[str, str]] = set()  # (study, series) rows known to exist
        self._pending: list[tuple[Any, ...]] = []  # deferred instance rows (see flush)
        self._folders: dict[tuple[str, str], tuple[str, str, Path]] = {}  # series folders made
        self._db = sqlite3.connect(
            self.root / "index.sqlite", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # bytes indexed, as far as this object knows: counted once, then kept up to
        # date by what it stores; None when unknown (see evict)
        self._total: int | None = None

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- paths -------------------------------------------------------------------

    def series_dir(self, study_uid: str, series_uid: str) -> Path:
        return self.studies_dir / _safe(study_uid) / _safe(series_uid)

    def instance_path(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return self.series_dir(study_uid, series_uid) / f"{_safe(sop_uid)}.dcm"

    # --- writing -----------------------------------------------------------------

    def store(
        self,
        chunks: Iterable[bytes | memoryview],
        *,
        study_uid: str,
        series_uid: str,
        sop_uid: str,
        sop_class_uid: str = "",
        transfer_syntax: str = "",
        instance_number: int | None = None,
        deferred: bool = False,
    ) -> Path:
        """Write one Part 10 file from ``chunks`` atomically and index it; return its path.

        ``deferred`` queues the index row for :meth:`flush` (one transaction for many rows,
        what a retrieve does). The file is complete either way; a crash before the flush
        leaves complete files without rows, which :meth:`check` indexes again.
        """
        # os.path strings, one writev: this runs 600 times a second in writer threads
        # that share the GIL with the thread reading the network
        folder, rel_folder, folder_path = self._series_folder(study_uid, series_uid)
        name = f"{_safe(sop_uid)}.dcm"
        final = os.path.join(folder, name)
        try:
            fd, part = _open_new(folder, final)
        except FileNotFoundError:  # the folder was removed behind our back
            os.makedirs(folder, exist_ok=True)
            fd, part = _open_new(folder, final)
        try:
            try:
                size = _write_all(fd, chunks)
                _publish(fd, part, final)
            finally:
                os.close(fd)
        except BaseException:
            if part is not None:
                with contextlib.suppress(OSError):
                    os.unlink(part)
            raise
        path = folder_path / name  # parses the name only, not the whole path
        now = time.time()
        row = (sop_uid, study_uid, series_uid, sop_class_uid, transfer_syntax, instance_number,
               os.path.join(rel_folder, name), size, now)  # fmt: skip
        if (study_uid, series_uid) not in self._known:
            with self._lock:
                self._db.execute(
                    "INSERT OR IGNORE INTO studies (study_uid, created, last_access) "
                    "VALUES (?,?,?)",
                    (study_uid, now, now),
                )
                self._db.execute(
                    "INSERT OR IGNORE INTO series (series_uid, study_uid) VALUES (?,?)",
                    (series_uid, study_uid),
                )
                self._known.add((study_uid, series_uid))
        if not deferred:
            with self._lock:
                self._db.execute("INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?)", row)
                self._grown(size)
            return path
        with self._rows_lock:
            self._pending.append(row)
            full = len(self._pending) >= 256
        if full:
            self.flush()
        return path

    def _series_folder(self, study_uid: str, series_uid: str) -> tuple[str, str, Path]:
        """A series' folder (created): as a string, relative to the cache root, as a Path."""
        key = (study_uid, series_uid)
        known = self._folders.get(key)
        if known is None:
            path = self.series_dir(study_uid, series_uid)
            path.mkdir(parents=True, exist_ok=True)
            known = (str(path), str(path.relative_to(self.root)), path)
            self._folders[key] = known
        return known

    def flush(self) -> None:
        """Write the deferred index rows in one transaction.

        Rows are taken under the database lock, so a reader of the index that waited
        for a flush in another thread sees them; writers only append to ``_pending``
        (another lock) and go on while the transaction is written.
        """
        with self._lock:
            with self._rows_lock:
                rows, self._pending = self._pending, []
            if not rows:
                return
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?)", rows
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._grown(sum(row[7] for row in rows))

    def set_study_info(
        self, study_uid: str, info: Mapping[str, Any], source: str | None = None
    ) -> None:
        """Remember a study's descriptive attributes (from the query) for offline search."""
        now = time.time()
        values = {col: _text(info.get(key)) for key, col in _STUDY_FIELDS.items() if key in info}
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO studies (study_uid, created, last_access) VALUES (?,?,?)",
                (study_uid, now, now),
            )
            if source is not None:
                values["source"] = source
            if values:
                cols = ", ".join(f"{c}=?" for c in values)
                self._db.execute(
                    f"UPDATE studies SET {cols} WHERE study_uid=?", (*values.values(), study_uid)
                )

    def set_series_info(self, study_uid: str, series_uid: str, info: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO series VALUES (?,?,?,?,?)",
                (
                    series_uid,
                    study_uid,
                    _text(info.get("Modality")),
                    _text(info.get("SeriesNumber")),
                    _text(info.get("SeriesDescription")),
                ),
            )

    # --- reading -----------------------------------------------------------------

    def has(self, sop_uid: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM instances WHERE sop_uid=?", (sop_uid,)).fetchone()
        return row is not None

    def cached_sop_uids(self, study_uid: str) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT sop_uid FROM instances WHERE study_uid=?", (study_uid,)
            ).fetchall()
        return {r[0] for r in rows}

    def count(self, study_uid: str, series_uid: str) -> int:
        """Number of indexed instances of a series."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM instances WHERE study_uid=? AND series_uid=?",
                (study_uid, series_uid),
            ).fetchone()
        return int(row[0])

    def instances(self, study_uid: str, series_uid: str | None = None) -> list[CachedInstance]:
        sql = "SELECT * FROM instances WHERE study_uid=?"
        args: tuple[str, ...] = (study_uid,)
        if series_uid:
            sql += " AND series_uid=?"
            args += (series_uid,)
        sql += " ORDER BY series_uid, instance_number, sop_uid"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [self._instance(r) for r in rows]

    def _instance(self, row: tuple[Any, ...]) -> CachedInstance:
        sop, study, series, cls, ts, number, rel, size, _ = row
        return CachedInstance(
            sop, study, series, cls or "", ts or "", number, self.root / rel, size
        )

    def studies(self) -> list[CachedStudy]:
        with self._lock:
            rows = self._db.execute(
                "SELECT s.*, COUNT(i.sop_uid), COALESCE(SUM(i.size), 0) FROM studies s "
                "LEFT JOIN instances i ON i.study_uid = s.study_uid GROUP BY s.study_uid "
                "ORDER BY s.last_access DESC"
            ).fetchall()
            names = [d[0] for d in self._db.execute("SELECT * FROM studies LIMIT 0").description]
        out = []
        for row in rows:
            rec = dict(zip(names, row[: len(names)], strict=True))
            info = {key: rec[col] or "" for key, col in _STUDY_FIELDS.items()}
            info["StudyInstanceUID"] = rec["study_uid"]
            info["source"] = rec["source"] or ""
            out.append(
                CachedStudy(
                    rec["study_uid"],
                    info,
                    bool(rec["pinned"]),
                    rec["last_access"],
                    row[-2],
                    row[-1],
                )
            )
        return out

    def series_info(self, study_uid: str) -> list[dict[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT s.series_uid, s.modality, s.number, s.description, COUNT(i.sop_uid) "
                "FROM series s "
                "LEFT JOIN instances i ON i.series_uid = s.series_uid WHERE s.study_uid=? "
                "GROUP BY s.series_uid",
                (study_uid,),
            ).fetchall()
        return [
            {"StudyInstanceUID": study_uid, "SeriesInstanceUID": uid, "Modality": mod or "",
             "SeriesNumber": num or "", "SeriesDescription": desc or "",
             "NumberOfSeriesRelatedInstances": str(n)}
            for uid, mod, num, desc, n in rows
        ]  # fmt: skip

    def total_size(self) -> int:
        """Bytes of the indexed instances (a sum over the whole index)."""
        with self._lock:
            total = int(
                self._db.execute("SELECT COALESCE(SUM(size), 0) FROM instances").fetchone()[0]
            )
            self._total = total
        return total

    def _grown(self, size: int) -> None:
        """Count ``size`` more bytes indexed (caller holds the lock). A replaced row is
        counted twice: the total errs on the high side, which only costs an exact sum."""
        if self._total is not None:
            self._total += size

    def touch(self, study_uid: str) -> None:
        """Mark a study as just used (for least-recently-used eviction)."""
        with self._lock:
            self._db.execute(
                "UPDATE studies SET last_access=? WHERE study_uid=?", (time.time(), study_uid)
            )

    def pin(self, study_uid: str, pinned: bool = True) -> None:
        """Pinned studies are never evicted (e.g. prefetched for a mobile unit)."""
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO studies (study_uid, created, last_access) VALUES (?,?,?)",
                (study_uid, now, now),
            )
            self._db.execute(
                "UPDATE studies SET pinned=? WHERE study_uid=?", (int(pinned), study_uid)
            )

    # --- maintenance ---------------------------------------------------------------

    def delete_study(self, study_uid: str) -> None:
        """Remove a study's index rows first, then its files."""
        import shutil

        with self._lock:
            self._total = None  # counted again when next needed (eviction is rare)
            self._known = {k for k in self._known if k[0] != study_uid}
            self._folders = {k: v for k, v in self._folders.items() if k[0] != study_uid}
            self._db.execute("DELETE FROM instances WHERE study_uid=?", (study_uid,))
            self._db.execute("DELETE FROM series WHERE study_uid=?", (study_uid,))
            self._db.execute("DELETE FROM studies WHERE study_uid=?", (study_uid,))
        shutil.rmtree(self.studies_dir / _safe(study_uid), ignore_errors=True)

    def evict(
        self, limits: CacheLimits | None = None, now: float | None = None, keep: Iterable[str] = ()
    ) -> list[str]:
        """Evict unpinned studies older than the age limit, then least recently used ones
        until the cache fits the size limit; return the evicted Study Instance UIDs."""
        limits = limits or CacheLimits.from_config()
        now = time.time() if now is None else now
        evicted: list[str] = []
        if limits.max_bytes <= 0 and limits.max_age_days <= 0:
            return evicted
        # Called after every retrieve: the running total (exact once over the limit)
        # and the studies' ages decide whether anything is to go, without a sum over
        # the whole index each time. Bytes another process indexed meanwhile are seen
        # at the next exact count (a new Cache, or once this one's total says over).
        with self._lock:
            total = self._total
        if total is None or (limits.max_bytes > 0 and total > limits.max_bytes):
            total = self.total_size()
        oldest = now - limits.max_age_days * 86400 if limits.max_age_days > 0 else None
        if not (limits.max_bytes > 0 and total > limits.max_bytes):
            if oldest is None:
                return evicted
            where = "pinned = 0 AND last_access < ?"
            args: tuple[float, ...] = (oldest,)
        else:
            where, args = "pinned = 0", ()
        with self._lock:
            rows = self._db.execute(
                f"SELECT study_uid, last_access FROM studies WHERE {where} "
                "ORDER BY last_access ASC",
                args,
            ).fetchall()
        kept = set(keep)
        for study_uid, last_access in rows:
            if study_uid in kept:
                continue
            too_old = limits.max_age_days > 0 and now - last_access > limits.max_age_days * 86400
            too_big = limits.max_bytes > 0 and total > limits.max_bytes
            if not (too_old or too_big):
                continue
            size = self._study_size(study_uid)
            self.delete_study(study_uid)
            total -= size
            evicted.append(study_uid)
        if evicted:
            log.info("cache: evicted %d studies", len(evicted))
        return evicted

    def _study_size(self, study_uid: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM instances WHERE study_uid=?", (study_uid,)
            ).fetchone()
        return int(row[0])

    def check(self, deep: bool = False) -> IntegrityReport:
        """Verify and repair the cache (index rows vs files).

        Rows whose file is missing or has the wrong size are dropped (the instance will be
        fetched again); leftover ``*.part`` files are deleted; complete files without a row
        are indexed from their header. ``deep`` also parses every file and checks that its
        SOP Instance UID (0008,0018) is the indexed one.
        """
        report = IntegrityReport()
        self.flush()
        with self._lock:
            rows = self._db.execute("SELECT * FROM instances").fetchall()
        indexed: set[Path] = set()
        for row in rows:
            inst = self._instance(row)
            indexed.add(inst.path)
            report.checked += 1
            try:
                size = inst.path.stat().st_size
            except OSError:
                size = -1
            if size != inst.size:
                report.missing.append(inst.sop_uid)
                self._drop(inst)
                continue
            if deep and not _header_matches(inst.path, inst.sop_uid):
                report.corrupt.append(inst.sop_uid)
                self._drop(inst)
        for path in self.studies_dir.rglob("*"):
            if path.name.endswith(".part"):
                path.unlink(missing_ok=True)
                report.partial_removed.append(path)
            elif path.suffix == ".dcm" and path not in indexed and self._reindex(path):
                report.reindexed.append(path)
        return report

    def _drop(self, inst: CachedInstance) -> None:
        with self._lock:
            self._total = None
            self._db.execute("DELETE FROM instances WHERE sop_uid=?", (inst.sop_uid,))
        inst.path.unlink(missing_ok=True)

    def _reindex(self, path: Path) -> bool:
        from pydicom import dcmread

        try:
            ds = dcmread(path, stop_before_pixels=True)
            study, series, sop = ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
        except Exception:
            log.warning("cache: removing unreadable file %s", path.name)
            path.unlink(missing_ok=True)
            return False
        if path != self.instance_path(study, series, sop):
            path.unlink(missing_ok=True)
            return False
        number = ds.get("InstanceNumber")
        with self._lock:
            self._total = None
            self._db.execute(
                "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    sop,
                    study,
                    series,
                    str(ds.get("SOPClassUID", "")),
                    str(ds.file_meta.TransferSyntaxUID),
                    int(number) if number is not None else None,
                    str(path.relative_to(self.root)),
                    path.stat().st_size,
                    time.time(),
                ),
            )
            now = time.time()
            self._db.execute(
                "INSERT OR IGNORE INTO studies (study_uid, created, last_access) VALUES (?,?,?)",
                (study, now, now),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO series (series_uid, study_uid) VALUES (?,?)", (series, study)
            )
        return True


_TMPFILE = getattr(os, "O_TMPFILE", 0)
_proc_fd: int | None = None  # /proc/self/fd, for linkat() of an O_TMPFILE file


def _proc_fds() -> int | None:
    global _proc_fd
    if _proc_fd is None:
        try:
            _proc_fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            _proc_fd = -1
    return _proc_fd if _proc_fd >= 0 else None


def _open_new(folder: str, final: str) -> tuple[int, str | None]:
    """A file to write one instance into, not yet visible under its name.

    Linux: an unnamed O_TMPFILE file in ``folder``, given its name by :func:`_publish`
    once complete; nothing of it is left if we fail or crash, and the inode is
    allocated without the folder's lock (two writers creating files in one folder
    waited on each other's inode allocation). Elsewhere: ``<final>.<thread>.part``,
    renamed once complete. Returns the descriptor and the ``.part`` path, if any.
    """
    global _TMPFILE
    if _TMPFILE and _proc_fds() is not None:
        try:
            return os.open(folder, os.O_WRONLY | _TMPFILE | os.O_CLOEXEC, 0o644), None
        except FileNotFoundError:
            raise
        except OSError as exc:  # a file system without O_TMPFILE (EOPNOTSUPP, EISDIR)
            log.debug("cache: no O_TMPFILE in %s (%s), using .part files", folder, exc)
            _TMPFILE = 0
    part = f"{final}.{threading.get_ident()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    return os.open(part, flags, 0o644), part


def _publish(fd: int, part: str | None, final: str) -> None:
    """Give the complete file its name ``final`` (replacing a file of that name)."""
    if part is not None:
        os.replace(part, final)
        return
    proc = _proc_fds()
    try:
        os.link(str(fd), final, src_dir_fd=proc, follow_symlinks=True)
    except FileExistsError:  # a file left without index row: replace it atomically
        spare = f"{final}.{threading.get_ident()}.part"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spare)
        os.link(str(fd), spare, src_dir_fd=proc, follow_symlinks=True)
        try:
            os.replace(spare, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(spare)
            raise


def _write_all(fd: int, chunks: Iterable[bytes | memoryview]) -> int:
    """Write every chunk to ``fd`` (one ``writev`` when possible); return the byte count.

    A chunk with a ``write_to(fd)`` method (a WADO-RS part waiting in a pipe,
    :class:`~viewer.archive.fastweb.PipedPart`) writes itself.
    """
    if isinstance(chunks, (list, tuple)) and any(hasattr(c, "write_to") for c in chunks):
        total = 0
        for chunk in chunks:
            if hasattr(chunk, "write_to"):
                total += chunk.write_to(fd)
            else:
                total += _write_all(fd, [chunk])
        return total
    if isinstance(chunks, (list, tuple)) and hasattr(os, "writev"):
        pending = [memoryview(c).cast("B") for c in chunks if len(c)]
        total = sum(len(c) for c in pending)
        while pending:
            done = os.writev(fd, pending[:1024])  # IOV_MAX
            while pending and done >= len(pending[0]):
                done -= len(pending[0])
                pending.pop(0)
            if pending and done:
                pending[0] = pending[0][done:]
        return total
    total = 0
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view:
            n = os.write(fd, view)
            view = view[n:]
            total += n
    return total


def _header_matches(path: Path, sop_uid: str) -> bool:
    from pydicom import dcmread

    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
        return str(ds.SOPInstanceUID) == sop_uid
    except Exception:
        return False


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    return str(value)
