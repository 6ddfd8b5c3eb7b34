"""Regression: thousands of Qt signal emits must not abort the interpreter (PLATFORM.md).

PySide6 6.12.0 on Python 3.11 leaked a reference to ``True`` on every
``Signal.emit()`` and aborted (``bool_dealloc``, exit 134) after some
hundreds, often at exit after all tests passed. The check runs in a fresh
interpreter so that an abort at exit is seen as its exit status.
"""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import threading
from PySide6.QtCore import QCoreApplication, QObject, Signal, Qt, QTimer

from viewer.ui.workers import Task, TaskSignals

app = QCoreApplication([])
received = []

class Emitter(QObject):
    progress = Signal(int, int)
    flag = Signal(bool)

e = Emitter()
e.progress.connect(lambda d, t: received.append(d))
e.flag.connect(lambda b: received.append(int(b)))
for n in range(3000):
    e.progress.emit(n, 3000)
    e.flag.emit(n % 2 == 0)

# the UI's worker signals, emitted from a pool thread and queued to the main thread
signals = TaskSignals()
signals.progress.connect(lambda d, t: received.append(d), Qt.ConnectionType.QueuedConnection)
def work():
    for n in range(2000):
        signals.progress.emit(n, 2000)
t = threading.Thread(target=work)
t.start(); t.join()
QTimer.singleShot(0, app.quit)
app.exec()
assert len(received) == 8000, len(received)
print("ok")
"""


def test_thousands_of_signal_emits_do_not_abort_the_interpreter() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin"})
    assert out.returncode == 0, f"exit {out.returncode}: {out.stderr[-2000:]}"
    assert out.stdout.strip() == "ok"


def test_task_progress_is_throttled() -> None:
    from viewer.ui.workers import PROGRESS_INTERVAL, Task

    emitted: list[tuple[int, int]] = []

    def job(progress, cancel):
        for n in range(1, 5001):
            progress(n, 5000)
        return "done"

    task = Task(job)
    task.signals.progress.connect(lambda d, t: emitted.append((d, t)))
    task.run()  # synchronously, direct connection
    assert emitted[-1] == (5000, 5000)  # the last one always arrives
    assert len(emitted) < 50 and PROGRESS_INTERVAL >= 0.05
