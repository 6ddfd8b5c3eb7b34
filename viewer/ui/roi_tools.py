"""Angle and elliptical ROI tools on a 2-D viewport, and the overlay layer they draw with.

Thin Qt glue over :mod:`viewer.render.measure` (all the geometry and the
statistics are there, Qt-free). A tool attaches to a
:class:`~viewer.ui.viewport.SliceViewport` as a Qt event filter: while active
it takes the left button (the viewport keeps right-drag window/level,
middle-drag pan and the wheel), so the viewport's own code is untouched.

Drawing: :class:`ShapeLayer` keeps shapes in patient LPS and projects them
onto the view at the start of every render of the view's renderer (a VTK
``StartEvent`` observer), so zoom, pan, resize and scroll need no extra
plumbing; a shape is shown only on the slice it was drawn on (within half a
slice), like the distance measurements. Labels are cached text textures
(:class:`viewer.render.overlay.TextureCache`, no VTK text actors: PLATFORM.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkImageMapper, vtkPolyDataMapper2D

from viewer.render.measure import EllipseROI, ROIStats, angle_deg, ellipse_stats
from viewer.render.overlay import TextureCache

log = logging.getLogger(__name__)

CYAN = (90, 220, 255, 255)
_CACHE = TextureCache(capacity=64)


@dataclass
class Shape:
    """A polyline in LPS (``closed`` for a loop), a label, and the plane it was drawn on."""

    points: np.ndarray
    closed: bool = False
    label: str = ""
    normal: np.ndarray | None = None  # of the plane it was drawn on; None: shown everywhere
    markers: bool = False  # small crosses on the points (pending clicks)
    frame: int | None = None  # 2-D images: the frame it was drawn on


class ShapeLayer:
    """Polylines and labels over a view, re-projected at each render (module docstring).

    ``project`` maps a stored point to window pixels (top-left origin); the default is
    the SliceView's ``to_display`` of an LPS point. ``visible`` decides whether a shape
    is drawn; the default shows it on the slice it was drawn on.
    """

    def __init__(
        self,
        view: object,
        color: tuple[int, int, int, int] = CYAN,
        project: Callable[[np.ndarray], tuple[float, float]] | None = None,
        visible: Callable[[Shape], bool] | None = None,
    ) -> None:
        self.view = view
        self.color = color
        self._project = project or (lambda p: view.to_display(p))  # type: ignore[attr-defined]
        self._is_visible = visible or self._visible
        self.shapes: list[Shape] = []
        self.label_texts: list[str] = []
        self._points = vtkPoints()
        self._poly = vtkPolyData()
        self._poly.SetPoints(self._points)
        self._poly.SetLines(vtkCellArray())
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._poly)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        prop = self.actor.GetProperty()
        prop.SetColor(color[0] / 255, color[1] / 255, color[2] / 255)
        prop.SetLineWidth(2)
        renderer = view.renderer  # type: ignore[attr-defined]
        renderer.AddActor(self.actor)
        self._labels: list[vtkActor2D] = []
        self._observer = renderer.AddObserver("StartEvent", self._on_render)

    def set_shapes(self, shapes: list[Shape]) -> None:
        self.shapes = list(shapes)

    def remove(self) -> None:
        renderer = self.view.renderer  # type: ignore[attr-defined]
        renderer.RemoveObserver(self._observer)
        renderer.RemoveActor(self.actor)
        for actor in self._labels:
            renderer.RemoveViewProp(actor)

    def _label_actor(self, n: int) -> vtkActor2D:
        while len(self._labels) <= n:
            mapper = vtkImageMapper()
            mapper.SetColorWindow(255.0)
            mapper.SetColorLevel(127.5)
            actor = vtkActor2D()
            actor.SetMapper(mapper)
            self.view.renderer.AddViewProp(actor)  # type: ignore[attr-defined]
            self._labels.append(actor)
        return self._labels[n]

    def _visible(self, shape: Shape) -> bool:
        view = self.view
        if shape.normal is None:
            return True
        plane = view.plane  # type: ignore[attr-defined]
        if abs(float(shape.normal @ plane.normal)) < 0.999:
            return False
        half = 0.5 * view.slice_step() + 1e-6  # type: ignore[attr-defined]
        return bool(abs(float((shape.points[0] - plane.point) @ plane.normal)) <= half)

    def _on_render(self, *_: object) -> None:
        view = self.view
        left, bottom, _, _ = view._viewport_pixels()  # type: ignore[attr-defined]
        _, h = view.window.GetSize()  # type: ignore[attr-defined]

        def px(p: np.ndarray) -> tuple[float, float]:
            x, y = self._project(p)
            return x - left, (h - y) - bottom

        self._points.Reset()
        lines = vtkCellArray()
        self.label_texts = []
        shown = 0
        for shape in self.shapes:
            if len(shape.points) == 0 or not self._is_visible(shape):
                continue
            xy = [px(p) for p in shape.points]
            base = self._points.GetNumberOfPoints()
            for x, y in xy:
                self._points.InsertNextPoint(x, y, 0.0)
            if len(xy) > 1:
                n = len(xy) + (1 if shape.closed else 0)
                lines.InsertNextCell(n)
                for m in range(n):
                    lines.InsertCellPoint(base + m % len(xy))
            if shape.markers:
                for x, y in xy:
                    b = self._points.GetNumberOfPoints()
                    for dx, dy in ((-4, 0), (4, 0), (0, -4), (0, 4)):
                        self._points.InsertNextPoint(x + dx, y + dy, 0.0)
                    for m in (0, 2):
                        lines.InsertNextCell(2)
                        lines.InsertCellPoint(b + m)
                        lines.InsertCellPoint(b + m + 1)
            if shape.label:
                tex = _CACHE.get(shape.label, 14, self.color, "left")
                actor = self._label_actor(shown)
                actor.GetMapper().SetInputData(tex.image)
                xs = [x for x, _ in xy]
                ys = [y for _, y in xy]
                actor.SetPosition(max(xs) + 8, (max(ys) + min(ys)) / 2)
                actor.VisibilityOn()
                self.label_texts.append(shape.label)
                shown += 1
        for actor in self._labels[shown:]:
            actor.VisibilityOff()
        self._poly.SetLines(lines)
        self._points.Modified()
        self._poly.Modified()


class ViewportTool(QObject):
    """Base: an event filter on one SliceViewport taking its left button while active."""

    changed = Signal()

    def __init__(self, viewport: object) -> None:
        super().__init__(viewport)  # type: ignore[arg-type]
        self.viewport = viewport
        self.active = False
        self.layer: ShapeLayer | None = None
        self._layer_view: object | None = None

    def set_active(self, on: bool) -> None:
        if on and not self.active:
            self.viewport.installEventFilter(self)  # type: ignore[attr-defined]
        elif not on and self.active:
            self.viewport.removeEventFilter(self)  # type: ignore[attr-defined]
        self.active = bool(on)

    def ensure_layer(self) -> ShapeLayer | None:
        view = self.viewport.view  # type: ignore[attr-defined]
        if view is None:
            return None
        if self.layer is None or self._layer_view is not view:
            self.layer = ShapeLayer(view)
            self._layer_view = view
        return self.layer

    def redraw(self) -> None:
        layer = self.ensure_layer()
        if layer is not None:
            layer.set_shapes(self.shapes())
        self.viewport.request_render()  # type: ignore[attr-defined]
        self.changed.emit()

    def shapes(self) -> list[Shape]:
        return []

    def pick(self, event: QMouseEvent) -> np.ndarray | None:
        return self.viewport.pick(event.position())  # type: ignore[attr-defined]

    def plane_normal(self) -> np.ndarray:
        return self.viewport.view.plane.normal.copy()  # type: ignore[attr-defined]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.active or self.viewport.view is None:  # type: ignore[attr-defined]
            return False
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
                    QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            assert isinstance(event, QMouseEvent)
            left = (event.button() == Qt.MouseButton.LeftButton
                    or bool(event.buttons() & Qt.MouseButton.LeftButton))
            if kind == QEvent.Type.MouseMove and not left:
                return False  # cursor read-out stays the viewport's
            if not left:
                return False
            return self.mouse(kind, event)
        if kind == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self.key(event)
        return False

    def mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False


@dataclass
class Angle:
    """An angle measured at ``vertex`` between ``a`` and ``b`` (LPS mm)."""

    a: np.ndarray
    vertex: np.ndarray
    b: np.ndarray
    normal: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @property
    def degrees(self) -> float:
        return angle_deg(self.a, self.vertex, self.b)

    def label(self) -> str:
        return f"{self.degrees:.1f}°"


class AngleTool(ViewportTool):
    """Three clicks: first arm end, vertex, second arm end; Escape drops the pending clicks."""

    def __init__(self, viewport: object) -> None:
        super().__init__(viewport)
        self.angles: list[Any] = []  # Angle here, ImageAngle for 2-D images
        self.pending: list[np.ndarray] = []

    def mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        if kind == QEvent.Type.MouseButtonPress:
            p = self.pick(event)
            if p is not None:
                self.pending.append(p)
                if len(self.pending) == 3:
                    a, v, b = self.pending
                    self.pending = []
                    if np.linalg.norm(a - v) > 1e-6 and np.linalg.norm(b - v) > 1e-6:
                        self.angles.append(self.make_angle(a, v, b))
                self.redraw()
        return True

    def make_angle(self, a: np.ndarray, vertex: np.ndarray, b: np.ndarray) -> Any:
        """The measurement of three distinct clicks (an LPS angle on this plane)."""
        return Angle(a, vertex, b, self.plane_normal())

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self.pending:
            self.pending = []
            self.redraw()
            return True
        return False

    def clear(self) -> None:
        self.angles, self.pending = [], []
        self.redraw()

    def shapes(self) -> list[Shape]:
        out = [Shape(np.array([m.a, m.vertex, m.b]), label=m.label(), normal=m.normal)
               for m in self.angles]
        if self.pending:
            out.append(Shape(np.array(self.pending), normal=self.plane_normal(), markers=True))
        return out


@dataclass
class EllipseMeasurement:
    roi: EllipseROI
    stats: ROIStats


class EllipseTool(ViewportTool):
    """Drag a box: the inscribed ellipse's mean/SD/min/max/area in modality units."""

    def __init__(self, viewport: object) -> None:
        super().__init__(viewport)
        self.rois: list[EllipseMeasurement] = []
        self._start: np.ndarray | None = None
        self._preview: EllipseROI | None = None

    def _roi(self, end: np.ndarray) -> EllipseROI | None:
        assert self._start is not None
        plane = self.viewport.view.plane  # type: ignore[attr-defined]
        d = end - self._start
        if abs(float(d @ plane.right)) < 1e-3 or abs(float(d @ plane.up)) < 1e-3:
            return None
        return EllipseROI.from_corners(plane, self._start, end)

    def mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        p = self.pick(event)
        if p is None:
            return True
        if kind == QEvent.Type.MouseButtonPress:
            self._start, self._preview = p, None
        elif kind == QEvent.Type.MouseMove and self._start is not None:
            self._preview = self._roi(p)
            self.redraw()
        elif kind == QEvent.Type.MouseButtonRelease and self._start is not None:
            roi = self._roi(p)
            self._start, self._preview = None, None
            if roi is not None:
                volume = self.viewport.model.volume  # type: ignore[attr-defined]
                self.rois.append(EllipseMeasurement(roi, ellipse_stats(volume, roi)))
            self.redraw()
        return True

    def clear(self) -> None:
        self.rois = []
        self.redraw()

    def shapes(self) -> list[Shape]:
        out = [Shape(m.roi.outline(), closed=True, label=m.stats.label(),
                     normal=m.roi.plane.normal) for m in self.rois]
        if self._preview is not None:
            out.append(Shape(self._preview.outline(), closed=True,
                             normal=self._preview.plane.normal))
        return out
