"""The MPR layout's 3-D cell: presets from its context menu; shaded presets' gradients
prepared on a worker thread (the window stays responsive, the final picture equals a direct
one, MIP or another volume cancels); rotation by left-drag at reduced resolution while
dragging and full resolution on release (pixels compared)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from viewer.render.volume_rendering import FULL_STEP

pytestmark = pytest.mark.gui


@pytest.fixture
def view3d(grid, phantom):
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    v = grid.view3d
    assert v is not None and v.scene is not None
    return v


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_preset_from_the_context_menu_changes_the_picture(view3d) -> None:
    names = [a.data() for a in view3d.preset_menu.actions()]
    assert {"ct-bone", "ct-soft-tissue", "ct-lung", "mip", "mr-default"} <= set(names)
    view3d.set_preset("ct-bone")
    bone = view3d.capture()
    assert bone.max() > 50  # something is drawn
    act = next(a for a in view3d.preset_menu.actions() if a.data() == "mip")
    act.trigger()  # as a click in the context menu does
    assert view3d.scene.preset == "mip" and act.isChecked()
    mip = view3d.capture()
    assert diff(bone, mip) > 2.0
    view3d.set_preset("ct-soft-tissue")
    assert diff(view3d.capture(), mip) > 2.0


def test_left_drag_rotates_at_reduced_resolution_then_full_on_release(qtbot, view3d) -> None:
    mapper = view3d.scene.mapper
    view3d.set_preset("mip")  # the phantom's soft tissue fills the picture in MIP
    full = view3d.capture()
    assert full.mean() > 10
    # the first picture is a reduced one (no second-long stall while the study opens)
    assert view3d.scene.interacting and mapper.GetImageSampleDistance() > 1.0
    centre = QPoint(view3d.width() // 2, view3d.height() // 2)
    qtbot.mousePress(view3d, Qt.MouseButton.LeftButton, pos=centre)
    assert view3d.scene.interacting
    qtbot.mouseMove(view3d, centre + QPoint(0, 80))
    # fewer rays, one sample a voxel, nearest voxels (MIP) while dragging
    assert mapper.GetImageSampleDistance() >= 2.0
    assert mapper.GetSampleDistance() > FULL_STEP
    assert view3d.scene.property.GetInterpolationTypeAsString() == "Nearest Neighbor"
    during = view3d.capture()
    assert diff(during, full) > 2.0  # it turned (the phantom is a cylinder: tilt it)
    qtbot.mouseRelease(view3d, Qt.MouseButton.LeftButton, pos=centre + QPoint(0, 80))
    assert not view3d.scene.interacting and mapper.GetImageSampleDistance() == 1.0
    assert mapper.GetSampleDistance() == FULL_STEP
    assert view3d.scene.property.GetInterpolationTypeAsString() == "Linear"
    after = view3d.capture()  # same camera, full resolution: finer than the drag frame
    assert diff(after, during) > 0.2
    assert diff(after, full) > 2.0
    assert after.mean() > 10  # the phantom's soft tissue, full quality


def test_overview_of_a_big_volume_keeps_its_patient_geometry(monkeypatch, phantom) -> None:
    from viewer.ui import grid as grid_module

    assert grid_module.overview_volume(phantom) is phantom  # small: as it is
    monkeypatch.setattr(grid_module, "OVERVIEW_VOXELS", 1000)
    small = grid_module.overview_volume(phantom)
    assert small.array.shape == (phantom.array.shape[0], 64, 64)
    for i, j, k in ((0, 0, 0), (10, 20, 5), (63, 63, 39)):
        np.testing.assert_allclose(small.geometry.affine @ [i, j, k, 1],
                                   phantom.geometry.affine @ [2 * i, 2 * j, k, 1])
        assert small.array[k, j, i] == phantom.array[k, 2 * j, 2 * i]


# ------------------------------------------------- shaded presets: gradients off the UI thread
def ct_block_volume(nz: int = 240, n: int = 256):
    """A CT-like volume big enough for a gradient pass of a good fraction of a second:
    a soft-tissue ellipse with a bone-dense slab crossing it."""
    from viewer.dicom.geometry import Geometry
    from viewer.dicom.volume import Volume

    y, x = np.mgrid[0:n, 0:n]
    body = (((x - n / 2) / (0.42 * n)) ** 2 + ((y - n / 2) / (0.35 * n)) ** 2) <= 1
    array = np.empty((nz, n, n), dtype=np.int16)
    noise = np.random.default_rng(1).integers(-20, 20, size=(4, n, n), dtype=np.int16)
    for k in range(nz):
        array[k] = np.where(body, 40, -1000).astype(np.int16) + noise[k % 4]
        array[k, n // 2 - 15:n // 2 + 15, n // 4 + k % 60:n // 4 + k % 60 + 40] = 900
    geometry = Geometry((n, n, nz), (1.0, 1.0, 1.0), np.array([-128.0, -128.0, 0.0]), np.eye(3))
    return Volume(array, geometry, modality="CT", window=(40.0, 400.0))


@pytest.fixture
def big_view3d(grid, qtbot):
    grid.set_layout("mpr")
    grid.show_volume(ct_block_volume())
    v = grid.view3d
    qtbot.waitUntil(lambda: v.frames > 0, timeout=30_000)  # the first (MIP) picture
    return v


def direct_shaded_frame(view3d, preset: str) -> np.ndarray:
    """The same volume, preset and camera rendered offscreen at full quality in one go
    (the caster computes its gradients inside the frame)."""
    from viewer.render.volume_rendering import VolumeRenderView

    scene = view3d.scene
    ref = VolumeRenderView(scene.data, size=view3d.device_size(), preset=preset)
    ref.renderer.GetActiveCamera().DeepCopy(scene.renderer.GetActiveCamera())
    ref.renderer.ResetCameraClippingRange()
    return ref.to_array()


def test_shaded_preset_keeps_the_window_responsive_while_its_gradients_are_prepared(
        qtbot, big_view3d) -> None:
    from tests.ui.responsiveness import max_gap_ms

    v = big_view3d
    mapper = v.scene.mapper
    blocker = qtbot.waitSignal(v.shaded, timeout=120_000)
    seen: dict[str, object] = {}

    def choose_bone() -> None:
        v.set_preset("ct-bone")
        # returns at once, the gradients are prepared meanwhile
        seen["preparing"] = v.preparing_shading
        frames = v.frames
        qtbot.waitUntil(lambda: v.frames > frames, timeout=10_000)
        # a quick picture first: unshaded, reduced, the progress written on it
        seen["first"] = (v.scene.property.GetShade(), v.scene.mapper.GetImageSampleDistance(),
                         v.scene.status.GetVisibility(), v.scene.status.GetInput())
        blocker.wait()

    gap, ticks = max_gap_ms(choose_bone, interval_ms=5)
    assert seen["preparing"]
    shade, spacing, status_shown, status = seen["first"]  # type: ignore[misc]
    assert shade == 0 and spacing > 1.0 and status_shown and "%" in status
    assert gap < 150, f"the UI thread stalled {gap:.0f} ms while the shading was prepared"
    assert ticks > 10
    # then shaded, with the prepared mapper, no progress line any more
    assert not v.preparing_shading and v.scene.mapper is not mapper
    assert v.scene.property.GetShade() == 1 and not v.scene.status.GetVisibility()


def test_the_shaded_picture_equals_a_direct_full_quality_frame(qtbot, view3d) -> None:
    with qtbot.waitSignal(view3d.shaded, timeout=60_000):
        view3d.set_preset("ct-bone")
        unshaded = view3d.capture()  # while the gradients are computed
    view3d.scene.set_interacting(False)
    shaded = view3d.capture()
    expected = direct_shaded_frame(view3d, "ct-bone")
    assert expected.max() > 50  # the phantom's bone
    assert np.array_equal(shaded, expected)
    assert diff(unshaded, expected) > 0.5
    # other shaded presets use the same gradients: no new preparation, shaded at once
    view3d.set_preset("ct-soft-tissue")
    assert not view3d.preparing_shading and view3d.scene.property.GetShade() == 1
    assert diff(view3d.capture(), shaded) > 0.5


def test_choosing_mip_while_the_shading_is_prepared_cancels_it(qtbot, big_view3d) -> None:
    v = big_view3d
    mapper = v.scene.mapper
    v.set_preset("ct-bone")
    assert v.preparing_shading and len(v._tasks) == 1
    shaded: list[bool] = []
    v.shaded.connect(lambda: shaded.append(True))
    v.set_preset("mip")  # cancelled: MIP at once, nothing waited for
    assert not v.preparing_shading and not v.scene.status.GetVisibility()
    mip = v.capture()
    assert mip.mean() > 5
    # the worker's pass runs to its end and is dropped: the scene keeps its mapper
    qtbot.waitUntil(lambda: not v._tasks, timeout=120_000)
    qtbot.wait(50)
    assert not shaded and v.scene.mapper is mapper and v.scene.preset == "mip"
    assert np.array_equal(v.capture(), mip)
    # chosen again: prepared again, shaded in the end
    with qtbot.waitSignal(v.shaded, timeout=120_000):
        v.set_preset("ct-bone")
    assert v.scene.mapper is not mapper and v.scene.property.GetShade() == 1


def test_a_new_volume_while_the_shading_is_prepared_drops_it(qtbot, big_view3d, phantom,
                                                              grid) -> None:
    v = big_view3d
    v.set_preset("ct-bone")
    old_scene = v.scene
    grid.show_volume(phantom)  # the MPR of another volume
    assert v.scene is not old_scene and not v.preparing_shading
    mapper = v.scene.mapper
    qtbot.waitUntil(lambda: not v._tasks, timeout=120_000)
    qtbot.wait(50)
    assert v.scene.mapper is mapper and v.scene.preset == "mip"
