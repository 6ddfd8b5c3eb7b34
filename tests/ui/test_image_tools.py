"""Angle and elliptical ROI on a 2-D image viewport (a DX with non-square pixels), Xvfb.

Oracles: points placed with the view's own projection at known image
positions; the angle those make in mm with rows 0.2 mm and columns 0.1 mm apart
(45 degrees, where counting pixels would give 26.6); a constant region's value;
pi*a*b in mm²; the tool colour in the captured pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from viewer.dicom.image2d import ImageSeries
from viewer.ui.image_tools import ImageAngleTool, ImageEllipseTool

pytestmark = pytest.mark.gui


@pytest.fixture
def viewport(qtbot, qapp, tmp_path):
    from tests.dicom.projection import write_dx
    from viewer.ui.image_viewport import ImageViewport

    arr = np.full((120, 200), 1000, dtype=np.uint16)
    arr[:, 120:] = 3000
    path = write_dx(tmp_path / "dx.dcm", arr, PixelSpacing=[0.2, 0.1],
                    WindowCenter=2000, WindowWidth=4000)
    vp = ImageViewport()
    qtbot.addWidget(vp)
    vp.resize(400, 400)
    vp.show()
    qtbot.waitExposed(vp)
    vp.set_series(ImageSeries.from_paths([path]))
    vp.view.set_overlay_visible(False)
    yield vp
    vp.close_vtk()


def at(vp, column: float, row: float) -> QPoint:
    x, y = vp.view.to_display(column, row)
    r = vp.devicePixelRatioF()
    return QPoint(round(x / r), round(y / r))


def cyan_pixels(rgb: np.ndarray) -> int:
    r, g, b = (rgb[..., n].astype(int) for n in range(3))
    return int(((r < 160) & (g > 170) & (b > 200)).sum())


def test_angle_on_non_square_pixels_is_measured_in_mm(qtbot, viewport) -> None:
    tool = ImageAngleTool(viewport)
    tool.set_active(True)
    for c, r in ((100, 20), (20, 20), (100, 60)):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at(viewport, c, r))
    assert len(tool.angles) == 1
    assert tool.angles[0].degrees == pytest.approx(45.0, abs=1.0)  # not 26.6 (pixels)
    assert cyan_pixels(viewport.capture()) > 100
    assert tool.layer.label_texts == [tool.angles[0].label()]


def test_ellipse_on_a_radiograph_gives_region_statistics(qtbot, viewport) -> None:
    tool = ImageEllipseTool(viewport)
    tool.set_active(True)
    start, end = at(viewport, 20, 20), at(viewport, 100, 80)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, (start + end) / 2)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    (roi,) = tool.rois
    assert roi.a == pytest.approx(40.0, abs=1.0) and roi.b == pytest.approx(30.0, abs=1.0)
    s = roi.stats
    assert (s.mean, s.sd, s.min, s.max) == pytest.approx((1000.0, 0.0, 1000.0, 1000.0))
    assert s.area_unit == "mm²"
    assert s.area_mm2 == pytest.approx(np.pi * roi.a * 0.1 * roi.b * 0.2, rel=0.05)
    assert cyan_pixels(viewport.capture()) > 100
    # across the step at column 120: both values
    start, end = at(viewport, 100, 40), at(viewport, 140, 80)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    mixed = tool.rois[1].stats
    assert (mixed.min, mixed.max) == (1000.0, 3000.0)
    assert mixed.mean == pytest.approx(2000.0, rel=0.1)
