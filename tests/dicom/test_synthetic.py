"""The synthetic series writer: exact headers; encodings DCMTK decodes to the same values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.dicom import dcmtk
from viewer.dicom import synthetic as syn

N, ROWS, COLS = 6, 36, 40


def _values(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-1024, 2000, (N, ROWS, COLS)).astype(np.float64)


def test_headers_follow_the_spec(tmp_path: Path) -> None:
    iop, step = syn.tilted_axial(12.0)
    rescales = [(0.5, -1000.0 + k) for k in range(N)]
    paths = syn.write_series(
        tmp_path,
        _values(),
        iop=iop,
        step=step * 3,
        origin=(1, 2, 3),
        rescale=rescales,
        instance_order="reverse",
        gantry_tilt_tag=-12.0,
        pixel_spacing=(0.7, 0.9),
        drop=[2],
        series_number=7,
    )
    assert len(paths) == N - 1
    dss = [pydicom.dcmread(p) for p in paths]
    assert len({d.SeriesInstanceUID for d in dss}) == 1
    assert len({d.SOPInstanceUID for d in dss}) == N - 1
    assert (
        len({d.StudyInstanceUID for d in dss}) == 1
        and len({d.FrameOfReferenceUID for d in dss}) == 1
    )
    assert [int(d.InstanceNumber) for d in dss] == [5, 4, 3, 2, 1]
    written = [k for k in range(N) if k != 2]
    for d, k in zip(dss, written, strict=True):
        np.testing.assert_allclose(
            [float(v) for v in d.ImagePositionPatient], (1, 2, 3 + 3 * k), atol=1e-9
        )
        np.testing.assert_allclose([float(v) for v in d.ImageOrientationPatient], iop, atol=1e-9)
        assert (float(d.RescaleSlope), float(d.RescaleIntercept)) == rescales[k]
        assert all(len(str(v)) <= 16 for v in d.ImagePositionPatient)
    d = dss[0]
    assert d.Modality == "CT" and d.SeriesNumber == 7 and float(d.GantryDetectorTilt) == -12.0
    assert [float(v) for v in d.PixelSpacing] == [0.7, 0.9]
    assert (d.Rows, d.Columns) == (ROWS, COLS)
    assert d.file_meta.TransferSyntaxUID == syn.ExplicitVRLittleEndian


def test_shuffled_names_do_not_follow_position(tmp_path: Path) -> None:
    paths = syn.write_series(tmp_path, _values(), shuffle_names=True, seed=3)
    assert [p.name for p in paths] != sorted(p.name for p in paths)


@pytest.mark.integration
@pytest.mark.parametrize(
    "syntax",
    [
        syn.ImplicitVRLittleEndian,
        syn.ExplicitVRBigEndian,
        syn.DeflatedExplicitVRLittleEndian,
        syn.RLELossless,
        syn.JPEGLSLossless,
    ],
    ids=lambda u: u.name,
)
def test_dcmtk_decodes_our_encodings_to_the_stored_values(tmp_path: Path, syntax: str) -> None:
    v = _values(1)
    rescales = [(1.0, -1024.0)] * N
    paths = syn.write_series(tmp_path / "src", v, transfer_syntax=syntax, rescale=rescales)
    expected = syn.stored_values(v, rescales)
    for k in (0, N - 1):
        out = dcmtk.decompress(paths[k], tmp_path / f"dec{k}.dcm")
        ds = pydicom.dcmread(out)
        assert ds.file_meta.TransferSyntaxUID == syn.ExplicitVRLittleEndian
        np.testing.assert_array_equal(ds.pixel_array, expected[k])


def test_lossy_syntaxes_are_flagged(tmp_path: Path) -> None:
    for syntax in syn.LOSSY_SYNTAXES:
        (p, *_) = syn.write_series(tmp_path / syntax, _values(2), transfer_syntax=syntax)
        ds = pydicom.dcmread(p)
        assert ds.LossyImageCompression == "01"
        assert ds.file_meta.TransferSyntaxUID == syntax


def test_enhanced_object_has_functional_groups_in_frame_order(tmp_path: Path) -> None:
    rescales = [(1.0, -1024.0 + 2 * k) for k in range(N)]
    (p,) = syn.write_series(
        tmp_path,
        _values(3),
        enhanced=True,
        reverse_frames=True,
        rescale=rescales,
        modality="MR",
        drop=[1],
    )
    ds = pydicom.dcmread(p)
    assert ds.SOPClassUID == syn.ENHANCED_MR_IMAGE and int(ds.NumberOfFrames) == N - 1
    per = ds.PerFrameFunctionalGroupsSequence
    z = [float(f.PlanePositionSequence[0].ImagePositionPatient[2]) for f in per]
    assert z == [float(k) for k in (5, 4, 3, 2, 0)]  # reversed, slice 1 missing
    icpt = [float(f.PixelValueTransformationSequence[0].RescaleIntercept) for f in per]
    assert icpt == [-1024.0 + 2 * k for k in (5, 4, 3, 2, 0)]
    shared = ds.SharedFunctionalGroupsSequence[0]
    assert [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient] == [
        1,
        0,
        0,
        0,
        1,
        0,
    ]
    assert ds.pixel_array.shape == (N - 1, ROWS, COLS)


def test_quantize_is_what_stored_values_mean() -> None:
    v = np.array([[[10.2, -3.7]], [[100.0, 7.5]]])
    rescales = [(0.5, 1.0), (2.0, -1.0)]
    np.testing.assert_allclose(syn.quantize(v, rescales), [[[10.0, -3.5]], [[99.0, 7.0]]])
