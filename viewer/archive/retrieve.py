"""Retrieval that a radiologist feels: first image first, parallel, resumable, cancellable.

:class:`Retriever` fetches a study, a series or some instances from one archive into the
:class:`~viewer.archive.cache.Cache`:

1. list the instances (image-level C-FIND or QIDO-RS) and drop those already cached
   (resume: nothing cached is fetched again);
2. fetch the first image of the chosen series alone, so it can be shown at once;
3. fetch the rest over several associations (C-GET or C-MOVE) or HTTP streams (WADO-RS)
   in parallel worker threads;
4. report each stored file through ``on_instance(path)`` as soon as it is complete and
   the overall :class:`Progress` through ``progress(p)``; both are called from worker
   threads (a Qt caller forwards them with signals).

Cancellation is cooperative (a :class:`threading.Event`); the cache stays consistent
whatever happens (files are renamed into place only once complete).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viewer.archive.cache import Cache, CacheLimits
from viewer.archive.errors import ArchiveError, RetrieveCancelled
from viewer.archive.nodes import ArchiveNode, LocalAE, local_ae

log = logging.getLogger(__name__)

_MAX_UIDS_PER_REQUEST = 400


@dataclass(frozen=True)
class Progress:
    """A snapshot of a retrieve: instances and bytes so far, and the rate."""

    instances_done: int
    instances_total: int
    bytes_done: int
    elapsed: float
    cached: int = 0  # instances that were already in the cache (not fetched)

    @property
    def mb_per_s(self) -> float:
        return self.bytes_done / 1e6 / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def instances_per_s(self) -> float:
        return self.instances_done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class RetrieveResult:
    study_uid: str
    series_uid: str | None
    instances: int  # instances of the request now in the cache
    fetched: int  # of which fetched by this call
    cached: int  # of which already cached before
    bytes: int  # bytes fetched by this call
    seconds: float
    first_image_seconds: float | None
    folder: Path
    paths: list[Path] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        first = self.first_image_seconds
        return {
            "instances": self.instances,
            "path": str(self.folder),
            "seconds": round(self.seconds, 3),
            "fetched": self.fetched,
            "cached": self.cached,
            "bytes": self.bytes,
            "first_image_seconds": None if first is None else round(first, 3),
        }


class _Either:
    """An event set when either the caller's cancel or our own stop is set."""

    def __init__(self, *events: threading.Event | None) -> None:
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


@dataclass
class _Run:
    """Shared state of one retrieve (guarded by ``lock``)."""

    cache: Cache
    study_uid: str
    by_sop: dict[str, dict[str, Any]]
    total: int
    cached: int
    progress: Callable[[Progress], None] | None
    on_instance: Callable[[Path], None] | None
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    nbytes: int = 0
    first_at: float | None = None
    paths: list[Path] = field(default_factory=list)
    stored: set[str] = field(default_factory=set)

    def store(
        self, chunks: Sequence[bytes | memoryview], sop_uid: str, sop_class: str, ts: str
    ) -> None:
        row = self.by_sop.get(sop_uid)
        if row is None:
            row = _header_row(b"".join(bytes(c) for c in chunks), sop_uid)
        if row.get("StudyInstanceUID", self.study_uid) != self.study_uid:
            raise ArchiveError(f"the archive sent an instance of another study ({sop_uid})")
        with self.lock:
            if sop_uid in self.stored:
                return
        number = row.get("InstanceNumber")
        path = self.cache.store(
            chunks,
            study_uid=self.study_uid,
            series_uid=str(row["SeriesInstanceUID"]),
            sop_uid=sop_uid,
            sop_class_uid=sop_class or str(row.get("SOPClassUID", "")),
            transfer_syntax=ts,
            instance_number=_int(number),
        )
        size = sum(len(c) for c in chunks)
        with self.lock:
            if sop_uid in self.stored:
                return
            self.stored.add(sop_uid)
            self.done += 1
            self.nbytes += size
            self.paths.append(path)
            if self.first_at is None:
                self.first_at = time.monotonic()
            snapshot = self.snapshot()
        if self.on_instance is not None:
            self.on_instance(path)
        if self.progress is not None:
            self.progress(snapshot)

    def snapshot(self) -> Progress:
        return Progress(
            self.done + self.cached,
            self.total,
            self.nbytes,
            time.monotonic() - self.started,
            self.cached,
        )


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _header_row(data: bytes, sop_uid: str) -> dict[str, Any]:
    """Study/series UIDs of an instance the listing did not announce (read from its header)."""
    from io import BytesIO

    from pydicom import dcmread

    try:
        ds = dcmread(BytesIO(data), stop_before_pixels=True, force=True)
        return {
            "StudyInstanceUID": str(ds.StudyInstanceUID),
            "SeriesInstanceUID": str(ds.SeriesInstanceUID),
            "SOPClassUID": str(ds.get("SOPClassUID", "")),
            "InstanceNumber": ds.get("InstanceNumber"),
        }
    except Exception as exc:
        raise ArchiveError(
            f"received instance {sop_uid} has no readable study/series UIDs"
        ) from exc


