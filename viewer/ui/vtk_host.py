"""Hosting VTK render windows in Qt (QVTKRenderWindowInteractor) safely and fast.

Imported only once the main window is visible (it pulls in VTK, ~1-3 s cold).

* Under Qt's ``offscreen`` platform the stock widget hands Qt's fake window id
  to VTK, which then renders garbage (PLATFORM.md): there we give the widget
  an offscreen render window whose ``SetWindowInfo`` is a no-op.
* Multisampling is switched off: 2-D image views gain nothing from it, and on
  llvmpipe an 8x multisampled 1024x1024 window costs ~30 ms a frame by itself
  (measured: 34 -> ~100 frames/s for an empty window).
* Frames are blitted to the window colour only (no depth copy): see ``VTKHost``.
* Direct frames: a host whose scene is flat layers drawn in order (slice and image
  viewports, ``direct_frames``) draws straight into the window's back buffer instead of
  VTK's own framebuffer, which VTK would then copy to the window: that copy is a
  full-window shader pass on llvmpipe (~5 ms of a 1024x1024 frame, ~6 ms of CPU).
  Read-backs (:meth:`VTKHost.capture`) still render through VTK's framebuffer.
* Frames of several windows (the MPR's three planes after a crosshair move) are drawn at
  once, one thread each (:func:`render_together`): each window has its own OpenGL
  context and X connection, VTK's wrappers and numpy release the GIL while they work, and
  what needs Qt is done on the UI thread first.
* The widget's own VTK interactor style never sees an event: the viewport
  subclasses override Qt's event handlers and drive the models instead.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shiboken6
import vtkmodules.qt
import vtkmodules.vtkInteractionStyle
import vtkmodules.vtkRenderingOpenGL2
from PySide6.QtCore import QEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from vtkmodules.vtkRenderingCore import vtkRenderWindow

vtkmodules.qt.PyQtImpl = "PySide6"
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402

from viewer.render.image import window_rgb  # noqa: E402

log = logging.getLogger(__name__)

_GL_READ_FRAMEBUFFER = 0x8CA8
_GL_DRAW_FRAMEBUFFER = 0x8CA9
_GL_BACK_LEFT = 0x0402


def offscreen_render_window() -> vtkRenderWindow:
    """An offscreen render window whose ``SetWindowInfo`` is a no-op (PLATFORM.md).

    QVTKRenderWindowInteractor calls ``SetWindowInfo(<Qt window id>)`` from
    Python; under Qt's offscreen platform that id is fake and VTK would draw
    garbage into it. A Python subclass of the concrete class VTK's factory
    picks (EGL/OSMesa without a display, GLX with one) ignores the call.
    """
    from viewer.render.backend import ensure_backend

    ensure_backend()  # no display: EGL/OSMesa libraries present, else a clear error
    base = type(vtkRenderWindow())

    def set_window_info(self: object, info: str) -> None:
        return None

    cls = type("OffscreenQtRenderWindow", (base,), {"SetWindowInfo": set_window_info})
    window = cls()
    window.SetOffScreenRendering(1)
    return window


def qt_platform_is_offscreen() -> bool:
    return QGuiApplication.platformName() in ("offscreen", "minimal")


class VTKHost(QVTKRenderWindowInteractor):
    """A QVTKRenderWindowInteractor with the traps above handled; renders on demand.

    ``request_render()`` coalesces many model changes into one frame on the
    next event-loop turn; ``render_now()`` renders synchronously (tests,
    screenshots). Subclasses implement :meth:`prepare_frame`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        kwargs = {}
        if qt_platform_is_offscreen():
            kwargs["rw"] = offscreen_render_window()
        super().__init__(parent, **kwargs)
        self.render_window: vtkRenderWindow = self.GetRenderWindow()
        self.render_window.SetMultiSamples(0)
        # VTK renders into its own framebuffer and, in the default BlitToHardware mode,
        # copies colour *and depth* to the window (depth through a full-window shader pass,
        # ~7 ms at 1024x1024 on llvmpipe). Nothing reads the window's depth: blit colour only
        # to the bound (window's) framebuffer (tests/ui/test_frame_speed.py checks the X
        # server shows the rendered pixels).
        self.render_window.SetFrameBlitModeToBlitToCurrent()
        self.frames = 0
        self._dirty = False
        self._full_frame = False  # capture(): through VTK's framebuffer, never direct
        self._direct = False  # inside a direct frame (see _render_direct)
        # the renderers given the direct-frame observer, held: a bare id() of a renderer
        # that went can come back as a new one's, which would then draw into VTK's
        # framebuffer while the window only swaps (a stale or black window)
        self._direct_observed: dict[int, object] = {}
        self._drawn_key: object = None
        self.setMinimumSize(64, 64)

    # VTK's interactor must not handle events (our subclasses do): keep the base's
    # paint/resize plumbing but route painting through render_now(). A window already drawn
    # is drawn again at once when exposed (left to the frame queue, the X server showed it
    # black until the queue's turn); a new one's first frame is queued (context and
    # shaders: one new window per event-loop turn).
    def paintEvent(self, event: object) -> None:
        if self.frames == 0:
            _queue_frame(self)
        else:
            self.render_now()

    def request_render(self) -> None:
        if not self._dirty:
            self._dirty = True
            _queue_frame(self)

    def prepare_frame(self) -> None:
        """Bring the scene up to date before a frame (subclasses)."""

    # Flat scenes (no depth between layers, no read-back of VTK's framebuffer outside
    # capture()) may be drawn straight into the window: see _render_direct.
    direct_frames = False
    # after prepare_frame() a frame touches only this host's own VTK objects and arrays
    # (no Qt call, no pipeline sharing a data object with another host's): it may be
    # drawn on a worker thread (render_together)
    threaded_frames = False

    def content_key(self) -> object:
        """What the host shows (subclasses): frames of the same content are cheap and may
        be drawn together; the first frame of new content (textures, shaders, pipelines
        made) is drawn in an event-loop turn of its own."""
        return None

    def warm(self) -> bool:
        """Its last frame showed what it shows now (see content_key)."""
        return self.frames > 0 and self._drawn_key == self.content_key()

    def direct_frame_possible(self) -> bool:
        return (self.direct_frames and not self._full_frame
                and not self.render_window.GetOffScreenRendering())

    def render_now(self) -> None:
        if self._begin_frame():
            self._draw_frame()

    def _begin_frame(self) -> bool:
        """The scene brought up to date for a frame (UI thread); False: nothing to draw."""
        self._dirty = False
        if not self.isVisible():
            return False
        overlay = getattr(getattr(self, "view", None), "overlay", None)
        if overlay is not None:  # HiDPI: text and margins keep their size on screen
            overlay.set_scale(self.device_ratio())
        self.prepare_frame()
        self.frames += 1
        self._drawn_key = self.content_key()
        return True

    def _draw_frame(self) -> None:
        if self.direct_frame_possible():
            self._render_direct()
        else:
            self.render_window.Render()

    def _draw_frame_in_thread(self) -> None:
        try:
            self._draw_frame()
        finally:  # the UI thread may draw this window next (a paint, a capture)
            self.render_window.ReleaseCurrent()

    def _render_direct(self) -> None:
        """Render every renderer straight into the window's back buffer, then swap.

        VTK binds its own framebuffer when a frame starts (vtkOpenGLRenderWindow::Start,
        after the window's StartEvent); each renderer's StartEvent comes after that, and
        there the window's framebuffer is bound instead, so the frame needs no copy."""
        w = self.render_window
        renderers = w.GetRenderers()
        observed = {}
        for n in range(renderers.GetNumberOfItems()):
            renderer = renderers.GetItemAsObject(n)
            if self._direct_observed.get(id(renderer)) is not renderer:
                # before any other StartEvent observer (SliceTexture clears and draws there)
                renderer.AddObserver("StartEvent", self._bind_window_buffer, 1000.0)
            observed[id(renderer)] = renderer
        self._direct_observed = observed  # renderers removed from the window let go
        self._direct = True
        w.SetFrameBlitModeToNoBlit()
        try:
            w.Render()  # End() restores VTK's framebuffer binding; Frame() only swaps
        finally:
            self._direct = False
            w.SetFrameBlitModeToBlitToCurrent()

    def _bind_window_buffer(self, _renderer: object, _event: str) -> None:
        if not self._direct:
            return
        state = self.render_window.GetState()
        state.vtkglBindFramebuffer(_GL_DRAW_FRAMEBUFFER, 0)
        state.vtkglBindFramebuffer(_GL_READ_FRAMEBUFFER, 0)
        state.vtkglDrawBuffer(_GL_BACK_LEFT)

    # HiDPI across screens: QVTKRenderWindowInteractor takes the device pixel ratio of the
    # screen under the mouse cursor, so a viewport on a 100 % screen got a render window
    # twice its size while the cursor was on a 200 % one (and half the size the other way
    # round). The ratio is the widget's own; a move to a screen of another ratio re-sizes.
    def _getPixelRatio(self) -> float:
        return float(self.devicePixelRatioF())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self.resizeEvent(None)  # the render window in the new screen's device pixels
            self.request_render()
        return super().event(event)

    def device_size(self) -> tuple[int, int]:
        w, h = self.render_window.GetSize()
        return int(w), int(h)

    def device_ratio(self) -> float:
        return float(self.devicePixelRatioF())

    def capture(self) -> np.ndarray:
        """The render window's pixels as RGB uint8 (rows, cols, 3), row 0 at the top
        (rendered through VTK's framebuffer and read back from it)."""
        self._full_frame = True
        try:
            self.render_now()
        finally:
            self._full_frame = False
        return window_rgb(self.render_window)

    def close_vtk(self) -> None:
        """Release the OpenGL context before the widget goes (avoids X errors at exit)."""
        try:
            self.render_window.Finalize()
        except Exception:  # pragma: no cover - best effort at teardown
            log.debug("render window finalize failed", exc_info=True)


