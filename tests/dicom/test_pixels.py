"""Display pipeline (PS3.3 C.11) against DCMTK's dcmj2pnm and the standard's formulas.

dcmj2pnm is run here where it is the oracle; the shipped renders in
``pixel_pipeline/expected_dcmtk`` (same tool, options in renders.tsv) cover
the files whose rendering options are fixed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.dicom import dcmtk
from tests.shared_data import shared
from viewer.dicom.pixels import (
    frame_window,
    is_lossy,
    modality_lut,
    open_dataset,
    read_frame,
    to_display,
    voi_lut,
)

GE_01 = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing/01.dcm"


def _std_linear(x: float, c: float, w: float) -> float:
    """PS3.3 C.11.2.1.2.1 written out for one value, 8-bit output."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0.0
    if x > c - 0.5 + (w - 1) / 2:
        return 255.0
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0


def _std_linear_array(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """The same rule, vectorised (kept separate from the code under test)."""
    inside = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    return np.select([x <= c - 0.5 - (w - 1) / 2, x > c - 0.5 + (w - 1) / 2], [0.0, 255.0], inside)


# ---------------------------------------------------------------- VOI functions


def test_linear_voi_matches_standard_formula_pointwise() -> None:
    c, w = 40.0, 400.0
    xs = np.array([-1000, -160.5, -160, -159.5, 0, 39.5, 40, 239, 239.5, 240, 3000], dtype=float)
    got = voi_lut(xs, c, w)
    want = [_std_linear(float(x), c, w) for x in xs]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(_std_linear_array(xs, c, w), want, rtol=0, atol=1e-9)
    assert got[0] == 0 and got[-1] == 255


def test_linear_voi_width_one_is_a_threshold() -> None:
    got = voi_lut(np.array([9.0, 9.5, 9.6, 10.0]), 10.0, 1.0)
    np.testing.assert_array_equal(got, [0, 0, 255, 255])


def test_linear_exact_and_sigmoid() -> None:
    x = np.array([0.0, 50.0, 100.0, 150.0, 200.0])
    np.testing.assert_allclose(voi_lut(x, 100, 200, "LINEAR_EXACT"), [0, 63.75, 127.5, 191.25, 255])
    sig = voi_lut(x, 100, 200, "SIGMOID")
    expected = [255 / (1 + math.exp(-4 * (v - 100) / 200)) for v in x]
    np.testing.assert_allclose(sig, expected)
    assert sig[2] == pytest.approx(127.5)
    with pytest.raises(ValueError, match="width"):
        voi_lut(x, 100, 0.5, "LINEAR")
    with pytest.raises(ValueError, match="VOI LUT Function"):
        voi_lut(x, 100, 200, "CUBIC")


def test_voi_output_range_is_honoured() -> None:
    got = voi_lut(np.array([-1e6, 1e6]), 0, 100, out_range=(0, 4095))
    np.testing.assert_array_equal(got, [0, 4095])


# ---------------------------------------------------------------- DCMTK dcmj2pnm, run here


@pytest.mark.integration
def test_ct_window_equals_dcmj2pnm_exactly(tmp_path: Path) -> None:
    """``dcmj2pnm +Ww 40 400 +on`` == floor of C.11.2.1.2 linear VOI: 0 pixels differ."""
    src = shared(GE_01)
    expected = dcmtk.render_png(src, tmp_path / "out.png", "+Ww", "40", "400")
    ours = to_display(src, window=(40, 400))
    assert ours.dtype == np.uint8 and ours.shape == expected.shape == (512, 512)
    np.testing.assert_array_equal(ours, expected)
    assert len(np.unique(ours)) > 100  # a real image, not a flat one


@pytest.mark.integration
def test_monochrome1_inverted_after_voi_equals_dcmtk(tmp_path: Path) -> None:
    """MONOCHROME1 (JPEG baseline, fractional window): DCMTK decodes, both render."""
    src = shared("pixel_pipeline/monochrome1/Monochrome1-Jpeg.dcm")
    decoded = dcmtk.decompress(src, tmp_path / "native.dcm")
    expected = dcmtk.render_png(decoded, tmp_path / "out.png", "+Wi", "1")
    ours = to_display(decoded)
    np.testing.assert_array_equal(ours, expected)
    # inversion really happened: the lowest stored values are the brightest
    stored = read_frame(decoded)
    assert ours[stored == stored.min()].min() > ours[stored == stored.max()].max()
    # dcmdjpeg keeps Lossy Image Compression "01": still flagged lossy once native
    assert is_lossy(open_dataset(decoded)[0])


# ---------------------------------------------------------------- shipped dcmj2pnm renders

EXACT_RENDERS = [
    ("signed_rescale/SignedCT.dcm", "SignedCT_Wi1.png", None, None),
    ("signed_rescale/SignedCT.dcm", "SignedCT_Ww40400.png", (40, 400), None),
    ("signed_rescale/test16signed.dcm", "test16signed_Wi1.png", None, None),
    ("signed_rescale/CT-MONO2-16-ankle_implicit.dcm", "CT-MONO2-16-ankle_implicit_Wi1.png",
     None, None),
    ("signed_rescale/693_UNCI_BS14_signed.dcm", "693_UNCI_BS14_signed_Wi1.png", None, None),
    ("monochrome1/CR-ModalitySequenceLUT.dcm", "CR-ModalitySequenceLUT_Wm.png", "minmax", None),
    ("lut/vlut_04.dcm", "vlut_04_Wl1.png", None, 0),
    ("lut/mlut_18.dcm", "mlut_18_Wm.png", "minmax", None),
    ("palette/OT-PAL-8-face_nometaTS.dcm", "OT-PAL-8-face_nometaTS_.png", None, None),
    ("palette/OBXXXX1A.dcm", "OBXXXX1A_.png", None, None),
    ("palette/TestPattern_Palette_16.dcm", "TestPattern_Palette_16_.png", None, None),
    ("color/color-pl.dcm", "color-pl_.png", None, None),
    ("multiframe/NM-MONO2-16-13x-heart.dcm", "NM-MONO2-16-13x-heart_Wi1.png", None, None),
    ("multiframe/eCT_Supplemental_EnhancedCT_2f.dcm", "eCT_Supplemental_EnhancedCT_2f_Wm.png",
     "minmax", None),
]


def _expected(png: str) -> np.ndarray:
    return np.asarray(Image.open(shared(f"pixel_pipeline/expected_dcmtk/{png}")))


@pytest.mark.parametrize(("rel", "png", "window", "voi_index"), EXACT_RENDERS,
                         ids=[r[1] for r in EXACT_RENDERS])
def test_render_equals_dcmtk(rel: str, png: str, window: object, voi_index: int | None) -> None:
    # dcmj2pnm does not apply Supplemental Palette Color LUTs: compare the grey pipeline
    # (the palette is tested in test_supplemental_palette.py)
    ours = to_display(shared(f"pixel_pipeline/{rel}"), 0, window, voi_lut_index=voi_index,
                      supplemental=False)
    np.testing.assert_array_equal(ours, _expected(png))


def test_palette_frame_of_multiframe_rle() -> None:
    ours = to_display(shared("pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm"), 0)
    np.testing.assert_array_equal(ours, _expected("US-PAL-8-10x-echo_rle_F1.png"))
    assert ours.shape[-1] == 3


@pytest.mark.parametrize(
    ("rel", "png"),
    [("color/YBR_FULL_422_uncompressed.dcm", "YBR_FULL_422_uncompressed_.png"),
     ("color/SC_ybr_full_uncompressed.dcm", "SC_ybr_full_uncompressed_.png")],
)
def test_ybr_to_rgb_within_rounding_of_dcmtk(rel: str, png: str) -> None:
    """C.7.6.3.1.2 YBR_FULL -> RGB: pydicom and DCMTK round differently (at most 2)."""
    ours = to_display(shared(f"pixel_pipeline/{rel}")).astype(int)
    expected = _expected(png).astype(int)
    assert ours.shape == expected.shape
    assert int(np.abs(ours - expected).max()) <= 2


def test_fractional_rescale_is_exact_where_dcmtk_truncates() -> None:
    """MR slope 3.774: we keep the exact modality value; dcmj2pnm truncates it to an integer.

    Our output equals floor(C.11.2 linear VOI of stored*slope+intercept) exactly;
    DCMTK's equals the same formula applied to trunc(stored*slope+intercept).
    """
    ds, _ = open_dataset(shared("pixel_pipeline/signed_rescale/MR2_UNCI_slope3.77.dcm"))
    stored = read_frame(ds)
    c, w, _ = frame_window(ds)
    x = stored.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    ours = to_display(ds, stored=stored)
    np.testing.assert_array_equal(ours, np.floor(_std_linear_array(x, c, w)))
    dcmtk_like = np.floor(_std_linear_array(np.trunc(x), c, w))
    np.testing.assert_array_equal(_expected("MR2_UNCI_slope3.77_Wi1.png"), dcmtk_like)


def test_monochrome1_differs_from_dcmtk_only_at_exact_integer_levels() -> None:
    """CR MONOCHROME1 W 1024/C 550: where y is an exact integer DCMTK's float rounding
    yields 254-y instead of 255-y; everywhere else identical."""
    ds, _ = open_dataset(shared("pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"))
    stored = read_frame(ds)
    ours = to_display(ds, stored=stored).astype(int)
    expected = _expected("CR-MONO1-10-chest_nometa_Wi1.png").astype(int)
    y = voi_lut(modality_lut(ds, stored), 550, 1024)
    exact = np.isclose(y, np.round(y), rtol=0, atol=1e-9) & (y > 0) & (y < 255)
    assert np.array_equal(ours[~exact], expected[~exact])
    assert set(np.unique(ours[exact] - expected[exact])) <= {0, 1}


def test_overlay_free_pixels_equal_dcmtk() -> None:
    """dcmj2pnm burns overlays in; outside the overlay bits our grey image is identical."""
    ds, _ = open_dataset(shared("pixel_pipeline/overlay/MR-SIEMENS-DICOM-WithOverlays.dcm"))
    ours = to_display(ds)
    expected = _expected("MR-SIEMENS-DICOM-WithOverlays_Wi1.png")
    overlay = ds.overlay_array(0x6000).astype(bool)
    np.testing.assert_array_equal(ours[~overlay], expected[~overlay])


def test_sigmoid_from_header_function_and_per_frame_window() -> None:
    """Enhanced CT: window from the Frame VOI LUT functional group (C.7.6.16.2.10)."""
    ds, _ = open_dataset(shared("pixel_pipeline/multiframe/eCT_Supplemental_EnhancedCT_2f.dcm"))
    assert frame_window(ds, 0) == (49.0, 102.0, "LINEAR")
    stored = read_frame(ds, 0)
    x = modality_lut(ds, stored, 0)
    np.testing.assert_array_equal(to_display(ds, 0, stored=stored, supplemental=False),
                                  np.floor(voi_lut(x, 49, 102)).astype(np.uint8))
    sig = to_display(ds, 0, stored=stored, function="SIGMOID", supplemental=False)
    np.testing.assert_array_equal(sig, np.floor(voi_lut(x, 49, 102, "SIGMOID")).astype(np.uint8))


def test_is_lossy() -> None:
    ds, _ = open_dataset(shared("transfer_syntaxes/wg04/CT1/CT1_J2KI.dcm"))
    assert is_lossy(ds)
    ds, _ = open_dataset(shared("transfer_syntaxes/wg04/CT1/CT1_J2KR.dcm"))
    assert not is_lossy(ds)
    ds, _ = open_dataset(shared("pixel_pipeline/monochrome1/Monochrome1-Jpeg.dcm"))
    assert is_lossy(ds)
    ds, _ = open_dataset(shared(GE_01))
    assert not is_lossy(ds)



def test_segmented_16bit_palette_equals_gdcm() -> None:
    """GDCM's ImageApplyLookupTable (C++) as oracle for segmented palettes (C.7.9.2),
    which dcmj2pnm does not support; the display keeps the high byte."""
    import gdcm

    src = shared("pixel_pipeline/palette/gdcm-US-ALOKA-16.dcm")
    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    assert reader.Read()
    apply = gdcm.ImageApplyLookupTable()
    apply.SetInput(reader.GetImage())
    assert apply.Apply()
    out = apply.GetOutput()
    raw = out.GetBuffer().encode("utf-8", errors="surrogateescape")
    cols, rows = out.GetDimensions()[:2]
    reference = np.frombuffer(raw, dtype="<u2").reshape(rows, cols, 3)
    ours = to_display(src)
    np.testing.assert_array_equal(ours, (reference >> 8).astype(np.uint8))
    assert len(np.unique(ours.reshape(-1, 3), axis=0)) > 20


def test_same_palette_image_in_rle_and_jpeg_ls_displays_identically() -> None:
    rle = shared("pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm")
    jls = shared("pixel_pipeline/palette/jpeg-ls-Palette.dcm")
    for frame in (0, 5, 9):
        np.testing.assert_array_equal(to_display(rle, frame), to_display(jls, frame))


def test_float_pixel_data_min_max_window() -> None:
    src = shared("pixel_pipeline/float_and_32bit/parametric_map_float.dcm")
    stored = read_frame(src)
    assert stored.dtype == np.float32
    ours = to_display(src, window="minmax", stored=stored)
    lo, hi = float(stored.min()), float(stored.max())
    expected = np.floor(voi_lut(stored, (lo + hi) / 2, hi - lo, "LINEAR_EXACT"))
    np.testing.assert_array_equal(ours, expected.astype(np.uint8))
    assert ours.min() == 0 and ours.max() == 255 and len(np.unique(ours)) > 100


def test_header_windows_lists_every_pair() -> None:
    from viewer.dicom.pixels import header_windows

    ds, _ = open_dataset(shared("pixel_pipeline/overlay/MR-SIEMENS-DICOM-WithOverlays.dcm"))
    windows = header_windows(ds)
    assert len(windows) == 2
    assert windows[0][:2] == frame_window(ds)[:2]


@pytest.mark.parametrize(
    ("rel", "window"),
    [("signed_rescale/SignedCT.dcm", None), ("signed_rescale/test16signed.dcm", "minmax"),
     ("monochrome1/CR-ModalitySequenceLUT.dcm", "minmax"), ("lut/vlut_04.dcm", None),
     ("signed_rescale/MR2_UNCI_slope3.77.dcm", (500.0, 700.0)),
     ("monochrome1/CR-MONO1-10-chest_nometa.dcm", None)],
)
def test_lookup_table_path_equals_pixelwise_chain(rel: str, window: object) -> None:
    """The per-frame lookup table is an optimisation only: identical output."""
    from viewer.dicom.pixels import _grey_pipeline, grey_to_8bit

    ds, _ = open_dataset(shared(f"pixel_pipeline/{rel}"))
    stored = read_frame(ds)
    fast = grey_to_8bit(ds, stored, 0, window)  # type: ignore[arg-type]
    slow = _grey_pipeline(ds, stored, 0, window, None, None, True, None)  # type: ignore[arg-type]
    np.testing.assert_array_equal(fast, slow)
