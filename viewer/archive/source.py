"""``StudySource``: the one protocol the UI knows to find and open studies.

Implemented by :class:`ArchiveSource` (DIMSE or DICOMweb archive, fetching into the
cache), :class:`CacheSource` (what is already cached, usable offline) and
:class:`FolderSource` (a local folder, CD or DICOMDIR), in the way dicomweb-client's
``DICOMClient`` protocol is implemented by its HTTP and file clients.

Threading: every method may be called from a worker thread; ``fetch`` reports
through ``progress`` and ``on_instance`` from worker threads and stops when
``cancel`` is set (it then raises :class:`~viewer.archive.errors.RetrieveCancelled`).
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from viewer.archive.cache import Cache
from viewer.archive.errors import ArchiveError, RetrieveCancelled
from viewer.archive.nodes import ArchiveNode, LocalAE, resolve_node
from viewer.archive.retrieve import Progress, Retriever, RetrieveResult

__all__ = [
    "ArchiveSource",
    "CacheSource",
    "FolderSource",
    "Progress",
    "RetrieveResult",
    "StudySource",
    "dicom_match",
    "open_source",
]


@runtime_checkable
class StudySource(Protocol):
    """Somewhere studies can be searched and their instances obtained as local files."""

    name: str

    def search(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Matches at ``level`` (patient, study, series, image) as keyword dicts (PS3.4 C.2.2.2)."""
        ...

    def list_series(self, study_uid: str) -> list[dict[str, Any]]:
        """The series of a study (SeriesInstanceUID, Modality, SeriesNumber, ...)."""
        ...

    def fetch(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uids: Iterable[str] | None = None,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_instance: Callable[[Path], None] | None = None,
        cancel: threading.Event | None = None,
        first_series: str | None = None,
    ) -> RetrieveResult:
        """Make the instances available as local Part 10 files, first image first."""
        ...


