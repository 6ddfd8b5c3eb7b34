"""Screen fitness at the reading station: verdict, acknowledgement dialog, access record.

The session's Xvfb has one 1920x1200 screen (2.3 MP): fit for CT (2 MP), not
for CR (3 MP) or MG (5 MP) under the default display policy. The
acknowledgement is answered by clicking the real dialog's buttons; the trail
is the real journal. Changing screens needs its own X server with two screens:
fitness_cases.py runs in a child pytest for that (1280x1024 and 1920x1200).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QVBoxLayout, QWidget

from tests.display.screens_fixture import xcb_env, xvfb_screens
from viewer.access.gate import AccessGate, PatientRef

pytestmark = pytest.mark.gui

PATIENT = PatientRef(id="PAT-FIT-1")


def exam(modality: str):
    from viewer.ui.fitness import Exam

    return Exam(patient=PATIENT, study_uids=("1.2.826.0.1.3680043.99.1",),
                series_uids=("1.2.826.0.1.3680043.99.1.1",), modality=modality,
                archive="local")


def answer(button: str, seen: list[str]) -> None:
    """Click ``button`` (acknowledge/decline) of the modal box once it is up."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or not box.isVisible():
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        for b in box.buttons():
            if b.objectName() == button:
                b.click()
                return

    QTimer.singleShot(20, click)


@pytest.fixture
def station(qtbot, regard_home):
    """A window on the 1920x1200 screen with a banner and an image label, and its guard."""
    from viewer.ui.display_banner import DisplayBanner
    from viewer.ui.fitness import FitnessGuard

    window = QWidget()
    lay = QVBoxLayout(window)
    banner = DisplayBanner(language="en")
    image = QLabel("IMAGE")
    image.setMinimumSize(300, 200)
    image.hide()
    lay.addWidget(banner)
    lay.addWidget(image)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    gate = AccessGate(forward=False)
    guard = FitnessGuard(window, gate)
    return SimpleNamespace(window=window, banner=banner, image=image, guard=guard, gate=gate)


def view_records(gate: AccessGate) -> list:
    return list(gate.journal.records(actions=("view",)))


def test_ct_on_a_2_3_mp_screen_opens_without_banner_or_question(qtbot, station) -> None:
    from viewer.display.policy import ReadingMode

    st = station
    assert st.guard.mode is ReadingMode.DIAGNOSTIC  # the OS user is a radiologist by default
    asked: list[object] = []
    st.guard.ask = lambda w, v: asked.append(v) or False
    opened = st.guard.open(exam("CT"))
    assert opened is not None and not asked
    clearance, decision = opened
    assert clearance.verdict is not None and clearance.verdict.fit
    assert clearance.verdict.actual_mp == pytest.approx(1920 * 1200 / 1e6)
    st.banner.set_exam("CT")
    qtbot.wait(50)
    assert not st.banner.isVisible()
    rec = view_records(st.gate)
    assert [r.outcome for r in rec] == ["success"] and rec[0].seq == decision.record.seq
    fitness = json.loads(rec[0].screen_fitness)
    assert fitness["status"] == "fit" and fitness["diagnostic_screen"] is True
    assert fitness["screen_class"] == "2MP" and fitness["reading_mode"] == "diagnostic"


def test_cr_in_diagnostic_mode_declined_keeps_pixels_hidden_and_is_recorded(
        qtbot, station) -> None:
    st = station
    seen: list[str] = []
    answer("decline", seen)
    opened = st.guard.open(exam("CR"))
    assert opened is None
    if opened is not None:  # pragma: no cover - what a caller does when cleared
        st.image.show()
    assert seen == ["Not for diagnosis: this screen is 2.3 MP, CR needs 3 MP"]
    assert not st.image.isVisible()
    rec = view_records(st.gate)
    assert [r.outcome for r in rec] == ["denied"]
    fitness = json.loads(rec[0].screen_fitness)
    assert fitness["diagnostic_screen"] is False and fitness["acknowledged"] is False
    assert fitness["status"] == "not-opened" and fitness["required_class"] == "3MP"
    assert "not acknowledged" in rec[0].detail["denied"]


def test_cr_in_diagnostic_mode_acknowledged_opens_with_banner_and_record(
        qtbot, station) -> None:
    st = station
    seen: list[str] = []
    answer("acknowledge", seen)
    opened = st.guard.open(exam("CR"))
    assert opened is not None and len(seen) == 1
    clearance, _decision = opened
    assert clearance.banner
    st.banner.set_exam("CR")
    qtbot.waitUntil(st.banner.isVisible)
    assert st.banner.text() == "Not for diagnosis: this screen is 2.3 MP, CR needs 3 MP"
    rec = view_records(st.gate)
    assert [r.outcome for r in rec] == ["success"]
    fitness = json.loads(rec[0].screen_fitness)
    assert fitness["acknowledged"] is True
    assert fitness["status"] == "non-diagnostic-screen-acknowledged"


