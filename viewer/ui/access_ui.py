"""Who is at the reading station, in the GUI: badge, login, idle lock, break-the-glass.

Issue 6: "the GUI always shows who is logged in"; local accounts on shared
stations lock after idle time and need re-authentication; any clinician may
open a study outside the rules by declaring an emergency with a reason,
time-limited and marked in the trail; refusals and an unwritable trail are
explained to the user. The decisions are the access layer's
(:class:`viewer.access.gate.AccessGate`); this module only shows them.

- :class:`AccessController` holds the station's one :class:`AccessGate` (the
  local-account session lives in it), watches user input for the idle lock and
  keeps the running emergency accesses for the badge's countdown.
- :class:`UserBadge` — status-bar widget: display name, role, countdown.
- :class:`LoginDialog` — local account login (shared stations).
- :class:`LockOverlay` — covers the whole window while the session is locked:
  the images are hidden until the same user authenticates again.
- :class:`BreakGlassDialog` — reason (required) and duration.
- :func:`access_error_box` — denial / audit-unavailable message with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from viewer.access.gate import (
    AccessDenied,
    AccessGate,
    AuditUnavailable,
    BreakGlass,
    IdentityError,
    PatientRef,
    SessionLocked,
)
from viewer.access.identity import LocalAccountProvider, User
from viewer.access.journal import utc_now
from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

ROLE_NAMES = {
    "radiologist": N_("radiologist"),
    "referring_physician": N_("referring physician"),
    "technologist": N_("technologist"),
    "secretary": N_("secretary"),
    "administrator": N_("administrator"),
}
# long texts, one line each so that the translation test finds them
T_LOGIN_NO_TRAIL = N_("The access trail cannot be written, so nobody can log in: {reason}")
T_LOCKED = N_("Session of {name} locked after inactivity. Enter your password to continue.")
T_BG_INTRO = N_("You are about to open this patient's images outside the usual rules. The emergency, its reason and everything you open are recorded in the access trail under your name and may be reviewed.")  # noqa: E501
T_BG_PLACEHOLDER = N_("Reason (required), e.g. unconscious patient in the emergency room")
T_BG_ROLE = N_("Your role ({role}) is not a clinical one: the site policy will refuse an emergency access.")  # noqa: E501
T_FAIL_CLOSED = N_("The access cannot be recorded in the audit trail, so the study is not opened (fail closed). Reason: {reason}")  # noqa: E501
T_OPPOSED = N_("The patient has opposed sharing their images outside the site that produced them: this workstation may not open them.")  # noqa: E501
T_NO_CARE = N_("You have no care relationship with this patient (not on your patient list, and you are not the referring physician of the study). In an emergency, use Break the glass.")  # noqa: E501
BREAK_GLASS_CHOICES = (15, 30, 60, 120, 240)
MIN_REASON = 5  # characters, as AccessGate.break_glass requires
IDLE_POLL_MS = 5000
BADGE_STYLE = "QLabel { padding: 0 6px; }"
EMERGENCY_STYLE = (
    "QLabel { background-color: #c00000; color: white; font-weight: bold; padding: 0 6px; }"
)
_INPUT_EVENTS = {
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin,
}


def role_name(role: str) -> str:
    """The role as the user reads it (translated when known)."""
    return tr(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def format_countdown(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` from one hour), never negative."""
    total = max(0, int(seconds + 0.999))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class AccessController(QObject):
    """The station's access gate and session, seen from the GUI."""

    userChanged = Signal(object)  # User | None
    lockedChanged = Signal(bool)
    breakGlassChanged = Signal()

    def __init__(self, gate: AccessGate | None = None,
                 provider: LocalAccountProvider | None = None,
                 parent: QObject | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(parent)
        self.gate = gate or AccessGate()
        self.local_provider = provider
        self.clock = clock
        self.emergencies: list[BreakGlass] = []
        self._locked = False
        self._filtering = False
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(IDLE_POLL_MS)
        self.idle_timer.timeout.connect(self.check_idle)

    # -- journal warm-up --------------------------------------------------------------------
    def warm_up(self) -> None:
        """Open the journal on the first event-loop turn (its first opening creates the
        schema and the signing key, ~0.1 s), not during the first record.

        On the GUI thread, not in a thread of its own: the loader forks worker
        processes at start, and a fork while another thread holds a lock (SQLite,
        keyring, logging) leaves the child deadlocked.
        """
        self._warmed = False
        QTimer.singleShot(0, self, self.ready)

    def ready(self) -> None:
        """Make sure the journal is open on this (GUI) thread; errors wait for the record."""
        if getattr(self, "_warmed", True):
            return
        self._warmed = True
        try:
            self.gate.journal.prepare()
        except Exception as exc:  # said again, to the user, at the first record
            log.debug("audit journal warm-up: %s", exc)

    # -- who ---------------------------------------------------------------------------
    def user(self) -> User | None:
        """The person the station acts for, without counting as activity (None: nobody)."""
        if self.gate.session is not None:
            return self.gate.session.user
        try:
            return self.gate.provider.current_user()
        except IdentityError as exc:
            log.debug("no current user: %s", exc)
            return None

    @property
    def shared_station(self) -> bool:
        """Whether people log in with local accounts here (then the idle lock applies)."""
        return self.local_provider is not None

    @property
    def locked(self) -> bool:
        return self._locked

    def is_clinician(self, user: User | None = None) -> bool:
        user = user or self.user()
        rule = self.gate.policy.roles.get(user.role) if user else None
        return bool(rule and rule.clinician)

    # -- login, idle lock --------------------------------------------------------------
    def login(self, login: str, password: str) -> User:
        """Authenticate a local account (recorded by the gate, success or failure)."""
        self.ready()
        provider = self.local_provider or LocalAccountProvider(policy=self.gate.policy)
        self.local_provider = provider
        previous = self.user()
        user = self.gate.login(provider, login, password)
        if previous is None or previous.user_id != user.user_id:
            self.emergencies.clear()
        self._set_locked(False)
        self.idle_timer.start()
        self.watch_input()
        self.userChanged.emit(user)
        self.breakGlassChanged.emit()
        return user

    def logout(self) -> None:
        self.gate.logout()
        if self.local_provider is not None:  # forget who was logged in
            self.local_provider = LocalAccountProvider(self.local_provider.path,
                                                       self.local_provider.policy)
            self.gate.provider = self.local_provider
        self.emergencies.clear()
        self._set_locked(False)
        self.idle_timer.stop()
        self.userChanged.emit(self.user())
        self.breakGlassChanged.emit()

    def watch_input(self) -> None:
        """Count key presses, clicks and wheel turns anywhere in the application as activity."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None and not self._filtering:
            app.installEventFilter(self)
            self._filtering = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() in _INPUT_EVENTS and self.gate.session is not None
                and not self._locked):
            try:
                self.gate.session.touch()
            except SessionLocked:
                self._set_locked(True)
        return False

    def check_idle(self) -> bool:
        """Lock the window once the session's idle time has passed; returns ``locked``."""
        session = self.gate.session
        if session is not None and not self._locked:
            try:
                session.require_active()
            except SessionLocked:
                self._set_locked(True)
        return self._locked

    def lock_now(self) -> None:
        """Lock at once (the user steps away)."""
        if self.gate.session is not None:
            self.gate.session.locked = True
            self._set_locked(True)

    def _set_locked(self, locked: bool) -> None:
        if locked != self._locked:
            self._locked = locked
            self.lockedChanged.emit(locked)

    # -- emergency access ----------------------------------------------------------------
    def break_glass(self, reason: str, minutes: int, patient: PatientRef) -> BreakGlass:
        """Declare an emergency access (the gate records it; AccessDenied for non-clinicians)."""
        self.ready()
        bg = self.gate.break_glass(reason, minutes, patient=patient)
        self.emergencies = [e for e in self.emergencies if e.patient != patient] + [bg]
        self.breakGlassChanged.emit()
        return bg

    def running_emergencies(self) -> list[BreakGlass]:
        """Emergency accesses still running (expired ones are dropped)."""
        now = self.clock()
        alive = [e for e in self.emergencies if e.until > now]
        if len(alive) != len(self.emergencies):
            self.emergencies = alive
            self.breakGlassChanged.emit()
        return alive


class UserBadge(QLabel):
    """Status-bar badge: "Dr Claire Martin (radiologist)", and a red emergency countdown."""

    def __init__(self, controller: AccessController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("userBadge")
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        controller.userChanged.connect(lambda _u: self.refresh())
        controller.breakGlassChanged.connect(self.refresh)
        controller.lockedChanged.connect(lambda _l: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        user = self.controller.user()
        if user is None:
            self.setText(tr("No user logged in"))
            self.setStyleSheet(BADGE_STYLE)
            self.timer.stop()
            return
        text = tr("{name} ({role})").format(name=user.display_name, role=role_name(user.role))
        if self.controller.locked:
            text += " — " + tr("locked")
        running = self.controller.running_emergencies()
        if running:
            left = min(e.until for e in running) - self.controller.clock()
            text += " — " + tr("EMERGENCY ACCESS {time}").format(
                time=format_countdown(left.total_seconds()))
            self.setStyleSheet(EMERGENCY_STYLE)
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.setStyleSheet(BADGE_STYLE)
            self.timer.stop()
        self.setText(text)
        self.setToolTip(tr("Logged in as {user_id}").format(user_id=user.user_id))


class LoginDialog(QDialog):
    """Local account login for shared stations; the failure is said, never who exists."""

    def __init__(self, controller: AccessController, parent: QWidget | None = None,
                 login: str = "") -> None:
        super().__init__(parent)
        self.controller = controller
        self.user: User | None = None
        self.setWindowTitle(tr("Log in to Regard"))
        form = QFormLayout()
        self.login_edit = QLineEdit(login)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(tr("Login"), self.login_edit)
        form.addRow(tr("Password"), self.password_edit)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #c00000;")
        self.error_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Log in"))
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)
        if login:
            self.password_edit.setFocus()

    def try_login(self) -> bool:
        try:
            self.user = self.controller.login(self.login_edit.text().strip(),
                                              self.password_edit.text())
        except AuditUnavailable as exc:
            self.error_label.setText(tr(T_LOGIN_NO_TRAIL).format(reason=exc))
            return False
        except IdentityError:
            self.error_label.setText(tr("Unknown login or wrong password"))
            self.password_edit.clear()
            return False
        finally:
            self.password_edit.setFocus()
        self.password_edit.clear()
        self.accept()
        return True


class LockOverlay(QWidget):
    """Opaque cover over the whole window while the session is locked.

    The window's own content (viewports included, which are native VTK windows
    a sibling widget cannot reliably cover) is hidden behind it, and shown
    again only when the same user has authenticated again.
    """

    def __init__(self, controller: AccessController, window: QWidget) -> None:
        super().__init__(window)
        self.controller = controller
        self.host = window
        self._hidden: list[QWidget] = []
        self.setObjectName("lockOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#lockOverlay { background-color: #202020; } "
                           "QLabel { color: #e0e0e0; }")
        self.message = QLabel("")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setMaximumWidth(320)
        self.password_edit.returnPressed.connect(self.unlock)
        self.unlock_button = QPushButton(tr("Unlock"))
        self.unlock_button.clicked.connect(self.unlock)
        self.switch_button = QPushButton(tr("Another user..."))
        self.switch_button.clicked.connect(self.switch_user)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #ff6060;")
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.password_edit)
        row.addWidget(self.unlock_button)
        row.addWidget(self.switch_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(self.message)
        lay.addLayout(row)
        lay.addWidget(self.error_label)
        lay.addStretch(2)
        self.hide()
        window.installEventFilter(self)
        controller.lockedChanged.connect(self.set_locked)
        if controller.locked:
            self.set_locked(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.host.rect())
        return False

    def set_locked(self, locked: bool) -> None:
        if locked:
            user = self.controller.user()
            name = user.display_name if user else "?"
            self.message.setText(tr(T_LOCKED).format(name=name))
            self.error_label.clear()
            self._hidden = [w for w in self._covered() if w.isVisible()]
            for w in self._hidden:
                w.hide()
            self.setGeometry(self.host.rect())
            self.show()
            self.raise_()
            self.password_edit.setFocus()
        else:
            self.hide()
            self.password_edit.clear()
            for w in self._hidden:
                w.show()
            self._hidden = []

    def _covered(self) -> list[QWidget]:
        """The host's own child widgets (central widget, docks, toolbars), not this one."""
        return [w for w in self.host.findChildren(QWidget, options=Qt.FindChildOption.
                                                  FindDirectChildrenOnly)
                if w is not self and w.isWindow() is False]

    def unlock(self) -> bool:
        user = self.controller.user()
        if user is None:
            return False
        try:
            self.controller.login(user.login, self.password_edit.text())
        except AuditUnavailable as exc:
            self.error_label.setText(str(exc))
            return False
        except IdentityError:
            self.error_label.setText(tr("Wrong password"))
            self.password_edit.clear()
            return False
        return True

    def switch_user(self) -> None:
        dialog = LoginDialog(self.controller, self)
        dialog.open()


class BreakGlassDialog(QDialog):
    """Declare an emergency access to one patient: a reason and a duration.

    Whether the user may (clinicians only) is the policy's decision: the gate
    records any attempt, and a refusal is shown with its reason.
    """

    def __init__(self, controller: AccessController, patient: PatientRef,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.patient = patient
        self.result_bg: BreakGlass | None = None
        self.setWindowTitle(tr("Break the glass: emergency access"))
        intro = QLabel(tr(T_BG_INTRO))
        intro.setWordWrap(True)
        who = (tr("INS {ins}").format(ins=patient.ins) if patient.ins
               else tr("patient ID {pid}").format(pid=patient.id))
        self.patient_label = QLabel(tr("Patient: {who}").format(who=who))
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setPlaceholderText(tr(T_BG_PLACEHOLDER))
        self.reason_edit.textChanged.connect(self._update)
        self.duration = QComboBox()
        cap = controller.gate.policy.break_glass_max_minutes
        for minutes in sorted({m for m in BREAK_GLASS_CHOICES if m <= cap} | {cap}):
            self.duration.addItem(tr("{n} minutes").format(n=minutes), minutes)
        self.duration.setCurrentIndex(min(1, self.duration.count() - 1))
        self.role_note = QLabel("")
        self.role_note.setWordWrap(True)
        self.role_note.setStyleSheet("color: #c00000;")
        user = controller.user()
        if user is not None and not controller.is_clinician(user):
            self.role_note.setText(tr(T_BG_ROLE).format(
                                          role=role_name(user.role)))
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c00000;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(tr("Declare the emergency"))
        self.buttons.accepted.connect(self.declare)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(tr("Reason"), self.reason_edit)
        form.addRow(tr("Duration"), self.duration)
        lay = QVBoxLayout(self)
        for w in (intro, self.patient_label):
            lay.addWidget(w)
        lay.addLayout(form)
        lay.addWidget(self.role_note)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)
        self._update()

    def reason(self) -> str:
        return self.reason_edit.toPlainText().strip()

    def _update(self) -> None:
        self.ok_button.setEnabled(len(self.reason()) >= MIN_REASON)

    def declare(self) -> bool:
        if len(self.reason()) < MIN_REASON:
            self.error_label.setText(tr("Give the reason for the emergency (a few words)."))
            return False
        try:
            self.result_bg = self.controller.break_glass(
                self.reason(), int(self.duration.currentData()), self.patient)
        except AccessDenied as exc:
            self.error_label.setText(describe_access_error(exc))
            return False
        except (AuditUnavailable, IdentityError, ValueError) as exc:
            self.error_label.setText(describe_access_error(exc))
            return False
        self.accept()
        return True


def describe_access_error(exc: BaseException) -> str:
    """The user-facing (translated) explanation of a refusal or an unwritable trail."""
    text = str(exc)
    if isinstance(exc, AuditUnavailable):
        return tr(T_FAIL_CLOSED).format(reason=text)
    if isinstance(exc, SessionLocked):
        return tr("Your session is locked: enter your password again.")
    if isinstance(exc, IdentityError):
        return tr("Nobody is identified at this station: {reason}").format(reason=text)
    if isinstance(exc, AccessDenied):
        if "opposed sharing" in text:
            return tr(T_OPPOSED)
        if "no care relationship" in text:
            return tr(T_NO_CARE)
        if "cannot declare an emergency" in text:
            return tr("Only clinicians may declare an emergency access.")
        if "may not" in text:
            return tr("Your role does not allow this action ({reason}).").format(reason=text)
        return tr("Access refused: {reason}").format(reason=text)
    return text


def access_error_box(parent: QWidget | None, exc: BaseException,
                     offer_break_glass: bool = False) -> QMessageBox:
    """A warning box saying why nothing opened (not shown yet: ``open()`` or ``exec()`` it).

    With ``offer_break_glass`` (a clinician refused for lack of a care
    relationship) it carries a "Break the glass..." button, role ``ActionRole``.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    if isinstance(exc, AuditUnavailable):
        box.setWindowTitle(tr("Access trail unavailable"))
    else:
        box.setWindowTitle(tr("Access refused"))
    box.setText(describe_access_error(exc))
    box.setDetailedText(str(exc))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    if offer_break_glass:
        button = box.addButton(tr("Break the glass..."), QMessageBox.ButtonRole.ActionRole)
        button.setObjectName("breakGlassButton")
    return box


def can_break_glass_for(exc: BaseException) -> bool:
    """A refusal an emergency access could lift (not an opposition, not a dead trail)."""
    return isinstance(exc, AccessDenied) and "opposed sharing" not in str(exc)


def patient_of(row: Any) -> PatientRef:
    """The :class:`PatientRef` of a browser row (``StudyRow``)."""
    patient = getattr(row, "patient", None)
    return PatientRef(
        id=getattr(patient, "patient_id", "") or getattr(row, "patient_id", ""),
        issuer=getattr(patient, "issuer", "") or "",
        ins=getattr(patient, "ins", "") or getattr(row, "ins", ""),
        ins_oid=getattr(patient, "ins_oid", "") or "",
    )


# -- the reading station's access wiring ----------------------------------------------------

T_NOT_OPENED = N_("Not opened: diagnostic reading on this screen was not acknowledged.")
T_BG_DONE = N_("Emergency access declared for {minutes} minutes; it is recorded in the access trail.")  # noqa: E501


class AccessUI(QObject):
    """Access and screen fitness for a :class:`~viewer.ui.main_window.MainWindow`.

    Created by :func:`install`: the user badge in the status bar, the Access menu
    (log in, lock, break the glass, reading mode, audit trail, screen QA), the
    lock overlay, and the check made
    on the GUI thread before a study is decoded (:meth:`before_open`: screen
    fitness, acknowledgement, the VIEW record with ``screen_fitness``, refusals
    explained with an offer to break the glass). The window's worker-thread
    authorizer becomes :meth:`authorize`, which only lets through studies
    :meth:`before_open` has recorded. The "not for diagnosis" banners are the
    viewports' own (:mod:`viewer.ui.viewport_display`, one per grid cell).
    """

    def __init__(self, window: Any, gate: AccessGate | None = None) -> None:
        super().__init__(window)
        from viewer.ui.fitness import FitnessGuard

        self.window = window
        gate = gate or AccessGate()
        local = LocalAccountProvider(policy=gate.policy)
        shared = local.path.is_file()
        if shared:  # nobody is identified until someone logs in (not the OS account)
            gate.provider = local
        self.controller = AccessController(gate, local if shared else None, parent=self)
        self.gate = gate
        self.controller.warm_up()
        self.fitness = FitnessGuard(window, gate)
        self.granted: dict[str, Any] = {}  # study UID -> (Exam, Clearance), until decoded
        self.opened: dict[str, Any] = {}  # study UID -> (Exam, Clearance) on screen
        self.last_row: Any = None
        self.badge = UserBadge(self.controller)
        window.statusBar().addPermanentWidget(self.badge)
        old = getattr(window, "user_label", None)
        if old is not None:
            old.hide()
            old.setMaximumWidth(0)
        self.overlay = LockOverlay(self.controller, window)
        self.fitness.hidden.connect(lambda _exam: self._hide_images())
        self.controller.userChanged.connect(self._user_changed)
        self._build_menu()
        from viewer.ui import main_window

        if getattr(window, "authorizer", None) is main_window.gate_authorizer:
            window.authorizer = self.authorize
        images_shown = getattr(window, "images_shown", None)
        if images_shown is not None:
            images_shown.connect(self._images_shown)
        if self.controller.shared_station and self.controller.user() is None:
            QTimer.singleShot(0, self.show_login)

    # -- widgets ---------------------------------------------------------------------------
    def _build_menu(self) -> None:
        from PySide6.QtGui import QAction, QActionGroup

        menu = self.window.menuBar().addMenu(tr("&Access"))
        self.menu = menu
        self.actions: dict[str, QAction] = {}

        def add(key: str, text: str, slot: Callable[[], Any]) -> QAction:
            act = QAction(text, self.window)
            act.triggered.connect(lambda _c=False: slot())
            menu.addAction(act)
            self.actions[key] = act
            return act

        if self.controller.shared_station:
            add("login", tr("Log in..."), self.show_login)
            add("lock", tr("Lock the session"), self.controller.lock_now)
            menu.addSeparator()
        add("break_glass", tr("Break the glass..."), self.break_glass)
        menu.addSeparator()
        group = QActionGroup(self.window)
        for key, text in (("diagnostic", tr("Reading mode: diagnostic")),
                          ("consultation", tr("Reading mode: consultation"))):
            act = add(key, text, lambda k=key: self.set_mode(k))
            act.setCheckable(True)
            group.addAction(act)
        self.actions[str(self.fitness.mode)].setChecked(True)
        menu.addSeparator()
        add("audit", tr("Audit trail..."), self.show_audit)
        add("qa", tr("Screen QA..."), self.show_qa)

    def set_mode(self, mode: str) -> None:
        self.fitness.set_mode(mode)
        self.actions[mode].setChecked(True)

    # -- dialogs -----------------------------------------------------------------------------
    def show_login(self) -> LoginDialog:
        dialog = LoginDialog(self.controller, self.window)
        dialog.open()
        return dialog

    def selected_row(self) -> Any:
        browser = getattr(self.window, "browser", None)
        try:
            sel = browser.table.selectionModel().selectedRows()
            if sel:
                return browser._row_at(sel[0].row())
        except AttributeError:
            pass
        return self.last_row

    def break_glass(self, row: Any = None) -> BreakGlassDialog | None:
        row = row or self.selected_row()
        if row is None:
            self.window.statusBar().showMessage(tr("Select a study first."), 5000)
            return None
        dialog = BreakGlassDialog(self.controller, patient_of(row), self.window)
        dialog.accepted.connect(lambda: self.window.statusBar().showMessage(
            tr(T_BG_DONE).format(minutes=int(dialog.duration.currentData())), 8000))
        dialog.open()
        return dialog

    def show_audit(self) -> Any:
        from viewer.ui.audit_dialog import AuditTrailDialog

        self.controller.ready()
        row = self.selected_row()
        dialog = AuditTrailDialog(self.gate, patient=row.patient_id if row else "",
                                  parent=self.window)
        dialog.open()
        return dialog

    def show_qa(self) -> Any:
        from viewer.ui.fitness import window_screen
        from viewer.ui.qa_dialog import ScreenQADialog

        user = self.controller.user()
        dialog = ScreenQADialog(self.window, measured_by=user.display_name if user else "",
                                screen=window_screen(self.window))
        dialog.open()
        return dialog

    # -- opening studies -----------------------------------------------------------------------
    def before_open(self, items: list[Any]) -> bool:
        """GUI thread, before decoding: screen fitness, acknowledgement, the VIEW record.

        ``items``: the window's ``(StudyRow, series)`` pairs (``None`` for empty cells).
        Returns False when nothing must open (declined, refused, trail unavailable:
        the user has been told why).
        """
        from viewer.ui.fitness import exam_of

        self.controller.ready()
        studies: dict[str, tuple[Any, list[Any]]] = {}
        for item in items:
            if item is not None:
                studies.setdefault(item[0].study_uid, (item[0], []))[1].append(item[1])
        granted: dict[str, Any] = {}
        for uid, (row, series) in studies.items():
            self.last_row = row
            exam = exam_of(row, series, self.fitness.policy)
            # a scripted run (`regard view --screenshot`: window.quiet) asks nothing: it is
            # not a diagnostic reading; the screen is recorded as in a consultation
            scripted = "consultation" if getattr(self.window, "quiet", False) else None
            try:
                clearance = self.fitness.clear(exam, scripted)
                if clearance is None:
                    self.window.statusBar().showMessage(tr(T_NOT_OPENED), 10000)
                    return False
                if not self._record(exam, clearance, row):
                    return False
            except (AuditUnavailable, IdentityError) as exc:
                self._explain(exc)
                return False
            granted[uid] = (exam, clearance)
        self.granted.update(granted)
        return True

    def _record(self, exam: Any, clearance: Any, row: Any) -> bool:
        try:
            self.fitness.authorize_view(exam, clearance)
            return True
        except AccessDenied as exc:
            if not (can_break_glass_for(exc) and self.controller.is_clinician()):
                self._explain(exc)
                return False
            box = access_error_box(self.window, exc, offer_break_glass=True)
            box.exec()
            clicked = box.clickedButton()
            if clicked is None or clicked.objectName() != "breakGlassButton":
                return False
            dialog = BreakGlassDialog(self.controller, exam.patient, self.window)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            self.fitness.authorize_view(exam, clearance)  # now under the emergency access
            return True

    def _explain(self, exc: BaseException) -> None:
        self.window.statusBar().showMessage(describe_access_error(exc), 10000)
        if not getattr(self.window, "quiet", False):
            access_error_box(self.window, exc).exec()

    def grant_of(self, study_uid: str) -> Any:
        """What before_open granted for a study not yet shown (None: nothing)."""
        return self.granted.get(study_uid)

    def regrant(self, study_uid: str, grant: Any) -> None:
        """Give a study's grant back for decoding: a recorded streaming preview's, or a
        study already viewed that a hanging stage shows again (the grants are handed to
        the screen-fitness watch whenever any open is shown)."""
        self.granted.setdefault(study_uid, grant)

    def authorize(self, row: Any, series: list[Any]) -> None:
        """The window's authorizer (worker thread): only studies recorded by before_open."""
        if row.study_uid not in self.granted:
            raise AccessDenied(tr("Access refused: {reason}").format(
                reason="the viewing was not recorded"))

    def _images_shown(self) -> None:
        grid = getattr(self.window, "grid", None)
        self.fitness.forget()
        self.opened = dict(self.granted)
        self.granted.clear()
        if grid is not None and not grid.isVisible() and not self.controller.locked:
            grid.show()  # hidden earlier (declined on another screen, another user)
        for uid, (exam, clearance) in self.opened.items():
            self.fitness.shown(uid, exam, clearance,
                               hide=grid.hide if grid is not None else None,
                               show=grid.show if grid is not None else None)

    def guard_window(self, window: QWidget, hide: Callable[[], None],
                     show: Callable[[], None] | None = None, withhold: bool = False) -> Any:
        """Screen fitness for another window showing the opened studies (another screen).

        Checks that window's screen for each study on display (asking in
        diagnostic mode), records the VIEW with that screen, and keeps checking
        when it moves; ``hide`` is called when a study may not be shown there.
        Returns the window's FitnessGuard, or None when nothing may be shown. With
        ``withhold`` (an extra viewer window), a declined acknowledgement, now or after
        a move, returns the guard with the studies withheld (``guard.withheld_exams()``):
        once the window is on a screen fit for them they are recorded and shown
        (``show``) without asking.
        """
        from viewer.ui.fitness import FitnessGuard

        self.controller.ready()
        # a scripted run asks nothing: recorded as a consultation (as before_open does)
        scripted = getattr(self.window, "quiet", False)
        guard = FitnessGuard(window, self.gate, policy=self.fitness.policy,
                             mode="consultation" if scripted else self.fitness.mode)
        guard.reshow_when_fit = withhold
        if not scripted:
            self.fitness.modeChanged.connect(guard.set_mode)
        opened = list(self.opened.items())
        for n, (uid, (exam, _clearance)) in enumerate(opened):
            try:
                clearance = guard.clear(exam)
                ok = clearance is not None and self._record(exam, clearance, None)
            except (AuditUnavailable, IdentityError) as exc:
                self._explain(exc)
                return self._refused(guard, hide)
            if clearance is None and withhold:  # nothing here until it is on a fit screen
                hide()
                for later_uid, (later, _c) in opened[n:]:
                    guard.withhold(later_uid, later, hide=hide, show=show)
                return guard
            if not ok:
                return self._refused(guard, hide)
            guard.shown(uid, exam, clearance, hide=hide, show=show)
        return guard

    def _refused(self, guard: Any, hide: Callable[[], None]) -> None:
        hide()
        guard.forget()
        return None

    def _hide_images(self) -> None:
        grid = getattr(self.window, "grid", None)
        if grid is not None:
            grid.hide()
        self.window.statusBar().showMessage(tr(T_NOT_OPENED), 10000)

    def _user_changed(self, _user: Any) -> None:
        """Another person: what the previous one opened is no longer shown."""
        if self.opened:
            self._hide_images()
            self.fitness.forget()
            self.opened.clear()


def install(window: Any, gate: AccessGate | None = None) -> AccessUI:
    """Add access and screen fitness to a MainWindow (idempotent); see :class:`AccessUI`."""
    existing = getattr(window, "access_ui", None)
    if isinstance(existing, AccessUI):
        return existing
    ui = AccessUI(window, gate)
    window.access_ui = ui
    return ui
