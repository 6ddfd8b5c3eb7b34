"""Header-only index of files, folders and DICOMDIR (Patient / Study / Series / Instance)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.dicom import dcmtk
from tests.shared_data import shared
from viewer.dicom.index import scan

GE = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing"
PHILIPS = "ct_gantry_tilt/Philips_Ingenuity_tilt-18.5"


def test_folder_recursive_two_series_and_dirfile_skipped() -> None:
    index = scan(shared("ct_gantry_tilt"))
    assert index.errors == []
    sizes = sorted(len(s.instances) for s in index.series.values())
    assert sizes == [28, 54]  # Philips: 54 images, its DIRFILE is not an instance
    assert any(s.endswith("DIRFILE: media directory (DICOMDIR)") for s in index.skipped)
    assert len(index.studies) == 2 and len(index.patients) == 2
    ge = next(s for s in index.series.values() if len(s.instances) == 28)
    assert ge.modality == "CT" and ge.number == 2
    first = ge.instances[0]
    assert (first.rows, first.columns, first.number_of_frames) == (512, 512, 1)
    assert first.transfer_syntax_uid == "1.2.840.10008.1.2.1" and first.lossy is False
    assert first.image_position is not None and len(first.image_position) == 3
    assert first.image_orientation is not None and len(first.image_orientation) == 6
    assert first.pixel_spacing is not None
    numbers = [i.instance_number for i in ge.instances]
    assert numbers == sorted(numbers)


def test_header_only_no_pixel_values_loaded() -> None:
    """Scanning never reads Pixel Data values: deferred elements only."""
    index = scan(shared(f"{GE}/01.dcm"))
    (series,) = index.series.values()
    ds = pydicom.dcmread(series.instances[0].path, defer_size=4096)
    raw = ds.get_item("PixelData", keep_deferred=True)
    assert raw.value is None and raw.length == 512 * 512 * 2


def test_philips_dirfile_used_as_dicomdir() -> None:
    """The Philips DIRFILE references S21610/S2010/I*; the copy is flat beside it."""
    index = scan(shared(f"{PHILIPS}/DIRFILE"))
    assert index.errors == []
    (series,) = index.series.values()
    assert len(series.instances) == 54
    assert series.description == "STEREOTAXIS"


@pytest.mark.integration
def test_dicomdir_written_by_dcmmkdir(tmp_path: Path) -> None:
    data = tmp_path / "DATA"
    data.mkdir()
    for n in (1, 2, 3):
        shutil.copy(shared(f"{GE}/{n:02d}.dcm"), data / f"IM{n:02d}")
    shutil.copy(shared(f"{GE}/04.dcm"), data / "IM04")  # on the medium but not in DICOMDIR
    import subprocess

    subprocess.run([dcmtk.require("dcmmkdir"), "+r", "+I", "+id", str(tmp_path),
                    "DATA/IM01", "DATA/IM02", "DATA/IM03"],
                   cwd=tmp_path, check=True, capture_output=True)
    index = scan(tmp_path / "DICOMDIR")
    (series,) = index.series.values()
    assert sorted(i.path.name for i in series.instances) == ["IM01", "IM02", "IM03"]
    # the same folder scanned as a folder finds the fourth file and skips DICOMDIR
    folder = scan(tmp_path)
    (series,) = folder.series.values()
    assert len(series.instances) == 4
    assert any("DICOMDIR" in s for s in folder.skipped)


def test_no_preamble_file_and_missing_transfer_syntax() -> None:
    index = scan(shared("pixel_pipeline/monochrome1/CR-MONO1-10-chest_nometa.dcm"))
    assert index.errors == []
    (series,) = index.series.values()
    assert series.instances[0].transfer_syntax_uid == "1.2.840.10008.1.2"
    index = scan(shared("pixel_pipeline/palette/OT-PAL-8-face_nometaTS.dcm"))
    (series,) = index.series.values()
    assert series.instances[0].photometric == "PALETTE COLOR"


def test_documents_and_lossy_series_in_corpus() -> None:
    index = scan(shared("transfer_syntaxes/wg04/CT1"))
    lossy = {i.path.name: i.lossy for i in index.instances()}
    assert lossy["CT1_J2KI.dcm"] and lossy["CT1_JLSN.dcm"]
    assert not lossy["CT1_J2KR.dcm"] and not lossy["CT1_UNC.dcm"] and not lossy["CT1_JLSL.dcm"]
    docs = scan(shared("documents"))
    assert docs.documents, "SR/KOS/PDF objects are listed as documents"
    assert all(not d.rows for d in docs.documents)


def test_enhanced_multiframe_geometry_from_functional_groups() -> None:
    index = scan(shared("pixel_pipeline/multiframe/eCT_Supplemental_EnhancedCT_2f.dcm"))
    (series,) = index.series.values()
    entry = series.instances[0]
    assert entry.number_of_frames == 2
    assert entry.image_orientation == (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert entry.image_position is not None


def test_progress_and_cancel() -> None:
    calls: list[tuple[int, int]] = []
    scan(shared(GE), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (28, 28) and len(calls) == 28
    cancel = threading.Event()

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            cancel.set()

    index = scan(shared(GE), progress=stop_after_five, cancel=cancel)
    assert index.cancelled
    assert sum(len(s.instances) for s in index.series.values()) == 5


def test_missing_uids_get_stable_derived_ones() -> None:
    path = shared("transfer_syntaxes/variants/JLSL_RGB_ILV0.dcm")
    a, b = scan(path), scan(path)
    assert list(a.series) == list(b.series)
    assert a.warnings and "derived UIDs" in a.warnings[0]
    assert a.errors == []


def _ins_file(tmp_path: Path) -> Path:
    ds = pydicom.dcmread(shared(f"{GE}/01.dcm"))
    item = Dataset()
    item.PatientID = "279035121518989"
    item.IssuerOfPatientID = "ASIP-SANTE-INS-NIR"
    item.TypeOfPatientID = "TEXT"
    qualifier = Dataset()
    qualifier.UniversalEntityID = "1.2.250.1.213.1.4.8"
    qualifier.UniversalEntityIDType = "ISO"
    item.IssuerOfPatientIDQualifiersSequence = Sequence([qualifier])
    ds.OtherPatientIDsSequence = Sequence([item])
    ds.PatientID = "LOCAL123"
    ds.IssuerOfPatientID = "HOSP"
    out = tmp_path / "ins.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


def test_ins_from_other_patient_ids_sequence(tmp_path: Path) -> None:
    index = scan(_ins_file(tmp_path))
    (patient,) = index.patients.values()
    assert patient.patient_id == "LOCAL123" and patient.issuer == "HOSP"
    assert patient.ins == "279035121518989"
    assert patient.ins_oid == "1.2.250.1.213.1.4.8"
    assert patient.ins_kind == "INS-NIR"
