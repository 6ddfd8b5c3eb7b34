"""The 2-D viewport in a real X window: scroll, window/level, presets, zoom, invert, distance.

Oracles are independent of the rendering code: pixel values from the PS3.3
C.11.2.1.2 linear VOI formula written here, positions of bright markers
found in the captured pixels, and distances from the voxel grid.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import bright_centroid, phantom_volume
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume

pytestmark = pytest.mark.gui


def wheel(widget, steps: int) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def drag(qtbot, widget, button, start: QPoint, end: QPoint, steps: int = 5) -> None:
    qtbot.mousePress(widget, button, pos=start)
    for n in range(1, steps + 1):
        p = start + (end - start) * n / steps
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, button, pos=end)


def voi(x: float, c: float, w: float) -> float:
    """PS3.3 C.11.2.1.2.1 linear VOI to 0..255."""
    lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    if x <= lo:
        return 0.0
    if x > hi:
        return 255.0
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0


def test_wheel_scroll_moves_one_slice_per_notch_and_changes_the_image(grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    vp.render_now()
    first = vp.model.slice_index()
    before = vp.capture()
    wheel(vp, -1)  # wheel towards the user: next image
    assert vp.model.slice_index() == first + 1
    wheel(vp, -3)
    assert vp.model.slice_index() == first + 4
    wheel(vp, 2)
    assert vp.model.slice_index() == first + 2
    after = vp.capture()
    # the slice really moved: the rendered image differs inside the body
    assert np.abs(after.astype(int) - before.astype(int)).sum() > 0
    # and the point moved along z by two slice spacings (acquisition plane, 4 mm slices)
    assert vp.model.point[2] == pytest.approx(phantom.geometry.center[2] + 2 * 4.0, abs=2.0)


def test_scroll_stops_at_the_ends_of_the_stack(grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    for _ in range(30):
        wheel(vp, -3)
    assert vp.model.slice_index() == phantom.dims[2] - 1
    for _ in range(30):
        wheel(vp, 3)
    assert vp.model.slice_index() == 0


def test_right_drag_changes_window_and_level_and_the_pixels(qtbot, grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    before = vp.capture()
    w0, c0 = vp.model.width, vp.model.center
    mid = QPoint(vp.width() // 2, vp.height() // 2)
    drag(qtbot, vp, Qt.MouseButton.RightButton, mid, mid + QPoint(60, 40))
    assert vp.model.width > w0  # right: wider
    assert vp.model.center > c0  # down: higher level
    after = vp.capture()
    assert np.abs(after.astype(int) - before.astype(int)).mean() > 1.0


def test_preset_sets_the_window_and_the_rendered_grey_follows_the_voi(grid) -> None:
    # a uniform 40 HU block: every image pixel is 40 HU
    a = np.full((5, 64, 64), 40, dtype=np.int16)
    g = Geometry((64, 64, 5), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    vp = grid.viewports[0]
    vp.set_volume(Volume(a, g, modality="CT"))
    from viewer.ui.models import load_presets

    lung = next(p for p in load_presets()["CT"] if p.id == "lung")
    vp.model.apply_preset(lung)
    assert (vp.model.width, vp.model.center) == (1500, -600)
    vp.view.set_overlay_visible(False)
    rgb = vp.capture()
    centre = rgb[rgb.shape[0] // 2, rgb.shape[1] // 2].astype(float)
    assert centre == pytest.approx([voi(40, -600, 1500)] * 3, abs=2.0)
    brain = next(p for p in load_presets()["CT"] if p.id == "brain")
    vp.model.apply_preset(brain)
    rgb = vp.capture()
    centre = rgb[rgb.shape[0] // 2, rgb.shape[1] // 2].astype(float)
    assert centre == pytest.approx([voi(40, 40, 80)] * 3, abs=2.0)


def test_invert_reverses_the_grey_scale(grid) -> None:
    a = np.full((3, 32, 32), 100, dtype=np.int16)
    g = Geometry((32, 32, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    vp = grid.viewports[0]
    vp.set_volume(Volume(a, g, modality="CT"))
    vp.model.set_window(150, 200)  # 100 -> (100-149.5)/199+0.5 -> ~63
    vp.view.set_overlay_visible(False)
    plain = vp.capture()[100, 100].astype(float)
    vp.model.set_invert(True)
    inverted = vp.capture()[100, 100].astype(float)
    assert plain[0] == pytest.approx(voi(100, 150, 200), abs=2)
    assert inverted[0] == pytest.approx(255 - plain[0], abs=2)


def _two_dots() -> Volume:
    """Two bright voxels 60 columns apart on row 32 of a 0.5 mm grid: 30.0 mm apart."""
    a = np.zeros((3, 64, 100), dtype=np.int16)
    a[:, 31:34, 19:22] = 1000
    a[:, 31:34, 79:82] = 1000
    g = Geometry((100, 64, 3), (0.5, 0.5, 2.0), np.array([10.0, -20.0, 5.0]), np.eye(3))
    return Volume(a, g, modality="CT")


def test_distance_measurement_reads_the_known_spacing_in_mm(qtbot, grid) -> None:
    vol = _two_dots()
    vp = grid.viewports[0]
    vp.set_volume(vol)
    vp.model.set_window(500, 10)
    vp.view.set_overlay_visible(False)
    rgb = vp.capture()
    half = rgb.shape[1] // 2
    left = bright_centroid(rgb[:, :half])
    right = bright_centroid(rgb[:, half:])
    assert left is not None and right is not None
    ratio = vp.device_ratio()
    p1 = QPoint(round(left[0] / ratio), round(left[1] / ratio))
    p2 = QPoint(round((right[0] + half) / ratio), round(right[1] / ratio))
    vp.model.set_tool("distance")
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p1)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p2)
    assert len(vp.model.measurements) == 1
    length = vp.model.measurements[0].length_mm
    # 30 mm between the dot centres; one screen pixel of slack at this zoom
    assert length == pytest.approx(30.0, abs=vp.view.mm_per_pixel() * 1.5)
    vp.render_now()
    assert vp.measure_layer.label_texts == [f"{length:.1f} mm"]


def test_zoom_and_pan_change_the_view_and_fit_restores_it(qtbot, grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    vp.view.set_overlay_visible(False)
    fitted = vp.capture()
    vp.model.zoom_by(2.0)
    zoomed = vp.capture()
    assert vp.view.mm_per_pixel() == pytest.approx(vp.view.fit_scale() * 2 / 2.0
                                                   / vp.device_size()[1])
    mid = QPoint(vp.width() // 2, vp.height() // 2)
    drag(qtbot, vp, Qt.MouseButton.MiddleButton, mid, mid + QPoint(50, 0))
    assert vp.model.pan[0] < 0  # dragging right moves the view centre left
    vp.model.fit()
    again = vp.capture()
    assert np.abs(zoomed.astype(int) - fitted.astype(int)).mean() > 1.0
    assert np.array_equal(again, fitted)


def test_true_size_shows_one_image_pixel_per_screen_pixel(grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    vp.model.set_true_size(True)
    vp.render_now()
    assert vp.view.mm_per_pixel() == pytest.approx(phantom.geometry.spacing[0], rel=1e-6)


def test_a_real_dicom_series_through_the_phantom_volume_shows_orientation(grid) -> None:
    vol = phantom_volume()
    vp = grid.viewports[0]
    vp.set_volume(vol)
    vp.model.set_window(1900, 1000)  # only the 2500 HU bead is white
    vp.model.set_slice(round(0.9 * (vol.dims[2] - 1)))
    vp.view.set_overlay_visible(False)
    rgb = vp.capture()
    bead = bright_centroid(rgb)
    assert bead is not None
    h, w = rgb.shape[:2]
    assert bead[0] > w / 2  # patient left on the image right (radiological convention)
    assert bead[1] < h / 2  # anterior at the top


def _ct(direction: np.ndarray, dims=(64, 64, 32), for_uid: str = "1.2.3.4") -> Volume:
    i, j, k = dims
    a = np.full((k, j, i), 40, dtype=np.int16)
    g = Geometry(dims, (1.0, 1.0, 1.0), np.array([-32.0, -32.0, -16.0]), direction)
    return Volume(a, g, modality="CT", frame_of_reference_uid=for_uid)


def test_cine_loops_through_the_stack(grid, phantom) -> None:
    vp = grid.viewports[0]
    vp.set_volume(phantom)
    last = phantom.dims[2] - 1
    vp.model.set_slice(last - 1)
    vp.model.cine_step()
    assert vp.model.slice_index() == last
    vp.model.cine_step()
    assert vp.model.slice_index() == 0


def test_synchronised_scrolling_keeps_the_offset_between_two_series(grid) -> None:
    grid.set_layout("1x2")
    a, b = grid.viewports
    axial = np.eye(3)
    a.set_volume(_ct(axial))
    b.set_volume(_ct(axial, for_uid="9.9"))  # a prior: another frame of reference
    b.model.scroll(3)
    grid.set_active(a)
    grid.set_sync(True)
    z_a, z_b = a.model.point[2], b.model.point[2]
    wheel(a, -2)  # two images forward in the leader
    assert a.model.point[2] - z_a == pytest.approx(b.model.point[2] - z_b)
    assert abs(a.model.point[2] - z_a) == pytest.approx(2.0)
    grid.set_sync(False)
    wheel(a, -1)
    assert b.model.point[2] - z_b == pytest.approx(2.0)  # no longer follows


def test_reference_lines_show_where_the_other_viewport_cuts(grid) -> None:
    grid.set_layout("1x2")
    a, b = grid.viewports
    # a coronal series of the same frame of reference: rows along x, columns down (-z)
    coronal = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
    a.set_volume(_ct(np.eye(3)))
    b.set_volume(_ct(coronal))
    b.model.set_point((0.0, 10.0, 0.0))  # the coronal slice at y = +10 mm (posterior)
    for vp in (a, b):
        vp.view.set_overlay_visible(False)
    rgb = a.capture().astype(int)
    yellow = (np.abs(rgb[..., 0] - 240) < 30) & (np.abs(rgb[..., 1] - 200) < 30) & (
        rgb[..., 2] < 110)
    rows = np.nonzero(yellow.sum(axis=1) > rgb.shape[1] * 0.5)[0]
    assert rows.size > 0, "no reference line in the axial view"
    # y = +10 mm is posterior: below the centre of the axial view, at 10 mm / mm-per-pixel
    expected = rgb.shape[0] / 2 + 10.0 / a.view.mm_per_pixel()
    assert abs(rows.mean() - expected) < 3
    # another frame of reference: no line
    b.model.volume.frame_of_reference_uid = "other"
    grid.update_reference_lines()
    rgb = a.capture().astype(int)
    yellow = (np.abs(rgb[..., 0] - 240) < 30) & (np.abs(rgb[..., 1] - 200) < 30) & (
        rgb[..., 2] < 110)
    assert not (yellow.sum(axis=1) > rgb.shape[1] * 0.5).any()


def test_flip_shows_the_bead_on_the_other_side(grid) -> None:
    vol = phantom_volume()
    vp = grid.viewports[0]
    vp.set_volume(vol)
    vp.model.set_window(1900, 1000)
    vp.model.set_slice(round(0.9 * (vol.dims[2] - 1)))
    vp.view.set_overlay_visible(False)
    x0, _ = bright_centroid(vp.capture())
    vp.model.flip(horizontal=True)
    x1, _ = bright_centroid(vp.capture())
    w = vp.device_size()[0]
    assert x0 > w / 2 > x1
    assert vp.view.plane.edge_labels()["left"] == "L"
