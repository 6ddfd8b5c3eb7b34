"""Geometry and voxels of assembled volumes against dcm2niix's NIfTI (an independent oracle).

dcm2niix reproduces ordinary and oblique stacks exactly (PLATFORM.md), so for
those its affine and voxels must describe the same voxels at the same patient
positions as ours, whatever axis order or flips it chose. Gantry-tilted
stacks are excluded: dcm2niix approximates them (the DICOM definition is
checked in test_assemble_*).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import shared
from viewer.dicom import synthetic as syn
from viewer.dicom.assemble import assemble

pytestmark = pytest.mark.integration

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _dcm2niix(src: Path, out: Path) -> list[Path]:
    if shutil.which("dcm2niix") is None:
        pytest.fail("dcm2niix is not installed (./run installs it)")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["dcm2niix", "-b", "n", "-z", "n", "-f", "%s_%e_%p", "-o", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return sorted(out.glob("*.nii"))


def _assert_same_volume(vol, nii_path: Path) -> None:
    import nibabel as nib

    img = nib.load(str(nii_path))
    data = np.asarray(img.dataobj, dtype=np.float64)  # applies scl_slope/scl_inter
    data = data.reshape(data.shape[:3])
    m_nii = LPS_FROM_RAS @ img.affine
    m_ours = vol.geometry.affine
    # voxel index of ours for each NIfTI index: must be a signed permutation
    t = np.linalg.solve(m_ours, m_nii)
    perm = np.rint(t[:3, :3])
    np.testing.assert_allclose(t[:3, :3], perm, atol=1e-3)
    np.testing.assert_allclose(t[:3, 3], np.rint(t[:3, 3]), atol=1e-3)
    assert sorted(np.abs(perm).sum(axis=0)) == [1, 1, 1]
    # bring the NIfTI array to ours (array[k, j, i])
    ours = vol.array.astype(np.float64)
    idx = np.indices(data.shape).reshape(3, -1)
    mapped = (perm @ idx + np.rint(t[:3, 3])[:, None]).astype(int)
    assert mapped.min() >= 0
    resampled = np.empty(ours.shape)
    resampled[mapped[2], mapped[1], mapped[0]] = data.reshape(-1)
    np.testing.assert_allclose(resampled, ours, rtol=1e-5, atol=1e-3)
    assert tuple(sorted(data.shape)) == tuple(sorted(vol.dims))


@pytest.mark.parametrize(
    "folder",
    [
        "mr_orientation/dcm4che_MR_coronal_16",
        "mr_orientation/decubitus_HFS_t1_sag",
        "mr_enhanced_vs_classic/philips_1901_pCASL/classic",
        "mr_enhanced_vs_classic/philips_1901_pCASL/enhanced",
    ],
)
def test_real_series_match_dcm2niix(tmp_path: Path, folder: str) -> None:
    (nii,) = _dcm2niix(shared(folder), tmp_path)
    (vol,) = assemble(shared(folder))
    _assert_same_volume(vol, nii)


def test_synthetic_double_oblique_shuffled_matches_dcm2niix(tmp_path: Path) -> None:
    v = np.random.default_rng(3).integers(-1000, 2000, (14, 48, 40)).astype(np.float64)
    syn.write_series(
        tmp_path / "dcm",
        v,
        iop=syn.oblique_iop((12.0, -25.0, 8.0)),
        origin=(-60.0, 20.0, -33.0),
        pixel_spacing=(0.8, 0.6),
        slice_spacing=2.2,
        instance_order="reverse",
        shuffle_names=True,
        rescale=(1.0, -1024.0),
    )
    (nii,) = _dcm2niix(tmp_path / "dcm", tmp_path / "nii")
    (vol,) = assemble(tmp_path / "dcm")
    _assert_same_volume(vol, nii)


def test_synthetic_enhanced_reversed_frames_match_dcm2niix(tmp_path: Path) -> None:
    v = np.random.default_rng(4).integers(0, 3000, (10, 32, 36)).astype(np.float64)
    syn.write_series(
        tmp_path / "dcm",
        v,
        iop=syn.oblique_iop((0.0, 20.0, 0.0)),
        modality="MR",
        enhanced=True,
        reverse_frames=True,
        rescale=(1.0, 0.0),
        slice_spacing=3.0,
    )
    (nii,) = _dcm2niix(tmp_path / "dcm", tmp_path / "nii")
    (vol,) = assemble(tmp_path / "dcm")
    _assert_same_volume(vol, nii)


def test_siemens_enhanced_time_series_matches_upstream_reference(tmp_path: Path) -> None:
    """4 enhanced files x 6 frames: one volume per time point, in dcm2niix's 4th-axis order."""
    import nibabel as nib

    ref = nib.load(
        str(
            shared(
                "mr_enhanced_vs_classic/reference/dcm_qa_enh_Ref/Siemens_REST1_w_SMS_PF7-8_6.nii"
            )
        )
    )
    data = np.asarray(ref.dataobj)
    vols = assemble(shared("mr_enhanced_vs_classic/dcm_qa_enh/Siemens_XA10"))
    assert len(vols) == data.shape[3] == 4
    for t, vol in enumerate(vols):
        one = tmp_path / f"t{t}.nii"
        nib.save(nib.Nifti1Image(data[..., t], ref.affine, ref.header), str(one))
        _assert_same_volume(vol, one)
        assert vol.split_reason == f"repetition {t + 1} of 4 at the same positions"
