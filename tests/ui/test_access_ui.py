"""Access in the GUI: badge, local login, idle lock hiding the images, break-the-glass, refusals.

Real parts: the access gate with its journal under the test's REGARD_HOME, real
local accounts (scrypt, a lower cost to stay fast), the site configuration file
of the test. Pixels are read back from the X server (QScreen.grabWindow), so a
lock that left the images visible would be seen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QWidget

from viewer.access.gate import AccessDenied, AccessGate, Action, AuditUnavailable, PatientRef
from viewer.access.identity import LocalAccountProvider
from viewer.access.journal import AuditJournal

pytestmark = pytest.mark.gui

PASSWORD = "correct horse battery"
PATIENT = PatientRef(id="PAT-BG-1", issuer="CHU-A")


def site_config(home: Path, text: str) -> None:
    (home / "site-config.toml").write_text(text, encoding="utf-8")


def records(gate: AccessGate, action: str) -> list:
    return list(gate.journal.records(actions=(action,)))


def x_pixels(widget: QWidget) -> np.ndarray:
    """The widget's area as the X server shows it (RGB), native VTK windows included."""
    QGuiApplication.processEvents()
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    pix = widget.screen().grabWindow(0, top_left.x(), top_left.y(), widget.width(),
                                     widget.height())
    img = pix.toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    return arr.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def red_fraction(widget: QWidget) -> float:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    rgb = arr.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).astype(int)
    return float(((np.abs(rgb[..., 0] - 0xC0) < 8) & (rgb[..., 1] < 8) & (rgb[..., 2] < 8)).mean())


@pytest.fixture
def shared_station(regard_home: Path, qapp):
    """A gate and controller with one local radiologist account and one technologist."""
    from viewer.ui.access_ui import AccessController

    gate = AccessGate(forward=False)
    provider = LocalAccountProvider(regard_home / "accounts.json", gate.policy)
    provider.add_account("cmartin", PASSWORD, role="radiologist",
                         display_name="Dr Claire Martin", scrypt_n=2**10)
    provider.add_account("tech", PASSWORD, role="technologist", display_name="Tom Tech",
                         scrypt_n=2**10)
    controller = AccessController(gate, provider)
    yield controller
    qapp.removeEventFilter(controller)


def test_badge_shows_the_os_user_name_and_role(qtbot, regard_home) -> None:
    from viewer.ui.access_ui import AccessController, UserBadge

    site_config(regard_home, '[user]\ndisplay_name = "Dr Paul Durand"\n'
                             'role = "referring_physician"\n')
    badge = UserBadge(AccessController(AccessGate(forward=False)))
    qtbot.addWidget(badge)
    assert badge.text() == "Dr Paul Durand (referring physician)"
    assert "@" in badge.toolTip()


def test_login_dialog_refuses_a_wrong_password_and_records_both_attempts(
        qtbot, shared_station) -> None:
    from viewer.ui.access_ui import LoginDialog, UserBadge

    controller = shared_station
    badge = UserBadge(controller)
    qtbot.addWidget(badge)
    dialog = LoginDialog(controller)
    qtbot.addWidget(dialog)
    dialog.login_edit.setText("cmartin")
    dialog.password_edit.setText("not the password")
    assert not dialog.try_login()
    assert dialog.error_label.text() == "Unknown login or wrong password"
    assert dialog.password_edit.text() == ""
    dialog.password_edit.setText(PASSWORD)
    assert dialog.try_login()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert badge.text() == "Dr Claire Martin (radiologist)"
    outcomes = [r.outcome for r in records(controller.gate, "login")]
    assert outcomes == ["failure", "success"]


