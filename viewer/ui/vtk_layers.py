"""Thin VTK adapters the UI needs and :mod:`viewer.render` does not (yet) provide.

* :class:`MeasurementLayer`: distance measurements drawn in a SliceView's
  overlay renderer (whose camera works in viewport pixels), labels as cached
  text textures from :mod:`viewer.render.overlay`.
* :class:`MipView3D`: the fourth MPR cell, a maximum-intensity projection of
  the volume with the CPU ray caster at reduced resolution (PLATFORM.md: the
  GPU mapper is ~6x slower on llvmpipe), re-rendered only when asked.

Both are candidates to move into :mod:`viewer.render` (see the UI report).
"""

from __future__ import annotations

import numpy as np
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (ray cast display helper)
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPiecewiseFunction, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkColorTransferFunction,
    vtkImageActor,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

from viewer.render.image import VolumeImage, matrix4
from viewer.render.overlay import YELLOW, TextureCache
from viewer.render.slice_view import SliceView

_CACHE = TextureCache(capacity=64)


class MeasurementLayer:
    """Segments and their length labels (mm) over a slice view, in viewport pixels."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self._points = vtkPoints()
        self._poly = vtkPolyData()
        self._poly.SetPoints(self._points)
        self._poly.SetLines(vtkCellArray())
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self._poly)
        self.actor = vtkActor()
        self.actor.SetMapper(mapper)
        prop = self.actor.GetProperty()
        prop.SetColor(YELLOW[0] / 255, YELLOW[1] / 255, YELLOW[2] / 255)
        prop.LightingOff()
        prop.SetLineWidth(2)
        renderer.AddActor(self.actor)
        self._labels: list[vtkImageActor] = []
        self.label_texts: list[str] = []

    def _label_actor(self, n: int) -> vtkImageActor:
        while len(self._labels) <= n:
            actor = vtkImageActor()
            actor.InterpolateOff()
            actor.ForceTranslucentOn()
            self.renderer.AddActor(actor)
            self._labels.append(actor)
        return self._labels[n]

    def update(self, model: object, view: SliceView) -> None:
        """Redraw ``model.measurements`` (and a pending first click) for the current camera."""
        left, bottom, _, _ = view._viewport_pixels()
        _, h = view.window.GetSize()

        def px(p: np.ndarray) -> tuple[float, float]:
            x, y = view.to_display(p)
            return x - left - 0.5, (h - y) - bottom - 0.5

        normal, point = view.plane.normal, view.plane.point
        self._points.Reset()
        lines = vtkCellArray()
        self.label_texts = []
        shown = 0
        items = list(getattr(model, "measurements", []))
        for d in items:
            # only on the slice where it was drawn (within half a voxel)
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
            tex = _CACHE.get(text, 14, YELLOW, "left")
            actor = self._label_actor(shown)
            actor.SetInputData(tex.image)
            actor.SetDisplayExtent(0, tex.width - 1, 0, tex.height - 1, 0, 0)
            actor.SetPosition(max(a[0], b[0]) + 6, (a[1] + b[1]) / 2, 0.0)
            actor.VisibilityOn()
            self.label_texts.append(text)
            shown += 1
        pending = getattr(model, "pending_point", None)
        if pending is not None:
            a = px(pending)
            base = self._points.GetNumberOfPoints()
            for dx, dy in ((-4, 0), (4, 0), (0, -4), (0, 4)):
                self._points.InsertNextPoint(a[0] + dx, a[1] + dy, 0.0)
            for n in (0, 2):
                lines.InsertNextCell(2)
                lines.InsertCellPoint(base + n)
                lines.InsertCellPoint(base + n + 1)
        for actor in self._labels[shown:]:
            actor.VisibilityOff()
        self._poly.SetLines(lines)
        self._points.Modified()
        self._poly.Modified()


class MipView3D:
    """A 3-D maximum intensity projection seen from the front (patient left on the right)."""

    def __init__(self, data: VolumeImage, window: vtkRenderWindow, center: float,
                 width: float) -> None:
        self.window = window
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        window.AddRenderer(self.renderer)
        self.mapper = vtkFixedPointVolumeRayCastMapper()
        self.mapper.SetInputData(data.image)
        self.mapper.SetBlendModeToMaximumIntensity()
        self.mapper.SetImageSampleDistance(2.0)  # reduced resolution: interactive on llvmpipe
        self.mapper.AutoAdjustSampleDistancesOff()
        self.volume = vtkVolume()
        self.volume.SetMapper(self.mapper)
        self.volume.SetUserMatrix(matrix4(data.volume.geometry.affine))
        self.prop = vtkVolumeProperty()
        self.prop.SetInterpolationTypeToLinear()
        self.volume.SetProperty(self.prop)
        self.set_window(center, width)
        self.renderer.AddVolume(self.volume)
        self.reset_camera()

    def set_window(self, center: float, width: float) -> None:
        lo, hi = center - width / 2, center + width / 2
        color = vtkColorTransferFunction()
        color.AddRGBPoint(lo, 0, 0, 0)
        color.AddRGBPoint(hi, 1, 1, 1)
        opacity = vtkPiecewiseFunction()
        opacity.AddPoint(lo, 0.0)
        opacity.AddPoint(hi, 1.0)
        self.prop.SetColor(color)
        self.prop.SetScalarOpacity(opacity)

    def reset_camera(self) -> None:
        """Anterior view: camera in front (-y, LPS), head up, patient left on screen right."""
        self.renderer.ResetCamera()
        cam = self.renderer.GetActiveCamera()
        fx, fy, fz = cam.GetFocalPoint()
        d = cam.GetDistance()
        cam.SetPosition(fx, fy - d, fz)
        cam.SetViewUp(0.0, 0.0, 1.0)
        cam.ParallelProjectionOn()
        self.renderer.ResetCamera()
        self.renderer.ResetCameraClippingRange()
