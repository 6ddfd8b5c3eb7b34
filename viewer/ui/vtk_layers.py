"""Thin VTK adapter the UI needs and :mod:`viewer.render` does not (yet) provide.

:class:`MeasurementLayer` draws distance measurements over a
:class:`~viewer.render.slice_view.SliceView` as 2-D actors in the view's own
renderer (viewport pixels, origin bottom-left), with labels as cached text
textures from :mod:`viewer.render.overlay` (no VTK text actors: PLATFORM.md).
A candidate to move into :mod:`viewer.render` with the other overlays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkImageMapper,
    vtkPolyDataMapper2D,
    vtkRenderer,
)

from viewer.render.overlay import YELLOW, TextureCache
from viewer.render.slice_view import SliceView

_CACHE = TextureCache(capacity=64)


class MeasurementLayer:
    """Segments and their length labels (mm) over a slice view."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self._points = vtkPoints()
        self._poly = vtkPolyData()
        self._poly.SetPoints(self._points)
        self._poly.SetLines(vtkCellArray())
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._poly)
        self.actor = vtkActor2D()
        self.actor.SetMapper(mapper)
        prop = self.actor.GetProperty()
        prop.SetColor(YELLOW[0] / 255, YELLOW[1] / 255, YELLOW[2] / 255)
        prop.SetLineWidth(2)
        renderer.AddActor(self.actor)
        self._labels: list[vtkActor2D] = []
        self.label_texts: list[str] = []

    def _label_actor(self, n: int) -> vtkActor2D:
        while len(self._labels) <= n:
            mapper = vtkImageMapper()
            mapper.SetColorWindow(255.0)
            mapper.SetColorLevel(127.5)
            actor = vtkActor2D()
            actor.SetMapper(mapper)
            self.renderer.AddViewProp(actor)
            self._labels.append(actor)
        return self._labels[n]

    def actors(self) -> list[vtkActor2D]:
        """Every 2-D actor this layer draws."""
        return [self.actor, *self._labels]

    def remove(self) -> None:
        self.renderer.RemoveActor(self.actor)
        for actor in self._labels:
            self.renderer.RemoveViewProp(actor)

    def update(self, model: Any, view: SliceView) -> None:
        """Redraw ``model.measurements`` (and a pending first click) for the current camera."""
        left, bottom, _, _ = view._viewport_pixels()
        _, h = view.window.GetSize()

        def px(p: np.ndarray) -> tuple[float, float]:
            x, y = view.to_display(p)
            return x - left, (h - y) - bottom

        normal, point = view.plane.normal, view.plane.point
        # HiDPI: labels as large as the overlay's text (OverlayLayer.set_scale)
        overlay = getattr(view, "overlay", None)
        k = getattr(overlay, "scale", 1.0)
        size = getattr(overlay, "font_size", 14)
        self.actor.GetProperty().SetLineWidth(2 * k)
        self._points.Reset()
        lines = vtkCellArray()
        self.label_texts = []
        shown = 0
        for d in getattr(model, "measurements", []):
            # only on the slice where it was drawn (within half a slice)
            if abs(float((d.p1 - point) @ normal)) > 0.5 * view.slice_step() + 1e-6:
                continue
            a, b = px(d.p1), px(d.p2)
            base = self._points.GetNumberOfPoints()
            self._points.InsertNextPoint(a[0], a[1], 0.0)
            self._points.InsertNextPoint(b[0], b[1], 0.0)
            lines.InsertNextCell(2)
            lines.InsertCellPoint(base)
            lines.InsertCellPoint(base + 1)
            text = d.label()
            tex = _CACHE.get(text, size, YELLOW, "left")
            actor = self._label_actor(shown)
            actor.GetMapper().SetInputData(tex.image)
            actor.SetPosition(max(a[0], b[0]) + 6 * k, (a[1] + b[1]) / 2)
            actor.VisibilityOn()
            self.label_texts.append(text)
            shown += 1
        pending = getattr(model, "pending_point", None)
        if pending is not None:
            a = px(pending)
            base = self._points.GetNumberOfPoints()
            for dx, dy in ((-4, 0), (4, 0), (0, -4), (0, 4)):
                self._points.InsertNextPoint(a[0] + dx * k, a[1] + dy * k, 0.0)
            for n in (0, 2):
                lines.InsertNextCell(2)
                lines.InsertCellPoint(base + n)
                lines.InsertCellPoint(base + n + 1)
        for actor in self._labels[shown:]:
            actor.VisibilityOff()
        self._poly.SetLines(lines)
        self._points.Modified()
        self._poly.Modified()
