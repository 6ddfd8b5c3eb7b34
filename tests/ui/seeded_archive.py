"""A real Orthanc seeded with one patient's study (two phantom series) and a prior, for the
GUI tests that search, retrieve and open from an archive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from viewer.archive.nodes import parse_address
from viewer.archive.orthanc import OrthancServer, start_orthanc
from viewer.dicom.phantom import write_phantom_series


@dataclass
class SeededArchive:
    server: OrthancServer
    node: object
    first_series: str  # Series Instance UID of the study's first (128x128) series
    first_count: int
    total: int  # instances of the study (not the prior)


@contextmanager
def seeded_archive(root: Path, *, name: str, patient_name: str, patient_id: str,
                   study_uid: str, prior_uid: str, first_slices: int,
                   second_slices: int) -> Iterator[SeededArchive]:
    common = {"patient_name": patient_name, "patient_id": patient_id}
    first = write_phantom_series(root / "a", columns=128, rows=128, slices=first_slices,
                                 slice_mm=2.5, study_uid=study_uid, series_number=1, **common)
    second = write_phantom_series(root / "b", columns=64, rows=64, slices=second_slices,
                                  slice_mm=5.0, study_uid=study_uid, series_number=2,
                                  series_description="Second", **common)
    prior = write_phantom_series(root / "p", columns=32, rows=32, slices=4, slice_mm=5.0,
                                 study_uid=prior_uid, extra={"StudyDate": "20200101"}, **common)
    server = start_orthanc(root / "orthanc")
    try:
        server.store_files(first + second + prior)
        from pydicom import dcmread

        series = str(dcmread(first[0], stop_before_pixels=True).SeriesInstanceUID)
        node = parse_address(server.dimse_address, name=name)
        yield SeededArchive(server, node, series, len(first), len(first) + len(second))
    finally:
        server.stop()