class ArchiveSource:
    """A remote archive (DIMSE or DICOMweb); fetched instances go to the cache."""

    def __init__(
        self,
        node: ArchiveNode,
        cache: Cache | None = None,
        local: LocalAE | None = None,
        associations: int | None = None,
    ) -> None:
        self.node = node
        self.name = node.name
        self.retriever = Retriever(node, cache, local, associations)

    def echo(self) -> None:
        if self.retriever._dimse is not None:
            self.retriever._dimse.echo()
        else:
            assert self.retriever._web is not None
            self.retriever._web.echo()

    def search(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.retriever.query(level, keys)

    def list_series(self, study_uid: str) -> list[dict[str, Any]]:
        return self.retriever.list_series(study_uid)

    def fetch(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uids: Iterable[str] | None = None,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_instance: Callable[[Path], None] | None = None,
        cancel: threading.Event | None = None,
        first_series: str | None = None,
    ) -> RetrieveResult:
        return self.retriever.retrieve(
            study_uid,
            series_uid,
            sop_uids,
            progress=progress,
            on_instance=on_instance,
            cancel=cancel,
            first_series=first_series,
        )


def dicom_match(value: Any, pattern: Any, vr: str = "") -> bool:
    """DICOM attribute matching of a stored value (PS3.4 C.2.2.2).

    Empty pattern: universal match; ``*``/``?``: wildcard match (case-insensitive for
    person names, as most archives do); ``A-B`` on dates/times: range match; a list or a
    backslash-separated pattern on UIDs: list of UID matching; else single value match.
    """
    if pattern is None or pattern == "" or pattern == "*":
        return True
    values = value if isinstance(value, list) else [str(value or "")]
    if isinstance(pattern, (list, tuple)) or (vr == "UI" and "\\" in str(pattern)):
        options = list(pattern) if isinstance(pattern, (list, tuple)) else str(pattern).split("\\")
        return any(v in options for v in values)
    pattern = str(pattern)
    if vr in ("DA", "TM", "DT") and "-" in pattern:
        low, _, high = pattern.partition("-")
        return any(
            (not low or v >= low) and (not high or v[: len(high)] <= high) for v in values if v
        )
    fold = vr == "PN"
    for v in values:
        a, b = (v.upper(), pattern.upper()) if fold else (v, pattern)
        if ("*" in b or "?" in b) and fnmatch.fnmatchcase(a, b.replace("[", "[[]")):
            return True
        if a == b:
            return True
    return False


def _vr(keyword: str) -> str:
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    try:
        return dictionary_VR(tag) if tag is not None else ""
    except KeyError:
        return ""


def _filter(rows: Iterable[dict[str, Any]], keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if all(dicom_match(row.get(k, ""), v, _vr(k)) for k, v in keys.items()):
            out.append(row)
    return out


def _local_result(
    study_uid: str,
    series_uid: str | None,
    folder: Path,
    paths: list[Path],
    on_instance: Callable[[Path], None] | None,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> RetrieveResult:
    started = time.monotonic()
    if not paths:
        raise ArchiveError(f"no instance of study {study_uid} here")
    for n, path in enumerate(paths, start=1):
        if cancel is not None and cancel.is_set():
            raise RetrieveCancelled("fetch cancelled")
        if on_instance is not None:
            on_instance(path)
        if progress is not None:
            progress(Progress(n, len(paths), 0, time.monotonic() - started, n))
    return RetrieveResult(
        study_uid=study_uid,
        series_uid=series_uid,
        instances=len(paths),
        fetched=0,
        cached=len(paths),
        bytes=0,
        seconds=time.monotonic() - started,
        first_image_seconds=0.0,
        folder=folder,
        paths=paths,
    )


class CacheSource:
    """The local cache as a source: works without any network."""

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache = cache if cache is not None else Cache()
        self.name = "cache"

    def search(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        if level in ("patient", "study"):
            rows = [
                {**{k: v for k, v in s.info.items() if k != "source"}, "archive": self.name}
                for s in self.cache.studies()
            ]
            rows = _filter(rows, keys)
            if level == "patient":
                seen: dict[tuple[str, str], dict[str, Any]] = {}
                for r in rows:
                    seen.setdefault((r.get("PatientID", ""), r.get("IssuerOfPatientID", "")), r)
                keep = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate")
                return [{k: r.get(k, "") for k in keep} for r in seen.values()]
            return rows
        study = keys.get("StudyInstanceUID")
        if not study:
            raise ValueError(f"a {level}-level search needs StudyInstanceUID")
        if level == "series":
            return _filter(self.cache.series_info(str(study)), keys)
        rows = [
            {
                "StudyInstanceUID": i.study_uid,
                "SeriesInstanceUID": i.series_uid,
                "SOPInstanceUID": i.sop_uid,
                "SOPClassUID": i.sop_class_uid,
                "InstanceNumber": "" if i.instance_number is None else str(i.instance_number),
            }
            for i in self.cache.instances(str(study))
        ]
        return _filter(rows, keys)

    def list_series(self, study_uid: str) -> list[dict[str, Any]]:
        return self.cache.series_info(study_uid)

    def fetch(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uids: Iterable[str] | None = None,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_instance: Callable[[Path], None] | None = None,
        cancel: threading.Event | None = None,
        first_series: str | None = None,
    ) -> RetrieveResult:
        wanted = set(sop_uids) if sop_uids is not None else None
        items = [
            i
            for i in self.cache.instances(study_uid, series_uid)
            if wanted is None or i.sop_uid in wanted
        ]
        first = first_series or series_uid
        items.sort(key=lambda i: (i.series_uid != first, i.series_uid, i.instance_number or 0))
        self.cache.touch(study_uid)
        folder = (
            self.cache.series_dir(study_uid, series_uid)
            if series_uid
            else self.cache.series_dir(study_uid, "0").parent
        )
        paths = [i.path for i in items]
        return _local_result(study_uid, series_uid, folder, paths, on_instance, progress, cancel)


class FolderSource:
    """A local folder, CD or DICOMDIR (headers indexed once, lazily)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self._index: Any = None
        self._lock = threading.Lock()

    @property
    def index(self) -> Any:
        with self._lock:
            if self._index is None:
                from viewer.dicom.index import scan

                self._index = scan(self.path)
            return self._index

    def _study_rows(self) -> list[dict[str, Any]]:
        idx = self.index
        rows = []
        for study in idx.studies.values():
            patient = idx.patients.get(study.patient_key)
            modalities = sorted(
                {idx.series[s].modality for s in study.series_uids if s in idx.series}
            )
            rows.append(
                {
                    "PatientName": getattr(patient, "name", ""),
                    "PatientID": getattr(patient, "patient_id", ""),
                    "IssuerOfPatientID": getattr(patient, "issuer", ""),
                    "PatientBirthDate": getattr(patient, "birth_date", ""),
                    "StudyInstanceUID": study.study_uid,
                    "StudyDate": study.date,
                    "StudyTime": study.time,
                    "AccessionNumber": study.accession,
                    "StudyDescription": study.description,
                    "ModalitiesInStudy": modalities if len(modalities) > 1 else "".join(modalities),
                    "archive": self.name,
                }
            )
        return rows

    def search(self, level: str, keys: Mapping[str, Any]) -> list[dict[str, Any]]:
        if level in ("patient", "study"):
            return _filter(self._study_rows(), keys)
        study = keys.get("StudyInstanceUID")
        if not study:
            raise ValueError(f"a {level}-level search needs StudyInstanceUID")
        if level == "series":
            return _filter(self.list_series(str(study)), keys)
        rows = [
            {
                "StudyInstanceUID": s.study_uid,
                "SeriesInstanceUID": s.series_uid,
                "SOPInstanceUID": i.sop_instance_uid,
                "SOPClassUID": i.sop_class_uid,
                "InstanceNumber": "" if i.instance_number is None else str(i.instance_number),
            }
            for s in self.index.series.values()
            if s.study_uid == study
            for i in s.instances
        ]
        return _filter(rows, keys)

    def list_series(self, study_uid: str) -> list[dict[str, Any]]:
        return [
            {
                "StudyInstanceUID": s.study_uid,
                "SeriesInstanceUID": s.series_uid,
                "Modality": s.modality,
                "SeriesNumber": "" if s.number is None else str(s.number),
                "SeriesDescription": s.description,
                "NumberOfSeriesRelatedInstances": str(len(s.instances)),
            }
            for s in self.index.series.values()
            if s.study_uid == study_uid
        ]

    def fetch(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uids: Iterable[str] | None = None,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_instance: Callable[[Path], None] | None = None,
        cancel: threading.Event | None = None,
        first_series: str | None = None,
    ) -> RetrieveResult:
        wanted = set(sop_uids) if sop_uids is not None else None
        first = first_series or series_uid
        series = [
            s
            for s in self.index.series.values()
            if s.study_uid == study_uid and (series_uid is None or s.series_uid == series_uid)
        ]
        series.sort(key=lambda s: (s.series_uid != first, s.number or 0))
        paths = [
            i.path
            for s in series
            for i in s.instances
            if wanted is None or i.sop_instance_uid in wanted
        ]
        return _local_result(study_uid, series_uid, self.path, paths, on_instance, progress, cancel)


def open_source(spec: str, cache: Cache | None = None) -> StudySource:
    """``"cache"``, an existing local path, a configured archive name or an address."""
    if spec == "cache":
        return CacheSource(cache)
    if "://" not in spec and Path(spec).exists():
        return FolderSource(spec)
    return ArchiveSource(resolve_node(spec), cache)
