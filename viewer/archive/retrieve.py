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

import collections
import contextlib
import logging
import math
import queue
import sys
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
_PIPELINE_BATCH = 40  # instances per C-GET of the parallel DIMSE retrieve
_DIMSE_SERIES_LEVEL = True  # a series with nothing cached: one SERIES-level C-GET
_WRITER_THREADS = 2


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


class _Writer:
    """Threads writing received instances to the cache while the network keeps receiving.

    Storing (file write, rename, index row) costs ~0.5 ms an instance; done in the
    receiving thread it delays the next read (WADO-RS) or the C-STORE response that
    the archive waits for before sending the next instance (C-GET/C-MOVE).

    Up to ``limit`` bytes wait in the queue, so a busy moment of the disk does not stop
    the network; once ``cancel`` is set, what still waits is dropped (fetched again by
    a resume), so a cancel is not followed by seconds of writing. (Writer threads at a
    lower priority were tried: on a machine busy with other processes they fell behind
    and the retrieve got slower.)
    """

    def __init__(
        self, run: _Run, threads: int = 2, limit: int = 96 << 20, cancel: Any = None
    ) -> None:
        self.run = run
        self.cancel = cancel
        self.queue: collections.deque[tuple[Any, ...] | None] = collections.deque()
        lock = threading.Lock()
        self.filled = threading.Condition(lock)  # writers wait for an item
        self.room = threading.Condition(lock)  # put() waits for bytes to be written
        self.queued = 0  # bytes queued or being written
        self.limit = limit
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._loop, name=f"cache-writer-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def put(self, item: tuple[Any, ...]) -> None:
        if self.errors:
            raise self.errors[0]
        size = sum(len(c) for c in item[0])
        with self.room:
            while self.queued and self.queued + size > self.limit and not self.errors:
                self.room.wait()
            self.queued += size
            self.queue.append(item)
            self.filled.notify()  # one writer, not all of them

    def _take(self) -> tuple[Any, ...] | None:
        with self.filled:
            while not self.queue:
                self.filled.wait()
            return self.queue.popleft()

    def _done(self, item: tuple[Any, ...]) -> None:
        with self.room:
            self.queued -= sum(len(c) for c in item[0])
            self.room.notify()

    def _loop(self) -> None:
        while True:
            item = self._take()
            if item is None:
                return
            self._write(item)
            item = None  # let go of the part's buffer now: the reader reuses it

    def _write(self, item: tuple[Any, ...]) -> None:
        try:
            if self.cancel is None or not self.cancel.is_set():
                self.run.store(*item)  # else dropped: a cancel stops the writing too
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self._done(item)

    def close(self) -> None:
        """Write what is queued, stop the threads; raise the first storing error.

        The closing thread (the network one, idle now) writes queued items too: the
        last parts arrive faster than two writers store them, and the retrieve is
        over only once they are stored.
        """
        while True:
            with self.filled:
                item = self.queue.popleft() if self.queue else None
            if item is None:
                break
            self._write(item)
            item = None
        with self.filled:
            self.queue.extend([None] * len(self.threads))
            self.filled.notify_all()
        for thread in self.threads:
            thread.join()
        self.run.cache.flush()
        if self.errors:
            raise self.errors[0]


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
    report_lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    nbytes: int = 0
    first_at: float | None = None
    paths: list[Path] = field(default_factory=list)
    stored: set[str] = field(default_factory=set)
    inflight: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)  # already cached before this retrieve
    writer: _Writer | None = None
    first_uid: str | None = None  # the instance fetched alone first
    gate: threading.Event | None = None  # set once the first image is stored (streams wait)
    early: dict[str, Any] = field(default_factory=dict)  # series UID -> request already sent

    def store(
        self,
        chunks: Sequence[bytes | memoryview],
        sop_uid: str,
        sop_class: str,
        ts: str,
        series_uid: str | None = None,
    ) -> None:
        """Store one received instance (once, even if two requests deliver it) and report it."""
        with self.lock:
            if sop_uid in self.stored or sop_uid in self.inflight or sop_uid in self.skip:
                return
            self.inflight.add(sop_uid)
        try:
            row = self.by_sop.get(sop_uid)
            if row is None:
                if series_uid:
                    row = {"SeriesInstanceUID": series_uid}
                else:
                    data = b"".join(bytes(c) for c in chunks)  # a piped part is read once
                    chunks = [data]
                    row = _header_row(data, sop_uid)
            if row.get("StudyInstanceUID", self.study_uid) != self.study_uid:
                raise ArchiveError(f"the archive sent an instance of another study ({sop_uid})")
            path = self.cache.store(
                chunks,
                study_uid=self.study_uid,
                series_uid=str(row["SeriesInstanceUID"]),
                sop_uid=sop_uid,
                sop_class_uid=sop_class or str(row.get("SOPClassUID", "")),
                transfer_syntax=ts,
                instance_number=_int(row.get("InstanceNumber")),
                deferred=True,
            )
        except BaseException:
            with self.lock:
                self.inflight.discard(sop_uid)
            raise
        size = sum(len(c) for c in chunks)
        with self.report_lock:  # callbacks in order, one at a time
            with self.lock:
                # stored before leaving inflight: a second delivery of this instance
                # must not write it again
                self.stored.add(sop_uid)
                self.inflight.discard(sop_uid)
                self.done += 1
                self.nbytes += size
                self.paths.append(path)
                if self.first_at is None:
                    self.first_at = time.monotonic()
                snapshot = self.snapshot() if self.progress is not None else None
            if self.on_instance is not None:
                self.on_instance(path)
            if snapshot is not None:
                self.progress(snapshot)  # type: ignore[misc]

    def submit(
        self,
        chunks: Sequence[bytes | memoryview],
        sop_uid: str,
        sop_class: str,
        ts: str,
        series_uid: str | None = None,
    ) -> None:
        """Hand a received instance to the writer threads (or store it now: without them,
        or when it is the first image, which must be reported before any other)."""
        if self.writer is None or sop_uid == self.first_uid:
            self.store(chunks, sop_uid, sop_class, ts, series_uid)
        else:
            self.writer.put((chunks, sop_uid, sop_class, ts, series_uid))

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


