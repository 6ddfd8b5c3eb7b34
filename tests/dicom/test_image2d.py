"""ImageSeries: non-volume series (projection, cine, colour) and the volume/2-D chooser.

Oracles: PS3.3 10.7.1.3 (meaning of the pixel spacing attributes), C.7.6.1.1.1
(Patient Orientation), C.7.6.5 (cine timing), the headers of real files of the
shared corpus (MANIFEST.md of pixel_pipeline and transfer_syntaxes) and
``pixels.to_display`` (itself checked against dcmj2pnm in test_pixels.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from tests.dicom.projection import write_dx
from tests.shared_data import shared
from viewer.dicom import pixels
from viewer.dicom.image2d import (
    ImageSeries,
    edge_labels,
    frame_times_ms,
    load_series,
    opposite_letters,
    patient_orientation,
    spacing_of,
)
from viewer.dicom.index import scan
from viewer.dicom.volume import Volume

CR = "1.2.840.10008.5.1.4.1.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
MG = "1.2.840.10008.5.1.4.1.1.1.2"


def _ds(sop: str, **kw: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


@pytest.mark.parametrize(
    ("sop", "attrs", "kind", "spacing"),
    [
        (CT, {"PixelSpacing": [0.5, 0.6]}, "calibrated", (0.5, 0.6)),
        (CR, {"ImagerPixelSpacing": [0.2, 0.2]}, "detector", (0.2, 0.2)),
        (CR, {"ImagerPixelSpacing": [0.2, 0.2], "PixelSpacing": [0.2, 0.2]}, "detector",
         (0.2, 0.2)),
        (CR, {"ImagerPixelSpacing": [0.2, 0.2], "PixelSpacing": [0.18, 0.18],
              "PixelSpacingCalibrationType": "GEOMETRY"}, "calibrated", (0.18, 0.18)),
        (MG, {"ImagerPixelSpacing": [0.1, 0.1],
              "EstimatedRadiographicMagnificationFactor": 1.25}, "magnification", (0.08, 0.08)),
        (CR, {"PixelSpacing": [0.15, 0.15]}, "unknown", (0.15, 0.15)),
        ("1.2.840.10008.5.1.4.1.1.7", {"NominalScannedPixelSpacing": [0.3, 0.3]}, "scanned",
         (0.3, 0.3)),
        (CR, {}, "none", None),
    ],
)
def test_spacing_meaning_follows_ps33_10_7_1_3(
    sop: str, attrs: dict, kind: str, spacing: tuple[float, float] | None
) -> None:
    got = spacing_of(_ds(sop, **attrs))
    assert got.kind == kind
    if spacing is None:
        assert got.spacing is None
    else:
        np.testing.assert_allclose(got.spacing, spacing, rtol=1e-9)


def test_real_mammogram_spacing_is_corrected_by_its_magnification_factor() -> None:
    series = ImageSeries.from_paths([shared("pixel_pipeline/overlay/OutOfBoundsOverlay.dcm")])
    f = series.frames[0]
    assert f.spacing.kind == "magnification"
    np.testing.assert_allclose(f.spacing.spacing, (0.085 / 1.0433386837881,) * 2, rtol=1e-9)
    assert (f.laterality, f.view_position) == ("L", "CC")
    assert f.orientation == ("R", "P")


def test_cr_with_equal_pixel_and_imager_spacing_is_at_detector_and_lossy() -> None:
    series = ImageSeries.from_paths([shared("pixel_pipeline/monochrome1/Monochrome1-Jpeg.dcm")])
    d = series.describe()
    assert d["spacing_kind"] == "detector" and d["pixel_spacing"] == [0.175, 0.175]
    assert d["lossy"] and "lossy" in d["warnings"]
    assert d["photometric"] == "MONOCHROME1"


def test_patient_orientation_gives_the_edge_letters() -> None:
    ds = _ds(CR, PatientOrientation=["A", "FR"])
    assert patient_orientation(ds) == ("A", "FR")
    assert edge_labels(("A", "FR")) == {"right": "A", "left": "P", "bottom": "FR", "top": "HL"}
    assert opposite_letters("HLA") == "FRP"
    assert patient_orientation(_ds(CR, PatientOrientation="")) is None
    rg3 = ImageSeries.from_paths([shared("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm")])
    assert rg3.frames[0].orientation == ("R", "F")


def test_cine_timing_from_vector_time_and_rates() -> None:
    ds = _ds(CR, FrameTimeVector=[0, 40, 50, 60])
    assert frame_times_ms(ds, 4) == [40.0, 50.0, 60.0, 50.0]
    assert frame_times_ms(_ds(CR, FrameTime=33), 3) == [33.0] * 3
    assert frame_times_ms(_ds(CR, CineRate=25), 2) == [40.0, 40.0]
    assert frame_times_ms(_ds(CR, RecommendedDisplayFrameRate=10), 1) == [100.0]
    assert frame_times_ms(_ds(CR), 5) is None
    xa = ImageSeries.from_paths(
        [shared("transfer_syntaxes/variants/XA_96frames_jpeg_HasFragmentSequence.dcm")]
    )
    assert len(xa) == 96 and xa.frame_interval_ms(10) == 33.0


def test_multiframe_frames_decode_one_at_a_time_like_to_display() -> None:
    path = shared("pixel_pipeline/multiframe/NM-MONO2-16-13x-heart.dcm")
    series = ImageSeries.from_paths([path])
    assert len(series) == 13
    for n in (0, 7, 12):
        want = pixels.to_display(path, n)
        np.testing.assert_array_equal(series.display(n), want)
        np.testing.assert_array_equal(series.values(n), pixels.read_frame(path, n))
    assert series.default_window(0) == (70.0, 141.0)


def test_palette_frames_become_rgb_like_dcmtk() -> None:
    from PIL import Image

    series = ImageSeries.from_paths([shared("pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm")])
    assert len(series) == 10 and series.colour
    assert series.frame_interval_ms(3) == 76.0
    want = np.asarray(Image.open(
        shared("pixel_pipeline/expected_dcmtk/US-PAL-8-10x-echo_rle_F1.png")).convert("RGB"))
    np.testing.assert_array_equal(series.values(0), want)


def test_instances_ordered_by_instance_number_then_acquisition(tmp_path: Path) -> None:
    paths = []
    for n, (number, time) in enumerate([(3, "100000"), (1, "120000"), (2, "110000")]):
        arr = np.full((8, 10), 100 * (n + 1), dtype=np.uint16)
        paths.append(write_dx(tmp_path / f"f{n}.dcm", arr, instance_number=number,
                              AcquisitionDate="20260101", AcquisitionTime=time))
    by_number = ImageSeries.from_paths(paths)
    assert [f.instance_number for f in by_number.frames] == [1, 2, 3]
    assert [int(by_number.values(k)[0, 0]) for k in range(3)] == [200, 300, 100]
    by_time = ImageSeries.from_paths(paths, order="acquisition")
    assert [f.instance_number for f in by_time.frames] == [3, 2, 1]


@pytest.mark.parametrize(
    ("relpath", "kind", "frames"),
    [
        ("ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing", "volume", None),
        ("transfer_syntaxes/wg04/RG3/RG3_UNC.dcm", "image", 1),
        ("transfer_syntaxes/wg04/US1/US1_UNC.dcm", "image", 1),
        ("pixel_pipeline/color/TestPattern_RGB.dcm", "image", 1),  # SC colour, has IPP/IOP
        ("pixel_pipeline/palette/US-PAL-8-10x-echo_rle.dcm", "image", 10),
        ("transfer_syntaxes/wg04/VL1/VL1_UNC.dcm", "image", 1),
    ],
)
def test_load_series_chooses_volume_or_images(relpath: str, kind: str, frames: int | None) -> None:
    index = scan(shared(relpath))
    entry = max(index.series.values(), key=lambda s: len(s.instances))
    got = load_series(entry)
    if kind == "volume":
        assert isinstance(got, Volume)
    else:
        assert isinstance(got, ImageSeries) and len(got) == frames


def test_frame_cache_is_bounded(tmp_path: Path) -> None:
    arr = np.arange(5 * 64 * 64, dtype=np.uint16).reshape(5, 64, 64) % 4000
    path = write_dx(tmp_path / "mf.dcm", arr, NumberOfFrames=5, FrameTime=40)
    series = ImageSeries.from_paths([path])
    series.cache_bytes = 2 * 64 * 64 * 2
    for n in range(5):
        np.testing.assert_array_equal(series.values(n), arr[n])
    assert len(series._cache) == 2
    assert series.frame_interval_ms(0) == 40.0


@pytest.mark.parametrize(
    ("relpath", "spacing"),
    [
        ("pixel_pipeline/palette/OBXXXX1A.dcm", 0.2622878766196998),  # 1 tissue region
        ("pixel_pipeline/palette/gdcm-US-ALOKA-16.dcm", 0.3826530650258064),  # 2 that agree
        ("transfer_syntaxes/wg04/US1/US1_UNC.dcm", None),  # no regions
    ],
)
def test_ultrasound_spacing_from_its_regions(relpath: str, spacing: float | None) -> None:
    got = ImageSeries.from_paths([shared(relpath)]).frames[0].spacing
    if spacing is None:
        assert got.kind == "none" and got.spacing is None
    else:
        assert got.kind == "region" and got.label == "ultrasound region"
        np.testing.assert_allclose(got.spacing, (spacing, spacing), rtol=1e-9)


def test_ultrasound_regions_that_disagree_give_no_spacing() -> None:
    def region(delta: float) -> Dataset:
        return _ds("", RegionSpatialFormat=1, PhysicalUnitsXDirection=3,
                   PhysicalUnitsYDirection=3, PhysicalDeltaX=delta, PhysicalDeltaY=delta)

    ds = _ds("1.2.840.10008.5.1.4.1.1.6.1", SequenceOfUltrasoundRegions=[region(0.02),
                                                                          region(0.03)])
    assert spacing_of(ds).kind == "none"


def test_frames_that_each_form_their_own_plane_are_shown_as_images() -> None:
    """fo-dicom's MOVEKNEE enhanced MR: 19 frames that assemble splits into 19 one-slice
    volumes; a stack of 2-D frames is the useful display."""
    entry = next(iter(scan(shared("pixel_pipeline/multiframe/MOVEKNEE_EnhancedMR_19f.dcm"))
                      .series.values()))
    got = load_series(entry)
    assert isinstance(got, ImageSeries) and len(got) == 19
    assert any(w.startswith("not a volume: 19 frames in different planes") for w in got.warnings)
    assert got.values(18).shape == (256, 256)


def test_padding_pixels_do_not_widen_the_default_window(tmp_path: Path) -> None:
    arr = np.full((20, 20), 4095, dtype=np.uint16)  # padding around a 100..300 ramp
    arr[5:15, 5:15] = np.linspace(100, 300, 100).reshape(10, 10).astype(np.uint16)
    plain = ImageSeries.from_paths([write_dx(tmp_path / "a.dcm", arr)])
    assert plain.default_window(0) == (100 + 3996 / 2, 3996.0)  # dcmj2pnm +Wm
    padded = ImageSeries.from_paths([write_dx(tmp_path / "b.dcm", arr, PixelPaddingValue=4095)])
    assert padded.default_window(0) == (100 + 201 / 2, 201.0)


def _add_overlay(path: Path, group: int, planes: np.ndarray, **extra: int) -> None:
    """Add a (60xx,3000) overlay of ``planes`` ((frames,) rows, cols bool) to a file."""
    import pydicom
    from pydicom.pixels import pack_bits

    ds = pydicom.dcmread(path)
    rows, cols = planes.shape[-2:]
    ds.add_new((group, 0x0010), "US", rows)
    ds.add_new((group, 0x0011), "US", cols)
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0050), "SS", [1, 1])
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    if "frames" in extra:
        ds.add_new((group, 0x0015), "IS", extra["frames"])
    if "origin" in extra:
        ds.add_new((group, 0x0051), "US", extra["origin"])
    ds.add_new((group, 0x3000), "OW", pack_bits(planes.astype(np.uint8).ravel()))
    ds.save_as(path)


def test_multiframe_overlay_frames_go_on_their_own_image_frames(tmp_path: Path) -> None:
    """PS3.3 C.9.3.1.1: overlay frame k lies on image frame Image Frame Origin + k."""
    arr = np.full((4, 16, 16), 500, dtype=np.uint16)
    path = write_dx(tmp_path / "mf.dcm", arr, NumberOfFrames=4, FrameTime=40)
    planes = np.zeros((2, 16, 16), dtype=bool)
    planes[0, 3, :] = True  # overlay frame 1: a row, on image frame 2
    planes[1, :, 5] = True  # overlay frame 2: a column, on image frame 3
    _add_overlay(path, 0x6000, planes, frames=2, origin=2)
    series = ImageSeries.from_paths([path])
    assert series.overlay_mask(0) is None and series.overlay_mask(3) is None
    np.testing.assert_array_equal(series.overlay_mask(1), planes[0])
    np.testing.assert_array_equal(series.overlay_mask(2), planes[1])


def test_multiframe_overlay_without_origin_starts_at_frame_one(tmp_path: Path) -> None:
    arr = np.full((3, 8, 8), 7, dtype=np.uint16)
    path = write_dx(tmp_path / "mf.dcm", arr, NumberOfFrames=3)
    planes = np.zeros((3, 8, 8), dtype=bool)
    for k in range(3):
        planes[k, k, k] = True  # a different single bit on each frame
    _add_overlay(path, 0x6002, planes, frames=3)
    one = np.zeros((8, 8), dtype=bool)
    one[1:3, 1:3] = True
    _add_overlay(path, 0x6004, one)  # single-frame overlay: on every frame
    series = ImageSeries.from_paths([path])
    for k in range(3):
        np.testing.assert_array_equal(series.overlay_mask(k), planes[k] | one)
