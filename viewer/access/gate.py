"""The access gate: the one entry point the CLI, the GUI and other layers call.

Before any query result is shown, any pixel is decoded for display, rendered,
exported or printed, the caller asks::

    from viewer.access.gate import AccessGate, Action, PatientRef

    gate = AccessGate()                      # the OS user's profile by default
    gate.authorize_and_record(
        Action.VIEW, patient=PatientRef.from_dataset(ds),
        study_uids=[ds.StudyInstanceUID], series_uids=[ds.SeriesInstanceUID],
        archive="local", screen_fitness="fit",
    )

It returns a :class:`Decision` once the record is committed, raises
:class:`AccessDenied` (the refusal is recorded too) or
:class:`AuditUnavailable` when the journal cannot be written (fail closed: the
study does not open). Emergency access (break-the-glass) is declared with
:meth:`AccessGate.break_glass`; it is recorded in the chain, time-limited and
found again by any later process from the journal itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from viewer.access.identity import (
    IdentityError,
    IdentityProvider,
    OsAccountProvider,
    Session,
    SessionLocked,
    User,
    workstation_name,
)
from viewer.access.journal import (
    AuditEntry,
    AuditJournal,
    AuditRecord,
    AuditUnavailable,
    utc_now,
)
from viewer.access.patient import PatientRef
from viewer.access.policy import AccessPolicy, PolicyError
from viewer.config import Config, load_config

log = logging.getLogger(__name__)

__all__ = [
    "AccessDenied",
    "AccessGate",
    "Action",
    "AuditUnavailable",
    "BreakGlass",
    "Decision",
    "IdentityError",
    "PatientRef",
    "PolicyError",
    "SessionLocked",
]


class Action(StrEnum):
    """What a user does; each maps to a permission and a DICOM audit event (atna.py)."""

    QUERY = "query"  # search an archive (demographics)
    RETRIEVE = "retrieve"  # begin transferring instances into the cache
    TRANSFERRED = "transferred"  # instances arrived (after RETRIEVE)
    VIEW = "view"  # images shown on screen, rendered or probed
    VIEW_REPORT = "view_report"
    EXPORT = "export"
    PRINT = "print"
    CHANGE_SETTINGS = "change_settings"
    LOGIN = "login"
    LOGOUT = "logout"
    BREAK_GLASS_START = "break_glass_start"
    BREAK_GLASS_END = "break_glass_end"
    DECLARE_CARE = "declare_care"  # a clinician declares a care relationship
    AUDIT_LOG_USED = "audit_log_used"
    AUDIT_PRUNE = "audit_prune"


PERMISSION_OF: dict[Action, str] = {
    Action.QUERY: "query_demographics",
    Action.RETRIEVE: "see_images",
    Action.TRANSFERRED: "see_images",
    Action.VIEW: "see_images",
    Action.VIEW_REPORT: "see_reports",
    Action.EXPORT: "export",
    Action.PRINT: "print",
    Action.CHANGE_SETTINGS: "change_settings",
}


_PRUNE_CHECKED: set[str] = set()


class AccessDenied(Exception):
    """The policy refuses the action; the refusal has been recorded."""

    def __init__(self, message: str, record: AuditRecord | None = None) -> None:
        super().__init__(message)
        self.record = record


@dataclass(frozen=True)
class Decision:
    """An allowed, recorded action."""

    action: Action
    user: User
    mode: str  # "normal" | "break_glass"
    record: AuditRecord


@dataclass(frozen=True)
class BreakGlass:
    """A running emergency access for one patient."""

    user_id: str
    patient: PatientRef
    reason: str
    until: datetime
    record: AuditRecord


def _patient_fields(patient: PatientRef | None) -> dict[str, str]:
    if patient is None:
        return {}
    return {
        "patient_id": patient.id,
        "patient_issuer": patient.issuer,
        "ins": patient.ins,
        "ins_oid": patient.ins_oid,
        "identity_status": patient.identity_status or "",
    }


def _same_patient(a: PatientRef, b: PatientRef) -> bool:
    """Same INS, or same ID with compatible issuers (an unknown issuer matches any)."""
    if a.ins and b.ins:
        return a.ins == b.ins
    if not (a.id and a.id == b.id):
        return False
    return not a.issuer or not b.issuer or a.issuer == b.issuer


def _name_tokens(text: str) -> frozenset[str]:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    for sep in "^,.-=":
        plain = plain.replace(sep, " ")
    return frozenset(t for t in plain.split() if len(t) > 1 and t not in {"dr", "pr"})


class CareList:
    """The patients a clinician follows.

    The site's ``[user] patients`` list, the user's own one when the policy lets
    clinicians declare care relationships (``care_self_declared``), and the
    relationships declared through :meth:`AccessGate.declare_care_relationship`,
    read back from the tamper-evident journal (no side file to edit).
    Keys: ``"ID"``, ``"ID^ISSUER"``, ``"INS:<ins>"``.
    """

    def __init__(self, journal: AuditJournal, configured: Iterable[str] = ()) -> None:
        self.journal = journal
        self.configured = frozenset(str(k) for k in configured)

    def declared(self, user: User) -> list[PatientRef]:
        return [
            PatientRef(r.patient_id, r.patient_issuer, r.ins)
            for r in self.journal.records(user=user.user_id, actions=(Action.DECLARE_CARE,))
            if r.outcome == "success"
        ]

    def contains(self, user: User, patient: PatientRef) -> bool:
        if patient.keys() & self.configured:
            return True
        return any(_same_patient(p, patient) for p in self.declared(user))


class AccessGate:
    """Who is using Regard, may they do this, and the record of it (fail closed)."""

    def __init__(
        self,
        *,
        config: Config | None = None,
        policy: AccessPolicy | None = None,
        provider: IdentityProvider | None = None,
        journal: AuditJournal | None = None,
        clock: Callable[[], datetime] = utc_now,
        forward: bool = True,
    ) -> None:
        self.config = config or load_config()
        self.policy = policy or AccessPolicy.load(self.config)
        self.provider = provider or OsAccountProvider(self.config, self.policy)
        self.journal = journal or AuditJournal()
        self.clock = clock
        configured = list((self.config.site.get("user") or {}).get("patients") or [])
        if self.policy.care_self_declared:
            configured += list((self.config.user.get("user") or {}).get("patients") or [])
        self.care_list = CareList(self.journal, configured)
        self.workstation = workstation_name()
        self._forward = forward
        self._forwarder: Any = None
        self.session: Session | None = None

    # -- identity ------------------------------------------------------------------
    def current_user(self) -> User:
        """The named person using Regard now (raises IdentityError if nobody is).

        On a shared station (after :meth:`login`) the session locks after the
        policy's idle time: :class:`~viewer.access.identity.SessionLocked` until
        the same user authenticates again.
        """
        if self.session is not None:
            self.session.touch()
            return self.session.user
        return self.provider.current_user()

    def login(self, provider: Any, *credentials: Any) -> User:
        """Authenticate with a provider (local account, OIDC claims) and record it.

        Success and failure are both recorded (User Authentication, Login). A
        locked session is unlocked only by its own user.
        """
        auth = getattr(provider, "authenticate", None) or provider.login
        try:
            user = auth(*credentials)
        except IdentityError as exc:
            who = str(credentials[0]) if credentials and isinstance(credentials[0], str) else "?"
            stranger = User(login=who, domain=self.policy.domain or self.workstation,
                            display_name=who, role="", provider=getattr(provider, "name", ""))
            self.record(Action.LOGIN, outcome="failure", user=stranger,
                        detail={"error": "authentication failed"})
            raise exc
        previous = self.session
        if previous is not None and previous.user.user_id == user.user_id:
            previous.unlock(user)
        else:
            if previous is not None:  # another person takes the station: close the old session
                self.session = None
                self.record(Action.LOGOUT, user=previous.user,
                            detail={"why": "another user logged in"})
            self.session = Session(user, idle_seconds=60.0 * self.policy.idle_lock_minutes)
        self.provider = provider
        self.record(Action.LOGIN, user=user)
        return user

    def logout(self) -> None:
        if self.session is None:
            return
        user = self.session.user
        self.session = None
        self.record(Action.LOGOUT, user=user)

    # -- recording -----------------------------------------------------------------
    def record(
        self,
        action: Action | str,
        *,
        outcome: str = "success",
        mode: str = "normal",
        user: User | None = None,
        patient: PatientRef | None = None,
        study_uids: Sequence[str] = (),
        series_uids: Sequence[str] = (),
        archive: str = "",
        reason: str | None = None,
        screen_fitness: str | dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one record (no authorization); raise AuditUnavailable if it cannot be."""
        user = user or self.current_user()
        fitness = (
            json.dumps(screen_fitness, sort_keys=True, default=str)
            if isinstance(screen_fitness, dict)
            else (screen_fitness or "")
        )
        entry = AuditEntry(
            user_id=user.user_id,
            user_name=user.display_name,
            professional_id=user.professional_id,
            role=user.role,
            workstation=self.workstation,
            action=str(action),
            outcome=outcome,
            mode=mode,
            study_uids=tuple(study_uids),
            series_uids=tuple(series_uids),
            archive=archive,
            reason=reason or "",
            screen_fitness=fitness,
            detail=dict(detail or {}),
            **_patient_fields(patient),
        )
        self._maybe_prune(user)
        rec = self.journal.append(entry, now=self.clock())
        self._kick_forwarder()
        return rec

    def _maybe_prune(self, user: User) -> None:
        """Rolling retention, applied at most once per process and journal (cheap check)."""
        key = str(self.journal.path)
        if key in _PRUNE_CHECKED:
            return
        _PRUNE_CHECKED.add(key)
        try:
            oldest = next(self.journal.records(limit=1), None)
            cutoff = self.clock() - timedelta(days=self.policy.retention_days)
            if oldest is None or oldest.datetime >= cutoff:
                return
            entry = AuditEntry(
                user_id=user.user_id, user_name=user.display_name, role=user.role,
                professional_id=user.professional_id, workstation=self.workstation,
                action=str(Action.AUDIT_PRUNE),
                detail={"journal": self.journal.path.as_uri(),
                        "retention_days": self.policy.retention_days},
            )
            n = self.journal.prune(self.policy.retention_days, entry, now=self.clock())
            log.info("audit retention: %d records older than %d days pruned", n,
                     self.policy.retention_days)
        except AuditUnavailable as exc:
            log.warning("audit retention not applied: %s", exc)

    def authorize_and_record(
        self,
        action: Action | str,
        *,
        patient: PatientRef | None = None,
        study_uids: Sequence[str] = (),
        series_uids: Sequence[str] = (),
        archive: str = "",
        reason: str | None = None,
        screen_fitness: str | dict[str, Any] | None = None,
        referring_physicians: Sequence[str] = (),
        origin_site: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Decision:
        """Decide, record, and only then return (see module docstring).

        ``referring_physicians``: the study's Referring Physician's Name values
        (or identifiers) — a clinician who is one of them has a care
        relationship. ``origin_site``: the producing site's identifier, for a
        patient's opposition to sharing (unknown counts as another site).
        """
        action = Action(action)
        user = self.current_user()
        permission = PERMISSION_OF.get(action)
        if permission is None:
            raise ValueError(f"{action} is recorded with record(), not authorized")
        care = patient is not None and self.has_care_relationship(user, patient,
                                                                  referring_physicians)
        bg = self.active_break_glass(patient, user=user) if patient is not None else None
        decision = self.policy.decide(
            user.role, permission, patient, care_relationship=care,
            break_glass=bg is not None, origin_site=origin_site,
        )
        common: dict[str, Any] = {
            "user": user, "patient": patient, "study_uids": study_uids,
            "series_uids": series_uids, "archive": archive, "screen_fitness": screen_fitness,
        }
        if not decision.allowed:
            rec = self.record(action, outcome="denied", reason=reason,
                              detail=(detail or {}) | {"denied": decision.message}, **common)
            log.info("access denied (record %d): %s", rec.seq, action)
            raise AccessDenied(f"access refused: {decision.message}", rec)
        if decision.mode == "break_glass" and bg is not None:
            reason = reason or bg.reason
        rec = self.record(action, mode=decision.mode, reason=reason, detail=detail, **common)
        return Decision(action=action, user=user, mode=decision.mode, record=rec)

    def has_care_relationship(
        self, user: User, patient: PatientRef, referring_physicians: Sequence[str] = ()
    ) -> bool:
        if self.care_list.contains(user, patient):
            return True
        mine = {_name_tokens(user.dicom_name or user.display_name)}
        for ref in referring_physicians:
            text = str(ref)
            if user.professional_id and user.professional_id in text:
                return True
            tokens = _name_tokens(text)
            if tokens and any(tokens <= m or m <= tokens for m in mine if len(m) >= 2):
                return True
        return False

    def declare_care_relationship(self, patient: PatientRef, reason: str = "") -> AuditRecord:
        """A clinician declares they take part in this patient's care (recorded).

        Allowed for clinician roles when the site policy says ``care_self_declared``;
        the declaration is a journal record, which is what :class:`CareList` reads.
        """
        user = self.current_user()
        rule = self.policy.roles.get(user.role)
        if patient.is_empty:
            raise ValueError("a care relationship is declared for one identified patient")
        if rule is None or not rule.clinician:
            why = "only clinicians declare care relationships"
        elif not self.policy.care_self_declared:
            why = "the site policy does not let clinicians declare care relationships"
        else:
            return self.record(Action.DECLARE_CARE, user=user, patient=patient, reason=reason)
        rec = self.record(Action.DECLARE_CARE, outcome="denied", user=user, patient=patient,
                          reason=reason, detail={"denied": why})
        raise AccessDenied(f"access refused: {why}", rec)

    # -- break-the-glass -----------------------------------------------------------
    def break_glass(self, reason: str, minutes: int, *, patient: PatientRef) -> BreakGlass:
        """Declare an emergency access to ``patient`` for ``minutes`` (capped by policy).

        Recorded as a Security Alert "Emergency Override Started" (DCM 110127).
        """
        user = self.current_user()
        rule = self.policy.roles.get(user.role)
        reason = (reason or "").strip()
        if rule is None or not rule.clinician:
            rec = self.record(Action.BREAK_GLASS_START, outcome="denied", user=user,
                              patient=patient, reason=reason,
                              detail={"denied": "only clinicians may declare an emergency"})
            raise AccessDenied(f"access refused: the role {user.role} cannot declare an "
                               "emergency access", rec)
        if len(reason) < 5:
            raise ValueError("an emergency access needs a reason (a few words)")
        if patient.is_empty:
            raise ValueError("an emergency access is declared for one identified patient")
        minutes = max(1, min(int(minutes), self.policy.break_glass_max_minutes))
        until = self.clock() + timedelta(minutes=minutes)
        rec = self.record(Action.BREAK_GLASS_START, user=user, patient=patient,
                          mode="break_glass", reason=reason,
                          detail={"minutes": minutes, "until": until.isoformat()})
        return BreakGlass(user.user_id, patient, reason, until, rec)

    def end_break_glass(self, patient: PatientRef, why: str = "ended by the user") -> None:
        """Close a running emergency access ("Emergency Override Stopped", DCM 110138)."""
        user = self.current_user()
        bg = self.active_break_glass(patient, user=user)
        if bg is not None:
            self.record(Action.BREAK_GLASS_END, user=user, patient=patient, mode="break_glass",
                        reason=bg.reason, detail={"why": why})

    def active_break_glass(self, patient: PatientRef | None, *,
                           user: User | None = None) -> BreakGlass | None:
        """The user's running emergency access to this patient, read from the journal."""
        if patient is None or patient.is_empty:
            return None
        user = user or self.current_user()
        last: AuditRecord | None = None
        for rec in self.journal.records(
            user=user.user_id, actions=(Action.BREAK_GLASS_START, Action.BREAK_GLASS_END)
        ):
            if _same_patient(PatientRef(rec.patient_id, rec.patient_issuer, rec.ins), patient):
                last = rec
        if last is None or last.action != Action.BREAK_GLASS_START or last.outcome != "success":
            return None
        until = datetime.fromisoformat(str(last.detail.get("until")))
        if self.clock() >= until:
            self.record(Action.BREAK_GLASS_END, user=user, patient=patient, mode="break_glass",
                        reason=last.reason, detail={"why": "expired"})
            return None
        return BreakGlass(user.user_id, patient, last.reason, until, last)

    # -- forwarding to the Audit Record Repository -----------------------------------
    def _kick_forwarder(self) -> None:
        if not self._forward or not self.policy.repository:
            return
        try:
            if self._forwarder is None:
                from viewer.access.syslog import shared_forwarder

                self._forwarder = shared_forwarder(self.policy, self.journal.path)
            self._forwarder.kick()
        except Exception as exc:  # delivery is retried later from the journal
            log.warning("audit repository forwarding not started: %s", exc)
