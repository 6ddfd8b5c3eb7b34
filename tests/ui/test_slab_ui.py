"""Thick slab (MIP / MinIP / mean) from the toolbar: pixels as numpy's max over the slab.

Oracle: a volume with a thin bright oblique vessel (one voxel per slice, moving one
column per slice). A thin slice shows one bright voxel of it; an 8 mm MIP slab shows
the 9 voxels of slices k-4..k+4 (numpy ``max`` over those slices); MinIP shows none.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.station import station_window
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume

pytestmark = pytest.mark.gui

K = 20  # the slice shown


def vessel_volume() -> Volume:
    array = np.zeros((40, 65, 65), dtype=np.int16)
    array[...] = -100
    for k in range(40):
        array[k, 32, 10 + k] = 1000  # thin bright oblique structure
    geometry = Geometry((65, 65, 40), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    return Volume(array, geometry, series_uid="1.2.9", modality="CT", window=(40.0, 400.0),
                  rescale_type="HU", frame_of_reference_uid="1.2.9.1")


@pytest.fixture
def window(qtbot, qapp):
    win = station_window(qtbot, (900, 700))
    yield win
    win.close()


def bright(rgb: np.ndarray) -> int:
    """Bright pixels in the middle third of the view (the corner texts lie outside it);
    the background (-100 HU at W 400 L 40) is dark grey, the vessel (1000 HU) white,
    blurred by the display's linear interpolation."""
    h, w = rgb.shape[:2]
    centre = rgb[h // 3:2 * h // 3, w // 3:2 * w // 3]
    return int(np.all(centre >= 128, axis=-1).sum())


def test_mip_slab_from_toolbar_matches_numpy_max(qtbot, window) -> None:
    vol = vessel_volume()
    window.grid.show_volume(vol)
    vp = window.grid.active
    vp.model.set_slice(K)
    thin_values = vp.view.slice_array()
    thin_px = bright(vp.capture())
    np.testing.assert_array_equal(np.sort(np.unique(thin_values)), [-100, 1000])
    assert (thin_values == 1000).sum() == 1

    window.slab.set("mip", 8.0)
    assert vp.model.slab_mm == 8.0 and vp.model.slab_mode == "mip"
    mip = vp.view.slice_array()
    oracle = vol.array[K - 4:K + 5].max(axis=0)
    assert mip.shape == oracle.shape
    np.testing.assert_array_equal(mip, oracle)
    mip_px = bright(vp.capture())
    assert thin_px > 0
    assert mip_px > 6 * thin_px  # the vessel's 9 voxels instead of 1, on screen

    window.slab.set("minip", 8.0)
    np.testing.assert_array_equal(vp.view.slice_array(), vol.array[K - 4:K + 5].min(axis=0))
    assert bright(vp.capture()) == 0

    window.slab.set("mean", 8.0)
    np.testing.assert_allclose(vp.view.slice_array(),
                               vol.array[K - 4:K + 5].astype(float).mean(axis=0), atol=1.0)

    window.slab.set("", 8.0)  # thin again
    np.testing.assert_array_equal(vp.view.slice_array(), thin_values)


def test_slab_shortcut_cycles_and_applies_to_the_mpr_planes(qtbot, window) -> None:
    window.set_layout("mpr")
    window.grid.show_volume(vessel_volume())
    qtbot.waitUntil(lambda: all(vp.view is not None for vp in window.grid.viewports))
    assert window.slab.mode() == ""
    keys = {a.shortcut().toString(): a for a in window.actions() if not a.shortcut().isEmpty()}
    keys["B"].trigger()  # thin -> MIP (window activation is unreliable under Xvfb)
    assert window.slab.mode() == "mip"
    for vp in window.grid.viewports:
        assert vp.model.slab_mode == "mip" and vp.model.slab_mm == pytest.approx(10.0)
        assert vp.view.slab_mm == pytest.approx(10.0)
    shot = window.grid.viewports[0].capture()
    assert shot.max() > 0
    keys["B"].trigger()  # MIP -> MinIP
    assert all(vp.view.slab_mode == "minip" for vp in window.grid.viewports)


def test_drag_uses_cheap_frames_in_all_mpr_planes_and_full_quality_on_release(
        qtbot, window) -> None:
    from PySide6.QtCore import QPoint, Qt

    from viewer.render.slice_view import INTERACTIVE_SLAB_SAMPLES

    window.set_layout("mpr")
    window.grid.show_volume(vessel_volume())
    window.slab.set("mip", 30.0)
    planes = window.grid.viewports
    full = planes[1].view.reslice.GetSlabNumberOfSlices()
    assert full > INTERACTIVE_SLAB_SAMPLES
    axial = planes[0]
    centre = QPoint(axial.width() // 2, axial.height() // 2)
    qtbot.mousePress(axial, Qt.MouseButton.LeftButton, pos=centre)
    for vp in planes:  # a crosshair drag re-slices every plane: all cheap meanwhile
        assert vp.view.interacting
        assert vp.view.reslice.GetInterpolationMode() == 0  # VTK_RESLICE_NEAREST
        assert vp.view.reslice.GetSlabNumberOfSlices() == INTERACTIVE_SLAB_SAMPLES
    qtbot.mouseMove(axial, centre + QPoint(20, 10))
    cheap = planes[1].view.slice_array()
    qtbot.mouseRelease(axial, Qt.MouseButton.LeftButton, pos=centre + QPoint(20, 10))
    for vp in planes:
        assert not vp.view.interacting
        assert vp.view.reslice.GetSlabNumberOfSlices() == full
    assert planes[1].view.slice_array().shape == cheap.shape


def test_wheel_scrolling_stays_at_full_quality(qtbot, window) -> None:
    # stack scrolling is reading: no nearest resampling, thinned slab or reduced frame
    # (those are for drags); Ctrl+wheel zooming may use them
    window.grid.show_volume(vessel_volume())
    vp = window.grid.active
    qtbot.mouseMove(vp)
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent

    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    window.grid.set_slab(10.0, "mip")
    before = vp.model.slice_index()
    vp.wheelEvent(event)
    assert vp.model.slice_index() == before + 1
    assert not vp.view.interacting and vp.view.image.linear
    vp.render_now()
    scrolled = vp.view.slice_array().copy()
    vp.set_interacting(True)
    vp.set_interacting(False)  # what a settled drag renders: full quality
    vp.render_now()
    assert np.array_equal(vp.view.slice_array(), scrolled)
    zoom = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                       Qt.ScrollPhase.NoScrollPhase, False)
    vp.wheelEvent(zoom)
    assert vp.view.interacting
    qtbot.waitUntil(lambda: not vp.view.interacting, timeout=2000)


def test_scrolling_one_viewport_re_renders_only_the_views_that_changed(qtbot, window) -> None:
    window.set_layout("1x2")
    vol = vessel_volume()
    window.grid.show_volumes([(vol, None), (vol, None)])  # two axial views: no cut lines
    left, right = window.grid.viewports
    qtbot.waitUntil(lambda: left.frames > 0 and right.frames > 0)
    frames = right.frames
    for _ in range(5):
        left.model.scroll(1)
        qtbot.wait(5)
    qtbot.waitUntil(lambda: not left._dirty)
    assert right.frames == frames  # parallel planes: its reference lines did not move
    right.model.set_plane("coronal")  # now they cut each other: both redraw lines
    qtbot.waitUntil(lambda: not right._dirty and not left._dirty)
    frames = right.frames
    left.model.scroll(1)
    qtbot.waitUntil(lambda: right.frames > frames)  # the axial line moved in the coronal
