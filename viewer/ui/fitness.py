"""Screen fitness at the reading station: verdict, acknowledgement, access record (issue 5).

"On a screen below the class the exam needs: a persistent red banner in the
viewport, and the access trail records that the images were viewed on a
non-diagnostic screen. Referring clinicians in consultation may view on any
screen (banner still shown); a radiologist's 'diagnostic reading' mode
refuses to open the exam there unless they acknowledge it, and that
acknowledgement is recorded."

:class:`FitnessGuard` is the glue between :mod:`viewer.display.policy` (the
verdict and the reading decision) and the access gate, for one window:

- :meth:`FitnessGuard.clear` (GUI thread, before any pixel is decoded): the
  verdict for the window's screen and the exam's modality; in diagnostic mode
  on an unfit screen it asks for the acknowledgement (a dialog). Declined: a
  ``view`` record with outcome ``denied`` is written and ``None`` returned
  (nothing opens). Otherwise a :class:`Clearance` whose ``fitness`` goes as
  ``screen_fitness`` into the VIEW record (:meth:`FitnessGuard.authorize_view`).
- :meth:`FitnessGuard.shown` registers what is on screen; when the window
  changes screen (or the screen set or geometry changes) every shown exam is
  checked again: a newly unfit screen is recorded in the trail, and in
  diagnostic mode needs the acknowledgement again or the images are hidden
  (the ``hide`` callback given to :meth:`shown`).
- With ``reshow_when_fit`` (an extra viewer window), exams whose acknowledgement was
  declined (:meth:`FitnessGuard.withhold`) come back when the window reaches a screen
  fit for all of them: each VIEW is recorded with that screen, then ``show`` is called.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QMessageBox, QWidget

from viewer.access.gate import AccessGate, Action, Decision, PatientRef
from viewer.display.policy import (
    DisplayPolicy,
    ReadingDecision,
    ReadingMode,
    Verdict,
    check,
    fitness_for_audit,
    load_policy,
    reading_decision,
)
from viewer.display.screens import ScreenInfo, from_qscreen
from viewer.ui.i18n import N_, tr, ui_language

log = logging.getLogger(__name__)

#: Roles that read in diagnostic mode unless they choose otherwise.
DIAGNOSTIC_ROLES = frozenset({"radiologist"})

T_ACK_QUESTION = N_("You are in diagnostic reading mode. Open the exam on this screen anyway? Your acknowledgement is recorded in the access trail.")  # noqa: E501

AskAcknowledgement = Callable[[QWidget, Verdict], bool]


def default_mode(role: str) -> ReadingMode:
    """A radiologist reads (diagnostic); anyone else consults."""
    return ReadingMode.DIAGNOSTIC if role in DIAGNOSTIC_ROLES else ReadingMode.CONSULTATION


def window_screen(widget: QWidget) -> QScreen | None:
    """The screen under the centre of ``widget``'s window (as the display banner decides)."""
    window = widget.window()
    handle = window.windowHandle()
    current = (handle.screen() if handle is not None else None) or window.screen()
    if current is None:
        return QGuiApplication.primaryScreen()
    centre = window.frameGeometry().center()
    for screen in current.virtualSiblings():
        if screen.geometry().contains(centre):
            return screen
    return current


def acknowledgement_box(parent: QWidget | None, verdict: Verdict,
                        language: str | None = None) -> QMessageBox:
    """The question asked before a diagnostic reading on an unfit screen (not shown yet)."""
    box = QMessageBox(parent)
    box.setObjectName("fitnessAcknowledgement")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(tr("Screen not fit for diagnosis"))
    box.setText(verdict.message(language or ui_language()))
    box.setInformativeText(tr(T_ACK_QUESTION))
    box.addButton(tr("Read here anyway"), QMessageBox.ButtonRole.AcceptRole).setObjectName(
        "acknowledge")
    cancel = box.addButton(tr("Do not open"), QMessageBox.ButtonRole.RejectRole)
    cancel.setObjectName("decline")
    box.setDefaultButton(cancel)
    if parent is not None:
        # on another X screen than the primary one, a dialog created on the primary
        # screen and moved to its parent's is recreated there hidden: create it there
        box.setScreen(parent.window().screen())
    return box


