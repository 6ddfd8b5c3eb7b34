"""What reaches the screen: orientation, slabs, window/level, framing, picking, overlays.

Pixel checks on rendered frames of asymmetric synthetic volumes (tests/render/volumes.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.render.volumes import GEOMETRIES, MARKERS, make_volume, marker_field
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.render.slice_view import SliceView
from viewer.render.windowing import voi_linear

CENTER = (3.0, -5.0, 7.0)


def _marker_volume(geometry: str, **kwargs: object) -> Volume:
    direction, spacing = GEOMETRIES[geometry]
    dims = tuple(round(60 / s) for s in spacing)
    return make_volume(
        marker_field(CENTER), direction, spacing, dims=dims, center=CENTER, **kwargs
    )


def _centroid(rgb: np.ndarray, grey: float, tol: float = 6) -> np.ndarray:
    """(x, y) mean position of pixels of that grey level (row 0 on top)."""
    ys, xs = np.nonzero(np.abs(rgb[..., 0].astype(float) - grey) <= tol)
    assert len(xs) > 10, f"no pixels of grey {grey}"
    return np.array([xs.mean(), ys.mean()])


def _grey(value: float) -> float:
    return float(voi_linear(np.array([value]), 500.0, 1001.0)[0])


# plane: (marker expected on the image's right/left/top/bottom)
EXPECTED = {
    "axial": {"left": "right", "anterior": "top"},
    "coronal": {"left": "right", "head": "top"},
    "sagittal": {"anterior": "left", "head": "top"},
}


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("plane", sorted(EXPECTED))
def test_radiological_orientation(geometry: str, plane: str) -> None:
    volume = _marker_volume(geometry)
    view = SliceView(volume, size=(200, 200), overlay=False, plane=plane)
    view.set_point(CENTER)
    view.set_interpolation("nearest")
    view.set_window(1001, 500)
    rgb = view.to_array()
    mid = np.array([100.0, 100.0])
    for marker, side in EXPECTED[plane].items():
        x, y = _centroid(rgb, _grey(MARKERS[marker])) - mid
        where = {"right": x > 10, "left": x < -10, "top": y < -10, "bottom": y > 10}[side]
        assert where, f"{marker} marker not on the image {side} in {plane} ({x:.0f}, {y:.0f})"


def _iso_volume(dtype: type = np.float32) -> Volume:
    rng = np.random.default_rng(7)
    array = rng.integers(-500, 1500, size=(21, 25, 23)).astype(dtype)  # (k, j, i), odd dims
    geometry = Geometry((23, 25, 21), (1.0, 1.0, 1.0), np.array([-11.0, -12.0, -10.0]), np.eye(3))
    return Volume(array, geometry, modality="CT")


REDUCE = {"mip": np.max, "minip": np.min, "mean": np.mean}


@pytest.mark.parametrize("mode", sorted(REDUCE))
def test_slab_modes_match_numpy(mode: str) -> None:
    volume = _iso_volume()
    a = volume.array
    view = SliceView(volume, size=(64, 64), overlay=False, plane="axial")
    center = volume.geometry.center  # voxel (11, 12, 10)
    view.set_slab(4.0, mode)  # 5 samples, exactly on slices 8..12
    np.testing.assert_allclose(view.slice_array(), REDUCE[mode](a[8:13], axis=0), atol=1e-3)
    view.set_plane("coronal")  # slab across rows j 10..14; screen top = head = last slice
    want = REDUCE[mode](a[:, 10:15, :], axis=1)[::-1]
    np.testing.assert_allclose(view.slice_array(), want, atol=1e-3)
    view.set_plane("sagittal")  # columns along +y (posterior to the right), slab over i 9..13
    want = REDUCE[mode](a[:, :, 9:14], axis=2)[::-1]
    np.testing.assert_allclose(view.slice_array(), want, atol=1e-3)
    view.set_point(center + np.array([-3.0, 0.0, 0.0]))  # the slab follows the point (i 6..10)
    want = REDUCE[mode](a[:, :, 6:11], axis=2)[::-1]
    np.testing.assert_allclose(view.slice_array(), want, atol=1e-3)


def test_thin_slice_is_the_stored_slice() -> None:
    volume = _iso_volume(np.int16)
    view = SliceView(volume, size=(64, 64), overlay=False, plane="axial")
    np.testing.assert_array_equal(view.slice_array(), volume.array[10])


def test_reformats_of_an_anisotropic_even_stack_show_the_stored_voxels() -> None:
    """0.7 mm pixels, 0.625 mm slices, even counts: the axial image is the stored slice and
    the coronal one the stored rows, not a resampling at the smallest spacing or half a
    voxel off the volume's centre."""
    rng = np.random.default_rng(3)
    array = rng.integers(-1000, 1000, size=(10, 12, 16), dtype=np.int16)
    geometry = Geometry((16, 12, 10), (0.7, 0.7, 0.625), np.array([-5.0, 3.0, 8.0]),
                        np.eye(3))
    volume = Volume(array, geometry, modality="CT")
    view = SliceView(volume, size=(64, 64), overlay=False, plane="axial")
    view.set_point(geometry.index_to_lps((0, 0, 4)))
    shown = view.slice_array()
    assert (view.grid.spacing, view.grid.row_spacing) == (0.7, 0.7)
    # the grid is symmetric about the centre: one background column/row at one edge
    assert any(np.array_equal(shown[r:r + 12, c:c + 16], array[4])
               for r in (0, 1) for c in (0, 1))
    view.set_plane("coronal")
    view.set_point(geometry.index_to_lps((0, 5, 0)))
    shown = view.slice_array()
    assert (view.grid.spacing, view.grid.row_spacing) == (0.7, 0.625)
    want = array[::-1, 5, :]  # head at the top
    assert any(np.array_equal(shown[r:r + 10, c:c + 16], want)
               for r in (0, 1) for c in (0, 1))


