"""Overlay text: Pillow's glyphs in the text colour over a one-pixel black outline; blocks
built from cached lines are the whole-block drawing, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageDraw

from viewer.render import overlay

BLOCKS = [
    "Axial\nImage 12/600\nPosition H 12.5 mm\nThickness 0.6 mm",
    "PATIENT^NAME\nID 12345\n20260101",
    "Coronal\nPosition P 3.1 mm\nMIP 10 mm",
    "gjpq yÿ\nÉÀ Hg\nlast",  # descenders and accents close to the next line
    "gjpq yÿ\nÉÀ Hg\n\nlast",  # an empty line
    "x\n",
    "\nx",
    "Åj\ngÅ\nj_g\n|||",
]


@pytest.mark.parametrize("size", [7, 14, 21, 28])
@pytest.mark.parametrize("text", BLOCKS)
def test_a_left_block_is_pillows_whole_block(text: str, size: int) -> None:
    for color in (overlay.WHITE, overlay.YELLOW):
        whole = overlay._rasterize(text, size, color, "left")  # Pillow's multiline drawing
        fast = overlay.rasterize_text(text, size, color, "left")
        assert fast.shape == whole.shape
        assert np.array_equal(fast, whole)
        assert (fast[..., 3] > 0).sum() > 20  # some text was drawn


def test_only_the_changed_line_is_drawn_again() -> None:
    overlay._line.cache_clear()
    overlay.rasterize_text("Axial\nPosition H 1.0 mm\nThickness 1 mm", 14)
    before = overlay._line.cache_info()
    overlay.rasterize_text("Axial\nPosition H 2.0 mm\nThickness 1 mm", 14)
    after = overlay._line.cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 2


@pytest.mark.parametrize("text", ["Position H 12.5 mm", "Image 12/600", "gjpq yÿ"])
def test_a_line_is_pillows_glyphs_over_a_one_pixel_black_outline(text: str) -> None:
    rgba = overlay.rasterize_text(text, 14, overlay.YELLOW)
    # oracle: Pillow's own drawing of the glyphs, 2 px from the edges
    font = overlay._font(14)
    x0, y0, _, _ = font.getbbox(text)
    mask = Image.new("L", (rgba.shape[1], rgba.shape[0]), 0)
    ImageDraw.Draw(mask).text((2 - x0, 2 - y0), text, font=font, fill=255)
    glyphs = np.asarray(mask).astype(int)
    halo = sliding_window_view(np.pad(glyphs, 1), (3, 3)).max(axis=(-1, -2))
    np.testing.assert_array_equal(rgba[..., 3] > 0, halo > 0)  # outline: 1 px around the ink
    full = glyphs == 255
    assert full.sum() > 5
    assert (rgba[full][:, :3] == overlay.YELLOW[:3]).all()  # the text colour where fully inked
    edge = (halo == 255) & (glyphs == 0)
    assert edge.sum() > 5
    assert (rgba[edge] == (0, 0, 0, 255)).all()  # opaque black around it
