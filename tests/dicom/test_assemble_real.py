"""Volume assembly on real third-party series (../shared/data), against their header oracles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.shared_data import shared
from viewer.dicom.assemble import AssembleError, assemble, describe

GE = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing"
PHILIPS = "ct_gantry_tilt/Philips_Ingenuity_tilt-18.5"


def _geometry_oracle(folder: str) -> dict:
    for entry in json.loads(
        shared("ct_gantry_tilt/reference/geometry_from_dicom.json").read_text()
    ):
        if entry["dir"].endswith(folder.split("/")[-1]):
            return entry
    raise KeyError(folder)


def test_ge_tilt_sorted_along_normal_with_its_true_gaps() -> None:
    (vol,) = assemble(shared(GE))
    oracle = _geometry_oracle(GE)
    assert vol.dims == (512, 512, 28)
    normal = vol.geometry.normal
    along = vol.slice_positions @ normal
    np.testing.assert_allclose(along, oracle["position_along_normal_sorted_mm"], atol=1e-3)
    gaps = np.round(np.diff(along), 3)
    assert list(gaps[:13]) == [4.002] * 13
    assert gaps[13] == pytest.approx(1.081, abs=1e-3)
    assert list(gaps[14:]) == [6.999] * 13
    np.testing.assert_allclose(vol.slice_positions[0], oracle["first_ipp_sorted"], atol=1e-3)
    np.testing.assert_allclose(vol.slice_positions[-1], oracle["last_ipp_sorted"], atol=1e-3)
    assert [p.split("/")[-1] for p in vol.source_files] == oracle["files_in_sorted_order"]


def test_ge_tilt_and_non_uniform_spacing_are_reported() -> None:
    (vol,) = assemble(shared(GE))
    text = " | ".join(vol.warnings)
    assert "gantry tilt 18.5 degrees" in text
    assert "non-uniform spacing" in text
    assert "missing slice" not in text  # 1.081 and 6.999 are not multiples of 4.002
    assert vol.tilt_degrees == pytest.approx(18.5, abs=0.05)
    assert not vol.uniform
    # the k axis is the stack direction (0,0,1), sheared against the normal
    np.testing.assert_allclose(vol.geometry.direction[:, 2], [0, 0, 1], atol=1e-6)
    assert vol.geometry.shear_degrees == pytest.approx(18.5, abs=0.05)


def test_philips_tilt_skips_dirfile_and_uses_iop_not_the_tilt_tag() -> None:
    (vol,) = assemble(shared(PHILIPS))
    assert vol.dims == (512, 512, 54)
    gaps = np.diff(vol.slice_positions @ vol.geometry.normal)
    np.testing.assert_allclose(gaps, 2.3708, atol=1e-3)
    assert vol.geometry.spacing[2] == pytest.approx(2.5, abs=1e-4)  # table increment along k
    assert "gantry tilt 18.5 degrees" in vol.warnings  # tag says -18.5: geometry from IOP/IPP
    assert not any("spacing" in w for w in vol.warnings)
    assert any("1 file(s) skipped" in w and "DIRFILE" in w for w in vol.warnings)
    assert vol.uniform


def test_ge_voxels_equal_the_files_in_position_order() -> None:
    import pydicom

    (vol,) = assemble(shared(GE))
    for k in (0, 13, 14, 27):
        ds = pydicom.dcmread(vol.source_files[k])
        expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        np.testing.assert_array_equal(vol.array[k], expected)
    assert vol.array.dtype == np.int16


def test_philips_unsigned_with_intercept_gives_hu() -> None:
    import pydicom

    (vol,) = assemble(shared(PHILIPS))
    ds = pydicom.dcmread(vol.source_files[20])
    expected = ds.pixel_array.astype(np.int32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(vol.array[20], expected)
    assert vol.array.min() >= -1024
    assert vol.rescale_type == "HU"


def test_decubitus_sagittal_same_geometry_and_labels() -> None:
    (hfs,) = assemble(shared("mr_orientation/decubitus_HFS_t1_sag"))
    (hfdr,) = assemble(shared("mr_orientation/decubitus_HFDR_t1_sag"))
    np.testing.assert_allclose(hfs.geometry.affine, hfdr.geometry.affine, atol=1e-6)
    d = describe(hfs)
    # IOP (0,1,0)/(0,0,-1): i runs to P (screen right edge P, left A), j to F (top H)
    assert d["orientation"]["i"] == "P" and d["orientation"]["j"] == "F"
    assert d["spacing"][2] == pytest.approx(4.8, abs=1e-3)
    assert hfs.dims == (256, 256, 35)


def test_coronal_stack_geometry() -> None:
    (vol,) = assemble(shared("mr_orientation/dcm4che_MR_coronal_16"))
    d = describe(vol)
    assert d["dims"] == [256, 256, 16]
    assert d["spacing"][2] == pytest.approx(2.0, abs=1e-4)
    assert d["orientation"] == {"i": "L", "j": "F", "k": "P"}
    assert d["warnings"] == []


@pytest.mark.parametrize(
    "name", ["philips_1901_pCASL", "philips_1903_pCASL_source", "philips_2001_fieldmap"]
)
def test_enhanced_equals_classic(name: str) -> None:
    base = f"mr_enhanced_vs_classic/{name}"
    classic = assemble(shared(f"{base}/classic"))
    enhanced = assemble(shared(f"{base}/enhanced"))
    assert len(classic) == len(enhanced)
    for c, e in zip(classic, enhanced, strict=True):
        np.testing.assert_allclose(c.geometry.affine, e.geometry.affine, atol=1e-5)
        assert c.array.dtype == e.array.dtype
        np.testing.assert_array_equal(c.array, e.array)
        assert c.split_reason == e.split_reason


def test_fieldmap_splits_into_echo_and_phase_volumes_with_per_frame_rescale() -> None:
    vols = assemble(shared("mr_enhanced_vs_classic/philips_2001_fieldmap/enhanced"))
    assert len(vols) == 4
    assert all(v.dims == (80, 80, 53) for v in vols)
    reasons = sorted(v.split_reason for v in vols)
    assert reasons == sorted(
        f"split by echo time {te} ms, image type {kind}"
        for te in ("2.3", "4.6")
        for kind in ("MAGNITUDE", "PHASE")
    )
    phase = [v for v in vols if "PHASE" in v.split_reason]
    # phase: slope 1.53455, intercept -3142 -> values reach about -3142
    assert all(v.array.min() < -3000 for v in phase)
    assert all("series split into 4 volumes" in v.warnings for v in vols)


def test_asl_source_splits_repetitions_of_the_same_positions() -> None:
    vols = assemble(shared("mr_enhanced_vs_classic/philips_1903_pCASL_source/classic"))
    assert len(vols) == 6
    assert all(v.dims == (96, 96, 40) for v in vols)
    assert "repetition 1 of 6" in vols[0].split_reason


def test_double_oblique_1901_matches_header_oracle() -> None:
    oracle = json.loads(
        shared("mr_enhanced_vs_classic/reference/geometry_from_dicom_1901_classic.json").read_text()
    )
    oracle = oracle[0] if isinstance(oracle, list) else oracle
    (vol,) = assemble(shared("mr_enhanced_vs_classic/philips_1901_pCASL/enhanced"))
    np.testing.assert_allclose(vol.slice_positions[0], oracle["first_ipp_sorted"], atol=1e-3)
    np.testing.assert_allclose(vol.slice_positions[-1], oracle["last_ipp_sorted"], atol=1e-3)
    assert vol.geometry.spacing[2] == pytest.approx(4.0, abs=1e-3)
    assert vol.warnings == []


def test_non_image_only_folder_is_refused_clearly(tmp_path) -> None:
    src = shared(f"{PHILIPS}/DIRFILE")
    with pytest.raises(AssembleError, match="DIRFILE"):
        assemble([src])


def test_ge_regular_keeps_the_shear_and_the_end_slices() -> None:
    (vol,) = assemble(shared(GE))
    reg = vol.regular()
    assert reg.uniform and reg.dims[:2] == (512, 512)
    np.testing.assert_allclose(reg.geometry.direction, vol.geometry.direction, atol=1e-9)
    assert reg.geometry.shear_degrees == pytest.approx(18.5, abs=0.05)
    np.testing.assert_allclose(reg.slice_positions[[0, -1]], vol.slice_positions[[0, -1]])
    np.testing.assert_array_equal(reg.array[0], vol.array[0])
    np.testing.assert_array_equal(reg.array[-1], vol.array[-1])
    # median IPP step 4.22 mm (4.002 mm along the normal) over 151.9 mm: 37 slices
    assert (
        reg.dims[2]
        == round(float(np.linalg.norm(np.ptp(vol.slice_positions, axis=0))) / 4.2203) + 1
    )
