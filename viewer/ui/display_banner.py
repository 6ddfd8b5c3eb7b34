"""The red "not for diagnosis" banner of a viewport, kept true as the window moves.

A :class:`DisplayBanner` sits at the top of a viewport. It checks the screen its
window is on against the exam type (:func:`viewer.display.policy.check`) when a
series is shown (:meth:`DisplayBanner.set_exam`), when the window moves to
another screen (``QWindow.screenChanged``), when that screen's geometry changes
and when the screen set changes (``QGuiApplication.screenAdded/screenRemoved``).
On a screen below the class the exam needs it shows the message in the UI
language and stays up; ``verdictChanged`` carries each new
:class:`~viewer.display.policy.Verdict` so the reading station can record in the
access trail that images were viewed on a non-diagnostic screen.
"""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from viewer.display.policy import DisplayPolicy, Verdict, check, load_policy
from viewer.display.screens import from_qscreen

log = logging.getLogger(__name__)

BANNER_STYLE = (
    "QLabel { background-color: #c00000; color: white; font-weight: bold; padding: 4px 8px; }"
)


class DisplayBanner(QLabel):
    """Persistent red banner shown while the viewport's screen is unfit for its exam."""

    verdictChanged = Signal(object)  # Verdict | None
    # the screen the window is on, at each check (also with no exam: calibration follows it)
    screenChecked = Signal(object)  # QScreen | None

    def __init__(
        self,
        parent: QWidget | None = None,
        policy: DisplayPolicy | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._policy = policy or load_policy()
        self._language = language
        self._modality: str | None = None
        self._sop_class: str | None = None
        self._verdict: Verdict | None = None
        self._watched_window: QObject | None = None
        self._watched_screen: QScreen | None = None
        self.setObjectName("displayBanner")
        self.setStyleSheet(BANNER_STYLE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.hide()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.screenAdded.connect(self._screens_changed)
            app.screenRemoved.connect(self._screens_changed)

    # -- public API -------------------------------------------------------------------
    @property
    def verdict(self) -> Verdict | None:
        """The last verdict (None while no exam is shown)."""
        return self._verdict

    def set_exam(self, modality: str | None, sop_class_uid: str | None = None) -> None:
        """A series of this exam type is now shown (None: nothing shown, banner off)."""
        self._modality = modality
        self._sop_class = sop_class_uid
        self.recheck()

    def set_language(self, language: str | None) -> None:
        """Banner language ('fr' or 'en'; None: the UI language) -- re-checks."""
        self._language = language
        self.recheck()

    def recheck(self) -> Verdict | None:
        """Check the current screen again and update the banner."""
        self._follow_window()
        screen = self._current_screen()
        verdict = None
        if self._modality and screen is not None:
            info = from_qscreen(screen)
            verdict = check(info, self._modality, self._policy, self._sop_class)
        changed = verdict != self._verdict
        self._verdict = verdict
        if verdict is not None and not verdict.fit:
            self.setText(verdict.message(self._ui_language()))
            self.show()
        else:
            self.clear()
            self.hide()
        if changed:
            self.verdictChanged.emit(verdict)
        self.screenChecked.emit(screen)
        return verdict

    # -- tracking the window and its screen ---------------------------------------------
    def _ui_language(self) -> str:
        if self._language:
            return self._language
        from viewer.ui.i18n import ui_language

        return ui_language()

    def _current_screen(self) -> QScreen | None:
        """The screen under the window's centre, among the screens of its desktop.

        Qt's own ``QWindow.screen()`` is not updated when a screen is plugged back
        in under a window that did not move, so the centre decides when it lies on
        a screen of the same virtual desktop (separate X screens are not siblings).
        """
        handle = self.window().windowHandle()
        current = handle.screen() if handle is not None else None
        current = current or self.screen()
        if current is None:
            return None
        centre = self.window().frameGeometry().center()
        for screen in current.virtualSiblings():
            if screen.geometry().contains(centre):
                return screen
        return current

    def _follow_window(self) -> None:
        handle = self.window().windowHandle()
        if handle is not None and handle is not self._watched_window:
            if self._watched_window is not None:
                self._watched_window.screenChanged.disconnect(self._screen_changed)
            handle.screenChanged.connect(self._screen_changed)
            self._watched_window = handle
        screen = self._current_screen()
        if screen is not self._watched_screen:
            if self._watched_screen is not None:
                with contextlib.suppress(RuntimeError, TypeError):  # screen already gone
                    self._watched_screen.geometryChanged.disconnect(self._geometry_changed)
                    self._watched_screen.logicalDotsPerInchChanged.disconnect(
                        self._geometry_changed
                    )
            if screen is not None:
                screen.geometryChanged.connect(self._geometry_changed)
                screen.logicalDotsPerInchChanged.connect(self._geometry_changed)
            self._watched_screen = screen

    def _screen_changed(self, _screen: QScreen) -> None:
        self.recheck()

    def _geometry_changed(self, *_args: object) -> None:
        self.recheck()

    def _screens_changed(self, *_args: object) -> None:
        # the removed screen is still listed while the signal runs: check once it is gone
        QTimer.singleShot(0, self, self.recheck)

    def event(self, ev: QEvent) -> bool:
        if ev.type() in (QEvent.Type.Show, QEvent.Type.ParentChange):
            QTimer.singleShot(0, self, self.recheck)
        return super().event(ev)
