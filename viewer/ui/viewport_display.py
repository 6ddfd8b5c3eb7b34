"""Per viewport: the "not for diagnosis" banner and the screen's GSDF presentation LUT.

Each cell of a :class:`~viewer.ui.grid.ViewportGrid` gets a :class:`CellDisplay`:

- a :class:`~viewer.ui.display_banner.DisplayBanner` at the top of the cell,
  checking the screen its window is on against the exam shown *in that cell*
  (a CR next to a CT on a 2.3 MP screen: the banner is over the CR only);
- the presentation LUT of that screen (:func:`viewer.display.qa_store.presentation_lut_for`,
  None when software calibration is off for it) set on the cell's view
  (``SliceView``/``ImageView.set_presentation_lut``), changed when the window
  moves to another screen, when the screen set changes, and when calibration
  is switched on or off (the QA store is watched, so the CLI's changes count).

It only displays: the access trail records are the window's
:class:`~viewer.ui.fitness.FitnessGuard`'s (one per exam and screen verdict).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, QPoint, QTimer, Signal
from PySide6.QtGui import QImage, QScreen
from PySide6.QtWidgets import QBoxLayout, QWidget

from viewer.display.policy import DisplayPolicy, load_policy
from viewer.ui.display_banner import DisplayBanner

log = logging.getLogger(__name__)


class CalibrationWatch(QObject):
    """Says when the per-screen calibration records (REGARD_HOME/display) change."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _p: self.changed.emit())
        self._watcher.fileChanged.connect(lambda _p: self.changed.emit())
        self._dir = ""

    def watch(self) -> None:
        """Watch the current store (REGARD_HOME may differ from the last call's)."""
        from viewer.display.qa_store import store_dir

        path = str(store_dir())
        if path != self._dir:
            if self._dir:
                self._watcher.removePath(self._dir)
            self._watcher.addPath(path)
            self._dir = path


_watch: list[CalibrationWatch] = []


def calibration_watch() -> CalibrationWatch:
    if not _watch:
        _watch.append(CalibrationWatch())
    _watch[0].watch()
    return _watch[0]


_policy_cache: list[tuple[tuple[Any, ...], DisplayPolicy]] = []


def _stamps(paths: list[Path]) -> tuple[Any, ...]:
    out = []
    for path in paths:
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), None, None))
    return tuple(out)


def _policy_files(policy: DisplayPolicy | None) -> list[Path]:
    from viewer.config import site_config_path
    from viewer.display.policy import default_policy_path

    files = [site_config_path(), default_policy_path()]
    if policy is not None:  # a policy_file the site configuration names
        files += [Path(s) for s in policy.source.split(" + ") if s != "site [display]"]
    return files


def shared_policy() -> DisplayPolicy:
    """The display policy, read again only when one of its files changed.

    Every grid cell has a banner: a layout change must not parse the TOML files
    once per cell (2-3 ms each).
    """
    if _policy_cache:
        key, policy = _policy_cache[0]
        if key == _stamps(_policy_files(policy)):
            return policy
    policy = load_policy()
    _policy_cache[:] = [(_stamps(_policy_files(policy)), policy)]
    return policy


def presentation_lut_of(screen: QScreen | None) -> Any:
    """The GSDF presentation LUT enabled for ``screen`` (None: off, unknown or unreadable)."""
    if screen is None:
        return None
    from viewer.display import qa_store
    from viewer.display.screens import from_qscreen

    try:
        return qa_store.presentation_lut_for(from_qscreen(screen))
    except ValueError as exc:  # a broken record: show uncalibrated and say why in the log
        log.warning("screen calibration not applied: %s", exc)
        return None


def shown_exam(child: QWidget | None) -> tuple[str | None, Any]:
    """(modality, the render-layer view) of what a cell's viewport shows now."""
    view = getattr(child, "view", None)
    series = getattr(child, "series", None)  # ImageViewport: a 2-D series
    if view is not None and series is not None:
        return series.modality or None, view
    model = getattr(child, "model", None)  # SliceViewport
    volume = getattr(model, "volume", None)
    if view is not None and volume is not None:
        return volume.modality or None, view
    scene = getattr(child, "scene", None)  # the MPR layout's 3-D cell
    volume = getattr(scene, "volume", None)
    if volume is not None:
        return volume.modality or None, None
    return None, None


