"""The MPR layout's 3-D cell: presets from its context menu, rotation by left-drag at
reduced resolution while dragging and full resolution on release (pixels compared)."""

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
