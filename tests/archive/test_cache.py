"""The local cache: atomic writes, integrity check and repair, eviction, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from viewer.archive.cache import Cache, CacheLimits
from viewer.archive.dimse import encode_file_meta


def _part10(sop: str, study: str = "1.2.3", series: str = "1.2.3.4", size: int = 100) -> bytes:
    """A tiny but valid Part 10 file (Explicit VR LE) carrying its UIDs."""
    import io

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.InstanceNumber = 1
    ds.ImageComments = "x" * size
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _store(cache: Cache, sop: str, study: str = "1.2.3", size: int = 100) -> Path:
    return cache.store(
        [_part10(sop, study, size=size)], study_uid=study, series_uid="1.2.3.4", sop_uid=sop
    )


def test_store_indexes_and_keeps_bytes(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = _part10("1.2.3.4.5")
    path = cache.store(
        [data[:50], data[50:]], study_uid="1.2.3", series_uid="1.2.3.4", sop_uid="1.2.3.4.5"
    )
    assert path.read_bytes() == data
    assert cache.has("1.2.3.4.5") and cache.cached_sop_uids("1.2.3") == {"1.2.3.4.5"}
    assert [i.path for i in cache.instances("1.2.3")] == [path]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = Cache(tmp_path)

    def broken() -> Iterator[bytes]:
        yield b"\0" * 1000
        raise ConnectionError("peer vanished")

    with pytest.raises(ConnectionError):
        cache.store(broken(), study_uid="1.2.3", series_uid="1.2.3.4", sop_uid="1.2.3.4.9")
    assert not cache.has("1.2.3.4.9")
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".dcm", ".part")]


def test_check_repairs_missing_truncated_partial_and_unindexed_files(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    gone = _store(cache, "1.2.3.4.1")
    cut = _store(cache, "1.2.3.4.2")
    bad = _store(cache, "1.2.3.4.3")
    _store(cache, "1.2.3.4.4")
    gone.unlink()
    cut.write_bytes(cut.read_bytes()[:-10])
    bad.write_bytes(_part10("1.2.3.4.7"))  # same size, another instance
    (cut.parent / "junk.dcm.123.part").write_bytes(b"half")
    orphan = cache.instance_path("1.2.3", "1.2.3.4", "1.2.3.4.8")
    orphan.write_bytes(_part10("1.2.3.4.8"))
    report = cache.check(deep=True)
    assert sorted(report.missing) == ["1.2.3.4.1", "1.2.3.4.2"]
    assert report.corrupt == ["1.2.3.4.3"]
    assert [p.name for p in report.partial_removed] == ["junk.dcm.123.part"]
    assert report.reindexed == [orphan]
    assert cache.cached_sop_uids("1.2.3") == {"1.2.3.4.4", "1.2.3.4.8"}
    assert cache.check(deep=True).ok


def test_eviction_drops_least_recently_used_unpinned_studies(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for n, study in enumerate(("1.1", "1.2", "1.3", "1.4")):
        _store(cache, f"{study}.1", study=study, size=1000)
        cache.touch(study)
        time.sleep(0.01 * (n + 1) / 4)
    cache.pin("1.1")  # oldest, but pinned
    one = cache.total_size() // 4
    evicted = cache.evict(CacheLimits(max_bytes=2 * one + 10))
    assert evicted == ["1.2", "1.3"]
    assert {s.study_uid for s in cache.studies()} == {"1.1", "1.4"}
    assert not (cache.studies_dir / "1.2").exists()


def test_age_limit_and_kept_study(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    _store(cache, "2.1.1", study="2.1")
    _store(cache, "2.2.1", study="2.2")
    later = time.time() + 3 * 86400
    assert cache.evict(CacheLimits(max_age_days=2), now=later, keep={"2.2"}) == ["2.1"]


def test_limits_come_from_config(regard_home: Path) -> None:
    (regard_home / "config.toml").write_text("[cache]\nmax_gb = 1.5\nmax_age_days = 30\n")
    assert CacheLimits.from_config() == CacheLimits(max_bytes=1_500_000_000, max_age_days=30.0)


def test_concurrent_stores_from_threads(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    threads = [
        threading.Thread(
            target=lambda k=k: [_store(cache, f"3.{k}.{i}", study="3") for i in range(20)]
        )
        for k in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache.cached_sop_uids("3")) == 120
    assert cache.check(deep=True).ok


def test_file_meta_we_write_is_read_back_by_pydicom() -> None:
    from io import BytesIO

    from pydicom import dcmread

    meta = encode_file_meta("1.2.840.10008.5.1.4.1.1.2", "1.2.3.45", "1.2.840.10008.1.2.1", "PACS")
    dataset = _part10("1.2.3.45")
    body = dataset[dataset.index(b"\x08\x00\x16\x00") :]  # the data set after the meta group
    ds = dcmread(BytesIO(meta + body))
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.45"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.file_meta.SourceApplicationEntityTitle == "PACS"
    assert ds.SOPInstanceUID == "1.2.3.45"


@pytest.mark.parametrize("tmpfile", [True, False])
def test_store_names_only_complete_files_and_replaces_a_leftover(
    tmp_path: Path, tmpfile: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written unnamed (O_TMPFILE + linkat) or as *.part (elsewhere), a file is seen under
    its name only once complete; a leftover file of that name (no index row) is replaced."""
    import viewer.archive.cache as cache_module

    if not tmpfile:
        monkeypatch.setattr(cache_module, "_TMPFILE", 0)
    elif not cache_module._TMPFILE:
        pytest.skip("no O_TMPFILE here")
    cache = Cache(tmp_path)
    final = cache.instance_path("1.2.3", "1.2.3.4", "1.2.3.4.5")
    final.parent.mkdir(parents=True)
    final.write_bytes(b"an older, broken copy")
    data = _part10("1.2.3.4.5")
    during: list[tuple[list[str], bytes]] = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 100):
            during.append((sorted(p.name for p in final.parent.iterdir()), final.read_bytes()))
            yield data[start : start + 100]

    path = cache.store(chunks(), study_uid="1.2.3", series_uid="1.2.3.4", sop_uid="1.2.3.4.5")
    assert path == final and path.read_bytes() == data
    assert len(during) > 2 and all(content == b"an older, broken copy" for _, content in during)
    names = {name for listed, _ in during for name in listed} - {final.name}
    if tmpfile:
        assert not names  # nothing named while writing
    else:
        assert len(names) == 1 and next(iter(names)).endswith(".part")
    assert [p.name for p in final.parent.iterdir()] == [final.name]
    assert cache.has("1.2.3.4.5")


