"""Federated query: the same search sent to several archives at once, results merged.

Studies are merged by Study Instance UID (series by Series Instance UID, images by
SOP Instance UID, patients by Patient ID + Issuer); each merged row keeps the name of
the first archive that answered in ``archive`` and all of them in ``archives``. An
archive that fails does not fail the search: its error is reported beside the results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from viewer.archive.errors import ArchiveError
from viewer.archive.source import StudySource

log = logging.getLogger(__name__)

_MERGE_KEYS = {
    "patient": ("PatientID", "IssuerOfPatientID"),
    "study": ("StudyInstanceUID",),
    "series": ("SeriesInstanceUID",),
    "image": ("SOPInstanceUID",),
}


@dataclass
class FederatedResult:
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # archive name -> message


def merge_results(
    level: str, per_source: Sequence[tuple[str, list[dict[str, Any]]]]
) -> list[dict[str, Any]]:
    """Merge result lists (in source order); empty attributes are filled from later sources."""
    keys = _MERGE_KEYS[level]
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for name, rows in per_source:
        for row in rows:
            key = tuple(str(row.get(k, "")) for k in keys)
            if key not in merged:
                merged[key] = {**row, "archive": name, "archives": [name]}
                continue
            target = merged[key]
            if name not in target["archives"]:
                target["archives"].append(name)
            for attr, value in row.items():
                if value not in ("", None) and target.get(attr) in ("", None):
                    target[attr] = value
    return list(merged.values())


def federated_search(
    sources: Sequence[StudySource], level: str, keys: Mapping[str, Any]
) -> FederatedResult:
    """Send the search to every source in parallel and merge the answers."""
    if level not in _MERGE_KEYS:
        raise ValueError(f"unknown query level '{level}'")

    def one(source: StudySource) -> tuple[str, list[dict[str, Any]] | None, str | None]:
        try:
            return source.name, source.search(level, keys), None
        except (ArchiveError, ValueError, OSError) as exc:
            log.info("federated search: archive %s failed: %s", source.name, exc)
            return source.name, None, str(exc)

    out = FederatedResult()
    if not sources:
        return out
    with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="federated") as pool:
        answers = list(pool.map(one, sources))
    ok = [(name, rows) for name, rows, _ in answers if rows is not None]
    out.errors = {name: err for name, _, err in answers if err is not None}
    out.results = merge_results(level, ok)
    return out
