"""Federated query over several archives, and the StudySource implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from tests.archive.conftest import Seeded
from tests.shared_data import shared
from viewer.archive.cache import Cache
from viewer.archive.federated import federated_search
from viewer.archive.nodes import LocalAE, parse_address
from viewer.archive.orthanc import free_port, start_orthanc
from viewer.archive.source import (
    ArchiveSource,
    CacheSource,
    FolderSource,
    StudySource,
    dicom_match,
)

pytestmark = pytest.mark.integration


def test_studies_are_merged_by_uid_with_their_sources(
    seeded: Seeded, dimse_node: Any, local: LocalAE, tmp_path: Path
) -> None:
    second = start_orthanc(tmp_path / "second")
    try:
        # the second archive holds one study also in the first, and one of its own
        second.store_files(sorted(shared("mr_orientation/dcm4che_MR_coronal_16").glob("*.dcm")))
        philips = [shared(f"ct_gantry_tilt/Philips_Ingenuity_tilt-18.5/I{n}") for n in (10, 100)]
        second.store_files(philips)
        own_study = str(dcmread(philips[0], stop_before_pixels=True).StudyInstanceUID)
        first_src = ArchiveSource(dimse_node, local=local)
        second_src = ArchiveSource(parse_address(second.web_address, name="second", timeout=5))
        down = ArchiveSource(
            parse_address(f"dicom://DOWN@127.0.0.1:{free_port()}", name="down", timeout=2),
            local=local,
        )
        result = federated_search([first_src, second_src, down], "study", {})
    finally:
        second.stop(graceful=False)
    by_uid = {r["StudyInstanceUID"]: r for r in result.results}
    assert set(by_uid) == set(seeded.studies) | {own_study}
    shared_study = next(s for s, v in seeded.studies.items() if len(v) == 16)
    assert by_uid[shared_study]["archives"] == ["orthanc-dimse", "second"]
    assert by_uid[own_study]["archives"] == ["second"]
    assert "down" in result.errors and "unreachable" in result.errors["down"]


def test_folder_source_searches_and_fetches_first_series_first() -> None:
    source = FolderSource(shared("mr_orientation"))
    assert isinstance(source, StudySource)
    studies = source.search("study", {"PatientName": "doe*"})
    assert len(studies) == 1 and studies[0]["PatientName"] == "DOE^J1"
    study = studies[0]["StudyInstanceUID"]
    series = source.list_series(study)
    paths: list[Path] = []
    result = source.fetch(
        study, on_instance=paths.append, first_series=series[0]["SeriesInstanceUID"]
    )
    assert result.instances == 16 == len(paths) and paths[0].name == "MR01.dcm"


def test_cache_source_works_offline_after_a_retrieve(seeded: Seeded, web_node: Any) -> None:
    cache = Cache()
    ArchiveSource(web_node, cache).fetch(seeded.syntax_study)
    offline = CacheSource(cache)
    assert isinstance(offline, StudySource)
    assert [r["StudyInstanceUID"] for r in offline.search("study", {})] == [seeded.syntax_study]
    got = offline.fetch(seeded.syntax_study)
    assert sorted(p.name for p in got.paths) == sorted(
        f"{s}.dcm" for s in seeded.studies[seeded.syntax_study]
    )
    images = offline.search("image", {"StudyInstanceUID": seeded.syntax_study})
    assert len(images) == len(got.paths)


@pytest.mark.parametrize(
    ("value", "pattern", "vr", "expected"),
    [
        ("DOE^JOHN", "doe*", "PN", True),
        ("DOE^JOHN", "D?E^JOHN", "PN", True),
        ("20170716", "20170101-20171231", "DA", True),
        ("20170716", "-20170101", "DA", False),
        ("20170716", "20170716-", "DA", True),
        ("1.2.3", "1.2.4\\1.2.3", "UI", True),
        ("CT", "MR", "CS", False),
        (["CT", "MR"], "MR", "CS", True),
        ("anything", "", "LO", True),
    ],
)
def test_dicom_matching_rules(value: Any, pattern: str, vr: str, expected: bool) -> None:
    assert dicom_match(value, pattern, vr) is expected
