"""MPR layout in a real X window: synchronised crosshair, orientation of the three planes.

Oracle for orientation: the phantom's bead is on the patient's LEFT,
ANTERIOR, in the HEAD fifth of the stack (viewer.dicom.phantom); radiological
display conventions (ARCHITECTURE.md `regard render`): axial L right / A up,
coronal L right / H up, sagittal A left / H up.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import SCREENSHOTS, bead_lps, bright_centroid

pytestmark = pytest.mark.gui

BEAD_WINDOW = (1900.0, 1000.0)  # centre, width: only the 2500 HU bead is white


def _quiet(grid) -> None:
    """Bead window, no overlays or crosshair lines: white pixels are the bead only."""
    for vp in grid.viewports:
        vp.model.set_window(*BEAD_WINDOW)
        vp.view.set_overlay_visible(False)
    grid.scene.set_crosshair_visible(False)


def test_mpr_layout_has_three_planes_and_a_3d_view(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    assert [vp.model.plane_name for vp in grid.viewports] == ["axial", "coronal", "sagittal"]
    assert grid.view3d is not None
    middle = phantom.geometry.index_to_lps((np.asarray(phantom.dims) - 1) // 2)
    np.testing.assert_allclose(grid.mpr.point, middle, atol=1e-6)


def test_click_in_axial_moves_the_crosshair_and_the_other_two_planes(qtbot, grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    axial, coronal, sagittal = grid.viewports
    bead = bead_lps()
    centre = phantom.geometry.center
    axial.model.set_point((centre[0], centre[1], bead[2]))  # scroll to the bead's slice
    _quiet(grid)
    rgb = axial.capture()
    found = bright_centroid(rgb)
    assert found is not None, "the bead is not visible in the axial view"
    before_cor = coronal.capture()
    assert bright_centroid(before_cor) is None  # coronal through the centre: no bead
    r = axial.device_ratio()
    qtbot.mouseClick(axial, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(found[0] / r), round(found[1] / r)))
    # the crosshair is at the bead (within a voxel and a screen pixel)
    tol = 1.5 * max(phantom.geometry.spacing[0], axial.view.mm_per_pixel())
    assert abs(grid.mpr.point[0] - bead[0]) < tol
    assert abs(grid.mpr.point[1] - bead[1]) < tol
    # the other planes moved through it...
    assert coronal.model.point[1] == pytest.approx(grid.mpr.point[1])
    assert sagittal.model.point[0] == pytest.approx(grid.mpr.point[0])
    # ...and now show the bead, where the conventions put it
    cor, sag = coronal.capture(), sagittal.capture()
    c, s = bright_centroid(cor), bright_centroid(sag)
    assert c is not None and s is not None
    h, w = cor.shape[:2]
    assert c[0] > w / 2 and c[1] < h / 2  # coronal: patient left on the right, head up
    assert s[0] < w / 2 and s[1] < h / 2  # sagittal: anterior on the left, head up


def test_scrolling_one_plane_moves_the_crosshair_for_the_others(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    axial, coronal, _ = grid.viewports
    z0 = grid.mpr.point[2]
    axial.model.scroll(3)
    assert grid.mpr.point[2] != pytest.approx(z0)
    assert coronal.model.point[2] == pytest.approx(grid.mpr.point[2])
    lines = grid.mpr.crosshair_lines("coronal")
    # the axial plane's line in the coronal view is horizontal (along x) at the new z
    axial_line = [d for p, d, c in lines if abs(d[0]) > 0.99]
    assert axial_line and lines[0][0][2] == pytest.approx(grid.mpr.point[2])


def test_mpr_screenshot_shows_four_non_blank_views_in_radiological_orientation(
        grid, phantom, tmp_path) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    grid.set_crosshair(bead_lps())
    for vp in grid.viewports:
        vp.model.set_window(40, 400)
    grid.render_all()
    shot = grid.capture()
    from PIL import Image

    # REGARD_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/mpr_phantom.png
    folder = SCREENSHOTS if os.environ.get("REGARD_UPDATE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(shot).save(folder / "mpr_phantom.png")
    h, w = shot.shape[:2]
    quads = [shot[:h // 2, :w // 2], shot[:h // 2, w // 2:], shot[h // 2:, :w // 2],
             shot[h // 2:, w // 2:]]
    for n, q in enumerate(quads[:3]):
        inner = q[10:-10, 10:-10]
        assert inner.std() > 10, f"viewport {n} looks blank"
    # the volume rendering: dark background, the body's bones visible
    lit = (quads[3][10:-10, 10:-10].max(axis=-1) > 15).mean()
    assert lit > 0.005, "the 3-D view looks blank"
    # orientation, from the grid screenshot itself with only the bead white
    _quiet(grid)
    shot = grid.capture()
    quads = [shot[:h // 2, :w // 2], shot[:h // 2, w // 2:], shot[h // 2:, :w // 2]]
    (ax, ay), (cx, cy), (sx, sy) = (bright_centroid(q[4:-4, 4:-4]) for q in quads)
    qh, qw = h // 2 - 8, w // 2 - 8
    assert ax > qw / 2 and ay < qh / 2  # axial: left on the right, anterior up
    assert cx > qw / 2 and cy < qh / 2  # coronal: left on the right, head up
    assert sx < qw / 2 and sy < qh / 2  # sagittal: anterior on the left, head up


def test_oblique_rotation_tilts_the_other_planes(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    grid.rotate("axial", 30)
    cor = grid.viewports[1].model.plane()
    # the coronal normal turned 30 degrees around the axial normal (z)
    assert abs(cor.normal[2]) < 1e-6
    assert abs(abs(cor.normal[1]) - np.cos(np.radians(30))) < 1e-6
    grid.viewports[1].render_now()
    assert "oblique" in grid.viewports[1].view.plane.name
