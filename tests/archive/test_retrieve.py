"""Retrieval behaviour a radiologist feels: first image first, progress, cancel, resume."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from tests.archive.conftest import Seeded
from viewer.archive.cache import Cache
from viewer.archive.errors import RetrieveCancelled
from viewer.archive.nodes import LocalAE
from viewer.archive.retrieve import Progress, Retriever

pytestmark = pytest.mark.integration


def _biggest_study(seeded: Seeded) -> str:
    return max(seeded.studies, key=lambda s: len(seeded.studies[s]))


def _first_by_number(seeded: Seeded, sops: list[str]) -> str:
    numbers = {
        s: int(dcmread(seeded.source(s), stop_before_pixels=True).InstanceNumber) for s in sops
    }
    return min(numbers, key=numbers.__getitem__)


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_first_image_of_chosen_series_comes_first_and_progress_is_complete(
    seeded: Seeded, dimse_node: Any, web_node: Any, local: LocalAE, kind: str
) -> None:
    node = dimse_node if kind == "dimse" else web_node
    study = _biggest_study(seeded)
    series = next(s for s, v in seeded.series.items() if set(v) <= set(seeded.studies[study]))
    paths: list[Path] = []
    progress: list[Progress] = []
    lock = threading.Lock()

    def on_instance(path: Path) -> None:
        with lock:
            paths.append(path)

    result = Retriever(node, Cache(), local, associations=3).retrieve(
        study, progress=progress.append, on_instance=on_instance, first_series=series
    )
    assert paths[0].name == f"{_first_by_number(seeded, seeded.series[series])}.dcm"
    assert len(paths) == len(set(paths)) == len(seeded.studies[study]) == result.instances
    assert all(p.is_file() for p in paths)
    done = [p.instances_done for p in progress]
    assert sorted(done) == done and done[-1] == result.instances
    assert progress[-1].bytes_done == result.bytes > 0
    assert result.first_image_seconds is not None and result.first_image_seconds < result.seconds


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_cancel_leaves_a_consistent_cache_and_resume_fetches_only_the_rest(
    seeded: Seeded, dimse_node: Any, web_node: Any, local: LocalAE, kind: str
) -> None:
    node = (dimse_node if kind == "dimse" else web_node).with_(associations=1)
    study = _biggest_study(seeded)
    cache = Cache()
    cancel = threading.Event()
    seen: list[Path] = []

    def on_instance(path: Path) -> None:
        seen.append(path)
        if len(seen) == 5:
            cancel.set()

    retriever = Retriever(node, cache, local)
    with pytest.raises(RetrieveCancelled):
        retriever.retrieve(study, on_instance=on_instance, cancel=cancel)
    report = cache.check(deep=True)
    assert report.ok and not report.partial_removed
    kept = cache.cached_sop_uids(study)
    assert 5 <= len(kept) < len(seeded.studies[study])
    assert not list(cache.root.rglob("*.part"))
    result = retriever.retrieve(study)
    assert result.cached == len(kept)
    assert result.fetched == len(seeded.studies[study]) - len(kept)
    assert cache.cached_sop_uids(study) == set(seeded.studies[study])


def test_series_retrieve_fetches_only_that_series(
    seeded: Seeded, dimse_node: Any, local: LocalAE
) -> None:
    study = _biggest_study(seeded)
    series = next(s for s, v in seeded.series.items() if set(v) <= set(seeded.studies[study]))
    cache = Cache()
    result = Retriever(dimse_node, cache, local).retrieve(study, series)
    assert cache.cached_sop_uids(study) == set(seeded.series[series])
    assert result.folder == cache.series_dir(study, series)
    assert {p.parent for p in result.paths} == {result.folder}


def test_prefetch_pins_studies_that_eviction_then_keeps(
    seeded: Seeded, web_node: Any, local: LocalAE
) -> None:
    from viewer.archive.cache import CacheLimits

    cache = Cache()
    studies = sorted(seeded.studies)[:2]
    results = Retriever(web_node, cache, local).prefetch(studies)
    assert [r.instances for r in results] == [len(seeded.studies[s]) for s in studies]
    other = next(s for s in seeded.studies if s not in studies)
    Retriever(web_node, cache, local).retrieve(other)
    evicted = cache.evict(CacheLimits(max_bytes=1))
    assert evicted == [other]
    assert {s.study_uid for s in cache.studies()} == set(studies)
    assert all(s.pinned for s in cache.studies())


def test_demo_archive_serves_a_folder_over_dimse_and_dicomweb(local: LocalAE) -> None:
    from tests.shared_data import shared
    from viewer.archive.nodes import parse_address
    from viewer.archive.orthanc import start_demo_archive

    server = start_demo_archive(shared("mr_orientation/dcm4che_MR_coronal_16"))
    try:
        for address in (server.dimse_address, server.web_address):
            node = parse_address(address, timeout=5)
            found = Retriever(node, Cache(), local).query("study", {})
            assert [s["PatientName"] for s in found] == ["DOE^J1"]
    finally:
        server.stop(graceful=False)


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_some_instances_only(
    seeded: Seeded, dimse_node: Any, web_node: Any, local: LocalAE, kind: str
) -> None:
    node = dimse_node if kind == "dimse" else web_node
    study = _biggest_study(seeded)
    wanted = sorted(seeded.studies[study])[:3]
    cache = Cache()
    result = Retriever(node, cache, local).retrieve(study, sop_uids=wanted)
    assert result.instances == result.fetched == 3
    assert cache.cached_sop_uids(study) == set(wanted)


def test_two_retrieves_at_once_from_worker_threads(
    seeded: Seeded, dimse_node: Any, local: LocalAE
) -> None:
    """What the GUI does: one Retriever and one cache, two studies in two threads."""
    cache = Cache()
    retriever = Retriever(dimse_node.with_(associations=2), cache, local)
    studies = sorted(seeded.studies, key=lambda s: -len(seeded.studies[s]))[:2]
    errors: list[BaseException] = []

    def fetch(study: str) -> None:
        try:
            retriever.retrieve(study)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(s,)) for s in studies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for study in studies:
        assert cache.cached_sop_uids(study) == set(seeded.studies[study])
    assert cache.check(deep=True).ok
