"""Overlay text blocks built from cached lines are Pillow's whole-block drawing, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest

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
