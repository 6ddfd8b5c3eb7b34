"""Compressed slices are decoded straight from their encapsulated Pixel Data value with the
header read once (viewer.dicom.assemble.decode_coded): the same stored values as the whole
decoder chain on the dataset (pixels.read_frames, itself checked against DCMTK in
test_codecs_corpus.py), on every grey compressed file of the shared corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from tests.shared_data import shared
from viewer.dicom import assemble as asm
from viewer.dicom import codecs
from viewer.dicom.errors import DicomReadError
from viewer.dicom.pixels import read_frames


def _grey_coded_files() -> list[Path]:
    out = []
    for path in sorted(shared("transfer_syntaxes").rglob("*.dcm")):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except pydicom.errors.InvalidDicomError:
            continue  # files without a Part 10 header (none is compressed)
        ts = str(getattr(ds.file_meta, "TransferSyntaxUID", ""))
        if ts in codecs.GIL_BOUND_SYNTAXES and int(ds.get("SamplesPerPixel", 1)) == 1:
            try:
                read_frames(path)
            except DicomReadError:
                continue  # no decoder here (12-bit JPEG extended): nothing to compare with
            out.append(path)
    return out


FILES = _grey_coded_files()


def _job(path: Path, frames: list[int] | None = None) -> asm._CodedJob:
    with open(path, "rb") as fp:
        ds = pydicom.dcmread(fp, stop_before_pixels=True)
        _, _, offset = asm._pixel_value_position(fp, ds)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    options = {
        "rows": int(ds.Rows), "columns": int(ds.Columns), "number_of_frames": n,
        "samples_per_pixel": 1, "bits_allocated": int(ds.BitsAllocated),
        "bits_stored": int(ds.BitsStored), "pixel_representation": int(ds.PixelRepresentation),
        "photometric_interpretation": str(ds.PhotometricInterpretation),
    }
    frames = list(range(n)) if frames is None else frames
    return asm._CodedJob(str(path), frames, offset, str(ds.file_meta.TransferSyntaxUID), options)


def test_the_corpus_has_every_kind_of_grey_compressed_file() -> None:
    syntaxes = {str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID)
                for p in FILES}
    for ts in (codecs.JPEG_LS_LOSSLESS, codecs.J2K_LOSSLESS, codecs.RLE, codecs.JPEG_BASELINE,
               codecs.JPEG_LOSSLESS_SV1):
        assert ts in syntaxes, ts


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_direct_decoding_equals_the_dataset_chain(path: Path) -> None:
    job = _job(path)
    assert job.offset is not None
    want = read_frames(path)
    got = asm._decode_encapsulated(job)  # not the fallback: it must work by itself
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(asm.decode_coded(job), want)


def test_some_frames_of_a_multiframe_file() -> None:
    path = shared("transfer_syntaxes/variants/emri_small_jpeg_2k_lossless.dcm")
    want = read_frames(path)
    got = asm._decode_encapsulated(_job(path, [7, 0, 3]))
    np.testing.assert_array_equal(got, want[[7, 0, 3]])


def test_a_file_cut_short_is_reported_through_the_dataset_chain(tmp_path: Path) -> None:
    src = shared("transfer_syntaxes/wg04/CT1/CT1_J2KR.dcm")
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(src.read_bytes()[:-20000])
    with pytest.raises(Exception, match=r"cut\.dcm"):
        asm.decode_coded(_job(bad))


def test_jobs_spread_a_multiframe_file_and_group_single_frames() -> None:
    """A 300-frame enhanced object is cut into runs for every worker (it used to be one
    job, one core); 600 single-frame files go four to a job; every frame once, in order."""
    big = [(Path("/x/enhanced.dcm"), [(k, k) for k in range(300)])]
    chunks = asm._coded_chunks(big, n_workers=2)
    assert len(chunks) >= 8
    frames = [f for chunk in chunks for _, items in chunk for _, f in items]
    assert frames == list(range(300))
    singles = [(Path(f"/x/{k}.dcm"), [(k, 0)]) for k in range(600)]
    chunks = asm._coded_chunks(singles, n_workers=2)
    assert [len(c) for c in chunks] == [4] * 150
    assert [p for c in chunks for p, _ in c] == [p for p, _ in singles]