def _wait_gate(gate: threading.Event | None, cancel: _Either, name: str) -> None:
    """Wait until ``gate`` is set (the first image stored), or raise on cancellation."""
    if gate is None:
        return
    while not gate.wait(0.02):
        if cancel.is_set():
            raise RetrieveCancelled(f"retrieve from '{name}' cancelled")


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


@dataclass
class _Task:
    rows: list[dict[str, Any]] = field(default_factory=list)
    stream_series: str | None = None


@dataclass
class _Plan:
    """Instances to fetch (``missing``, listed) and series to stream whole (``streams``)."""

    first_series: str
    web: bool
    total: int = 0
    cached: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    cached_rows: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    streams: list[tuple[str, int]] = field(default_factory=list)  # (series UID, count)
    sop_classes: set[str] = field(default_factory=set)

    def tasks(self, already: set[str], workers: int) -> list[_Task]:
        """Cut the work: streams first (the chosen series first), then instance lists.

        Instance lists are grouped by series and cut into about ``workers`` contiguous
        pieces; with WADO-RS a series missing at least half its instances is streamed.
        """
        streams = sorted(self.streams, key=lambda s: s[0] != self.first_series)
        tasks = [_Task(stream_series=uid) for uid, _ in streams]
        by_series: dict[str, list[dict[str, Any]]] = {}
        for row in self.missing:
            if row["SOPInstanceUID"] not in already:
                by_series.setdefault(row["SeriesInstanceUID"], []).append(row)
        for uid, rows in by_series.items():
            size = int(rows[0].get("_series_size", len(rows)))
            if self.web and len(rows) > 4 and len(rows) >= size / 2:
                tasks.append(_Task(stream_series=uid))
                continue
            step = min(_MAX_UIDS_PER_REQUEST, max(1, math.ceil(len(rows) / workers)))
            tasks.extend(_Task(rows=rows[i : i + step]) for i in range(0, len(rows), step))
        return tasks


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

        ``first_series`` is the series whose first image (Instance Number 1) is fetched
        before anything else (default: ``series_uid``, else the first series by Series
        Number). Raises :class:`RetrieveCancelled` when ``cancel`` is set,
        :class:`ArchiveError` on failure; in both cases what was stored is complete and
        indexed, and a new call resumes where this one stopped.
        """
        started = time.monotonic()
        wanted = set(sop_uids) if sop_uids is not None else None
        early = self._send_early(study_uid, series_uid, wanted)
        try:
            return self._retrieve(
                study_uid, series_uid, wanted, started, early,
                progress, on_instance, cancel, first_series, study_info,
            )  # fmt: skip
        finally:
            for sock in early.values():  # asked for, but the plan did not stream it
                sock.close()

    def _send_early(
        self, study_uid: str, series_uid: str | None, wanted: set[str] | None
    ) -> dict[str, Any]:
        """WADO-RS: a whole series with nothing cached is asked for at once, before the
        series query, so the archive prepares it meanwhile (Orthanc takes 40-100 ms to
        send its first part); :meth:`_web_stream` reads that answer."""
        if self._web is None or not series_uid or wanted is not None:
            return {}
        if self.cache.count(study_uid, series_uid):
            return {}
        sent = self._web.send_retrieve(study_uid, series_uid)
        return {} if sent is None else {series_uid: sent}

    def _retrieve(
        self,
        study_uid: str,
        series_uid: str | None,
        wanted: set[str] | None,
        started: float,
        early: dict[str, Any],
        progress: Callable[[Progress], None] | None,
        on_instance: Callable[[Path], None] | None,
        cancel: threading.Event | None,
        first_series: str | None,
        study_info: Mapping[str, Any] | None,
    ) -> RetrieveResult:
        series_rows = self._series_rows(study_uid, series_uid)
        if not series_rows:
            raise ArchiveError(f"archive '{self.node.name}' has no such study or series")
        cached = self.cache.cached_sop_uids(study_uid)
        run = _Run(
            cache=self.cache,
            study_uid=study_uid,
            by_sop={},
            total=0,
            cached=0,
            progress=progress,
            on_instance=on_instance,
            started=started,
            skip=cached,
            early=early,
        )
        stop = threading.Event()
        either = _Either(cancel, stop)
        first = first_series or series_uid or series_rows[0]["SeriesInstanceUID"]
        run.writer = _Writer(run, threads=_WRITER_THREADS, cancel=either)
        try:
            plan = self._fetch_with_scp(
                run, series_rows, wanted, cached, first, either, stop, cancel
            )
        finally:
            writer, run.writer = run.writer, None
            if sys.exc_info()[0] is None:
                writer.close()
            else:
                with contextlib.suppress(BaseException):
                    writer.close()
        self._verify(run, plan)
        with contextlib.suppress(ArchiveError):
            self._remember_study(study_uid, study_info)
        return self._result(run, plan, study_uid, series_uid, started)

    def _fetch_with_scp(
        self,
        run: _Run,
        series_rows: list[dict[str, Any]],
        wanted: set[str] | None,
        cached: set[str],
        first: str,
        either: _Either,
        stop: threading.Event,
        cancel: threading.Event | None,
    ) -> _Plan:
        """:meth:`_fetch`, with our storage SCP listening when retrieving by C-MOVE."""
        with contextlib.ExitStack() as stack:
            if self._dimse is not None and self.node.retrieve == "move":
                from viewer.archive.dimse import StorageSCP

                stack.enter_context(StorageSCP(self.local, self._dimse_sink(run), either))  # type: ignore[arg-type]
            return self._fetch(run, series_rows, wanted, cached, first, either, stop, cancel)

    def _result(
        self, run: _Run, plan: _Plan, study_uid: str, series_uid: str | None, started: float
    ) -> RetrieveResult:
        self.cache.touch(study_uid)
        self.cache.evict(self.limits or CacheLimits.from_config(), keep={study_uid})
        if series_uid:
            folder = self.cache.series_dir(study_uid, series_uid)
        else:
            folder = self.cache.series_dir(study_uid, "0").parent
        return RetrieveResult(
            study_uid=study_uid,
            series_uid=series_uid,
            instances=plan.total,
            fetched=run.done,
            cached=plan.cached,
            bytes=run.nbytes,
            seconds=time.monotonic() - started,
            first_image_seconds=None if run.first_at is None else run.first_at - started,
            folder=folder,
            paths=run.paths,
        )

    def _fetch(
        self,
        run: _Run,
        series_rows: list[dict[str, Any]],
        wanted: set[str] | None,
        cached: set[str],
        first: str,
        either: _Either,
        stop: threading.Event,
        cancel: threading.Event | None,
    ) -> _Plan:
        """First image (in a thread) while planning, then the rest in parallel."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="first-image") as probe_pool:
            probe = None
            if wanted is None:
                probe = probe_pool.submit(self._first_image, run, first, cached, either)
            classes = self._study_sop_classes(run.study_uid) if self._pipelined(wanted) else set()
            if classes:
                return self._parallel_dimse(
                    run, series_rows, cached, first, classes, either, stop, probe
                )
            try:
                plan = self._plan(run.study_uid, series_rows, wanted, cached, first)
            except BaseException:
                stop.set()
                raise
            run.total = plan.total
            run.cached = plan.cached
            for row in plan.rows:
                run.by_sop.setdefault(row["SOPInstanceUID"], row)
            self._announce_cached(
                run,
                plan,
                None if len(series_rows) > 1 else series_rows[0]["SeriesInstanceUID"],
                first,
            )
            if probe is not None and self._web is not None and plan.streams and not plan.missing:
                self._streams_with_probe(run, plan, probe, either, stop, cancel)
                return plan
            if probe is not None:
                try:
                    probe.result()
                except BaseException:
                    stop.set()
                    raise
        tasks = plan.tasks(run.stored, self.workers)
        if tasks:
            self._pool(run, tasks, plan.sop_classes, either, stop, cancel)
        elif run.progress is not None:
            run.progress(run.snapshot())
        return plan

    def _streams_with_probe(
        self,
        run: _Run,
        plan: _Plan,
        probe: Any,
        either: _Either,
        stop: threading.Event,
        cancel: threading.Event | None,
    ) -> None:
        """WADO-RS series streams asked for while the first image is still coming.

        Orthanc takes ~0.1 s (more when busy) to send the first part of a series
        retrieve; asked for only after the first image, that wait added to the
        retrieve. The streams' parts are held until the first image is stored
        (``run.gate``), so it is still reported before any other.
        """
        self._gate_on(run, probe, stop)
        pool_error: BaseException | None = None
        try:
            self._pool(run, plan.tasks(set(), self.workers), set(), either, stop, cancel)
        except BaseException as exc:
            pool_error = exc
        probe_error = probe.exception()
        if probe_error is not None:
            raise probe_error
        if pool_error is not None:
            raise pool_error

    @staticmethod
    def _gate_on(run: _Run, probe: Any, stop: threading.Event) -> None:
        """``run.gate`` opens when the first-image probe is over (``stop`` if it failed)."""
        gate = threading.Event()

        def probe_done(future: Any) -> None:
            if future.exception() is not None:
                stop.set()
            gate.set()

        run.gate = gate
        probe.add_done_callback(probe_done)

    def _pipelined(self, wanted: set[str] | None) -> bool:
        return self._dimse is not None and wanted is None

    def _study_sop_classes(self, study_uid: str) -> set[str]:
        """SOP Classes in Study (0008,0062), empty when the archive does not return it."""
        assert self._dimse is not None
        try:
            found = self._dimse.find(
                "study", {"StudyInstanceUID": study_uid}, ("StudyInstanceUID", "SOPClassesInStudy")
            )
        except ArchiveError:
            return set()
        value = found[0].get("SOPClassesInStudy") if found else None
        return set(value if isinstance(value, list) else [value] if value else [])

    def _parallel_dimse(
        self,
        run: _Run,
        series_rows: list[dict[str, Any]],
        cached: set[str],
        first: str,
        sop_classes: set[str],
        either: _Either,
        stop: threading.Event,
        probe: Any,
    ) -> _Plan:
        """DIMSE: fetch over ``workers`` associations.

        A series with nothing cached is fetched whole by one SERIES-level C-GET (or
        C-MOVE), like getscu, without listing it: on Orthanc that costs ~0.6 s of its
        CPU for 600 CT images against ~0.9 s for the same images asked by SOP Instance
        UID lists, plus ~0.1 s (and ~0.2 s of ours) for the listing, and on a busy
        2-core machine CPU is what the wall time follows. Several such series go to
        several associations at once. Other series (resume) are listed by an
        image-level C-FIND whose matches are cut into batches of ``_PIPELINE_BATCH``
        handed to the associations, each running one C-GET per batch on the same
        association, so the work stays balanced.
        """
        assert self._dimse is not None
        dimse = self._dimse
        plan = _Plan(first_series=first, web=False, sop_classes=sop_classes)
        run.total = sum(_int(s.get("NumberOfSeriesRelatedInstances")) or 0 for s in series_rows)
        batches: queue.Queue[list[dict[str, Any]] | str | None] = queue.Queue()
        errors: list[BaseException] = []

        def worker() -> None:
            current: dict[str, str] = {}
            sink = self._dimse_sink(run, current, either) if self.node.retrieve == "get" else None
            try:
                with dimse.session(self.node.retrieve, sop_classes, sink, either) as session:  # type: ignore[arg-type]
                    while (batch := batches.get()) is not None:
                        if either.is_set():
                            continue
                        if isinstance(batch, str):  # a whole series
                            current["series"] = batch
                            keys = {"StudyInstanceUID": run.study_uid, "SeriesInstanceUID": batch}
                            session.fetch("series", keys)
                            continue
                        current["series"] = batch[0]["SeriesInstanceUID"]
                        keys = {
                            "StudyInstanceUID": run.study_uid,
                            "SeriesInstanceUID": batch[0]["SeriesInstanceUID"],
                            "SOPInstanceUID": [r["SOPInstanceUID"] for r in batch],
                        }
                        session.fetch("image", keys)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        threads: list[threading.Thread] = []

        def start(count: int) -> None:
            for _ in range(count):
                name = f"retrieve-{len(threads)}"
                threads.append(threading.Thread(target=worker, name=name, daemon=True))
                threads[-1].start()

        try:
            # The listing runs alone (~50 ms for 600 matches with fastget; competing with
            # the transfers for the GIL it took over a second), then the batches go out.
            ordered = sorted(series_rows, key=lambda s: s["SeriesInstanceUID"] != first)
            for series in ordered:
                uid = series["SeriesInstanceUID"]
                count = _int(series.get("NumberOfSeriesRelatedInstances"))
                if (
                    _DIMSE_SERIES_LEVEL
                    and count
                    and not (cached and self.cache.count(run.study_uid, uid))
                ):
                    plan.streams.append((uid, count))
                    batches.put(uid)
                    if not threads and probe is not None and self.node.retrieve == "get":
                        # asked for now, stored after the first image (see _streams_with_probe)
                        self._gate_on(run, probe, stop)
                        start(1)
                    continue
                self._list_and_dispatch(run, plan, series, cached, batches, either)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        finally:
            if probe is not None:  # the first image is stored before any other
                try:
                    probe.result()
                except BaseException as exc:
                    errors.append(exc)
                    stop.set()
                probe = None
            # The other associations are opened only now, and only as many as there is
            # work for: idle ones would hold archive threads (Orthanc serves 4 DICOM
            # associations at once by default).
            wanted = min(self.workers, batches.qsize() + len(threads))
            start(max(0, wanted - len(threads)))
            for _ in threads:
                batches.put(None)
            for thread in threads:
                thread.join()
        if probe is not None:
            try:
                probe.result()
            except BaseException as exc:
                errors.append(exc)
        plan.total = len(plan.rows) + sum(count for _, count in plan.streams)
        plan.cached = len(plan.cached_rows)
        run.total, run.cached = plan.total, plan.cached
        if either.is_set() and not errors:
            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
        real = [e for e in errors if not isinstance(e, RetrieveCancelled)]
        if real or errors:
            raise (real or errors)[0]
        self._announce_cached(run, plan, None, first)
        if run.progress is not None and not run.done:
            run.progress(run.snapshot())
        return plan

    def _list_and_dispatch(
        self,
        run: _Run,
        plan: _Plan,
        series: Mapping[str, Any],
        cached: set[str],
        batches: queue.Queue[list[dict[str, Any]] | None],
        either: _Either,
    ) -> None:
        assert self._dimse is not None
        uid = series["SeriesInstanceUID"]
        keys = {"StudyInstanceUID": run.study_uid, "SeriesInstanceUID": uid}
        batch: list[dict[str, Any]] = []
        wanted = ("SOPInstanceUID", "InstanceNumber")
        found = self._dimse.fast_find_iter("image", keys, wanted, either)  # type: ignore[arg-type]
        for ds in found:
            sop = str(ds.get("SOPInstanceUID", ""))
            if not sop:
                continue
            row = {
                "SOPInstanceUID": sop,
                "InstanceNumber": str(ds.get("InstanceNumber", "") or ""),
                "SeriesInstanceUID": uid,
                "StudyInstanceUID": run.study_uid,
                "_series_order": _series_order(series),
            }
            plan.rows.append(row)
            run.by_sop.setdefault(sop, row)
            if sop in cached:
                plan.cached_rows.append(row)
                continue
            if sop == run.first_uid:
                continue
            batch.append(row)
            if len(batch) >= _PIPELINE_BATCH:
                batches.put(batch)
                batch = []
        if batch:
            batches.put(batch)

    def _series_rows(self, study_uid: str, series_uid: str | None) -> list[dict[str, Any]]:
        keys: dict[str, Any] = {"StudyInstanceUID": study_uid}
        if series_uid:
            keys["SeriesInstanceUID"] = series_uid
        rows = sorted(self.query("series", keys), key=_series_order)
        if series_uid and not rows:
            # Some archives do not match on the UID at series level: assume it exists.
            rows = [{"SeriesInstanceUID": series_uid, "StudyInstanceUID": study_uid}]
        return rows

    def _image_rows(self, study_uid: str, series: Mapping[str, Any]) -> list[dict[str, Any]]:
        uid = series["SeriesInstanceUID"]
        keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": uid}
        if self._dimse is not None:
            found = self._dimse.find("image", keys, ("SOPInstanceUID", "InstanceNumber"))
        else:
            found = self.query("image", keys)
        for row in found:
            row["SeriesInstanceUID"] = uid
            row["StudyInstanceUID"] = study_uid
            row["_series_order"] = _series_order(series)
            row["_series_size"] = len(found)
        return sorted(found, key=_instance_order)

    def _plan(
        self,
        study_uid: str,
        series_rows: list[dict[str, Any]],
        wanted: set[str] | None,
        cached: set[str],
        first: str,
    ) -> _Plan:
        """What to fetch: instance lists where needed, whole-series streams where possible.

        WADO-RS streams a series with nothing cached without listing it first (the count
        comes from the series query); DIMSE needs the SOP Instance UIDs to share them
        between associations.
        """
        plan = _Plan(first_series=first, web=self._web is not None)
        for series in series_rows:
            uid = series["SeriesInstanceUID"]
            count = _int(series.get("NumberOfSeriesRelatedInstances"))
            in_cache = self.cache.instances(study_uid, uid) if cached else []
            if self._web is not None and wanted is None and not in_cache and count:
                plan.streams.append((uid, count))
                plan.total += count
                continue
            rows = self._image_rows(study_uid, series)
            if wanted is not None:
                rows = [r for r in rows if r["SOPInstanceUID"] in wanted]
            plan.rows.extend(rows)
            plan.total += len(rows)
            plan.cached_rows.extend(r for r in rows if r["SOPInstanceUID"] in cached)
        plan.cached = len(plan.cached_rows)
        if self._dimse is not None and any(r["SOPInstanceUID"] not in cached for r in plan.rows):
            plan.sop_classes = self._sop_classes(study_uid, plan.rows)
        plan.missing = [r for r in plan.rows if r["SOPInstanceUID"] not in cached]
        plan.missing = self._ordered(plan.missing, first)
        return plan

    def _sop_classes(self, study_uid: str, rows: list[dict[str, Any]]) -> set[str]:
        """Storage SOP classes to accept: SOP Classes in Study (0008,0062), else per instance."""
        assert self._dimse is not None
        found = self._dimse.find(
            "study", {"StudyInstanceUID": study_uid}, ("StudyInstanceUID", "SOPClassesInStudy")
        )
        value = found[0].get("SOPClassesInStudy") if found else None
        classes = set(value if isinstance(value, list) else [value] if value else [])
        if classes:
            return classes
        for series_uid in {r["SeriesInstanceUID"] for r in rows}:
            keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
            for row in self._dimse.find("image", keys, ("SOPInstanceUID", "SOPClassUID")):
                if row.get("SOPClassUID"):
                    classes.add(str(row["SOPClassUID"]))
        return classes

    def _announce_cached(self, run: _Run, plan: _Plan, series_uid: str | None, first: str) -> None:
        if run.on_instance is None or not plan.cached_rows:
            return
        paths = {i.sop_uid: i.path for i in self.cache.instances(run.study_uid, series_uid)}
        for row in self._ordered(plan.cached_rows, first):
            path = paths.get(row["SOPInstanceUID"])
            if path is not None:
                run.on_instance(path)

    def _first_image(self, run: _Run, series_uid: str, cached: set[str], cancel: _Either) -> None:
        """Fetch Instance Number 1 of the chosen series alone, before everything else."""
        keys = {
            "StudyInstanceUID": run.study_uid,
            "SeriesInstanceUID": series_uid,
            "InstanceNumber": "1",
        }
        if self._dimse is not None:
            found = self._dimse.find("image", keys, ("SOPInstanceUID", "SOPClassUID"))
        else:
            found = self.query("image", keys)
        if len(found) != 1 or not found[0].get("SOPInstanceUID"):
            return
        row = {**found[0], "SeriesInstanceUID": series_uid, "StudyInstanceUID": run.study_uid}
        sop = str(row["SOPInstanceUID"])
        if sop in cached:
            return
        run.by_sop[sop] = row
        run.first_uid = sop
        if self._dimse is not None:
            classes = {str(row.get("SOPClassUID") or "")} - {""}
            if not classes:
                return
            self._dimse_task([row], run, classes, cancel)
        else:
            self._web_instances([row], run, cancel)

    def _verify(self, run: _Run, plan: _Plan) -> None:
        now_cached = self.cache.cached_sop_uids(run.study_uid)
        lost = sum(1 for r in plan.rows if r["SOPInstanceUID"] not in now_cached)
        for uid, count in plan.streams:
            lost += max(0, count - self.cache.count(run.study_uid, uid))
        if lost:
            raise ArchiveError(
                f"archive '{self.node.name}' did not send {lost} of {plan.total} instances"
            )

    def _remember_study(self, study_uid: str, info: Mapping[str, Any] | None) -> None:
        if info is None:
            found = self.query("study", {"StudyInstanceUID": study_uid})
            info = found[0] if found else {}
        self.cache.set_study_info(study_uid, info, source=self.node.name)

    @staticmethod
    def _ordered(rows: list[dict[str, Any]], first_series: str | None) -> list[dict[str, Any]]:
        """The chosen series first, then the others by Series Number; Instance Number inside."""

        def key(row: dict[str, Any]) -> tuple[Any, ...]:
            chosen = 0 if first_series and row["SeriesInstanceUID"] == first_series else 1
            order = row.get("_series_order", (0, ""))
            return (chosen, order, row["SeriesInstanceUID"], _instance_order(row))

        return sorted(rows, key=key)

    def _pool(
        self,
        run: _Run,
        tasks: list[_Task],
        sop_classes: set[str],
        either: _Either,
        stop: threading.Event,
        cancel: threading.Event | None,
    ) -> None:
        errors: list[BaseException] = []

        def work(task: _Task) -> None:
            if either.is_set():
                return
            try:
                if task.stream_series:
                    self._web_stream(task.stream_series, run, either)
                elif self._dimse is not None:
                    self._dimse_task(task.rows, run, sop_classes, either)
                else:
                    self._web_instances(task.rows, run, either)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        workers = min(self.workers, len(tasks))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retrieve") as pool:
            list(pool.map(work, tasks))
        if cancel is not None and cancel.is_set():
            raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
        real = [e for e in errors if not isinstance(e, RetrieveCancelled)]
        if real:
            raise real[0]
        if errors:
            raise errors[0]

    def _dimse_task(
        self, rows: list[dict[str, Any]], run: _Run, sop_classes: set[str], cancel: _Either
    ) -> None:
        assert self._dimse is not None
        keys = {
            "StudyInstanceUID": run.study_uid,
            "SeriesInstanceUID": rows[0]["SeriesInstanceUID"],
            "SOPInstanceUID": [r["SOPInstanceUID"] for r in rows],
        }
        if self.node.retrieve == "move":
            self._dimse.move("image", keys, cancel=cancel)  # type: ignore[arg-type]
        else:
            sink = self._dimse_sink(run)
            self._dimse.get("image", keys, sop_classes, sink, cancel=cancel)  # type: ignore[arg-type]

    def _web_stream(self, series_uid: str, run: _Run, cancel: _Either) -> None:
        """WADO-RS of a whole series, parts stored as they arrive."""
        assert self._web is not None

        def on_part(data: bytes, meta: dict[str, str]) -> None:
            _wait_gate(run.gate, cancel, self.node.name)
            run.submit(
                [data],
                meta["MediaStorageSOPInstanceUID"],
                meta.get("MediaStorageSOPClassUID", ""),
                meta["TransferSyntaxUID"],
                series_uid=series_uid,
            )

        self._web.retrieve(
            run.study_uid,
            series_uid,
            on_part=on_part,
            cancel=cancel,  # type: ignore[arg-type]
            live_parts=True,
            sent=run.early.pop(series_uid, None),
        )

    def _web_instances(self, rows: list[dict[str, Any]], run: _Run, cancel: _Either) -> None:
        """WADO-RS instance by instance (a few missing instances of a series)."""
        assert self._web is not None
        for row in rows:
            if cancel.is_set():
                raise RetrieveCancelled(f"retrieve from '{self.node.name}' cancelled")
            series_uid = row["SeriesInstanceUID"]

            def on_one(data: bytes, meta: dict[str, str], series_uid: str = series_uid) -> None:
                run.submit(
                    [data],
                    meta["MediaStorageSOPInstanceUID"],
                    meta.get("MediaStorageSOPClassUID", ""),
                    meta["TransferSyntaxUID"],
                    series_uid=series_uid,
                )

            self._web.retrieve(
                run.study_uid,
                series_uid,
                row["SOPInstanceUID"],
                on_part=on_one,
                cancel=cancel,  # type: ignore[arg-type]
                live_parts=True,
            )

    def _dimse_sink(
        self, run: _Run, current: Mapping[str, str] | None = None, gated: _Either | None = None
    ) -> Callable[[Any], None]:
        """Received instances to the writer; ``current["series"]`` is the series being
        fetched (its instances may not have been listed). With ``gated`` (the cancel
        event), instances wait for ``run.gate`` (the first image stored)."""

        def sink(received: Any) -> None:
            if gated is not None:
                _wait_gate(run.gate, gated, self.node.name)
            run.submit(
                received.parts(),
                received.sop_instance_uid,
                received.sop_class_uid,
                received.transfer_syntax_uid,
                series_uid=current.get("series") if current else None,
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
