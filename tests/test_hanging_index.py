"""Hanging from the study index alone: body part, laterality, view position and patient
orientation are read once while scanning (viewer.dicom.index), never again when a study is
hung (the main window hangs on the UI thread).

Oracle: the hanging the same studies got when these tags were read from the file headers
(:func:`viewer.hanging.read_tags`, the fallback for entries lacking them), plus the
expected protocol, stages, cells and flips. The files are moved away after scanning and
``pydicom.dcmread`` made to fail, so a single header read shows.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pydicom
import pytest

from viewer.dicom.index import DicomIndex, scan
from viewer.dicom.phantom import write_phantom_series
from viewer.hanging import display_sets_from_series, hang, studies_for

MG_VIEWS = [("R", "CC", ["A", "R"]), ("L", "CC", ["A", "L"]),
            ("R", "MLO", ["A", "H"]), ("L", "MLO", ["P", "F"])]


def _series(folder: Path, study: str, series: str, date: str, modality: str, slices: int,
            description: str, **extra: object) -> list[Path]:
    return write_phantom_series(
        folder, study_uid=study, series_uid=series, columns=32, rows=32, slices=slices,
        noise=0.0, modality=modality, patient_id="HANG-IDX", series_description=description,
        extra={"StudyDate": date, **extra})


def _set_views(paths: list[Path], views: list[tuple[str, str, list[str]]]) -> None:
    """Each image its own view (they vary within the series, as in mammography)."""
    for path, (laterality, view, orientation) in zip(paths, views, strict=True):
        ds = pydicom.dcmread(path)
        ds.ImageLaterality, ds.ViewPosition, ds.PatientOrientation = laterality, view, orientation
        ds.save_as(path)


def _studies(root: Path) -> dict[str, str]:
    mg = {"mg1": ("1.2.826.0.1.3680043.10.77.1", "20260301"),
          "mg0": ("1.2.826.0.1.3680043.10.77.2", "20240301")}
    for name, (uid, date) in mg.items():
        paths = _series(root / name, uid, f"{uid}.1", date, "MG", 4, "Screening",
                        BodyPartExamined="BREAST")
        _set_views(paths, MG_VIEWS)
    dx = {"dx1": ("1.2.826.0.1.3680043.10.77.3", "20260201"),
          "dx0": ("1.2.826.0.1.3680043.10.77.4", "20240201")}
    for name, (uid, date) in dx.items():
        paths = _series(root / name, uid, f"{uid}.1", date, "DX", 2, "Chest",
                        BodyPartExamined="CHEST")
        _set_views(paths, [("", "LL", ["P", "F"]), ("", "PA", ["L", "F"])])
    ct = "1.2.826.0.1.3680043.10.77.5"
    _series(root / "ct1" / "thin", ct, f"{ct}.1", "20250101", "CT", 12, "Thorax 1 mm",
            SeriesNumber=2)
    _series(root / "ct1" / "thick", ct, f"{ct}.2", "20250101", "CT", 4, "Thorax 5 mm",
            SeriesNumber=1)
    _series(root / "ct0", "1.2.826.0.1.3680043.10.77.6", "1.2.826.0.1.3680043.10.77.6.1",
            "20200101", "CT", 6, "Old thorax")
    return {"mg": mg["mg1"][0], "dx": dx["dx1"][0], "ct": ct}


def _without_indexed_tags(index: DicomIndex) -> DicomIndex:
    """The index as entries not made by a scan hold it: the tags must come from headers."""
    bare = copy.deepcopy(index)
    for series in bare.series.values():
        series.body_part = None
        for inst in series.instances:
            inst.laterality = inst.view_position = inst.patient_orientation = None
    return bare


def _describe(stages) -> list[tuple]:
    return [(h.protocol, h.stage, h.layout,
             [(c.display_set.description if c.display_set else None,
               c.display_set.laterality if c.display_set else None,
               c.display_set.view if c.display_set else None,
               c.prior, c.flip_horizontal, c.flip_vertical) for c in h.cells])
            for h in stages]


def test_hanging_from_the_index_reads_no_file_and_matches_the_headers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "studies"
    uids = _studies(root)
    index = scan(root)
    assert not index.errors
    from_headers = {k: hang(*studies_for(_without_indexed_tags(index), uid))
                    for k, uid in uids.items()}

    root.rename(tmp_path / "moved")  # the files are gone from where the index saw them

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a header was read: {args[:1]}")

    monkeypatch.setattr(pydicom, "dcmread", no_read)
    from_index = {k: hang(*studies_for(index, uid)) for k, uid in uids.items()}
    assert {k: _describe(v) for k, v in from_index.items()} == {
        k: _describe(v) for k, v in from_headers.items()}

    mg = from_index["mg"]
    assert [h.stage for h in mg] == ["Four views", "CC with prior", "MLO with prior"]
    four = mg[0]
    assert (four.protocol, four.layout) == ("Mammography", "2x2")
    assert [(c.display_set.laterality, c.display_set.view) for c in four.cells] == [
        ("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]
    assert [(c.flip_horizontal, c.flip_vertical) for c in four.cells] == [
        (True, False), (False, False), (True, True), (True, False)]
    assert {c.display_set.body_part for c in four.cells} == {"BREAST"}
    assert [c.prior for c in mg[1].cells] == [False, False, True, True]

    dx = from_index["dx"]
    assert dx[0].protocol == "CR/DX with prior"
    assert [(c.display_set.view, c.prior) for c in dx[0].cells] == [("PA", False), ("PA", True)]
    assert [c.display_set.view for c in dx[1].cells] == ["PA", "LL"]

    mpr, compare = from_index["ct"]
    assert (mpr.protocol, mpr.layout) == ("CT", "mpr")
    assert mpr.cells[0].display_set.description == "Thorax 1 mm"
    assert [(c.display_set.description, c.prior) for c in compare.cells] == [
        ("Thorax 1 mm", False), ("Old thorax", True)]

    # the fallback really reads headers: without indexed tags and without files, the views
    # are unknown and the mammograms no longer hang by laterality
    monkeypatch.undo()
    bare = _without_indexed_tags(index)
    series = [bare.series[u] for u in bare.studies[uids["mg"]].series_uids]
    assert {d.laterality for d in display_sets_from_series(series)} == {""}


def test_the_index_holds_the_series_and_image_level_tags(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.10.77.9"
    paths = _series(tmp_path, uid, f"{uid}.1", "20260301", "MG", 4, "Screening",
                    BodyPartExamined="BREAST")
    _set_views(paths, MG_VIEWS)
    ds = pydicom.dcmread(paths[0])
    del ds.ImageLaterality
    ds.Laterality = "R"  # series-level Laterality (0020,0060) when the image has none
    del ds.PatientOrientation
    ds.save_as(paths[0])
    (series,) = scan(tmp_path).series.values()
    assert series.body_part == "BREAST"
    by_number = sorted(series.instances, key=lambda i: i.instance_number)
    assert [(i.laterality, i.view_position, i.patient_orientation) for i in by_number] == [
        ("R", "CC", ("", "")), ("L", "CC", ("A", "L")), ("R", "MLO", ("A", "H")),
        ("L", "MLO", ("P", "F"))]


def test_archive_series_matches_give_display_sets_with_their_body_part() -> None:
    rows = [{"StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4", "Modality": "CT",
             "SeriesNumber": "3", "SeriesDescription": "Thorax", "BodyPartExamined": "CHEST",
             "NumberOfSeriesRelatedInstances": "120"}]
    (d,) = display_sets_from_series(rows)
    assert (d.uid, d.study_uid, d.modality, d.number, d.description, d.body_part, d.images) == (
        "1.2.3.4", "1.2.3", "CT", 3, "Thorax", "CHEST", 120)