def test_a_narrow_window_across_thick_slices_draws_smooth_edges() -> None:
    """3 mm slices of 0.5 mm pixels, values ramping across an oblique edge: a coronal
    reformat interpolates the values between slices before the window (rows at 0.5 mm),
    so under a narrow window the edge runs smoothly down the picture; interpolating the
    grey levels after the window (3 mm texels) would draw a staircase of slices."""
    k, _, i = np.mgrid[0:12, 0:8, 0:80]
    z_mm, x_mm = 3.0 * k, 0.5 * i
    array = (1000 * np.clip(0.5 + (z_mm - 0.6 * x_mm) / 2.0, 0, 1)).astype(np.int16)
    geometry = Geometry((80, 8, 12), (0.5, 0.5, 3.0), np.zeros(3), np.eye(3))
    view = SliceView(Volume(array, geometry, modality="CT"), size=(400, 400), overlay=False,
                     plane="coronal")
    view.set_point(geometry.index_to_lps((40, 4, 6)))
    view.set_window(10, 500)
    assert view.grid.row_spacing == 0.5
    rgb = view.to_array()
    image = rgb[..., 0][:, rgb[..., 0].max(axis=0) > 0]  # the columns showing the volume
    white = (image > 128).sum(axis=0)  # one run per column
    inside = white[(white > 0) & (white < white.max())]
    assert len(inside) > 100
    # the edge falls 0.6 mm per mm: about a pixel a column, never a slice at once
    assert np.abs(np.diff(inside.astype(int))).max() <= 6  # a staircase jumps ~12


