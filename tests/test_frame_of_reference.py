"""The Frame of Reference UID is a property of the assembled volume (PS3.3 C.7.4.1.1.1).

Oracle: the FrameOfReferenceUID of the real files (read with pydicom here). Two real
Philips series of one session (pCASL and a field map, shared corpus) share it, so their
scroll synchronisation maps by patient position; the UID survives the loader process,
regular(), the 3-D overview, and is dropped by the curved reformat (its own pixel frame).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from tests.shared_data import shared
from viewer.dicom.assemble import assemble
from viewer.dicom.geometry import Geometry
from viewer.dicom.volume import Volume
from viewer.sync import ScrollSync, frame_of_reference

PCASL = "mr_enhanced_vs_classic/philips_1901_pCASL/classic"
FIELDMAP = "mr_enhanced_vs_classic/philips_2001_fieldmap/classic"


def _header_uid(folder: str) -> str:
    first = sorted(shared(folder).glob("*.dcm"))[0]
    return str(pydicom.dcmread(first, stop_before_pixels=True).FrameOfReferenceUID)


@pytest.fixture(scope="module")
def real() -> tuple[Volume, Volume]:
    (pcasl,) = assemble(shared(PCASL))
    fieldmap = assemble(shared(FIELDMAP))[0]
    return pcasl, fieldmap


def test_assembled_volumes_carry_the_files_frame_of_reference(real) -> None:
    pcasl, fieldmap = real
    uid = _header_uid(PCASL)
    assert uid and uid == _header_uid(FIELDMAP)
    assert pcasl.frame_of_reference_uid == uid == fieldmap.frame_of_reference_uid
    assert frame_of_reference(pcasl) == uid
    assert "frame_of_reference_uid" not in pcasl.meta  # one place only
    # every volume of a split series keeps it (enhanced: top-level FoR)
    split = assemble(shared(FIELDMAP))
    assert len(split) > 1 and {v.frame_of_reference_uid for v in split} == {uid}
    enhanced = assemble(shared("mr_enhanced_vs_classic/philips_1901_pCASL/enhanced"))
    assert {v.frame_of_reference_uid for v in enhanced} == {uid}


def test_two_real_series_of_one_frame_sync_by_patient_position(real) -> None:
    pcasl, fieldmap = real
    sync = ScrollSync(pcasl, fieldmap)
    assert sync.mode == "frame"
    normal = fieldmap.geometry.normal
    fm_positions = np.asarray(fieldmap.slice_positions)
    for k in (0, pcasl.dims[2] // 2, pcasl.dims[2] - 1):
        p = np.asarray(pcasl.slice_positions[k])
        target = sync.slice_a_to_b(k)
        # oracle: the field-map slice nearest the same LPS point along its normal
        expected = int(np.argmin(np.abs(fm_positions @ normal - p @ normal)))
        assert target.k == expected
    other = Volume(pcasl.array, pcasl.geometry, slice_positions=pcasl.slice_positions,
                   frame_of_reference_uid="1.2.3.4")
    assert ScrollSync(other, fieldmap).mode == "offset"  # another frame: not comparable


def test_the_loader_process_and_derived_volumes_keep_it(real) -> None:
    from viewer.ui import loader
    from viewer.ui.curved_tool import cpr_volume
    from viewer.ui.grid import OVERVIEW_VOXELS, overview_volume

    pcasl, _ = real
    uid = pcasl.frame_of_reference_uid
    try:
        (loaded,) = loader.assemble(sorted(str(p) for p in shared(PCASL).glob("*.dcm")))
    finally:
        loader.shutdown()
    assert loaded.frame_of_reference_uid == uid
    assert np.array_equal(loaded.array, pcasl.array)
    # non-uniform stack: regular() resamples and keeps the frame
    g = Geometry((4, 4, 3), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3))
    uneven = Volume(np.zeros((3, 4, 4), np.int16), g, frame_of_reference_uid=uid,
                    slice_positions=np.array([[0, 0, 0], [0, 0, 1.0], [0, 0, 3.0]]))
    regular = uneven.regular()
    assert regular is not uneven and regular.frame_of_reference_uid == uid
    n = int(np.ceil(OVERVIEW_VOXELS / (64 * 64))) + 1
    big = Volume(np.zeros((n, 64, 64), np.int16),
                 Geometry((64, 64, n), (1.0, 1.0, 1.0), np.zeros(3), np.eye(3)),
                 frame_of_reference_uid=uid)
    small = overview_volume(big)
    assert small.array.shape == (n, 32, 32) and small.frame_of_reference_uid == uid

    class Image:  # a CurvedImage's fields cpr_volume reads
        values = np.ones((5, 6), np.float32)
        shape = (5, 6)
        col_spacing = row_spacing = 1.0
        kind = "panoramic"
        angle_deg = 0.0

    assert cpr_volume(Image(), pcasl).frame_of_reference_uid == ""  # not patient coordinates
