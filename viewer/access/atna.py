"""DICOM audit messages (PS3.15 A.5, the IHE ATNA format) built from journal records.

One message per journal record, built with lxml and deterministic (the same
record always gives the same bytes), so that a message can be re-sent from the
journal after a failure and recognised as a duplicate by its sequence number.

Event mapping (PS3.15 A.5.3, codes from the DCM scheme, CID 400-405):

=================== ======================================= =======
journal action      DICOM audit event                       action
=================== ======================================= =======
query               110112 Query                            E
retrieve            110102 Begin Transferring DICOM Inst.   E
transferred         110104 DICOM Instances Transferred      C
view, view_report   110103 DICOM Instances Accessed         R
export, print       110106 Export                           R
login / logout      110114 User Authentication (110122/3)   E
break_glass_*       110113 Security Alert (110127/110138)   E
change_settings     110113 Security Alert (110131)          E
declare_care        110113 Security Alert (110137)          E
audit_log_used      110101 Audit Log Used                   R
audit_prune         110101 Audit Log Used                   D
=================== ======================================= =======

Refusals keep the attempted event with EventOutcomeIndicator 4 (minor
failure) and the reason in EventOutcomeDescription; accesses under
break-the-glass carry the mode and the declared reason as details of the
patient object.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree

from viewer.access.atna_schema import AUDIT_MESSAGE_RNG
from viewer.access.journal import AuditRecord
from viewer.access.patient import INS_OIDS

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"


@dataclass(frozen=True)
class Code:
    code: str
    scheme: str
    meaning: str

    def put(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(
            parent, tag,
            {"csd-code": self.code, "codeSystemName": self.scheme, "originalText": self.meaning},
        )


EV_APPLICATION_ACTIVITY = Code("110100", "DCM", "Application Activity")
EV_AUDIT_LOG_USED = Code("110101", "DCM", "Audit Log Used")
EV_BEGIN_TRANSFER = Code("110102", "DCM", "Begin Transferring DICOM Instances")
EV_INSTANCES_ACCESSED = Code("110103", "DCM", "DICOM Instances Accessed")
EV_INSTANCES_TRANSFERRED = Code("110104", "DCM", "DICOM Instances Transferred")
EV_EXPORT = Code("110106", "DCM", "Export")
EV_QUERY = Code("110112", "DCM", "Query")
EV_SECURITY_ALERT = Code("110113", "DCM", "Security Alert")
EV_USER_AUTHENTICATION = Code("110114", "DCM", "User Authentication")
TYPE_LOGIN = Code("110122", "DCM", "Login")
TYPE_LOGOUT = Code("110123", "DCM", "Logout")
TYPE_EMERGENCY_STARTED = Code("110127", "DCM", "Emergency Override Started")
TYPE_EMERGENCY_STOPPED = Code("110138", "DCM", "Emergency Override Stopped")
TYPE_SOFTWARE_CONFIGURATION = Code("110131", "DCM", "Software Configuration")
TYPE_USER_SECURITY_ATTRIBUTES = Code("110137", "DCM", "User Security Attributes Changed")
ROLE_APPLICATION = Code("110150", "DCM", "Application")
ROLE_DESTINATION = Code("110152", "DCM", "Destination Role ID")
ROLE_SOURCE = Code("110153", "DCM", "Source Role ID")
ROLE_DESTINATION_MEDIA = Code("110154", "DCM", "Destination Media")
MEDIA_PAPER = Code("110038", "DCM", "Paper Document")
MEDIA_URI = Code("110037", "DCM", "URI")
ID_PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
ID_URI = Code("12", "RFC-3881", "URI")
ID_STUDY_UID = Code("110180", "DCM", "Study Instance UID")
ID_SOP_CLASS_UID = Code("110181", "DCM", "SOP Class UID")

OUTCOME = {"success": "0", "denied": "4", "failure": "8", "major_failure": "12"}

# action -> (EventID, EventActionCode, EventTypeCode)
EVENTS: dict[str, tuple[Code, str, Code | None]] = {
    "query": (EV_QUERY, "E", None),
    "retrieve": (EV_BEGIN_TRANSFER, "E", None),
    "transferred": (EV_INSTANCES_TRANSFERRED, "C", None),
    "view": (EV_INSTANCES_ACCESSED, "R", None),
    "view_report": (EV_INSTANCES_ACCESSED, "R", None),
    "export": (EV_EXPORT, "R", None),
    "print": (EV_EXPORT, "R", None),
    "login": (EV_USER_AUTHENTICATION, "E", TYPE_LOGIN),
    "logout": (EV_USER_AUTHENTICATION, "E", TYPE_LOGOUT),
    "break_glass_start": (EV_SECURITY_ALERT, "E", TYPE_EMERGENCY_STARTED),
    "break_glass_end": (EV_SECURITY_ALERT, "E", TYPE_EMERGENCY_STOPPED),
    "change_settings": (EV_SECURITY_ALERT, "E", TYPE_SOFTWARE_CONFIGURATION),
    "declare_care": (EV_SECURITY_ALERT, "E", TYPE_USER_SECURITY_ATTRIBUTES),
    "audit_log_used": (EV_AUDIT_LOG_USED, "R", None),
    "audit_prune": (EV_AUDIT_LOG_USED, "D", None),
}

_NODE = re.compile(r"^(?:[a-z+]+://)?(?:(?P<aet>[^@/]+)@)?(?P<host>[^:/]+)(?::\d+)?")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _cx(value: str, issuer: str = "", oid: str = "") -> str:
    """HL7 v2 CX as IHE writes patient IDs: ``ID^^^ISSUER&OID&ISO``."""
    if not (issuer or oid):
        return value
    authority = issuer + (f"&{oid}&ISO" if oid else "")
    return f"{value}^^^{authority}"


def _ins_cx(ins: str, oid: str) -> str:
    name = {"1.2.250.1.213.1.4.9": "ASIP-SANTE-INS-NIA"}.get(oid, "ASIP-SANTE-INS-NIR")
    return f"{ins}^^^{name}&{oid}&ISO^INS" if oid in INS_OIDS else ins


def _participant(
    parent: etree._Element, user_id: str, *, requestor: bool, name: str = "",
    alt: str = "", nap: str = "", nap_type: str = "1", role: Code | None = None,
    media: Code | None = None,
) -> etree._Element:
    attrs = {"UserID": user_id or "unknown", "UserIsRequestor": "true" if requestor else "false"}
    if alt:
        attrs["AlternativeUserID"] = alt
    if name:
        attrs["UserName"] = name
    if nap:
        attrs["NetworkAccessPointID"] = nap
        attrs["NetworkAccessPointTypeCode"] = nap_type
    el = etree.SubElement(parent, "ActiveParticipant", attrs)
    if role is not None:
        role.put(el, "RoleIDCode")
    if media is not None:
        mid = etree.SubElement(el, "MediaIdentifier")
        media.put(mid, "MediaType")
    return el


def _node(archive: str) -> tuple[str, str]:
    """(UserID, network access point) of an archive given as a name or an address."""
    m = _NODE.match(archive or "")
    if not m or ("://" not in archive and "@" not in archive):
        return archive, ""
    host = m.group("host") or ""
    return (m.group("aet") or archive), host


def _nap_type(host: str) -> str:
    return "2" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host or "") else "1"


def _query_dataset_b64(detail: dict[str, Any]) -> str:
    """The C-FIND identifier (explicit VR little endian), base64, as A.5.3.10 asks."""
    query = detail.get("query") or {}
    try:
        from pydicom.dataset import Dataset
        from pydicom.filebase import DicomBytesIO
        from pydicom.filewriter import write_dataset

        ds = Dataset()
        for key, value in sorted(query.items()):
            setattr(ds, str(key), value)
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = False
        write_dataset(fp, ds)
        data = fp.getvalue()
    except Exception:  # keys that are not DICOM keywords: keep them readable
        import json

        data = json.dumps(query, sort_keys=True).encode()
    return base64.b64encode(data).decode("ascii")


def build_message(record: AuditRecord, *, site_id: str = "") -> etree._Element:
    """The ``AuditMessage`` element for one journal record (PS3.15 A.5.3)."""
    event, action_code, type_code = EVENTS.get(
        record.action, (EV_APPLICATION_ACTIVITY, "E", None)
    )
    root = etree.Element("AuditMessage")
    ev = etree.SubElement(
        root, "EventIdentification",
        {
            "EventActionCode": action_code,
            "EventDateTime": record.time,
            "EventOutcomeIndicator": OUTCOME.get(record.outcome, "8"),
        },
    )
    event.put(ev, "EventID")
    if type_code is not None:
        type_code.put(ev, "EventTypeCode")
    description = record.detail.get("denied") or record.detail.get("error")
    if record.action.startswith("break_glass") and record.reason:
        description = f"{description}; {record.reason}" if description else record.reason
    if description:
        etree.SubElement(ev, "EventOutcomeDescription").text = str(description)

    _participants(root, record)
    src = etree.SubElement(root, "AuditSourceIdentification", {"AuditSourceID": record.workstation
                                                              or "regard"})
    if site_id:
        src.set("AuditEnterpriseSiteID", site_id)
    etree.SubElement(src, "AuditSourceTypeCode", {
        "csd-code": "1", "codeSystemName": "DCM",
        "originalText": "End-user display device, diagnostic device"})
    # Element order inside AuditSourceIdentification is free for attributes only.
    _objects(root, record)
    return root


def _participants(root: etree._Element, record: AuditRecord) -> None:
    action = record.action
    person = {"name": record.user_name, "alt": record.professional_id}
    node_id, node_host = _node(record.archive)
    if action == "query":
        _participant(root, record.user_id, requestor=True, nap=record.workstation,
                     role=ROLE_SOURCE, **person)
        if record.archive:
            _participant(root, node_id, requestor=False, nap=node_host,
                         nap_type=_nap_type(node_host), role=ROLE_DESTINATION)
    elif action in ("retrieve", "transferred"):
        _participant(root, record.user_id, requestor=True, **person)
        if record.archive:
            _participant(root, node_id, requestor=False, nap=node_host,
                         nap_type=_nap_type(node_host), role=ROLE_SOURCE)
        _participant(root, "regard", requestor=False, nap=record.workstation,
                     role=ROLE_DESTINATION)
    elif action in ("export", "print"):
        _participant(root, record.user_id, requestor=True, nap=record.workstation,
                     role=ROLE_SOURCE, **person)
        dest = str(record.detail.get("destination") or ("printer" if action == "print" else "file"))
        _participant(root, dest, requestor=False, role=ROLE_DESTINATION_MEDIA,
                     media=MEDIA_PAPER if action == "print" else MEDIA_URI)
    elif action in ("login", "logout"):
        _participant(root, record.user_id, requestor=True, nap=record.workstation, **person)
        _participant(root, "regard", requestor=False, nap=record.workstation,
                     role=ROLE_APPLICATION)
    else:
        _participant(root, record.user_id, requestor=True, nap=record.workstation, **person)
        if record.archive and action in ("view", "view_report"):
            _participant(root, node_id, requestor=False, nap=node_host,
                         nap_type=_nap_type(node_host), role=ROLE_SOURCE)


def _objects(root: etree._Element, record: AuditRecord) -> None:
    if record.action == "query":
        q = etree.SubElement(root, "ParticipantObjectIdentification", {
            "ParticipantObjectID": str(record.detail.get("sop_class") or STUDY_ROOT_FIND),
            "ParticipantObjectTypeCode": "2", "ParticipantObjectTypeCodeRole": "3"})
        ID_SOP_CLASS_UID.put(q, "ParticipantObjectIDTypeCode")
        etree.SubElement(q, "ParticipantObjectQuery").text = _query_dataset_b64(record.detail)
        etree.SubElement(q, "ParticipantObjectDetail",
                         {"type": "TransferSyntax", "value": _b64(EXPLICIT_VR_LE)})
    if record.action in ("audit_log_used", "audit_prune"):
        log_obj = etree.SubElement(root, "ParticipantObjectIdentification", {
            "ParticipantObjectID": str(record.detail.get("journal") or "regard-audit-journal"),
            "ParticipantObjectTypeCode": "2", "ParticipantObjectTypeCodeRole": "13"})
        ID_URI.put(log_obj, "ParticipantObjectIDTypeCode")
        etree.SubElement(log_obj, "ParticipantObjectName").text = "Security Audit Log"
    for uid in record.study_uids:
        st = etree.SubElement(root, "ParticipantObjectIdentification", {
            "ParticipantObjectID": uid, "ParticipantObjectTypeCode": "2",
            "ParticipantObjectTypeCodeRole": "3"})
        ID_STUDY_UID.put(st, "ParticipantObjectIDTypeCode")
        for series in record.series_uids:
            etree.SubElement(st, "ParticipantObjectDetail",
                             {"type": "SeriesInstanceUID", "value": _b64(series)})
        _study_description(st, record)
    if record.patient_id or record.ins:
        _patient_object(root, record)


def _study_description(st: etree._Element, record: AuditRecord) -> None:
    accession = record.detail.get("accession")
    sop_classes = record.detail.get("sop_classes") or {}
    if not (accession or sop_classes):
        return
    desc = etree.SubElement(st, "ParticipantObjectDescription")
    if accession:
        etree.SubElement(desc, "Accession", {"Number": str(accession)})
    for uid, count in sorted(sop_classes.items()):
        etree.SubElement(desc, "SOPClass", {"UID": uid, "NumberOfInstances": str(int(count))})


def _patient_object(root: etree._Element, record: AuditRecord) -> None:
    pid = _cx(record.patient_id, record.patient_issuer) if record.patient_id else _ins_cx(
        record.ins, record.ins_oid)
    pat = etree.SubElement(root, "ParticipantObjectIdentification", {
        "ParticipantObjectID": pid, "ParticipantObjectTypeCode": "1",
        "ParticipantObjectTypeCodeRole": "1"})
    ID_PATIENT_NUMBER.put(pat, "ParticipantObjectIDTypeCode")
    if record.ins:
        etree.SubElement(pat, "ParticipantObjectDetail",
                         {"type": "INS", "value": _b64(_ins_cx(record.ins, record.ins_oid))})
    if record.identity_status:
        etree.SubElement(pat, "ParticipantObjectDetail",
                         {"type": "IdentityStatus", "value": _b64(record.identity_status)})
    if record.mode == "break_glass":
        etree.SubElement(pat, "ParticipantObjectDetail",
                         {"type": "AccessMode", "value": _b64("break-the-glass")})
        if record.reason:
            etree.SubElement(pat, "ParticipantObjectDetail",
                             {"type": "EmergencyReason", "value": _b64(record.reason)})


def message_bytes(record: AuditRecord, *, site_id: str = "") -> bytes:
    """UTF-8 XML of the message, with an XML declaration."""
    return etree.tostring(build_message(record, site_id=site_id), xml_declaration=True,
                          encoding="UTF-8")


@lru_cache(maxsize=1)
def schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.fromstring(AUDIT_MESSAGE_RNG.encode()))


class InvalidAuditMessage(ValueError):
    """A message does not follow PS3.15 A.5; the message says which rule."""


def validate(xml: bytes | etree._Element) -> None:
    """Validate against the A.5.1.1 schema and the A.5 field conventions.

    Beyond the schema: exactly one participant is the requestor; the event
    time carries a time zone; patient objects are type 1 role 1 with ID type
    (2, RFC-3881); study objects type 2 role 3 with (110180, DCM); event codes
    are from the DCM scheme.
    """
    root = etree.fromstring(xml) if isinstance(xml, bytes) else xml
    rng = schema()
    if not rng.validate(root):
        raise InvalidAuditMessage(f"schema PS3.15 A.5.1.1: {rng.error_log.last_error}")
    requestors = root.findall("ActiveParticipant[@UserIsRequestor='true']")
    if len(requestors) != 1:
        raise InvalidAuditMessage(f"{len(requestors)} requestors (exactly one expected)")
    when = root.find("EventIdentification").get("EventDateTime")
    if not re.search(r"(Z|[+-]\d\d:\d\d)$", when):
        raise InvalidAuditMessage(f"EventDateTime {when} has no time zone")
    if root.find("EventIdentification/EventID").get("codeSystemName") != "DCM":
        raise InvalidAuditMessage("EventID is not from the DCM coding scheme")
    for obj in root.findall("ParticipantObjectIdentification"):
        code = obj.find("ParticipantObjectIDTypeCode").get("csd-code")
        kind = (obj.get("ParticipantObjectTypeCode"), obj.get("ParticipantObjectTypeCodeRole"))
        if code == "2" and kind != ("1", "1"):
            raise InvalidAuditMessage(f"patient object with type/role {kind} (1/1 expected)")
        if code == "110180" and kind != ("2", "3"):
            raise InvalidAuditMessage(f"study object with type/role {kind} (2/3 expected)")
