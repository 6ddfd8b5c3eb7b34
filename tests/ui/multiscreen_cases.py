"""pytest-qt cases: an extra viewer window moved from a 3 MP to a 1.9 MP screen.

Not collected by the main session (no ``test_`` prefix): run by
test_multiscreen_fitness.py in a child pytest on an Xvfb whose one X screen is
split into two RandR monitors, "Diag" 1536x2048 (3.1 MP) and "Review"
1600x1200 (1.92 MP), side by side on one desktop (the window is moved
across). A CT and a CR study are opened through the main window (access
records, real decoding) in a 1x2 layout; "New window on screen" opens the
extra window on Diag with the same two viewports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QMessageBox

from viewer.access.gate import AccessGate

CR_TEXT = "Not for diagnosis: this screen is 1.9 MP, CR needs 3 MP"


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> Iterator[object]:
    """The parent's X server (DISPLAY), not the GUI session's own Xvfb."""
    from viewer.ui.i18n import install_translator

    app = QApplication.instance() or QApplication(qapp_args)
    assert sorted(s.name() for s in QGuiApplication.screens()) == ["Diag", "Review"]
    install_translator(app, "en")
    yield app


def screen(name: str) -> QScreen:
    return next(s for s in QGuiApplication.screens() if s.name() == name)


def answer_when_asked(button: str, seen: list[str]) -> QTimer:
    def click() -> None:
        for box in QApplication.topLevelWidgets():
            if isinstance(box, QMessageBox) and box.isVisible():
                seen.append(box.text())
                next(b for b in box.buttons() if b.objectName() == button).click()
                return

    timer = QTimer()
    timer.setInterval(30)
    timer.timeout.connect(click)
    timer.start()
    return timer


def studies(root: Path) -> list:
    from tests.dicom.projection import write_dx
    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.browser_query import rows_from_index

    write_phantom_series(root / "ct", columns=64, rows=64, slices=8)
    (root / "cr").mkdir()
    ramp = (np.arange(200 * 160, dtype=np.uint16).reshape(200, 160) % 4000)
    write_dx(root / "cr" / "cr.dcm", ramp, Modality="CR", PatientID="P-CR",
             ImagerPixelSpacing=[0.2, 0.2])
    rows = rows_from_index(scan(root), "Local")
    by_mod = {r.modalities: r for r in rows}
    ct, cr = by_mod["CT"], by_mod["CR"]
    return [(ct, ct.series[0]), (cr, cr.series[0])]


def main_showing_ct_and_cr(qtbot, tmp_path):
    """The main window (access interface on) on Diag, a CT and a CR side by side."""
    from viewer.ui.access_ui import install
    from viewer.ui.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    ui = install(main, AccessGate(forward=False))
    main.setGeometry(QRect(20, 40, 1200, 900))
    main.show()
    qtbot.waitExposed(main)
    main.load_viewers()
    main.grid.set_layout("1x2")
    with qtbot.waitSignal(main.images_shown, timeout=60000):
        main.open_items(studies(tmp_path))
    return main, ui


@pytest.fixture
def reading(qtbot, tmp_path):
    """Main window on Diag showing a CT and a CR side by side, and an extra window on Diag."""
    main, ui = main_showing_ct_and_cr(qtbot, tmp_path)
    assert [c.child.view is not None for c in main.grid.cells] == [True, True]
    index = QGuiApplication.screens().index(screen("Diag"))
    win = main.window_menu.open(index)
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: all(c.child.view is not None for c in win.grid.cells))
    yield main, ui, win
    main.window_menu.close_all()
    main.close()


def banners(window) -> list[bool]:
    return [c.display.banner.isVisible() for c in window.grid.cells]


def views(gate: AccessGate) -> list:
    return list(gate.journal.records(actions=("view",)))


def move_to(qtbot, window, name: str) -> None:
    geo = screen(name).availableGeometry()
    window.setGeometry(QRect(geo.x() + 10, geo.y() + 40, 1100, 800))
    qtbot.waitUntil(lambda: window.screen() is screen(name))


def test_moved_to_the_small_screen_the_banner_is_over_the_cr_only(qtbot, reading) -> None:
    main, ui, win = reading
    assert win.screen() is screen("Diag") and win.fitness is not None
    assert [type(c.child).__name__ for c in win.grid.cells] == ["SliceViewport", "ImageViewport"]
    qtbot.wait(100)
    assert banners(win) == [False, False] and banners(main) == [False, False]
    before = len(views(ui.gate))
    assert before == 4  # the two studies in the main window, then in the extra window

    seen: list[str] = []
    timer = answer_when_asked("acknowledge", seen)  # diagnostic reading: asked
    move_to(qtbot, win, "Review")
    qtbot.waitUntil(lambda: banners(win) == [False, True], timeout=10000)
    qtbot.waitUntil(lambda: len(views(ui.gate)) == before + 1, timeout=10000)
    timer.stop()
    assert seen == [CR_TEXT]
    assert win.grid.cells[1].display.banner.text() == CR_TEXT
    assert win.grid.cells[0].display.banner.verdict.fit  # CT: 2 MP class from 1.9 MP
    assert win.grid.isVisible()  # acknowledged: the images are back
    assert banners(main) == [False, False]  # the main window stayed on the 3 MP screen
    record = views(ui.gate)[-1]
    fitness = json.loads(record.screen_fitness)
    assert record.outcome == "success" and fitness["acknowledged"] is True
    assert fitness["screen_megapixels"] == pytest.approx(1.92, abs=0.01)
    assert fitness["required_class"] == "3MP"

    move_to(qtbot, win, "Diag")  # back on the 3 MP screen: no banner, nothing asked
    qtbot.waitUntil(lambda: banners(win) == [False, False], timeout=10000)
    assert len(seen) == 1


def test_declined_on_the_small_screen_hides_the_extra_window_only(qtbot, reading) -> None:
    main, ui, win = reading
    seen: list[str] = []
    timer = answer_when_asked("decline", seen)
    move_to(qtbot, win, "Review")
    qtbot.waitUntil(lambda: bool(seen) and win.fitness.pending_question is None, timeout=10000)
    timer.stop()
    assert not win.grid.isVisible()
    assert main.grid.isVisible()
    assert views(ui.gate)[-1].outcome == "denied"
    # back on the 3 MP screen, fit for both: shown again, nothing asked, the view recorded
    before = len(views(ui.gate))
    timer = answer_when_asked("decline", seen)
    move_to(qtbot, win, "Diag")
    qtbot.waitUntil(win.grid.isVisible, timeout=10000)
    timer.stop()
    assert len(seen) == 1
    record = views(ui.gate)[-1]
    assert len(views(ui.gate)) == before + 1 and record.outcome == "success"
    assert json.loads(record.screen_fitness)["screen_megapixels"] == pytest.approx(3.15, abs=0.01)
    assert banners(win) == [False, False]
    assert win.fitness.withheld_exams() == {}


def test_declined_when_opened_on_the_small_screen_shown_once_on_a_fit_one(qtbot,
                                                                          tmp_path) -> None:
    """The extra window opened on the 1.9 MP screen: the CR's acknowledgement declined,
    it stays empty; moved to the 3 MP screen its images are shown, the CR's VIEW recorded
    there without asking."""
    main, ui = main_showing_ct_and_cr(qtbot, tmp_path)
    seen: list[str] = []
    timer = answer_when_asked("decline", seen)
    win = main.window_menu.open(QGuiApplication.screens().index(screen("Review")))
    timer.stop()
    try:
        qtbot.waitExposed(win)
        assert seen == [CR_TEXT] and win.fitness is not None
        assert not win.grid.isVisible()
        assert all(c.child.view is None for c in win.grid.cells)  # nothing decoded there
        assert views(ui.gate)[-1].outcome == "denied"
        before = len(views(ui.gate))
        move_to(qtbot, win, "Diag")
        qtbot.waitUntil(lambda: win.grid.isVisible()
                        and all(c.child.view is not None for c in win.grid.cells),
                        timeout=10000)
        assert len(seen) == 1  # a fit screen asks nothing
        record = views(ui.gate)[-1]
        assert len(views(ui.gate)) == before + 1 and record.outcome == "success"
        assert json.loads(record.screen_fitness)["screen_megapixels"] == pytest.approx(
            3.15, abs=0.01)
        assert [type(c.child).__name__ for c in win.grid.cells] == ["SliceViewport",
                                                                    "ImageViewport"]
        qtbot.wait(100)
        assert banners(win) == [False, False]
    finally:
        main.window_menu.close_all()
        main.close()


def test_the_gsdf_lut_follows_the_window_to_the_calibrated_screen(qtbot, reading) -> None:
    """Calibration saved for Review only: none on Diag, the LUT once moved there."""
    from viewer.display import qa_store
    from viewer.display.calibration import CharacteristicCurve
    from viewer.display.screens import from_qscreen

    _main, ui, win = reading
    ui.set_mode("consultation")  # nothing asked: this case is about the pixels
    review = from_qscreen(screen("Review"))
    ddl = np.linspace(0, 255, 18)
    curve = CharacteristicCurve(ddl, 0.5 + 300.0 * (ddl / 255.0) ** 2.2, ambient=0.3)
    qa_store.save_curve(review, curve, enabled=True)
    lut = qa_store.presentation_lut_for(review)
    qtbot.wait(100)
    cells = win.grid.cells
    assert [c.display.lut for c in cells] == [None, None]  # Diag is not calibrated
    for c in cells:
        c.child.view.set_interpolation("nearest")  # the LUT maps pixels, not their blends
        c.child.view.set_overlay_visible(False)

    move_to(qtbot, win, "Review")
    qtbot.waitUntil(lambda: all(c.display.lut is not None for c in cells), timeout=10000)
    assert all(c.child.view._presentation is c.display.lut for c in cells)
    calibrated = [c.child.capture()[..., 0] for c in cells]
    qa_store.set_calibration_enabled(review, False)
    qtbot.waitUntil(lambda: all(c.display.lut is None for c in cells), timeout=10000)
    for c, shown in zip(cells, calibrated, strict=True):
        plain = c.child.capture()[..., 0]
        assert len(np.unique(plain)) > 20
        np.testing.assert_array_equal(shown, lut.apply(plain))
