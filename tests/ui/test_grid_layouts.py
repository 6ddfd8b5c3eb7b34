"""Layout changes of the viewport grid keep its viewports (one OpenGL window each, made
once) and what they show: the same slice, window and zoom in a cell that keeps its
series, the same pixels when a layout comes back; never an exam the grid no longer shows.

Real windows under Xvfb; the pixels are VTK's own (``capture``).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.shared_data import shared
from tests.ui.conftest import bead_lps, phantom_volume
from viewer.dicom.image2d import ImageSeries
from viewer.dicom.phantom import PhantomGeometry

pytestmark = pytest.mark.gui

CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"  # 440 x 440
SEQUENCE = ["2x2", "mpr", "1x2", "1x1", "mpr", "2x2", "1x1"]  # each change once at least


@pytest.fixture(scope="module")
def other():
    """A second series (another size and slice thickness than the phantom)."""
    return phantom_volume(PhantomGeometry(columns=96, rows=96, slices=30, slice_mm=5.0))


def _state(vp) -> tuple:
    m = vp.model
    return m.volume, m.slice_index(), m.center, m.width, m.zoom, tuple(m.pan)


def _read(vp) -> None:
    """What a reader does in a cell: another slice, window and zoom than the defaults."""
    vp.model.scroll(5)
    vp.model.set_window(60, 300)
    vp.model.zoom_by(1.7)
    vp.model.pan_by(4.0, -3.0)


def test_layout_changes_keep_the_viewports_and_their_slice_window_and_zoom(grid, phantom,
                                                                         other) -> None:
    grid.set_layout("1x2")
    grid.show_volumes([(phantom, None), (other, None)])
    first, second = grid.viewports
    for vp in (first, second):
        _read(vp)
    kept = [_state(first), _state(second)]
    for name in ["2x2", "1x2", "2x2"]:
        grid.set_layout(name)
        assert grid.viewports[:2] == [first, second]
        assert [_state(first), _state(second)] == kept
    assert grid.cells[2].child.view is None and grid.cells[3].child.view is None
    grid.set_layout("1x1")  # one cell: the first keeps its series, the second is let go
    assert grid.viewports == [first] and _state(first) == kept[0]
    assert second.view is None
    grid.set_layout("mpr")  # the MPR of the first cell's series ...
    assert grid.mpr.volume is phantom and not first.isVisible()
    grid.set_layout("1x1")  # ... and back: the cell as the reader left it
    assert grid.viewports == [first] and _state(first) == kept[0]


def test_mpr_back_to_a_bigger_layout_shows_its_series_once(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    assert grid.shown_items() == [(phantom, grid.viewports[0].model.demographics)]
    grid.set_layout("2x2")
    assert [vp.model.volume is phantom and vp.view is not None for vp in grid.viewports] == [
        True, False, False, False]


def test_the_pool_makes_each_opengl_window_once(grid, phantom) -> None:
    grid.show_volume(phantom)
    for name in SEQUENCE:
        grid.set_layout(name)
    made = {id(h) for h in grid.all_hosts()}
    assert len(made) == 4 + 4  # four 2-D cells, three MPR planes and the 3-D view
    for name in SEQUENCE:
        grid.set_layout(name)
        assert {id(h) for h in grid.hosts()} <= made
    assert {id(h) for h in grid.all_hosts()} == made


def test_mpr_comes_back_with_its_crosshair_and_scene(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    grid.set_crosshair(bead_lps())
    grid.rotate("axial", 20)
    scene, point = grid.scene, grid.mpr.point.copy()
    coronal = grid.viewports[1].model.plane().normal
    grid.set_layout("1x1")
    assert grid.mpr is None and grid.scene is None  # nothing says MPR outside its layout
    assert grid.viewports[0].model.volume is phantom
    grid.set_layout("mpr")
    assert grid.scene is scene
    np.testing.assert_allclose(grid.mpr.point, point)
    np.testing.assert_allclose(grid.viewports[1].model.plane().normal, coronal)


def test_cells_show_the_same_pixels_after_switching_back_and_forth(grid, phantom,
                                                                   other) -> None:
    grid.set_layout("1x2")
    grid.show_volumes([(phantom, None), (other, None)])
    for vp in grid.viewports:
        _read(vp)
    grid.render_all()
    before = [h.capture() for h in grid.hosts()]
    for shot in before:  # the images, not an empty window
        assert shot.std() > 20
    for name in ["2x2", "1x2", "2x2", "1x2"]:
        grid.set_layout(name)
        grid.render_all()
        for host in grid.hosts()[:2]:
            assert host.capture().std() > 20, f"a cell is blank in {name}"
    for host, shot in zip(grid.hosts(), before, strict=True):
        np.testing.assert_array_equal(host.capture(), shot)
    whole = grid.capture()  # the grid as displayed: both halves drawn
    half = whole.shape[1] // 2
    assert whole[:, :half].std() > 20 and whole[:, half:].std() > 20
    grid.set_layout("1x1")
    grid.render_all()
    single = grid.hosts()[0].capture()
    grid.set_layout("mpr")
    grid.render_all()
    assert all(vp.capture().std() > 20 for vp in grid.viewports)
    grid.set_layout("1x1")
    grid.render_all()
    np.testing.assert_array_equal(grid.hosts()[0].capture(), single)


def test_mpr_cells_show_the_same_pixels_when_the_layout_comes_back(grid, phantom) -> None:
    grid.set_layout("mpr")
    grid.show_volume(phantom)
    grid.set_crosshair(bead_lps())
    grid.render_all()
    before = [vp.capture() for vp in grid.viewports]
    grid.set_layout("2x2")
    grid.render_all()
    grid.set_layout("mpr")
    grid.render_all()
    for vp, shot in zip(grid.viewports, before, strict=True):
        assert shot.std() > 20
        np.testing.assert_array_equal(vp.capture(), shot)


def test_a_hidden_cell_never_brings_back_an_exam_the_grid_no_longer_shows(grid, phantom,
                                                                          other) -> None:
    grid.set_layout("2x2")
    grid.show_volumes([(phantom, None), (other, None), (other, None)])
    grid.set_layout("1x1")
    newer = phantom_volume(PhantomGeometry(columns=64, rows=64, slices=20, slice_mm=3.0))
    grid.show_volume(newer)  # another exam opened in the one cell
    grid.set_layout("2x2")
    assert grid.viewports[0].model.volume is newer
    assert [vp.view for vp in grid.viewports[1:]] == [None, None, None]
    assert len(grid.shown_items()) == 1
    grid.set_layout("mpr")  # the MPR made before showed nothing: it shows the new exam
    assert grid.mpr is not None and grid.mpr.volume is newer


def test_a_series_given_to_a_kept_cell_starts_as_in_a_new_viewport(grid, phantom,
                                                                   other) -> None:
    grid.set_layout("1x2")
    grid.show_volumes([(phantom, None), (other, None)])
    second = grid.viewports[1]
    second.model.flip(horizontal=True)
    second.model.set_invert(True)
    second.model.set_slab(10.0, "mip")
    grid.set_layout("1x1")
    grid.set_layout("1x2")
    assert grid.viewports[1] is second and second.view is None  # emptied
    grid.set_active(second)
    grid.show_volume(phantom)
    m = second.model
    assert (m.flip_h, m.invert, m.slab_mm) == (False, False, 0.0)


def test_a_radiograph_cell_keeps_its_image_viewport_and_zoom(grid, phantom) -> None:
    from viewer.ui.image_viewport import ImageViewport

    series = ImageSeries.from_paths([shared(CR_CHEST)])
    grid.set_layout("1x2")
    grid.show_volumes([(series, None), (phantom, None)])
    ivp = grid.cells[0].child
    assert isinstance(ivp, ImageViewport)
    ivp.zoom_by(2.0)
    ivp.render_now()
    zoom = ivp.view.zoom
    before = ivp.capture()
    for name in ["2x2", "1x1", "2x2", "1x2"]:
        grid.set_layout(name)
        assert grid.cells[0].child is ivp
    assert grid.cells[0].child is ivp and ivp.series is series and ivp.view.zoom == zoom
    np.testing.assert_array_equal(ivp.capture(), before)
