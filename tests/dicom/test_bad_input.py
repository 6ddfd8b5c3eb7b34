"""Bad input: a clear error naming the file, the rest of the series loads, nothing hangs.

Each case damages a copy of one real CT slice (GE HiSpeed, 512x512) inside a
copy of its series; headers are checked before any decoding, so a
60000x60000 header never allocates its 7 GB.
"""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import pydicom
import pytest

from tests.shared_data import shared
from viewer.dicom.errors import DicomReadError
from viewer.dicom.index import scan
from viewer.dicom.parallel import decode_files
from viewer.dicom.pixels import read_frame, read_frames

SERIES = "ct_gantry_tilt/GE_HiSpeedDual_tilt+18.5_variable_spacing"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def series_copy(tmp_path: Path) -> Path:
    """Six real slices of one series, plus a README and a PNG (not DICOM)."""
    folder = tmp_path / "series"
    folder.mkdir()
    for n in range(1, 7):
        shutil.copy(shared(f"{SERIES}/{n:02d}.dcm"), folder / f"{n:02d}.dcm")
    (folder / "README.txt").write_text("not an image\n")
    (folder / "thumb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return folder


def _edit(path: Path, **attrs: object) -> None:
    ds = pydicom.dcmread(path)
    for key, value in attrs.items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)


def _assert_only_bad_file_fails(folder: Path, bad: Path, reason: str) -> None:
    index = scan(folder)
    assert len(index.series) == 1
    (series,) = index.series.values()
    assert len(series.instances) == 5
    assert bad not in [i.path for i in series.instances]
    assert len(index.errors) == 1, index.errors
    assert index.errors[0].startswith(f"{bad}: ")
    assert reason in index.errors[0]
    assert sorted(Path(s.split(":")[0]).name for s in index.skipped) == ["README.txt", "thumb.png"]
    # the good files still decode, the bad one raises a DicomReadError naming it
    arrays = decode_files([i.path for i in series.instances], workers=1)
    assert all(a.shape == (1, 512, 512) for a in arrays)
    with pytest.raises(DicomReadError) as info:
        read_frames(bad)
    assert str(info.value).startswith(f"{bad}: ")


def test_truncated_pixel_data(series_copy: Path) -> None:
    bad = series_copy / "03.dcm"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    _assert_only_bad_file_fails(series_copy, bad, "truncated")


def test_truncated_inside_header(series_copy: Path) -> None:
    bad = series_copy / "04.dcm"
    bad.write_bytes(bad.read_bytes()[:700])
    index = scan(series_copy)
    assert any(e.startswith(f"{bad}: ") for e in index.errors), index.errors
    (series,) = index.series.values()
    assert len(series.instances) == 5
    with pytest.raises(DicomReadError, match=str(bad)):
        read_frames(bad)


def test_wrong_pixel_data_length(series_copy: Path) -> None:
    bad = series_copy / "02.dcm"
    ds = pydicom.dcmread(bad)
    ds.PixelData = ds.PixelData[: 512 * 256 * 2]  # half the frame
    ds.save_as(bad, enforce_file_format=True)
    _assert_only_bad_file_fails(series_copy, bad, "Pixel Data has 262144 bytes")


def test_missing_rows(series_copy: Path) -> None:
    bad = series_copy / "05.dcm"
    _edit(bad, Rows=None)
    _assert_only_bad_file_fails(series_copy, bad, "missing or zero Rows")


def test_missing_patient_geometry_is_indexed_without_position(series_copy: Path) -> None:
    """No Image Position/Orientation: indexed (the assembler decides), decodable."""
    bad = series_copy / "06.dcm"
    _edit(bad, ImagePositionPatient=None, ImageOrientationPatient=None)
    index = scan(series_copy)
    (series,) = index.series.values()
    entry = next(i for i in series.instances if i.path == bad)
    assert entry.image_position is None and entry.image_orientation is None
    assert read_frames(bad).shape == (1, 512, 512)


def test_huge_header_refused_before_decoding(series_copy: Path) -> None:
    bad = series_copy / "01.dcm"
    _edit(bad, Rows=60000, Columns=60000)
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(DicomReadError, match="too large") as info:
            read_frames(bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 5
    assert peak < 50 * 1024**2
    assert "60000x60000" in str(info.value)
    _assert_only_bad_file_fails(series_copy, bad, "too large")
    with pytest.raises(DicomReadError, match="too large"):
        read_frame(bad, 0)


def test_jpeg_xl_refused_clearly() -> None:
    src = shared("transfer_syntaxes/variants/JPEGXL_US_multiframe_will-jxl.dcm")
    index = scan(src)
    (series,) = index.series.values()
    assert series.lossy and series.transfer_syntaxes == ["1.2.840.10008.1.2.4.111"]
    with pytest.raises(DicomReadError) as info:
        read_frames(src)
    assert str(info.value) == (
        f"{src}: transfer syntax JPEG XL JPEG Recompression (1.2.840.10008.1.2.4.111)"
        " is not supported by this viewer"
    )


def test_unknown_transfer_syntax_uid(series_copy: Path) -> None:
    bad = series_copy / "02.dcm"
    raw = bytearray(bad.read_bytes())
    ts = b"1.2.840.10008.1.2.1\0"
    at = raw.index(ts)
    raw[at : at + len(ts)] = b"1.2.3.4.5.6.7.8.999\0"  # same length, File Meta stays valid
    bad.write_bytes(bytes(raw))
    with pytest.raises(DicomReadError, match=r"1\.2\.3\.4\.5\.6\.7\.8\.999.*not supported"):
        read_frames(bad)


def test_missing_path_and_not_dicom(tmp_path: Path) -> None:
    index = scan(tmp_path / "nothing-here")
    assert index.errors == [f"{tmp_path / 'nothing-here'}: no such file or folder"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    index = scan(text)
    assert not index.series and not index.errors and len(index.skipped) == 1
    with pytest.raises(DicomReadError, match=r"notes\.txt: unreadable DICOM file"):
        read_frames(text)


def test_missing_pixel_representation_is_reported() -> None:
    src = shared("pixel_pipeline/multiframe/MultiframeWindowing_perframe_voi_noPixelRep.dcm")
    with pytest.raises(DicomReadError, match=r"missing Pixel Representation"):
        read_frames(src)


def test_multiframe_refused_when_memory_is_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """All frames must fit in free memory; one frame alone still decodes."""
    import psutil

    class Tight:
        available = 50_000  # bytes: 10 frames of 64x64x2 need 81920, one 8192

    src = shared("transfer_syntaxes/variants/emri_small_jpeg_ls_lossless.dcm")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tight())
    with pytest.raises(DicomReadError, match=r"needs .* GiB but only .* free"):
        read_frames(src)
    assert read_frame(src, 3).shape == (64, 64)
