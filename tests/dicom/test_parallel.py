"""Parallel decoding: same pixels as in-process, order kept, progress, cancel, errors."""

from __future__ import annotations

import threading
import time
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


def test_stuck_decoder_is_stopped_and_others_finish() -> None:
    from tests.dicom._workers import hang
    from viewer.dicom.parallel import _decode_file, _run

    good = str(shared(MIXED[0]))
    jobs = [(hang, ("/data/hostile.dcm",), False), (_decode_file, (good,), False),
            (_decode_file, (str(shared(MIXED[2])),), False)]
    errors: list[str] = []
    start = time.monotonic()
    results = _run(jobs, workers=2, progress=None, cancel=None, errors=errors, timeout=1.0)
    assert time.monotonic() - start < 30
    assert errors == ["/data/hostile.dcm: decoding took longer than 1 s and was stopped"]
    assert results[0] is None
    np.testing.assert_array_equal(results[1], read_frames(good))
    assert results[2] is not None


def test_crashed_decoder_process_is_reported() -> None:
    from tests.dicom._workers import crash
    from viewer.dicom.parallel import _run

    jobs = [(crash, ("/data/evil.dcm",), False), (crash, ("/data/evil2.dcm",), False)]
    with pytest.raises(DicomReadError, match="terminated abruptly"):
        _run(jobs, workers=2, progress=None, cancel=None, errors=None)
    # the next call gets a fresh pool
    assert decode_files([shared(MIXED[0]), shared(MIXED[2])], workers=2)[0].shape == (1, 512, 512)
