"""Reading the access trail back: a patient's or a user's records, as plain rows.

Shared by ``regard audit show`` and the reading station's patient-trail dialog, so
both list exactly the same records with the same fields.
"""

from __future__ import annotations

from typing import Any


def record_row(rec: Any) -> dict[str, Any]:
    """One journal record as the JSON object ``regard audit show --json`` prints."""
    return {
        "seq": rec.seq,
        "time": rec.time,
        "user": rec.user_name,
        "user_id": rec.user_id,
        "professional_id": rec.professional_id,
        "role": rec.role,
        "workstation": rec.workstation,
        "action": rec.action,
        "outcome": rec.outcome,
        "mode": rec.mode,
        "reason": rec.reason,
        "patient_id": rec.patient_id,
        "patient_issuer": rec.patient_issuer,
        "ins": rec.ins,
        "study_uids": list(rec.study_uids),
        "series_uids": list(rec.series_uids),
        "archive": rec.archive,
        "screen_fitness": rec.screen_fitness,
    }


def trail(journal: Any, patient: str | None, user: str | None) -> list[Any]:
    """A user's records, or a patient's: by patient ID or INS, plus any record of one of
    their studies made before the patient was known (e.g. a retrieve by Study UID)."""
    if not patient:
        return [r for r in journal.records(user=user) if r.action != "audit_log_used"]
    records = list(journal.records())
    mine = {r.seq for r in records if patient in (r.patient_id, r.ins)}
    studies = {u for r in records if r.seq in mine for u in r.study_uids}
    return [
        r for r in records
        if r.action != "audit_log_used" and (r.seq in mine or studies & set(r.study_uids))
    ]
