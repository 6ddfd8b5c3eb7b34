"""pytest-qt cases for the screen-fitness glue on two X screens, run by test_fitness_ui.py.

Not collected by the main session (no ``test_`` prefix): it needs its own
QApplication on an Xvfb with a 1920x1200 and a 1280x1024 X screen, chosen by
the parent through DISPLAY. The window changes X screen with QWindow.setScreen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QVBoxLayout, QWidget

from viewer.access.gate import AccessGate, PatientRef


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> Iterator[object]:
    """The parent's X server (DISPLAY), not the GUI session's own Xvfb."""
    app = QApplication.instance() or QApplication(qapp_args)
    assert len(QGuiApplication.screens()) == 2, "needs the parent's two-screen Xvfb"
    yield app


def screen_of_size(width: int, height: int) -> QScreen:
    for s in QGuiApplication.screens():
        if (s.geometry().width(), s.geometry().height()) == (width, height):
            return s
    raise AssertionError(f"no {width}x{height} screen")


def answer_when_asked(button: str, seen: list[str]) -> QTimer:
    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            seen.append(box.text())
            next(b for b in box.buttons() if b.objectName() == button).click()

    timer = QTimer()
    timer.setInterval(30)
    timer.timeout.connect(click)
    timer.start()
    return timer


@pytest.fixture
def shown_ct(qtbot):
    from viewer.ui.fitness import Exam, FitnessGuard

    window = QWidget()
    image = QLabel("IMAGE")
    QVBoxLayout(window).addWidget(image)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.windowHandle().setScreen(screen_of_size(1920, 1200))
    window.show()
    qtbot.waitUntil(lambda: window.windowHandle().screen() is screen_of_size(1920, 1200))
    gate = AccessGate(forward=False)
    guard = FitnessGuard(window, gate, mode="diagnostic")
    exam = Exam(PatientRef(id="PAT-MOVE"), ("1.2.3",), ("1.2.3.4",), "CT", archive="local")
    opened = guard.open(exam)
    assert opened is not None and opened[0].verdict.fit
    # what the guard did, in order: an acknowledgement answered at once shows the image
    # again before a visibility poll could see it hidden
    image.events = []

    def hide() -> None:
        image.events.append("hide")
        image.hide()

    def show() -> None:
        image.events.append("show")
        image.show()

    guard.shown("A", exam, opened[0], hide=hide, show=show)
    return window, image, guard, gate


def move_to_small_screen(qtbot, window: QWidget) -> None:
    window.windowHandle().setScreen(screen_of_size(1280, 1024))
    window.show()
    qtbot.waitUntil(lambda: window.windowHandle().screen() is screen_of_size(1280, 1024))


def test_declined_on_the_small_screen_hides_the_images(qtbot, shown_ct) -> None:
    window, image, guard, gate = shown_ct
    seen: list[str] = []
    timer = answer_when_asked("decline", seen)
    move_to_small_screen(qtbot, window)
    qtbot.waitUntil(lambda: bool(seen) and guard.pending_question is None)
    timer.stop()
    assert image.events == ["hide", "hide"]  # while asked, then for good
    assert not image.isVisible()
    assert seen == ["Not for diagnosis: this screen is 1.3 MP, CT needs 2 MP"]
    recs = list(gate.journal.records(actions=("view",)))
    assert [r.outcome for r in recs] == ["success", "denied"]
    assert json.loads(recs[1].screen_fitness)["screen_megapixels"] == 1.31
    assert guard.shown_exams() == {}


def test_acknowledged_on_the_small_screen_is_recorded_with_that_screen(
        qtbot, shown_ct) -> None:
    window, image, guard, gate = shown_ct
    seen: list[str] = []
    timer = answer_when_asked("acknowledge", seen)
    move_to_small_screen(qtbot, window)
    qtbot.waitUntil(lambda: len(list(gate.journal.records(actions=("view",)))) == 2)
    timer.stop()
    assert image.events == ["hide", "show"]  # hidden while the question was asked
    assert image.isVisible() and len(seen) == 1
    fitness = json.loads(list(gate.journal.records(actions=("view",)))[1].screen_fitness)
    assert fitness["acknowledged"] is True and fitness["screen_megapixels"] == 1.31
    assert list(guard.shown_exams()) == ["A"]
