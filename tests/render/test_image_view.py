"""ImageView: what reaches the screen for radiographs, cine and colour images.

Oracles: DCMTK ``dcmj2pnm`` renders shipped in pixel_pipeline/expected_dcmtk
(formula-exact for linear windows, MANIFEST.md), ``pixels.to_display`` (checked
against dcmj2pnm in tests/dicom/test_pixels.py), the stored RGB samples of
test patterns, and synthetic DX images with a marker in a known corner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.dicom.projection import write_dx
from tests.shared_data import shared
from viewer.dicom.image2d import ImageSeries
from viewer.dicom.pixels import voi_lut
from viewer.render.image_view import DEFAULT_CINE_MS, ImageView

CR_CHEST = "pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"
EXPECTED = "pixel_pipeline/expected_dcmtk/"


def _series(relpath: str) -> ImageSeries:
    return ImageSeries.from_paths([shared(relpath)])


def _one_to_one(series: ImageSeries, frame: int = 0, overlay: bool = False) -> ImageView:
    f = series.frames[frame]
    view = ImageView(series, size=(f.columns, f.rows), overlay=overlay, frame=frame)
    view.set_true_pixel()
    return view


def _png(name: str) -> np.ndarray:
    return np.asarray(Image.open(shared(EXPECTED + name)))


def test_monochrome1_cr_on_screen_equals_dcmj2pnm_exactly() -> None:
    series = _series(CR_CHEST)
    view = _one_to_one(series)
    got = view.to_array()
    assert np.array_equal(got[..., 0], got[..., 1]) and np.array_equal(got[..., 0], got[..., 2])
    np.testing.assert_array_equal(got[..., 0], series.display(0))
    # dcmj2pnm computes floor(255 - y) in its own floating point: where y is an exact
    # multiple of 85 (ties) it lands one lower on 0.4 % of the pixels
    diff = got[..., 0].astype(int) - _png("CR-MONO1-10-chest_nometa_Wi1.png")
    assert set(np.unique(diff)) <= {0, 1} and np.mean(diff != 0) < 0.005


@pytest.mark.parametrize(("width", "level"), [(1024.0, 550.0), (300.0, 700.0), (2.0, 512.0)])
def test_window_level_matches_ps33_linear_on_a_real_cr(width: float, level: float) -> None:
    series = _series("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm")  # 1760x1760 MONOCHROME1
    view = _one_to_one(series)
    view.set_window(width, level)
    got = view.to_array()[..., 0]
    np.testing.assert_array_equal(got, series.display(0, window=(level, width)))


def test_monochrome1_shows_bone_white_and_invert_reverses_it() -> None:
    series = _series(CR_CHEST)
    values = series.values(0)
    lo = np.unravel_index(np.argmin(values), values.shape)  # least signal: bone in MONOCHROME1
    hi = np.unravel_index(np.argmax(values), values.shape)
    view = _one_to_one(series)
    view.set_window(200, float(values[lo]) + 150)  # lowest value at the bottom of the window
    shown = view.to_array()[..., 0]
    assert view.inverted
    assert shown[lo] == 255 and shown[hi] == 0
    view.set_invert(True)
    assert not view.inverted
    flipped = view.to_array()[..., 0]
    assert flipped[lo] == 0 and flipped[hi] == 255
    # shown as MONOCHROME2 would be: floor of the PS3.3 linear VOI, low values dark
    want = np.floor(voi_lut(values, view.center, view.width)).astype(np.uint8)
    np.testing.assert_array_equal(flipped, want)


@pytest.mark.parametrize(
    "relpath",
    ["pixel_pipeline/color/TestPattern_RGB.dcm", "transfer_syntaxes/wg04/US1/US1_UNC.dcm",
     "pixel_pipeline/color/SC_ybr_full_uncompressed.dcm"],
)
def test_colour_channels_reach_the_screen_unchanged(relpath: str) -> None:
    series = _series(relpath)
    view = _one_to_one(series)
    view.set_window(40, 40)  # ignored for colour
    np.testing.assert_array_equal(view.to_array(), series.values(0))


def test_palette_cine_frames_equal_dcmj2pnm_and_step_at_the_frame_time() -> None:
    series = _series("pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm")
    view = _one_to_one(series)
    np.testing.assert_array_equal(view.to_array(), np.asarray(
        Image.open(shared(EXPECTED + "US-PAL-8-10x-echo_rle_F1.png")).convert("RGB")))
    assert view.frame_interval_ms() == 76.0
    assert view.step(3) == 3
    np.testing.assert_array_equal(view.to_array(), series.values(3))
    assert view.step(20) == 9 and view.step(1, wrap=True) == 0


def test_multiframe_xa_cine_frames_and_default_rate(tmp_path: Path) -> None:
    xa = _series("transfer_syntaxes/variants/XA_96frames_jpeg_HasFragmentSequence.dcm")
    view = _one_to_one(xa, frame=50)
    assert view.frame_interval_ms() == 33.0
    # no window in the header, 8 bits stored: the whole 0..255 range, i.e. the stored values
    assert (view.center, view.width) == (128.0, 256.0)
    np.testing.assert_array_equal(view.to_array()[..., 0], xa.values(50))
    view.step(-1)
    np.testing.assert_array_equal(view.to_array()[..., 0], xa.values(49))
    still = ImageSeries.from_paths([write_dx(tmp_path / "a.dcm", np.zeros((4, 4), np.uint16))])
    assert ImageView(still, size=(32, 32), overlay=False).frame_interval_ms() == DEFAULT_CINE_MS


def test_header_voi_lut_sequence_is_honoured_until_the_user_windows() -> None:
    series = _series("pixel_pipeline/lut/vlut_04.dcm")
    view = _one_to_one(series)
    assert view.header_voi
    np.testing.assert_array_equal(view.to_array()[..., 0], _png("vlut_04_Wl1.png"))
    view.set_window(100, 128)
    assert not view.header_voi
    np.testing.assert_array_equal(view.to_array()[..., 0], series.display(0, window=(128, 100)))


# ------------------------------------------------------------ geometry on screen


@pytest.fixture
def marker_dx(tmp_path: Path) -> ImageSeries:
    """60 columns x 40 rows; a bright 8x8 marker in the top-right corner; letters L / F."""
    arr = np.full((40, 60), 1000, dtype=np.uint16)
    arr[0:8, 52:60] = 3000
    path = write_dx(tmp_path / "marker.dcm", arr, PatientOrientation=["L", "F"],
                    ImagerPixelSpacing=[0.2, 0.2], WindowCenter=2000, WindowWidth=2001)
    return ImageSeries.from_paths([path])


def _marker_side(rgb: np.ndarray) -> tuple[str, str]:
    ys, xs = np.nonzero(rgb[..., 0] > 200)
    assert len(xs) > 10
    h, w = rgb.shape[:2]
    return ("right" if xs.mean() > w / 2 else "left", "bottom" if ys.mean() > h / 2 else "top")


@pytest.mark.parametrize(
    ("ops", "corner", "labels"),
    [
        ([], ("right", "top"), {"right": "L", "left": "R", "top": "H", "bottom": "F"}),
        (["rotate"], ("right", "bottom"), {"right": "H", "left": "F", "top": "R", "bottom": "L"}),
        (["flip_h"], ("left", "top"), {"right": "R", "left": "L", "top": "H", "bottom": "F"}),
        (["flip_v"], ("right", "bottom"), {"right": "L", "left": "R", "top": "F", "bottom": "H"}),
        (["rotate", "rotate"], ("left", "bottom"),
         {"right": "R", "left": "L", "top": "F", "bottom": "H"}),
        (["rotate", "flip_h"], ("left", "bottom"),
         {"right": "F", "left": "H", "top": "R", "bottom": "L"}),
    ],
)
def test_rotation_and_flips_move_the_marker_and_the_letters(
    marker_dx: ImageSeries, ops: list[str], corner: tuple[str, str], labels: dict[str, str]
) -> None:
    view = ImageView(marker_dx, size=(120, 120), overlay=True)
    for op in ops:
        {"rotate": view.rotate, "flip_h": view.flip_horizontal,
         "flip_v": view.flip_vertical}[op]()
    assert view.edge_labels() == labels
    view.prepare()
    shown = {i.anchor: i.text for i in view.overlay.items()}
    assert all(shown[edge] == letter for edge, letter in labels.items())
    view.set_overlay_visible(False)
    assert _marker_side(view.to_array()) == corner


@pytest.mark.parametrize(("size", "dpr", "expect"), [
    ((300, 200), 1.0, (60, 40)), ((301, 203), 1.0, (60, 40)), ((300, 200), 2.0, (30, 20)),
])
def test_true_pixel_mode_puts_one_image_pixel_on_one_screen_pixel(
    marker_dx: ImageSeries, size: tuple[int, int], dpr: float, expect: tuple[int, int]
) -> None:
    view = ImageView(marker_dx, size=size, overlay=False)
    view.set_window(2, 999.5)  # every pixel of the image white, the background black
    view.set_true_pixel(dpr)
    rgb = view.to_array()
    ys, xs = np.nonzero(rgb[..., 0] > 0)
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == expect
    assert len(xs) == expect[0] * expect[1]
    assert set(np.unique(rgb[..., 0])) == {0, 255}  # no blurred edge pixel
    assert view.mm_per_pixel() == pytest.approx(0.2 * dpr)


def test_pick_returns_the_pixel_and_value_under_the_cursor(marker_dx: ImageSeries) -> None:
    view = ImageView(marker_dx, size=(200, 150), overlay=False)
    view.rotate()
    view.flip_vertical()
    view.zoom_at((90.0, 70.0), 2.5)
    view.pan_by(7, -3)
    values = marker_dx.values(0)
    for col, row in [(0, 0), (55, 3), (59, 39), (30, 20)]:
        hit = view.pick(view.to_display(col, row))
        assert hit is not None and (hit.column, hit.row) == (col, row)
        assert hit.value == float(values[row, col])
    view.fit()
    view.set_zoom(0.5)
    assert view.pick((1.0, 1.0)) is None  # the black margin around a half-size image


def test_fit_frames_the_whole_image_and_zoom_keeps_the_point(marker_dx: ImageSeries) -> None:
    view = ImageView(marker_dx, size=(240, 100), overlay=False)
    view.set_window(2, 999.5)
    ys, xs = np.nonzero(view.to_array()[..., 0] > 0)
    assert ys.min() <= 1 and ys.max() >= 98  # height-limited: 40 rows fill 100 pixels
    assert abs((xs.min() + xs.max() + 1) / 2 - 120) <= 1
    before = view.image_point((60.0, 30.0))
    view.zoom_at((60.0, 30.0), 3.0)
    np.testing.assert_allclose(view.image_point((60.0, 30.0)), before, atol=1e-9)


def test_overlay_shows_spacing_caveat_lossy_and_laterality() -> None:
    series = _series("pixel_pipeline/monochrome1/Monochrome1-Jpeg.dcm")
    view = ImageView(series, size=(400, 400), overlay=True)
    view.prepare()
    items = {i.anchor: i.text for i in view.overlay.items()}
    assert items["banner"] == "LOSSY"
    assert items["scale"].endswith("mm at detector")
    assert "at detector" in items["bottom-left"]
    mg = _series("pixel_pipeline/overlay/OutOfBoundsOverlay.dcm")
    view = ImageView(mg, size=(400, 300), overlay=True)
    view.prepare()
    items = {i.anchor: i.text for i in view.overlay.items()}
    assert "L CC" in items["top-right"] and items["banner"] == ""
    assert "magnification" in items["scale"]
    assert (items["right"], items["bottom"]) == ("R", "P")
    view.set_true_pixel()
    view.prepare()
    assert "1:1" in {i.anchor: i.text for i in view.overlay.items()}["bottom-right"]


def test_renders_into_a_viewport_of_a_shared_window(marker_dx: ImageSeries) -> None:
    from viewer.render.backend import new_render_window

    window = new_render_window((200, 100), offscreen=True)
    left = ImageView(marker_dx, render_window=window, viewport=(0, 0, 0.5, 1), overlay=False)
    right = ImageView(marker_dx, render_window=window, viewport=(0.5, 0, 1, 1), overlay=False)
    right.rotate(2)
    left.prepare()
    assert _marker_side(left.to_array()) == ("right", "top")
    assert _marker_side(right.to_array()) == ("left", "bottom")


def test_distance_in_mm_carries_the_spacing_meaning(marker_dx: ImageSeries) -> None:
    view = ImageView(marker_dx, size=(64, 64), overlay=False)
    d = view.distance((0, 0), (30, 40))  # 3-4-5 triangle of 0.2 mm pixels
    assert d.pixels == pytest.approx(50.0) and d.mm == pytest.approx(10.0)
    assert d.label == "at detector" and d.text() == "10.0 mm (at detector)"
    rg3 = ImageView(_series("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm"), size=(64, 64),
                    overlay=False)
    assert rg3.distance((0, 0), (3, 4)).text() == "5.0 px"  # no spacing: pixels only


def test_non_square_pixels_keep_their_aspect_ratio() -> None:
    """US-RGB-8-esopecho: 256 x 120 pixels with Pixel Aspect Ratio 4\\3 (rows taller)."""
    series = _series("pixel_pipeline/color/US-RGB-8-esopecho.dcm")
    assert series.frames[0].aspect == pytest.approx(4 / 3)
    view = ImageView(series, size=(256, 256), overlay=False)
    view.set_window(2, 0)  # ignored: colour
    rgb = view.to_array()
    ys, xs = np.nonzero(rgb.max(axis=2) > 0)
    assert xs.max() - xs.min() + 1 == 256
    assert abs((ys.max() - ys.min() + 1) - 160) <= 2  # 120 rows x 4/3
    hit = view.pick(view.to_display(100, 60))
    assert hit is not None and (hit.column, hit.row) == (100, 60)


def test_overlay_planes_drawn_as_dcmj2pnm_draws_them() -> None:
    """IHE MESA ovly_p01: overlays in separate planes and in the high bits of pixel data
    ("you should see 6 lines of text"); dcmj2pnm +Wm draws them white."""
    from viewer.dicom.pixels import _min_max_window

    series = _series("pixel_pipeline/overlay/ovly_p01.dcm")
    view = _one_to_one(series)
    c, w, _ = _min_max_window(series.values(0))
    view.set_window(w, c)
    np.testing.assert_array_equal(view.to_array()[..., 0], _png("ovly_p01_Wm.png"))
    view.set_overlay_planes_visible(False)
    np.testing.assert_array_equal(view.to_array()[..., 0], series.display(0, "minmax"))


def test_overlay_planes_outside_the_image_are_clipped() -> None:
    """fo-dicom OutOfBoundsOverlay: 101x101 planes at (704, 409) past the last row and at
    (-25, -25) before the first: only their pixels inside the 788 x 1318 image count."""
    import pydicom

    path = shared("pixel_pipeline/overlay/OutOfBoundsOverlay.dcm")
    ds = pydicom.dcmread(path)
    want = np.zeros((788, 1318), dtype=bool)
    for group in (0x6000, 0x6002):
        r0, c0 = (int(v) - 1 for v in ds[group, 0x0050].value)
        for r, c in zip(*np.nonzero(ds.overlay_array(group)), strict=True):
            if 0 <= r0 + r < 788 and 0 <= c0 + c < 1318:
                want[r0 + r, c0 + c] = True
    got = ImageSeries.from_paths([path]).overlay_mask(0)
    assert got is not None and got.sum() < 2 * 201
    np.testing.assert_array_equal(got, want)
