"""A 2-D viewport: a :class:`viewer.render.slice_view.SliceView` hosted in Qt, driven by a model.

Mouse and keys change the Qt-free :class:`~viewer.ui.models.ViewportModel`;
the model's events update the SliceView, and a frame is requested (coalesced
on the next event-loop turn so a fast wheel never queues frames).

Mouse and keys as every 2-D viewport (:mod:`viewer.ui.viewport_base`: wheel = stack
scroll, right-drag = window/level, middle-drag = pan, Ctrl+wheel = zoom); the left
button's tools here are also ``distance`` and ``crosshair``.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

from viewer.dicom.volume import Volume
from viewer.render.image import VolumeImage
from viewer.render.slice_view import SliceView
from viewer.ui.i18n import tr
from viewer.ui.models import ViewportModel
from viewer.ui.viewport_base import StackViewport
from viewer.ui.vtk_layers import MeasurementLayer

log = logging.getLogger(__name__)


class SliceViewport(StackViewport):
    """One image viewport. ``model`` holds the state; ``view`` is the VTK scene (or None).

    ``cursor_moved`` gives the LPS point (3 floats) and the value under the cursor.
    """

    # the user clicked/dragged with the crosshair tool: LPS point
    crosshair_picked = Signal(object)
    # a drag or a wheel burst starts (True) or settles (False): cheaper frames meanwhile
    interacting = Signal(bool)
    # the viewport was emptied (its cell's banner and LUT follow what is shown)
    data_changed = Signal()
    SETTLE_MS = 200  # full quality again this long after the last wheel step
    threaded_frames = True  # the reslice and grey mapping run when the frame is drawn

    def __init__(self, parent: QWidget | None = None, plane: str = "acquisition") -> None:
        super().__init__(parent)
        self.model = ViewportModel(plane=plane)
        self.model.events.connect(self._on_model)
        self.view: SliceView | None = None
        self.data: VolumeImage | None = None
        self.measure_layer: MeasurementLayer | None = None
        self.scene_owns_plane = False  # MPR: the MPRScene orients the plane (oblique)
        self._interacting = False
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(self.SETTLE_MS)
        self._settle.timeout.connect(lambda: self.set_interacting(False))

    # ----------------------------------------------------------- content
    def set_volume(self, volume: Volume, data: VolumeImage | None = None,
                   demographics: object | None = None, view: SliceView | None = None) -> None:
        """Show ``volume``; ``view`` is a SliceView made for this window by a scene (MPR)."""
        self.clear()
        self.data = data if data is not None else VolumeImage(volume)
        self.view = view if view is not None else SliceView(
            self.data, render_window=self.render_window, plane=self.model.plane_name,
            overlay=True)
        self.measure_layer = MeasurementLayer(self.view.renderer)
        self.model.set_volume(volume, demographics)  # type: ignore[arg-type]
        self.request_render()

    def clear(self) -> None:
        if self.measure_layer is not None:
            self.measure_layer.remove()
            self.measure_layer = None
        self._interacting = False
        self.close_view()
        self.data_changed.emit()

    def forget(self) -> None:
        """No flip, turn, inversion, tilt or slab of the last series carried to the next;
        the tool stays the reader's."""
        m, fresh = self.model, ViewportModel(plane=self.model.plane_name)
        m.normal, m.invert, m.quarter_turns = fresh.normal, fresh.invert, fresh.quarter_turns
        m.flip_h, m.flip_v = fresh.flip_h, fresh.flip_v
        m.slab_mm, m.slab_mode = fresh.slab_mm, fresh.slab_mode

    # ------------------------------------------------------ model -> scene
    def _on_model(self, changed: set[str]) -> None:
        view, m = self.view, self.model
        if view is None or m.volume is None:
            return
        if ("plane" in changed or "volume" in changed) and not self.scene_owns_plane:
            view.set_plane(m.plane())
            changed |= {"camera", "point"}
        if "point" in changed and not self.scene_owns_plane:
            view.set_point(m.point)  # (MPR: the scene moves all planes at once)
        if "window" in changed or "volume" in changed:
            view.set_window(m.width, m.center)
        if "invert" in changed or "volume" in changed:
            self._apply_invert()
        if "slab" in changed:
            view.set_slab(m.slab_mm, m.slab_mode)
        if "camera" in changed:
            self._apply_camera()
        self.request_render()

    def _apply_invert(self) -> None:
        """Invert after the VOI (as MONOCHROME1, PS3.3 C.7.6.3.1.2): a reversed grey ramp."""
        assert self.view is not None
        mono1 = self.view.volume.photometric.upper() == "MONOCHROME1"
        # through the view: its one grey table also holds the screen's GSDF LUT
        self.view.set_inverted(self.model.invert != mono1)

    def _apply_camera(self) -> None:
        assert self.view is not None
        m = self.model
        if m.true_size:
            self.view.set_zoom(self.true_size_zoom())
        else:
            self.view.set_zoom(m.zoom)
        self.view.set_pan(float(m.pan[0]), float(m.pan[1]))

    def true_size_zoom(self) -> float:
        """Zoom giving one image pixel (row spacing) per screen device pixel."""
        assert self.view is not None
        pixel_mm = float(self.view.volume.geometry.spacing[0])
        _, h = self.device_size()
        return 2.0 * self.view.fit_scale() / max(h, 1) / pixel_mm

    def content_key(self) -> object:
        view = self.view
        return None if view is None else (id(view), id(view.data))

    def prepare_frame(self) -> None:
        view = self.view
        if view is None:
            return
        if self.model.true_size:
            view.set_zoom(self.true_size_zoom())
        self.show_corner_texts(view, self.model.corner_texts(tr))
        view.prepare()
        if self.measure_layer is not None:
            self.measure_layer.update(self.model, view)

    # -------------------------------------------------------- interaction
    def set_interacting(self, on: bool) -> None:
        """While dragging or Ctrl+wheel zooming: nearest resampling, fewer slab samples
        (SliceView.set_interacting); full quality, re-rendered, when it settles."""
        on = bool(on)
        if on == self._interacting:
            return
        self._interacting = on
        if self.view is not None:
            self.view.set_interacting(on)
        self.interacting.emit(on)
        self.request_render()

    def _wheel_burst(self) -> None:
        self.set_interacting(True)
        self._settle.start()

    # ------------------------------------------------------------ picking
    def pick(self, pos: QPointF) -> np.ndarray | None:
        """LPS point on the shown plane under a widget position (logical pixels)."""
        if self.view is None:
            return None
        return self.view.pick(self.to_device(pos))

    def value_at(self, lps: np.ndarray) -> float | None:
        """Voxel value (modality units) nearest to ``lps``, None outside the volume."""
        if self.view is None:
            return None
        v = self.view.volume
        ijk = np.rint(v.geometry.lps_to_index(lps)).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= np.asarray(v.geometry.dims)):
            return None
        return float(v.array[ijk[2], ijk[1], ijk[0]])

    # ------------------------------------------------- gestures (StackViewport)
    def active_tool(self) -> str:
        return self.model.tool

    def scroll(self, steps: int) -> None:
        # stack scrolling is reading (small nodules are found while scrolling): every
        # frame at full quality, never the reduced frames of a drag
        self.model.scroll(steps)

    def go_to(self, index: int) -> None:
        self.model.set_slice(index)

    def image_count(self) -> int:
        return self.model.slice_count()

    def window_drag(self, dx: float, dy: float) -> None:
        self.model.window_drag(dx, dy)

    def pan_drag(self, dx: float, dy: float) -> None:
        if self.view is not None:
            mm = self.view.mm_per_pixel() * self.device_ratio()
            self.model.pan_by(-dx * mm, dy * mm)

    def zoom_drag(self, dy: float) -> None:
        self.model.zoom_by(1.01 ** (-dy))

    def wheel_zoom(self, factor: float, at: QPointF) -> None:
        self._wheel_burst()
        self.model.zoom_by(factor)

    def tool_drag(self, tool: str, pos: QPointF) -> None:
        if tool == "crosshair":
            p = self.pick(pos)
            if p is not None:
                self.crosshair_picked.emit(p)

    def report_cursor(self, pos: QPointF) -> None:
        p = self.pick(pos)
        if p is not None:
            self.cursor_moved.emit(p, self.value_at(p))

    def pressed(self, event: QMouseEvent) -> None:
        left = event.button() == Qt.MouseButton.LeftButton
        if self.view is None:
            return
        if not (left and self.model.tool == "distance"):
            self._settle.stop()
            self.set_interacting(True)
        if left and self.model.tool in ("distance", "crosshair"):
            p = self.pick(event.position())
            if p is None:
                return
            if self.model.tool == "distance":
                self.model.measure_click(p)
            else:
                self.crosshair_picked.emit(p)

    def released(self) -> None:
        self.set_interacting(False)

    # ------------------------------------------------------------- events
    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def enterEvent(self, event: object) -> None:
        pass

    def leaveEvent(self, event: object) -> None:
        pass
