"""Angle and elliptical ROI tools in a real X window.

Oracles: points placed with the view's own projection at known LPS
positions (a right angle, a box of known size), a volume with known constant
regions, pi*a*b for the area, and the tool colour found in the captured pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.render.volumes import make_volume
from viewer.ui.roi_tools import AngleTool, EllipseTool

pytestmark = pytest.mark.gui

CENTER = np.array([0.0, 0.0, 0.0])


def regions(lps: np.ndarray) -> np.ndarray:
    return np.where(lps[:, 0] < 5.0, 100.0, 300.0)


def at(vp, lps) -> QPoint:
    x, y = vp.view.to_display(np.asarray(lps, float))
    r = vp.device_ratio()
    return QPoint(round(x / r), round(y / r))


def drag(qtbot, widget, button, start: QPoint, end: QPoint, steps: int = 5) -> None:
    qtbot.mousePress(widget, button, pos=start)
    for n in range(1, steps + 1):
        qtbot.mouseMove(widget, start + (end - start) * n / steps)
    qtbot.mouseRelease(widget, button, pos=end)


def cyan_pixels(rgb: np.ndarray) -> int:
    r, g, b = (rgb[..., n].astype(int) for n in range(3))
    return int(((r < 160) & (g > 170) & (b > 200)).sum())


@pytest.fixture
def vp(grid):
    volume = make_volume(regions, np.eye(3), (0.5, 0.5, 2.0), dims=(100, 100, 5),
                         center=tuple(CENTER), modality="CT", rescale_type="HU")
    v = grid.viewports[0]
    v.set_volume(volume)
    v.model.set_point(CENTER)
    v.view.set_overlay_visible(False)
    v.render_now()
    return v


def test_angle_tool_measures_a_right_angle_and_draws_it(qtbot, vp) -> None:
    tool = AngleTool(vp)
    tool.set_active(True)
    empty = cyan_pixels(vp.capture())
    a, vertex, b = CENTER + np.array([15, 0, 0]), CENTER, CENTER + np.array([0, -15, 0])
    for p in (a, vertex, b):
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=at(vp, p))
    assert len(tool.angles) == 1 and not tool.pending
    assert tool.angles[0].degrees == pytest.approx(90.0, abs=1.0)
    assert cyan_pixels(vp.capture()) > empty + 100
    assert tool.layer is not None and tool.layer.label_texts == [tool.angles[0].label()]
    # another slice: not drawn there
    vp.model.scroll(2)
    vp.render_now()
    assert tool.layer.label_texts == []


def test_ellipse_tool_gives_region_statistics_and_area(qtbot, vp) -> None:
    tool = EllipseTool(vp)
    tool.set_active(True)
    # a 12 x 12 mm box in region 100
    p1, p2 = CENTER + np.array([-15, -6, 0]), CENTER + np.array([-3, 6, 0])
    drag(qtbot, vp, Qt.MouseButton.LeftButton, at(vp, p1), at(vp, p2))
    assert len(tool.rois) == 1
    roi, stats = tool.rois[0].roi, tool.rois[0].stats
    assert roi.a == pytest.approx(6.0, abs=0.2) and roi.b == pytest.approx(6.0, abs=0.2)
    assert (stats.mean, stats.sd, stats.min, stats.max) == pytest.approx((100, 0, 100, 100))
    assert stats.area_mm2 == pytest.approx(np.pi * roi.a * roi.b, rel=0.05)
    assert cyan_pixels(vp.capture()) > 100
    assert "Mean 100.0 HU" in tool.layer.label_texts[0]
    # across the boundary at x = 5 mm: both regions
    drag(qtbot, vp, Qt.MouseButton.LeftButton, at(vp, CENTER + np.array([0, -5, 0])),
         at(vp, CENTER + np.array([10, 5, 0])))
    mixed = tool.rois[1].stats
    assert (mixed.min, mixed.max) == (100.0, 300.0) and 150 < mixed.mean < 250
    # right-drag still changes window/level: the tool takes only the left button
    width = vp.model.width
    drag(qtbot, vp, Qt.MouseButton.RightButton, QPoint(100, 100), QPoint(160, 100))
    assert vp.model.width != width and len(tool.rois) == 2
