"""The GSDF presentation LUT in the render layer (headless): P-values -> driving levels.

A screen with a gamma-2.2-like characteristic curve gets a presentation LUT
(viewer.display.calibration); the grey levels read back from the rendered
frame must be the LUT's driving levels of the P-values the VOI produces, and
the identity without it. Inversion (MONOCHROME1, user invert) comes before the LUT.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.shared_data import shared
from viewer.dicom.geometry import Geometry
from viewer.dicom.image2d import ImageSeries
from viewer.dicom.pixels import voi_lut
from viewer.dicom.volume import Volume
from viewer.display.calibration import CharacteristicCurve, PresentationLUT, presentation_lut
from viewer.render.display_lut import grey_levels
from viewer.render.image_view import ImageView
from viewer.render.slice_view import SliceView

P_VALUES = np.arange(0, 256, 17)  # 16 patches, 0 and 255 included
BLOCK = 6


def gamma_screen_lut() -> PresentationLUT:
    ddl = np.linspace(0, 255, 18)
    curve = CharacteristicCurve(ddl, 0.5 + 300.0 * (ddl / 255.0) ** 2.2, ambient=0.3)
    lut = presentation_lut(curve)
    assert not np.array_equal(lut.ddl, np.arange(256))  # far from the identity
    return lut


def patch_volume(photometric: str = "MONOCHROME2") -> Volume:
    """16 vertical patches; patch n holds the middle value of P-value n's window bin."""
    nx = len(P_VALUES) * BLOCK
    array = np.zeros((3, 8, nx), np.float32)
    for n, p in enumerate(P_VALUES):
        array[:, :, n * BLOCK:(n + 1) * BLOCK] = p * 16 + 8  # window 0..4096: 16 per P-value
    geometry = Geometry((nx, 8, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    return Volume(array, geometry, modality="CT", photometric=photometric)


def patches(view: SliceView) -> np.ndarray:
    rgb = view.to_array()
    row = rgb[rgb.shape[0] // 2]
    assert np.array_equal(row[:, 0], row[:, 1]) and np.array_equal(row[:, 0], row[:, 2])
    return row[[n * BLOCK + BLOCK // 2 for n in range(len(P_VALUES))], 0].astype(int)


def slice_view(photometric: str = "MONOCHROME2") -> SliceView:
    view = SliceView(patch_volume(photometric), size=(len(P_VALUES) * BLOCK, 8), overlay=False)
    view.set_interpolation("nearest")
    view.set_window(4096, 2048)  # PS3.3 linear: value 16 p + 8 -> P-value p
    return view


def test_slice_view_identity_without_lut_and_lut_driving_levels_with_it() -> None:
    view = slice_view()
    assert patches(view).tolist() == P_VALUES.tolist()
    lut = gamma_screen_lut()
    view.set_presentation_lut(lut)
    assert patches(view).tolist() == lut.ddl[P_VALUES].tolist()
    view.set_presentation_lut(None)  # calibration switched off / another screen
    assert patches(view).tolist() == P_VALUES.tolist()


def test_slice_view_inverts_before_the_lut() -> None:
    lut = gamma_screen_lut()
    view = slice_view("MONOCHROME1")
    assert patches(view).tolist() == (255 - P_VALUES).tolist()
    view.set_presentation_lut(lut)
    assert patches(view).tolist() == lut.ddl[255 - P_VALUES].tolist()
    view.set_inverted(False)  # the user's invert on a MONOCHROME1 image
    assert patches(view).tolist() == lut.ddl[P_VALUES].tolist()


def test_grey_levels_compose_inversion_then_lut() -> None:
    lut = gamma_screen_lut()
    assert grey_levels(False, None) is None
    np.testing.assert_allclose(grey_levels(True, None), 1.0 - np.arange(256) / 255.0)
    np.testing.assert_allclose(grey_levels(True, lut), lut.ddl[255 - np.arange(256)] / 255.0)


def one_to_one(relpath: str) -> ImageView:
    series = ImageSeries.from_paths([shared(relpath)])
    f = series.frames[0]
    view = ImageView(series, size=(f.columns, f.rows), overlay=False)
    view.set_true_pixel()
    return view


@pytest.mark.parametrize(("width", "level"), [(1024.0, 550.0), (300.0, 700.0)])
def test_image_view_real_cr_every_pixel_is_the_lut_of_its_p_value(width: float,
                                                                  level: float) -> None:
    view = one_to_one("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm")  # 1760x1760 MONOCHROME1
    view.set_window(width, level)
    p_values = view.series.display(0, window=(level, width))  # PS3.3 VOI + MONOCHROME1
    np.testing.assert_array_equal(view.to_array()[..., 0], p_values)  # identity
    lut = gamma_screen_lut()
    view.set_presentation_lut(lut)
    np.testing.assert_array_equal(view.to_array()[..., 0], lut.apply(p_values))
    view.set_invert(True)  # shown as MONOCHROME2: the inversion comes before the LUT
    upright = np.floor(voi_lut(view.series.values(0), level, width)).astype(np.uint8)
    np.testing.assert_array_equal(view.to_array()[..., 0], lut.apply(upright))
    view.set_presentation_lut(None)
    np.testing.assert_array_equal(view.to_array()[..., 0], upright)


def test_image_view_header_voi_frame_goes_through_the_lut() -> None:
    view = one_to_one("pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm")
    p_values = view.series.display(0)
    np.testing.assert_array_equal(view.to_array()[..., 0], p_values)
    lut = gamma_screen_lut()
    view.set_presentation_lut(lut)
    np.testing.assert_array_equal(view.to_array()[..., 0], lut.apply(p_values))


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_slice_view_any_value_gets_the_lut_of_the_p_value_shown_without_it(
        photometric: str) -> None:
    """Not only bin centres: every pixel of a smooth field, any window (nearest sampling:
    the LUT maps pixels, not the blend of neighbours)."""
    from tests.render.volumes import GEOMETRIES, make_volume, smooth_field

    direction, spacing = GEOMETRIES["double_oblique"]
    volume = make_volume(smooth_field, direction, spacing, photometric=photometric)
    view = SliceView(volume, size=(160, 140), overlay=False, plane="coronal")
    view.set_interpolation("nearest")
    view.set_window(333, 17)
    plain = view.to_array()[..., 0]
    assert len(np.unique(plain)) > 200  # the whole grey range, not a few patches
    lut = gamma_screen_lut()
    view.set_presentation_lut(lut)
    np.testing.assert_array_equal(view.to_array()[..., 0], lut.apply(plain))


def test_image_view_colour_frames_are_not_mapped(tmp_path) -> None:
    """PS3.14's GSDF is a greyscale function: colour passes through unchanged."""
    from tests.dicom.projection import write_dx

    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    series = ImageSeries.from_paths([write_dx(tmp_path / "rgb.dcm", rgb)])
    view = ImageView(series, size=(50, 40), overlay=False)
    view.set_true_pixel()
    plain = view.to_array()
    view.set_presentation_lut(gamma_screen_lut())
    np.testing.assert_array_equal(view.to_array(), plain)
    assert len(np.unique(plain[..., 0])) > 200
