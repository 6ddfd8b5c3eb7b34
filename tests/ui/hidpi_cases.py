"""pytest-qt cases of the reading station on a scaled screen, run by test_hidpi.py.

Not collected by the main session (no ``test_`` prefix): Qt reads ``QT_SCALE_FACTOR``
when the QApplication is made, so the parent runs this file in a child pytest with
``QT_SCALE_FACTOR=2`` or ``1.5`` (its own Xvfb, tests/ui/conftest.py). Every size
checked is in PHYSICAL (device) pixels: Qt's logical size times the device pixel
ratio; pixels are read back from VTK.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.shared_data import shared
from tests.ui.conftest import phantom_volume
from viewer.dicom.image2d import ImageSeries
from viewer.render.overlay import rasterize_text, text_image

pytestmark = pytest.mark.gui

RATIO = float(os.environ.get("QT_SCALE_FACTOR", "1"))
CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"  # 440 x 440
SIDE = 340  # logical pixels: 680 physical at 2, 510 at 1.5 (the CR fits 1:1 in both)


def physical(n: int) -> int:
    return round(n * RATIO)


def locate(screen: np.ndarray, block: np.ndarray, slack: int = 3) -> tuple[int, int] | None:
    """Top-left (x, y) where ``block`` appears exactly in ``screen``, near the centre."""
    h, w = block.shape[:2]
    cy, cx = (screen.shape[0] - h) // 2, (screen.shape[1] - w) // 2
    for y in range(max(cy - slack, 0), cy + slack + 1):
        for x in range(max(cx - slack, 0), cx + slack + 1):
            if np.array_equal(screen[y:y + h, x:x + w], block):
                return x, y
    return None


def test_qt_runs_at_the_scale_factor(qapp) -> None:
    assert RATIO > 1
    assert qapp.devicePixelRatio() == pytest.approx(RATIO)


def test_true_pixel_shows_each_image_pixel_on_one_physical_pixel(qtbot, qapp) -> None:
    from viewer.ui.image_viewport import ImageViewport

    vp = ImageViewport()
    qtbot.addWidget(vp)
    vp.resize(SIDE, SIDE)
    vp.show()
    qtbot.waitExposed(vp)
    series = ImageSeries.from_paths([shared(CR_CHEST)])
    vp.set_series(series)
    vp.view.set_overlay_visible(False)
    assert vp.device_ratio() == pytest.approx(RATIO)
    assert vp.device_size() == (physical(SIDE), physical(SIDE))
    qtbot.keyClick(vp, Qt.Key.Key_T)
    assert vp.view.true_pixel
    rgb = vp.capture()
    assert rgb.shape[:2] == (physical(SIDE), physical(SIDE))
    # the whole 440 x 440 radiograph, pixel for pixel, in the middle of the window
    assert locate(rgb[..., 0], series.display(0)) is not None
    vp.stop()
    vp.hide()  # no frame after the OpenGL context is released
    vp.close_vtk()


def test_true_size_slice_view_maps_one_voxel_to_one_physical_pixel(qtbot, grid) -> None:
    volume = phantom_volume()
    grid.set_layout("1x1")
    vp = grid.viewports[0]
    vp.set_volume(volume)
    vp.view.set_overlay_visible(False)
    vp.model.set_true_size(True)
    rgb = vp.capture()
    assert rgb.shape[:2] == (vp.device_size()[1], vp.device_size()[0])
    assert vp.device_size() == (physical(vp.width()), physical(vp.height()))
    k = vp.model.slice_index()
    body = np.flatnonzero(volume.array[k, volume.dims[1] // 2] > -500)  # voxels in the body
    row = rgb[rgb.shape[0] // 2, :, 0]
    shown = np.flatnonzero(row > 30)
    assert abs((shown.max() - shown.min()) - (body.max() - body.min())) <= 1


def _text_boxes(view) -> dict[str, tuple[float, float, int, int]]:
    """(x, y, width, height) in device pixels of each overlay text block shown."""
    out = {}
    for anchor, actor in view.overlay._actors.items():
        image = text_image(actor)
        if not actor.GetVisibility() or image is None:
            continue
        w, h, _ = image.GetDimensions()
        x, y = actor.GetPosition()
        out[anchor] = (x, y, w, h)
    return out


def test_overlay_text_keeps_its_size_on_screen_and_stays_inside(qtbot, grid) -> None:
    grid.set_layout("2x2")
    vp = grid.viewports[0]
    vp.set_volume(phantom_volume())
    vp.render_now()
    view = vp.view
    assert view.overlay.font_size == round(14 * RATIO)
    boxes = _text_boxes(view)
    assert {"top-left", "top-right", "bottom-left", "bottom-right", "left", "right", "top",
            "bottom", "scale"} <= set(boxes)
    vw, vh = vp.device_size()
    letter = rasterize_text("A", 14).shape[0]  # the top letter's height at scale 1
    for anchor, (x, y, w, h) in boxes.items():
        assert x >= 0 and y >= 0 and x + w <= vw and y + h <= vh, (anchor, boxes[anchor])
    # "A" as large on screen: its glyph scales (3 px of padding and outline do not)
    assert boxes["top"][3] >= math.floor((letter - 3) * RATIO)
    # the letters are really drawn there, in white over the black background
    rgb = vp.capture()
    x, y, w, h = boxes["top-right"]
    top = vh - (y + h)  # VTK's origin is bottom-left
    patch = rgb[int(top):int(top + h), int(x):int(x + w)]
    assert (patch > 200).all(axis=-1).sum() > 20 * RATIO
    assert not (rgb[:, -2:] > 200).all(axis=-1).any()  # nothing white on the right edge


def test_grid_screenshot_has_physical_size(qtbot, grid) -> None:
    grid.set_layout("mpr")
    grid.set_layout("1x1")  # after a bigger layout, the one cell fills the grid
    grid.viewports[0].set_volume(phantom_volume())
    grid.render_all()
    shot = grid.capture()
    assert shot.shape[:2] == (physical(grid.height()), physical(grid.width()))
    cell = grid.cells[0]
    assert (cell.width(), cell.height()) == (grid.width(), grid.height())
