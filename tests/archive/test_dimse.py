"""DIMSE against a real Orthanc: C-ECHO, C-FIND compared with DCMTK findscu, C-GET, C-MOVE."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from tests.archive.conftest import INS, INS_ISSUER, LOCAL_AET, Seeded
from viewer.archive.cache import Cache
from viewer.archive.dimse import DimseClient
from viewer.archive.errors import ArchiveUnreachable, AssociationRejected
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.orthanc import free_port
from viewer.archive.retrieve import Retriever

pytestmark = pytest.mark.integration


def findscu(seeded: Seeded, level: str, keys: dict[str, str], out: Path) -> list[dict[str, str]]:
    """The same C-FIND made by DCMTK's findscu (-X: responses written as files)."""
    model = "-P" if level == "PATIENT" else "-S"
    args = ["findscu", model, "-aet", LOCAL_AET, "-aec", seeded.server.aet, "-X", "-od", str(out)]
    args += ["-k", f"QueryRetrieveLevel={level}"]
    for key, value in keys.items():
        args += ["-k", f"{key}={value}" if value != "" else key]
    args += ["127.0.0.1", str(seeded.server.dicom_port)]
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TCP_NODELAY="1")
    subprocess.run(args, check=True, capture_output=True, env=env, timeout=30)
    rows = []
    for path in sorted(out.glob("rsp*.dcm")):
        ds = dcmread(path, force=True)
        rows.append({kw: str(ds.get(kw, "")) for kw in keys})
    return rows


def ours(node: Any, local: LocalAE, level: str, keys: dict[str, str]) -> list[dict[str, str]]:
    found = DimseClient(node, local).find(level.lower(), keys, return_keys=())
    return [{kw: str(row.get(kw, "")) for kw in keys} for row in found]


def canon(rows: list[dict[str, str]]) -> list[tuple[tuple[str, str], ...]]:
    return sorted(tuple(sorted(r.items())) for r in rows)


QUERIES = [
    ("STUDY", {"StudyInstanceUID": "", "PatientName": "*", "StudyDate": "", "AccessionNumber": ""}),
    ("STUDY", {"StudyInstanceUID": "", "PatientName": "DOE*", "StudyDescription": ""}),
    ("STUDY", {"StudyInstanceUID": "", "StudyDate": "20170101-20221231", "PatientID": ""}),
    ("STUDY", {"StudyInstanceUID": "", "ModalitiesInStudy": "CT", "PatientID": ""}),
    ("STUDY", {"StudyInstanceUID": "", "AccessionNumber": "MOF5026", "PatientName": ""}),
    ("STUDY", {"StudyInstanceUID": "", "PatientID": INS, "IssuerOfPatientID": INS_ISSUER}),
    ("PATIENT", {"PatientID": "", "PatientName": "H?S", "PatientBirthDate": ""}),
]


@pytest.mark.parametrize(("level", "keys"), QUERIES)
def test_query_results_equal_findscu(
    seeded: Seeded, dimse_node: Any, local: LocalAE, tmp_path: Path, level: str, keys: dict
) -> None:
    expected = findscu(seeded, level, keys, tmp_path / "findscu")
    assert expected, "findscu found nothing: the query does not test anything"
    assert canon(ours(dimse_node, local, level, keys)) == canon(expected)


def test_series_and_image_levels_equal_findscu(
    seeded: Seeded, dimse_node: Any, local: LocalAE, tmp_path: Path
) -> None:
    study = seeded.syntax_study
    keys = {"StudyInstanceUID": study, "SeriesInstanceUID": "", "Modality": "", "SeriesNumber": ""}
    assert canon(ours(dimse_node, local, "SERIES", keys)) == canon(
        findscu(seeded, "SERIES", keys, tmp_path / "series")
    )
    series = ours(dimse_node, local, "SERIES", keys)[0]["SeriesInstanceUID"]
    keys = {"StudyInstanceUID": study, "SeriesInstanceUID": series, "SOPInstanceUID": ""}
    found = ours(dimse_node, local, "IMAGE", keys)
    assert canon(found) == canon(findscu(seeded, "IMAGE", keys, tmp_path / "image"))
    assert {r["SOPInstanceUID"] for r in found} <= set(seeded.series[series])


def test_ins_is_searched_with_its_issuer(seeded: Seeded, dimse_node: Any, local: LocalAE) -> None:
    found = DimseClient(dimse_node, local).find(
        "study", {"PatientID": INS, "IssuerOfPatientID": INS_ISSUER}
    )
    assert [r["StudyInstanceUID"] for r in found] == [seeded.ins_study]
    both = DimseClient(dimse_node, local).find("study", {"PatientID": INS})
    assert {r["StudyInstanceUID"] for r in both} == {seeded.ins_study, seeded.other_issuer_study}


def test_queries_through_pynetdicom_match_our_own(dimse_node: Any, local: LocalAE) -> None:
    slow = dimse_node.with_(options={"engine": "pynetdicom"})
    for level, keys in QUERIES:
        assert canon(ours(slow, local, level, keys)) == canon(ours(dimse_node, local, level, keys))


def test_echo(dimse_node: Any, local: LocalAE) -> None:
    DimseClient(dimse_node, local).echo()


def test_wrong_called_ae_is_rejected_with_a_clear_message(seeded: Seeded, local: LocalAE) -> None:
    node = parse_address(f"dicom://NOTORTHANC@127.0.0.1:{seeded.server.dicom_port}", timeout=5)
    with pytest.raises(AssociationRejected, match="NOTORTHANC"):
        DimseClient(node, local).echo()


def test_archive_down_is_reported_quickly(local: LocalAE) -> None:
    node = parse_address(f"dicom://PACS@127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(ArchiveUnreachable, match="unreachable"):
        DimseClient(node, local).find("study", {"PatientID": "*"})


def _check_identical(seeded: Seeded, paths: list[Path]) -> None:
    """Same SOP Instance UID, same transfer syntax, same pixel data bytes as stored."""
    for path in paths:
        got = dcmread(path)
        source = dcmread(seeded.source(str(got.SOPInstanceUID)))
        assert got.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
        assert got.PixelData == source.PixelData


@pytest.mark.parametrize("method", ["get", "move", "get/pynetdicom"])
def test_retrieve_study_is_lossless(
    seeded: Seeded, dimse_node: Any, local: LocalAE, method: str
) -> None:
    """C-GET (our own upper layer, or pynetdicom's) and C-MOVE keep every byte."""
    cache = Cache()
    method, _, engine = method.partition("/")
    options = dict(dimse_node.options, engine=engine or "fast")
    node = dimse_node.with_(retrieve=method, associations=2, options=options)
    for study in (seeded.syntax_study, next(s for s, v in seeded.studies.items() if len(v) == 16)):
        result = Retriever(node, cache, local).retrieve(study)
        assert result.instances == result.fetched == len(seeded.studies[study])
        assert sorted(p.name for p in result.paths) == sorted(
            f"{sop}.dcm" for sop in seeded.studies[study]
        )
        _check_identical(seeded, result.paths)
    syntaxes = {i.transfer_syntax for i in cache.instances(seeded.syntax_study)}
    assert len(syntaxes) == 5  # each file kept its own transfer syntax, nothing transcoded
