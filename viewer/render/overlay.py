"""Cheap overlays for a slice view: text as cached textures, a scale bar as lines.

VTK's text actors cost ~15 ms a frame on llvmpipe (PLATFORM.md). Here each
text block is rasterised once by Pillow (FreeType) into a small RGBA image,
cached by content, and drawn as one textured quad (``vtkTexturedActor2D``,
:func:`new_text_actor`) in the view's own renderer (2-D actors are blended in
VTK's overlay pass: no translucent pass, no second layer; ``vtkImageActor``
with alpha measured ~10 ms a frame more, ``vtkImageMapper`` re-uploads its
image every frame). Changing one corner re-rasterises only that block.

The GUI may instead draw the same content in Qt: :meth:`OverlayLayer.items`
returns what is shown where.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkFloatArray, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTexture,
    vtkTexturedActor2D,
)

log = logging.getLogger(__name__)

_FONT_FILES = (
    "DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
ANCHORS = (
    "top-left", "top-right", "bottom-left", "bottom-right", "top", "bottom", "left", "right",
    "banner",  # under the top edge letter, centred: warnings such as LOSSY
)

WHITE = (255, 255, 255, 255)
RED = (255, 70, 70, 255)
YELLOW = (255, 220, 80, 255)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in _FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def rasterize_text(
    text: str, size: int = 14, color: tuple[int, int, int, int] = WHITE, align: str = "left"
) -> np.ndarray:
    """RGBA (rows, cols, 4) uint8 of ``text`` with a dark outline, row 0 at the top."""
    if align == "left" and "\n" in text and "" not in text.split("\n"):
        block = _left_block(text, size, tuple(color))
        if block is not None:
            return block
    return _rasterize(text, size, color, align)


# the outline: each pixel within one pixel (3x3) of a glyph's coverage. Pillow's own
# stroke (FreeType's stroker, stroke_width=1) looks the same but costs ~0.5 ms a line,
# twice the glyphs themselves: the slice position's line changes at every step
_OUTLINE = 1  # pixels (outlined() takes the max over a 3x3 neighbourhood)
_MARGIN = _OUTLINE + 1
_SPACING = 6  # pixels between lines below the "A" box (Pillow's 4 + the stroke's 2 before)


def _left_block(text: str, size: int, color: tuple[int, ...]) -> np.ndarray | None:
    """A left-aligned block made of cached lines, pixel for pixel what :func:`_rasterize`
    draws for the whole block: Pillow draws line i at the block's origin + (0, i * line
    height), at whole pixels, so when the outlined lines do not touch (else None) pasting
    them is the same picture. A corner's block changes at every slice step (its position
    line): only the new lines are drawn."""
    font = _font(size)
    step = _line_height(font)
    lines = [_line(line, size, color) for line in text.split("\n")]
    boxes = [(b[0], b[1] + n * step, b[2], b[3] + n * step) for n, (_, b) in enumerate(lines)]
    gap = 2 * _OUTLINE + 1
    if any(math.ceil(b[3]) + gap > math.floor(c[1]) for b, c in itertools.pairwise(boxes)):
        return None  # tall accents or descenders come near the next line
    x0 = math.floor(min(b[0] for b in boxes))
    y0 = math.floor(min(b[1] for b in boxes))
    w = max(1, math.ceil(max(b[2] for b in boxes)) - x0 + 2 * _MARGIN)
    h = max(1, math.ceil(max(b[3] for b in boxes)) - y0 + 2 * _MARGIN)
    out = np.zeros((h, w, 4), dtype=np.uint8)
    for (rgba, box), (_, top, _, _) in zip(lines, boxes, strict=True):
        # the line alone was drawn with its box's floor at (_MARGIN, _MARGIN) of its image
        x = math.floor(box[0]) - x0
        y = math.floor(top) - y0
        lh, lw = rgba.shape[:2]
        region = out[y:y + lh, x:x + lw]
        np.maximum(region, rgba, out=region)  # the lines' inks never overlap (gap above)
    return out


@lru_cache(maxsize=8)
def _line_height(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    """Pillow's distance between lines of a multiline text (ImageDraw._multiline_spacing)."""
    return int(font.getbbox("A")[3]) + _SPACING


@lru_cache(maxsize=512)
def _line(line: str, size: int, color: tuple[int, ...]
          ) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """One line's RGBA (as :func:`_rasterize`) and its glyphs' box at the origin."""
    coverage, box = _line_coverage(line, _font(size))
    rgba = outlined(coverage, color)
    rgba.flags.writeable = False
    return rgba, box


