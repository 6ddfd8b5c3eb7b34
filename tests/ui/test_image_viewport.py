"""ImageViewport under Xvfb: radiographs, cine and colour in a real Qt window.

Pixels are read back from VTK (QWidget.grab() never holds them, PLATFORM.md)
and compared with ``pixels.to_display`` / the stored RGB (both checked against
dcmj2pnm in tests/dicom and tests/render).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.shared_data import shared
from tests.ui.station import station_window
from viewer.dicom.image2d import ImageSeries

CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"  # 440 x 440
US_CINE = "pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm"  # 600 x 430, 10 frames, 76 ms


@pytest.fixture
def viewport(qtbot, qapp):
    from viewer.ui.image_viewport import ImageViewport

    vp = ImageViewport()
    qtbot.addWidget(vp)
    yield vp
    vp.stop()
    vp.close_vtk()


def _show(qtbot, vp, relpath: str, size: tuple[int, int]) -> ImageSeries:
    series = ImageSeries.from_paths([shared(relpath)])
    vp.resize(*size)
    vp.show()
    qtbot.waitExposed(vp)
    vp.set_series(series)
    assert vp.device_size() == size  # Xvfb: device pixel ratio 1
    vp.view.set_overlay_visible(False)
    return series


def _wheel(vp, clicks: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * clicks),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)


def test_true_pixel_cr_on_screen_equals_the_display_pipeline(qtbot, viewport) -> None:
    series = _show(qtbot, viewport, CR_CHEST, (440, 440))
    qtbot.keyClick(viewport, Qt.Key.Key_T)
    assert viewport.view.true_pixel
    rgb = viewport.capture()
    np.testing.assert_array_equal(rgb[..., 0], series.display(0))  # MONOCHROME1, header W/L
    qtbot.keyClick(viewport, Qt.Key.Key_T)  # again: back to fit
    assert not viewport.view.true_pixel


def test_right_drag_changes_the_window_on_screen(qtbot, viewport) -> None:
    series = _show(qtbot, viewport, CR_CHEST, (440, 440))
    viewport.true_pixel()
    w0, c0 = viewport.view.width, viewport.view.center
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(viewport, QPoint(140, 120))
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=QPoint(140, 120))
    assert viewport.view.width == pytest.approx(w0 + 40 * w0 / 256)
    assert viewport.view.center == pytest.approx(c0 + 20 * w0 / 256)
    rgb = viewport.capture()
    want = series.display(0, window=(viewport.view.center, viewport.view.width))
    np.testing.assert_array_equal(rgb[..., 0], want)
    qtbot.keyClick(viewport, Qt.Key.Key_W)  # the header's window again
    assert (viewport.view.center, viewport.view.width) == (550.0, 1024.0)


def test_wheel_scrolls_the_frames_of_a_colour_cine(qtbot, viewport) -> None:
    series = _show(qtbot, viewport, US_CINE, (600, 430))
    viewport.true_pixel()
    seen = []
    viewport.frame_changed.connect(seen.append)
    _wheel(viewport, -3)  # towards the user: next frames
    assert viewport.frame == 3 and seen[-1] == 3
    np.testing.assert_array_equal(viewport.capture(), series.values(3))
    qtbot.keyClick(viewport, Qt.Key.Key_End)
    assert viewport.frame == 9
    _wheel(viewport, 2)
    assert viewport.frame == 7
    np.testing.assert_array_equal(viewport.capture(), series.values(7))


def test_cine_plays_at_the_header_frame_time(qtbot, viewport) -> None:
    _show(qtbot, viewport, US_CINE, (300, 215))
    ticks: list[float] = []
    viewport.frame_changed.connect(lambda n: ticks.append(time.monotonic()))
    qtbot.keyClick(viewport, Qt.Key.Key_Space)
    assert viewport.playing
    qtbot.waitUntil(lambda: len(ticks) >= 8, timeout=5000)
    qtbot.keyClick(viewport, Qt.Key.Key_Space)
    assert not viewport.playing
    intervals = np.diff(ticks[:8]) * 1000
    assert abs(float(np.median(intervals)) - 76.0) < 15, intervals  # Frame Time 76 ms
    # after a stall the cine starts again from now: never a burst faster than the header
    assert intervals.min() > 76.0 / 2 - 10, intervals
    assert viewport.frame == len(ticks) % 10


def test_ctrl_wheel_zooms_and_keys_rotate_with_the_letters(qtbot, viewport, tmp_path) -> None:
    from tests.dicom.projection import write_dx

    arr = np.full((40, 60), 1000, dtype=np.uint16)
    arr[0:8, 52:60] = 3000  # marker top right
    path = write_dx(tmp_path / "m.dcm", arr, PatientOrientation=["L", "F"],
                    WindowCenter=2000, WindowWidth=2001)
    viewport.resize(240, 240)
    viewport.show()
    qtbot.waitExposed(viewport)
    viewport.set_series(ImageSeries.from_paths([path]))
    viewport.view.set_overlay_visible(False)
    _wheel(viewport, 2, Qt.KeyboardModifier.ControlModifier)
    assert viewport.view.zoom == pytest.approx(1.21)
    qtbot.keyClick(viewport, Qt.Key.Key_F)
    qtbot.keyClick(viewport, Qt.Key.Key_R)
    assert viewport.view.edge_labels()["bottom"] == "L"
    rgb = viewport.capture()
    ys, xs = np.nonzero(rgb[..., 0] > 200)
    assert xs.mean() > 120 and ys.mean() > 120  # the top-right marker went bottom right
    qtbot.keyClick(viewport, Qt.Key.Key_H)
    ys, xs = np.nonzero(viewport.capture()[..., 0] > 200)
    assert xs.mean() < 120 and ys.mean() > 120
    assert viewport.view.edge_labels()["left"] == "H"


def test_header_windows_are_presets_with_digit_shortcuts(qtbot, viewport) -> None:
    from viewer.ui.models import WindowPreset

    _show(qtbot, viewport, CR_CHEST, (200, 200))
    site = WindowPreset("bone", "Bone", 300.0, 400.0, "5")
    viewport.set_series(viewport.series, presets=[site])
    assert viewport.presets[0].id == "header-1" and viewport.presets[0].shortcut == "1"
    qtbot.keyClick(viewport, Qt.Key.Key_5)
    assert (viewport.view.width, viewport.view.center) == (300.0, 400.0)
    qtbot.keyClick(viewport, Qt.Key.Key_1)
    assert (viewport.view.width, viewport.view.center) == (1024.0, 550.0)


def test_cursor_readout_gives_pixel_and_value(qtbot, viewport) -> None:
    series = _show(qtbot, viewport, CR_CHEST, (440, 440))
    viewport.true_pixel()
    got = []
    viewport.cursor_moved.connect(lambda where, value: got.append((where, value)))
    qtbot.mouseMove(viewport, QPoint(123, 45))
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    (col, row), value = got[-1]
    assert (col, row) == (123, 45)
    assert value == float(series.values(0)[45, 123])


def test_demographics_fill_the_top_left_corner(qtbot, viewport) -> None:
    from viewer.ui.models import Demographics

    series = ImageSeries.from_paths([shared(CR_CHEST)])
    viewport.resize(300, 300)
    viewport.show()
    qtbot.waitExposed(viewport)
    d = Demographics(patient_name="DOE^JANE", patient_id="X1", ins="123", ins_status="QUAL",
                     birth_date="19700102", sex="F", study_date="20260101")
    viewport.set_series(series, demographics=d)
    viewport.render_now()
    items = {i.anchor: i.text for i in viewport.view.overlay.items()}
    assert items["top-left"] == "DOE JANE\nX1\nINS 123 (QUAL)\n1970-01-02 F\n2026-01-01"
    assert items["right"] == "" and items["bottom-right"].startswith("W 1024  L 550")


def test_grid_shows_2d_series_in_an_image_viewport_and_volumes_again(qtbot, grid, phantom):
    """The viewport grid hosts an ImageSeries in an ImageViewport (1:1 pixels equal the
    display pipeline), keeps it across a layout change, and gives the cell back to a
    SliceViewport for a volume."""
    from viewer.ui.image_viewport import ImageViewport
    from viewer.ui.viewport import SliceViewport

    series = ImageSeries.from_paths([shared(CR_CHEST)])
    grid.show_volumes([(series, None)])
    ivp = grid.cells[0].child
    assert isinstance(ivp, ImageViewport) and ivp.series is series
    assert grid.active is grid.viewports[0] and grid.cells[0].spare is grid.viewports[0]
    ivp.view.set_overlay_visible(False)
    ivp.true_pixel()
    rgb = ivp.capture()
    x, y = ivp.view.to_display(0, 0)
    x0, y0 = int(x), int(y)
    np.testing.assert_array_equal(rgb[y0:y0 + 440, x0:x0 + 440, 0], series.display(0))
    grid.set_layout("1x2")
    kept = grid.cells[0].child
    assert isinstance(kept, ImageViewport) and kept.series is series
    grid.set_active(grid.viewports[0])
    grid.show_volumes([(phantom, None)])
    assert isinstance(grid.cells[0].child, SliceViewport)
    assert grid.viewports[0].model.volume is phantom
    for cell in grid.cells:  # the hidden image viewport's OpenGL context too
        if cell.spare is not None:
            cell.spare.close_vtk()


def test_main_window_opens_a_radiograph_in_an_image_viewport(qtbot, qapp, tmp_path) -> None:
    """open_path -> access gate -> a DX (no Image Position/Orientation) is not assembled
    into a volume but shown as a 2-D image, marker where the file puts it."""
    from tests.dicom.projection import write_dx
    from viewer.ui.image_viewport import ImageViewport

    folder = tmp_path / "dx"
    folder.mkdir()
    arr = np.full((40, 60), 1000, dtype=np.uint16)
    arr[0:8, 52:60] = 3000  # top right
    write_dx(folder / "dx.dcm", arr, PatientOrientation=["L", "F"], WindowCenter=2000,
             WindowWidth=2001)
    win = station_window(qtbot, (900, 700))
    try:
        with qtbot.waitSignal(win.images_shown, timeout=60000):
            win.open_path(folder)
        ivp = win.grid.cells[0].child
        assert isinstance(ivp, ImageViewport) and len(ivp.series) == 1
        assert ivp.view.edge_labels()["right"] == "L"
        ivp.view.set_overlay_visible(False)
        rgb = ivp.capture()
        ys, xs = np.nonzero(rgb[..., 0] > 200)
        h, w = rgb.shape[:2]
        assert xs.mean() > w / 2 and ys.mean() < h / 2
    finally:
        for cell in win.grid.cells:  # the hidden SliceViewport's OpenGL context too
            if cell.spare is not None:
                cell.spare.close_vtk()
        win.close()
