"""Archive search and retrieval off the UI thread, and the per-study progress widget.

* :func:`search_task` — a :class:`viewer.ui.workers.Task` that records the QUERY with the
  access gate, then searches one archive or all of them (federated, merged by Study
  Instance UID, :mod:`viewer.archive.federated`) and returns a
  :class:`~viewer.archive.federated.FederatedResult`.
* :class:`RetrieveJob` — a :class:`QRunnable` that records RETRIEVE, fetches the chosen
  series first (``arrived`` carries the paths of its instances as they are stored, so the
  viewer shows the first image at once, :mod:`viewer.ui.streaming`; ``first_ready`` is
  emitted with its cache folder as soon as it is complete, so the viewer opens it while the
  rest streams in), then the rest of the study, and records TRANSFERRED. Progress is
  throttled (``PROGRESS_INTERVAL``, PLATFORM.md: keep emits modest).
  Cancelling keeps what arrived: the next job on the same study fetches only what is
  missing (the cache's resume, :mod:`viewer.archive.retrieve`).
* :class:`RetrievalWidget` — one row per study: label, progress bar (instances, MB, rate)
  and a Cancel button.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from viewer.ui.i18n import tr
from viewer.ui.workers import PROGRESS_INTERVAL, Task

log = logging.getLogger(__name__)

ARRIVAL_INTERVAL = 0.5


def _patient_ref(info: Mapping[str, Any]) -> Any:
    from viewer.access.patient import PatientRef

    pid = str(info.get("PatientID", "") or "")
    if not pid:
        return None
    return PatientRef(id=pid, issuer=str(info.get("IssuerOfPatientID", "") or ""))


def search_task(sources: Sequence[Any], level: str, keys: Mapping[str, Any]) -> Task:
    """Record the QUERY for each archive, then search them in parallel (in the pool)."""

    def work(progress: Any, cancel: threading.Event) -> Any:
        from viewer.access.gate import AccessGate, Action
        from viewer.archive.federated import federated_search

        gate = AccessGate()
        for source in sources:
            gate.authorize_and_record(Action.QUERY, archive=source.name,
                                      detail={"level": level, "keys": dict(keys)})
        return federated_search(list(sources), level, keys)

    return Task(work)


class RetrieveSignals(QObject):
    progress = Signal(int, int, float, float)  # instances done, total, MB done, MB/s
    # paths (str) of the chosen series' instances stored since the last report, and the
    # series' instance count when known (0 before the archive said): the first path alone
    # at once, then batches at most every ARRIVAL_INTERVAL, all before first_ready
    arrived = Signal(object, int)
    first_ready = Signal(str)  # cache folder of the chosen series, complete
    finished = Signal(object)  # RetrieveResult of the whole study
    failed = Signal(str)  # one line naming the archive
    cancelled = Signal()


class RetrieveJob(QRunnable):
    """Fetch ``study_uid`` from ``source`` (chosen series first) in the thread pool."""

    def __init__(self, source: Any, study: Mapping[str, Any], first_series: str | None) -> None:
        super().__init__()
        self.source = source
        self.study = dict(study)
        self.study_uid = str(study["StudyInstanceUID"])
        self.first_series = first_series
        self.signals = RetrieveSignals()
        self.cancel_event = threading.Event()
        self._last = 0.0
        self._arrival_lock = threading.Lock()
        self._arrivals: list[str] = []
        self._arrivals_sent = 0.0  # monotonic time of the last report, 0: none yet
        self._series_total = 0
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def _progress(self, p: Any) -> None:
        now = time.monotonic()
        last = p.instances_total and p.instances_done >= p.instances_total
        if last or now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self.signals.progress.emit(int(p.instances_done), int(p.instances_total),
                                       p.bytes_done / 1e6, float(p.mb_per_s))

    def _first_progress(self, p: Any) -> None:
        self._series_total = int(p.instances_total)
        self._progress(p)

    def _arrived(self, path: Any) -> None:
        """One stored instance of the chosen series (a worker thread of the archive layer)."""
        with self._arrival_lock:
            self._arrivals.append(str(path))
            now = time.monotonic()
            if self._arrivals_sent and now - self._arrivals_sent < ARRIVAL_INTERVAL:
                return
            self._arrivals_sent = now
            batch, self._arrivals = self._arrivals, []
        self.signals.arrived.emit(batch, self._series_total)

    def _flush_arrivals(self) -> None:
        with self._arrival_lock:
            batch, self._arrivals = self._arrivals, []
        if batch:
            self.signals.arrived.emit(batch, self._series_total)

    def _final(self, result: Any) -> None:
        """The last snapshot of a fetch, whatever the throttling dropped."""
        rate = result.bytes / 1e6 / result.seconds if result.seconds > 0 else 0.0
        self._last = time.monotonic()
        self.signals.progress.emit(int(result.instances), int(result.instances),
                                   result.bytes / 1e6, float(rate))

    def run(self) -> None:
        from viewer.access.gate import AccessGate, Action
        from viewer.archive.errors import RetrieveCancelled

        name = self.source.name
        fetched = 0
        gate = AccessGate()
        try:
            gate.authorize_and_record(Action.RETRIEVE, patient=_patient_ref(self.study),
                                      study_uids=[self.study_uid], archive=name)
            if self.first_series:
                first = self.source.fetch(self.study_uid, self.first_series,
                                          progress=self._first_progress,
                                          on_instance=self._arrived, cancel=self.cancel_event)
                fetched += first.fetched
                self._series_total = first.instances
                self._flush_arrivals()
                self._final(first)
                self.signals.first_ready.emit(str(first.folder))
            result = self.source.fetch(self.study_uid, progress=self._progress,
                                       cancel=self.cancel_event, first_series=self.first_series)
            fetched += result.fetched
            self._final(result)
        except RetrieveCancelled:
            self.signals.cancelled.emit()
            return
        except Exception as exc:
            if self.cancel_event.is_set():
                self.signals.cancelled.emit()
                return
            log.info("retrieve from %s failed: %s", name, exc)
            message = str(exc) or exc.__class__.__name__
            if name not in message:
                message = tr("Archive {name}: {error}").format(name=name, error=message)
            self.signals.failed.emit(message)
            return
        finally:
            if fetched:
                try:
                    gate.record(Action.TRANSFERRED, patient=_patient_ref(self.study),
                                study_uids=[self.study_uid], archive=name,
                                detail={"instances": fetched})
                except Exception:
                    log.exception("recording the transfer failed")
        self.signals.finished.emit(result)


class RetrievalWidget(QWidget):
    """Progress of one study's retrieval: label, bar (instances, MB, rate), Cancel."""

    def __init__(self, label: str, job: RetrieveJob, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(label)
        self.bar = QProgressBar()
        self.bar.setFormat(tr("waiting for the archive"))
        self.cancel_button = QPushButton(tr("Cancel"))
        lay.addWidget(self.label)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(job.cancel)
        job.signals.progress.connect(self.show_progress)
        job.signals.finished.connect(lambda _r: self._ended(tr("complete")))
        job.signals.cancelled.connect(lambda: self._ended(tr("cancelled")))
        job.signals.failed.connect(lambda _m: self._ended(tr("failed")))

    def show_progress(self, done: int, total: int, mb: float, rate: float) -> None:
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(tr("{done}/{total} images, {mb:.1f} MB, {rate:.1f} MB/s").format(
            done=done, total=total, mb=mb, rate=rate))

    def _ended(self, what: str) -> None:
        self.cancel_button.setEnabled(False)
        self.bar.setFormat(f"{self.bar.text()} — {what}" if self.bar.value() else what)


def start_job(job: RetrieveJob) -> RetrieveJob:
    QThreadPool.globalInstance().start(job)
    return job
