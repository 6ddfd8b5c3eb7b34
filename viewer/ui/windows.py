"""Reading-station controls that live beside the main window: thick slab controls and
extra viewer windows on other screens.

* :class:`SlabControls`: a toolbar combo (thin, MIP, MinIP, mean) and a thickness
  spin box; ``B`` cycles the mode. They apply to the active viewport, or to the
  three planes in the MPR layout (``ViewportGrid.set_slab``).
* :class:`ViewerWindow`: a second top-level window hosting its own
  :class:`~viewer.ui.grid.ViewportGrid`, opened on a chosen screen, whose geometry
  is saved per user (QSettings under REGARD_HOME).

Pure Qt at import time: the grid (VTK) is imported only when a window is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QMainWindow,
    QToolBar,
    QWidget,
)

from viewer.config import regard_home
from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

SLAB_CHOICES = (("", N_("Thin slice")), ("mip", N_("MIP")), ("minip", N_("MinIP")),
                ("mean", N_("Mean")))
SLAB_KEY = "B"
DEFAULT_SLAB_MM = 10.0


class SlabControls:
    """Slab mode combo + thickness spin box on ``bar``; ``grid()`` gives the current grid."""

    def __init__(self, bar: QToolBar, grid: Callable[[], Any], parent: QWidget) -> None:
        self._grid = grid
        self.combo = QComboBox(parent)
        self.combo.setObjectName("slabMode")
        for mode, label in SLAB_CHOICES:
            self.combo.addItem(tr(label), mode)
        self.combo.setToolTip(tr("Thick slab (B cycles)"))
        self.spin = QDoubleSpinBox(parent)
        self.spin.setObjectName("slabThickness")
        self.spin.setRange(0.5, 200.0)
        self.spin.setSingleStep(1.0)
        self.spin.setDecimals(1)
        self.spin.setSuffix(" mm")
        self.spin.setValue(DEFAULT_SLAB_MM)
        self.spin.setToolTip(tr("Slab thickness"))
        bar.addWidget(self.combo)
        bar.addWidget(self.spin)
        self.cycle_action = QAction(tr("Cycle slab mode"), parent)
        self.cycle_action.setShortcut(QKeySequence(SLAB_KEY))
        self.cycle_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.cycle_action.triggered.connect(lambda _c=False: self.cycle())
        parent.addAction(self.cycle_action)
        self.combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.spin.valueChanged.connect(lambda _v: self.apply())

    def mode(self) -> str:
        return str(self.combo.currentData() or "")

    def cycle(self) -> None:
        self.combo.setCurrentIndex((self.combo.currentIndex() + 1) % self.combo.count())

    def set(self, mode: str, thickness_mm: float) -> None:
        """Choose a mode ('' = thin) and thickness, as the user would."""
        self.spin.setValue(float(thickness_mm))
        self.combo.setCurrentIndex(self.combo.findData(mode))
        self.apply()

    def apply(self) -> None:
        grid = self._grid()
        if grid is None:
            return
        mode = self.mode()
        grid.set_slab(self.spin.value() if mode else 0.0, mode or "mip")


def settings() -> QSettings:
    """Per-user UI settings (window geometry) in REGARD_HOME, never in the system registry."""
    return QSettings(str(regard_home() / "ui.ini"), QSettings.Format.IniFormat)


class ViewerWindow(QMainWindow):
    """An extra viewer window (its own grid), for a second or third reading screen."""

    def __init__(self, index: int, screen_index: int = -1,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        from viewer.ui.grid import ViewportGrid

        self.index = index
        self.setObjectName(f"viewerWindow{index}")
        self.setWindowTitle(tr("Regard - viewer {n}").format(n=index + 1))
        # placed before the grid's native VTK children exist, so that they are created
        # on the target screen with its device pixel ratio (HiDPI)
        self.place_on(screen_index)
        self.grid = ViewportGrid()
        self.setCentralWidget(self.grid)
        self.fitness: Any = None  # its FitnessGuard (viewer.ui.fitness) when screen-checked
        self.withheld: list[Any] = []  # items not shown yet (declined on an unfit screen)

    def show_images(self) -> None:
        """Images back (acknowledged, or moved to a fit screen): the grid, and the items
        withheld when the window opened."""
        self.grid.show()
        items, self.withheld = self.withheld, []
        if items:
            self.grid.show_volumes(items)

    def settings_key(self) -> str:
        return f"windows/viewer{self.index}/geometry"

    def place_on(self, screen_index: int) -> None:
        """Open on screen ``screen_index`` (maximised there), or where it was last time."""
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        saved = settings().value(self.settings_key())
        if screen_index < 0 and saved is not None and self.restoreGeometry(saved):
            return
        screen = screens[screen_index] if 0 <= screen_index < len(screens) else screens[0]
        self.setScreen(screen)
        self.setGeometry(screen.availableGeometry())

    def save_geometry(self) -> None:
        settings().setValue(self.settings_key(), self.saveGeometry())

    def closeEvent(self, event: Any) -> None:
        self.save_geometry()
        self.grid.close_vtk()  # the hidden cells' windows too
        super().closeEvent(event)


def open_viewer_window(screen_index: int, windows: list[ViewerWindow],
                       items: list[Any] | None = None, layout: str = "",
                       guard: Callable[[ViewerWindow], bool] | None = None) -> ViewerWindow:
    """Open a new viewer window on screen ``screen_index``, show it, show ``items``
    (``(Volume or ImageSeries, Demographics)`` pairs as ``ViewportGrid.show_volumes``
    takes) in ``layout`` (default 1x1).

    ``guard`` checks the window's screen before anything is shown there (screen
    fitness, acknowledgement, access record); False: the window shows nothing yet
    (``items`` are kept for :meth:`ViewerWindow.show_images`, which the guard calls once
    the window is on a screen fit for them).
    """
    windows[:] = [w for w in windows if w.isVisible()]
    win = ViewerWindow(len(windows), screen_index)
    if layout:
        win.grid.set_layout(layout)
    win.show()
    windows.append(win)
    if guard is not None and not guard(win):
        win.withheld = list(items or [])
        return win
    if items:
        win.grid.show_volumes(items)
    return win


class WindowMenu:
    """"Windows" menu of the main window: "New window on screen N" for each screen.

    The new window shows the volumes of the main window's grid (the radiologist then
    changes series or layout there independently).
    """

    def __init__(self, main: QMainWindow, grid: Callable[[], Any]) -> None:
        from PySide6.QtGui import QGuiApplication

        self._main, self._grid = main, grid
        self.windows: list[ViewerWindow] = []
        self.menu = main.menuBar().addMenu(tr("Windows"))
        self.menu.aboutToShow.connect(self._refresh)
        app = QGuiApplication.instance()
        self._refresh()
        app.screenAdded.connect(lambda _s: self._refresh())  # type: ignore[union-attr]
        app.screenRemoved.connect(lambda _s: self._refresh())  # type: ignore[union-attr]

    def _refresh(self) -> None:
        from PySide6.QtGui import QGuiApplication

        self.menu.clear()
        for n, screen in enumerate(QGuiApplication.screens()):
            act = self.menu.addAction(tr("New window on screen {n}").format(n=n + 1)
                                      + f" ({screen.name()})")
            act.triggered.connect(lambda _c=False, i=n: self.open(i))

    def open(self, screen_index: int) -> ViewerWindow:
        """A new window on that screen with the main grid's layout and images.

        With the reading station's access interface, the new window's screen is
        checked for the opened studies as the main window's is (diagnostic
        reading on an unfit screen needs the acknowledgement, the access trail
        records the screen) and again whenever the window moves.
        """
        grid = self._grid()
        items = grid.shown_items() if grid is not None else []
        layout = grid.layout_name if grid is not None else ""
        return open_viewer_window(screen_index, self.windows, items, layout, self._guard)

    def _guard(self, win: ViewerWindow) -> bool:
        access = getattr(self._main, "access_ui", None)
        if access is None:
            return True
        win.fitness = access.guard_window(win, win.grid.hide, win.show_images, withhold=True)
        return win.fitness is not None and not win.fitness.withheld_exams()

    def close_all(self) -> None:
        for win in self.windows:
            win.close()
        self.windows = []