def ask_acknowledgement(parent: QWidget, verdict: Verdict) -> bool:
    """Modal dialog: True when the radiologist acknowledges reading on this screen."""
    box = acknowledgement_box(parent, verdict)
    box.exec()
    clicked = box.clickedButton()
    return clicked is not None and clicked.objectName() == "acknowledge"


@dataclass(frozen=True)
class Exam:
    """What is about to be shown: the access record's subject and the exam type."""

    patient: PatientRef | None
    study_uids: tuple[str, ...]
    series_uids: tuple[str, ...]
    modality: str
    sop_class_uid: str | None = None
    archive: str = ""
    referring_physicians: tuple[str, ...] = ()
    origin_site: str | None = None


@dataclass(frozen=True)
class Clearance:
    """The screen check passed (fit, consultation, or acknowledged)."""

    verdict: Verdict | None
    decision: ReadingDecision
    mode: ReadingMode
    fitness: dict[str, Any] = field(default_factory=dict)

    @property
    def banner(self) -> bool:
        return self.decision.banner


@dataclass
class _Shown:
    exam: Exam
    clearance: Clearance
    hide: Callable[[], None] | None
    show: Callable[[], None] | None = None


class FitnessGuard(QObject):
    """Screen fitness for one window of the reading station (see module docstring)."""

    verdictChanged = Signal(object)  # Verdict | None, for the window's current screen
    hidden = Signal(object)  # Exam whose images were hidden after a screen change
    modeChanged = Signal(str)

    def __init__(
        self,
        window: QWidget,
        gate: AccessGate | Callable[[], AccessGate],
        *,
        mode: ReadingMode | str | None = None,
        policy: DisplayPolicy | None = None,
        ask: AskAcknowledgement | None = None,
        screen_info: Callable[[QWidget], ScreenInfo | None] | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self._gate = gate
        self.policy = policy or load_policy()
        self.ask = ask or ask_acknowledgement
        self._screen_info = screen_info
        self._mode = ReadingMode(mode) if mode else None
        self._shown: dict[str, _Shown] = {}
        self.reshow_when_fit = False
        self._withheld: dict[str, _Shown] = {}  # declined here, shown again on a fit screen
        self._watched_handle: Any = None
        self._watched_screen: QScreen | None = None
        self._question: QMessageBox | None = None
        self._last_verdict: Verdict | None = None
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.screenAdded.connect(self._screens_changed)
            app.screenRemoved.connect(self._screens_changed)

    # -- configuration --------------------------------------------------------------------
    def gate(self) -> AccessGate:
        return self._gate if isinstance(self._gate, AccessGate) else self._gate()

    @property
    def mode(self) -> ReadingMode:
        if self._mode is None:
            try:
                user = self.gate().current_user()
                self._mode = default_mode(user.role)
            except Exception as exc:  # nobody identified yet: consult (the gate refuses later)
                log.debug("reading mode from role: %s", exc)
                return ReadingMode.CONSULTATION
        return self._mode

    def set_mode(self, mode: ReadingMode | str) -> None:
        """Diagnostic reading or consultation; what is shown is checked again."""
        new = ReadingMode(mode)
        if new != self._mode:
            self._mode = new
            self.modeChanged.emit(str(new))
            self.recheck()

    # -- the screen ------------------------------------------------------------------------
    def screen(self) -> ScreenInfo | None:
        if self._screen_info is not None:
            return self._screen_info(self.window)
        self._follow_window()
        qscreen = window_screen(self.window)
        return from_qscreen(qscreen) if qscreen is not None else None

    def verdict(self, modality: str, sop_class_uid: str | None = None) -> Verdict | None:
        info = self.screen()
        if info is None or not modality:
            return None
        return check(info, modality, self.policy, sop_class_uid)

    # -- before opening ---------------------------------------------------------------------
    def clear(self, exam: Exam, mode: ReadingMode | str | None = None) -> Clearance | None:
        """Check the screen for ``exam``; ask in diagnostic mode; None when it must not open.

        A declined acknowledgement is recorded (``view``, outcome ``denied``) with
        the screen and reading mode; raises AuditUnavailable if it cannot be.
        ``mode`` overrides the guard's reading mode for this check.
        """
        mode = ReadingMode(mode) if mode else self.mode
        verdict = self.verdict(exam.modality, exam.sop_class_uid)
        if verdict is None:
            return Clearance(None, ReadingDecision(True, False, False, None), mode,
                             {"reading_mode": str(mode), "status": "unknown"})
        decision = reading_decision(verdict, mode)
        if decision.needs_acknowledgement:
            acknowledged = bool(self.ask(self.window, verdict))
            decision = reading_decision(verdict, mode, acknowledged=acknowledged)
            if not acknowledged:
                self._record_declined(exam, verdict, mode, decision)
                return None
        return Clearance(verdict, decision, mode, fitness_for_audit(verdict, mode, decision))

    def _record_declined(self, exam: Exam, verdict: Verdict, mode: ReadingMode,
                         decision: ReadingDecision) -> None:
        fitness = fitness_for_audit(verdict, mode, decision)
        self.gate().record(
            Action.VIEW, outcome="denied", patient=exam.patient, study_uids=exam.study_uids,
            series_uids=exam.series_uids, archive=exam.archive, screen_fitness=fitness,
            detail={"denied": "diagnostic reading on a non-diagnostic screen not acknowledged"},
        )

    def authorize_view(self, exam: Exam, clearance: Clearance) -> Decision:
        """The VIEW record with the screen's fitness (raises AccessDenied/AuditUnavailable)."""
        return self.gate().authorize_and_record(
            Action.VIEW, patient=exam.patient, study_uids=exam.study_uids,
            series_uids=exam.series_uids, archive=exam.archive,
            screen_fitness=clearance.fitness,
            referring_physicians=exam.referring_physicians, origin_site=exam.origin_site,
        )

    def open(self, exam: Exam) -> tuple[Clearance, Decision] | None:
        """:meth:`clear` then :meth:`authorize_view` (GUI thread); None when declined."""
        clearance = self.clear(exam)
        if clearance is None:
            return None
        return clearance, self.authorize_view(exam, clearance)

    # -- while shown ------------------------------------------------------------------------
    def shown(self, key: str, exam: Exam, clearance: Clearance,
              hide: Callable[[], None] | None = None,
              show: Callable[[], None] | None = None) -> None:
        """``exam`` is on screen (e.g. key = viewport name).

        ``hide`` takes its pixels away, ``show`` brings them back (after an
        acknowledgement asked when the window moved to an unfit screen).
        """
        self._shown[key] = _Shown(exam, clearance, hide, show)
        self._follow_window()

    def forget(self, key: str | None = None) -> None:
        """Nothing (or nothing more under ``key``) is shown."""
        if key is None:
            self._shown.clear()
        else:
            self._shown.pop(key, None)

    def withhold(self, key: str, exam: Exam, hide: Callable[[], None] | None = None,
                 show: Callable[[], None] | None = None) -> None:
        """``exam`` is not shown (its acknowledgement was declined); with
        ``reshow_when_fit`` it is shown (``show``) once the window is on a fit screen."""
        self._shown.pop(key, None)
        self._withheld[key] = _Shown(exam, Clearance(None, ReadingDecision(
            False, False, False, None), self.mode), hide, show)
        self._follow_window()

    def withheld_exams(self) -> dict[str, Exam]:
        return {k: s.exam for k, s in self._withheld.items()}

    def shown_exams(self) -> dict[str, Exam]:
        return {k: s.exam for k, s in self._shown.items()}

    @property
    def pending_question(self) -> QMessageBox | None:
        """The acknowledgement box waiting for an answer after a screen change, if any."""
        return self._question

    def recheck(self) -> None:
        """The screen (or the mode) changed: check every shown exam again.

        Unfit screen in consultation: the new screen is recorded. In diagnostic
        mode: the images are hidden at once and the acknowledgement asked
        (window-modal, not blocking); acknowledged, they come back and the
        acknowledgement is recorded; declined, a refusal is recorded.
        """
        if self._question is not None or not self._shown:
            self.verdictChanged.emit(None if not self._shown else self._last_verdict)
            if self._question is None:
                self._reshow_if_fit()
            return
        waiting: list[tuple[str, _Shown, Verdict]] = []
        for key, item in list(self._shown.items()):
            verdict = self._recheck_one(key, item)
            if verdict is not None:
                waiting.append((key, item, verdict))
        if waiting:
            self._ask_later(waiting)
        else:
            self._reshow_if_fit()

    def _reshow_if_fit(self) -> None:
        """Withheld exams back when the screen is fit for every one of them (the window
        shows all or nothing): no acknowledgement needed, each VIEW recorded first."""
        if not self.reshow_when_fit or not self._withheld:
            return
        mode = self.mode
        cleared: list[tuple[str, _Shown, Clearance]] = []
        for key, item in self._withheld.items():
            verdict = self.verdict(item.exam.modality, item.exam.sop_class_uid)
            if verdict is None or not verdict.fit:
                return
            decision = reading_decision(verdict, mode)
            if decision.needs_acknowledgement or not decision.open:
                return
            cleared.append((key, item, Clearance(verdict, decision, mode,
                                                 fitness_for_audit(verdict, mode, decision))))
        shows = []
        for key, item, clearance in cleared:
            try:
                self.authorize_view(item.exam, clearance)
            except Exception as exc:  # refused or trail unavailable: stays hidden
                log.warning("fit screen: images still hidden (%s)", type(exc).__name__)
                return
            del self._withheld[key]
            item.clearance = clearance
            self._shown[key] = item
            shows.append(item.show)
        for show in dict.fromkeys(s for s in shows if s is not None):
            show()

    def _recheck_one(self, key: str, item: _Shown) -> Verdict | None:
        """Check one shown exam; returns its verdict when an acknowledgement is needed."""
        exam, before = item.exam, item.clearance
        verdict = self.verdict(exam.modality, exam.sop_class_uid)
        self._last_verdict = verdict
        self.verdictChanged.emit(verdict)
        if verdict is None:
            return None
        same = (before.verdict is not None and before.mode == self.mode
                and (before.verdict.screen_name, before.verdict.fit,
                     before.verdict.actual_mp)
                == (verdict.screen_name, verdict.fit, verdict.actual_mp))
        if same:
            return None
        mode = self.mode
        decision = reading_decision(verdict, mode)
        if decision.needs_acknowledgement:
            if item.hide is not None:
                item.hide()
            return verdict
        clearance = Clearance(verdict, decision, mode, fitness_for_audit(verdict, mode, decision))
        moved_unfit = not verdict.fit or (before.verdict is not None and not before.verdict.fit)
        # the trail says on which screen the images are now seen
        if moved_unfit and not self._record_view(key, item, clearance):
            return None
        item.clearance = clearance
        return None

    def _record_view(self, key: str, item: _Shown, clearance: Clearance) -> bool:
        try:
            self.authorize_view(item.exam, clearance)
        except Exception as exc:  # refused or trail unavailable: the images go
            log.warning("screen change: images hidden (%s)", type(exc).__name__)
            self._hide(key, item)
            return False
        return True

    def _ask_later(self, waiting: list[tuple[str, _Shown, Verdict]]) -> None:
        verdict = min((v for _k, _i, v in waiting), key=lambda v: v.actual_mp - (
            v.required_megapixels or 0.0))
        box = acknowledgement_box(self.window, verdict)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self._question = box

        def answered(_code: int) -> None:
            clicked = box.clickedButton()
            ok = clicked is not None and clicked.objectName() == "acknowledge"
            self._question = None
            box.deleteLater()
            self._answered(waiting, ok)

        box.finished.connect(answered)
        box.open()

    def _answered(self, waiting: list[tuple[str, _Shown, Verdict]], ok: bool) -> None:
        mode = self.mode
        for key, item, _old in waiting:
            if self._shown.get(key) is not item:
                continue  # replaced or closed meanwhile
            verdict = self.verdict(item.exam.modality, item.exam.sop_class_uid)
            if verdict is None:
                continue
            decision = reading_decision(verdict, mode, acknowledged=ok)
            if not decision.open:
                try:
                    self._record_declined(item.exam, verdict, mode, decision)
                except Exception as exc:  # the images stay hidden either way
                    log.warning("declined acknowledgement not recorded: %s", exc)
                self._hide(key, item)
                if self.reshow_when_fit:
                    self._withheld[key] = item
                continue
            clearance = Clearance(verdict, decision, mode,
                                  fitness_for_audit(verdict, mode, decision))
            if self._record_view(key, item, clearance):
                item.clearance = clearance
                if item.show is not None and not self._withheld:  # all or nothing
                    item.show()

    def _hide(self, key: str, item: _Shown) -> None:
        self._shown.pop(key, None)
        if item.hide is not None:
            item.hide()
        self.hidden.emit(item.exam)

    # -- following the window ------------------------------------------------------------------
    def _follow_window(self) -> None:
        handle = self.window.window().windowHandle()
        if handle is not None and handle is not self._watched_handle:
            if self._watched_handle is not None:
                with contextlib.suppress(RuntimeError, TypeError):
                    self._watched_handle.screenChanged.disconnect(self._screen_changed)
            handle.screenChanged.connect(self._screen_changed)
            self._watched_handle = handle
        screen = window_screen(self.window)
        if screen is not self._watched_screen:
            if self._watched_screen is not None:
                with contextlib.suppress(RuntimeError, TypeError):
                    self._watched_screen.geometryChanged.disconnect(self._screen_changed)
            if screen is not None:
                screen.geometryChanged.connect(self._screen_changed)
            self._watched_screen = screen

    def _screen_changed(self, *_args: object) -> None:
        QTimer.singleShot(0, self, self.recheck)

    def _screens_changed(self, *_args: object) -> None:
        QTimer.singleShot(0, self, self.recheck)


def exam_of(row: Any, series: Sequence[Any] | Iterable[Any],
            policy: DisplayPolicy | None = None) -> Exam:
    """An :class:`Exam` from a browser row (``StudyRow``) and its series entries.

    The exam's modality is the most demanding one of the series for the display
    policy (a CT with a CR: CR, 3 MP); without a policy, the first image
    modality (SR/KO/PR last).
    """
    from viewer.display.policy import required_class
    from viewer.ui.access_ui import patient_of

    series = list(series)
    non_image = {"SR", "KO", "PR", "DOC", "OT"}
    mods = [str(getattr(s, "modality", "") or "") for s in series]
    mods.sort(key=lambda m: (m.upper() in non_image, m == ""))
    if policy is not None and mods:
        def need(m: str) -> float:
            cls = required_class(m, policy)
            return policy.classes[cls].min_megapixels if cls else 0.0

        mods.sort(key=need, reverse=True)  # stable: ties keep the order above
    sop = None
    for s in series:
        for inst in getattr(s, "instances", [])[:1]:
            sop = getattr(inst, "sop_class_uid", None) or sop
        if sop:
            break
    study = getattr(row, "study", None)
    referring = getattr(study, "referring_physician", "") or ""
    return Exam(
        patient=patient_of(row),
        study_uids=(row.study_uid,),
        series_uids=tuple(getattr(s, "series_uid", "") for s in series),
        modality=mods[0] if mods else (row.modalities.split("/")[0] if row.modalities else ""),
        sop_class_uid=sop if len(series) == 1 else None,
        archive=getattr(row, "source", ""),
        referring_physicians=(referring,) if referring else (),
    )


def with_series(exam: Exam, series_uids: Sequence[str]) -> Exam:
    return replace(exam, series_uids=tuple(series_uids))
