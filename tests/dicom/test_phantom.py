"""The synthetic CT phantom: realistic HU, anatomy where it belongs, unmistakable orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewer.dicom import phantom
from viewer.dicom.assemble import assemble
from viewer.dicom.phantom import PhantomGeometry

GEO = PhantomGeometry(columns=128, rows=128, slices=40, pixel_mm=3.125, slice_mm=5.0)


@pytest.fixture(scope="module")
def volume(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("phantom")
    paths = phantom.write_phantom_series(
        folder, columns=128, rows=128, slices=40, pixel_mm=3.125, slice_mm=5.0
    )
    (vol,) = assemble(paths)
    return vol, paths


def _hu(vol, x: float, y: float, z: float) -> float:
    value, _ = vol.value_at((x, y, z))
    assert value is not None
    return value


def test_series_headers_are_a_plausible_ct(volume) -> None:
    vol, paths = volume
    assert len(paths) == 40
    ds = pydicom.dcmread(paths[0])
    assert ds.Modality == "CT" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.RescaleIntercept == -1024 and ds.BitsStored == 12 and ds.PixelRepresentation == 0
    assert ds.StudyInstanceUID and ds.SeriesInstanceUID and ds.FrameOfReferenceUID
    assert len({pydicom.dcmread(p).SeriesInstanceUID for p in paths}) == 1
    assert vol.dims == (128, 128, 40) and vol.warnings == []
    assert vol.rescale_type == "HU" and vol.window == (40.0, 400.0)


def test_tissues_have_realistic_hu(volume) -> None:
    vol, _ = volume
    z_thorax = GEO.z0 + 0.7 * (GEO.z_top - GEO.z0)
    z_abdomen = GEO.z0 + 0.2 * (GEO.z_top - GEO.z0)
    assert _hu(vol, 0, 0, z_thorax) == pytest.approx(40, abs=40)  # mediastinum / heart
    assert _hu(vol, -72, 40, z_thorax) == pytest.approx(-850, abs=40)  # right lung
    assert _hu(vol, 72, 40, z_thorax) == pytest.approx(-850, abs=40)  # left lung
    assert _hu(vol, -55, -5, z_abdomen) == pytest.approx(100, abs=40)  # liver (patient right)
    assert _hu(vol, 22, 32, z_abdomen) == pytest.approx(250, abs=40)  # aorta with contrast
    assert _hu(vol, 0, 150, z_abdomen) == pytest.approx(-1000, abs=30)  # air behind the table
    assert _hu(vol, 0, -104, z_abdomen) == pytest.approx(-100, abs=40)  # anterior fat
    assert vol.array.min() >= -1024 and vol.array.max() <= 3071
    noise = vol.array[20, 60:70, 55:65].std()
    assert 3 < noise < 20  # a bit of noise, as in a real scan


def test_bead_marks_left_anterior_head_end_only(volume) -> None:
    vol, _ = volume
    bx, by = phantom.bead_center(GEO)
    assert bx > 0 and by < 0  # patient left (+x), anterior (-y) in LPS
    top, bottom = GEO.z_top, GEO.z0
    assert _hu(vol, bx, by, top) > 2000
    assert _hu(vol, -bx, by, top) < 300  # not on the right
    assert _hu(vol, bx, -by, top) < 300  # not posterior
    assert _hu(vol, bx, by, bottom) < 300  # not at the feet end
    dense = np.argwhere(vol.array > 2000)  # (k, j, i)
    assert dense[:, 0].min() >= int(0.8 * (GEO.slices - 1))
    assert dense[:, 2].mean() > 64 and dense[:, 1].mean() < 64  # right half, top half of axial


def test_expected_hu_is_the_noise_free_truth(volume) -> None:
    vol, _ = volume
    rng = np.random.default_rng(1)
    for _ in range(20):
        p = (rng.uniform(-150, 150), rng.uniform(-100, 100), rng.uniform(GEO.z0, GEO.z_top))
        assert abs(_hu(vol, *p) - phantom.expected_hu(GEO, p)) <= 50


def test_enhanced_phantom_matches_classic(tmp_path: Path, volume) -> None:
    vol, _ = volume
    paths = phantom.write_phantom_series(
        tmp_path, columns=128, rows=128, slices=40, pixel_mm=3.125, slice_mm=5.0, enhanced=True
    )
    (enh,) = assemble(paths)
    np.testing.assert_array_equal(enh.array, vol.array)
    np.testing.assert_allclose(enh.geometry.affine, vol.geometry.affine)
