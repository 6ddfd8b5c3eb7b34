"""The slice drawn as one textured quad (viewer.render.slice_texture): grey mapping, exact
placement under zoom and pan, drawn under the crosshair, survives a new OpenGL context."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.render.display_lut import grey_levels
from viewer.render.slice_texture import GreyMap, grey_bytes
from viewer.render.slice_view import SliceView


@pytest.mark.parametrize("dtype", ["int16", "uint16", "uint8", "int8"])
@pytest.mark.parametrize("inverted", [False, True])
def test_table_lookup_equals_the_arithmetic(dtype: str, inverted: bool) -> None:
    info = np.iinfo(dtype)
    values = np.random.default_rng(1).integers(info.min, info.max, size=(37, 53), dtype=dtype)
    levels = grey_levels(inverted, None, rounded=True)
    grey = GreyMap()
    for window, level in [(400.0, 40.0), (3.0, 10.5), (1500.0, -600.0)]:
        rgba = grey.rgba(values, window, level, levels)
        want = grey_bytes(values, window, level, levels)
        assert rgba.shape == (37, 53, 4)
        assert (rgba[..., 0] == want).all() and (rgba[..., 1] == want).all()
        assert (rgba[..., 3] == 255).all()
    floats = values.astype(np.float32)  # no table for floats: the same numbers
    assert (grey.rgba(floats, 400.0, 40.0, levels)[..., 2] == grey.rgba(values, 400.0, 40.0,
                                                                        levels)[..., 2]).all()


def test_grey_bytes_round_half_up_like_the_image_actor() -> None:
    # y = (v - lo) / window * 255 with lo = level - window / 2: v = 1 gives y = 127.5
    assert grey_bytes(np.array([1.0]), 2.0, 1.0, None)[0] == 128
    assert grey_bytes(np.array([-9.0, 9.0]), 2.0, 1.0, None).tolist() == [0, 255]


def _checker_volume() -> Volume:
    """15x11x3 voxels of 2 mm (odd counts: the output grid, centred on the volume, then
    samples voxel centres), values 0 / 1000 in a checkerboard, one voxel marked 500."""
    j, i = np.mgrid[0:11, 0:15]
    plane = np.where((i + j) % 2 == 0, 0, 1000).astype(np.int16)
    plane[5, 9] = 500
    array = np.repeat(plane[None], 3, axis=0)
    geometry = Geometry((15, 11, 3), (2.0, 2.0, 2.0), np.zeros(3), np.eye(3))
    return Volume(np.ascontiguousarray(array), geometry, modality="CT")


def test_every_voxel_lands_where_to_display_says_under_zoom_and_pan() -> None:
    volume = _checker_volume()
    view = SliceView(volume, size=(300, 240), overlay=False, plane="axial")
    view.set_interpolation("nearest")
    view.set_window(1001, 500)  # 0 -> 0, 1000 -> 255, 500 -> 127/128
    view.set_zoom(1.6)
    view.set_pan(2.1, -1.3)
    rgb = view.to_array()
    h, w, _ = rgb.shape
    checked = 0
    for jj in range(11):
        for ii in range(15):
            x, y = view.to_display(volume.geometry.index_to_lps((ii, jj, 1.0)))
            if not (2 <= x < w - 2 and 2 <= y < h - 2):
                continue
            value = volume.array[1, jj, ii]
            want = {0: 0, 1000: 255}.get(int(value), 128)
            got = int(rgb[int(y), int(x), 0])
            assert abs(got - want) <= 1, (ii, jj, got, want)
            checked += 1
    assert checked > 60


def test_crosshair_is_drawn_over_the_slice() -> None:
    array = np.full((3, 20, 20), 1000, dtype=np.int16)
    volume = Volume(array, Geometry((20, 20, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3)),
                    modality="CT")
    view = SliceView(volume, size=(200, 200), overlay=False, plane="axial")
    view.set_window(100, 0)  # all white
    centre = volume.geometry.center
    view.set_crosshair([(centre, np.array([1.0, 0.0, 0.0]), (255, 0, 0))])
    rgb = view.to_array()
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    white = (rgb > 200).all(axis=2)
    assert red.sum() >= 150  # a horizontal line across the image
    assert white.sum() > 100 * 100


def test_a_new_opengl_context_gets_a_new_texture() -> None:
    volume = _checker_volume()
    view = SliceView(volume, size=(160, 120), overlay=False, plane="axial")
    view.set_interpolation("nearest")
    view.set_window(1001, 500)
    before = view.to_array()
    assert before.max() == 255
    view.window.Finalize()  # the context and its textures are gone
    after = view.to_array()
    np.testing.assert_array_equal(before, after)
