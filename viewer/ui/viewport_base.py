"""What the two 2-D viewports share: :class:`~viewer.ui.viewport.SliceViewport` (a plane
through a volume) and :class:`~viewer.ui.image_viewport.ImageViewport` (radiographs, cine,
colour images).

Mouse (as in most radiology viewers): a click activates the viewport and gives it the
keyboard; wheel = stack scroll; Ctrl+wheel = zoom; right-drag = window/level;
middle-drag = pan; left button = the active tool (``scroll``: one image every few
pixels of drag, ``window``, ``zoom``, ``pan``; others are the subclass's). Keys:
Up/Down = one image, PageUp/PageDown = ten, Home/End = the first/last.

A subclass says what each gesture does to its content (:meth:`StackViewport.scroll`,
:meth:`~StackViewport.window_drag`, :meth:`~StackViewport.pan_drag`, ...); the event
plumbing (which button, which tool, the drag's steps) is here, once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

from viewer.ui.vtk_host import VTKHost

STACK_KEYS = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -10,
              Qt.Key.Key_PageDown: 10}
SCROLL_DRAG_PX = 4  # a left-drag with the scroll tool: one image every this many pixels


class StackViewport(VTKHost):
    """A VTK host showing a stack of images (slices or frames); ``view`` is its render-layer
    scene, None when empty."""

    # where the cursor is (an LPS point, or (column, row) of a 2-D image) and the value
    # there, for the status bar read-out
    cursor_moved = Signal(object, object)
    activated = Signal(object)
    view: Any
    direct_frames = True  # flat layers drawn in order (VTKHost._render_direct)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drag_button: Qt.MouseButton | None = None
        self._last: QPointF | None = None
        self._press: QPointF | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

    # ------------------------------------------------- what the gestures do
    def forget(self) -> None:
        """Per-series state back to a new viewport's, before other content (a grid keeps
        its viewports across layouts)."""

    def active_tool(self) -> str:
        """The left button's tool."""
        raise NotImplementedError

    def scroll(self, steps: int) -> None:
        """``steps`` images on (negative: back)."""
        raise NotImplementedError

    def go_to(self, index: int) -> None:
        """Image ``index`` (0-based) of the stack."""
        raise NotImplementedError

    def image_count(self) -> int:
        raise NotImplementedError

    def window_drag(self, dx: float, dy: float) -> None:
        """Right-drag: right widens the window, down raises the level."""
        raise NotImplementedError

    def pan_drag(self, dx: float, dy: float) -> None:
        raise NotImplementedError

    def zoom_drag(self, dy: float) -> None:
        raise NotImplementedError

    def wheel_zoom(self, factor: float, at: QPointF) -> None:
        raise NotImplementedError

    def tool_drag(self, tool: str, pos: QPointF) -> None:
        """A left-drag with a tool of the subclass's own (none here)."""

    def report_cursor(self, pos: QPointF) -> None:
        """Say what is under the cursor (``cursor_moved``)."""

    def can_drag(self) -> bool:
        return True

    def pressed(self, event: QMouseEvent) -> None:
        """After a press has activated the viewport (tools that act on a click)."""

    def released(self) -> None:
        """After a release (a drag's end)."""

    # ---------------------------------------------------------- helpers
    def close_view(self) -> None:
        """The scene out of the render window; the next frame draws the window empty."""
        if self.view is not None:
            self.view.close()
        self.view = None
        self.request_render()

    def to_device(self, pos: QPointF) -> tuple[float, float]:
        """A widget position (logical pixels) in the render window's device pixels."""
        r = self.device_ratio()
        return pos.x() * r, pos.y() * r

    @staticmethod
    def show_corner_texts(view: Any, texts: dict[str, str]) -> None:
        """Corner texts on ``view``, each only if it changed (each call re-lays the overlay
        out)."""
        for corner, text in texts.items():
            if view.corner_text.get(corner) != text:
                view.set_corner_text(corner, text)

    # ------------------------------------------------------------- events
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0 or self.view is None:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.wheel_zoom(1.1 ** steps, event.position())
        else:
            self.scroll(-int(np.sign(steps)) * max(1, int(abs(steps))))
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.activated.emit(self)
        self.setFocus()
        self._drag_button = event.button()
        self._last = self._press = event.position()
        self.pressed(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self.view is not None:
            self.report_cursor(pos)
        if self._drag_button is None or self._last is None or not self.can_drag():
            return
        dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
        self._last = pos
        self._drag(self._drag_button, pos, dx, dy)
        event.accept()

    def _drag(self, button: Qt.MouseButton, pos: QPointF, dx: float, dy: float) -> None:
        tool = self.active_tool()
        left = button == Qt.MouseButton.LeftButton
        if button == Qt.MouseButton.RightButton or (left and tool == "window"):
            self.window_drag(dx, dy)
        elif button == Qt.MouseButton.MiddleButton or (left and tool == "pan"):
            self.pan_drag(dx, dy)
        elif left and tool == "zoom":
            self.zoom_drag(dy)
        elif left and tool == "scroll":
            assert self._press is not None
            if abs(pos.y() - self._press.y()) >= SCROLL_DRAG_PX:
                self.scroll(1 if pos.y() > self._press.y() else -1)
                self._press = pos
        elif left:
            self.tool_drag(tool, pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_button = None
        self._last = None
        self.released()
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.handle_key(event):
            event.accept()
        else:
            event.ignore()

    def handle_key(self, event: QKeyEvent) -> bool:
        """The stack keys; a subclass adds its own. True: handled."""
        key = Qt.Key(event.key())
        steps = STACK_KEYS.get(key)
        if steps is not None:
            self.scroll(steps)
        elif key == Qt.Key.Key_Home:
            self.go_to(0)
        elif key == Qt.Key.Key_End and self.image_count() > 0:
            self.go_to(self.image_count() - 1)
        else:
            return False
        return True

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        event.ignore()

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self.request_render()
