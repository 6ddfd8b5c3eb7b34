"""The slice image drawn as one textured quad, first in its renderer, without VTK's prop.

A ``vtkImageActor`` goes through VTK's general polygon shader with depth test and
blending: about 31 ms of CPU for a 1024x1024 frame on llvmpipe, where the same
picture drawn with a pass-through shader and no depth test or blending costs
about 18 ms (docs/architecture.md, "Frame cost on software OpenGL"). The slice is
always the bottom layer of its renderer (a parallel camera looking down -z with
+y up, as :class:`~viewer.render.slice_view.SliceView` sets it), so
:class:`SliceTexture` clears the renderer's viewport itself and draws the image
there when the renderer starts; VTK then draws the crosshair, measurements and
overlay text over it.

Grey values are mapped on the CPU as VTK's image mapper maps them (:class:`GreyMap`):
the linear window of ``vtkImageProperty`` (``window``, ``level``) rounded to 8 bits,
or, with a grey table (inversion, the screen's GSDF presentation LUT), the table
entry ``floor((v - lo) * n / window)``; the texture is then sampled linearly (or
nearest) exactly where the image actor's texels were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR
from vtkmodules.vtkRenderingCore import vtkRenderer
from vtkmodules.vtkRenderingOpenGL2 import vtkTextureObject

log = logging.getLogger(__name__)

_GL_BLEND = 0x0BE2
_GL_DEPTH_TEST = 0x0B71
_GL_SCISSOR_TEST = 0x0C11
_GL_COLOR_BUFFER_BIT = 0x4000
_GL_DEPTH_BUFFER_BIT = 0x0100
_OPAQUE = np.uint32(0xFF000000)
_GREY = np.uint32(0x010101)


def grey_bytes(values: NDArray, window: float, level: float,
               levels: NDArray[np.float64] | None) -> NDArray[np.uint8]:
    """8-bit grey of modality values through VTK's window/level (and grey table)."""
    x = np.asarray(values, dtype=np.float64)
    lo = level - window / 2.0
    if levels is None:
        return np.floor(np.clip((x - lo) / window, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    n = len(levels)
    k = np.clip(np.floor((x - lo) * (n / window)), 0, n - 1).astype(np.intp)
    return np.floor(levels[k] * 255.0 + 0.5).astype(np.uint8)


GreyFunction = Callable[[NDArray], NDArray[np.uint8]]


class GreyMap:
    """Values -> opaque grey RGBA bytes; 8- and 16-bit integers through one cached table."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._table: NDArray[np.uint32] | None = None

    def rgba(self, values: NDArray, window: float, level: float,
             levels: NDArray[np.float64] | None) -> NDArray[np.uint8]:
        """(rows, cols, 4) uint8 RGBA, alpha 255, through VTK's window/level (grey_bytes)."""
        key = ("vtk", window, level, None if levels is None else levels.tobytes())
        return self.map(values, key, lambda x: grey_bytes(x, window, level, levels))

    def map(self, values: NDArray, key: tuple, grey: GreyFunction) -> NDArray[np.uint8]:
        """(rows, cols, 4) uint8 RGBA of ``grey(values)``; ``key`` names ``grey`` (the table
        of every 8- or 16-bit value is built again only when it changes)."""
        dtype = values.dtype
        if dtype.kind in "iu" and dtype.itemsize <= 2:
            unsigned = np.dtype(f"u{dtype.itemsize}")
            table = self._table_for(dtype, unsigned, key, grey)
            packed = np.take(table, values.view(unsigned))  # ~1.5x faster than table[...]
        else:
            packed = grey(values).astype(np.uint32) * _GREY
            packed |= _OPAQUE
        return packed.view(np.uint8).reshape(*values.shape, 4)

    def _table_for(self, dtype: np.dtype, unsigned: np.dtype, key: tuple,
                   grey: GreyFunction) -> NDArray[np.uint32]:
        key = (dtype.str, *key)
        if key != self._key or self._table is None:
            # indexed by the values' bit pattern: entry u is the value u reads as in dtype
            every = np.arange(2 ** (8 * dtype.itemsize), dtype=np.uint64).astype(unsigned)
            self._table = grey(every.view(dtype)).astype(np.uint32) * _GREY | _OPAQUE
            self._key = key
        return self._table


def opaque_rgba(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """(rows, cols, 4) of 8-bit grey (rows, cols) or RGB (rows, cols, 3), alpha 255."""
    out = np.empty((*rgb.shape[:2], 4), dtype=np.uint8)
    out[..., :3] = rgb[..., None] if rgb.ndim == 2 else rgb[..., :3]
    out[..., 3] = 255
    return out


def rectangle(x0: float, x1: float, y0: float, y1: float) -> NDArray[np.float64]:
    """The corners (bottom-left, bottom-right, top-right, top-left) of an upright rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def tiled_viewport(renderer: vtkRenderer) -> tuple[int, int, int, int]:
    """(x, y, width, height) window pixels of the renderer, rounded as VTK rounds them
    (vtkViewport::GetTiledSizeAndOrigin, one tile)."""
    w, h = renderer.GetRenderWindow().GetSize()
    x0, y0, x1, y1 = renderer.GetViewport()
    llx, lly = int(x0 * w + 0.5), int(y0 * h + 0.5)
    urx, ury = int(x1 * w + 0.5) - 1, int(y1 * h + 0.5) - 1
    return llx, lly, max(urx - llx + 1, 1), max(ury - lly + 1, 1)


class SliceTexture:
    """Clears ``renderer``'s viewport and draws one RGBA image (bottom row first) on the
    plane z = 0, its corners (bottom-left, bottom-right, top-right, top-left of the
    image) at the world points ``corners`` (4 x 2: rotations and flips move them),
    before the renderer's props. The renderer no longer erases by itself (``EraseOff``)."""

    def __init__(self, renderer: vtkRenderer) -> None:
        self.renderer = renderer
        self.linear = True
        self.corners = rectangle(0.0, 1.0, 0.0, 1.0)
        self._rgba: NDArray[np.uint8] | None = None
        self._uploaded = False
        self._texture: vtkTextureObject | None = None
        self._context: int = -1
        self.before_draw: Callable[[], None] | None = None  # brings the image up to date
        renderer.EraseOff()
        self._observer = renderer.AddObserver("StartEvent", self._on_start)

    def set_image(self, rgba: NDArray[np.uint8], corners: NDArray[np.float64]) -> None:
        self._rgba = np.ascontiguousarray(rgba)
        self.corners = np.asarray(corners, dtype=np.float64).reshape(4, 2)
        self._uploaded = False

    def close(self) -> None:
        self.renderer.RemoveObserver(self._observer)
        window = self.renderer.GetRenderWindow()
        if self._texture is not None and window is not None and self._context_is_live(window):
            self._texture.ReleaseGraphicsResources(window)
        self._texture = None

    # ------------------------------------------------------------------ drawing
    def _context_is_live(self, window: object) -> bool:
        return int(window.GetContextCreationTime()) == self._context  # type: ignore[attr-defined]

    def _on_start(self, renderer: vtkRenderer, _event: str) -> None:
        window = renderer.GetRenderWindow()
        if window is None:
            return
        state = window.GetState()
        x, y, w, h = tiled_viewport(renderer)
        state.vtkglViewport(x, y, w, h)
        state.vtkglScissor(x, y, w, h)
        state.vtkglEnable(_GL_SCISSOR_TEST)
        r, g, b = renderer.GetBackground()
        state.vtkglClearColor(r, g, b, renderer.GetBackgroundAlpha())
        state.vtkglDepthMask(True)
        state.vtkglClearDepth(1.0)
        state.vtkglClear(_GL_COLOR_BUFFER_BIT | _GL_DEPTH_BUFFER_BIT)
        if self.before_draw is not None:
            self.before_draw()
        if self._rgba is not None and self._rgba.size:
            self._draw(window, state, w / h)

    def _draw(self, window: object, state: object, aspect: float) -> None:
        texture = self._ready_texture(window)
        if texture is None:
            return
        verts = self._quad(aspect)
        depth = state.GetEnumState(_GL_DEPTH_TEST)  # type: ignore[attr-defined]
        blend = state.GetEnumState(_GL_BLEND)  # type: ignore[attr-defined]
        state.vtkglDisable(_GL_DEPTH_TEST)  # type: ignore[attr-defined]
        state.vtkglDisable(_GL_BLEND)  # type: ignore[attr-defined]
        try:
            texture.CopyToFrameBuffer([0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0], verts, None, None)
        finally:
            if depth:
                state.vtkglEnable(_GL_DEPTH_TEST)  # type: ignore[attr-defined]
            if blend:
                state.vtkglEnable(_GL_BLEND)  # type: ignore[attr-defined]

    def _ready_texture(self, window: object) -> vtkTextureObject | None:
        if self._texture is None or not self._context_is_live(window):
            # a new OpenGL context (the window was re-created): the old texture went with it
            self._texture = vtkTextureObject()
            self._texture.SetContext(window)
            self._texture.SetWrapS(vtkTextureObject.ClampToEdge)
            self._texture.SetWrapT(vtkTextureObject.ClampToEdge)
            self._context = int(window.GetContextCreationTime())  # type: ignore[attr-defined]
            self._uploaded = False
        texture = self._texture
        mode = vtkTextureObject.Linear if self.linear else vtkTextureObject.Nearest
        if texture.GetMagnificationFilter() != mode:
            texture.SetMagnificationFilter(mode)
            texture.SetMinificationFilter(mode)
        if not self._uploaded:
            assert self._rgba is not None
            rows, cols = self._rgba.shape[:2]
            if not texture.Create2DFromRaw(cols, rows, 4, VTK_UNSIGNED_CHAR, self._rgba):
                log.warning("slice texture of %dx%d could not be created", cols, rows)
                return None
            self._uploaded = True
        return texture

    def _quad(self, aspect: float) -> list[float]:
        """Normalised device coordinates of the image's corners (the camera's projection)."""
        camera = self.renderer.GetActiveCamera()
        fx, fy, _ = camera.GetFocalPoint()
        half_h = camera.GetParallelScale()
        half_w = half_h * aspect
        ndc = (self.corners - (fx, fy)) / (half_w, half_h)
        return np.column_stack([ndc, np.zeros(4)]).ravel().tolist()