def _line_coverage(line: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
                   ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One line's glyph coverage with its margins, and its box at the origin: Pillow's own
    mask of the line (what ImageDraw.text paints with it), without a second layout."""
    if not line:
        return np.zeros((2 * _MARGIN + 1, 2 * _MARGIN + 1), dtype=np.uint8), (0, 0, 0, 0)
    mask, (ox, oy) = font.getmask2(line, "L")
    w, h = mask.size
    coverage = np.zeros((h + 2 * _MARGIN, w + 2 * _MARGIN), dtype=np.uint8)
    if w and h:  # as an Image: numpy reads it through the array interface, not pixel by pixel
        coverage[_MARGIN:_MARGIN + h, _MARGIN:_MARGIN + w] = np.asarray(Image.Image()._new(mask))
    return coverage, (ox, oy, ox + w, oy + h)


def _rasterize(
    text: str, size: int, color: tuple[int, ...], align: str
) -> np.ndarray:
    font = _font(size)
    if "\n" not in text:
        return outlined(_line_coverage(text, font)[0], color)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = probe.multiline_textbbox((0, 0), text, font=font, spacing=_SPACING, align=align)
    x0, y0 = math.floor(box[0]), math.floor(box[1])
    w = max(1, math.ceil(box[2]) - x0 + 2 * _MARGIN)
    h = max(1, math.ceil(box[3]) - y0 + 2 * _MARGIN)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).multiline_text(
        (_MARGIN - x0, _MARGIN - y0), text, font=font, fill=255, spacing=_SPACING, align=align,
    )
    return outlined(np.asarray(mask), color)


def outlined(coverage: np.ndarray, color: tuple[int, ...]) -> np.ndarray:
    """RGBA of glyph ``coverage`` (0-255) in ``color`` over an opaque black outline: black
    where a glyph covers any pixel of the 3x3 neighbourhood, the colour blended over it
    by the coverage (as Pillow draws a filled stroke, then the text, on a clear image)."""
    h, w = coverage.shape
    padded = np.pad(coverage, _OUTLINE)
    rows = np.maximum(np.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])
    halo = np.maximum(np.maximum(rows[:-2], rows[1:-1]), rows[2:])  # 3x3, separably
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = _colour_ramp(tuple(int(c) for c in color[:3]))[coverage]
    a = halo.astype(np.int32)
    out[..., 3] = a + ((int(color[3]) - a) * coverage + 127) // 255
    return out


@lru_cache(maxsize=16)
def _colour_ramp(rgb: tuple[int, ...]) -> np.ndarray:
    """(256, 3) uint8: ``rgb`` at coverage 0..255 over black, rounded."""
    m = np.arange(256)[:, None]
    return ((np.asarray(rgb)[None, :] * m + 127) // 255).astype(np.uint8)


@dataclass
class _Texture:
    image: vtkImageData
    pixels: np.ndarray  # keeps the buffer VTK borrows alive
    width: int
    height: int


class TextureCache:
    """LRU cache of rasterised text blocks as vtkImageData (bottom-up rows, as VTK wants).

    Thread-safe: tool layers fill their labels while a frame is drawn, and frames of
    several windows are drawn at once (viewer.ui.vtk_host.render_together)."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int, tuple[int, ...], str], _Texture] = OrderedDict()
        self.misses = 0
        self._lock = threading.Lock()

    def get(self, text: str, size: int, color: tuple[int, int, int, int], align: str) -> _Texture:
        with self._lock:
            return self._get(text, size, color, align)

    def _get(self, text: str, size: int, color: tuple[int, int, int, int], align: str
             ) -> _Texture:
        key = (text, size, tuple(color), align)
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        self.misses += 1
        rgba = np.ascontiguousarray(rasterize_text(text, size, color, align)[::-1])
        h, w = rgba.shape[:2]
        image = vtkImageData()
        image.SetDimensions(w, h, 1)
        image.GetPointData().SetScalars(numpy_to_vtk(rgba.reshape(-1, 4), deep=False))
        tex = _Texture(image, rgba, w, h)
        self._items[key] = tex
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return tex


_SHARED_CACHE = TextureCache()


def new_text_actor() -> vtkTexturedActor2D:
    """A 2-D actor drawing a text image of :class:`TextureCache` (:func:`set_text_image`)
    texel for pixel, its bottom-left corner at its position (viewport pixels).

    One textured quad whose texture is uploaded only when the text changes:
    ``vtkImageMapper`` converts and re-uploads its image on every frame (measured on
    llvmpipe, ten corner-sized blocks: 5.6 ms a frame with it, 2.2 ms like this).
    """
    points = vtkPoints()
    points.SetNumberOfPoints(4)
    for n in range(4):
        points.SetPoint(n, 0.0, 0.0, 0.0)
    tcoords = vtkFloatArray()
    tcoords.SetNumberOfComponents(2)
    for uv in ((0, 0), (1, 0), (1, 1), (0, 1)):
        tcoords.InsertNextTuple2(*uv)
    quad = vtkCellArray()
    quad.InsertNextCell(4)
    for n in range(4):
        quad.InsertCellPoint(n)
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(quad)
    poly.GetPointData().SetTCoords(tcoords)
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    texture = vtkTexture()
    texture.InterpolateOff()
    texture.SetColorModeToDirectScalars()  # RGBA bytes as they are
    actor = vtkTexturedActor2D()
    actor.SetMapper(mapper)
    actor.SetTexture(texture)
    return actor


def set_text_image(actor: vtkTexturedActor2D, tex: _Texture) -> None:
    """Show ``tex`` (a :class:`TextureCache` entry) in an actor of :func:`new_text_actor`."""
    texture = actor.GetTexture()
    if texture.GetInput() is not tex.image:
        texture.SetInputData(tex.image)
    points = actor.GetMapper().GetInput().GetPoints()
    w, h = float(tex.width), float(tex.height)
    if points.GetPoint(2) != (w, h, 0.0):
        for n, (x, y) in enumerate(((0.0, 0.0), (w, 0.0), (w, h), (0.0, h))):
            points.SetPoint(n, x, y, 0.0)
        points.Modified()


def text_image(actor: vtkTexturedActor2D) -> vtkImageData | None:
    """The text image an actor of :func:`new_text_actor` shows (None before the first)."""
    return actor.GetTexture().GetInput()


@dataclass
class OverlayItem:
    anchor: str
    text: str
    color: tuple[int, int, int, int] = WHITE


def nice_length(max_mm: float) -> float:
    """Largest 1, 2 or 5 x 10^n mm not longer than ``max_mm``."""
    if max_mm <= 0:
        return 0.0
    exp = math.floor(math.log10(max_mm))
    for m in (5, 2, 1):
        if m * 10**exp <= max_mm:
            return float(m * 10**exp)
    return float(10 ** (exp - 1) * 5)


class OverlayLayer:
    """Text blocks anchored to the viewport's corners and edges, plus a scale bar."""

    margin = 6

    def __init__(self, renderer: vtkRenderer, font_size: int = 14) -> None:
        self.renderer = renderer
        self.font_size = font_size
        self.base_font_size = font_size
        self.scale = 1.0  # device pixels per logical pixel (HiDPI), see set_scale
        self.cache = _SHARED_CACHE
        self._actors: dict[str, vtkActor2D] = {}
        self._items: dict[str, OverlayItem] = {}
        self._size = (0, 0)
        self._bar_points = vtkPoints()
        self._bar_poly = vtkPolyData()
        self._bar_poly.SetPoints(self._bar_points)
        self._bar_poly.SetLines(vtkCellArray())
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(self._bar_poly)
        self._bar = vtkActor2D()
        self._bar.SetMapper(mapper)
        prop = self._bar.GetProperty()
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetLineWidth(2)
        self._bar.VisibilityOff()
        renderer.AddActor(self._bar)
        self._bar_key: tuple[float, int, int, str] | None = None
        self.visible = True

    def actors(self) -> list[vtkActor2D]:
        """Every 2-D actor of the overlay (text blocks and scale bar)."""
        return [*self._actors.values(), self._bar]

    def items(self) -> list[OverlayItem]:
        return list(self._items.values())

    def set_text(self, anchor: str, text: str, color: tuple[int, int, int, int] = WHITE) -> None:
        if anchor not in ANCHORS:
            raise ValueError(f"unknown overlay anchor {anchor!r}")
        item = OverlayItem(anchor, text, color)
        if self._items.get(anchor) == item:
            return
        self._items[anchor] = item
        actor = self._text_actor(anchor)
        if not text:
            actor.VisibilityOff()
            return
        centred = anchor in ("top", "bottom", "banner")
        align = "right" if "right" in anchor else ("center" if centred else "left")
        tex = self.cache.get(text, self.font_size, color, align)
        set_text_image(actor, tex)
        actor.SetVisibility(self.visible)
        self._place(anchor, actor, tex.width, tex.height)

    def _text_actor(self, key: str) -> vtkActor2D:
        actor = self._actors.get(key)
        if actor is None:
            actor = new_text_actor()
            self.renderer.AddViewProp(actor)
            self._actors[key] = actor
        return actor

    def set_scale(self, scale: float) -> None:
        """Device pixels per logical pixel (Qt's devicePixelRatio, 1.5 or 2 on HiDPI):
        text, margins and the scale bar are drawn that much larger in the device pixels
        the render window counts, so they keep their size on screen. Cheap when unchanged."""
        scale = max(float(scale), 0.5)
        if abs(scale - self.scale) < 1e-6:
            return
        self.scale = scale
        self.font_size = max(1, round(self.base_font_size * scale))
        self.margin = round(OverlayLayer.margin * scale)
        self._bar.GetProperty().SetLineWidth(2 * scale)
        self._bar_key = None  # the bar and its label are laid out again on the next frame
        items, self._items = self._items, {}
        for anchor, item in items.items():
            if anchor in ANCHORS:  # re-rasterised at the new size and placed again
                self.set_text(anchor, item.text, item.color)
            else:
                self._items[anchor] = item

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for anchor, actor in self._actors.items():
            actor.SetVisibility(visible and bool(self._items[anchor].text))
        if not visible:
            self._bar.VisibilityOff()

    def _place(self, anchor: str, actor: vtkActor2D, w: int, h: int) -> None:
        vw, vh = self._size
        m = self.margin
        x = {"left": m, "right": vw - w - m}.get(
            next((s for s in ("left", "right") if s in anchor), ""), (vw - w) // 2
        )
        y = {"bottom": m, "top": vh - h - m}.get(
            next((s for s in ("top", "bottom") if s in anchor), ""), (vh - h) // 2
        )
        if anchor == "banner":
            y = vh - h - m - self.font_size - round(8 * self.scale)
        actor.SetPosition(float(x), float(y))

    def layout(self, viewport_px: tuple[int, int]) -> None:
        """Place everything for a viewport of ``viewport_px`` (w, h) pixels (origin bottom-left)."""
        if viewport_px != self._size:
            self._size = viewport_px
            for anchor, actor in self._actors.items():
                input_image = text_image(actor)
                if input_image is not None and anchor in ANCHORS:
                    w, h, _ = input_image.GetDimensions()
                    self._place(anchor, actor, w, h)

    def set_scale_bar(self, mm_per_pixel: float, note: str = "") -> None:
        """A horizontal bar of a round length (<= a fifth of the width), bottom centre.

        It sits above the bottom orientation letter, its length written above it,
        followed by ``note`` (e.g. "at detector" for projection radiographs).
        """
        vw, vh = self._size
        if not self.visible or mm_per_pixel <= 0 or vw < 40:
            self._bar.VisibilityOff()
            self._free_text("scale", "", 0, 0)
            return
        key = (round(mm_per_pixel, 9), vw, vh, note)
        self._bar.VisibilityOn()
        if key == self._bar_key:
            return
        self._bar_key = key
        length_mm = nice_length(vw / 5 * mm_per_pixel)
        px = length_mm / mm_per_pixel
        x0, x1 = vw / 2 - px / 2, vw / 2 + px / 2
        k = self.scale
        y = self.margin + 2 * self.font_size + round(12 * k)
        tick = 4 * k
        pts = [(x0, y), (x1, y), (x0, y - tick), (x0, y + tick), (x1, y - tick), (x1, y + tick)]
        self._bar_points.Reset()
        lines = vtkCellArray()
        for n, (px_, py_) in enumerate(pts):
            self._bar_points.InsertNextPoint(px_, py_, 0.0)  # viewport pixels
            if n % 2 == 1:
                lines.InsertNextCell(2)
                lines.InsertCellPoint(n - 1)
                lines.InsertCellPoint(n)
        self._bar_poly.SetLines(lines)
        self._bar_points.Modified()
        self._bar_poly.Modified()
        self.scale_bar_mm = length_mm
        text = f"{length_mm:g} mm" + (f" {note}" if note else "")
        label = self.cache.get(text, self.font_size, WHITE, "left")
        self._free_text("scale", text, int(vw / 2 - label.width / 2), int(y + 5 * k))

    def _free_text(self, key: str, text: str, x: int, y: int) -> None:
        """A text block at a fixed pixel position (bottom-left corner at x, y)."""
        actor = self._text_actor(key)
        self._items[key] = OverlayItem(key, text)
        if not text:
            actor.VisibilityOff()
            return
        tex = self.cache.get(text, self.font_size, WHITE, "left")
        set_text_image(actor, tex)
        actor.SetPosition(float(x), float(y))
        actor.SetVisibility(self.visible)