# Frames requested by model changes are rendered one window per event-loop
# turn. A new window's first frame also creates its OpenGL context and compiles
# its shaders (50-70 ms each on llvmpipe), and opening an MPR layout asks for
# four at once: one per turn keeps every pause of the UI thread short (input and
# timers run between them) instead of one long freeze.
_frame_queue: deque[VTKHost] = deque()
_frame_pending = [False]


def _queue_frame(host: VTKHost) -> None:
    if host not in _frame_queue:
        _frame_queue.append(host)
    if not _frame_pending[0]:
        _frame_pending[0] = True
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, _render_next_frame)


_draw_pool: list[ThreadPoolExecutor] = []


def render_together(hosts: Sequence[VTKHost]) -> None:
    """Render the frames of several hosts, drawing those that allow it (``threaded_frames``,
    a direct frame, the content of their last frame) at the same time on worker threads.

    Each scene is prepared on the UI thread, then its drawing handed to a thread while the
    next one is prepared; returns when every frame is on screen. On two cores the drawing
    of one window (llvmpipe's threads) overlaps the preparation and drawing of the others.
    """
    together = [h for h in hosts if h.threaded_frames and h.warm()
                and h.direct_frame_possible()]
    for host in hosts:
        if host not in together:
            host.render_now()
    if len(together) < 2:
        for host in together:
            host.render_now()
        return
    if not _draw_pool:
        _draw_pool.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="frame"))
    for host in together:  # a context current on the UI thread cannot be made current on
        host.render_window.ReleaseCurrent()  # another one
    futures = [_draw_pool[0].submit(host._draw_frame_in_thread)
               for host in together if host._begin_frame()]
    for future in futures:
        future.result()


def _render_next_frame() -> None:
    _frame_pending[0] = False
    batch = [h for h in _frame_queue if shiboken6.isValid(h) and h._dirty and h.warm()
             and h.threaded_frames and h.isVisible()]
    if len(batch) > 1:  # frames of windows drawn before: all at once (render_together)
        for host in batch:
            _frame_queue.remove(host)
        render_together(batch)
    while _frame_queue and len(batch) < 2:
        host = _frame_queue.popleft()
        # the widget may have been deleted (layout change) before its queued frame
        if shiboken6.isValid(host) and (host._dirty or host.frames == 0):
            if host.isVisible():
                host.render_now()
                break
            host._dirty = False
    if _frame_queue:
        _queue_frame(_frame_queue[0])
