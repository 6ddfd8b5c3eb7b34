"""A Qt-free slice view of a volume: reslice -> window/level -> textured quad, with overlays.

``SliceView`` renders either offscreen (its own window; :meth:`SliceView.to_array`,
:meth:`SliceView.save_png`) or into a ``vtkRenderWindow`` handed to it (e.g.
the one of a ``QVTKRenderWindowInteractor``), optionally in a viewport of it.

Geometry: the volume's voxels stay in index space (:mod:`viewer.render.image`);
the reslice axes are ``inverse(affine) @ plane_frame``, so output pixels are
placed in the plane frame (u right, v up, in mm) and sampled exactly at
``plane.to_lps(u, v)`` even for sheared (gantry tilt) stacks. The output image
covers the projection of the whole voxel grid, around the projection of the
volume centre; the camera frames it whole by default (zoom 1, no pan). Along an
in-plane direction of the voxel grid the pixels are the stored voxels (their
spacing, on their centres: :meth:`SliceView._sampling`); obliquely they are
spaced at the smallest voxel spacing.

Display: radiological conventions of :mod:`viewer.render.planes`; PS3.3
C.11.2.1.2 linear VOI (see :func:`viewer.render.windowing.vtk_window_level`);
MONOCHROME1 inverted after the VOI (PS3.3 C.7.6.3.1.2).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL factories)
from vtkmodules.vtkCommonCore import vtkPoints, vtkUnsignedCharArray
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkRenderWindow

from viewer.dicom.volume import Volume
from viewer.render.backend import new_render_window
from viewer.render.display_lut import GreyLUT, grey_levels
from viewer.render.image import VolumeImage, image_to_numpy, save_rgb_png, window_rgb
from viewer.render.overlay import RED, OverlayLayer
from viewer.render.planes import Plane, make_plane, volume_corners
from viewer.render.slice_texture import GreyMap, SliceTexture, rectangle
from viewer.render.windowing import default_window, vtk_window_level

log = logging.getLogger(__name__)

SLAB_MODES = ("mip", "minip", "mean")
INTERACTIVE_SLAB_SAMPLES = 6
CrosshairLine = tuple[np.ndarray, np.ndarray, tuple[int, int, int]]
_CAMERA_DISTANCE = 1000.0
# a grid axis is sampled at its own voxel step up to this many times the smallest spacing
_NATIVE_SPACING_LIMIT = 1.5


@dataclass(frozen=True)
class SliceGrid:
    """Where the resliced pixels are: pixel (row r, col c), row 0 at the top of the screen,
    lies at plane-frame ``u = u0 + c * spacing``, ``v = v0 - r * row_spacing`` around
    ``center``."""

    center: np.ndarray  # LPS point of u = v = 0 (on the current plane)
    shape: tuple[int, int]  # (rows, cols)
    spacing: float  # along u (columns)
    u0: float
    v0: float  # v of row 0 (the top row)
    row_spacing: float = 0.0  # along v (rows); 0: as ``spacing``

    def pixel_lps(self, plane: Plane) -> np.ndarray:
        """(rows, cols, 3) LPS position of every output pixel."""
        rows, cols = self.shape
        u = self.u0 + np.arange(cols) * self.spacing
        v = self.v0 - np.arange(rows) * (self.row_spacing or self.spacing)
        uu, vv = np.meshgrid(u, v)
        return self.center + uu[..., None] * plane.right + vv[..., None] * plane.up


def _new_offscreen_window(size: tuple[int, int]) -> vtkRenderWindow:
    return new_render_window(size, offscreen=True)


class SliceView:
    """One 2-D view of a volume through a plane (see module docstring).

    Parameters
    ----------
    volume:
        The volume, or a shared :class:`VolumeImage` of it (MPR views share one).
    render_window:
        Render into this window (the GUI's); ``None`` creates an offscreen one of ``size``.
    viewport:
        (xmin, ymin, xmax, ymax) in VTK normalised coordinates (origin bottom-left).
    """

    def __init__(
        self,
        volume: Volume | VolumeImage,
        render_window: vtkRenderWindow | None = None,
        viewport: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
        size: tuple[int, int] = (512, 512),
        plane: str | Plane = "axial",
        overlay: bool = True,
    ) -> None:
        self.data = volume if isinstance(volume, VolumeImage) else VolumeImage(volume)
        self.volume = self.data.volume
        geometry = self.volume.geometry
        self.window = render_window if render_window is not None else _new_offscreen_window(size)
        self.viewport = viewport

        self.renderer = vtkRenderer()
        self.renderer.SetViewport(*viewport)
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        # No lights: nothing here is shaded (the image slice is ambient-only, the lines and
        # overlays unlit) but with VTK's automatic light the image's fragment shader still
        # computes lighting per pixel: ~11 ms a 1024x1024 frame on llvmpipe, same pixels.
        self.renderer.AutomaticLightCreationOff()
        self.renderer.RemoveAllLights()
        self.window.AddRenderer(self.renderer)

        self.reslice = vtkImageReslice()
        # the views of one volume share its voxels but not its vtkImageData: a pipeline
        # updates its input's bookkeeping, and the views' frames may be drawn at once on
        # several threads (viewer.ui.vtk_host.render_together)
        self._input = vtkImageData()
        self._input.ShallowCopy(self.data.image)
        self.reslice.SetInputData(self._input)
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetInterpolationModeToLinear()
        self.reslice.SetBackgroundLevel(self.data.range[0])
        self.reslice.AutoCropOutputOff()
        # one matrix, refilled on every move (16 SetElement calls cost ~1 ms a step)
        self._axes = vtkMatrix4x4()
        self.reslice.SetResliceAxes(self._axes)

        # the slice: drawn first in the renderer, whole pixels up to the image edges
        self.image = SliceTexture(self.renderer)
        self.image.before_draw = self._refresh_image
        self._grey = GreyMap()
        self._image_key: tuple | None = None
        self._levels: np.ndarray | None = None
        self._inverted = self.volume.photometric.upper() == "MONOCHROME1"
        self._presentation: GreyLUT | None = None
        self._apply_grey_table()

        self._crosshair_points = vtkPoints()
        self._crosshair_poly = vtkPolyData()
        self._crosshair_poly.SetPoints(self._crosshair_points)
        self._crosshair_poly.SetLines(vtkCellArray())
        self._crosshair_colors = vtkUnsignedCharArray()
        self._crosshair_colors.SetNumberOfComponents(3)
        self._crosshair_poly.GetCellData().SetScalars(self._crosshair_colors)
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(self._crosshair_poly)
        self.crosshair_actor = vtkActor()
        self.crosshair_actor.SetMapper(mapper)
        self.crosshair_actor.GetProperty().LightingOff()
        self.crosshair_actor.GetProperty().SetLineWidth(1)
        self.crosshair_actor.VisibilityOff()
        self.renderer.AddActor(self.crosshair_actor)
        self._crosshair_lines: list[CrosshairLine] = []

        self.overlay = OverlayLayer(self.renderer)
        self.overlay.set_visible(overlay)
        self.show_overlay = overlay
        self.corner_text: dict[str, str] = {}
        self._text_key: tuple | None = None  # what the overlay's text shows (_update_text)
        self._labels: tuple[bytes, dict[str, str]] | None = None  # edge letters by orientation

        self.interpolation = "linear"
        self.interacting = False
        self._inverse_affine = np.linalg.inv(geometry.affine)
        self._corners = volume_corners(geometry)
        self.zoom = 1.0
        self.pan = np.zeros(2)  # plane-frame mm of the view centre relative to the grid centre
        self.slab_mm = 0.0
        self.slab_mode = "mip"
        self.center, self.width = default_window(self.volume)
        self.point = geometry.center.copy()
        self.plane: Plane = make_plane("axial", self.point, geometry)
        self.grid: SliceGrid | None = None
        self._half: tuple[float, float] = (1.0, 1.0)
        self.set_window(self.width, self.center)
        self.set_plane(plane)

    # ----------------------------------------------------------------- state
    def set_plane(
        self,
        plane: str | Plane | tuple[np.ndarray, np.ndarray, np.ndarray],
        normal: np.ndarray | tuple[float, float, float] | None = None,
    ) -> None:
        """A named plane (optionally tilted onto ``normal``), a :class:`Plane`, or
        ``(origin, normal, up)``; the view is re-framed (zoom 1, no pan)."""
        geometry = self.volume.geometry
        if isinstance(plane, Plane):
            new = plane
        elif isinstance(plane, str):
            new = make_plane(plane, self.point, geometry, normal)
        else:
            origin, n, up = (np.asarray(x, dtype=float) for x in plane)
            right = np.cross(up, n)
            new = Plane(origin, right, up, "oblique")
        self.point = new.point.copy()
        self.plane = new
        self.zoom, self.pan = 1.0, np.zeros(2)
        self._update_geometry(reframe=True)

    def set_point(self, lps: np.ndarray | tuple[float, float, float]) -> None:
        """Move the slice to pass through ``lps`` (keeps orientation, zoom and pan)."""
        self.point = np.asarray(lps, dtype=float).reshape(3).copy()
        self.plane = self.plane.with_point(self.point)
        self._update_geometry(reframe=False)

    def scroll(self, steps: float) -> None:
        """Move the plane along its normal (towards the viewer) by ``steps`` slice spacings."""
        self.set_point(self.point + steps * self.slice_step() * self.plane.normal)

    def slice_step(self) -> float:
        """Natural scroll step: the voxel size along the plane normal."""
        n_idx = self._inverse_affine[:3, :3] @ self.plane.normal
        return float(1.0 / max(np.abs(n_idx).max(), 1e-9))

    def set_window(self, width: float, level: float) -> None:
        """Window width and centre (PS3.3 C.11.2.1.2 linear VOI)."""
        if width < 1:
            raise ValueError(f"window width must be >= 1, got {width}")
        self.width, self.center = float(width), float(level)
        self._update_text()

    def set_inverted(self, inverted: bool) -> None:
        """Low values white (MONOCHROME1, or the user's invert), after the VOI."""
        self._inverted = bool(inverted)
        self._apply_grey_table()

    def set_presentation_lut(self, lut: GreyLUT | None) -> None:
        """The screen's GSDF presentation LUT (P-values -> driving levels), None: off."""
        self._presentation = lut
        self._apply_grey_table()

    def _apply_grey_table(self) -> None:
        """One table after window/level: inversion, then the presentation LUT."""
        self._levels = grey_levels(self._inverted, self._presentation, rounded=True)
        self._image_key = None

    def _refresh_image(self) -> None:
        """The resliced values through window/level and the grey table into the texture
        (when the slice, the voxels, the window or the table changed), when the frame is
        drawn (possibly on a worker thread: this view's own pipeline and arrays only)."""
        key = (self.reslice.GetMTime(), self._input.GetMTime(), self.width, self.center,
               id(self._levels))
        if key == self._image_key:
            return
        self.reslice.Update()
        self._image_key = key
        out = self.reslice.GetOutput()
        vw, vl = vtk_window_level(self.center, self.width)
        rgba = self._grey.rgba(image_to_numpy(out), vw, vl, self._levels)
        (ox, oy, _), (sx, sy, _) = out.GetOrigin(), out.GetSpacing()
        nx, ny, _ = out.GetDimensions()
        self.image.set_image(rgba, rectangle(ox - sx / 2, ox + (nx - 0.5) * sx,
                                             oy - sy / 2, oy + (ny - 0.5) * sy))

    def set_slab(self, thickness_mm: float, mode: str = "mip") -> None:
        """Thick slab centred on the plane: ``mip``, ``minip`` or ``mean``; 0 = thin slice.

        ``round(T / slice_step()) + 1`` samples (at least 2) are spread evenly
        from -T/2 to +T/2 along the normal, about one voxel apart along it
        (vtkImageReslice slab mode).
        """
        if mode not in SLAB_MODES:
            raise ValueError(f"unknown slab mode {mode!r}: expected {', '.join(SLAB_MODES)}")
        if thickness_mm < 0:
            raise ValueError("slab thickness must be >= 0")
        self.slab_mm, self.slab_mode = float(thickness_mm), mode
        self._update_geometry(reframe=False)

    def set_zoom(self, zoom: float) -> None:
        """Magnification relative to the framed whole volume (1 = whole volume visible)."""
        if zoom <= 0:
            raise ValueError("zoom must be > 0")
        self.zoom = float(zoom)
        self._update_camera()

    def set_pan(self, du_mm: float, dv_mm: float) -> None:
        """Centre of the view in plane-frame mm (right, up) from the framed centre."""
        self.pan = np.array([du_mm, dv_mm], dtype=float)
        self._update_camera()

    def set_interpolation(self, mode: str) -> None:
        """``linear`` (default), ``cubic`` or ``nearest`` resampling."""
        if mode not in ("linear", "cubic", "nearest"):
            raise ValueError(f"unknown interpolation {mode!r}")
        self.interpolation = mode
        self._apply_interpolation()

    def set_interacting(self, interacting: bool) -> None:
        """While the user drags (crosshair, W/L, pan, slab): nearest resampling, the texture
        magnified without filtering (a full-window bilinear pass is the largest part of a
        frame on llvmpipe) and at most ``INTERACTIVE_SLAB_SAMPLES`` slab samples; full
        quality again on release."""
        self.interacting = bool(interacting)
        self._apply_interpolation()
        self._update_geometry(reframe=False)

    def _apply_interpolation(self) -> None:
        mode = "nearest" if self.interacting else self.interpolation
        {"linear": self.reslice.SetInterpolationModeToLinear,
         "cubic": self.reslice.SetInterpolationModeToCubic,
         "nearest": self.reslice.SetInterpolationModeToNearestNeighbor}[mode]()
        self.image.linear = self.interpolation != "nearest" and not self.interacting

    def set_overlay_visible(self, visible: bool) -> None:
        self.show_overlay = visible
        self.overlay.set_visible(visible)
        self._update_text()

    def set_corner_text(self, corner: str, text: str) -> None:
        """Replace one corner's text (``top-left`` ...); the GUI fills demographics here."""
        self.corner_text[corner] = text
        self._update_text()

    def set_crosshair(self, lines: list[CrosshairLine]) -> None:
        """Lines (LPS point, LPS direction, RGB 0-255) drawn over the image; [] hides them."""
        self._crosshair_lines = [
            (np.asarray(p, float), np.asarray(d, float), c) for p, d, c in lines
        ]
        self._update_crosshair()

    # --------------------------------------------------------------- geometry
    def _update_geometry(self, reframe: bool) -> None:
        geometry = self.volume.geometry
        plane = self.plane
        # centre of the output grid: the volume centre projected onto the plane
        vc = geometry.center
        center = vc - float(np.dot(vc - plane.point, plane.normal)) * plane.normal
        uvw = (self._corners - center) @ plane.rotation
        hu, hv = float(np.abs(uvw[:, 0]).max()), float(np.abs(uvw[:, 1]).max())
        s = float(min(geometry.spacing))
        (su, phase_u), (sv, phase_v) = (self._sampling(center, d, s)
                                        for d in (plane.right, plane.up))
        # the grid spans the whole projected volume whatever the phase shift
        nu = max(0, math.ceil((hu + abs(phase_u)) / su - 0.5))
        nv = max(0, math.ceil((hv + abs(phase_v)) / sv - 0.5))
        u0, v0 = phase_u - nu * su, phase_v - nv * sv
        frame = np.eye(4)
        frame[:3, :3] = plane.rotation
        frame[:3, 3] = center
        axes = self._inverse_affine @ frame
        self._axes.DeepCopy(tuple(float(x) for x in axes.ravel()))
        self.reslice.SetResliceAxes(self._axes)
        self.reslice.SetOutputOrigin(u0, v0, 0.0)
        self.reslice.SetOutputExtent(0, 2 * nu, 0, 2 * nv, 0, 0)
        if self.slab_mm > 0:
            n = max(2, round(self.slab_mm / self.slice_step()) + 1)
            if self.interacting:
                n = min(n, INTERACTIVE_SLAB_SAMPLES)
            step = self.slab_mm / (n - 1)
            {"mip": self.reslice.SetSlabModeToMax, "minip": self.reslice.SetSlabModeToMin,
             "mean": self.reslice.SetSlabModeToMean}[self.slab_mode]()
            self.reslice.SetSlabNumberOfSlices(n)
            self.reslice.SetSlabSliceSpacingFraction(1.0)
            self.reslice.SetOutputSpacing(su, sv, step)
            # VTK 9.7's permutation fast path (axis-aligned reslices) places slab samples
            # half or one sample off centre; the general path is exact. Caught by
            # tests/render/test_reslice_geometry.py::test_slab_matches_oracle_for_any_geometry.
            self.reslice.OptimizationOff()
        else:
            self.reslice.SetSlabNumberOfSlices(1)
            self.reslice.SetOutputSpacing(su, sv, s)
            self.reslice.OptimizationOn()
        self.grid = SliceGrid(center, (2 * nv + 1, 2 * nu + 1), su, u0, v0 + 2 * nv * sv, sv)
        self._half = (hu, hv)
        self._update_camera()
        self._update_crosshair()
        self._update_text()

    def _sampling(self, center: np.ndarray, direction: np.ndarray, fallback: float
                  ) -> tuple[float, float]:
        """(spacing, phase) of the output pixels along an in-plane direction.

        Along a direction of the voxel grid (the axial plane of an axial stack, the rows
        and columns of coronal and sagittal reformats): its voxel step, and the shift (mm)
        from ``center`` to the nearest voxel centre, so that the pixels shown are the
        stored voxels, not a resampling of them (a 0.7 mm CT slice at the smallest
        spacing, or half a voxel off for an even count, would be interpolated). Else
        (oblique), or across thick slices: ``fallback`` and no shift. Between thick slices
        the values must be interpolated before the window, not the grey levels after it
        (the texture's filter): a narrow window then draws smooth edges, not a staircase
        of slices.
        """
        d_idx = self._inverse_affine[:3, :3] @ direction
        k = int(np.argmax(np.abs(d_idx)))
        big = float(abs(d_idx[k]))
        if big < 1e-12 or float(np.abs(d_idx).sum()) - big > 1e-9 * big:
            return fallback, 0.0
        if 1.0 / big > _NATIVE_SPACING_LIMIT * fallback:
            return fallback, 0.0
        c_idx = float(self._inverse_affine[k, :3] @ center + self._inverse_affine[k, 3])
        return 1.0 / big, (round(c_idx) - c_idx) / float(d_idx[k])

    def viewport_pixels(self) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of this view's viewport in window pixels."""
        return self._viewport_pixels()

    def zoom_at(self, display_xy: tuple[float, float], factor: float) -> None:
        """Zoom by ``factor`` keeping the patient point under ``display_xy`` (as :meth:`pick`)."""
        if factor <= 0:
            raise ValueError("zoom factor must be > 0")
        before = self.pick(display_xy)
        self.zoom *= float(factor)
        self._update_camera()
        after = self.pick(display_xy)
        d = before - after
        du, dv = float(d @ self.plane.right), float(d @ self.plane.up)
        self.set_pan(self.pan[0] + du, self.pan[1] + dv)

    def pan_by(self, dx_px: float, dy_px: float) -> None:
        """Drag the image by (dx, dy) window pixels (y downwards, as Qt mouse moves)."""
        mm = self.mm_per_pixel()
        self.set_pan(self.pan[0] - dx_px * mm, self.pan[1] + dy_px * mm)

    def _viewport_pixels(self) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the viewport in window pixels."""
        w, h = self.window.GetSize()
        if w <= 0 or h <= 0:
            w, h = 1, 1
        x0, y0, x1, y1 = self.viewport
        return x0 * w, y0 * h, max((x1 - x0) * w, 1.0), max((y1 - y0) * h, 1.0)

    def fit_scale(self) -> float:
        """Camera parallel scale (half the view height, mm) framing the whole volume."""
        _, _, vw, vh = self._viewport_pixels()
        hu, hv = self._half
        return max(hv, hu * vh / vw)

    def mm_per_pixel(self) -> float:
        _, _, _, vh = self._viewport_pixels()
        return 2.0 * self.fit_scale() / self.zoom / vh

    def _update_camera(self) -> None:
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOn()
        u, v = float(self.pan[0]), float(self.pan[1])
        cam.SetFocalPoint(u, v, 0.0)
        cam.SetPosition(u, v, _CAMERA_DISTANCE)
        cam.SetViewUp(0.0, 1.0, 0.0)
        cam.SetParallelScale(self.fit_scale() / self.zoom)
        cam.SetClippingRange(_CAMERA_DISTANCE / 2, _CAMERA_DISTANCE * 2)

    def pick(self, display_xy: tuple[float, float]) -> np.ndarray:
        """LPS point (on the current plane) under a window position.

        ``display_xy`` is in render-window pixels, origin at the window's
        *top-left* corner (as Qt mouse events, times the device pixel ratio);
        pixel (c, r) covers [c, c+1) x [r, r+1), its centre is (c + 0.5, r + 0.5).
        """
        left, bottom, vw, vh = self._viewport_pixels()
        _, h = self.window.GetSize()
        x = float(display_xy[0]) - left
        y = (h - float(display_xy[1])) - bottom
        mm = 2.0 * self.fit_scale() / self.zoom / vh
        u = self.pan[0] + (x - vw / 2) * mm
        v = self.pan[1] + (y - vh / 2) * mm
        assert self.grid is not None
        return self.grid.center + u * self.plane.right + v * self.plane.up

    def to_display(self, lps: np.ndarray | tuple[float, float, float]) -> tuple[float, float]:
        """Window position (top-left origin, as :meth:`pick`) of an LPS point's projection."""
        assert self.grid is not None
        left, bottom, vw, vh = self._viewport_pixels()
        _, h = self.window.GetSize()
        d = np.asarray(lps, dtype=float) - self.grid.center
        mm = 2.0 * self.fit_scale() / self.zoom / vh
        x = (float(d @ self.plane.right) - self.pan[0]) / mm + vw / 2 + left
        y = (float(d @ self.plane.up) - self.pan[1]) / mm + vh / 2 + bottom
        return x, h - y

    # ------------------------------------------------------------- overlays
    def _update_crosshair(self) -> None:
        if not self._crosshair_lines or self.grid is None:
            self.crosshair_actor.VisibilityOff()
            return
        pts, lines = self._crosshair_points, vtkCellArray()
        pts.Reset()
        self._crosshair_colors.Reset()
        reach = 4.0 * max(self._half) + 1.0
        for n, (p, d, color) in enumerate(self._crosshair_lines):
            d2 = np.array([d @ self.plane.right, d @ self.plane.up])
            norm = float(np.linalg.norm(d2))
            if norm < 1e-6:
                continue  # that line is along our normal: nothing to draw
            d2 /= norm
            rel = p - self.grid.center
            p2 = np.array([rel @ self.plane.right, rel @ self.plane.up])
            for end in (p2 - reach * d2, p2 + reach * d2):
                pts.InsertNextPoint(float(end[0]), float(end[1]), 1.0)
            lines.InsertNextCell(2)
            lines.InsertCellPoint(2 * n)
            lines.InsertCellPoint(2 * n + 1)
            self._crosshair_colors.InsertNextTuple3(*color)
        self._crosshair_poly.SetLines(lines)
        pts.Modified()
        self._crosshair_poly.Modified()
        self.crosshair_actor.SetVisibility(lines.GetNumberOfCells() > 0)

    def position_text(self) -> str:
        """Where the slice is: the LPS coordinate along a standard normal (e.g. ``H 12.5 mm``),
        else the signed distance (mm) of the plane from the LPS origin along its normal."""
        n = self.plane.normal
        axis = int(np.argmax(np.abs(n)))
        if abs(n[axis]) > 0.9999:
            x = float(self.point[axis])
            return f"{'LPH'[axis] if x >= 0 else 'RAF'[axis]} {abs(x):.1f} mm"
        return f"{float(np.dot(self.point, n)):+.1f} mm"

    def _edge_labels(self) -> dict[str, str]:
        key = self.plane.rotation.tobytes()
        if self._labels is None or self._labels[0] != key:
            self._labels = (key, self.plane.edge_labels())
        return self._labels[1]

    def _update_text(self) -> None:
        if not hasattr(self, "overlay") or not self.show_overlay:
            self._text_key = None
            return
        # called several times a frame (geometry, corner texts, prepare): once per change
        key = (self.plane.rotation.tobytes(), self.plane.name, self.point.tobytes(),
               self.slab_mm, self.slab_mode, self.width, self.center, self.zoom,
               tuple(self.corner_text.items()), self.overlay.font_size)
        if key == self._text_key:
            return
        self._text_key = key
        labels = self._edge_labels()
        for edge in ("left", "right", "top", "bottom"):
            self.overlay.set_text(edge, labels[edge])
        meta = self.volume.meta
        # Volume.meta as assembly fills it (snake_case); demographics come from the GUI
        # through set_corner_text("top-left", ...), never from logs.
        left_keys = ("patient_name", "patient_id", "study_date")
        right_keys = ("study_description", "series_description")
        top_left = "\n".join(v for v in (meta.get(k, "") for k in left_keys) if v)
        number = meta.get("series_number", "")
        top_right = "\n".join(
            v for v in (
                *(meta.get(k, "") for k in right_keys),
                f"{self.volume.modality} #{number}" if number else self.volume.modality,
            ) if v
        )
        slab = f"\n{self.slab_mode.upper()} {self.slab_mm:g} mm" if self.slab_mm > 0 else ""
        bottom_left = f"{self.plane.name.capitalize()}\n{self.position_text()}{slab}"
        bottom_right = f"W {self.width:g}  L {self.center:g}\nZoom {self.zoom:.2f}"
        texts = {"top-left": top_left, "top-right": top_right, "bottom-left": bottom_left,
                 "bottom-right": bottom_right}
        texts.update(self.corner_text)
        for corner, text in texts.items():
            self.overlay.set_text(corner, text)
        # PS3.3 C.7.6.1.1.5: lossy compressed images must be identified as such on display
        self.overlay.set_text("banner", "LOSSY" if self.volume.lossy else "", RED)

    # --------------------------------------------------------------- output
    def prepare(self) -> None:
        """Bring overlays and camera up to date with the window size (call before Render)."""
        _, _, vw, vh = self._viewport_pixels()
        self._update_camera()
        if self.show_overlay:
            self._update_text()
            self.overlay.layout((round(vw), round(vh)))
            self.overlay.set_scale_bar(self.mm_per_pixel())

    def render(self) -> None:
        self.prepare()
        self.window.Render()

    def slice_array(self) -> np.ndarray:
        """Resliced values (modality units) as shown, (rows, cols), row 0 at the top."""
        self.reslice.Update()
        return image_to_numpy(self.reslice.GetOutput())[::-1].copy()

    def to_array(self) -> np.ndarray:
        """Render and read back this view's viewport as RGB uint8 (rows, cols, 3), row 0 on top."""
        self.render()
        return window_rgb(self.window, self._viewport_pixels())

    def save_png(self, path: str | Path) -> Path:
        return save_rgb_png(self.to_array(), path)

    def close(self) -> None:
        """Detach from the render window (and free an offscreen one)."""
        self.image.close()
        self.window.RemoveRenderer(self.renderer)
