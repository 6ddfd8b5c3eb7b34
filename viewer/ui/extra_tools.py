"""Angle, elliptical ROI and curved MPR in the main window: menu actions wiring the tools.

:func:`install` adds three checkable actions to the window's Tools menu and
toolbar (own exclusive group; choosing any of the window's own tools switches
them off). While one is on, every 2-D viewport of the grid gets that tool
(:mod:`viewer.ui.roi_tools`, :mod:`viewer.ui.curved_tool`; the image-coordinate
tools of :mod:`viewer.ui.image_tools` on 2-D image viewports), including
viewports made later by a layout change (attached when they become active).
The curved MPR opens its CPR in a separate window (:class:`CurvedWindow`) so
the grid's layout stays as the reader set it.
"""

from __future__ import annotations

import logging
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QVBoxLayout, QWidget

from viewer.ui.i18n import N_, tr

log = logging.getLogger(__name__)

EXTRA_TOOLS = {"angle": (N_("Angle"), "A"), "ellipse": (N_("Elliptical ROI"), "O"),
               "curved": (N_("Curved MPR"), "Shift+C")}


class CurvedWindow(QWidget):
    """A top-level window holding the viewport that shows a curved reformat."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        from viewer.ui.viewport import SliceViewport

        self.setWindowTitle(tr("Curved MPR"))
        self.viewport = SliceViewport(self, plane="acquisition")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.viewport)
        self.resize(420, 720)


class ExtraTools(QObject):
    """The three tools of a main window (module docstring)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.current = ""
        self.tools: dict[tuple[str, int], Any] = {}
        self.curved_window: CurvedWindow | None = None
        self._linked_grid: Any = None
        self.actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        menu = self._tools_menu()
        for name, (label, key) in EXTRA_TOOLS.items():
            act = QAction(tr(label), window)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setCheckable(True)
            act.triggered.connect(lambda checked, n=name: self.select(n if checked else ""))
            group.addAction(act)
            window.addAction(act)
            if menu is not None:
                menu.addAction(act)
            self.actions[name] = act
        for act in getattr(window, "tool_actions", {}).values():
            act.triggered.connect(lambda _c=False: self.select(""))
        for act in window.actions():  # the window's "Clear measurements" clears ours too
            if act.text() == tr("Clear measurements"):
                act.triggered.connect(lambda _c=False: self.clear())

    def _tools_menu(self) -> Any:
        for act in self.window.menuBar().actions():
            if act.menu() is not None and act.text().replace("&", "") == tr("Tools").replace(
                    "&", ""):
                return act.menu()
        return None

    def _viewports(self) -> list[Any]:
        grid = getattr(self.window, "grid", None)
        return list(grid.viewports) if grid is not None else []

    def tool_for(self, name: str, vp: Any) -> Any:
        """The tool ``name`` of viewport ``vp`` (made on first use)."""
        key = (name, id(vp))
        tool = self.tools.get(key)
        if tool is None or not shiboken6.isValid(tool) or tool.viewport is not vp:
            if hasattr(vp, "set_series"):  # a 2-D ImageViewport: image-coordinate tools
                from viewer.ui.image_tools import ImageAngleTool, ImageEllipseTool

                if name == "curved":
                    return None  # no curved reformat of a projection image
                tool = ImageAngleTool(vp) if name == "angle" else ImageEllipseTool(vp)
                self.tools[key] = tool
                return tool
            if name == "angle":
                from viewer.ui.roi_tools import AngleTool

                tool = AngleTool(vp)
            elif name == "ellipse":
                from viewer.ui.roi_tools import EllipseTool

                tool = EllipseTool(vp)
            else:
                from viewer.ui.curved_tool import CurvedMPRTool

                tool = CurvedMPRTool(vp, self.curved_target())
                tool.finished.connect(lambda _image: self._show_curved())
                status = getattr(self.window, "_cursor_moved", None)
                if callable(status):  # the status bar's LPS / value read-out
                    tool.cursor_lps.connect(status)
            self.tools[key] = tool
        return tool

    def curved_target(self) -> Any:
        if self.curved_window is None:
            self.curved_window = CurvedWindow(self.window)
        return self.curved_window.viewport

    def _show_curved(self) -> None:
        assert self.curved_window is not None
        self.curved_window.show()
        self.curved_window.raise_()

    def select(self, name: str) -> None:
        """Switch tool ``name`` on in every 2-D viewport ("" switches them all off)."""
        self.current = name
        if name:
            self.actions[name].setChecked(True)
        else:
            for act in self.actions.values():
                act.setChecked(False)
        live = {id(vp) for vp in self._viewports()}
        for key, tool in list(self.tools.items()):
            if not shiboken6.isValid(tool) or key[1] not in live:
                del self.tools[key]  # its viewport went with a layout change
            elif key[0] != name:
                tool.set_active(False)
        if name:
            for vp in self._viewports():
                tool = self.tool_for(name, vp)
                if tool is not None:
                    tool.set_active(True)
        grid = getattr(self.window, "grid", None)
        if grid is not None and grid is not self._linked_grid:
            grid.active_changed.connect(self._active_changed)
            self._linked_grid = grid

    def _active_changed(self, vp: Any) -> None:
        tool = self.tool_for(self.current, vp) if self.current else None
        if tool is not None:
            tool.set_active(True)

    def clear(self) -> None:
        """Drop the angles and ROIs drawn so far (the curved MPR's line stays)."""
        for tool in self.tools.values():
            if shiboken6.isValid(tool) and hasattr(tool, "clear"):
                tool.clear()


def install(window: Any) -> ExtraTools:
    """Add the angle, elliptical ROI and curved MPR tools to a MainWindow (idempotent)."""
    existing = getattr(window, "extra_tools", None)
    if isinstance(existing, ExtraTools):
        return existing
    tools = ExtraTools(window)
    window.extra_tools = tools
    return tools