def test_idle_lock_hides_the_images_until_the_same_user_authenticates(
        qtbot, shared_station) -> None:
    from viewer.ui.access_ui import LockOverlay, UserBadge

    controller = shared_station
    controller.login("cmartin", PASSWORD)
    window = QMainWindow()
    image = QLabel("IMAGE")
    image.setStyleSheet("background: white; color: black;")
    window.setCentralWidget(image)
    badge = UserBadge(controller)
    window.statusBar().addPermanentWidget(badge)
    overlay = LockOverlay(controller, window)
    qtbot.addWidget(window)
    window.resize(500, 400)
    window.show()
    qtbot.waitExposed(window)
    centre = (200, 250)
    qtbot.waitUntil(lambda: tuple(x_pixels(window)[centre]) == (255, 255, 255))

    controller.gate.session.idle_seconds = 0.05  # the policy's minutes, shortened
    qtbot.wait(120)
    assert controller.check_idle()
    assert overlay.isVisible() and not image.isVisible()
    qtbot.waitUntil(lambda: tuple(x_pixels(window)[centre]) == (0x20, 0x20, 0x20))
    assert "Dr Claire Martin" in overlay.message.text()
    assert "locked" in badge.text()

    overlay.password_edit.setText("wrong password!")
    assert not overlay.unlock()
    assert overlay.error_label.text() == "Wrong password"
    assert overlay.isVisible()
    overlay.password_edit.setText(PASSWORD)
    controller.gate.session.idle_seconds = 900
    assert overlay.unlock()
    assert not overlay.isVisible() and image.isVisible()
    qtbot.waitUntil(lambda: tuple(x_pixels(window)[centre]) == (255, 255, 255))
    assert [r.outcome for r in records(controller.gate, "login")] == [
        "success", "failure", "success"]


def test_user_input_keeps_the_session_open(qtbot, shared_station) -> None:
    controller = shared_station
    controller.login("cmartin", PASSWORD)
    controller.gate.session.idle_seconds = 0.3
    widget = QLabel("x")
    qtbot.addWidget(widget)
    widget.show()
    for _ in range(4):
        qtbot.wait(120)
        qtbot.keyClick(widget, "a")
    assert not controller.check_idle()
    qtbot.wait(400)
    assert controller.check_idle()


def test_break_glass_dialog_needs_a_reason_and_the_badge_counts_down(
        qtbot, regard_home) -> None:
    from viewer.ui.access_ui import AccessController, BreakGlassDialog, UserBadge

    site_config(regard_home, '[user]\ndisplay_name = "Dr Urgence"\n'
                             'role = "referring_physician"\n')
    now = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    gate = AccessGate(forward=False, clock=lambda: now[0])
    controller = AccessController(gate, clock=lambda: now[0])
    with pytest.raises(AccessDenied, match="care relationship"):
        gate.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=["1.2.3"])
    badge = UserBadge(controller)
    qtbot.addWidget(badge)
    dialog = BreakGlassDialog(controller, PATIENT)
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    assert [dialog.duration.itemData(i) for i in range(dialog.duration.count())] == [
        15, 30, 60]  # capped by the policy's break_glass_max_minutes
    dialog.reason_edit.setPlainText("AVC")
    assert not dialog.ok_button.isEnabled()
    dialog.reason_edit.setPlainText("unconscious patient in the ER")
    assert dialog.ok_button.isEnabled()
    dialog.duration.setCurrentIndex(dialog.duration.findData(30))
    assert dialog.declare()

    start = records(gate, "break_glass_start")
    assert len(start) == 1 and start[0].reason == "unconscious patient in the ER"
    assert start[0].mode == "break_glass" and start[0].detail["minutes"] == 30
    assert badge.text() == "Dr Urgence (referring physician) — EMERGENCY ACCESS 30:00"
    badge.show()
    qtbot.waitExposed(badge)
    assert red_fraction(badge) > 0.5
    decision = gate.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=["1.2.3"])
    assert decision.mode == "break_glass"

    now[0] += timedelta(minutes=12, seconds=30)
    badge.refresh()
    assert badge.text().endswith("EMERGENCY ACCESS 17:30")
    now[0] += timedelta(minutes=18)
    badge.refresh()
    assert badge.text() == "Dr Urgence (referring physician)"
    assert red_fraction(badge) < 0.05


def test_break_glass_is_refused_to_a_technologist_with_the_reason(qtbot, regard_home) -> None:
    from viewer.ui.access_ui import AccessController, BreakGlassDialog

    site_config(regard_home, '[user]\ndisplay_name = "Tom Tech"\nrole = "technologist"\n')
    controller = AccessController(AccessGate(forward=False))
    dialog = BreakGlassDialog(controller, PATIENT)
    qtbot.addWidget(dialog)
    assert "technologist" in dialog.role_note.text()
    dialog.reason_edit.setPlainText("patient in cardiac arrest")
    assert not dialog.declare()
    assert dialog.error_label.text() == "Only clinicians may declare an emergency access."
    rec = records(controller.gate, "break_glass_start")
    assert [r.outcome for r in rec] == ["denied"]
    assert controller.running_emergencies() == []