def _block_volume(values: list[float], photometric: str = "MONOCHROME2") -> Volume:
    array = np.repeat(np.asarray(values, dtype=np.float32), 8)[None, None, :]
    array = np.repeat(np.repeat(array, 8, axis=1), 3, axis=0)  # (3, 8, 8 * n)
    geometry = Geometry((array.shape[2], 8, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    return Volume(np.ascontiguousarray(array), geometry, modality="CT", photometric=photometric)


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize(("center", "width"), [(40.0, 400.0), (-600.0, 1500.0), (10.5, 2.0)])
def test_window_level_follows_ps33_linear(photometric: str, center: float, width: float) -> None:
    values = [*np.linspace(center - width * 0.6, center + width * 0.6, 16), center]
    volume = _block_volume(values, photometric)
    view = SliceView(volume, size=(len(values) * 16, 40), overlay=False, plane="axial")
    view.set_window(width, center)
    rgb = view.to_array()
    want = voi_linear(np.asarray(values), center, width)
    if photometric == "MONOCHROME1":
        want = 255.0 - want
    for n, value in enumerate(values):
        x, y = view.to_display(volume.geometry.index_to_lps((8 * n + 3.5, 3.5, 1.0)))
        got = rgb[int(y), int(x)]
        assert got[0] == got[1] == got[2]
        assert abs(float(got[0]) - want[n]) <= 1.0, (value, got[0], want[n])


def _shell_volume(direction: np.ndarray, spacing: tuple[float, float, float]) -> Volume:
    dims = (50, 34, 22)
    array = np.zeros(dims[::-1], dtype=np.int16)
    array[[0, -1], :, :] = 1000
    array[:, [0, -1], :] = 1000
    array[:, :, [0, -1]] = 1000
    geometry = Geometry(dims, spacing, np.array([5.0, -20.0, 40.0]), direction)
    return Volume(array, geometry, modality="CT")


@pytest.mark.parametrize("geometry", ["axial", "double_oblique", "sheared"])
@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal", "acquisition"])
@pytest.mark.parametrize("size", [(240, 160), (150, 220)])
def test_whole_volume_framed_and_centred(geometry: str, plane: str, size: tuple[int, int]) -> None:
    direction, spacing = GEOMETRIES[geometry]
    volume = _shell_volume(direction, spacing)
    view = SliceView(volume, size=size, overlay=False, plane=plane)
    view.set_interpolation("nearest")
    view.set_window(1000, 500)
    from viewer.render.planes import volume_corners

    # the whole grid, projected on the screen, lies inside the window and touches two edges
    xy = np.array([view.to_display(c) for c in volume_corners(volume.geometry)])
    w, h = size
    assert xy[:, 0].min() >= -0.5 and xy[:, 0].max() <= w + 0.5
    assert xy[:, 1].min() >= -0.5 and xy[:, 1].max() <= h + 0.5
    assert (xy[:, 0].min() < 0.5 and xy[:, 0].max() > w - 0.5) or (
        xy[:, 1].min() < 0.5 and xy[:, 1].max() > h - 0.5
    )
    # and the picture agrees: what is drawn is centred on the window
    rgb = view.to_array()
    ys, xs = np.nonzero(rgb[..., 0] > 0)
    assert len(xs) > 0
    # nearest sampling on the output grid may move an edge by half an output pixel
    tol = 1.5 + 0.5 * view.grid.spacing / view.mm_per_pixel()
    assert abs((xs.min() + xs.max() + 1) / 2 - w / 2) <= tol
    assert abs((ys.min() + ys.max() + 1) / 2 - h / 2) <= tol
    # the window centre shows the volume centre's projection
    centre = view.pick((w / 2, h / 2))
    geometry_centre = volume.geometry.center
    offset = centre - geometry_centre
    assert np.allclose(offset - (offset @ view.plane.normal) * view.plane.normal, 0, atol=1e-6)


def test_pick_and_to_display_round_trip_with_zoom_and_pan() -> None:
    volume = _marker_volume("double_oblique")
    view = SliceView(volume, size=(220, 170), overlay=False, plane="coronal")
    view.set_point(CENTER)
    view.set_zoom(1.7)
    view.set_pan(6.0, -4.0)
    for uv in [(0.0, 0.0), (10.0, -3.0), (-7.5, 12.0)]:
        lps = view.plane.to_lps(np.array(uv))
        np.testing.assert_allclose(view.pick(view.to_display(lps)), lps, atol=1e-9)


def test_pick_finds_the_marker_drawn_on_screen() -> None:
    volume = _marker_volume("sheared")
    view = SliceView(volume, size=(240, 240), overlay=False, plane="axial")
    view.set_point(CENTER)
    view.set_interpolation("nearest")
    view.set_zoom(1.5)
    view.set_window(1001, 500)
    rgb = view.to_array()
    x, y = _centroid(rgb, _grey(MARKERS["left"]))
    picked = view.pick((x + 0.5, y + 0.5))
    marker = np.asarray(CENTER) + np.array([14.0, 0.0, 0.0])
    assert np.linalg.norm(picked - marker) < 1.0


def test_without_overlay_the_png_holds_only_the_image(tmp_path) -> None:
    volume = _block_volume([0.0] * 4)
    volume.lossy = True
    view = SliceView(volume, size=(160, 120), overlay=False, plane="axial")
    view.set_window(100, 50)
    assert view.to_array().max() == 0
    view.set_overlay_visible(True)
    on = view.to_array()
    assert (on.max(axis=2) > 200).sum() > 50
    path = view.save_png(tmp_path / "x.png")
    from PIL import Image

    assert Image.open(path).size == (160, 120)


@pytest.mark.parametrize("lossy", [True, False])
def test_lossy_volume_is_marked(lossy: bool) -> None:
    volume = _block_volume([0.0] * 4)
    volume.lossy = lossy
    view = SliceView(volume, size=(200, 150), overlay=True, plane="axial")
    view.set_window(100, 50)
    rgb = view.to_array().astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)
    assert bool(red.sum() > 20) is lossy
    texts = [item.text for item in view.overlay.items()]
    assert ("LOSSY" in texts) is lossy


def test_overlay_letters_follow_the_plane() -> None:
    volume = _marker_volume("axial", modality="CT")
    view = SliceView(volume, size=(200, 200), overlay=True, plane="sagittal")
    view.render()
    items = {item.anchor: item.text for item in view.overlay.items()}
    assert (items["left"], items["right"], items["top"], items["bottom"]) == ("A", "P", "H", "F")
    view.set_plane("axial", normal=(0.0, 0.3, 1.0))
    view.render()
    items = {item.anchor: item.text for item in view.overlay.items()}
    assert items["right"] == "L" and items["top"].startswith("A")
    assert "W 400" in items["bottom-right"]  # CT default window when the header has none


def test_overlay_text_is_cached() -> None:
    volume = _marker_volume("axial")
    view = SliceView(volume, size=(200, 200), overlay=True, plane="axial")
    view.render()
    misses = view.overlay.cache.misses
    for _ in range(3):
        view.render()
    assert view.overlay.cache.misses == misses


def test_default_window_prefers_header_then_modality_then_data() -> None:
    from viewer.render.windowing import default_window

    volume = _marker_volume("axial", modality="CT")
    assert default_window(volume) == (40.0, 400.0)
    volume.window = (-600.0, 1500.0)
    assert default_window(volume) == (-600.0, 1500.0)
    mr = _marker_volume("axial", modality="MR")
    center, width = default_window(mr)
    lo, hi = np.percentile(mr.array, [0.5, 99.5])
    assert center == pytest.approx((lo + hi) / 2) and width == pytest.approx(hi - lo)


def test_zoom_at_keeps_the_point_under_the_cursor_and_pan_by_drags() -> None:
    volume = _marker_volume("sheared")
    view = SliceView(volume, size=(200, 150), overlay=False, plane="sagittal")
    cursor = (140.0, 40.0)
    under = view.pick(cursor)
    view.zoom_at(cursor, 2.5)
    assert view.zoom == pytest.approx(2.5)
    np.testing.assert_allclose(view.pick(cursor), under, atol=1e-9)
    target = view.pick((100.0, 75.0))
    view.pan_by(12.0, -7.0)  # drag right and up: the same patient point follows the mouse
    np.testing.assert_allclose(view.pick((112.0, 68.0)), target, atol=1e-9)


def test_interacting_lowers_quality_and_release_restores_it() -> None:
    volume = _iso_volume()
    view = SliceView(volume, size=(64, 64), overlay=False, plane="axial")
    view.set_slab(12.0, "mip")
    full = view.slice_array()
    assert view.reslice.GetSlabNumberOfSlices() == 13
    view.set_interacting(True)
    assert view.reslice.GetSlabNumberOfSlices() <= 6
    assert view.reslice.GetInterpolationModeAsString() == "NearestNeighbor"
    view.set_interacting(False)
    assert view.reslice.GetSlabNumberOfSlices() == 13
    assert view.reslice.GetInterpolationModeAsString() == "Linear"
    np.testing.assert_array_equal(view.slice_array(), full)


def test_corner_text_from_volume_meta_and_from_the_host() -> None:
    volume = _marker_volume("axial", modality="MR")
    volume.meta.update(study_description="Brain", series_description="T1 sag", series_number="3")
    view = SliceView(volume, size=(300, 300), overlay=True, plane="axial")
    view.render()
    items = {item.anchor: item.text for item in view.overlay.items()}
    assert items["top-right"] == "Brain\nT1 sag\nMR #3"
    view.set_corner_text("top-left", "DOE^JANE\n1970-01-01")
    view.render()
    items = {item.anchor: item.text for item in view.overlay.items()}
    assert items["top-left"] == "DOE^JANE\n1970-01-01"