def test_consultation_opens_anywhere_and_records_the_unfit_screen(qtbot, station) -> None:
    st = station
    st.guard.set_mode("consultation")
    st.guard.ask = lambda w, v: pytest.fail("consultation must not ask")
    opened = st.guard.open(exam("MG"))
    assert opened is not None and opened[0].banner
    fitness = json.loads(view_records(st.gate)[0].screen_fitness)
    assert fitness["status"] == "non-diagnostic-screen"
    assert fitness["reading_mode"] == "consultation" and fitness["required_class"] == "5MP"


def test_referring_physician_defaults_to_consultation(qtbot, regard_home) -> None:
    from viewer.display.policy import ReadingMode
    from viewer.ui.fitness import FitnessGuard

    (regard_home / "site-config.toml").write_text('[user]\nrole = "referring_physician"\n')
    w = QWidget()
    qtbot.addWidget(w)
    assert FitnessGuard(w, AccessGate(forward=False)).mode is ReadingMode.CONSULTATION


def test_french_acknowledgement_question(qtbot, qapp, station) -> None:
    from viewer.ui.fitness import acknowledgement_box
    from viewer.ui.i18n import install_translator

    st = station
    verdict = st.guard.verdict("CR")
    try:
        install_translator(qapp, "fr")
        box = acknowledgement_box(st.window, verdict, language="fr")
        qtbot.addWidget(box)
        assert box.text() == "Pas pour le diagnostic : cet écran fait 2,3 MP, le CR exige 3 MP"
        assert box.windowTitle() == "Écran inapte au diagnostic"
    finally:
        install_translator(qapp, "en")


def test_exam_of_a_browser_row_takes_the_image_modality(tmp_path) -> None:
    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.browser_query import rows_from_index
    from viewer.ui.fitness import exam_of

    write_phantom_series(tmp_path / "ct", columns=32, rows=32, slices=4)
    row = rows_from_index(scan(tmp_path), "Local")[0]
    ex = exam_of(row, row.series)
    assert ex.modality == "CT" and ex.study_uids == (row.study_uid,)
    assert ex.patient is not None and ex.patient.id == row.patient_id
    assert ex.series_uids == tuple(s.series_uid for s in row.series)


@pytest.mark.slow
def test_moving_to_a_1280x1024_screen_asks_again_and_hides_when_declined() -> None:
    """Child pytest on an Xvfb with two X screens (the window changes X screen)."""
    cases = Path(__file__).with_name("fitness_cases.py")
    with xvfb_screens(["1920x1200", "1280x1024"]) as display:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(cases)],
            env=xcb_env(display), capture_output=True, text=True, timeout=120,
            cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 passed" in out.stdout


# -- the main window with access_ui.install ---------------------------------------------------


@pytest.fixture
def ct_row(tmp_path):
    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.browser_query import rows_from_index

    write_phantom_series(tmp_path / "ct", columns=32, rows=32, slices=4)
    return rows_from_index(scan(tmp_path), "Local")[0]


@pytest.fixture
def main_window(qtbot):
    from viewer.ui.access_ui import install
    from viewer.ui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    ui = install(win, AccessGate(forward=False))
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    yield win, ui
    win.close()


def test_install_adds_menu_badge_and_takes_over_the_authorizer(qtbot, main_window) -> None:
    from viewer.ui.access_ui import install

    win, ui = main_window
    assert install(win) is ui
    assert win.authorizer == ui.authorize
    texts = [a.text() for a in ui.menu.actions() if a.text()]
    assert texts == ["Break the glass...", "Reading mode: diagnostic",
                     "Reading mode: consultation", "Audit trail...", "Screen QA..."]
    assert ui.actions["diagnostic"].isChecked()  # the OS user is a radiologist
    assert ui.badge.text().endswith("(radiologist)") and ui.badge.isVisible()


def test_before_open_records_the_view_with_the_screen(qtbot, main_window, ct_row) -> None:
    _win, ui = main_window
    items = [(ct_row, s) for s in ct_row.series]
    with pytest.raises(Exception, match="not recorded"):
        ui.authorize(ct_row, ct_row.series)  # nothing decoded before the record
    assert ui.before_open(items)
    ui.authorize(ct_row, ct_row.series)
    rec = view_records(ui.gate)
    assert [r.outcome for r in rec] == ["success"] and rec[0].study_uids == (ct_row.study_uid,)
    assert json.loads(rec[0].screen_fitness)["status"] == "fit"


@pytest.fixture
def ct_needs_3mp(regard_home):
    (regard_home / "site-config.toml").write_text('[display.exams]\nCT = "3MP"\n')