def test_refusal_box_says_why_and_offers_break_the_glass(qtbot, regard_home) -> None:
    from viewer.ui.access_ui import access_error_box, can_break_glass_for

    site_config(regard_home, '[user]\nrole = "referring_physician"\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied) as refused:
        gate.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=["1.2.3"])
    assert can_break_glass_for(refused.value)
    box = access_error_box(None, refused.value, offer_break_glass=True)
    qtbot.addWidget(box)
    assert box.windowTitle() == "Access refused"
    assert "no care relationship" in box.text()
    assert "Break the glass" in box.text()
    assert box.findChild(QWidget, "breakGlassButton") is not None
    assert records(gate, "view")[0].outcome == "denied"


def test_opposition_refusal_is_explained_and_cannot_be_broken(qtbot, regard_home) -> None:
    from viewer.ui.access_ui import access_error_box, can_break_glass_for

    site_config(regard_home, '[access]\nsite_id = "CHU-B"\nopposition = ["PAT-BG-1"]\n')
    gate = AccessGate(forward=False)
    with pytest.raises(AccessDenied) as refused:
        gate.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=["1.2.3"],
                                  origin_site="CHU-A")
    assert not can_break_glass_for(refused.value)
    box = access_error_box(None, refused.value)
    qtbot.addWidget(box)
    assert box.text().startswith("The patient has opposed sharing their images")


def test_unwritable_trail_is_explained(qtbot, regard_home: Path) -> None:
    from viewer.ui.access_ui import access_error_box

    blocker = regard_home / "not-a-folder"
    blocker.write_text("x")
    gate = AccessGate(forward=False, journal=AuditJournal(blocker / "journal.sqlite"))
    with pytest.raises(AuditUnavailable) as dead:
        gate.authorize_and_record(Action.VIEW, patient=PATIENT, study_uids=["1.2.3"])
    box = access_error_box(None, dead.value)
    qtbot.addWidget(box)
    assert box.windowTitle() == "Access trail unavailable"
    assert "fail closed" in box.text() and "journal.sqlite" in box.text()
    assert box.standardButtons() == QMessageBox.StandardButton.Close


def test_french_texts(qtbot, qapp, regard_home) -> None:
    from viewer.ui.access_ui import AccessController, BreakGlassDialog, UserBadge
    from viewer.ui.i18n import install_translator

    site_config(regard_home, '[user]\ndisplay_name = "Dr Urgence"\nrole = "radiologist"\n')
    try:
        assert install_translator(qapp, "fr") == "fr"
        controller = AccessController(AccessGate(forward=False))
        badge = UserBadge(controller)
        dialog = BreakGlassDialog(controller, PATIENT)
        for w in (badge, dialog):
            qtbot.addWidget(w)
        assert badge.text() == "Dr Urgence (radiologue)"
        assert dialog.ok_button.text() == "Déclarer l'urgence"
        assert dialog.duration.itemText(0) == "15 minutes"
    finally:
        install_translator(qapp, "en")


# -- on the main window (access_ui.install) ----------------------------------------------------


def click_when_shown(find, act) -> None:
    """Poll until ``find()`` returns a visible widget, then ``act(widget)`` (modal dialogs)."""
    from PySide6.QtCore import QTimer

    def poll() -> None:
        w = find()
        if w is None or not w.isVisible():
            QTimer.singleShot(20, poll)
            return
        act(w)

    QTimer.singleShot(20, poll)


def test_refused_clinician_breaks_the_glass_and_the_study_opens(
        qtbot, regard_home, tmp_path) -> None:
    from PySide6.QtWidgets import QApplication, QPushButton

    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.access_ui import BreakGlassDialog, install
    from viewer.ui.browser_query import rows_from_index
    from viewer.ui.main_window import MainWindow

    site_config(regard_home, '[user]\ndisplay_name = "Dr Urgence"\n'
                             'role = "referring_physician"\n')
    write_phantom_series(tmp_path / "ct", columns=32, rows=32, slices=4)
    row = rows_from_index(scan(tmp_path), "Local")[0]
    win = MainWindow()
    qtbot.addWidget(win)
    ui = install(win, AccessGate(forward=False))
    assert ui.fitness.mode == "consultation"
    win.show()
    qtbot.waitExposed(win)

    def refusal():
        box = QApplication.activeModalWidget()
        return box if isinstance(box, QMessageBox) else None

    def dialog():
        d = QApplication.activeModalWidget()
        return d if isinstance(d, BreakGlassDialog) else None

    def declare(d: BreakGlassDialog) -> None:
        d.reason_edit.setPlainText("chest pain, previous CT needed now")
        d.ok_button.click()

    seen: list[str] = []
    click_when_shown(refusal, lambda b: (seen.append(b.text()),
                                         b.findChild(QPushButton, "breakGlassButton").click()))
    click_when_shown(dialog, declare)
    assert ui.before_open([(row, s) for s in row.series])
    assert "no care relationship" in seen[0]
    recs = list(ui.gate.journal.records())
    assert [(r.action, r.outcome, r.mode) for r in recs] == [
        ("view", "denied", "normal"), ("break_glass_start", "success", "break_glass"),
        ("view", "success", "break_glass")]
    assert recs[2].reason == "chest pain, previous CT needed now"
    assert "EMERGENCY ACCESS" in ui.badge.text()
    win.close()