class CellDisplay(QObject):
    """The banner and the presentation LUT of one grid cell (see module docstring)."""

    def __init__(self, cell: QWidget, policy: DisplayPolicy | None = None) -> None:
        super().__init__(cell)
        self.cell = cell
        self.banner = DisplayBanner(cell, policy=policy or shared_policy())
        layout = cell.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(0, self.banner)
        self.lut: Any = None
        self._lut_screen: QScreen | None = None
        self._view: weakref.ref[Any] | None = None
        self._child: QWidget | None = None
        self._modality: str | None = None
        self._stale = False  # calibration changed while the cell was not shown
        self.banner.screenChecked.connect(self._screen_checked)
        calibration_watch().changed.connect(self._calibration_changed)
        cell.installEventFilter(self)

    # -- what the cell shows ------------------------------------------------------------
    def follow(self, child: QWidget) -> None:
        """The cell now shows ``child`` (a SliceViewport, ImageViewport or 3-D view)."""
        if child is self._child:
            return
        self._disconnect()
        self._child = child
        model = getattr(child, "model", None)
        if model is not None and hasattr(model, "events"):
            model.events.connect(self._model_changed)
        for name in ("frame_changed", "data_changed"):  # ImageViewport, View3D
            signal = getattr(child, name, None)
            if signal is not None:
                signal.connect(self._content_changed)
        self._content_changed()

    def _disconnect(self) -> None:
        child = self._child
        if child is None:
            return
        with contextlib.suppress(RuntimeError, TypeError, AttributeError):
            child.model.events.disconnect(self._model_changed)  # type: ignore[attr-defined]
        for name in ("frame_changed", "data_changed"):
            with contextlib.suppress(RuntimeError, TypeError, AttributeError):
                getattr(child, name).disconnect(self._content_changed)

    def _model_changed(self, changed: set[str]) -> None:
        if "volume" in changed:  # not on every scroll or window change
            self._content_changed()

    def _content_changed(self, *_args: object) -> None:
        modality, view = shown_exam(self._child)
        if modality != self._modality:
            self._modality = modality
            self.banner.set_exam(modality)
        if view is not None and (self._view is None or self._view() is not view):
            self._view = weakref.ref(view)
            self._apply(view)

    # -- the screen and its calibration ---------------------------------------------------
    def _screen_checked(self, screen: QScreen | None) -> None:
        if screen is not self._lut_screen or self._stale:
            self._lut_screen = screen
            self._reload()

    def _calibration_changed(self) -> None:
        self._stale = True
        if self.cell.isVisible():  # a closed window reads it again when shown
            # several file events per write: read once, after them
            QTimer.singleShot(0, self, self._reload)

    def _reload(self) -> None:
        self._stale = False
        if self._lut_screen is not None and not shiboken6.isValid(self._lut_screen):
            self._lut_screen = None  # unplugged: the banner's next check names the new one
            QTimer.singleShot(0, self.banner, self.banner.recheck)
        self.lut = presentation_lut_of(self._lut_screen)
        view = self._view() if self._view is not None else None
        if view is not None:
            self._apply(view)

    def _apply(self, view: Any) -> None:
        setter = getattr(view, "set_presentation_lut", None)
        if setter is None:
            return
        setter(self.lut)
        request = getattr(self._child, "request_render", None)
        if request is not None:
            request()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        cell = getattr(self, "cell", None)  # None while Python tears the object down
        if cell is not None and watched is cell and event.type() == QEvent.Type.Show:
            # the window exists now (or moved): check its screen
            QTimer.singleShot(0, self.banner, self.banner.recheck)
        return False


def paste_banner(out: np.ndarray, cell: QWidget, top: QWidget, ratio: float) -> None:
    """Draw the cell's banner, when shown, into ``out`` (RGB of ``top``, device pixels).

    For :meth:`ViewportGrid.capture`, which pastes the VTK pixels itself: the
    banner is a plain Qt widget, so ``grab()`` has its pixels.
    """
    display = getattr(cell, "display", None)
    banner = getattr(display, "banner", None)
    if banner is None or not banner.isVisible():
        return
    img = banner.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    rgb = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h)
    rgb = rgb.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    pos = banner.mapTo(top, QPoint(0, 0))
    x, y = round(pos.x() * ratio), round(pos.y() * ratio)
    hh, ww = max(0, min(h, out.shape[0] - y)), max(0, min(w, out.shape[1] - x))
    out[y:y + hh, x:x + ww] = rgb[:hh, :ww]
