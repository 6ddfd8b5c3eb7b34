"""Who an access is about: the patient, by local ID and issuer, and by national INS.

The INS (Identité Nationale de Santé) travels in DICOM as an item of Other
Patient IDs Sequence (0010,1002), as the national imaging gateway writes it:
Patient ID (0010,0020) = the INS, Issuer of Patient ID (0010,0021) =
``ASIP-SANTE-INS-NIR`` (or ``-NIA``), Type of Patient ID (0010,0022) = TEXT,
and Issuer of Patient ID Qualifiers Sequence (0010,0024) > Universal Entity ID
(0040,0032) = the OID with Universal Entity ID Type (0040,0033) = ISO.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: INS OIDs: NIR (definitive), NIA (temporary), test and demonstration identities.
INS_OIDS: dict[str, str] = {
    "1.2.250.1.213.1.4.8": "INS-NIR",
    "1.2.250.1.213.1.4.9": "INS-NIA",
    "1.2.250.1.213.1.4.10": "INS-NIR-TEST",
    "1.2.250.1.213.1.4.11": "INS-NIR-DEMO",
}
#: Identity status codes of the national identity reference (shown beside demographics).
IDENTITY_STATUSES = ("PROV", "RECUP", "VALI", "QUAL")
_INS_ISSUER_PREFIX = "ASIP-SANTE-INS"


@dataclass(frozen=True)
class PatientRef:
    """A patient as the audit trail and the access rules see it (never the name).

    ``identity_status`` is one of :data:`IDENTITY_STATUSES` or ``None`` when unknown.
    """

    id: str = ""
    issuer: str = ""
    ins: str = ""
    ins_oid: str = ""
    identity_status: str | None = None

    def __post_init__(self) -> None:
        if self.identity_status is not None and self.identity_status not in IDENTITY_STATUSES:
            raise ValueError(
                f"identity status {self.identity_status!r} is not one of {IDENTITY_STATUSES}"
            )
        if self.ins and self.ins_oid and self.ins_oid not in INS_OIDS:
            raise ValueError(f"{self.ins_oid!r} is not an INS OID ({', '.join(INS_OIDS)})")

    @property
    def is_empty(self) -> bool:
        return not (self.id or self.ins)

    def keys(self) -> set[str]:
        """Identifiers this patient is known by, as written in policy lists.

        ``ID`` alone, ``ID^ISSUER`` when the issuer is known, and ``INS:<ins>``.
        """
        out: set[str] = set()
        if self.id:
            out.add(self.id)
            if self.issuer:
                out.add(f"{self.id}^{self.issuer}")
        if self.ins:
            out.add(f"INS:{self.ins}")
        return out

    @classmethod
    def from_dataset(cls, ds: Any) -> PatientRef:
        """Read the patient's identifiers from a pydicom Dataset (PS3.3 C.7.1.1).

        The INS is the item of Other Patient IDs Sequence whose issuer starts with
        ``ASIP-SANTE-INS`` or whose Universal Entity ID is an INS OID. An INS may
        only be carried for a qualified identity (national INS rules), so its
        presence sets ``identity_status`` to ``QUAL``.
        """
        pid = str(getattr(ds, "PatientID", "") or "").strip()
        issuer = str(getattr(ds, "IssuerOfPatientID", "") or "").strip()
        ins, oid = _ins_from_other_ids(ds)
        return cls(
            id=pid, issuer=issuer, ins=ins, ins_oid=oid, identity_status="QUAL" if ins else None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issuer": self.issuer,
            "ins": self.ins,
            "ins_oid": self.ins_oid,
            "identity_status": self.identity_status,
        }


def _ins_from_other_ids(ds: Any) -> tuple[str, str]:
    for item in getattr(ds, "OtherPatientIDsSequence", None) or []:
        value = str(getattr(item, "PatientID", "") or "").strip()
        if not value:
            continue
        issuer = str(getattr(item, "IssuerOfPatientID", "") or "").strip()
        oid = ""
        for qual in getattr(item, "IssuerOfPatientIDQualifiersSequence", None) or []:
            uid = str(getattr(qual, "UniversalEntityID", "") or "").strip()
            if uid in INS_OIDS:
                oid = uid
        if oid or issuer.upper().startswith(_INS_ISSUER_PREFIX):
            if not oid:
                oid = "1.2.250.1.213.1.4.9" if issuer.upper().endswith("NIA") else (
                    "1.2.250.1.213.1.4.8"
                )
            return value, oid
    return "", ""