def test_lock_hides_the_vtk_viewports_of_the_main_window(qtbot, shared_station) -> None:
    from tests.ui.conftest import phantom_volume
    from viewer.ui.access_ui import install
    from viewer.ui.main_window import MainWindow

    controller = shared_station
    win = MainWindow(authorizer=lambda row, series: None)
    qtbot.addWidget(win)
    ui = install(win, controller.gate)
    ui.controller.local_provider = controller.local_provider
    ui.controller.login("cmartin", PASSWORD)
    win.resize(800, 600)
    win.show()
    qtbot.waitExposed(win)
    win.load_viewers()
    with qtbot.waitSignal(win.images_shown, timeout=20000):
        win.show_volumes([(phantom_volume(), None)])
    win.grid.render_all()
    grid = win.grid

    def grid_pixels() -> np.ndarray:
        return x_pixels(grid)

    qtbot.waitUntil(lambda: grid_pixels().max() > 200, timeout=10000)  # the phantom's bone
    top_left = grid.mapTo(win, grid.rect().topLeft())
    gx, gy, gw, gh = top_left.x(), top_left.y(), grid.width(), grid.height()
    bright = grid_pixels().min(axis=-1) > 200
    assert bright.sum() > 100
    ui.controller.lock_now()
    qtbot.waitUntil(lambda: not grid.isVisible())
    area = x_pixels(win)
    assert (area == 0x20).all(axis=-1).mean() > 0.9  # the overlay, not the images
    where = area[gy:gy + gh, gx:gx + gw]
    assert (where[bright] == 0x20).all(axis=-1).mean() > 0.9  # the bone is gone
    ui.overlay.password_edit.setText(PASSWORD)
    assert ui.overlay.unlock()
    qtbot.waitUntil(grid.isVisible)
    win.close()


def test_shared_station_opens_nothing_before_login_and_after_logout(
        qtbot, regard_home, tmp_path) -> None:
    from viewer.dicom.index import scan
    from viewer.dicom.phantom import write_phantom_series
    from viewer.ui.access_ui import LoginDialog, install
    from viewer.ui.browser_query import rows_from_index
    from viewer.ui.main_window import MainWindow

    LocalAccountProvider().add_account("cmartin", PASSWORD, role="radiologist",
                                       display_name="Dr Claire Martin", scrypt_n=2**10)
    write_phantom_series(tmp_path / "ct", columns=32, rows=32, slices=4)
    row = rows_from_index(scan(tmp_path), "Local")[0]
    items = [(row, s) for s in row.series]
    win = MainWindow()
    win.quiet = True
    qtbot.addWidget(win)
    ui = install(win, AccessGate(forward=False))
    win.show()
    qtbot.waitExposed(win)
    assert ui.controller.shared_station and ui.badge.text() == "No user logged in"
    assert "Log in..." in [a.text() for a in ui.menu.actions()]
    qtbot.waitUntil(lambda: any(isinstance(w, LoginDialog) and w.isVisible()
                                for w in win.findChildren(LoginDialog)))
    assert not ui.before_open(items)
    assert win.statusBar().currentMessage().startswith("Nobody is identified at this station")
    assert list(ui.gate.journal.records(actions=("view",))) == []

    ui.controller.login("cmartin", PASSWORD)
    assert ui.badge.text() == "Dr Claire Martin (radiologist)"
    assert ui.before_open(items)
    assert [r.user_name for r in ui.gate.journal.records(actions=("view",))] == [
        "Dr Claire Martin"]
    ui.controller.logout()
    assert ui.badge.text() == "No user logged in"
    assert not ui.before_open(items)
    qapp_filter_cleanup = ui.controller
    QGuiApplication.instance().removeEventFilter(qapp_filter_cleanup)
    win.close()