def test_before_open_declined_on_a_stricter_site_policy_opens_nothing(
        qtbot, ct_needs_3mp, main_window, ct_row) -> None:
    win, ui = main_window
    seen: list[str] = []
    answer("decline", seen)
    assert not ui.before_open([(ct_row, s) for s in ct_row.series])
    assert seen == ["Not for diagnosis: this screen is 2.3 MP, CT needs 3 MP"]
    assert [r.outcome for r in view_records(ui.gate)] == ["denied"]
    assert ct_row.study_uid not in ui.granted
    assert "not acknowledged" in win.statusBar().currentMessage()

    answer("acknowledge", seen)
    assert ui.before_open([(ct_row, s) for s in ct_row.series])
    fitness = json.loads(view_records(ui.gate)[-1].screen_fitness)
    assert fitness["acknowledged"] is True


def test_exam_of_a_mixed_study_is_checked_for_its_most_demanding_modality() -> None:
    from types import SimpleNamespace as NS

    from viewer.display.policy import load_policy
    from viewer.ui.fitness import exam_of

    row = NS(study_uid="1.2", patient=None, patient_id="P", ins="", source="PACS",
             modalities="CT/CR/SR", study=None)
    series = [NS(modality="SR", series_uid="a"), NS(modality="CT", series_uid="b"),
              NS(modality="CR", series_uid="c")]
    assert exam_of(row, series).modality == "CT"  # no policy: the first image series
    assert exam_of(row, series, load_policy()).modality == "CR"  # 3 MP beats CT's 2 MP


def test_main_window_asks_before_decoding_and_declined_shows_nothing(
        qtbot, ct_needs_3mp, tmp_path) -> None:
    """The wired path: open a folder, the screen check runs before any pixel is decoded."""
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.access_ui import AccessUI
    from viewer.ui.main_window import MainWindow

    write_phantom_series(tmp_path / "ct", columns=64, rows=64, slices=8)
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    qtbot.waitExposed(win)
    win.load_viewers()
    assert isinstance(getattr(win, "access_ui", None), AccessUI)
    gate = win.access_ui.gate
    seen: list[str] = []
    answer("decline", seen)
    win.open_path(tmp_path / "ct")
    qtbot.waitUntil(lambda: bool(seen) and "not acknowledged" in win.statusBar().currentMessage(),
                    timeout=20000)
    qtbot.wait(200)
    assert win.grid.active.model.volume is None  # nothing decoded, nothing shown
    assert [r.outcome for r in view_records(gate)] == ["denied"]

    answer("acknowledge", seen)
    with qtbot.waitSignal(win.images_shown, timeout=30000):
        win.open_path(tmp_path / "ct")
    assert win.grid.active.model.volume is not None
    assert win.grid.active.capture()[10:-10, 10:-10].std() > 10
    banner = win.grid.cells[0].display.banner  # over the viewport showing the CT
    qtbot.waitUntil(banner.isVisible)
    assert banner.text() == "Not for diagnosis: this screen is 2.3 MP, CT needs 3 MP"
    assert win.findChild(QWidget, "displayBannerBar") is None  # not one per window
    last = view_records(gate)[-1]
    assert last.outcome == "success" and json.loads(last.screen_fitness)["acknowledged"] is True
    win.close()


def test_scripted_runs_ask_nothing_and_record_a_consultation(
        qtbot, ct_needs_3mp, main_window, ct_row) -> None:
    win, ui = main_window
    win.quiet = True  # `regard view --screenshot`
    ui.fitness.ask = lambda w, v: pytest.fail("a scripted run must not ask")
    assert ui.before_open([(ct_row, s) for s in ct_row.series])
    fitness = json.loads(view_records(ui.gate)[-1].screen_fitness)
    assert fitness["reading_mode"] == "consultation"
    assert fitness["status"] == "non-diagnostic-screen"


def test_a_second_window_gets_its_own_screen_check(
        qtbot, ct_needs_3mp, main_window, ct_row) -> None:
    _win, ui = main_window
    seen: list[str] = []
    answer("acknowledge", seen)
    assert ui.before_open([(ct_row, s) for s in ct_row.series])
    ui._images_shown()  # what the window's images_shown signal does
    second = QLabel("second window")
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    answer("decline", seen)
    assert ui.guard_window(second, second.hide, second.show) is None
    assert not second.isVisible()
    assert [r.outcome for r in view_records(ui.gate)] == ["success", "denied"]
    second.show()
    answer("acknowledge", seen)
    guard = ui.guard_window(second, second.hide, second.show)
    assert guard is not None and list(guard.shown_exams()) == [ct_row.study_uid]
    assert len(seen) == 3 and second.isVisible()
    assert [r.outcome for r in view_records(ui.gate)] == ["success", "denied", "success"]
