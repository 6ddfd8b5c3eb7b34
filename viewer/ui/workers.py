"""Background work for the UI: QThreadPool runnables reporting through signals.

Nothing slow runs on the UI thread: scanning folders, assembling volumes and
(later) archive retrieval run here. Progress signals are throttled (at most
one every ``PROGRESS_INTERVAL`` seconds, plus the last one): PySide6 6.12 on
Python 3.11 leaked a reference per ``emit`` and aborted after some hundreds
(PLATFORM.md), and a UI needs no more anyway.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.1


class TaskSignals(QObject):
    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # result
    failed = Signal(str)  # one-line message
    cancelled = Signal()


class Task(QRunnable):
    """Run ``func(progress, cancel_event)`` in the pool; results and errors come back as signals.

    ``func`` receives a throttled ``progress(done, total)`` callable and a
    ``threading.Event`` to poll for cancellation.
    """

    def __init__(self, func: Callable[[Callable[[int, int], None], threading.Event], Any]) -> None:
        super().__init__()
        self.func = func
        self.signals = TaskSignals()
        self.cancel_event = threading.Event()
        self._last = 0.0
        self.setAutoDelete(False)  # the owner keeps it until finished

    def cancel(self) -> None:
        self.cancel_event.set()

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self.signals.progress.emit(int(done), int(total))

    def run(self) -> None:
        try:
            result = self.func(self._progress, self.cancel_event)
        except Exception as exc:  # reported to the UI as one line
            if self.cancel_event.is_set():
                self.signals.cancelled.emit()
                return
            log.debug("task failed: %s", traceback.format_exc())
            self.signals.failed.emit(str(exc) or exc.__class__.__name__)
            return
        if self.cancel_event.is_set():
            self.signals.cancelled.emit()
        else:
            self.signals.finished.emit(result)


def start(task: Task, pool: QThreadPool | None = None) -> Task:
    (pool or QThreadPool.globalInstance()).start(task)
    return task
