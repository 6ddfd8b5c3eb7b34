"""Supplemental Palette Color LUT (PS3.3 C.7.6.19, C.8.16.2.1.1.1) on a grey image.

Stored values below the palette's first mapped value (second value of the Red Palette
Color Lookup Table Descriptor) go through the grey pipeline; the others are shown in the
palette's colours. Real file: the NEMA enhanced CT sample (pydicom-data
eCT_Supplemental_EnhancedCT_2f.dcm: Pixel Presentation COLOR, 100-entry 16-bit palette
from stored value 1024). Oracles: DCMTK's grey render of the same frame (dcmj2pnm does
not apply supplemental palettes, so it is the grey half) and the palette entries read
from the file's bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.dicom.projection import write_dx
from tests.shared_data import shared
from viewer.dicom import pixels
from viewer.dicom.image2d import ImageSeries

ECT = "pixel_pipeline/multiframe/eCT_Supplemental_EnhancedCT_2f.dcm"


def _palette_of(ds: pydicom.Dataset) -> tuple[int, np.ndarray]:
    """(first mapped, (entries, 3) 8-bit colours: high byte of the 16-bit entries)."""
    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    lut = np.stack([
        np.frombuffer(ds[f"{c}PaletteColorLookupTableData"].value, dtype="<u2")
        for c in ("Red", "Green", "Blue")
    ], axis=1)
    return first, (lut >> 8).astype(np.uint8)


def _expected(ds: pydicom.Dataset, stored: np.ndarray, grey: np.ndarray) -> np.ndarray:
    first, lut = _palette_of(ds)
    want = np.repeat(grey[..., None], 3, axis=-1)
    coloured = stored >= first
    want[coloured] = lut[np.clip(stored[coloured].astype(int) - first, 0, len(lut) - 1)]
    return want


def test_enhanced_ct_shows_grey_below_the_first_mapped_value_and_colour_above() -> None:
    path = shared(ECT)
    ds = pydicom.dcmread(path)
    stored = ds.pixel_array[0]
    first, _ = _palette_of(ds)
    coloured = stored >= first
    assert 0.1 < coloured.mean() < 0.9  # both halves are really there
    got = pixels.to_display(path, 0, "minmax")
    assert got.shape == (*stored.shape, 3)
    dcmtk = np.asarray(Image.open(shared(
        "pixel_pipeline/expected_dcmtk/eCT_Supplemental_EnhancedCT_2f_Wm.png")))
    np.testing.assert_array_equal(got, _expected(ds, stored, dcmtk))
    # the colour half is colour, and the grey half is exactly DCMTK's grey render
    assert np.any(got[coloured][:, 0] != got[coloured][:, 2])
    np.testing.assert_array_equal(pixels.to_display(path, 0, "minmax", supplemental=False),
                                  dcmtk)


def test_series_display_windows_only_the_grey_half() -> None:
    series = ImageSeries.from_paths([shared(ECT)])
    assert [f.supplemental_palette for f in series.frames] == [True, True]
    assert not series.colour  # grey values (modality units) for read-out and windowing
    ds = pydicom.dcmread(shared(ECT))
    for n in (0, 1):
        stored = ds.pixel_array[n]
        values = pixels.modality_lut(ds, stored, n)
        np.testing.assert_array_equal(series.values(n), values.astype(series.values(n).dtype))
        for window in ((49.0, 102.0), (300.0, 1500.0)):
            grey = np.floor(pixels.voi_lut(values, *window)).astype(np.uint8)
            np.testing.assert_array_equal(series.display(n, window),
                                          _expected(ds, stored, grey))
            np.testing.assert_array_equal(series.display(n, window, invert=True),
                                          _expected(ds, stored, 255 - grey))


def _dx_with_palette(path: Path, presentation: str | None) -> Path:
    arr = np.arange(64, dtype=np.uint16).reshape(8, 8) * 50  # 0 .. 3150
    lut = (np.arange(16, dtype=np.uint16) * 4096)
    attrs = {
        "RedPaletteColorLookupTableDescriptor": [16, 2000, 16],
        "GreenPaletteColorLookupTableDescriptor": [16, 2000, 16],
        "BluePaletteColorLookupTableDescriptor": [16, 2000, 16],
        "RedPaletteColorLookupTableData": lut.tobytes(),
        "GreenPaletteColorLookupTableData": lut[::-1].copy().tobytes(),
        "BluePaletteColorLookupTableData": np.zeros(16, np.uint16).tobytes(),
        "WindowCenter": 1000, "WindowWidth": 2000,
    }
    if presentation is not None:
        attrs["PixelPresentation"] = presentation
    return write_dx(path, arr, **attrs)


@pytest.mark.parametrize(("presentation", "colour"),
                         [(None, True), ("COLOR", True), ("MONOCHROME", False)])
def test_pixel_presentation_decides(tmp_path: Path, presentation: str | None,
                                    colour: bool) -> None:
    path = _dx_with_palette(tmp_path / "dx.dcm", presentation)
    got = pixels.to_display(path)
    if not colour:
        assert got.ndim == 2
        return
    stored = np.arange(64).reshape(8, 8) * 50
    grey = np.floor(pixels.voi_lut(stored, 1000, 2000)).astype(np.uint8)
    above = stored >= 2000
    np.testing.assert_array_equal(got[~above], np.repeat(grey[~above][:, None], 3, axis=1))
    index = np.clip((stored[above] - 2000), 0, 15)  # the palette's end repeats beyond it
    np.testing.assert_array_equal(got[above][:, 0], (index * 4096) >> 8)
    np.testing.assert_array_equal(got[above][:, 1], ((15 - index) * 4096) >> 8)
    assert not got[above][:, 2].any()


@pytest.fixture
def _vtk_backend() -> None:
    from viewer.render.backend import ensure_backend

    ensure_backend()


@pytest.mark.usefixtures("_vtk_backend")
def test_image_view_shows_the_palette_and_windows_the_grey() -> None:
    from viewer.render.image_view import ImageView

    series = ImageSeries.from_paths([shared(ECT)])
    f = series.frames[0]
    view = ImageView(series, size=(f.columns, f.rows), overlay=False)
    view.set_true_pixel()
    np.testing.assert_array_equal(view.to_array(), series.display(0, (49.0, 102.0)))
    view.set_window(1500.0, 300.0)
    shown = view.to_array()
    np.testing.assert_array_equal(shown, series.display(0, (300.0, 1500.0)))
    view.set_invert(True)
    np.testing.assert_array_equal(view.to_array(),
                                  series.display(0, (300.0, 1500.0), invert=True))
    assert view.pick(view.to_display(0, 0)).value == float(series.values(0)[0, 0])
