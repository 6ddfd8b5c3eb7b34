"""A Qt-free 2-D view of one frame of an :class:`~viewer.dicom.image2d.ImageSeries`.

For what is not a volume: radiographs (CR/DX/MG at 3 or 5 MP, with a 1:1
"true pixel" mode), cine loops (US/XA/RF/NM: frame stepping at the header's
frame time), colour (RGB, YBR, palette) and single images without geometry.
Like :class:`~viewer.render.slice_view.SliceView` it renders offscreen (its
own window) or into a ``vtkRenderWindow`` handed to it, in a viewport of it.

World frame: pixel (column c, row r) of the frame has its centre at
``(c, (rows - 1 - r) * aspect)``; one world unit is one image column pixel,
``aspect`` is the height/width of a pixel (row/column spacing, else Pixel
Aspect Ratio). Rotation and flips are an integer 2x2 matrix ``transform`` from
that frame (x = +column, y = -row) to the screen (x right, y up), applied about
the image centre to the corners of the frame's textured quad
(:mod:`viewer.render.slice_texture`) and to the overlay planes' actor, so
picking, orientation letters and the scale bar follow exactly.

Display: grey frames in modality units through the PS3.3 C.11.2.1.2 linear VOI
on the CPU, floored to 8 bits as dcmj2pnm does (:meth:`ImageView._grey_of`),
inverted for MONOCHROME1 / Presentation LUT Shape INVERSE (C.7.6.3.1.2) or on
request as 255 - y before the floor (without the quantisation of a look-up table).
When the header's VOI is a VOI LUT Sequence or the SIGMOID function
(C.11.2.1.3) the frame is shown as :func:`viewer.dicom.pixels.to_display`
computes it until the user changes the window. Colour frames (8-bit RGB after
palette / YBR conversion) pass through.
Grey frames with a Supplemental Palette Color LUT (PS3.3 C.8.16.2.1.1.1) are
windowed on the CPU (:meth:`ImageSeries.display`): grey below the palette's
first mapped value, its colours above, shown as RGB.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL factories)
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import (
    vtkImageActor,
    vtkRenderer,
    vtkRenderWindow,
)

from viewer.dicom.image2d import FrameInfo, ImageSeries, opposite_letters
from viewer.render.backend import new_render_window
from viewer.render.display_lut import GreyLUT, grey_levels
from viewer.render.image import matrix4, save_rgb_png, window_rgb
from viewer.render.overlay import RED, OverlayLayer
from viewer.render.slice_texture import GreyMap, SliceTexture, opaque_rgba, rectangle
from viewer.render.windowing import voi_linear

log = logging.getLogger(__name__)

DEFAULT_CINE_MS = 1000.0 / 15.0  # when the header gives no timing (15 frames/s)
_CAMERA_DISTANCE = 1000.0
_ROT_CW = np.array([[0, 1], [-1, 0]])  # screen (x right, y up): right -> bottom, top -> right
_FLIP_H = np.array([[-1, 0], [0, 1]])
_FLIP_V = np.array([[1, 0], [0, -1]])


@dataclass(frozen=True)
class PickResult:
    """The image pixel under a window position and its value: modality units (grey)
    or an (R, G, B) tuple (colour)."""

    column: int
    row: int
    value: float | tuple[int, int, int]
    frame: int


@dataclass(frozen=True)
class Distance:
    """A distance between two image points: in pixels, in mm when the frame has a
    spacing, and what that spacing means (``"at detector"``, PS3.3 10.7.1.3)."""

    pixels: float
    mm: float | None
    label: str

    def text(self) -> str:
        if self.mm is None:
            return f"{self.pixels:.1f} px"
        note = "" if self.label == "calibrated" else f" ({self.label})"
        return f"{self.mm:.1f} mm{note}"


class ImageView:
    """One 2-D frame of an image series on screen (see the module docstring).

    Parameters
    ----------
    series:
        The frames to show.
    render_window:
        Render into this window (the GUI's); ``None`` creates an offscreen one of ``size``.
    viewport:
        (xmin, ymin, xmax, ymax) in VTK normalised coordinates (origin bottom-left).
    """

    def __init__(
        self,
        series: ImageSeries,
        render_window: vtkRenderWindow | None = None,
        viewport: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
        size: tuple[int, int] = (512, 512),
        overlay: bool = True,
        frame: int = 0,
    ) -> None:
        if len(series) == 0:
            raise ValueError("the image series has no frames")
        self.series = series
        self.window = (
            render_window if render_window is not None else new_render_window(size, offscreen=True)
        )
        self.viewport = viewport
        self.renderer = vtkRenderer()
        self.renderer.SetViewport(*viewport)
        self.renderer.SetBackground(0.0, 0.0, 0.0)
        self.window.AddRenderer(self.renderer)

        # the frame: drawn first in the renderer, whole pixels up to the image edges
        self.image = SliceTexture(self.renderer)
        self.image.before_draw = self._refresh_image
        self._grey = GreyMap()
        self._image_key: tuple | None = None
        self._pixels: np.ndarray | None = None  # the frame's values, row 0 at the top

        # overlay planes (60xx): white where set, transparent elsewhere, just above the image
        self.planes_actor = vtkImageActor()
        self.planes_actor.GetMapper().BorderOn()
        self.planes_actor.GetProperty().SetInterpolationTypeToNearest()
        self.planes_actor.VisibilityOff()
        self.renderer.AddActor(self.planes_actor)
        self._planes: tuple[vtkImageData, np.ndarray] | None = None
        self.show_overlay_planes = True

        self.overlay = OverlayLayer(self.renderer)
        self.overlay.set_visible(overlay)
        self.show_overlay = overlay
        self.corner_text: dict[str, str] = {}

        self.transform = np.eye(2, dtype=int)
        self.zoom = 1.0
        self.pan = np.zeros(2)  # screen-frame world units of the view centre from the image centre
        self.true_pixel = False
        self.device_pixel_ratio = 1.0
        self.interpolation = "linear"
        self.user_invert = False
        self._negated = False
        self._presentation: GreyLUT | None = None
        self._levels: np.ndarray | None = None  # the presentation LUT's grey levels
        self.index = -1
        self.shape = (0, 0)  # (rows, cols) of the frame shown
        self.aspect = 1.0
        self.center, self.width = series.default_window(frame)
        self.header_voi = self._header_voi_needed(frame)
        self.set_frame(frame)

    # ----------------------------------------------------------------- frames
    @property
    def info(self) -> FrameInfo:
        return self.series.frames[self.index]

    @property
    def colour(self) -> bool:
        return self.info.colour

    @property
    def _rgb_display(self) -> bool:
        """A grey frame shown in colour through its Supplemental Palette Color LUT."""
        return self.info.supplemental_palette and not self.info.colour

    def _header_voi_needed(self, n: int) -> bool:
        """True when the header's VOI cannot be a linear window (PS3.3 C.11.2.1):
        a SIGMOID function, or a VOI LUT Sequence without a window."""
        if self.series.frames[n].colour:
            return False
        voi = self.series.header_voi(n)
        if voi is None:
            return self.series.has_voi_lut_sequence(n)
        return voi[2] == "SIGMOID"

    def set_frame(self, n: int) -> None:
        """Show frame ``n`` (0-based, series order); keeps window, zoom, pan and rotation."""
        total = len(self.series)
        if not 0 <= n < total:
            raise IndexError(f"frame {n} requested but the series has {total}")
        info = self.series.frames[n]
        self.index = n
        if self._rgb_display:
            window = None if self.header_voi else (self.center, self.width)
            data = self.series.display(n, window, invert=self.user_invert)
        elif self.header_voi and not info.colour:
            data = self.series.display(n)
            if self.user_invert:
                data = 255 - data
        else:
            data = self.series.values(n)  # inverted, if so, by _grey_of (255 - y, then floor)
        self._set_pixels(data, info.aspect)
        self._set_planes(self.series.overlay_mask(n) if self.show_overlay_planes else None)
        self._apply_window()
        self._update_text()

    def set_overlay_planes_visible(self, visible: bool) -> None:
        """Show or hide the DICOM overlay planes (60xx, PS3.3 C.9.2) over the image."""
        self.show_overlay_planes = bool(visible)
        self._set_planes(self.series.overlay_mask(self.index) if visible else None)

    def _set_planes(self, mask: np.ndarray | None) -> None:
        if mask is None or mask.shape != self.shape:
            self.planes_actor.VisibilityOff()
            self._planes = None
            return
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[mask[::-1]] = 255
        rows, cols = mask.shape
        image = vtkImageData()
        image.SetDimensions(cols, rows, 1)
        image.SetSpacing(1.0, self.aspect, 1.0)
        image.GetPointData().SetScalars(numpy_to_vtk(rgba.reshape(-1, 4), deep=False))
        self._planes = (image, rgba)
        self.planes_actor.GetMapper().SetInputData(image)
        self.planes_actor.SetDisplayExtent(0, cols - 1, 0, rows - 1, 0, 0)
        self.planes_actor.VisibilityOn()

    def step(self, k: int = 1, wrap: bool = False) -> int:
        """Move ``k`` frames (cine, stack scroll); clamps at the ends unless ``wrap``."""
        total = len(self.series)
        n = self.index + k
        n = n % total if wrap else min(max(n, 0), total - 1)
        if n != self.index:
            self.set_frame(n)
        return n

    def frame_interval_ms(self) -> float:
        """How long the current frame stays up in cine (PS3.3 C.7.6.5 Frame Time /
        Frame Time Vector / Cine Rate), else :data:`DEFAULT_CINE_MS`."""
        ms = self.series.frame_interval_ms(self.index)
        return float(ms) if ms is not None and ms > 0 else DEFAULT_CINE_MS

    def _set_pixels(self, data: np.ndarray, aspect: float) -> None:
        rows, cols = data.shape[:2]
        if data.dtype.kind not in "iuf":
            data = data.astype(np.float32)
        self._pixels = data
        self._image_key = None
        self._negated = self.inverted and not self.header_voi and not self._rgb_display
        reframe = (rows, cols) != self.shape or aspect != self.aspect
        self.shape, self.aspect = (rows, cols), aspect
        if reframe:
            self._update_matrix()

    # ----------------------------------------------------------------- window
    def set_window(self, width: float, level: float) -> None:
        """Window width and centre in modality units (PS3.3 C.11.2.1.2 linear VOI);
        leaves the header's VOI LUT / SIGMOID for the linear window."""
        if width < 1:
            raise ValueError(f"window width must be >= 1, got {width}")
        self.width, self.center = float(width), float(level)
        if self._rgb_display and not self.header_voi:  # windowed on the CPU
            self.set_frame(self.index)
            return
        if self.header_voi:
            self.header_voi = False
            self.set_frame(self.index)
            return
        self._apply_window()
        self._update_text()

    def reset_window(self) -> None:
        """Back to the header's VOI (first window, VOI LUT Sequence or function)."""
        self.center, self.width = self.series.default_window(self.index)
        self.header_voi = self._header_voi_needed(self.index)
        self.set_frame(self.index)

    def set_invert(self, invert: bool) -> None:
        """Invert grey (on top of MONOCHROME1's own inversion); colour is never inverted."""
        self.user_invert = bool(invert)
        self.set_frame(self.index)

    @property
    def inverted(self) -> bool:
        """Whether low values show white now (MONOCHROME1 / INVERSE xor the user's invert)."""
        if self.colour:
            return False
        return self._presentation_inverse() != self.user_invert

    def _presentation_inverse(self) -> bool:
        header = self.series.header(self.index)
        shape = str(header.get("PresentationLUTShape", "") or "").strip().upper()
        return self.info.monochrome1 or shape == "INVERSE"

    def set_presentation_lut(self, lut: GreyLUT | None) -> None:
        """The screen's GSDF presentation LUT (P-values -> driving levels) for grey frames,
        None: off. Colour frames are never mapped (PS3.14 is a greyscale function)."""
        self._presentation = lut
        self._levels = grey_levels(False, lut)  # inversion is done before (_grey_of)
        self._apply_window()

    def _apply_window(self) -> None:
        self._image_key = None  # the next frame maps the values again (_refresh_image)

    def _refresh_image(self) -> None:
        """The frame's grey (or colour) bytes into the texture, when the frame, the window
        or the grey levels changed."""
        data = self._pixels
        if data is None:
            return
        passthrough = self.colour or self._rgb_display or self.header_voi
        levels = None if self.colour or self._rgb_display else self._levels
        key = (id(data), passthrough, self.center, self.width, self._negated,
               None if levels is None else levels.tobytes())
        if key == self._image_key:
            return
        self._image_key = key
        flipped = data[::-1]  # the texture's rows go up
        if passthrough and levels is None:
            rgba = opaque_rgba(np.asarray(flipped, dtype=np.uint8))
        else:
            rgba = self._grey.map(flipped, key[1:], self._grey_of(passthrough, levels))
        self.image.set_image(rgba, self._corners())

    def _grey_of(self, passthrough: bool, levels: np.ndarray | None
                 ) -> Callable[[np.ndarray], np.ndarray]:
        """Values -> 8-bit grey: the P-value floor(y) of PS3.3 C.11.2.1.2's linear VOI (as
        dcmj2pnm; ``255 - y`` before the floor when inverted), or the 8-bit value itself
        (header VOI LUT / SIGMOID frames), then the presentation LUT's level for it."""
        center, width, negated = self.center, self.width, self._negated
        # y in floating point may fall just under an integer it equals exactly; with integer
        # input y moves in steps of 255/(w-1), so a nudge below 1/(w-1) never crosses the
        # next integer (measured equal to pixels.to_display on real CR/NM frames for widths
        # 1 to 60000)
        margin = min(1.0 / 2048.0, 0.25 / max(width - 1.0, 1.0))

        def grey(x: np.ndarray) -> np.ndarray:
            if passthrough:
                p = np.clip(x, 0, 255).astype(np.intp)
            else:
                y = voi_linear(x, center, width)
                y = (255.0 - y if negated else y) + margin
                p = np.clip(np.floor(y), 0, 255).astype(np.intp)
            if levels is None:
                return p.astype(np.uint8)
            return np.floor(levels[p] * 255.0 + 0.5).astype(np.uint8)

        return grey

    # ------------------------------------------------------------ orientation
    def rotate(self, quarter_turns: int = 1) -> None:
        """Rotate the image by 90 degrees clockwise ``quarter_turns`` times (negative:
        anticlockwise); the orientation letters follow."""
        for _ in range(quarter_turns % 4):
            self.transform = _ROT_CW @ self.transform
        self._update_matrix()

    def flip_horizontal(self) -> None:
        """Mirror left-right on screen (letters follow)."""
        self.transform = _FLIP_H @ self.transform
        self._update_matrix()

    def flip_vertical(self) -> None:
        """Mirror top-bottom on screen (letters follow)."""
        self.transform = _FLIP_V @ self.transform
        self._update_matrix()

    def reset_orientation(self) -> None:
        self.transform = np.eye(2, dtype=int)
        self._update_matrix()

    def edge_labels(self) -> dict[str, str]:
        """Patient direction letters (0020,0020) at each screen edge for the current rotation."""
        orientation = self.info.orientation
        if orientation is None:
            return {"left": "", "right": "", "top": "", "bottom": ""}
        row, col = orientation
        # world +x = increasing column (row letter), world +y = decreasing row
        by_direction = {(1, 0): row, (-1, 0): opposite_letters(row),
                        (0, -1): col, (0, 1): opposite_letters(col)}
        inv = np.round(np.linalg.inv(self.transform)).astype(int)
        out = {}
        for edge, screen in (("right", (1, 0)), ("left", (-1, 0)), ("top", (0, 1)),
                             ("bottom", (0, -1))):
            d = inv @ np.array(screen)
            out[edge] = by_direction[(int(d[0]), int(d[1]))]
        return out

    def _centre_world(self) -> np.ndarray:
        rows, cols = self.shape
        return np.array([(cols - 1) / 2.0, (rows - 1) * self.aspect / 2.0])

    def _corners(self) -> np.ndarray:
        """World corners of the frame's whole pixels (bottom-left, bottom-right, top-right,
        top-left of the texture) after rotation and flips about the image centre."""
        rows, cols = self.shape
        a = self.aspect
        frame = rectangle(-0.5, cols - 0.5, -a / 2.0, (rows - 0.5) * a)
        return (frame - self._centre_world()) @ self.transform.T

    def _half_extent(self) -> tuple[float, float]:
        """Half width and height (world units) of the rotated image on screen."""
        rows, cols = self.shape
        h = np.abs(self.transform) @ np.array([cols / 2.0, rows * self.aspect / 2.0])
        return float(h[0]), float(h[1])

    def _update_matrix(self) -> None:
        m = np.eye(4)
        m[:2, :2] = self.transform
        m[:2, 3] = -self.transform @ self._centre_world()
        self._image_key = None  # the quad's corners move (_corners)
        m[2, 3] = 0.5  # overlay planes just in front of the image
        self.planes_actor.SetUserMatrix(matrix4(m))
        self._update_camera()
        self._update_text()

    # ------------------------------------------------------------ zoom / pan
    def _viewport_pixels(self) -> tuple[float, float, float, float]:
        """(left, bottom, width, height) of the viewport in window pixels."""
        w, h = self.window.GetSize()
        if w <= 0 or h <= 0:
            w, h = 1, 1
        x0, y0, x1, y1 = self.viewport
        return x0 * w, y0 * h, max((x1 - x0) * w, 1.0), max((y1 - y0) * h, 1.0)

    def viewport_pixels(self) -> tuple[float, float, float, float]:
        return self._viewport_pixels()

    def fit_scale(self) -> float:
        """Camera parallel scale (half the view height, world units) framing the whole frame."""
        _, _, vw, vh = self._viewport_pixels()
        hx, hy = self._half_extent()
        return max(hy, hx * vh / vw)

    def units_per_pixel(self) -> float:
        """Image column pixels per window pixel."""
        if self.true_pixel:
            return float(self.device_pixel_ratio)
        _, _, _, vh = self._viewport_pixels()
        return 2.0 * self.fit_scale() / self.zoom / vh

    def mm_per_pixel(self) -> float | None:
        """mm per window pixel (None without pixel spacing), in the spacing's meaning."""
        col_mm = self.info.spacing.column_mm
        return None if col_mm is None else col_mm * self.units_per_pixel()

    def fit(self) -> None:
        """Whole frame in the viewport, centred (zoom 1)."""
        self.true_pixel = False
        self.zoom, self.pan = 1.0, np.zeros(2)
        self._update_camera()
        self._update_text()

    def set_zoom(self, zoom: float) -> None:
        """Magnification relative to the fitted frame (1 = whole frame visible)."""
        if zoom <= 0:
            raise ValueError("zoom must be > 0")
        self.true_pixel = False
        self.zoom = float(zoom)
        self._update_camera()
        self._update_text()

    def set_true_pixel(self, device_pixel_ratio: float = 1.0) -> None:
        """1:1: one image pixel on one physical screen pixel (mammography QC, TG18).

        ``device_pixel_ratio`` is the number of physical screen pixels per
        render-window pixel: 1 when the window's size counts physical pixels
        (offscreen, Xvfb, a Qt host sized in device pixels); Qt's
        ``devicePixelRatioF()`` when the window counts logical pixels. The
        image edges are snapped onto pixel boundaries.
        """
        if device_pixel_ratio <= 0:
            raise ValueError("device pixel ratio must be > 0")
        self.true_pixel = True
        self.device_pixel_ratio = float(device_pixel_ratio)
        _, _, _, vh = self._viewport_pixels()
        self.zoom = self.fit_scale() / (vh * self.device_pixel_ratio / 2.0)
        self._update_camera()
        self._update_text()

    def set_pan(self, dx: float, dy: float) -> None:
        """View centre in screen-frame world units (image pixels, x right, y up)."""
        self.pan = np.array([dx, dy], dtype=float)
        self._update_camera()

    def pan_by(self, dx_px: float, dy_px: float) -> None:
        """Drag the image by (dx, dy) window pixels (y downwards, as Qt mouse moves)."""
        u = self.units_per_pixel()
        self.set_pan(self.pan[0] - dx_px * u, self.pan[1] + dy_px * u)

    def zoom_at(self, display_xy: tuple[float, float], factor: float) -> None:
        """Zoom by ``factor`` keeping the image point under ``display_xy`` in place."""
        if factor <= 0:
            raise ValueError("zoom factor must be > 0")
        before = self._screen_point(display_xy)
        self.true_pixel = False
        self.zoom *= float(factor)
        self._update_camera()
        after = self._screen_point(display_xy)
        self.set_pan(*(self.pan + before - after))
        self._update_text()

    def set_interpolation(self, mode: str) -> None:
        """``linear`` (default) or ``nearest`` (always nearest in 1:1 mode)."""
        if mode not in ("linear", "nearest"):
            raise ValueError(f"unknown interpolation {mode!r}")
        self.interpolation = mode
        self._update_camera()

    def _update_camera(self) -> None:
        self.image.linear = not (self.true_pixel or self.interpolation == "nearest")
        _, _, vw, vh = self._viewport_pixels()
        u = self.units_per_pixel()
        if self.true_pixel:
            self._snap_pan(vw, vh, u)
        cam = self.renderer.GetActiveCamera()
        cam.ParallelProjectionOn()
        px, py = float(self.pan[0]), float(self.pan[1])
        cam.SetFocalPoint(px, py, 0.0)
        cam.SetPosition(px, py, _CAMERA_DISTANCE)
        cam.SetViewUp(0.0, 1.0, 0.0)
        cam.SetParallelScale(u * vh / 2.0)
        cam.SetClippingRange(_CAMERA_DISTANCE / 2, _CAMERA_DISTANCE * 2)

    def _snap_pan(self, vw: float, vh: float, u: float) -> None:
        """Put the image's lower-left corner on a window pixel corner (1:1 mode)."""
        hx, hy = self._half_extent()
        for axis, (half, size) in enumerate(((hx, vw), (hy, vh))):
            edge = size / 2.0 + (-half - self.pan[axis]) / u  # window pixels
            self.pan[axis] += (edge - round(edge)) * u

    # ----------------------------------------------------------------- picking
    def _screen_point(self, display_xy: tuple[float, float]) -> np.ndarray:
        """Screen-frame world point (image units, centred) under a window position."""
        left, bottom, vw, vh = self._viewport_pixels()
        _, h = self.window.GetSize()
        u = self.units_per_pixel()
        x = float(display_xy[0]) - left
        y = (h - float(display_xy[1])) - bottom
        return np.array([self.pan[0] + (x - vw / 2) * u, self.pan[1] + (y - vh / 2) * u])

    def image_point(self, display_xy: tuple[float, float]) -> tuple[float, float]:
        """(column, row) in continuous image coordinates (pixel centres at integers)
        under a window position (top-left origin, as :meth:`SliceView.pick`)."""
        s = self._screen_point(display_xy)
        w = np.linalg.inv(self.transform) @ s + self._centre_world()
        rows, _ = self.shape
        return float(w[0]), float(rows - 1 - w[1] / self.aspect)

    def to_display(self, column: float, row: float) -> tuple[float, float]:
        """Window position (top-left origin) of an image point (pixel centres at integers)."""
        rows, _ = self.shape
        w = np.array([column, (rows - 1 - row) * self.aspect]) - self._centre_world()
        s = self.transform @ w
        left, bottom, vw, vh = self._viewport_pixels()
        _, h = self.window.GetSize()
        u = self.units_per_pixel()
        x = (s[0] - self.pan[0]) / u + vw / 2 + left
        y = (s[1] - self.pan[1]) / u + vh / 2 + bottom
        return float(x), float(h - y)

    def pick(self, display_xy: tuple[float, float]) -> PickResult | None:
        """The pixel under a window position and its value (modality units or RGB),
        None outside the image."""
        c, r = self.image_point(display_xy)
        col, row = math.floor(c + 0.5), math.floor(r + 0.5)
        rows, cols = self.shape
        if not (0 <= col < cols and 0 <= row < rows):
            return None
        values = self.series.values(self.index)
        v = values[row, col]
        value: float | tuple[int, int, int] = (
            (int(v[0]), int(v[1]), int(v[2])) if values.ndim == 3 else float(v)
        )
        return PickResult(col, row, value, self.index)

    def distance(self, a: tuple[float, float], b: tuple[float, float]) -> Distance:
        """Distance between image points (column, row) of the current frame; mm from the
        row and column spacing (non-square pixels included), in the spacing's meaning."""
        dc, dr = float(b[0]) - float(a[0]), float(b[1]) - float(a[1])
        spacing = self.info.spacing
        if spacing.spacing is None:
            return Distance(math.hypot(dc, dr * self.aspect), None, spacing.label)
        row_mm, col_mm = spacing.spacing
        return Distance(math.hypot(dc, dr * self.aspect), math.hypot(dc * col_mm, dr * row_mm),
                        spacing.label)

    # ----------------------------------------------------------------- overlays
    def set_overlay_visible(self, visible: bool) -> None:
        self.show_overlay = visible
        self.overlay.set_visible(visible)
        self._update_text()

    def set_corner_text(self, corner: str, text: str) -> None:
        """Replace one corner's text (``top-left`` ...); the GUI fills demographics here."""
        self.corner_text[corner] = text
        self._update_text()

    def _update_text(self) -> None:
        if not hasattr(self, "overlay") or not self.show_overlay or self.index < 0:
            return
        for edge, text in self.edge_labels().items():
            self.overlay.set_text(edge, text)
        info, meta = self.info, self.series.meta
        number = meta.get("series_number", "")
        modality = self.series.modality
        top_right = "\n".join(v for v in (
            meta.get("study_description", ""), meta.get("series_description", ""),
            f"{modality} #{number}" if number else modality,
            " ".join(v for v in (info.laterality, info.view_position) if v),
        ) if v)
        lines = []
        if self.series.n_instances > 1:
            lines.append(f"Im {self._instance_position()}/{self.series.n_instances}")
        if info.n_frames_in_file > 1:
            lines.append(f"Frame {info.frame + 1}/{info.n_frames_in_file}")
        rows, cols = self.shape
        lines.append(f"{cols} x {rows}  {info.photometric}")
        if info.spacing.spacing is not None:
            lines.append(f"Pixel {info.spacing.column_mm:.3g} mm {info.spacing.label}")
        if self.colour:
            voi = "Colour"
        elif self.header_voi:
            voi = "VOI LUT (header)"
        else:
            voi = f"W {self.width:g}  L {self.center:g}" + ("  INV" if self.user_invert else "")
        zoom = "1:1" if self.true_pixel else f"Zoom {self.zoom:.2f}"
        texts = {"top-left": "", "top-right": top_right, "bottom-left": "\n".join(lines),
                 "bottom-right": f"{voi}\n{zoom}"}
        texts.update(self.corner_text)
        for corner, text in texts.items():
            self.overlay.set_text(corner, text)
        # PS3.3 C.7.6.1.1.5: lossy compressed images must be identified as such on display
        self.overlay.set_text("banner", "LOSSY" if info.lossy else "", RED)

    def _instance_position(self) -> int:
        paths: list[Path] = []
        for f in self.series.frames[: self.index + 1]:
            if not paths or paths[-1] != f.path:
                paths.append(f.path)
        return len(paths)

    # ----------------------------------------------------------------- output
    def prepare(self) -> None:
        """Bring camera and overlays up to date with the window size (call before Render)."""
        if self.true_pixel:
            self.set_true_pixel(self.device_pixel_ratio)
        else:
            self._update_camera()
        if self.show_overlay:
            _, _, vw, vh = self._viewport_pixels()
            self._update_text()
            self.overlay.layout((round(vw), round(vh)))
            mm = self.mm_per_pixel()
            # PS3.3 10.7.1.3: say what the spacing means unless it is in the patient plane
            kind = self.info.spacing.kind
            note = "" if kind in ("calibrated", "none") else self.info.spacing.label
            self.overlay.set_scale_bar(mm if mm is not None else 0.0, note)

    def render(self) -> None:
        self.prepare()
        self.window.Render()

    def to_array(self) -> np.ndarray:
        """Render and read back this view's viewport as RGB uint8 (rows, cols, 3), row 0 on top."""
        self.render()
        return window_rgb(self.window, self._viewport_pixels())

    def save_png(self, path: str | Path) -> Path:
        return save_rgb_png(self.to_array(), path)

    def close(self) -> None:
        """Detach from the render window."""
        self.image.close()
        self.window.RemoveRenderer(self.renderer)


def render_image_snapshot(
    series: ImageSeries,
    out: str | Path,
    *,
    frame: int = 0,
    window: tuple[float, float] | None = None,
    size: tuple[int, int] = (512, 512),
    overlay: bool = False,
    zoom: float = 1.0,
    true_pixel: bool = False,
    interpolation: str = "linear",
) -> dict[str, object]:
    """Render one frame of a 2-D series to the PNG ``out`` (``regard render`` for
    radiographs, cine and colour images); ``window`` is (width, level) in modality
    units, default the header's VOI. Returns a JSON-ready description."""
    if not 0 <= frame < len(series):
        raise ValueError(f"frame {frame} requested but the series has {len(series)} (0-based)")
    view = ImageView(series, size=size, overlay=overlay, frame=frame)
    if window is not None:
        view.set_window(*window)
    view.set_interpolation(interpolation)
    if true_pixel:
        view.set_true_pixel()
    elif zoom != 1.0:
        view.set_zoom(zoom)
    path = view.save_png(out)
    info = view.info
    if view.colour:
        shown: object = None
    elif view.header_voi:
        shown = "header VOI LUT"
    else:
        shown = {"width": view.width, "level": view.center}
    return {
        "output": str(path),
        "kind": "image",
        "size": list(size),
        "frame": frame,
        "frames": len(series),
        "frame_interval_ms": view.frame_interval_ms(),
        "photometric": info.photometric,
        "window": shown,
        "inverted": view.inverted,
        "labels": view.edge_labels(),
        "zoom": view.zoom,
        "true_pixel": view.true_pixel,
        "mm_per_pixel": view.mm_per_pixel(),
        "spacing_kind": info.spacing.kind,
        "lossy": bool(info.lossy),
    }