def _instance_order(row: Mapping[str, Any]) -> tuple[int, str]:
    number = _int(row.get("InstanceNumber"))
    return (number if number is not None else 1 << 30, str(row.get("SOPInstanceUID")))


def _series_order(row: Mapping[str, Any]) -> tuple[int, str]:
    number = _int(row.get("SeriesNumber"))
    return (number if number is not None else 1 << 30, str(row.get("SeriesInstanceUID")))


class Retriever:
    """Fetch studies from one archive node into the cache (thread-safe; one per node is enough)."""

    def __init__(
        self,
        node: ArchiveNode,
        cache: Cache | None = None,
        local: LocalAE | None = None,
        associations: int | None = None,
        limits: CacheLimits | None = None,
    ) -> None:
        self.node = node
        self.cache = cache if cache is not None else Cache()
        self.local = local if local is not None else local_ae()
        self.workers = max(1, associations or node.associations)
        self.limits = limits
        if node.protocol == "dimse":
            from viewer.archive.dimse import DimseClient

            self._dimse = DimseClient(node, self.local)
            self._web = None
        else:
            from viewer.archive.dicomweb import DicomWebClient

            self._web = DicomWebClient(node)
            self._dimse = None

    # --- listing -----------------------------------------------------------------

    def query(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Search this archive (C-FIND or QIDO-RS); one dict per match, keyed by DICOM keyword."""
        if self._dimse is not None:
            return self._dimse.find(level, keys)
        assert self._web is not None
        return self._web.search(level, keys)

    def list_series(self, study_uid: str) -> list[dict[str, Any]]:
        return sorted(self.query("series", {"StudyInstanceUID": study_uid}), key=_series_order)

    def list_instances(self, study_uid: str, series_uid: str | None = None) -> list[dict[str, Any]]:
        """Every instance of a study or series: SOP Instance/Class UID, series, Instance Number."""
        series = [{"SeriesInstanceUID": series_uid}] if series_uid else self.list_series(study_uid)
        rows: list[dict[str, Any]] = []
        for item in series:
            uid = item["SeriesInstanceUID"]
            found = self.query("image", {"StudyInstanceUID": study_uid, "SeriesInstanceUID": uid})
            for row in found:
                row.setdefault("SeriesInstanceUID", uid)
                row["StudyInstanceUID"] = study_uid
                row["_series_order"] = _series_order(item)
                row["_series_size"] = len(found)
            rows.extend(sorted(found, key=_instance_order))
        return rows

    # --- retrieve ----------------------------------------------------------------

    def retrieve(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uids: Iterable[str] | None = None,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_instance: Callable[[Path], None] | None = None,
        cancel: threading.Event | None = None,
        first_series: str | None = None,
        study_info: Mapping[str, Any] | None = None,
    ) -> RetrieveResult:
        """Fetch a study (or one series, or some instances) into the cache.

        ``first_series`` is the series whose first image is fetched before anything else
        (default: ``series_uid``, else the first series by Series Number). Raises
        :class:`RetrieveCancelled` when ``cancel`` is set, :class:`ArchiveError` on failure;
        in both cases what was stored is complete and indexed, and a new call resumes.
        """
        started = time.monotonic()
        listing = self.list_instances(study_uid, series_uid)
        if sop_uids is not None:
            wanted_uids = set(sop_uids)
            listing = [r for r in listing if r["SOPInstanceUID"] in wanted_uids]
        if not listing:
            raise ArchiveError(f"archive '{self.node.name}' has no instance for this request")
        self._remember_study(study_uid, study_info)
        already = self.cache.cached_sop_uids(study_uid)
        missing = [r for r in listing if r["SOPInstanceUID"] not in already]
        run = _Run(
            cache=self.cache,
            study_uid=study_uid,
            by_sop={r["SOPInstanceUID"]: r for r in listing},
            total=len(listing),
            cached=len(listing) - len(missing),
            progress=progress,
            on_instance=on_instance,
            started=started,
        )
        if on_instance is not None and run.cached:
            cached_rows = [r for r in listing if r["SOPInstanceUID"] in already]
            paths = {i.sop_uid: i.path for i in self.cache.instances(study_uid, series_uid)}
            for row in self._ordered(cached_rows, first_series or series_uid):
                path = paths.get(row["SOPInstanceUID"])
                if path is not None:
                    on_instance(path)
        if missing:
            ordered = self._ordered(missing, first_series or series_uid)
            self._fetch(run, ordered, cancel)
        elif progress is not None:
            progress(run.snapshot())
        now_cached = self.cache.cached_sop_uids(study_uid)
        lost = [r for r in listing if r["SOPInstanceUID"] not in now_cached]
        if lost:
            raise ArchiveError(
                f"archive '{self.node.name}' did not send {len(lost)} of {len(listing)} instances"
            )
        self.cache.touch(study_uid)
        self.cache.evict(self.limits or CacheLimits.from_config(), keep={study_uid})
        if series_uid:
            folder = self.cache.series_dir(study_uid, series_uid)
        else:
            folder = self.cache.series_dir(study_uid, "0").parent
        return RetrieveResult(
            study_uid=study_uid,
            series_uid=series_uid,
            instances=len(listing),
            fetched=run.done,
            cached=run.cached,
            bytes=run.nbytes,
            seconds=time.monotonic() - started,
            first_image_seconds=None if run.first_at is None else run.first_at - started,
            folder=folder,
            paths=run.paths,
        )

    def _remember_study(self, study_uid: str, info: Mapping[str, Any] | None) -> None:
        if info is None:
            try:
                found = self.query("study", {"StudyInstanceUID": study_uid})
            except ArchiveError:
                found = []
            info = found[0] if found else {}
        self.cache.set_study_info(study_uid, info, source=self.node.name)

    @staticmethod
    def _ordered(rows: list[dict[str, Any]], first_series: str | None) -> list[dict[str, Any]]:
        """The chosen series first, then the others by Series Number; Instance Number inside."""

        def key(row: dict[str, Any]) -> tuple[Any, ...]:
            chosen = 0 if first_series and row["SeriesInstanceUID"] == first_series else 1
            return (
                chosen,
                row.get("_series_order", (0, "")),
                row["SeriesInstanceUID"],
                _instance_order(row),
            )

        return sorted(rows, key=key)

    def _fetch(
        self, run: _Run, ordered: list[dict[str, Any]], cancel: threading.Event | None
    ) -> None:
        stop = threading.Event()
        either = _Either(cancel, stop)
        if self._dimse is not None and self.node.retrieve == "move":
            from viewer.archive.dimse import StorageSCP

            with StorageSCP(self.local, self._dimse_sink(run), either):  # type: ignore[arg-type]
                self._fetch_tasks(run, ordered, either, stop, cancel)
        else:
            self._fetch_tasks(run, ordered, either, stop, cancel)

    def _fetch_tasks(
        self,
        run: _Run,
        ordered: list[dict[str, Any]],
        either: _Either,
        stop: threading.Event,
        cancel: threading.Event | None,
    ) -> None:
        # The first image alone, at once; then the rest in parallel.
        self._task([ordered[0]], run, either)
        if either.is_set():
            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
        rest = ordered[1:]
        if not rest:
            return
        tasks = self._split(rest)
        errors: list[BaseException] = []

        def work(task: list[dict[str, Any]]) -> None:
            if either.is_set():
                return
            try:
                self._task(task, run, either)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(tasks)), thread_name_prefix="retrieve"
        ) as pool:
            list(pool.map(work, tasks))
        if cancel is not None and cancel.is_set():
            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
        real = [e for e in errors if not isinstance(e, RetrieveCancelled)]
        if real:
            raise real[0]
        if errors:
            raise errors[0]

    def _split(self, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Group by series, then cut each series into about ``workers`` contiguous tasks."""
        by_series: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_series.setdefault(row["SeriesInstanceUID"], []).append(row)
        tasks: list[list[dict[str, Any]]] = []
        for series_rows in by_series.values():
            if self._web is not None and self._whole_series_stream(series_rows):
                tasks.append(series_rows)
                continue
            size = min(_MAX_UIDS_PER_REQUEST, max(1, math.ceil(len(series_rows) / self.workers)))
            tasks.extend(series_rows[i : i + size] for i in range(0, len(series_rows), size))
        return tasks

    @staticmethod
    def _whole_series_stream(rows: list[dict[str, Any]]) -> bool:
        """WADO-RS: stream the series when most of it is missing, else ask per instance."""
        wanted = len(rows)
        series_size = int(rows[0].get("_series_size", wanted)) if rows else 0
        return wanted > 4 and wanted >= 0.5 * max(series_size, 1)

    def _task(self, rows: list[dict[str, Any]], run: _Run, cancel: _Either) -> None:
        series_uid = rows[0]["SeriesInstanceUID"]
        uids = [r["SOPInstanceUID"] for r in rows]
        if self._dimse is not None:
            keys = {
                "StudyInstanceUID": run.study_uid,
                "SeriesInstanceUID": series_uid,
                "SOPInstanceUID": uids,
            }
            if self.node.retrieve == "move":
                self._dimse.move("image", keys, cancel=cancel)  # type: ignore[arg-type]
            else:
                classes = {str(r.get("SOPClassUID") or "") for r in run.by_sop.values()} - {""}
                self._dimse.get("image", keys, classes, self._dimse_sink(run), cancel=cancel)  # type: ignore[arg-type]
            return
        assert self._web is not None
        if self._whole_series_stream(rows):
            wanted = set(uids)

            def on_part(data: bytes, meta: dict[str, str]) -> None:
                sop = meta["MediaStorageSOPInstanceUID"]
                if sop in wanted:
                    run.store(
                        [data],
                        sop,
                        meta.get("MediaStorageSOPClassUID", ""),
                        meta["TransferSyntaxUID"],
                    )

            self._web.retrieve(run.study_uid, series_uid, on_part=on_part, cancel=cancel)  # type: ignore[arg-type]
            return
        for sop in uids:
            if cancel.is_set():
                raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")

            def on_one(data: bytes, meta: dict[str, str]) -> None:
                run.store(
                    [data],
                    meta["MediaStorageSOPInstanceUID"],
                    meta.get("MediaStorageSOPClassUID", ""),
                    meta["TransferSyntaxUID"],
                )

            self._web.retrieve(run.study_uid, series_uid, sop, on_part=on_one, cancel=cancel)  # type: ignore[arg-type]

    @staticmethod
    def _dimse_sink(run: _Run) -> Callable[[Any], None]:
        def sink(received: Any) -> None:
            run.store(
                [received.file_meta, received.dataset],
                received.sop_instance_uid,
                received.sop_class_uid,
                received.transfer_syntax_uid,
            )

        return sink

    # --- prefetch ----------------------------------------------------------------

    def prefetch(
        self,
        study_uids: Iterable[str],
        pin: bool = True,
        progress: Callable[[str, Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[RetrieveResult]:
        """Fetch several whole studies (e.g. before a mobile unit leaves coverage) and pin them
        so that eviction keeps them."""
        results = []
        for uid in study_uids:
            if pin:
                self.cache.pin(uid, True)

            def report(p: Progress, uid: str = uid) -> None:
                if progress is not None:
                    progress(uid, p)

            results.append(self.retrieve(uid, progress=report, cancel=cancel))
        return results
