"""Parallel decoding: same pixels as in-process, order kept, progress, cancel, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import shared
from viewer.dicom.errors import DicomReadError
from viewer.dicom.parallel import DecodeCancelled, decode_files, decode_frames
from viewer.dicom.pixels import read_frames

pytestmark = pytest.mark.timeout(120)

MIXED = [
    "transfer_syntaxes/wg04/CT1/CT1_J2KR.dcm",  # process pool
    "transfer_syntaxes/wg04/CT1/CT1_UNC.dcm",  # in-process
    "transfer_syntaxes/wg04/NM1/NM1_JLSL.dcm",
    "transfer_syntaxes/variants/emri_small_RLE.dcm",
    "transfer_syntaxes/dcm_qa_ts/3.dcm",  # big endian, in-process
    "transfer_syntaxes/wg04/US1/US1_J2KR.dcm",
]


def test_decode_files_keeps_order_and_pixels() -> None:
    paths = [shared(p) for p in MIXED]
    calls: list[tuple[int, int]] = []
    arrays = decode_files(paths, workers=2, progress=lambda d, t: calls.append((d, t)))
    assert len(arrays) == len(paths)
    for path, arr in zip(paths, arrays, strict=True):
        np.testing.assert_array_equal(arr, read_frames(path), err_msg=path.name)
    assert [d for d, _ in calls] == list(range(1, len(paths) + 1))
    assert {t for _, t in calls} == {len(paths)}


def test_decode_files_cancel() -> None:
    cancel = threading.Event()
    paths = [shared(p) for p in MIXED] * 3

    def stop(done: int, total: int) -> None:
        if done >= 2:
            cancel.set()

    with pytest.raises(DecodeCancelled):
        decode_files(paths, workers=2, progress=stop, cancel=cancel)
    cancel.set()
    with pytest.raises(DecodeCancelled):
        decode_files(paths, workers=2, cancel=cancel)


def test_decode_files_errors_collected_or_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(shared(MIXED[0]).read_bytes()[:5000])
    paths = [shared(MIXED[0]), bad, shared(MIXED[2])]
    errors: list[str] = []
    arrays = decode_files(paths, workers=2, errors=errors)
    assert len(arrays) == 2 and len(errors) == 1
    assert errors[0].startswith(f"{bad}: ")
    with pytest.raises(DicomReadError, match=r"bad\.dcm"):
        decode_files(paths, workers=2)


def test_decode_frames_of_multiframe_file() -> None:
    path = shared("transfer_syntaxes/variants/emri_small_jpeg_ls_lossless.dcm")
    whole = read_frames(path)
    np.testing.assert_array_equal(decode_frames(path, workers=2), whole)
    np.testing.assert_array_equal(decode_frames(path, [9, 0, 4], workers=2), whole[[9, 0, 4]])
    with pytest.raises(DicomReadError, match="frame 10 requested"):
        decode_frames(path, [10])


def test_read_error_survives_pickling_between_processes() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(DicomReadError("/x/y.dcm", "bad thing")))
    assert isinstance(err, DicomReadError)
    assert (err.path, err.reason, str(err)) == ("/x/y.dcm", "bad thing", "/x/y.dcm: bad thing")
