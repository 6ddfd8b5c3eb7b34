"""Angle and elliptical ROI tools on a 2-D image viewport (radiographs, mammograms, US ...).

The same interaction as :mod:`viewer.ui.roi_tools` (event filter taking the
left button while active, shapes re-projected at each render), for an
:class:`~viewer.ui.image_viewport.ImageViewport`: points are kept in image
coordinates (column, row; pixel centres at integers) of the frame they were
drawn on, and measured with the frame's pixel spacing
(:func:`viewer.render.measure.image_angle_deg`, ``image_ellipse_stats``), so
non-square pixels give true angles and areas. Without a pixel spacing the ROI
area is in px². The spacing's meaning (e.g. "at detector", PS3.3 10.7.1.3) is
shown beside the area, as for distances.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtGui import QMouseEvent

from viewer.render.measure import ROIStats, image_angle_deg, image_ellipse_stats
from viewer.ui.roi_tools import AngleTool, Shape, ShapeLayer, ViewportTool

log = logging.getLogger(__name__)


class ImageViewportTool(ViewportTool):
    """Base for tools on an ImageViewport: image-coordinate picking and drawing."""

    def ensure_layer(self) -> ShapeLayer | None:
        view = self.viewport.view  # type: ignore[attr-defined]
        if view is None:
            return None
        if self.layer is None or self._layer_view is not view:
            self.layer = ShapeLayer(
                view,
                project=lambda p: view.to_display(float(p[0]), float(p[1])),
                visible=lambda s: s.frame is None or s.frame == view.index,
            )
            self._layer_view = view
        return self.layer

    def pick(self, event: QMouseEvent) -> np.ndarray | None:
        view = self.viewport.view  # type: ignore[attr-defined]
        if view is None:
            return None
        r = float(self.viewport.devicePixelRatioF())  # type: ignore[attr-defined]
        pos = event.position()
        c, row = view.image_point((pos.x() * r, pos.y() * r))
        return np.array([c, row, 0.0])

    def frame(self) -> int:
        return int(self.viewport.view.index)  # type: ignore[attr-defined]

    def spacing(self) -> tuple[tuple[float, float] | None, float, str]:
        """(row, column) spacing in mm or None, the pixel aspect, the spacing's caveat."""
        info = self.viewport.view.info  # type: ignore[attr-defined]
        sp = info.spacing
        note = "" if sp.spacing is None or sp.label == "calibrated" else sp.label
        return sp.spacing, float(info.aspect), note


@dataclass
class ImageAngle:
    a: np.ndarray
    vertex: np.ndarray
    b: np.ndarray
    frame: int
    degrees: float

    def label(self) -> str:
        return f"{self.degrees:.1f}°"


class ImageAngleTool(ImageViewportTool, AngleTool):
    """Three clicks: arm end, vertex, arm end, measured in the image's pixel spacing."""

    def make_angle(self, a: np.ndarray, vertex: np.ndarray, b: np.ndarray) -> ImageAngle:
        spacing, aspect, _ = self.spacing()
        deg = image_angle_deg((a[0], a[1]), (vertex[0], vertex[1]), (b[0], b[1]),
                              spacing, aspect)
        return ImageAngle(a, vertex, b, self.frame(), deg)

    def shapes(self) -> list[Shape]:
        out = [Shape(np.array([m.a, m.vertex, m.b]), label=m.label(), frame=m.frame)
               for m in self.angles]
        if self.pending:
            out.append(Shape(np.array(self.pending), markers=True, frame=self.frame()))
        return out


@dataclass
class ImageEllipse:
    centre: tuple[float, float]
    a: float  # semi-axis along the columns (pixels)
    b: float  # semi-axis along the rows (pixels)
    frame: int
    stats: ROIStats
    note: str = ""

    def outline(self, n: int = 72) -> np.ndarray:
        t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
        return np.column_stack([self.centre[0] + self.a * np.cos(t),
                                self.centre[1] + self.b * np.sin(t), 0 * t])

    def label(self) -> str:
        return self.stats.label() + (f" ({self.note})" if self.note else "")


class ImageEllipseTool(ImageViewportTool):
    """Drag a box: statistics of the frame's pixels inside the inscribed ellipse."""

    def __init__(self, viewport: object) -> None:
        super().__init__(viewport)
        self.rois: list[ImageEllipse] = []
        self._start: np.ndarray | None = None
        self._end: np.ndarray | None = None

    def _box(self) -> tuple[tuple[float, float], float, float] | None:
        if self._start is None or self._end is None:
            return None
        d = np.abs(self._end - self._start)
        if d[0] < 0.5 or d[1] < 0.5:
            return None
        mid = (self._start + self._end) / 2
        return (float(mid[0]), float(mid[1])), float(d[0] / 2), float(d[1] / 2)

    def mouse(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        p = self.pick(event)
        if p is None:
            return True
        if kind == QEvent.Type.MouseButtonPress:
            self._start, self._end = p, None
        elif kind == QEvent.Type.MouseMove and self._start is not None:
            self._end = p
            self.redraw()
        elif kind == QEvent.Type.MouseButtonRelease and self._start is not None:
            self._end = p
            box = self._box()
            self._start = self._end = None
            view = self.viewport.view  # type: ignore[attr-defined]
            if box is not None and view.colour:
                log.info("elliptical ROI statistics need a grey image")
            elif box is not None:
                spacing, _, note = self.spacing()
                values = view.series.values(view.index)
                stats = image_ellipse_stats(values, box[0], box[1], box[2], spacing)
                self.rois.append(ImageEllipse(box[0], box[1], box[2], self.frame(), stats,
                                              note))
            self.redraw()
        return True

    def clear(self) -> None:
        self.rois = []
        self.redraw()

    def shapes(self) -> list[Shape]:
        out = [Shape(m.outline(), closed=True, label=m.label(), frame=m.frame)
               for m in self.rois]
        box = self._box()
        if box is not None:
            preview = ImageEllipse(box[0], box[1], box[2], self.frame(),
                                   ROIStats(0, 0, 0, 0, 0, 0, 0, 0, (1.0, 1.0)))
            out.append(Shape(preview.outline(), closed=True, frame=self.frame()))
        return out