def _summed(cache: Cache) -> int:
    return int(cache._db.execute("SELECT COALESCE(SUM(size), 0) FROM instances").fetchone()[0])


def test_eviction_check_keeps_a_running_total_instead_of_summing_the_index(
    tmp_path: Path,
) -> None:
    cache = Cache(tmp_path)
    for k in range(5):
        _store(cache, f"6.{k}.1", study=f"6.{k}", size=1000)
        cache.touch(f"6.{k}")
        time.sleep(0.002)
    statements: list[str] = []
    cache._db.set_trace_callback(statements.append)
    assert cache.evict(CacheLimits()) == []  # no limits: nothing read at all
    assert not statements
    assert cache.evict(CacheLimits(max_bytes=10**9, max_age_days=30)) == []  # counts once
    _store(cache, "6.5.1", study="6.5", size=1000)
    for k in range(3):
        cache.store(
            [_part10(f"6.6.{k}", "6.6", size=1000)],
            study_uid="6.6", series_uid="1.2.3.4", sop_uid=f"6.6.{k}", deferred=True,
        )  # fmt: skip
    cache.flush()
    statements.clear()
    assert cache.evict(CacheLimits(max_bytes=10**9, max_age_days=30)) == []
    assert not [s for s in statements if "instances" in s]  # no sum over the index
    total = _summed(cache)
    # over the limit: an exact count, then the least recently used studies go
    assert cache.evict(CacheLimits(max_bytes=total - 1)) == ["6.0"]
    assert cache.total_size() == _summed(cache) < total
