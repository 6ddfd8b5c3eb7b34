"""Screen QA dialog: TG18 patterns 1:1 on the real X screen, measurements, evaluation, history.

Oracles: the X server's own pixels (the whole 1920x1200 screen read back must
equal the pattern, pixel for pixel), the GSDF formula of PS3.14 for an ideal
screen (viewer.display.gsdf), the measurement file of tests/display/data, and
the per-screen store read back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLineEdit

from viewer.display import gsdf, patterns, qa, qa_store

pytestmark = pytest.mark.gui

CALIBRATED = Path(__file__).parents[1] / "display" / "data" / "tg18_ln_calibrated.csv"


def ideal_screen(lmin: float, lmax: float, ambient: float) -> list[float]:
    j = np.linspace(gsdf.jnd_index(lmin + ambient), gsdf.jnd_index(lmax + ambient), 18)
    return [float(v) for v in np.asarray(gsdf.luminance(j)) - ambient]


def screen_grey() -> np.ndarray:
    """The primary screen as the X server shows it (one grey channel)."""
    QGuiApplication.processEvents()
    screen = QGuiApplication.primaryScreen()
    img = screen.grabWindow(0).toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    rgb = arr.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    return rgb[..., 0].copy()


@pytest.fixture
def dialog(qtbot):
    from viewer.ui.qa_dialog import ScreenQADialog

    d = ScreenQADialog(measured_by="Dr Physicist")
    qtbot.addWidget(d)
    yield d
    d.done(0)


def type_luminances(qtbot, d, values: list[float]) -> None:
    for row, v in enumerate(values):
        d.table.setCurrentCell(row, 2)
        d.table.editItem(d.table.item(row, 2))
        editors = [e for e in d.table.viewport().findChildren(QLineEdit) if e.isVisible()]
        assert len(editors) == 1  # the cell's editor
        editor = editors[0]
        qtbot.keyClicks(editor, f"{v:.4f}".replace(".", ","))  # a French decimal comma
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda row=row: d.table.item(row, 2).text() != "", timeout=1000)


def test_tg18_qc_is_shown_one_to_one_on_the_screen(qtbot, dialog) -> None:
    from viewer.ui.qa_dialog import pattern_pixels

    window = dialog.show_pattern("qc")
    qtbot.waitExposed(window)
    screen = QGuiApplication.primaryScreen()
    expected = pattern_pixels("qc", 1, screen)
    assert expected.shape == (1200, 1920)
    qtbot.waitUntil(lambda: np.array_equal(screen_grey(), expected), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_tg18_ln_patches_step_with_the_arrows_and_follow_the_table(qtbot, dialog) -> None:
    window = dialog.show_pattern("ln", 9)
    qtbot.waitExposed(window)
    x0, y0, x1, y1 = patterns.ln_patch_box(1920, 1200)
    background = round(patterns.LN_BACKGROUND / patterns.FULL_SCALE * 255)  # 20 %: 51

    def patch_and_surround() -> tuple[int, int]:
        grey = screen_grey()
        return int(grey[(y0 + y1) // 2, (x0 + x1) // 2]), int(grey[5, 5])

    qtbot.waitUntil(lambda: patch_and_surround() == (120, background))  # 1920 of 4080
    assert dialog.table.currentRow() == 8
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: patch_and_surround() == (135, background))  # 2160 of 4080
    assert dialog.ln_spin.value() == 10 and dialog.table.currentRow() == 9
    window.set_number(18)
    qtbot.waitUntil(lambda: patch_and_surround() == (255, background))
    window.close()


def test_imported_measurements_pass_and_are_stored_for_the_screen(qtbot, dialog) -> None:
    assert dialog.reminder_label.text().startswith("The QA of this screen has never been done")
    assert dialog.import_file(CALIBRATED)
    expected = qa.read_measurements(CALIBRATED)
    assert [float(dialog.table.item(r, 2).text()) for r in range(18)] == expected.luminances
    assert dialog.ambient.value() == pytest.approx(0.2)
    result = dialog.evaluate()
    assert result is not None and result.passed
    assert result.max_deviation == pytest.approx(qa.evaluate(expected).max_deviation)
    assert dialog.verdict_label.text() == "PASS"
    assert dialog.save() is not None
    stored = qa_store.last(dialog.screen_info())
    assert stored["pass"] is True and stored["measured_by"] == "Dr Physicist"
    assert stored["date"][:10] == dt.datetime.now(dt.UTC).date().isoformat()
    assert not dialog.reminder_label.isVisible()
    assert dialog.last_label.text().startswith(f"Last QA: {stored['date'][:10]}, passed")


def test_typed_luminances_with_a_jump_fail_at_the_right_patch(qtbot, dialog) -> None:
    dialog.show()
    qtbot.waitExposed(dialog)
    lum = ideal_screen(0.8, 420.0, 0.1)
    lum[8:] = [v * 1.25 for v in lum[8:]]  # a jump between TG18-LN12-08 and -09
    type_luminances(qtbot, dialog, lum)
    dialog.ambient.setValue(0.1)
    result = dialog.evaluate()
    assert result is not None and not result.passed and result.worst_level == 9
    assert dialog.verdict_label.text() == "FAIL"
    assert "between patches 8 and 9" in dialog.details_label.text()
    assert dialog.table.item(8, 2).background().color().name() == "#ff0000"
    ideal = ideal_screen(0.8, 420.0, 0.1)
    for row in range(18):
        dialog.table.item(row, 2).setText("")
    type_luminances(qtbot, dialog, ideal)
    assert dialog.evaluate().max_deviation < 1e-3


def test_missing_value_is_named(qtbot, dialog) -> None:
    dialog.set_luminances(ideal_screen(0.8, 420.0, 0.1))
    dialog.table.item(4, 2).setText("")
    assert dialog.evaluate() is None
    assert dialog.details_label.text() == "No luminance for TG18-LN12-05"
    assert not dialog.save_button.isEnabled()


def test_overdue_reminder(qtbot) -> None:
    from viewer.ui.qa_dialog import ScreenQADialog

    info = ScreenQADialog().screen_info()
    good = qa.evaluate(qa.read_measurements(CALIBRATED))
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    qa_store.record(info, good, when=old)
    d = ScreenQADialog()
    qtbot.addWidget(d)
    text = d.reminder_label.text()
    assert text.startswith(f"The QA of this screen is due: last on {old.date().isoformat()}")
    assert "200 days ago" in text and not d.reminder_label.isHidden()


def test_french_texts(qtbot, qapp) -> None:
    from viewer.ui.i18n import install_translator
    from viewer.ui.qa_dialog import ScreenQADialog

    try:
        install_translator(qapp, "fr")
        d = ScreenQADialog()
        qtbot.addWidget(d)
        assert d.windowTitle() == "Contrôle qualité de l'écran"
        assert d.reminder_label.text().startswith("Le contrôle qualité de cet écran n'a jamais")
        assert d.import_file(CALIBRATED) and d.evaluate() is not None
        assert d.verdict_label.text() == "CONFORME"
    finally:
        install_translator(qapp, "en")
