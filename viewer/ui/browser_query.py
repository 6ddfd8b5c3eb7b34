"""Qt-free part of the study browser: study rows and the search query that filters them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from viewer.ui.models import format_da, format_pn


@dataclass
class StudyRow:
    """One study as the browser lists it (local import or archive result)."""

    study_uid: str
    patient_name: str
    patient_id: str
    ins: str
    birth_date: str
    study_date: str
    modalities: str
    description: str
    accession: str
    source: str
    series: list[Any] = field(default_factory=list)  # SeriesEntry-like: description, number...
    patient: Any = None
    study: Any = None  # the local StudyEntry, or the archive's match (a dict) until cached
    archive: dict[str, Any] | None = None  # the archive's match of a study also local

    @property
    def cached(self) -> bool:
        """Its instances are on this machine (imported or retrieved): opened from disk."""
        return self.study is not None and not isinstance(self.study, dict)

    def values(self) -> tuple[str, ...]:
        return (format_pn(self.patient_name), self.patient_id, self.ins,
                format_da(self.birth_date), format_da(self.study_date), self.modalities,
                self.description, self.accession, str(len(self.series)), self.source)


def rows_from_index(index: Any, source: str) -> list[StudyRow]:
    """StudyRows of a :class:`viewer.dicom.index.DicomIndex` (a local import)."""
    rows = []
    for study in index.studies.values():
        patient = index.patients.get(study.patient_key)
        series = [index.series[u] for u in study.series_uids if u in index.series]
        series.sort(key=lambda s: (s.number is None, s.number or 0, s.description))
        rows.append(StudyRow(
            study_uid=study.study_uid,
            patient_name=getattr(patient, "name", ""),
            patient_id=getattr(patient, "patient_id", ""),
            ins=getattr(patient, "ins", ""),
            birth_date=getattr(patient, "birth_date", ""),
            study_date=study.date,
            modalities="/".join(sorted({s.modality for s in series if s.modality})),
            description=study.description,
            accession=study.accession,
            source=source,
            series=series,
            patient=patient,
            study=study,
        ))
    return rows


@dataclass
class Query:
    """What the search form asks; empty fields match everything."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""  # YYYYMMDD
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    accession: str = ""

    def matches(self, row: StudyRow) -> bool:
        def norm(s: str) -> str:
            return " ".join(s.replace("^", " ").lower().split())

        if self.name and norm(self.name) not in norm(row.patient_name):
            return False
        if self.patient_id and self.patient_id.strip().lower() not in (
            row.patient_id.lower(), row.ins.lower()
        ):
            return False
        if self.birth_date and row.birth_date != self.birth_date:
            return False
        if self.date_from and (not row.study_date or row.study_date < self.date_from):
            return False
        if self.date_to and (not row.study_date or row.study_date > self.date_to):
            return False
        if self.modality and self.modality.upper() not in row.modalities.upper().split("/"):
            return False
        return not (self.accession and self.accession.strip() != row.accession)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "/".join(str(v) for v in value if v)
    return str(value or "").replace("\\", "/")


def archive_keys(q: Query) -> dict[str, Any]:
    """C-FIND / QIDO-RS study keys of the form (PS3.4 C.6.1.1.3; wildcard and range matching,
    C.2.2.2.4-5); the return keys the browser shows are asked for empty."""
    keys: dict[str, Any] = {
        "PatientName": "", "PatientID": "", "IssuerOfPatientID": "", "PatientBirthDate": "",
        "StudyDate": "", "ModalitiesInStudy": "", "StudyDescription": "", "AccessionNumber": "",
        "NumberOfStudyRelatedSeries": "",
    }
    if q.name:
        keys["PatientName"] = "*" + "*".join(q.name.replace("^", " ").split()) + "*"
    if q.patient_id:
        keys["PatientID"] = q.patient_id.strip()
    if q.birth_date:
        keys["PatientBirthDate"] = q.birth_date
    if q.date_from or q.date_to:
        keys["StudyDate"] = f"{q.date_from}-{q.date_to}"
    if q.modality:
        keys["ModalitiesInStudy"] = q.modality
    if q.accession:
        keys["AccessionNumber"] = q.accession.strip()
    return keys


def row_from_archive(d: dict[str, Any]) -> StudyRow:
    """A StudyRow of one (merged) archive study match; ``study`` keeps the match itself."""
    archives = d.get("archives") or [d.get("archive", "")]
    return StudyRow(
        study_uid=str(d.get("StudyInstanceUID", "")),
        patient_name=_text(d.get("PatientName")),
        patient_id=_text(d.get("PatientID")),
        ins="",
        birth_date=_text(d.get("PatientBirthDate")),
        study_date=_text(d.get("StudyDate")),
        modalities=_text(d.get("ModalitiesInStudy")),
        description=_text(d.get("StudyDescription")),
        accession=_text(d.get("AccessionNumber")),
        source=str(archives[0] if archives else ""),
        series=[],
        study=d,
    )


def archive_match(row: StudyRow) -> dict[str, Any]:
    """The archive's study match of a row (what a retrieval of it needs)."""
    if isinstance(row.study, dict):
        return row.study
    return row.archive or {"StudyInstanceUID": row.study_uid, "PatientID": row.patient_id}


def _series_key(s: Any) -> tuple[Any, ...]:
    return (s.number is None, s.number or 0, s.description)


def _merge(old: StudyRow, new: StudyRow) -> None:
    """Fold ``new`` (same Study Instance UID) into ``old``, which keeps its identity."""
    if not new.cached:  # an archive lists it: remember where, keep what is on disk
        if old.cached:
            old.archive, old.source = new.study, new.source
        else:
            old.study, old.source = new.study, new.source
        return
    if not old.cached:  # its instances arrived: opened from disk from now on
        old.archive, old.series = old.study, []
    by_uid = {getattr(s, "series_uid", id(s)): s for s in old.series}
    by_uid.update({s.series_uid: s for s in new.series})  # the newer scan knows more
    old.series = sorted(by_uid.values(), key=_series_key)
    old.study, old.patient = new.study, new.patient or old.patient
    old.ins = new.ins or old.ins
    if old.archive is None:
        old.modalities = "/".join(sorted({s.modality for s in old.series if s.modality}))
    for name in ("patient_name", "patient_id", "birth_date", "study_date", "description",
                 "accession"):
        if not getattr(old, name):
            setattr(old, name, getattr(new, name))


def merge_rows(rows: list[StudyRow], incoming: list[StudyRow]) -> list[StudyRow]:
    """Add ``incoming`` to ``rows`` keeping one row per Study Instance UID (a study already
    there is merged into its row: local series added, archive remembered); returns the row
    each incoming one became, in order."""
    by_uid = {r.study_uid: r for r in rows}
    out = []
    for new in incoming:
        old = by_uid.get(new.study_uid)
        if old is None or old is new:
            if old is None:
                rows.append(new)
                by_uid[new.study_uid] = new
            out.append(new)
            continue
        _merge(old, new)
        out.append(old)
    return out


def series_label(s: dict[str, Any]) -> str:
    """How the browser lists an archive series: number, modality, description, image count."""
    number = _text(s.get("SeriesNumber"))
    n = _text(s.get("NumberOfSeriesRelatedInstances"))
    text = " ".join(v for v in (f"#{number}" if number else "", _text(s.get("Modality")),
                                _text(s.get("SeriesDescription"))) if v)
    return f"{text}  ({n})" if n else text
